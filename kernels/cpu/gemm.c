/* cairn: the cpu backend's exact SGEMM (BLIS-style).
 *
 * Five loops around a micro-kernel: jc over n by NC, pc over k by KC (pack
 * a KC x NC panel of op(B)), ic over m by MC (pack an MC x KC block of
 * op(A)), then jr / ir over NR / MR slivers, each an MR x NR micro-kernel
 * call.  The micro-kernel loads its C tile (or +0.0f for the first k block
 * when not accumulating), carries it through its kc block with one fmaf
 * per element per p, p ascending, and stores it; the next k block reloads
 * what was stored.  So every C element is the reference's chain
 *   acc = init; for p = 0..k-1: acc = fmaf(a(i,p), b(p,j), acc)
 * bit for bit, whatever the block sizes, the ISA or the thread count.
 * Edge tiles go through a local MR x NR buffer so that the micro-kernel
 * always sees a full tile (packing zero-pads the edges).
 *
 * NaN results are stored as 0x7fc00000 at a tile's last store; earlier
 * stores (k blocks, k-segments) keep what the hardware gave, which only
 * a NaN's payload can tell apart, and a NaN stays a NaN through later
 * fmaf and additions, so the bits are those of canonicalising the final
 * value (GEMM_RAW).
 *
 * Threads: every C element belongs to one thread.  Either the rows are
 * split (in MR slivers) and the packed B panel is shared: the threads pack
 * it together between two barriers, then each packs its own A blocks; or
 * the columns are split (in NR slivers) and each thread packs its own B
 * columns and its own copy of A (gemm_plan picks).  The FP environment
 * (no FTZ/DAZ) is set by the dispatcher and the pool (fpenv.h).
 *
 * Narrow problems (m = 256, n = 10) are turned around, C^T = op(B)^T
 * op(A)^T, to fill the tiles (gemm_orient); the packing routines take any
 * strides, so this costs only a transposed copy of each C tile.
 *
 * k-segments (cairn_gemm_seg): the k blocks are whole segments, and each
 * tile's micro-kernel runs once per segment: the first call of the whole
 * GEMM starts from +0, every later segment's chain starts from +0 and is
 * added to the stored C at the end (GEMM_ADD): the sum in segment order
 * of the chains, canonicalised at the last store, which are cairn_sum_n's
 * bits over canonical chains (a NaN chain gives a NaN sum either way).
 * Segments longer than a k
 * block run one by one through a scratch matrix (gemm_run_long_segs).
 *
 * Block sizes and kernels are data, one row per ISA (gemm_arch_table). */
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include "cairn/error.h"
#include "cpu_impl.h"
#include "hd.h"
#if defined(__x86_64__) || defined(__i386__)
#endif

/* The largest MR x NR of any row of the table (the edge buffer's size). */
#define GEMM_MAX_TILE 256
#define GEMM_ALIGN 64

/* Micro-kernel over kc packed steps (a and b as described in
 * gemm_avx2.c), on c[mr x nr] with row stride ldc, by mode (cpu_impl.h:
 * GEMM_ZERO, _LOAD or _ADD, with the flags GEMM_RAW and GEMM_NOPF), with
 * one fmaf per element per p, p ascending. */
typedef void (*gemm_ukr_fn)(int64_t kc, const float *a, const float *b,
                            float *c, int64_t ldc, int load,
                            const float *c_next);
/* Packs one full sliver (MR rows of op(A) or NR columns of op(B)) from
 * src with leading dimension ld; see gemm_pack_a and gemm_pack_b. */
typedef void (*gemm_pack_fn)(int64_t kc, const float *src, int64_t ld,
                             float *dst);

static void gemm_ukr_portable_4x8(int64_t kc, const float *a, const float *b,
                                  float *c, int64_t ldc, int load,
                                  const float *c_next);

