/* cairn: commitments (attest/) and the portable BLAKE2b (kernels/blake2b.h).
 *
 * - kernels/blake2b.h against RFC 7693's known answer and against
 *   libsodium on random messages of many lengths, split into update() calls
 *   at many points (the GPU will hash tensor chunks with that header);
 * - tensor roots recomputed by hand from libsodium's BLAKE2b and the
 *   byte-level format of docs/commitments.md (headers written out here, not
 *   taken from attest.h), so the code, the doc and this test agree;
 * - audit paths of every leaf of trees of 1..33 leaves, and tampered paths;
 * - state, sample and trace digests: every field counts, domains never meet;
 * - hex; and the test vectors printed in docs/commitments.md.
 *
 * Inputs are fresh random bytes each run (seed printed; set
 * CAIRN_TEST_SEED=0x... to replay). */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_util.h"
#include <sodium.h>

#include "blake2b.h"
#include "cairn/attest.h"
#include "cairn/error.h"
#include "cairn/kernels.h"

#define HB CAIRN_HASH_BYTES
#define CHUNK 65536u

/* ---- random inputs ---------------------------------------------------- */

static uint64_t g_seed;
static uint64_t g_rng;

static uint64_t rnd(void)
{
	return cairn_test_splitmix64(&g_rng);
}

static void fill(void *p, size_t n)
{
	uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)rnd();
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	assert_non_null(p);
	return p;
}

static void print_seed_on_failure(const char *what)
{
	fprintf(stderr, "%s; seed 0x%016" PRIx64 " (CAIRN_TEST_SEED=0x%" PRIx64
		" to replay)\n", what, g_seed, g_seed);
}

#define EXPECT_SAME(a, b, n, what)                                             \
	do {                                                                   \
		if (memcmp((a), (b), (n))) {                                   \
			print_seed_on_failure(what);                           \
			fail_msg("%s differs", what);                          \
		}                                                              \
	} while (0)

