/* cairn: the auditor (DESIGN.md section 6): draw segments of a task's
 * trace with randomness the worker could not know, replay them from the
 * bundle's checkpoints, compare the state roots bit for bit, and sign the
 * verdict.
 *
 * A trace of H steps with a committed state every c steps has
 * nseg = H / c segments; segment i covers steps i*c + 1 .. (i+1)*c, from
 * state i (t = i*c) to state i + 1.  The challenge draws s distinct
 * segments from H(CHALLENGE header || trace root || nonce || u32le
 * counter) (counter = 0, 1, ...: one hash per draw), whose first 8 bytes
 * little-endian give x; x is rejected when it falls in the last, partial
 * run of nseg values below 2^64 (so every segment is equally likely) or
 * when it names a segment already drawn; else segment x % nseg is drawn.
 * The nonce must be drawn after the trace root was committed.
 *
 * An honest worker is never rejected: the exact profile makes every
 * backend give the same bits, so a replay on ref, cpu or cuda ends on the
 * worker's state root.
 *
 * A bundle is rejected either when it is read (cairn_audit_read: a bad
 * signature, a result of another task, a false work claim, state roots or
 * a final state that contradict the signed result, a checkpoint that is
 * not its trace entry, a start that is not W_r) or when a drawn segment
 * is replayed (cairn_audit_bundle).  Read lazily (cairn_audit_read_lazy),
 * a bundle's checkpoints are not hashed when it is read: each drawn
 * segment's starting checkpoint is checked (check reveal) when
 * cairn_audit_bundle loads it, before its replay, and one never drawn is
 * never read.  docs/verify.md is the auditor's guide;
 * docs/commitments.md section 15 gives the draw and the verdict byte by
 * byte.
 *
 * When a replayed segment disagrees with the worker's commitments, the
 * auditor narrows it down (a Verde-style explanation): it compares every
 * step's record (samples digest and loss) with the worker's step log and
 * names the first step that differs and what differs there; when every
 * record agrees, the difference is in the state at the segment's end,
 * and where the bundle holds that state's tensors it names the first
 * element that differs (which tensor, which index, both values).
 *
 * A verdict is signed with the auditor's identity over
 * H(VERDICT header || encoding), the encoding being (all little-endian):
 *   u8[32] task id || u8[32] trace root || u8[32] nonce ||
 *   u8[32] auditor public key || u32 accepted (0 or 1) || u32 check ||
 *   u32 failed segment (UINT32_MAX when none) || u32 first step ||
 *   u32 last step || u32 differs mask || u32 first differing step ||
 *   u32 its differs mask || u32 element tensor || u64 element count ||
 *   u64 element index || u32 worker's bits || u32 replay's bits ||
 *   u32 nsegments || u32 segments[nsegments] (in draw order).
 *
 * Functions return 0 or a negative CAIRN_E* code (cairn/error.h); those
 * that take err write one line there (errlen bytes, NUL-terminated, err
 * may be NULL).  Nothing here keeps a pointer to its arguments. */
#ifndef CAIRN_AUDIT_H
#define CAIRN_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "cairn/attest.h"
#include "cairn/bundle.h"
#include "cairn/dataset.h"
#include "cairn/identity.h"
#include "cairn/kernels.h"
#include "cairn/task.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Most segments one verdict holds: every segment of the longest trace. */
#define CAIRN_AUDIT_MAX_SEGMENTS (CAIRN_TASK_MAX_STATES - 1)
#define CAIRN_AUDIT_NO_SEGMENT UINT32_MAX

/* Draws min(s, nseg) distinct segment indices in [0, nseg) into out, in
 * draw order (see above).  CAIRN_EINVAL for nseg = 0 or above
 * CAIRN_AUDIT_MAX_SEGMENTS, s = 0, or a NULL pointer. */
int cairn_audit_challenge(const uint8_t trace_root[CAIRN_HASH_BYTES],
                          const uint8_t nonce[CAIRN_HASH_BYTES], uint32_t nseg,
                          uint32_t s, uint32_t *out);

