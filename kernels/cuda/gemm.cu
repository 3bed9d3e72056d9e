/* cairn: exact SGEMM on CUDA, SIMT FP32 (no tensor cores, no split-K, no
 * atomics).
 *
 * The reference (kernels/ref) defines each output element as
 *   acc = accumulate ? C[i][j] : +0.0f
 *   for p = 0 .. k-1:  acc = fmaf(a(i,p), b(p,j), acc)
 *   C[i][j] = canon(acc)
 * This kernel computes exactly that chain in one thread per element: it
 * blocks over k by carrying the accumulators through the k-tiles, never by
 * adding partial sums, and nvcc is run with --fmad=false so the only FMAs
 * are the fmaf() calls written here.
 *
 * Shape of the kernel (BLIS/CUTLASS-style, sized for sm_80..sm_90):
 * - a block computes a 128 x 128 tile of C with 256 threads; each thread
 *   owns 8 x 8 accumulators, as 2 x 2 groups of 4 x 4 (rows r, r+16; columns
 *   c, c+32 inside its warp's 32 x 64 sub-tile), so that its operands come
 *   from shared memory as float4 reads without bank conflicts;
 * - k advances in tiles of 8: A and B tiles are staged in shared memory as
 *   [k][m] and [k][n] (A, or B in the NT layout, is transposed on the way
 *   in), double-buffered, and the next tile is loaded from global memory
 *   into registers while the current one is computed (one barrier a tile);
 * - global loads are float4 where the pointer and leading dimension allow,
 *   with a bounds-checked scalar path for unaligned data and edge tiles;
 * - tiles are visited in groups of 8 tile-rows so that blocks running at
 *   the same time share A and B panels in L2.
 *
 * Edges.  Elements outside the stored matrices are never read; the tile is
 * padded with A = -0.0f and B = +0.0f.  For an output inside C, the only
 * padded terms are those with p >= k, where the product is exactly
 * (-0) * (+0) = -0, and fmaf(-0, +0, acc) == acc for every acc (x + -0 = x
 * under round-to-nearest, including x = +0, -0, inf and NaN).  So the
 * padding adds no operation to the chain: k needs no tail loop.  Outputs
 * outside C are computed from padding and never stored. */
#include "gemm.cuh"
#include "hd.h"

#define GEMM_BM 128 /* rows of C per block */
#define GEMM_BN 128 /* columns of C per block */
#define GEMM_BK 8   /* k per shared-memory stage */
#define GEMM_THREADS 256
/* Shared row stride (floats): 4 floats of padding make the transposing
 * stores conflict-free (lanes writing k and k+4 land 16 banks apart) and
 * keep every row 16-byte aligned for float4 reads. */
#define GEMM_SLD (GEMM_BM + 4)
#define GEMM_GROUP_M 8 /* tile-rows per group in the visiting order */

static_assert(GEMM_BM == GEMM_BN, "the loaders cover 128 along m and n");
static_assert(GEMM_THREADS * 4 == GEMM_BM * GEMM_BK,
              "each thread loads one float4 of A and one of B per k-tile");
static_assert(GEMM_SLD % 4 == 0, "float4 reads need 16-byte rows");

/* Everything a launch needs, passed by value. */
struct gemm_args {
	const float *a, *b;
	float *c;
	int64_t m, n, k, lda, ldb, ldc;
	int64_t tiles_m, tiles_n, tiles;
	int64_t nkt; /* k-tiles: ceil(k / GEMM_BK) */
	/* elements from one k-tile to the next of an operand stored [k][len]:
	 * GEMM_BK * ld */
	int64_t a_kstep, b_kstep;
	int accumulate;
	int vec_a, vec_b, vec_c; /* float4 global access allowed */
};

/* Where this thread's 4 elements of one operand come from, set up once per
 * block tile and advanced one k-tile at a time (by GEMM_BK, or by
 * gemm_args.a_kstep / b_kstep for an operand stored [k][len]).
 *
 * KC (k-contiguous): the operand is stored [len][k] with leading dimension
 * ld (A in NN/NT, B in NT); thread t takes row mn0 + t/2, k 4(t%2)..+3 of
 * each k-tile.  Otherwise it is stored [k][len] (A in TN, B in NN); thread t
 * takes k row t/32 of each k-tile, columns mn0 + 4(t%32)..+3.
 *
 * len is m (for A) or n (for B).  Elements outside [0,len) x [0,k) read as
 * pad and are never dereferenced. */
