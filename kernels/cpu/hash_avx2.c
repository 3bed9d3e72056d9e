/* cairn: BLAKE2b over four messages at once, one per 64-bit lane of AVX2.
 *
 * hash_chunks hashes many independent chunks that share a prefix (the
 * header block) and, but for the last, a length.  One BLAKE2b stream is a
 * chain of dependent 64-bit adds, xors and rotations that a core cannot
 * fill; four streams side by side, each state word v[k] an __m256i holding
 * word k of four messages, do four times the work per instruction with no
 * shuffling inside a round (the "4-way" layout of BLAKE2bp).  The bytes are
 * exactly the scalar BLAKE2b's (kernels/blake2b.h): the same compression,
 * counter and final flag per lane, which tests/test_kernels_hash.c checks
 * against the reference.
 *
 * Built with -mavx2 (the CMake glob for *_avx2.c) and called only through
 * the AVX2 ops table, after the CPUID check in backend_cpu.c. */
#include <immintrin.h>
#include <string.h>

#include "blake2b.h"
#include "cpu_impl.h"

/* Rotations right.  By 32, 24 and 16 they move whole bytes, so one shuffle
 * does them; by 63 is a left shift by one (x + x) with the top bit brought
 * round. */
static inline __m256i x4_rotr32(__m256i x)
{
	return _mm256_shuffle_epi32(x, _MM_SHUFFLE(2, 3, 0, 1));
}

static inline __m256i x4_rotr24(__m256i x)
{
	const __m256i r24 = _mm256_setr_epi8(
	    3, 4, 5, 6, 7, 0, 1, 2, 11, 12, 13, 14, 15, 8, 9, 10, 3, 4, 5, 6, 7,
	    0, 1, 2, 11, 12, 13, 14, 15, 8, 9, 10);
	return _mm256_shuffle_epi8(x, r24);
}

static inline __m256i x4_rotr16(__m256i x)
{
	const __m256i r16 = _mm256_setr_epi8(
	    2, 3, 4, 5, 6, 7, 0, 1, 10, 11, 12, 13, 14, 15, 8, 9, 2, 3, 4, 5, 6,
	    7, 0, 1, 10, 11, 12, 13, 14, 15, 8, 9);
	return _mm256_shuffle_epi8(x, r16);
}

static inline __m256i x4_rotr63(__m256i x)
{
	return _mm256_xor_si256(_mm256_srli_epi64(x, 63),
	                        _mm256_add_epi64(x, x));
}

/* Word k of the four 128-byte blocks src[0..3], lane i from src[i].  Each
 * 16-byte load takes two words of one block; a lane-crossing insert pairs
 * blocks 0 and 2, 1 and 3, and the in-lane unpacks finish the transpose:
 * 16 inserting loads and 16 unpacks a block, no gathers. */
static inline void x4_load(__m256i m[16], const uint8_t *const src[4])
{
	for (int k = 0; k < 8; k++) {
		__m256i ac = _mm256_inserti128_si256(
		    _mm256_castsi128_si256(
		        _mm_loadu_si128((const __m128i *)(src[0] + 16 * k))),
		    _mm_loadu_si128((const __m128i *)(src[2] + 16 * k)), 1);
		__m256i bd = _mm256_inserti128_si256(
		    _mm256_castsi128_si256(
		        _mm_loadu_si128((const __m128i *)(src[1] + 16 * k))),
		    _mm_loadu_si128((const __m128i *)(src[3] + 16 * k)), 1);
		m[2 * k] = _mm256_unpacklo_epi64(ac, bd);
		m[2 * k + 1] = _mm256_unpackhi_epi64(ac, bd);
	}
}

#define X4_G(a, b, c, d, x, y)                                                 \
	do {                                                                   \
		v[a] = _mm256_add_epi64(_mm256_add_epi64(v[a], v[b]), m[x]);   \
		v[d] = x4_rotr32(_mm256_xor_si256(v[d], v[a]));                \
		v[c] = _mm256_add_epi64(v[c], v[d]);                           \
		v[b] = x4_rotr24(_mm256_xor_si256(v[b], v[c]));                \
		v[a] = _mm256_add_epi64(_mm256_add_epi64(v[a], v[b]), m[y]);   \
		v[d] = x4_rotr16(_mm256_xor_si256(v[d], v[a]));                \
		v[c] = _mm256_add_epi64(v[c], v[d]);                           \
		v[b] = x4_rotr63(_mm256_xor_si256(v[b], v[c]));                \
	} while (0)

