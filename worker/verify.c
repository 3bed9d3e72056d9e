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
#include <errno.h>
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
#include "cairn/identity.h"
#include "cairn/kernels.h"
#include "cli_util.h"

#define VERIFY_MAX_TASK_IDS 256

struct verify_opts {
	const char *device, *data, *key, *out;
	long long segments, threads;
	int json, have_seed, lazy;
	int verdicts; /* --verdicts: the files are verdict files to check */
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
	    "                    [--task-id HEX]... [--full]\n"
	    "       cairn verify --verdicts FILE... [--auditor HEX] [--json]\n\n"
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
	    "  --full        hash every checkpoint's tensors when the bundle is "
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
	    "  commitment  the state roots, final state or final "
	    "parameters root\n"
	    "              contradict the signed result\n"
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
	    "              state root\n\n"
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
	char *end;
	long long x;

	errno = 0;
	x = strtoll(v, &end, 10);
	if (errno || end == v || *end || x < lo || x > hi) {
		fprintf(stderr,
		        "cairn verify: %s '%s' is not a whole number in "
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
			continue;
		} else if (!strcmp(a, "--full")) {
			o->lazy = 0;
			continue;
		} else if (!strcmp(a, "--verdicts")) {
			o->verdicts = 1;
			continue;
		} else if (a[0] != '-' || !a[1]) {
			if (!o->nbundles)
				o->first = i;
			else if (o->first + o->nbundles != i) {
				fprintf(stderr,
				        "cairn verify: give the bundles "
				        "together, before or after the "
				        "options ('%s')\n",
				        a);
				return 2;
			}
			o->nbundles++;
			continue;
		}
		if (!v) {
			fprintf(
			    stderr,
			    "cairn verify: unknown option '%s' or a missing "
			    "value; see 'cairn verify --help'\n",
			    a);
			return 2;
		}
		if (!strcmp(a, "--segments")) {
			rc = parse_count(a, v, 1, CAIRN_AUDIT_MAX_SEGMENTS,
			                 &o->segments);
		} else if (!strcmp(a, "--threads")) {
			rc = parse_count(a, v, 1, 1024, &o->threads);
		} else if (!strcmp(a, "--task-id")) {
			if (o->ntask_ids == VERIFY_MAX_TASK_IDS ||
			    cairn_hash_from_hex(v, strlen(v),
			                        o->task_ids + o->ntask_ids *
			                                          CAIRN_HASH_BYTES)) {
				fprintf(stderr,
				        "cairn verify: --task-id '%s' is not 64 "
				        "lower-case hex digits (or more than %d "
				        "were given)\n",
				        v, VERIFY_MAX_TASK_IDS);
				return 2;
			}
			o->ntask_ids++;
		} else if (!strcmp(a, "--seed")) {
			if (cairn_hash_from_hex(v, strlen(v), o->seed)) {
				fprintf(stderr,
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
				fprintf(stderr,
				        "cairn verify: --auditor '%s' is not 64 "
				        "lower-case hex digits (an auditor's "
				        "public key)\n",
				        v);
				return 2;
			}
			o->have_auditor = 1;
		} else {
			fprintf(stderr,
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
		fprintf(stderr, "cairn verify: no %s given; see 'cairn "
		                "verify --help'\n",
		        o->verdicts ? "verdict file" : "bundle");
		return 2;
	}
	if (o->have_auditor && !o->verdicts) {
		fprintf(stderr, "cairn verify: --auditor goes with --verdicts "
		                "(it names who must have signed them)\n");
		return 2;
	}
	if (o->verdicts && (o->out || o->key || o->data || o->device ||
	                    o->have_seed || o->ntask_ids)) {
		fprintf(stderr,
		        "cairn verify: --verdicts checks signed verdicts and "
		        "takes only --auditor and --json\n");
		return 2;
	}
	if (o->out && !o->key) {
		fprintf(stderr,
		        "cairn verify: --out writes signed verdicts and "
		        "needs --key FILE (see 'cairn keygen')\n");
		return 2;
	}
	return 0;
}

static void hex_bytes(const uint8_t *p, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[p[i] >> 4];
		out[2 * i + 1] = d[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static const char *const elem_names[4] = {NULL, "params", "m", "v"};

/* The narrowing of a replay rejection: "first_difference" (the step and
 * what differs there) and "element" (the end state's first differing
 * element), each null when there is none. */
static void json_narrowing(FILE *f, const struct cairn_audit_verdict *v)
{
	char names[64];

	if (v->diff_step) {
		cairn_audit_diff_names(v->diff_what, names, sizeof names);
		fprintf(f,
		        ",\"first_difference\":{\"step\":%" PRIu32
		        ",\"differs\":\"%s\"}",
		        v->diff_step, names);
	} else {
		fputs(",\"first_difference\":null", f);
	}
	if (v->elem_tensor >= 1 && v->elem_tensor <= 3)
		fprintf(f,
		        ",\"element\":{\"tensor\":\"%s\",\"index\":%" PRIu64
		        ",\"count\":%" PRIu64 ",\"worker_bits\":\"%08" PRIx32
		        "\",\"replay_bits\":\"%08" PRIx32 "\"}",
		        elem_names[v->elem_tensor], v->elem_index, v->elem_count,
		        v->elem_worker, v->elem_replay);
	else
		fputs(",\"element\":null", f);
}

/* The signed part of a verdict line: the auditor's key, the signed
 * encoding in hex (what `cairn verify --verdicts` checks) and the
 * signature. */
static void json_signed(FILE *f, const struct cairn_audit_verdict *v)
{
	char hx[2 * CAIRN_SIGNATURE_BYTES + 1], *enc_hex;
	uint8_t *enc = malloc(CAIRN_AUDIT_VERDICT_MAX_BYTES);
	size_t len = 0;

	hex_bytes(v->auditor_key, CAIRN_PUBLIC_KEY_BYTES, hx);
	fprintf(f, ",\"auditor_key\":\"%s\"", hx);
	enc_hex = malloc(2 * CAIRN_AUDIT_VERDICT_MAX_BYTES + 1);
	if (enc && enc_hex &&
	    !cairn_audit_verdict_encode(v, enc, CAIRN_AUDIT_VERDICT_MAX_BYTES,
	                                &len)) {
		hex_bytes(enc, len, enc_hex);
		fprintf(f, ",\"verdict\":\"%s\"", enc_hex);
	}
	free(enc);
	free(enc_hex);
	hex_bytes(v->signature, CAIRN_SIGNATURE_BYTES, hx);
	fprintf(f, ",\"signature\":\"%s\"", hx);
}

/* One verdict as one JSON object (no newline). */
static void json_verdict(FILE *f, const char *path, const char *device,
                         const struct cairn_audit_verdict *v,
                         const char *reason, int signed_)
{
	char hx[2 * CAIRN_SIGNATURE_BYTES + 1], names[64];

	fputs("{\"bundle\":", f);
	cairn__cli_json_string(f, path);
	hex_bytes(v->task_id, CAIRN_HASH_BYTES, hx);
	fprintf(f, ",\"task_id\":\"%s\"", hx);
	hex_bytes(v->trace_root, CAIRN_HASH_BYTES, hx);
	fprintf(f, ",\"trace_root\":\"%s\"", hx);
	hex_bytes(v->nonce, CAIRN_HASH_BYTES, hx);
	fprintf(f, ",\"nonce\":\"%s\",\"device\":", hx);
	cairn__cli_json_string(f, device);
	fputs(",\"segments\":[", f);
	for (uint32_t i = 0; i < v->nsegments; i++)
		fprintf(f, "%s%" PRIu32, i ? "," : "", v->segments[i]);
	fprintf(f, "],\"accepted\":%s,\"check\":\"%s\"",
	        v->accepted ? "true" : "false",
	        cairn_audit_check_name((int)v->check));
	if (v->segment != CAIRN_AUDIT_NO_SEGMENT)
		fprintf(f,
		        ",\"segment\":%" PRIu32 ",\"steps\":[%" PRIu32
		        ",%" PRIu32 "]",
		        v->segment, v->step_first, v->step_last);
	else
		fputs(",\"segment\":null,\"steps\":null", f);
	cairn_audit_diff_names(v->diff, names, sizeof names);
	fprintf(f, ",\"differs\":\"%s\"", v->diff ? names : "");
	json_narrowing(f, v);
	if (!v->accepted) {
		fputs(",\"reason\":", f);
		cairn__cli_json_string(f, reason);
	}
	if (signed_)
		json_signed(f, v);
	fputc('}', f);
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

	printf("%s %s", v->accepted ? "ACCEPTED" : "REJECTED", path);
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

/* ---- --verdicts: checking verdict files --------------------------------- */

/* The value of the last "key":"..." in line: its first character and
 * length (to the closing quote); NULL when there is none.  The values
 * looked for are hex, written after any free text in the line. */
static const char *line_field(const char *line, const char *key, size_t *len)
{
	char pat[32];
	const char *p = NULL, *q, *end;

	snprintf(pat, sizeof pat, "\"%s\":\"", key);
	for (q = strstr(line, pat); q; q = strstr(q + 1, pat))
		p = q + strlen(pat);
	if (!p || !(end = strchr(p, '"')))
		return NULL;
	*len = (size_t)(end - p);
	return p;
}

/* 0 when line's readable fields say what the signed verdict v says (the
 * fields json_verdict writes from it); else the name of the first that
 * does not, in what (what_len bytes). */
static int verdict_fields_agree(const char *line,
                                const struct cairn_audit_verdict *v,
                                char *what, size_t what_len)
{
	char frag[4 * CAIRN_AUDIT_MAX_SEGMENTS * 11 + 64], hx[129];
	char names[64];
	size_t n = 0;

#define AGREE(name)                                                            \
	do {                                                                   \
		if (!strstr(line, frag)) {                                     \
			snprintf(what, what_len, "%s", name);                  \
			return -1;                                             \
		}                                                              \
	} while (0)

	hex_bytes(v->task_id, CAIRN_HASH_BYTES, hx);
	snprintf(frag, sizeof frag, "\"task_id\":\"%s\"", hx);
	AGREE("task_id");
	hex_bytes(v->trace_root, CAIRN_HASH_BYTES, hx);
	snprintf(frag, sizeof frag, "\"trace_root\":\"%s\"", hx);
	AGREE("trace_root");
	hex_bytes(v->nonce, CAIRN_HASH_BYTES, hx);
	snprintf(frag, sizeof frag, "\"nonce\":\"%s\"", hx);
	AGREE("nonce");
	n = (size_t)snprintf(frag, sizeof frag, "\"segments\":[");
	for (uint32_t i = 0; i < v->nsegments && n < sizeof frag; i++)
		n += (size_t)snprintf(frag + n, sizeof frag - n, "%s%" PRIu32,
		                      i ? "," : "", v->segments[i]);
	snprintf(frag + n, sizeof frag - n, "]");
	AGREE("segments");
	snprintf(frag, sizeof frag, "\"accepted\":%s,\"check\":\"%s\"",
	         v->accepted ? "true" : "false",
	         cairn_audit_check_name((int)v->check));
	AGREE("accepted/check");
	if (v->segment != CAIRN_AUDIT_NO_SEGMENT)
		snprintf(frag, sizeof frag,
		         "\"segment\":%" PRIu32 ",\"steps\":[%" PRIu32
		         ",%" PRIu32 "]",
		         v->segment, v->step_first, v->step_last);
	else
		snprintf(frag, sizeof frag, "\"segment\":null,\"steps\":null");
	AGREE("segment/steps");
	cairn_audit_diff_names(v->diff, names, sizeof names);
	snprintf(frag, sizeof frag, "\"differs\":\"%s\"",
	         v->diff ? names : "");
	AGREE("differs");
	if (v->diff_step) {
		cairn_audit_diff_names(v->diff_what, names, sizeof names);
		snprintf(frag, sizeof frag,
		         "\"first_difference\":{\"step\":%" PRIu32
		         ",\"differs\":\"%s\"}",
		         v->diff_step, names);
	} else {
		snprintf(frag, sizeof frag, "\"first_difference\":null");
	}
	AGREE("first_difference");
	if (v->elem_tensor >= 1 && v->elem_tensor <= 3)
		snprintf(frag, sizeof frag,
		         "\"element\":{\"tensor\":\"%s\",\"index\":%" PRIu64
		         ",\"count\":%" PRIu64 ",\"worker_bits\":\"%08" PRIx32
		         "\",\"replay_bits\":\"%08" PRIx32 "\"}",
		         elem_names[v->elem_tensor], v->elem_index,
		         v->elem_count, v->elem_worker, v->elem_replay);
	else
		snprintf(frag, sizeof frag, "\"element\":null");
	AGREE("element");
	hex_bytes(v->auditor_key, CAIRN_PUBLIC_KEY_BYTES, hx);
	snprintf(frag, sizeof frag, "\"auditor_key\":\"%s\"", hx);
	AGREE("auditor_key");
#undef AGREE
	return 0;
}

/* Checks one line of a verdict file into *v: 0 valid, 1 invalid (a
 * signature that does not verify, fields that contradict the signed
 * verdict, another auditor than --auditor), 2 not a verdict line; why
 * says what. */
static int check_verdict_line(const struct verify_opts *o, const char *line,
                              struct cairn_audit_verdict *v, uint8_t *enc,
                              char *why, size_t whylen)
{
	const char *hv, *hs;
	size_t lv, ls, len;
	char sub[256], hx[CAIRN_HASH_HEX_BYTES];
	int rc;

	hv = line_field(line, "verdict", &lv);
	hs = line_field(line, "signature", &ls);
	if (!hv || !hs) {
		snprintf(why, whylen,
		         "no signed verdict (\"verdict\" and \"signature\" "
		         "fields): not a line of a file `cairn verify --out` "
		         "writes");
		return 2;
	}
	if (lv > 2 * (size_t)CAIRN_AUDIT_VERDICT_MAX_BYTES ||
	    sodium_hex2bin(enc, CAIRN_AUDIT_VERDICT_MAX_BYTES, hv, lv, NULL,
	                   &len, NULL) ||
	    len * 2 != lv) {
		snprintf(why, whylen,
		         "its \"verdict\" is not hex of at most %d bytes",
		         CAIRN_AUDIT_VERDICT_MAX_BYTES);
		return 2;
	}
	rc = cairn_audit_verdict_decode(enc, len, v, sub, sizeof sub);
	if (rc) {
		snprintf(why, whylen, "its \"verdict\" does not decode: %s",
		         sub);
		return 2;
	}
	if (ls != 2 * CAIRN_SIGNATURE_BYTES ||
	    sodium_hex2bin(v->signature, CAIRN_SIGNATURE_BYTES, hs, ls, NULL,
	                   &len, NULL) ||
	    len != CAIRN_SIGNATURE_BYTES) {
		snprintf(why, whylen,
		         "its \"signature\" is not %d hex digits",
		         2 * CAIRN_SIGNATURE_BYTES);
		return 2;
	}
	cairn_hash_to_hex(v->auditor_key, hx);
	if (cairn_audit_verdict_verify(v)) {
		snprintf(why, whylen,
		         "the signature does not verify under auditor key %s: "
		         "the verdict was altered, or not signed by that key",
		         hx);
		return 1;
	}
	if (verdict_fields_agree(line, v, sub, sizeof sub)) {
		snprintf(why, whylen,
		         "its readable field %s does not say what the signed "
		         "verdict says: the line was edited after signing",
		         sub);
		return 1;
	}
	if (o->have_auditor &&
	    memcmp(o->auditor, v->auditor_key, CAIRN_PUBLIC_KEY_BYTES)) {
		snprintf(why, whylen,
		         "signed by auditor %s, not the one --auditor names",
		         hx);
		return 1;
	}
	return 0;
}

/* `cairn verify --verdicts FILE...`. */
static int verify_verdict_files(const struct verify_opts *o, char **argv)
{
	struct cairn_audit_verdict *v = malloc(sizeof *v);
	uint8_t *enc = malloc(CAIRN_AUDIT_VERDICT_MAX_BYTES);
	char why[512], hx[CAIRN_HASH_HEX_BYTES], *line = NULL;
	size_t cap = 0;
	int ex = 0;

	if (!v || !enc) {
		fprintf(stderr, "cairn verify: out of memory\n");
		ex = 2;
		goto out;
	}
	for (int i = 0; i < o->nbundles; i++) {
		const char *path = argv[o->first + i];
		FILE *f = fopen(path, "r");
		long lineno = 0, nverdicts = 0;
		ssize_t got;

		if (!f) {
			fprintf(stderr, "cairn verify: cannot open verdict "
			                "file %s: %s\n",
			        path, strerror(errno));
			ex = 2;
			continue;
		}
		while ((got = getline(&line, &cap, f)) >= 0) {
			int r;
			lineno++;
			while (got > 0 && (line[got - 1] == '\n' ||
			                   line[got - 1] == '\r'))
				line[--got] = '\0';
			if (!got)
				continue;
			nverdicts++;
			r = check_verdict_line(o, line, v, enc, why,
			                       sizeof why);
			if (r > ex)
				ex = r;
			if (r)
				fprintf(stderr,
				        "cairn verify: %s line %ld: %s %s\n",
				        path, lineno,
				        r == 1 ? "INVALID:" : "not a verdict:",
				        why);
			cairn_hash_to_hex(v->task_id, hx);
			if (o->json) {
				fputs("{\"file\":", stdout);
				cairn__cli_json_string(stdout, path);
				printf(",\"line\":%ld,\"valid\":%s", lineno,
				       r ? "false" : "true");
				if (r) {
					fputs(",\"error\":", stdout);
					cairn__cli_json_string(stdout, why);
				} else {
					char ak[CAIRN_HASH_HEX_BYTES];
					cairn_hash_to_hex(v->auditor_key, ak);
					printf(",\"auditor_key\":\"%s\","
					       "\"task_id\":\"%s\","
					       "\"accepted\":%s,\"check\":\"%s\"",
					       ak, hx,
					       v->accepted ? "true" : "false",
					       cairn_audit_check_name(
					           (int)v->check));
				}
				fputs("}\n", stdout);
			} else if (!r) {
				char ak[CAIRN_HASH_HEX_BYTES];
				cairn_hash_to_hex(v->auditor_key, ak);
				printf("VALID %s line %ld: auditor %s, task %s "
				       "%s",
				       path, lineno, ak, hx,
				       v->accepted ? "ACCEPTED" : "REJECTED");
				if (!v->accepted)
					printf(" check %s",
					       cairn_audit_check_name(
					           (int)v->check));
				if (v->diff_step) {
					char names[64];
					cairn_audit_diff_names(
					    v->diff_what, names, sizeof names);
					printf(", first difference at step "
					       "%" PRIu32 " (%s)",
					       v->diff_step, names);
				}
				putchar('\n');
			}
		}
		if (ferror(f)) {
			fprintf(stderr, "cairn verify: cannot read %s: %s\n",
			        path, strerror(errno));
			ex = 2;
		} else if (!nverdicts) {
			fprintf(stderr,
			        "cairn verify: %s holds no verdict (an empty "
			        "file)\n",
			        path);
			ex = 2;
		}
		fclose(f);
	}
out:
	free(line);
	free(enc);
	free(v);
	return ex;
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
	char err[1024];
	FILE *out = NULL;
	int ex, rc, have_id = 0;

	memset(&id, 0, sizeof id);
	ex = parse(argc, argv, &o);
	if (ex)
		return ex == 1 ? 0 : ex;
	if (sodium_init() < 0) {
		fprintf(stderr, "cairn verify: libsodium failed to start\n");
		return 2;
	}
	if (o.verdicts)
		return verify_verdict_files(&o, argv);
	if (o.key) {
		rc = cairn_identity_load(&id, o.key, err, sizeof err);
		if (rc) {
			fprintf(stderr, "cairn verify: %s\n", err);
			return 2;
		}
		have_id = 1;
	}
	v = malloc(sizeof *v);
	if (!v) {
		fprintf(stderr, "cairn verify: out of memory\n");
		ex = 2;
		goto out;
	}
	rc = cairn_dataset_open(o.data, "train", &ds, err, sizeof err);
	if (rc) {
		fprintf(stderr, "cairn verify: %s\n", err);
		ex = 2;
		goto out;
	}
	rc = cairn_dataset_root(ds, droot);
	if (rc) {
		fprintf(stderr, "cairn verify: cannot hash the dataset: %s\n",
		        cairn_strerror(rc));
		ex = 2;
		goto out;
	}
	memset(&bo, 0, sizeof bo);
	bo.threads = (int)o.threads;
	rc = cairn_backend_open_auto(o.device, &bo, &be);
	if (rc) {
		fprintf(stderr, "cairn verify: cannot open the %s device: %s\n",
		        o.device ? o.device : "default", cairn_strerror(rc));
		ex = 2;
		goto out;
	}
	if (o.out) {
		out = fopen(o.out, "wx");
		if (!out) {
			fprintf(stderr,
			        "cairn verify: cannot create %s: %s%s\n", o.out,
			        strerror(errno),
			        errno == EEXIST ? " (it is never replaced; "
			                          "give a new name)"
			                        : "");
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
			fprintf(stderr, "cairn verify: %s\n", err);
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
				fprintf(stderr, "cairn verify: %s\n", err);
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
				fprintf(stderr, "cairn verify: %s: %s%s\n",
				        path,
				        strncmp(err, "cannot audit", 12)
				            ? "cannot audit: "
				            : "",
				        err);
				if (o.json)
					json_error(path, err);
				ex = 2;
				continue;
			}
		}
		if (have_id) {
			rc = cairn_audit_verdict_sign(&id, v);
			if (rc) {
				fprintf(stderr,
				        "cairn verify: cannot sign the "
				        "verdict: %s\n",
				        cairn_strerror(rc));
				ex = 2;
				continue;
			}
		}
		if (!v->accepted) {
			fprintf(stderr, "cairn verify: %s: REJECTED: %s\n",
			        path, err);
			if (ex < 1)
				ex = 1;
		}
		if (o.json) {
			json_verdict(stdout, path, cairn_backend_name(be), v,
			             err, have_id);
			fputc('\n', stdout);
		} else {
			print_verdict(path, v);
		}
		if (out) {
			json_verdict(out, path, cairn_backend_name(be), v, err,
			             1);
			fputc('\n', out);
		}
	}
	if (out && (fflush(out) || ferror(out))) {
		fprintf(stderr, "cairn verify: cannot write %s: %s\n", o.out,
		        strerror(errno));
		ex = 2;
	}
out:
	if (out)
		fclose(out);
	cairn_backend_close(be);
	cairn_dataset_close(ds);
	free(v);
	cairn_identity_wipe(&id);
	return ex;
}
