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
 * - a block of WM x WN warps computes a tile of C; each thread owns
 *   TM x TM accumulators (8 x 8, or 4 x 4 for small problems) as groups
 *   of 4 x 4 (rows r, r+16; columns c, c+32 inside its warp's sub-tile
 *   of 4 TM x 8 TM), so that its operands come from shared memory as
 *   float4 reads without bank conflicts.  Six shapes (gemm_shapes):
 *   128 x 128 (256 threads) for large problems, and 64 x 128, 64 x 64,
 *   32 x 64 and, with 4 x 4 a thread, 32 x 64 and 16 x 32, so that the
 *   training step's GEMMs (256 x 1024: only 4096 threads at 8 x 8 each)
 *   still give every multiprocessor warps to run: the launcher takes
 *   the largest shape with at least one tile per multiprocessor
 *   (cairn__cuda_gemm_shape_pick).  The shape decides which thread
 *   computes an element, never how: the bits are the same for all;
 * - k advances in tiles of 8: A and B tiles are staged in shared memory as
 *   [k][m] and [k][n] (A, or B in the NT layout, is transposed on the way
 *   in), double-buffered, and the next tile is loaded from global memory
 *   into registers while the current one is computed (one barrier a tile);
 * - global loads are float4 where the pointer and leading dimension allow,
 *   with a bounds-checked scalar path for unaligned data and edge tiles;
 * - tiles are visited in groups of 8 tile-rows so that blocks running at
 *   the same time share A and B panels in L2.
 *
 * k-segments (cairn_gemm_seg, segments of q = k / segs, a multiple of
 * GEMM_BK): at the end of each segment's last k-tile the thread writes
 * canon(acc) (first segment) or canon(C + acc) (later ones) to its own
 * elements of C and restarts acc from +0: the sum in segment order of
 * canonical chains, cairn_sum_n's bits.  C is only read back by the
 * thread that wrote it, so no barrier is involved.
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

#define GEMM_BK 8      /* k per shared-memory stage */
#define GEMM_GROUP_M 8 /* tile-rows per group in the visiting order */

/* One block shape: WM x WN warps, each thread TM x TM outputs (8 or 4),
 * so each warp (4 x 8 lanes) 4 TM x 8 TM outputs. */
template <int WM, int WN, int TM> struct gemm_shape {
	static constexpr int BM = 4 * TM * WM; /* rows of C per block */
	static constexpr int BN = 8 * TM * WN; /* columns of C per block */
	static constexpr int THREADS = 32 * WM * WN;
	/* Shared row strides (floats): 4 floats of padding make the
	 * transposing stores conflict-free (lanes writing k and k+4 land 16
	 * banks apart: (BM + 4) * 4 is 16 mod 32 for every BM here) and keep
	 * every row 16-byte aligned for float4 reads. */
	static constexpr int SLDA = BM + 4;
	static constexpr int SLDB = BN + 4;
	/* float4s of A and of B per k-tile, and the loads per thread that
	 * cover them (threads past NA or NB have nothing to load when there
	 * are fewer float4s than threads) */
	static constexpr int NA = BM * GEMM_BK / 4;
	static constexpr int NB = BN * GEMM_BK / 4;
	static constexpr int LA = (NA + THREADS - 1) / THREADS;
	static constexpr int LB = (NB + THREADS - 1) / THREADS;
	/* __launch_bounds__' blocks per multiprocessor: 2 (128 registers a
	 * thread) for the large shape, as before the small ones existed;
	 * 1 for the small ones, which run when there are fewer tiles than
	 * multiprocessors, so registers are worth more than occupancy. */
	static constexpr int MIN_BLOCKS = THREADS == 256 && TM == 8 ? 2 : 1;
	static_assert((BM & (BM - 1)) == 0 && (BN & (BN - 1)) == 0,
	              "powers of two: the loaders shift and mask");
	static_assert(TM == 8 || TM == 4, "groups of 4 x 4 outputs");
	static_assert(NA % THREADS == 0 || NA < THREADS,
	              "the A loads cover the tile exactly");
	static_assert(NB % THREADS == 0 || NB < THREADS,
	              "the B loads cover the tile exactly");
	static_assert(SLDA % 4 == 0 && SLDB % 4 == 0,
	              "float4 reads need 16-byte rows");
	static_assert((SLDA * 4) % 32 == 16 && (SLDB * 4) % 32 == 16,
	              "k and k+4 land 16 banks apart");
};

