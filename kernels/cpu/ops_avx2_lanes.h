/* cairn: the AVX2 lanes of the cpu backend's element-wise workers, for
 * the tables built with -mavx2 -mfma: ops_avx2.c and ops_avx512.c include
 * this, then ops_body.h.  Used only after the CPUID check in
 * backend_cpu.c. */
#ifndef CAIRN_OPS_AVX2_LANES_H
#define CAIRN_OPS_AVX2_LANES_H

/* hash_chunks: four chunks at a time in the 4-lane kernel (hash_avx2.c). */
#define CPU_HASH_X4 cairn__blake2b_x4
#define CPU_ADAMW_X8 cpu_adamw_x8
#define CPU_SUM_N_X8 cpu_sum_n_x8
#define CPU_BIAS_ROW_X8 cpu_bias_row_x8

#include <immintrin.h>

#include "cairn/kernels.h"
#include "cpu_impl.h"

/* x, or the canonical NaN (0x7fc00000) in the lanes where x is a NaN:
 * cairn_canon on eight lanes. */
static inline __m256 canon8(__m256 x)
{
	const __m256 qnan = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fc00000));
	return _mm256_blendv_ps(x, qnan, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

/* cairn_adamw_f (ops_scalar.h) on elements lo, lo + 8, ... while eight
 * remain before hi; returns the first element not done.  Each line is the
 * scalar formula's operation on eight lanes: the same IEEE binary32
 * multiplies, fused multiply-adds (vfmadd: one rounding, as fmaf),
 * correctly rounded divisions and square roots, under the same MXCSR
 * (fpenv.h), so every lane has the scalar's bits.  test_kernels holds the
 * cpu backend to the ref one with memcmp, special values included. */
static int64_t cpu_adamw_x8(const struct cairn_op *op, int64_t lo, int64_t hi)
{
	float *p = op->u.adamw.param, *m = op->u.adamw.m, *v = op->u.adamw.v;
	const float *g = op->u.adamw.grad;
	const __m256 beta1 = _mm256_set1_ps(op->u.adamw.beta1);
	const __m256 beta2 = _mm256_set1_ps(op->u.adamw.beta2);
	const __m256 omb1 = _mm256_set1_ps(op->u.adamw.one_minus_beta1);
	const __m256 omb2 = _mm256_set1_ps(op->u.adamw.one_minus_beta2);
	const __m256 decay = _mm256_set1_ps(op->u.adamw.decay);
	const __m256 bc1 = _mm256_set1_ps(op->u.adamw.bc1);
	const __m256 bc2 = _mm256_set1_ps(op->u.adamw.bc2);
	const __m256 eps = _mm256_set1_ps(op->u.adamw.eps);
	const __m256 neg_lr = _mm256_set1_ps(-op->u.adamw.lr);
	int64_t e;

	for (e = lo; e + 8 <= hi; e += 8) {
		__m256 gv = _mm256_loadu_ps(g + e);
		__m256 mn = _mm256_fmadd_ps(beta1, _mm256_loadu_ps(m + e),
		                            _mm256_mul_ps(omb1, gv));
		__m256 vn =
		    _mm256_fmadd_ps(beta2, _mm256_loadu_ps(v + e),
		                    _mm256_mul_ps(omb2, _mm256_mul_ps(gv, gv)));
		__m256 mhat = _mm256_div_ps(mn, bc1);
		__m256 vhat = _mm256_div_ps(vn, bc2);
		__m256 denom = _mm256_add_ps(_mm256_sqrt_ps(vhat), eps);
		__m256 pn = _mm256_fmadd_ps(
		    neg_lr, _mm256_div_ps(mhat, denom),
		    _mm256_mul_ps(_mm256_loadu_ps(p + e), decay));
		_mm256_storeu_ps(m + e, canon8(mn));
		_mm256_storeu_ps(v + e, canon8(vn));
		_mm256_storeu_ps(p + e, canon8(pn));
	}
	return e;
}

/* One row of cpu_bias_add (ops_body.h), y[j] = canon(x[j] + bias[j]),
 * eight columns at a time while eight remain; returns the first column
 * not done.  One binary32 addition per lane, as the scalar loop; x may be
 * y (each block is loaded before it is stored).  The scalar loop does not
 * vectorise: y might alias the op's bias pointer, reloaded every time. */
static int64_t cpu_bias_row_x8(const float *x, const float *bias, float *y,
                               int64_t cols)
{
	int64_t j;

	for (j = 0; j + 8 <= cols; j += 8)
		_mm256_storeu_ps(
		    y + j, canon8(_mm256_add_ps(_mm256_loadu_ps(x + j),
		                                _mm256_loadu_ps(bias + j))));
	return j;
}

/* cpu_sum_n (ops_body.h) on elements lo, lo + 8, ... while eight remain
 * before hi; returns the first element not done.  Each lane adds the
 * sources in order from src[0] (one binary32 addition each, as the
 * scalar chain), and all of a block's sources are loaded before its
 * store, so dst may be any of them. */
static int64_t cpu_sum_n_x8(const struct cairn_op *op, int64_t lo, int64_t hi)
{
	const float *const *src = op->u.sum_n.src;
	const int count = op->u.sum_n.count;
	float *dst = op->u.sum_n.dst;
	int64_t e;

	for (e = lo; e + 8 <= hi; e += 8) {
		__m256 acc = _mm256_loadu_ps(src[0] + e);
		for (int i = 1; i < count; i++)
			acc = _mm256_add_ps(acc, _mm256_loadu_ps(src[i] + e));
		_mm256_storeu_ps(dst + e, canon8(acc));
	}
	return e;
}

#endif
