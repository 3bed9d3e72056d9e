/* cairn: the Philox4x32-10 counter-based generator and the float draws on
 * top of it (kernels/philox.h, DESIGN.md 2.5).
 *
 * Known answers come from Random123 (D. E. Shaw Research): the three
 * "philox4x32 10" lines of tests/kat_vectors, and a few more from the
 * distribution's examples/kat_vectors.  The statistical checks use a fresh
 * key each run, printed first; CAIRN_TEST_SEED reproduces a run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <math.h>

#include <cmocka.h>

#include "test_util.h"

#include "philox.h"

struct ctx {
	uint64_t seed;
};

struct kat {
	uint32_t ctr[4];
	uint32_t key[2];
	uint32_t want[4];
};

/* Format of the Random123 files: CTR (4 words), KEY (2 words), EXPECTED. */
static const struct kat kats[] = {
    /* tests/kat_vectors, the standard three */
    {{0x00000000, 0x00000000, 0x00000000, 0x00000000},
     {0x00000000, 0x00000000},
     {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
    {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
     {0xffffffff, 0xffffffff},
     {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
    {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
     {0xa4093822, 0x299f31d0},
     {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
    /* examples/kat_vectors (single bits, each key word) */
    {{0x00000001, 0x00000000, 0x00000000, 0x00000000},
     {0x00000001, 0x00000000},
     {0xac08141b, 0xdfc5ccbe, 0x79c07a47, 0xa7f66093}},
    {{0x00000000, 0x00000000, 0x00000000, 0x80000000},
     {0x00000000, 0x00000001},
     {0x0436a39b, 0x31be9efa, 0x6abd0c76, 0xe7a68f83}},
    {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
     {0x00000000, 0xffffffff},
     {0x08f7720c, 0x845ee9e0, 0x502ccd3d, 0xa9a00e27}},
    {{0xa4093822, 0x299f31d0, 0x082efa98, 0xec4e6c89},
     {0x00000000, 0x80000000},
     {0xaa74e81c, 0xc9ddb97b, 0x2c2cd881, 0x9390c78d}},
};

static uint32_t bits(float f)
{
	uint32_t u;
	memcpy(&u, &f, sizeof u);
	return u;
}

static void test_known_answers(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof kats / sizeof kats[0]; i++) {
		uint32_t out[4];
		cairn_philox4x32_10(kats[i].ctr, kats[i].key, out);
		for (int j = 0; j < 4; j++)
			assert_int_equal(out[j], kats[i].want[j]);
	}
}

/* block(key, stream, b) = philox({b lo, b hi, stream lo, stream hi},
 * {key lo, key hi}); the pi-digits vector through the block interface. */
static void test_block_mapping(void **state)
{
	const struct ctx *c = *state;
	uint64_t s = c->seed;
	uint32_t out[4], ref[4];

	cairn_philox_block(0x299f31d0a4093822ull, 0x0370734413198a2eull,
	                   0x85a308d3243f6a88ull, out);
	for (int j = 0; j < 4; j++)
		assert_int_equal(out[j], kats[2].want[j]);

	for (int i = 0; i < 10000; i++) {
		uint64_t key = cairn_test_splitmix64(&s),
		         stream = cairn_test_splitmix64(&s);
		uint64_t block = cairn_test_splitmix64(&s);
		uint32_t ctr[4] = {(uint32_t)block, (uint32_t)(block >> 32),
		                   (uint32_t)stream, (uint32_t)(stream >> 32)};
		uint32_t k[2] = {(uint32_t)key, (uint32_t)(key >> 32)};

		if (i & 1) { /* small values, where the high words are 0 */
			block &= 0xffff;
			stream &= 0xff;
			ctr[0] = (uint32_t)block;
			ctr[1] = 0;
			ctr[2] = (uint32_t)stream;
			ctr[3] = 0;
		}
		cairn_philox_block(key, stream, block, out);
		cairn_philox4x32_10(ctr, k, ref);
		assert_memory_equal(out, ref, sizeof out);
	}
	/* neighbouring blocks and streams differ */
	cairn_philox_block(1, 0, 0, out);
	cairn_philox_block(1, 0, 1, ref);
	assert_memory_not_equal(out, ref, sizeof out);
	cairn_philox_block(1, 1, 0, ref);
	assert_memory_not_equal(out, ref, sizeof out);
	cairn_philox_block(1, 1ull << 32, 0, ref);
	assert_memory_not_equal(out, ref, sizeof out);
	cairn_philox_block(1, 0, 1ull << 32, ref);
	assert_memory_not_equal(out, ref, sizeof out);
}

/* u01: the top 24 bits over 2^24, [0, 1 - 2^-24]; open0: one step up,
 * [2^-24, 1]. */
static void test_u01(void **state)
{
	const struct ctx *c = *state;
	uint64_t s = c->seed ^ 1;

	assert_int_equal(bits(cairn_rng_u01(0)), bits(0.0f));
	assert_int_equal(bits(cairn_rng_u01(0xffffffffu)),
	                 bits(0x1.fffffep-1f));
	assert_int_equal(bits(cairn_rng_u01(0x000000ffu)), bits(0.0f));
	assert_int_equal(bits(cairn_rng_u01(0x00000100u)), bits(0x1p-24f));
	assert_int_equal(bits(cairn_rng_u01(0x80000000u)), bits(0.5f));
	assert_int_equal(bits(cairn_rng_u01_open0(0)), bits(0x1p-24f));
	assert_int_equal(bits(cairn_rng_u01_open0(0xffffffffu)), bits(1.0f));
	assert_int_equal(bits(cairn_rng_u01_open0(0x7fffffffu)), bits(0.5f));
	for (int i = 0; i < 1000000; i++) {
		uint32_t w = (uint32_t)cairn_test_splitmix64(&s);
		float u = cairn_rng_u01(w), v = cairn_rng_u01_open0(w);
		assert_true(u >= 0.0f && u < 1.0f);
		assert_true(v > 0.0f && v <= 1.0f);
		assert_true(v - u == 0x1p-24f); /* exact: both multiples */
		/* lo + (hi - lo) u, one fmaf; [-1, 1) is exact */
		float x = cairn_rng_uniform(w, -1.0f, 1.0f);
		assert_true(x >= -1.0f && x < 1.0f);
		assert_int_equal(bits(x), bits(fmaf(u, 2.0f, -1.0f)));
	}
}

/* Moments of 1e6 uniforms: mean 1/2, variance 1/12 (bounds about 7
 * standard errors), and 16 equal bins by chi-square (15 degrees of
 * freedom; 60 is far out in the tail). */
static void test_uniform_stats(void **state)
{
	const struct ctx *c = *state;
	const int n = 1000000;
	uint64_t key = c->seed ^ 0x5555;
	double sum = 0, sum2 = 0, chi2 = 0;
	long bins[16] = {0};

	for (int b = 0; b < n / 4; b++) {
		uint32_t w[4];
		cairn_philox_block(key, 7, (uint64_t)b, w);
		for (int l = 0; l < 4; l++) {
			double u = cairn_rng_u01(w[l]);
			sum += u;
			sum2 += u * u;
			bins[(int)(u * 16)]++;
		}
	}
	double mean = sum / n, var = sum2 / n - mean * mean;
	for (int i = 0; i < 16; i++) {
		double e = n / 16.0, d = bins[i] - e;
		chi2 += d * d / e;
	}
	printf("uniform: mean %.6f var %.6f chi2(15) %.2f\n", mean, var, chi2);
	assert_true(fabs(mean - 0.5) < 0.002);
	assert_true(fabs(var - 1.0 / 12.0) < 0.0006);
	assert_true(chi2 < 60.0);
}

/* Box-Muller from one block: lanes 0, 1 use words 0, 1 and lanes 2, 3
 * words 2, 3.  1e6 draws: mean 0, variance 1, skew 0, kurtosis 3 and the
 * mass within one standard deviation (bounds about 7 standard errors).
 * |z| can not exceed sqrt(-2 ln 2^-24) = 5.77. */
static void test_normal_stats(void **state)
{
	const struct ctx *c = *state;
	const int n = 1000000;
	uint64_t key = c->seed ^ 0xaaaa;
	double m1 = 0, m2 = 0, m3 = 0, m4 = 0, in1 = 0;

	for (int b = 0; b < n / 4; b++) {
		uint32_t w[4];
		cairn_philox_block(key, 3, (uint64_t)b, w);
		for (int l = 0; l < 4; l++) {
			float zf = cairn_rng_normal(w, l, 0.0f, 1.0f);
			double z = zf;
			assert_true(isfinite(zf) && fabs(z) <= 5.77);
			m1 += z;
			m2 += z * z;
			m3 += z * z * z;
			m4 += z * z * z * z;
			in1 += fabs(z) < 1.0;
		}
	}
	m1 /= n, m2 /= n, m3 /= n, m4 /= n, in1 /= n;
	printf("normal: mean %.5f var %.5f skew %.5f kurt %.4f P(|z|<1) "
	       "%.5f\n",
	       m1, m2 - m1 * m1, m3, m4, in1);
	assert_true(fabs(m1) < 0.007);
	assert_true(fabs(m2 - m1 * m1 - 1.0) < 0.01);
	assert_true(fabs(m3) < 0.025);
	assert_true(fabs(m4 - 3.0) < 0.07);
	assert_true(fabs(in1 - 0.682689) < 0.0033);
}

/* Lane plumbing, the mean/std step and the ends of the u1 range. */
static void test_normal_lanes(void **state)
{
	uint32_t w[4] = {0x12345678u, 0x9abcdef0u, 0x0fedcba9u, 0x87654321u};
	uint32_t v[4];
	float z[4];
	(void)state;

	for (int l = 0; l < 4; l++)
		z[l] = cairn_rng_normal(w, l, 0.0f, 1.0f);
	memcpy(v, w, sizeof v);
	v[2] ^= 1u << 20;
	v[3] ^= 1u << 20;
	assert_int_equal(bits(cairn_rng_normal(v, 0, 0.0f, 1.0f)), bits(z[0]));
	assert_int_equal(bits(cairn_rng_normal(v, 1, 0.0f, 1.0f)), bits(z[1]));
	assert_int_not_equal(bits(cairn_rng_normal(v, 2, 0.0f, 1.0f)),
	                     bits(z[2]));
	/* lanes 2p, 2p+1 are r cos, r sin of one angle */
	for (int p = 0; p < 2; p++) {
		double r2 = (double)z[2 * p] * z[2 * p] +
		            (double)z[2 * p + 1] * z[2 * p + 1];
		double u1 = cairn_rng_u01_open0(w[2 * p]);
		assert_true(fabs(r2 - (-2.0 * log(u1))) < 1e-5 * (1 + r2));
	}
	/* z std + mean, one fmaf */
	for (int l = 0; l < 4; l++)
		assert_int_equal(bits(cairn_rng_normal(w, l, 2.0f, 3.0f)),
		                 bits(fmaf(z[l], 3.0f, 2.0f)));
	/* u1 = 1: r = 0; u1 = 2^-24: r = sqrt(48 ln 2) */
	w[0] = 0xffffffffu;
	assert_true(cairn_rng_normal(w, 0, 0.0f, 1.0f) == 0.0f);
	w[0] = 0;
	w[1] = 0; /* u2 = 0: the cos lane is r, the sin lane 0 */
	assert_true(fabs(cairn_rng_normal(w, 0, 0.0f, 1.0f) -
	                 sqrt(48.0 * log(2.0))) < 1e-5);
	assert_true(cairn_rng_normal(w, 1, 0.0f, 1.0f) == 0.0f);
}

static int group_setup(void **state)
{
	struct ctx *c = calloc(1, sizeof *c);

	if (!c)
		return -1;
	c->seed = cairn_test_seed("test_philox");
	*state = c;
	return 0;
}

static int group_teardown(void **state)
{
	free(*state);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_known_answers),
	    cmocka_unit_test(test_block_mapping),
	    cmocka_unit_test(test_u01),
	    cmocka_unit_test(test_uniform_stats),
	    cmocka_unit_test(test_normal_stats),
	    cmocka_unit_test(test_normal_lanes),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
