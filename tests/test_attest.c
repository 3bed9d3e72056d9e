/* cairn: commitments (attest/hash.c) and the portable BLAKE2b
 * (kernels/blake2b.h).
 *
 * - kernels/blake2b.h against RFC 7693's known answer and against
 *   libsodium on random messages of many lengths, split into update() calls
 *   at many points (the GPU will hash tensor chunks with that header);
 * - domains: every tag's header and string as docs/commitments.md lists
 *   them (attest_fixture.h writes them out), H against libsodium by hand,
 *   no two domains meet, the incremental API;
 * - hex.
 * Tensor roots and audit paths are test_attest_merkle.c's; states,
 * samples, traces, the step log and the document's vectors
 * test_attest_state.c's.
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

/* ---- BLAKE2b ------------------------------------------------------------ */

static void test_blake2b_kat(void **state)
{
	uint8_t want[64], got[64], ref[64];
	struct cairn_blake2b_state s;
	/* RFC 7693 Appendix A: BLAKE2b-512("abc"). */
	from_hex("ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b7"
	         "4b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc95"
	         "18d38aa8dbf1925ab92386edd4009923",
	         want, 64);
	assert_int_equal(cairn_blake2b(got, 64, "abc", 3), 0);
	assert_memory_equal(got, want, 64);
	crypto_generichash(ref, 64, (const uint8_t *)"abc", 3, NULL, 0);
	assert_memory_equal(ref, want, 64);

	/* BLAKE2b-256 of "" and "abc". */
	from_hex("0e5751c026e543b2e8ab2eb06099daa1"
	         "d1e5df47778f7787faab45cdf12fe3a8",
	         want, 32);
	assert_int_equal(cairn_blake2b(got, 32, "", 0), 0);
	assert_memory_equal(got, want, 32);
	crypto_generichash(ref, 32, NULL, 0, NULL, 0);
	assert_memory_equal(ref, want, 32);
	from_hex("bddd813c634239723171ef3fee98579b"
	         "94964e3bb1cb3e427262c8c068d52319",
	         want, 32);
	assert_int_equal(cairn_blake2b_init(&s, 32), 0);
	cairn_blake2b_update(&s, "a", 1);
	cairn_blake2b_update(&s, "", 0);
	cairn_blake2b_update(&s, "bc", 2);
	cairn_blake2b_final(&s, got);
	assert_memory_equal(got, want, 32);
	crypto_generichash(ref, 32, (const uint8_t *)"abc", 3, NULL, 0);
	assert_memory_equal(ref, want, 32);

	/* Output lengths out of range. */
	assert_int_equal(cairn_blake2b_init(&s, 0), -1);
	assert_int_equal(cairn_blake2b_init(&s, 65), -1);
	(void)state;
}

/* One-shot against libsodium: lengths at and around block and chunk
 * boundaries, a multi-MB message, every output length on some. */
static void test_blake2b_lengths(void **state)
{
	static const size_t lens[] = {
	    0,   1,   2,   63,   64,    65,    127,   128,         129,
	    255, 256, 257, 1000, 65535, 65536, 65537, 65536 + 128, 131072};
	size_t big = (3u << 20) + (size_t)(rnd() % 4096);
	uint8_t *msg = cairn_test_xmalloc(big);
	uint8_t got[64], ref[64];
	fill(msg, big);
	for (size_t i = 0; i <= sizeof lens / sizeof lens[0]; i++) {
		size_t len = i < sizeof lens / sizeof lens[0] ? lens[i] : big;
		for (size_t outlen = 1; outlen <= 64; outlen++) {
			if (outlen != 32 && (len > 300 || outlen % 7))
				continue;
			assert_int_equal(cairn_blake2b(got, outlen, msg, len),
			                 0);
			crypto_generichash(ref, outlen, msg, len, NULL, 0);
			EXPECT_SAME(got, ref, outlen, "blake2b.h vs libsodium");
		}
	}
	/* Random lengths up to 3 chunks. */
	for (int t = 0; t < 200; t++) {
		size_t len = (size_t)(rnd() % (3 * CHUNK));
		fill(msg, len);
		cairn_blake2b(got, 32, msg, len);
		crypto_generichash(ref, 32, msg, len, NULL, 0);
		EXPECT_SAME(got, ref, 32, "blake2b.h vs libsodium (random)");
	}
	free(msg);
	(void)state;
}

