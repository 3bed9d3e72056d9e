/* cairn: signed result bundles (DESIGN.md sections 4 to 6): one file per
 * task holding the spec, the signed result, the trace's state roots, the
 * final state record and the states at t = 0, c, ..., H - c with their
 * tensors, which an auditor may ask for.
 *
 * The file is a protobuf message (include/cairn/bundle.proto), named
 * <task id hex>.cairn; docs/bundle-format.md gives the schema, every check
 * cairn_bundle_read does in order, and what covers which byte.  In short:
 * the signature covers the result; the result names the task id (the hash
 * of the spec bytes), the trace root (over the state roots) and the final
 * parameters root; every checkpoint's tensors hash to the state root of
 * its entry.  A reader accepts only the canonical encoding, so no byte of
 * an accepted file can change without the signature or a hash failing.
 *
 * A worker collects a bundle while it runs the task:
 *
 *     cairn_bundle_begin(&b, &spec);
 *     cairn_task_run(m, &spec, ds, droot, w_r, &trace,
 *                    cairn_bundle_checkpoint, &b, err, errlen);
 *     cairn_bundle_finish(&b, &trace, &id, "cuda");
 *     cairn_bundle_filename(&spec, name, sizeof name);
 *     cairn_bundle_write(&b, path, err, errlen);
 *     cairn_bundle_free(&b);
 *
 * and an auditor or the scheduler reads it back, all checks done, with
 * cairn_bundle_read (or cairn_bundle_decode for bytes already in memory).
 * An auditor that replays a few segments reads it with
 * cairn_bundle_read_lazy instead: every check but the hashing of the
 * checkpoints' tensors, which cairn_bundle_check_checkpoint (into the
 * bundle) or cairn_bundle_load_checkpoint (into a model) then does for
 * the checkpoints it uses, before it uses them.
 *
 * An SGD task's bundle leaves v out of its checkpoints (v is +0 in every
 * state of the task): the writer omits it, and every reader supplies
 * param_count zero floats (a checkpoint's v array, or the model's V
 * buffer, holds +0) and refuses an SGD bundle that carries v
 * (docs/bundle-format.md section 2.1).
 *
 * Floats are stored as their little-endian bytes; libcairn builds on
 * little-endian hosts only (checked at compile time).
 *
 * Errors: functions return 0 or a negative CAIRN_E* code (cairn/error.h);
 * those that take err write one line into it (errlen bytes, always
 * NUL-terminated; err may be NULL) naming the file, what is wrong with
 * which value, and what to do, with no "cairn: " prefix.
 *   CAIRN_EINVAL    bad argument; an incomplete bundle; a path that is not
 *                   a regular file
 *   CAIRN_ENOENT    no such file (read); no such directory (write)
 *   CAIRN_EEXIST    write: the path exists (it is never replaced)
 *   CAIRN_EPERM     the OS refused access
 *   CAIRN_EIO       a read, write, fsync or link failed, or the file
 *                   changed size while being read (or, lazily read,
 *                   before a checkpoint was loaded)
 *   CAIRN_ERANGE    read: a file larger than the limit (checked before
 *                   reading a byte)
 *   CAIRN_EFORMAT   read: not a canonical bundle message, a wrong format
 *                   number, a field of the wrong length or count, a spec
 *                   or result that does not decode, checkpoints out of
 *                   order
 *   CAIRN_ECRYPTO   read: the signature, or a hash the signature covers,
 *                   does not verify (task id, trace root, a state root,
 *                   the final parameters root)
 *   CAIRN_EMISMATCH read: a signed claim that contradicts the spec (the
 *                   work done, the state at t = 0 not being W_r with zero
 *                   moments); begin/checkpoint/finish: the run does not
 *                   match what was collected
 *   CAIRN_ENOMEM    out of memory */
