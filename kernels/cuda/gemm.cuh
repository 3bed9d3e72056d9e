/* cairn: exact SGEMM on CUDA (gemm.cu). */
#ifndef CAIRN_CUDA_GEMM_CUH
#define CAIRN_CUDA_GEMM_CUH

#include "cuda_common.cuh"

/* Runs op->u.gemm (NN, NT or TN; arguments checked by ops.c; k-segments
 * only of whole k-tiles of 8, see cuda_supports_op) on ctx's stream,
 * asynchronously.  Bit-equal to the reference: each C element is
 * one fmaf chain, k ascending, in one thread.  0 or CAIRN_EDEVICE. */
int cairn__cuda_gemm(struct cairn_cuda_ctx *ctx, const struct cairn_op *op);

/* The GEMM's block shapes (rows x columns of C per block, and the
 * outputs per thread when not 8 x 8): "128x128", "64x128", "64x64",
 * "32x64", "32x64-4x4", "16x32-4x4", 0..5.  parse: the index of a name,
 * -1 for any other string (NULL included).  name: the name of an index,
 * "auto" for -1.  pick: the shape for an m x n C on sm_count
 * multiprocessors, forced when 0..5, else the first of 128x128, 64x128,
 * 64x64, 32x64-4x4 with at least sm_count tiles, else 16x32-4x4.  Which
 * shape runs never changes the bits. */
int cairn__cuda_gemm_shape_parse(const char *name);
const char *cairn__cuda_gemm_shape_name(int shape);
int cairn__cuda_gemm_shape_pick(int64_t m, int64_t n, int sm_count, int forced);

#endif