/* Which check decided a verdict.  The numbers are part of the signed
 * encoding: never renumber.  1 and 2 no longer decide a verdict (a spec
 * this auditor cannot replay is not the worker's fault: cairn_audit_bundle
 * returns an error for it); they stay reserved. */
enum cairn_audit_check {
	CAIRN_AUDIT_OK = 0,      /* every drawn segment replayed to its root */
	CAIRN_AUDIT_PROFILE = 1, /* reserved (was: not the exact profile) */
	CAIRN_AUDIT_DATASET = 2, /* reserved (was: another dataset root) */
	CAIRN_AUDIT_REVEAL = 3,  /* a checkpoint's tensors, samples and loss
	                          * do not hash to its entry of the trace */
	CAIRN_AUDIT_REPLAY = 4,  /* the replayed state root at a segment's end
	                          * is not the committed one */
	CAIRN_AUDIT_SIGNATURE = 5,  /* the result's signature does not verify
	                             * under the worker key it names */
	CAIRN_AUDIT_TASK_ID = 6,    /* the result is for another task than the
	                             * bundle's spec */
	CAIRN_AUDIT_WORK = 7,       /* the result claims other work (FLOPs)
	                             * than the spec's */
	CAIRN_AUDIT_COMMITMENT = 8, /* the state roots, the final state or the
	                             * final parameters root contradict the
	                             * signed result */
	CAIRN_AUDIT_START = 9,      /* the committed state at t = 0 is not W_r
	                             * with zero moments */
	CAIRN_AUDIT_ASSIGNMENT = 10 /* the bundle's task is not one the
	                             * auditor was asked to check (a
	                             * self-consistent bundle for a spec the
	                             * worker made up) */
};

/* The short name of a check ("ok", "profile", "dataset", "reveal",
 * "replay", "signature", "task-id", "work", "commitment", "start");
 * "unknown" for another value. */
const char *cairn_audit_check_name(int check);

/* What differs between the replay and the worker's claim (CAIRN_AUDIT_REPLAY
 * only): at the end of a failed segment, between the replayed state record
 * and the claimed one (verdict diff), and at the first step that differs
 * (verdict diff_what: SAMPLES or LOSS in a step record, or the end's
 * mask when every record agrees). */
#define CAIRN_AUDIT_DIFF_PARAMS (1u << 0)  /* parameters root */
#define CAIRN_AUDIT_DIFF_M (1u << 1)       /* first moment root */
#define CAIRN_AUDIT_DIFF_V (1u << 2)       /* second moment root */
#define CAIRN_AUDIT_DIFF_SAMPLES (1u << 3) /* samples digest: wrong data */
#define CAIRN_AUDIT_DIFF_LOSS (1u << 4)    /* loss bits */
#define CAIRN_AUDIT_DIFF_STEP (1u << 5)    /* step counter */

/* Writes "params,m,samples" (the names of the bits set, comma-separated;
 * "none" for 0) into out. */
void cairn_audit_diff_names(uint32_t diff, char *out, size_t outlen);

/* Which tensor holds the first differing element (verdict elem_tensor). */
#define CAIRN_AUDIT_ELEM_NONE                                                  \
	0 /* not compared (no difference in the                                \
	   * tensors, or the bundle does not hold                              \
	   * the end state's tensors: t = H) */
#define CAIRN_AUDIT_ELEM_PARAMS 1
#define CAIRN_AUDIT_ELEM_M 2
#define CAIRN_AUDIT_ELEM_V 3

