/* cairn: the model (an MLP), one training step, evaluation and the sample
 * indices of a step (DESIGN.md sections 3 and 4).
 *
 * Everything here is built on the public op API (cairn/kernels.h), so it
 * runs unchanged on the ref, cpu and cuda backends and gives the same bits
 * on each.  The conventions below are part of the exact profile: a task's
 * result depends on them, so changing one changes every root.
 *
 * ---- the network --------------------------------------------------------
 * An MLP with L = nhidden + 1 linear layers.  dims: d[0] = input,
 * d[1..nhidden] = hidden, d[L] = classes.  Layer l (0-based) maps d[l] to
 * d[l+1]:
 *     Z_l = X_l . W_l^T + b_l     (cairn_gemm NT, then cairn_bias_add)
 *     X_{l+1} = act(Z_l)          (not after the last layer)
 * and the logits Z_{L-1} go through softmax cross-entropy (cairn_xent_fwd).
 *
 * ---- parameter layout ---------------------------------------------------
 * All parameters live in ONE contiguous backend buffer of
 * cairn_model_param_count() floats, with no padding, in this order:
 *     W_0 [d1 x d0] row-major, b_0 [d1], W_1 [d2 x d1], b_1 [d2], ...
 * Tensor i of the model is W_{i/2} for even i and b_{i/2} for odd i
 * (cairn_model_tensor() gives offsets).  The gradient buffer and the
 * optimizer's state buffers m and v (AdamW's first and second moments;
 * SGD's momentum buffer and zeros) have exactly the same layout, so one
 * element-wise update covers everything and each buffer hashes as one
 * tensor.  Weight decay applies to every parameter, biases included
 * (PyTorch's AdamW default).
 *
 * ---- loss and gradient scale --------------------------------------------
 * For a batch of B rows with per-row losses loss[r] (cairn_xent_fwd):
 *     S    = cairn_sum(loss)              (one chain, rows ascending, from +0)
 *     loss = S / (float)B                 (one IEEE division, on the host)
 * The gradient of the mean: cairn_xent_bwd with
 *     scale = 1.0f / (float)B             (the correctly rounded float;
 *                                          exact when B is a power of two)
 * Then from the last layer to the first:
 *     dX_l = dZ_l . W_l                   (cairn_gemm NN; not for l = 0)
 *     dZ_{l-1} = act_bwd(Z_{l-1}, dX_l)   (relu_bwd or gelu_bwd)
 * and the parameter gradients by micro-batch (below).
 *
 * ---- micro-batches: the shape of every reduction over rows ---------------
 * A step has a micro-batch count M (the argument `micro`), part of the
 * task spec like the batch size B: 1 <= M <= the model's max micro, and M
 * divides B (else CAIRN_EINVAL).  Micro-batch i (i = 0..M-1) is the rows
 * i*k .. i*k + k - 1 of the batch, k = B / M.  Everything above is row-
 * independent (activations, per-row losses, dZ with scale 1/B, dX, the
 * activation backward): row r's values do not depend on the other rows, so
 * they are computed over the whole batch at once, with the same bits as
 * per micro-batch.  Only the sums over rows depend on M; for each layer l
 * and each micro-batch i, over its rows only:
 *     dW_l,i = dZ_l,i^T . X_l,i           (cairn_gemm TN, k rows ascending,
 *                                          from +0)
 *     db_l,i = cairn_bias_grad(dZ_l,i)    (k rows ascending, from +0)
 * and the gradient is their sum in micro-batch order (cairn_sum_n):
 *     dW_l = (...((dW_l,0 + dW_l,1) + dW_l,2) ...) + dW_l,M-1
 *     db_l = (...((db_l,0 + db_l,1) + db_l,2) ...) + db_l,M-1
 * With M = 1 there is no sum: one chain of B rows per element (the
 * definition before micro-batches, bit for bit).  The loss stays S / B
 * with S the one chain over all B per-row losses (above), whatever M is.
 * This is what makes a step's bits independent of how many devices ran it
 * (DESIGN.md 2.7): G devices share the M micro-batches, each computes its
 * dW_l,i and db_l,i, and one fixed-order sum_n adds all M of them.  A
 * different M is a different step with other bits.
 *
 * The reference job takes M = CAIRN_MODEL_REFERENCE_MICRO (4 for B = 256:
 * 64 rows per micro-batch).
 *
 * ---- initialisation -------------------------------------------------------
 * PyTorch's nn.Linear default: W_l and b_l ~ U(-k, k) with
 *     k = 1.0f / sqrtf((float)d[l])       (fan_in = d[l])
 * filled by cairn_fill_uniform(key = seed, stream = CAIRN_MODEL_INIT_STREAM
 * + i, offset = 0, lo = -k, hi = k) for tensor i (W_l: i = 2l, b_l:
 * i = 2l + 1).  The gradient, m and v start at +0.
 *
 * ---- sample indices ------------------------------------------------------
 * See cairn_sample_indices().  Under one Philox key (the job seed) the
 * stream space is split: streams with bit 63 set are the model's
 * initialisation; streams with bits 63 and 62 clear are the sampling of
 * (round, task); bit 62 alone is reserved for later uses (dropout).
 *
 * ---- errors and ownership -------------------------------------------------
 * Functions return 0 or a negative CAIRN_E* code (cairn/error.h):
 * CAIRN_EINVAL for bad arguments (NULL, a batch of 0 or above the model's
 * max batch, a micro-batch count out of range or not dividing the batch,
 * bad dimensions), CAIRN_ERANGE for a label outside
 * [0, classes) or a round out of range, CAIRN_ENOMEM, and whatever an op
 * returns.  Host pointers are only read or written during the call. */
