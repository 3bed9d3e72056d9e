/* cairn: optimizer steps and fixed-order sums on CUDA.
 *
 * adamw and nesterov: one thread per element with the reference's inline
 * formulas (ops_scalar.h).  sum_n: one thread per element adds the sources
 * in source order.  sum: the reference's single sequential chain, run by
 * one thread over chunks that the block stages in shared memory (the
 * chain itself cannot be split without changing the bits). */
#include <stdlib.h>
#include <string.h>

#include "optim.cuh"
#include "ops_scalar.h"

/* Elements the sum kernel stages per round (floats of shared memory). */
#define OPT_SUM_CHUNK 4096
#define OPT_SUM_THREADS 256

/* One AdamW step; scalars precomputed on the host (struct cairn_op). */
static __global__ void opt_adamw_kernel(int64_t n, float *param,
                                        const float *grad, float *m, float *v,
                                        float lr, float beta1, float beta2,
                                        float omb1, float omb2, float decay,
                                        float bc1, float bc2, float eps)
{
	for (int64_t e = cairn__cuda_first(); e < n;
	     e += cairn__cuda_stride()) {
		float p = param[e], mm = m[e], vv = v[e];
		cairn_adamw_f(&p, &mm, &vv, grad[e], lr, beta1, beta2, omb1,
		              omb2, decay, bc1, bc2, eps);
		param[e] = p;
		m[e] = mm;
		v[e] = vv;
	}
}

static __global__ void opt_nesterov_kernel(int64_t n, float *param,
                                           const float *grad, float *buf,
                                           float lr, float mu)
{
	for (int64_t e = cairn__cuda_first(); e < n;
	     e += cairn__cuda_stride()) {
		float p = param[e], b = buf[e];
		cairn_nesterov_f(&p, &b, grad[e], lr, mu);
		param[e] = p;
		buf[e] = b;
	}
}

/* Sources of a sum_n passed by value, in the kernel's parameters (512
 * bytes of the 4 KiB they may take): no copy to the device at all. */
#define OPT_SUM_N_INLINE 64
struct opt_src_list {
	const float *p[OPT_SUM_N_INLINE];
	__device__ const float *operator[](int i) const
	{
		return p[i];
	}
};

/* dst[e] = ((src[0][e] + src[1][e]) + src[2][e]) + ...; src is a device
 * array of count device pointers, or (L = struct opt_src_list) the
 * pointers themselves.  Every source element is read before dst[e] is
 * written, so dst may be one of the sources. */
template <typename L>
static __global__ void opt_sum_n_kernel(int64_t n, int count, L src, float *dst)
{
	for (int64_t e = cairn__cuda_first(); e < n;
	     e += cairn__cuda_stride()) {
		float acc = src[0][e];
		for (int i = 1; i < count; i++)
			acc = acc + src[i][e];
		dst[e] = cairn_canon(acc);
	}
}

/* out[0] = x[0] + x[1] + ... in index order from +0.0f.  One block: all
 * threads stage a chunk in shared memory (coalesced), thread 0 adds it in
 * order.  n == 0 writes +0.0f. */
static __global__ void __launch_bounds__(OPT_SUM_THREADS)
    opt_sum_kernel(int64_t n, const float *x, float *out)
{
	__shared__ float chunk[OPT_SUM_CHUNK];
	float acc = 0.0f; /* meaningful in thread 0 */

	for (int64_t base = 0; base < n; base += OPT_SUM_CHUNK) {
		const int len =
		    n - base < OPT_SUM_CHUNK ? (int)(n - base) : OPT_SUM_CHUNK;
		for (int i = threadIdx.x; i < len; i += blockDim.x)
			chunk[i] = x[base + i];
		__syncthreads();
		if (threadIdx.x == 0)
			for (int i = 0; i < len; i++)
				acc = acc + chunk[i];
		__syncthreads();
	}
	if (threadIdx.x == 0)
		out[0] = cairn_canon(acc);
}

/* Up to OPT_SUM_N_INLINE sources go to the kernel by value.  A longer
 * host pointer list is copied into scratch (the copy is queued on the
 * stream, so an earlier sum_n still reading scratch finishes first),
 * unless scratch already holds it (ctx->sumn_list).  A rig relies on
 * both: a copy from pageable memory may wait for the stream, where an
 * NCCL receive may be pending (kernels/comm.h). */
