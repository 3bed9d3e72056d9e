/* cairn: states, samples, traces and the step log (attest/state.c), the
 * separation of every structure's domain, and the test vectors of
 * docs/commitments.md.
 *
 * - state, sample and trace digests against the byte-level format written
 *   out by hand (attest_fixture.h): every field counts, domains never meet;
 * - the step log's records, segment digests and steps root (section 16);
 * - the test vectors printed in docs/commitments.md.
 *
 * Inputs are fresh random bytes each run (seed printed; set
 * CAIRN_TEST_SEED=0x... to replay). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "attest_fixture.h"

/* ---- states, samples, traces --------------------------------------------- */

static void random_state(struct cairn_state *s)
{
	s->step = rnd();
	fill(s->params, HB);
	fill(s->m, HB);
	fill(s->v, HB);
	fill(s->samples, HB);
	s->loss_bits = (uint32_t)rnd();
}

static void test_samples_digest(void **state)
{
	enum { N = 1000 }; /* more than one internal batch of 256 */
	uint32_t idx[N];
	uint8_t enc[8 + 4 * N], a[HB], b[HB];
	for (int i = 0; i < N; i++)
		idx[i] = (uint32_t)rnd();
	for (uint64_t n = 0; n <= N; n += n < 10 ? 1 : 97) {
		u64le(enc, n);
		for (uint64_t i = 0; i < n; i++)
			for (int k = 0; k < 4; k++)
				enc[8 + 4 * i + k] =
				    (uint8_t)(idx[i] >> (8 * k));
		hh(T_SAMPLES, enc, 8 + 4 * n, NULL, 0, b);
		assert_int_equal(cairn_samples_digest(idx, n, a), 0);
		EXPECT_SAME(a, b, HB, "samples digest vs by hand");
	}
	/* Order, value and count all count. */
	cairn_samples_digest(idx, N, a);
	{
		uint32_t t = idx[3];
		idx[3] = idx[4];
		idx[4] = t;
		cairn_samples_digest(idx, N, b);
		assert_memory_not_equal(a, b, HB);
		idx[4] = idx[3];
		idx[3] = t;
	}
	idx[N - 1] ^= 1;
	cairn_samples_digest(idx, N, b);
	assert_memory_not_equal(a, b, HB);
	idx[N - 1] ^= 1;
	cairn_samples_digest(idx, N - 1, b);
	assert_memory_not_equal(a, b, HB);
	assert_int_equal(cairn_samples_digest(NULL, 0, a), 0);
	assert_int_equal(cairn_samples_digest(NULL, 1, a), CAIRN_EINVAL);
	(void)state;
}

