/* cairn: `cairn verify`, auditing result bundles.
 *
 * A thin command over attest/audit.c: reads each bundle with every check
 * but the checkpoints' tensors (cairn_audit_read_lazy; with --full, every
 * check of cairn_bundle_read: cairn_audit_read), draws S segments from its
 * trace root and a nonce, checks and replays them on this machine's
 * backend and prints the verdict; with --key the verdicts are signed, and
 * --out writes them, one JSON line each.
 *
 * Exit status: a bundle that reads but fails a cryptographic or
 * commitment check (the reader's CAIRN_ECRYPTO, CAIRN_EMISMATCH) is a
 * rejection, exit 1, with a verdict like a failed replay's; one that
 * cannot be read (any other code) or audited here is exit 2, with no
 * verdict.  docs/verify.md. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cairn/attest.h"
#include "cairn/audit.h"
#include "cairn/bundle.h"
#include "cairn/cli.h"
#include "cairn/dataset.h"
#include "cairn/error.h"
#include "cairn/file.h"
#include "cairn/identity.h"
#include "cairn/kernels.h"
#include "cairn/text.h"
#include "cli_util.h"
#include "verdicts.h"

#define VERIFY_MAX_TASK_IDS 256

struct verify_opts {
	const char *device, *data, *key, *out;
	long long segments, threads;
	int json, have_seed, lazy;
	int full_given, lazy_given; /* --full and --lazy: one, not both */
	int verdicts;   /* --verdicts: the files are verdict files to check */
	int audit_opts; /* options that only an audit takes, given */
	int have_auditor;
	uint8_t auditor[CAIRN_PUBLIC_KEY_BYTES]; /* --auditor */
	uint8_t seed[CAIRN_HASH_BYTES];
	/* --task-id: the tasks the auditor was asked to check */
	uint8_t task_ids[VERIFY_MAX_TASK_IDS * CAIRN_HASH_BYTES];
	size_t ntask_ids;
	int first, nbundles; /* argv[first..first + nbundles) */
};