struct gemm_arch {
	int mr, nr;         /* micro-tile */
	int64_t mc, kc, nc; /* cache blocks: mc % mr == 0, nc % nr == 0 */
	gemm_ukr_fn ukr;
	/* (optional) fast packing of one full sliver; NULL: plain C */
	gemm_pack_fn packa_n; /* A not transposed (NN, NT) */
	gemm_pack_fn packa_t; /* A transposed (TN) */
	gemm_pack_fn packb_t; /* B transposed (NT) */
	gemm_pack_fn packb_n; /* B not transposed (NN, TN) */
};

/* One row per enum cairn_cpu_isa.  AVX2, tuned on Zen 3 (32 KiB L1d,
 * 512 KiB L2, 32 MiB L3): a 16 x KC B sliver (32 KiB) is streamed from
 * L1/L2 once per 6-row A sliver, an MC x KC A block (192 KiB) stays in
 * L2, the KC x NC B panel (8 MiB) in L3.  A long KC amortises the load and
 * store of the C tile (and its latency) over more FMAs: KC 256 -> 512 was
 * worth 3-4%; MC from 48 to 216 made no difference. */
/* clang-format off */
static const struct gemm_arch gemm_arch_table[] = {
	[CAIRN_ISA_PORTABLE] = {
		.mr = 4, .nr = 8, .mc = 128, .kc = 256, .nc = 2048,
		.ukr = gemm_ukr_portable_4x8,
		.packa_n = NULL,
		.packa_t = NULL,
		.packb_t = NULL,
		.packb_n = NULL,
	},
#define GEMM_ARCH_AVX2 {                                                  \
		.mr = 6, .nr = 16, .mc = 96, .kc = 512, .nc = 4080,         \
		.ukr = cairn__gemm_ukr_avx2_6x16,                           \
		.packa_n = cairn__gemm_packa_n_avx2,                        \
		.packa_t = cairn__gemm_packa_t_avx2,                        \
		.packb_t = cairn__gemm_packb_nt_avx2,                       \
		.packb_n = cairn__gemm_packb_n_avx2,                        \
	}
	[CAIRN_ISA_AVX2] = GEMM_ARCH_AVX2,
	[CAIRN_ISA_AVX512] = GEMM_ARCH_AVX2, /* only the hash differs */
#undef GEMM_ARCH_AVX2
};
/* clang-format on */

/* A barrier for the threads of one GEMM (spins; yields after a few
 * microseconds so that threads sharing a core still make progress). */
struct gemm_barrier {
	_Alignas(GEMM_ALIGN) atomic_int count;
	atomic_int phase;
	int n;
};

/* Everything the threads of one call share; lives on the caller's stack
 * for the duration of cairn__cpu_gemm. */
struct gemm_job {
	const struct gemm_arch *ar;
	int64_t m, n, k;
	/* op(A)(i,p) = a[i*a_rs + p*a_cs], op(B)(p,j) = b[p*b_rs + j*b_cs];
	 * one stride of each is 1 (the layout says which). */
	const float *a, *b;
	int64_t a_rs, a_cs, b_rs, b_cs;
	/* C(i,j) = c[i*ldc + j]; with ct, c[j*ldc + i]: the problem was
	 * turned around (C^T = op(B)^T op(A)^T) to fill the tiles better. */
	float *c;
	int64_t ldc;
	int ct, accumulate;
	/* k block: <= ar->kc, the blocks balanced; with k-segments
	 * (cairn_gemm_seg), a multiple of the segment length q, so that
	 * every segment lies in one block.  q == k without segments. */
	int64_t kc, q;
	int nth;     /* threads that take part (<= the pool's) */
	int split_m; /* 1: split rows, shared B; 0: split columns */
	/* Packing buffers, all in one allocation owned by cairn__cpu_gemm:
	 * nth A blocks of a_len floats (one per thread), then one B panel of
	 * b_len floats (split_m, shared) or nth of them (one per thread). */
	float *bshared;
	float *bpriv;
	size_t b_len;
	float *apriv;
	size_t a_len;
	struct gemm_barrier bar;
};

