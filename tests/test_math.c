/* cairn: the deterministic transcendentals of kernels/cairn_math.h against a
 * double-precision libm reference (DESIGN.md 2.4).
 *
 * Each function is swept over several million arguments: random bit
 * patterns over the whole float range, bit-space sweeps (every binade
 * equally), uniform draws in the ranges that matter, runs of consecutive
 * floats around thresholds and switch points, and the special values, which
 * are also checked bit for bit.  The error of a result is measured in ulps
 * at the magnitude of the double reference (2^-149 below 2^-126); the worst
 * error per function and its argument are printed, and the test fails when
 * it exceeds that function's bound (fn_bound, below).
 *
 * The random part takes a fresh seed each run, printed first; set
 * CAIRN_TEST_SEED to reproduce a run.  CAIRN_TEST_EXHAUSTIVE=1 also runs
 * every one of the 2^32 arguments through each function (minutes; that is
 * how the figures in docs/numeric-profile.md were measured). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <math.h>
#include <float.h>

#include <cmocka.h>

#include "test_util.h"

#include "cairn_math.h"

enum fn { FN_EXP, FN_LOG, FN_TANH, FN_SINPI, FN_COSPI, FN_COUNT };

/* The worst errors over all 2^32 arguments (CAIRN_TEST_EXHAUSTIVE=1):
 *   expf   0.7745 ulp at -87.7419891 (0xc2af7be6), a subnormal result;
 *          0.6358 where the result is normal
 *   logf   0.8578 ulp at 0.704180419 (0x3f34452b)
 *   tanhf  0.7607 ulp at 0.534284353 (0x3f08c6dc)
 *   sinpif 0.7618 ulp at 0.234866917 (0x3e7080f4)
 *   cospif 0.7618 ulp at 0.265133083 (0x3e87bf86)
 * The functions give the same bits everywhere, so these are exact upper
 * bounds for any sample; the bounds below sit just above them and fail
 * on any real change in accuracy. */
static const double fn_bound[FN_COUNT] = {0.80, 0.88, 0.80, 0.80, 0.80};
#define EXP_NORMAL_BOUND 0.65 /* expf where the result is normal */

#define PIO2_D 1.57079632679489661923

static const char *const fn_names[FN_COUNT] = {"expf", "logf", "tanhf",
                                               "sinpif", "cospif"};

struct ctx {
	uint64_t seed;
};

/* Worst error seen for one function. */
struct acc {
	enum fn fn;
	double worst;
	float at;
	float got;
	double ref;
	uint64_t n;
	struct acc *tiny; /* if set, takes the results below 2^-126 */
};

/* ---- helpers ------------------------------------------------------------ */

static float u2f(uint32_t u)
{
	float f;
	memcpy(&f, &u, sizeof f);
	return f;
}

static uint32_t f2u(float f)
{
	uint32_t u;
	memcpy(&u, &f, sizeof u);
	return u;
}

/* A uniform double in [lo, hi), rounded to float. */
static float uniform(uint64_t *s, double lo, double hi)
{
	double u = (double)(cairn_test_splitmix64(s) >> 11) * 0x1p-53;
	return (float)(lo + (hi - lo) * u);
}

/* sin(pi x) or cos(pi x) in double with an exact reduction: v = 2|x| and
 * v - round(v) are exact in double, so only sin/cos of an angle in
 * [-pi/4, pi/4] is left to libm. */
static double ref_sincospi(float x, int want_cos)
{
	double a = fabs((double)x);
	double v, n, r, s, c, res;
	long q;

	if (isinf(a) || isnan(a))
		return NAN;
	v = 2.0 * a;
	n = nearbyint(v);
	r = v - n;
	q = (long)fmod(n, 4.0);
	s = sin(PIO2_D * r);
	c = cos(PIO2_D * r);
	if (!want_cos) {
		res = (q & 1) ? c : s;
		if (q & 2)
			res = -res;
		return signbit(x) ? -res : res;
	}
	res = (q & 1) ? s : c;
	if ((q + 1) & 2)
		res = -res;
	return res;
}

