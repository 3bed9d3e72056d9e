/* cairn: tasks and rounds (include/cairn/task.h, include/cairn/outer.h).
 *
 * - The spec's canonical encoding: round trip, every field checked on
 *   decode, any changed byte either refused or a different task id.
 * - A task's trace (state roots, losses, trace root, final parameters)
 *   is the same on ref and on the cpu backend with 1, 2 and 3 threads and
 *   both ISAs, across repeated runs, with background commits, and on the
 *   cuda backend's kernels run on the host (tests/emu); with --backend
 *   cuda (label gpu; 77 = skipped without a GPU), the same on the GPU as
 *   on ref, committed both ways.
 * - Re-running a segment from a checkpoint's state (cairn_task_replay, the
 *   auditor's path) ends at the state root the trace committed.
 * - Wrong data or wrong W_r are refused (before any step; W_r with a
 *   committer at t = c, when the roots of t = 0 are collected).
 * - Results: encode, decode, sign, verify; another key or any changed
 *   field fails.
 * - The outer step: equal to a scalar host computation of its documented
 *   formula, bit for bit, on ref and cpu.
 *
 * The dataset is synthetic (random pixels and labels) and the model tiny
 * (784-16-10); fresh random inputs each run, seed printed. */
#include <inttypes.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_util.h"

#include "cairn/bundle.h"
#include "cairn/error.h"
#include "cairn/outer.h"
#include "cairn/task.h"

#define HB CAIRN_HASH_BYTES

static uint64_t g_rng;
/* --backend cuda: compare the GPU's trace with ref's (label gpu). */
static int g_cuda;

static uint64_t rnd(void)
{
	return cairn_test_splitmix64(&g_rng);
}

/* A synthetic split: n random images and labels (owned by the fixture). */
struct fixture {
	cairn_dataset ds;
	uint8_t *images, *labels;
	uint8_t ds_root[HB];
	struct cairn_task_spec spec;
	float *w0; /* W_r of the spec, param count floats */
	int64_t nparams;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	const uint32_t n = 300;
	cairn_backend *be = NULL;
	cairn_model *m = NULL;

	if (!f)
		return -1;
	f->images = malloc((size_t)n * CAIRN_DATASET_PIXELS);
	f->labels = malloc(n);
	if (!f->images || !f->labels)
		return -1;
	for (size_t i = 0; i < (size_t)n * CAIRN_DATASET_PIXELS; i++)
		f->images[i] = (uint8_t)rnd();
	for (uint32_t i = 0; i < n; i++)
		f->labels[i] = (uint8_t)(rnd() % 10);
	f->ds.count = n;
	f->ds.images = f->images;
	f->ds.labels = f->labels;
	if (cairn_dataset_root(&f->ds, f->ds_root))
		return -1;

	struct cairn_task_spec *s = &f->spec;
	strcpy(s->profile, CAIRN_PROFILE_EXACT);
	strcpy(s->job, "test-mlp");
	s->seed = rnd();
	s->round = (uint32_t)(rnd() % 1000);
	s->tasks = 3;
	s->task = 1;
	s->model.input = 784;
	s->model.nhidden = 1;
	s->model.hidden[0] = 16;
	s->model.classes = 10;
	s->model.act = CAIRN_ACT_RELU;
	s->optimizer = CAIRN_TASK_OPT_ADAMW;
	cairn_adamw_defaults(&s->adamw);
	s->adamw.lr = 1e-2f;
	memcpy(s->dataset_root, f->ds_root, HB);
	s->dataset_count = n;
	s->batch = 8;
	s->micro = 2;
	s->inner_steps = 6;
	s->checkpoint_every = 2;

	if (cairn_backend_open(CAIRN_BACKEND_REF, NULL, &be) ||
	    cairn_model_create(be, &s->model, 8, 2, &m) ||
	    cairn_model_init(m, s->seed))
		return -1;
	f->nparams = cairn_model_param_count(m);
	f->w0 = malloc((size_t)f->nparams * sizeof(float));
	if (!f->w0 || cairn_model_read(m, CAIRN_MODEL_PARAMS, f->w0) ||
	    cairn_tensor_root(f->w0, (size_t)f->nparams * 4, s->params_root))
		return -1;
	cairn_model_free(m);
	cairn_backend_close(be);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	free(f->images);
	free(f->labels);
	free(f->w0);
	free(f);
	return 0;
}

/* ---- the spec ---------------------------------------------------------- */

static void test_spec_roundtrip(void **state)
{
	struct fixture *f = *state;
	uint8_t enc[CAIRN_TASK_SPEC_BYTES], enc2[CAIRN_TASK_SPEC_BYTES];
	uint8_t id[HB], id2[HB];
	struct cairn_task_spec d;
	char err[256];

	assert_int_equal(cairn_task_spec_check(&f->spec, err, sizeof err), 0);
	assert_int_equal(cairn_task_spec_encode(&f->spec, enc), 0);
	assert_int_equal(cairn_task_spec_decode(enc, sizeof enc, &d, err,
						sizeof err),
			 0);
	assert_int_equal(cairn_task_spec_encode(&d, enc2), 0);
	assert_memory_equal(enc, enc2, sizeof enc);
	assert_int_equal(cairn_task_id(&f->spec, id), 0);
	assert_int_equal(cairn_task_id(&d, id2), 0);
	assert_memory_equal(id, id2, HB);
	assert_int_equal(cairn_task_state_count(&f->spec), 4);
	/* 6 steps x 8 rows x 6 x (784*16 + 16*10) */
	assert_true(cairn_task_flops(&f->spec) ==
		    UINT64_C(6) * 8 * 6 * (784 * 16 + 16 * 10));

	/* Wrong lengths. */
	assert_int_equal(cairn_task_spec_decode(enc, sizeof enc - 1, &d, err,
						sizeof err),
			 CAIRN_EFORMAT);
	assert_non_null(strstr(err, "223 bytes"));
	assert_int_equal(
	    cairn_task_spec_decode(enc, 0, &d, err, sizeof err),
	    CAIRN_EFORMAT);
}

/* Every single-byte change of the encoding is either refused by the
 * decoder or decodes to a spec with another task id. */
static void test_spec_every_byte(void **state)
{
	struct fixture *f = *state;
	uint8_t enc[CAIRN_TASK_SPEC_BYTES], id[HB], id2[HB];
	int refused = 0, differ = 0;

	assert_int_equal(cairn_task_spec_encode(&f->spec, enc), 0);
	assert_int_equal(cairn_task_id(&f->spec, id), 0);
	for (size_t i = 0; i < sizeof enc; i++) {
		uint8_t b[CAIRN_TASK_SPEC_BYTES];
		struct cairn_task_spec d;
		char err[256];
		memcpy(b, enc, sizeof b);
		b[i] ^= (uint8_t)(1u << (rnd() % 8));
		if (cairn_task_spec_decode(b, sizeof b, &d, err, sizeof err)) {
			assert_true(err[0] != 0);
			refused++;
			continue;
		}
		assert_int_equal(cairn_task_id(&d, id2), 0);
		assert_memory_not_equal(id, id2, HB);
		differ++;
	}
	printf("spec bytes: %d flips refused, %d gave another id\n", refused,
	       differ);
	assert_true(refused > 0 && differ > 0);
}

