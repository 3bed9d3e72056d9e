/* cairn: `cairn bench audit`, what an audit costs against the task it
 * audits (DESIGN.md section 6; issue 4's target: S segments cost about
 * S * C / H of the task, at most 5 % at the defaults).
 *
 * One task of the reference job (784-1024-1024-10, ReLU, AdamW,
 * Fashion-MNIST, batch 256 in 4 micro-batches) is run as a worker runs
 * it: W_r from the job seed, cairn_task_run with cairn_bundle_checkpoint
 * collecting every committed state, cairn_bundle_finish signing it with a
 * throw-away key.  The bundle is written to a temporary directory, read
 * back as `cairn verify` reads it by default (cairn_audit_read_lazy: the
 * encoding, signature, roots and start, no tensor), and audited --reps
 * times with fresh nonces (cairn_audit_bundle: model, the drawn
 * checkpoints read, loaded and hashed, S * C replayed steps, root
 * compares), the median reported.  The ratio is printed with and without
 * the read, beside S * C / H.  Then the bundle is read once more with
 * every check (cairn_audit_read: every checkpoint's tensors, as `cairn
 * verify` reads it), which is reported, not counted.  The bundle is
 * removed at the end. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "bench.h"
#include "cairn/attest.h"
#include "cairn/audit.h"
#include "cairn/bundle.h"
#include "cairn/dataset.h"
#include "cairn/error.h"
#include "cairn/identity.h"
#include "cairn/kernels.h"
#include "cairn/model.h"
#include "cairn/task.h"
#include "cairn/text.h"

#define AUDIT_MAX_REPS 100

struct audit_args {
	const char *device; /* NULL: CAIRN_DEVICE or auto */
	const char *data;   /* NULL: the Debian package's directory */
	const char *dir;    /* NULL: $TMPDIR, else /tmp */
	long long segments, inner, ckpt, threads, reps;
	int json;
};

/* The reference model's parameter count, from its spec. */
static long long audit_ref_params(void)
{
	cairn_mlp_spec spec;
	long long n = 0, d = 0;

	cairn_mlp_spec_reference(&spec);
	d = spec.input;
	for (int l = 0; l <= spec.nhidden; l++) {
		long long out =
		    l < spec.nhidden ? spec.hidden[l] : spec.classes;
		n += d * out + out;
		d = out;
	}
	return n;
}

static void audit_usage(FILE *f)
{
	long long np = audit_ref_params();
	long long kept =
	    CAIRN_REF_JOB_INNER_STEPS / CAIRN_REF_JOB_CHECKPOINT_EVERY;

	fprintf(
	    f,
	    "usage: cairn bench audit [OPTIONS]\n\n"
	    "Times an audit against the task it audits: runs one task of "
	    "the reference\njob (784-1024-1024-10, AdamW, Fashion-MNIST, "
	    "batch 256 in %d micro-batches)\nas a worker does, writes its "
	    "signed bundle, reads it back as cairn verify\ndoes by default and "
	    "audits S segments of it (each drawn checkpoint checked\nbefore "
	    "its replay); prints the audit's cost as a fraction of the "
	    "task's,\nwith and without the read, beside the expected "
	    "S*C/H, and the time of a\nread with every check (every "
	    "checkpoint's tensors hashed), as cairn verify\nreads "
	    "with --full.\n\n"
	    "options:\n"
	    "  --segments S          segments per audit (default 1, "
	    "cairn verify's)\n"
	    "  --inner-steps H       steps of the task (default %d, the "
	    "reference job's)\n"
	    "  --checkpoint-every C  steps per committed state, dividing "
	    "H (default %d)\n"
	    "  --reps R              audits timed, each with a fresh "
	    "nonce; median\n"
	    "                        reported (default 3)\n"
	    "  --device D            auto (default), cpu or gpu\n"
	    "  --threads T           CPU threads (default: one per "
	    "core)\n"
	    "  --data DIR            Fashion-MNIST IDX files (default "
	    "%s)\n"
	    "  --dir DIR             where the bundle is written and "
	    "removed (default\n"
	    "                        $TMPDIR, else /tmp); it takes 3 x 4 "
	    "x %lld bytes\n"
	    "                        per checkpoint kept (%lld of them, "
	    "%.0f MB, at the\n"
	    "                        defaults)\n"
	    "  --json                one JSON object on stdout\n"
	    "  -h, --help            this text\n\n"
	    "exit status: 0 ok, 1 failure (or an honest bundle rejected), "
	    "2 bad usage\n",
	    CAIRN_MODEL_REFERENCE_MICRO, CAIRN_REF_JOB_INNER_STEPS,
	    CAIRN_REF_JOB_CHECKPOINT_EVERY, CAIRN_DATASET_DEFAULT_DIR, np, kept,
	    (double)(kept * 12 * np) / 1e6);
}

