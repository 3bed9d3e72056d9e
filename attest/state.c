/* cairn: state roots, sample digests and trace roots.
 *
 * A state root commits to the training state after step t; a trace root
 * commits to the state roots at t = 0, c, 2c, ..., H with a Merkle tree of
 * the tensor tree's shape but its own leaf, node and root domains:
 *   leaf = H(TRACE_LEAF header || state root)
 *   root = H(TRACE_ROOT header || u64le n || MTH(leaves)). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "attest_impl.h"
#include "cairn/attest.h"
#include "cairn/error.h"

int cairn_samples_digest(const uint32_t *idx, uint64_t n,
                         uint8_t out[CAIRN_HASH_BYTES])
{
	struct cairn_hash_ctx ctx;
	uint8_t buf[1024];
	uint64_t i = 0;
	int rc;
	if ((!idx && n) || !out)
		return CAIRN_EINVAL;
	rc = cairn_hash_init(&ctx, CAIRN_DOM_SAMPLES);
	if (rc)
		goto out;
	cairn__put_u64le(buf, n);
	rc = cairn_hash_update(&ctx, buf, 8);
	if (rc)
		goto out;
	while (i < n) {
		size_t k = 0;
		for (; k < sizeof buf / 4 && i < n; k++, i++)
			cairn__put_u32le(buf + 4 * k, idx[i]);
		rc = cairn_hash_update(&ctx, buf, 4 * k);
		if (rc)
			goto out;
	}
	rc = cairn_hash_final(&ctx, out);
out:
	sodium_memzero(&ctx, sizeof ctx);
	return rc;
}

int cairn_state_encode(const struct cairn_state *s,
                       uint8_t out[CAIRN_STATE_BYTES])
{
	if (!s || !out)
		return CAIRN_EINVAL;
	cairn__put_u64le(out, s->step);
	memcpy(out + 8, s->params, CAIRN_HASH_BYTES);
	memcpy(out + 40, s->m, CAIRN_HASH_BYTES);
	memcpy(out + 72, s->v, CAIRN_HASH_BYTES);
	memcpy(out + 104, s->samples, CAIRN_HASH_BYTES);
	cairn__put_u32le(out + 136, s->loss_bits);
	return 0;
}

int cairn_state_root(const struct cairn_state *s, uint8_t out[CAIRN_HASH_BYTES])
{
	uint8_t enc[CAIRN_STATE_BYTES];
	int rc;
	if (!s || !out)
		return CAIRN_EINVAL;
	rc = cairn_state_encode(s, enc);
	if (rc)
		return rc;
	return cairn_hash_domain(CAIRN_DOM_STATE, enc, sizeof enc, out);
}

int cairn_trace_leaf(const uint8_t state_root[CAIRN_HASH_BYTES],
                     uint8_t out[CAIRN_HASH_BYTES])
{
	if (!state_root || !out)
		return CAIRN_EINVAL;
	return cairn_hash_domain(CAIRN_DOM_TRACE_LEAF, state_root,
	                         CAIRN_HASH_BYTES, out);
}

/* Allocates the n trace leaves of state_roots into *leaves; the caller
 * frees *leaves (NULL on failure). */
static int trace_leaves(const uint8_t *state_roots, uint64_t n,
                        uint8_t **leaves)
{
	uint8_t *l = NULL;
	int rc = 0;
	*leaves = NULL;
	if (n > SIZE_MAX / CAIRN_HASH_BYTES)
		return CAIRN_ENOMEM;
	l = malloc((size_t)n * CAIRN_HASH_BYTES);
	if (!l)
		return CAIRN_ENOMEM;
	for (uint64_t i = 0; i < n; i++) {
		rc = cairn_trace_leaf(state_roots + i * CAIRN_HASH_BYTES,
		                      l + i * CAIRN_HASH_BYTES);
		if (rc)
			goto out;
	}
out:
	if (rc)
		free(l);
	else
		*leaves = l;
	return rc;
}

int cairn_trace_root(const uint8_t *state_roots, uint64_t n,
                     uint8_t out[CAIRN_HASH_BYTES])
{
	uint8_t *leaves = NULL, tree[CAIRN_HASH_BYTES];
	int rc;
	if (!state_roots || n == 0 || !out)
		return CAIRN_EINVAL;
	rc = trace_leaves(state_roots, n, &leaves);
	if (rc)
		goto out;
	rc = cairn_merkle_mth(CAIRN_TREE_TRACE, leaves, n, tree);
	if (rc)
		goto out;
	rc = cairn__merkle_bind(CAIRN_TREE_TRACE, n, tree, out);
out:
	free(leaves);
	return rc;
}