static float eval(enum fn fn, float x, double *ref)
{
	switch (fn) {
	case FN_EXP:
		*ref = exp((double)x);
		return cairn_expf(x);
	case FN_LOG:
		*ref = x < 0.0f ? NAN : log((double)x);
		return cairn_logf(x);
	case FN_TANH:
		*ref = tanh((double)x);
		return cairn_tanhf(x);
	case FN_SINPI:
		*ref = ref_sincospi(x, 0);
		return cairn_sinpif(x);
	default:
		*ref = ref_sincospi(x, 1);
		return cairn_cospif(x);
	}
}

/* |y - ref| in ulps of ref's magnitude; infinite where the kind is wrong
 * (NaN for a number, inf for a finite value or the other way round). */
static double ulp_err(float y, double ref)
{
	double ar, u;
	float rf;
	int e;

	if (isnan(ref))
		return isnan(y) ? 0.0 : INFINITY;
	if (isnan(y))
		return INFINITY;
	rf = (float)ref;
	if (isinf(y))
		return (isinf(rf) && (y > 0) == (rf > 0)) ? 0.0 : INFINITY;
	ar = fabs(ref);
	if (ar == 0.0) {
		u = 0x1p-149;
	} else {
		e = ilogb(ar);
		e = e < -126 ? -126 : e;
		e = e > 127 ? 127 : e;
		u = ldexp(1.0, e - 23);
	}
	return fabs((double)y - ref) / u;
}

static void check(struct acc *a, float x)
{
	double ref, err;
	float y = eval(a->fn, x, &ref);

	if (a->tiny && fabs(ref) < 0x1p-126)
		a = a->tiny;
	err = ulp_err(y, ref);
	a->n++;
	if (err > a->worst || (a->n == 1 && err == 0.0)) {
		a->worst = err;
		a->at = x;
		a->got = y;
		a->ref = ref;
	}
}

/* count arguments spread evenly in bit space over [lo, hi] (both > 0),
 * each also with its sign flipped when both_signs. */
static void sweep(struct acc *a, float lo, float hi, uint32_t count,
                  int both_signs)
{
	uint32_t ul = f2u(lo), uh = f2u(hi);
	uint64_t span = (uint64_t)(uh - ul);

	for (uint32_t i = 0; i < count; i++) {
		uint32_t u =
		    ul + (uint32_t)(span * i / (count > 1 ? count - 1 : 1));
		check(a, u2f(u));
		if (both_signs)
			check(a, u2f(u | 0x80000000u));
	}
}

/* The 2 half + 1 consecutive floats centred on x (of either sign). */
static void around(struct acc *a, float x, uint32_t half)
{
	uint32_t u = f2u(x);
	uint32_t mag = u & 0x7fffffffu, sign = u & 0x80000000u;
	uint32_t lo = mag > half ? mag - half : 0;

	for (uint32_t m = lo; m <= mag + half; m++)
		check(a, u2f(m | sign));
}

static void random_bits(struct acc *a, uint64_t *s, uint32_t count)
{
	for (uint32_t i = 0; i < count; i++)
		check(a, u2f((uint32_t)cairn_test_splitmix64(s)));
}

static void random_range(struct acc *a, uint64_t *s, double lo, double hi,
                         uint32_t count)
{
	for (uint32_t i = 0; i < count; i++)
		check(a, uniform(s, lo, hi));
}

static void report(const struct acc *a)
{
	printf("cairn_%s: worst %.4f ulp at x = %a (%.9g): got %a, "
	       "reference %a; %llu arguments\n",
	       fn_names[a->fn], a->worst, (double)a->at, (double)a->at,
	       (double)a->got, a->ref, (unsigned long long)a->n);
	fflush(stdout);
}

static uint64_t test_seed(void **state, enum fn fn)
{
	const struct ctx *c = *state;
	return c->seed ^ ((uint64_t)(fn + 1) * 0xd1342543de82ef95ull);
}