static void expect_bad(struct cairn_task_spec *s, const char *needle)
{
	uint8_t enc[CAIRN_TASK_SPEC_BYTES];
	char err[256] = "";
	assert_int_equal(cairn_task_spec_check(s, err, sizeof err),
			 CAIRN_EINVAL);
	if (!strstr(err, needle))
		fail_msg("error '%s' does not mention '%s'", err, needle);
	assert_int_equal(cairn_task_spec_encode(s, enc), CAIRN_EINVAL);
}

static void test_spec_checks(void **state)
{
	struct fixture *f = *state;
	struct cairn_task_spec s;

#define BAD(stmt, needle)                                                      \
	do {                                                                   \
		s = f->spec;                                                   \
		stmt;                                                          \
		expect_bad(&s, needle);                                        \
	} while (0)
	BAD(strcpy(s.profile, "fast-v1"), "fast-v1");
	BAD(strcpy(s.job, "Bad Job"), "Bad Job");
	BAD(memset(s.job, 0, sizeof s.job), "job name");
	/* bytes from a file reach the message escaped: no terminal escape
	 * sequence, and a bad byte in the NUL padding shows */
	BAD((memset(s.job, 0, sizeof s.job), strcpy(s.job, "\x1b]0;x\x07")),
	     "'\\x1b]0;x\\x07'");
	BAD(s.job[sizeof s.job - 1] = 'z', "\\0\\0z'");
	BAD(s.profile[sizeof s.profile - 1] = 1, "exact-v1\\0");
	BAD(s.round = CAIRN_SAMPLE_ROUND_LIMIT, "round 1073741824");
	BAD(s.task = 3, "task index 3");
	BAD(s.tasks = 0, "task count 0");
	BAD(s.model.nhidden = 9, "9 hidden");
	BAD(s.model.act = (cairn_act)7, "activation 7");
	BAD(s.model.hidden[0] = 0, "784 x 0");
	BAD(s.model.hidden[3] = 5, "hidden[3] = 5");
	BAD(s.model.hidden[0] = 65536 * 2, "131072");
	BAD((s.model.hidden[0] = 60000, s.model.nhidden = 2,
	     s.model.hidden[1] = 60000),
	    "parameters");
	BAD(s.optimizer = 2, "optimizer 2");
	BAD(s.adamw.lr = NAN, "lr nan");
	BAD(s.adamw.lr = -1.0f, "lr -1");
	BAD(s.adamw.beta2 = 1.0f, "0.9/1");
	BAD(s.adamw.eps = 0.0f, "eps 0");
	BAD(s.adamw.weight_decay = INFINITY, "weight decay inf");
	BAD(s.dataset_count = 0, "dataset count 0");
	BAD(s.batch = 0, "batch 0");
	BAD(s.micro = 3, "3 micro-batches");
	BAD(s.inner_steps = 0, "0 inner steps");
	BAD(s.checkpoint_every = 4, "checkpoint every 4");
	BAD((s.inner_steps = 100000, s.checkpoint_every = 1), "H / c");
	BAD((s.model.nhidden = 2, s.model.hidden[0] = 15000,
	     s.model.hidden[1] = 15000, s.batch = 65536, s.micro = 1,
	     s.inner_steps = 1000000, s.checkpoint_every = 1000),
	    "overflows 64 bits");
#undef BAD
}

/* ---- running ---------------------------------------------------------- */

struct trace_out {
	uint8_t roots[4 * HB];
	float losses[6];
	uint8_t steps[6 * CAIRN_STEP_RECORD_BYTES];
	uint8_t trace_root[HB], final_root[HB], steps_root[HB];
	/* the state at t = 2, captured by the callback, for replay: from
	 * the model, or with background commits from the committer's
	 * snapshot (cm, borrowed; n floats each) */
	float *p2, *m2, *v2;
	uint8_t root2[HB];
	cairn_committer *cm;
	int64_t n;
	int calls;
	/* every call: its step, its root, and whether it had the model */
	uint64_t call_step[4];
	uint8_t call_root[4][HB];
	int call_model[4];
};

static int capture(void *ud, const struct cairn_state *st,
		   const uint8_t root[HB], cairn_model *m)
{
	struct trace_out *o = ud;
	int64_t n;
	uint8_t r[HB];
	if (o->calls >= 4)
		return CAIRN_ERANGE;
	/* root is the state's root, already in the trace */
	if (cairn_state_root(st, r) || memcmp(r, root, HB))
		return CAIRN_EINVAL;
	o->call_step[o->calls] = st->step;
	memcpy(o->call_root[o->calls], root, HB);
	o->call_model[o->calls] = m != NULL;
	o->calls++;
	if (st->step != 2)
		return 0;
	n = o->n;
	o->p2 = malloc((size_t)n * 4);
	o->m2 = malloc((size_t)n * 4);
	o->v2 = malloc((size_t)n * 4);
	if (!o->p2 || !o->m2 || !o->v2)
		return CAIRN_ENOMEM;
	memcpy(o->root2, root, HB);
	/* without the model (background commits): the committer's
	 * snapshot, what a bundle keeps */
	if (m ? cairn_model_read(m, CAIRN_MODEL_PARAMS, o->p2) ||
	            cairn_model_read(m, CAIRN_MODEL_M, o->m2) ||
	            cairn_model_read(m, CAIRN_MODEL_V, o->v2)
	      : cairn_committer_read(o->cm, CAIRN_MODEL_PARAMS, o->p2) ||
	            cairn_committer_read(o->cm, CAIRN_MODEL_M, o->m2) ||
	            cairn_committer_read(o->cm, CAIRN_MODEL_V, o->v2))
		return CAIRN_EIO;
	/* the tensors are those the state's roots were computed from */
	if (cairn_tensor_root(o->p2, (size_t)n * 4, r) ||
	    memcmp(r, st->params, HB) ||
	    cairn_tensor_root(o->m2, (size_t)n * 4, r) ||
	    memcmp(r, st->m, HB) ||
	    cairn_tensor_root(o->v2, (size_t)n * 4, r) || memcmp(r, st->v, HB))
		return CAIRN_EMISMATCH;
	return 0;
}

/* Runs the fixture's task on c's backend, shared with c2's when c2 is
 * not NULL (a model on two devices: cairn_model_create_multi); with mode
 * bit 0 (background), through a committer (task.h), twice in a row (a
 * committer serves one task after another), the second time as cairn
 * train runs it: returning with the last state still hashing
 * (defer_end), another task run meanwhile on a second committer, then
 * cairn_task_finish; with bit 1, the training set
 * on the backend (cairn_model_attach_data: each step's batch gathered
 * there); with bit 2, held there under another dataset root (so the task
 * gathers on the host). */