#ifndef CAIRN_MODEL_H
#define CAIRN_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "cairn/dataset.h"
#include "cairn/kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CAIRN_MLP_MAX_HIDDEN 8

/* Base of the Philox streams of the initialisation (bit 63 set). */
#define CAIRN_MODEL_INIT_STREAM (UINT64_C(1) << 63)
/* Largest micro-batch count a model accepts (the limit of cairn_sum_n). */
#define CAIRN_MODEL_MAX_MICRO 65536
/* The reference job's micro-batch count, for its batch of 256: 64 rows per
 * micro-batch, so up to 4 GPUs can share one task's step (a bigger rig
 * runs several tasks of the round at once).  Not 8: measured on the
 * 2-core test machine (cpu, AVX2, 2 threads; test_model_learn), a step takes
 * 19.6 ms at M = 1, 23.5 ms at M = 4 (+20%) and 28.5 ms at M = 8 (+45%);
 * the cost was the M - 1 memory-bound additions of every gradient
 * element, not the smaller GEMMs, and it falls on the CPU auditors who
 * re-run tasks.  Since then the cpu backend sums the micro-batches inside
 * one k-segmented GEMM (cairn_gemm_seg), which makes M = 4 cost about
 * what M = 1 does, and M = 8 about 6 % more
 * (bench/results/2026-11-22-cpu-train.md). */
#define CAIRN_MODEL_REFERENCE_MICRO 4
/* Largest round cairn_sample_indices() accepts, plus one (2^30). */
#define CAIRN_SAMPLE_ROUND_LIMIT (UINT32_C(1) << 30)

typedef enum cairn_act { CAIRN_ACT_RELU = 0, CAIRN_ACT_GELU = 1 } cairn_act;

typedef struct cairn_mlp_spec {
	int64_t input;                        /* d[0], >= 1 */
	int nhidden;                          /* 0..CAIRN_MLP_MAX_HIDDEN */
	int64_t hidden[CAIRN_MLP_MAX_HIDDEN]; /* d[1..nhidden], each >= 1 */
	int64_t classes;                      /* d[L], >= 1 */
	cairn_act act;                        /* between layers */
} cairn_mlp_spec;

/* The reference job fmnist-mlp: 784-1024-1024-10, ReLU. */
void cairn_mlp_spec_reference(cairn_mlp_spec *spec);

/* The reference job's AdamW settings: lr 1e-3, betas 0.9 / 0.999,
 * eps 1e-8, weight decay 0.01, and step = 1. */
void cairn_adamw_defaults(cairn_adamw_params *p);

/* ---- the inner optimizer of a step -----------------------------------
 * A task spec names one (docs/commitments.md section 12); both are
 * element-wise over the parameter buffer and keep their state in the
 * model's m and v buffers, which the state roots cover:
 *   CAIRN_OPTIM_ADAMW: cairn_adamw with adamw (adamw.step is t, from 1);
 *     m and v are its moments.
 *   CAIRN_OPTIM_SGD: cairn_nesterov with sgd.lr and sgd.momentum (its
 *     formula gives the bits); m is the momentum buffer, v stays +0.
 *     With momentum 0 it is plain SGD, param - lr * g rounded once, and
 *     m = fmaf(0, m, g) is the step's gradient. */
