/* cairn tests: the commitment tests' fixture, shared by test_attest.c
 * (BLAKE2b, domains, hex), test_attest_merkle.c (tensor roots and audit
 * paths) and test_attest_state.c (states, samples, traces, the step log and
 * the vectors of docs/commitments.md).
 *
 * The run's random inputs (one generator per program, seeded by
 * attest_fx_init), and the byte-level format of docs/commitments.md
 * written out independently of attest/: the domain tags and strings, H
 * with libsodium's BLAKE2b directly, and RFC 6962's MTH as the RFC writes
 * it, so that the code, the doc and the tests agree.
 *
 * Inputs are fresh random bytes each run (seed printed under the
 * program's name; set CAIRN_TEST_SEED=0x... to replay). */
#ifndef CAIRN_ATTEST_FIXTURE_H
#define CAIRN_ATTEST_FIXTURE_H

/* Include after <cmocka.h>: the helpers below fail the running test. */

#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

static inline uint64_t rnd(void)
{
	return cairn_test_splitmix64(&g_rng);
}

static inline void fill(void *p, size_t n)
{
	uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)rnd();
}

static inline void print_seed_on_failure(const char *what)
{
	fprintf(stderr,
	        "%s; seed 0x%016" PRIx64 " (CAIRN_TEST_SEED=0x%" PRIx64
	        " to replay)\n",
	        what, g_seed, g_seed);
}

#define EXPECT_SAME(a, b, n, what)                                             \
	do {                                                                   \
		if (memcmp((a), (b), (n))) {                                   \
			print_seed_on_failure(what);                           \
			fail_msg("%s differs", what);                          \
		}                                                              \
	} while (0)

static inline void from_hex(const char *hex, uint8_t *out, size_t n)
{
	assert_int_equal(strlen(hex), 2 * n);
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

static inline void assert_hex(const uint8_t *h, const char *want)
{
	char got[CAIRN_HASH_HEX_BYTES];
	assert_int_equal(cairn_hash_to_hex(h, got), 0);
	assert_string_equal(got, want);
}

/* ---- the format, written out independently of attest/ -------------------- */

/* Tags and strings as docs/commitments.md lists them. */
enum {
	T_LEAF = 1,
	T_NODE,
	T_ROOT,
	T_SAMPLES,
	T_STATE,
	T_TLEAF,
	T_TNODE,
	T_TROOT
};
static const char *const tag_str[] = {
    NULL,
    "cairn/tensor-leaf/v1",
    "cairn/tensor-node/v1",
    "cairn/tensor-root/v1",
    "cairn/samples/v1",
    "cairn/state/v1",
    "cairn/trace-leaf/v1",
    "cairn/trace-node/v1",
    "cairn/trace-root/v1",
    "cairn/signature/v1",
    "cairn/task/v1",
    NULL, /* 0x0b: retired (cairn/result/v1) */
    "cairn/dataset/v1",
    "cairn/challenge/v1",
    NULL, /* 0x0e: retired (cairn/verdict/v1) */
    "cairn/report/v1",
    "cairn/step-log/v1",
    "cairn/step-root/v1",
    "cairn/result/v2",
    "cairn/verdict/v2"};
#define NTAGS 19 /* the highest tag in use */

/* H(header(tag) || a || b) with libsodium directly. */
static inline void hh(int tag, const void *a, size_t alen, const void *b,
                      size_t blen, uint8_t out[HB])
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

static inline void node(int tag, const uint8_t *l, const uint8_t *r,
                        uint8_t out[HB])
{
	hh(tag, l, HB, r, HB, out);
}

/* RFC 6962 MTH, recursively, as the RFC writes it. */
static inline void ref_mth(int node_tag, const uint8_t *leaves, uint64_t n,
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

static inline void u64le(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* ---- the program's start ------------------------------------------------ */

/* libsodium started and the run's seed drawn, printed as prog's: 0, or
 * -1 (said on stderr) when libsodium will not start. */
static inline int attest_fx_init(const char *prog)
{
	if (sodium_init() < 0) {
		fprintf(stderr, "%s: sodium_init failed\n", prog);
		return -1;
	}
	g_seed = cairn_test_seed(prog);
	g_rng = g_seed;
	return 0;
}

#endif