static void from_hex(const char *hex, uint8_t *out, size_t n)
{
	assert_int_equal(strlen(hex), 2 * n);
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

static void assert_hex(const uint8_t *h, const char *want)
{
	char got[CAIRN_HASH_HEX_BYTES];
	assert_int_equal(cairn_hash_to_hex(h, got), 0);
	assert_string_equal(got, want);
}

/* ---- the format, written out independently of attest/ -------------------- */

/* Tags and strings as docs/commitments.md lists them. */
enum { T_LEAF = 1, T_NODE, T_ROOT, T_SAMPLES, T_STATE, T_TLEAF, T_TNODE,
       T_TROOT };
static const char *const tag_str[] = {
	NULL, "cairn/tensor-leaf/v1", "cairn/tensor-node/v1",
	"cairn/tensor-root/v1", "cairn/samples/v1", "cairn/state/v1",
	"cairn/trace-leaf/v1", "cairn/trace-node/v1", "cairn/trace-root/v1",
	"cairn/signature/v1", "cairn/task/v1",
	NULL, /* 0x0b: retired (cairn/result/v1) */
	"cairn/dataset/v1", "cairn/challenge/v1",
	NULL, /* 0x0e: retired (cairn/verdict/v1) */
	"cairn/report/v1", "cairn/step-log/v1", "cairn/step-root/v1",
	"cairn/result/v2", "cairn/verdict/v2"};
#define NTAGS 19 /* the highest tag in use */

/* H(header(tag) || a || b) with libsodium directly. */
static void hh(int tag, const void *a, size_t alen, const void *b, size_t blen,
	       uint8_t out[HB])
{
	uint8_t hdr[128] = {0};
	crypto_generichash_state st;
	size_t sl = strlen(tag_str[tag]);
	hdr[0] = (uint8_t)tag;
	hdr[1] = (uint8_t)sl;
	memcpy(hdr + 2, tag_str[tag], sl);
	crypto_generichash_init(&st, NULL, 0, HB);
	crypto_generichash_update(&st, hdr, sizeof hdr);
	if (alen)
		crypto_generichash_update(&st, a, alen);
	if (blen)
		crypto_generichash_update(&st, b, blen);
	crypto_generichash_final(&st, out, HB);
}

static void node(int tag, const uint8_t *l, const uint8_t *r, uint8_t out[HB])
{
	hh(tag, l, HB, r, HB, out);
}

/* RFC 6962 MTH, recursively, as the RFC writes it. */
static void ref_mth(int node_tag, const uint8_t *leaves, uint64_t n,
		    uint8_t out[HB])
{
	uint64_t k = 1;
	uint8_t l[HB], r[HB];
	if (n == 1) {
		memcpy(out, leaves, HB);
		return;
	}
	while (2 * k < n)
		k *= 2;
	ref_mth(node_tag, leaves, k, l);
	ref_mth(node_tag, leaves + k * HB, n - k, r);
	node(node_tag, l, r, out);
}

static void u64le(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void ref_tensor_root(const uint8_t *b, uint64_t len, uint8_t out[HB])
{
	uint64_t n = len ? (len + CHUNK - 1) / CHUNK : 1;
	uint8_t *leaves = xmalloc(n * HB), tree[HB], lenb[8];
	for (uint64_t i = 0; i < n; i++) {
		uint64_t cl = len - i * CHUNK < CHUNK ? len - i * CHUNK : CHUNK;
		hh(T_LEAF, len ? b + i * CHUNK : NULL, cl, NULL, 0,
		   leaves + i * HB);
	}
	ref_mth(T_NODE, leaves, n, tree);
	u64le(lenb, len);
	hh(T_ROOT, lenb, 8, tree, HB, out);
	free(leaves);
}

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
	static const size_t lens[] = {0,     1,     2,     63,    64,    65,
				      127,   128,   129,   255,   256,   257,
				      1000,  65535, 65536, 65537, 65536 + 128,
				      131072};
	size_t big = (3u << 20) + (size_t)(rnd() % 4096);
	uint8_t *msg = xmalloc(big);
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
		uint8_t *big = xmalloc(cap);
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
	uint8_t *chunk = xmalloc(CHUNK);
	struct cairn_blake2b_state prefix, s;
	static const size_t lens[] = {0, 1, 127, 128, 129, 4096, CHUNK - 1,
				      CHUNK};
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
	static const char badc[] = {'A', 'F', 'g', 'G', ' ', 'x', '\0', '-',
				    '/', ':', '`', '@', '\n'};
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

/* ---- tensor roots ----------------------------------------------------- */

/* The tree part written out for small n (l[i] = leaf i, N = node):
 * checks the RFC 6962 shape itself, not just two implementations of it. */
static void by_hand_mth(const uint8_t (*l)[HB], int n, uint8_t out[HB])
{
	uint8_t a[HB], b[HB], c[HB], d[HB], e[HB];
	switch (n) {
	case 1:
		memcpy(out, l[0], HB);
		break;
	case 2:
		node(T_NODE, l[0], l[1], out);
		break;
	case 3: /* N(N(0,1), 2) */
		node(T_NODE, l[0], l[1], a);
		node(T_NODE, a, l[2], out);
		break;
	case 4: /* N(N(0,1), N(2,3)) */
		node(T_NODE, l[0], l[1], a);
		node(T_NODE, l[2], l[3], b);
		node(T_NODE, a, b, out);
		break;
	case 5: /* N(N(N(0,1),N(2,3)), 4) */
		node(T_NODE, l[0], l[1], a);
		node(T_NODE, l[2], l[3], b);
		node(T_NODE, a, b, c);
		node(T_NODE, c, l[4], out);
		break;
	case 7: /* N(N(N(0,1),N(2,3)), N(N(4,5), 6)) */
		node(T_NODE, l[0], l[1], a);
		node(T_NODE, l[2], l[3], b);
		node(T_NODE, a, b, c);
		node(T_NODE, l[4], l[5], d);
		node(T_NODE, d, l[6], e);
		node(T_NODE, c, e, out);
		break;
	case 8:
	case 9: /* 8: N(N(N01,N23), N(N45,N67)); 9: N(that, 8) */
		node(T_NODE, l[0], l[1], a);
		node(T_NODE, l[2], l[3], b);
		node(T_NODE, a, b, c);
		node(T_NODE, l[4], l[5], a);
		node(T_NODE, l[6], l[7], b);
		node(T_NODE, a, b, d);
		node(T_NODE, c, d, e);
		if (n == 8)
			memcpy(out, e, HB);
		else
			node(T_NODE, e, l[8], out);
		break;
	default:
		fail_msg("no by-hand tree for %d leaves", n);
	}
}

static void test_tensor_structure(void **state)
{
	static const int ns[] = {1, 2, 3, 4, 5, 7, 8, 9};
	uint8_t(*l)[HB] = xmalloc(9 * HB);
	uint8_t *bytes = xmalloc(9 * CHUNK);
	uint8_t tree[HB], want[HB], got[HB], ref[HB], lenb[8];
	for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
		int n = ns[k];
		/* Last chunk full or partial (1..64K bytes). */
		uint64_t tail = rnd() % 2 ? CHUNK : 1 + rnd() % CHUNK;
		uint64_t len = (uint64_t)(n - 1) * CHUNK + tail;
		fill(bytes, len);
		assert_int_equal(cairn_tensor_leaf_count(len), n);
		for (int i = 0; i < n; i++)
			hh(T_LEAF, bytes + (uint64_t)i * CHUNK,
			   i == n - 1 ? tail : CHUNK, NULL, 0, l[i]);
		by_hand_mth((const uint8_t(*)[HB])l, n, tree);
		u64le(lenb, len);
		hh(T_ROOT, lenb, 8, tree, HB, want);
		assert_int_equal(cairn_tensor_root(bytes, len, got), 0);
		EXPECT_SAME(got, want, HB, "tensor root vs by-hand tree");
		ref_tensor_root(bytes, len, ref);
		EXPECT_SAME(got, ref, HB, "tensor root vs recursive MTH");
		assert_int_equal(cairn_merkle_mth(CAIRN_TREE_TENSOR, l[0],
						  (uint64_t)n, got),
				 0);
		EXPECT_SAME(got, tree, HB, "cairn_merkle_mth");
	}
	/* Larger trees against the recursive MTH. */
	for (uint64_t n = 1; n <= 70; n++) {
		uint8_t *lv = xmalloc(n * HB);
		fill(lv, n * HB);
		ref_mth(T_NODE, lv, n, want);
		assert_int_equal(
			cairn_merkle_mth(CAIRN_TREE_TENSOR, lv, n, got), 0);
		EXPECT_SAME(got, want, HB, "MTH vs recursive MTH");
		ref_mth(T_TNODE, lv, n, want);
		assert_int_equal(cairn_merkle_mth(CAIRN_TREE_TRACE, lv, n, got),
				 0);
		EXPECT_SAME(got, want, HB, "trace MTH vs recursive MTH");
		free(lv);
	}
	assert_int_equal(cairn_merkle_mth(CAIRN_TREE_TENSOR, l[0], 0, got),
			 CAIRN_EINVAL);
	assert_int_equal(cairn_merkle_mth(7, l[0], 1, got), CAIRN_EINVAL);
	free(l);
	free(bytes);
	(void)state;
}

static void test_tensor_from_leaves(void **state)
{
	uint8_t *bytes = xmalloc(5 * CHUNK), a[HB], b[HB];
	int rc;
	for (int t = 0; t < 30; t++) {
		uint64_t len = t == 0 ? 0 : rnd() % (5 * CHUNK);
		uint64_t n = cairn_tensor_leaf_count(len);
		uint8_t *leaves = xmalloc(n * HB), *dev = xmalloc(n * HB);
		fill(bytes, len);
		assert_int_equal(cairn_tensor_leaves(bytes, len, leaves), 0);
		/* The leaves as blake2b.h (the device) computes them. */
		{
			uint8_t hdr[CAIRN_DOMAIN_HEADER_BYTES];
			struct cairn_blake2b_state p, s;
			cairn_domain_header(CAIRN_DOM_TENSOR_LEAF, hdr);
			cairn_blake2b_init(&p, 32);
			cairn_blake2b_update(&p, hdr, sizeof hdr);
			for (uint64_t i = 0; i < n; i++) {
				uint64_t cl = len - i * CHUNK;
				s = p;
				cairn_blake2b_update(&s, bytes + i * CHUNK,
						     cl < CHUNK ? cl : CHUNK);
				cairn_blake2b_final(&s, dev + i * HB);
			}
		}
		EXPECT_SAME(leaves, dev, n * HB, "leaves: host vs blake2b.h");
		assert_int_equal(cairn_tensor_root(bytes, len, a), 0);
		rc = cairn_tensor_root_from_leaves(dev, n, len, b);
		assert_int_equal(rc, 0);
		EXPECT_SAME(a, b, HB, "root from leaves vs root from bytes");
		rc = cairn_tensor_root_from_leaves(dev, n + 1, len, b);
		assert_int_equal(rc, CAIRN_EINVAL);
		if (n > 1) {
			rc = cairn_tensor_root_from_leaves(dev, n - 1, len, b);
			assert_int_equal(rc, CAIRN_EINVAL);
		}
		free(leaves);
		free(dev);
	}
	free(bytes);
	(void)state;
}

/* The leaves as a backend computes them (cairn_hash_chunks with the leaf
 * domain header, 64 KiB chunks; the op itself knows no domains) equal
 * cairn_tensor_leaf of each chunk, and give cairn_tensor_root's root. */
static void test_tensor_leaves_on_backend(void **state)
{
	static const uint64_t lens[] = {0,	   1,	      127,
					128,	   CHUNK - 1, CHUNK,
					CHUNK + 1, 3 * CHUNK + 5};
	static const cairn_backend_kind kinds[] = {
	    CAIRN_BACKEND_REF, CAIRN_BACKEND_CPU, CAIRN_BACKEND_CUDA};
	uint8_t hdr[CAIRN_DOMAIN_HEADER_BYTES], a[HB], b[HB], want[HB];
	uint8_t *bytes = xmalloc(3 * CHUNK + 5);

	assert_int_equal(CAIRN_DOMAIN_HEADER_BYTES,
			 CAIRN_HASH_CHUNKS_HEADER_BYTES);
	assert_int_equal(cairn_domain_header(CAIRN_DOM_TENSOR_LEAF, hdr), 0);
	for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
		cairn_backend *be = NULL;
		char why[128];
		if (kinds[k] == CAIRN_BACKEND_CUDA &&
		    cairn_cuda_probe(why, sizeof why) <= 0)
			continue; /* no GPU here: test_kernels --backend cuda */
		assert_int_equal(cairn_backend_open(kinds[k], NULL, &be), 0);
		for (size_t t = 0; t < sizeof lens / sizeof lens[0]; t++) {
			uint64_t len = lens[t];
			uint64_t n = cairn_tensor_leaf_count(len);
			uint8_t *leaves = xmalloc(n * HB);
			void *dd = NULL, *dl = NULL;
			fill(bytes, len);
			assert_int_equal(cairn_buf_alloc(be, len ? len : 1, &dd),
					 0);
			assert_int_equal(cairn_buf_alloc(be, n * HB, &dl), 0);
			assert_int_equal(cairn_buf_write(be, dd, bytes, len), 0);
			assert_int_equal(cairn_hash_chunks(be, dd, (int64_t)len,
							   CHUNK, hdr, dl),
					 0);
			assert_int_equal(cairn_buf_read(be, leaves, dl, n * HB),
					 0);
			for (uint64_t i = 0; i < n; i++) {
				uint64_t cl = len - i * CHUNK;
				assert_int_equal(
				    cairn_tensor_leaf(bytes + i * CHUNK,
						      cl < CHUNK ? cl : CHUNK,
						      want),
				    0);
				EXPECT_SAME(leaves + i * HB, want, HB,
					    "hash_chunks leaf vs tensor_leaf");
			}
			assert_int_equal(cairn_tensor_root(bytes, len, a), 0);
			assert_int_equal(
			    cairn_tensor_root_from_leaves(leaves, n, len, b), 0);
			EXPECT_SAME(a, b, HB,
				    "root from hash_chunks leaves vs root");
			cairn_buf_free(be, dd);
			cairn_buf_free(be, dl);
			free(leaves);
		}
		cairn_backend_close(be);
	}
	free(bytes);
	(void)state;
}

