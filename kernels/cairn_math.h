/* cairn: deterministic transcendental functions (DESIGN.md 2.4).
 *
 * Written once for host and device from IEEE binary32 + - * /, sqrtf and
 * fmaf, comparisons, integer arithmetic and bit casts only, so that the C
 * compiler and nvcc produce the same bits.  Never libm's or CUDA's expf.
 * Accuracy against a double reference is tested in tests/test_math.c and
 * stated in docs/numeric-profile.md.
 *
 * All functions: NaN in gives NaN out; no flush-to-zero (subnormal inputs
 * and outputs are handled).  Worst error over all 2^32 arguments, against
 * a double reference: expf 0.775 ulp (0.636 where the result is normal),
 * logf 0.858, tanhf 0.761, sinpif 0.762, cospif 0.762.
 *
 * The helpers (cairn__*) are internal.  On a CPU without FMA in the target
 * flags fmaf is a libm call (still exact, but several times slower); the
 * fast CPU paths should be built with -mfma. */
#ifndef CAIRN_MATH_H
#define CAIRN_MATH_H

#include "hd.h"

/* e^x.  Overflow -> +inf, underflow -> subnormals then +0. */
CAIRN_HD float cairn_expf(float x);
/* natural log; log(0) = -inf, log(x<0) = NaN, log(+inf) = +inf. */
CAIRN_HD float cairn_logf(float x);
/* tanh(x), odd, exact +-1 for large |x|. */
CAIRN_HD float cairn_tanhf(float x);
/* sin(pi x) and cos(pi x), with exact argument reduction. */
CAIRN_HD float cairn_sinpif(float x);
CAIRN_HD float cairn_cospif(float x);

#include <math.h> /* fmaf, sqrtf only; no other libm function is used */

/* ---- helpers ------------------------------------------------------------ */

/* +inf and the canonical quiet NaN, by bits (no libm, no division by 0). */
CAIRN_HD float cairn__inf(void)
{
	return cairn_u2f(0x7f800000u);
}

CAIRN_HD float cairn__nan(void)
{
	return cairn_u2f(0x7fc00000u);
}

/* 2^n for -126 <= n <= 127, by building the exponent field. */
CAIRN_HD float cairn__pow2i(int n)
{
	return cairn_u2f((uint32_t)(n + 127) << 23);
}

/* ---- exp ----------------------------------------------------------------
 * x = n ln2 + r, |r| <= ln2/2 (plus a hair).  n comes from one fmaf:
 * x/ln2 + 1.5*2^23 rounded once leaves round(x/ln2) in the low bits.
 * r_hi = x - n*LN2_HI is exact (fmaf; r_hi needs at most 24 bits);
 * r = r_hi - n*LN2_LO is rounded and dr is what that rounding lost.
 * e^r = 1 + r + r^2 Q(r) + dr (1 + r), Q a degree-4 minimax fit (relative
 * error 2^-28.3 on |r| <= 0.3466), summed with 1 + r split exactly (Fast2Sum)
 * so only the last addition rounds at full size.  2^n is applied as two
 * exact powers of two, 2^(n/2) then 2^(n - n/2): the first product is always
 * normal, the second rounds once, so subnormal results are rounded once and
 * overflow gives +inf. */
#define CAIRN__LN2_HI 0x1.62e430p-1f   /* float(ln 2) */
#define CAIRN__LN2_LO -0x1.05c610p-29f /* ln 2 - LN2_HI */
#define CAIRN__INVLN2 0x1.715476p+0f   /* float(1/ln 2) */
#define CAIRN__EXP_C2 0x1.fffffcp-2f
#define CAIRN__EXP_C3 0x1.555492p-3f
#define CAIRN__EXP_C4 0x1.5558f2p-5f
#define CAIRN__EXP_C5 0x1.1239e0p-7f
#define CAIRN__EXP_C6 0x1.6a243ap-10f