static int opt_sum_n(struct cairn_cuda_ctx *ctx, const struct cairn_op *op)
{
	const int64_t n = op->u.sum_n.n;
	const int count = op->u.sum_n.count;
	const size_t bytes = (size_t)count * sizeof(const float *);
	void *dsrc = NULL;
	int rc;

	if (n <= 0 || count <= 0)
		return 0;
	if (count <= OPT_SUM_N_INLINE) {
		struct opt_src_list list;
		memset(&list, 0, sizeof list);
		memcpy(list.p, op->u.sum_n.src, bytes);
		CAIRN_CUDA_LAUNCH(opt_sum_n_kernel,
		                  cairn__cuda_blocks(n, CAIRN_CUDA_THREADS),
		                  CAIRN_CUDA_THREADS, ctx->stream, n, count,
		                  list, op->u.sum_n.dst);
		return CAIRN_CUDA_CHECK_LAUNCH("opt_sum_n_kernel");
	}
	rc = cairn__cuda_scratch(ctx, bytes, &dsrc);
	if (rc)
		return rc;
	if (count > ctx->sumn_count ||
	    memcmp(ctx->sumn_list, op->u.sum_n.src, bytes)) {
		if (count > ctx->sumn_cap) {
			void *p = realloc(ctx->sumn_list, bytes);
			if (!p)
				return CAIRN_ENOMEM;
			ctx->sumn_list = (const float **)p;
			ctx->sumn_cap = count;
		}
		ctx->sumn_count = 0; /* until the copy is queued */
		/* From pageable memory: returns once the list is staged,
		 * so the caller may free op->u.sum_n.src right after. */
		rc = CAIRN_CUDA_CHECK(
		    cudaMemcpyAsync(dsrc, op->u.sum_n.src, bytes,
		                    cudaMemcpyHostToDevice, ctx->stream));
		if (rc)
			return rc;
		memcpy(ctx->sumn_list, op->u.sum_n.src, bytes);
		ctx->sumn_count = count;
	}
	CAIRN_CUDA_LAUNCH(opt_sum_n_kernel,
	                  cairn__cuda_blocks(n, CAIRN_CUDA_THREADS),
	                  CAIRN_CUDA_THREADS, ctx->stream, n, count,
	                  (const float *const *)dsrc, op->u.sum_n.dst);
	return CAIRN_CUDA_CHECK_LAUNCH("opt_sum_n_kernel");
}

int cairn__cuda_optim(struct cairn_cuda_ctx *ctx, const struct cairn_op *op)
{
	switch (op->kind) {
	case CAIRN_OP_ADAMW: {
		const int64_t n = op->u.adamw.n;
		if (n <= 0)
			return 0;
		CAIRN_CUDA_LAUNCH(
		    opt_adamw_kernel, cairn__cuda_blocks(n, CAIRN_CUDA_THREADS),
		    CAIRN_CUDA_THREADS, ctx->stream, n, op->u.adamw.param,
		    op->u.adamw.grad, op->u.adamw.m, op->u.adamw.v,
		    op->u.adamw.lr, op->u.adamw.beta1, op->u.adamw.beta2,
		    op->u.adamw.one_minus_beta1, op->u.adamw.one_minus_beta2,
		    op->u.adamw.decay, op->u.adamw.bc1, op->u.adamw.bc2,
		    op->u.adamw.eps);
		return CAIRN_CUDA_CHECK_LAUNCH("opt_adamw_kernel");
	}
	case CAIRN_OP_NESTEROV: {
		const int64_t n = op->u.nesterov.n;
		if (n <= 0)
			return 0;
		CAIRN_CUDA_LAUNCH(opt_nesterov_kernel,
		                  cairn__cuda_blocks(n, CAIRN_CUDA_THREADS),
		                  CAIRN_CUDA_THREADS, ctx->stream, n,
		                  op->u.nesterov.param, op->u.nesterov.grad,
		                  op->u.nesterov.buf, op->u.nesterov.lr,
		                  op->u.nesterov.momentum);
		return CAIRN_CUDA_CHECK_LAUNCH("opt_nesterov_kernel");
	}
	case CAIRN_OP_SUM_N:
		return opt_sum_n(ctx, op);
	case CAIRN_OP_SUM:
		/* n == 0 still writes out[0] = +0.0f, as the reference. */
		CAIRN_CUDA_LAUNCH_SYNC(opt_sum_kernel, 1, OPT_SUM_THREADS,
		                       ctx->stream,
		                       op->u.vec.n > 0 ? op->u.vec.n : 0,
		                       op->u.vec.a, op->u.vec.out);
		return CAIRN_CUDA_CHECK_LAUNCH("opt_sum_kernel");
	default:
		return CAIRN_ENOTSUP;
	}
}
