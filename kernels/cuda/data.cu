/* cairn: a batch gathered from a training set on the device.
 *
 * gather_u8: one thread per output pixel, the reference's own division
 * (cairn_pixel_f in ops_scalar.h, correctly rounded: -prec-div=true), and
 * the label by the row's first thread.  The index list comes from the
 * host through the backend's scratch, as sum_n's pointer list does. */
#include "data.cuh"
#include "ops_scalar.h"

static __global__ void data_gather_u8_kernel(int64_t n, int64_t cols,
                                             const uint32_t *idx,
                                             const uint8_t *src,
                                             const uint8_t *labels, float *x,
                                             int32_t *y)
{
	for (int64_t e = cairn__cuda_first(); e < n * cols;
	     e += cairn__cuda_stride()) {
		int64_t r = e / cols, j = e - r * cols;
		int64_t row = (int64_t)idx[r];

		x[e] = cairn_pixel_f(src[row * cols + j]);
		if (labels && j == 0)
			y[r] = (int32_t)labels[row];
	}
}

int cairn__cuda_data(struct cairn_cuda_ctx *ctx, const struct cairn_op *op)
{
	const int64_t n = op->u.gather.n, cols = op->u.gather.cols;
	const size_t bytes = (size_t)n * sizeof(uint32_t);
	void *didx = NULL;
	int rc;

	if (op->kind != CAIRN_OP_GATHER_U8)
		return CAIRN_ENOTSUP;
	if (n <= 0)
		return 0;
	rc = cairn__cuda_scratch(ctx, bytes, &didx);
	if (rc)
		return rc;
	ctx->sumn_count = 0; /* scratch no longer holds sum_n's list */
	/* queued on the stream: an earlier op still reading scratch
	 * finishes first; from pageable memory it is staged on return */
	rc = CAIRN_CUDA_CHECK(cudaMemcpyAsync(didx, op->u.gather.idx, bytes,
	                                      cudaMemcpyHostToDevice,
	                                      ctx->stream));
	if (rc)
		return rc;
	CAIRN_CUDA_LAUNCH(data_gather_u8_kernel,
	                  cairn__cuda_blocks(n * cols, CAIRN_CUDA_THREADS),
	                  CAIRN_CUDA_THREADS, ctx->stream, n, cols,
	                  (const uint32_t *)didx, op->u.gather.src,
	                  op->u.gather.labels, op->u.gather.x, op->u.gather.y);
	return CAIRN_CUDA_CHECK_LAUNCH("data_gather_u8_kernel");
}