static void test_tensor_distinct(void **state)
{
	enum { LEN = 3 * 65536 + 100 };
	uint8_t *b = xmalloc(LEN + 1), r0[HB], r1[HB], want[HB];
	uint8_t zero = 0, lenb[8], leaf[HB];
	fill(b, LEN + 1);
	/* Every prefix length near chunk boundaries gives its own root. */
	static const uint64_t lens[] = {0,         1,         2,
					65535,     65536,     65537,
					131071,    131072,    131073,
					LEN - 1,   LEN};
	uint8_t roots[sizeof lens / sizeof lens[0]][HB];
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		assert_int_equal(cairn_tensor_root(b, lens[i], roots[i]), 0);
		for (size_t j = 0; j < i; j++)
			assert_memory_not_equal(roots[i], roots[j], HB);
	}
	/* Trailing zero bytes are not the same tensor. */
	memset(b, 0, 65537);
	cairn_tensor_root(b, 65536, r0);
	cairn_tensor_root(b, 65537, r1);
	assert_memory_not_equal(r0, r1, HB);
	/* One flipped bit anywhere changes the root. */
	fill(b, LEN);
	cairn_tensor_root(b, LEN, r0);
	for (int t = 0; t < 20; t++) {
		uint64_t pos = rnd() % LEN;
		uint8_t bit = (uint8_t)(1u << (rnd() % 8));
		b[pos] ^= bit;
		cairn_tensor_root(b, LEN, r1);
		assert_memory_not_equal(r0, r1, HB);
		b[pos] ^= bit;
	}
	/* The empty tensor: one empty chunk, bound to length 0. */
	assert_int_equal(cairn_tensor_leaf_count(0), 1);
	assert_int_equal(cairn_tensor_root(NULL, 0, r0), 0);
	hh(T_LEAF, NULL, 0, NULL, 0, leaf);
	u64le(lenb, 0);
	hh(T_ROOT, lenb, 8, leaf, HB, want);
	assert_memory_equal(r0, want, HB);
	cairn_tensor_root(&zero, 1, r1);
	assert_memory_not_equal(r0, r1, HB);
	/* Arguments. */
	assert_int_equal(cairn_tensor_root(NULL, 1, r0), CAIRN_EINVAL);
	assert_int_equal(cairn_tensor_leaf(b, CHUNK + 1, r0), CAIRN_EINVAL);
	assert_int_equal(cairn_tensor_leaf_count(CHUNK), 1);
	assert_int_equal(cairn_tensor_leaf_count(CHUNK + 1), 2);
	assert_int_equal(cairn_tensor_leaf_count(UINT64_MAX),
			 (UINT64_MAX >> 16) + 1);
	free(b);
	(void)state;
}