/* 0, 1 after --help, or 2 after printing a usage error. */
static int audit_parse(int argc, char **argv, struct audit_args *a)
{
	const char *env;

	memset(a, 0, sizeof *a);
	a->segments = 1;
	a->inner = CAIRN_REF_JOB_INNER_STEPS;
	a->ckpt = CAIRN_REF_JOB_CHECKPOINT_EVERY;
	a->reps = 3;
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int rc = 0;

		if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
			audit_usage(stdout);
			return 1;
		} else if (!strcmp(o, "--json")) {
			a->json = 1;
			continue;
		} else if (!strcmp(o, "--device") && v) {
			if (strcmp(v, "auto") && strcmp(v, "cpu") &&
			    strcmp(v, "gpu")) {
				cairn_eprint(
				    "cairn bench audit: --device '%s': want "
				    "auto, cpu or gpu\n",
				    v);
				return 2;
			}
			a->device = v;
		} else if (!strcmp(o, "--data") && v) {
			a->data = v;
		} else if (!strcmp(o, "--dir") && v) {
			a->dir = v;
		} else if (!strcmp(o, "--segments")) {
			rc = cairn__bench_parse_int("audit", o, v, 1,
			                            CAIRN_AUDIT_MAX_SEGMENTS,
			                            &a->segments);
		} else if (!strcmp(o, "--inner-steps")) {
			rc = cairn__bench_parse_int(
			    "audit", o, v, 1, CAIRN_TASK_MAX_STEPS, &a->inner);
		} else if (!strcmp(o, "--checkpoint-every")) {
			rc = cairn__bench_parse_int(
			    "audit", o, v, 1, CAIRN_TASK_MAX_STEPS, &a->ckpt);
		} else if (!strcmp(o, "--threads")) {
			rc = cairn__bench_parse_int("audit", o, v, 1, 1024,
			                            &a->threads);
		} else if (!strcmp(o, "--reps")) {
			rc = cairn__bench_parse_int("audit", o, v, 1,
			                            AUDIT_MAX_REPS, &a->reps);
		} else {
			cairn_eprint(
			    "cairn bench audit: unknown option '%s'%s; see "
			    "'cairn bench audit --help'\n",
			    o, v ? "" : " (or a missing value)");
			return 2;
		}
		if (rc)
			return rc;
		i++;
	}
	if (a->inner % a->ckpt ||
	    a->inner / a->ckpt + 1 > CAIRN_TASK_MAX_STATES) {
		cairn_eprint(
		    "cairn bench audit: --checkpoint-every %lld must divide "
		    "--inner-steps %lld into at most %d segments\n",
		    a->ckpt, a->inner, CAIRN_TASK_MAX_STATES - 1);
		return 2;
	}
	/* a bad CAIRN_DEVICE is refused here, where it came from named,
	 * before any work (the device is opened from it later) */
	if (!a->device && cairn__bench_parse_device("audit", NULL, &env))
		return 2;
	return 0;
}

/* The task: round 0, task 0 of the reference job with H and C from a,
 * starting from the model initialised from the job seed (W_r, into
 * *w_r, caller frees). */
