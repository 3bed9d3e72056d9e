/* cairn: internals shared by the files of attest/ (not a public header). */
#ifndef CAIRN_ATTEST_IMPL_H
#define CAIRN_ATTEST_IMPL_H

#include <stdint.h>

#include "cairn/attest.h"

/* Writes v as 8 little-endian bytes / 4 little-endian bytes. */
static inline void cairn__put_u64le(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void cairn__put_u32le(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* The root of a tree: H(root domain of tree || u64le bound || mth_hash),
 * where bound is the length the root commits to (bytes of a tensor, entries
 * of a trace). */
int cairn__merkle_bind(int tree, uint64_t bound,
		       const uint8_t mth_hash[CAIRN_HASH_BYTES],
		       uint8_t out[CAIRN_HASH_BYTES]);

#endif