static void run_on(struct fixture *f, struct cairn_test_config *c,
                   cairn_backend *c2, int mode, struct trace_out *o)
{
	const int background = mode & 1;
	cairn_model *m = NULL;
	cairn_committer *cm = NULL;
	struct cairn_task_trace tr;
	char err[256];
	int rc;

	memset(o, 0, sizeof *o);
	memset(&tr, 0, sizeof tr);
	tr.state_roots = o->roots;
	tr.losses = o->losses;
	tr.steps = o->steps;
	{
		cairn_backend *bes[2] = {c->be, c2};
		assert_int_equal(cairn_model_create_multi(bes, c2 ? 2 : 1,
							  &f->spec.model, 8, 2,
							  &m),
				 0);
	}
	if (mode & 2) {
		assert_int_equal(cairn_model_attach_data(m, &f->ds, f->ds_root),
		                 0);
		assert_true(cairn_model_has_data(m, &f->ds, f->ds_root));
	}
	if (mode & 4) { /* held under another root: not used */
		uint8_t other[HB];
		memset(other, 0xab, sizeof other);
		assert_int_equal(cairn_model_attach_data(m, &f->ds, other), 0);
		assert_false(cairn_model_has_data(m, &f->ds, f->ds_root));
	}
	if (background) {
		assert_int_equal(cairn_committer_open(
				     c->be, cairn_model_param_count(m), &cm),
				 0);
		tr.committer = cm;
	}
	o->cm = cm;
	o->n = cairn_model_param_count(m);
	for (int rep = 0; rep < (background ? 2 : 1); rep++) {
		o->calls = 0;
		free(o->p2);
		free(o->m2);
		free(o->v2);
		o->p2 = o->m2 = o->v2 = NULL;
		tr.defer_end = rep == 1;
		rc = cairn_task_run(m, &f->spec, &f->ds, f->ds_root, f->w0,
				    &tr, capture, o, err, sizeof err);
		if (rc)
			fail_msg("%s: %s", c->name, err);
		if (!tr.defer_end)
			continue;
		assert_int_equal(tr.pending, 1);
		assert_int_equal(o->calls, 3);
		{ /* the next task, on another committer, meanwhile */
			struct cairn_task_trace t2;
			uint8_t r2[4 * HB], s2[6 * CAIRN_STEP_RECORD_BYTES];
			float l2[6];
			cairn_committer *cm2 = NULL;
			memset(&t2, 0, sizeof t2);
			t2.state_roots = r2;
			t2.losses = l2;
			t2.steps = s2;
			assert_int_equal(cairn_committer_open(c->be, o->n, &cm2),
			                 0);
			t2.committer = cm2;
			rc = cairn_task_run(m, &f->spec, &f->ds, f->ds_root,
			                    f->w0, &t2, NULL, NULL, err,
			                    sizeof err);
			if (rc)
				fail_msg("%s, second task: %s", c->name, err);
			cairn_committer_close(cm2);
			assert_memory_equal(r2, o->roots, sizeof r2);
		}
		rc = cairn_task_finish(&tr, &f->spec, capture, o, err,
		                       sizeof err);
		if (rc)
			fail_msg("%s, finish: %s", c->name, err);
	}
	cairn_committer_close(cm);
	o->cm = NULL;
	assert_int_equal(o->calls, 4);
	/* Each checkpoint's callback once, in order, with its root from the
	 * trace; the model only where the commit was not in the background
	 * (t = 0 too is hashed there). */
	for (int k = 0; k < 4; k++) {
		assert_int_equal(o->call_step[k], 2 * k);
		assert_memory_equal(o->call_root[k], o->roots + k * HB, HB);
		assert_int_equal(o->call_model[k], !background);
	}
	/* the commitment time is the sum of its parts (the digests counted
	 * except on a GPU, where they overlap the step) */
	{
		double sum = tr.commit.t0_seconds + tr.commit.records_seconds +
		             tr.commit.checkpoint_seconds +
		             tr.commit.end_seconds;
		if (cairn_backend_get_kind(c->be) != CAIRN_BACKEND_CUDA)
			sum += tr.commit.digest_seconds;
		assert_true(tr.commit.t0_seconds > 0.0);
		assert_true(tr.commit.checkpoint_seconds > 0.0);
		assert_true(tr.commit.digest_seconds > 0.0);
		assert_true(fabs(tr.hash_seconds - sum) <= 1e-9 * (1.0 + sum));
		assert_true(background ? tr.commit.end_seconds > 0.0
		                       : tr.commit.end_seconds == 0.0);
	}
	memcpy(o->trace_root, tr.trace_root, HB);
	memcpy(o->final_root, tr.final_params_root, HB);
	memcpy(o->steps_root, tr.steps_root, HB);

	/* The trace root is the tree over the state roots; the last state's
	 * parameters are the final ones. */
	{
		uint8_t t[HB];
		assert_int_equal(cairn_trace_root(o->roots, 4, t), 0);
		assert_memory_equal(t, o->trace_root, HB);
		/* The step log: 3 segments of 2 steps; each record holds its
		 * step's loss bits. */
		assert_int_equal(cairn_step_log_root(o->steps, 3, 2, t), 0);
		assert_memory_equal(t, o->steps_root, HB);
		for (int k = 0; k < 6; k++)
			assert_memory_equal(o->steps +
						k * CAIRN_STEP_RECORD_BYTES + HB,
					    &o->losses[k], 4);
	}
	/* Replay steps 3..4 from the state at t = 2: the state root at t = 4
	 * is the one the trace committed. */
	if (o->p2) {
		struct cairn_state end;
		uint8_t root[HB], rec[2 * CAIRN_STEP_RECORD_BYTES];
		assert_int_equal(cairn_model_write(m, CAIRN_MODEL_PARAMS, o->p2),
				 0);
		assert_int_equal(cairn_model_write(m, CAIRN_MODEL_M, o->m2), 0);
		assert_int_equal(cairn_model_write(m, CAIRN_MODEL_V, o->v2), 0);
		rc = cairn_task_replay(m, &f->spec, &f->ds, 2, 4, &end, rec,
				       err, sizeof err);
		if (rc)
			fail_msg("%s replay: %s", c->name, err);
		assert_int_equal(end.step, 4);
		assert_int_equal(cairn_state_root(&end, root), 0);
		assert_memory_equal(root, o->roots + 2 * HB, HB);
		assert_memory_equal(rec, o->steps + 2 * CAIRN_STEP_RECORD_BYTES,
				    sizeof rec);
		/* A replay one step short does not reach it. */
		assert_int_equal(cairn_model_write(m, CAIRN_MODEL_PARAMS, o->p2),
				 0);
		assert_int_equal(cairn_model_write(m, CAIRN_MODEL_M, o->m2), 0);
		assert_int_equal(cairn_model_write(m, CAIRN_MODEL_V, o->v2), 0);
		assert_int_equal(cairn_task_replay(m, &f->spec, &f->ds, 2, 3,
						   &end, NULL, err, sizeof err),
				 0);
		assert_int_equal(cairn_state_root(&end, root), 0);
		assert_memory_not_equal(root, o->roots + 2 * HB, HB);
		/* The model now holds the state at t = 3: a replay from an
		 * odd step (t0 = 3) reaches t = 4 with step 4's record. */
		rc = cairn_task_replay(m, &f->spec, &f->ds, 3, 4, &end, rec,
				       err, sizeof err);
		if (rc)
			fail_msg("%s replay from t = 3: %s", c->name, err);
		assert_int_equal(cairn_state_root(&end, root), 0);
		assert_memory_equal(root, o->roots + 2 * HB, HB);
		assert_memory_equal(rec, o->steps + 3 * CAIRN_STEP_RECORD_BYTES,
				    CAIRN_STEP_RECORD_BYTES);
	}
	free(o->p2);
	free(o->m2);
	free(o->v2);
	o->p2 = o->m2 = o->v2 = NULL;
	cairn_model_free(m);
}

