/* cairn: counter-based random fills on CUDA (rng.cu). */
#ifndef CAIRN_CUDA_RNG_CUH
#define CAIRN_CUDA_RNG_CUH

#include "cuda_common.cuh"

/* Runs fill_uniform or fill_normal on ctx's stream, asynchronously: element
 * e is word (offset + e) % 4 of Philox block (offset + e) / 4, as in the
 * reference.  0, CAIRN_ENOTSUP for another op, or CAIRN_EDEVICE. */
int cairn__cuda_fill(struct cairn_cuda_ctx *ctx, const struct cairn_op *op);

#endif
