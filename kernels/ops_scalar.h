/* cairn: the per-element formulas of the elementwise ops, host and device.
 *
 * These inline functions ARE the definition of each op's order of
 * operations: the ref, cpu and cuda backends all call them, so the bits
 * agree by construction and the tests check that they do.  Every result goes
 * through cairn_canon() (one NaN bit pattern). */
#ifndef CAIRN_OPS_SCALAR_H
#define CAIRN_OPS_SCALAR_H

#include "hd.h"
#include "cairn_math.h"

/* GELU, tanh form: 0.5 x (1 + tanh(k0 (x + k1 x^3))). */
#define CAIRN_GELU_K0 0.7978845608028654f /* sqrt(2/pi) */
#define CAIRN_GELU_K1 0.044715f
#define CAIRN_GELU_K1X3 0.134145f /* 3 * k1 */

/* NaN stays NaN; -0 and negatives give +0. */
CAIRN_HD float cairn_relu_f(float x)
{
	return cairn_isnan(x) ? cairn_canon(x) : (x > 0.0f ? x : 0.0f);
}

/* dx = dy where x > 0, else +0; NaN x gives NaN. */
CAIRN_HD float cairn_relu_bwd_f(float x, float dy)
{
	if (cairn_isnan(x))
		return cairn_canon(x);
	return cairn_canon(x > 0.0f ? dy : 0.0f);
}

CAIRN_HD float cairn_gelu_f(float x)
{
	float x2 = x * x;
	float inner = CAIRN_GELU_K0 * fmaf(CAIRN_GELU_K1 * x2, x, x);
	float t = cairn_tanhf(inner);
	return cairn_canon((0.5f * x) * (1.0f + t));
}

/* d/dx of the tanh-form GELU:
 *   0.5 (1 + t) + 0.5 x (1 - t^2) k0 (1 + 3 k1 x^2),  t = tanh(inner). */
CAIRN_HD float cairn_gelu_bwd_f(float x, float dy)
{
	float x2 = x * x;
	float inner = CAIRN_GELU_K0 * fmaf(CAIRN_GELU_K1 * x2, x, x);
	float t = cairn_tanhf(inner);
	float dinner = CAIRN_GELU_K0 * fmaf(CAIRN_GELU_K1X3, x2, 1.0f);
	float sech2 = fmaf(-t, t, 1.0f);
	float g = fmaf(0.5f * x, sech2 * dinner, 0.5f * (1.0f + t));
	return cairn_canon(dy * g);
}

/* One AdamW element; scalars come precomputed (struct cairn_op.adamw). */
CAIRN_HD void cairn_adamw_f(float *p, float *m, float *v, float g, float lr,
                            float beta1, float beta2, float omb1, float omb2,
                            float decay, float bc1, float bc2, float eps)
{
	float mn = fmaf(beta1, *m, omb1 * g);
	float vn = fmaf(beta2, *v, omb2 * (g * g));
	float mhat = mn / bc1;
	float vhat = vn / bc2;
	float denom = sqrtf(vhat) + eps;
	float pn = fmaf(-lr, mhat / denom, *p * decay);
	*m = cairn_canon(mn);
	*v = cairn_canon(vn);
	*p = cairn_canon(pn);
}

/* A pixel as the model's input: cairn_dataset_pixel (dataset.h), the same
 * one division, here for every backend. */
CAIRN_HD float cairn_pixel_f(uint8_t p)
{
	return (float)p / 255.0f;
}

CAIRN_HD void cairn_nesterov_f(float *p, float *buf, float g, float lr,
                               float mu)
{
	float b = fmaf(mu, *buf, g);
	float upd = fmaf(mu, b, g);
	*buf = cairn_canon(b);
	*p = cairn_canon(fmaf(-lr, upd, *p));
}

/* Softmax cross-entropy of one row (the whole row is one fixed sequence):
 *   mx = x[0]; for j ascending: mx = x[j] > mx ? x[j] : mx
 *   s = 0; for j ascending: e_j = exp(x[j] - mx); s = s + e_j
 *   probs[j] = e_j / s;  loss = log(s) - (x[label] - mx)
 * probs may not alias x. */
CAIRN_HD float cairn_xent_row_f(const float *x, int64_t classes, int32_t label,
                                float *probs)
{
	float mx = x[0];
	for (int64_t j = 1; j < classes; j++)
		mx = x[j] > mx ? x[j] : mx;
	float s = 0.0f;
	for (int64_t j = 0; j < classes; j++) {
		float e = cairn_expf(x[j] - mx);
		probs[j] = e;
		s = s + e;
	}
	for (int64_t j = 0; j < classes; j++)
		probs[j] = cairn_canon(probs[j] / s);
	if (label < 0 || (int64_t)label >= classes)
		return cairn_u2f(0x7fc00000u);
	return cairn_canon(cairn_logf(s) - (x[label] - mx));
}

CAIRN_HD float cairn_xent_bwd_f(float prob, int is_label, int bad_label,
                                float scale)
{
	if (bad_label)
		return cairn_u2f(0x7fc00000u);
	return cairn_canon((prob - (is_label ? 1.0f : 0.0f)) * scale);
}

#endif