static void test_run_same_everywhere(void **state)
{
	struct fixture *f = *state;
	static const struct {
		cairn_backend_kind kind;
		int threads;
		const char *isa;
		int devices; /* 2: the step shared by two backends */
		int background; /* through a committer; | 2: the training
		                 * set on the backend; | 4: there under
		                 * another root */
	} cfg[] = {
	    {CAIRN_BACKEND_REF, 0, NULL, 1, 0},
	    {CAIRN_BACKEND_CPU, 1, NULL, 1, 0},
	    {CAIRN_BACKEND_CPU, 2, NULL, 1, 0},
	    {CAIRN_BACKEND_CPU, 3, "portable", 1, 0},
	    {CAIRN_BACKEND_CPU, 2, NULL, 1, 0}, /* a repeat */
	    {CAIRN_BACKEND_CPU, 1, "portable", 2, 0},
	    {CAIRN_BACKEND_CPU, 2, NULL, 1, 1},
	    {CAIRN_BACKEND_REF, 0, NULL, 1, 1},
	    {CAIRN_BACKEND_REF, 0, NULL, 1, 2},
	    {CAIRN_BACKEND_CPU, 2, NULL, 1, 2},
	    {CAIRN_BACKEND_CPU, 1, "portable", 1, 3},
	    {CAIRN_BACKEND_CPU, 2, NULL, 1, 4},
	    /* with --backend cuda only (ref first, as the reference) */
	    {CAIRN_BACKEND_CUDA, 0, NULL, 1, 0},
	    {CAIRN_BACKEND_CUDA, 0, NULL, 1, 1},
	    {CAIRN_BACKEND_CUDA, 0, NULL, 1, 2},
	    {CAIRN_BACKEND_CUDA, 0, NULL, 1, 3},
	    /* the cuda backend's kernels run on the host (tests/emu) */
	    {CAIRN_BACKEND_COUNT, 0, NULL, 1, 0},
	    {CAIRN_BACKEND_COUNT, 0, NULL, 1, 2},
	    /* ... with background commits: the emulation runs each queue as
	     * late as it may, so a missing wait between the committer and
	     * the model shows as other roots */
	    {CAIRN_BACKEND_COUNT, 0, NULL, 1, 1},
	    {CAIRN_BACKEND_COUNT, 0, NULL, 1, 3},
	};
	struct trace_out want, got;
	int have = 0;

	for (size_t i = 0; i < sizeof cfg / sizeof cfg[0]; i++) {
		struct cairn_test_config c;
		int rc;
		if (cfg[i].kind == CAIRN_BACKEND_COUNT) {
#ifdef CAIRN_TEST_EMU
			if (g_cuda)
				continue;
			assert_int_equal(cairn_test_emu_config_open(&c), 0);
#else
			continue;
#endif
		} else {
			if ((cfg[i].kind == CAIRN_BACKEND_CUDA) != !!g_cuda &&
			    cfg[i].kind != CAIRN_BACKEND_REF)
				continue;
			rc = cairn_test_config_open(&c, cfg[i].kind,
						    cfg[i].threads, cfg[i].isa);
			/* With --backend cuda, main's probe found a usable
			 * GPU: it must open (else the test would pass on ref
			 * alone). */
			if (cfg[i].kind == CAIRN_BACKEND_CUDA)
				assert_int_equal(rc, 0);
			if (cfg[i].isa && rc == CAIRN_ENOTSUP)
				continue; /* an ISA this CPU lacks */
			assert_int_equal(rc, 0);
		}
		if (cfg[i].devices == 2) {
			struct cairn_test_config c2;
			assert_int_equal(cairn_test_config_open(&c2, cfg[i].kind,
								2, NULL),
					 0);
			run_on(f, &c, c2.be, 0, have ? &got : &want);
			cairn_backend_close(c2.be);
			strncat(c.name, " + 2nd device",
				sizeof c.name - strlen(c.name) - 1);
		} else if (cfg[i].background) {
			/* first, so that it survives the name's length */
			char full[sizeof c.name + 64];
			snprintf(full, sizeof full, "%s%s%s",
			         cfg[i].background & 1 ? "background commits, "
			                               : "",
			         cfg[i].background & 2 ? "data on the backend, "
			         : cfg[i].background & 4
			             ? "data on the backend, another root, "
			             : "",
			         c.name);
			memcpy(c.name, full, sizeof c.name - 1);
			c.name[sizeof c.name - 1] = '\0';
			run_on(f, &c, NULL, cfg[i].background,
			       have ? &got : &want);
		} else {
			run_on(f, &c, NULL, 0, have ? &got : &want);
		}
		if (have) {
			if (memcmp(got.trace_root, want.trace_root, HB) ||
			    memcmp(got.roots, want.roots, sizeof got.roots) ||
			    memcmp(got.losses, want.losses, sizeof got.losses) ||
			    memcmp(got.steps, want.steps, sizeof got.steps) ||
			    memcmp(got.steps_root, want.steps_root, HB) ||
			    memcmp(got.final_root, want.final_root, HB))
				fail_msg("%s: trace differs from ref", c.name);
		}
		have = 1;
		printf("  %s: trace ok\n", c.name);
		cairn_backend_close(c.be);
	}
	/* The trace moved: the loss changes and the state roots differ. */
	assert_memory_not_equal(want.roots, want.roots + HB, HB);
	assert_true(want.losses[0] != want.losses[5]);
}

/* Counts the callback's calls; fails the one at t = fail_at (none: -1). */
struct cb_count {
	int calls;
	int64_t fail_at;
};