/* e^x = 2^n (hi + lo) for -104 <= x <= 89 (the reduction and polynomial
 * above; hi = 1 + r rounded, lo the rest, |lo| < 0.07).  Shared by expf and
 * tanhf, which keeps lo. */
CAIRN_HD float cairn__exp_core(float x, int *n, float *lo)
{
	float t = fmaf(x, CAIRN__INVLN2, 0x1.8p23f);
	float nf = t - 0x1.8p23f;
	float r_hi = fmaf(-nf, CAIRN__LN2_HI, x);
	float r = fmaf(-nf, CAIRN__LN2_LO, r_hi);
	float dr = fmaf(-nf, CAIRN__LN2_LO, r_hi - r);
	float q = fmaf(r, CAIRN__EXP_C6, CAIRN__EXP_C5);
	q = fmaf(r, q, CAIRN__EXP_C4);
	q = fmaf(r, q, CAIRN__EXP_C3);
	q = fmaf(r, q, CAIRN__EXP_C2);
	float tail = fmaf(r * r, q, fmaf(dr, r, dr));
	float hi = 1.0f + r;
	*lo = ((1.0f - hi) + r) + tail;
	*n = (int)nf;
	return hi;
}

CAIRN_HD float cairn_expf(float x)
{
	int n, n1;
	float hi, lo;
	if (cairn_isnan(x))
		return x + x;
	/* e^89 overflows and e^-104 < 2^-150 rounds to +0: clamping there
	 * keeps n in [-150, 128] and lets the scaling give inf and 0. */
	x = x > 89.0f ? 89.0f : x;
	x = x < -104.0f ? -104.0f : x;
	hi = cairn__exp_core(x, &n, &lo);
	n1 = n / 2;
	return ((hi + lo) * cairn__pow2i(n1)) * cairn__pow2i(n - n1);
}

/* ---- log ----------------------------------------------------------------
 * x = 2^k m, m in [sqrt(1/2), sqrt(2)) by integer arithmetic on the bits
 * (subnormals are first scaled by 2^23).  f = m - 1 is exact (Sterbenz).
 * log(1+f) = f - hfsq + s (hfsq + R(s^2)), s = f/(2+f), hfsq = f^2/2,
 * R(z) = 2z/3 + 2z^2/5 + ... a degree-3 minimax fit (2^-29.2 absolute on
 * z <= 0.0295) (fdlibm's log1p kernel).  k ln2 = k LN2_HI + k LN2_LO with
 * LN2_HI of 16 bits, so k LN2_HI is exact; k LN2_HI + f is split exactly
 * (Fast2Sum) and only the small terms carry rounding errors. */
#define CAIRN__LOG_LN2_HI 0x1.62e4p-1f    /* 16 significant bits */
#define CAIRN__LOG_LN2_LO 0x1.7f7d1cp-20f /* ln 2 - LOG_LN2_HI */
#define CAIRN__LOG_R1 0x1.55557ap-1f
#define CAIRN__LOG_R2 0x1.995eb6p-2f
#define CAIRN__LOG_R3 0x1.31e34cp-2f

CAIRN_HD float cairn_logf(float x)
{
	uint32_t u = cairn_f2u(x);
	int k = 0;
	if (u - 0x00800000u >= 0x7f000000u) {
		/* +-0, subnormal, negative, +inf or NaN */
		if ((u & 0x7fffffffu) == 0)
			return -cairn__inf();
		if (cairn_isnan(x))
			return x + x;
		if (u >> 31)
			return cairn__nan();
		if (u == 0x7f800000u)
			return x;
		u = cairn_f2u(x * 0x1p23f);
		k = -23;
	}
	u += 0x3f800000u - 0x3f3504f3u;
	k += (int)(u >> 23) - 127;
	u = (u & 0x007fffffu) + 0x3f3504f3u;
	float f = cairn_u2f(u) - 1.0f;
	float s = f / (2.0f + f);
	float z = s * s;
	float R = fmaf(z, CAIRN__LOG_R3, CAIRN__LOG_R2);
	R = fmaf(z, R, CAIRN__LOG_R1);
	R = z * R;
	float hfsq = (0.5f * f) * f;
	float d = fmaf(s, hfsq + R, -hfsq);
	float kf = (float)k;
	float kh = kf * CAIRN__LOG_LN2_HI;
	float hi = kh + f;
	float lo = (kh - hi) + f;
	return hi + (lo + fmaf(kf, CAIRN__LOG_LN2_LO, d));
}