static void verify_usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: cairn verify BUNDLE... [--segments S] [--seed HEX] "
	    "[--device D]\n"
	    "                    [--threads T] [--data DIR] [--key FILE] "
	    "[--out FILE] [--json]\n"
	    "                    [--task-id HEX]... [--full | --lazy]\n"
	    "       cairn verify --verdicts FILE... [--auditor HEX] "
	    "[--json]\n\n"
	    "Audits result bundles: reads each with every check (signature, "
	    "task id,\nwork, roots; the tensors of the drawn checkpoints only, "
	    "or of all of them\nwith --full), draws S segments of its trace "
	    "from the "
	    "trace root and a nonce,\nreplays them on this machine and "
	    "compares the state roots bit for bit.\ndocs/verify.md is the "
	    "auditor's guide.\n\n"
	    "options:\n"
	    "  --segments S  segments to replay per bundle (default 1; more "
	    "than the\n"
	    "                trace has means all of them)\n"
	    "  --task-id HEX a task the auditor was asked to check (repeat "
	    "for several):\n"
	    "                a bundle for any other task is rejected "
	    "(check assignment)\n"
	    "  --seed HEX    the nonce, 64 hex digits, for a repeatable "
	    "audit (default:\n"
	    "                fresh random bytes per bundle)\n"
	    "  --device D    auto (default), cpu, gpu or ref\n"
	    "  --threads T   CPU threads (default: one per core)\n"
	    "  --data DIR    Fashion-MNIST IDX files (default %s)\n"
	    "  --key FILE    sign each verdict with this identity\n"
	    "  --out FILE    write the signed verdicts there, one JSON line "
	    "each (a new\n"
	    "                file; needs --key)\n"
	    "  --json        one JSON object per bundle on stdout\n"
	    "  --full        hash every checkpoint's tensors when the bundle "
	    "is "
	    "read, not\n"
	    "                only the drawn ones before their replay (the "
	    "default, which\n"
	    "                keeps an audit at about S*C/H of the task; a "
	    "checkpoint never\n"
	    "                drawn is not read: docs/verify.md)\n"
	    "  --lazy        the default: hash only the drawn checkpoints\n"
	    "  --verdicts    check verdict files (as --out writes them) "
	    "instead of auditing:\n"
	    "                each line's signature over its signed encoding, "
	    "and that its\n"
	    "                readable fields say what the signed ones say; "
	    "exit 0 when\n"
	    "                every line is valid, 1 when one is not, 2 for a "
	    "file or line\n"
	    "                that is not a verdict\n"
	    "  --auditor HEX with --verdicts: every verdict must be signed by "
	    "this auditor\n"
	    "                key (64 hex digits)\n"
	    "  -h, --help    this text\n\n"
	    "checks that reject a bundle, in this order (the name is on "
	    "stderr, in the\nJSON and in the signed verdict):\n"
	    "  task-id     the result is for another task than the "
	    "bundle's spec\n"
	    "  signature   the signature does not verify under the worker "
	    "key it names\n"
	    "  work        the result claims other work (FLOPs) than the "
	    "spec's\n"
	    "  commitment  the state roots, final state, final "
	    "parameters root or step\n"
	    "              log contradict the signed result, or a committed "
	    "state's\n"
	    "              samples and loss are not its step's record\n"
	    "  reveal      a drawn checkpoint's tensors do not hash to its "
	    "trace entry\n"
	    "              (with --full: any checkpoint, when the bundle is "
	    "read)\n"
	    "  start       the state at t = 0 is not W_r with zero "
	    "moments\n"
	    "  assignment  the bundle's task is not one given with "
	    "--task-id\n"
	    "  replay      a drawn segment replayed here does not end on "
	    "its committed\n"
	    "              state root, or a step's record (samples, loss) "
	    "is not the\n"
	    "              worker's; the verdict names the first step that "
	    "differs\n\n"
	    "exit status:\n"
	    "  0  every bundle accepted\n"
	    "  1  one or more rejected by a check above (none unreadable)\n"
	    "  2  bad usage, or a bundle that cannot be read or audited "
	    "here: missing\n"
	    "     or unreadable (ENOENT, EPERM, EIO), not a regular file "
	    "(EINVAL),\n"
	    "     over 8 GiB (ERANGE), not a well-formed bundle: truncated, "
	    "not\n"
	    "     protobuf, wrong lengths or counts (EFORMAT), out of "
	    "memory, or a spec\n"
	    "     this machine cannot replay (another dataset: give --data; "
	    "another\n"
	    "     profile); 2 wins over 1 when bundles differ\n",
	    CAIRN_DATASET_DEFAULT_DIR);
}

static int parse_count(const char *opt, const char *v, long long lo,
                       long long hi, long long *out)
{
	long long x;

	if (cairn_cli_parse_int(v, lo, hi, &x)) {
		cairn_eprint("cairn verify: %s '%s' is not a whole number in "
		             "%lld..%lld\n",
		             opt, v, lo, hi);
		return 2;
	}
	*out = x;
	return 0;
}

