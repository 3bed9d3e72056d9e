/* cairn: definitions shared by host C and CUDA device code.
 *
 * Everything here is static inline and compiled twice: by the C compiler
 * (with -ffp-contract=off) and by nvcc (with --fmad=false), giving the same
 * bits on both (DESIGN.md section 2).  Only + - * /, sqrtf and fmaf touch
 * floats; bit casts and integer arithmetic do the rest. */
#ifndef CAIRN_HD_H
#define CAIRN_HD_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#ifdef __CUDACC__
#define CAIRN_HD __host__ __device__ __forceinline__
#else
#define CAIRN_HD static inline
#endif

CAIRN_HD uint32_t cairn_f2u(float f)
{
#ifdef __CUDA_ARCH__
	return __float_as_uint(f);
#else
	uint32_t u;
	memcpy(&u, &f, sizeof u);
	return u;
#endif
}

CAIRN_HD float cairn_u2f(uint32_t u)
{
#ifdef __CUDA_ARCH__
	return __uint_as_float(u);
#else
	float f;
	memcpy(&f, &u, sizeof f);
	return f;
#endif
}

/* NaN test on the bits (exponent all ones, mantissa non-zero), so that no
 * compiler option can fold it away the way it could fold x != x. */
CAIRN_HD int cairn_isnan(float x)
{
	return (cairn_f2u(x) & 0x7fffffffu) > 0x7f800000u;
}

/* Every op passes its results through this: NaN bits differ between x86
 * (sign set, payload kept) and CUDA (0x7fffffff), so the profile fixes one. */
CAIRN_HD float cairn_canon(float x)
{
	return cairn_isnan(x) ? cairn_u2f(0x7fc00000u) : x;
}

#endif