/* ---- proofs ----------------------------------------------------------- */

/* Verify for tree kind: 0 = tensor (leaf hashes, root bound to a byte
 * length giving n leaves), 1 = trace (state roots). */
struct ptree {
	int kind;
	uint64_t n, total; /* total: tensor bytes */
	uint8_t *items;    /* tensor: leaf hashes; trace: state roots */
	uint8_t root[HB];
};

static int pverify(const struct ptree *t, uint64_t n, uint64_t index,
		   const uint8_t *item, const struct cairn_merkle_path *p)
{
	if (t->kind == 0) {
		uint64_t total = n == t->n ? t->total : (n - 1) * CHUNK + 1;
		return cairn_tensor_verify(t->root, total, index, item, p);
	}
	return cairn_trace_verify(t->root, n, index, item, p);
}

static void ptree_make(struct ptree *t, int kind, uint64_t n)
{
	t->kind = kind;
	t->n = n;
	t->items = xmalloc(n * HB);
	fill(t->items, n * HB);
	if (kind == 0) {
		t->total = (n - 1) * CHUNK + 1 + rnd() % CHUNK;
		int rc = cairn_tensor_root_from_leaves(t->items, n, t->total,
						       t->root);
		assert_int_equal(rc, 0);
	} else {
		assert_int_equal(cairn_trace_root(t->items, n, t->root), 0);
	}
}