/* Bitwise equality, NaN matching any NaN. */
#define assert_same(got, want)                                                 \
	do {                                                                   \
		float g_ = (got), w_ = (want);                                 \
		if (isnan(w_))                                                 \
			assert_true(isnan(g_));                                \
		else                                                           \
			assert_int_equal(f2u(g_), f2u(w_));                    \
	} while (0)

/* ---- exp ----------------------------------------------------------------- */

static void test_expf_special(void **state)
{
	(void)state;
	assert_same(cairn_expf(NAN), NAN);
	assert_same(cairn_expf(-NAN), NAN);
	assert_same(cairn_expf(INFINITY), INFINITY);
	assert_same(cairn_expf(-INFINITY), 0.0f);
	assert_same(cairn_expf(0.0f), 1.0f);
	assert_same(cairn_expf(-0.0f), 1.0f);
	assert_same(cairn_expf(0x1p-149f), 1.0f);
	assert_same(cairn_expf(-0x1p-149f), 1.0f);
	assert_same(cairn_expf(0x1p-26f), 1.0f);
	assert_same(cairn_expf(-0x1p-26f), 1.0f);
	assert_same(cairn_expf(1.0f), 0x1.5bf0a8p+1f); /* e, rounded */
	/* overflow: 88.72283935546875 is the last finite one */
	assert_true(cairn_expf(u2f(0x42b17217u)) <= FLT_MAX);
	assert_true(ulp_err(cairn_expf(u2f(0x42b17217u)),
	                    exp((double)u2f(0x42b17217u))) <= fn_bound[FN_EXP]);
	assert_same(cairn_expf(u2f(0x42b17218u)), INFINITY);
	assert_same(cairn_expf(89.0f), INFINITY);
	assert_same(cairn_expf(1000.0f), INFINITY);
	assert_same(cairn_expf(FLT_MAX), INFINITY);
	/* underflow: e^x > 2^-150 rounds up to 2^-149 down to -103.972076,
	 * below that the result is +0 */
	assert_same(cairn_expf(u2f(0xc2cff1b4u)), 0x1p-149f);
	assert_same(cairn_expf(u2f(0xc2cff1b5u)), 0.0f);
	assert_same(cairn_expf(-104.0f), 0.0f);
	assert_same(cairn_expf(-1000.0f), 0.0f);
	assert_same(cairn_expf(-FLT_MAX), 0.0f);
	/* x = k ln 2 for every k: results from the subnormal 2^-149 to the
	 * top binade */
	for (int k = -149; k <= 127; k++) {
		float x = (float)(k * 0.69314718055994530942);
		assert_true(ulp_err(cairn_expf(x), exp((double)x)) <=
		            fn_bound[FN_EXP]);
	}
	/* never negative, never NaN for a number */
	for (float x = -120.0f; x < 100.0f; x += 0.37f) {
		float y = cairn_expf(x);
		assert_false(isnan(y));
		assert_true(y >= 0.0f);
	}
}

static void test_expf_accuracy(void **state)
{
	uint64_t s = test_seed(state, FN_EXP);
	struct acc sub = {.fn = FN_EXP};
	struct acc a = {.fn = FN_EXP, .tiny = &sub};

	random_bits(&a, &s, 2000000);
	random_range(&a, &s, -104.0, 89.0, 2000000);
	random_range(&a, &s, -1.0, 1.0, 1000000);
	sweep(&a, 0x1p-40f, 104.0f, 3000000, 1);
	/* the n ln2 +- ln2/2 edges of the reduction, for every n */
	for (int n = -150; n <= 128; n++)
		around(&a, (float)((n + 0.5) * 0.69314718055994530942), 2048);
	around(&a, u2f(0x42b17217u), 1 << 16); /* overflow */
	around(&a, u2f(0xc2cff1b4u), 1 << 16); /* underflow to 0 */
	around(&a, -87.3365479f, 1 << 16);     /* e^x = 2^-126 */
	around(&a, 0.0f, 1 << 16);             /* subnormal arguments */
	around(&a, -0.0f, 1 << 16);
	around(&a, 0x1p-24f, 1 << 16);
	printf("results >= 2^-126: ");
	report(&a);
	printf("results < 2^-126:  ");
	report(&sub);
	assert_true(a.worst <= EXP_NORMAL_BOUND);
	assert_true(sub.worst <= fn_bound[FN_EXP]);
}