static int count_calls(void *ud, const struct cairn_state *st,
		       const uint8_t root[HB], cairn_model *m)
{
	struct cb_count *c = ud;
	(void)root;
	(void)m;
	c->calls++;
	return (int64_t)st->step == c->fail_at ? CAIRN_EIO : 0;
}

/* A background committer: refused up front for another model; after a
 * failed run (a callback error at a background collect) the same
 * committer serves the next run, whose trace is the synchronous one. */
static void test_committer_errors(void **state)
{
	struct fixture *f = *state;
	cairn_backend *be = NULL;
	cairn_model *m = NULL;
	cairn_committer *cm = NULL;
	uint8_t roots[4 * HB], want[4 * HB], steps[6 * CAIRN_STEP_RECORD_BYTES];
	float losses[6];
	struct cairn_task_trace tr = {.state_roots = roots,
				      .losses = losses,
				      .steps = steps};
	struct cb_count cc = {0, -1};
	char err[256] = "";

	assert_int_equal(cairn_backend_open(CAIRN_BACKEND_CPU, NULL, &be), 0);
	assert_int_equal(cairn_model_create(be, &f->spec.model, 8, 2, &m), 0);
	/* the synchronous trace */
	assert_int_equal(cairn_task_run(m, &f->spec, &f->ds, f->ds_root,
					f->w0, &tr, NULL, NULL, err,
					sizeof err),
			 0);
	memcpy(want, roots, sizeof want);

	/* opened for another parameter count: refused before any step */
	assert_int_equal(cairn_committer_open(be, f->nparams + 1, &cm), 0);
	tr.committer = cm;
	assert_int_equal(cairn_task_run(m, &f->spec, &f->ds, f->ds_root,
					f->w0, &tr, count_calls, &cc, err,
					sizeof err),
			 CAIRN_EINVAL);
	assert_non_null(strstr(err, "committer"));
	assert_int_equal(cc.calls, 0);
	cairn_committer_close(cm);
	assert_int_equal(cairn_committer_open(NULL, f->nparams, &cm),
			 CAIRN_EINVAL);
	assert_int_equal(cairn_committer_open(be, 0, &cm), CAIRN_EINVAL);

	/* the callback fails for t = 2 (called when the checkpoint at t = 4
	 * collects t = 2's roots, before t = 4's snapshot); then the same
	 * committer runs the task again */
	assert_int_equal(cairn_committer_open(be, f->nparams, &cm), 0);
	tr.committer = cm;
	cc.fail_at = 2;
	assert_int_equal(cairn_task_run(m, &f->spec, &f->ds, f->ds_root,
					f->w0, &tr, count_calls, &cc, err,
					sizeof err),
			 CAIRN_EIO);
	assert_non_null(strstr(err, "checkpoint"));
	cc.calls = 0;
	cc.fail_at = -1;
	memset(roots, 0, sizeof roots);
	assert_int_equal(cairn_task_run(m, &f->spec, &f->ds, f->ds_root,
					f->w0, &tr, count_calls, &cc, err,
					sizeof err),
			 0);
	assert_int_equal(cc.calls, 4);
	assert_memory_equal(roots, want, sizeof want);

	/* cairn_committer_read: the state last collected (the run's final
	 * state, the model's now), only between a collect and the next
	 * start, and only its three tensors */
	{
		float *got = cairn_test_xmalloc((size_t)f->nparams * 4);
		float *ref = cairn_test_xmalloc((size_t)f->nparams * 4);
		static const cairn_model_buf bufs[3] = {
		    CAIRN_MODEL_PARAMS, CAIRN_MODEL_M, CAIRN_MODEL_V};
		uint8_t samples[HB] = {0};
		struct cairn_state st;
		int had = 0;
		for (int i = 0; i < 3; i++) {
			assert_int_equal(cairn_committer_read(cm, bufs[i], got),
			                 0);
			assert_int_equal(cairn_model_read(m, bufs[i], ref), 0);
			assert_memory_equal(got, ref, (size_t)f->nparams * 4);
		}
		assert_int_equal(cairn_committer_read(cm, CAIRN_MODEL_GRADS,
		                                      got),
		                 CAIRN_EINVAL);
		assert_int_equal(cairn_committer_read(cm, CAIRN_MODEL_PARAMS,
		                                      NULL),
		                 CAIRN_EINVAL);
		assert_int_equal(cairn_committer_read(NULL, CAIRN_MODEL_PARAMS,
		                                      got),
		                 CAIRN_EINVAL);
		assert_int_equal(cairn_committer_start(cm, m, 9, samples, 0), 0);
		assert_int_equal(cairn_committer_read(cm, CAIRN_MODEL_PARAMS,
		                                      got),
		                 CAIRN_EINVAL); /* being overwritten */
		assert_int_equal(cairn_committer_collect(cm, &st, &had), 0);
		assert_int_equal(had, 1);
		assert_int_equal(st.step, 9);
		assert_int_equal(cairn_committer_read(cm, CAIRN_MODEL_V, got),
		                 0);
		assert_int_equal(cairn_model_read(m, CAIRN_MODEL_V, ref), 0);
		assert_memory_equal(got, ref, (size_t)f->nparams * 4);
		/* a bundle does not take the snapshot for another state:
		 * t = 0 is due, the snapshot is of t = 9 */
		{
			struct cairn_bundle b;
			struct cairn_bundle_bg bg = {&b, cm};
			struct cairn_state s0 = st;
			uint8_t r0[HB] = {0};
			assert_int_equal(cairn_bundle_begin(&b, &f->spec), 0);
			s0.step = 0;
			assert_int_equal(
			    cairn_bundle_checkpoint_bg(&bg, &s0, r0, NULL),
			    CAIRN_EINVAL);
			assert_int_equal(b.ncheckpoints, 0);
			cairn_bundle_free(&b);
		}
		free(got);
		free(ref);
	}
	cairn_committer_close(cm);
	cairn_model_free(m);
	cairn_backend_close(be);
}

/* defer_end: the run returns with the state at t = H still hashing and
 * cairn_task_finish completes the trace, the same bytes as a synchronous
 * run; meanwhile the committer and the trace refuse another run, and a
 * second committer runs the next task (as cairn train alternates two). */
