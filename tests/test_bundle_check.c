/* cairn: signed result bundles, claims the checks refuse
 * (attest/bundle_check.c, docs/bundle-format.md section 4's steps 9 to
 * 28).
 *
 * The fixture (bundle_fixture.h) runs a real task and writes its bundle.
 * Bundles whose claims are signed but false must be refused with the
 * right code and a message naming the file: another signer, a result of
 * another task, checkpoints out of order, claims that contradict the spec
 * (the work done, a start with a non-zero moment), and a step log that is
 * not the one signed or contradicts a committed state.  The reader names
 * the check that refused a bundle (cairn_bundle_read_ex), lazily or not.
 *
 * Random data each run (seed printed; CAIRN_TEST_SEED=0x... replays). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bundle_fixture.h"

/* r signed by who, whatever r's worker key says (the RESULT domain hash
 * of the encoding, include/cairn/task.h). */
static void sign_as(const struct cairn_identity *who,
                    const struct cairn_task_result *r,
                    uint8_t sig[CAIRN_SIGNATURE_BYTES])
{
	uint8_t enc[CAIRN_TASK_RESULT_BYTES], d[CAIRN_HASH_BYTES];
	assert_int_equal(cairn_task_result_encode(r, enc), 0);
	assert_int_equal(
	    cairn_hash_domain(CAIRN_DOM_RESULT, enc, sizeof enc, d), 0);
	assert_int_equal(cairn_identity_sign(who, d, sizeof d, sig), 0);
}

/* ---- claims the checks refuse ------------------------------------------ */

static void test_other_signer(void **state)
{
	struct fx *f = *state;
	struct cairn_identity other;
	struct cairn_bundle c = f->good, b; /* shallow: c's arrays are good's */
	char err[512];

	assert_int_equal(cairn_identity_generate(&other), 0);
	/* The result names our key; another key signed it. */
	sign_as(&other, &c.result, c.signature);
	expect_refused(write_as(f, &c, "other-signer.cairn"), CAIRN_ECRYPTO,
	               "signature");
	/* The result names the other key; ours signed it. */
	memcpy(c.result.worker_key, other.public_key, CAIRN_PUBLIC_KEY_BYTES);
	sign_as(&f->id, &c.result, c.signature);
	expect_refused(write_as(f, &c, "other-key.cairn"), CAIRN_ECRYPTO,
	               "signature");
	/* A signature of another result (one more FLOP). */
	c = f->good;
	c.result.flops++;
	sign_as(&f->id, &c.result, c.signature);
	c.result.flops--;
	expect_refused(write_as(f, &c, "other-result.cairn"), CAIRN_ECRYPTO,
	               "signature");
	/* Control: the other key's own, consistent signature is a valid
	 * bundle (of another worker). */
	c = f->good;
	memcpy(c.result.worker_key, other.public_key, CAIRN_PUBLIC_KEY_BYTES);
	sign_as(&other, &c.result, c.signature);
	assert_int_equal(cairn_bundle_read(write_as(f, &c, "other-ok.cairn"),
	                                   &b, err, sizeof err),
	                 0);
	assert_memory_equal(b.result.worker_key, other.public_key,
	                    CAIRN_PUBLIC_KEY_BYTES);
	cairn_bundle_free(&b);
	cairn_identity_wipe(&other);
}

static void test_other_task(void **state)
{
	struct fx *f = *state;
	struct cairn_task_spec s2 = f->spec;
	struct cairn_bundle c = f->good;

	/* A result signed for task 2 of the round, in task 1's bundle. */
	s2.task = 2;
	assert_int_equal(cairn_task_id(&s2, c.result.task_id), 0);
	assert_int_equal(cairn_task_result_sign(&f->id, &c.result, c.signature),
	                 0);
	expect_refused(write_as(f, &c, "other-task.cairn"), CAIRN_ECRYPTO,
	               "task");
	/* Task 1's result with task 2's spec. */
	c = f->good;
	c.spec = s2;
	expect_refused(write_as(f, &c, "other-spec.cairn"), CAIRN_ECRYPTO,
	               "task");
}

