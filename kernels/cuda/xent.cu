/* cairn: softmax cross-entropy on CUDA.
 *
 * Forward: one thread per row runs cairn_xent_row_f, the reference's own
 * function, so the row's max, sum and divisions are the same sequence (the
 * rows are short: 10 classes for the reference model).  Backward: one
 * thread per element with cairn_xent_bwd_f. */
#include "ops_scalar.h"
#include "xent.cuh"

#define XENT_FWD_THREADS 128

/* loss[r] and probs[r][.] of each row; probs does not alias logits. */
static __global__ void xent_fwd_kernel(int64_t rows, int64_t classes,
                                       const float *logits,
                                       const int32_t *labels, float *probs,
                                       float *loss)
{
	for (int64_t r = cairn__cuda_first(); r < rows;
	     r += cairn__cuda_stride())
		loss[r] = cairn_xent_row_f(logits + r * classes, classes,
		                           labels[r], probs + r * classes);
}

/* dlogits[r][j] = (probs[r][j] - (j == label)) * scale; a label outside
 * [0, classes) gives a NaN row. */
static __global__ void xent_bwd_kernel(int64_t rows, int64_t classes,
                                       const float *probs,
                                       const int32_t *labels, float scale,
                                       float *dlogits)
{
	const int64_t n = rows * classes;

	for (int64_t e = cairn__cuda_first(); e < n;
	     e += cairn__cuda_stride()) {
		const int64_t r = e / classes, j = e - r * classes;
		const int32_t label = labels[r];
		const int bad = label < 0 || (int64_t)label >= classes;
		dlogits[e] = cairn_xent_bwd_f(probs[e], j == label, bad, scale);
	}
}

int cairn__cuda_xent(struct cairn_cuda_ctx *ctx, const struct cairn_op *op)
{
	const int64_t rows = op->u.xent.rows, classes = op->u.xent.classes;

	if (rows <= 0 || classes <= 0)
		return 0;
	switch (op->kind) {
	case CAIRN_OP_XENT_FWD:
		CAIRN_CUDA_LAUNCH(
		    xent_fwd_kernel, cairn__cuda_blocks(rows, XENT_FWD_THREADS),
		    XENT_FWD_THREADS, ctx->stream, rows, classes, op->u.xent.in,
		    op->u.xent.labels, op->u.xent.out, op->u.xent.loss);
		return CAIRN_CUDA_CHECK_LAUNCH("xent_fwd_kernel");
	case CAIRN_OP_XENT_BWD:
		CAIRN_CUDA_LAUNCH(
		    xent_bwd_kernel,
		    cairn__cuda_blocks(rows * classes, CAIRN_CUDA_THREADS),
		    CAIRN_CUDA_THREADS, ctx->stream, rows, classes,
		    op->u.xent.in, op->u.xent.labels, op->u.xent.scale,
		    op->u.xent.out);
		return CAIRN_CUDA_CHECK_LAUNCH("xent_bwd_kernel");
	default:
		return CAIRN_ENOTSUP;
	}
}
