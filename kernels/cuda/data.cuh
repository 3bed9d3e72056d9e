/* cairn: a batch gathered from a training set on the device (data.cu). */
#ifndef CAIRN_CUDA_DATA_CUH
#define CAIRN_CUDA_DATA_CUH

#include "cuda_common.cuh"

/* Runs gather_u8 on ctx's stream, asynchronously: the host index list is
 * copied into ctx's scratch first (staged before this returns, so the
 * caller may reuse it).  0, CAIRN_ENOTSUP for another op, CAIRN_ENOMEM or
 * CAIRN_EDEVICE. */
int cairn__cuda_data(struct cairn_cuda_ctx *ctx, const struct cairn_op *op);

#endif
