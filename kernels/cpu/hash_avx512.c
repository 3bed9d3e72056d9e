/* cairn: BLAKE2b over eight messages at once, one per 64-bit lane of
 * AVX-512.
 *
 * The 8-lane twin of hash_avx2.c: each state word v[k] is an __m512i
 * holding word k of eight messages, so a round does eight messages' work
 * per instruction with no shuffling inside it, and AVX-512F rotates a
 * 64-bit lane in one instruction (vprorq) where AVX2 needs a byte shuffle
 * or two shifts.  The bytes are exactly the scalar BLAKE2b's
 * (kernels/blake2b.h): the same compression, counter and final flag per
 * lane, which tests/test_kernels_hash.c checks against the reference.
 *
 * Built with -mavx512f (CMakeLists.txt) and called only through the
 * avx512 ops table (ops_avx512.c), after the CPUID check in
 * backend_cpu.c. */
#include <immintrin.h>
#include <string.h>

#include "blake2b.h"
#include "cpu_impl.h"

/* Words k0..k0+7 of the eight blocks src[0..7] into m[k0..k0+7], lane i
 * from src[i]: eight 64-byte loads (a row each: one block's eight words)
 * and an 8 x 8 transpose, in three stages of two-source permutes. */
static inline void x8_load_half(__m512i m[16], int k0,
                                const uint8_t *const src[8])
{
	const __m512i lo4 = _mm512_setr_epi64(0, 1, 8, 9, 4, 5, 12, 13);
	const __m512i hi4 = _mm512_setr_epi64(2, 3, 10, 11, 6, 7, 14, 15);
	const __m512i lo8 = _mm512_setr_epi64(0, 1, 2, 3, 8, 9, 10, 11);
	const __m512i hi8 = _mm512_setr_epi64(4, 5, 6, 7, 12, 13, 14, 15);
	__m512i r[8], t[8], u[8];

	for (int i = 0; i < 8; i++)
		r[i] = _mm512_loadu_si512((const void *)(src[i] + 8 * k0));
	/* t[2j]: rows 2j, 2j+1 at even words; t[2j+1]: at odd words */
	for (int j = 0; j < 4; j++) {
		t[2 * j] = _mm512_unpacklo_epi64(r[2 * j], r[2 * j + 1]);
		t[2 * j + 1] = _mm512_unpackhi_epi64(r[2 * j], r[2 * j + 1]);
	}
	/* u: four rows side by side; u[0] words 0 and 4, u[1] 2 and 6,
	 * u[2] 1 and 5, u[3] 3 and 7 (rows 0-3); u[4..7] the same for rows
	 * 4-7 */
	for (int g = 0; g < 2; g++) {
		__m512i *tg = t + 4 * g, *ug = u + 4 * g;
		ug[0] = _mm512_permutex2var_epi64(tg[0], lo4, tg[2]);
		ug[1] = _mm512_permutex2var_epi64(tg[0], hi4, tg[2]);
		ug[2] = _mm512_permutex2var_epi64(tg[1], lo4, tg[3]);
		ug[3] = _mm512_permutex2var_epi64(tg[1], hi4, tg[3]);
	}
	m[k0 + 0] = _mm512_permutex2var_epi64(u[0], lo8, u[4]);
	m[k0 + 4] = _mm512_permutex2var_epi64(u[0], hi8, u[4]);
	m[k0 + 2] = _mm512_permutex2var_epi64(u[1], lo8, u[5]);
	m[k0 + 6] = _mm512_permutex2var_epi64(u[1], hi8, u[5]);
	m[k0 + 1] = _mm512_permutex2var_epi64(u[2], lo8, u[6]);
	m[k0 + 5] = _mm512_permutex2var_epi64(u[2], hi8, u[6]);
	m[k0 + 3] = _mm512_permutex2var_epi64(u[3], lo8, u[7]);
	m[k0 + 7] = _mm512_permutex2var_epi64(u[3], hi8, u[7]);
}

