/* cairn: a task's encodings and commitments (include/cairn/task.h).
 *
 * - The spec's canonical encoding: round trip, every field checked on
 *   decode, any changed byte either refused or a different task id; the
 *   same for a spec with SGD inside.
 * - Results: encode, decode, sign, verify; another key or any changed
 *   field fails.
 * - The dataset root: the documented hash of the split's count and
 *   tensor roots.
 * - The test vectors of docs/commitments.md.
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
	assert_int_equal(
	    cairn_task_spec_decode(enc, sizeof enc, &d, err, sizeof err), 0);
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
	assert_int_equal(
	    cairn_task_spec_decode(enc, sizeof enc - 1, &d, err, sizeof err),
	    CAIRN_EFORMAT);
	assert_non_null(strstr(err, "223 bytes"));
	assert_int_equal(cairn_task_spec_decode(enc, 0, &d, err, sizeof err),
	                 CAIRN_EFORMAT);
}

/* Flips one random bit of each byte of spec's encoding in turn: each
 * change must be refused by the decoder (with a reason) or decode to a
 * spec with another task id.  The count refused into *refused; prints
 * both counts under name. */
static void flip_every_byte(const struct cairn_task_spec *spec,
                            const char *name, int *refused)
{
	uint8_t enc[CAIRN_TASK_SPEC_BYTES], id[HB], id2[HB];
	int differ = 0;

	*refused = 0;
	assert_int_equal(cairn_task_spec_encode(spec, enc), 0);
	assert_int_equal(cairn_task_id(spec, id), 0);
	for (size_t i = 0; i < sizeof enc; i++) {
		uint8_t b[CAIRN_TASK_SPEC_BYTES];
		struct cairn_task_spec d;
		char err[256];
		memcpy(b, enc, sizeof b);
		b[i] ^= (uint8_t)(1u << (rnd() % 8));
		if (cairn_task_spec_decode(b, sizeof b, &d, err, sizeof err)) {
			assert_true(err[0] != 0);
			(*refused)++;
			continue;
		}
		assert_int_equal(cairn_task_id(&d, id2), 0);
		assert_memory_not_equal(id, id2, HB);
		differ++;
	}
	printf("%s bytes: %d flips refused, %d gave another id\n", name,
	       *refused, differ);
	assert_true(*refused > 0 && differ > 0);
}

/* Every single-byte change of the encoding is either refused by the
 * decoder or decodes to a spec with another task id. */
static void test_spec_every_byte(void **state)
{
	struct fixture *f = *state;
	int refused;

	flip_every_byte(&f->spec, "spec", &refused);
}

/* A spec with SGD (optimizer 2): its settings at bytes 148..171, the
 * decoder's refusal of any non-zero byte in the unused 160..171, a
 * different task id from the AdamW spec, and every flipped byte refused
 * or another id. */