/* Everything a launch needs, passed by value. */
struct gemm_args {
	const float *a, *b;
	float *c;
	int64_t m, n, k, lda, ldb, ldc;
	int64_t tiles_m, tiles_n, tiles;
	int64_t nkt; /* k-tiles: ceil(k / GEMM_BK) */
	/* k-tiles per k-segment (cairn_gemm_seg), 0 without segments */
	int64_t seg_kt;
	/* elements from one k-tile to the next of an operand stored [k][len]:
	 * GEMM_BK * ld */
	int64_t a_kstep, b_kstep;
	int accumulate;
	int vec_a, vec_b, vec_c; /* float4 global access allowed */
};

/* Where 4 elements of one operand come from, for one of a thread's loads,
 * set up once per block tile and advanced one k-tile at a time (by
 * GEMM_BK, or by gemm_args.a_kstep / b_kstep for an operand stored
 * [k][len]).  Load l of thread t covers the tile's float4 number
 * e = t + l * THREADS:
 *
 * KC (k-contiguous): the operand is stored [len][k] with leading dimension
 * ld (A in NN/NT, B in NT); e is row mn0 + e/2, k 4(e%2)..+3 of each
 * k-tile.  Otherwise it is stored [k][len] (A in TN, B in NN); e is k row
 * e/(TL/4) of each k-tile, columns mn0 + 4(e%(TL/4))..+3, with TL the
 * tile's length along len (BM or BN).
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

template <bool KC, int TL>
static __device__ __forceinline__ void
gemm_src_init(gemm_src &s, unsigned int e, const float *x, int64_t ld,
              int64_t len, int64_t mn0, int vec)
{
	if (KC) {
		const int64_t r = mn0 + (e >> 1);
		s.koff = (e & 1) << 2;
		s.lanes = r < len ? 4 : 0;
		s.ptr = x + (r < len ? r : 0) * ld + s.koff;
	} else {
		const int64_t col = mn0 + ((e & (TL / 4 - 1)) << 2);
		const int64_t left = len - col;
		s.koff = (int)(e / (TL / 4));
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

/* Stores what gemm_load<KC> loaded for tile float4 e into a shared
 * [k][SLD] stage of a tile TL long. */
template <bool KC, int TL, int SLD>
static __device__ __forceinline__ void gemm_stage(float *s, unsigned int e,
                                                  const float4 &v)
{
	if (KC) {
		const unsigned int rr = e >> 1, kq = (e & 1) << 2;
		s[(kq + 0) * SLD + rr] = v.x;
		s[(kq + 1) * SLD + rr] = v.y;
		s[(kq + 2) * SLD + rr] = v.z;
		s[(kq + 3) * SLD + rr] = v.w;
	} else {
		const unsigned int kk = e / (TL / 4);
		const unsigned int cq = (e & (TL / 4 - 1)) << 2;
		*reinterpret_cast<float4 *>(&s[kk * SLD + cq]) = v;
	}
}

/* The micro-kernel: one k-tile of rank-1 updates on the TM x TM
 * accumulators, kk ascending.  rm, cn: the thread's first row and column in
 * the block tile; its rows are rm..rm+3 (and rm+16..rm+19 when TM is 8),
 * its columns cn..cn+3 (and cn+32..cn+35). */