static int make_task(cairn_model *m, const cairn_dataset *ds,
                     const uint8_t droot[CAIRN_HASH_BYTES],
                     const struct audit_args *a, struct cairn_task_spec *sp,
                     float **w_r)
{
	int64_t np = cairn_model_param_count(m);
	int rc;

	memset(sp, 0, sizeof *sp);
	snprintf(sp->profile, sizeof sp->profile, "%s", CAIRN_PROFILE_EXACT);
	snprintf(sp->job, sizeof sp->job, "fmnist-mlp");
	sp->seed = CAIRN_REF_JOB_SEED;
	sp->tasks = CAIRN_REF_JOB_TASKS;
	cairn_mlp_spec_reference(&sp->model);
	cairn_optim_defaults(&sp->opt);
	sp->opt.adamw.step = 0;
	memcpy(sp->dataset_root, droot, CAIRN_HASH_BYTES);
	sp->dataset_count = ds->count;
	sp->batch = CAIRN_REF_JOB_BATCH;
	sp->micro = CAIRN_MODEL_REFERENCE_MICRO;
	sp->inner_steps = (uint32_t)a->inner;
	sp->checkpoint_every = (uint32_t)a->ckpt;
	*w_r = malloc((size_t)np * sizeof(float));
	if (!*w_r)
		return CAIRN_ENOMEM;
	rc = cairn_model_init(m, sp->seed);
	if (!rc)
		rc = cairn_model_read(m, CAIRN_MODEL_PARAMS, *w_r);
	if (!rc)
		rc = cairn_tensor_root(*w_r, (size_t)np * sizeof(float),
		                       sp->params_root);
	return rc;
}

/* What was measured (seconds, bytes). */
struct audit_figures {
	double task, write, read, audit, full_read;
	long long bytes;
	uint32_t nseg, drawn[CAIRN_AUDIT_MAX_SEGMENTS], ndrawn;
	int accepted;
};

static void print_figures(const struct audit_args *a, cairn_backend *be,
                          const struct audit_figures *g)
{
	double want = (double)a->segments * (double)a->ckpt / (double)a->inner;
	double r0 = g->audit / g->task, r1 = (g->read + g->audit) / g->task;
	double r2 = (g->full_read + g->audit) / g->task;
	long long s = a->segments < g->nseg ? a->segments : g->nseg;

	if (s * a->ckpt >= a->inner)
		want = 1.0;
	if (a->json) {
		printf("{\"suite\":\"audit\",\"job\":\"fmnist-mlp\","
		       "\"device\":\"%s\",\"device_desc\":\"%s\","
		       "\"threads\":%d,\"batch\":%d,\"micro\":%d,"
		       "\"inner_steps\":%lld,\"checkpoint_every\":%lld,"
		       "\"segments\":%lld,\"reps\":%lld,"
		       "\"task_seconds\":%.4f,\"bundle_bytes\":%lld,"
		       "\"write_seconds\":%.4f,\"read_seconds\":%.4f,"
		       "\"audit_seconds_median\":%.4f,"
		       "\"ratio_without_read\":%.5f,"
		       "\"ratio_with_read\":%.5f,\"expected_ratio\":%.5f,"
		       "\"full_read_seconds\":%.4f,"
		       "\"ratio_with_full_read\":%.5f,"
		       "\"accepted\":%s}\n",
		       cairn_backend_name(be), cairn_backend_describe(be),
		       cairn_backend_threads(be), CAIRN_REF_JOB_BATCH,
		       CAIRN_MODEL_REFERENCE_MICRO, a->inner, a->ckpt, s,
		       a->reps, g->task, g->bytes, g->write, g->read, g->audit,
		       r0, r1, want, g->full_read, r2,
		       g->accepted ? "true" : "false");
		return;
	}
	printf("cairn bench audit: fmnist-mlp task, H = %lld steps, a state "
	       "every C = %lld (%u segments), batch %d in %d micro-batches\n"
	       "  device     %s (%s)\n"
	       "  task       %8.2f s  run H steps, commit %u states, keep "
	       "the checkpoints, sign\n"
	       "  write      %8.2f s  bundle of %.1f MB (not counted)\n"
	       "  read       %8.4f s  cairn_audit_read_lazy: encoding, "
	       "signature, roots, start\n"
	       "  audit      %8.3f s  %lld segment(s) of %lld steps: "
	       "checkpoint loaded and hashed, replayed;\n"
	       "                       median of %lld (last drew",
	       a->inner, a->ckpt, g->nseg, CAIRN_REF_JOB_BATCH,
	       CAIRN_MODEL_REFERENCE_MICRO, cairn_backend_name(be),
	       cairn_backend_describe(be), g->task, g->nseg + 1, g->write,
	       (double)g->bytes / 1e6, g->read, g->audit, s, a->ckpt, a->reps);
	for (uint32_t i = 0; i < g->ndrawn; i++)
		printf("%s%u", i ? "," : " ", g->drawn[i]);
	printf(")\n"
	       "  full read  %8.3f s  cairn_audit_read: every checkpoint's "
	       "tensors too (not counted)\n"
	       "  ratio      audit / task = %.4f without the read, %.4f "
	       "with it; expected S*C/H = %.4f\n"
	       "             (%.4f with the full read, as cairn verify "
	       "--full)\n"
	       "  verdict    %s\n",
	       g->full_read, r0, r1, want, r2,
	       g->accepted ? "every audit ACCEPTED" : "REJECTED");
}