static void ptree_prove(const struct ptree *t, uint64_t i,
			struct cairn_merkle_path *p)
{
	if (t->kind == 0)
		assert_int_equal(cairn_tensor_prove(t->items, t->n, i, p), 0);
	else
		assert_int_equal(cairn_trace_prove(t->items, t->n, i, p), 0);
}

/* Leaf i of t: its path verifies, and every tampered variant fails.
 * p and q are scratch paths. */
static void check_leaf_proof(const struct ptree *t, uint64_t i,
			     struct cairn_merkle_path *p,
			     struct cairn_merkle_path *q)
{
	const uint8_t *it = t->items + i * HB;
	uint64_t n = t->n;
	uint8_t item[HB];
	struct ptree u;
	ptree_prove(t, i, p);
	assert_true(p->len <= 6); /* depth of a tree of <= 33 leaves */
	assert_int_equal(pverify(t, n, i, it, p), 0);

	/* Wrong leaf: every other item, and one flipped bit. */
	for (uint64_t j = 0; j < n; j++)
		if (j != i)
			assert_int_not_equal(
				pverify(t, n, i, t->items + j * HB, p), 0);
	memcpy(item, it, HB);
	item[rnd() % HB] ^= (uint8_t)(1u << (rnd() % 8));
	assert_int_equal(pverify(t, n, i, item, p), CAIRN_ECRYPTO);
	/* Wrong index. */
	for (uint64_t j = 0; j < n; j++)
		if (j != i)
			assert_int_not_equal(pverify(t, n, j, it, p), 0);
	assert_int_equal(pverify(t, n, n, it, p), CAIRN_EINVAL);
	/* Wrong size: every other size up to 40. */
	for (uint64_t m = i + 1; m <= 40; m++)
		if (m != n)
			assert_int_not_equal(pverify(t, m, i, it, p), 0);
	/* A flipped bit in each path entry. */
	for (uint32_t k = 0; k < p->len; k++) {
		*q = *p;
		q->hash[k][rnd() % HB] ^= (uint8_t)(1u << (rnd() % 8));
		assert_int_equal(pverify(t, n, i, it, q), CAIRN_ECRYPTO);
	}
	/* Truncated, emptied, extended, absurdly long. */
	if (p->len > 0) {
		*q = *p;
		q->len--;
		assert_int_equal(pverify(t, n, i, it, q), CAIRN_ECRYPTO);
		q->len = 0;
		assert_int_equal(pverify(t, n, i, it, q), CAIRN_ECRYPTO);
	}
	*q = *p;
	fill(q->hash[q->len], HB);
	q->len++;
	assert_int_equal(pverify(t, n, i, it, q), CAIRN_ECRYPTO);
	*q = *p;
	q->len = CAIRN_MERKLE_MAX_PATH + 1;
	assert_int_equal(pverify(t, n, i, it, q), CAIRN_ECRYPTO);
	/* Wrong root. */
	u = *t;
	u.root[rnd() % HB] ^= 1;
	assert_int_equal(pverify(&u, n, i, it, p), CAIRN_ECRYPTO);
}