#ifndef CAIRN_BUNDLE_H
#define CAIRN_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include "cairn/attest.h"
#include "cairn/identity.h"
#include "cairn/model.h"
#include "cairn/task.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CAIRN_BUNDLE_FORMAT 2
/* Largest file cairn_bundle_read accepts (8 GiB).  A reader holds the
 * tensors it hands out (about the file's size; none for a lazy read) and
 * a few KiB besides. */
#define CAIRN_BUNDLE_MAX_BYTES (UINT64_C(8) << 30)
#define CAIRN_BUNDLE_SUFFIX ".cairn"
/* "<64 hex digits>.cairn" and a NUL. */
#define CAIRN_BUNDLE_FILENAME_BYTES (CAIRN_HASH_HEX_BYTES - 1 + 6 + 1)

/* The state after step t and its tensors: host arrays of param_count
 * floats each, in the model's parameter layout, owned by the bundle.  In
 * a lazily read bundle the tensors are NULL, and the state holds only
 * the step, samples and loss bits (its tensor roots zero), until
 * cairn_bundle_check_checkpoint has checked and loaded them. */
struct cairn_bundle_checkpoint {
	struct cairn_state state;
	float *params, *m, *v;
};

/* Where a lazily read bundle's tensors are: its open file (private). */
struct cairn_bundle_source;
/* Where a bundle being collected keeps its checkpoints' tensors with
 * cairn_bundle_spool: a mapped, unlinked file (private). */
struct cairn_bundle_spool;

/* One task's bundle.  Everything it points to is owned by it and freed by
 * cairn_bundle_free. */
struct cairn_bundle {
	struct cairn_task_spec spec;
	struct cairn_task_result result;
	uint8_t signature[CAIRN_SIGNATURE_BYTES];
	uint32_t nstates;               /* H / c + 1 */
	uint8_t *state_roots;           /* [nstates][32], t = 0, c, ..., H */
	struct cairn_state final_state; /* t = H; step 0 until collected */
	uint8_t *steps;        /* the step log, [H][36] (t = 1..H); NULL until
	                        * cairn_bundle_finish */
	uint32_t ncheckpoints; /* collected so far; nstates - 1 when complete */
	struct cairn_bundle_checkpoint *checkpoints; /* [nstates - 1] */
	int64_t param_count; /* floats in each tensor of the spec's model */
	/* cairn_bundle_read_lazy: the file the tensors not yet loaded are
	 * read from (closed by cairn_bundle_free); NULL otherwise. */
	struct cairn_bundle_source *source;
	/* cairn_bundle_spool: the file the checkpoints' tensors are in
	 * (they point into its mapping; cairn_bundle_free unmaps it). */
	struct cairn_bundle_spool *spool;
};

/* Starts collecting a bundle for spec: zeroes *b (which must not hold a
 * bundle: free it first), copies spec and allocates state_roots and the
 * checkpoint array (the tensors come one checkpoint at a time).
 * CAIRN_EINVAL for a spec that fails cairn_task_spec_check; CAIRN_ENOMEM.
 * On failure *b is zeroed and holds nothing. */
int cairn_bundle_begin(struct cairn_bundle *b,
                       const struct cairn_task_spec *spec);

/* Right after cairn_bundle_begin: the checkpoints' tensors will go into
 * a file under dir, made for this bundle and unlinked at once, its whole
 * size reserved now (posix_fallocate), written with pwrite and read
 * through a read-only mapping, rather than into heap memory: the
 * reference job's 25 checkpoints are 560 MB a task, which the kernel may
 * then write back and evict instead of holding them.  The checkpoints'
 * tensors are then read-only.  Nothing else changes (the bytes,
 * cairn_bundle_write).  pending: the size of a bundle still to be
 * written under dir before this one (cairn_bundle_file_bytes; 0 for
 * none), which frees its own checkpoints' file once written.  Fails with
 * err (CAIRN_EIO: dir cannot hold the file, with the reason, such as no
 * space, or has too little space left beside it for the larger of this
 * bundle and the pending one, which cairn_bundle_write will put there
 * (statvfs now: a guess, not a reservation); CAIRN_ENOMEM; CAIRN_EINVAL:
 * b not just begun) and leaves b as it was. */