#define X8_G(a, b, c, d, x, y)                                                 \
	do {                                                                   \
		v[a] = _mm512_add_epi64(_mm512_add_epi64(v[a], v[b]), m[x]);   \
		v[d] = _mm512_ror_epi64(_mm512_xor_si512(v[d], v[a]), 32);     \
		v[c] = _mm512_add_epi64(v[c], v[d]);                           \
		v[b] = _mm512_ror_epi64(_mm512_xor_si512(v[b], v[c]), 24);     \
		v[a] = _mm512_add_epi64(_mm512_add_epi64(v[a], v[b]), m[y]);   \
		v[d] = _mm512_ror_epi64(_mm512_xor_si512(v[d], v[a]), 16);     \
		v[c] = _mm512_add_epi64(v[c], v[d]);                           \
		v[b] = _mm512_ror_epi64(_mm512_xor_si512(v[b], v[c]), 63);     \
	} while (0)

/* One round with message schedule row s0..s15 (RFC 7693 section 2.7),
 * written out so every message index is a constant. */
#define X8_ROUND(s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12, s13,   \
                 s14, s15)                                                     \
	do {                                                                   \
		X8_G(0, 4, 8, 12, s0, s1);                                     \
		X8_G(1, 5, 9, 13, s2, s3);                                     \
		X8_G(2, 6, 10, 14, s4, s5);                                    \
		X8_G(3, 7, 11, 15, s6, s7);                                    \
		X8_G(0, 5, 10, 15, s8, s9);                                    \
		X8_G(1, 6, 11, 12, s10, s11);                                  \
		X8_G(2, 7, 8, 13, s12, s13);                                   \
		X8_G(3, 4, 9, 14, s14, s15);                                   \
	} while (0)

/* The compression function F on eight lanes: the blocks src[0..7],
 * counter words t0 and t1, final-flag words f (all ones in a lane whose
 * block is its message's last). */
static inline void x8_compress(__m512i h[8], const uint8_t *const src[8],
                               __m512i t0, __m512i t1, __m512i f)
{
	__m512i m[16], v[16];

	x8_load_half(m, 0, src);
	x8_load_half(m, 8, src);
	for (int i = 0; i < 8; i++)
		v[i] = h[i];
	v[8] = _mm512_set1_epi64((long long)CAIRN_BLAKE2B_IV0);
	v[9] = _mm512_set1_epi64((long long)CAIRN_BLAKE2B_IV1);
	v[10] = _mm512_set1_epi64((long long)CAIRN_BLAKE2B_IV2);
	v[11] = _mm512_set1_epi64((long long)CAIRN_BLAKE2B_IV3);
	v[12] = _mm512_xor_si512(
	    _mm512_set1_epi64((long long)CAIRN_BLAKE2B_IV4), t0);
	v[13] = _mm512_xor_si512(
	    _mm512_set1_epi64((long long)CAIRN_BLAKE2B_IV5), t1);
	v[14] = _mm512_xor_si512(
	    _mm512_set1_epi64((long long)CAIRN_BLAKE2B_IV6), f);
	v[15] = _mm512_set1_epi64((long long)CAIRN_BLAKE2B_IV7);

	X8_ROUND(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
	X8_ROUND(14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3);
	X8_ROUND(11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4);
	X8_ROUND(7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8);
	X8_ROUND(9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13);
	X8_ROUND(2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9);
	X8_ROUND(12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11);
	X8_ROUND(13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10);
	X8_ROUND(6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5);
	X8_ROUND(10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0);
	X8_ROUND(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
	X8_ROUND(14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3);

	for (int i = 0; i < 8; i++)
		h[i] = _mm512_xor_si512(h[i], _mm512_xor_si512(v[i], v[i + 8]));
}

#undef X8_G
#undef X8_ROUND

/* Writes lane i of the chain value h as outlen bytes of digest. */
static void x8_output(const __m512i h[8], int i, uint32_t outlen, uint8_t *out)
{
	uint64_t w[8][8];

	for (int k = 0; k < 8; k++)
		_mm512_storeu_si512((void *)w[k], h[k]);
	for (uint32_t j = 0; j < outlen; j++)
		out[j] = (uint8_t)(w[j / 8][i] >> (8 * (j % 8)));
}

/* cairn__blake2b_x8: the lock-step driver (hash_lanes_body.h) on these
 * eight lanes. */
#define LANES 8
#define LANES_FN cairn__blake2b_x8
#define LANES_VEC __m512i
#define LANES_SET1(x) _mm512_set1_epi64((long long)(x))
#define LANES_LOAD(w) _mm512_loadu_si512((const void *)(w))
#define LANES_COMPRESS x8_compress
#define LANES_OUTPUT x8_output
#include "hash_lanes_body.h"
