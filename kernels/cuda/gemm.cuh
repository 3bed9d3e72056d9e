/* cairn: exact SGEMM on CUDA (gemm.cu). */
#ifndef CAIRN_CUDA_GEMM_CUH
#define CAIRN_CUDA_GEMM_CUH

#include "cuda_common.cuh"

/* Runs op->u.gemm (NN, NT or TN; arguments checked by ops.c) on ctx's
 * stream, asynchronously.  Bit-equal to the reference: each C element is
 * one fmaf chain, k ascending, in one thread.  0 or CAIRN_EDEVICE. */
int cairn__cuda_gemm(struct cairn_cuda_ctx *ctx, const struct cairn_op *op);

#endif