/* ---- tanh ---------------------------------------------------------------
 * Odd: computed on a = |x| and the sign put back by bits (so -0 stays -0).
 * a < 0.55: a + a^3 P(a^2), P a degree-4 minimax fit (relative 2^-29.8).
 * Otherwise tanh a = 1 - q, q = 2/(E + 1), E = e^(2a) >= 3 taken from the
 * exp kernel as an unrounded pair, with the rounding errors of E + 1, of the
 * division and of 1 - q carried along (Fast2Sum twice, the division's
 * remainder by one fmaf), so the result is rounded essentially once.  From
 * a > 9.01 on tanh rounds to exactly 1; a is clamped to 9.1, which does. */
#define CAIRN__TANH_SPLIT 0.55f
#define CAIRN__TANH_P0 -0x1.55554ap-2f
#define CAIRN__TANH_P1 0x1.110d26p-3f
#define CAIRN__TANH_P2 -0x1.b9287ap-5f
#define CAIRN__TANH_P3 0x1.593d08p-6f
#define CAIRN__TANH_P4 -0x1.9b3046p-8f

CAIRN_HD float cairn_tanhf(float x)
{
	uint32_t u = cairn_f2u(x);
	uint32_t sign = u & 0x80000000u;
	float a = cairn_u2f(u & 0x7fffffffu);
	float t;
	if (cairn_isnan(x))
		return x + x;
	if (a < CAIRN__TANH_SPLIT) {
		float y = a * a;
		float p = fmaf(y, CAIRN__TANH_P4, CAIRN__TANH_P3);
		p = fmaf(y, p, CAIRN__TANH_P2);
		p = fmaf(y, p, CAIRN__TANH_P1);
		p = fmaf(y, p, CAIRN__TANH_P0);
		t = fmaf(a, y * p, a);
	} else {
		/* a <= 9.1 (tanh 9.1 rounds to 1): E = 2^n (eh + el) exactly,
		 * 1 <= n <= 27, so E + 1 = dh + dl almost exactly. */
		int n;
		float el;
		float eh = cairn__exp_core(a < 9.1f ? a + a : 18.2f, &n, &el);
		float sc = cairn__pow2i(n);
		float e = eh + el; /* renormalised: E = 2^n (e + el) */
		el = ((eh - e) + el) * sc;
		eh = e * sc;
		float dh = eh + 1.0f;
		float dl = ((eh - dh) + 1.0f) + el;
		float q = 2.0f / dh;
		float rho = fmaf(-q, dh, 2.0f);         /* exact */
		float dq = (rho - q * dl) * (0.5f * q); /* 2/(E+1) - q */
		float th = 1.0f - q;                    /* 1 - q = th + tl */
		float tl = (1.0f - th) - q;
		t = th + (tl - dq);
	}
	return cairn_u2f(cairn_f2u(t) | sign);
}

/* ---- sinpi, cospi -------------------------------------------------------
 * For a = |x| < 2^23: v = 2a is exact, n = round(v) (the 2^23 trick, exact
 * for v < 2^23; larger v are integers already), r = v - n in [-1/2, 1/2]
 * exactly, and pi a = (pi/2)(n + r).  S = sin(pi r / 2) and C = cos(pi r / 2)
 * are minimax polynomials (relative 2^-28 and 2^-33); n mod 4 picks which
 * and the sign.  Adding +0 turns a -0 into +0: sinpi(n) = +-0 with the sign
 * of x, cospi(n + 1/2) = +0. */