/* One audit's verdict.  Plain data (about 16 KiB): nothing to free. */
struct cairn_audit_verdict {
	uint8_t task_id[CAIRN_HASH_BYTES];
	uint8_t trace_root[CAIRN_HASH_BYTES];
	uint8_t nonce[CAIRN_HASH_BYTES];
	uint8_t auditor_key[CAIRN_PUBLIC_KEY_BYTES]; /* zero until signed */
	uint32_t accepted;   /* 1 accepted, 0 rejected */
	uint32_t check;      /* enum cairn_audit_check that decided */
	uint32_t segment;    /* the failed segment, or CAIRN_AUDIT_NO_SEGMENT */
	uint32_t step_first; /* its steps, first .. last (0 when none) */
	uint32_t step_last;
	uint32_t diff; /* CAIRN_AUDIT_DIFF_* at its end */
	/* The narrowing (CAIRN_AUDIT_REPLAY; all 0 otherwise): */
	uint32_t diff_step;   /* first step whose record or state differs */
	uint32_t diff_what;   /* CAIRN_AUDIT_DIFF_* there */
	uint32_t elem_tensor; /* CAIRN_AUDIT_ELEM_*: first tensor of the
	                       * end state (params, m, v) that differs */
	uint64_t elem_count;  /* its elements that differ */
	uint64_t elem_index;  /* the first of them, in the model's layout */
	uint32_t elem_worker; /* its binary32 bits in the worker's state */
	uint32_t elem_replay; /* and in the replay's */
	uint32_t nsegments;   /* drawn, in draw order */
	uint32_t segments[CAIRN_AUDIT_MAX_SEGMENTS];
	uint8_t signature[CAIRN_SIGNATURE_BYTES]; /* zero until signed */
};

/* Reads the bundle at path for an audit, and sorts what cairn_bundle_read
 * refuses into a rejection of the worker's claim or a file that cannot be
 * read:
 *   - every check passes: 0, *rejected = 0, *b holds the bundle (the
 *     caller frees it with cairn_bundle_free), *v zeroed;
 *   - a well-formed bundle fails a cryptographic or commitment check (the
 *     reader's CAIRN_ECRYPTO or CAIRN_EMISMATCH): 0, *rejected = 1, *b
 *     zeroed and *v the rejection, unsigned: check task-id, signature,
 *     work, commitment, reveal (segment: the checkpoint's, the first in
 *     step order whose tensors fail) or start; task_id the task of the
 *     bundle's spec (the task the file answers, not the one its result may
 *     name), trace_root the result's, nonce zero, no segment drawn; err
 *     holds "check NAME: " and the reader's message;
 *   - the file cannot be read as a bundle: the reader's negative code
 *     (CAIRN_ENOENT, CAIRN_EPERM, CAIRN_EIO, CAIRN_EINVAL for a path that
 *     is not a regular file, CAIRN_ERANGE above CAIRN_BUNDLE_MAX_BYTES,
 *     CAIRN_EFORMAT for bytes that are not a canonical, well-formed
 *     bundle, CAIRN_ENOMEM); *b and *v zeroed; err says why.
 * The reader names the check that refused the bundle
 * (cairn_bundle_read_ex); the file is read once. */
int cairn_audit_read(const char *path, struct cairn_bundle *b,
                     struct cairn_audit_verdict *v, int *rejected, char *err,
                     size_t errlen);

/* cairn_audit_read through cairn_bundle_read_lazy: every check but the
 * checkpoints' tensors, which cairn_audit_bundle checks for the segments
 * it draws.  The rejections at read are those of cairn_audit_read but
 * reveal (a checkpoint is checked only when it is drawn), and start is
 * decided on the committed state root at t = 0.  A few KiB of the file
 * are read; *b keeps it open until cairn_bundle_free. */
int cairn_audit_read_lazy(const char *path, struct cairn_bundle *b,
                          struct cairn_audit_verdict *v, int *rejected,
                          char *err, size_t errlen);

/* Rejects a bundle that read without a rejection but whose task id is not
 * among the n ids the caller assigned (ids: n * 32 bytes): *v becomes a
 * rejection with check CAIRN_AUDIT_ASSIGNMENT and no segment, *rejected =
 * 1, err says which task it was.  When the task is among them (or n is
 * 0) nothing changes and *rejected stays as it was.  0, or CAIRN_EINVAL
 * for a missing argument. */
int cairn_audit_check_assignment(const struct cairn_bundle *b,
                                 const uint8_t *ids, size_t n,
                                 struct cairn_audit_verdict *v, int *rejected,
                                 char *err, size_t errlen);

/* cairn_audit_read for a bundle's bytes already in memory (through
 * cairn_bundle_decode; name labels the bytes in messages, NULL:
 * "bundle"). */
int cairn_audit_decode(const uint8_t *buf, size_t len, const char *name,
                       struct cairn_bundle *b, struct cairn_audit_verdict *v,
                       int *rejected, char *err, size_t errlen);