/* 0, 1 for --help (done), or 2 for bad usage (message printed). */
static int parse(int argc, char **argv, struct verify_opts *o)
{
	memset(o, 0, sizeof *o);
	o->segments = 1;
	o->lazy = 1; /* --full checks every checkpoint when reading */
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int rc = 0;

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			verify_usage(stdout);
			return 1;
		} else if (!strcmp(a, "--json")) {
			o->json = 1;
			continue;
		} else if (!strcmp(a, "--lazy")) {
			o->lazy = 1;
			o->lazy_given = 1;
			o->audit_opts++;
			continue;
		} else if (!strcmp(a, "--full")) {
			o->lazy = 0;
			o->full_given = 1;
			o->audit_opts++;
			continue;
		} else if (!strcmp(a, "--verdicts")) {
			o->verdicts = 1;
			continue;
		} else if (a[0] != '-' || !a[1]) {
			if (!o->nbundles)
				o->first = i;
			else if (o->first + o->nbundles != i) {
				cairn_eprint("cairn verify: give the bundles "
				             "together, before or after the "
				             "options ('%s')\n",
				             a);
				return 2;
			}
			o->nbundles++;
			continue;
		}
		if (!v) {
			cairn_eprint(
			    "cairn verify: unknown option '%s' or a missing "
			    "value; see 'cairn verify --help'\n",
			    a);
			return 2;
		}
		if (strcmp(a, "--auditor"))
			o->audit_opts++;
		if (!strcmp(a, "--segments")) {
			rc = parse_count(a, v, 1, CAIRN_AUDIT_MAX_SEGMENTS,
			                 &o->segments);
		} else if (!strcmp(a, "--threads")) {
			rc = parse_count(a, v, 1, 1024, &o->threads);
		} else if (!strcmp(a, "--task-id")) {
			if (o->ntask_ids == VERIFY_MAX_TASK_IDS ||
			    cairn_hash_from_hex(v, strlen(v),
			                        o->task_ids +
			                            o->ntask_ids *
			                                CAIRN_HASH_BYTES)) {
				cairn_eprint(
				    "cairn verify: --task-id '%s' is not 64 "
				    "lower-case hex digits (or more than %d "
				    "were given)\n",
				    v, VERIFY_MAX_TASK_IDS);
				return 2;
			}
			o->ntask_ids++;
		} else if (!strcmp(a, "--seed")) {
			if (cairn_hash_from_hex(v, strlen(v), o->seed)) {
				cairn_eprint(
				    "cairn verify: --seed '%s' is not 64 "
				    "lower-case hex digits\n",
				    v);
				return 2;
			}
			o->have_seed = 1;
		} else if (!strcmp(a, "--device")) {
			o->device = v;
		} else if (!strcmp(a, "--data")) {
			o->data = v;
		} else if (!strcmp(a, "--key")) {
			o->key = v;
		} else if (!strcmp(a, "--out")) {
			o->out = v;
		} else if (!strcmp(a, "--auditor")) {
			if (cairn_hash_from_hex(v, strlen(v), o->auditor)) {
				cairn_eprint(
				    "cairn verify: --auditor '%s' is not 64 "
				    "lower-case hex digits (an auditor's "
				    "public key)\n",
				    v);
				return 2;
			}
			o->have_auditor = 1;
		} else {
			cairn_eprint(
			    "cairn verify: unknown option '%s'; see 'cairn "
			    "verify --help'\n",
			    a);
			return 2;
		}
		if (rc)
			return rc;
		i++;
	}
	if (!o->nbundles) {
		cairn_eprint("cairn verify: no %s given; see 'cairn "
		             "verify --help'\n",
		             o->verdicts ? "verdict file" : "bundle");
		return 2;
	}
	if (o->have_auditor && !o->verdicts) {
		cairn_eprint("cairn verify: --auditor goes with --verdicts "
		             "(it names who must have signed them)\n");
		return 2;
	}
	if (o->full_given && o->lazy_given) {
		cairn_eprint("cairn verify: --full and --lazy are the two "
		             "ways to read a bundle; give one of them\n");
		return 2;
	}
	if (o->verdicts && o->audit_opts) {
		cairn_eprint(
		    "cairn verify: --verdicts checks signed verdicts and "
		    "takes only --auditor and --json\n");
		return 2;
	}
	if (o->out && !o->key) {
		cairn_eprint("cairn verify: --out writes signed verdicts and "
		             "needs --key FILE (see 'cairn keygen')\n");
		return 2;
	}
	/* a typo is refused here, before the dataset is hashed */
	if (o->device && !cairn_backend_device_known(o->device)) {
		cairn_eprint("cairn verify: --device '%s': want auto, cpu, gpu "
		             "or ref\n",
		             o->device);
		return 2;
	}
	if (cairn_cli_check_env_device("cairn verify", o->device))
		return 2;
	return 0;
}

/* A bundle that could not be read or audited, as one JSON line. */
static void json_error(const char *path, const char *err)
{
	fputs("{\"bundle\":", stdout);
	cairn__cli_json_string(stdout, path);
	fputs(",\"error\":", stdout);
	cairn__cli_json_string(stdout, err);
	fputs("}\n", stdout);
}

/* One line per bundle on stdout: the verdict, the check and segment that
 * decided a rejection, the segments drawn and the nonce (none for a bundle
 * rejected when it was read: nothing was drawn). */