#define CAIRN_OPTIM_ADAMW 1
#define CAIRN_OPTIM_SGD 2
/* Plain SGD's learning rate for the reference model when none is given
 * (`cairn train --optimizer sgd`; docs/train.md shows the measurement). */
#define CAIRN_OPTIM_SGD_DEFAULT_LR 0.1f

typedef struct cairn_optim {
	uint32_t kind;            /* CAIRN_OPTIM_ADAMW or CAIRN_OPTIM_SGD */
	cairn_adamw_params adamw; /* ADAMW */
	struct {
		float lr, momentum;
	} sgd; /* SGD */
} cairn_optim;

/* AdamW with cairn_adamw_defaults (the reference job's inner optimizer). */
void cairn_optim_defaults(cairn_optim *o);
/* Plain SGD (momentum 0) with learning rate lr. */
void cairn_optim_sgd(cairn_optim *o, float lr);
/* 0 for a known kind with usable settings (AdamW: as cairn_adamw checks
 * them, step >= 1; SGD: lr and momentum finite, lr >= 0, 0 <= momentum
 * < 1), else CAIRN_EINVAL. */
int cairn_optim_check(const cairn_optim *o);
/* The name of a kind: "adamw", "sgd" or "unknown". */
const char *cairn_optim_name(uint32_t kind);

typedef struct cairn_model cairn_model;

/* The four buffers of a model, each cairn_model_param_count() floats in
 * the parameter layout. */
typedef enum cairn_model_buf {
	CAIRN_MODEL_PARAMS = 0,
	CAIRN_MODEL_GRADS = 1,
	CAIRN_MODEL_M = 2, /* AdamW first moment; SGD momentum buffer */
	CAIRN_MODEL_V = 3, /* AdamW second moment; SGD: stays +0 */
	CAIRN_MODEL_NBUFS = 4
} cairn_model_buf;

/* Creates a model on be for batches of up to max_batch rows split into up
 * to max_micro micro-batches (1 <= max_micro <= min(max_batch,
 * CAIRN_MODEL_MAX_MICRO)): parameters, gradients, m and v, the
 * activations of max_batch rows and, when max_micro > 1, one scratch
 * buffer of the largest layer's weights and bias (a micro-batch's
 * gradient of one layer, added into the gradient layer by layer),
 * allocated once.  The buffers' contents are undefined until
 * cairn_model_init() or cairn_model_write().  be is borrowed and must
 * outlive the model.  On success *out is owned by the caller
 * (cairn_model_free); on failure *out is NULL and nothing stays
 * allocated. */
int cairn_model_create(cairn_backend *be, const cairn_mlp_spec *spec,
                       int64_t max_batch, int max_micro, cairn_model **out);

/* ---- devices ------------------------------------------------------------
 * A model may live on several backends at once (the GPUs of one rig, or
 * any backends: the tests use CPU backends): one replica of the
 * parameters, m and v on each, kept equal.  A step's M micro-batches are
 * shared out in contiguous runs (device d takes micro-batches d*M/G ..
 * (d+1)*M/G - 1), each device computes its rows and its micro-batches'
 * gradients, and device 0 adds the M gradients with one cairn_sum_n in
 * micro-batch order and the B row losses with one cairn_sum: exactly the
 * operations of one device, so the bits do not depend on G (DESIGN.md
 * 2.7).  The summed gradient goes back to every device, and each applies
 * the same update.  The bytes move with NCCL when every backend is a
 * distinct GPU and libnccl.so.2 loads (CAIRN_NCCL=0 in the environment
 * says no), else through host memory: the same bytes either way.  Writes
 * (cairn_model_write, _zero, _init) go to every replica; reads,
 * cairn_model_buffer, _backend and evaluation use device 0. */
#define CAIRN_MODEL_MAX_DEVICES 16

/* A model on nbe backends (1..CAIRN_MODEL_MAX_DEVICES; bes[0] is device
 * 0), each with its own replica and, when nbe > 1, max_micro gradient
 * slots of the model's size.  nbe = 1 is cairn_model_create.  Ownership
 * as cairn_model_create; the backends are borrowed. */
int cairn_model_create_multi(cairn_backend *const *bes, int nbe,
                             const cairn_mlp_spec *spec, int64_t max_batch,
                             int max_micro, cairn_model **out);
/* How many devices the model lives on (1 for cairn_model_create). */
int cairn_model_devices(const cairn_model *m);
/* How the devices' bytes move, for people: "NCCL 2.18.3", "host memory",
 * or "host memory (NCCL: why not)"; "" for a model on one device. */
