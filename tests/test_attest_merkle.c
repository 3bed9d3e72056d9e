/* cairn: tensor roots and Merkle audit paths (attest/tensor.c,
 * attest/merkle.c; docs/commitments.md).
 *
 * - tensor roots recomputed by hand from libsodium's BLAKE2b and the
 *   byte-level format of docs/commitments.md (headers written out in
 *   attest_fixture.h, not taken from attest.h), so the code, the doc and
 *   this test agree; trees written out by hand for small sizes and against
 *   RFC 6962's recursive MTH up to 70 leaves; roots from leaves, leaves on
 *   every backend (cairn_hash_chunks), and every length its own root;
 * - audit paths of every leaf of tensor and trace trees of 1..33 leaves,
 *   and tampered paths; chunks checked on arrival.
 *
 * Inputs are fresh random bytes each run (seed printed; set
 * CAIRN_TEST_SEED=0x... to replay). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "attest_fixture.h"

/* The tensor root of docs/commitments.md, from H and the MTH written out
 * in attest_fixture.h. */
static void ref_tensor_root(const uint8_t *b, uint64_t len, uint8_t out[HB])
{
	uint64_t n = len ? (len + CHUNK - 1) / CHUNK : 1;
	uint8_t *leaves = cairn_test_xmalloc(n * HB), tree[HB], lenb[8];
	for (uint64_t i = 0; i < n; i++) {
		uint64_t cl = len - i * CHUNK < CHUNK ? len - i * CHUNK : CHUNK;
		hh(T_LEAF, len ? b + i * CHUNK : NULL, cl, NULL, 0,
		   leaves + i * HB);
	}
	ref_mth(T_NODE, leaves, n, tree);
	u64le(lenb, len);
	hh(T_ROOT, lenb, 8, tree, HB, out);
	free(leaves);
}

/* ---- tensor roots ----------------------------------------------------- */

/* The tree part written out for small n (l[i] = leaf i, N = node):
 * checks the RFC 6962 shape itself, not just two implementations of it. */
static void by_hand_mth(const uint8_t (*l)[HB], int n, uint8_t out[HB])
{
	uint8_t a[HB], b[HB], c[HB], d[HB], e[HB];
	switch (n) {
	case 1:
		memcpy(out, l[0], HB);
		break;
	case 2:
		node(T_NODE, l[0], l[1], out);
		break;
	case 3: /* N(N(0,1), 2) */
		node(T_NODE, l[0], l[1], a);
		node(T_NODE, a, l[2], out);
		break;
	case 4: /* N(N(0,1), N(2,3)) */
		node(T_NODE, l[0], l[1], a);
		node(T_NODE, l[2], l[3], b);
		node(T_NODE, a, b, out);
		break;
	case 5: /* N(N(N(0,1),N(2,3)), 4) */
		node(T_NODE, l[0], l[1], a);
		node(T_NODE, l[2], l[3], b);
		node(T_NODE, a, b, c);
		node(T_NODE, c, l[4], out);
		break;
	case 7: /* N(N(N(0,1),N(2,3)), N(N(4,5), 6)) */
		node(T_NODE, l[0], l[1], a);
		node(T_NODE, l[2], l[3], b);
		node(T_NODE, a, b, c);
		node(T_NODE, l[4], l[5], d);
		node(T_NODE, d, l[6], e);
		node(T_NODE, c, e, out);
		break;
	case 8:
	case 9: /* 8: N(N(N01,N23), N(N45,N67)); 9: N(that, 8) */
		node(T_NODE, l[0], l[1], a);
		node(T_NODE, l[2], l[3], b);
		node(T_NODE, a, b, c);
		node(T_NODE, l[4], l[5], a);
		node(T_NODE, l[6], l[7], b);
		node(T_NODE, a, b, d);
		node(T_NODE, c, d, e);
		if (n == 8)
			memcpy(out, e, HB);
		else
			node(T_NODE, e, l[8], out);
		break;
	default:
		fail_msg("no by-hand tree for %d leaves", n);
	}
}