int cairn_bundle_spool(struct cairn_bundle *b, const char *dir,
                       uint64_t pending, char *err, size_t errlen);

/* About the size of the file cairn_bundle_write will make of b, once
 * complete (begun: the spec fixes it): its checkpoints' tensors, the step
 * log and 64 KiB for the rest.  0 for a bundle not begun. */
uint64_t cairn_bundle_file_bytes(const struct cairn_bundle *b);

/* A cairn_task_checkpoint_fn; ud is the bundle.  For t < H it copies the
 * model's parameters, m and v to host arrays, or with cairn_bundle_spool
 * into its file (cairn_model_read, or cairn_committer_read), and keeps
 * them with st and root (SGD: v is not read; it holds zeros); at t = H it
 * keeps st as final_state (and root).  Checkpoints must come in order
 * t = 0, c, 2c, ..., H, each once, from a model with the spec's parameter
 * count: anything else is CAIRN_EINVAL and changes nothing (so one bundle
 * collects one run; to run again, cairn_bundle_free and begin again).
 * CAIRN_ENOMEM, CAIRN_EIO (the spool's file), or a read error. */
int cairn_bundle_checkpoint(void *ud, const struct cairn_state *st,
                            const uint8_t root[CAIRN_HASH_BYTES],
                            cairn_model *m);

/* The same for a task run with a background committer (struct
 * cairn_task_trace): ud is a struct cairn_bundle_bg; a checkpoint with a
 * model is read from it (none, when cairn_task_run has a committer: t = 0
 * is collected from it too), the others from the committer's snapshot of
 * the state just collected (cairn_committer_read).  The bundle's bytes
 * are those a run without the committer collects. */
struct cairn_bundle_bg {
	struct cairn_bundle *bundle; /* borrowed */
	cairn_committer *committer;  /* borrowed: the trace's */
};
int cairn_bundle_checkpoint_bg(void *ud, const struct cairn_state *st,
                               const uint8_t root[CAIRN_HASH_BYTES],
                               cairn_model *m);

/* After cairn_task_run succeeded with cairn_bundle_checkpoint on b: checks
 * that trace holds the state roots collected (CAIRN_EMISMATCH if not, and
 * CAIRN_EINVAL for a bundle missing checkpoints), that its trace root and
 * final parameters root are those of the collected states, and that its
 * step log (trace->steps, H records) has its steps root and agrees with
 * the collected states' samples and losses; then copies the step log,
 * fills b->result (task id, id's public key, trace root, final parameters
 * root, steps root, cairn_task_flops, device_class: 1 to 31 characters of
 * [a-z0-9._-], such as cairn_backend_name gives) and signs it with id,
 * then verifies the signature (CAIRN_ECRYPTO for an identity whose public
 * key is not its secret key's).  For an SGD spec every collected state's
 * v root must be the root of param_count zero floats (CAIRN_EMISMATCH),
 * as its bundle carries no v.  trace->state_roots must hold b->nstates
 * roots.  On
 * failure result and signature stay zeroed and the collected states are
 * kept, so finish may be called again. */
int cairn_bundle_finish(struct cairn_bundle *b,
                        const struct cairn_task_trace *trace,
                        const struct cairn_identity *id,
                        const char *device_class);

/* Writes b to a new file at path, atomically: the bytes go to a temporary
 * file in path's directory (mode 0644 less the umask), which is fsync'd
 * and linked to path without replacing anything (renameat2
 * RENAME_NOREPLACE, or link + unlink), then the directory is fsync'd.  An
 * existing path is CAIRN_EEXIST and left untouched.  b must be complete
 * (nstates - 1 checkpoints, final state and state roots present; else
 * CAIRN_EINVAL); its signature and roots are written as they are, not
 * checked (cairn_bundle_read checks them).  The file's size is about
 * 3 * 4 * param_count * (nstates - 1) bytes plus 1 KiB (2 * 4 * ... for
 * SGD, whose v is not written).  A lazily read
 * bundle can be written once every checkpoint has been checked
 * (cairn_bundle_check_checkpoint). */