static void print_verdict(const char *path, const struct cairn_audit_verdict *v)
{
	char hx[CAIRN_HASH_HEX_BYTES];

	cairn_text_print(stdout, "%s %s", v->accepted ? "ACCEPTED" : "REJECTED",
	                 path);
	if (!v->accepted)
		printf(" check %s", cairn_audit_check_name((int)v->check));
	if (v->segment != CAIRN_AUDIT_NO_SEGMENT)
		printf(" at segment %" PRIu32 " (steps %" PRIu32 "..%" PRIu32
		       ")",
		       v->segment, v->step_first, v->step_last);
	if (v->diff_step) {
		char names[64];
		cairn_audit_diff_names(v->diff_what, names, sizeof names);
		printf(", first difference at step %" PRIu32 " (%s)",
		       v->diff_step, names);
	}
	if (v->nsegments) {
		cairn_hash_to_hex(v->nonce, hx);
		printf(" segments");
		for (uint32_t k = 0; k < v->nsegments; k++)
			printf("%s%" PRIu32, k ? "," : " ", v->segments[k]);
		printf(" nonce %s", hx);
	} else {
		printf(", when read: no segment drawn");
	}
	putchar('\n');
}

/* `cairn verify ...`: argv[0] is "verify". */
int cairn_cmd_verify(int argc, char **argv)
{
	struct verify_opts o;
	struct cairn_identity id;
	struct cairn_audit_verdict *v = NULL;
	struct cairn_bundle b;
	cairn_backend_opts bo;
	cairn_backend *be = NULL;
	cairn_dataset *ds = NULL;
	uint8_t droot[CAIRN_HASH_BYTES], nonce[CAIRN_HASH_BYTES];
	char err[16384]; /* a long path may appear twice, then why */
	/* --out: the verdict lines gather in memory and the file is written
	 * all at once at the end (cairn_file_write_new): a failed write, or
	 * no verdict at all, leaves no file behind, empty or cut */
	FILE *out = NULL;
	char *outbuf = NULL;
	size_t outlen = 0;
	int ex, rc, have_id = 0, nverdicts = 0;

	memset(&id, 0, sizeof id);
	ex = parse(argc, argv, &o);
	if (ex)
		return ex == 1 ? 0 : ex;
	if (sodium_init() < 0) {
		cairn_eprint("cairn verify: libsodium failed to start\n");
		return 2;
	}
	if (o.verdicts)
		return cairn__verdicts_check(argv + o.first, o.nbundles,
		                             o.have_auditor ? o.auditor : NULL,
		                             o.json);
	if (o.key) {
		rc = cairn_identity_load(&id, o.key, err, sizeof err);
		if (rc) {
			cairn_eprint("cairn verify: %s\n", err);
			return 2;
		}
		have_id = 1;
	}
	if (o.out) {
		/* refused before the data is read or any audit runs; the
		 * write at the end still decides */
		rc = cairn_file_check_new(o.out, "verdict file", err,
		                          sizeof err);
		if (rc) {
			cairn_eprint("cairn verify: --out: %s\n", err);
			ex = 2;
			goto out; /* the key is wiped there */
		}
	}
	v = malloc(sizeof *v);
	if (!v) {
		cairn_eprint("cairn verify: out of memory\n");
		ex = 2;
		goto out;
	}
	rc = cairn_dataset_open(o.data, "train", &ds, err, sizeof err);
	if (rc) {
		cairn_eprint("cairn verify: %s\n", err);
		ex = 2;
		goto out;
	}
	rc = cairn_dataset_root(ds, droot);
	if (rc) {
		cairn_eprint("cairn verify: cannot hash the dataset: %s\n",
		             cairn_strerror(rc));
		ex = 2;
		goto out;
	}
	memset(&bo, 0, sizeof bo);
	bo.threads = (int)o.threads;
	rc = cairn_backend_open_auto(o.device, &bo, &be);
	if (rc) {
		cairn_eprint("cairn verify: cannot open the %s device: %s\n",
		             o.device ? o.device : "default",
		             cairn_strerror(rc));
		ex = 2;
		goto out;
	}
	if (o.out) {
		out = open_memstream(&outbuf, &outlen);
		if (!out) {
			cairn_eprint("cairn verify: out of memory\n");
			ex = 2;
			goto out;
		}
	}

	for (int i = 0; i < o.nbundles; i++) {
		const char *path = argv[o.first + i];
		int rejected;

		/* A bundle that cannot be read is exit 2; one that reads but
		 * fails its signature or a commitment is a rejection. */
		rc = o.lazy ? cairn_audit_read_lazy(path, &b, v, &rejected, err,
		                                    sizeof err)
		            : cairn_audit_read(path, &b, v, &rejected, err,
		                               sizeof err);
		if (rc) {
			cairn_eprint("cairn verify: %s\n", err);
			if (o.json)
				json_error(path, err);
			ex = 2;
			continue;
		}
		if (!rejected) {
			rc = cairn_audit_check_assignment(
			    &b, o.task_ids, o.ntask_ids, v, &rejected, err,
			    sizeof err);
			if (rc || rejected)
				cairn_bundle_free(&b);
			if (rc) {
				cairn_eprint("cairn verify: %s\n", err);
				ex = 2;
				continue;
			}
		}
		if (!rejected) {
			if (o.have_seed)
				memcpy(nonce, o.seed, sizeof nonce);
			else
				randombytes_buf(nonce, sizeof nonce);
			rc = cairn_audit_bundle(be, &b, ds, droot, nonce,
			                        (uint32_t)o.segments, v, err,
			                        sizeof err);
			cairn_bundle_free(&b);
			if (rc) {
				/* a dataset that is not the spec's: say where
				 * the local one was read from */
				char where[300] = "";
				if (rc == CAIRN_EMISMATCH &&
				    strstr(err, "dataset root"))
					snprintf(
					    where, sizeof where,
					    " (the local data was read from "
					    "%.250s)",
					    o.data ? o.data
					           : CAIRN_DATASET_DEFAULT_DIR);
				cairn_eprint("cairn verify: %s: %s%s%s\n", path,
				             strncmp(err, "cannot audit", 12)
				                 ? "cannot audit: "
				                 : "",
				             err, where);
				if (o.json)
					json_error(path, err);
				ex = 2;
				continue;
			}
		}
		if (have_id) {
			rc = cairn_audit_verdict_sign(&id, v);
			if (rc) {
				cairn_eprint("cairn verify: cannot sign the "
				             "verdict: %s\n",
				             cairn_strerror(rc));
				ex = 2;
				continue;
			}
		}
		if (!v->accepted) {
			cairn_eprint("cairn verify: %s: REJECTED: %s\n", path,
			             err);
			if (ex < 1)
				ex = 1;
		}
		if (o.json) {
			cairn__verdict_json(stdout, path,
			                    cairn_backend_name(be), v, err,
			                    have_id);
			fputc('\n', stdout);
		} else {
			print_verdict(path, v);
		}
		if (out) {
			cairn__verdict_json(out, path, cairn_backend_name(be),
			                    v, err, 1);
			fputc('\n', out);
			nverdicts++;
		}
	}
	if (out) {
		rc = ferror(out);
		rc = fclose(out) || rc;
		out = NULL;
		if (rc) {
			cairn_eprint("cairn verify: out of memory for the "
			             "verdicts; %s was not written\n",
			             o.out);
			ex = 2;
		} else if (!nverdicts) {
			cairn_eprint("cairn verify: no verdict to write (no "
			             "bundle could be audited); %s was not "
			             "made\n",
			             o.out);
		} else if ((rc = cairn_file_write_new(o.out, "verdict file",
		                                      outbuf, outlen, err,
		                                      sizeof err))) {
			/* the name may have been taken during the audits */
			cairn_eprint("cairn verify: --out: %s; the verdicts "
			             "above were not saved: audit again with "
			             "--out naming %s\n",
			             err,
			             rc == CAIRN_EEXIST ? "a new file"
			                                : "a place with room");
			ex = 2;
		}
	}
out:
	if (out)
		fclose(out);
	free(outbuf);
	cairn_backend_close(be);
	cairn_dataset_close(ds);
	free(v);
	cairn_identity_wipe(&id);
	return ex;
}
