/* cairn: the auditor's replay (include/cairn/audit.h).
 *
 * The fixture (audit_fixture.h) runs real tasks and reads every bundle
 * back before an audit sees it.
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
 *   (c) a dataset the auditor lacks is an error, not a rejection;
 *   (d) with --backend cuda (ctest audit_cuda, label gpu; skipped, exit
 *       77, where no GPU is found): a bundle made on the GPU is the
 *       CPU's, accepted by ref, cpu and cuda auditors; the GPU auditor's
 *       verdicts on honest and cheating bundles are the CPU auditor's,
 *       byte for byte.
 *
 * Every replay rejection in (b) is also narrowed (the step log): the
 * first step that differs and what differs there are asserted for each
 * cheat, and the one-ulp cheat's first differing element by index and
 * bits.  A false step log over honest training is rejected too.
 *
 * The auditor's other programs: test_audit_read.c (cheats caught when a
 * bundle is read; lazy reading), test_audit_verdicts.c (the challenge;
 * signed verdicts) and test_audit_cli.c (`cairn verify`).
 *
 * Random data each run (seed printed; CAIRN_TEST_SEED=0x... replays). */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "audit_fixture.h"

#include "cairn/error.h"

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

/* ---- (b) cheats -------------------------------------------------------- */

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

	s.opt.adamw.lr *= 2.0f;
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
	cairn_optim opt;
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
	assert_int_equal(cairn_task_commit_state(m,
	                                         cairn_task_zero_tensors(sp, 0),
	                                         0, samples, 0.0f, &st),
	                 0);
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
		opt = sp->opt;
		opt.adamw.step = t;
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
		    cairn_task_commit_state(m, cairn_task_zero_tensors(sp, t),
		                            t, samples, loss, &st),
		    0);
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
	assert_int_equal(
	    cairn_step_log_root(c.steps, NSEG, EVERY, c.result.steps_root), 0);
	assert_int_equal(cairn_task_result_sign(&f->id, &c.result, c.signature),
	                 0);
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

/* ---- (c) a dataset the auditor lacks ----------------------------------- */

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

/* ---- (d) a GPU, with --backend cuda (label gpu) ------------------------ */

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
		s2.opt.adamw.lr *= 2.0f;
		cheat_other_spec(f, &s2, &c);
		reread(f, &c, &r, NULL, 0);
		audit_both(f, gpu, &r, "learning rate x2");
		assert_int_equal(f->v.accepted, 0);
		assert_int_equal(f->v.diff_what, CAIRN_AUDIT_DIFF_LOSS);
		cairn_bundle_free(&r);
	}
	cairn_backend_close(gpu);
}

/* The fixture (audit_fixture.h), its seed printed under this program's
 * name. */
static int setup(void **state)
{
	return audit_fx_setup(state, "test_audit");
}

int main(int argc, char **argv)
{
	const struct CMUnitTest gpu_tests[] = {
	    cmocka_unit_test(test_gpu_audit),
	};
	const struct CMUnitTest tests[] = {
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
	    cmocka_unit_test(test_dataset_mismatch),
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
			                              audit_fx_teardown);
		}
	return cmocka_run_group_tests(tests, setup, audit_fx_teardown);
}