/* One round with message schedule row s0..s15 (RFC 7693 section 2.7),
 * written out so every message index is a constant at -O2. */
#define X4_ROUND(s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12, s13,   \
                 s14, s15)                                                     \
	do {                                                                   \
		X4_G(0, 4, 8, 12, s0, s1);                                     \
		X4_G(1, 5, 9, 13, s2, s3);                                     \
		X4_G(2, 6, 10, 14, s4, s5);                                    \
		X4_G(3, 7, 11, 15, s6, s7);                                    \
		X4_G(0, 5, 10, 15, s8, s9);                                    \
		X4_G(1, 6, 11, 12, s10, s11);                                  \
		X4_G(2, 7, 8, 13, s12, s13);                                   \
		X4_G(3, 4, 9, 14, s14, s15);                                   \
	} while (0)

/* The compression function F on four lanes: the blocks src[0..3], counter
 * words t0 and t1, final-flag words f (all ones in a lane whose block is its
 * message's last). */
static inline void x4_compress(__m256i h[8], const uint8_t *const src[4],
                               __m256i t0, __m256i t1, __m256i f)
{
	__m256i m[16], v[16];

	x4_load(m, src);
	for (int i = 0; i < 8; i++)
		v[i] = h[i];
	v[8] = _mm256_set1_epi64x((long long)CAIRN_BLAKE2B_IV0);
	v[9] = _mm256_set1_epi64x((long long)CAIRN_BLAKE2B_IV1);
	v[10] = _mm256_set1_epi64x((long long)CAIRN_BLAKE2B_IV2);
	v[11] = _mm256_set1_epi64x((long long)CAIRN_BLAKE2B_IV3);
	v[12] = _mm256_xor_si256(
	    _mm256_set1_epi64x((long long)CAIRN_BLAKE2B_IV4), t0);
	v[13] = _mm256_xor_si256(
	    _mm256_set1_epi64x((long long)CAIRN_BLAKE2B_IV5), t1);
	v[14] = _mm256_xor_si256(
	    _mm256_set1_epi64x((long long)CAIRN_BLAKE2B_IV6), f);
	v[15] = _mm256_set1_epi64x((long long)CAIRN_BLAKE2B_IV7);

	X4_ROUND(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
	X4_ROUND(14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3);
	X4_ROUND(11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4);
	X4_ROUND(7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8);
	X4_ROUND(9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13);
	X4_ROUND(2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9);
	X4_ROUND(12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11);
	X4_ROUND(13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10);
	X4_ROUND(6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5);
	X4_ROUND(10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0);
	X4_ROUND(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
	X4_ROUND(14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3);

	for (int i = 0; i < 8; i++)
		h[i] = _mm256_xor_si256(h[i], _mm256_xor_si256(v[i], v[i + 8]));
}

#undef X4_G
#undef X4_ROUND

/* Writes lane i of the chain value h as s->outlen bytes of digest. */
static void x4_output(const __m256i h[8], int i, uint32_t outlen, uint8_t *out)
{
	uint64_t w[8][4];

	for (int k = 0; k < 8; k++)
		_mm256_storeu_si256((__m256i *)w[k], h[k]);
	for (uint32_t j = 0; j < outlen; j++)
		out[j] = (uint8_t)(w[j / 8][i] >> (8 * (j % 8)));
}

/* cairn__blake2b_x4: the lock-step driver (hash_lanes_body.h) on these
 * four lanes. */
#define LANES 4
#define LANES_FN cairn__blake2b_x4
#define LANES_VEC __m256i
#define LANES_SET1(x) _mm256_set1_epi64x((long long)(x))
#define LANES_LOAD(w) _mm256_loadu_si256((const __m256i *)(const void *)(w))
#define LANES_COMPRESS x4_compress
#define LANES_OUTPUT x4_output
#include "hash_lanes_body.h"
