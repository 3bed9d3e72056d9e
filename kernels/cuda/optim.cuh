/* cairn: optimizer steps and fixed-order sums on CUDA (optim.cu). */
#ifndef CAIRN_CUDA_OPTIM_CUH
#define CAIRN_CUDA_OPTIM_CUH

#include "cuda_common.cuh"

/* Runs adamw, nesterov, sum_n or sum on ctx's stream, asynchronously.
 * sum_n copies its host pointer list into ctx's scratch first.  0,
 * CAIRN_ENOTSUP for another op, CAIRN_ENOMEM or CAIRN_EDEVICE. */
int cairn__cuda_optim(struct cairn_cuda_ctx *ctx, const struct cairn_op *op);

#endif