/* The reference micro-kernel: plain C, fmaf, p ascending per element. */
static void gemm_ukr_portable_4x8(int64_t kc, const float *a, const float *b,
                                  float *c, int64_t ldc, int load,
                                  const float *c_next)
{
	float acc[4][8];
	const int mode = load & GEMM_MODE, raw = load & GEMM_RAW;

	(void)c_next;
	for (int r = 0; r < 4; r++)
		for (int j = 0; j < 8; j++)
			acc[r][j] = mode == GEMM_LOAD ? c[r * ldc + j] : 0.0f;
	for (int64_t p = 0; p < kc; p++, a += 4, b += 8)
		for (int r = 0; r < 4; r++)
			for (int j = 0; j < 8; j++)
				acc[r][j] = fmaf(a[r], b[j], acc[r][j]);
	for (int r = 0; r < 4; r++)
		for (int j = 0; j < 8; j++) {
			float v = mode == GEMM_ADD ? c[r * ldc + j] + acc[r][j]
			                           : acc[r][j];
			c[r * ldc + j] = raw ? v : cairn_canon(v);
		}
}

/* Waits until all bar->n threads have arrived. */
static void gemm_barrier_wait(struct gemm_barrier *bar)
{
	int ph;

	if (bar->n <= 1)
		return;
	ph = atomic_load(&bar->phase);
	if (atomic_fetch_add(&bar->count, 1) == bar->n - 1) {
		atomic_store(&bar->count, 0);
		atomic_store(&bar->phase, ph + 1);
		return;
	}
	for (unsigned i = 1;
	     atomic_load_explicit(&bar->phase, memory_order_acquire) == ph;
	     i++) {
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#endif
		if (i >= 256 && (i & 31) == 0)
			sched_yield();
	}
}

/* Packs op(A)[i0 .. i0+mc) x [p0 .. p0+kc) into MR slivers: sliver s holds
 * a(i0 + s*MR + r, p0 + p) at dst[s*MR*kc + p*MR + r], rows past mc zero. */
static void gemm_pack_a(const struct gemm_job *job, int64_t i0, int64_t mc,
                        int64_t p0, int64_t kc, float *dst)
{
	const struct gemm_arch *ar = job->ar;
	const int mr = ar->mr;
	const int64_t rs = job->a_rs, cs = job->a_cs;
	const float *a = job->a + i0 * rs + p0 * cs;
	const int64_t full = mc / mr * mr; /* rows in full slivers */

	if (cs == 1 && ar->packa_n) { /* rows contiguous in p */
		for (int64_t s = 0; s < full; s += mr)
			ar->packa_n(kc, a + s * rs, rs, dst + s * kc);
	} else if (cs == 1) {
		for (int64_t s = 0; s < full; s += mr)
			for (int64_t r = 0; r < mr; r++) {
				const float *src = a + (s + r) * rs;
				for (int64_t p = 0; p < kc; p++)
					dst[s * kc + p * mr + r] = src[p];
			}
	} else if (ar->packa_t) { /* columns contiguous in i */
		for (int64_t s = 0; s < full; s += mr)
			ar->packa_t(kc, a + s, cs, dst + s * kc);
	} else { /* read each column of op(A) once */
		for (int64_t p = 0; p < kc; p++) {
			const float *src = a + p * cs;
			for (int64_t s = 0; s < full; s += mr)
				for (int64_t r = 0; r < mr; r++)
					dst[s * kc + p * mr + r] = src[s + r];
		}
	}
	if (full < mc) { /* the last, partial sliver */
		int64_t rows = mc - full;
		float *d = dst + full * kc;
		for (int64_t p = 0; p < kc; p++)
			for (int64_t r = 0; r < mr; r++)
				d[p * mr + r] =
				    r < rows ? a[(full + r) * rs + p * cs]
				             : 0.0f;
	}
}

/* Packs NR-column slivers s0 .. s1 of op(B)[p0 .. p0+kc) x [j0 .. j0+nc)
 * into dst: sliver s holds b(p0 + p, j0 + s*NR + c) at
 * dst[s*NR*kc + p*NR + c], columns past nc zero. */