const char *cairn_model_transport(const cairn_model *m);

/* Frees the model and its backend buffers; NULL is a no-op. */
void cairn_model_free(cairn_model *m);

/* Parameters from Philox keyed by seed (see above); grads, m, v = +0. */
int cairn_model_init(cairn_model *m, uint64_t seed);
/* Sets one buffer to +0, on the backend (cairn_fill_uniform with
 * lo = hi = +0, which gives fmaf(u, +0, +0) = +0 for every element). */
int cairn_model_zero(cairn_model *m, cairn_model_buf which);

const cairn_mlp_spec *cairn_model_spec(const cairn_model *m);
cairn_backend *cairn_model_backend(const cairn_model *m);
int64_t cairn_model_max_batch(const cairn_model *m);
int cairn_model_max_micro(const cairn_model *m);
/* Elements in each of the four buffers. */
int64_t cairn_model_param_count(const cairn_model *m);
/* Tensors in the layout: 2 per layer. */
int cairn_model_tensor_count(const cairn_model *m);
/* Tensor i (W_{i/2} for even i, b_{i/2} for odd i): its offset in
 * elements, and its shape (rows x cols; a bias is 1 x out).  Any output
 * pointer may be NULL.  CAIRN_EINVAL for i out of range. */
int cairn_model_tensor(const cairn_model *m, int i, int64_t *offset,
                       int64_t *rows, int64_t *cols);
/* The backend pointer of one buffer (NULL for a bad which).  Owned by the
 * model; valid until cairn_model_free. */
float *cairn_model_buffer(cairn_model *m, cairn_model_buf which);

/* Copies a whole buffer (cairn_model_param_count() floats) to host memory,
 * or from host memory (for checkpoints and for loading W_r). */
int cairn_model_read(cairn_model *m, cairn_model_buf which, float *host);
int cairn_model_write(cairn_model *m, cairn_model_buf which, const float *host);

/* Forward only: the batch's loss (as defined above) into *loss.
 * x: host floats [batch x input]; y: host labels [batch], each in
 * [0, classes) (else CAIRN_ERANGE, nothing computed); 1 <= batch <=
 * max batch.  Leaves the gradient buffer as it was. */
int cairn_model_loss(cairn_model *m, int64_t batch, const float *x,
                     const int32_t *y, float *loss);

/* Forward and backward: the loss into *loss (may be NULL) and the
 * gradient of the loss, for micro micro-batches (see above), into the
 * gradient buffer (overwritten).  CAIRN_EINVAL unless 1 <= micro <= the
 * max micro and batch % micro == 0. */
int cairn_model_forward_backward(cairn_model *m, int64_t batch, int micro,
                                 const float *x, const int32_t *y, float *loss);

/* One training step: forward, backward (micro micro-batches), then one
 * update of all parameters by the inner optimizer opt (for AdamW,
 * opt->adamw.step is t, counted from 1).  *loss gets the loss before the
 * update; its bits are part of the commitment.  On one device each layer's
 * update is queued inside the backward pass, once its gradient is whole and its
 * weights have given dX, while they are still in cache: both optimizers are
 * element-wise, so these are the bits of the definition (test_model holds them
 * to it).  A bad opt (cairn_optim_check) is CAIRN_EINVAL before anything is
 * queued.  A step that fails later (CAIRN_ENOMEM in a CPU GEMM, a CUDA error)
 * may leave some layers updated and others not: the parameters, m and v are
 * then unspecified, and must be written again (cairn_task_run starts every task
 * from W_r and zeroed moments, so a failed task is simply run again). */
int cairn_model_step(cairn_model *m, int64_t batch, int micro, const float *x,
                     const int32_t *y, const cairn_optim *opt, float *loss);

/* The same step in two halves, so that the host can draw and gather the
 * next batch while a GPU computes this one.  _begin queues the whole step
 * (the bits of cairn_model_step) and, on one GPU, returns without waiting
 * for the device (a step shared by several devices waits for each one's
 * upload, and through host memory for its moves); x and y may be reused as
 * soon as it returns.  _end waits for it
 * and gives its loss (may be NULL).  Between the two the model is
 * reserved: another _begin, cairn_model_step, a read, write, zero or init,
 * a forward pass (loss, prediction, evaluation) are CAIRN_EINVAL, and so
 * is an _end with no step begun.  A failed _begin leaves no step begun.
 * On the CPU backends _begin does the work and _end only reads the
 * loss. */
int cairn_model_step_begin(cairn_model *m, int64_t batch, int micro,
                           const float *x, const int32_t *y,
                           const cairn_optim *opt);
