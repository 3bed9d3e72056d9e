/* cairn: the reference backend, plain scalar C.
 *
 * This file is the oracle: each loop below is the definition of its op's
 * order of operations (docs/numeric-profile.md), and every other backend is
 * tested against it with memcmp.  Clarity over speed: no blocking, no
 * threads, no vectors.  Memory is host memory (cairn__host_alloc). */
#include <stdint.h>
#include <stdio.h>

#include "backend_impl.h"
#include "blake2b.h"
#include "cairn/error.h"
#include "ops_scalar.h"
#include "philox.h"

/* C[i][j] = init; acc = fmaf(a(i,p), b(p,j), acc) for p ascending.  With
 * segs > 1 (cairn_gemm_seg): one such chain from +0 per k-segment, each
 * canonicalised, added in segment order (sum_n's chain), canonicalised. */
static void ref_gemm(const struct cairn_op *op)
{
	const cairn_trans ta = op->u.gemm.ta, tb = op->u.gemm.tb;
	const int64_t m = op->u.gemm.m, n = op->u.gemm.n, k = op->u.gemm.k;
	const int64_t lda = op->u.gemm.lda, ldb = op->u.gemm.ldb;
	const int64_t ldc = op->u.gemm.ldc, segs = op->u.gemm.segs;
	const int64_t q = k / segs; /* segment length */
	const float *a = op->u.gemm.a, *b = op->u.gemm.b;
	float *c = op->u.gemm.c;

	for (int64_t i = 0; i < m; i++) {
		for (int64_t j = 0; j < n; j++) {
			float sum = 0.0f;
			for (int64_t s = 0; s < segs; s++) {
				float acc = op->u.gemm.accumulate
				                ? c[i * ldc + j]
				                : 0.0f;
				for (int64_t p = s * q; p < s * q + q; p++) {
					float av = ta == CAIRN_NOTRANS
					               ? a[i * lda + p]
					               : a[p * lda + i];
					float bv = tb == CAIRN_NOTRANS
					               ? b[p * ldb + j]
					               : b[j * ldb + p];
					acc = fmaf(av, bv, acc);
				}
				sum = s ? sum + cairn_canon(acc)
				        : cairn_canon(acc);
			}
			c[i * ldc + j] = cairn_canon(sum);
		}
	}
}

static void ref_bias_add(const struct cairn_op *op)
{
	const int64_t rows = op->u.bias.rows, cols = op->u.bias.cols;

	for (int64_t i = 0; i < rows; i++)
		for (int64_t j = 0; j < cols; j++)
			op->u.bias.y[i * cols + j] = cairn_canon(
			    op->u.bias.x[i * cols + j] + op->u.bias.bias[j]);
}

/* db[j] = +0; db[j] += dy[i][j] for i ascending. */
static void ref_bias_grad(const struct cairn_op *op)
{
	const int64_t rows = op->u.bias.rows, cols = op->u.bias.cols;

	for (int64_t j = 0; j < cols; j++) {
		float acc = 0.0f;
		for (int64_t i = 0; i < rows; i++)
			acc = acc + op->u.bias.x[i * cols + j];
		op->u.bias.y[j] = cairn_canon(acc);
	}
}

static void ref_act(const struct cairn_op *op)
{
	const float *x = op->u.act.x, *dy = op->u.act.dy;
	float *y = op->u.act.y;

	for (int64_t e = 0; e < op->u.act.n; e++) {
		switch (op->kind) {
		case CAIRN_OP_RELU:
			y[e] = cairn_relu_f(x[e]);
			break;
		case CAIRN_OP_RELU_BWD:
			y[e] = cairn_relu_bwd_f(x[e], dy[e]);
			break;
		case CAIRN_OP_GELU:
			y[e] = cairn_gelu_f(x[e]);
			break;
		default: /* CAIRN_OP_GELU_BWD */
			y[e] = cairn_gelu_bwd_f(x[e], dy[e]);
			break;
		}
	}
}

static void ref_xent_fwd(const struct cairn_op *op)
{
	const int64_t rows = op->u.xent.rows, cls = op->u.xent.classes;

	for (int64_t r = 0; r < rows; r++)
		op->u.xent.loss[r] = cairn_xent_row_f(op->u.xent.in + r * cls,
		                                      cls, op->u.xent.labels[r],
		                                      op->u.xent.out + r * cls);
}