struct gemm_src {
	const float *ptr; /* the first element in the current k-tile */
	int lanes;        /* KC: 4 if the row exists, else 0;
	                   * else: elements of the 4 inside [0,len) (0..4) */
	int koff;         /* k offset of the element(s) inside a k-tile */
	int vec;          /* float4 loads allowed (alignment) */
};

template <bool KC>
static __device__ __forceinline__ void
gemm_src_init(gemm_src &s, const float *x, int64_t ld, int64_t len, int64_t mn0,
              int vec)
{
	const int t = threadIdx.x;

	if (KC) {
		const int64_t r = mn0 + (t >> 1);
		s.koff = (t & 1) << 2;
		s.lanes = r < len ? 4 : 0;
		s.ptr = x + (r < len ? r : 0) * ld + s.koff;
	} else {
		const int64_t col = mn0 + ((t & 31) << 2);
		const int64_t left = len - col;
		s.koff = t >> 5;
		s.lanes = left >= 4 ? 4 : (left > 0 ? (int)left : 0);
		s.ptr = x + (int64_t)s.koff * ld + (left > 0 ? col : 0);
	}
	s.vec = vec;
}

/* Loads this thread's 4 elements of the current k-tile, of which krem
 * (1..GEMM_BK) k values are inside the matrix; pads the rest. */
template <bool KC>
static __device__ __forceinline__ void gemm_load(float4 &v, const gemm_src &s,
                                                 int krem, float pad)
{
	const float *src = s.ptr;

	v = make_float4(pad, pad, pad, pad);
	if (KC) {
		if (s.lanes == 0)
			return;
		if (s.vec && s.koff + 3 < krem) {
			v = __ldg(reinterpret_cast<const float4 *>(src));
			return;
		}
		if (s.koff < krem)
			v.x = __ldg(src);
		if (s.koff + 1 < krem)
			v.y = __ldg(src + 1);
		if (s.koff + 2 < krem)
			v.z = __ldg(src + 2);
		if (s.koff + 3 < krem)
			v.w = __ldg(src + 3);
	} else {
		if (s.koff >= krem)
			return;
		if (s.vec && s.lanes == 4) {
			v = __ldg(reinterpret_cast<const float4 *>(src));
			return;
		}
		if (s.lanes > 0)
			v.x = __ldg(src);
		if (s.lanes > 1)
			v.y = __ldg(src + 1);
		if (s.lanes > 2)
			v.z = __ldg(src + 2);
		if (s.lanes > 3)
			v.w = __ldg(src + 3);
	}
}

/* k values of k-tile kt inside the matrix, 1..GEMM_BK. */
static __device__ __forceinline__ int gemm_krem(int64_t k, int64_t kt)
{
	const int64_t left = k - kt * GEMM_BK;

	return left < GEMM_BK ? (int)left : GEMM_BK;
}

/* Stores what gemm_load<KC> loaded into a shared [k][GEMM_SLD] stage. */
template <bool KC>
static __device__ __forceinline__ void gemm_stage(float *s, const float4 &v)
{
	const int t = threadIdx.x;

	if (KC) {
		const int rr = t >> 1, kq = (t & 1) << 2;
		s[(kq + 0) * GEMM_SLD + rr] = v.x;
		s[(kq + 1) * GEMM_SLD + rr] = v.y;
		s[(kq + 2) * GEMM_SLD + rr] = v.z;
		s[(kq + 3) * GEMM_SLD + rr] = v.w;
	} else {
		const int kk = t >> 5, cq = (t & 31) << 2;
		*reinterpret_cast<float4 *>(&s[kk * GEMM_SLD + cq]) = v;
	}
}

/* The micro-kernel: one k-tile of rank-1 updates on the 8 x 8
 * accumulators, kk ascending.  rm, cn: the thread's first row and column in
 * the block tile. */
