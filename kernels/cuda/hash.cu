/* cairn: hashes of fixed-size chunks on CUDA.
 *
 * hash_chunks: one thread per chunk runs the same BLAKE2b code as the host
 * (kernels/blake2b.h, compiled for the device): absorb the 128-byte header,
 * then the chunk, then finish, so every chunk's 32 bytes equal the
 * reference's.  The op knows no domains: the caller's header arrives by
 * value in the kernel parameters (a 128-byte struct), so nothing is copied
 * to the device for it and the host op may be freed once queued. */
#include "blake2b.h"
#include "hash.cuh"

#define HASH_THREADS 128

/* The header block, passed by value (kernel parameter space). */
struct hash_header {
	uint8_t b[CAIRN_HASH_CHUNKS_HEADER_BYTES];
};

static __global__ void __launch_bounds__(HASH_THREADS)
    hash_chunks_kernel(const uint8_t *data, int64_t bytes, int64_t chunk_bytes,
                       int64_t nchunks, struct hash_header header,
                       uint8_t *out)
{
	for (int64_t c = cairn__cuda_first(); c < nchunks;
	     c += cairn__cuda_stride()) {
		struct cairn_blake2b_state st;
		const int64_t off = c * chunk_bytes;
		const int64_t len =
		    bytes - off < chunk_bytes ? bytes - off : chunk_bytes;
		uint8_t digest[32];

		cairn_blake2b_init(&st, 32);
		cairn_blake2b_update(&st, header.b, sizeof header.b);
		if (len > 0) /* no arithmetic on a NULL data */
			cairn_blake2b_update(&st, data + off, (size_t)len);
		cairn_blake2b_final(&st, digest);
		for (int i = 0; i < 32; i++)
			out[32 * c + i] = digest[i];
	}
}

int cairn__cuda_hash(struct cairn_cuda_ctx *ctx, const struct cairn_op *op)
{
	struct hash_header header;
	int64_t nchunks;

	if (op->kind != CAIRN_OP_HASH_CHUNKS)
		return CAIRN_ENOTSUP;
	nchunks = cairn__hash_nchunks(op->u.hash.bytes, op->u.hash.chunk_bytes);
	memcpy(header.b, op->u.hash.header, sizeof header.b);
	CAIRN_CUDA_LAUNCH(
	    hash_chunks_kernel, cairn__cuda_blocks(nchunks, HASH_THREADS),
	    HASH_THREADS, ctx->stream, op->u.hash.data, op->u.hash.bytes,
	    op->u.hash.chunk_bytes, nchunks, header, op->u.hash.out);
	return CAIRN_CUDA_CHECK_LAUNCH("hash_chunks_kernel");
}
