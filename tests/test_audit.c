/* cairn: the auditor (include/cairn/audit.h).
 *
 * The fixture runs real tasks: a 784-16-10 ReLU MLP, a synthetic
 * in-memory dataset of 64 samples, batch 8 in 2 micro-batches, H = 8
 * inner steps with a checkpoint every c = 2 (4 segments), collected with
 * cairn_bundle_checkpoint and signed with a fresh key.  Every bundle an
 * audit sees has been written and read back, so a cheat that the replay
 * must catch passes every structural check first.
 *
 *   (a) honest bundles from ref, from cpu with 1, 2 and 3 threads and
 *       from a model on two CPU backends are read with cairn_audit_read
 *       and accepted when audited on ref and on cpu with 1, 2 and 3
 *       threads, every segment drawn, and with single draws;
 *   (b) cheats caught at replay, each re-rooted and re-signed by the
 *       cheater, rejected with check 'replay', the segment and what
 *       differs: one ulp in a checkpoint's parameters, skipped steps (a
 *       state carried forward), wrong data (another seed's samples),
 *       another learning rate, one step computed with bfloat16-rounded
 *       inputs and parameters, and a result re-signed for another task;
 *   (c) cheats caught when the bundle is read (cairn_audit_read), each
 *       rejected with the check that names it: a signature by another
 *       key, a valid result replayed for another task, a false work
 *       claim, state roots that are not the signed trace, a checkpoint
 *       that is not its trace entry, a start that is not W_r; and the
 *       one that is accepted by design (a copy re-signed by its copier);
 *   (d) a dataset the auditor lacks is an error, not a rejection;
 *   (e) the challenge: distinct, in range, deterministic, nonce-dependent,
 *       and the test vector of docs/commitments.md section 15;
 *   (f) verdicts: signed, verified, any change breaks them; the digest
 *       vector of section 15; rejections found at read are signed too;
 *   (g) `cairn verify` end to end on IDX files written here: exit 0, 1
 *       (a replay, a corrupted signature, state root or tensor, with the
 *       check in the JSON and the signed verdict file) and 2 (truncated
 *       files, junk, bad usage, a dataset it lacks);
 *   (h) lazy reading (cairn_audit_read_lazy, `cairn verify --lazy`):
 *       honest bundles accepted; a checkpoint that is not its trace entry
 *       rejected with check reveal when it is drawn (and accepted when it
 *       is not); the read-time rejections and the replay verdicts the
 *       same as those of a full read;
 *   (i) with --backend cuda (ctest audit_cuda, label gpu; skipped, exit
 *       77, where no GPU is found): a bundle made on the GPU is the
 *       CPU's, accepted by ref, cpu and cuda auditors; the GPU auditor's
 *       verdicts on honest and cheating bundles are the CPU auditor's,
 *       byte for byte.
 *
 * Every replay rejection in (b) is also narrowed (the step log): the
 * first step that differs and what differs there are asserted for each
 * cheat, and the one-ulp cheat's first differing element by index and
 * bits.  A false step log over honest training is rejected too, and
 * `cairn verify --verdicts` checks the signed verdict files of (g).
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
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "task_fixture.h"
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
	uint8_t steps[STEPS * CAIRN_STEP_RECORD_BYTES];
	float losses[STEPS];
	struct cairn_task_trace tr = {
	    .state_roots = roots, .losses = losses, .steps = steps};

	cairn_test_task_bundle(be, spec, &f->ds, f->w_r, &tr, &f->id, b);
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
 * records, the trace root, the final parameters root, a step log that
 * agrees with every committed state (each checkpoint's samples and loss
 * as the record of its step: a log that did not would be rejected when
 * read, check commitment), its steps root, the task id of the spec in the
 * bundle, signed with the worker's key. */