/* Audits bundle b, already read and checked by cairn_bundle_read (the
 * signature, the roots and every checkpoint's tensors; cairn_audit_read
 * does it) or by cairn_bundle_read_lazy (all but the tensors;
 * cairn_audit_read_lazy).  First the spec must be one this auditor can
 * replay: the exact-v1 profile (else CAIRN_ENOTSUP) and a dataset root
 * equal to dataset_root, that of ds, the local training split, computed
 * once by the caller (else CAIRN_EMISMATCH: audit with the spec's data).
 * Neither is a rejection: an honest bundle must never be rejected because
 * the auditor lacks its data.  Then, for each of the min(s, nseg)
 * segments drawn from b's trace root and nonce: loads the checkpoint's
 * parameters, m and v into a model on be and checks them
 * (cairn_bundle_load_checkpoint: from a lazily read bundle's file, hashed
 * on be; a checkpoint that is not its trace entry rejects with check
 * reveal), runs cairn_task_replay over the segment's steps and compares
 * every step's record with b's step log and the state root at its end
 * with b's; the first segment that disagrees rejects (check replay), and
 * the verdict names the first step that differs and what differs there
 * (and, at the end state, the first element that differs).  b is only
 * read: a lazily read bundle's tensors are read into a buffer the call
 * frees, each time it is audited.
 *
 * Returns 0 when the audit was done, accepted or not: *v holds the
 * verdict (unsigned) and, on a rejection, err says which check, which
 * segment and steps, and which roots.  A negative code when it could not
 * be done (bad arguments, a spec it cannot replay, out of memory, a
 * backend error); *v is then zeroed and err says why. */
int cairn_audit_bundle(cairn_backend *be, const struct cairn_bundle *b,
                       const cairn_dataset *ds,
                       const uint8_t dataset_root[CAIRN_HASH_BYTES],
                       const uint8_t nonce[CAIRN_HASH_BYTES], uint32_t s,
                       struct cairn_audit_verdict *v, char *err, size_t errlen);

/* Bytes of the longest verdict encoding. */
#define CAIRN_AUDIT_VERDICT_MAX_BYTES                                          \
	(4 * CAIRN_HASH_BYTES + 12 * 4 + 2 * 8 + 4 * CAIRN_AUDIT_MAX_SEGMENTS)

/* The encoding above (192 + 4 * nsegments bytes) into out (cap bytes),
 * its length in *len.  CAIRN_EINVAL for nsegments above the maximum, too
 * small a cap, or fields that disagree (docs/commitments.md section 15.3:
 * accepted above 1, a check above 10, accepted with a failed check, ...);
 * so _digest and _sign refuse such a verdict too (CAIRN_EINVAL). */
int cairn_audit_verdict_encode(const struct cairn_audit_verdict *v,
                               uint8_t *out, size_t cap, size_t *len);

/* Decodes an encoding (what a verdict file's "verdict" field holds) into
 * *v (signature zeroed: it travels beside the encoding).  CAIRN_EFORMAT
 * for a length that is not 192 + 4 * n, n above the maximum or fields
 * that disagree (as for _encode); err says which. */
int cairn_audit_verdict_decode(const uint8_t *buf, size_t len,
                               struct cairn_audit_verdict *v, char *err,
                               size_t errlen);

/* H(VERDICT header || encoding of v) (auditor_key included, signature
 * not).  CAIRN_EINVAL for nsegments above the maximum. */
int cairn_audit_verdict_digest(const struct cairn_audit_verdict *v,
                               uint8_t out[CAIRN_HASH_BYTES]);

/* Sets v->auditor_key to id's public key and signs the digest with
 * cairn_identity_sign into v->signature. */
int cairn_audit_verdict_sign(const struct cairn_identity *id,
                             struct cairn_audit_verdict *v);

/* 0 when v->signature is v->auditor_key's signature of v; CAIRN_ECRYPTO
 * when not. */
int cairn_audit_verdict_verify(const struct cairn_audit_verdict *v);

#ifdef __cplusplus
}
#endif
#endif
