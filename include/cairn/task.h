/* cairn: tasks (DESIGN.md sections 4 and 5): the task spec, its canonical
 * encoding and id, running a task's H inner steps with its commitment trace,
 * and the signed result.
 *
 * A task is round r, task k of a job: H inner steps of the spec's optimizer
 * (AdamW, or SGD with Nesterov momentum: cairn_optim) from the round's
 * global parameters W_r on samples drawn by cairn_sample_indices(seed, r, k,
 * t, ...).  Each task starts with the optimizer's state (m and v) at +0
 * and AdamW's step counter at 1: a task depends on its spec and W_r alone, so
 * any worker can run (or re-run) it and give the same bits.
 *
 * The state after step t is committed by its state root (cairn/attest.h);
 * the states at t = 0, c, 2c, ..., H (c = checkpoint_every, which divides H)
 * are the trace.  The state at t = 0 is W_r with m = v = +0, the samples
 * digest of the empty list and loss bits 0.
 *
 * Every step t = 1..H also leaves a record (its samples digest and loss
 * bits) in the step log, whose root (cairn_step_log_root) lets an auditor
 * name the first step of a segment that differs.
 *
 * The result binds the task id (the hash of the spec's encoding), the
 * worker's public key, the trace root, the final parameters root, the
 * steps root, the work done and the device class; the worker signs its
 * encoding.  docs/commitments.md sections 11 to 13 and 16 give every
 * byte.
 *
 * Functions return 0 or a negative CAIRN_E* code; where they take err, a
 * failure leaves one line there saying what was wrong, with the value. */
#ifndef CAIRN_TASK_H
#define CAIRN_TASK_H

#include <stddef.h>
#include <stdint.h>

#include "cairn/attest.h"
#include "cairn/dataset.h"
#include "cairn/identity.h"
#include "cairn/model.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CAIRN_TASK_JOB_MAX 32     /* job name: 1..31 chars of [a-z0-9._-] */
#define CAIRN_TASK_PROFILE_MAX 16 /* profile name, NUL-padded */
#define CAIRN_TASK_DEVICE_MAX 32  /* device class, NUL-padded */

/* Limits a decoded spec must respect (a spec from the network is checked
 * against them before anything is allocated). */
#define CAIRN_TASK_MAX_DIM 65536
#define CAIRN_TASK_MAX_PARAMS (INT64_C(1) << 28) /* 1 GiB of floats */
#define CAIRN_TASK_MAX_BATCH 65536
#define CAIRN_TASK_MAX_STEPS 1000000
#define CAIRN_TASK_MAX_STATES 4096 /* H / c + 1 */

/* The reference job's schedule (fmnist-mlp; docs/train.md gives the
 * measurements behind each): R rounds of K tasks of H inner steps, a
 * committed state every C steps, batch 256 (the micro-batch count is
 * CAIRN_MODEL_REFERENCE_MICRO). */
#define CAIRN_REF_JOB_ROUNDS 5
#define CAIRN_REF_JOB_TASKS 2
#define CAIRN_REF_JOB_INNER_STEPS 500
#define CAIRN_REF_JOB_CHECKPOINT_EVERY 20
#define CAIRN_REF_JOB_BATCH 256
#define CAIRN_REF_JOB_SEED 1

struct cairn_task_spec {
	char profile[CAIRN_TASK_PROFILE_MAX]; /* CAIRN_PROFILE_EXACT */
	char job[CAIRN_TASK_JOB_MAX];         /* "fmnist-mlp" */
	uint64_t seed;                        /* the job seed (Philox key) */
	uint32_t round;                       /* r < CAIRN_SAMPLE_ROUND_LIMIT */
	uint32_t task;                        /* k < tasks */
	uint32_t tasks;                       /* K of the round */
	cairn_mlp_spec model;
	uint8_t params_root[CAIRN_HASH_BYTES]; /* tensor root of W_r */
	cairn_optim opt; /* inner optimizer; opt.adamw.step is not part of it */
	uint8_t dataset_root[CAIRN_HASH_BYTES]; /* cairn_dataset_root() */
	uint32_t dataset_count;                 /* samples drawn from */
	uint32_t batch;                         /* B */
	uint32_t micro;                         /* M, divides B */
	uint32_t inner_steps;                   /* H >= 1 */
	uint32_t checkpoint_every;              /* c, divides H */
};

/* Bytes of the canonical encoding (docs/commitments.md section 12). */
#define CAIRN_TASK_SPEC_BYTES 224

