/* cairn: tensor roots.
 *
 * A tensor's little-endian bytes are cut into 64 KiB chunks (the last one
 * shorter; the empty tensor is one empty chunk).  Each chunk is a leaf,
 * H(TENSOR_LEAF header || chunk); the root binds the byte length to the
 * tree hash of the leaves:
 *   root = H(TENSOR_ROOT header || u64le total_bytes || MTH(leaves)).
 * The length fixes the number of leaves and the length of the last one, so
 * two tensors of different lengths never share a root, and a proof for one
 * tree size cannot pass as a proof for another. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attest_impl.h"
#include "cairn/attest.h"
#include "cairn/error.h"

uint64_t cairn_tensor_leaf_count(uint64_t total_bytes)
{
	uint64_t n = total_bytes / CAIRN_TENSOR_CHUNK_BYTES +
	             (total_bytes % CAIRN_TENSOR_CHUNK_BYTES != 0);
	return n ? n : 1;
}

/* The length chunk index of a tensor of total_bytes must have. */
static uint64_t chunk_len(uint64_t total_bytes, uint64_t index)
{
	uint64_t off = index * (uint64_t)CAIRN_TENSOR_CHUNK_BYTES;
	uint64_t rest = total_bytes - off;
	return rest < CAIRN_TENSOR_CHUNK_BYTES ? rest
	                                       : CAIRN_TENSOR_CHUNK_BYTES;
}

int cairn_tensor_leaf(const void *chunk, size_t len,
                      uint8_t out[CAIRN_HASH_BYTES])
{
	if ((!chunk && len) || len > CAIRN_TENSOR_CHUNK_BYTES || !out)
		return CAIRN_EINVAL;
	return cairn_hash_domain(CAIRN_DOM_TENSOR_LEAF, chunk, len, out);
}

int cairn_tensor_leaves(const void *bytes, size_t len, uint8_t *leaves)
{
	const uint8_t *p = bytes;
	uint64_t n = cairn_tensor_leaf_count(len);
	if ((!bytes && len) || !leaves)
		return CAIRN_EINVAL;
	for (uint64_t i = 0; i < n; i++) {
		/* No arithmetic on a NULL p (the empty tensor). */
		const uint8_t *c = len ? p + i * CAIRN_TENSOR_CHUNK_BYTES : p;
		int rc = cairn_tensor_leaf(c, (size_t)chunk_len(len, i),
		                           leaves + i * CAIRN_HASH_BYTES);
		if (rc)
			return rc;
	}
	return 0;
}

int cairn_tensor_root_from_leaves(const uint8_t *leaves, uint64_t nleaves,
                                  uint64_t total_bytes,
                                  uint8_t out[CAIRN_HASH_BYTES])
{
	uint8_t tree[CAIRN_HASH_BYTES];
	int rc;
	if (!leaves || !out || nleaves != cairn_tensor_leaf_count(total_bytes))
		return CAIRN_EINVAL;
	rc = cairn_merkle_mth(CAIRN_TREE_TENSOR, leaves, nleaves, tree);
	if (rc)
		return rc;
	return cairn__merkle_bind(CAIRN_TREE_TENSOR, total_bytes, tree, out);
}

/* The leaf hashes live in a temporary buffer owned and freed here (32 bytes
 * per 64 KiB of tensor). */
int cairn_tensor_root(const void *bytes, size_t len,
                      uint8_t out[CAIRN_HASH_BYTES])
{
	uint64_t n = cairn_tensor_leaf_count(len);
	uint8_t *leaves = NULL;
	int rc;
	if ((!bytes && len) || !out)
		return CAIRN_EINVAL;
	leaves = malloc((size_t)n * CAIRN_HASH_BYTES);
	if (!leaves) {
		rc = CAIRN_ENOMEM;
		goto out;
	}
	rc = cairn_tensor_leaves(bytes, len, leaves);
	if (rc)
		goto out;
	rc = cairn_tensor_root_from_leaves(leaves, n, len, out);
out:
	free(leaves);
	return rc;
}

int cairn_tensor_prove(const uint8_t *leaves, uint64_t nleaves, uint64_t index,
                       struct cairn_merkle_path *path)
{
	return cairn_merkle_prove(CAIRN_TREE_TENSOR, leaves, nleaves, index,
	                          path);
}

int cairn_tensor_verify(const uint8_t root[CAIRN_HASH_BYTES],
                        uint64_t total_bytes, uint64_t index,
                        const uint8_t leaf[CAIRN_HASH_BYTES],
                        const struct cairn_merkle_path *path)
{
	uint64_t n = cairn_tensor_leaf_count(total_bytes);
	uint8_t tree[CAIRN_HASH_BYTES], got[CAIRN_HASH_BYTES];
	int rc;
	if (!root || !leaf || !path || index >= n)
		return CAIRN_EINVAL;
	rc = cairn_merkle_path_mth(CAIRN_TREE_TENSOR, leaf, index, n, path,
	                           tree);
	if (rc)
		return rc;
	rc = cairn__merkle_bind(CAIRN_TREE_TENSOR, total_bytes, tree, got);
	if (rc)
		return rc;
	return cairn_hash_equal(got, root) ? 0 : CAIRN_ECRYPTO;
}

