/* cairn: BLAKE2b (RFC 7693), unkeyed, 1 to 64 bytes of output, host and
 * device.
 *
 * The same source is compiled by the C compiler for the host and by nvcc
 * for the device (CAIRN_HD, kernels/hd.h), so a GPU hashes tensor chunks to
 * exactly the bytes libsodium's crypto_generichash gives on the CPU
 * (DESIGN.md section 5; tests/test_attest.c holds it to libsodium).  There
 * are no tables in memory: the IV is a set of constants and the message
 * schedule sigma is one packed 64-bit constant per round, so device code
 * needs nothing from the host.  Only memcpy and memset come from the C
 * library.
 *
 *   struct cairn_blake2b_state s;
 *   cairn_blake2b_init(&s, 32);
 *   cairn_blake2b_update(&s, data, len);   (any number of times)
 *   cairn_blake2b_final(&s, out);          (writes s.outlen bytes)
 *
 * The state is a plain struct: it may be copied (a fixed prefix can be
 * absorbed once and the state copied for each message) and passed by value
 * to a kernel. */
#ifndef CAIRN_BLAKE2B_H
#define CAIRN_BLAKE2B_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hd.h"

#define CAIRN_BLAKE2B_BLOCKBYTES 128
#define CAIRN_BLAKE2B_OUTBYTES_MAX 64

struct cairn_blake2b_state {
	uint64_t h[8]; /* chain value */
	uint64_t t[2]; /* bytes compressed so far (128-bit counter) */
	uint8_t buf[CAIRN_BLAKE2B_BLOCKBYTES]; /* input not yet compressed */
	uint32_t buflen; /* 0..128; a full block waits for the next update */
	uint32_t outlen; /* 1..64 */
};

#define CAIRN_BLAKE2B_IV0 0x6a09e667f3bcc908ull
#define CAIRN_BLAKE2B_IV1 0xbb67ae8584caa73bull
#define CAIRN_BLAKE2B_IV2 0x3c6ef372fe94f82bull
#define CAIRN_BLAKE2B_IV3 0xa54ff53a5f1d36f1ull
#define CAIRN_BLAKE2B_IV4 0x510e527fade682d1ull
#define CAIRN_BLAKE2B_IV5 0x9b05688c2b3e6c1full
#define CAIRN_BLAKE2B_IV6 0x1f83d9abfb41bd6bull
#define CAIRN_BLAKE2B_IV7 0x5be0cd19137e2179ull

/* Row r of sigma (RFC 7693 section 2.7), entry i in bits 4i..4i+3.  Rounds
 * 10 and 11 reuse rows 0 and 1.  A switch rather than an array: with the
 * round loop unrolled (device code does, below) every lookup is a constant. */
CAIRN_HD uint64_t cairn__blake2b_sigma(int r)
{
	switch (r) {
	case 0:
	case 10:
		return 0xfedcba9876543210ull;
	case 1:
	case 11:
		return 0x357b20c16df984aeull;
	case 2:
		return 0x491763eadf250c8bull;
	case 3:
		return 0x8f04a562ebcd1397ull;
	case 4:
		return 0xd386cb1efa427509ull;
	case 5:
		return 0x91ef57d438b0a6c2ull;
	case 6:
		return 0xb8293670a4def15cull;
	case 7:
		return 0xa2684f05931ce7bdull;
	case 8:
		return 0x5a417d2c803b9ef6ull;
	default: /* 9 */
		return 0x0dc3e9bf5167482aull;
	}
}

CAIRN_HD uint64_t cairn__blake2b_rotr(uint64_t x, int n)
{
	return (x >> n) | (x << (64 - n));
}