int cairn_model_step_end(cairn_model *m, float *loss);

/* ---- a training set on the device ---------------------------------------
 * cairn_model_attach_data copies a dataset's pixels and labels to the
 * model's backend once (47 MB for Fashion-MNIST's training split), so that
 * a step gathers its batch there from the sample indices
 * (cairn_model_step_begin_idx, with cairn_gather_u8) instead of uploading
 * the batch's floats (800 KB a step): the same input bits, as the same
 * division makes each pixel.  For a model on one device (CAIRN_ENOTSUP on
 * several, whose rows come from the host) whose input is the dataset's
 * 784 pixels (else CAIRN_EINVAL); a label >= the model's classes is
 * CAIRN_ERANGE.  root is the dataset's root (cairn_dataset_root, which
 * task specs name; an opaque 32-byte tag here): the model keeps it with the
 * copy, and cairn_model_has_data is 1 only for the same dataset object and
 * the same root, so that a task whose dataset root is another never runs
 * on a stale copy.  The dataset stays the caller's, and must not change
 * while attached.  Attaching again replaces the copy.  A refused attach
 * (CAIRN_EINVAL, CAIRN_ERANGE) keeps the copy the model had; a failed one
 * (no memory) leaves none, and steps go through the host. */
int cairn_model_attach_data(cairn_model *m, const cairn_dataset *ds,
                            const uint8_t root[32]);
int cairn_model_has_data(const cairn_model *m, const cairn_dataset *ds,
                         const uint8_t root[32]);
/* Attaches ds where that pays: a model on one CUDA device, unless
 * CAIRN_DEVICE_DATA=0 in the environment (for comparing the two).  On a
 * CPU the host gathers as fast.  1 when the model holds ds now; 0 when not
 * (a failed attach is logged once as a warning: the steps then upload
 * their batches, with the same bits). */
int cairn_model_use_device_data(cairn_model *m, const cairn_dataset *ds,
                                const uint8_t root[32]);
/* cairn_model_step_begin with the batch's rows and labels gathered on the
 * backend from the attached training set: idx is host memory, batch
 * sample indices, each checked against the dataset (CAIRN_ERANGE).
 * CAIRN_EINVAL without attached data.  End it with cairn_model_step_end. */
int cairn_model_step_begin_idx(cairn_model *m, int64_t batch, int micro,
                               const uint32_t *idx, const cairn_optim *opt);

/* Predicted classes of a batch: pred[r] = the index of the largest logit
 * of row r.  Tie rule: the lowest index wins (a later column replaces the
 * best only when strictly greater), so a NaN never replaces the best and a
 * row whose first logit is NaN predicts 0.  A row's logits do not depend
 * on the other rows, so predictions do not depend on how rows are
 * batched. */
int cairn_model_predict(cairn_model *m, int64_t batch, const float *x,
                        int32_t *pred);

/* Accuracy on n samples (host x [n x input], y [n]), in batches of the
 * model's max batch: *correct = the number of rows whose prediction equals
 * the label.  Labels are not range-checked (a bad label is just wrong). */
int cairn_model_evaluate(cairn_model *m, int64_t n, const float *x,
                         const int32_t *y, int64_t *correct);

/* The same over a whole dataset (the model's input must be 784), gathered
 * with cairn_dataset_gather in batches of the max batch. */
int cairn_model_evaluate_dataset(cairn_model *m, const cairn_dataset *ds,
                                 int64_t *correct);

/* The sample indices of one step: idx[e] for e = 0..batch-1, drawn with
 * replacement from [0, n).  Pure host integer arithmetic, the same on
 * every machine:
 *     w = word e % 4 of cairn_philox_block(key = seed,
 *             stream = (round << 32) | task,
 *             block  = (step << 32) | (e / 4))
 *     idx[e] = (uint32_t)(((uint64_t)w * n) >> 32)   (Lemire's multiply-
 *             shift; its bias is below n / 2^32, which does not matter)
 * step is the inner step t as passed to AdamW (1..H).  Requirements:
 * n >= 1, round < CAIRN_SAMPLE_ROUND_LIMIT (else CAIRN_ERANGE), 0 <= batch
 * <= UINT32_MAX, idx non-NULL when batch > 0. */
int cairn_sample_indices(uint64_t seed, uint32_t round, uint32_t task,
                         uint32_t step, uint32_t n, int64_t batch,
                         uint32_t *idx);

#ifdef __cplusplus
}
#endif
#endif