static void test_spec_sgd(void **state)
{
	struct fixture *f = *state;
	struct cairn_task_spec s = f->spec, d;
	uint8_t enc[CAIRN_TASK_SPEC_BYTES], enc2[CAIRN_TASK_SPEC_BYTES];
	uint8_t id[HB], id_adamw[HB], want[24];
	float lr = 0.05f, mu = 0.9f;
	char err[256];
	int refused;

	cairn_optim_sgd(&s.opt, lr);
	s.opt.sgd.momentum = mu;
	/* AdamW's fields are not SGD's: whatever they hold is not encoded */
	s.opt.adamw.beta2 = NAN;
	s.opt.adamw.eps = -1.0f;
	assert_int_equal(cairn_task_spec_check(&s, err, sizeof err), 0);
	assert_int_equal(cairn_task_spec_encode(&s, enc), 0);
	memset(want, 0, sizeof want);
	want[0] = 2;
	memcpy(want + 4, &lr, 4); /* little-endian hosts only (x86-64) */
	memcpy(want + 8, &mu, 4);
	assert_memory_equal(enc + 148, want, sizeof want);
	assert_int_equal(
	    cairn_task_spec_decode(enc, sizeof enc, &d, err, sizeof err), 0);
	assert_int_equal(d.opt.kind, CAIRN_OPTIM_SGD);
	assert_memory_equal(&d.opt.sgd.lr, &lr, 4);
	assert_memory_equal(&d.opt.sgd.momentum, &mu, 4);
	assert_int_equal(cairn_task_spec_encode(&d, enc2), 0);
	assert_memory_equal(enc, enc2, sizeof enc);
	assert_int_equal(cairn_task_id(&s, id), 0);
	assert_int_equal(cairn_task_id(&f->spec, id_adamw), 0);
	assert_memory_not_equal(id, id_adamw, HB);

	for (size_t i = 160; i < 172; i++) {
		char needle[32];
		memcpy(enc2, enc, sizeof enc2);
		enc2[i] = (uint8_t)(1 + rnd() % 255);
		assert_int_equal(cairn_task_spec_decode(enc2, sizeof enc2, &d,
		                                        err, sizeof err),
		                 CAIRN_EFORMAT);
		snprintf(needle, sizeof needle, "byte %zu", i);
		if (!strstr(err, needle))
			fail_msg("error '%s' does not name %s", err, needle);
	}
	flip_every_byte(&s, "SGD spec", &refused);
	assert_true(refused >= 12); /* at least the unused bytes */
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
	BAD(s.opt.kind = 3, "optimizer 3");
	BAD(s.opt.adamw.lr = NAN, "lr nan");
	BAD(s.opt.adamw.lr = -1.0f, "lr -1");
	BAD(s.opt.adamw.beta2 = 1.0f, "0.9/1");
	BAD(s.opt.adamw.eps = 0.0f, "eps 0");
	BAD(s.opt.adamw.weight_decay = INFINITY, "weight decay inf");
	BAD((cairn_optim_sgd(&s.opt, 0.0f)), "SGD settings lr 0,");
	BAD((cairn_optim_sgd(&s.opt, 11.0f)), "lr 11");
	BAD((cairn_optim_sgd(&s.opt, NAN)), "lr nan");
	BAD((cairn_optim_sgd(&s.opt, 0.1f), s.opt.sgd.momentum = 1.0f),
	    "momentum 1:");
	BAD((cairn_optim_sgd(&s.opt, 0.1f), s.opt.sgd.momentum = -0.5f),
	    "momentum -0.5");
	BAD((cairn_optim_sgd(&s.opt, 0.1f), s.opt.sgd.momentum = NAN),
	    "momentum nan");
	/* -0 would name the same task twice */
	BAD((cairn_optim_sgd(&s.opt, 0.1f), s.opt.sgd.momentum = -0.0f),
	    "sgd setting -0");
	BAD(s.opt.adamw.beta1 = -0.0f, "adamw setting -0");
	BAD(s.opt.adamw.beta2 = -0.0f, "adamw setting -0");
	BAD(s.opt.adamw.weight_decay = -0.0f, "adamw setting -0");
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
	assert_int_equal(
	    cairn_task_result_decode(enc, sizeof enc, &d, err, sizeof err), 0);
	assert_memory_equal(&d, &r, sizeof r);
	assert_int_equal(
	    cairn_task_result_decode(enc, sizeof enc + 1, &d, err, sizeof err),
	    CAIRN_EFORMAT);
	enc[168] = 'C'; /* device class must be lower case */
	assert_int_equal(
	    cairn_task_result_decode(enc, sizeof enc, &d, err, sizeof err),
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
	assert_int_equal(
	    cairn_tensor_root(
	        f->images, (size_t)f->ds.count * CAIRN_DATASET_PIXELS, rec + 4),
	    0);
	assert_int_equal(cairn_tensor_root(f->labels, f->ds.count, rec + 36),
	                 0);
	assert_int_equal(
	    cairn_hash_domain(CAIRN_DOM_DATASET, rec, sizeof rec, want), 0);
	assert_int_equal(cairn_dataset_root(&f->ds, got), 0);
	assert_memory_equal(want, got, HB);
	f->labels[299] ^= 1;
	assert_int_equal(cairn_dataset_root(&f->ds, got), 0);
	assert_memory_not_equal(want, got, HB);
	f->labels[299] ^= 1;
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
	hex_is(
	    h,
	    "be18addffa16b996d51168280836bd15d03c92ee2109ce3a9b75a269f4fef9fb");

	memset(&s, 0, sizeof s);
	strcpy(s.profile, "exact-v1");
	strcpy(s.job, "fmnist-mlp");
	s.seed = 1;
	s.round = 2;
	s.task = 3;
	s.tasks = 4;
	cairn_mlp_spec_reference(&s.model);
	memset(s.params_root, 0x11, HB);
	cairn_optim_defaults(&s.opt);
	memset(s.dataset_root, 0x22, HB);
	s.dataset_count = 60000;
	s.batch = 256;
	s.micro = 4;
	s.inner_steps = 500;
	s.checkpoint_every = 25;
	assert_int_equal(cairn_task_id(&s, h), 0);
	hex_is(
	    h,
	    "6284a2fe82f30dcd1de4f660a49de1071c5f7b56cf7a0f3db9442d2736810896");
	/* the same with SGD: optimizer 2, lr 0.1, momentum 0.9 */
	cairn_optim_sgd(&s.opt, 0.1f);
	s.opt.sgd.momentum = 0.9f;
	assert_int_equal(cairn_task_id(&s, h), 0);
	hex_is(
	    h,
	    "c1335fab52bf118b5e12beb0a5c43780766ad525cd032a2e352c9b9b4856c3be");
	cairn_optim_defaults(&s.opt);
	assert_int_equal(cairn_task_id(&s, h), 0);

	memset(&r, 0, sizeof r);
	memcpy(r.task_id, h, HB);
	memset(r.worker_key, 0x33, HB);
	memset(r.trace_root, 0x44, HB);
	memset(r.final_params_root, 0x55, HB);
	memset(r.steps_root, 0x66, HB);
	r.flops = 123456789;
	strcpy(r.device_class, "cpu");
	assert_int_equal(cairn_task_result_encode(&r, enc), 0);
	assert_int_equal(
	    cairn_hash_domain(CAIRN_DOM_RESULT, enc, sizeof enc, h), 0);
	hex_is(
	    h,
	    "b4d9c7e787ce09e823599c712ea43178b40b6fed9f9c9f799ff9eb6491c15aa9");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_spec_roundtrip),
	    cmocka_unit_test(test_spec_every_byte),
	    cmocka_unit_test(test_spec_sgd),
	    cmocka_unit_test(test_spec_checks),
	    cmocka_unit_test(test_result_sign),
	    cmocka_unit_test(test_dataset_root),
	    cmocka_unit_test(test_doc_vectors),
	};
	g_rng = cairn_test_seed("test_task_spec");
	return cmocka_run_group_tests(tests, setup, teardown);
}