static __device__ __forceinline__ void
gemm_micro(float (&acc)[8][8], const float *sa, const float *sb, int rm, int cn)
{
#pragma unroll
	for (int kk = 0; kk < GEMM_BK; kk++) {
		const float4 a0 =
		    *reinterpret_cast<const float4 *>(&sa[kk * GEMM_SLD + rm]);
		const float4 a1 = *reinterpret_cast<const float4 *>(
		    &sa[kk * GEMM_SLD + rm + 16]);
		const float4 b0 =
		    *reinterpret_cast<const float4 *>(&sb[kk * GEMM_SLD + cn]);
		const float4 b1 = *reinterpret_cast<const float4 *>(
		    &sb[kk * GEMM_SLD + cn + 32]);
		const float av[8] = {a0.x, a0.y, a0.z, a0.w,
		                     a1.x, a1.y, a1.z, a1.w};
		const float bv[8] = {b0.x, b0.y, b0.z, b0.w,
		                     b1.x, b1.y, b1.z, b1.w};
#pragma unroll
		for (int i = 0; i < 8; i++)
#pragma unroll
			for (int j = 0; j < 8; j++)
				acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
	}
}

/* Special registers read with volatile asm: the compiler cannot merge two
 * reads, so the epilogue recomputes its coordinates after the main loop
 * instead of holding them in registers across it (the loop needs all 128
 * that two blocks per SM leave).  The host branch only serves host-side
 * emulation of this file; nvcc's device pass always takes the asm. */
static __device__ __forceinline__ unsigned int gemm_sreg_tid(void)
{
#ifdef __CUDA_ARCH__
	unsigned int r;
	asm volatile("mov.u32 %0, %%tid.x;" : "=r"(r));
	return r;
#else
	return threadIdx.x;
#endif
}

/* The block's linear index: blockIdx.y * gridDim.x + blockIdx.x. */
static __device__ __forceinline__ int64_t gemm_sreg_block(void)
{
#ifdef __CUDA_ARCH__
	unsigned int x, y, nx;
	asm volatile("mov.u32 %0, %%ctaid.x;" : "=r"(x));
	asm volatile("mov.u32 %0, %%ctaid.y;" : "=r"(y));
	asm volatile("mov.u32 %0, %%nctaid.x;" : "=r"(nx));
	return (int64_t)y * nx + x;
#else
	return (int64_t)blockIdx.y * gridDim.x + blockIdx.x;
#endif
}

/* Where a thread's accumulators sit in C. */
struct gemm_pos {
	int64_t m0, n0; /* the block tile's first row and column */
	int rm, cn;     /* the thread's first row and column in the tile */
};

/* Maps the block to its tile (grouped order: GEMM_GROUP_M tile-rows,
 * column by column, so that blocks running together share panels in L2)
 * and the thread to its 2 x 2 groups of 4 x 4 outputs: 8 warps as 4 (m) x
 * 2 (n), each 32 x 64; the lanes of a warp as 4 x 8.  Returns 0 for a
 * block past the last tile. */
static __device__ __forceinline__ int gemm_pos_get(const gemm_args &g,
                                                   gemm_pos &pos)
{
	const int64_t tile = gemm_sreg_block();
	const int t = (int)gemm_sreg_tid();
	const int warp = t >> 5, lane = t & 31;

	if (tile >= g.tiles)
		return 0;
	const int64_t per_group = GEMM_GROUP_M * g.tiles_n;
	const int64_t group = tile / per_group;
	const int64_t first_m = group * GEMM_GROUP_M;
	const int64_t gsz = g.tiles_m - first_m < GEMM_GROUP_M
	                        ? g.tiles_m - first_m
	                        : GEMM_GROUP_M;
	const int64_t in_group = tile - group * per_group;
	pos.m0 = (first_m + in_group % gsz) * GEMM_BM;
	pos.n0 = (in_group / gsz) * GEMM_BN;
	pos.rm = (warp >> 1) * 32 + (lane >> 3) * 4;
	pos.cn = (warp & 1) * 64 + (lane & 7) * 4;
	return 1;
}

/* Row (in the block tile) of accumulator row i: rows rm..rm+3 then
 * rm+16..rm+19; columns likewise cn..cn+3 then cn+32..cn+35. */
static __device__ __forceinline__ int gemm_row(int rm, int i)
{
	return rm + (i >> 2) * 16 + (i & 3);
}