static void test_deferred_end(void **state)
{
	struct fixture *f = *state;
	cairn_backend *be = NULL;
	cairn_model *m = NULL;
	cairn_committer *cm[2] = {NULL, NULL};
	uint8_t roots[3][4 * HB], steps[3][6 * CAIRN_STEP_RECORD_BYTES];
	float losses[3][6];
	struct cairn_task_trace tr[3];
	struct cb_count cc[3];
	char err[256] = "";

	for (int i = 0; i < 3; i++) {
		memset(&tr[i], 0, sizeof tr[i]);
		tr[i].state_roots = roots[i];
		tr[i].losses = losses[i];
		tr[i].steps = steps[i];
		cc[i].calls = 0;
		cc[i].fail_at = -1;
	}
	assert_int_equal(cairn_backend_open(CAIRN_BACKEND_CPU, NULL, &be), 0);
	assert_int_equal(cairn_model_create(be, &f->spec.model, 8, 2, &m), 0);
	/* tr[2]: the synchronous trace */
	assert_int_equal(cairn_task_run(m, &f->spec, &f->ds, f->ds_root,
					f->w0, &tr[2], count_calls, &cc[2],
					err, sizeof err),
			 0);
	assert_int_equal(cc[2].calls, 4);
	assert_int_equal(tr[2].pending, 0);
	/* defer_end without a committer changes nothing */
	tr[2].defer_end = 1;
	assert_int_equal(cairn_task_run(m, &f->spec, &f->ds, f->ds_root,
					f->w0, &tr[2], NULL, NULL, err,
					sizeof err),
			 0);
	assert_int_equal(tr[2].pending, 0);
	assert_int_equal(cairn_task_finish(&tr[2], &f->spec, NULL, NULL, err,
					   sizeof err),
			 CAIRN_EINVAL);

	for (int i = 0; i < 2; i++) {
		assert_int_equal(cairn_committer_open(be, f->nparams, &cm[i]),
				 0);
		tr[i].committer = cm[i];
		tr[i].defer_end = 1;
	}
	assert_int_equal(cairn_task_run(m, &f->spec, &f->ds, f->ds_root,
					f->w0, &tr[0], count_calls, &cc[0],
					err, sizeof err),
			 0);
	assert_int_equal(tr[0].pending, 1);
	assert_int_equal(cc[0].calls, 3); /* t = 0, 2, 4; t = 6 pending */
	/* neither the trace nor its committer runs another task; the
	 * refusal keeps the trace's timings */
	{
		double t0s = tr[0].commit.t0_seconds;
		double hs = tr[0].hash_seconds;
		assert_true(t0s > 0.0 && hs >= t0s);
		assert_int_equal(cairn_task_run(m, &f->spec, &f->ds,
						f->ds_root, f->w0, &tr[0],
						NULL, NULL, err, sizeof err),
				 CAIRN_EINVAL);
		assert_non_null(strstr(err, "cairn_task_finish"));
		assert_true(tr[0].commit.t0_seconds == t0s);
		assert_true(tr[0].hash_seconds == hs);
	}
	tr[1].committer = cm[0];
	assert_int_equal(cairn_task_run(m, &f->spec, &f->ds, f->ds_root,
					f->w0, &tr[1], NULL, NULL, err,
					sizeof err),
			 CAIRN_EINVAL);
	assert_non_null(strstr(err, "still hashes"));
	assert_int_equal(tr[1].pending, 0);
	/* the next task on the other committer, then the first finished */
	tr[1].committer = cm[1];
	assert_int_equal(cairn_task_run(m, &f->spec, &f->ds, f->ds_root,
					f->w0, &tr[1], count_calls, &cc[1],
					err, sizeof err),
			 0);
	assert_int_equal(tr[1].pending, 1);
	for (int i = 0; i < 2; i++) {
		if (cairn_task_finish(&tr[i], &f->spec, count_calls, &cc[i],
				      err, sizeof err))
			fail_msg("finish %d: %s", i, err);
		assert_int_equal(tr[i].pending, 0);
		assert_int_equal(cc[i].calls, 4);
		assert_memory_equal(roots[i], roots[2], sizeof roots[2]);
		assert_memory_equal(steps[i], steps[2], sizeof steps[2]);
		assert_memory_equal(tr[i].trace_root, tr[2].trace_root, HB);
		assert_memory_equal(tr[i].steps_root, tr[2].steps_root, HB);
		assert_memory_equal(tr[i].final_params_root,
				    tr[2].final_params_root, HB);
		assert_int_equal(cairn_task_finish(&tr[i], &f->spec, NULL,
						   NULL, err, sizeof err),
				 CAIRN_EINVAL);
	}
	/* a callback failing at the finish: an error, the committer free */
	cc[0].calls = 0;
	cc[0].fail_at = 6;
	assert_int_equal(cairn_task_run(m, &f->spec, &f->ds, f->ds_root,
					f->w0, &tr[0], count_calls, &cc[0],
					err, sizeof err),
			 0);
	assert_int_equal(cairn_task_finish(&tr[0], &f->spec, count_calls,
					   &cc[0], err, sizeof err),
			 CAIRN_EIO);
	assert_non_null(strstr(err, "t = 6"));
	assert_int_equal(tr[0].pending, 0);
	cc[0].fail_at = -1;
	assert_int_equal(cairn_task_run(m, &f->spec, &f->ds, f->ds_root,
					f->w0, &tr[0], NULL, NULL, err,
					sizeof err),
			 0);
	assert_int_equal(cairn_task_finish(&tr[0], &f->spec, NULL, NULL, err,
					   sizeof err),
			 0);
	assert_memory_equal(tr[0].trace_root, tr[2].trace_root, HB);
	cairn_committer_close(cm[0]);
	cairn_committer_close(cm[1]);
	cairn_model_free(m);
	cairn_backend_close(be);
}

