/* cairn: the AVX2/FMA3 pieces of the cpu GEMM (compiled with -mavx2
 * -mfma; called by gemm.c only when the backend selected CAIRN_ISA_AVX2).
 *
 * The micro-kernel computes one 6 x 16 tile of C in twelve ymm
 * accumulators.  It loads C into them (or +0.0f when the k loop starts
 * here without accumulation), carries them through the whole kc block with
 * one _mm256_fmadd_ps per element per p, p ascending, and stores them back:
 * per element exactly acc = fmaf(a(i,p), b(p,j), acc), the reference's
 * order.  There is no other arithmetic on the accumulators, so the result
 * is bit-identical to the scalar reference (DESIGN.md section 2).
 *
 * Packed layouts (made by gemm.c): a is kc slivers of 6 floats (a(i0+r, p)
 * at a[p*6 + r]), b is kc rows of 16 floats (b(p, j0+c) at b[p*16 + c]),
 * 64-byte aligned. */
#include <immintrin.h>
#include <stdint.h>

#include "cpu_impl.h"

/* The kernel is one asm statement: GCC's register allocator spills and
 * shuffles the twelve accumulators of an intrinsics version (12 + 2 B + 1 A
 * of the 16 ymm registers), which costs 15-20%.  Registers:
 *   ymm0..ymm11  C rows 0..5, two vectors each (row r: ymm 2r, 2r+1)
 *   ymm12, ymm13 the 16 floats of B at p
 *   ymm14        a(r, p) broadcast (after the loop: the canonical NaN)
 *   ymm15        (after the loop) the NaN mask
 * vfmadd231ps X, Y, Z computes Z = Y * X + Z with one rounding: fmaf. */
/* clang-format off */
#define UKR_S(x) #x
#define UKR_FMA(P, R, C0, C1)                                                 \
	"vbroadcastss " UKR_S(P) "*24+" UKR_S(R) "*4(%[a]), %%ymm14\n\t"     \
	"vfmadd231ps %%ymm12, %%ymm14, %%ymm" UKR_S(C0) "\n\t"               \
	"vfmadd231ps %%ymm13, %%ymm14, %%ymm" UKR_S(C1) "\n\t"
#define UKR_STEP(P)                                                         \
	"vmovaps " UKR_S(P) "*64(%[b]), %%ymm12\n\t"                         \
	"vmovaps " UKR_S(P) "*64+32(%[b]), %%ymm13\n\t"                      \
	UKR_FMA(P, 0, 0, 1) UKR_FMA(P, 1, 2, 3) UKR_FMA(P, 2, 4, 5)         \
	UKR_FMA(P, 3, 6, 7) UKR_FMA(P, 4, 8, 9) UKR_FMA(P, 5, 10, 11)
/* Row r of the tile at X, with ldc in bytes: rows 0-1 from X, 2-4 from
 * T = X + 2 ldc, 5 from T' = X + 4 ldc. */
#define UKR_ROWS(OP, X)                                                     \
	"leaq (%[" X "],%[ldc],2), %[t]\n\t"                                 \
	OP("(%[" X "])", "0") OP("32(%[" X "])", "1")                        \
	OP("(%[" X "],%[ldc])", "2") OP("32(%[" X "],%[ldc])", "3")          \
	OP("(%[t])", "4") OP("32(%[t])", "5")                                \
	OP("(%[t],%[ldc])", "6") OP("32(%[t],%[ldc])", "7")                  \
	OP("(%[t],%[ldc],2)", "8") OP("32(%[t],%[ldc],2)", "9")              \
	"leaq (%[t],%[ldc],2), %[t]\n\t"                                     \
	OP("(%[t],%[ldc])", "10") OP("32(%[t],%[ldc])", "11")
#define UKR_LOAD(M, R) "vmovups " M ", %%ymm" R "\n\t"
#define UKR_ZERO(M, R) "vxorps %%ymm" R ", %%ymm" R ", %%ymm" R "\n\t"
#define UKR_PREF(M, R) "prefetcht0 " M "\n\t"
#define UKR_CANON(R)                                                        \
	"vcmpunordps %%ymm" R ", %%ymm" R ", %%ymm15\n\t"                    \
	"vblendvps %%ymm15, %%ymm14, %%ymm" R ", %%ymm" R "\n\t"
#define UKR_STORE(M, R) UKR_CANON(R) "vmovups %%ymm" R ", " M "\n\t"
#define UKR_STORE_RAW(M, R) "vmovups %%ymm" R ", " M "\n\t"
#define UKR_ADD(M, R) "vaddps " M ", %%ymm" R ", %%ymm" R "\n\t"
/* clang-format on */

/* C[6 x 16] (row stride ldc) by load (cpu_impl.h): GEMM_ZERO, C = chain
 * from +0; GEMM_LOAD, C = chain from C; GEMM_ADD, C = C + chain from +0
 * (one vaddps per element, after the chain).  One FMA chain per element,
 * p ascending; NaN results are stored canonical, unless GEMM_RAW: the
 * tile is stored as it is, for a later call of the same GEMM to go on
 * with.  c_next is the tile the caller will compute next, prefetched
 * unless GEMM_NOPF (any address will do, prefetches do not fault). */