/* ---- log ----------------------------------------------------------------- */

static void test_logf_special(void **state)
{
	(void)state;
	assert_same(cairn_logf(NAN), NAN);
	assert_same(cairn_logf(-NAN), NAN);
	assert_same(cairn_logf(INFINITY), INFINITY);
	assert_same(cairn_logf(-INFINITY), NAN);
	assert_same(cairn_logf(0.0f), -INFINITY);
	assert_same(cairn_logf(-0.0f), -INFINITY);
	assert_same(cairn_logf(-1.0f), NAN);
	assert_same(cairn_logf(-0x1p-149f), NAN);
	assert_same(cairn_logf(-FLT_MAX), NAN);
	assert_same(cairn_logf(1.0f), 0.0f);
	assert_same(cairn_logf(2.0f), 0x1.62e430p-1f); /* ln 2, rounded */
	/* log(2^k) = k ln2, from the smallest subnormal to the largest
	 * binade, within the bound */
	for (int k = -149; k <= 127; k++) {
		float y = cairn_logf(ldexpf(1.0f, k));
		assert_true(ulp_err(y, k * 0.69314718055994530942) <=
		            fn_bound[FN_LOG]);
	}
	assert_true(ulp_err(cairn_logf(FLT_MAX), log((double)FLT_MAX)) <=
	            fn_bound[FN_LOG]);
}

static void test_logf_accuracy(void **state)
{
	uint64_t s = test_seed(state, FN_LOG);
	struct acc a = {.fn = FN_LOG};

	random_bits(&a, &s, 2000000);
	random_range(&a, &s, 0.0, 4.0, 2000000);
	sweep(&a, 0x1p-149f, FLT_MAX, 4000000, 0);
	/* around 1 (result near 0), in consecutive floats */
	around(&a, 1.0f, 1 << 19);
	/* the sqrt(1/2) 2^k edges of the reduction, for every k */
	for (int k = -126; k <= 127; k++)
		around(&a, ldexpf(0x1.6a09e6p-1f, k), 2048);
	around(&a, 0x1p-126f, 1 << 17); /* subnormal to normal */
	around(&a, FLT_MAX, 1 << 16);
	report(&a);
	assert_true(a.worst <= fn_bound[a.fn]);
}

/* ---- tanh ---------------------------------------------------------------- */

static void test_tanhf_special(void **state)
{
	(void)state;
	assert_same(cairn_tanhf(NAN), NAN);
	assert_same(cairn_tanhf(-NAN), NAN);
	assert_same(cairn_tanhf(INFINITY), 1.0f);
	assert_same(cairn_tanhf(-INFINITY), -1.0f);
	assert_same(cairn_tanhf(0.0f), 0.0f);
	assert_same(cairn_tanhf(-0.0f), -0.0f);
	/* tanh x = x for |x| < 2^-12 (x^3/3 is under half an ulp) */
	for (uint32_t u = 1; u < f2u(0x1p-12f); u += 997) {
		assert_same(cairn_tanhf(u2f(u)), u2f(u));
		assert_same(cairn_tanhf(u2f(u | 0x80000000u)),
		            u2f(u | 0x80000000u));
	}
	assert_same(cairn_tanhf(0x1p-149f), 0x1p-149f);
	assert_same(cairn_tanhf(-0x1p-149f), -0x1p-149f);
	/* exactly +-1 from 9.0109 (13 ln 2) on */
	for (float x = 9.02f; x < 1e6f; x *= 1.01f) {
		assert_same(cairn_tanhf(x), 1.0f);
		assert_same(cairn_tanhf(-x), -1.0f);
	}
	assert_same(cairn_tanhf(FLT_MAX), 1.0f);
	assert_same(cairn_tanhf(-FLT_MAX), -1.0f);
	/* odd, bit for bit, and |tanh| <= 1 */
	for (float x = 0x1p-20f; x < 20.0f; x *= 1.0001f) {
		float y = cairn_tanhf(x);
		assert_int_equal(f2u(cairn_tanhf(-x)), f2u(y) ^ 0x80000000u);
		assert_true(y >= 0.0f && y <= 1.0f);
	}
}

