/* cairn: the auditor's challenge and signed verdicts
 * (include/cairn/audit.h).
 *
 *   (a) the challenge: distinct, in range, deterministic, nonce-dependent,
 *       and the test vector of docs/commitments.md section 15;
 *   (b) verdicts: signed, verified, any change breaks them; the digest
 *       vector of section 15; fields that disagree refused by the decoder
 *       and the encoder.
 *
 * The verdict signed is an audit of the fixture's honest bundle
 * (audit_fixture.h).  Rejections found at read are signed too: see
 * test_audit_read.c.
 *
 * Random data each run (seed printed; CAIRN_TEST_SEED=0x... replays). */
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

/* ---- (a) the challenge ------------------------------------------------- */

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

/* ---- (b) verdicts ------------------------------------------------------ */

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
	case 0:
		v->accepted = x;
		break;
	case 4:
		v->check = x;
		break;
	case 8:
		v->segment = x;
		break;
	case 12:
		v->step_first = x;
		break;
	case 16:
		v->step_last = x;
		break;
	case 20:
		v->diff = x;
		break;
	case 24:
		v->diff_step = x;
		break;
	case 28:
		v->diff_what = x;
		break;
	case 32:
		v->elem_tensor = x;
		break;
	default:
		fail();
	}
}

/* A signed verdict must say one thing: fields that disagree (a check out
 * of range, accepted with a failed check, steps against the segment, a
 * narrowing outside a replay rejection) are refused by the decoder, with
 * which, and never encoded. */
static void test_verdict_fields(void **state)
{
	static const struct {
		int base;        /* 0 a replay rejection, 1 accepted */
		size_t at[2];    /* byte offsets after the 4 hashes ... */
		uint32_t val[2]; /* ... and their values (at[1] 0: one) */
		const char *why;
	} bad[] = {
	    {0, {4, 0}, {99, 0}, "not a known check"},
	    {0, {0, 0}, {1, 0}, "accepted but names a failed check"},
	    {0, {0, 0}, {2, 0}, "accepted is neither 0 nor 1"},
	    {0, {4, 0}, {CAIRN_AUDIT_OK, 0}, "rejected but names check ok"},
	    {0, {12, 0}, {9, 0}, "steps do not go with its segment"},
	    {0, {12, 0}, {0, 0}, "steps do not go with its segment"},
	    {0,
	     {8, 0},
	     {CAIRN_AUDIT_NO_SEGMENT, 0},
	     "steps do not go with its segment"},
	    {0, {28, 0}, {0x40, 0}, "unknown bits"},
	    {0, {20, 0}, {0x80000000u, 0}, "unknown bits"},
	    {0, {32, 0}, {7, 0}, "not a tensor"},
	    {0, {24, 0}, {0, 0}, "a first difference but no step"},
	    {0, {24, 0}, {4, 0}, "not a step of its segment"},
	    {0, {24, 0}, {7, 0}, "not a step of its segment"},
	    {0, {32, 0}, {CAIRN_AUDIT_ELEM_NONE, 0}, "element but no tensor"},
	    {0, {4, 0}, {CAIRN_AUDIT_REVEAL, 0}, "not a replay rejection"},
	    {1, {8, 12}, {3, 7}, "accepted but names a failed segment"},
	    {1,
	     {4, 0},
	     {CAIRN_AUDIT_REPLAY, 0},
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
		assert_int_equal(
		    cairn_audit_verdict_encode(
		        &v[k], e, CAIRN_AUDIT_VERDICT_MAX_BYTES, &len[k]),
		    0);
		assert_int_equal(
		    cairn_audit_verdict_decode(e, len[k], t, err, sizeof err),
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
		assert_int_equal(
		    cairn_audit_verdict_decode(mut, len[k], t, err, sizeof err),
		    CAIRN_EFORMAT);
		if (!strstr(err, bad[i].why) || !strstr(err, "disagree"))
			fail_msg("case %zu: '%s', want '%s'", i, err,
			         bad[i].why);
		/* and the encoder refuses to make them */
		memcpy(t, &v[k], sizeof *t);
		for (int j = 0; j < 2 && (j == 0 || bad[i].at[j]); j++)
			verdict_set(t, bad[i].at[j], bad[i].val[j]);
		assert_int_equal(
		    cairn_audit_verdict_encode(
		        t, mut, CAIRN_AUDIT_VERDICT_MAX_BYTES, &l2),
		    CAIRN_EINVAL);
	}
	free(v);
	free(t);
	free(enc);
	free(mut);
}

/* The fixture (audit_fixture.h), its seed printed under this program's
 * name. */
static int setup(void **state)
{
	return audit_fx_setup(state, "test_audit_verdicts");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_challenge),
	    cmocka_unit_test(test_challenge_vector),
	    cmocka_unit_test(test_verdict_sign),
	    cmocka_unit_test(test_verdict_vector),
	    cmocka_unit_test(test_verdict_fields),
	};
	return cmocka_run_group_tests(tests, setup, audit_fx_teardown);
}
