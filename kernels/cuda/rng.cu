/* cairn: counter-based random fills on CUDA (Philox4x32-10, philox.h).
 *
 * The reference gives element e word (offset + e) % 4 of Philox block
 * (offset + e) / 4.  Here one thread computes one block and writes the (up
 * to 4) elements that fall on it: with s = offset % 4, thread g covers
 * counters offset - s + 4g .. +3, i.e. elements e = 4g + lane - s for lane
 * 0..3, those inside [0, n).  ops.c guarantees offset + n does not wrap. */
#include "philox.h"
#include "rng.cuh"

/* Fills out[0..n) from blocks (offset >> 2) + g, g in [0, groups). */
template <bool NORMAL>
static __global__ void rng_fill_kernel(int64_t n, int64_t groups, uint64_t key,
                                       uint64_t stream, uint64_t offset,
                                       float p0, float p1, float *out)
{
	const int64_t s = (int64_t)(offset & 3u);
	const uint64_t block0 = offset >> 2;

	for (int64_t g = cairn__cuda_first(); g < groups;
	     g += cairn__cuda_stride()) {
		uint32_t w[4];
		cairn_philox_block(key, stream, block0 + (uint64_t)g, w);
#pragma unroll
		for (int lane = 0; lane < 4; lane++) {
			const int64_t e = 4 * g + lane - s;
			if (e < 0 || e >= n)
				continue;
			out[e] = NORMAL ? cairn_rng_normal(w, lane, p0, p1)
			                : cairn_rng_uniform(w[lane], p0, p1);
		}
	}
}

int cairn__cuda_fill(struct cairn_cuda_ctx *ctx, const struct cairn_op *op)
{
	const int64_t n = op->u.fill.n;
	const int64_t s = (int64_t)(op->u.fill.offset & 3u);
	int64_t groups;
	unsigned int blocks;

	if (n <= 0)
		return 0;
	groups = (n + s + 3) / 4;
	blocks = cairn__cuda_blocks(groups, CAIRN_CUDA_THREADS);
	switch (op->kind) {
	case CAIRN_OP_FILL_UNIFORM:
		CAIRN_CUDA_LAUNCH(rng_fill_kernel<false>, blocks,
		                  CAIRN_CUDA_THREADS, ctx->stream, n, groups,
		                  op->u.fill.key, op->u.fill.stream,
		                  op->u.fill.offset, op->u.fill.p0,
		                  op->u.fill.p1, op->u.fill.out);
		return CAIRN_CUDA_CHECK_LAUNCH("rng_fill_kernel<uniform>");
	case CAIRN_OP_FILL_NORMAL:
		CAIRN_CUDA_LAUNCH(rng_fill_kernel<true>, blocks,
		                  CAIRN_CUDA_THREADS, ctx->stream, n, groups,
		                  op->u.fill.key, op->u.fill.stream,
		                  op->u.fill.offset, op->u.fill.p0,
		                  op->u.fill.p1, op->u.fill.out);
		return CAIRN_CUDA_CHECK_LAUNCH("rng_fill_kernel<normal>");
	default:
		return CAIRN_ENOTSUP;
	}
}