int cairn_tensor_verify_chunk(const uint8_t root[CAIRN_HASH_BYTES],
                              uint64_t total_bytes, uint64_t index,
                              const void *chunk, size_t len,
                              const struct cairn_merkle_path *path)
{
	uint8_t leaf[CAIRN_HASH_BYTES];
	int rc;
	if (!root || (!chunk && len) || !path ||
	    index >= cairn_tensor_leaf_count(total_bytes))
		return CAIRN_EINVAL;
	if (len != chunk_len(total_bytes, index))
		return CAIRN_ECRYPTO;
	rc = cairn_tensor_leaf(chunk, len, leaf);
	if (rc)
		return rc;
	return cairn_tensor_verify(root, total_bytes, index, leaf, path);
}

/* The zero root last computed on this thread, for its length: a run
 * asks for the same one at every checkpoint. */
static _Thread_local struct {
	int valid;
	size_t len;
	uint8_t root[CAIRN_HASH_BYTES];
} zero_memo;

int cairn_tensor_zero_root(size_t len, uint8_t out[CAIRN_HASH_BYTES])
{
	const size_t chunk = CAIRN_TENSOR_CHUNK_BYTES;
	uint64_t n = cairn_tensor_leaf_count(len);
	uint8_t full[CAIRN_HASH_BYTES], tail[CAIRN_HASH_BYTES];
	size_t last = len - (size_t)(n - 1) * chunk; /* 0 for no bytes */
	uint8_t *zero = NULL, *leaves = NULL;        /* owned here */
	int rc = CAIRN_ENOMEM;

	if (!out || n > SIZE_MAX / CAIRN_HASH_BYTES)
		return CAIRN_EINVAL;
	if (zero_memo.valid && zero_memo.len == len) {
		memcpy(out, zero_memo.root, CAIRN_HASH_BYTES);
		return 0;
	}
	zero = calloc(1, chunk);
	leaves = malloc((size_t)n * CAIRN_HASH_BYTES);
	if (!zero || !leaves)
		goto out;
	rc = cairn_tensor_leaf(zero, chunk, full);
	if (!rc)
		rc = cairn_tensor_leaf(zero, last, tail);
	if (rc)
		goto out;
	for (uint64_t j = 0; j < n; j++)
		memcpy(leaves + j * CAIRN_HASH_BYTES, j + 1 < n ? full : tail,
		       CAIRN_HASH_BYTES);
	rc = cairn_tensor_root_from_leaves(leaves, n, len, out);
	if (!rc) {
		zero_memo.len = len;
		memcpy(zero_memo.root, out, CAIRN_HASH_BYTES);
		zero_memo.valid = 1;
	}
out:
	free(zero);
	free(leaves);
	return rc;
}

int cairn__tensor_leaves_start(cairn_backend *be, const void *data, size_t len,
                               void *dleaves)
{
	uint8_t hdr[CAIRN_DOMAIN_HEADER_BYTES];
	int rc;

	if (!be || (!data && len) || !dleaves || len > INT64_MAX)
		return CAIRN_EINVAL;
	rc = cairn_domain_header(CAIRN_DOM_TENSOR_LEAF, hdr);
	if (rc)
		return rc;
	return cairn_hash_chunks(be, data, (int64_t)len,
	                         CAIRN_TENSOR_CHUNK_BYTES, hdr, dleaves);
}

int cairn__tensor_root_finish(cairn_backend *be, const void *dleaves,
                              size_t len, uint8_t *leaves,
                              uint8_t out[CAIRN_HASH_BYTES])
{
	uint64_t n = cairn_tensor_leaf_count(len);
	int rc = cairn_buf_read(be, leaves, dleaves, n * CAIRN_HASH_BYTES);

	return rc ? rc : cairn_tensor_root_from_leaves(leaves, n, len, out);
}

int cairn_tensor_root_on(cairn_backend *be, const void *data, size_t len,
                         uint8_t out[CAIRN_HASH_BYTES])
{
	uint64_t n = cairn_tensor_leaf_count(len);
	uint8_t *leaves = NULL; /* host copy, owned here */
	void *dleaves = NULL;   /* backend memory, owned here */
	int rc;

	if (!be || (!data && len) || !out || len > INT64_MAX)
		return CAIRN_EINVAL;
	leaves = malloc(n * CAIRN_HASH_BYTES);
	if (!leaves)
		return CAIRN_ENOMEM;
	rc = cairn_buf_alloc(be, n * CAIRN_HASH_BYTES, &dleaves);
	if (!rc)
		rc = cairn__tensor_leaves_start(be, data, len, dleaves);
	if (!rc)
		rc = cairn__tensor_root_finish(be, dleaves, len, leaves, out);
	if (dleaves)
		cairn_buf_free(be, dleaves);
	free(leaves);
	return rc;
}
