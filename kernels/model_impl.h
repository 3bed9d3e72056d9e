/* cairn: the model's representation, shared by its files (internal to
 * kernels/):
 *   model.c       layout, forward and backward, steps
 *   model_eval.c  evaluation and step sampling
 *   model_rig.c   a model on several devices (cairn_model_create_multi)
 *   model_data.c  a training set on the backend (cairn_model_attach_data)
 * Conventions are in include/cairn/model.h and at the top of model.c. */
#ifndef CAIRN_MODEL_IMPL_H
#define CAIRN_MODEL_IMPL_H

#include <stdint.h>

#include "comm.h"
#include "cairn/model.h"

#define MAX_LAYERS (CAIRN_MLP_MAX_HIDDEN + 1)
/* Bounds that keep every size and int64 index far from overflow. */
#define MAX_DIM ((int64_t)1 << 24)
#define MAX_ELEMS ((int64_t)1 << 40)
#define ALIGN_FLOATS 16 /* 64 bytes */

struct cairn_model {
	cairn_backend *be; /* borrowed */
	cairn_mlp_spec spec;
	int nlayers; /* L */
	int64_t dim[MAX_LAYERS + 1];
	int64_t w_off[MAX_LAYERS]; /* in the parameter layout */
	int64_t b_off[MAX_LAYERS];
	int64_t nparams;
	int64_t max_batch;
	int max_micro;
	float *buf[CAIRN_MODEL_NBUFS]; /* backend, nparams floats each */
	float *scratch; /* backend, largest layer; NULL when max_micro is 1 */
	/* The micro-batch row count for which the backend last answered
	 * CAIRN_ENOTSUP to cairn_gemm_seg (0: none): for it the weight
	 * gradients go micro-batch by micro-batch through scratch (cuda
	 * segments only whole k-tiles, so another count may work). */
	int64_t no_seg_rows;
	float *ws;          /* backend workspace */
	int32_t *labels;    /* backend, max_batch */
	float *host_logits; /* host, max_batch x classes */
	/* workspace offsets, in floats */
	int64_t x_off, z_off[MAX_LAYERS], a_off[MAX_LAYERS];
	int64_t probs_off, loss_off, sum_off, d_off[2];
	/* Replicas on other devices (cairn_model_create_multi).  rep[0] is
	 * this model; rep[1..nrep-1] are owned by it.  A replica's own nrep
	 * is 1.  With nrep > 1 device 0 has max_micro slots and every other
	 * device ceil(max_micro / nrep), the most micro-batches it computes
	 * in a step (nslots): backend
	 * buffers of nparams floats, one per micro-batch gradient. */
	int nrep;
	struct cairn_model *rep[CAIRN_MODEL_MAX_DEVICES];
	float **slots;
	int nslots;
	/* Replica 0 only: the transport between the replicas (owned) and
	 * room for a step's moves, G - 1 + max_micro (owned). */
	cairn__comm *comm;
	struct cairn__move *moves;
	/* The batch of the step begun by cairn_model_step_begin and not yet
	 * ended; 0 when none. */
	int64_t pending;
	/* A training set on the backend (cairn_model_attach_data): pixels and
	 * labels (owned), and which dataset they copy (borrowed pointers,
	 * compared only). */
	uint8_t *d_images, *d_labels;
	uint32_t d_count;
	const cairn_dataset *d_src;
	const uint8_t *d_src_images, *d_src_labels;
	uint8_t d_root[32]; /* the root the caller named at attach */
};

/* model.c: a batch's x and y to the workspace (checked; refused while a
 * step is begun), the forward pass to the logits, and the backward pass
 * of micro micro-batches with dZ scaled by scale, into the gradient or,
 * with slots, one slot per micro-batch; with opt (and no slots), each
 * layer's optimizer update too, as soon as nothing later needs its old
 * parameters. */
int cairn__model_upload(struct cairn_model *m, int64_t batch, const float *x,
                        const int32_t *y);
int cairn__model_forward(struct cairn_model *m, int64_t b);
int cairn__model_backward(struct cairn_model *m, int64_t b, int micro,
                          float scale, float *const *slots,
                          const cairn_optim *opt);

/* model_rig.c: a step's forward and backward pass shared by the replicas,
 * queued; the loss is left in device 0's workspace. */
int cairn__model_shared_fb(struct cairn_model *m, int64_t batch, int micro,
                           const float *x, const int32_t *y);

#endif