static void test_tensor_structure(void **state)
{
	static const int ns[] = {1, 2, 3, 4, 5, 7, 8, 9};
	uint8_t(*l)[HB] = cairn_test_xmalloc(9 * HB);
	uint8_t *bytes = cairn_test_xmalloc(9 * CHUNK);
	uint8_t tree[HB], want[HB], got[HB], ref[HB], lenb[8];
	for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
		int n = ns[k];
		/* Last chunk full or partial (1..64K bytes). */
		uint64_t tail = rnd() % 2 ? CHUNK : 1 + rnd() % CHUNK;
		uint64_t len = (uint64_t)(n - 1) * CHUNK + tail;
		fill(bytes, len);
		assert_int_equal(cairn_tensor_leaf_count(len), n);
		for (int i = 0; i < n; i++)
			hh(T_LEAF, bytes + (uint64_t)i * CHUNK,
			   i == n - 1 ? tail : CHUNK, NULL, 0, l[i]);
		by_hand_mth((const uint8_t(*)[HB])l, n, tree);
		u64le(lenb, len);
		hh(T_ROOT, lenb, 8, tree, HB, want);
		assert_int_equal(cairn_tensor_root(bytes, len, got), 0);
		EXPECT_SAME(got, want, HB, "tensor root vs by-hand tree");
		ref_tensor_root(bytes, len, ref);
		EXPECT_SAME(got, ref, HB, "tensor root vs recursive MTH");
		assert_int_equal(
		    cairn_merkle_mth(CAIRN_TREE_TENSOR, l[0], (uint64_t)n, got),
		    0);
		EXPECT_SAME(got, tree, HB, "cairn_merkle_mth");
	}
	/* Larger trees against the recursive MTH. */
	for (uint64_t n = 1; n <= 70; n++) {
		uint8_t *lv = cairn_test_xmalloc(n * HB);
		fill(lv, n * HB);
		ref_mth(T_NODE, lv, n, want);
		assert_int_equal(
		    cairn_merkle_mth(CAIRN_TREE_TENSOR, lv, n, got), 0);
		EXPECT_SAME(got, want, HB, "MTH vs recursive MTH");
		ref_mth(T_TNODE, lv, n, want);
		assert_int_equal(cairn_merkle_mth(CAIRN_TREE_TRACE, lv, n, got),
		                 0);
		EXPECT_SAME(got, want, HB, "trace MTH vs recursive MTH");
		free(lv);
	}
	assert_int_equal(cairn_merkle_mth(CAIRN_TREE_TENSOR, l[0], 0, got),
	                 CAIRN_EINVAL);
	assert_int_equal(cairn_merkle_mth(7, l[0], 1, got), CAIRN_EINVAL);
	free(l);
	free(bytes);
	(void)state;
}

static void test_tensor_from_leaves(void **state)
{
	uint8_t *bytes = cairn_test_xmalloc(5 * CHUNK), a[HB], b[HB];
	int rc;
	for (int t = 0; t < 30; t++) {
		uint64_t len = t == 0 ? 0 : rnd() % (5 * CHUNK);
		uint64_t n = cairn_tensor_leaf_count(len);
		uint8_t *leaves = cairn_test_xmalloc(n * HB),
		        *dev = cairn_test_xmalloc(n * HB);
		fill(bytes, len);
		assert_int_equal(cairn_tensor_leaves(bytes, len, leaves), 0);
		/* The leaves as blake2b.h (the device) computes them. */
		{
			uint8_t hdr[CAIRN_DOMAIN_HEADER_BYTES];
			struct cairn_blake2b_state p, s;
			cairn_domain_header(CAIRN_DOM_TENSOR_LEAF, hdr);
			cairn_blake2b_init(&p, 32);
			cairn_blake2b_update(&p, hdr, sizeof hdr);
			for (uint64_t i = 0; i < n; i++) {
				uint64_t cl = len - i * CHUNK;
				s = p;
				cairn_blake2b_update(&s, bytes + i * CHUNK,
				                     cl < CHUNK ? cl : CHUNK);
				cairn_blake2b_final(&s, dev + i * HB);
			}
		}
		EXPECT_SAME(leaves, dev, n * HB, "leaves: host vs blake2b.h");
		assert_int_equal(cairn_tensor_root(bytes, len, a), 0);
		rc = cairn_tensor_root_from_leaves(dev, n, len, b);
		assert_int_equal(rc, 0);
		EXPECT_SAME(a, b, HB, "root from leaves vs root from bytes");
		rc = cairn_tensor_root_from_leaves(dev, n + 1, len, b);
		assert_int_equal(rc, CAIRN_EINVAL);
		if (n > 1) {
			rc = cairn_tensor_root_from_leaves(dev, n - 1, len, b);
			assert_int_equal(rc, CAIRN_EINVAL);
		}
		free(leaves);
		free(dev);
	}
	free(bytes);
	(void)state;
}

