/* cairn: the auditor (include/cairn/audit.h).
 *
 * The fixture runs real tasks: a 784-16-10 ReLU MLP, a synthetic
 * in-memory dataset of 64 samples, batch 8 in 2 micro-batches, H = 8
 * inner steps with a checkpoint every c = 2 (4 segments), collected with
 * cairn_bundle_checkpoint and signed with a fresh key.  Every bundle an
 * audit sees has been written and read back with cairn_bundle_read, so a
 * cheat here passes every structural check and only the replay can catch
 * it.
 *
 *   (a) honest bundles from ref and from cpu with 1, 2 and 3 threads are
 *       accepted when audited on ref and on cpu with every segment drawn;
 *   (b) cheats, each re-rooted and re-signed by the cheater, are rejected
 *       with the right check and differing roots: one ulp in a
 *       checkpoint's parameters, skipped steps (a state carried forward),
 *       wrong data (another seed's samples), another learning rate, and a
 *       dataset root that is not the auditor's;
 *   (c) the challenge: distinct, in range, deterministic, nonce-dependent;
 *   (d) verdicts: signed, verified, and any change breaks them;
 *   (e) `cairn verify` end to end on IDX files written here.
 *
 * Random data each run (seed printed; CAIRN_TEST_SEED=0x... replays). */
#include <dirent.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_util.h"

#include "cairn/attest.h"
#include "cairn/audit.h"
#include "cairn/bundle.h"
#include "cairn/cli.h"
#include "cairn/error.h"
#include "cairn/identity.h"
#include "cairn/kernels.h"
#include "cairn/model.h"
#include "cairn/task.h"

#define NSAMPLES 64
#define HIDDEN 16
#define BATCH 8
#define MICRO 2
#define STEPS 8
#define EVERY 2
#define NSEG (STEPS / EVERY)

struct fx {
	uint64_t rng;
	cairn_backend *ref, *cpu;
	cairn_dataset ds; /* our own buffers: never cairn_dataset_close */
	uint8_t *images, *labels;
	uint8_t droot[CAIRN_HASH_BYTES];
	struct cairn_task_spec spec;
	float *w_r;
	struct cairn_identity id;  /* the worker */
	struct cairn_identity aud; /* the auditor */
	struct cairn_bundle good;  /* honest, from cpu, read back */
	char dir[64];
	int nfiles;
	struct cairn_audit_verdict v;
	char err[1024];
};

static uint64_t rnd(struct fx *f)
{
	return cairn_test_splitmix64(&f->rng);
}

static void make_spec(struct fx *f, struct cairn_task_spec *s)
{
	memset(s, 0, sizeof *s);
	snprintf(s->profile, sizeof s->profile, "%s", CAIRN_PROFILE_EXACT);
	snprintf(s->job, sizeof s->job, "test-audit");
	s->seed = f->rng;
	s->round = 2;
	s->task = 0;
	s->tasks = 2;
	s->model.input = CAIRN_DATASET_PIXELS;
	s->model.nhidden = 1;
	s->model.hidden[0] = HIDDEN;
	s->model.classes = CAIRN_DATASET_CLASSES;
	s->model.act = CAIRN_ACT_RELU;
	s->optimizer = CAIRN_TASK_OPT_ADAMW;
	cairn_adamw_defaults(&s->adamw);
	s->adamw.step = 0;
	memcpy(s->dataset_root, f->droot, CAIRN_HASH_BYTES);
	s->dataset_count = NSAMPLES;
	s->batch = BATCH;
	s->micro = MICRO;
	s->inner_steps = STEPS;
	s->checkpoint_every = EVERY;
}

static cairn_backend *open_cpu(int threads)
{
	cairn_backend_opts o;
	cairn_backend *be = NULL;
	memset(&o, 0, sizeof o);
	o.threads = threads;
	o.no_pin = 1; /* the test machine is shared */
	assert_int_equal(cairn_backend_open(CAIRN_BACKEND_CPU, &o, &be), 0);
	return be;
}