void cairn__gemm_ukr_avx2_6x16(int64_t kc, const float *a, const float *b,
                               float *c, int64_t ldc, int load,
                               const float *c_next)
{
	int64_t n8 = kc / 8, rest = kc % 8, ldcb = ldc * 4;
	const float *cn = c_next;
	int mode = load & GEMM_MODE, raw = load & GEMM_RAW;
	int nopf = load & GEMM_NOPF;
	uintptr_t t;

	/* clang-format off */
	__asm__ volatile(
		/* prefetch the next tile's C (both lines of each row) */
		"testl %[nopf], %[nopf]\n\t"
		"jnz 8f\n\t"
		UKR_ROWS(UKR_PREF, "cn")
		"8:\n\t"
		/* load this tile (mode 1), or start from +0 */
		"cmpl $1, %[load]\n\t"
		"jne 5f\n\t"
		UKR_ROWS(UKR_LOAD, "c")
		"jmp 6f\n"
		"5:\n\t"
		UKR_ROWS(UKR_ZERO, "c")
		"6:\n\t"
		/* p loop, unrolled by 8 */
		"testq %[n8], %[n8]\n\t"
		"jz 2f\n\t"
		".p2align 5\n"
		"1:\n\t"
		"prefetcht0 384(%[a])\n\t"
		UKR_STEP(0) UKR_STEP(1) UKR_STEP(2) UKR_STEP(3)
		"prefetcht0 448(%[a])\n\t"
		UKR_STEP(4) UKR_STEP(5) UKR_STEP(6) UKR_STEP(7)
		"addq $192, %[a]\n\t"
		"addq $512, %[b]\n\t"
		"decq %[n8]\n\t"
		"jnz 1b\n"
		"2:\n\t"
		"testq %[rest], %[rest]\n\t"
		"jz 4f\n"
		"3:\n\t"
		UKR_STEP(0)
		"addq $24, %[a]\n\t"
		"addq $64, %[b]\n\t"
		"decq %[rest]\n\t"
		"jnz 3b\n"
		"4:\n\t"
		/* mode 2: add the chain to C */
		"cmpl $2, %[load]\n\t"
		"jne 7f\n\t"
		UKR_ROWS(UKR_ADD, "c")
		"7:\n\t"
		/* GEMM_RAW: store as it is */
		"testl %[raw], %[raw]\n\t"
		"jz 9f\n\t"
		UKR_ROWS(UKR_STORE_RAW, "c")
		"jmp 10f\n"
		"9:\n\t"
		/* canonical NaN in ymm14, then canonicalise and store */
		"movl $0x7fc00000, %k[t]\n\t"
		"vmovd %k[t], %%xmm14\n\t"
		"vpbroadcastd %%xmm14, %%ymm14\n\t"
		UKR_ROWS(UKR_STORE, "c")
		"10:\n\t"
		: [a] "+r"(a), [b] "+r"(b), [n8] "+r"(n8), [rest] "+r"(rest),
		  [t] "=&r"(t), [cn] "+r"(cn)
		: [c] "r"(c), [ldc] "r"(ldcb), [load] "r"(mode), [raw] "r"(raw),
		  [nopf] "r"(nopf)
		: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6",
		  "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13",
		  "xmm14", "xmm15", "memory", "cc");
	/* clang-format on */
}

/* Transposes an 8 x 8 block: rows r0..r7 in, columns out. */
static inline void tr8x8(__m256 *r)
{
	__m256 t0 = _mm256_unpacklo_ps(r[0], r[1]);
	__m256 t1 = _mm256_unpackhi_ps(r[0], r[1]);
	__m256 t2 = _mm256_unpacklo_ps(r[2], r[3]);
	__m256 t3 = _mm256_unpackhi_ps(r[2], r[3]);
	__m256 t4 = _mm256_unpacklo_ps(r[4], r[5]);
	__m256 t5 = _mm256_unpackhi_ps(r[4], r[5]);
	__m256 t6 = _mm256_unpacklo_ps(r[6], r[7]);
	__m256 t7 = _mm256_unpackhi_ps(r[6], r[7]);
	__m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44);
	__m256 s1 = _mm256_shuffle_ps(t0, t2, 0xee);
	__m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44);
	__m256 s3 = _mm256_shuffle_ps(t1, t3, 0xee);
	__m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44);
	__m256 s5 = _mm256_shuffle_ps(t4, t6, 0xee);
	__m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44);
	__m256 s7 = _mm256_shuffle_ps(t5, t7, 0xee);
	r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
	r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
	r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
	r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
	r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
	r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
	r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
	r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