/* The little-endian 64-bit word at p (any alignment, any host byte order). */
CAIRN_HD uint64_t cairn__blake2b_load64(const uint8_t *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
	       (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 |
	       (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
	       (uint64_t)p[7] << 56;
}

#define CAIRN__BLAKE2B_G(a, b, c, d, x, y)                                     \
	do {                                                                   \
		v[a] = v[a] + v[b] + (x);                                      \
		v[d] = cairn__blake2b_rotr(v[d] ^ v[a], 32);                   \
		v[c] = v[c] + v[d];                                            \
		v[b] = cairn__blake2b_rotr(v[b] ^ v[c], 24);                   \
		v[a] = v[a] + v[b] + (y);                                      \
		v[d] = cairn__blake2b_rotr(v[d] ^ v[a], 16);                   \
		v[c] = v[c] + v[d];                                            \
		v[b] = cairn__blake2b_rotr(v[b] ^ v[c], 63);                   \
	} while (0)

#define CAIRN__BLAKE2B_M(i) m[(s >> (4 * (i))) & 15]

/* The compression function F (RFC 7693 section 3.2) on the message words
 * m[0..15]; t0, t1 count the bytes so far including this block; last is
 * nonzero for the final block.  Exposed so that a kernel holding aligned
 * words can skip the byte loads. */
CAIRN_HD void cairn_blake2b_compress(uint64_t h[8], const uint64_t m[16],
                                     uint64_t t0, uint64_t t1, int last)
{
	uint64_t v[16];
	for (int i = 0; i < 8; i++)
		v[i] = h[i];
	v[8] = CAIRN_BLAKE2B_IV0;
	v[9] = CAIRN_BLAKE2B_IV1;
	v[10] = CAIRN_BLAKE2B_IV2;
	v[11] = CAIRN_BLAKE2B_IV3;
	v[12] = CAIRN_BLAKE2B_IV4 ^ t0;
	v[13] = CAIRN_BLAKE2B_IV5 ^ t1;
	v[14] = last ? ~CAIRN_BLAKE2B_IV6 : CAIRN_BLAKE2B_IV6;
	v[15] = CAIRN_BLAKE2B_IV7;
#ifdef __CUDA_ARCH__
#pragma unroll
#endif
	for (int r = 0; r < 12; r++) {
		uint64_t s = cairn__blake2b_sigma(r);
		CAIRN__BLAKE2B_G(0, 4, 8, 12, CAIRN__BLAKE2B_M(0),
		                 CAIRN__BLAKE2B_M(1));
		CAIRN__BLAKE2B_G(1, 5, 9, 13, CAIRN__BLAKE2B_M(2),
		                 CAIRN__BLAKE2B_M(3));
		CAIRN__BLAKE2B_G(2, 6, 10, 14, CAIRN__BLAKE2B_M(4),
		                 CAIRN__BLAKE2B_M(5));
		CAIRN__BLAKE2B_G(3, 7, 11, 15, CAIRN__BLAKE2B_M(6),
		                 CAIRN__BLAKE2B_M(7));
		CAIRN__BLAKE2B_G(0, 5, 10, 15, CAIRN__BLAKE2B_M(8),
		                 CAIRN__BLAKE2B_M(9));
		CAIRN__BLAKE2B_G(1, 6, 11, 12, CAIRN__BLAKE2B_M(10),
		                 CAIRN__BLAKE2B_M(11));
		CAIRN__BLAKE2B_G(2, 7, 8, 13, CAIRN__BLAKE2B_M(12),
		                 CAIRN__BLAKE2B_M(13));
		CAIRN__BLAKE2B_G(3, 4, 9, 14, CAIRN__BLAKE2B_M(14),
		                 CAIRN__BLAKE2B_M(15));
	}
	for (int i = 0; i < 8; i++)
		h[i] ^= v[i] ^ v[i + 8];
}

#undef CAIRN__BLAKE2B_G
#undef CAIRN__BLAKE2B_M

/* Compresses the 128 bytes at p, after adding them to the counter. */
CAIRN_HD void cairn__blake2b_block(struct cairn_blake2b_state *s,
                                   const uint8_t *p, int last)
{
	uint64_t m[16];
	for (int i = 0; i < 16; i++)
		m[i] = cairn__blake2b_load64(p + 8 * i);
	s->t[0] += CAIRN_BLAKE2B_BLOCKBYTES;
	if (s->t[0] < CAIRN_BLAKE2B_BLOCKBYTES)
		s->t[1]++;
	cairn_blake2b_compress(s->h, m, s->t[0], s->t[1], last);
}

/* Starts an unkeyed hash with outlen bytes of output (1..64): 0, or -1
 * (and s untouched) for an out-of-range length. */
CAIRN_HD int cairn_blake2b_init(struct cairn_blake2b_state *s, size_t outlen)
{
	if (outlen < 1 || outlen > CAIRN_BLAKE2B_OUTBYTES_MAX)
		return -1;
	memset(s, 0, sizeof *s);
	s->h[0] = CAIRN_BLAKE2B_IV0 ^ 0x01010000ull ^ (uint64_t)outlen;
	s->h[1] = CAIRN_BLAKE2B_IV1;
	s->h[2] = CAIRN_BLAKE2B_IV2;
	s->h[3] = CAIRN_BLAKE2B_IV3;
	s->h[4] = CAIRN_BLAKE2B_IV4;
	s->h[5] = CAIRN_BLAKE2B_IV5;
	s->h[6] = CAIRN_BLAKE2B_IV6;
	s->h[7] = CAIRN_BLAKE2B_IV7;
	s->outlen = (uint32_t)outlen;
	return 0;
}

/* Absorbs len bytes at in.  The last block of a message must be compressed
 * with the final flag, so a full buffer is kept until more input arrives. */
CAIRN_HD void cairn_blake2b_update(struct cairn_blake2b_state *s,
                                   const void *in, size_t len)
{
	const uint8_t *p = (const uint8_t *)in;
	if (len == 0)
		return;
	if (s->buflen > 0) {
		size_t take = CAIRN_BLAKE2B_BLOCKBYTES - s->buflen;
		if (take > len)
			take = len;
		memcpy(s->buf + s->buflen, p, take);
		s->buflen += (uint32_t)take;
		p += take;
		len -= take;
		if (len == 0)
			return;
		/* buf is full and more input follows: it is not the last. */
		cairn__blake2b_block(s, s->buf, 0);
		s->buflen = 0;
	}
	while (len > CAIRN_BLAKE2B_BLOCKBYTES) {
		cairn__blake2b_block(s, p, 0);
		p += CAIRN_BLAKE2B_BLOCKBYTES;
		len -= CAIRN_BLAKE2B_BLOCKBYTES;
	}
	memcpy(s->buf, p, len);
	s->buflen = (uint32_t)len;
}

/* Finishes the hash and writes s->outlen bytes to out.  s must be
 * initialised again before reuse. */
CAIRN_HD void cairn_blake2b_final(struct cairn_blake2b_state *s, uint8_t *out)
{
	uint64_t t0 = s->t[0] + s->buflen;
	uint64_t t1 = s->t[1] + (t0 < s->t[0] ? 1 : 0);
	uint64_t m[16];
	memset(s->buf + s->buflen, 0, CAIRN_BLAKE2B_BLOCKBYTES - s->buflen);
	for (int i = 0; i < 16; i++)
		m[i] = cairn__blake2b_load64(s->buf + 8 * i);
	cairn_blake2b_compress(s->h, m, t0, t1, 1);
	for (uint32_t i = 0; i < s->outlen; i++)
		out[i] = (uint8_t)(s->h[i / 8] >> (8 * (i % 8)));
}

/* One call: out (outlen bytes, 1..64) = BLAKE2b(in[0..len)).  0 or -1. */
CAIRN_HD int cairn_blake2b(uint8_t *out, size_t outlen, const void *in,
                           size_t len)
{
	struct cairn_blake2b_state s;
	if (cairn_blake2b_init(&s, outlen))
		return -1;
	cairn_blake2b_update(&s, in, len);
	cairn_blake2b_final(&s, out);
	return 0;
}

#endif
