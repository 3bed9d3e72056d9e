/* cairn: hashes of fixed-size chunks on CUDA (hash.cu). */
#ifndef CAIRN_CUDA_HASH_CUH
#define CAIRN_CUDA_HASH_CUH

#include "cuda_common.cuh"

/* Runs hash_chunks on ctx's stream, asynchronously: out[32c..32c+32) =
 * BLAKE2b-256(header || chunk c).  The header travels by value in the
 * kernel's parameters, so the op's struct may go right after.  0,
 * CAIRN_ENOTSUP for another op, or CAIRN_EDEVICE. */
int cairn__cuda_hash(struct cairn_cuda_ctx *ctx, const struct cairn_op *op);

#endif