template <int SLDA, int SLDB, int TM>
static __device__ __forceinline__ void
gemm_micro(float (&acc)[TM][TM], const float *sa, const float *sb, int rm,
           int cn)
{
#pragma unroll
	for (int kk = 0; kk < GEMM_BK; kk++) {
		float av[TM], bv[TM];
#pragma unroll
		for (int h = 0; h < TM / 4; h++) {
			const float4 a = *reinterpret_cast<const float4 *>(
			    &sa[kk * SLDA + rm + 16 * h]);
			const float4 b = *reinterpret_cast<const float4 *>(
			    &sb[kk * SLDB + cn + 32 * h]);
			av[4 * h + 0] = a.x;
			av[4 * h + 1] = a.y;
			av[4 * h + 2] = a.z;
			av[4 * h + 3] = a.w;
			bv[4 * h + 0] = b.x;
			bv[4 * h + 1] = b.y;
			bv[4 * h + 2] = b.z;
			bv[4 * h + 3] = b.w;
		}
#pragma unroll
		for (int i = 0; i < TM; i++)
#pragma unroll
			for (int j = 0; j < TM; j++)
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
 * and the thread to its (TM/4) x (TM/4) groups of 4 x 4 outputs: the
 * WM x WN warps row by row, each 4 TM x 8 TM; the lanes of a warp as
 * 4 x 8.  Returns 0 for a block past the last tile. */
template <int BM, int BN, int WN, int TM>
static __device__ __forceinline__ int gemm_pos_get(const gemm_args &g,
                                                   gemm_pos &pos)
{
	const int64_t tile = gemm_sreg_block();
	const unsigned int t = gemm_sreg_tid();
	const int warp = (int)(t >> 5), lane = (int)(t & 31);

	if (tile >= g.tiles)
		return 0;
	const int64_t per_group = GEMM_GROUP_M * g.tiles_n;
	const int64_t group = tile / per_group;
	const int64_t first_m = group * GEMM_GROUP_M;
	const int64_t gsz = g.tiles_m - first_m < GEMM_GROUP_M
	                        ? g.tiles_m - first_m
	                        : GEMM_GROUP_M;
	const int64_t in_group = tile - group * per_group;
	pos.m0 = (first_m + in_group % gsz) * BM;
	pos.n0 = (in_group / gsz) * BN;
	pos.rm = (int)((unsigned int)warp / WN) * (4 * TM) + (lane >> 3) * 4;
	pos.cn = (int)((unsigned int)warp % WN) * (8 * TM) + (lane & 7) * 4;
	return 1;
}

/* Row (in the block tile) of accumulator row i: rows rm..rm+3 then
 * rm+16..rm+19; columns likewise cn..cn+3 then cn+32..cn+35. */
static __device__ __forceinline__ int gemm_row(int rm, int i)
{
	return rm + (i >> 2) * 16 + (i & 3);
}

/* acc = C (accumulate) or +0.0f; outside C: +0.0f. */
template <int TM>
static __device__ __forceinline__ void
gemm_acc_init(float (&acc)[TM][TM], const gemm_args &g, const gemm_pos &pos)
{
#pragma unroll
	for (int i = 0; i < TM; i++) {
		const int64_t row = pos.m0 + gemm_row(pos.rm, i);
#pragma unroll
		for (int h = 0; h < TM / 4; h++) {
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

/* C = canon(acc), or with add (a later k-segment) C = canon(C + acc),
 * inside C only. */
template <int TM>
static __device__ __forceinline__ void
gemm_acc_store(const float (&acc)[TM][TM], const gemm_args &g,
               const gemm_pos &pos, bool add)
{
#pragma unroll
	for (int i = 0; i < TM; i++) {
		const int64_t row = pos.m0 + gemm_row(pos.rm, i);
		if (row >= g.m)
			continue;
#pragma unroll
		for (int h = 0; h < TM / 4; h++) {
			const int64_t col = pos.n0 + pos.cn + h * 32;
			float *dst = g.c + row * g.ldc + col;
			float4 v =
			    make_float4(acc[i][h * 4 + 0], acc[i][h * 4 + 1],
			                acc[i][h * 4 + 2], acc[i][h * 4 + 3]);
			if (add) { /* this thread's own earlier stores */
				if (g.vec_c && col + 3 < g.n) {
					const float4 c =
					    *reinterpret_cast<const float4 *>(
					        dst);
					v.x = c.x + v.x;
					v.y = c.y + v.y;
					v.z = c.z + v.z;
					v.w = c.w + v.w;
				} else {
					if (col < g.n)
						v.x = dst[0] + v.x;
					if (col + 1 < g.n)
						v.y = dst[1] + v.y;
					if (col + 2 < g.n)
						v.z = dst[2] + v.z;
					if (col + 3 < g.n)
						v.w = dst[3] + v.w;
				}
			}
			v = make_float4(cairn_canon(v.x), cairn_canon(v.y),
			                cairn_canon(v.z), cairn_canon(v.w));
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

/* Whether tile float4 e (of N, loaded by T threads) exists: always when
 * the loads divide evenly, else only the first N. */
template <int N, int T>
static __device__ __forceinline__ bool gemm_has(unsigned int e)
{
	return N % T == 0 || e < (unsigned int)N;
}

/* C = [C +] op(A) op(B) for one layout: A_KC is "A stored [m][k]" (NN,
 * NT), B_KC is "B stored [n][k]" (NT).  One (4 TM WM) x (8 TM WN) tile
 * per block (2-D grid, see gemm_sreg_block); 32 WM WN threads.  SEG: with
 * k-segments (g.seg_kt > 0), a separate kernel so that the others carry
 * none of its registers. */
template <bool A_KC, bool B_KC, int WM, int WN, int TM, bool SEG>
static __global__ void __launch_bounds__(gemm_shape<WM, WN, TM>::THREADS,
                                         gemm_shape<WM, WN, TM>::MIN_BLOCKS)
    gemm_kernel(const gemm_args g)
{
	typedef gemm_shape<WM, WN, TM> S;
	__shared__ __align__(16) float sa[2][GEMM_BK * S::SLDA];
	__shared__ __align__(16) float sb[2][GEMM_BK * S::SLDB];
	float acc[TM][TM];
	gemm_pos pos;

	if (!gemm_pos_get<S::BM, S::BN, WN, TM>(g, pos))
		return; /* the whole block: before any barrier */
	gemm_acc_init(acc, g, pos);

	if (g.nkt > 0) {
		gemm_src sa_src[S::LA], sb_src[S::LB];
		float4 va[S::LA], vb[S::LB];
		const int k0 = gemm_krem(g.k, 0);

#pragma unroll
		for (int l = 0; l < S::LA; l++)
			gemm_src_init<A_KC, S::BM>(
			    sa_src[l], gemm_sreg_tid() + l * S::THREADS, g.a,
			    g.lda, g.m, pos.m0, g.vec_a);
#pragma unroll
		for (int l = 0; l < S::LB; l++)
			gemm_src_init<B_KC, S::BN>(
			    sb_src[l], gemm_sreg_tid() + l * S::THREADS, g.b,
			    g.ldb, g.n, pos.n0, g.vec_b);
#pragma unroll
		for (int l = 0; l < S::LA; l++)
			if (gemm_has<S::NA, S::THREADS>(gemm_sreg_tid()))
				gemm_load<A_KC>(va[l], sa_src[l], k0, -0.0f);
#pragma unroll
		for (int l = 0; l < S::LB; l++)
			if (gemm_has<S::NB, S::THREADS>(gemm_sreg_tid()))
				gemm_load<B_KC>(vb[l], sb_src[l], k0, 0.0f);
#pragma unroll
		for (int l = 0; l < S::LA; l++)
			if (gemm_has<S::NA, S::THREADS>(gemm_sreg_tid()))
				gemm_stage<A_KC, S::BM, S::SLDA>(
				    sa[0], gemm_sreg_tid() + l * S::THREADS,
				    va[l]);
#pragma unroll
		for (int l = 0; l < S::LB; l++)
			if (gemm_has<S::NB, S::THREADS>(gemm_sreg_tid()))
				gemm_stage<B_KC, S::BN, S::SLDB>(
				    sb[0], gemm_sreg_tid() + l * S::THREADS,
				    vb[l]);
		__syncthreads();
		for (int64_t kt = 0; kt < g.nkt; kt++) {
			const int cur = (int)(kt & 1);
			const bool more = kt + 1 < g.nkt;
			/* Prefetch k-tile kt+1 into registers; it lands in
			 * the other stage after the math. */
			if (more) {
				const int krem = gemm_krem(g.k, kt + 1);
#pragma unroll
				for (int l = 0; l < S::LA; l++) {
					sa_src[l].ptr +=
					    A_KC ? GEMM_BK : g.a_kstep;
					if (gemm_has<S::NA, S::THREADS>(
					        gemm_sreg_tid()))
						gemm_load<A_KC>(va[l],
						                sa_src[l], krem,
						                -0.0f);
				}
#pragma unroll
				for (int l = 0; l < S::LB; l++) {
					sb_src[l].ptr +=
					    B_KC ? GEMM_BK : g.b_kstep;
					if (gemm_has<S::NB, S::THREADS>(
					        gemm_sreg_tid()))
						gemm_load<B_KC>(vb[l],
						                sb_src[l], krem,
						                0.0f);
				}
			}
			gemm_micro<S::SLDA, S::SLDB, TM>(acc, sa[cur], sb[cur],
			                                 pos.rm, pos.cn);
			if (more) {
#pragma unroll
				for (int l = 0; l < S::LA; l++)
					if (gemm_has<S::NA, S::THREADS>(
					        gemm_sreg_tid()))
						gemm_stage<A_KC, S::BM,
						           S::SLDA>(
						    sa[cur ^ 1],
						    gemm_sreg_tid() +
						        l * S::THREADS,
						    va[l]);
#pragma unroll
				for (int l = 0; l < S::LB; l++)
					if (gemm_has<S::NB, S::THREADS>(
					        gemm_sreg_tid()))
						gemm_stage<B_KC, S::BN,
						           S::SLDB>(
						    sb[cur ^ 1],
						    gemm_sreg_tid() +
						        l * S::THREADS,
						    vb[l]);
			}
			/* The end of a k-segment: its chain into C (added
			 * to the segments before it), and a fresh chain. */
			if (SEG && (kt + 1) % g.seg_kt == 0) {
				gemm_pos_get<S::BM, S::BN, WN, TM>(g, pos);
				gemm_acc_store(acc, g, pos, kt + 1 > g.seg_kt);
#pragma unroll
				for (int i = 0; i < TM; i++)
#pragma unroll
					for (int j = 0; j < TM; j++)
						acc[i][j] = 0.0f;
			}
			/* Stage cur^1 is complete and everyone is done
			 * reading stage cur (rewritten next round). */
			__syncthreads();
		}
	}

	if (SEG && g.nkt > 0)
		return; /* every segment is in C already */
	gemm_pos_get<S::BM, S::BN, WN, TM>(
	    g, pos); /* re-read, see gemm_sreg_tid */
	gemm_acc_store(acc, g, pos, false);
}

/* float4 access is allowed when the base is 16-byte aligned and every row
 * starts 16-byte aligned too. */
static int gemm_vec_ok(const void *p, int64_t ld)
{
	return ((uintptr_t)p % 16) == 0 && (ld % 4) == 0;
}

/* The block shapes (indices of CAIRN_CUDA_GEMM_SHAPE and
 * cairn__cuda_gemm_shape_name): warps WM x WN, TM x TM outputs a thread,
 * and whether the launcher picks it by itself (largest first; 32x64 only
 * when forced: 32x64-4x4 covers the same block with four warps). */
static const struct {
	int wm, wn, tm, pick;
	const char *name;
} gemm_shapes[] = {{4, 2, 8, 1, "128x128"},   {2, 2, 8, 1, "64x128"},
                   {2, 1, 8, 1, "64x64"},     {1, 1, 8, 0, "32x64"},
                   {2, 2, 4, 1, "32x64-4x4"}, {1, 1, 4, 1, "16x32-4x4"}};
#define GEMM_NSHAPES ((int)(sizeof gemm_shapes / sizeof gemm_shapes[0]))

int cairn__cuda_gemm_shape_parse(const char *name)
{
	for (int i = 0; name && i < GEMM_NSHAPES; i++)
		if (!strcmp(name, gemm_shapes[i].name))
			return i;
	return -1;
}

const char *cairn__cuda_gemm_shape_name(int shape)
{
	return shape >= 0 && shape < GEMM_NSHAPES ? gemm_shapes[shape].name
	                                          : "auto";
}

static int64_t gemm_tiles(int64_t m, int64_t n, int shape)
{
	const int64_t bm = 4 * gemm_shapes[shape].tm * gemm_shapes[shape].wm;
	const int64_t bn = 8 * gemm_shapes[shape].tm * gemm_shapes[shape].wn;

	return ((m + bm - 1) / bm) * ((n + bn - 1) / bn);
}

int cairn__cuda_gemm_shape_pick(int64_t m, int64_t n, int sm_count, int forced)
{
	if (forced >= 0 && forced < GEMM_NSHAPES)
		return forced;
	for (int i = 0; i < GEMM_NSHAPES; i++)
		if (gemm_shapes[i].pick && gemm_tiles(m, n, i) >= sm_count)
			return i;
	return GEMM_NSHAPES - 1;
}

/* Fills the launch arguments and the grid from op (m, n > 0) for blocks
 * of bm x bn. */
static void gemm_args_init(gemm_args &g, dim3 &grid, const struct cairn_op *op,
                           int64_t bm, int64_t bn)
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
	g.tiles_m = (g.m + bm - 1) / bm;
	g.tiles_n = (g.n + bn - 1) / bn;
	g.tiles = g.tiles_m * g.tiles_n;
	g.nkt = (g.k + GEMM_BK - 1) / GEMM_BK;
	/* supports_op lets segments through only in whole k-tiles */
	g.seg_kt = op->u.gemm.segs > 1 ? g.k / op->u.gemm.segs / GEMM_BK : 0;
	g.a_kstep = GEMM_BK * g.lda;
	g.b_kstep = GEMM_BK * g.ldb;
	/* One tile per block on a 2-D grid (x first); spare blocks return. */
	gx = g.tiles < INT32_MAX ? g.tiles : INT32_MAX;
	grid = dim3((unsigned int)gx, (unsigned int)((g.tiles + gx - 1) / gx));
}

typedef void (*gemm_kernel_fn)(const gemm_args);

/* Launches op's layout with WM x WN warps a block on stream st. */
template <int WM, int WN, int TM>
static int gemm_launch(const struct cairn_op *op, cudaStream_t st)
{
	typedef gemm_shape<WM, WN, TM> S;
	const int ta = op->u.gemm.ta == CAIRN_TRANS;
	const int tb = op->u.gemm.tb == CAIRN_TRANS;
	gemm_kernel_fn k;
	const char *name;
	gemm_args g;
	dim3 grid;

	gemm_args_init(g, grid, op, S::BM, S::BN);
	if (!ta && !tb) {
		k = g.seg_kt ? gemm_kernel<true, false, WM, WN, TM, true>
		             : gemm_kernel<true, false, WM, WN, TM, false>;
		name = "launch of gemm_kernel<nn>";
	} else if (!ta) {
		k = g.seg_kt ? gemm_kernel<true, true, WM, WN, TM, true>
		             : gemm_kernel<true, true, WM, WN, TM, false>;
		name = "launch of gemm_kernel<nt>";
	} else if (!tb) {
		k = g.seg_kt ? gemm_kernel<false, false, WM, WN, TM, true>
		             : gemm_kernel<false, false, WM, WN, TM, false>;
		name = "launch of gemm_kernel<tn>";
	} else {
		return CAIRN_ENOTSUP; /* TT: supports_op says no */
	}
	CAIRN_CUDA_LAUNCH_SYNC(k, grid, S::THREADS, st, g);
	return cairn__cuda_check(cudaGetLastError(), name, __FILE__, __LINE__);
}

int cairn__cuda_gemm(struct cairn_cuda_ctx *ctx, const struct cairn_op *op)
{
	if (op->u.gemm.m <= 0 || op->u.gemm.n <= 0)
		return 0;
	switch (cairn__cuda_gemm_shape_pick(op->u.gemm.m, op->u.gemm.n,
	                                    ctx->sm_count, ctx->gemm_shape)) {
	case 0:
		return gemm_launch<4, 2, 8>(op, ctx->stream);
	case 1:
		return gemm_launch<2, 2, 8>(op, ctx->stream);
	case 2:
		return gemm_launch<2, 1, 8>(op, ctx->stream);
	case 3:
		return gemm_launch<1, 1, 8>(op, ctx->stream);
	case 4:
		return gemm_launch<2, 2, 4>(op, ctx->stream);
	default:
		return gemm_launch<1, 1, 4>(op, ctx->stream);
	}
}
