/* cairn: commitments (DESIGN.md section 5): domain-separated hashes,
 * tensor roots, Merkle inclusion proofs, state roots and trace roots.
 *
 * H is BLAKE2b-256 (libsodium crypto_generichash, 32 bytes out).  Every
 * hashed structure starts with its own 128-byte domain header: a one-byte
 * tag, the length of a version string, the string, zeros (CAIRN_DOMAINS
 * below is the one table of tags and strings).  docs/commitments.md gives
 * the byte-level format of every structure, with test vectors.
 *
 * Hashes are plain byte arrays of CAIRN_HASH_BYTES; an array of n hashes is
 * n * 32 contiguous bytes.  Every function returns 0 or a negative
 * CAIRN_E* code (cairn/error.h): CAIRN_EINVAL for bad arguments and
 * CAIRN_ECRYPTO for a proof or root that does not verify.  Outputs are
 * written only on success unless a comment says otherwise.  No function
 * keeps a pointer to its arguments after it returns. */
#ifndef CAIRN_ATTEST_H
#define CAIRN_ATTEST_H

#include <stddef.h>
#include <stdint.h>

#include "cairn/kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CAIRN_HASH_BYTES 32
#define CAIRN_HASH_HEX_BYTES 65 /* 64 lower-case hex digits and a NUL */

/* ---- domains -------------------------------------------------------- */

/* X(name, tag, version string).  A tag is never reused for another
 * structure; a new format of a structure gets a new tag and string.  Tag
 * 0x00 is reserved (never used); 0x0B (cairn/result/v1, the result before
 * the step log) and 0x0E (cairn/verdict/v1) are retired: no structure
 * hashes with them any more, and they are never reused. */
#define CAIRN_DOMAINS(X)                                                       \
	X(TENSOR_LEAF, 0x01, "cairn/tensor-leaf/v1")                           \
	X(TENSOR_NODE, 0x02, "cairn/tensor-node/v1")                           \
	X(TENSOR_ROOT, 0x03, "cairn/tensor-root/v1")                           \
	X(SAMPLES, 0x04, "cairn/samples/v1")                                   \
	X(STATE, 0x05, "cairn/state/v1")                                       \
	X(TRACE_LEAF, 0x06, "cairn/trace-leaf/v1")                             \
	X(TRACE_NODE, 0x07, "cairn/trace-node/v1")                             \
	X(TRACE_ROOT, 0x08, "cairn/trace-root/v1")                             \
	X(SIGNATURE, 0x09, "cairn/signature/v1")                               \
	X(TASK, 0x0A, "cairn/task/v1")                                         \
	X(DATASET, 0x0C, "cairn/dataset/v1")                                   \
	X(CHALLENGE, 0x0D, "cairn/challenge/v1")                               \
	X(REPORT, 0x0F, "cairn/report/v1")                                     \
	X(STEP_LOG, 0x10, "cairn/step-log/v1")                                 \
	X(STEP_ROOT, 0x11, "cairn/step-root/v1")                               \
	X(RESULT, 0x12, "cairn/result/v2")                                     \
	X(VERDICT, 0x13, "cairn/verdict/v2")

enum cairn_domain {
#define CAIRN__DOMAIN_ENUM(name, tag, str) CAIRN_DOM_##name = tag,
	CAIRN_DOMAINS(CAIRN__DOMAIN_ENUM)
#undef CAIRN__DOMAIN_ENUM
};

/* Every hash input starts with one BLAKE2b block holding the domain:
 * byte 0 the tag, byte 1 the string's length, then the string, then zeros.
 * A whole block lets a GPU absorb it once and start every chunk's hash
 * from the same state, with the chunk aligned to BLAKE2b's blocks. */
#define CAIRN_DOMAIN_HEADER_BYTES 128

/* The version string of a domain ("cairn/state/v1"), or NULL for a tag
 * that is not in CAIRN_DOMAINS. */
const char *cairn_domain_string(int dom);

/* Writes dom's 128-byte header to out.  CAIRN_EINVAL for an unknown dom. */
int cairn_domain_header(int dom, uint8_t out[CAIRN_DOMAIN_HEADER_BYTES]);

/* ---- hashing ---------------------------------------------------------- */