/* The leaves as a backend computes them (cairn_hash_chunks with the leaf
 * domain header, 64 KiB chunks; the op itself knows no domains) equal
 * cairn_tensor_leaf of each chunk, and give cairn_tensor_root's root. */
static void test_tensor_leaves_on_backend(void **state)
{
	static const uint64_t lens[] = {
	    0, 1, 127, 128, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 5};
	static const cairn_backend_kind kinds[] = {
	    CAIRN_BACKEND_REF, CAIRN_BACKEND_CPU, CAIRN_BACKEND_CUDA};
	uint8_t hdr[CAIRN_DOMAIN_HEADER_BYTES], a[HB], b[HB], want[HB];
	uint8_t *bytes = cairn_test_xmalloc(3 * CHUNK + 5);

	assert_int_equal(CAIRN_DOMAIN_HEADER_BYTES,
	                 CAIRN_HASH_CHUNKS_HEADER_BYTES);
	assert_int_equal(cairn_domain_header(CAIRN_DOM_TENSOR_LEAF, hdr), 0);
	for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
		cairn_backend *be = NULL;
		char why[128];
		if (kinds[k] == CAIRN_BACKEND_CUDA &&
		    cairn_cuda_probe(why, sizeof why) <= 0)
			continue; /* no GPU: test_kernels_hash --backend cuda */
		assert_int_equal(cairn_backend_open(kinds[k], NULL, &be), 0);
		for (size_t t = 0; t < sizeof lens / sizeof lens[0]; t++) {
			uint64_t len = lens[t];
			uint64_t n = cairn_tensor_leaf_count(len);
			uint8_t *leaves = cairn_test_xmalloc(n * HB);
			void *dd = NULL, *dl = NULL;
			fill(bytes, len);
			assert_int_equal(
			    cairn_buf_alloc(be, len ? len : 1, &dd), 0);
			assert_int_equal(cairn_buf_alloc(be, n * HB, &dl), 0);
			assert_int_equal(cairn_buf_write(be, dd, bytes, len),
			                 0);
			assert_int_equal(cairn_hash_chunks(be, dd, (int64_t)len,
			                                   CHUNK, hdr, dl),
			                 0);
			assert_int_equal(cairn_buf_read(be, leaves, dl, n * HB),
			                 0);
			for (uint64_t i = 0; i < n; i++) {
				uint64_t cl = len - i * CHUNK;
				assert_int_equal(
				    cairn_tensor_leaf(bytes + i * CHUNK,
				                      cl < CHUNK ? cl : CHUNK,
				                      want),
				    0);
				EXPECT_SAME(leaves + i * HB, want, HB,
				            "hash_chunks leaf vs tensor_leaf");
			}
			assert_int_equal(cairn_tensor_root(bytes, len, a), 0);
			assert_int_equal(
			    cairn_tensor_root_from_leaves(leaves, n, len, b),
			    0);
			EXPECT_SAME(a, b, HB,
			            "root from hash_chunks leaves vs root");
			cairn_buf_free(be, dd);
			cairn_buf_free(be, dl);
			free(leaves);
		}
		cairn_backend_close(be);
	}
	free(bytes);
	(void)state;
}

/* cairn_tensor_zero_root equals cairn_tensor_root of the same number of
 * zero bytes (the +0 tensors' root that the commit paths take without
 * hashing; also when remembered from the call before),
 * including the reference model's length, and differs from a tensor with
 * one non-zero byte or one byte more. */