/* The same digest however the message is cut into update() calls. */
static void test_blake2b_splits(void **state)
{
	enum { N = 700 };
	uint8_t msg[N], got[32], ref[32];
	struct cairn_blake2b_state s;
	fill(msg, sizeof msg);
	crypto_generichash(ref, 32, msg, N, NULL, 0);
	/* Every single split point, and every pair within the first blocks. */
	for (size_t a = 0; a <= N; a++) {
		cairn_blake2b_init(&s, 32);
		cairn_blake2b_update(&s, msg, a);
		cairn_blake2b_update(&s, msg + a, N - a);
		cairn_blake2b_final(&s, got);
		EXPECT_SAME(got, ref, 32, "one split");
	}
	for (size_t a = 0; a <= 300; a++)
		for (size_t b = a; b <= 300; b += 3) {
			cairn_blake2b_init(&s, 32);
			cairn_blake2b_update(&s, msg, a);
			cairn_blake2b_update(&s, msg + a, b - a);
			cairn_blake2b_update(&s, msg + b, N - b);
			cairn_blake2b_final(&s, got);
			EXPECT_SAME(got, ref, 32, "two splits");
		}
	/* Random pieces (some empty) of random messages, up to 2 chunks. */
	{
		size_t cap = 2 * CHUNK + 1;
		uint8_t *big = cairn_test_xmalloc(cap);
		for (int t = 0; t < 100; t++) {
			size_t len = (size_t)(rnd() % cap), off = 0;
			size_t maxpiece = 1 + (size_t)(rnd() % 1000);
			fill(big, len);
			crypto_generichash(ref, 32, big, len, NULL, 0);
			cairn_blake2b_init(&s, 32);
			while (off < len) {
				size_t k = (size_t)(rnd() % (maxpiece + 1));
				if (k > len - off)
					k = len - off;
				cairn_blake2b_update(&s, big + off, k);
				off += k;
			}
			cairn_blake2b_final(&s, got);
			EXPECT_SAME(got, ref, 32, "random pieces");
		}
		free(big);
	}
	(void)state;
}

/* What the GPU will do: absorb the leaf header once, copy the state for
 * each chunk, hash the chunk.  Must equal cairn_tensor_leaf. */
static void test_blake2b_tensor_leaf(void **state)
{
	uint8_t hdr[CAIRN_DOMAIN_HEADER_BYTES], got[HB], want[HB];
	uint8_t *chunk = cairn_test_xmalloc(CHUNK);
	struct cairn_blake2b_state prefix, s;
	static const size_t lens[] = {0,   1,    127,       128,
	                              129, 4096, CHUNK - 1, CHUNK};
	assert_int_equal(cairn_domain_header(CAIRN_DOM_TENSOR_LEAF, hdr), 0);
	cairn_blake2b_init(&prefix, 32);
	cairn_blake2b_update(&prefix, hdr, sizeof hdr);
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		fill(chunk, lens[i]);
		s = prefix;
		cairn_blake2b_update(&s, chunk, lens[i]);
		cairn_blake2b_final(&s, got);
		assert_int_equal(cairn_tensor_leaf(chunk, lens[i], want), 0);
		EXPECT_SAME(got, want, HB, "device-style leaf");
	}
	free(chunk);
	(void)state;
}

/* ---- domains and hashing ---------------------------------------------- */