static void test_proofs(void **state)
{
	struct cairn_merkle_path *p = xmalloc(sizeof *p);
	struct cairn_merkle_path *q = xmalloc(sizeof *q);
	for (int kind = 0; kind < 2; kind++)
		for (uint64_t n = 1; n <= 33; n++) {
			struct ptree t;
			ptree_make(&t, kind, n);
			for (uint64_t i = 0; i < n; i++)
				check_leaf_proof(&t, i, p, q);
			free(t.items);
		}
	free(p);
	free(q);
	(void)state;
}

/* Chunks checked on arrival (blob transfer): the chunk's bytes, its
 * length and the tensor's length all count. */
static void test_tensor_chunk_proofs(void **state)
{
	uint64_t len = 4 * CHUNK + 1 + rnd() % (CHUNK - 1);
	uint64_t n = cairn_tensor_leaf_count(len);
	uint8_t *b = xmalloc(len), *leaves = xmalloc(n * HB), root[HB];
	int rc;
	struct cairn_merkle_path *p = xmalloc(sizeof *p);
	fill(b, len);
	assert_int_equal(n, 5);
	assert_int_equal(cairn_tensor_leaves(b, len, leaves), 0);
	assert_int_equal(cairn_tensor_root(b, len, root), 0);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t cl = i + 1 < n ? CHUNK : len - i * CHUNK;
		uint8_t *c = b + i * CHUNK;
		assert_int_equal(cairn_tensor_prove(leaves, n, i, p), 0);
		assert_int_equal(
			cairn_tensor_verify_chunk(root, len, i, c, cl, p), 0);
		/* Same leaf count, another byte length: another root. */
		rc = cairn_tensor_verify(root, len - 1, i, leaves + i * HB, p);
		assert_int_equal(rc, CAIRN_ECRYPTO);
		rc = cairn_tensor_verify(root, len + 1, i, leaves + i * HB, p);
		assert_int_equal(rc, CAIRN_ECRYPTO);
		/* A chunk one byte short or long. */
		assert_int_equal(
			cairn_tensor_verify_chunk(root, len, i, c, cl - 1, p),
			CAIRN_ECRYPTO);
		if (i + 1 == n) {
			rc = cairn_tensor_verify_chunk(root, len, i, c, cl + 1,
						       p);
			assert_int_equal(rc, CAIRN_ECRYPTO);
		}
		/* A changed byte. */
		c[rnd() % cl] ^= 0x80;
		assert_int_equal(
			cairn_tensor_verify_chunk(root, len, i, c, cl, p),
			CAIRN_ECRYPTO);
		fill(c, cl);
	}
	assert_int_equal(cairn_tensor_verify_chunk(root, len, n, b, 1, p),
			 CAIRN_EINVAL);
	assert_int_equal(cairn_tensor_prove(leaves, n, n, p), CAIRN_EINVAL);
	/* The empty tensor's only chunk. */
	assert_int_equal(cairn_tensor_root(NULL, 0, root), 0);
	cairn_tensor_leaf(NULL, 0, leaves);
	assert_int_equal(cairn_tensor_prove(leaves, 1, 0, p), 0);
	assert_int_equal(p->len, 0);
	assert_int_equal(cairn_tensor_verify_chunk(root, 0, 0, NULL, 0, p), 0);
	assert_int_equal(cairn_tensor_verify_chunk(root, 1, 0, b, 1, p),
			 CAIRN_ECRYPTO);
	free(b);
	free(leaves);
	free(p);
	(void)state;
}

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
	from_hex("9d39de8682a8a33cbc0e1a46ade68a412055389d0178c60436f54971fc552ca6",
		 want, HB);
	assert_memory_equal(d, want, HB);
	/* The first step is bound: the same records as steps 3 and 4 give
	 * another digest. */
	assert_int_equal(cairn_step_log_segment(3, rec[0], 2, want), 0);
	assert_memory_not_equal(d, want, HB);

	assert_int_equal(cairn_step_log_root(rec[0], 2, 2, d), 0);
	from_hex("2c14978b41d33e3c6377cf2a1790acb15949c3ac89b51e2662e0b8f86f4396ae",
		 want, HB);
	assert_memory_equal(d, want, HB);
	assert_int_equal(cairn_step_log_root(rec[0], 4, 1, d), 0);
	from_hex("9861fcc959f4e6d645b7f25277762815fa3fad2792bdb3fd8ccf12cfb724f258",
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
	cairn_tensor_root(x, HB, h[k++]);      /* 32 bytes: one chunk */
	cairn_tensor_leaf(x, HB, h[k++]);
	cairn_trace_leaf(x, h[k++]);           /* the same 32 bytes */
	cairn_trace_root(x, 1, h[k++]);
	cairn_samples_digest(idx, 8, h[k++]);
	/* Inner nodes: the tensor and trace trees over the same two leaves. */
	cairn_merkle_mth(CAIRN_TREE_TENSOR, x, 2, h[k++]);
	cairn_merkle_mth(CAIRN_TREE_TRACE, x, 2, h[k++]);
	memcpy(h[k++], x, HB);                 /* the raw bytes themselves */
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
	uint8_t *pat = xmalloc(2 * CHUNK + 1);
	uint8_t *leaves = xmalloc(3 * HB);
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
		cmocka_unit_test(test_blake2b_kat),
		cmocka_unit_test(test_blake2b_lengths),
		cmocka_unit_test(test_blake2b_splits),
		cmocka_unit_test(test_blake2b_tensor_leaf),
		cmocka_unit_test(test_domains),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_tensor_structure),
		cmocka_unit_test(test_tensor_from_leaves),
		cmocka_unit_test(test_tensor_leaves_on_backend),
		cmocka_unit_test(test_tensor_distinct),
		cmocka_unit_test(test_proofs),
		cmocka_unit_test(test_tensor_chunk_proofs),
		cmocka_unit_test(test_samples_digest),
		cmocka_unit_test(test_state_root),
		cmocka_unit_test(test_trace_root),
		cmocka_unit_test(test_step_log),
		cmocka_unit_test(test_domain_separation),
		cmocka_unit_test(test_doc_vectors),
	};
	if (sodium_init() < 0) {
		fprintf(stderr, "test_attest: sodium_init failed\n");
		return 1;
	}
	g_seed = cairn_test_seed("test_attest");
	g_rng = g_seed;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