static void test_checkpoint_order(void **state)
{
	struct fx *f = *state;
	struct cairn_bundle c = f->good;
	struct cairn_bundle_checkpoint cps[2];

	assert_int_equal(c.ncheckpoints, 2);
	/* Swapped. */
	cps[0] = f->good.checkpoints[1];
	cps[1] = f->good.checkpoints[0];
	c.checkpoints = cps;
	expect_refused(write_as(f, &c, "swapped.cairn"), CAIRN_EFORMAT,
	               "checkpoint 0 is at step 2");
	/* Twice the first. */
	cps[0] = f->good.checkpoints[0];
	cps[1] = f->good.checkpoints[0];
	expect_refused(write_as(f, &c, "twice.cairn"), CAIRN_EFORMAT,
	               "checkpoint 1");
	/* The right steps on the wrong tensors. */
	cps[0] = f->good.checkpoints[1];
	cps[1] = f->good.checkpoints[0];
	cps[0].state.step = 0;
	cps[1].state.step = EVERY;
	/* (checkpoint 1's samples and loss are step 0's, not the step log's
	 * record of step 2: refused before any tensor is hashed) */
	expect_refused(write_as(f, &c, "relabelled.cairn"), CAIRN_ECRYPTO,
	               "checkpoint 1 (t = 2)");
	/* A changed loss at t = c. */
	cps[0] = f->good.checkpoints[0];
	cps[1] = f->good.checkpoints[1];
	cps[1].state.loss_bits ^= 1;
	expect_refused(write_as(f, &c, "loss.cairn"), CAIRN_ECRYPTO,
	               "checkpoint 1 (t = 2)");
}

/* A bundle whose claims are signed but contradict its spec. */
/* A cheater's start: checkpoint 0's first moment replaced by m (host,
 * param count floats), its state root, the trace root and the signature
 * made again consistently, so only the t = 0 rule can refuse it.  cps is
 * c's copy of the checkpoints; roots has room for c's state roots. */
static void start_with_moment(struct fx *f, struct cairn_bundle *c,
                              struct cairn_bundle_checkpoint *cps, float *m,
                              uint8_t *roots)
{
	const size_t bytes = (size_t)f->nparams * sizeof(float);

	cps[0].m = m;
	assert_int_equal(cairn_tensor_root(m, bytes, cps[0].state.m), 0);
	memcpy(roots, c->state_roots, (size_t)c->nstates * CAIRN_HASH_BYTES);
	assert_int_equal(cairn_state_root(&cps[0].state, roots), 0);
	assert_int_equal(
	    cairn_trace_root(roots, c->nstates, c->result.trace_root), 0);
	c->checkpoints = cps;
	c->state_roots = roots;
	assert_int_equal(
	    cairn_task_result_sign(&f->id, &c->result, c->signature), 0);
}

static void test_false_claims(void **state)
{
	struct fx *f = *state;
	struct cairn_bundle c = f->good;
	struct cairn_bundle_checkpoint cps[2];
	const size_t bytes = (size_t)f->nparams * sizeof(float);
	float *m = cairn_test_xmalloc(bytes);
	uint8_t *roots =
	    cairn_test_xmalloc((size_t)c.nstates * CAIRN_HASH_BYTES);

	/* The work done. */
	c.result.flops *= 2;
	assert_int_equal(cairn_task_result_sign(&f->id, &c.result, c.signature),
	                 0);
	expect_refused(write_as(f, &c, "flops.cairn"), CAIRN_EMISMATCH,
	               "FLOPs");

	/* t = 0 with a non-zero first moment, consistently hashed and
	 * signed. */
	c = f->good;
	memcpy(cps, f->good.checkpoints, sizeof cps);
	memcpy(m, cps[0].m, bytes);
	m[7] = 1.0f;
	start_with_moment(f, &c, cps, m, roots);
	expect_refused(write_as(f, &c, "moment.cairn"), CAIRN_EMISMATCH,
	               "t = 0");
	free(m);
	free(roots);
}

/* ---- which check refused ----------------------------------------------- */

/* Which check refused a bundle (cairn_bundle_read_ex), lazily or not; and
 * the lazy reader's start check, on the committed root alone. */