static void test_run_refuses(void **state)
{
	struct fixture *f = *state;
	cairn_backend *be = NULL;
	cairn_model *m = NULL;
	struct cairn_task_spec s = f->spec;
	uint8_t roots[4 * HB], other[HB];
	float losses[6];
	uint8_t steps[6 * CAIRN_STEP_RECORD_BYTES];
	struct cairn_task_trace tr = {.state_roots = roots,
				      .losses = losses,
				      .steps = steps};
	char err[256];

	assert_int_equal(cairn_backend_open(CAIRN_BACKEND_CPU, NULL, &be), 0);
	assert_int_equal(cairn_model_create(be, &s.model, 8, 2, &m), 0);

	/* Local data whose root is not the spec's. */
	memcpy(other, f->ds_root, HB);
	other[5] ^= 1;
	assert_int_equal(cairn_task_run(m, &s, &f->ds, other, f->w0, &tr, NULL,
					NULL, err, sizeof err),
			 CAIRN_EMISMATCH);
	assert_non_null(strstr(err, "dataset's root"));

	/* W_r that is not the spec's: refused before the callback keeps
	 * anything, also with a committer (at t = c, when the roots of
	 * t = 0 are collected), which then serves the next run. */
	f->w0[7] = nextafterf(f->w0[7], 1.0f);
	for (int bg = 0; bg < 2; bg++) {
		struct cb_count cc = {0, -1};
		cairn_committer *cm = NULL;
		if (bg)
			assert_int_equal(cairn_committer_open(
			                     be, f->nparams, &cm),
			                 0);
		tr.committer = cm;
		assert_int_equal(cairn_task_run(m, &s, &f->ds, f->ds_root,
		                                f->w0, &tr, count_calls, &cc,
		                                err, sizeof err),
		                 CAIRN_EMISMATCH);
		assert_non_null(strstr(err, "W_r"));
		assert_int_equal(cc.calls, 0);
		if (bg) {
			f->w0[7] = nextafterf(f->w0[7], -1.0f);
			assert_int_equal(cairn_task_run(m, &s, &f->ds,
			                                f->ds_root, f->w0, &tr,
			                                count_calls, &cc, err,
			                                sizeof err),
			                 0);
			assert_int_equal(cc.calls, 4);
			f->w0[7] = nextafterf(f->w0[7], 1.0f);
		}
		cairn_committer_close(cm);
		tr.committer = NULL;
	}
	f->w0[7] = nextafterf(f->w0[7], -1.0f);

	/* A dataset of another size than the spec names. */
	{
		cairn_dataset small = f->ds;
		small.count = 100;
		assert_int_equal(cairn_task_run(m, &s, &small, f->ds_root,
						f->w0, &tr, NULL, NULL, err,
						sizeof err),
				 CAIRN_EMISMATCH);
		assert_non_null(strstr(err, "100 samples"));
	}
	/* A model too small for the spec's batch. */
	s.batch = 16;
	s.micro = 2;
	assert_int_equal(cairn_task_run(m, &s, &f->ds, f->ds_root, f->w0, &tr,
					NULL, NULL, err, sizeof err),
			 CAIRN_EINVAL);
	assert_non_null(strstr(err, "16"));
	/* Replay outside the task. */
	s = f->spec;
	{
		struct cairn_state end;
		assert_int_equal(cairn_task_replay(m, &s, &f->ds, 4, 7, &end,
						   NULL, err, sizeof err),
				 CAIRN_EINVAL);
		assert_int_equal(cairn_task_replay(m, &s, &f->ds, 3, 3, &end,
						   NULL, err, sizeof err),
				 CAIRN_EINVAL);
	}
	cairn_model_free(m);
	cairn_backend_close(be);
}

/* ---- results ------------------------------------------------------------ */

static void test_result_sign(void **state)
{
	struct fixture *f = *state;
	struct cairn_identity id, other;
	struct cairn_task_result r, d;
	uint8_t enc[CAIRN_TASK_RESULT_BYTES], sig[CAIRN_SIGNATURE_BYTES];
	char err[256];

	assert_int_equal(cairn_identity_generate(&id), 0);
	assert_int_equal(cairn_identity_generate(&other), 0);
	memset(&r, 0, sizeof r);
	assert_int_equal(cairn_task_id(&f->spec, r.task_id), 0);
	memcpy(r.worker_key, id.public_key, CAIRN_PUBLIC_KEY_BYTES);
	for (int i = 0; i < HB; i++) {
		r.trace_root[i] = (uint8_t)rnd();
		r.final_params_root[i] = (uint8_t)rnd();
		r.steps_root[i] = (uint8_t)rnd();
	}
	r.flops = cairn_task_flops(&f->spec);
	strcpy(r.device_class, "cpu");

	assert_int_equal(cairn_task_result_encode(&r, enc), 0);
	assert_int_equal(cairn_task_result_decode(enc, sizeof enc, &d, err,
						  sizeof err),
			 0);
	assert_memory_equal(&d, &r, sizeof r);
	assert_int_equal(cairn_task_result_decode(enc, sizeof enc + 1, &d, err,
						  sizeof err),
			 CAIRN_EFORMAT);
	enc[168] = 'C'; /* device class must be lower case */
	assert_int_equal(cairn_task_result_decode(enc, sizeof enc, &d, err,
						  sizeof err),
			 CAIRN_EFORMAT);

	assert_int_equal(cairn_task_result_sign(&id, &r, sig), 0);
	assert_int_equal(cairn_task_result_verify(&r, sig), 0);
	/* Another key cannot sign for this worker key ... */
	assert_int_equal(cairn_task_result_sign(&other, &r, sig), CAIRN_EINVAL);
	/* ... and every field is covered. */
	assert_int_equal(cairn_task_result_sign(&id, &r, sig), 0);
	d = r;
	d.flops++;
	assert_int_equal(cairn_task_result_verify(&d, sig), CAIRN_ECRYPTO);
	d = r;
	d.trace_root[31] ^= 0x80;
	assert_int_equal(cairn_task_result_verify(&d, sig), CAIRN_ECRYPTO);
	d = r;
	d.steps_root[0] ^= 1;
	assert_int_equal(cairn_task_result_verify(&d, sig), CAIRN_ECRYPTO);
	d = r;
	strcpy(d.device_class, "cuda");
	assert_int_equal(cairn_task_result_verify(&d, sig), CAIRN_ECRYPTO);
	d = r;
	memcpy(d.worker_key, other.public_key, CAIRN_PUBLIC_KEY_BYTES);
	assert_int_equal(cairn_task_result_verify(&d, sig), CAIRN_ECRYPTO);
	sig[0] ^= 1;
	assert_int_equal(cairn_task_result_verify(&r, sig), CAIRN_ECRYPTO);
	cairn_identity_wipe(&id);
	cairn_identity_wipe(&other);
}

/* ---- the dataset root ------------------------------------------------- */

static void test_dataset_root(void **state)
{
	struct fixture *f = *state;
	uint8_t rec[4 + 2 * HB], want[HB], got[HB];

	rec[0] = (uint8_t)f->ds.count;
	rec[1] = (uint8_t)(f->ds.count >> 8);
	rec[2] = rec[3] = 0;
	assert_int_equal(cairn_tensor_root(f->images,
					   (size_t)f->ds.count *
					       CAIRN_DATASET_PIXELS,
					   rec + 4),
			 0);
	assert_int_equal(cairn_tensor_root(f->labels, f->ds.count, rec + 36),
			 0);
	assert_int_equal(cairn_hash_domain(CAIRN_DOM_DATASET, rec, sizeof rec,
					   want),
			 0);
	assert_int_equal(cairn_dataset_root(&f->ds, got), 0);
	assert_memory_equal(want, got, HB);
	f->labels[299] ^= 1;
	assert_int_equal(cairn_dataset_root(&f->ds, got), 0);
	assert_memory_not_equal(want, got, HB);
	f->labels[299] ^= 1;
}

/* ---- the outer step ------------------------------------------------------- */