static void test_domains(void **state)
{
	uint8_t hdr[CAIRN_DOMAIN_HEADER_BYTES], a[HB], b[HB];
	static const uint8_t leaf_hdr[24] = {
	    0x01, 0x14, 'c', 'a', 'i', 'r', 'n', '/', 't', 'e', 'n', 's',
	    'o',  'r',  '-', 'l', 'e', 'a', 'f', '/', 'v', '1', 0,   0};
	for (int t = 1; t <= NTAGS; t++) {
		if (!tag_str[t]) { /* retired: never hashed with again */
			assert_null(cairn_domain_string(t));
			assert_int_equal(cairn_domain_header(t, hdr),
			                 CAIRN_EINVAL);
			continue;
		}
		assert_string_equal(cairn_domain_string(t), tag_str[t]);
		assert_int_equal(cairn_domain_header(t, hdr), 0);
		assert_int_equal(hdr[0], t);
		assert_int_equal(hdr[1], strlen(tag_str[t]));
		assert_memory_equal(hdr + 2, tag_str[t], hdr[1]);
		for (size_t i = 2 + hdr[1]; i < sizeof hdr; i++)
			assert_int_equal(hdr[i], 0);
		/* Same payload, different domain: different hash. */
		for (int u = 1; u < t; u++) {
			if (!tag_str[u])
				continue;
			assert_int_equal(cairn_hash_domain(t, "x", 1, a), 0);
			assert_int_equal(cairn_hash_domain(u, "x", 1, b), 0);
			assert_memory_not_equal(a, b, HB);
		}
		/* cairn_hash_domain == the by-hand H. */
		cairn_hash_domain(t, "payload", 7, a);
		hh(t, "payload", 7, NULL, 0, b);
		assert_memory_equal(a, b, HB);
	}
	assert_int_equal(cairn_domain_header(CAIRN_DOM_TENSOR_LEAF, hdr), 0);
	assert_memory_equal(hdr, leaf_hdr, sizeof leaf_hdr);
	assert_null(cairn_domain_string(0));
	assert_null(cairn_domain_string(NTAGS + 1));
	assert_int_equal(cairn_domain_header(0, hdr), CAIRN_EINVAL);
	assert_int_equal(cairn_hash_domain(0x42, "x", 1, a), CAIRN_EINVAL);
	assert_int_equal(cairn_hash_domain(1, NULL, 1, a), CAIRN_EINVAL);
	assert_int_equal(cairn_hash_domain(1, NULL, 0, a), 0);

	/* The incremental API equals the one-shot one. */
	{
		struct cairn_hash_ctx ctx;
		assert_int_equal(cairn_hash_init(&ctx, CAIRN_DOM_STATE), 0);
		assert_int_equal(cairn_hash_update(&ctx, "pay", 3), 0);
		assert_int_equal(cairn_hash_update(&ctx, NULL, 0), 0);
		assert_int_equal(cairn_hash_update(&ctx, "load", 4), 0);
		assert_int_equal(cairn_hash_final(&ctx, a), 0);
		cairn_hash_domain(CAIRN_DOM_STATE, "payload", 7, b);
		assert_memory_equal(a, b, HB);
		assert_int_equal(cairn_hash_init(&ctx, 99), CAIRN_EINVAL);
	}
	assert_int_equal(cairn_hash_equal(a, b), 1);
	b[31] ^= 1;
	assert_int_equal(cairn_hash_equal(a, b), 0);
	(void)state;
}

static void test_hex(void **state)
{
	uint8_t h[HB], back[HB], keep[HB];
	char s[CAIRN_HASH_HEX_BYTES], bad[CAIRN_HASH_HEX_BYTES + 2];
	for (int t = 0; t < 100; t++) {
		fill(h, HB);
		assert_int_equal(cairn_hash_to_hex(h, s), 0);
		assert_int_equal(strlen(s), 64);
		for (int i = 0; i < 64; i++)
			assert_true((s[i] >= '0' && s[i] <= '9') ||
			            (s[i] >= 'a' && s[i] <= 'f'));
		assert_int_equal(cairn_hash_from_hex(s, 64, back), 0);
		assert_memory_equal(h, back, HB);
	}
	from_hex("000102030405060708090a0b0c0d0e0f"
	         "f0e1d2c3b4a5968778695a4b3c2d1e0f",
	         h, HB);
	assert_hex(h, "000102030405060708090a0b0c0d0e0f"
	              "f0e1d2c3b4a5968778695a4b3c2d1e0f");

	/* Rejections leave out untouched. */
	cairn_hash_to_hex(h, s);
	memset(keep, 0x5a, HB);
	memcpy(back, keep, HB);
	assert_int_equal(cairn_hash_from_hex(s, 63, back), CAIRN_EFORMAT);
	assert_int_equal(cairn_hash_from_hex(s, 65, back), CAIRN_EFORMAT);
	assert_int_equal(cairn_hash_from_hex(s, 0, back), CAIRN_EFORMAT);
	assert_int_equal(cairn_hash_from_hex(s, 62, back), CAIRN_EFORMAT);
	static const char badc[] = {'A', 'F', 'g', 'G', ' ', 'x', '\0',
	                            '-', '/', ':', '`', '@', '\n'};
	for (size_t c = 0; c < sizeof badc; c++)
		for (int pos = 0; pos < 64; pos += 9) {
			memcpy(bad, s, sizeof s);
			bad[pos] = badc[c];
			assert_int_equal(cairn_hash_from_hex(bad, 64, back),
			                 CAIRN_EFORMAT);
		}
	memcpy(bad, s, sizeof s);
	bad[63] = 'A';
	assert_int_equal(cairn_hash_from_hex(bad, 64, back), CAIRN_EFORMAT);
	assert_memory_equal(back, keep, HB);
	assert_int_equal(cairn_hash_from_hex(NULL, 64, back), CAIRN_EINVAL);
	assert_int_equal(cairn_hash_to_hex(NULL, s), CAIRN_EINVAL);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_blake2b_kat),
	    cmocka_unit_test(test_blake2b_lengths),
	    cmocka_unit_test(test_blake2b_splits),
	    cmocka_unit_test(test_blake2b_tensor_leaf),
	    cmocka_unit_test(test_domains),
	    cmocka_unit_test(test_hex),
	};
	if (attest_fx_init("test_attest"))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