/* acc = C (accumulate) or +0.0f; outside C: +0.0f. */
static __device__ __forceinline__ void
gemm_acc_init(float (&acc)[8][8], const gemm_args &g, const gemm_pos &pos)
{
#pragma unroll
	for (int i = 0; i < 8; i++) {
		const int64_t row = pos.m0 + gemm_row(pos.rm, i);
#pragma unroll
		for (int h = 0; h < 2; h++) {
			const int64_t col = pos.n0 + pos.cn + h * 32;
			float4 v = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
			if (g.accumulate && row < g.m) {
				const float *src = g.c + row * g.ldc + col;
				if (g.vec_c && col + 3 < g.n) {
					v = *reinterpret_cast<const float4 *>(
					    src);
				} else {
					if (col < g.n)
						v.x = src[0];
					if (col + 1 < g.n)
						v.y = src[1];
					if (col + 2 < g.n)
						v.z = src[2];
					if (col + 3 < g.n)
						v.w = src[3];
				}
			}
			acc[i][h * 4 + 0] = v.x;
			acc[i][h * 4 + 1] = v.y;
			acc[i][h * 4 + 2] = v.z;
			acc[i][h * 4 + 3] = v.w;
		}
	}
}

/* C = canon(acc), inside C only. */
static __device__ __forceinline__ void gemm_acc_store(const float (&acc)[8][8],
                                                      const gemm_args &g,
                                                      const gemm_pos &pos)
{
#pragma unroll
	for (int i = 0; i < 8; i++) {
		const int64_t row = pos.m0 + gemm_row(pos.rm, i);
		if (row >= g.m)
			continue;
#pragma unroll
		for (int h = 0; h < 2; h++) {
			const int64_t col = pos.n0 + pos.cn + h * 32;
			float *dst = g.c + row * g.ldc + col;
			const float4 v =
			    make_float4(cairn_canon(acc[i][h * 4 + 0]),
			                cairn_canon(acc[i][h * 4 + 1]),
			                cairn_canon(acc[i][h * 4 + 2]),
			                cairn_canon(acc[i][h * 4 + 3]));
			if (g.vec_c && col + 3 < g.n) {
				*reinterpret_cast<float4 *>(dst) = v;
			} else {
				if (col < g.n)
					dst[0] = v.x;
				if (col + 1 < g.n)
					dst[1] = v.y;
				if (col + 2 < g.n)
					dst[2] = v.z;
				if (col + 3 < g.n)
					dst[3] = v.w;
			}
		}
	}
}

/* C = [C +] op(A) op(B) for one layout: A_KC is "A stored [m][k]" (NN,
 * NT), B_KC is "B stored [n][k]" (NT).  One 128 x 128 tile per block
 * (2-D grid, see gemm_sreg_block); 256 threads. */
template <bool A_KC, bool B_KC>
static __global__ void __launch_bounds__(GEMM_THREADS, 2)
    gemm_kernel(const gemm_args g)
{
	__shared__ __align__(16) float sa[2][GEMM_BK * GEMM_SLD];
	__shared__ __align__(16) float sb[2][GEMM_BK * GEMM_SLD];
	float acc[8][8];
	gemm_pos pos;

	if (!gemm_pos_get(g, pos))
		return; /* the whole block: before any barrier */
	gemm_acc_init(acc, g, pos);

	if (g.nkt > 0) {
		gemm_src sa_src, sb_src;
		float4 va, vb;

		gemm_src_init<A_KC>(sa_src, g.a, g.lda, g.m, pos.m0, g.vec_a);
		gemm_src_init<B_KC>(sb_src, g.b, g.ldb, g.n, pos.n0, g.vec_b);
		gemm_load<A_KC>(va, sa_src, gemm_krem(g.k, 0), -0.0f);
		gemm_load<B_KC>(vb, sb_src, gemm_krem(g.k, 0), 0.0f);
		gemm_stage<A_KC>(sa[0], va);
		gemm_stage<B_KC>(sb[0], vb);
		__syncthreads();
		for (int64_t kt = 0; kt < g.nkt; kt++) {
			const int cur = (int)(kt & 1);
			const bool more = kt + 1 < g.nkt;
			/* Prefetch k-tile kt+1 into registers; it lands in
			 * the other stage after the math. */
			if (more) {
				const int krem = gemm_krem(g.k, kt + 1);
				sa_src.ptr += A_KC ? GEMM_BK : g.a_kstep;
				sb_src.ptr += B_KC ? GEMM_BK : g.b_kstep;
				gemm_load<A_KC>(va, sa_src, krem, -0.0f);
				gemm_load<B_KC>(vb, sb_src, krem, 0.0f);
			}
			gemm_micro(acc, sa[cur], sb[cur], pos.rm, pos.cn);
			if (more) {
				gemm_stage<A_KC>(sa[cur ^ 1], va);
				gemm_stage<B_KC>(sb[cur ^ 1], vb);
			}
			/* Stage cur^1 is complete and everyone is done
			 * reading stage cur (rewritten next round). */
			__syncthreads();
		}
	}

	gemm_pos_get(g, pos); /* re-read, see gemm_sreg_tid */
	gemm_acc_store(acc, g, pos);
}