/* Packs one full 16-column sliver of a transposed B (NT layout: column j
 * of op(B) is row j of src, contiguous in p): dst[p*16 + c] =
 * src[c*ld + p] for p < kc, c < 16.  Pure data movement, in 8 x 8
 * transposes.  Each group of 8 rows is read a whole cache line (16 floats)
 * at a time: with a power-of-two ld the rows share one L1 set, and
 * visiting 16 rows before coming back for a line's second half would
 * evict it. */
void cairn__gemm_packb_nt_avx2(int64_t kc, const float *src, int64_t ld,
                               float *dst)
{
	int64_t p = 0;

	for (; p + 16 <= kc; p += 16) {
		for (int h = 0; h < 2; h++) {
			const float *s = src + (int64_t)h * 8 * ld + p;
			__m256 r[8], q[8];
			for (int i = 0; i < 8; i++) {
				r[i] = _mm256_loadu_ps(s + i * ld);
				q[i] = _mm256_loadu_ps(s + i * ld + 8);
			}
			tr8x8(r);
			tr8x8(q);
			for (int i = 0; i < 8; i++) {
				_mm256_store_ps(dst + (p + i) * 16 + h * 8,
				                r[i]);
				_mm256_store_ps(dst + (p + 8 + i) * 16 + h * 8,
				                q[i]);
			}
		}
	}
	for (; p + 8 <= kc; p += 8) {
		for (int h = 0; h < 2; h++) {
			__m256 r[8];
			const float *s = src + (int64_t)h * 8 * ld + p;
			for (int i = 0; i < 8; i++)
				r[i] = _mm256_loadu_ps(s + i * ld);
			tr8x8(r);
			for (int i = 0; i < 8; i++)
				_mm256_store_ps(dst + (p + i) * 16 + h * 8,
				                r[i]);
		}
	}
	for (; p < kc; p++)
		for (int c = 0; c < 16; c++)
			dst[p * 16 + c] = src[c * ld + p];
}

/* Packs one full 16-column sliver of B (NN layout: row p of op(B) is
 * src + p*ld, contiguous in j): dst[p*16 + c] = src[p*ld + c].  Two
 * 8-wide copies per p, inline (a memcpy call per 64 bytes cost about 4%
 * of a training step). */
void cairn__gemm_packb_n_avx2(int64_t kc, const float *src, int64_t ld,
                              float *dst)
{
	for (int64_t p = 0; p < kc; p++, src += ld, dst += 16) {
		__m256 lo = _mm256_loadu_ps(src);
		__m256 hi = _mm256_loadu_ps(src + 8);
		_mm256_store_ps(dst, lo);
		_mm256_store_ps(dst + 8, hi);
	}
}

/* Packs one full 6-row sliver of A (NN layout: row r of the sliver is
 * src + r*ld, contiguous in p): dst[p*6 + r] = src[r*ld + p] for p < kc.
 * Pure data movement: an 8 x 8 transpose of six rows (two zero rows), the
 * six useful lanes of each column stored with overlapping 8-wide stores in
 * ascending order (each store's two extra lanes are rewritten by the next;
 * the last column of the sliver is stored 4 + 2 wide so that nothing past
 * dst[kc*6) is written). */
void cairn__gemm_packa_n_avx2(int64_t kc, const float *src, int64_t ld,
                              float *dst)
{
	int64_t p = 0;

	for (; p + 8 <= kc; p += 8) {
		__m256 r[8];
		for (int i = 0; i < 6; i++)
			r[i] = _mm256_loadu_ps(src + i * ld + p);
		r[6] = r[7] = _mm256_setzero_ps();
		tr8x8(r);
		for (int q = 0; q < 7; q++)
			_mm256_storeu_ps(dst + (p + q) * 6, r[q]);
		if (p + 8 < kc) {
			_mm256_storeu_ps(dst + (p + 7) * 6, r[7]);
		} else {
			__m128 lo = _mm256_castps256_ps128(r[7]);
			__m128 hi = _mm256_extractf128_ps(r[7], 1);
			_mm_storeu_ps(dst + (p + 7) * 6, lo);
			_mm_storel_pi((__m64 *)(dst + (p + 7) * 6 + 4), hi);
		}
	}
	for (; p < kc; p++)
		for (int i = 0; i < 6; i++)
			dst[p * 6 + i] = src[i * ld + p];
}

/* Packs one full 6-row sliver of a transposed A (TN layout: row p of src
 * holds a(0..5, p) contiguous): dst[p*6 + r] = src[p*ld + r]. */
void cairn__gemm_packa_t_avx2(int64_t kc, const float *src, int64_t ld,
                              float *dst)
{
	for (int64_t p = 0; p < kc; p++) {
		const float *s = src + p * ld;
		_mm_storeu_ps(dst + p * 6, _mm_loadu_ps(s));
		_mm_storel_pi((__m64 *)(dst + p * 6 + 4),
		              _mm_castsi128_ps(
		                  _mm_loadl_epi64((const __m128i *)(s + 4))));
	}
}