static void test_state_root(void **state)
{
	struct cairn_state s, u;
	uint8_t enc[CAIRN_STATE_BYTES], want[CAIRN_STATE_BYTES];
	uint8_t r0[HB], r1[HB], h[HB];
	random_state(&s);
	/* The encoding, by hand. */
	u64le(want, s.step);
	memcpy(want + 8, s.params, HB);
	memcpy(want + 40, s.m, HB);
	memcpy(want + 72, s.v, HB);
	memcpy(want + 104, s.samples, HB);
	for (int k = 0; k < 4; k++)
		want[136 + k] = (uint8_t)(s.loss_bits >> (8 * k));
	assert_int_equal(cairn_state_encode(&s, enc), 0);
	assert_memory_equal(enc, want, sizeof enc);
	assert_int_equal(cairn_state_root(&s, r0), 0);
	hh(T_STATE, want, sizeof want, NULL, 0, h);
	assert_memory_equal(r0, h, HB);

	/* Every bit of every field counts: flip each bit in turn. */
	for (int bit = 0; bit < 8 * CAIRN_STATE_BYTES; bit++) {
		uint8_t e[CAIRN_STATE_BYTES];
		memcpy(e, want, sizeof e);
		e[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		hh(T_STATE, e, sizeof e, NULL, 0, h);
		assert_memory_not_equal(h, r0, HB);
	}
	/* And through the struct, one field at a time. */
	u = s;
	u.step++;
	cairn_state_root(&u, r1);
	assert_memory_not_equal(r0, r1, HB);
	u = s;
	u.params[rnd() % HB] ^= 1;
	cairn_state_root(&u, r1);
	assert_memory_not_equal(r0, r1, HB);
	u = s;
	u.m[rnd() % HB] ^= 1;
	cairn_state_root(&u, r1);
	assert_memory_not_equal(r0, r1, HB);
	u = s;
	u.v[rnd() % HB] ^= 1;
	cairn_state_root(&u, r1);
	assert_memory_not_equal(r0, r1, HB);
	u = s;
	u.samples[rnd() % HB] ^= 1;
	cairn_state_root(&u, r1);
	assert_memory_not_equal(r0, r1, HB);
	u = s;
	u.loss_bits ^= 0x80000000u; /* -loss */
	cairn_state_root(&u, r1);
	assert_memory_not_equal(r0, r1, HB);
	/* m and v swapped is another state. */
	u = s;
	memcpy(u.m, s.v, HB);
	memcpy(u.v, s.m, HB);
	cairn_state_root(&u, r1);
	assert_memory_not_equal(r0, r1, HB);
	assert_int_equal(cairn_state_root(NULL, r1), CAIRN_EINVAL);
	(void)state;
}

static void test_trace_root(void **state)
{
	enum { N = 9 };
	uint8_t roots[N][HB], leaves[N][HB], tree[HB], nb[8];
	uint8_t want[HB], r0[HB], r1[HB];
	fill(roots, sizeof roots);
	for (uint64_t n = 1; n <= N; n++) {
		for (uint64_t i = 0; i < n; i++)
			hh(T_TLEAF, roots[i], HB, NULL, 0, leaves[i]);
		ref_mth(T_TNODE, leaves[0], n, tree);
		u64le(nb, n);
		hh(T_TROOT, nb, 8, tree, HB, want);
		assert_int_equal(cairn_trace_root(roots[0], n, r0), 0);
		EXPECT_SAME(r0, want, HB, "trace root vs by hand");
		assert_int_equal(cairn_trace_leaf(roots[0], r1), 0);
		assert_memory_equal(r1, leaves[0], HB);
	}
	/* Any state root, the order and the count count. */
	cairn_trace_root(roots[0], N, r0);
	for (int i = 0; i < N; i++) {
		roots[i][rnd() % HB] ^= 4;
		cairn_trace_root(roots[0], N, r1);
		assert_memory_not_equal(r0, r1, HB);
		roots[i][rnd() % HB] ^= 4;
		cairn_trace_root(roots[0], N, r0);
	}
	{
		uint8_t t[HB];
		memcpy(t, roots[2], HB);
		memcpy(roots[2], roots[5], HB);
		memcpy(roots[5], t, HB);
		cairn_trace_root(roots[0], N, r1);
		assert_memory_not_equal(r0, r1, HB);
	}
	cairn_trace_root(roots[0], N - 1, r1);
	assert_memory_not_equal(r0, r1, HB);
	assert_int_equal(cairn_trace_root(roots[0], 0, r1), CAIRN_EINVAL);
	(void)state;
}

/* The step log (docs/commitments.md section 16): records, segment
 * digests and the steps root, against the by-hand hashes and the
 * document's vectors (its Python program prints the same). */
static void test_step_log(void **state)
{
	static const uint32_t idx[3] = {7, 3, 9}, one = 1, two[2] = {2, 2};
	static const uint32_t loss[4] = {0x3f800000, 0x40000000, 0x3f000000,
	                                 0x7fc00000};
	uint8_t rec[4][CAIRN_STEP_RECORD_BYTES], sd[4][HB], d[HB], want[HB];
	uint8_t head[8];

	assert_int_equal(cairn_samples_digest(idx, 3, sd[0]), 0);
	assert_int_equal(cairn_samples_digest(NULL, 0, sd[1]), 0);
	assert_int_equal(cairn_samples_digest(&one, 1, sd[2]), 0);
	assert_int_equal(cairn_samples_digest(two, 2, sd[3]), 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(cairn_step_record(sd[i], loss[i], rec[i]), 0);
		assert_memory_equal(rec[i], sd[i], HB);
		assert_int_equal(rec[i][HB] | rec[i][HB + 1] << 8 |
		                     rec[i][HB + 2] << 16 |
		                     (uint32_t)rec[i][HB + 3] << 24,
		                 loss[i]);
	}
	/* Segment 0 of c = 2: steps 1 and 2. */
	assert_int_equal(cairn_step_log_segment(1, rec[0], 2, d), 0);
	head[0] = 1, head[1] = head[2] = head[3] = 0;
	head[4] = 2, head[5] = head[6] = head[7] = 0;
	{
		uint8_t in[8 + 2 * CAIRN_STEP_RECORD_BYTES];
		memcpy(in, head, 8);
		memcpy(in + 8, rec[0], 2 * CAIRN_STEP_RECORD_BYTES);
		hh(CAIRN_DOM_STEP_LOG, in, sizeof in, NULL, 0, want);
	}
	assert_memory_equal(d, want, HB);
	from_hex(
	    "9d39de8682a8a33cbc0e1a46ade68a412055389d0178c60436f54971fc552ca6",
	    want, HB);
	assert_memory_equal(d, want, HB);
	/* The first step is bound: the same records as steps 3 and 4 give
	 * another digest. */
	assert_int_equal(cairn_step_log_segment(3, rec[0], 2, want), 0);
	assert_memory_not_equal(d, want, HB);

	assert_int_equal(cairn_step_log_root(rec[0], 2, 2, d), 0);
	from_hex(
	    "2c14978b41d33e3c6377cf2a1790acb15949c3ac89b51e2662e0b8f86f4396ae",
	    want, HB);
	assert_memory_equal(d, want, HB);
	assert_int_equal(cairn_step_log_root(rec[0], 4, 1, d), 0);
	from_hex(
	    "9861fcc959f4e6d645b7f25277762815fa3fad2792bdb3fd8ccf12cfb724f258",
	    want, HB);
	assert_memory_equal(d, want, HB);
	/* Every bit of every record counts. */
	for (int bit = 0; bit < 4 * CAIRN_STEP_RECORD_BYTES * 8; bit += 37) {
		uint8_t *p = rec[0];
		p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_equal(cairn_step_log_root(rec[0], 2, 2, d), 0);
		p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		from_hex("2c14978b41d33e3c6377cf2a1790acb15949c3ac89b51e2662e0"
		         "b8f86f4396ae",
		         want, HB);
		assert_memory_not_equal(d, want, HB);
	}
	assert_int_equal(cairn_step_log_segment(0, rec[0], 2, d), CAIRN_EINVAL);
	assert_int_equal(cairn_step_log_segment(1, rec[0], 0, d), CAIRN_EINVAL);
	assert_int_equal(cairn_step_log_root(rec[0], 0, 2, d), CAIRN_EINVAL);
	assert_int_equal(cairn_step_log_root(rec[0], 2, 0, d), CAIRN_EINVAL);
	assert_int_equal(cairn_step_log_root(NULL, 2, 2, d), CAIRN_EINVAL);
	assert_int_equal(cairn_step_record(NULL, 0, rec[0]), CAIRN_EINVAL);
	(void)state;
}

/* The same bytes hashed as different structures never give the same hash. */
static void test_domain_separation(void **state)
{
	uint8_t x[CAIRN_STATE_BYTES], h[12][HB];
	struct cairn_state s;
	uint32_t idx[8];
	int k = 0;
	random_state(&s);
	cairn_state_encode(&s, x);
	memcpy(idx, x, sizeof idx);
	cairn_state_root(&s, h[k++]);
	cairn_tensor_root(x, sizeof x, h[k++]);
	cairn_tensor_leaf(x, sizeof x, h[k++]);
	cairn_tensor_root(x, HB, h[k++]); /* 32 bytes: one chunk */
	cairn_tensor_leaf(x, HB, h[k++]);
	cairn_trace_leaf(x, h[k++]); /* the same 32 bytes */
	cairn_trace_root(x, 1, h[k++]);
	cairn_samples_digest(idx, 8, h[k++]);
	/* Inner nodes: the tensor and trace trees over the same two leaves. */
	cairn_merkle_mth(CAIRN_TREE_TENSOR, x, 2, h[k++]);
	cairn_merkle_mth(CAIRN_TREE_TRACE, x, 2, h[k++]);
	memcpy(h[k++], x, HB); /* the raw bytes themselves */
	for (int i = 0; i < k; i++)
		for (int j = 0; j < i; j++)
			if (memcmp(h[i], h[j], HB) == 0)
				fail_msg("hashes %d and %d collide", j, i);
	/* A one-state trace is not its state root, a one-chunk tensor's root
	 * is not its leaf. */
	assert_memory_not_equal(h[6], x, HB);
	assert_memory_not_equal(h[3], h[4], HB);
	(void)state;
}

/* ---- the test vectors of docs/commitments.md ------------------------- */

static void test_doc_vectors(void **state)
{
	uint8_t h[HB], sd[HB], st[HB], roots[3][HB];
	uint8_t *pat = cairn_test_xmalloc(2 * CHUNK + 1);
	uint8_t *leaves = cairn_test_xmalloc(3 * HB);
	uint8_t hdr[CAIRN_DOMAIN_HEADER_BYTES];
	char hex[CAIRN_HASH_HEX_BYTES];
	static const uint32_t idx[3] = {7, 3, 9};
	struct cairn_state s;

	cairn_domain_header(CAIRN_DOM_TENSOR_LEAF, hdr);
	for (int i = 0; i < 12; i++)
		snprintf(hex + 2 * i, 3, "%02x", hdr[i]);
	assert_string_equal(hex, "0114636169726e2f74656e73");

	cairn_tensor_root(NULL, 0, h);
	assert_hex(h, "948fd247122f6d2417017c084cdbbaed"
	              "da3109870a888c80a8515e2dc9c7d06b");
	cairn_tensor_root("abc", 3, h);
	assert_hex(h, "c1647cd200b0a3f5f731adbf34e052e2"
	              "e74341a08943093cc0a718b6ac0cc7c3");
	for (uint32_t i = 0; i < 2 * CHUNK + 1; i++)
		pat[i] = (uint8_t)(i % 251);
	cairn_tensor_leaves(pat, 2 * CHUNK + 1, leaves);
	assert_hex(leaves, "b01fa1cb44b7b6cbaabaa3178265916a"
	                   "6e9c11c3379dd00032c0efa5ebb84fdc");
	assert_hex(leaves + HB, "c2e55340623a2938d76759cfddb724ce"
	                        "63812fe1db03e1f42c98e93b3f793b1f");
	assert_hex(leaves + 2 * HB, "2844c10cda44f84609fe385c954f9b76"
	                            "dffbb46c9840e5c0b1694030af4d5a51");
	cairn_tensor_root(pat, 2 * CHUNK + 1, h);
	assert_hex(h, "50f9c03ac889a9c6ee61a01681021cee"
	              "2fad4fbd10cfd97b4be8c5dcb87ca574");

	cairn_samples_digest(NULL, 0, h);
	assert_hex(h, "8d789106082bfcc76e1f09fe911aa4bf"
	              "019273f4560a1848bc9eb53108b7fa4d");
	cairn_samples_digest(idx, 3, sd);
	assert_hex(sd, "cc770ac9523b7433c6d6584028628a5e"
	               "f45e57ca67aa20c11598e3251ec94b49");

	s.step = 5;
	memset(s.params, 0x11, HB);
	memset(s.m, 0x22, HB);
	memset(s.v, 0x33, HB);
	memcpy(s.samples, sd, HB);
	s.loss_bits = 0x3f800000u; /* 1.0f */
	cairn_state_root(&s, st);
	assert_hex(st, "52d44bfbd1d1a0d1977b72895e8c8a67"
	               "bae4d1482b1866ff2982e9f3cd063248");

	memcpy(roots[0], st, HB);
	memset(roots[1], 0xaa, HB);
	memset(roots[2], 0xbb, HB);
	cairn_trace_root(roots[0], 3, h);
	assert_hex(h, "211faa8b0f7af38a560e428d9b6e0d61"
	              "9b5b278b6c88eaf23c0b1609c70e0ed6");
	free(pat);
	free(leaves);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_samples_digest),
	    cmocka_unit_test(test_state_root),
	    cmocka_unit_test(test_trace_root),
	    cmocka_unit_test(test_step_log),
	    cmocka_unit_test(test_domain_separation),
	    cmocka_unit_test(test_doc_vectors),
	};
	if (attest_fx_init("test_attest_state"))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