static void gemm_pack_b(const struct gemm_job *job, int64_t p0, int64_t kc,
                        int64_t j0, int64_t nc, int64_t s0, int64_t s1,
                        float *dst)
{
	const struct gemm_arch *ar = job->ar;
	const int nr = ar->nr;
	const int64_t rs = job->b_rs, cs = job->b_cs;

	for (int64_t s = s0; s < s1; s++) {
		float *d = dst + s * nr * kc;
		const float *b = job->b + p0 * rs + (j0 + s * nr) * cs;
		int64_t cols = nc - s * nr < nr ? nc - s * nr : nr;
		if (cs == 1 && cols == nr && ar->packb_n) {
			ar->packb_n(kc, b, rs, d);
		} else if (cs == 1) { /* rows contiguous in j */
			for (int64_t p = 0; p < kc; p++)
				memcpy(d + p * nr, b + p * rs,
				       (size_t)cols * sizeof *d);
		} else if (cols == nr && ar->packb_t) {
			ar->packb_t(kc, b, cs, d);
		} else { /* columns contiguous in p */
			for (int64_t c = 0; c < cols; c++)
				for (int64_t p = 0; p < kc; p++)
					d[p * nr + c] = b[c * cs + p];
		}
		if (cols < nr)
			for (int64_t p = 0; p < kc; p++)
				for (int64_t c = cols; c < nr; c++)
					d[p * nr + c] = 0.0f;
	}
}

/* The micro-kernel calls of one tile over a kc block: one call per
 * k-segment in the block (one call without segments), the first in mode
 * first, the others adding their chain (GEMM_ADD).  Only the tile's very
 * last store (last: this is the last k block) canonicalises. */
static void gemm_tile(const struct gemm_job *job, const float *a,
                      const float *b, float *c, int64_t ldc, int64_t kc,
                      int first, int last, const float *c_next)
{
	const struct gemm_arch *ar = job->ar;

	for (int64_t off = 0; off < kc; off += job->q) {
		int64_t len = kc - off < job->q ? kc - off : job->q;
		int mode = off ? GEMM_ADD : first;
		if (off + len < kc) /* this tile's next segment comes next */
			mode |= GEMM_RAW | GEMM_NOPF;
		else if (!last) /* a later k block goes on with it */
			mode |= GEMM_RAW;
		ar->ukr(len, a + off * ar->mr, b + off * ar->nr, c, ldc, mode,
		        c_next);
	}
}

/* One tile through a local buffer: an edge tile (rows x cols of the
 * MR x NR) or any tile of a turned-around C.  The kernel sees a full
 * tile, so each element gets exactly the same operations. */
static void gemm_tile_buffered(const struct gemm_job *job, const float *a,
                               const float *b, int64_t i, int64_t j,
                               int64_t rows, int64_t cols, int64_t kc,
                               int first, int last)
{
	const int nr = job->ar->nr;
	const int64_t ldc = job->ldc;
	_Alignas(GEMM_ALIGN) float tile[GEMM_MAX_TILE];

	memset(tile, 0, sizeof tile);
	if (!job->ct) {
		float *c = job->c + i * ldc + j;
		if (first != GEMM_ZERO)
			for (int64_t r = 0; r < rows; r++)
				memcpy(tile + r * nr, c + r * ldc,
				       (size_t)cols * sizeof *c);
		gemm_tile(job, a, b, tile, nr, kc, first, last, tile);
		for (int64_t r = 0; r < rows; r++)
			memcpy(c + r * ldc, tile + r * nr,
			       (size_t)cols * sizeof *c);
	} else { /* tile(r, q) is C(j + q, i + r) of the caller's C */
		float *c = job->c + j * ldc + i;
		if (first != GEMM_ZERO)
			for (int64_t q = 0; q < cols; q++)
				for (int64_t r = 0; r < rows; r++)
					tile[r * nr + q] = c[q * ldc + r];
		gemm_tile(job, a, b, tile, nr, kc, first, last, tile);
		for (int64_t q = 0; q < cols; q++)
			for (int64_t r = 0; r < rows; r++)
				c[q * ldc + r] = tile[r * nr + q];
	}
}

/* The macro-kernel: C[i0 .. i0+mc) x [j0 .. j0+nc) over one kc block from
 * the packed A block ap and the packed B panel bp; first is the mode of
 * the block's first micro-kernel call (gemm_block_mode); last says that
 * this is the last k block. */