int cairn_bundle_write(const struct cairn_bundle *b, const char *path,
                       char *err, size_t errlen);

/* Whether cairn_bundle_write could take path: 0 when nothing is there and
 * its directory is writable; CAIRN_EEXIST (with write's own "already
 * exists" message in err) when something is there, the directory's error
 * (CAIRN_ENOENT, CAIRN_EPERM) when it is not, CAIRN_EINVAL for a path
 * ending in '/'.  For refusing a
 * task before it runs rather than after; the write still decides. */
int cairn_bundle_path_check(const char *path, char *err, size_t errlen);

/* Reads the bundle at path into *b and checks everything (the list, in
 * order, is in docs/bundle-format.md): the size from fstat before reading
 * (at most CAIRN_BUNDLE_MAX_BYTES, else CAIRN_ERANGE), the encoding, the
 * format, the spec, the result, the task id, the signature, the state
 * roots and the trace root, the final state, and every checkpoint's steps,
 * lengths and tensors against its state root.  b need not be initialised
 * (it is overwritten, so it must not hold a bundle).  On success the
 * caller owns *b (cairn_bundle_free); on failure *b is zeroed, holds
 * nothing, and err names the file, the check, and the checkpoint and step
 * where there is one. */
int cairn_bundle_read(const char *path, struct cairn_bundle *b, char *err,
                      size_t errlen);

/* cairn_bundle_read with another size limit (max_bytes). */
int cairn_bundle_read_max(const char *path, uint64_t max_bytes,
                          struct cairn_bundle *b, char *err, size_t errlen);

/* The checks and result of cairn_bundle_read for a bundle's bytes already
 * in memory (received from the network, say); name labels the bytes in
 * messages (NULL: "bundle").  buf is only read during the call. */
int cairn_bundle_decode(const uint8_t *buf, size_t len, const char *name,
                        struct cairn_bundle *b, char *err, size_t errlen);

/* cairn_bundle_read's checks but one: it hashes no checkpoint's tensors
 * (docs/bundle-format.md section 4.1).  The encoding of the whole file,
 * the spec, the result, its signature, the state roots, the final state
 * and every checkpoint's step and lengths are checked as
 * cairn_bundle_read checks them; the start is checked on its commitment:
 * state root 0 must be the root of the task's start (W_r, m = v = +0, no
 * samples, loss 0), else CAIRN_EMISMATCH.  The tensors are not read: *b's
 * checkpoints hold their step, samples and loss only, and b->source keeps
 * the file open (one descriptor) until cairn_bundle_free.  Before a
 * checkpoint's tensors are used, cairn_bundle_check_checkpoint or
 * cairn_bundle_load_checkpoint must check them; a checkpoint that is never
 * used is never read.  The reader reads a few KiB of the file. */
int cairn_bundle_read_lazy(const char *path, struct cairn_bundle *b, char *err,
                           size_t errlen);

/* Which check of docs/bundle-format.md section 4 refused a well-formed
 * bundle (the reader returned CAIRN_ECRYPTO or CAIRN_EMISMATCH), and what
 * the file claims: plain data.  step is 12 (task id), 14 (signature), 15
 * (work), 17 (trace root), 19 or 20 (final state), 22 or 23 (the step
 * log), 26 (a checkpoint's samples or loss against the step log), 27 (a
 * checkpoint's tensors) or 28 (the start); checkpoint is the checkpoint
 * of 26 to 28, else UINT32_MAX.  spec and result are the file's, task_id
 * its spec's task id.  Step 0, checkpoint UINT32_MAX and the rest zero when the
 * reader returned anything else. */
