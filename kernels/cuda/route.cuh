/* cairn: which CUDA kernel file runs each op, and which ops (with which
 * arguments) the CUDA kernels take.  Shared by the backend
 * (backend_cuda.cu) and the host emulation of its kernels
 * (tests/emu/backend_emu.cpp), so that both route every op the same way. */
#ifndef CAIRN_CUDA_ROUTE_CUH
#define CAIRN_CUDA_ROUTE_CUH

#include "cuda_common.cuh"
#include "data.cuh"
#include "elementwise.cuh"
#include "gemm.cuh"
#include "hash.cuh"
#include "optim.cuh"
#include "rng.cuh"
#include "xent.cuh"

/* 1 when the kernels can run op.  GEMM: not TT; k-segments
 * (cairn_gemm_seg) only in whole k-tiles of the kernel (8), otherwise
 * CAIRN_ENOTSUP and the model adds the segments with sum_n. */
static inline int cairn__cuda_op_supported(const struct cairn_op *op)
{
	if (op->kind == CAIRN_OP_GEMM)
		return !(op->u.gemm.ta == CAIRN_TRANS &&
		         op->u.gemm.tb == CAIRN_TRANS) &&
		       (op->u.gemm.segs == 1 ||
		        (op->u.gemm.k / op->u.gemm.segs) % 8 == 0);
	return (int)op->kind >= 0 && op->kind < CAIRN_OP_COUNT;
}

/* Queues op on ctx's stream (the device already current). */
static inline int cairn__cuda_op_route(struct cairn_cuda_ctx *ctx,
                                       const struct cairn_op *op)
{
	switch (op->kind) {
	case CAIRN_OP_GEMM:
		return cairn__cuda_gemm(ctx, op);
	case CAIRN_OP_BIAS_ADD:
	case CAIRN_OP_BIAS_GRAD:
	case CAIRN_OP_RELU:
	case CAIRN_OP_RELU_BWD:
	case CAIRN_OP_GELU:
	case CAIRN_OP_GELU_BWD:
	case CAIRN_OP_SUB:
	case CAIRN_OP_SCALE:
		return cairn__cuda_elementwise(ctx, op);
	case CAIRN_OP_XENT_FWD:
	case CAIRN_OP_XENT_BWD:
		return cairn__cuda_xent(ctx, op);
	case CAIRN_OP_ADAMW:
	case CAIRN_OP_NESTEROV:
	case CAIRN_OP_SUM_N:
	case CAIRN_OP_SUM:
		return cairn__cuda_optim(ctx, op);
	case CAIRN_OP_FILL_UNIFORM:
	case CAIRN_OP_FILL_NORMAL:
		return cairn__cuda_fill(ctx, op);
	case CAIRN_OP_HASH_CHUNKS:
		return cairn__cuda_hash(ctx, op);
	case CAIRN_OP_GATHER_U8:
		return cairn__cuda_data(ctx, op);
	default:
		return CAIRN_ENOTSUP;
	}
}

#endif