static void gemm_macro(const struct gemm_job *job, const float *ap,
                       const float *bp, int64_t i0, int64_t mc, int64_t j0,
                       int64_t nc, int64_t kc, int first, int last)
{
	const struct gemm_arch *ar = job->ar;
	const int mr = ar->mr, nr = ar->nr;
	const int64_t ldc = job->ldc;

	for (int64_t jr = 0; jr < nc; jr += nr) {
		int64_t cols = nc - jr < nr ? nc - jr : nr;
		const float *b = bp + jr * kc;
		for (int64_t ir = 0; ir < mc; ir += mr) {
			int64_t rows = mc - ir < mr ? mc - ir : mr;
			const float *a = ap + ir * kc;
			float *c;
			const float *cn;
			if (job->ct || rows < mr || cols < nr) {
				gemm_tile_buffered(job, a, b, i0 + ir, j0 + jr,
				                   rows, cols, kc, first, last);
				continue;
			}
			c = job->c + (i0 + ir) * ldc + j0 + jr;
			/* the next tile, for the kernel to prefetch */
			cn = c;
			if (ir + mr < mc)
				cn = c + mr * ldc;
			else if (jr + nr < nc)
				cn = job->c + i0 * ldc + j0 + jr + nr;
			gemm_tile(job, a, b, c, ldc, kc, first, last, cn);
		}
	}
}

/* The mode of the first micro-kernel call of the k block at pc: the
 * first block starts its chain from +0 or from C (accumulate); later
 * blocks go on with the chain in C, or, with k-segments, add theirs. */
static int gemm_block_mode(const struct gemm_job *job, int64_t pc)
{
	if (pc == 0)
		return job->accumulate ? GEMM_LOAD : GEMM_ZERO;
	return job->q < job->k ? GEMM_ADD : GEMM_LOAD;
}

/* Thread body, rows split: B panels shared, A blocks private. */
static void gemm_run_split_m(struct gemm_job *job, int tid)
{
	const struct gemm_arch *ar = job->ar;
	const int mr = ar->mr, nr = ar->nr;
	float *ap = job->apriv + (size_t)tid * job->a_len;
	int64_t s0, s1, mlo, mhi, first_panel = 1;

	cairn__split((job->m + mr - 1) / mr, tid, job->nth, &s0, &s1);
	mlo = s0 * mr;
	mhi = s1 * mr < job->m ? s1 * mr : job->m;
	for (int64_t jc = 0; jc < job->n; jc += ar->nc) {
		int64_t nc = job->n - jc < ar->nc ? job->n - jc : ar->nc;
		int64_t nsl = (nc + nr - 1) / nr;
		for (int64_t pc = 0; pc < job->k; pc += job->kc) {
			int64_t kc =
			    job->k - pc < job->kc ? job->k - pc : job->kc;
			int first = gemm_block_mode(job, pc);
			int64_t b0, b1;
			if (!first_panel) /* all done with the last panel */
				gemm_barrier_wait(&job->bar);
			first_panel = 0;
			cairn__split(nsl, tid, job->nth, &b0, &b1);
			gemm_pack_b(job, pc, kc, jc, nc, b0, b1, job->bshared);
			gemm_barrier_wait(&job->bar);
			for (int64_t ic = mlo; ic < mhi; ic += ar->mc) {
				int64_t mc =
				    mhi - ic < ar->mc ? mhi - ic : ar->mc;
				gemm_pack_a(job, ic, mc, pc, kc, ap);
				gemm_macro(job, ap, job->bshared, ic, mc, jc,
				           nc, kc, first, pc + kc >= job->k);
			}
		}
	}
}

