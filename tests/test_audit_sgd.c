/* cairn: audits of tasks with SGD inside (optimizer 2, docs/commitments.md
 * section 12).  The auditor replays the optimizer the spec names, with the
 * momentum buffer the worker committed in m:
 *
 * - an honest SGD bundle (Nesterov momentum 0.9) from ref, cpu/1 and
 *   cpu/2 has one trace root, and every segment is accepted on each;
 * - a worker that ran AdamW, plain SGD (momentum 0) or twice the learning
 *   rate, and claims the SGD spec, is rejected by the replay.
 *
 * The fixture is audit_fixture.h's, its spec switched to SGD; random
 * data each run (seed printed; CAIRN_TEST_SEED=0x... replays). */
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

#define SGD_LR 0.05f
#define SGD_MOMENTUM 0.9f

static void test_sgd_honest(void **state)
{
	struct fx *f = *state;
	cairn_backend *cpu1 = open_cpu(1);
	cairn_backend *bes[3] = {f->ref, cpu1, f->cpu};
	uint8_t trace[CAIRN_HASH_BYTES];

	for (int i = 0; i < 3; i++) {
		struct cairn_bundle b, r;

		run_bundle(f, bes[i], &f->spec, &b);
		reread(f, &b, &r, NULL, 0);
		if (i == 0)
			memcpy(trace, r.result.trace_root, sizeof trace);
		assert_memory_equal(r.result.trace_root, trace, sizeof trace);
		for (int a = 0; a < 3; a++) {
			assert_int_equal(audit_all(f, bes[a], &r, NULL), 0);
			if (!f->v.accepted)
				print_message("false rejection: %s\n", f->err);
			assert_int_equal(f->v.accepted, 1);
			assert_int_equal(f->v.nsegments, NSEG);
		}
		cairn_bundle_free(&r);
	}
	/* not the AdamW task's trace */
	assert_memory_not_equal(trace, f->good.result.trace_root, sizeof trace);
	print_message("SGD bundles from ref, cpu/1, cpu/2: one trace root, "
	              "all %d segments accepted on each\n",
	              NSEG);
	cairn_backend_close(cpu1);
}

/* Writes c to a new file and reads it back: refused with want, the
 * message naming needle. */
static void read_refused(struct fx *f, const struct cairn_bundle *c, int want,
                         const char *needle)
{
	struct cairn_bundle r;
	char path[256], err[1024] = "";

	snprintf(path, sizeof path, "%s/b%d.cairn", f->dir, f->nfiles++);
	assert_int_equal(cairn_bundle_write(c, path, err, sizeof err), 0);
	assert_int_equal(cairn_bundle_read(path, &r, err, sizeof err), want);
	if (!strstr(err, needle))
		fail_msg("'%s' does not name '%s'", err, needle);
}

/* An SGD bundle carries no v (docs/bundle-format.md section 2.1): the
 * reader supplies +0.  A worker that ran AdamW commits to AdamW's v, so
 * its bundle claiming the SGD spec is refused when read: by its final
 * state's v root (check 20), and with that one made zero, by checkpoint
 * 1's record (27).  One that also commits to v = +0 in every checkpoint
 * is read, and the replay rejects it. */
static void test_sgd_cheat_adamw(void **state)
{
	struct fx *f = *state;
	struct cairn_task_spec s = f->spec;
	struct cairn_bundle c;
	const size_t bytes = (size_t)f->good.param_count * sizeof(float);
	float *zeros = calloc(1, bytes);

	assert_non_null(zeros);
	cairn_optim_defaults(&s.opt);
	cheat_other_spec(f, &s, &c);
	read_refused(f, &c, CAIRN_EMISMATCH, "the final state's v root");
	assert_int_equal(cairn_tensor_root(zeros, bytes, c.final_state.v), 0);
	cheat_resign(f, &c);
	read_refused(f, &c, CAIRN_ECRYPTO, "checkpoint 1 (t = 2)");
	for (uint32_t k = 0; k < c.ncheckpoints; k++) {
		memset(c.checkpoints[k].v, 0, bytes);
		memcpy(c.checkpoints[k].state.v, c.final_state.v,
		       CAIRN_HASH_BYTES);
	}
	cheat_resign(f, &c);
	expect_rejected(f, &c, "AdamW for SGD", CAIRN_AUDIT_REPLAY,
	                CAIRN_AUDIT_DIFF_PARAMS, CAIRN_AUDIT_DIFF_SAMPLES);
	free(zeros);
}

static void test_sgd_cheat_no_momentum(void **state)
{
	struct fx *f = *state;
	struct cairn_task_spec s = f->spec;
	struct cairn_bundle c;

	s.opt.sgd.momentum = 0.0f;
	cheat_other_spec(f, &s, &c);
	expect_rejected(f, &c, "plain SGD for momentum", CAIRN_AUDIT_REPLAY,
	                CAIRN_AUDIT_DIFF_PARAMS, CAIRN_AUDIT_DIFF_SAMPLES);
}

static void test_sgd_cheat_lr(void **state)
{
	struct fx *f = *state;
	struct cairn_task_spec s = f->spec;
	struct cairn_bundle c;

	s.opt.sgd.lr *= 2.0f;
	cheat_other_spec(f, &s, &c);
	expect_rejected(f, &c, "SGD learning rate x2", CAIRN_AUDIT_REPLAY,
	                CAIRN_AUDIT_DIFF_PARAMS, CAIRN_AUDIT_DIFF_SAMPLES);
	/* as with AdamW: the segment's first step agrees, the second step's
	 * loss comes from the first update */
	assert_int_equal(f->v.diff_step, f->v.step_first + 1);
	assert_int_equal(f->v.diff_what, CAIRN_AUDIT_DIFF_LOSS);
}

/* The fixture (audit_fixture.h; its honest bundle f->good is AdamW's),
 * then the spec switched to SGD with Nesterov momentum. */
static int setup(void **state)
{
	struct fx *f;
	int rc = audit_fx_setup(state, "test_audit_sgd");

	if (rc)
		return rc;
	f = *state;
	cairn_optim_sgd(&f->spec.opt, SGD_LR);
	f->spec.opt.sgd.momentum = SGD_MOMENTUM;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sgd_honest),
	    cmocka_unit_test(test_sgd_cheat_adamw),
	    cmocka_unit_test(test_sgd_cheat_no_momentum),
	    cmocka_unit_test(test_sgd_cheat_lr),
	};
	return cmocka_run_group_tests(tests, setup, audit_fx_teardown);
}
