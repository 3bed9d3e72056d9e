/* cairn: a task's trace on every backend, and the outer step
 * (include/cairn/task.h, include/cairn/outer.h).
 *
 * - A task's trace (state roots, losses, trace root, final parameters)
 *   is the same on ref and on the cpu backend with 1, 2 and 3 threads and
 *   both ISAs, across repeated runs, with background commits, and on the
 *   cuda backend's kernels run on the host (tests/emu); with --backend
 *   cuda (label gpu; 77 = skipped without a GPU), the same on the GPU as
 *   on ref, committed both ways.
 * - Re-running a segment from a checkpoint's state (cairn_task_replay, the
 *   auditor's path) ends at the state root the trace committed.
 * - The outer step: equal to a scalar host computation of its documented
 *   formula, bit for bit, on ref and cpu.
 *
 * The committer's errors and a run's refusals are in test_task_commit.c;
 * the spec, results, the dataset root and the documented vectors in
 * test_task_spec.c.  The fixture (task_test_fixture.h): a synthetic
 * dataset (random pixels and labels) and a tiny model (784-16-10); fresh
 * random inputs each run, seed printed. */
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

/* --backend cuda: compare the GPU's trace with ref's (label gpu). */
static int g_cuda;

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
		assert_int_equal(cairn_model_create_multi(
		                     bes, c2 ? 2 : 1, &f->spec.model, 8, 2, &m),
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
		rc = cairn_task_run(m, &f->spec, &f->ds, f->ds_root, f->w0, &tr,
		                    capture, o, err, sizeof err);
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
			assert_int_equal(
			    cairn_committer_open(c->be, o->n, &cm2), 0);
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
	/* the commitment time is the sum of its parts (the digests and
	 * the deferred collects counted except on a GPU, where they overlap
	 * the step); in the background the collects of t = 0, 2 run
	 * deferred, inside steps 3 and 5, and t = 4's at t = H */
	{
		double sum = tr.commit.t0_seconds + tr.commit.records_seconds +
		             tr.commit.checkpoint_seconds +
		             tr.commit.end_seconds;
		if (cairn_backend_get_kind(c->be) != CAIRN_BACKEND_CUDA)
			sum += tr.commit.digest_seconds +
			       tr.commit.deferred_seconds;
		assert_true(tr.commit.t0_seconds > 0.0);
		assert_true(tr.commit.checkpoint_seconds > 0.0);
		assert_true(tr.commit.digest_seconds > 0.0);
		assert_true(background ? tr.commit.deferred_seconds > 0.0 &&
		                             tr.commit.collect_seconds > 0.0
		                       : tr.commit.deferred_seconds == 0.0 &&
		                             tr.commit.collect_seconds == 0.0);
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
			assert_memory_equal(
			    o->steps + k * CAIRN_STEP_RECORD_BYTES + HB,
			    &o->losses[k], 4);
	}
	/* Replay steps 3..4 from the state at t = 2: the state root at t = 4
	 * is the one the trace committed. */
	if (o->p2) {
		struct cairn_state end;
		uint8_t root[HB], rec[2 * CAIRN_STEP_RECORD_BYTES];
		assert_int_equal(
		    cairn_model_write(m, CAIRN_MODEL_PARAMS, o->p2), 0);
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
		assert_int_equal(
		    cairn_model_write(m, CAIRN_MODEL_PARAMS, o->p2), 0);
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

/* The fixture's task on every backend and configuration: the same trace,
 * state roots, losses, step records and final root as on ref (with SGD
 * inside, on the configurations marked sgd); the final root into
 * final_root. */
static void same_everywhere(struct fixture *f, uint8_t final_root[HB])
{
	const int sgd = f->spec.opt.kind == CAIRN_OPTIM_SGD;
	static const struct {
		cairn_backend_kind kind;
		int threads;
		const char *isa;
		int devices;    /* 2: the step shared by two backends */
		int background; /* through a committer; | 2: the training
		                 * set on the backend; | 4: there under
		                 * another root */
		int sgd;        /* also in the SGD runs (a cover of the
		                 * backends and paths, for time) */
	} cfg[] = {
	    {CAIRN_BACKEND_REF, 0, NULL, 1, 0, 1},
	    {CAIRN_BACKEND_CPU, 1, NULL, 1, 0, 1},
	    {CAIRN_BACKEND_CPU, 2, NULL, 1, 0, 0},
	    {CAIRN_BACKEND_CPU, 3, "portable", 1, 0, 1},
	    {CAIRN_BACKEND_CPU, 2, NULL, 1, 0, 0}, /* a repeat */
	    {CAIRN_BACKEND_CPU, 1, "portable", 2, 0, 1},
	    {CAIRN_BACKEND_CPU, 2, NULL, 1, 1, 0},
	    {CAIRN_BACKEND_REF, 0, NULL, 1, 1, 0},
	    {CAIRN_BACKEND_REF, 0, NULL, 1, 2, 0},
	    {CAIRN_BACKEND_CPU, 2, NULL, 1, 2, 0},
	    {CAIRN_BACKEND_CPU, 1, "portable", 1, 3, 1},
	    {CAIRN_BACKEND_CPU, 2, NULL, 1, 4, 0},
	    /* with --backend cuda only (ref first, as the reference) */
	    {CAIRN_BACKEND_CUDA, 0, NULL, 1, 0, 1},
	    {CAIRN_BACKEND_CUDA, 0, NULL, 1, 1, 1},
	    {CAIRN_BACKEND_CUDA, 0, NULL, 1, 2, 1},
	    {CAIRN_BACKEND_CUDA, 0, NULL, 1, 3, 1},
	    /* the cuda backend's kernels run on the host (tests/emu) */
	    {CAIRN_BACKEND_COUNT, 0, NULL, 1, 0, 1},
	    {CAIRN_BACKEND_COUNT, 0, NULL, 1, 2, 0},
	    /* ... with background commits: the emulation runs each queue as
	     * late as it may, so a missing wait between the committer and
	     * the model shows as other roots */
	    {CAIRN_BACKEND_COUNT, 0, NULL, 1, 1, 0},
	    {CAIRN_BACKEND_COUNT, 0, NULL, 1, 3, 1},
	};
	struct trace_out want, got;
	int have = 0;

	for (size_t i = 0; i < sizeof cfg / sizeof cfg[0]; i++) {
		struct cairn_test_config c;
		int rc;
		if (sgd && !cfg[i].sgd)
			continue;
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
			assert_int_equal(
			    cairn_test_config_open(&c2, cfg[i].kind, 2, NULL),
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
			    memcmp(got.losses, want.losses,
			           sizeof got.losses) ||
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
	memcpy(final_root, want.final_root, HB);
}

/* The AdamW task, then the same with SGD inside, with Nesterov momentum and
 * plain: other final roots than AdamW's, each the same everywhere. */
static void test_run_same_everywhere(void **state)
{
	struct fixture *f = *state;
	const struct cairn_task_spec keep = f->spec;
	uint8_t adamw[HB], nesterov[HB], plain[HB];

	same_everywhere(f, adamw);
	cairn_optim_sgd(&f->spec.opt, 0.05f);
	f->spec.opt.sgd.momentum = 0.9f;
	same_everywhere(f, nesterov);
	f->spec.opt.sgd.momentum = 0.0f;
	same_everywhere(f, plain);
	f->spec = keep;
	assert_memory_not_equal(adamw, nesterov, HB);
	assert_memory_not_equal(adamw, plain, HB);
	assert_memory_not_equal(nesterov, plain, HB);
}

/* ---- the outer step -------------------------------------------------------
 */

static void test_outer(void **state)
{
	const int64_t n = 1000 + (int64_t)(rnd() % 5000);
	const int K = 3, R = 3;
	float *w = malloc((size_t)n * 4), *u = calloc((size_t)n, 4);
	float *p = malloc((size_t)K * (size_t)n * 4),
	      *got = malloc((size_t)n * 4);
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
		assert_int_equal(
		    cairn_buf_alloc(be, (size_t)n * 4, (void **)&dp), 0);
		assert_int_equal(cairn_outer_create(be, n, CAIRN_OUTER_LR,
		                                    CAIRN_OUTER_MOMENTUM, w,
		                                    &o),
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
				assert_int_equal(
				    cairn_buf_write(be, dp, pk, (size_t)n * 4),
				    0);
				assert_int_equal(
				    cairn_outer_add(o, (uint32_t)k, dp), 0);
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

int main(int argc, char **argv)
{
	const struct CMUnitTest gpu_tests[] = {
	    cmocka_unit_test(test_run_same_everywhere),
	};
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_run_same_everywhere),
	    cmocka_unit_test(test_outer),
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