/* Thread body, columns split: each thread has its own B and A packs. */
static void gemm_run_split_n(struct gemm_job *job, int tid)
{
	const struct gemm_arch *ar = job->ar;
	const int nr = ar->nr;
	float *ap = job->apriv + (size_t)tid * job->a_len;
	float *bp = job->bpriv + (size_t)tid * job->b_len;
	int64_t s0, s1, nlo, nhi;

	cairn__split((job->n + nr - 1) / nr, tid, job->nth, &s0, &s1);
	nlo = s0 * nr;
	nhi = s1 * nr < job->n ? s1 * nr : job->n;
	for (int64_t jc = nlo; jc < nhi; jc += ar->nc) {
		int64_t nc = nhi - jc < ar->nc ? nhi - jc : ar->nc;
		for (int64_t pc = 0; pc < job->k; pc += job->kc) {
			int64_t kc =
			    job->k - pc < job->kc ? job->k - pc : job->kc;
			int first = gemm_block_mode(job, pc);
			gemm_pack_b(job, pc, kc, jc, nc, 0, (nc + nr - 1) / nr,
			            bp);
			for (int64_t ic = 0; ic < job->m; ic += ar->mc) {
				int64_t mc =
				    job->m - ic < ar->mc ? job->m - ic : ar->mc;
				gemm_pack_a(job, ic, mc, pc, kc, ap);
				gemm_macro(job, ap, bp, ic, mc, jc, nc, kc,
				           first, pc + kc >= job->k);
			}
		}
	}
}

/* The pool's entry point: threads past job->nth have nothing to do. */
static void gemm_thread(void *arg, int tid, int nthreads)
{
	struct gemm_job *job = arg;

	if (tid >= job->nth)
		return;
	if (job->split_m)
		gemm_run_split_m(job, tid);
	else
		gemm_run_split_n(job, tid);
}

/* k == 0: C = init, canonicalised (no products at all). */
static void gemm_k0(const struct gemm_job *job)
{
	for (int64_t i = 0; i < job->m; i++) {
		float *c = job->c + i * job->ldc;
		for (int64_t j = 0; j < job->n; j++)
			c[j] = job->accumulate ? cairn_canon(c[j]) : 0.0f;
	}
}

static int64_t gemm_round_up(int64_t x, int64_t to)
{
	return (x + to - 1) / to * to;
}

/* The share of a tile row (or column) that x fills, in blocks of blk. */
static double gemm_fill(int64_t x, int64_t blk)
{
	return (double)x / (double)gemm_round_up(x, blk);
}

/* Turns the problem around (C^T = op(B)^T op(A)^T, C written transposed)
 * when that fills the MR x NR tiles much better: m = 256, n = 10 wastes 6
 * of 16 columns, turned around it wastes 2 of 12 rows.  Each element's
 * chain is the same either way (fmaf is commutative in its factors). */
static void gemm_orient(struct gemm_job *job)
{
	const struct gemm_arch *ar = job->ar;
	double now = gemm_fill(job->m, ar->mr) * gemm_fill(job->n, ar->nr);
	double turned = gemm_fill(job->n, ar->mr) * gemm_fill(job->m, ar->nr);
	const float *a = job->a;
	int64_t a_rs = job->a_rs, a_cs = job->a_cs, m = job->m;

	if (job->k < 16 || turned < 1.15 * now)
		return;
	job->m = job->n;
	job->n = m;
	job->a = job->b;
	job->a_rs = job->b_cs;
	job->a_cs = job->b_rs;
	job->b = a;
	job->b_rs = a_cs;
	job->b_cs = a_rs;
	job->ct = 1;
}

/* The largest share of n items split nth ways, over the average share:
 * 1.0 when the split is even. */
static double gemm_imbalance(int64_t n, int nth)
{
	return (double)((n + nth - 1) / nth) * nth / (double)n;
}

/* Chooses how many threads take part and how the work is split: by rows
 * (one B panel, packed together and read by every thread: each thread
 * pulls the other threads' part of it from their caches, about 16 (nth-1)
 * / m of the work extra) or by columns (each thread packs its own copy of
 * A, about 8 nth / n extra), whichever costs less with its imbalance. */