/* An incremental domain-separated hash:
 * H(header(dom) || everything passed to update).  A plain struct with no
 * heap memory: nothing to free; it may live on the stack.  The storage is
 * libsodium's crypto_generichash_state (checked at compile time). */
struct cairn_hash_ctx {
#ifdef __cplusplus
	alignas(64) unsigned char opaque[384];
#else
	_Alignas(64) unsigned char opaque[384];
#endif
};

int cairn_hash_init(struct cairn_hash_ctx *ctx, int dom);
int cairn_hash_update(struct cairn_hash_ctx *ctx, const void *data, size_t len);
/* Writes the 32-byte hash; ctx must be initialised again before reuse. */
int cairn_hash_final(struct cairn_hash_ctx *ctx, uint8_t out[CAIRN_HASH_BYTES]);

/* One call: out = H(header(dom) || data[0..len)). */
int cairn_hash_domain(int dom, const void *data, size_t len,
                      uint8_t out[CAIRN_HASH_BYTES]);

/* 1 when the two hashes are equal, 0 when not; constant time. */
int cairn_hash_equal(const uint8_t a[CAIRN_HASH_BYTES],
                     const uint8_t b[CAIRN_HASH_BYTES]);

/* Writes 64 lower-case hex digits and a NUL to out. */
int cairn_hash_to_hex(const uint8_t h[CAIRN_HASH_BYTES],
                      char out[CAIRN_HASH_HEX_BYTES]);

/* Parses exactly 64 lower-case hex digits (len is the length of s, which
 * need not be NUL-terminated).  CAIRN_EFORMAT for any other length, an
 * upper-case or non-hex digit; out is untouched then.  Every hash has one
 * textual form, so hex strings may be compared as strings. */
int cairn_hash_from_hex(const char *s, size_t len,
                        uint8_t out[CAIRN_HASH_BYTES]);

/* ---- Merkle trees (RFC 6962 section 2.1 shape) ------------------------ */

/* Which tree: each has its own leaf, node and root domains. */
enum cairn_tree {
	CAIRN_TREE_TENSOR = 0, /* TENSOR_LEAF, TENSOR_NODE, TENSOR_ROOT */
	CAIRN_TREE_TRACE = 1   /* TRACE_LEAF, TRACE_NODE, TRACE_ROOT */
};

/* Enough for 2^64 - 1 leaves. */
#define CAIRN_MERKLE_MAX_PATH 64

/* An audit path: the sibling hashes from the leaf up to the root (RFC 6962
 * PATH order).  Plain data: copy it, send it, nothing to free. */
struct cairn_merkle_path {
	uint32_t len;
	uint8_t hash[CAIRN_MERKLE_MAX_PATH][CAIRN_HASH_BYTES];
};

/* The tree hash MTH over n >= 1 leaf hashes (n * 32 bytes at leaves):
 * MTH of one leaf is that leaf; otherwise k is the largest power of two
 * below n and MTH = H(node, MTH(first k), MTH(rest)).  This is the tree
 * part of a root only; roots (below) also bind a length. */
int cairn_merkle_mth(int tree, const uint8_t *leaves, uint64_t n,
                     uint8_t out[CAIRN_HASH_BYTES]);

/* The audit path of leaf index (< n) in the tree over leaves[0..n). */
int cairn_merkle_prove(int tree, const uint8_t *leaves, uint64_t n,
                       uint64_t index, struct cairn_merkle_path *path);

/* Recomputes the MTH from a leaf hash, its index, the tree size n and an
 * audit path (RFC 9162 section 2.1.3.2).  CAIRN_ECRYPTO when the path has
 * the wrong length for (index, n); CAIRN_EINVAL when index >= n. */
int cairn_merkle_path_mth(int tree, const uint8_t leaf[CAIRN_HASH_BYTES],
                          uint64_t index, uint64_t n,
                          const struct cairn_merkle_path *path,
                          uint8_t out[CAIRN_HASH_BYTES]);

/* ---- tensor roots ----------------------------------------------------- */

/* A tensor's bytes (little-endian elements) are cut into chunks of 64 KiB;
 * the last one is shorter.  The empty tensor is one empty chunk. */
#define CAIRN_TENSOR_CHUNK_BYTES 65536u