static void test_refusal(void **state)
{
	struct fx *f = *state;
	struct cairn_bundle c = f->good, b;
	struct cairn_bundle_checkpoint cps[2];
	struct cairn_bundle_refusal why;
	struct cairn_bundle_read_opts lazy = {.lazy = 1};
	const size_t bytes = (size_t)f->nparams * sizeof(float);
	float *m = cairn_test_xmalloc(bytes);
	uint8_t *roots =
	    cairn_test_xmalloc((size_t)c.nstates * CAIRN_HASH_BYTES);
	uint8_t id[CAIRN_HASH_BYTES];
	char err[1024];
	const char *p;

	/* Accepted: nothing refused. */
	assert_int_equal(
	    cairn_bundle_read_ex(f->path, NULL, &b, &why, err, sizeof err), 0);
	assert_int_equal(why.step, 0);
	assert_int_equal(why.checkpoint, UINT32_MAX);
	cairn_bundle_free(&b);
	/* Work: step 15, for both readers, with the spec and its task id. */
	c.result.flops *= 2;
	assert_int_equal(cairn_task_result_sign(&f->id, &c.result, c.signature),
	                 0);
	p = write_as(f, &c, "why-flops.cairn");
	for (int l = 0; l < 2; l++) {
		assert_int_equal(cairn_bundle_read_ex(p, l ? &lazy : NULL, &b,
		                                      &why, err, sizeof err),
		                 CAIRN_EMISMATCH);
		assert_int_equal(why.step, 15);
		assert_int_equal(why.checkpoint, UINT32_MAX);
		assert_int_equal(cairn_task_id(&f->spec, id), 0);
		assert_memory_equal(why.task_id, id, CAIRN_HASH_BYTES);
		assert_int_equal(why.result.flops, c.result.flops);
		assert_true(bundle_zeroed(&b));
	}
	/* A checkpoint whose tensors are not its entry: step 27 at read,
	 * checkpoint 1; the lazy reader accepts it. */
	c = f->good;
	memcpy(cps, f->good.checkpoints, sizeof cps);
	memcpy(m, cps[1].v, bytes);
	m[2] = nextafterf(m[2], 1.0f);
	cps[1].v = m;
	c.checkpoints = cps;
	p = write_as(f, &c, "why-tensor.cairn");
	assert_int_equal(
	    cairn_bundle_read_ex(p, NULL, &b, &why, err, sizeof err),
	    CAIRN_ECRYPTO);
	assert_int_equal(why.step, 27);
	assert_int_equal(why.checkpoint, 1);
	assert_int_equal(
	    cairn_bundle_read_ex(p, &lazy, &b, &why, err, sizeof err), 0);
	assert_int_equal(why.step, 0);
	cairn_bundle_free(&b);
	/* A changed loss at checkpoint 1 contradicts the step log: step 26
	 * for both readers. */
	c = f->good;
	memcpy(cps, f->good.checkpoints, sizeof cps);
	cps[1].state.loss_bits ^= 1;
	c.checkpoints = cps;
	p = write_as(f, &c, "why-loss.cairn");
	for (int l = 0; l < 2; l++) {
		assert_int_equal(cairn_bundle_read_ex(p, l ? &lazy : NULL, &b,
		                                      &why, err, sizeof err),
		                 CAIRN_ECRYPTO);
		assert_int_equal(why.step, 26);
		assert_int_equal(why.checkpoint, 1);
		assert_non_null(strstr(err, "step log"));
	}
	/* A start with a non-zero moment, consistently hashed and signed:
	 * step 28 for both; the lazy reader decides on state root 0. */
	c = f->good;
	memcpy(cps, f->good.checkpoints, sizeof cps);
	memcpy(m, cps[0].m, bytes);
	m[3] = -0.0f; /* one sign bit: not +0 */
	start_with_moment(f, &c, cps, m, roots);
	p = write_as(f, &c, "why-start.cairn");
	for (int l = 0; l < 2; l++) {
		assert_int_equal(cairn_bundle_read_ex(p, l ? &lazy : NULL, &b,
		                                      &why, err, sizeof err),
		                 CAIRN_EMISMATCH);
		assert_int_equal(why.step, 28);
		assert_int_equal(why.checkpoint, 0);
		assert_non_null(strstr(err, "t = 0"));
		assert_non_null(strstr(err, p));
	}
	/* A size limit through the options; the decoder reports too. */
	lazy.max_bytes = f->len - 1;
	assert_int_equal(
	    cairn_bundle_read_ex(f->path, &lazy, &b, &why, err, sizeof err),
	    CAIRN_ERANGE);
	assert_int_equal(why.step, 0);
	assert_int_equal(cairn_bundle_decode_ex(f->bytes, f->len, NULL, &b,
	                                        &why, err, sizeof err),
	                 0);
	cairn_bundle_free(&b);
	free(m);
	free(roots);
}

/* ---- the step log ----------------------------------------------------- */

/* c: the good bundle with its step log replaced by steps (owned by the
 * caller), its steps root made again and re-signed when resign. */
static void with_steps(struct fx *f, struct cairn_bundle *c, uint8_t *steps,
                       int resign)
{
	*c = f->good;
	c->steps = steps;
	if (!resign)
		return;
	assert_int_equal(cairn_step_log_root(steps, STEPS / EVERY, EVERY,
	                                     c->result.steps_root),
	                 0);
	assert_int_equal(
	    cairn_task_result_sign(&f->id, &c->result, c->signature), 0);
}