/* Runs the task, writes, reads and audits its bundle (see the top). */
static int measure(cairn_backend *be, const cairn_dataset *ds,
                   const uint8_t droot[CAIRN_HASH_BYTES],
                   const struct audit_args *a, const char *dir,
                   struct audit_figures *g, char *err, size_t errlen)
{
	struct cairn_task_spec sp;
	struct cairn_task_trace tr;
	struct cairn_bundle b;
	struct cairn_identity id;
	struct cairn_audit_verdict *v = NULL;
	cairn_model *m = NULL;
	float *w_r = NULL, *losses = NULL;
	uint8_t *roots = NULL, *steps = NULL, nonce[CAIRN_HASH_BYTES];
	double times[AUDIT_MAX_REPS], t0;
	char name[CAIRN_BUNDLE_FILENAME_BYTES], path[4200];
	struct stat st;
	int rc, rejected = 0, wrote = 0;

	memset(&b, 0, sizeof b);
	memset(&tr, 0, sizeof tr);
	memset(g, 0, sizeof *g);
	rc = cairn_identity_generate(&id);
	if (rc) {
		snprintf(err, errlen, "cannot make a worker key: %s",
		         cairn_strerror(rc));
		return rc;
	}
	v = malloc(sizeof *v);
	if (!v) {
		rc = CAIRN_ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	{
		cairn_mlp_spec ms;
		cairn_mlp_spec_reference(&ms);
		rc = cairn_model_create(be, &ms, CAIRN_REF_JOB_BATCH,
		                        CAIRN_MODEL_REFERENCE_MICRO, &m);
	}
	if (!rc)
		rc = make_task(m, ds, droot, a, &sp, &w_r);
	if (rc) {
		snprintf(err, errlen, "cannot make the task's model: %s",
		         cairn_strerror(rc));
		goto out;
	}
	g->nseg = cairn_task_state_count(&sp) - 1;
	roots = malloc((size_t)(g->nseg + 1) * CAIRN_HASH_BYTES);
	losses = malloc((size_t)a->inner * sizeof *losses);
	steps = malloc((size_t)a->inner * CAIRN_STEP_RECORD_BYTES);
	if (!roots || !losses || !steps) {
		rc = CAIRN_ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	tr.state_roots = roots;
	tr.losses = losses;
	tr.steps = steps;

	/* The worker's side. */
	t0 = cairn__bench_now();
	rc = cairn_bundle_begin(&b, &sp);
	if (!rc)
		rc = cairn_task_run(m, &sp, ds, droot, w_r, &tr,
		                    cairn_bundle_checkpoint, &b, err, errlen);
	if (!rc)
		rc = cairn_bundle_finish(&b, &tr, &id, cairn_backend_name(be));
	g->task = cairn__bench_now() - t0;
	cairn_model_free(m);
	m = NULL;
	if (rc) {
		if (!err[0])
			snprintf(err, errlen, "the task: %s",
			         cairn_strerror(rc));
		goto out;
	}
	rc = cairn_bundle_filename(&sp, name, sizeof name);
	if (rc)
		goto out;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	t0 = cairn__bench_now();
	rc = cairn_bundle_write(&b, path, err, errlen);
	g->write = cairn__bench_now() - t0;
	cairn_bundle_free(&b);
	if (rc)
		goto out;
	wrote = 1;
	if (!stat(path, &st))
		g->bytes = (long long)st.st_size;

	/* The auditor's side: read once (lazily), audit reps times. */
	t0 = cairn__bench_now();
	rc = cairn_audit_read_lazy(path, &b, v, &rejected, err, errlen);
	g->read = cairn__bench_now() - t0;
	if (rc)
		goto out;
	if (rejected)
		goto rejected;
	g->accepted = 1;
	for (long long r = 0; r < a->reps; r++) {
		randombytes_buf(nonce, sizeof nonce);
		t0 = cairn__bench_now();
		rc = cairn_audit_bundle(be, &b, ds, droot, nonce,
		                        (uint32_t)a->segments, v, err, errlen);
		times[r] = cairn__bench_now() - t0;
		if (rc)
			goto out;
		if (!v->accepted)
			goto rejected;
	}
	g->ndrawn = v->nsegments;
	memcpy(g->drawn, v->segments, v->nsegments * sizeof v->segments[0]);
	g->audit = cairn__bench_median(times, (int)a->reps);
	/* Every checkpoint hashed, for comparison. */
	cairn_bundle_free(&b);
	t0 = cairn__bench_now();
	rc = cairn_audit_read(path, &b, v, &rejected, err, errlen);
	g->full_read = cairn__bench_now() - t0;
	if (rc)
		goto out;
	if (rejected)
		goto rejected;
	goto out;
rejected:
	/* Never for an honest bundle: a bug. */
	{
		char why[8192];
		snprintf(why, sizeof why, "%s", err);
		snprintf(err, errlen,
		         "the honest bundle was REJECTED (a bug in cairn, "
		         "please report it): %.900s",
		         why);
	}
	g->accepted = 0;
	rc = CAIRN_EINTERNAL;
out:
	if (wrote)
		unlink(path);
	cairn_bundle_free(&b);
	cairn_model_free(m);
	cairn_identity_wipe(&id);
	free(w_r);
	free(losses);
	free(steps);
	free(roots);
	free(v);
	return rc;
}

int cairn__bench_audit_cmd(int argc, char **argv)
{
	struct audit_args a;
	struct audit_figures g;
	cairn_backend_opts opts;
	cairn_backend *be = NULL;
	cairn_dataset *ds = NULL;
	uint8_t droot[CAIRN_HASH_BYTES];
	const char *base;
	char dir[4096], err[8192] = "";
	int rc, ex = 1, made = 0;

	rc = audit_parse(argc, argv, &a);
	if (rc)
		return rc == 1 ? 0 : 2;
	if (sodium_init() < 0) {
		cairn_eprint("cairn bench audit: libsodium failed to "
		             "start\n");
		return 1;
	}
	memset(&opts, 0, sizeof opts);
	opts.threads = (int)a.threads;
	rc = cairn_backend_open_auto(a.device, &opts, &be);
	if (rc) {
		cairn_eprint("cairn bench audit: cannot open the %s device: "
		             "%s\n",
		             cairn__bench_device_name(a.device),
		             cairn_strerror(rc));
		return rc == CAIRN_EINVAL ? 2 : 1;
	}
	if (cairn_backend_get_kind(be) == CAIRN_BACKEND_REF) {
		cairn_eprint("cairn bench audit: the ref backend is the "
		             "scalar oracle, far too slow to benchmark; use "
		             "cpu or gpu\n");
		ex = 2;
		goto out;
	}
	rc = cairn_dataset_open(a.data, "train", &ds, err, sizeof err);
	if (rc) {
		cairn_eprint("cairn bench audit: %s\n", err);
		ex = 2;
		goto out;
	}
	rc = cairn_dataset_root(ds, droot);
	if (rc) {
		cairn_eprint("cairn bench audit: cannot hash the dataset: "
		             "%s\n",
		             cairn_strerror(rc));
		goto out;
	}
	base = a.dir ? a.dir : getenv("TMPDIR");
	if (!base || !*base)
		base = "/tmp";
	snprintf(dir, sizeof dir, "%s/cairn-bench-audit-XXXXXX", base);
	if (!mkdtemp(dir)) {
		cairn_eprint(
		    "cairn bench audit: cannot make a directory in %s: %s "
		    "(give --dir DIR with room for the bundle)\n",
		    base, strerror(errno));
		ex = a.dir ? 2 : 1;
		goto out;
	}
	made = 1;
	rc = measure(be, ds, droot, &a, dir, &g, err, sizeof err);
	if (rc) {
		cairn_eprint("cairn bench audit: %s\n",
		             err[0] ? err : cairn_strerror(rc));
		goto out;
	}
	print_figures(&a, be, &g);
	ex = 0;
out:
	if (made)
		rmdir(dir);
	cairn_dataset_close(ds);
	cairn_backend_close(be);
	return ex;
}