#define CAIRN__PIO2_HI 0x1.921fb6p+0f
#define CAIRN__PIO2_LO -0x1.777a5cp-25f
#define CAIRN__SIN_S3 -0x1.4abbbep-1f
#define CAIRN__SIN_S5 0x1.466004p-4f
#define CAIRN__SIN_S7 -0x1.2dc84cp-8f
#define CAIRN__COS_C2_HI -0x1.3bd3ccp+0f /* -(pi/2)^2/2 = C2_HI + C2_LO */
#define CAIRN__COS_C2_LO -0x1.37c8bcp-25f
#define CAIRN__COS_C4 0x1.03c1e8p-2f
#define CAIRN__COS_C6 -0x1.55c9e0p-6f
#define CAIRN__COS_C8 0x1.dacc30p-11f

/* a finite, 0 <= a < 2^23: sets *s = sinpi(a) and *c = cospi(a), either
 * possibly -0 where the value is 0. */
CAIRN_HD void cairn__sincospi(float a, float *s, float *c)
{
	float v = a + a;
	float nf = v < 0x1p23f ? (v + 0x1p23f) - 0x1p23f : v;
	float r = v - nf;
	int n = (int)nf;
	float y = r * r;
	float ps = fmaf(y, CAIRN__SIN_S7, CAIRN__SIN_S5);
	ps = fmaf(y, ps, CAIRN__SIN_S3);
	/* S = (pi/2) r + r^3 P(r^2), with pi/2 as a pair; computed at
	 * 2^64 r so that r PIO2_LO does not underflow for tiny r (the
	 * final scaling is exact unless S is subnormal, then it rounds once
	 * more, to a subnormal). */
	float rs = r * 0x1p64f;
	float sp = fmaf(rs, CAIRN__PIO2_HI, rs * fmaf(y, ps, CAIRN__PIO2_LO));
	sp = sp * 0x1p-64f;
	/* C = 1 + c2 y + y^2 P(y): 1 + c2 y is kept as an exact pair (the
	 * rounding errors of r^2, of c2 and of c2 y go into the tail), so only
	 * the last addition rounds at full size. */
	float yl = fmaf(r, r, -y);
	float pc = fmaf(y, CAIRN__COS_C8, CAIRN__COS_C6);
	pc = fmaf(y, pc, CAIRN__COS_C4);
	float p = y * CAIRN__COS_C2_HI;
	float pl = fmaf(y, CAIRN__COS_C2_HI, -p);
	float h = 1.0f + p;
	float hl = (1.0f - h) + p;
	float ct = fmaf(yl, CAIRN__COS_C2_HI, y * CAIRN__COS_C2_LO);
	float cp = h + (hl + (pl + fmaf(y, y * pc, ct)));
	float sv = (n & 1) ? cp : sp;
	float cv = (n & 1) ? sp : cp;
	*s = (n & 2) ? -sv : sv;
	*c = ((n + 1) & 2) ? -cv : cv;
}

CAIRN_HD float cairn_sinpif(float x)
{
	uint32_t u = cairn_f2u(x);
	uint32_t sign = u & 0x80000000u;
	float a = cairn_u2f(u & 0x7fffffffu);
	float s, c;
	if (!(a < 0x1p23f)) {
		if (!(a < cairn__inf()))
			return x - x;   /* inf or NaN: NaN */
		return cairn_u2f(sign); /* an integer: +-0 */
	}
	cairn__sincospi(a, &s, &c);
	s = s + 0.0f;
	return cairn_u2f(cairn_f2u(s) ^ sign);
}

CAIRN_HD float cairn_cospif(float x)
{
	float a = cairn_u2f(cairn_f2u(x) & 0x7fffffffu);
	float s, c;
	if (!(a < 0x1p23f)) {
		if (!(a < cairn__inf()))
			return x - x;
		/* an integer: 1 if even (all a >= 2^24 are), -1 if odd */
		if (a < 0x1p24f && ((int)a & 1))
			return -1.0f;
		return 1.0f;
	}
	cairn__sincospi(a, &s, &c);
	return c + 0.0f;
}

#endif
