/* cairn: the CUDA GEMM kernel's own source (kernels/cuda/gemm.cu), run on
 * the host through tests/emu/cuda_emu.h, against the reference backend,
 * bit for bit.  This holds the kernel's arithmetic and indexing on
 * machines without a GPU (CI); the gpu-labelled kernels_gemm_cuda test holds
 * the real thing where a GPU is present.
 *
 * - every block shape (gemm.cuh: 128x128, 64x128, 64x64, 32x64, and with
 *   4 x 4 outputs a thread 32x64-4x4 and 16x32-4x4), every layout (NN,
 *   NT, TN), with edges in m, n and k, padded leading
 *   dimensions, unaligned matrices (the scalar load paths), accumulate,
 *   and NaN, infinities, signed zeros and subnormals;
 * - k-segments (cairn_gemm_seg) on every shape and layout;
 * - no load outside A and B (the kernel reads no padding), no misaligned
 *   float4 load;
 * - the shape picked for the training step's GEMMs on 132 multiprocessors.
 *
 * Inputs are fresh random numbers each run (seed printed; set
 * CAIRN_TEST_SEED=0x... to replay).  C++ (C++20) because gemm.cu is. */
#define CAIRN_CUDA_EMU 1
#include "emu/emu_names.h" /* libcairn may hold the real ones */
#include "../kernels/cuda/gemm.cu"

#include <algorithm>
#include <cinttypes>
#include <csetjmp>
#include <cstdarg>
#include <cstddef>
#include <ctime>

extern "C" {
#include <cmocka.h>
}

#include "cairn/error.h"
#include "cairn/kernels.h"

static uint64_t g_seed, g_rng;