static void gemm_plan(struct gemm_job *job, int pool_threads)
{
	const struct gemm_arch *ar = job->ar;
	int64_t msl = (job->m + ar->mr - 1) / ar->mr;
	int64_t nsl = (job->n + ar->nr - 1) / ar->nr;
	double flops = 2.0 * (double)job->m * (double)job->n * (double)job->k;
	int nth = pool_threads;

	/* About 256 KFLOP (a few microseconds) per thread at least: below
	 * that, waking the pool costs more than it saves. */
	while (nth > 1 && flops / nth < 262144.0)
		nth--;
	if (nth > msl && nth > nsl)
		nth = (int)(msl > nsl ? msl : nsl);
	job->nth = nth;
	if (nth == 1 || nsl < nth) {
		job->split_m = 1;
	} else if (msl < nth) {
		job->split_m = 0;
	} else {
		double by_m = gemm_imbalance(msl, nth) *
		              (1.0 + 16.0 * (nth - 1) / (double)job->m);
		double by_n = gemm_imbalance(nsl, nth) *
		              (1.0 + 8.0 * nth / (double)job->n);
		job->split_m = by_m <= by_n;
	}
}

/* Runs the job on the calling thread or the pool.  The FP environment is
 * the dispatcher's business (fpenv.h): the caller's share runs under it,
 * the workers entered it when they started. */
static void gemm_fp_run(struct gemm_job *job, struct cairn_pool *pool)
{
	if (job->nth == 1)
		gemm_thread(job, 0, 1);
	else
		cairn__pool_run(pool, gemm_thread, job);
}

static int gemm_run(struct cairn_pool *pool, const struct gemm_arch *ar,
                    const struct cairn_op *op);

/* k-segments longer than a k block (rare: the model's are 64 long): each
 * segment is its own GEMM, into C for the first and into a scratch matrix
 * T for the others, then C = canon(C + T): cairn_gemm_seg's definition
 * step by step (each sub-GEMM's last store canonicalises, so this is the
 * sum of the stored canonical chains, as sum_n). */
static int gemm_run_long_segs(struct cairn_pool *pool,
                              const struct gemm_arch *ar,
                              const struct cairn_op *op)
{
	const int64_t m = op->u.gemm.m, n = op->u.gemm.n, ldc = op->u.gemm.ldc;
	const int64_t q = op->u.gemm.k / op->u.gemm.segs;
	/* elements between consecutive p of op(A) and op(B) */
	const int64_t a_cs = op->u.gemm.ta == CAIRN_TRANS ? op->u.gemm.lda : 1;
	const int64_t b_rs = op->u.gemm.tb == CAIRN_TRANS ? 1 : op->u.gemm.ldb;
	struct cairn_op sub = *op;
	float *t = malloc((size_t)(m * n) * sizeof *t);
	int rc = 0;

	if (!t)
		return CAIRN_ENOMEM;
	sub.u.gemm.k = q;
	sub.u.gemm.segs = 1;
	for (int64_t s = 0; s < op->u.gemm.segs && !rc; s++) {
		sub.u.gemm.a = op->u.gemm.a + s * q * a_cs;
		sub.u.gemm.b = op->u.gemm.b + s * q * b_rs;
		sub.u.gemm.c = s ? t : op->u.gemm.c;
		sub.u.gemm.ldc = s ? n : ldc;
		rc = gemm_run(pool, ar, &sub);
		for (int64_t i = 0; s && !rc && i < m; i++) {
			float *c = op->u.gemm.c + i * ldc;
			for (int64_t j = 0; j < n; j++)
				c[j] = cairn_canon(c[j] + t[i * n + j]);
		}
	}
	free(t);
	return rc;
}

/* Runs op->u.gemm on the pool with the given ISA; see cpu_impl.h.  The
 * packing buffers are allocated here and freed before returning. */
int cairn__cpu_gemm(struct cairn_pool *pool, int isa, const struct cairn_op *op)
{
	const struct gemm_arch *ar;

	if (isa < 0 ||
	    isa >= (int)(sizeof gemm_arch_table / sizeof gemm_arch_table[0]))
		isa = CAIRN_ISA_PORTABLE;
	ar = &gemm_arch_table[isa];
	if (op->u.gemm.segs > 1 && op->u.gemm.k / op->u.gemm.segs > ar->kc)
		return gemm_run_long_segs(pool, ar, op);
	return gemm_run(pool, ar, op);
}