static void cheat_resign(struct fx *f, struct cairn_bundle *b)
{
	for (uint32_t k = 1; k < b->nstates; k++) {
		const struct cairn_state *st = k + 1 < b->nstates
		                                   ? &b->checkpoints[k].state
		                                   : &b->final_state;
		assert_int_equal(
		    cairn_step_record(st->samples, st->loss_bits,
		                      b->steps + (size_t)(st->step - 1) *
		                                     CAIRN_STEP_RECORD_BYTES),
		    0);
	}
	assert_int_equal(cairn_step_log_root(b->steps, b->nstates - 1,
	                                     b->spec.checkpoint_every,
	                                     b->result.steps_root),
	                 0);
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
	tmp.steps = cairn_test_xmalloc(STEPS * CAIRN_STEP_RECORD_BYTES);
	memcpy(tmp.steps, f->good.steps, STEPS * CAIRN_STEP_RECORD_BYTES);
	*out = tmp;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	struct cairn_bundle b;
	int64_t np;

	if (!f)
		return -1;
	f->rng = cairn_test_seed("test_audit");
	if (cairn_backend_open(CAIRN_BACKEND_REF, NULL, &f->ref))
		return -1;
	f->cpu = open_cpu(2);
	if (cairn_test_task_dataset(&f->rng, &f->images, &f->labels, &f->ds,
	                            f->droot))
		return -1;
	cairn_test_task_spec(&f->spec, "test-audit", f->rng, f->droot, STEPS,
	                     EVERY);
	f->spec.round = 2;
	f->spec.task = 0;
	f->spec.tasks = 2;
	if (cairn_test_task_w_r(f->cpu, &f->spec, &f->w_r, &np))
		return -1;
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

/* Runs spec on a model shared by two CPU backends (1 and 2 threads): the
 * same bits as one device (cairn_model_create_multi). */
static void run_bundle_multi(struct fx *f, cairn_backend *a, cairn_backend *b2,
                             struct cairn_bundle *b)
{
	uint8_t roots[(NSEG + 1) * CAIRN_HASH_BYTES];
	uint8_t steps[STEPS * CAIRN_STEP_RECORD_BYTES];
	float losses[STEPS];
	struct cairn_task_trace tr = {
	    .state_roots = roots, .losses = losses, .steps = steps};
	cairn_backend *bes[2] = {a, b2};
	cairn_model *m = NULL;
	char err[512] = "";

	assert_int_equal(
	    cairn_model_create_multi(bes, 2, &f->spec.model, BATCH, MICRO, &m),
	    0);
	assert_int_equal(cairn_bundle_begin(b, &f->spec), 0);
	assert_int_equal(
	    cairn_task_run(m, &f->spec, &f->ds, f->spec.dataset_root, f->w_r,
	                   &tr, cairn_bundle_checkpoint, b, err, sizeof err),
	    0);
	assert_int_equal(cairn_bundle_finish(b, &tr, &f->id, "cpu"), 0);
	cairn_model_free(m);
}

static void test_honest_accepted(void **state)
{
	struct fx *f = *state;
	cairn_backend *cpu1 = open_cpu(1), *cpu3 = open_cpu(3);
	cairn_backend *makers[5] = {f->ref, cpu1, f->cpu, cpu3, NULL};
	cairn_backend *auditors[4] = {f->ref, cpu1, f->cpu, cpu3};
	const char *names[5] = {"ref", "cpu/1", "cpu/2", "cpu/3",
	                        "cpu/1+cpu/2 (two devices)"};
	int audits = 0;

	for (int i = 0; i < 5; i++) {
		struct cairn_bundle b, r;
		struct cairn_audit_verdict *rv = &f->v;
		char path[256];
		int rejected = 1;

		if (makers[i])
			run_bundle(f, makers[i], &f->spec, &b);
		else
			run_bundle_multi(f, cpu1, f->cpu, &b);
		reread(f, &b, &r, path, sizeof path);
		cairn_bundle_free(&r);
		/* The auditor's reader: no rejection at read. */
		assert_int_equal(cairn_audit_read(path, &r, rv, &rejected,
		                                  f->err, sizeof f->err),
		                 0);
		assert_int_equal(rejected, 0);
		/* The same bits from every backend and thread count. */
		assert_memory_equal(r.result.trace_root,
		                    f->good.result.trace_root,
		                    CAIRN_HASH_BYTES);
		for (int a = 0; a < 4; a++) {
			assert_int_equal(audit_all(f, auditors[a], &r, NULL),
			                 0);
			if (!f->v.accepted)
				print_message("false rejection: %s\n", f->err);
			assert_int_equal(f->v.accepted, 1);
			assert_int_equal(f->v.check, CAIRN_AUDIT_OK);
			assert_int_equal(f->v.nsegments, NSEG);
			assert_int_equal(f->v.segment, CAIRN_AUDIT_NO_SEGMENT);
			audits++;
		}
		/* Single draws, as `cairn verify` makes by default. */
		for (int k = 0; k < 8; k++) {
			uint8_t nonce[CAIRN_HASH_BYTES];
			for (size_t j = 0; j < sizeof nonce; j++)
				nonce[j] = (uint8_t)rnd(f);
			assert_int_equal(
			    cairn_audit_bundle(auditors[k % 4], &r, &f->ds,
			                       f->droot, nonce, 1, &f->v,
			                       f->err, sizeof f->err),
			    0);
			assert_int_equal(f->v.accepted, 1);
			audits++;
		}
		print_message("honest bundle from %s: accepted on ref and "
		              "cpu/1/2/3 (%d of %d segments) and 8 single "
		              "draws\n",
		              names[i], NSEG, NSEG);
		cairn_bundle_free(&r);
	}
	print_message("zero false rejections over %d audits of 5 honest "
	              "bundles\n",
	              audits);
	cairn_backend_close(cpu1);
	cairn_backend_close(cpu3);
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
	/* The narrowing: a step inside the segment and what differs there;
	 * at the segment's last step with nothing in the records, it is the
	 * end state's difference. */
	assert_true(f->v.diff_step >= f->v.step_first &&
	            f->v.diff_step <= f->v.step_last);
	assert_int_not_equal(f->v.diff_what, 0);
	if (!(f->v.diff_what &
	      (CAIRN_AUDIT_DIFF_SAMPLES | CAIRN_AUDIT_DIFF_LOSS)))
		assert_int_equal(f->v.diff_step, f->v.step_last);
	{
		char at[48];
		snprintf(at, sizeof at, "first difference at step %" PRIu32,
		         f->v.diff_step);
		assert_non_null(strstr(f->err, at));
	}
	cairn_bundle_free(&r);
}

/* The verdict's first differing element must be tensor k's element i,
 * with these bits in the worker's state and in the replay's, count
 * elements differing. */
static void expect_elem(struct fx *f, uint32_t k, uint64_t i, uint64_t count,
                        uint32_t worker, uint32_t replay)
{
	assert_int_equal(f->v.elem_tensor, k);
	assert_int_equal(f->v.elem_index, i);
	assert_int_equal(f->v.elem_count, count);
	assert_int_equal(f->v.elem_worker, worker);
	assert_int_equal(f->v.elem_replay, replay);
}

static void nonce_drawing(const uint8_t *root, uint32_t want, int want_not,
                          uint8_t nonce[CAIRN_HASH_BYTES]);

/* Audits b on be with S = 1 and a nonce that draws segment seg (or, with
 * not, any other): f->v and f->err hold the verdict. */
static void audit_drawn(struct fx *f, cairn_backend *be,
                        const struct cairn_bundle *b, uint32_t seg, int not)
{
	uint8_t nonce[CAIRN_HASH_BYTES];

	nonce_drawing(b->result.trace_root, seg, not, nonce);
	assert_int_equal(cairn_audit_bundle(be, b, &f->ds, f->droot, nonce, 1,
	                                    &f->v, f->err, sizeof f->err),
	                 0);
}

static void test_cheat_ulp(void **state)
{
	struct fx *f = *state;
	struct cairn_bundle c, r;
	struct cairn_bundle_checkpoint *cp;
	uint32_t u, u0;
	size_t bytes = (size_t)f->good.param_count * sizeof(float);

	copy_good(f, &c);
	cp = &c.checkpoints[2];
	memcpy(&u0, &cp->params[5], 4);
	u = u0 + 1; /* one ulp */
	memcpy(&cp->params[5], &u, 4);
	assert_int_equal(cairn_tensor_root(cp->params, bytes, cp->state.params),
	                 0);
	cheat_resign(f, &c);
	/* Segment 1 ends on the bad state: every step agrees, the end
	 * differs in one parameter, which the verdict names. */
	reread(f, &c, &r, NULL, 0);
	audit_drawn(f, f->cpu, &r, 1, 0);
	print_message("%-22s -> %s\n", "one ulp, segment 1", f->err);
	assert_int_equal(f->v.accepted, 0);
	assert_int_equal(f->v.segment, 1);
	assert_int_equal(f->v.diff, CAIRN_AUDIT_DIFF_PARAMS);
	assert_int_equal(f->v.diff_step, 2 * EVERY);
	assert_int_equal(f->v.diff_what, CAIRN_AUDIT_DIFF_PARAMS);
	expect_elem(f, CAIRN_AUDIT_ELEM_PARAMS, 5, 1, u, u0);
	assert_non_null(strstr(f->err, "(W_0[0,5])"));
	/* Segment 2 starts from it.  The replay carries the ulp on, unless
	 * the next updates wash it out (a weight whose input pixels were 0
	 * in both batches, say: weight decay's rounding can map the two
	 * neighbours to one float); then the segment is a valid transition
	 * from its start and is accepted.  Segment 1 catches the cheat
	 * either way. */
	audit_drawn(f, f->cpu, &r, 2, 0);
	print_message("%-22s -> %s\n", "one ulp, segment 2",
	              f->v.accepted ? "ACCEPTED (washed out)" : f->err);
	if (!f->v.accepted) {
		assert_int_equal(f->v.segment, 2);
		assert_true(f->v.diff_step == 2 * EVERY + 1 ||
		            f->v.diff_step == 3 * EVERY);
	}
	cairn_bundle_free(&r);
	/* And the whole audit, in draw order. */
	copy_good(f, &c);
	cp = &c.checkpoints[2];
	memcpy(&cp->params[5], &u, 4);
	assert_int_equal(cairn_tensor_root(cp->params, bytes, cp->state.params),
	                 0);
	cheat_resign(f, &c);
	expect_rejected(f, &c, "one ulp at t = 4", CAIRN_AUDIT_REPLAY,
	                CAIRN_AUDIT_DIFF_PARAMS, CAIRN_AUDIT_DIFF_SAMPLES);
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
	/* Step 8's record is step 6's: the samples say it was not run. */
	assert_int_equal(f->v.diff_step, STEPS);
	assert_true(f->v.diff_what & CAIRN_AUDIT_DIFF_SAMPLES);
	/* t = H: the bundle holds no tensors to compare. */
	assert_int_equal(f->v.elem_tensor, CAIRN_AUDIT_ELEM_NONE);
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
	if (f->v.segment == 1) {
		/* Step 4's record is step 2's (samples and loss), and every
		 * parameter of the end state differs. */
		assert_int_equal(f->v.diff_step, 2 * EVERY);
		assert_true(f->v.diff_what & CAIRN_AUDIT_DIFF_SAMPLES);
		assert_int_equal(f->v.elem_tensor, CAIRN_AUDIT_ELEM_PARAMS);
		assert_true(f->v.elem_count > 0);
	} else {
		/* From the stale state, step 5's loss is not the log's. */
		assert_int_equal(f->v.diff_step, 2 * EVERY + 1);
		assert_int_equal(f->v.diff_what, CAIRN_AUDIT_DIFF_LOSS);
	}
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
	/* Other samples from the segment's first step on. */
	assert_int_equal(f->v.diff_step, f->v.step_first);
	assert_true(f->v.diff_what & CAIRN_AUDIT_DIFF_SAMPLES);
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
	/* The segment's first step starts from the worker's own state, so
	 * its loss agrees; the second step's loss comes from the first
	 * update, made with the other learning rate. */
	assert_int_equal(f->v.diff_step, f->v.step_first + 1);
	assert_int_equal(f->v.diff_what, CAIRN_AUDIT_DIFF_LOSS);
	assert_non_null(strstr(f->err, "on the same samples"));
}

/* x rounded to bfloat16 (its top 16 bits), to nearest, ties to even; the
 * inputs here are finite. */
static float bf16_round(float x)
{
	uint32_t u;

	memcpy(&u, &x, 4);
	u += 0x7fffu + ((u >> 16) & 1u);
	u &= 0xffff0000u;
	memcpy(&x, &u, 4);
	return x;
}

/* Runs the honest spec step by step as cairn_task_run does (sample,
 * gather, cairn_model_step, a committed state every c steps collected with
 * cairn_bundle_checkpoint), except that step bad (0: none) computes with
 * its inputs and the parameters rounded to bfloat16: a worker that ran
 * one step in lower precision.  Then finishes and signs as a worker
 * does. */
static void run_bf16(struct fx *f, uint32_t bad, struct cairn_bundle *b)
{
	const struct cairn_task_spec *sp = &f->spec;
	uint8_t roots[(NSEG + 1) * CAIRN_HASH_BYTES];
	uint8_t steps[STEPS * CAIRN_STEP_RECORD_BYTES];
	float losses[STEPS], loss = 0.0f, *x, *w;
	struct cairn_task_trace tr = {
	    .state_roots = roots, .losses = losses, .steps = steps};
	uint8_t samples[CAIRN_HASH_BYTES];
	struct cairn_state st;
	cairn_adamw_params opt;
	cairn_model *m = NULL;
	uint32_t idx[BATCH], u;
	int32_t y[BATCH];
	int64_t np;

	x = cairn_test_xmalloc((size_t)BATCH * CAIRN_DATASET_PIXELS *
	                       sizeof(float));
	assert_int_equal(
	    cairn_model_create(f->cpu, &sp->model, BATCH, MICRO, &m), 0);
	np = cairn_model_param_count(m);
	w = cairn_test_xmalloc((size_t)np * sizeof(float));
	assert_int_equal(cairn_bundle_begin(b, sp), 0);
	/* t = 0: W_r, m = v = +0, the empty samples, loss bits 0. */
	assert_int_equal(cairn_model_write(m, CAIRN_MODEL_PARAMS, f->w_r), 0);
	assert_int_equal(cairn_model_zero(m, CAIRN_MODEL_M), 0);
	assert_int_equal(cairn_model_zero(m, CAIRN_MODEL_V), 0);
	assert_int_equal(cairn_samples_digest(NULL, 0, samples), 0);
	assert_int_equal(cairn_task_commit_state(m, 0, samples, 0.0f, &st), 0);
	assert_int_equal(cairn_state_root(&st, roots), 0);
	assert_int_equal(cairn_bundle_checkpoint(b, &st, roots, m), 0);
	for (uint32_t t = 1; t <= STEPS; t++) {
		uint8_t *root = roots + (size_t)(t / EVERY) * CAIRN_HASH_BYTES;

		assert_int_equal(
		    cairn_sample_indices(sp->seed, sp->round, sp->task, t,
		                         sp->dataset_count, BATCH, idx),
		    0);
		assert_int_equal(
		    cairn_dataset_gather(&f->ds, idx, BATCH, x, y, NULL, 0), 0);
		if (t == bad) {
			for (size_t i = 0;
			     i < (size_t)BATCH * CAIRN_DATASET_PIXELS; i++)
				x[i] = bf16_round(x[i]);
			assert_int_equal(
			    cairn_model_read(m, CAIRN_MODEL_PARAMS, w), 0);
			for (int64_t i = 0; i < np; i++)
				w[i] = bf16_round(w[i]);
			assert_int_equal(
			    cairn_model_write(m, CAIRN_MODEL_PARAMS, w), 0);
		}
		opt = sp->adamw;
		opt.step = t;
		assert_int_equal(
		    cairn_model_step(m, BATCH, MICRO, x, y, &opt, &loss), 0);
		losses[t - 1] = loss;
		assert_int_equal(cairn_samples_digest(idx, BATCH, samples), 0);
		memcpy(&u, &loss, 4);
		assert_int_equal(
		    cairn_step_record(samples, u,
		                      steps + (size_t)(t - 1) *
		                                  CAIRN_STEP_RECORD_BYTES),
		    0);
		if (t % EVERY)
			continue;
		assert_int_equal(
		    cairn_task_commit_state(m, t, samples, loss, &st), 0);
		assert_int_equal(cairn_state_root(&st, root), 0);
		assert_int_equal(cairn_bundle_checkpoint(b, &st, root, m), 0);
	}
	memcpy(tr.final_params_root, st.params, CAIRN_HASH_BYTES);
	assert_int_equal(cairn_trace_root(roots, NSEG + 1, tr.trace_root), 0);
	assert_int_equal(cairn_step_log_root(steps, NSEG, EVERY, tr.steps_root),
	                 0);
	assert_int_equal(cairn_bundle_finish(b, &tr, &f->id, "cpu"), 0);
	cairn_model_free(m);
	free(w);
	free(x);
}

/* A nonce whose single draw from root is segment want (or, with
 * want_not, any segment but want). */
static void nonce_drawing(const uint8_t *root, uint32_t want, int want_not,
                          uint8_t nonce[CAIRN_HASH_BYTES])
{
	uint32_t seg = 0;

	memset(nonce, 0, CAIRN_HASH_BYTES);
	for (int i = 0; i < 256; i++) {
		nonce[0] = (uint8_t)i;
		assert_int_equal(
		    cairn_audit_challenge(root, nonce, NSEG, 1, &seg), 0);
		if ((seg == want) != want_not)
			return;
	}
	fail_msg("no nonce draws %s segment %u", want_not ? "other than" : "",
	         want);
}

static void test_cheat_bf16_step(void **state)
{
	struct fx *f = *state;
	struct cairn_bundle c, r;
	const uint32_t bad = 5; /* in segment 2: steps 5..6 */

	/* The runner is the honest one when no step is cheated. */
	run_bf16(f, 0, &c);
	assert_memory_equal(c.result.trace_root, f->good.result.trace_root,
	                    CAIRN_HASH_BYTES);
	cairn_bundle_free(&c);

	run_bf16(f, bad, &c);
	/* Honest up to t = 4; every later state differs. */
	assert_memory_equal(c.state_roots, f->good.state_roots,
	                    3 * CAIRN_HASH_BYTES);
	for (uint32_t k = 3; k <= NSEG; k++)
		assert_memory_not_equal(c.state_roots + k * CAIRN_HASH_BYTES,
		                        f->good.state_roots +
		                            k * CAIRN_HASH_BYTES,
		                        CAIRN_HASH_BYTES);
	reread(f, &c, &r, NULL, 0);
	/* Every segment drawn: only segment 2 replays to another root (the
	 * cheater went on honestly from his own state at t = 6). */
	assert_int_equal(audit_all(f, f->cpu, &r, NULL), 0);
	print_message("%-22s -> %s check '%s', segment %" PRId32 "\n    %s\n",
	              "bf16 step 5", f->v.accepted ? "ACCEPTED" : "REJECTED",
	              cairn_audit_check_name((int)f->v.check),
	              (int32_t)f->v.segment, f->err);
	assert_int_equal(f->v.accepted, 0);
	assert_int_equal(f->v.check, CAIRN_AUDIT_REPLAY);
	assert_int_equal(f->v.segment, (bad - 1) / EVERY);
	assert_int_equal(f->v.step_first, 5);
	assert_int_equal(f->v.step_last, 6);
	assert_true(f->v.diff & CAIRN_AUDIT_DIFF_PARAMS);
	assert_true(f->v.diff & CAIRN_AUDIT_DIFF_LOSS);
	assert_int_equal(f->v.diff & CAIRN_AUDIT_DIFF_SAMPLES, 0);
	/* The affected segment alone, on ref and on cpu: caught. */
	for (int i = 0; i < 2; i++) {
		audit_drawn(f, i ? f->cpu : f->ref, &r, 2, 0);
		assert_int_equal(f->v.accepted, 0);
		assert_int_equal(f->v.check, CAIRN_AUDIT_REPLAY);
		assert_int_equal(f->v.segment, 2);
		/* Narrowed to the bfloat16 step itself: its loss. */
		assert_int_equal(f->v.diff_step, bad);
		assert_true(f->v.diff_what & CAIRN_AUDIT_DIFF_LOSS);
		assert_int_equal(f->v.diff_what & CAIRN_AUDIT_DIFF_SAMPLES, 0);
	}
	/* A draw that misses it accepts: P(catch) = 1 - (1 - 1/4)^s. */
	audit_drawn(f, f->cpu, &r, 2, 1);
	assert_int_equal(f->v.accepted, 1);
	cairn_bundle_free(&r);
}

/* Honest training with a false step log (one step's loss changed, the
 * steps root made again and re-signed): read without complaint (the
 * record is between checkpoints), rejected by the replay of its segment,
 * which still ends on the committed state. */
static void test_cheat_step_log(void **state)
{
	struct fx *f = *state;
	struct cairn_bundle c, r;
	const uint32_t t = 2 * EVERY + 1; /* segment 2's first step */
	uint8_t *rec;

	copy_good(f, &c);
	rec = c.steps + (size_t)(t - 1) * CAIRN_STEP_RECORD_BYTES;
	rec[CAIRN_HASH_BYTES] ^= 1; /* the lowest bit of step t's loss */
	assert_int_equal(cairn_step_log_root(c.steps, NSEG, EVERY,
	                                     c.result.steps_root),
	                 0);
	assert_int_equal(
	    cairn_task_result_sign(&f->id, &c.result, c.signature), 0);
	reread(f, &c, &r, NULL, 0);
	audit_drawn(f, f->cpu, &r, 2, 0);
	print_message("%-22s -> %s\n", "false step log", f->err);
	assert_int_equal(f->v.accepted, 0);
	assert_int_equal(f->v.check, CAIRN_AUDIT_REPLAY);
	assert_int_equal(f->v.segment, 2);
	assert_int_equal(f->v.diff, 0); /* the end state agrees */
	assert_int_equal(f->v.diff_step, t);
	assert_int_equal(f->v.diff_what, CAIRN_AUDIT_DIFF_LOSS);
	assert_non_null(strstr(f->err, "step log is false"));
	/* Segments that do not hold the false record accept. */
	audit_drawn(f, f->cpu, &r, 2, 1);
	assert_int_equal(f->v.accepted, 1);
	cairn_bundle_free(&r);
}

static void test_cheat_resigned_other_task(void **state)
{
	struct fx *f = *state;
	struct cairn_bundle c;

	/* Task 0's honest trace, claimed and signed for task 1 of the same
	 * round (same W_r, so the start is right): task 1 draws other
	 * samples. */
	copy_good(f, &c);
	c.spec.task = 1;
	cheat_resign(f, &c);
	expect_rejected(f, &c, "task 0's trace as 1", CAIRN_AUDIT_REPLAY,
	                CAIRN_AUDIT_DIFF_SAMPLES, 0);
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

/* ---- (c) cheats caught when the bundle is read --------------------------- */

/* Writes the cheat c (freed) and reads it with cairn_audit_read, and
 * its bytes with cairn_audit_decode: both must reject it with check,
 * naming the task of c's spec and, for a reveal, segment seg; the
 * rejection is signed and verifies.  Returns the path in path. */
static void expect_read_rejected(struct fx *f, struct cairn_bundle *c,
                                 const char *what, int check, uint32_t seg,
                                 char *path, size_t pathlen)
{
	struct cairn_audit_verdict *d = cairn_test_xmalloc(sizeof *d);
	struct cairn_bundle r;
	uint8_t id[CAIRN_HASH_BYTES], *buf;
	char p[256], want[64], err[1024];
	long len;
	int rejected = 0;
	FILE *fp;

	assert_int_equal(cairn_task_id(&c->spec, id), 0);
	snprintf(p, sizeof p, "%s/b%d.cairn", f->dir, f->nfiles++);
	assert_int_equal(cairn_bundle_write(c, p, err, sizeof err), 0);
	cairn_bundle_free(c);
	assert_int_equal(
	    cairn_audit_read(p, &r, &f->v, &rejected, f->err, sizeof f->err),
	    0);
	print_message("%-22s -> %s check '%s' when read\n    %s\n", what,
	              rejected ? "REJECTED" : "read",
	              cairn_audit_check_name((int)f->v.check), f->err);
	assert_int_equal(rejected, 1);
	assert_int_equal(r.nstates, 0); /* nothing handed over */
	assert_int_equal(f->v.accepted, 0);
	assert_int_equal(f->v.check, check);
	assert_int_equal(f->v.segment, seg);
	if (seg != CAIRN_AUDIT_NO_SEGMENT) {
		assert_int_equal(f->v.step_first, seg * EVERY + 1);
		assert_int_equal(f->v.step_last, (seg + 1) * EVERY);
	}
	assert_int_equal(f->v.nsegments, 0);
	assert_memory_equal(f->v.task_id, id, CAIRN_HASH_BYTES);
	snprintf(want, sizeof want,
	         "check %s: ", cairn_audit_check_name(check));
	assert_true(!strncmp(f->err, want, strlen(want)));
	/* The same from the bytes in memory. */
	assert_non_null(fp = fopen(p, "rb"));
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	len = ftell(fp);
	rewind(fp);
	buf = cairn_test_xmalloc((size_t)len);
	assert_int_equal(fread(buf, 1, (size_t)len, fp), (size_t)len);
	fclose(fp);
	rejected = 0;
	assert_int_equal(cairn_audit_decode(buf, (size_t)len, NULL, &r, d,
	                                    &rejected, err, sizeof err),
	                 0);
	assert_int_equal(rejected, 1);
	assert_memory_equal(d, &f->v, sizeof *d);
	/* A rejection at read is signed like any verdict. */
	assert_int_equal(cairn_audit_verdict_sign(&f->aud, d), 0);
	assert_int_equal(cairn_audit_verdict_verify(d), 0);
	free(buf);
	free(d);
	if (path)
		snprintf(path, pathlen, "%s", p);
}

static void test_cheat_other_key(void **state)
{
	struct fx *f = *state;
	struct cairn_identity cheater;
	struct cairn_task_result r2;
	struct cairn_bundle c, r;
	int rejected = 1;
	char p[256];

	assert_int_equal(cairn_identity_generate(&cheater), 0);
	/* The cheater signs the honest result with his key, leaving the
	 * honest worker's key in it. */
	copy_good(f, &c);
	r2 = c.result;
	memcpy(r2.worker_key, cheater.public_key, CAIRN_PUBLIC_KEY_BYTES);
	assert_int_equal(cairn_task_result_sign(&cheater, &r2, c.signature), 0);
	expect_read_rejected(f, &c, "signed by another key",
	                     CAIRN_AUDIT_SIGNATURE, CAIRN_AUDIT_NO_SEGMENT,
	                     NULL, 0);
	assert_non_null(strstr(f->err, "signature does not verify"));
	/* The result names the cheater's key; the signature is the honest
	 * worker's. */
	copy_good(f, &c);
	memcpy(c.result.worker_key, cheater.public_key, CAIRN_PUBLIC_KEY_BYTES);
	expect_read_rejected(f, &c, "claims another key", CAIRN_AUDIT_SIGNATURE,
	                     CAIRN_AUDIT_NO_SEGMENT, NULL, 0);
	/* Accepted by design: a copy that names and is signed by its copier
	 * is the same work (every honest run gives these bits).  Paying the
	 * right worker is the scheduler's job: it takes a task's result only
	 * from the worker it assigned the task to. */
	copy_good(f, &c);
	memcpy(c.result.worker_key, cheater.public_key, CAIRN_PUBLIC_KEY_BYTES);
	assert_int_equal(
	    cairn_task_result_sign(&cheater, &c.result, c.signature), 0);
	reread(f, &c, &r, p, sizeof p);
	cairn_bundle_free(&r);
	assert_int_equal(
	    cairn_audit_read(p, &r, &f->v, &rejected, f->err, sizeof f->err),
	    0);
	assert_int_equal(rejected, 0);
	assert_int_equal(audit_all(f, f->cpu, &r, NULL), 0);
	assert_int_equal(f->v.accepted, 1);
	cairn_bundle_free(&r);
	cairn_identity_wipe(&cheater);
}

static void test_cheat_replayed_result(void **state)
{
	struct fx *f = *state;
	struct cairn_task_spec s = f->spec;
	struct cairn_bundle c;
	uint8_t id_a[CAIRN_HASH_BYTES];

	/* Task 1 run honestly, then task 0's valid result and signature
	 * put in its bundle: a result replayed for another task. */
	s.task = 1;
	run_bundle(f, f->cpu, &s, &c);
	c.result = f->good.result;
	memcpy(c.signature, f->good.signature, sizeof c.signature);
	expect_read_rejected(f, &c, "result of task 0 for 1",
	                     CAIRN_AUDIT_TASK_ID, CAIRN_AUDIT_NO_SEGMENT, NULL,
	                     0);
	assert_non_null(strstr(f->err, "a result of another task"));
	/* The verdict names task 1 (the file's), not task 0, whose honest
	 * result it must not discredit. */
	assert_int_equal(cairn_task_id(&f->spec, id_a), 0);
	assert_memory_not_equal(f->v.task_id, id_a, CAIRN_HASH_BYTES);
	/* The whole of task 0's bundle under round 3's spec: the same. */
	copy_good(f, &c);
	c.spec.round = 3;
	expect_read_rejected(f, &c, "bundle of task 0 as r3",
	                     CAIRN_AUDIT_TASK_ID, CAIRN_AUDIT_NO_SEGMENT, NULL,
	                     0);
}

static void test_cheat_commitments(void **state)
{
	struct fx *f = *state;
	struct cairn_bundle c;
	size_t bytes = (size_t)f->good.param_count * sizeof(float);
	uint32_t u;

	/* More work claimed than done, signed. */
	copy_good(f, &c);
	c.result.flops *= 2;
	assert_int_equal(cairn_task_result_sign(&f->id, &c.result, c.signature),
	                 0);
	expect_read_rejected(f, &c, "twice the FLOPs", CAIRN_AUDIT_WORK,
	                     CAIRN_AUDIT_NO_SEGMENT, NULL, 0);
	/* State roots that are not the signed trace. */
	copy_good(f, &c);
	c.state_roots[2 * CAIRN_HASH_BYTES + 5] ^= 0x10;
	expect_read_rejected(f, &c, "a state root changed",
	                     CAIRN_AUDIT_COMMITMENT, CAIRN_AUDIT_NO_SEGMENT,
	                     NULL, 0);
	/* A final state that is not the trace's last. */
	copy_good(f, &c);
	c.final_state.loss_bits ^= 1;
	expect_read_rejected(f, &c, "final state changed",
	                     CAIRN_AUDIT_COMMITMENT, CAIRN_AUDIT_NO_SEGMENT,
	                     NULL, 0);
	/* A checkpoint whose tensors are not its trace entry: one ulp in
	 * checkpoint 3's m, nothing re-rooted. */
	copy_good(f, &c);
	memcpy(&u, &c.checkpoints[3].m[100], 4);
	u += 1;
	memcpy(&c.checkpoints[3].m[100], &u, 4);
	expect_read_rejected(f, &c, "checkpoint 3 tensor", CAIRN_AUDIT_REVEAL,
	                     3, NULL, 0);
	/* A trace that does not start at W_r: the cheater starts from other
	 * parameters and commits to it all. */
	copy_good(f, &c);
	memcpy(&u, &c.checkpoints[0].params[7], 4);
	u ^= 0x00400000u;
	memcpy(&c.checkpoints[0].params[7], &u, 4);
	assert_int_equal(cairn_tensor_root(c.checkpoints[0].params, bytes,
	                                   c.checkpoints[0].state.params),
	                 0);
	cheat_resign(f, &c);
	expect_read_rejected(f, &c, "start is not W_r", CAIRN_AUDIT_START,
	                     CAIRN_AUDIT_NO_SEGMENT, NULL, 0);
}

/* ---- (d) a dataset the auditor lacks ------------------------------------- */

static void test_dataset_mismatch(void **state)
{
	struct fx *f = *state;
	uint8_t other[CAIRN_HASH_BYTES], zero[sizeof f->v];
	int rc;

	memcpy(other, f->droot, sizeof other);
	other[7] ^= 0x40;
	rc = audit_all(f, f->cpu, &f->good, other);
	print_message("%-22s -> %s\n    %s\n", "dataset root",
	              cairn_strerror(rc), f->err);
	/* Not a rejection: the honest worker is not at fault. */
	assert_int_equal(rc, CAIRN_EMISMATCH);
	memset(zero, 0, sizeof zero);
	assert_memory_equal(&f->v, zero, sizeof zero);
	assert_non_null(strstr(f->err, "cannot audit"));
	assert_non_null(strstr(f->err, "dataset"));
}

/* ---- (e) the challenge --------------------------------------------------- */

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

/* docs/commitments.md section 15: trace root 32 x 44, nonce 32 x 66. */
static void test_challenge_vector(void **state)
{
	static const uint32_t want20[20] = {8,  13, 1, 14, 15, 17, 0,
	                                    16, 18, 3, 11, 12, 4,  9,
	                                    10, 6,  7, 5,  2,  19};
	uint8_t root[CAIRN_HASH_BYTES], nonce[CAIRN_HASH_BYTES];
	uint32_t got[20];

	(void)state;
	memset(root, 0x44, sizeof root);
	memset(nonce, 0x66, sizeof nonce);
	assert_int_equal(cairn_audit_challenge(root, nonce, 20, 5, got), 0);
	assert_memory_equal(got, want20, 5 * sizeof got[0]);
	assert_int_equal(cairn_audit_challenge(root, nonce, 20, 20, got), 0);
	assert_memory_equal(got, want20, sizeof want20);
	assert_int_equal(cairn_audit_challenge(root, nonce, 3, 3, got), 0);
	assert_int_equal(got[0], 2);
	assert_int_equal(got[1], 0);
	assert_int_equal(got[2], 1);
}

/* ---- (f) verdicts -------------------------------------------------------- */

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

/* docs/commitments.md section 15: the digest of a rejection. */
static void test_verdict_vector(void **state)
{
	struct cairn_audit_verdict *v = cairn_test_xmalloc(sizeof *v);
	uint8_t d[CAIRN_HASH_BYTES], want[CAIRN_HASH_BYTES];

	(void)state;
	memset(v, 0, sizeof *v);
	memset(v->task_id, 0x11, CAIRN_HASH_BYTES);
	memset(v->trace_root, 0x22, CAIRN_HASH_BYTES);
	memset(v->nonce, 0x66, CAIRN_HASH_BYTES);
	memset(v->auditor_key, 0x33, CAIRN_PUBLIC_KEY_BYTES);
	v->accepted = 0;
	v->check = CAIRN_AUDIT_REPLAY;
	v->segment = 2;
	v->step_first = 5;
	v->step_last = 6;
	v->diff = CAIRN_AUDIT_DIFF_PARAMS | CAIRN_AUDIT_DIFF_LOSS;
	v->diff_step = 6;
	v->diff_what = CAIRN_AUDIT_DIFF_PARAMS;
	v->elem_tensor = CAIRN_AUDIT_ELEM_PARAMS;
	v->elem_count = 3;
	v->elem_index = 1234;
	v->elem_worker = 0x3c23d70a;
	v->elem_replay = 0x3c23d70b;
	v->nsegments = 2;
	v->segments[0] = 2;
	v->segments[1] = 0;
	assert_int_equal(cairn_audit_verdict_digest(v, d), 0);
	assert_int_equal(
	    cairn_hash_from_hex("9ddf1314cdf02dcc7dfe61a0593fde4fd91d69c535"
	                        "bf6b448020a5b89914422e",
	                        64, want),
	    0);
	assert_memory_equal(d, want, sizeof want);
	free(v);
}

/* Sets the u32 field at byte offset at (after the 4 hashes) of v, as the
 * encoding places it. */
static void verdict_set(struct cairn_audit_verdict *v, size_t at, uint32_t x)
{
	switch (at) {
	case 0: v->accepted = x; break;
	case 4: v->check = x; break;
	case 8: v->segment = x; break;
	case 12: v->step_first = x; break;
	case 16: v->step_last = x; break;
	case 20: v->diff = x; break;
	case 28: v->diff_what = x; break;
	case 32: v->elem_tensor = x; break;
	default: fail();
	}
}

/* A signed verdict must say one thing: fields that disagree (a check out
 * of range, accepted with a failed check, steps against the segment, a
 * narrowing outside a replay rejection) are refused by the decoder, with
 * which, and never encoded. */
static void test_verdict_fields(void **state)
{
	static const struct {
		int base;          /* 0 a replay rejection, 1 accepted */
		size_t at[2];      /* byte offsets after the 4 hashes ... */
		uint32_t val[2];   /* ... and their values (at[1] 0: one) */
		const char *why;
	} bad[] = {
	    {0, {4, 0}, {99, 0}, "not a known check"},
	    {0, {0, 0}, {1, 0}, "accepted but names a failed check"},
	    {0, {0, 0}, {2, 0}, "accepted is neither 0 nor 1"},
	    {0, {4, 0}, {CAIRN_AUDIT_OK, 0}, "rejected but names check ok"},
	    {0, {12, 0}, {9, 0}, "steps do not go with its segment"},
	    {0, {12, 0}, {0, 0}, "steps do not go with its segment"},
	    {0, {8, 0}, {CAIRN_AUDIT_NO_SEGMENT, 0},
	     "steps do not go with its segment"},
	    {0, {28, 0}, {0x40, 0}, "unknown bits"},
	    {0, {20, 0}, {0x80000000u, 0}, "unknown bits"},
	    {0, {32, 0}, {7, 0}, "not a tensor"},
	    {0, {32, 0}, {CAIRN_AUDIT_ELEM_NONE, 0}, "element but no tensor"},
	    {0, {4, 0}, {CAIRN_AUDIT_REVEAL, 0}, "not a replay rejection"},
	    {1, {8, 12}, {3, 7}, "accepted but names a failed segment"},
	    {1, {4, 0}, {CAIRN_AUDIT_REPLAY, 0},
	     "accepted but names a failed check"},
	    {1, {20, 0}, {CAIRN_AUDIT_DIFF_M, 0}, "not a replay rejection"},
	};
	struct cairn_audit_verdict *v = cairn_test_xmalloc(2 * sizeof *v);
	struct cairn_audit_verdict *t = cairn_test_xmalloc(sizeof *t);
	uint8_t *enc = cairn_test_xmalloc(2 * CAIRN_AUDIT_VERDICT_MAX_BYTES);
	uint8_t *mut = cairn_test_xmalloc(CAIRN_AUDIT_VERDICT_MAX_BYTES);
	char err[512];
	size_t len[2];

	(void)state;
	memset(v, 0, 2 * sizeof *v);
	v[0].check = CAIRN_AUDIT_REPLAY;
	v[0].segment = 2;
	v[0].step_first = 5;
	v[0].step_last = 6;
	v[0].diff = CAIRN_AUDIT_DIFF_PARAMS;
	v[0].diff_step = 6;
	v[0].diff_what = CAIRN_AUDIT_DIFF_PARAMS;
	v[0].elem_tensor = CAIRN_AUDIT_ELEM_PARAMS;
	v[0].elem_count = 1;
	v[0].nsegments = 1;
	v[0].segments[0] = 2;
	v[1].accepted = 1;
	v[1].check = CAIRN_AUDIT_OK;
	v[1].segment = CAIRN_AUDIT_NO_SEGMENT;
	v[1].nsegments = 1;
	v[1].segments[0] = 3;
	for (int k = 0; k < 2; k++) {
		uint8_t *e = enc + k * CAIRN_AUDIT_VERDICT_MAX_BYTES;
		assert_int_equal(cairn_audit_verdict_encode(
		                     &v[k], e, CAIRN_AUDIT_VERDICT_MAX_BYTES,
		                     &len[k]),
		                 0);
		assert_int_equal(cairn_audit_verdict_decode(e, len[k], t, err,
		                                            sizeof err),
		                 0);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		const int k = bad[i].base;
		size_t l2;
		memcpy(mut, enc + k * CAIRN_AUDIT_VERDICT_MAX_BYTES, len[k]);
		for (int j = 0; j < 2 && (j == 0 || bad[i].at[j]); j++) {
			uint8_t *p = mut + 4 * CAIRN_HASH_BYTES + bad[i].at[j];
			const uint32_t x = bad[i].val[j];
			p[0] = (uint8_t)x;
			p[1] = (uint8_t)(x >> 8);
			p[2] = (uint8_t)(x >> 16);
			p[3] = (uint8_t)(x >> 24);
		}
		/* the decoder refuses the bytes, saying which */
		assert_int_equal(cairn_audit_verdict_decode(mut, len[k], t,
		                                            err, sizeof err),
		                 CAIRN_EFORMAT);
		if (!strstr(err, bad[i].why) || !strstr(err, "disagree"))
			fail_msg("case %zu: '%s', want '%s'", i, err,
			         bad[i].why);
		/* and the encoder refuses to make them */
		memcpy(t, &v[k], sizeof *t);
		for (int j = 0; j < 2 && (j == 0 || bad[i].at[j]); j++)
			verdict_set(t, bad[i].at[j], bad[i].val[j]);
		assert_int_equal(cairn_audit_verdict_encode(
		                     t, mut, CAIRN_AUDIT_VERDICT_MAX_BYTES, &l2),
		                 CAIRN_EINVAL);
	}
	free(v);
	free(t);
	free(enc);
	free(mut);
}

/* ---- (g) cairn verify ---------------------------------------------------- */

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

/* The fixture's IDX files in f->dir/data (made once) into data. */
static void data_dir(struct fx *f, char *data, size_t len)
{
	struct stat st;

	snprintf(data, len, "%s/data", f->dir);
	if (!stat(data, &st))
		return;
	assert_int_equal(mkdir(data, 0700), 0);
	write_idx(f, data);
}

static void write_bytes(const char *path, const uint8_t *p, size_t n)
{
	FILE *fp = fopen(path, "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(p, 1, n, fp), n);
	assert_int_equal(fclose(fp), 0);
}

/* The offset of needle in hay (which must hold it). */
static size_t find(const uint8_t *hay, size_t n, const uint8_t *needle,
                   size_t m)
{
	for (size_t i = 0; i + m <= n; i++)
		if (!memcmp(hay + i, needle, m))
			return i;
	fail_msg("bytes not found in the bundle");
	return 0;
}

/* A new string: s with the first a at or after offset from replaced by b
 * (a must be there). */
static char *replace_in(const char *s, ptrdiff_t from, const char *a,
                        const char *b)
{
	const char *at = strstr(s + from, a);
	size_t n = strlen(s), la = strlen(a), lb = strlen(b);
	char *out;

	assert_non_null(at);
	out = cairn_test_xmalloc(n - la + lb + 1);
	memcpy(out, s, (size_t)(at - s));
	memcpy(out + (at - s), b, lb);
	strcpy(out + (at - s) + lb, at + la);
	return out;
}

/* Offset of a byte near the end of the last checkpoint's v tensor in a
 * bundle file of the good bundle's task: 10 bytes before the step log
 * (field 8, the file's last: a 1-byte tag and a 2-byte length before its
 * STEPS * 36 bytes). */
static size_t last_tensor_byte(struct fx *f, const uint8_t *buf, size_t len)
{
	size_t off = find(buf, len, f->good.steps,
	                  STEPS * CAIRN_STEP_RECORD_BYTES);
	assert_int_equal(off + STEPS * CAIRN_STEP_RECORD_BYTES, len);
	return off - 3 - 10;
}

static void test_cli_verify(void **state)
{
	struct fx *f = *state;
	struct cairn_bundle c, tmp;
	char data[256], good[256], bad[256], junk[256], key[256], out[256],
	    line[4096], err[512];
	FILE *fp;

	data_dir(f, data, sizeof data);
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
	/* The narrowing: step 8 ran on step 6's samples. */
	assert_non_null(strstr(line, "\"first_difference\":{\"step\":8,"));
	assert_non_null(strstr(line, "\"element\":null"));
	assert_non_null(strstr(line, "\"verdict\":\""));
	assert_null(fgets(line, sizeof line, fp));
	fclose(fp);

	/* Checking the verdict file: valid as written, by this auditor. */
	{
		char hex[CAIRN_HASH_HEX_BYTES], edited[256], other[256];
		char *text, *p;
		size_t n;
		long l;

		assert_int_equal(verify_cli("--verdicts", out, NULL), 0);
		assert_int_equal(verify_cli("--verdicts", out, "--json", NULL),
		                 0);
		assert_int_equal(cairn_hash_to_hex(f->aud.public_key, hex), 0);
		assert_int_equal(
		    verify_cli("--verdicts", out, "--auditor", hex, NULL), 0);
		/* Another auditor's key: invalid. */
		assert_int_equal(
		    cairn_hash_to_hex(f->id.public_key, hex), 0);
		assert_int_equal(
		    verify_cli("--verdicts", out, "--auditor", hex, NULL), 1);
		/* Edits: a readable field, a byte of the signed encoding, a
		 * byte of the signature: each invalid (exit 1). */
		assert_non_null(fp = fopen(out, "r"));
		assert_int_equal(fseek(fp, 0, SEEK_END), 0);
		l = ftell(fp);
		rewind(fp);
		n = (size_t)l;
		text = cairn_test_xmalloc(n + 1);
		assert_int_equal(fread(text, 1, n, fp), n);
		text[n] = '\0';
		fclose(fp);
		snprintf(edited, sizeof edited, "%s/edited.jsonl", f->dir);
		for (int k = 0; k < 6; k++) {
			char *e = cairn_test_xmalloc(n + 64);
			memcpy(e, text, n + 1);
			if (k >= 3) {
				/* Forgeries that keep the genuine text
				 * somewhere in the line (a review of the
				 * first checker, which only looked for it):
				 * a repeated key, a nested copy, an edit to
				 * a value that also appears elsewhere. */
				static const char *const from[3][2] = {
				    {"\"}\n", "\",\"accepted\":true}\n"},
				    {"\"accepted\":false,\"check\":\"replay\"",
				     "\"accepted\":true,\"check\":\"ok\""},
				    {"\"differs\":\"params,m,v,samples,loss\"",
				     "\"differs\":\"samples,loss\""}};
				ptrdiff_t l2 = strchr(e, '\n') + 1 - e;
				free(e);
				e = replace_in(text, l2, from[k - 3][0],
				               from[k - 3][1]);
				if (k == 4) {
					char *e2 = replace_in(
					    e, l2, "\"}\n",
					    "\",\"x\":{\"accepted\":false,"
					    "\"check\":\"replay\"}}\n");
					free(e);
					e = e2;
				}
			} else if (k == 0) {
				/* the rejection claimed as an acceptance */
				p = strstr(e, "\"accepted\":false");
				assert_non_null(p);
				memcpy(p + 11, "true,", 5);
				memmove(p + 16, p + 17, strlen(p + 17) + 1);
			} else {
				p = strstr(e, k == 1 ? "\"verdict\":\""
				                     : "\"signature\":\"");
				assert_non_null(p);
				p = strchr(p + 3, ':') + 2 + 20;
				*p = *p == '0' ? '1' : '0';
			}
			write_bytes(edited, (const uint8_t *)e, strlen(e));
			print_message("verdict file edit %d -> exit %d\n", k,
			              verify_cli("--verdicts", edited, NULL));
			assert_int_equal(verify_cli("--verdicts", edited, NULL),
			                 1);
			free(e);
		}
		/* Not verdicts: exit 2. */
		snprintf(other, sizeof other, "%s/not-verdicts.jsonl", f->dir);
		write_bytes(other, (const uint8_t *)"{\"bundle\":\"x\"}\n", 15);
		assert_int_equal(verify_cli("--verdicts", other, NULL), 2);
		assert_int_equal(verify_cli("--verdicts", junk, NULL), 2);
		snprintf(other, sizeof other, "%s/missing.jsonl", f->dir);
		assert_int_equal(verify_cli("--verdicts", other, NULL), 2);
		/* A genuine line with bytes hidden after a NUL: not a
		 * verdict (the checker must see the whole line). */
		{
			ptrdiff_t l1 = strchr(text, '\n') - text;
			char *e = cairn_test_xmalloc((size_t)l1 + 32);
			memcpy(e, text, (size_t)l1);
			memcpy(e + l1, "\0,\"accepted\":false}\n", 20);
			snprintf(other, sizeof other, "%s/nul.jsonl", f->dir);
			write_bytes(other, (const uint8_t *)e, (size_t)l1 + 20);
			assert_int_equal(verify_cli("--verdicts", other, NULL),
			                 2);
			/* a CRLF line end is one; a second CR is an edit */
			memcpy(e + l1, "\r\n", 2);
			write_bytes(other, (const uint8_t *)e, (size_t)l1 + 2);
			assert_int_equal(verify_cli("--verdicts", other, NULL),
			                 0);
			memcpy(e + l1, "\r\r\n", 3);
			write_bytes(other, (const uint8_t *)e, (size_t)l1 + 3);
			assert_int_equal(verify_cli("--verdicts", other, NULL),
			                 1);
			free(e);
		}
		/* A line past the limit (3 MB, no newline): refused after
		 * reading the limit, not read whole; a FIFO and a directory
		 * are refused, not read (a FIFO would block). */
		{
			size_t big = (size_t)3 << 20;
			uint8_t *z = calloc(big, 1);
			assert_non_null(z);
			memset(z, 'a', big);
			char said[4096] = "", errp[300];
			int saved = dup(2), fd;
			ssize_t k;
			snprintf(other, sizeof other, "%s/long.jsonl", f->dir);
			write_bytes(other, z, big);
			free(z);
			/* what it says on stderr: refused at the limit */
			snprintf(errp, sizeof errp, "%s/stderr", f->dir);
			fd = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
			assert_true(saved >= 0 && fd >= 0);
			fflush(stderr);
			dup2(fd, 2);
			k = verify_cli("--verdicts", other, NULL);
			fflush(stderr);
			dup2(saved, 2);
			close(saved);
			close(fd);
			assert_int_equal(k, 2);
			fd = open(errp, O_RDONLY);
			assert_true(fd >= 0);
			k = read(fd, said, sizeof said - 1);
			close(fd);
			assert_true(k > 0);
			assert_non_null(strstr(said, "longer than 1081720 bytes"));
			snprintf(other, sizeof other, "%s/fifo.jsonl", f->dir);
			assert_int_equal(mkfifo(other, 0600), 0);
			assert_int_equal(verify_cli("--verdicts", other, NULL),
			                 2);
			assert_int_equal(verify_cli("--verdicts", f->dir, NULL),
			                 2);
		}
		assert_int_equal(verify_cli("--verdicts", out, "--data", data,
		                            NULL),
		                 2);
		assert_int_equal(verify_cli(good, "--auditor", hex, NULL), 2);
		free(text);
	}
}

/* Truncated and corrupted copies of an honest bundle through `cairn
 * verify`: a file that is no longer a bundle is exit 2, one that still
 * reads but breaks the signature or a commitment is a rejection, exit 1,
 * with the check named in the signed verdict file. */
static void test_cli_damaged(void **state)
{
	struct fx *f = *state;
	struct cairn_bundle c, tmp;
	uint8_t spec[CAIRN_TASK_SPEC_BYTES], *buf, *cp;
	char data[256], good[256], key[256], p[300], out[300], line[8192],
	    err[512], want[64];
	size_t len, off;
	long l;
	FILE *fp;
	struct damage {
		const char *what;
		size_t at;
		int flip; /* 0: truncate at `at` */
		int exit;
		const char *check;
	} d[16];
	int nd = 0;

	data_dir(f, data, sizeof data);
	copy_good(f, &tmp);
	reread(f, &tmp, &c, good, sizeof good);
	cairn_bundle_free(&c);
	snprintf(key, sizeof key, "%s/auditor.key", f->dir);
	if (access(key, F_OK))
		assert_int_equal(
		    cairn_identity_save(&f->aud, key, err, sizeof err), 0);
	assert_non_null(fp = fopen(good, "rb"));
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	l = ftell(fp);
	len = (size_t)l;
	rewind(fp);
	buf = cairn_test_xmalloc(len);
	cp = cairn_test_xmalloc(len);
	assert_int_equal(fread(buf, 1, len, fp), len);
	fclose(fp);
	assert_int_equal(cairn_task_spec_encode(&f->good.spec, spec), 0);

	d[nd++] = (struct damage){"truncated by 1 byte", len - 1, 0, 2, NULL};
	d[nd++] = (struct damage){"truncated to half", len / 2, 0, 2, NULL};
	d[nd++] = (struct damage){"truncated to 100 bytes", 100, 0, 2, NULL};
	d[nd++] = (struct damage){"empty", 0, 0, 2, NULL};
	d[nd++] = (struct damage){"first tag byte", 0, 1, 2, NULL};
	off = find(buf, len, f->good.signature, CAIRN_SIGNATURE_BYTES);
	d[nd++] = (struct damage){"signature byte", off + 9, 1, 1, "signature"};
	off = find(buf, len, spec, sizeof spec);
	d[nd++] =
	    (struct damage){"spec's seed byte", off + 48, 1, 1, "task-id"};
	off = find(buf, len, f->good.state_roots + 2 * CAIRN_HASH_BYTES,
	           CAIRN_HASH_BYTES);
	d[nd++] =
	    (struct damage){"state root 2 byte", off + 3, 1, 1, "commitment"};
	off = find(buf, len, f->good.steps, STEPS * CAIRN_STEP_RECORD_BYTES);
	d[nd++] = (struct damage){"step log byte", off + 40, 1, 1, "commitment"};
	d[nd++] = (struct damage){"last tensor byte",
	                          last_tensor_byte(f, buf, len), 1, 1,
	                          "reveal"};

	for (int i = 0; i < nd; i++) {
		int ex;

		memcpy(cp, buf, len);
		if (d[i].flip)
			cp[d[i].at] ^= 0x01;
		snprintf(p, sizeof p, "%s/damaged%d.cairn", f->dir, i);
		write_bytes(p, cp, d[i].flip ? len : d[i].at);
		snprintf(out, sizeof out, "%s/damaged%d.jsonl", f->dir, i);
		ex = verify_cli(p, "--data", data, "--device", "cpu", "--full",
		                "--key", key, "--out", out, "--json", NULL);
		print_message("%-24s -> exit %d\n", d[i].what, ex);
		assert_int_equal(ex, d[i].exit);
		assert_non_null(fp = fopen(out, "r"));
		if (d[i].exit == 2) {
			/* No verdict for a file that is not a bundle. */
			assert_null(fgets(line, sizeof line, fp));
			fclose(fp);
			continue;
		}
		assert_non_null(fgets(line, sizeof line, fp));
		fclose(fp);
		snprintf(want, sizeof want, "\"check\":\"%s\"", d[i].check);
		assert_non_null(strstr(line, "\"accepted\":false"));
		assert_non_null(strstr(line, want));
		assert_non_null(strstr(line, "\"segments\":[]"));
		assert_non_null(strstr(line, "\"signature\":\""));
		if (!strcmp(d[i].check, "reveal"))
			assert_non_null(
			    strstr(line, "\"segment\":3,\"steps\":[7,8]"));
	}
	/* An unreadable bundle (damaged0: truncated) beside a rejected one
	 * (damaged5: its signature): 2 wins. */
	assert_int_equal(d[0].exit, 2);
	assert_int_equal(d[5].exit, 1);
	snprintf(p, sizeof p, "%s/damaged0.cairn", f->dir);
	snprintf(out, sizeof out, "%s/damaged5.cairn", f->dir);
	assert_int_equal(
	    verify_cli(good, out, p, "--data", data, "--device", "cpu", NULL),
	    2);
	assert_int_equal(
	    verify_cli(good, out, "--data", data, "--device", "cpu", NULL), 1);
	/* A missing file and a directory: 2. */
	snprintf(p, sizeof p, "%s/no-such.cairn", f->dir);
	assert_int_equal(verify_cli(p, "--data", data, NULL), 2);
	assert_int_equal(verify_cli(f->dir, "--data", data, NULL), 2);
	/* Data the auditor has not got (one label changed): cannot audit,
	 * exit 2, never a rejection of the honest bundle. */
	snprintf(p, sizeof p, "%s/data2", f->dir);
	assert_int_equal(mkdir(p, 0700), 0);
	f->labels[0] = (uint8_t)((f->labels[0] + 1) % CAIRN_DATASET_CLASSES);
	write_idx(f, p);
	f->labels[0] = (uint8_t)((f->labels[0] + CAIRN_DATASET_CLASSES - 1) %
	                         CAIRN_DATASET_CLASSES);
	assert_int_equal(verify_cli(good, "--data", p, "--device", "cpu", NULL),
	                 2);
	free(buf);
	free(cp);
}

/* ---- (h) lazy reading ---------------------------------------------------- */

/* Writes c (freed) to a new file, its path in path. */
static void write_new(struct fx *f, struct cairn_bundle *c, char *path,
                      size_t pathlen)
{
	char err[1024];

	snprintf(path, pathlen, "%s/b%d.cairn", f->dir, f->nfiles++);
	assert_int_equal(cairn_bundle_write(c, path, err, sizeof err), 0);
	cairn_bundle_free(c);
}

/* Reads path with cairn_audit_read_lazy, which must not reject it. */
static void lazy_read_ok(struct fx *f, const char *path, struct cairn_bundle *b)
{
	int rejected = 1;

	assert_int_equal(cairn_audit_read_lazy(path, b, &f->v, &rejected,
	                                       f->err, sizeof f->err),
	                 0);
	if (rejected)
		print_message("lazy read rejected: %s\n", f->err);
	assert_int_equal(rejected, 0);
	assert_non_null(b->source);
}

/* Honest bundles read lazily are accepted on ref and cpu, every segment
 * and single draws; auditing leaves the bundle as it was read. */
static void test_lazy_honest(void **state)
{
	struct fx *f = *state;
	cairn_backend *makers[2] = {f->ref, f->cpu};
	int audits = 0;

	for (int i = 0; i < 2; i++) {
		struct cairn_bundle b, r;
		char path[256];

		run_bundle(f, makers[i], &f->spec, &b);
		write_new(f, &b, path, sizeof path);
		lazy_read_ok(f, path, &r);
		for (int a = 0; a < 2; a++) {
			assert_int_equal(
			    audit_all(f, a ? f->cpu : f->ref, &r, NULL), 0);
			if (!f->v.accepted)
				print_message("false rejection: %s\n", f->err);
			assert_int_equal(f->v.accepted, 1);
			assert_int_equal(f->v.nsegments, NSEG);
			audits++;
		}
		for (int k = 0; k < 8; k++) {
			uint8_t nonce[CAIRN_HASH_BYTES];
			for (size_t j = 0; j < sizeof nonce; j++)
				nonce[j] = (uint8_t)rnd(f);
			assert_int_equal(
			    cairn_audit_bundle(k % 2 ? f->cpu : f->ref, &r,
			                       &f->ds, f->droot, nonce, 1,
			                       &f->v, f->err, sizeof f->err),
			    0);
			assert_int_equal(f->v.accepted, 1);
			audits++;
		}
		for (uint32_t k = 0; k < r.ncheckpoints; k++)
			assert_null(r.checkpoints[k].params);
		cairn_bundle_free(&r);
	}
	print_message("lazily read honest bundles: %d audits accepted\n",
	              audits);
}

/* A tensor that is not its trace entry passes the lazy read; an audit
 * that draws its checkpoint rejects with check reveal, naming it; one
 * that does not draw it accepts (a checkpoint never drawn is not read). */
static void test_lazy_reveal(void **state)
{
	struct fx *f = *state;
	const uint32_t bad[2] = {3, 0};
	struct cairn_bundle c, r;
	char path[256], want[64];
	uint32_t u;

	for (int t = 0; t < 2; t++) {
		const uint32_t k = bad[t];

		/* One ulp in checkpoint k's m, nothing re-rooted. */
		copy_good(f, &c);
		memcpy(&u, &c.checkpoints[k].m[100], 4);
		u += 1;
		memcpy(&c.checkpoints[k].m[100], &u, 4);
		write_new(f, &c, path, sizeof path);
		lazy_read_ok(f, path, &r);
		snprintf(want, sizeof want, "checkpoint %u (t = %u)", k,
		         k * EVERY);
		for (int a = 0; a < 2; a++) {
			audit_drawn(f, a ? f->cpu : f->ref, &r, k, 0);
			assert_int_equal(f->v.accepted, 0);
			assert_int_equal(f->v.check, CAIRN_AUDIT_REVEAL);
			assert_int_equal(f->v.segment, k);
			assert_int_equal(f->v.step_first, k * EVERY + 1);
			assert_int_equal(f->v.step_last, (k + 1) * EVERY);
			assert_int_equal(f->v.nsegments, 1);
			assert_int_equal(f->v.segments[0], k);
			assert_true(!strncmp(f->err, "check reveal: ", 14));
			assert_non_null(strstr(f->err, want));
			assert_non_null(strstr(f->err, path));
		}
		print_message("%-22s -> REJECTED check 'reveal' when drawn\n"
		              "    %s\n",
		              k ? "lazy: checkpoint 3" : "lazy: checkpoint 0",
		              f->err);
		/* Every segment: rejected when k comes up. */
		assert_int_equal(audit_all(f, f->cpu, &r, NULL), 0);
		assert_int_equal(f->v.accepted, 0);
		assert_int_equal(f->v.check, CAIRN_AUDIT_REVEAL);
		assert_int_equal(f->v.segment, k);
		/* A draw that misses it accepts. */
		audit_drawn(f, f->cpu, &r, k, 1);
		assert_int_equal(f->v.accepted, 1);
		cairn_bundle_free(&r);
	}
}

/* Writes c (freed) and reads it both ways: the lazy reader must reject it
 * with the same verdict as cairn_audit_read. */
static void expect_lazy_same(struct fx *f, struct cairn_bundle *c,
                             const char *what, int check)
{
	struct cairn_audit_verdict *full = cairn_test_xmalloc(sizeof *full);
	struct cairn_bundle r;
	char path[256];
	int rejected = 0;

	write_new(f, c, path, sizeof path);
	assert_int_equal(
	    cairn_audit_read(path, &r, full, &rejected, f->err, sizeof f->err),
	    0);
	assert_int_equal(rejected, 1);
	rejected = 0;
	assert_int_equal(cairn_audit_read_lazy(path, &r, &f->v, &rejected,
	                                       f->err, sizeof f->err),
	                 0);
	print_message("%-22s -> lazy: %s check '%s'\n", what,
	              rejected ? "REJECTED" : "read",
	              cairn_audit_check_name((int)f->v.check));
	assert_int_equal(rejected, 1);
	assert_int_equal(r.nstates, 0);
	assert_null(r.source);
	assert_int_equal(f->v.check, check);
	assert_memory_equal(&f->v, full, sizeof *full);
	free(full);
}

/* The rejections found when a bundle is read are the same read lazily
 * (all but reveal, which test_lazy_reveal covers). */
static void test_lazy_read_rejections(void **state)
{
	struct fx *f = *state;
	struct cairn_identity cheater;
	struct cairn_task_result r2;
	struct cairn_bundle c;
	size_t bytes = (size_t)f->good.param_count * sizeof(float);
	uint32_t u;

	/* The honest result, signed by a cheater under his own key. */
	assert_int_equal(cairn_identity_generate(&cheater), 0);
	copy_good(f, &c);
	r2 = c.result;
	memcpy(r2.worker_key, cheater.public_key, CAIRN_PUBLIC_KEY_BYTES);
	assert_int_equal(cairn_task_result_sign(&cheater, &r2, c.signature), 0);
	expect_lazy_same(f, &c, "signed by another key", CAIRN_AUDIT_SIGNATURE);
	cairn_identity_wipe(&cheater);
	copy_good(f, &c);
	c.spec.round = 3;
	expect_lazy_same(f, &c, "bundle of task 0 as r3", CAIRN_AUDIT_TASK_ID);
	copy_good(f, &c);
	c.result.flops *= 2;
	assert_int_equal(cairn_task_result_sign(&f->id, &c.result, c.signature),
	                 0);
	expect_lazy_same(f, &c, "twice the FLOPs", CAIRN_AUDIT_WORK);
	copy_good(f, &c);
	c.state_roots[2 * CAIRN_HASH_BYTES + 5] ^= 0x10;
	expect_lazy_same(f, &c, "a state root changed", CAIRN_AUDIT_COMMITMENT);
	copy_good(f, &c);
	c.final_state.loss_bits ^= 1;
	expect_lazy_same(f, &c, "final state changed", CAIRN_AUDIT_COMMITMENT);
	copy_good(f, &c);
	memcpy(&u, &c.checkpoints[0].params[7], 4);
	u ^= 0x00400000u;
	memcpy(&c.checkpoints[0].params[7], &u, 4);
	assert_int_equal(cairn_tensor_root(c.checkpoints[0].params, bytes,
	                                   c.checkpoints[0].state.params),
	                 0);
	cheat_resign(f, &c);
	expect_lazy_same(f, &c, "start is not W_r", CAIRN_AUDIT_START);
}

/* Cheats caught at replay: the same verdict read lazily as read in full,
 * what differs included (for a lazily read bundle the claimed end of a
 * segment is a checkpoint loaded and hashed when the replay differs). */
static void test_lazy_replay(void **state)
{
	struct fx *f = *state;
	struct cairn_audit_verdict *full = cairn_test_xmalloc(sizeof *full);
	struct cairn_bundle c, r, l;
	size_t bytes = (size_t)f->good.param_count * sizeof(float);
	uint8_t nonce[CAIRN_HASH_BYTES];
	char path[256], ferr[1024];
	int rejected;
	uint32_t u;

	for (int t = 0; t < 3; t++) {
		copy_good(f, &c);
		if (t == 0) { /* one ulp at t = 4 */
			memcpy(&u, &c.checkpoints[2].params[5], 4);
			u += 1;
			memcpy(&c.checkpoints[2].params[5], &u, 4);
			assert_int_equal(
			    cairn_tensor_root(c.checkpoints[2].params, bytes,
			                      c.checkpoints[2].state.params),
			    0);
		} else if (t == 1) { /* steps 7..8 skipped */
			c.final_state = c.checkpoints[NSEG - 1].state;
			c.final_state.step = STEPS;
		} else { /* task 0's trace as task 1's */
			c.spec.task = 1;
		}
		cheat_resign(f, &c);
		write_new(f, &c, path, sizeof path);
		assert_int_equal(cairn_audit_read(path, &r, full, &rejected,
		                                  f->err, sizeof f->err),
		                 0);
		lazy_read_ok(f, path, &l);
		for (size_t j = 0; j < sizeof nonce; j++)
			nonce[j] = (uint8_t)rnd(f);
		assert_int_equal(cairn_audit_bundle(f->cpu, &r, &f->ds,
		                                    f->droot, nonce, NSEG, full,
		                                    ferr, sizeof ferr),
		                 0);
		assert_int_equal(
		    cairn_audit_bundle(f->cpu, &l, &f->ds, f->droot, nonce,
		                       NSEG, &f->v, f->err, sizeof f->err),
		    0);
		print_message("lazy replay cheat %d -> %s\n", t, f->err);
		assert_int_equal(f->v.accepted, 0);
		assert_int_equal(f->v.check, CAIRN_AUDIT_REPLAY);
		assert_true(f->v.diff != 0);
		assert_memory_equal(&f->v, full, sizeof *full);
		assert_string_equal(f->err, ferr);
		cairn_bundle_free(&r);
		cairn_bundle_free(&l);
	}
	free(full);
}

/* `cairn verify --lazy` (the default): an honest bundle is accepted; a
 * tampered tensor is rejected (check reveal, the segment drawn) when its
 * checkpoint is drawn, and accepted when it is not; with --full it is
 * rejected when read, whatever is drawn. */
static void test_cli_lazy(void **state)
{
	struct fx *f = *state;
	struct cairn_bundle c, tmp;
	uint8_t nonce[CAIRN_HASH_BYTES], *buf;
	char data[256], good[256], bad[256], key[256], out[256], seed[80],
	    line[8192], err[512];
	size_t len;
	long l;
	FILE *fp;

	data_dir(f, data, sizeof data);
	copy_good(f, &tmp);
	reread(f, &tmp, &c, good, sizeof good);
	cairn_bundle_free(&c);
	assert_int_equal(verify_cli(good, "--data", data, "--device", "cpu",
	                            "--lazy", "--segments", "2", NULL),
	                 0);
	/* The last tensor byte: checkpoint 3's v. */
	assert_non_null(fp = fopen(good, "rb"));
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	l = ftell(fp);
	len = (size_t)l;
	rewind(fp);
	buf = cairn_test_xmalloc(len);
	assert_int_equal(fread(buf, 1, len, fp), len);
	fclose(fp);
	buf[last_tensor_byte(f, buf, len)] ^= 0x01;
	snprintf(bad, sizeof bad, "%s/lazy-tampered.cairn", f->dir);
	write_bytes(bad, buf, len);
	free(buf);
	snprintf(key, sizeof key, "%s/auditor.key", f->dir);
	if (access(key, F_OK))
		assert_int_equal(
		    cairn_identity_save(&f->aud, key, err, sizeof err), 0);
	for (int drawn = 1; drawn >= 0; drawn--) {
		int ex;

		nonce_drawing(f->good.result.trace_root, NSEG - 1, !drawn,
		              nonce);
		assert_int_equal(cairn_hash_to_hex(nonce, seed), 0);
		snprintf(out, sizeof out, "%s/lazy%d.jsonl", f->dir, drawn);
		ex = verify_cli(bad, "--data", data, "--device", "cpu",
		                "--lazy", "--seed", seed, "--key", key, "--out",
		                out, NULL);
		assert_int_equal(ex, drawn ? 1 : 0);
		assert_non_null(fp = fopen(out, "r"));
		assert_non_null(fgets(line, sizeof line, fp));
		fclose(fp);
		if (!drawn) {
			assert_non_null(strstr(line, "\"accepted\":true"));
			continue;
		}
		assert_non_null(strstr(line, "\"accepted\":false"));
		assert_non_null(strstr(line, "\"check\":\"reveal\""));
		assert_non_null(strstr(line, "\"segments\":[3]"));
		assert_non_null(strstr(line, "\"segment\":3,\"steps\":[7,8]"));
		assert_non_null(strstr(line, "checkpoint 3 (t = 6)"));
	}
	/* With --full: rejected when read, nothing drawn. */
	assert_int_equal(verify_cli(bad, "--data", data, "--device", "cpu",
	                            "--full", "--seed", seed, NULL),
	                 1);
	/* The default is --lazy: the same as above when not drawn. */
	assert_int_equal(verify_cli(bad, "--data", data, "--device", "cpu",
	                            "--seed", seed, NULL),
	                 0);
	/* --task-id: the honest bundle's own task is accepted; asked for
	 * another task only, it is rejected with check assignment (a
	 * self-consistent bundle for a spec nobody assigned). */
	{
		char tid[CAIRN_HASH_HEX_BYTES], other[CAIRN_HASH_HEX_BYTES];
		uint8_t o[CAIRN_HASH_BYTES];
		memcpy(o, f->good.result.task_id, sizeof o);
		o[0] ^= 0x01;
		assert_int_equal(cairn_hash_to_hex(f->good.result.task_id, tid),
		                 0);
		assert_int_equal(cairn_hash_to_hex(o, other), 0);
		assert_int_equal(verify_cli(good, "--data", data, "--device",
		                            "cpu", "--task-id", other,
		                            "--task-id", tid, NULL),
		                 0);
		snprintf(out, sizeof out, "%s/assignment.jsonl", f->dir);
		assert_int_equal(verify_cli(good, "--data", data, "--device",
		                            "cpu", "--task-id", other, "--key",
		                            key, "--out", out, NULL),
		                 1);
		assert_non_null(fp = fopen(out, "r"));
		assert_non_null(fgets(line, sizeof line, fp));
		fclose(fp);
		assert_non_null(strstr(line, "\"accepted\":false"));
		assert_non_null(strstr(line, "\"check\":\"assignment\""));
		assert_int_equal(verify_cli(good, "--data", data, "--task-id",
		                            "xyz", NULL),
		                 2);
	}
}

/* ---- (i) a GPU, with --backend cuda (label gpu) ------------------------- */

/* The verdict's encoding (the bytes the auditor signs), for comparing
 * the verdicts of two auditors. */
static size_t verdict_bytes(const struct cairn_audit_verdict *v, uint8_t *out)
{
	size_t len = 0;
	assert_int_equal(cairn_audit_verdict_encode(
	                     v, out, CAIRN_AUDIT_VERDICT_MAX_BYTES, &len),
	                 0);
	return len;
}

/* Audits b with the same nonce, every segment, on the GPU and on the CPU:
 * the two verdicts must be the same bytes.  Returns the GPU's (in f->v). */
static void audit_both(struct fx *f, cairn_backend *gpu,
                       const struct cairn_bundle *b, const char *what)
{
	uint8_t nonce[CAIRN_HASH_BYTES], *a, *c;
	struct cairn_audit_verdict cpu_v;
	size_t la, lc;

	for (size_t i = 0; i < sizeof nonce; i++)
		nonce[i] = (uint8_t)rnd(f);
	assert_int_equal(cairn_audit_bundle(f->cpu, b, &f->ds, f->droot, nonce,
	                                    NSEG, &cpu_v, f->err,
	                                    sizeof f->err),
	                 0);
	assert_int_equal(cairn_audit_bundle(gpu, b, &f->ds, f->droot, nonce,
	                                    NSEG, &f->v, f->err, sizeof f->err),
	                 0);
	print_message("%-26s -> on cuda: %s %s\n", what,
	              f->v.accepted ? "ACCEPTED" : "REJECTED", f->err);
	a = cairn_test_xmalloc(CAIRN_AUDIT_VERDICT_MAX_BYTES);
	c = cairn_test_xmalloc(CAIRN_AUDIT_VERDICT_MAX_BYTES);
	la = verdict_bytes(&f->v, a);
	lc = verdict_bytes(&cpu_v, c);
	assert_int_equal(la, lc);
	assert_memory_equal(a, c, la);
	free(a);
	free(c);
}

/* Honest bundles made on the GPU are the CPU's bits and are accepted by
 * every auditor; the GPU auditor accepts the CPU's, read in full and
 * lazily (the drawn checkpoints hashed on the device), and rejects the
 * cheats with the same verdict as the CPU, narrowing included. */
static void test_gpu_audit(void **state)
{
	struct fx *f = *state;
	cairn_backend *gpu = NULL;
	cairn_backend *auditors[3];
	struct cairn_bundle b, r, c;
	char path[256];
	int rejected = 1;

	assert_int_equal(cairn_backend_open(CAIRN_BACKEND_CUDA, NULL, &gpu), 0);
	auditors[0] = f->ref;
	auditors[1] = f->cpu;
	auditors[2] = gpu;
	/* A bundle made on the GPU: the CPU's trace, accepted by ref, cpu
	 * and cuda auditors. */
	run_bundle(f, gpu, &f->spec, &b);
	reread(f, &b, &r, path, sizeof path);
	assert_memory_equal(r.result.trace_root, f->good.result.trace_root,
	                    CAIRN_HASH_BYTES);
	assert_memory_equal(r.result.steps_root, f->good.result.steps_root,
	                    CAIRN_HASH_BYTES);
	assert_string_equal(r.result.device_class, "cuda");
	for (int a = 0; a < 3; a++) {
		assert_int_equal(audit_all(f, auditors[a], &r, NULL), 0);
		if (!f->v.accepted)
			print_message("false rejection: %s\n", f->err);
		assert_int_equal(f->v.accepted, 1);
	}
	cairn_bundle_free(&r);
	/* The CPU's bundle, lazily read, audited on the GPU. */
	assert_int_equal(cairn_audit_read_lazy(path, &r, &f->v, &rejected,
	                                       f->err, sizeof f->err),
	                 0);
	assert_int_equal(rejected, 0);
	assert_int_equal(audit_all(f, gpu, &r, NULL), 0);
	assert_int_equal(f->v.accepted, 1);
	cairn_bundle_free(&r);
	audit_both(f, gpu, &f->good, "honest (cpu)");
	assert_int_equal(f->v.accepted, 1);
	/* Cheats: the same verdict bytes from both auditors. */
	copy_good(f, &c);
	c.final_state = c.checkpoints[NSEG - 1].state;
	c.final_state.step = STEPS;
	cheat_resign(f, &c);
	reread(f, &c, &r, NULL, 0);
	audit_both(f, gpu, &r, "skipped steps 7..8");
	assert_int_equal(f->v.accepted, 0);
	assert_int_equal(f->v.diff_step, STEPS);
	cairn_bundle_free(&r);
	run_bf16(f, 5, &c);
	reread(f, &c, &r, NULL, 0);
	audit_both(f, gpu, &r, "bf16 step 5");
	assert_int_equal(f->v.accepted, 0);
	assert_int_equal(f->v.diff_step, 5);
	cairn_bundle_free(&r);
	{
		struct cairn_task_spec s2 = f->spec;
		s2.adamw.lr *= 2.0f;
		cheat_other_spec(f, &s2, &c);
		reread(f, &c, &r, NULL, 0);
		audit_both(f, gpu, &r, "learning rate x2");
		assert_int_equal(f->v.accepted, 0);
		assert_int_equal(f->v.diff_what, CAIRN_AUDIT_DIFF_LOSS);
		cairn_bundle_free(&r);
	}
	cairn_backend_close(gpu);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest gpu_tests[] = {
	    cmocka_unit_test(test_gpu_audit),
	};
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_challenge),
	    cmocka_unit_test(test_challenge_vector),
	    cmocka_unit_test(test_honest_accepted),
	    cmocka_unit_test(test_cheat_ulp),
	    cmocka_unit_test(test_cheat_skip_last),
	    cmocka_unit_test(test_cheat_carry_forward),
	    cmocka_unit_test(test_cheat_wrong_data),
	    cmocka_unit_test(test_cheat_learning_rate),
	    cmocka_unit_test(test_cheat_bf16_step),
	    cmocka_unit_test(test_cheat_step_log),
	    cmocka_unit_test(test_cheat_resigned_other_task),
	    cmocka_unit_test(test_cheat_on_ref),
	    cmocka_unit_test(test_cheat_other_key),
	    cmocka_unit_test(test_cheat_replayed_result),
	    cmocka_unit_test(test_cheat_commitments),
	    cmocka_unit_test(test_dataset_mismatch),
	    cmocka_unit_test(test_verdict_sign),
	    cmocka_unit_test(test_verdict_vector),
	    cmocka_unit_test(test_verdict_fields),
	    cmocka_unit_test(test_cli_verify),
	    cmocka_unit_test(test_cli_damaged),
	    cmocka_unit_test(test_lazy_honest),
	    cmocka_unit_test(test_lazy_reveal),
	    cmocka_unit_test(test_lazy_read_rejections),
	    cmocka_unit_test(test_lazy_replay),
	    cmocka_unit_test(test_cli_lazy),
	};
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--backend") && i + 1 < argc &&
		    !strcmp(argv[i + 1], "cuda")) {
			char why[256];
			if (cairn_cuda_probe(why, sizeof why) <= 0) {
				printf("test_audit --backend cuda: skipped: "
				       "%s\n",
				       why);
				return 77;
			}
			return cmocka_run_group_tests(gpu_tests, setup,
			                              teardown);
		}
	return cmocka_run_group_tests(tests, setup, teardown);
}