/* Chunks (= leaves) of a tensor of total_bytes: max(1, ceil(total / 64K)). */
uint64_t cairn_tensor_leaf_count(uint64_t total_bytes);

/* Leaf hash of one chunk: H(TENSOR_LEAF header || chunk), len <= 64 KiB.
 * The GPU computes the same bytes with kernels/blake2b.h. */
int cairn_tensor_leaf(const void *chunk, size_t len,
                      uint8_t out[CAIRN_HASH_BYTES]);

/* All leaf hashes of a tensor: leaves must hold
 * cairn_tensor_leaf_count(len) * 32 bytes (caller's memory). */
int cairn_tensor_leaves(const void *bytes, size_t len, uint8_t *leaves);

/* root = H(TENSOR_ROOT header || u64le total_bytes || MTH(leaves)). */
int cairn_tensor_root(const void *bytes, size_t len,
                      uint8_t out[CAIRN_HASH_BYTES]);

/* The same root from precomputed leaf hashes (e.g. computed on a GPU);
 * CAIRN_EINVAL unless nleaves == cairn_tensor_leaf_count(total_bytes). */
int cairn_tensor_root_from_leaves(const uint8_t *leaves, uint64_t nleaves,
                                  uint64_t total_bytes,
                                  uint8_t out[CAIRN_HASH_BYTES]);

/* The root of a tensor of len zero bytes (+0 floats: an SGD task's v),
 * without hashing them: every leaf is one zero chunk's hash (the last one
 * shorter), so it costs two chunk hashes and the tree, and nothing when
 * the thread's call before was for the same len (the root is
 * remembered).  The same root as cairn_tensor_root of len zero bytes. */
int cairn_tensor_zero_root(size_t len, uint8_t out[CAIRN_HASH_BYTES]);

/* The tensor root of bytes that live in backend memory: the leaves are
 * hashed where the data is (cairn_hash_chunks: on a GPU, on the device),
 * then the tree is built on the host.  Same root as cairn_tensor_root of
 * the same bytes. */
int cairn_tensor_root_on(cairn_backend *be, const void *data, size_t len,
                         uint8_t out[CAIRN_HASH_BYTES]);

/* Audit path of chunk index, from the tensor's leaf hashes. */
int cairn_tensor_prove(const uint8_t *leaves, uint64_t nleaves, uint64_t index,
                       struct cairn_merkle_path *path);

/* 0 when chunk index of a tensor of total_bytes, whose leaf hash is leaf,
 * is in the tensor with this root; CAIRN_ECRYPTO when not. */
int cairn_tensor_verify(const uint8_t root[CAIRN_HASH_BYTES],
                        uint64_t total_bytes, uint64_t index,
                        const uint8_t leaf[CAIRN_HASH_BYTES],
                        const struct cairn_merkle_path *path);

/* As cairn_tensor_verify from the chunk's bytes; a chunk whose length is
 * not the one chunk index must have is CAIRN_ECRYPTO too. */
int cairn_tensor_verify_chunk(const uint8_t root[CAIRN_HASH_BYTES],
                              uint64_t total_bytes, uint64_t index,
                              const void *chunk, size_t len,
                              const struct cairn_merkle_path *path);

/* ---- states and traces ----------------------------------------------- */

/* Digest of the sample indices one step used, in the order it used them:
 * H(SAMPLES header || u64le n || u32le idx[0] || ... || u32le idx[n-1]).
 * idx may be NULL when n == 0. */
int cairn_samples_digest(const uint32_t *idx, uint64_t n,
                         uint8_t out[CAIRN_HASH_BYTES]);

/* The training state after step t (t steps done). */
struct cairn_state {
	uint64_t step;                    /* t */
	uint8_t params[CAIRN_HASH_BYTES]; /* tensor root of the parameters */
	uint8_t
	    m[CAIRN_HASH_BYTES]; /* tensor root: AdamW 1st moment, SGD buf */
	uint8_t v[CAIRN_HASH_BYTES]; /* tensor root: AdamW 2nd moment, SGD 0 */
	uint8_t samples[CAIRN_HASH_BYTES]; /* samples digest of step t */
	uint32_t loss_bits;                /* binary32 bits of step t's loss */
};