/* Runs spec (the honest W_r) on be into a new bundle b, signed by id. */
static void run_bundle(struct fx *f, cairn_backend *be,
                       const struct cairn_task_spec *spec,
                       struct cairn_bundle *b)
{
	uint8_t roots[(NSEG + 1) * CAIRN_HASH_BYTES];
	float losses[STEPS];
	struct cairn_task_trace tr = {.state_roots = roots, .losses = losses};
	cairn_model *m = NULL;
	char err[512] = "";
	int rc;

	assert_int_equal(cairn_model_create(be, &spec->model, BATCH, MICRO, &m),
	                 0);
	assert_int_equal(cairn_bundle_begin(b, spec), 0);
	rc = cairn_task_run(m, spec, &f->ds, spec->dataset_root, f->w_r, &tr,
	                    cairn_bundle_checkpoint, b, err, sizeof err);
	if (rc)
		print_message("cairn_task_run: %s\n", err);
	assert_int_equal(rc, 0);
	assert_int_equal(
	    cairn_bundle_finish(b, &tr, &f->id, cairn_backend_name(be)), 0);
	cairn_model_free(m);
}

/* Writes b to a new file and reads it back into *out with every check of
 * cairn_bundle_read (which must pass); frees b.  Returns the path in
 * path (optional). */
static void reread(struct fx *f, struct cairn_bundle *b,
                   struct cairn_bundle *out, char *path, size_t pathlen)
{
	char p[256], err[1024] = "";
	int rc;

	snprintf(p, sizeof p, "%s/b%d.cairn", f->dir, f->nfiles++);
	assert_int_equal(cairn_bundle_write(b, p, err, sizeof err), 0);
	cairn_bundle_free(b);
	rc = cairn_bundle_read(p, out, err, sizeof err);
	if (rc)
		print_message("cairn_bundle_read: %s\n", err);
	assert_int_equal(rc, 0);
	if (path)
		snprintf(path, pathlen, "%s", p);
}

/* The cheater's signature over his own claims: every state root from the
 * records, the trace root, the final parameters root, the task id of the
 * spec in the bundle, signed with the worker's key. */
static void cheat_resign(struct fx *f, struct cairn_bundle *b)
{
	for (uint32_t k = 0; k + 1 < b->nstates; k++)
		assert_int_equal(
		    cairn_state_root(&b->checkpoints[k].state,
		                     b->state_roots + k * CAIRN_HASH_BYTES),
		    0);
	assert_int_equal(
	    cairn_state_root(&b->final_state,
	                     b->state_roots +
	                         (b->nstates - 1) * CAIRN_HASH_BYTES),
	    0);
	assert_int_equal(
	    cairn_trace_root(b->state_roots, b->nstates, b->result.trace_root),
	    0);
	memcpy(b->result.final_params_root, b->final_state.params,
	       CAIRN_HASH_BYTES);
	assert_int_equal(cairn_task_id(&b->spec, b->result.task_id), 0);
	assert_int_equal(
	    cairn_task_result_sign(&f->id, &b->result, b->signature), 0);
}

