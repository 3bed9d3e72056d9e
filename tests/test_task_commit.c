/* cairn: background commits and a run's refusals (include/cairn/task.h).
 *
 * - A background committer: refused up front for another model; after a
 *   failed run the same committer serves the next one; what
 *   cairn_committer_read gives, and when.
 * - defer_end: the run returns with its last state still hashing and
 *   cairn_task_finish completes the same trace; meanwhile the trace and
 *   the committer refuse another run, and a second committer runs the next
 *   task.
 * - The tensors that are +0 by definition (m and v at t = 0, SGD's v)
 *   get the zero tensor's root in a run (sync and background) and a
 *   replay, whatever an SGD model's v holds (the committer itself:
 *   test_committer.c).
 * - Background runs with c = 1, c = H and H = 1 (the deferred collect's
 *   edges) give the sync run's roots, their callbacks in order.
 * - Wrong data or wrong W_r are refused (before any step; W_r with a
 *   committer during step c + 1, when the roots of t = 0 are collected);
 *   so are a
 *   dataset of another size, a model too small for the batch and a replay
 *   outside the task.
 *
 * The fixture is task_test_fixture.h's (a synthetic dataset, a 784-16-10
 * model); fresh random inputs each run, seed printed. */
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

#include "task_test_fixture.h"

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
	struct cairn_task_trace tr = {
	    .state_roots = roots, .losses = losses, .steps = steps};
	struct cb_count cc = {0, -1};
	char err[256] = "";

	assert_int_equal(cairn_backend_open(CAIRN_BACKEND_CPU, NULL, &be), 0);
	assert_int_equal(cairn_model_create(be, &f->spec.model, 8, 2, &m), 0);
	/* the synchronous trace */
	assert_int_equal(cairn_task_run(m, &f->spec, &f->ds, f->ds_root, f->w0,
	                                &tr, NULL, NULL, err, sizeof err),
	                 0);
	memcpy(want, roots, sizeof want);

	/* opened for another parameter count: refused before any step */
	assert_int_equal(cairn_committer_open(be, f->nparams + 1, &cm), 0);
	tr.committer = cm;
	assert_int_equal(cairn_task_run(m, &f->spec, &f->ds, f->ds_root, f->w0,
	                                &tr, count_calls, &cc, err, sizeof err),
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
	assert_int_equal(cairn_task_run(m, &f->spec, &f->ds, f->ds_root, f->w0,
	                                &tr, count_calls, &cc, err, sizeof err),
	                 CAIRN_EIO);
	assert_non_null(strstr(err, "checkpoint"));
	cc.calls = 0;
	cc.fail_at = -1;
	memset(roots, 0, sizeof roots);
	assert_int_equal(cairn_task_run(m, &f->spec, &f->ds, f->ds_root, f->w0,
	                                &tr, count_calls, &cc, err, sizeof err),
	                 0);
	assert_int_equal(cc.calls, 4);
	assert_memory_equal(roots, want, sizeof want);

	/* cairn_committer_read: the state last collected (the run's final
	 * state, the model's now), only until a start reuses its slot, and
	 * only its three tensors */
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
		assert_int_equal(
		    cairn_committer_read(cm, CAIRN_MODEL_GRADS, got),
		    CAIRN_EINVAL);
		assert_int_equal(
		    cairn_committer_read(cm, CAIRN_MODEL_PARAMS, NULL),
		    CAIRN_EINVAL);
		assert_int_equal(
		    cairn_committer_read(NULL, CAIRN_MODEL_PARAMS, got),
		    CAIRN_EINVAL);
		/* two slots: the first start after a collect leaves its
		 * snapshot readable, the second reuses it, a third is
		 * refused; collects come oldest first */
		assert_int_equal(
		    cairn_committer_start(cm, m, 0u, 9, samples, 0), 0);
		assert_int_equal(
		    cairn_committer_read(cm, CAIRN_MODEL_PARAMS, got), 0);
		assert_int_equal(cairn_model_read(m, CAIRN_MODEL_PARAMS, ref),
		                 0);
		assert_memory_equal(got, ref, (size_t)f->nparams * 4);
		assert_int_equal(
		    cairn_committer_start(cm, m, 0u, 10, samples, 0), 0);
		assert_int_equal(
		    cairn_committer_read(cm, CAIRN_MODEL_PARAMS, got),
		    CAIRN_EINVAL); /* being overwritten */
		assert_int_equal(
		    cairn_committer_start(cm, m, 0u, 11, samples, 0),
		    CAIRN_EINVAL); /* both slots pending */
		assert_int_equal(cairn_committer_collect(cm, &st, &had), 0);
		assert_int_equal(had, 1);
		assert_int_equal(st.step, 9);
		assert_int_equal(cairn_committer_collect(cm, &st, &had), 0);
		assert_int_equal(had, 1);
		assert_int_equal(st.step, 10);
		{
			struct cairn_state none = st;
			assert_int_equal(
			    cairn_committer_collect(cm, &none, &had), 0);
			assert_int_equal(had, 0);
		}
		assert_int_equal(cairn_committer_read(cm, CAIRN_MODEL_V, got),
		                 0);
		assert_int_equal(cairn_model_read(m, CAIRN_MODEL_V, ref), 0);
		assert_memory_equal(got, ref, (size_t)f->nparams * 4);
		/* a bundle does not take the snapshot for another state:
		 * t = 0 is due, the snapshot is of t = 10 */
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

/* Writes junk into the model's v at each checkpoint's callback (a sync
 * run's: m is the model, and the callback of state t runs after step t,
 * before step t + 1). */
static int scribble_v(void *ud, const struct cairn_state *st,
                      const uint8_t root[HB], cairn_model *m)
{
	cairn_model *model = m ? m : ud;
	const int64_t n = cairn_model_param_count(model);
	float *junk = cairn_test_xmalloc((size_t)n * sizeof(float));
	int rc;

	(void)root;
	for (int64_t k = 0; k < n; k++)
		junk[k] = (float)(k % 7 + 1) / 8.0f + (float)st->step;
	rc = cairn_model_write(model, CAIRN_MODEL_V, junk);
	free(junk);
	return rc;
}

/* The runs and the replay take the zero roots cairn_task_zero_tensors
 * names, whatever the model's buffer holds: SGD's v, scribbled over at
 * every checkpoint of a sync run (SGD never reads it), leaves an SGD
 * task's state roots those of a clean run, and a replay from a state
 * whose v is junk ends on the trace's root.  With AdamW, which reads v,
 * the same scribble changes the roots (so it does land).  In the
 * background the committer hashes only the tensors that are not +0
 * (cairn_committer_tensors_hashed), with the clean run's roots. */
static void test_zero_tensors_in_runs(void **state)
{
	struct fixture *f = *state;
	struct cairn_task_spec sgd = f->spec;
	cairn_backend *be = NULL;
	cairn_model *m = NULL;
	cairn_committer *cm = NULL;
	uint8_t roots[4 * HB], want[4 * HB], steps[6 * CAIRN_STEP_RECORD_BYTES];
	uint8_t root[HB];
	float losses[6];
	struct cairn_task_trace tr = {
	    .state_roots = roots, .losses = losses, .steps = steps};
	struct cairn_state end;
	char err[256] = "";

	cairn_optim_sgd(&sgd.opt, 0.05f);
	sgd.opt.sgd.momentum = 0.9f;
	assert_int_equal(cairn_backend_open(CAIRN_BACKEND_CPU, NULL, &be), 0);
	assert_int_equal(cairn_model_create(be, &f->spec.model, 8, 2, &m), 0);
	assert_int_equal(cairn_committer_open(be, f->nparams, &cm), 0);

	/* AdamW: the scribble changes the state at t = 2 on */
	assert_int_equal(cairn_task_run(m, &f->spec, &f->ds, f->ds_root, f->w0,
	                                &tr, NULL, NULL, err, sizeof err),
	                 0);
	memcpy(want, roots, sizeof want);
	assert_int_equal(cairn_task_run(m, &f->spec, &f->ds, f->ds_root, f->w0,
	                                &tr, scribble_v, NULL, err, sizeof err),
	                 0);
	assert_memory_equal(roots, want, HB);
	assert_memory_not_equal(roots + HB, want + HB, HB);

	/* SGD: the clean run's roots, sync; in the background a callback
	 * runs while the next step is in flight, when the model refuses
	 * writes, so there the committer's count shows what was hashed:
	 * the parameters at t = 0, then the parameters and m at t = 2, 4,
	 * 6 (AdamW: 1 + 3 x 3) */
	assert_int_equal(cairn_task_run(m, &sgd, &f->ds, f->ds_root, f->w0, &tr,
	                                NULL, NULL, err, sizeof err),
	                 0);
	memcpy(want, roots, sizeof want);
	memset(roots, 0, sizeof roots);
	assert_int_equal(cairn_task_run(m, &sgd, &f->ds, f->ds_root, f->w0, &tr,
	                                scribble_v, m, err, sizeof err),
	                 0);
	assert_memory_equal(roots, want, sizeof want);
	tr.committer = cm;
	for (int k = 0; k < 2; k++) {
		const struct cairn_task_spec *s = k ? &sgd : &f->spec;
		int64_t before = cairn_committer_tensors_hashed(cm);
		memset(roots, 0, sizeof roots);
		assert_int_equal(cairn_task_run(m, s, &f->ds, f->ds_root, f->w0,
		                                &tr, NULL, NULL, err,
		                                sizeof err),
		                 0);
		if (k)
			assert_memory_equal(roots, want, sizeof want);
		assert_int_equal(cairn_committer_tensors_hashed(cm) - before,
		                 k ? 7 : 10);
	}
	assert_int_equal(cairn_committer_tensors_hashed(NULL), 0);
	tr.committer = NULL;

	/* the replay of steps 1..2 from t = 0 with v junk: state root 1 */
	assert_int_equal(cairn_model_write(m, CAIRN_MODEL_PARAMS, f->w0), 0);
	assert_int_equal(cairn_model_zero(m, CAIRN_MODEL_M), 0);
	memset(&end, 0, sizeof end);
	assert_int_equal(scribble_v(NULL, &end, root, m), 0);
	assert_int_equal(cairn_task_replay(m, &sgd, &f->ds, 0, 2, &end, NULL,
	                                   err, sizeof err),
	                 0);
	assert_int_equal(cairn_state_root(&end, root), 0);
	assert_memory_equal(root, want + HB, HB);

	cairn_committer_close(cm);
	cairn_model_free(m);
	cairn_backend_close(be);
	(void)state;
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
	assert_int_equal(cairn_task_run(m, &f->spec, &f->ds, f->ds_root, f->w0,
	                                &tr[2], count_calls, &cc[2], err,
	                                sizeof err),
	                 0);
	assert_int_equal(cc[2].calls, 4);
	assert_int_equal(tr[2].pending, 0);
	/* defer_end without a committer changes nothing */
	tr[2].defer_end = 1;
	assert_int_equal(cairn_task_run(m, &f->spec, &f->ds, f->ds_root, f->w0,
	                                &tr[2], NULL, NULL, err, sizeof err),
	                 0);
	assert_int_equal(tr[2].pending, 0);
	assert_int_equal(
	    cairn_task_finish(&tr[2], &f->spec, NULL, NULL, err, sizeof err),
	    CAIRN_EINVAL);

	for (int i = 0; i < 2; i++) {
		assert_int_equal(cairn_committer_open(be, f->nparams, &cm[i]),
		                 0);
		tr[i].committer = cm[i];
		tr[i].defer_end = 1;
	}
	assert_int_equal(cairn_task_run(m, &f->spec, &f->ds, f->ds_root, f->w0,
	                                &tr[0], count_calls, &cc[0], err,
	                                sizeof err),
	                 0);
	assert_int_equal(tr[0].pending, 1);
	assert_int_equal(cc[0].calls, 3); /* t = 0, 2, 4; t = 6 pending */
	/* neither the trace nor its committer runs another task; the
	 * refusal keeps the trace's timings */
	{
		double t0s = tr[0].commit.t0_seconds;
		double hs = tr[0].hash_seconds;
		assert_true(t0s > 0.0 && hs >= t0s);
		assert_int_equal(cairn_task_run(m, &f->spec, &f->ds, f->ds_root,
		                                f->w0, &tr[0], NULL, NULL, err,
		                                sizeof err),
		                 CAIRN_EINVAL);
		assert_non_null(strstr(err, "cairn_task_finish"));
		assert_true(tr[0].commit.t0_seconds == t0s);
		assert_true(tr[0].hash_seconds == hs);
	}
	tr[1].committer = cm[0];
	assert_int_equal(cairn_task_run(m, &f->spec, &f->ds, f->ds_root, f->w0,
	                                &tr[1], NULL, NULL, err, sizeof err),
	                 CAIRN_EINVAL);
	assert_non_null(strstr(err, "still hashes"));
	assert_int_equal(tr[1].pending, 0);
	/* the next task on the other committer, then the first finished */
	tr[1].committer = cm[1];
	assert_int_equal(cairn_task_run(m, &f->spec, &f->ds, f->ds_root, f->w0,
	                                &tr[1], count_calls, &cc[1], err,
	                                sizeof err),
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
		assert_int_equal(cairn_task_finish(&tr[i], &f->spec, NULL, NULL,
		                                   err, sizeof err),
		                 CAIRN_EINVAL);
	}
	/* a callback failing at the finish: an error, the committer free */
	cc[0].calls = 0;
	cc[0].fail_at = 6;
	assert_int_equal(cairn_task_run(m, &f->spec, &f->ds, f->ds_root, f->w0,
	                                &tr[0], count_calls, &cc[0], err,
	                                sizeof err),
	                 0);
	assert_int_equal(cairn_task_finish(&tr[0], &f->spec, count_calls,
	                                   &cc[0], err, sizeof err),
	                 CAIRN_EIO);
	assert_non_null(strstr(err, "t = 6"));
	assert_int_equal(tr[0].pending, 0);
	cc[0].fail_at = -1;
	assert_int_equal(cairn_task_run(m, &f->spec, &f->ds, f->ds_root, f->w0,
	                                &tr[0], NULL, NULL, err, sizeof err),
	                 0);
	assert_int_equal(
	    cairn_task_finish(&tr[0], &f->spec, NULL, NULL, err, sizeof err),
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
	struct cairn_task_trace tr = {
	    .state_roots = roots, .losses = losses, .steps = steps};
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
	 * anything, also with a committer (during step c + 1, when the roots of
	 * t = 0 are collected), which then serves the next run. */
	f->w0[7] = nextafterf(f->w0[7], 1.0f);
	for (int bg = 0; bg < 2; bg++) {
		struct cb_count cc = {0, -1};
		cairn_committer *cm = NULL;
		if (bg)
			assert_int_equal(
			    cairn_committer_open(be, f->nparams, &cm), 0);
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

/* The checkpoint callback's steps, in order (at most 8). */
struct cb_steps {
	int n;
	uint64_t step[8];
};

static int record_steps(void *ud, const struct cairn_state *st,
                        const uint8_t root[HB], cairn_model *m)
{
	struct cb_steps *c = ud;
	(void)root;
	(void)m;
	if (c->n < 8)
		c->step[c->n] = st->step;
	c->n++;
	return 0;
}

/* Background runs at the edges of the deferred collect: c = 1 (each
 * collect during the very next step, the last one during step H), c = H
 * (t = 0 collected at t = H, no step in between) and H = 1: the roots of
 * the sync run, and the callbacks at t = 0, c, ..., H once each, in
 * order; then defer_end and cairn_task_finish give the same. */
static void test_background_edges(void **state)
{
	struct fixture *f = *state;
	static const uint32_t hc[3][2] = {{6, 1}, {6, 6}, {1, 1}};
	cairn_backend *be = NULL;
	cairn_model *m = NULL;
	cairn_committer *cm = NULL;
	char err[256] = "";

	assert_int_equal(cairn_backend_open(CAIRN_BACKEND_CPU, NULL, &be), 0);
	assert_int_equal(cairn_model_create(be, &f->spec.model, 8, 2, &m), 0);
	assert_int_equal(cairn_committer_open(be, f->nparams, &cm), 0);
	for (int e = 0; e < 3; e++) {
		struct cairn_task_spec s = f->spec;
		uint8_t want[7 * HB], roots[7 * HB], wtrace[HB];
		uint8_t steps[6 * CAIRN_STEP_RECORD_BYTES];
		float losses[6];
		struct cairn_task_trace tr = {
		    .state_roots = want, .losses = losses, .steps = steps};
		uint32_t n;

		s.inner_steps = hc[e][0];
		s.checkpoint_every = hc[e][1];
		n = cairn_task_state_count(&s);
		if (cairn_task_run(m, &s, &f->ds, f->ds_root, f->w0, &tr, NULL,
		                   NULL, err, sizeof err))
			fail_msg("H = %u, c = %u, sync: %s", hc[e][0], hc[e][1],
			         err);
		memcpy(wtrace, tr.trace_root, HB);
		tr.state_roots = roots;
		tr.committer = cm;
		for (int defer = 0; defer < 2; defer++) {
			struct cb_steps got = {0, {0}};
			memset(roots, 0, sizeof roots);
			tr.defer_end = defer;
			if (cairn_task_run(m, &s, &f->ds, f->ds_root, f->w0,
			                   &tr, record_steps, &got, err,
			                   sizeof err) ||
			    (defer && cairn_task_finish(&tr, &s, record_steps,
			                                &got, err, sizeof err)))
				fail_msg("H = %u, c = %u, background: %s",
				         hc[e][0], hc[e][1], err);
			assert_memory_equal(roots, want, (size_t)n * HB);
			assert_memory_equal(tr.trace_root, wtrace, HB);
			assert_int_equal(got.n, n);
			for (uint32_t k = 0; k < n; k++)
				assert_int_equal(got.step[k],
				                 (uint64_t)k * hc[e][1]);
		}
	}
	cairn_committer_close(cm);
	cairn_model_free(m);
	cairn_backend_close(be);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_run_refuses),
	    cmocka_unit_test(test_committer_errors),
	    cmocka_unit_test(test_deferred_end),
	    cmocka_unit_test(test_zero_tensors_in_runs),
	    cmocka_unit_test(test_background_edges),
	};
	g_rng = cairn_test_seed("test_task_commit");
	return cmocka_run_group_tests(tests, setup, teardown);
}
