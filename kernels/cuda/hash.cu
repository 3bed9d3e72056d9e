/* cairn: hashes of fixed-size chunks on CUDA.
 *
 * hash_chunks: one thread per chunk runs the same BLAKE2b compression as
 * the host (kernels/blake2b.h, compiled for the device) over the 128-byte
 * header and then the chunk, read as aligned words where it can be, so
 * every chunk's 32 bytes equal the reference's.  The op knows no domains: the
 * caller's header arrives by value in the kernel parameters (a 128-byte
 * struct), so nothing is copied to the device for it and the host op may be
 * freed once queued. */
#include "blake2b.h"
#include "hash.cuh"

#define HASH_THREADS 128

/* The header block, passed by value (kernel parameter space). */
struct hash_header {
	uint8_t b[CAIRN_HASH_CHUNKS_HEADER_BYTES];
};

/* One block of message words from p (blen bytes, 1..128; zero padded):
 * aligned words when the block is whole and align says the words may be
 * read as such (8: 64-bit words, 4: 32-bit halves; the device is little-
 * endian, so a word read is cairn__blake2b_load64's), else bytes. */
static __device__ __forceinline__ void
hash_words(uint64_t m[16], const uint8_t *p, int blen, int align)
{
	if (blen == CAIRN_BLAKE2B_BLOCKBYTES && align == 8) {
		const uint64_t *w = (const uint64_t *)p;
#pragma unroll
		for (int i = 0; i < 16; i++)
			m[i] = w[i];
	} else if (blen == CAIRN_BLAKE2B_BLOCKBYTES && align == 4) {
		const uint32_t *w = (const uint32_t *)p;
#pragma unroll
		for (int i = 0; i < 16; i++)
			m[i] = (uint64_t)w[2 * i] | (uint64_t)w[2 * i + 1]
			                                << 32;
	} else {
		for (int i = 0; i < 16; i++)
			m[i] = 0;
		for (int i = 0; i < blen; i++)
			m[i / 8] |= (uint64_t)p[i] << (8 * (i % 8));
	}
}

/* Chunk c's hash: BLAKE2b-256 of the header block and then the chunk, as
 * cairn_blake2b_init/update/final compute it (the header is one whole
 * block; every later block counts 128 bytes more, and the message's last
 * block, zero padded, is compressed with the final flag), but reading the
 * chunk as aligned words straight into the compression function, with no
 * buffer: the state stays in registers. */
static __global__ void __launch_bounds__(HASH_THREADS)
    hash_chunks_kernel(const uint8_t *data, int64_t bytes, int64_t chunk_bytes,
                       int64_t nchunks, struct hash_header header, int align,
                       uint8_t *out)
{
	for (int64_t c = cairn__cuda_first(); c < nchunks;
	     c += cairn__cuda_stride()) {
		const int64_t off = c * chunk_bytes;
		const int64_t len =
		    bytes - off < chunk_bytes ? bytes - off : chunk_bytes;
		const int64_t nb = (len + CAIRN_BLAKE2B_BLOCKBYTES - 1) /
		                   CAIRN_BLAKE2B_BLOCKBYTES;
		uint64_t h[8], m[16];

		h[0] = CAIRN_BLAKE2B_IV0 ^ 0x01010000ull ^ 32u;
		h[1] = CAIRN_BLAKE2B_IV1;
		h[2] = CAIRN_BLAKE2B_IV2;
		h[3] = CAIRN_BLAKE2B_IV3;
		h[4] = CAIRN_BLAKE2B_IV4;
		h[5] = CAIRN_BLAKE2B_IV5;
		h[6] = CAIRN_BLAKE2B_IV6;
		h[7] = CAIRN_BLAKE2B_IV7;
		for (int i = 0; i < 16; i++)
			m[i] = cairn__blake2b_load64(header.b + 8 * i);
		cairn_blake2b_compress(h, m, CAIRN_BLAKE2B_BLOCKBYTES, 0,
		                       nb == 0);
		for (int64_t b = 0; b < nb; b++) {
			const int64_t at = b * CAIRN_BLAKE2B_BLOCKBYTES;
			const int blen = len - at < CAIRN_BLAKE2B_BLOCKBYTES
			                     ? (int)(len - at)
			                     : CAIRN_BLAKE2B_BLOCKBYTES;
			hash_words(m, data + off + at, blen, align);
			cairn_blake2b_compress(
			    h, m,
			    (uint64_t)(CAIRN_BLAKE2B_BLOCKBYTES + at + blen), 0,
			    b == nb - 1);
		}
		for (int i = 0; i < 32; i++)
			out[32 * c + i] = (uint8_t)(h[i / 8] >> (8 * (i % 8)));
	}
}

int cairn__cuda_hash(struct cairn_cuda_ctx *ctx, const struct cairn_op *op)
{
	struct hash_header header;
	int64_t nchunks;
	int align;

	if (op->kind != CAIRN_OP_HASH_CHUNKS)
		return CAIRN_ENOTSUP;
	nchunks = cairn__hash_nchunks(op->u.hash.bytes, op->u.hash.chunk_bytes);
	memcpy(header.b, op->u.hash.header, sizeof header.b);
	/* Whole blocks are read as words when every chunk starts aligned. */
	{
		const uintptr_t a = (uintptr_t)op->u.hash.data |
		                    (uintptr_t)op->u.hash.chunk_bytes;
		align = a % 8 == 0 ? 8 : a % 4 == 0 ? 4 : 1;
	}
	{
		const int threads =
		    ctx->hash_threads > 0 && ctx->hash_threads <= HASH_THREADS
		        ? ctx->hash_threads
		        : HASH_THREADS;
		CAIRN_CUDA_LAUNCH(hash_chunks_kernel,
		                  cairn__cuda_blocks(nchunks, threads), threads,
		                  ctx->stream, op->u.hash.data,
		                  op->u.hash.bytes, op->u.hash.chunk_bytes,
		                  nchunks, header, align, op->u.hash.out);
	}
	return CAIRN_CUDA_CHECK_LAUNCH("hash_chunks_kernel");
}
