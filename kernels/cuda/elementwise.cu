/* cairn: elementwise ops on CUDA: bias add and gradient, ReLU and GELU with
 * their gradients, sub and scale.
 *
 * Each output element is computed by one thread with the very inline
 * function the reference uses (ops_scalar.h), so the bits agree by
 * construction.  Loops are grid-stride with int64_t indices.  Outputs may
 * alias inputs element for element (y == x), so no __restrict__ here. */
#include "elementwise.cuh"
#include "ops_scalar.h"

/* Most blocks along y (rows) of the bias_add grid (gridDim.y <= 65535). */
#define EW_MAX_ROW_BLOCKS 65535

/* y[r][j] = x[r][j] + bias[j]: rows grid-stride along y, columns along x,
 * so no division is needed to find j. */
static __global__ void ew_bias_add_kernel(int64_t rows, int64_t cols,
                                          const float *x, const float *bias,
                                          float *y)
{
	for (int64_t r = blockIdx.y; r < rows; r += gridDim.y) {
		const float *xr = x + r * cols;
		float *yr = y + r * cols;
		for (int64_t j = cairn__cuda_first(); j < cols;
		     j += cairn__cuda_stride())
			yr[j] = cairn_canon(xr[j] + bias[j]);
	}
}

/* db[j] = +0, then db[j] + dy[i][j] for i ascending: one thread per
 * column, so neighbouring threads read neighbouring addresses. */
static __global__ void ew_bias_grad_kernel(int64_t rows, int64_t cols,
                                           const float *dy, float *db)
{
	for (int64_t j = cairn__cuda_first(); j < cols;
	     j += cairn__cuda_stride()) {
		float acc = 0.0f;
		for (int64_t i = 0; i < rows; i++)
			acc = acc + dy[i * cols + j];
		db[j] = cairn_canon(acc);
	}
}

/* The four activations, one kernel each (KIND is the op). */
template <int KIND>
static __global__ void ew_act_kernel(int64_t n, const float *x, const float *dy,
                                     float *y)
{
	for (int64_t e = cairn__cuda_first(); e < n;
	     e += cairn__cuda_stride()) {
		switch (KIND) {
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

/* out = a - b */
static __global__ void ew_sub_kernel(int64_t n, const float *a, const float *b,
                                     float *out)
{
	for (int64_t e = cairn__cuda_first(); e < n; e += cairn__cuda_stride())
		out[e] = cairn_canon(a[e] - b[e]);
}

/* out = a * s */
static __global__ void ew_scale_kernel(int64_t n, const float *a, float s,
                                       float *out)
{
	for (int64_t e = cairn__cuda_first(); e < n; e += cairn__cuda_stride())
		out[e] = cairn_canon(a[e] * s);
}

static int ew_bias_add(struct cairn_cuda_ctx *ctx, const struct cairn_op *op)
{
	const int64_t rows = op->u.bias.rows, cols = op->u.bias.cols;
	dim3 grid;

	if (rows <= 0 || cols <= 0)
		return 0;
	grid.x = cairn__cuda_blocks(cols, CAIRN_CUDA_THREADS);
	grid.y =
	    (unsigned int)(rows < EW_MAX_ROW_BLOCKS ? rows : EW_MAX_ROW_BLOCKS);
	grid.z = 1;
	CAIRN_CUDA_LAUNCH(ew_bias_add_kernel, grid, CAIRN_CUDA_THREADS,
	                  ctx->stream, rows, cols, op->u.bias.x,
	                  op->u.bias.bias, op->u.bias.y);
	return CAIRN_CUDA_CHECK_LAUNCH("ew_bias_add_kernel");
}

/* rows == 0 is valid: db becomes +0.0f. */
static int ew_bias_grad(struct cairn_cuda_ctx *ctx, const struct cairn_op *op)
{
	const int64_t cols = op->u.bias.cols;

	if (cols <= 0)
		return 0;
	CAIRN_CUDA_LAUNCH(ew_bias_grad_kernel,
	                  cairn__cuda_blocks(cols, CAIRN_CUDA_THREADS),
	                  CAIRN_CUDA_THREADS, ctx->stream, op->u.bias.rows,
	                  cols, op->u.bias.x, op->u.bias.y);
	return CAIRN_CUDA_CHECK_LAUNCH("ew_bias_grad_kernel");
}

template <int KIND>
static int ew_act(struct cairn_cuda_ctx *ctx, const struct cairn_op *op,
                  const char *name)
{
	const int64_t n = op->u.act.n;

	if (n <= 0)
		return 0;
	CAIRN_CUDA_LAUNCH(ew_act_kernel<KIND>,
	                  cairn__cuda_blocks(n, CAIRN_CUDA_THREADS),
	                  CAIRN_CUDA_THREADS, ctx->stream, n, op->u.act.x,
	                  op->u.act.dy, op->u.act.y);
	return cairn__cuda_check(cudaGetLastError(), name, __FILE__, __LINE__);
}

int cairn__cuda_elementwise(struct cairn_cuda_ctx *ctx,
                            const struct cairn_op *op)
{
	const int64_t n = op->u.vec.n;

	switch (op->kind) {
	case CAIRN_OP_BIAS_ADD:
		return ew_bias_add(ctx, op);
	case CAIRN_OP_BIAS_GRAD:
		return ew_bias_grad(ctx, op);
	case CAIRN_OP_RELU:
		return ew_act<CAIRN_OP_RELU>(ctx, op,
		                             "launch of ew_act_kernel<relu>");
	case CAIRN_OP_RELU_BWD:
		return ew_act<CAIRN_OP_RELU_BWD>(
		    ctx, op, "launch of ew_act_kernel<relu_bwd>");
	case CAIRN_OP_GELU:
		return ew_act<CAIRN_OP_GELU>(ctx, op,
		                             "launch of ew_act_kernel<gelu>");
	case CAIRN_OP_GELU_BWD:
		return ew_act<CAIRN_OP_GELU_BWD>(
		    ctx, op, "launch of ew_act_kernel<gelu_bwd>");
	case CAIRN_OP_SUB:
		if (n <= 0)
			return 0;
		CAIRN_CUDA_LAUNCH(ew_sub_kernel,
		                  cairn__cuda_blocks(n, CAIRN_CUDA_THREADS),
		                  CAIRN_CUDA_THREADS, ctx->stream, n,
		                  op->u.vec.a, op->u.vec.b, op->u.vec.out);
		return CAIRN_CUDA_CHECK_LAUNCH("ew_sub_kernel");
	case CAIRN_OP_SCALE:
		if (n <= 0)
			return 0;
		CAIRN_CUDA_LAUNCH(ew_scale_kernel,
		                  cairn__cuda_blocks(n, CAIRN_CUDA_THREADS),
		                  CAIRN_CUDA_THREADS, ctx->stream, n,
		                  op->u.vec.a, op->u.vec.s, op->u.vec.out);
		return CAIRN_CUDA_CHECK_LAUNCH("ew_scale_kernel");
	default:
		return CAIRN_ENOTSUP;
	}
}