static void ref_xent_bwd(const struct cairn_op *op)
{
	const int64_t rows = op->u.xent.rows, cls = op->u.xent.classes;

	for (int64_t r = 0; r < rows; r++) {
		int32_t label = op->u.xent.labels[r];
		int bad = label < 0 || (int64_t)label >= cls;
		for (int64_t j = 0; j < cls; j++)
			op->u.xent.out[r * cls + j] =
			    cairn_xent_bwd_f(op->u.xent.in[r * cls + j],
			                     j == label, bad, op->u.xent.scale);
	}
}

static void ref_adamw(const struct cairn_op *op)
{
	for (int64_t e = 0; e < op->u.adamw.n; e++)
		cairn_adamw_f(
		    &op->u.adamw.param[e], &op->u.adamw.m[e], &op->u.adamw.v[e],
		    op->u.adamw.grad[e], op->u.adamw.lr, op->u.adamw.beta1,
		    op->u.adamw.beta2, op->u.adamw.one_minus_beta1,
		    op->u.adamw.one_minus_beta2, op->u.adamw.decay,
		    op->u.adamw.bc1, op->u.adamw.bc2, op->u.adamw.eps);
}

static void ref_nesterov(const struct cairn_op *op)
{
	for (int64_t e = 0; e < op->u.nesterov.n; e++)
		cairn_nesterov_f(&op->u.nesterov.param[e],
		                 &op->u.nesterov.buf[e], op->u.nesterov.grad[e],
		                 op->u.nesterov.lr, op->u.nesterov.momentum);
}

/* dst = ((src0 + src1) + src2) + ... per element, in source order. */
static void ref_sum_n(const struct cairn_op *op)
{
	for (int64_t e = 0; e < op->u.sum_n.n; e++) {
		float acc = op->u.sum_n.src[0][e];
		for (int i = 1; i < op->u.sum_n.count; i++)
			acc = acc + op->u.sum_n.src[i][e];
		op->u.sum_n.dst[e] = cairn_canon(acc);
	}
}

static void ref_vec(const struct cairn_op *op)
{
	const int64_t n = op->u.vec.n;
	const float *a = op->u.vec.a, *b = op->u.vec.b;
	float *out = op->u.vec.out;

	if (op->kind == CAIRN_OP_SUM) {
		float acc = 0.0f;
		for (int64_t e = 0; e < n; e++)
			acc = acc + a[e];
		out[0] = cairn_canon(acc);
		return;
	}
	for (int64_t e = 0; e < n; e++)
		out[e] =
		    cairn_canon(op->kind == CAIRN_OP_SUB ? a[e] - b[e]
		                                         : a[e] * op->u.vec.s);
}

/* Element e is word (offset + e) % 4 of Philox block (offset + e) / 4. */
static void ref_fill(const struct cairn_op *op)
{
	for (int64_t e = 0; e < op->u.fill.n; e++) {
		uint64_t idx = op->u.fill.offset + (uint64_t)e;
		uint32_t w[4];
		cairn_philox_block(op->u.fill.key, op->u.fill.stream, idx / 4,
		                   w);
		if (op->kind == CAIRN_OP_FILL_UNIFORM)
			op->u.fill.out[e] = cairn_rng_uniform(
			    w[idx % 4], op->u.fill.p0, op->u.fill.p1);
		else
			op->u.fill.out[e] = cairn_rng_normal(
			    w, (int)(idx % 4), op->u.fill.p0, op->u.fill.p1);
	}
}

/* x[r][j] = cairn_pixel_f(src[idx[r]][j]); y[r] = labels[idx[r]]. */
static void ref_gather_u8(const struct cairn_op *op)
{
	const int64_t cols = op->u.gather.cols;

	for (int64_t r = 0; r < op->u.gather.n; r++) {
		const uint8_t *row =
		    op->u.gather.src + (int64_t)op->u.gather.idx[r] * cols;
		for (int64_t j = 0; j < cols; j++)
			op->u.gather.x[r * cols + j] = cairn_pixel_f(row[j]);
		if (op->u.gather.labels)
			op->u.gather.y[r] =
			    op->u.gather.labels[op->u.gather.idx[r]];
	}
}