struct cairn_bundle_refusal {
	int step;
	uint32_t checkpoint;
	struct cairn_task_spec spec;
	struct cairn_task_result result;
	uint8_t task_id[CAIRN_HASH_BYTES];
};

/* How cairn_bundle_read_ex reads (zeroed: as cairn_bundle_read). */
struct cairn_bundle_read_opts {
	uint64_t max_bytes; /* the size limit; 0: CAIRN_BUNDLE_MAX_BYTES */
	int lazy;           /* 1: as cairn_bundle_read_lazy */
};

/* cairn_bundle_read (o NULL or zeroed), _read_max or _read_lazy, saying
 * in *why (optional) which check refused the bundle. */
int cairn_bundle_read_ex(const char *path,
                         const struct cairn_bundle_read_opts *o,
                         struct cairn_bundle *b,
                         struct cairn_bundle_refusal *why, char *err,
                         size_t errlen);

/* cairn_bundle_decode, saying in *why (optional) which check refused the
 * bundle. */
int cairn_bundle_decode_ex(const uint8_t *buf, size_t len, const char *name,
                           struct cairn_bundle *b,
                           struct cairn_bundle_refusal *why, char *err,
                           size_t errlen);

/* Checks checkpoint i (< nstates - 1) of a lazily read bundle as
 * cairn_bundle_read does (docs/bundle-format.md section 4, steps 27 and
 * 28): reads its tensors from b->source, hashes them on the host into the
 * record with its step, samples and loss, which must have state root
 * state_roots[i] (else CAIRN_ECRYPTO: check 'reveal'); checkpoint 0 must
 * be the task's start (else CAIRN_EMISMATCH).  The same messages as
 * cairn_bundle_read's.  On success b->checkpoints[i] holds the tensors
 * (owned by b) and the whole record.  A checkpoint whose tensors b holds
 * already (read in full, checked before, or collected) is not checked
 * again: 0.  On failure b is unchanged.  CAIRN_EINVAL for a bad argument;
 * CAIRN_EIO when the file shrank or cannot be read; CAIRN_ENOMEM. */
int cairn_bundle_check_checkpoint(struct cairn_bundle *b, uint32_t i, char *err,
                                  size_t errlen);

/* Loads checkpoint i's parameters, m and v into model m (made for the
 * spec's model) and checks them, for a replay from it.  Tensors b holds
 * were checked when it was read (or collected): their record must be
 * trace entry i, else CAIRN_ECRYPTO (and checkpoint 0's the start, else
 * CAIRN_EMISMATCH).  Tensors of a lazily read bundle are
 * read from its file into m and hashed where they now are, on m's backend
 * (cairn_tensor_root_on), then checked as cairn_bundle_check_checkpoint
 * checks them (CAIRN_ECRYPTO, CAIRN_EMISMATCH, the same messages).  st
 * (optional) receives the checkpoint's record.  b is only read.  On a
 * failure m holds no particular state.  CAIRN_EINVAL for a bad argument
 * or a model of another size; CAIRN_EIO; CAIRN_ENOMEM; a backend error. */
int cairn_bundle_load_checkpoint(const struct cairn_bundle *b, uint32_t i,
                                 cairn_model *m, struct cairn_state *st,
                                 char *err, size_t errlen);

/* Frees what b owns (a lazily read bundle's file included) and zeroes it;
 * b may be NULL or zeroed. */
void cairn_bundle_free(struct cairn_bundle *b);

/* The file name of spec's bundle: "<task id, 64 lower-case hex>.cairn"
 * into out (at least CAIRN_BUNDLE_FILENAME_BYTES, else CAIRN_EINVAL). */
int cairn_bundle_filename(const struct cairn_task_spec *spec, char *out,
                          size_t outlen);

#ifdef __cplusplus
}
#endif
#endif