int cairn_trace_prove(const uint8_t *state_roots, uint64_t n, uint64_t index,
                      struct cairn_merkle_path *path)
{
	uint8_t *leaves = NULL;
	int rc;
	if (!state_roots || n == 0 || index >= n || !path)
		return CAIRN_EINVAL;
	rc = trace_leaves(state_roots, n, &leaves);
	if (rc)
		goto out;
	rc = cairn_merkle_prove(CAIRN_TREE_TRACE, leaves, n, index, path);
out:
	free(leaves);
	return rc;
}

int cairn_trace_verify(const uint8_t trace_root[CAIRN_HASH_BYTES], uint64_t n,
                       uint64_t index,
                       const uint8_t state_root[CAIRN_HASH_BYTES],
                       const struct cairn_merkle_path *path)
{
	uint8_t leaf[CAIRN_HASH_BYTES], tree[CAIRN_HASH_BYTES];
	uint8_t got[CAIRN_HASH_BYTES];
	int rc;
	if (!trace_root || !state_root || !path || n == 0 || index >= n)
		return CAIRN_EINVAL;
	rc = cairn_trace_leaf(state_root, leaf);
	if (rc)
		return rc;
	rc =
	    cairn_merkle_path_mth(CAIRN_TREE_TRACE, leaf, index, n, path, tree);
	if (rc)
		return rc;
	rc = cairn__merkle_bind(CAIRN_TREE_TRACE, n, tree, got);
	if (rc)
		return rc;
	return cairn_hash_equal(got, trace_root) ? 0 : CAIRN_ECRYPTO;
}

/* ---- step logs (include/cairn/attest.h; docs/commitments.md 16) -------- */

int cairn_step_record(const uint8_t samples[CAIRN_HASH_BYTES],
                      uint32_t loss_bits, uint8_t out[CAIRN_STEP_RECORD_BYTES])
{
	if (!samples || !out)
		return CAIRN_EINVAL;
	memcpy(out, samples, CAIRN_HASH_BYTES);
	cairn__put_u32le(out + CAIRN_HASH_BYTES, loss_bits);
	return 0;
}

int cairn_step_log_segment(uint32_t first, const uint8_t *records,
                           uint32_t count, uint8_t out[CAIRN_HASH_BYTES])
{
	struct cairn_hash_ctx ctx;
	uint8_t head[8];
	int rc;
	if (!records || !out || first == 0 || count == 0)
		return CAIRN_EINVAL;
	cairn__put_u32le(head, first);
	cairn__put_u32le(head + 4, count);
	rc = cairn_hash_init(&ctx, CAIRN_DOM_STEP_LOG);
	if (!rc)
		rc = cairn_hash_update(&ctx, head, sizeof head);
	if (!rc)
		rc = cairn_hash_update(&ctx, records,
		                       (size_t)count * CAIRN_STEP_RECORD_BYTES);
	if (!rc)
		rc = cairn_hash_final(&ctx, out);
	return rc;
}

int cairn_step_log_root(const uint8_t *records, uint32_t nseg, uint32_t c,
                        uint8_t out[CAIRN_HASH_BYTES])
{
	struct cairn_hash_ctx ctx;
	uint8_t head[8], d[CAIRN_HASH_BYTES];
	int rc;
	if (!records || !out || nseg == 0 || c == 0 ||
	    (uint64_t)nseg * c > UINT32_MAX)
		return CAIRN_EINVAL;
	cairn__put_u32le(head, nseg);
	cairn__put_u32le(head + 4, c);
	rc = cairn_hash_init(&ctx, CAIRN_DOM_STEP_ROOT);
	if (!rc)
		rc = cairn_hash_update(&ctx, head, sizeof head);
	for (uint32_t i = 0; !rc && i < nseg; i++) {
		rc = cairn_step_log_segment(
		    i * c + 1,
		    records + (size_t)i * c * CAIRN_STEP_RECORD_BYTES, c, d);
		if (!rc)
			rc = cairn_hash_update(&ctx, d, sizeof d);
	}
	if (!rc)
		rc = cairn_hash_final(&ctx, out);
	return rc;
}