static void test_outer(void **state)
{
	const int64_t n = 1000 + (int64_t)(rnd() % 5000);
	const int K = 3, R = 3;
	float *w = malloc((size_t)n * 4), *u = calloc((size_t)n, 4);
	float *p = malloc((size_t)K * (size_t)n * 4), *got = malloc((size_t)n * 4);
	float *gu = malloc((size_t)n * 4);
	static const cairn_backend_kind kinds[] = {CAIRN_BACKEND_REF,
						   CAIRN_BACKEND_CPU};
	(void)state;
	assert_true(w && u && p && got && gu);
	for (int64_t i = 0; i < n; i++)
		w[i] = (float)((int64_t)(rnd() % 2001) - 1000) * 1e-3f;

	for (size_t kb = 0; kb < 2; kb++) {
		cairn_backend *be = NULL;
		cairn_outer *o = NULL;
		float *dp = NULL;
		float *hw = malloc((size_t)n * 4), *hu = calloc((size_t)n, 4);
		uint64_t save = g_rng;
		assert_true(hw && hu);
		memcpy(hw, w, (size_t)n * 4);
		assert_int_equal(cairn_backend_open(kinds[kb], NULL, &be), 0);
		assert_int_equal(cairn_buf_alloc(be, (size_t)n * 4,
						 (void **)&dp),
				 0);
		assert_int_equal(cairn_outer_create(be, n, CAIRN_OUTER_LR,
						    CAIRN_OUTER_MOMENTUM, w, &o),
				 0);
		/* Out of order is refused; so is a step with no task. */
		assert_int_equal(cairn_outer_step(o), CAIRN_EINVAL);
		assert_int_equal(cairn_outer_add(o, 1, dp), CAIRN_EINVAL);
		for (int r = 0; r < R; r++) {
			for (int k = 0; k < K; k++) {
				float *pk = p + (size_t)k * (size_t)n;
				for (int64_t i = 0; i < n; i++)
					pk[i] = hw[i] +
						(float)((int64_t)(rnd() % 201) -
							100) *
						    1e-4f;
				assert_int_equal(cairn_buf_write(be, dp, pk,
								 (size_t)n * 4),
						 0);
				assert_int_equal(cairn_outer_add(o, (uint32_t)k,
								 dp),
						 0);
			}
			assert_int_equal(cairn_outer_step(o), 0);
			/* The documented formula, on the host. */
			for (int64_t i = 0; i < n; i++) {
				float s = hw[i] - p[i];
				for (int k = 1; k < K; k++)
					s = s + (hw[i] - p[(size_t)k * n + i]);
				float g = s * (1.0f / (float)K);
				float b = fmaf(CAIRN_OUTER_MOMENTUM, hu[i], g);
				float upd = fmaf(CAIRN_OUTER_MOMENTUM, b, g);
				hu[i] = b;
				hw[i] = fmaf(-CAIRN_OUTER_LR, upd, hw[i]);
			}
			assert_int_equal(cairn_outer_read(o, got, gu), 0);
			if (memcmp(got, hw, (size_t)n * 4) ||
			    memcmp(gu, hu, (size_t)n * 4))
				fail_msg("%s round %d: outer step differs from "
					 "its formula",
					 cairn_backend_name(be), r);
		}
		if (kb == 0)
			g_rng = save; /* the same task outputs for cpu */
		cairn_outer_free(o);
		cairn_buf_free(be, dp);
		cairn_backend_close(be);
		free(hw);
		free(hu);
	}
	free(w);
	free(u);
	free(p);
	free(got);
	free(gu);
}

/* ---- docs/commitments.md test vectors ---------------------------------- */

static void hex_is(const uint8_t h[HB], const char *want)
{
	char hex[CAIRN_HASH_HEX_BYTES];
	assert_int_equal(cairn_hash_to_hex(h, hex), 0);
	assert_string_equal(hex, want);
}

/* The vectors of docs/commitments.md section 8 for datasets, task ids and
 * results (its Python program prints the same). */
static void test_doc_vectors(void **state)
{
	uint8_t imgs[3 * 784], labs[3] = {7, 0, 9}, h[HB];
	cairn_dataset ds = {3, imgs, labs};
	struct cairn_task_spec s;
	struct cairn_task_result r;
	uint8_t enc[CAIRN_TASK_RESULT_BYTES];
	(void)state;

	for (size_t i = 0; i < sizeof imgs; i++)
		imgs[i] = (uint8_t)(i % 251);
	assert_int_equal(cairn_dataset_root(&ds, h), 0);
	hex_is(h, "be18addffa16b996d51168280836bd15d03c92ee2109ce3a9b75a269f4fef9fb");

	memset(&s, 0, sizeof s);
	strcpy(s.profile, "exact-v1");
	strcpy(s.job, "fmnist-mlp");
	s.seed = 1;
	s.round = 2;
	s.task = 3;
	s.tasks = 4;
	cairn_mlp_spec_reference(&s.model);
	memset(s.params_root, 0x11, HB);
	s.optimizer = CAIRN_TASK_OPT_ADAMW;
	cairn_adamw_defaults(&s.adamw);
	memset(s.dataset_root, 0x22, HB);
	s.dataset_count = 60000;
	s.batch = 256;
	s.micro = 4;
	s.inner_steps = 500;
	s.checkpoint_every = 25;
	assert_int_equal(cairn_task_id(&s, h), 0);
	hex_is(h, "6284a2fe82f30dcd1de4f660a49de1071c5f7b56cf7a0f3db9442d2736810896");

	memset(&r, 0, sizeof r);
	memcpy(r.task_id, h, HB);
	memset(r.worker_key, 0x33, HB);
	memset(r.trace_root, 0x44, HB);
	memset(r.final_params_root, 0x55, HB);
	memset(r.steps_root, 0x66, HB);
	r.flops = 123456789;
	strcpy(r.device_class, "cpu");
	assert_int_equal(cairn_task_result_encode(&r, enc), 0);
	assert_int_equal(cairn_hash_domain(CAIRN_DOM_RESULT, enc, sizeof enc, h),
			 0);
	hex_is(h, "b4d9c7e787ce09e823599c712ea43178b40b6fed9f9c9f799ff9eb6491c15aa9");
}

int main(int argc, char **argv)
{
	const struct CMUnitTest gpu_tests[] = {
	    cmocka_unit_test(test_run_same_everywhere),
	};
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_spec_roundtrip),
	    cmocka_unit_test(test_spec_every_byte),
	    cmocka_unit_test(test_spec_checks),
	    cmocka_unit_test(test_run_same_everywhere),
	    cmocka_unit_test(test_run_refuses),
	    cmocka_unit_test(test_committer_errors),
	    cmocka_unit_test(test_deferred_end),
	    cmocka_unit_test(test_result_sign),
	    cmocka_unit_test(test_dataset_root),
	    cmocka_unit_test(test_outer),
	    cmocka_unit_test(test_doc_vectors),
	};
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--backend") && i + 1 < argc &&
		    !strcmp(argv[i + 1], "cuda"))
			g_cuda = 1;
	g_rng = cairn_test_seed("test_task");
	if (g_cuda) {
		char why[256];
		if (cairn_cuda_probe(why, sizeof why) <= 0) {
			printf("test_task --backend cuda: skipped: %s\n", why);
			return 77;
		}
		return cmocka_run_group_tests(gpu_tests, setup, teardown);
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
