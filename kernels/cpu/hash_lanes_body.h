/* cairn: the lock-step driver of the multi-lane BLAKE2b kernels, compiled
 * twice: by hash_avx2.c (4 lanes of __m256i) and hash_avx512.c (8 lanes
 * of __m512i), each with its own ISA flags.  The includer defines
 *   LANES                 4 or 8
 *   LANES_FN              the function's name
 *   LANES_VEC             the vector type of one state word
 *   LANES_SET1(x)         x (uint64_t) in every lane
 *   LANES_LOAD(w)         lane i from w[i] (uint64_t w[LANES])
 *   LANES_COMPRESS(h, src, t0, t1, f)   F on the lanes' blocks src[]
 *   LANES_OUTPUT(h, i, outlen, out)     lane i's digest
 *
 * LANES_FN continues LANES copies of s over p[i][0..len[i]) and finishes
 * each into out[i] (s->outlen bytes), for i < n (1..LANES): out[i] gets
 * exactly what
 *   st = *s; cairn_blake2b_update(&st, p[i], len[i]);
 *   cairn_blake2b_final(&st, out[i]);
 * gives.  s must have nothing buffered (buflen 0: whole blocks absorbed,
 * as after a header block compressed with cairn__blake2b_block), every
 * len[i] > 0, and s->t[0] + len[i] must not carry into t[1] (it cannot
 * for any buffer that fits in memory), so the high counter word stays
 * s->t[1] in every lane.
 *
 * Lanes run in lock step: while every lane has a block left before its
 * last, they compress together with one counter; then each lane meets its
 * last block (copied to a zero-padded buffer when it is partial) at its own
 * step.  A lane past its end, or one of the LANES - n unused lanes (they
 * shadow lane 0), keeps compressing a harmless stand-in block whose result
 * is never written. */
#if !defined(LANES) || !defined(LANES_FN) || !defined(LANES_VEC) ||            \
    !defined(LANES_SET1) || !defined(LANES_LOAD) ||                            \
    !defined(LANES_COMPRESS) || !defined(LANES_OUTPUT)
#error "define the LANES_* macros before including hash_lanes_body.h"
#endif

#define LANES_BLOCK CAIRN_BLAKE2B_BLOCKBYTES

void LANES_FN(const struct cairn_blake2b_state *s, int n,
              const uint8_t *const p[], const int64_t len[],
              uint8_t *const out[])
{
	uint8_t pad[LANES][LANES_BLOCK];
	const uint8_t *lp[LANES], *src[LANES];
	int64_t nblk[LANES], common, most = 0;
	LANES_VEC h[8], t1;

	memset(pad, 0, sizeof pad);
	for (int i = 0; i < LANES; i++) {
		int j = i < n ? i : 0; /* an unused lane shadows lane 0 */
		lp[i] = p[j];
		nblk[i] = (len[j] + LANES_BLOCK - 1) / LANES_BLOCK;
		if (nblk[i] > most)
			most = nblk[i];
	}
	common = nblk[0];
	for (int i = 1; i < LANES; i++)
		if (nblk[i] < common)
			common = nblk[i];
	common--; /* blocks that are no lane's last */
	for (int k = 0; k < 8; k++)
		h[k] = LANES_SET1(s->h[k]);
	t1 = LANES_SET1(s->t[1]);

	/* The bulk: same counter, no final flag, in every lane. */
	for (int64_t b = 0; b < common; b++) {
		uint64_t t = s->t[0] + (uint64_t)(b + 1) * LANES_BLOCK;
		for (int i = 0; i < LANES; i++)
			src[i] = lp[i] + b * LANES_BLOCK;
		LANES_COMPRESS(h, src, LANES_SET1(t), t1, LANES_SET1(0));
	}

	/* The tail: each lane's last block, and whatever the longer lanes
	 * still have before theirs. */
	for (int64_t b = common; b < most; b++) {
		uint64_t t[LANES], f[LANES];
		for (int i = 0; i < LANES; i++) {
			int j = i < n ? i : 0;
			int64_t off = b * LANES_BLOCK;
			t[i] = s->t[0] + (uint64_t)(b + 1) * LANES_BLOCK;
			f[i] = 0;
			if (b >= nblk[i]) {
				src[i] = pad[i]; /* done: any readable block */
				continue;
			}
			src[i] = lp[i] + off;
			if (b == nblk[i] - 1) {
				/* BLAKE2b counts only the real bytes of the
				 * last block, and pads it with zeros. */
				t[i] = s->t[0] + (uint64_t)len[j];
				f[i] = ~(uint64_t)0;
				if (len[j] - off < LANES_BLOCK) {
					memcpy(pad[i], lp[i] + off,
					       (size_t)(len[j] - off));
					src[i] = pad[i];
				}
			}
		}
		LANES_COMPRESS(h, src, LANES_LOAD(t), t1, LANES_LOAD(f));
		for (int i = 0; i < n; i++)
			if (b == nblk[i] - 1)
				LANES_OUTPUT(h, i, s->outlen, out[i]);
	}
}

#undef LANES_BLOCK