/* Checks every field (profile, job name, model dimensions and size,
 * optimizer settings finite and in range, batch, micro, H, c, the task
 * index): 0 or CAIRN_EINVAL with the field and value in err. */
int cairn_task_spec_check(const struct cairn_task_spec *s, char *err,
                          size_t errlen);
/* The canonical encoding of a checked spec (CAIRN_EINVAL if it fails the
 * check). */
int cairn_task_spec_encode(const struct cairn_task_spec *s,
                           uint8_t out[CAIRN_TASK_SPEC_BYTES]);
/* Decodes and checks; CAIRN_EFORMAT for a wrong length, non-zero padding
 * or a field that fails the check (err says which). */
int cairn_task_spec_decode(const uint8_t *buf, size_t len,
                           struct cairn_task_spec *s, char *err, size_t errlen);
/* The task id: H(TASK header || encoding). */
int cairn_task_id(const struct cairn_task_spec *s,
                  uint8_t out[CAIRN_HASH_BYTES]);

/* States in the trace: H / c + 1 (0 for a spec that fails the check). */
uint32_t cairn_task_state_count(const struct cairn_task_spec *s);
/* The GEMM work of the task in floating-point operations:
 * H * B * 6 * sum over layers of d[l] * d[l+1]. */
uint64_t cairn_task_flops(const struct cairn_task_spec *s);

/* The dataset root: H(DATASET header || u32le count ||
 * tensor root of the images' bytes || tensor root of the labels' bytes). */
int cairn_dataset_root(const cairn_dataset *ds, uint8_t out[CAIRN_HASH_BYTES]);

/* ---- running a task ------------------------------------------------------ */

/* Called at every checkpoint (t = 0, c, ..., H), after the state root is
 * computed, with the model holding that state (parameters, m and v in
 * their buffers): a bundle writer reads them with cairn_model_read().  A
 * non-zero return stops the run with that code.  With a background
 * committer (struct cairn_task_trace) m is NULL, and the state's tensors
 * are read from the committer (cairn_committer_read); the callbacks come
 * in order, each later than its state (mostly while the step after the
 * next checkpoint is in flight, when the model refuses reads and
 * writes). */
typedef int (*cairn_task_checkpoint_fn)(void *ud, const struct cairn_state *st,
                                        const uint8_t root[CAIRN_HASH_BYTES],
                                        cairn_model *m);

/* ---- background commits ----------------------------------------------
 * Hashing a state takes a GPU about a millisecond however it is spread: a
 * tensor root is over 64 KiB chunks, each one sequential BLAKE2b (about
 * 0.8 ms of dependent 64-bit operations), and that is many training
 * steps.  A committer hides it behind training: at a checkpoint it
 * queues copies of the parameters, m and v (but a tensor that is +0 by
 * definition, cairn_task_zero_tensors) into its own snapshots on
 * three more backends of the same kind and device (three CUDA streams, so
 * the three tensors hash side by side), ordered after the model's last
 * step and before its next one on the device (cairn_backend_wait_for),
 * queues their chunk hashes there and returns.  It has two such snapshot
 * slots, so a checkpoint can start its state's hashing before the state
 * of the checkpoint before is collected: cairn_task_run collects that
 * one while the device computes the next step.  The roots are the roots
 * cairn_task_commit_state gives, byte for byte.  One committer serves one
 * task at a time; it owns its backends and buffers (two slots of three
 * tensors of nparams floats, about 45 MB for the reference model). */
typedef struct cairn_committer cairn_committer;

/* Opens a committer for models of nparams parameters on be (six more
 * backends of be's kind and device are opened, three per slot; cpu: one
 * thread each). */
int cairn_committer_open(cairn_backend *be, int64_t nparams,
                         cairn_committer **out);
void cairn_committer_close(cairn_committer *c);

/* Snapshots the state m holds after step t into the next free slot (the
 * copy ordered after m's queued work, m's later work after the copy) and
 * queues its hashing; samples and loss_bits are kept for the state
 * record.  zero (cairn_task_zero_
 * tensors) names the optimizer tensors that are +0 by definition: those
 * are neither copied nor hashed, and their roots are cairn_tensor_zero_
 * root's.  CAIRN_EINVAL when both slots are pending (collect one first),
 * m does not fit the committer or zero has another bit.
 * cairn_task_run calls these two; a benchmark may too. */
int cairn_committer_start(cairn_committer *c, cairn_model *m, unsigned zero,
                          uint64_t t, const uint8_t samples[CAIRN_HASH_BYTES],
                          uint32_t loss_bits);

