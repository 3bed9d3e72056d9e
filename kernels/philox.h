/* cairn: Philox4x32-10 counter-based generator (Salmon et al., SC'11),
 * host and device.  The same (key, counter) gives the same bits on any CPU
 * or GPU (DESIGN.md 2.5). */
#ifndef CAIRN_PHILOX_H
#define CAIRN_PHILOX_H

#include "hd.h"
#include "cairn_math.h"

#define CAIRN_PHILOX_M0 0xD2511F53u
#define CAIRN_PHILOX_M1 0xCD9E8D57u
#define CAIRN_PHILOX_W0 0x9E3779B9u
#define CAIRN_PHILOX_W1 0xBB67AE85u

CAIRN_HD void cairn__philox_round(uint32_t c[4], const uint32_t k[2])
{
	uint64_t p0 = (uint64_t)CAIRN_PHILOX_M0 * c[0];
	uint64_t p1 = (uint64_t)CAIRN_PHILOX_M1 * c[2];
	uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
	uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
	uint32_t n0 = hi1 ^ c[1] ^ k[0];
	uint32_t n2 = hi0 ^ c[3] ^ k[1];
	c[0] = n0;
	c[1] = lo1;
	c[2] = n2;
	c[3] = lo0;
}

/* out = Philox4x32-10(ctr, key). */
CAIRN_HD void cairn_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2],
                                  uint32_t out[4])
{
	uint32_t c[4] = {ctr[0], ctr[1], ctr[2], ctr[3]};
	uint32_t k[2] = {key[0], key[1]};
	for (int r = 0; r < 10; r++) {
		if (r > 0) {
			k[0] += CAIRN_PHILOX_W0;
			k[1] += CAIRN_PHILOX_W1;
		}
		cairn__philox_round(c, k);
	}
	out[0] = c[0];
	out[1] = c[1];
	out[2] = c[2];
	out[3] = c[3];
}

/* The four words of block b of the stream (key, stream):
 * counter = {b lo, b hi, stream lo, stream hi}, key = {key lo, key hi}.
 * Element e of a fill uses word e % 4 of block e / 4. */
CAIRN_HD void cairn_philox_block(uint64_t key, uint64_t stream, uint64_t block,
                                 uint32_t out[4])
{
	uint32_t c[4] = {(uint32_t)block, (uint32_t)(block >> 32),
	                 (uint32_t)stream, (uint32_t)(stream >> 32)};
	uint32_t k[2] = {(uint32_t)key, (uint32_t)(key >> 32)};
	cairn_philox4x32_10(c, k, out);
}

/* [0, 1): the top 24 bits, exactly representable. */
CAIRN_HD float cairn_rng_u01(uint32_t x)
{
	return (float)(x >> 8) * 0x1p-24f;
}

/* (0, 1]: never 0, so its log is finite. */
CAIRN_HD float cairn_rng_u01_open0(uint32_t x)
{
	return (float)((x >> 8) + 1u) * 0x1p-24f;
}

/* lo + (hi - lo) * u, as one fmaf; rounding can give hi itself, so the
 * range is [lo, hi]. */
CAIRN_HD float cairn_rng_uniform(uint32_t x, float lo, float hi)
{
	return cairn_canon(fmaf(cairn_rng_u01(x), hi - lo, lo));
}

/* Box-Muller on the word pair (w[2p], w[2p+1]) of one block: lane 2p gets
 * r cos(2 pi u2), lane 2p+1 gets r sin(2 pi u2), r = sqrt(-2 log u1).
 * Since u1 >= 2^-24, |z| <= sqrt(48 ln 2) = 5.77 before scaling.
 * lane is taken mod 4. */
CAIRN_HD float cairn_rng_normal(const uint32_t w[4], int lane, float mean,
                                float std)
{
	int p = (lane & 3) >> 1;
	float u1 = cairn_rng_u01_open0(w[2 * p]);
	float u2 = cairn_rng_u01(w[2 * p + 1]);
	float r = sqrtf(-2.0f * cairn_logf(u1));
	float t = 2.0f * u2;
	float z = r * ((lane & 1) ? cairn_sinpif(t) : cairn_cospif(t));
	return cairn_canon(fmaf(z, std, mean));
}

#endif