static void test_tensor_zero_root(void **state)
{
	static const uint64_t lens[] = {
	    0, 1, 127, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 1863690 * 4};
	uint8_t *zeros = calloc(1, 1863690 * 4 + 1), a[HB], b[HB], c[HB];

	assert_non_null(zeros);
	for (size_t t = 0; t < sizeof lens / sizeof lens[0]; t++) {
		uint64_t len = lens[t];
		assert_int_equal(cairn_tensor_root(zeros, len, a), 0);
		assert_int_equal(cairn_tensor_zero_root(len, b), 0);
		EXPECT_SAME(a, b, HB, "zero root vs root of zero bytes");
		/* again: the remembered root, and after another length's */
		assert_int_equal(cairn_tensor_zero_root(len, b), 0);
		EXPECT_SAME(a, b, HB, "zero root, remembered");
		assert_int_equal(cairn_tensor_zero_root(len + 1, c), 0);
		assert_int_equal(cairn_tensor_zero_root(len, b), 0);
		EXPECT_SAME(a, b, HB, "zero root after another length's");
		assert_memory_not_equal(b, c, HB);
		assert_int_equal(cairn_tensor_root(zeros, len + 1, a), 0);
		EXPECT_SAME(a, c, HB, "zero root of the other length");
		assert_memory_not_equal(b, a, HB);
		if (len) {
			zeros[len - 1] = 0x80; /* -0.0f's top byte */
			assert_int_equal(cairn_tensor_root(zeros, len, c), 0);
			assert_memory_not_equal(b, c, HB);
			zeros[len - 1] = 0;
		}
	}
	assert_int_equal(cairn_tensor_zero_root(1, NULL), CAIRN_EINVAL);
	free(zeros);
	(void)state;
}

static void test_tensor_distinct(void **state)
{
	enum { LEN = 3 * 65536 + 100 };
	uint8_t *b = cairn_test_xmalloc(LEN + 1), r0[HB], r1[HB], want[HB];
	uint8_t zero = 0, lenb[8], leaf[HB];
	fill(b, LEN + 1);
	/* Every prefix length near chunk boundaries gives its own root. */
	static const uint64_t lens[] = {
	    0, 1, 2, 65535, 65536, 65537, 131071, 131072, 131073, LEN - 1, LEN};
	uint8_t roots[sizeof lens / sizeof lens[0]][HB];
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		assert_int_equal(cairn_tensor_root(b, lens[i], roots[i]), 0);
		for (size_t j = 0; j < i; j++)
			assert_memory_not_equal(roots[i], roots[j], HB);
	}
	/* Trailing zero bytes are not the same tensor. */
	memset(b, 0, 65537);
	cairn_tensor_root(b, 65536, r0);
	cairn_tensor_root(b, 65537, r1);
	assert_memory_not_equal(r0, r1, HB);
	/* One flipped bit anywhere changes the root. */
	fill(b, LEN);
	cairn_tensor_root(b, LEN, r0);
	for (int t = 0; t < 20; t++) {
		uint64_t pos = rnd() % LEN;
		uint8_t bit = (uint8_t)(1u << (rnd() % 8));
		b[pos] ^= bit;
		cairn_tensor_root(b, LEN, r1);
		assert_memory_not_equal(r0, r1, HB);
		b[pos] ^= bit;
	}
	/* The empty tensor: one empty chunk, bound to length 0. */
	assert_int_equal(cairn_tensor_leaf_count(0), 1);
	assert_int_equal(cairn_tensor_root(NULL, 0, r0), 0);
	hh(T_LEAF, NULL, 0, NULL, 0, leaf);
	u64le(lenb, 0);
	hh(T_ROOT, lenb, 8, leaf, HB, want);
	assert_memory_equal(r0, want, HB);
	cairn_tensor_root(&zero, 1, r1);
	assert_memory_not_equal(r0, r1, HB);
	/* Arguments. */
	assert_int_equal(cairn_tensor_root(NULL, 1, r0), CAIRN_EINVAL);
	assert_int_equal(cairn_tensor_leaf(b, CHUNK + 1, r0), CAIRN_EINVAL);
	assert_int_equal(cairn_tensor_leaf_count(CHUNK), 1);
	assert_int_equal(cairn_tensor_leaf_count(CHUNK + 1), 2);
	assert_int_equal(cairn_tensor_leaf_count(UINT64_MAX),
	                 (UINT64_MAX >> 16) + 1);
	free(b);
	(void)state;
}

/* ---- proofs ----------------------------------------------------------- */