/* A deep copy of the good bundle (through its file). */
static void copy_good(struct fx *f, struct cairn_bundle *out)
{
	struct cairn_bundle tmp;
	size_t bytes = (size_t)f->good.param_count * sizeof(float);

	memset(&tmp, 0, sizeof tmp);
	assert_int_equal(cairn_bundle_begin(&tmp, &f->good.spec), 0);
	tmp.result = f->good.result;
	memcpy(tmp.signature, f->good.signature, sizeof tmp.signature);
	memcpy(tmp.state_roots, f->good.state_roots,
	       (size_t)f->good.nstates * CAIRN_HASH_BYTES);
	tmp.final_state = f->good.final_state;
	tmp.param_count = f->good.param_count;
	for (uint32_t k = 0; k < f->good.ncheckpoints; k++) {
		struct cairn_bundle_checkpoint *d = &tmp.checkpoints[k];
		const struct cairn_bundle_checkpoint *s =
		    &f->good.checkpoints[k];
		d->state = s->state;
		d->params = cairn_test_xmalloc(bytes);
		d->m = cairn_test_xmalloc(bytes);
		d->v = cairn_test_xmalloc(bytes);
		memcpy(d->params, s->params, bytes);
		memcpy(d->m, s->m, bytes);
		memcpy(d->v, s->v, bytes);
	}
	tmp.ncheckpoints = f->good.ncheckpoints;
	*out = tmp;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	struct cairn_bundle b;
	cairn_model *m = NULL;
	int64_t np;

	if (!f)
		return -1;
	f->rng = cairn_test_seed("test_audit");
	if (cairn_backend_open(CAIRN_BACKEND_REF, NULL, &f->ref))
		return -1;
	f->cpu = open_cpu(2);
	f->images = cairn_test_xmalloc((size_t)NSAMPLES * CAIRN_DATASET_PIXELS);
	f->labels = cairn_test_xmalloc(NSAMPLES);
	for (size_t i = 0; i < (size_t)NSAMPLES * CAIRN_DATASET_PIXELS; i++)
		f->images[i] = (uint8_t)rnd(f);
	for (size_t i = 0; i < NSAMPLES; i++)
		f->labels[i] = (uint8_t)(rnd(f) % CAIRN_DATASET_CLASSES);
	f->ds.count = NSAMPLES;
	f->ds.images = f->images;
	f->ds.labels = f->labels;
	if (cairn_dataset_root(&f->ds, f->droot))
		return -1;
	make_spec(f, &f->spec);
	if (cairn_model_create(f->cpu, &f->spec.model, BATCH, MICRO, &m) ||
	    cairn_model_init(m, f->spec.seed))
		return -1;
	np = cairn_model_param_count(m);
	f->w_r = cairn_test_xmalloc((size_t)np * sizeof(float));
	if (cairn_model_read(m, CAIRN_MODEL_PARAMS, f->w_r) ||
	    cairn_tensor_root(f->w_r, (size_t)np * sizeof(float),
	                      f->spec.params_root))
		return -1;
	cairn_model_free(m);
	if (cairn_identity_generate(&f->id) || cairn_identity_generate(&f->aud))
		return -1;
	snprintf(f->dir, sizeof f->dir, "/tmp/cairn-test-audit-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	*state = f;
	run_bundle(f, f->cpu, &f->spec, &b);
	reread(f, &b, &f->good, NULL, 0);
	return 0;
}

static void rm_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[512];
	struct stat st;

	while (d && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		if (!lstat(p, &st) && S_ISDIR(st.st_mode))
			rm_tree(p);
		else
			unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	if (!f)
		return 0;
	rm_tree(f->dir);
	cairn_bundle_free(&f->good);
	cairn_identity_wipe(&f->id);
	cairn_identity_wipe(&f->aud);
	cairn_backend_close(f->ref);
	cairn_backend_close(f->cpu);
	free(f->w_r);
	free(f->images);
	free(f->labels);
	free(f);
	return 0;
}

/* Audits b on be with every segment drawn under a random nonce. */
static int audit_all(struct fx *f, cairn_backend *be,
                     const struct cairn_bundle *b, const uint8_t *droot)
{
	uint8_t nonce[CAIRN_HASH_BYTES];
	for (size_t i = 0; i < sizeof nonce; i++)
		nonce[i] = (uint8_t)rnd(f);
	f->err[0] = '\0';
	return cairn_audit_bundle(be, b, &f->ds, droot ? droot : f->droot,
	                          nonce, NSEG, &f->v, f->err, sizeof f->err);
}

/* ---- (a) honest bundles ------------------------------------------------ */

static void test_honest_accepted(void **state)
{
	struct fx *f = *state;
	cairn_backend *makers[4];
	const char *names[4] = {"ref", "cpu/1", "cpu/2", "cpu/3"};

	makers[0] = f->ref;
	makers[1] = open_cpu(1);
	makers[2] = f->cpu;
	makers[3] = open_cpu(3);
	for (int i = 0; i < 4; i++) {
		struct cairn_bundle b, r;
		cairn_backend *auditors[2] = {f->ref, f->cpu};

		run_bundle(f, makers[i], &f->spec, &b);
		reread(f, &b, &r, NULL, 0);
		/* The same bits from every backend and thread count. */
		assert_memory_equal(r.result.trace_root,
		                    f->good.result.trace_root,
		                    CAIRN_HASH_BYTES);
		for (int a = 0; a < 2; a++) {
			assert_int_equal(audit_all(f, auditors[a], &r, NULL),
			                 0);
			if (!f->v.accepted)
				print_message("false rejection: %s\n", f->err);
			assert_int_equal(f->v.accepted, 1);
			assert_int_equal(f->v.check, CAIRN_AUDIT_OK);
			assert_int_equal(f->v.nsegments, NSEG);
			assert_int_equal(f->v.segment, CAIRN_AUDIT_NO_SEGMENT);
		}
		print_message("honest bundle from %s: accepted on ref and cpu, "
		              "%d of %d segments\n",
		              names[i], NSEG, NSEG);
		cairn_bundle_free(&r);
	}
	cairn_backend_close(makers[1]);
	cairn_backend_close(makers[3]);
}

/* ---- (b) cheats ---------------------------------------------------------- */

/* Audits the cheat c (read back first) on cpu; it must be rejected by
 * check with diff including must and excluding mustnot. */
static void expect_rejected(struct fx *f, struct cairn_bundle *c,
                            const char *what, int check, uint32_t must,
                            uint32_t mustnot)
{
	struct cairn_bundle r;
	char names[64];

	reread(f, c, &r, NULL, 0);
	assert_int_equal(audit_all(f, f->cpu, &r, NULL), 0);
	cairn_audit_diff_names(f->v.diff, names, sizeof names);
	print_message("%-22s -> %s check '%s', segment %" PRId32
	              ", differs %s\n    %s\n",
	              what, f->v.accepted ? "ACCEPTED" : "REJECTED",
	              cairn_audit_check_name((int)f->v.check),
	              (int32_t)f->v.segment, names, f->err);
	assert_int_equal(f->v.accepted, 0);
	assert_int_equal(f->v.check, check);
	assert_true((f->v.diff & must) == must);
	assert_int_equal(f->v.diff & mustnot, 0);
	assert_true(f->v.segment < NSEG);
	assert_int_equal(f->v.step_first, f->v.segment * EVERY + 1);
	assert_int_equal(f->v.step_last, (f->v.segment + 1) * EVERY);
	assert_non_null(strstr(f->err, "replay"));
	cairn_bundle_free(&r);
}

static void test_cheat_ulp(void **state)
{
	struct fx *f = *state;
	struct cairn_bundle c;
	struct cairn_bundle_checkpoint *cp;
	uint32_t u;
	size_t bytes = (size_t)f->good.param_count * sizeof(float);

	copy_good(f, &c);
	cp = &c.checkpoints[2];
	memcpy(&u, &cp->params[5], 4);
	u += 1; /* one ulp */
	memcpy(&cp->params[5], &u, 4);
	assert_int_equal(cairn_tensor_root(cp->params, bytes, cp->state.params),
	                 0);
	cheat_resign(f, &c);
	expect_rejected(f, &c, "one ulp at t = 4", CAIRN_AUDIT_REPLAY,
	                CAIRN_AUDIT_DIFF_PARAMS, CAIRN_AUDIT_DIFF_SAMPLES);
	/* Segment 1 ends on the bad state; segment 2 starts from it. */
	assert_true(f->v.segment == 1 || f->v.segment == 2);
}

static void test_cheat_skip_last(void **state)
{
	struct fx *f = *state;
	struct cairn_bundle c;

	/* Steps 7..8 never run: the state at t = 6 claimed at t = 8. */
	copy_good(f, &c);
	c.final_state = c.checkpoints[NSEG - 1].state;
	c.final_state.step = STEPS;
	cheat_resign(f, &c);
	expect_rejected(f, &c, "skipped steps 7..8", CAIRN_AUDIT_REPLAY,
	                CAIRN_AUDIT_DIFF_PARAMS | CAIRN_AUDIT_DIFF_M |
	                    CAIRN_AUDIT_DIFF_V | CAIRN_AUDIT_DIFF_SAMPLES,
	                CAIRN_AUDIT_DIFF_STEP);
	assert_int_equal(f->v.segment, NSEG - 1);
}

static void test_cheat_carry_forward(void **state)
{
	struct fx *f = *state;
	struct cairn_bundle c;
	struct cairn_bundle_checkpoint *a, *b;
	size_t bytes = (size_t)f->good.param_count * sizeof(float);

	/* Steps 3..4 skipped: checkpoint 2 (t = 4) is checkpoint 1 again. */
	copy_good(f, &c);
	a = &c.checkpoints[1];
	b = &c.checkpoints[2];
	memcpy(b->params, a->params, bytes);
	memcpy(b->m, a->m, bytes);
	memcpy(b->v, a->v, bytes);
	b->state = a->state;
	b->state.step = 2 * EVERY;
	cheat_resign(f, &c);
	expect_rejected(f, &c, "state carried forward", CAIRN_AUDIT_REPLAY,
	                CAIRN_AUDIT_DIFF_PARAMS, 0);
	assert_true(f->v.segment == 1 || f->v.segment == 2);
}

/* Runs a spec that differs from the honest one by change, then claims the
 * honest spec and re-signs. */
static void cheat_other_spec(struct fx *f, const struct cairn_task_spec *run,
                             struct cairn_bundle *c)
{
	run_bundle(f, f->cpu, run, c);
	c->spec = f->spec;
	cheat_resign(f, c);
}

static void test_cheat_wrong_data(void **state)
{
	struct fx *f = *state;
	struct cairn_task_spec s = f->spec;
	struct cairn_bundle c;

	s.seed ^= 1; /* other sample indices; the same W_r */
	cheat_other_spec(f, &s, &c);
	expect_rejected(f, &c, "wrong data (seed)", CAIRN_AUDIT_REPLAY,
	                CAIRN_AUDIT_DIFF_SAMPLES | CAIRN_AUDIT_DIFF_PARAMS, 0);
	assert_non_null(strstr(f->err, "other samples"));
}

static void test_cheat_learning_rate(void **state)
{
	struct fx *f = *state;
	struct cairn_task_spec s = f->spec;
	struct cairn_bundle c;

	s.adamw.lr *= 2.0f;
	cheat_other_spec(f, &s, &c);
	expect_rejected(f, &c, "learning rate x2", CAIRN_AUDIT_REPLAY,
	                CAIRN_AUDIT_DIFF_PARAMS, CAIRN_AUDIT_DIFF_SAMPLES);
}

static void test_dataset_mismatch(void **state)
{
	struct fx *f = *state;
	uint8_t other[CAIRN_HASH_BYTES];

	memcpy(other, f->droot, sizeof other);
	other[7] ^= 0x40;
	assert_int_equal(audit_all(f, f->cpu, &f->good, other), 0);
	print_message("%-22s -> check '%s'\n    %s\n", "dataset root",
	              cairn_audit_check_name((int)f->v.check), f->err);
	assert_int_equal(f->v.accepted, 0);
	assert_int_equal(f->v.check, CAIRN_AUDIT_DATASET);
	assert_int_equal(f->v.segment, CAIRN_AUDIT_NO_SEGMENT);
	assert_non_null(strstr(f->err, "dataset"));
}

/* One honest case on ref, with the fewest segments: the ref auditor
 * catches a cheat too. */
static void test_cheat_on_ref(void **state)
{
	struct fx *f = *state;
	struct cairn_bundle c, r;
	uint8_t nonce[CAIRN_HASH_BYTES] = {0};
	uint32_t seg;

	copy_good(f, &c);
	c.final_state = c.checkpoints[NSEG - 1].state;
	c.final_state.step = STEPS;
	cheat_resign(f, &c);
	reread(f, &c, &r, NULL, 0);
	/* A nonce whose single draw is the bad last segment. */
	for (int i = 0; i < 256; i++) {
		nonce[0] = (uint8_t)i;
		assert_int_equal(cairn_audit_challenge(r.result.trace_root,
		                                       nonce, NSEG, 1, &seg),
		                 0);
		if (seg == NSEG - 1)
			break;
	}
	assert_int_equal(seg, NSEG - 1);
	assert_int_equal(cairn_audit_bundle(f->ref, &r, &f->ds, f->droot, nonce,
	                                    1, &f->v, f->err, sizeof f->err),
	                 0);
	assert_int_equal(f->v.accepted, 0);
	assert_int_equal(f->v.check, CAIRN_AUDIT_REPLAY);
	assert_int_equal(f->v.nsegments, 1);
	/* Another nonce drawing only an honest segment accepts: one segment
	 * catches a one-segment cheat with probability 1/4. */
	for (int i = 0; i < 256; i++) {
		nonce[0] = (uint8_t)i;
		assert_int_equal(cairn_audit_challenge(r.result.trace_root,
		                                       nonce, NSEG, 1, &seg),
		                 0);
		if (seg != NSEG - 1)
			break;
	}
	assert_int_equal(cairn_audit_bundle(f->ref, &r, &f->ds, f->droot, nonce,
	                                    1, &f->v, f->err, sizeof f->err),
	                 0);
	assert_int_equal(f->v.accepted, 1);
	cairn_bundle_free(&r);
}

/* ---- (c) the challenge -----------------------------------------------------
 */

static void test_challenge(void **state)
{
	struct fx *f = *state;
	uint8_t root[CAIRN_HASH_BYTES], n1[CAIRN_HASH_BYTES],
	    n2[CAIRN_HASH_BYTES];
	uint32_t a[64], b[64], hist[5] = {0};
	int differ = 0;

	for (size_t i = 0; i < CAIRN_HASH_BYTES; i++) {
		root[i] = (uint8_t)rnd(f);
		n1[i] = (uint8_t)rnd(f);
		n2[i] = n1[i];
	}
	n2[31] ^= 1;
	for (uint32_t nseg = 1; nseg <= 40; nseg++) {
		for (uint32_t s = 1; s <= nseg + 3; s++) {
			uint32_t want = s < nseg ? s : nseg;
			uint8_t seen[64] = {0};
			assert_int_equal(
			    cairn_audit_challenge(root, n1, nseg, s, a), 0);
			assert_int_equal(
			    cairn_audit_challenge(root, n1, nseg, s, b), 0);
			assert_memory_equal(a, b, want * sizeof a[0]);
			for (uint32_t i = 0; i < want; i++) {
				assert_true(a[i] < nseg);
				assert_int_equal(seen[a[i]], 0);
				seen[a[i]] = 1;
			}
			/* A prefix of a longer draw. */
			if (s > 1) {
				assert_int_equal(cairn_audit_challenge(
				                     root, n1, nseg, s - 1, b),
				                 0);
				assert_memory_equal(
				    a, b,
				    (s - 1 < nseg ? s - 1 : nseg) *
				        sizeof a[0]);
			}
		}
		assert_int_equal(cairn_audit_challenge(root, n1, nseg, nseg, a),
		                 0);
		assert_int_equal(cairn_audit_challenge(root, n2, nseg, nseg, b),
		                 0);
		if (nseg > 2 && memcmp(a, b, nseg * sizeof a[0]))
			differ++;
	}
	assert_true(differ >= 30); /* order differs almost always */
	/* Roughly uniform: 5000 single draws over 5 segments. */
	for (int i = 0; i < 5000; i++) {
		uint32_t s;
		memcpy(n1, &i, sizeof i);
		assert_int_equal(cairn_audit_challenge(root, n1, 5, 1, &s), 0);
		hist[s]++;
	}
	for (int i = 0; i < 5; i++)
		assert_true(hist[i] > 850 && hist[i] < 1150);
	assert_int_equal(cairn_audit_challenge(root, n1, 0, 1, a),
	                 CAIRN_EINVAL);
	assert_int_equal(cairn_audit_challenge(root, n1, 4, 0, a),
	                 CAIRN_EINVAL);
	assert_int_equal(cairn_audit_challenge(NULL, n1, 4, 1, a),
	                 CAIRN_EINVAL);
	assert_int_equal(
	    cairn_audit_challenge(root, n1, CAIRN_AUDIT_MAX_SEGMENTS + 1, 1, a),
	    CAIRN_EINVAL);
}

/* ---- (d) verdicts
 * ------------------------------------------------------------ */

static void test_verdict_sign(void **state)
{
	struct fx *f = *state;
	struct cairn_audit_verdict *v = cairn_test_xmalloc(sizeof *v);
	struct cairn_audit_verdict *t = cairn_test_xmalloc(sizeof *t);
	struct cairn_identity other;

	assert_int_equal(audit_all(f, f->cpu, &f->good, NULL), 0);
	*v = f->v;
	assert_int_equal(v->accepted, 1);
	assert_int_equal(cairn_audit_verdict_sign(&f->aud, v), 0);
	assert_memory_equal(v->auditor_key, f->aud.public_key,
	                    CAIRN_PUBLIC_KEY_BYTES);
	assert_int_equal(cairn_audit_verdict_verify(v), 0);

	*t = *v;
	t->accepted = 0;
	assert_int_equal(cairn_audit_verdict_verify(t), CAIRN_ECRYPTO);
	*t = *v;
	t->segments[1] ^= 1;
	assert_int_equal(cairn_audit_verdict_verify(t), CAIRN_ECRYPTO);
	*t = *v;
	t->nsegments--;
	assert_int_equal(cairn_audit_verdict_verify(t), CAIRN_ECRYPTO);
	*t = *v;
	t->nonce[0] ^= 1;
	assert_int_equal(cairn_audit_verdict_verify(t), CAIRN_ECRYPTO);
	*t = *v;
	t->task_id[31] ^= 0x80;
	assert_int_equal(cairn_audit_verdict_verify(t), CAIRN_ECRYPTO);
	*t = *v;
	t->signature[10] ^= 4;
	assert_int_equal(cairn_audit_verdict_verify(t), CAIRN_ECRYPTO);
	/* Another auditor's key over the same verdict. */
	assert_int_equal(cairn_identity_generate(&other), 0);
	*t = *v;
	memcpy(t->auditor_key, other.public_key, CAIRN_PUBLIC_KEY_BYTES);
	assert_int_equal(cairn_audit_verdict_verify(t), CAIRN_ECRYPTO);
	/* Segments past nsegments are not signed. */
	*t = *v;
	t->segments[CAIRN_AUDIT_MAX_SEGMENTS - 1] = 7;
	assert_int_equal(cairn_audit_verdict_verify(t), 0);
	cairn_identity_wipe(&other);
	free(v);
	free(t);
}

/* ---- (e) cairn verify ---------------------------------------------------- */

static void put_be32(FILE *fp, uint32_t x)
{
	uint8_t b[4] = {(uint8_t)(x >> 24), (uint8_t)(x >> 16),
	                (uint8_t)(x >> 8), (uint8_t)x};
	assert_int_equal(fwrite(b, 1, 4, fp), 4);
}

/* The fixture's dataset as the IDX files of split "train" in dir. */
static void write_idx(struct fx *f, const char *dir)
{
	char p[512];
	FILE *fp;

	snprintf(p, sizeof p, "%s/train-images-idx3-ubyte", dir);
	assert_non_null(fp = fopen(p, "wb"));
	put_be32(fp, CAIRN_IDX_MAGIC_IMAGES);
	put_be32(fp, NSAMPLES);
	put_be32(fp, CAIRN_DATASET_ROWS);
	put_be32(fp, CAIRN_DATASET_COLS);
	assert_int_equal(
	    fwrite(f->images, 1, (size_t)NSAMPLES * CAIRN_DATASET_PIXELS, fp),
	    (size_t)NSAMPLES * CAIRN_DATASET_PIXELS);
	assert_int_equal(fclose(fp), 0);
	snprintf(p, sizeof p, "%s/train-labels-idx1-ubyte", dir);
	assert_non_null(fp = fopen(p, "wb"));
	put_be32(fp, CAIRN_IDX_MAGIC_LABELS);
	put_be32(fp, NSAMPLES);
	assert_int_equal(fwrite(f->labels, 1, NSAMPLES, fp), NSAMPLES);
	assert_int_equal(fclose(fp), 0);
}

static int verify_cli(const char *a0, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;

	argv[argc++] = (char *)"verify";
	va_start(ap, a0);
	for (const char *a = a0; a && argc < 31; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	fflush(stdout);
	return cairn_cmd_verify(argc, argv);
}

static void test_cli_verify(void **state)
{
	struct fx *f = *state;
	struct cairn_bundle c, tmp;
	char data[256], good[256], bad[256], junk[256], key[256], out[256],
	    line[4096], err[512];
	FILE *fp;

	snprintf(data, sizeof data, "%s/data", f->dir);
	assert_int_equal(mkdir(data, 0700), 0);
	write_idx(f, data);
	copy_good(f, &tmp);
	reread(f, &tmp, &c, good, sizeof good);
	cairn_bundle_free(&c);
	copy_good(f, &c);
	c.final_state = c.checkpoints[NSEG - 1].state;
	c.final_state.step = STEPS;
	cheat_resign(f, &c);
	reread(f, &c, &tmp, bad, sizeof bad);
	cairn_bundle_free(&tmp);
	snprintf(junk, sizeof junk, "%s/junk.cairn", f->dir);
	assert_non_null(fp = fopen(junk, "wb"));
	fputs("not a bundle", fp);
	fclose(fp);
	snprintf(key, sizeof key, "%s/auditor.key", f->dir);
	assert_int_equal(cairn_identity_save(&f->aud, key, err, sizeof err), 0);
	snprintf(out, sizeof out, "%s/verdicts.jsonl", f->dir);

	assert_int_equal(verify_cli(good, "--data", data, "--device", "cpu",
	                            "--threads", "2", "--segments", "4", NULL),
	                 0);
	assert_int_equal(verify_cli(good, bad, "--data", data, "--device",
	                            "cpu", "--segments", "9", "--seed",
	                            "00112233445566778899aabbccddeeff00112233"
	                            "445566778899aabbccddeeff",
	                            "--key", key, "--out", out, "--json", NULL),
	                 1);
	assert_int_equal(
	    verify_cli(good, junk, "--data", data, "--device", "ref", NULL), 2);
	assert_int_equal(
	    verify_cli(good, "--data", data, "--seed", "xyz", NULL), 2);
	assert_int_equal(verify_cli("--data", data, NULL), 2);
	assert_int_equal(verify_cli(good, "--data", data, "--out", out, NULL),
	                 2); /* --out needs --key */
	/* The verdict file: two signed lines, the second rejected. */
	assert_non_null(fp = fopen(out, "r"));
	assert_non_null(fgets(line, sizeof line, fp));
	assert_non_null(strstr(line, "\"accepted\":true"));
	assert_non_null(strstr(line, "\"signature\":\""));
	assert_non_null(fgets(line, sizeof line, fp));
	assert_non_null(strstr(line, "\"accepted\":false"));
	assert_non_null(strstr(line, "\"check\":\"replay\""));
	assert_non_null(strstr(line, "\"segment\":3,\"steps\":[7,8]"));
	assert_null(fgets(line, sizeof line, fp));
	fclose(fp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_challenge),
	    cmocka_unit_test(test_honest_accepted),
	    cmocka_unit_test(test_cheat_ulp),
	    cmocka_unit_test(test_cheat_skip_last),
	    cmocka_unit_test(test_cheat_carry_forward),
	    cmocka_unit_test(test_cheat_wrong_data),
	    cmocka_unit_test(test_cheat_learning_rate),
	    cmocka_unit_test(test_dataset_mismatch),
	    cmocka_unit_test(test_cheat_on_ref),
	    cmocka_unit_test(test_verdict_sign),
	    cmocka_unit_test(test_cli_verify),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