#define CAIRN_STATE_BYTES 140 /* encoded size, after the header */

/* The canonical encoding: u64le step || params || m || v || samples ||
 * u32le loss_bits. */
int cairn_state_encode(const struct cairn_state *s,
                       uint8_t out[CAIRN_STATE_BYTES]);

/* H(STATE header || cairn_state_encode(s)). */
int cairn_state_root(const struct cairn_state *s,
                     uint8_t out[CAIRN_HASH_BYTES]);

/* Leaf of a trace tree: H(TRACE_LEAF header || state root). */
int cairn_trace_leaf(const uint8_t state_root[CAIRN_HASH_BYTES],
                     uint8_t out[CAIRN_HASH_BYTES]);

/* The trace root over the state roots at t = 0, c, 2c, ..., H, in that
 * order (n >= 1, n * 32 bytes):
 * H(TRACE_ROOT header || u64le n || MTH(trace leaves)). */
int cairn_trace_root(const uint8_t *state_roots, uint64_t n,
                     uint8_t out[CAIRN_HASH_BYTES]);

/* Audit path of state index (0 for t = 0, 1 for t = c, ...). */
int cairn_trace_prove(const uint8_t *state_roots, uint64_t n, uint64_t index,
                      struct cairn_merkle_path *path);

/* 0 when state_root is entry index of a trace of n states with this root;
 * CAIRN_ECRYPTO when not. */
int cairn_trace_verify(const uint8_t trace_root[CAIRN_HASH_BYTES], uint64_t n,
                       uint64_t index,
                       const uint8_t state_root[CAIRN_HASH_BYTES],
                       const struct cairn_merkle_path *path);

/* ---- step logs --------------------------------------------------------- */

/* The step log commits to every inner step, not only the checkpoints:
 * step t's record is the digest of its sample indices and its loss,
 *   record(t) = samples digest of step t || u32le loss bits of step t,
 * and segment i (steps i*c + 1 .. (i+1)*c) has the digest
 *   H(STEP_LOG header || u32le i*c + 1 || u32le c || record(i*c + 1) ||
 *     ... || record((i+1)*c)).
 * The steps root over a task's nseg = H / c segments is
 *   H(STEP_ROOT header || u32le nseg || u32le c || digest(0) || ... ||
 *     digest(nseg - 1)).
 * An auditor who replays a segment compares every step's record with the
 * worker's and so finds the first step that differs (docs/commitments.md
 * section 16). */
#define CAIRN_STEP_RECORD_BYTES 36

/* record(t) into out. */
int cairn_step_record(const uint8_t samples[CAIRN_HASH_BYTES],
                      uint32_t loss_bits, uint8_t out[CAIRN_STEP_RECORD_BYTES]);

/* The digest of the segment whose count records (count * 36 bytes) are
 * steps first .. first + count - 1.  CAIRN_EINVAL for first or count 0. */
int cairn_step_log_segment(uint32_t first, const uint8_t *records,
                           uint32_t count, uint8_t out[CAIRN_HASH_BYTES]);

/* The steps root of the records of steps 1 .. nseg * c (nseg * c * 36
 * bytes), cut into nseg segments of c steps.  CAIRN_EINVAL for nseg or c
 * 0 or nseg * c above UINT32_MAX. */
int cairn_step_log_root(const uint8_t *records, uint32_t nseg, uint32_t c,
                        uint8_t out[CAIRN_HASH_BYTES]);

/* ---- inputs from anyone (attest/file.c) ---------------------------------- */

/* Opens path for reading as an input that may come from anyone (a bundle,
 * a signed report, a verdict file): it must be a regular file of at most
 * max_bytes (fstat; nothing is read), and the open never blocks, so a FIFO
 * or a device is refused, not waited on.  On success *fd is the caller's
 * to close and *bytes the file's size.  Else *fd is -1 and err names what
 * ("bundle") and path: CAIRN_EINVAL not a regular file, CAIRN_ERANGE over
 * max_bytes, else open's errno as a code (CAIRN_ENOENT, CAIRN_EPERM...). */
int cairn_file_open_input(const char *path, const char *what,
                          uint64_t max_bytes, int *fd, uint64_t *bytes,
                          char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