/* Verify for tree kind: 0 = tensor (leaf hashes, root bound to a byte
 * length giving n leaves), 1 = trace (state roots). */
struct ptree {
	int kind;
	uint64_t n, total; /* total: tensor bytes */
	uint8_t *items;    /* tensor: leaf hashes; trace: state roots */
	uint8_t root[HB];
};

static int pverify(const struct ptree *t, uint64_t n, uint64_t index,
                   const uint8_t *item, const struct cairn_merkle_path *p)
{
	if (t->kind == 0) {
		uint64_t total = n == t->n ? t->total : (n - 1) * CHUNK + 1;
		return cairn_tensor_verify(t->root, total, index, item, p);
	}
	return cairn_trace_verify(t->root, n, index, item, p);
}

static void ptree_make(struct ptree *t, int kind, uint64_t n)
{
	t->kind = kind;
	t->n = n;
	t->items = cairn_test_xmalloc(n * HB);
	fill(t->items, n * HB);
	if (kind == 0) {
		t->total = (n - 1) * CHUNK + 1 + rnd() % CHUNK;
		int rc = cairn_tensor_root_from_leaves(t->items, n, t->total,
		                                       t->root);
		assert_int_equal(rc, 0);
	} else {
		assert_int_equal(cairn_trace_root(t->items, n, t->root), 0);
	}
}

static void ptree_prove(const struct ptree *t, uint64_t i,
                        struct cairn_merkle_path *p)
{
	if (t->kind == 0)
		assert_int_equal(cairn_tensor_prove(t->items, t->n, i, p), 0);
	else
		assert_int_equal(cairn_trace_prove(t->items, t->n, i, p), 0);
}

/* Leaf i of t: its path verifies, and every tampered variant fails.
 * p and q are scratch paths. */
static void check_leaf_proof(const struct ptree *t, uint64_t i,
                             struct cairn_merkle_path *p,
                             struct cairn_merkle_path *q)
{
	const uint8_t *it = t->items + i * HB;
	uint64_t n = t->n;
	uint8_t item[HB];
	struct ptree u;
	ptree_prove(t, i, p);
	assert_true(p->len <= 6); /* depth of a tree of <= 33 leaves */
	assert_int_equal(pverify(t, n, i, it, p), 0);

	/* Wrong leaf: every other item, and one flipped bit. */
	for (uint64_t j = 0; j < n; j++)
		if (j != i)
			assert_int_not_equal(
			    pverify(t, n, i, t->items + j * HB, p), 0);
	memcpy(item, it, HB);
	item[rnd() % HB] ^= (uint8_t)(1u << (rnd() % 8));
	assert_int_equal(pverify(t, n, i, item, p), CAIRN_ECRYPTO);
	/* Wrong index. */
	for (uint64_t j = 0; j < n; j++)
		if (j != i)
			assert_int_not_equal(pverify(t, n, j, it, p), 0);
	assert_int_equal(pverify(t, n, n, it, p), CAIRN_EINVAL);
	/* Wrong size: every other size up to 40. */
	for (uint64_t m = i + 1; m <= 40; m++)
		if (m != n)
			assert_int_not_equal(pverify(t, m, i, it, p), 0);
	/* A flipped bit in each path entry. */
	for (uint32_t k = 0; k < p->len; k++) {
		*q = *p;
		q->hash[k][rnd() % HB] ^= (uint8_t)(1u << (rnd() % 8));
		assert_int_equal(pverify(t, n, i, it, q), CAIRN_ECRYPTO);
	}
	/* Truncated, emptied, extended, absurdly long. */
	if (p->len > 0) {
		*q = *p;
		q->len--;
		assert_int_equal(pverify(t, n, i, it, q), CAIRN_ECRYPTO);
		q->len = 0;
		assert_int_equal(pverify(t, n, i, it, q), CAIRN_ECRYPTO);
	}
	*q = *p;
	fill(q->hash[q->len], HB);
	q->len++;
	assert_int_equal(pverify(t, n, i, it, q), CAIRN_ECRYPTO);
	*q = *p;
	q->len = CAIRN_MERKLE_MAX_PATH + 1;
	assert_int_equal(pverify(t, n, i, it, q), CAIRN_ECRYPTO);
	/* Wrong root. */
	u = *t;
	u.root[rnd() % HB] ^= 1;
	assert_int_equal(pverify(&u, n, i, it, p), CAIRN_ECRYPTO);
}