static void test_tanhf_accuracy(void **state)
{
	uint64_t s = test_seed(state, FN_TANH);
	struct acc a = {.fn = FN_TANH};

	random_bits(&a, &s, 2000000);
	random_range(&a, &s, -10.0, 10.0, 2000000);
	random_range(&a, &s, -1.0, 1.0, 1000000);
	sweep(&a, 0x1p-40f, 12.0f, 3000000, 1);
	around(&a, 0.55f, 1 << 18); /* polynomial / exp switch */
	around(&a, -0.55f, 1 << 16);
	around(&a, 0.3466f, 1 << 16); /* exp's n changes */
	around(&a, 9.0109f, 1 << 16); /* rounds to 1 from here */
	around(&a, 9.1f, 1 << 12);    /* clamp */
	around(&a, 0x1p-12f, 1 << 16);
	report(&a);
	assert_true(a.worst <= fn_bound[a.fn]);
}

/* ---- sinpi, cospi -------------------------------------------------------- */

static void test_sincospi_special(void **state)
{
	(void)state;
	assert_same(cairn_sinpif(NAN), NAN);
	assert_same(cairn_cospif(NAN), NAN);
	assert_same(cairn_sinpif(INFINITY), NAN);
	assert_same(cairn_sinpif(-INFINITY), NAN);
	assert_same(cairn_cospif(INFINITY), NAN);
	assert_same(cairn_cospif(-INFINITY), NAN);
	assert_same(cairn_sinpif(0.0f), 0.0f);
	assert_same(cairn_sinpif(-0.0f), -0.0f);
	assert_same(cairn_cospif(0.0f), 1.0f);
	assert_same(cairn_cospif(-0.0f), 1.0f);
	/* integers: sinpi = +0 (-0 for negative n), cospi = (-1)^n;
	 * half-integers: sinpi = +-1, cospi = +0 */
	for (int n = 0; n < 5000; n++) {
		float x = (float)n, h = (float)n + 0.5f;
		float sg = (n & 1) ? -1.0f : 1.0f;
		if (n > 0) {
			assert_same(cairn_sinpif(x), 0.0f);
			assert_same(cairn_sinpif(-x), -0.0f);
		}
		assert_same(cairn_cospif(x), sg);
		assert_same(cairn_cospif(-x), sg);
		assert_same(cairn_sinpif(h), sg);
		assert_same(cairn_sinpif(-h), -sg);
		assert_same(cairn_cospif(h), 0.0f);
		assert_same(cairn_cospif(-h), 0.0f);
	}
	/* large arguments: every float from 2^23 on is an integer, from 2^24
	 * on an even one */
	assert_same(cairn_sinpif(0x1p23f), 0.0f);
	assert_same(cairn_sinpif(-0x1p23f), -0.0f);
	assert_same(cairn_cospif(0x1p23f), 1.0f);
	assert_same(cairn_cospif(0x1p23f + 1.0f), -1.0f);
	assert_same(cairn_cospif(-0x1p23f - 1.0f), -1.0f);
	assert_same(cairn_cospif(0x1p24f - 1.0f), -1.0f);
	assert_same(cairn_cospif(0x1p24f), 1.0f);
	assert_same(cairn_cospif(0x1p24f + 2.0f), 1.0f);
	assert_same(cairn_sinpif(FLT_MAX), 0.0f);
	assert_same(cairn_sinpif(-FLT_MAX), -0.0f);
	assert_same(cairn_cospif(FLT_MAX), 1.0f);
	/* just below 2^23 the halves are still exact */
	assert_same(cairn_sinpif(0x1p22f + 0.5f), 1.0f);
	assert_same(cairn_sinpif(0x1p22f + 1.5f), -1.0f);
	assert_same(cairn_cospif(0x1p23f - 0.5f), 0.0f);
	/* tiny arguments: sinpi x = pi x, rounded, down to subnormals */
	assert_same(cairn_sinpif(0x1p-149f), 0x1.8p-148f);
	assert_same(cairn_sinpif(-0x1p-149f), -0x1.8p-148f);
	assert_same(cairn_cospif(0x1p-149f), 1.0f);
	/* sinpi odd and cospi even, bit for bit */
	for (float x = 0x1p-30f; x < 0x1p24f; x *= 1.0003f) {
		assert_int_equal(f2u(cairn_sinpif(-x)),
		                 f2u(cairn_sinpif(x)) ^ 0x80000000u);
		assert_int_equal(f2u(cairn_cospif(-x)), f2u(cairn_cospif(x)));
		assert_true(fabsf(cairn_sinpif(x)) <= 1.0f);
		assert_true(fabsf(cairn_cospif(x)) <= 1.0f);
	}
}

