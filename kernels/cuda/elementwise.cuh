/* cairn: elementwise ops on CUDA (elementwise.cu). */
#ifndef CAIRN_CUDA_ELEMENTWISE_CUH
#define CAIRN_CUDA_ELEMENTWISE_CUH

#include "cuda_common.cuh"

/* Runs bias_add, bias_grad, relu, relu_bwd, gelu, gelu_bwd, sub or scale
 * on ctx's stream, asynchronously, with the per-element formulas of
 * ops_scalar.h.  0, CAIRN_ENOTSUP for another op, or CAIRN_EDEVICE. */
int cairn__cuda_elementwise(struct cairn_cuda_ctx *ctx,
                            const struct cairn_op *op);

#endif