static void test_proofs(void **state)
{
	struct cairn_merkle_path *p = cairn_test_xmalloc(sizeof *p);
	struct cairn_merkle_path *q = cairn_test_xmalloc(sizeof *q);
	for (int kind = 0; kind < 2; kind++)
		for (uint64_t n = 1; n <= 33; n++) {
			struct ptree t;
			ptree_make(&t, kind, n);
			for (uint64_t i = 0; i < n; i++)
				check_leaf_proof(&t, i, p, q);
			free(t.items);
		}
	free(p);
	free(q);
	(void)state;
}

/* Chunks checked on arrival (blob transfer): the chunk's bytes, its
 * length and the tensor's length all count. */
static void test_tensor_chunk_proofs(void **state)
{
	uint64_t len = 4 * CHUNK + 1 + rnd() % (CHUNK - 1);
	uint64_t n = cairn_tensor_leaf_count(len);
	uint8_t *b = cairn_test_xmalloc(len),
	        *leaves = cairn_test_xmalloc(n * HB), root[HB];
	int rc;
	struct cairn_merkle_path *p = cairn_test_xmalloc(sizeof *p);
	fill(b, len);
	assert_int_equal(n, 5);
	assert_int_equal(cairn_tensor_leaves(b, len, leaves), 0);
	assert_int_equal(cairn_tensor_root(b, len, root), 0);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t cl = i + 1 < n ? CHUNK : len - i * CHUNK;
		uint8_t *c = b + i * CHUNK;
		assert_int_equal(cairn_tensor_prove(leaves, n, i, p), 0);
		assert_int_equal(
		    cairn_tensor_verify_chunk(root, len, i, c, cl, p), 0);
		/* Same leaf count, another byte length: another root. */
		rc = cairn_tensor_verify(root, len - 1, i, leaves + i * HB, p);
		assert_int_equal(rc, CAIRN_ECRYPTO);
		rc = cairn_tensor_verify(root, len + 1, i, leaves + i * HB, p);
		assert_int_equal(rc, CAIRN_ECRYPTO);
		/* A chunk one byte short or long. */
		assert_int_equal(
		    cairn_tensor_verify_chunk(root, len, i, c, cl - 1, p),
		    CAIRN_ECRYPTO);
		if (i + 1 == n) {
			rc = cairn_tensor_verify_chunk(root, len, i, c, cl + 1,
			                               p);
			assert_int_equal(rc, CAIRN_ECRYPTO);
		}
		/* A changed byte. */
		c[rnd() % cl] ^= 0x80;
		assert_int_equal(
		    cairn_tensor_verify_chunk(root, len, i, c, cl, p),
		    CAIRN_ECRYPTO);
		fill(c, cl);
	}
	assert_int_equal(cairn_tensor_verify_chunk(root, len, n, b, 1, p),
	                 CAIRN_EINVAL);
	assert_int_equal(cairn_tensor_prove(leaves, n, n, p), CAIRN_EINVAL);
	/* The empty tensor's only chunk. */
	assert_int_equal(cairn_tensor_root(NULL, 0, root), 0);
	cairn_tensor_leaf(NULL, 0, leaves);
	assert_int_equal(cairn_tensor_prove(leaves, 1, 0, p), 0);
	assert_int_equal(p->len, 0);
	assert_int_equal(cairn_tensor_verify_chunk(root, 0, 0, NULL, 0, p), 0);
	assert_int_equal(cairn_tensor_verify_chunk(root, 1, 0, b, 1, p),
	                 CAIRN_ECRYPTO);
	free(b);
	free(leaves);
	free(p);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tensor_structure),
	    cmocka_unit_test(test_tensor_from_leaves),
	    cmocka_unit_test(test_tensor_leaves_on_backend),
	    cmocka_unit_test(test_tensor_zero_root),
	    cmocka_unit_test(test_tensor_distinct),
	    cmocka_unit_test(test_proofs),
	    cmocka_unit_test(test_tensor_chunk_proofs),
	};
	if (attest_fx_init("test_attest_merkle"))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