static uint64_t rnd(void)
{
	uint64_t z = (g_rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static float u2f(uint32_t u)
{
	float f;
	memcpy(&f, &u, sizeof f);
	return f;
}

/* Mostly [-1, 1]; with special, about 1 in 32 NaN, inf, +-0, subnormal. */
static float rnd_float(int special)
{
	float x = (float)(rnd() >> 40) * 0x1p-24f * 2.0f - 1.0f;

	if (!special || rnd() % 32)
		return x;
	switch (rnd() % 5) {
	case 0:
		return u2f(0x7fc00000u | (uint32_t)(rnd() & 0x3fffff) |
		           (rnd() & 1 ? 0x80000000u : 0));
	case 1:
		return rnd() & 1 ? u2f(0x7f800000u) : u2f(0xff800000u);
	case 2:
		return rnd() & 1 ? 0.0f : -0.0f;
	case 3:
		return u2f((uint32_t)(rnd() % 0x7fffff + 1));
	default:
		return x * 3e38f;
	}
}

struct emu_case {
	int shape, ta, tb, accumulate, special;
	int64_t m, n, k, segs; /* segs 0: cairn_gemm */
	int pad;               /* extra leading-dimension floats */
	int off;               /* matrices start off floats past 16 bytes */
};

/* Runs c on ref (through the public API) and on the emulated kernel;
 * fails on the first differing word or an out-of-bounds load. */
static void run_case(cairn_backend *ref, const emu_case &c)
{
	const int64_t lda = std::max<int64_t>((c.ta ? c.m : c.k) + c.pad, 1);
	const int64_t ldb = std::max<int64_t>((c.tb ? c.k : c.n) + c.pad, 1);
	const int64_t ldc = c.n + c.pad;
	const int64_t arows = c.ta ? c.k : c.m, acols = c.ta ? c.m : c.k;
	const int64_t brows = c.tb ? c.n : c.k, bcols = c.tb ? c.k : c.n;
	const size_t an = (size_t)(arows * lda), bn = (size_t)(brows * ldb);
	const size_t cn = (size_t)(c.m * ldc);
	std::vector<float> a(an + 8), b(bn + 8), c0(cn + 8), want(cn);
	float *ap = a.data() + 4 + c.off, *bp = b.data() + 4 + c.off;
	float *cp = c0.data() + 4 + c.off;
	void *ra = NULL, *rb = NULL, *rc = NULL;
	struct cairn_op op;
	struct cairn_cuda_ctx ctx;
	char what[200];
	int rv;

	memset(&ctx, 0, sizeof ctx);
	ctx.sm_count = 132; /* an H100's */
	ctx.gemm_shape = c.shape;
	snprintf(what, sizeof what,
	         "shape %s %c%c m=%" PRId64 " n=%" PRId64 " k=%" PRId64
	         " segs=%" PRId64 " acc=%d pad=%d off=%d special=%d",
	         cairn__cuda_gemm_shape_name(c.shape), c.ta ? 'T' : 'N',
	         c.tb ? 'T' : 'N', c.m, c.n, c.k, c.segs, c.accumulate, c.pad,
	         c.off, c.special);
	for (float &x : a)
		x = rnd_float(c.special);
	for (float &x : b)
		x = rnd_float(c.special);
	for (float &x : c0)
		x = rnd_float(c.special) * 4.0f;

	/* ref: the oracle */
	assert_int_equal(cairn_buf_alloc(ref, an * 4 + 4, &ra), 0);
	assert_int_equal(cairn_buf_alloc(ref, bn * 4 + 4, &rb), 0);
	assert_int_equal(cairn_buf_alloc(ref, cn * 4 + 4, &rc), 0);
	assert_int_equal(cairn_buf_write(ref, ra, ap, an * 4), 0);
	assert_int_equal(cairn_buf_write(ref, rb, bp, bn * 4), 0);
	assert_int_equal(cairn_buf_write(ref, rc, cp, cn * 4), 0);
	rv = c.segs
	         ? cairn_gemm_seg(ref, (cairn_trans)c.ta, (cairn_trans)c.tb,
	                          c.m, c.n, c.k, c.segs, (const float *)ra, lda,
	                          (const float *)rb, ldb, (float *)rc, ldc)
	         : cairn_gemm(ref, (cairn_trans)c.ta, (cairn_trans)c.tb, c.m,
	                      c.n, c.k, (const float *)ra, lda,
	                      (const float *)rb, ldb, (float *)rc, ldc,
	                      c.accumulate);
	if (rv)
		fail_msg("%s on ref: %s", what, cairn_strerror(rv));
	assert_int_equal(cairn_buf_read(ref, want.data(), rc, cn * 4), 0);
	cairn_buf_free(ref, ra);
	cairn_buf_free(ref, rb);
	cairn_buf_free(ref, rc);

	/* the kernel, on the host */
	memset(&op, 0, sizeof op);
	op.kind = CAIRN_OP_GEMM;
	op.u.gemm.ta = (cairn_trans)c.ta;
	op.u.gemm.tb = (cairn_trans)c.tb;
	op.u.gemm.m = c.m;
	op.u.gemm.n = c.n;
	op.u.gemm.k = c.k;
	op.u.gemm.segs = c.segs ? c.segs : 1;
	op.u.gemm.a = ap;
	op.u.gemm.lda = lda;
	op.u.gemm.b = bp;
	op.u.gemm.ldb = ldb;
	op.u.gemm.c = cp;
	op.u.gemm.ldc = ldc;
	op.u.gemm.accumulate = c.segs ? 0 : c.accumulate;
	cairn_emu_mats[0] = cairn_emu_mat{ap, arows, acols, lda};
	cairn_emu_mats[1] = cairn_emu_mat{bp, brows, bcols, ldb};
	cairn_emu_bad_loads = 0;
	rv = cairn__cuda_gemm(&ctx, &op);
	cairn_emu_mats[0] = cairn_emu_mat{};
	cairn_emu_mats[1] = cairn_emu_mat{};
	if (rv)
		fail_msg("%s: %s", what, cairn_strerror(rv));
	if (cairn_emu_bad_loads)
		fail_msg("%s: %d loads outside A and B or misaligned (seed "
		         "0x%016" PRIx64 ")",
		         what, cairn_emu_bad_loads, g_seed);
	for (size_t e = 0; e < cn; e++) {
		uint32_t w, g;
		memcpy(&w, &want[e], 4);
		memcpy(&g, &cp[e], 4);
		if (w != g)
			fail_msg("%s: C[%zu] (row %zu) ref 0x%08" PRIx32
			         " vs emulated kernel 0x%08" PRIx32
			         " (seed 0x%016" PRIx64
			         ", CAIRN_TEST_SEED to replay)",
			         what, e, e / (size_t)ldc, w, g, g_seed);
	}
}

static const int LAYOUTS[3][2] = {{0, 0}, {0, 1}, {1, 0}};

static int setup(void **state)
{
	cairn_backend *ref = NULL;

	if (cairn_backend_open(CAIRN_BACKEND_REF, NULL, &ref))
		return -1;
	*state = ref;
	return 0;
}

static int teardown(void **state)
{
	cairn_backend_close((cairn_backend *)*state);
	return 0;
}

/* Which shape runs: the training step's GEMMs on an H100's 132 SMs. */
static void test_shape_pick(void **state)
{
	(void)state;
	assert_int_equal(cairn__cuda_gemm_shape_pick(8192, 8192, 132, -1), 0);
	/* 256 x 1024: 16, 32, 64 tiles, 128 of 32x64-4x4: none fills 132 */
	assert_int_equal(cairn__cuda_gemm_shape_pick(256, 1024, 132, -1), 5);
	assert_int_equal(cairn__cuda_gemm_shape_pick(256, 1024, 128, -1), 4);
	assert_int_equal(cairn__cuda_gemm_shape_pick(10, 1024, 132, -1), 5);
	/* 1024 x 784: 56, 112, 208 tiles */
	assert_int_equal(cairn__cuda_gemm_shape_pick(1024, 784, 132, -1), 2);
	assert_int_equal(cairn__cuda_gemm_shape_pick(1024, 1024, 132, -1), 2);
	/* 1024 x 2048: 128, 256 tiles */
	assert_int_equal(cairn__cuda_gemm_shape_pick(1024, 2048, 132, -1), 1);
	assert_int_equal(cairn__cuda_gemm_shape_pick(256, 1024, 132, 0), 0);
	assert_int_equal(cairn__cuda_gemm_shape_pick(256, 1024, 132, 3), 3);
	for (int s = 0; s < GEMM_NSHAPES; s++)
		assert_int_equal(cairn__cuda_gemm_shape_parse(
		                     cairn__cuda_gemm_shape_name(s)),
		                 s);
	assert_int_equal(cairn__cuda_gemm_shape_parse("auto"), -1);
	assert_int_equal(cairn__cuda_gemm_shape_parse("128"), -1);
	assert_int_equal(cairn__cuda_gemm_shape_parse(NULL), -1);
	assert_string_equal(cairn__cuda_gemm_shape_name(-1), "auto");
}

/* Every shape and layout: edges in m, n and k, padding, unaligned data,
 * accumulate, special values. */
static void test_gemm_shapes(void **state)
{
	cairn_backend *ref = (cairn_backend *)*state;

	for (int s = 0; s < GEMM_NSHAPES; s++)
		for (int l = 0; l < 3; l++) {
			const int ta = LAYOUTS[l][0], tb = LAYOUTS[l][1];
			const int64_t bm =
			    4 * gemm_shapes[s].tm * gemm_shapes[s].wm;
			const int64_t bn =
			    8 * gemm_shapes[s].tm * gemm_shapes[s].wn;
			/* two by two full tiles of this shape, k a multiple
			 * of 8 */
			run_case(ref, {s, ta, tb, 0, 0, 2 * bm, 2 * bn, 24, 0,
			               0, 0});
			/* ragged edges everywhere, k not a multiple of 8 */
			run_case(ref, {s, ta, tb, 1, 0, 37, 70, 29, 0, 1, 0});
			/* unaligned (scalar loads), padded, specials */
			run_case(ref,
			         {s, ta, tb, (l & 1), 1, 45, 131, 19, 0, 3, 1});
			/* k = 0 and k = 1 */
			run_case(ref, {s, ta, tb, 1, 1, 9, 17, 0, 0, 0, 0});
			run_case(ref, {s, ta, tb, 0, 0, 40, 9, 1, 0, 2, 0});
		}
	for (int r = 0; r < 12; r++) {
		const int l = (int)(rnd() % 3);
		run_case(ref,
		         {(int)(rnd() % GEMM_NSHAPES), LAYOUTS[l][0],
		          LAYOUTS[l][1], (int)(rnd() & 1), (int)(rnd() & 1),
		          (int64_t)(1 + rnd() % 150),
		          (int64_t)(1 + rnd() % 150), (int64_t)(rnd() % 70), 0,
		          (int)(rnd() % 5), (int)(rnd() % 4)});
	}
}

/* k-segments: each segment's chain stored or added at its last k-tile. */
static void test_gemm_seg(void **state)
{
	cairn_backend *ref = (cairn_backend *)*state;

	for (int s = 0; s < GEMM_NSHAPES; s++)
		for (int l = 0; l < 3; l++) {
			const int ta = LAYOUTS[l][0], tb = LAYOUTS[l][1];
			run_case(ref,
			         {s, ta, tb, 0, 0, 64, 64, 4 * 16, 4, 0, 0});
			run_case(ref,
			         {s, ta, tb, 0, 1, 37, 70, 3 * 8, 3, 1, 0});
			run_case(ref,
			         {s, ta, tb, 0, 1, 10, 100, 2 * 24, 2, 2, 1});
			run_case(ref, {s, ta, tb, 0, 0, 13, 9, 0, 4, 0, 0});
		}
	/* more than 8 tile-rows: the blocks' grouped visiting order past
	 * its first group */
	run_case(ref, {3, 0, 1, 1, 0, 1100, 70, 16, 0, 0, 0});
	run_case(ref, {5, 1, 0, 0, 0, 300, 40, 3 * 8, 3, 0, 0});
	/* the model's last layer: dW = dZ^T X, 10 x 1024 over 4 x 64 rows */
	run_case(ref, {5, 1, 0, 0, 0, 10, 1024, 256, 4, 0, 0});
	/* and its first: 1024 x 784, k = 4 x 64 (64x64 on 132 SMs) */
	run_case(ref, {2, 1, 0, 0, 0, 1024, 784, 256, 4, 0, 0});
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_shape_pick),
	    cmocka_unit_test(test_gemm_shapes),
	    cmocka_unit_test(test_gemm_seg),
	};
	const char *env = getenv("CAIRN_TEST_SEED");

	g_seed = env && *env ? strtoull(env, NULL, 0)
	                     : (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ull;
	g_rng = g_seed;
	printf("test_gemm_emu: seed 0x%016" PRIx64
	       " (CAIRN_TEST_SEED=0x%016" PRIx64 " to replay)\n",
	       g_seed, g_seed);
	return cmocka_run_group_tests(tests, setup, teardown);
}