/* Waits for the hashes of the oldest snapshot started and not collected
 * and fills *st (roots, step, samples, loss) with *had = 1; with nothing
 * pending, *had = 0.  On an error every pending snapshot is forgotten. */
int cairn_committer_collect(cairn_committer *c, struct cairn_state *st,
                            int *had);

/* Copies one tensor (CAIRN_MODEL_PARAMS, _M or _V: nparams floats) of the
 * state last collected to host memory: the bytes its root was computed
 * from (a tensor +0 by definition, cairn_task_zero_tensors: zeros).  Valid
 * from a collect that had a state until a start reuses its slot (the
 * start that leaves two snapshots pending) or an error; else
 * CAIRN_EINVAL.  The checkpoint
 * callback of a task run with a committer reads its state's tensors
 * here. */
int cairn_committer_read(cairn_committer *c, cairn_model_buf which,
                         float *host);

/* How many tensors c has queued for hashing since it was opened (a tensor
 * +0 by definition is not hashed, so not counted): what a run's
 * commitments cost the device, for tests and measurements; 0 for NULL. */
int64_t cairn_committer_tensors_hashed(const cairn_committer *c);

/* What running a task yields.  state_roots, losses and steps are caller
 * memory: cairn_task_state_count() * 32 bytes, inner_steps floats and
 * inner_steps * CAIRN_STEP_RECORD_BYTES bytes.  committer is an input:
 * NULL commits every checkpoint where it falls; with a committer the
 * states t = 0, c, ..., H are committed in the background, and the
 * checkpoint callback runs for them once their roots are known (at the
 * next checkpoint, or the task's end) with m = NULL; it reads the state's
 * tensors with cairn_committer_read (a bundle writer:
 * cairn_bundle_checkpoint_bg). */
struct cairn_task_trace {
	cairn_committer *committer; /* borrowed; may be NULL */
	uint8_t *state_roots;       /* [n][32], t = 0, c, ..., H */
	float *losses;              /* loss of step t at losses[t - 1] */
	uint8_t *steps;             /* [H][36]: step t's record at t - 1 */
	uint8_t trace_root[CAIRN_HASH_BYTES];
	uint8_t steps_root[CAIRN_HASH_BYTES]; /* cairn_step_log_root */
	uint8_t final_params_root[CAIRN_HASH_BYTES];
	/* Input: with a committer, cairn_task_run returns as soon as the
	 * state at t = H is snapshotted, its roots still being computed
	 * (pending = 1): the trace root, the steps root, the final
	 * parameters root and the last checkpoint's callback come with
	 * cairn_task_finish, which the caller calls once it has queued
	 * other work for the device, such as the next task on another
	 * committer (the model is free meanwhile).  The committer serves no
	 * other task until then. */
	int defer_end;
	int pending; /* output: cairn_task_finish is still to be called */
	/* Wall time the run spent waiting on commitments: t0, records,
	 * checkpoint and end seconds below, plus digest_seconds and
	 * deferred_seconds except on a GPU (a CUDA model backend), where
	 * those run while the device computes a step. */
	double hash_seconds;
	struct {
		double t0_seconds;         /* the state at t = 0 (with a
		                            * committer: its snapshot) */
		double records_seconds;    /* the step records */
		double checkpoint_seconds; /* t = c, 2c, ..., H: hashing,
		                            * or the snapshot (at t = H
		                            * also the collect of H - c) */
		double end_seconds;        /* with a committer: waiting for
		                            * the roots of t = H */
		double digest_seconds;     /* the steps' sample digests */
		double deferred_seconds;   /* with a committer: the collects
		                            * run while the device computes the
		                            * next step, with their callbacks */
		double collect_seconds;    /* with a committer: of the t0,
		                            * checkpoint, end and deferred
		                            * seconds, those in
		                            * cairn_committer_collect (the
		                            * device's hashing not yet done,
		                            * the leaves read back, the roots) */
	} commit;
};

/* Runs the task: loads w_r (host, param_count floats) into m, checks that
 * its root is the spec's params_root and that dataset_root is the spec's
 * (CAIRN_EMISMATCH, err says which; with a committer the root of w_r is
 * known, and checked, only when the state at t = 0 is collected, during
 * step c + 1), zeroes m and v, commits the state at t = 0, runs steps 1..H,
 * records every step (trace->steps) and commits every c-th state; then the
 * trace root and the steps root.  m must have the spec's model, max batch >= B
 * and max micro >= M; ds is the training split whose root is dataset_root
 * (computed once by the caller).  On success the model holds the final state.
 */
