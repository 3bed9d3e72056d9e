/* cairn: Merkle trees of the RFC 6962 shape, audit paths and their check.
 *
 * A tree over n >= 1 leaf hashes: MTH of one leaf is the leaf itself;
 * otherwise, with k the largest power of two strictly below n,
 * MTH(D[0:n]) = H(node header || MTH(D[0:k]) || MTH(D[k:n])).
 * Leaf hashes are computed by the caller (tensor.c, state.c) with the
 * tree's leaf domain; this file only combines them.  Nothing here
 * allocates: the tree hash keeps a stack of at most 65 subtree hashes. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "attest_impl.h"
#include "cairn/attest.h"
#include "cairn/error.h"

/* The leaf, node and root domains of a tree; 0 when tree is unknown. */
static int node_domain(int tree)
{
	switch (tree) {
	case CAIRN_TREE_TENSOR:
		return CAIRN_DOM_TENSOR_NODE;
	case CAIRN_TREE_TRACE:
		return CAIRN_DOM_TRACE_NODE;
	default:
		return 0;
	}
}

static int root_domain(int tree)
{
	switch (tree) {
	case CAIRN_TREE_TENSOR:
		return CAIRN_DOM_TENSOR_ROOT;
	case CAIRN_TREE_TRACE:
		return CAIRN_DOM_TRACE_ROOT;
	default:
		return 0;
	}
}

/* out = H(node header || left || right); out may alias left or right. */
static int node_hash(int dom, const uint8_t *left, const uint8_t *right,
                     uint8_t *out)
{
	uint8_t lr[2 * CAIRN_HASH_BYTES];
	memcpy(lr, left, CAIRN_HASH_BYTES);
	memcpy(lr + CAIRN_HASH_BYTES, right, CAIRN_HASH_BYTES);
	return cairn_hash_domain(dom, lr, sizeof lr, out);
}

/* The largest power of two strictly below n (n >= 2). */
static uint64_t split_point(uint64_t n)
{
	return (uint64_t)1 << (63 - __builtin_clzll(n - 1));
}

/* MTH over n >= 1 leaves, left to right: perfect subtrees are merged as
 * soon as two of the same size meet; what is left (one subtree per set bit
 * of n, largest first) is folded from the right, which is exactly the
 * RFC 6962 split at the largest power of two. */
static int mth(int dom, const uint8_t *leaves, uint64_t n, uint8_t *out)
{
	uint8_t stack[CAIRN_MERKLE_MAX_PATH + 1][CAIRN_HASH_BYTES];
	uint64_t size[CAIRN_MERKLE_MAX_PATH + 1];
	int top = 0, rc;
	for (uint64_t i = 0; i < n; i++) {
		memcpy(stack[top], leaves + i * CAIRN_HASH_BYTES,
		       CAIRN_HASH_BYTES);
		size[top++] = 1;
		while (top >= 2 && size[top - 2] == size[top - 1]) {
			rc = node_hash(dom, stack[top - 2], stack[top - 1],
			               stack[top - 2]);
			if (rc)
				return rc;
			size[top - 2] *= 2;
			top--;
		}
	}
	while (top >= 2) {
		rc = node_hash(dom, stack[top - 2], stack[top - 1],
		               stack[top - 2]);
		if (rc)
			return rc;
		top--;
	}
	memcpy(out, stack[0], CAIRN_HASH_BYTES);
	return 0;
}

int cairn_merkle_mth(int tree, const uint8_t *leaves, uint64_t n,
                     uint8_t out[CAIRN_HASH_BYTES])
{
	int dom = node_domain(tree);
	if (!dom || !leaves || n == 0 || !out)
		return CAIRN_EINVAL;
	return mth(dom, leaves, n, out);
}

int cairn_merkle_prove(int tree, const uint8_t *leaves, uint64_t n,
                       uint64_t index, struct cairn_merkle_path *path)
{
	int dom = node_domain(tree), rc;
	uint64_t lo = 0, size = n, m = index;
	uint32_t len = 0;
	/* Siblings top-down, reversed at the end into RFC 6962 order. */
	uint8_t sib[CAIRN_MERKLE_MAX_PATH][CAIRN_HASH_BYTES];
	if (!dom || !leaves || n == 0 || index >= n || !path)
		return CAIRN_EINVAL;
	while (size > 1) {
		uint64_t k = split_point(size);
		if (m < k) {
			rc = mth(dom, leaves + (lo + k) * CAIRN_HASH_BYTES,
			         size - k, sib[len]);
			size = k;
		} else {
			rc = mth(dom, leaves + lo * CAIRN_HASH_BYTES, k,
			         sib[len]);
			lo += k;
			m -= k;
			size -= k;
		}
		if (rc)
			return rc;
		len++;
	}
	path->len = len;
	for (uint32_t i = 0; i < len; i++)
		memcpy(path->hash[i], sib[len - 1 - i], CAIRN_HASH_BYTES);
	return 0;
}

int cairn_merkle_path_mth(int tree, const uint8_t leaf[CAIRN_HASH_BYTES],
                          uint64_t index, uint64_t n,
                          const struct cairn_merkle_path *path,
                          uint8_t out[CAIRN_HASH_BYTES])
{
	int dom = node_domain(tree), rc;
	uint64_t fn = index, sn;
	uint8_t r[CAIRN_HASH_BYTES];
	if (!dom || !leaf || !path || !out || n == 0 || index >= n)
		return CAIRN_EINVAL;
	if (path->len > CAIRN_MERKLE_MAX_PATH)
		return CAIRN_ECRYPTO;
	sn = n - 1;
	memcpy(r, leaf, sizeof r);
	for (uint32_t i = 0; i < path->len; i++) {
		if (sn == 0)
			return CAIRN_ECRYPTO; /* path too long */
		if ((fn & 1) || fn == sn) {
			rc = node_hash(dom, path->hash[i], r, r);
			if (rc)
				return rc;
			while (!(fn & 1) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			rc = node_hash(dom, r, path->hash[i], r);
			if (rc)
				return rc;
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0)
		return CAIRN_ECRYPTO; /* path too short */
	memcpy(out, r, sizeof r);
	return 0;
}

int cairn__merkle_bind(int tree, uint64_t bound,
                       const uint8_t mth_hash[CAIRN_HASH_BYTES],
                       uint8_t out[CAIRN_HASH_BYTES])
{
	int dom = root_domain(tree);
	uint8_t buf[8 + CAIRN_HASH_BYTES];
	if (!dom || !mth_hash || !out)
		return CAIRN_EINVAL;
	cairn__put_u64le(buf, bound);
	memcpy(buf + 8, mth_hash, CAIRN_HASH_BYTES);
	return cairn_hash_domain(dom, buf, sizeof buf, out);
}