static void sincospi_sweeps(struct acc *a, uint64_t *s)
{
	random_bits(a, s, 2000000);
	random_range(a, s, -4.0, 4.0, 2000000);
	random_range(a, s, -1000.0, 1000.0, 500000);
	sweep(a, 0x1p-149f, 0x1p25f, 3000000, 1);
	/* every quarter point k/4 up to 16 (quadrant edges, zeros, +-1) */
	for (int k = 0; k <= 64; k++)
		around(a, (float)k * 0.25f, 4096);
	around(a, 0x1p22f, 1 << 14);
	around(a, 0x1p23f, 1 << 14);
	around(a, 0x1p24f, 1 << 12);
	around(a, 0x1p-126f, 1 << 16);
}

static void test_sinpif_accuracy(void **state)
{
	uint64_t s = test_seed(state, FN_SINPI);
	struct acc a = {.fn = FN_SINPI};

	sincospi_sweeps(&a, &s);
	report(&a);
	assert_true(a.worst <= fn_bound[a.fn]);
}

static void test_cospif_accuracy(void **state)
{
	uint64_t s = test_seed(state, FN_COSPI);
	struct acc a = {.fn = FN_COSPI};

	sincospi_sweeps(&a, &s);
	report(&a);
	assert_true(a.worst <= fn_bound[a.fn]);
}

/* ---- every float, on request --------------------------------------------- */

static void test_exhaustive(void **state)
{
	const char *e = getenv("CAIRN_TEST_EXHAUSTIVE");
	(void)state;

	if (!e || !*e || strcmp(e, "0") == 0)
		skip();
	for (int f = 0; f < FN_COUNT; f++) {
		struct acc a = {.fn = (enum fn)f};
		for (uint64_t u = 0; u <= 0xffffffffull; u++)
			check(&a, u2f((uint32_t)u));
		report(&a);
		assert_true(a.worst <= fn_bound[a.fn]);
	}
}

/* ---- fixture --------------------------------------------------------------
 */

static int group_setup(void **state)
{
	struct ctx *c = calloc(1, sizeof *c);

	if (!c)
		return -1;
	c->seed = cairn_test_seed("test_math");
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
	    cmocka_unit_test(test_expf_special),
	    cmocka_unit_test(test_expf_accuracy),
	    cmocka_unit_test(test_logf_special),
	    cmocka_unit_test(test_logf_accuracy),
	    cmocka_unit_test(test_tanhf_special),
	    cmocka_unit_test(test_tanhf_accuracy),
	    cmocka_unit_test(test_sincospi_special),
	    cmocka_unit_test(test_sinpif_accuracy),
	    cmocka_unit_test(test_cospif_accuracy),
	    cmocka_unit_test(test_exhaustive),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
