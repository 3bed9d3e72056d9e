/* cairn: softmax cross-entropy on CUDA (xent.cu). */
#ifndef CAIRN_CUDA_XENT_CUH
#define CAIRN_CUDA_XENT_CUH

#include "cuda_common.cuh"

/* Runs xent_fwd or xent_bwd on ctx's stream, asynchronously, with
 * cairn_xent_row_f / cairn_xent_bwd_f.  0, CAIRN_ENOTSUP for another op,
 * or CAIRN_EDEVICE. */
int cairn__cuda_xent(struct cairn_cuda_ctx *ctx, const struct cairn_op *op);

#endif