/* One GEMM whose k-segments (if any) fit in a k block. */
static int gemm_run(struct cairn_pool *pool, const struct gemm_arch *ar,
                    const struct cairn_op *op)
{
	struct gemm_job job;
	int64_t kc, mc, nc;
	size_t total;
	float *buf = NULL;

	memset(&job, 0, sizeof job);
	job.ar = ar;
	job.m = op->u.gemm.m;
	job.n = op->u.gemm.n;
	job.k = op->u.gemm.k;
	job.a = op->u.gemm.a;
	job.b = op->u.gemm.b;
	job.c = op->u.gemm.c;
	job.ldc = op->u.gemm.ldc;
	job.accumulate = op->u.gemm.accumulate;
	if (op->u.gemm.ta == CAIRN_TRANS) { /* A stored k x m */
		job.a_rs = 1;
		job.a_cs = op->u.gemm.lda;
	} else {
		job.a_rs = op->u.gemm.lda;
		job.a_cs = 1;
	}
	if (op->u.gemm.tb == CAIRN_TRANS) { /* B stored n x k */
		job.b_rs = 1;
		job.b_cs = op->u.gemm.ldb;
	} else {
		job.b_rs = op->u.gemm.ldb;
		job.b_cs = 1;
	}
	if (job.m <= 0 || job.n <= 0)
		return 0;
	if (job.k <= 0) {
		gemm_k0(&job);
		return 0;
	}
	gemm_orient(&job);
	gemm_plan(&job, cairn__pool_threads(pool));

	/* k blocks of equal size (a multiple of 8 where that fits), so that
	 * k = 784 runs as 392 + 392 rather than 512 + 272; the bits do not
	 * depend on it.  With k-segments (q <= ar->kc here), blocks of
	 * whole segments, as few blocks as fit, balanced. */
	job.q = job.k / op->u.gemm.segs;
	if (op->u.gemm.segs > 1) {
		int64_t segs = op->u.gemm.segs, per = ar->kc / job.q;
		int64_t nb = (segs + per - 1) / per;
		kc = (segs + nb - 1) / nb * job.q;
	} else {
		kc = (job.k + ar->kc - 1) / ar->kc;
		kc = (job.k + kc - 1) / kc;
		kc = gemm_round_up(kc, 8) <= ar->kc ? gemm_round_up(kc, 8) : kc;
	}
	job.kc = kc;

	/* Buffer sizes, each a multiple of 64 bytes (16 floats). */
	if (job.split_m) { /* a thread's rows: at most ceil(msl/nth) slivers */
		int64_t msl = (job.m + ar->mr - 1) / ar->mr;
		int64_t rows = (msl + job.nth - 1) / job.nth * ar->mr;
		mc = rows < ar->mc ? rows : ar->mc;
		nc = job.n < ar->nc ? job.n : ar->nc;
	} else { /* a thread's columns: at most ceil(nsl/nth) slivers */
		int64_t nsl = (job.n + ar->nr - 1) / ar->nr;
		int64_t cols = (nsl + job.nth - 1) / job.nth * ar->nr;
		mc = job.m < ar->mc ? job.m : ar->mc;
		nc = cols < ar->nc ? cols : ar->nc;
	}
	job.a_len = (size_t)gemm_round_up(gemm_round_up(mc, ar->mr) * kc, 16);
	job.b_len = (size_t)gemm_round_up(gemm_round_up(nc, ar->nr) * kc, 16);
	total = job.a_len * (size_t)job.nth +
	        job.b_len * (size_t)(job.split_m ? 1 : job.nth);
	buf = aligned_alloc(GEMM_ALIGN, total * sizeof(float));
	if (!buf)
		return CAIRN_ENOMEM;
	job.apriv = buf;
	if (job.split_m)
		job.bshared = buf + job.a_len * (size_t)job.nth;
	else
		job.bpriv = buf + job.a_len * (size_t)job.nth;
	atomic_init(&job.bar.count, 0);
	atomic_init(&job.bar.phase, 0);
	job.bar.n = job.nth;

	gemm_fp_run(&job, pool);
	free(buf);
	return 0;
}