/* float4 access is allowed when the base is 16-byte aligned and every row
 * starts 16-byte aligned too. */
static int gemm_vec_ok(const void *p, int64_t ld)
{
	return ((uintptr_t)p % 16) == 0 && (ld % 4) == 0;
}

/* Fills the launch arguments and the grid from op (m, n > 0). */
static void gemm_args_init(gemm_args &g, dim3 &grid, const struct cairn_op *op)
{
	int64_t gx;

	g.a = op->u.gemm.a;
	g.b = op->u.gemm.b;
	g.c = op->u.gemm.c;
	g.m = op->u.gemm.m;
	g.n = op->u.gemm.n;
	g.k = op->u.gemm.k;
	g.lda = op->u.gemm.lda;
	g.ldb = op->u.gemm.ldb;
	g.ldc = op->u.gemm.ldc;
	g.accumulate = op->u.gemm.accumulate ? 1 : 0;
	g.vec_a = gemm_vec_ok(g.a, g.lda);
	g.vec_b = gemm_vec_ok(g.b, g.ldb);
	g.vec_c = gemm_vec_ok(g.c, g.ldc);
	g.tiles_m = (g.m + GEMM_BM - 1) / GEMM_BM;
	g.tiles_n = (g.n + GEMM_BN - 1) / GEMM_BN;
	g.tiles = g.tiles_m * g.tiles_n;
	g.nkt = (g.k + GEMM_BK - 1) / GEMM_BK;
	g.a_kstep = GEMM_BK * g.lda;
	g.b_kstep = GEMM_BK * g.ldb;
	/* One tile per block on a 2-D grid (x first); spare blocks return. */
	gx = g.tiles < INT32_MAX ? g.tiles : INT32_MAX;
	grid = dim3((unsigned int)gx, (unsigned int)((g.tiles + gx - 1) / gx));
}

int cairn__cuda_gemm(struct cairn_cuda_ctx *ctx, const struct cairn_op *op)
{
	gemm_args g;
	dim3 grid;

	if (op->u.gemm.m <= 0 || op->u.gemm.n <= 0)
		return 0;
	gemm_args_init(g, grid, op);
	if (op->u.gemm.ta == CAIRN_NOTRANS && op->u.gemm.tb == CAIRN_NOTRANS) {
		gemm_kernel<true, false>
		    <<<grid, GEMM_THREADS, 0, ctx->stream>>>(g);
		return CAIRN_CUDA_CHECK_LAUNCH("gemm_kernel<nn>");
	}
	if (op->u.gemm.ta == CAIRN_NOTRANS && op->u.gemm.tb == CAIRN_TRANS) {
		gemm_kernel<true, true>
		    <<<grid, GEMM_THREADS, 0, ctx->stream>>>(g);
		return CAIRN_CUDA_CHECK_LAUNCH("gemm_kernel<nt>");
	}
	if (op->u.gemm.ta == CAIRN_TRANS && op->u.gemm.tb == CAIRN_NOTRANS) {
		gemm_kernel<false, false>
		    <<<grid, GEMM_THREADS, 0, ctx->stream>>>(g);
		return CAIRN_CUDA_CHECK_LAUNCH("gemm_kernel<tn>");
	}
	return CAIRN_ENOTSUP; /* TT: supports_op says no */
}