int cairn_task_run(cairn_model *m, const struct cairn_task_spec *spec,
                   const cairn_dataset *ds,
                   const uint8_t dataset_root[CAIRN_HASH_BYTES],
                   const float *w_r, struct cairn_task_trace *trace,
                   cairn_task_checkpoint_fn cb, void *ud, char *err,
                   size_t errlen);

/* Completes a trace that cairn_task_run left pending (defer_end): waits
 * for the roots of the state at t = H, calls cb for it (m = NULL), and
 * computes the trace root, the steps root and the final parameters root.
 * spec, cb and ud must be those of the run.  Its wait is added to
 * commit.end_seconds and hash_seconds.  CAIRN_EINVAL when nothing is
 * pending; on any failure the committer's snapshot is dropped. */
int cairn_task_finish(struct cairn_task_trace *trace,
                      const struct cairn_task_spec *spec,
                      cairn_task_checkpoint_fn cb, void *ud, char *err,
                      size_t errlen);

/* Runs steps t0 + 1 .. t1 (0 <= t0 < t1 <= H) from the state the model
 * holds (the state after t0, loaded by the caller), as cairn_task_run does
 * them, and writes the state after t1 to *end (its root: cairn_state_root).
 * records ((t1 - t0) * CAIRN_STEP_RECORD_BYTES bytes) receives each step's
 * record, as trace->steps does; it may be NULL.  The end state's roots of
 * the tensors that are +0 by definition (cairn_task_zero_tensors: SGD's
 * v) are the zero tensor's whatever m holds there, so the caller loads
 * them as +0 (cairn_bundle_load_checkpoint does).  The auditor's
 * re-execution. */
int cairn_task_replay(cairn_model *m, const struct cairn_task_spec *spec,
                      const cairn_dataset *ds, uint32_t t0, uint32_t t1,
                      struct cairn_state *end, uint8_t *records, char *err,
                      size_t errlen);

/* Bits of zero: optimizer tensors of a state that are +0 by definition. */
#define CAIRN_STATE_ZERO_M 1u
#define CAIRN_STATE_ZERO_V 2u

/* The tensors of spec's state at step t that are +0 by definition
 * (docs/commitments.md section 5): m and v at t = 0 (the task's start),
 * and v at every t with SGD. */
unsigned cairn_task_zero_tensors(const struct cairn_task_spec *spec,
                                 uint64_t t);

/* The state record of what the model holds after step t: the tensor roots
 * of its parameters, m and v (chunk hashes on the model's backend), the
 * given samples digest and loss.  The tensors zero names
 * (cairn_task_zero_tensors) are not read: their roots are
 * cairn_tensor_zero_root's.  CAIRN_EINVAL when zero has another bit. */
int cairn_task_commit_state(cairn_model *m, unsigned zero, uint64_t t,
                            const uint8_t samples[CAIRN_HASH_BYTES], float loss,
                            struct cairn_state *st);

/* ---- results ---------------------------------------------------------- */

struct cairn_task_result {
	uint8_t task_id[CAIRN_HASH_BYTES];
	uint8_t worker_key[CAIRN_PUBLIC_KEY_BYTES];
	uint8_t trace_root[CAIRN_HASH_BYTES];
	uint8_t final_params_root[CAIRN_HASH_BYTES];
	uint8_t steps_root[CAIRN_HASH_BYTES];     /* cairn_step_log_root */
	uint64_t flops;                           /* cairn_task_flops() */
	char device_class[CAIRN_TASK_DEVICE_MAX]; /* "cpu", "cuda", "ref" */
};

#define CAIRN_TASK_RESULT_BYTES 200

/* u8[32] task id || u8[32] key || trace root || final params root ||
 * steps root || u64le flops || device class (32 bytes, NUL-padded). */
int cairn_task_result_encode(const struct cairn_task_result *r,
                             uint8_t out[CAIRN_TASK_RESULT_BYTES]);
int cairn_task_result_decode(const uint8_t *buf, size_t len,
                             struct cairn_task_result *r, char *err,
                             size_t errlen);
/* Signs H(RESULT header || encoding) with id (whose public key must be
 * r->worker_key, else CAIRN_EINVAL). */
int cairn_task_result_sign(const struct cairn_identity *id,
                           const struct cairn_task_result *r,
                           uint8_t sig[CAIRN_SIGNATURE_BYTES]);
/* 0 when sig is r->worker_key's signature of r; CAIRN_ECRYPTO when not. */
int cairn_task_result_verify(const struct cairn_task_result *r,
                             const uint8_t sig[CAIRN_SIGNATURE_BYTES]);

#ifdef __cplusplus
}
#endif
#endif