static void test_step_log(void **state)
{
	struct fx *f = *state;
	const size_t n = STEPS * CAIRN_STEP_RECORD_BYTES;
	struct cairn_bundle c, b;
	struct cairn_bundle_refusal why;
	struct cairn_bundle_read_opts lazy = {.lazy = 1};
	uint8_t *steps = cairn_test_xmalloc(n), *buf;
	char err[1024];
	const char *p;
	size_t at;

	/* The file ends with the step log: field 8, its length (2 bytes),
	 * the records, as collected. */
	assert_memory_equal(f->bytes + f->len - n, f->good.steps, n);
	for (uint32_t t = 1; t <= STEPS; t++)
		assert_memory_equal(f->good.steps +
		                        (t - 1) * CAIRN_STEP_RECORD_BYTES +
		                        CAIRN_HASH_BYTES,
		                    &f->losses[t - 1], 4);

	/* Every byte of the log is covered: a flip without a new signature
	 * is step 22 (check commitment), for both readers. */
	for (size_t k = 0; k < n; k += 7) {
		memcpy(steps, f->good.steps, n);
		steps[k] ^= 0x10;
		with_steps(f, &c, steps, 0);
		p = write_as(f, &c, "steps-flip.cairn");
		for (int l = 0; l < 2; l++) {
			assert_int_equal(
			    cairn_bundle_read_ex(p, l ? &lazy : NULL, &b, &why,
			                         err, sizeof err),
			    CAIRN_ECRYPTO);
			assert_int_equal(why.step, 22);
			assert_non_null(strstr(err, "step log"));
		}
	}
	/* Re-signed: the record of step H must be the final state's (23);
	 * the record of a checkpoint's step its own (26). */
	memcpy(steps, f->good.steps, n);
	steps[(STEPS - 1) * CAIRN_STEP_RECORD_BYTES] ^= 1;
	with_steps(f, &c, steps, 1);
	p = write_as(f, &c, "steps-final.cairn");
	assert_int_equal(
	    cairn_bundle_read_ex(p, NULL, &b, &why, err, sizeof err),
	    CAIRN_ECRYPTO);
	assert_int_equal(why.step, 23);
	memcpy(steps, f->good.steps, n);
	steps[(EVERY - 1) * CAIRN_STEP_RECORD_BYTES + CAIRN_HASH_BYTES] ^= 1;
	with_steps(f, &c, steps, 1);
	p = write_as(f, &c, "steps-cp.cairn");
	assert_int_equal(
	    cairn_bundle_read_ex(p, &lazy, &b, &why, err, sizeof err),
	    CAIRN_ECRYPTO);
	assert_int_equal(why.step, 26);
	assert_int_equal(why.checkpoint, 1);
	/* A false record between checkpoints, re-signed, reads: only a
	 * replay can see it (test_audit). */
	memcpy(steps, f->good.steps, n);
	steps[CAIRN_HASH_BYTES] ^= 1; /* the loss of step 1 */
	with_steps(f, &c, steps, 1);
	p = write_as(f, &c, "steps-inner.cairn");
	assert_int_equal(cairn_bundle_read(p, &b, err, sizeof err), 0);
	assert_memory_equal(b.steps, steps, n);
	cairn_bundle_free(&b);

	/* A log one byte short: EFORMAT, naming the lengths. */
	buf = cairn_test_xmalloc(f->len);
	memcpy(buf, f->bytes, f->len);
	at = f->len - n - 2; /* the length varint: n = 144 is 0x90 0x01 */
	assert_int_equal(buf[at], (uint8_t)(0x80 | (n & 0x7f)));
	assert_int_equal(buf[at + 1], (uint8_t)(n >> 7));
	buf[at] = (uint8_t)(0x80 | ((n - 1) & 0x7f));
	p = "steps-short.cairn";
	{
		char path[512];
		snprintf(path, sizeof path, "%s/%s", f->dir, p);
		write_whole(path, buf, f->len - 1);
		expect_refused(path, CAIRN_EFORMAT, "step log is 143 bytes");
		/* Format 1 (before the step log): named as such. */
		memcpy(buf, f->bytes, f->len);
		assert_int_equal(buf[0], 0x08); /* field 1, varint */
		assert_int_equal(buf[1], CAIRN_BUNDLE_FORMAT);
		buf[1] = 1;
		write_whole(path, buf, f->len);
		expect_refused(path, CAIRN_EFORMAT, "format 1 bundles");
	}
	/* No step log at all: cairn_bundle_write refuses. */
	c = f->good;
	c.steps = NULL;
	assert_int_equal(write_as_rc(f, &c, "no-steps.cairn"), CAIRN_EINVAL);
	free(buf);
	free(steps);
}

/* The fixture (bundle_fixture.h), its seed printed under this program's
 * name. */
static int setup(void **state)
{
	return bundle_fx_setup(state, "test_bundle_check");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_other_signer),
	    cmocka_unit_test(test_other_task),
	    cmocka_unit_test(test_checkpoint_order),
	    cmocka_unit_test(test_false_claims),
	    cmocka_unit_test(test_refusal),
	    cmocka_unit_test(test_step_log),
	};
	return cmocka_run_group_tests(tests, setup, bundle_fx_teardown);
}