/* out[32c..32c+32) = BLAKE2b-256(header || chunk c), chunk by chunk. */
static void ref_hash_chunks(const struct cairn_op *op)
{
	const int64_t bytes = op->u.hash.bytes, cb = op->u.hash.chunk_bytes;
	const int64_t nchunks = cairn__hash_nchunks(bytes, cb);

	for (int64_t c = 0; c < nchunks; c++) {
		struct cairn_blake2b_state st;
		int64_t off = c * cb;
		int64_t len = bytes - off < cb ? bytes - off : cb;

		cairn_blake2b_init(&st, 32);
		cairn_blake2b_update(&st, op->u.hash.header,
		                     sizeof op->u.hash.header);
		if (len > 0)
			cairn_blake2b_update(&st, op->u.hash.data + off,
			                     (size_t)len);
		cairn_blake2b_final(&st, op->u.hash.out + 32 * c);
	}
}

static int ref_supports_op(struct cairn_backend *be, const struct cairn_op *op)
{
	(void)be;
	if (op->kind == CAIRN_OP_GEMM)
		return !(op->u.gemm.ta == CAIRN_TRANS &&
		         op->u.gemm.tb == CAIRN_TRANS);
	return (int)op->kind >= 0 && op->kind < CAIRN_OP_COUNT;
}

static int ref_op_run(struct cairn_backend *be, const struct cairn_op *op)
{
	(void)be;
	switch (op->kind) {
	case CAIRN_OP_GEMM:
		ref_gemm(op);
		break;
	case CAIRN_OP_BIAS_ADD:
		ref_bias_add(op);
		break;
	case CAIRN_OP_BIAS_GRAD:
		ref_bias_grad(op);
		break;
	case CAIRN_OP_RELU:
	case CAIRN_OP_RELU_BWD:
	case CAIRN_OP_GELU:
	case CAIRN_OP_GELU_BWD:
		ref_act(op);
		break;
	case CAIRN_OP_XENT_FWD:
		ref_xent_fwd(op);
		break;
	case CAIRN_OP_XENT_BWD:
		ref_xent_bwd(op);
		break;
	case CAIRN_OP_ADAMW:
		ref_adamw(op);
		break;
	case CAIRN_OP_NESTEROV:
		ref_nesterov(op);
		break;
	case CAIRN_OP_SUM_N:
		ref_sum_n(op);
		break;
	case CAIRN_OP_SUB:
	case CAIRN_OP_SCALE:
	case CAIRN_OP_SUM:
		ref_vec(op);
		break;
	case CAIRN_OP_FILL_UNIFORM:
	case CAIRN_OP_FILL_NORMAL:
		ref_fill(op);
		break;
	case CAIRN_OP_HASH_CHUNKS:
		ref_hash_chunks(op);
		break;
	case CAIRN_OP_GATHER_U8:
		ref_gather_u8(op);
		break;
	default:
		return CAIRN_ENOTSUP;
	}
	return 0;
}

static void ref_free(struct cairn_backend *be)
{
	(void)be;
}

static const struct cairn_backend_i ref_iface = {
    /* .name        = */ "ref",
    /* .free        = */ ref_free,
    /* .buf_alloc   = */ cairn__host_alloc,
    /* .buf_free    = */ cairn__host_free,
    /* .buf_write   = */ cairn__host_copy,
    /* .buf_read    = */ cairn__host_copy,
    /* .buf_copy    = */ cairn__host_copy,
    /* .sync        = */ NULL,
    /* .supports_op = */ ref_supports_op,
    /* .op_run      = */ ref_op_run,
    /* .buf_copy_async = */ NULL, /* ops are done when they return */
    /* .wait_for    = */ NULL,
    /* .open_peer   = */ NULL,
};

int cairn__backend_ref_init(struct cairn_backend *be,
                            const cairn_backend_opts *opts)
{
	(void)opts;
	be->iface = &ref_iface;
	be->threads = 1;
	be->ctx = NULL;
	snprintf(be->desc, sizeof be->desc,
	         "scalar reference (the oracle), 1 thread");
	return 0;
}
