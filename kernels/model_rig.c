/* cairn: a model on several devices, the GPUs of one rig
 * (cairn_model_create_multi; include/cairn/model.h, "devices").
 *
 * Ownership: replica 0 owns the other replicas, its transport (comm.h)
 * and the moves array; every replica owns its gradient slots. */
#include <stdlib.h>
#include <string.h>

#include "model_impl.h"
#include "cairn/error.h"

/* n gradient slots on one replica (owned by it; freed with it). */
static int alloc_slots(struct cairn_model *r, int n)
{
	r->slots = calloc((size_t)n, sizeof *r->slots);
	if (!r->slots)
		return CAIRN_ENOMEM;
	r->nslots = n;
	for (int i = 0; i < n; i++) {
		int rc =
		    cairn_buf_alloc(r->be, (size_t)r->nparams * sizeof(float),
		                    (void **)&r->slots[i]);
		if (rc)
			return rc;
	}
	return 0;
}

/* Device 0's sum of its max_micro gradient slots, once, before any
 * transfer.  For more than 64 sources the CUDA backend sizes the device
 * copy of sum_n's pointer list on first use, which waits for the stream,
 * and keeps the list it copied, so that a later sum_n over the same slots
 * (a step's, over the first M <= max_micro) queues no copy either
 * (kernels/cuda/optim.cu; up to 64 go by value, with no copy at all).
 * Done here, no step's sum_n waits on a stream where a pending NCCL
 * receive may hang (comm.h).  Each slot's first element is set to +0
 * first (no uninitialised read); the sum goes to the gradient's first
 * element, undefined until a step writes it. */
static int size_sum_n(struct cairn_model *m, int max_micro)
{
	const float zero = 0.0f;
	int rc = 0;

	for (int i = 0; i < max_micro && !rc; i++)
		rc = cairn_buf_write(m->be, m->slots[i], &zero, sizeof zero);
	if (!rc)
		rc = cairn_sum_n(m->be, 1, max_micro,
		                 (const float *const *)m->slots,
		                 m->buf[CAIRN_MODEL_GRADS]);
	if (!rc)
		rc = cairn_backend_sync(m->be);
	return rc;
}

int cairn_model_create_multi(cairn_backend *const *bes, int nbe,
                             const cairn_mlp_spec *spec, int64_t max_batch,
                             int max_micro, cairn_model **out)
{
	struct cairn_model *m = NULL;
	int rc;

	if (out)
		*out = NULL;
	if (!bes || !out || nbe < 1 || nbe > CAIRN_MODEL_MAX_DEVICES)
		return CAIRN_EINVAL;
	if (nbe == 1)
		return cairn_model_create(bes[0], spec, max_batch, max_micro,
		                          out);
	rc = cairn_model_create(bes[0], spec, max_batch, max_micro, &m);
	for (int d = 1; d < nbe && !rc; d++) {
		if (!bes[d]) {
			rc = CAIRN_EINVAL;
			break;
		}
		rc = cairn_model_create(bes[d], spec, max_batch, max_micro,
		                        &m->rep[d]);
		if (!rc)
			m->nrep = d + 1;
	}
	for (int d = 0; d < nbe && !rc; d++)
		/* Device d > 0 computes at most ceil(M / G) micro-batches
		 * of a step (M <= max_micro); device 0 gathers all M. */
		rc = alloc_slots(m->rep[d],
		                 d ? (max_micro + nbe - 1) / nbe : max_micro);
	if (!rc) {
		m->moves =
		    calloc((size_t)(nbe - 1 + max_micro), sizeof *m->moves);
		rc = m->moves ? cairn__comm_open(bes, nbe, &m->comm)
		              : CAIRN_ENOMEM;
	}
	if (!rc)
		rc = size_sum_n(m, max_micro);
	if (rc) {
		cairn_model_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

int cairn_model_devices(const cairn_model *m)
{
	return m ? m->nrep : 0;
}

const char *cairn_model_transport(const cairn_model *m)
{
	return m && m->comm ? cairn__comm_desc(m->comm) : "";
}

int cairn__model_set_comm(cairn_model *m, cairn__comm *c)
{
	if (!m || !c || !m->comm || cairn__comm_size(c) != m->nrep)
		return CAIRN_EINVAL;
	cairn__comm_close(m->comm);
	m->comm = c;
	return 0;
}

/* ---- one batch shared by the devices of a rig ------------------------ */

/* The forward and backward pass of a batch shared by the nrep replicas
 * (model.h, "devices"): device d takes micro-batches i0 = d*M/G ..
 * i1 = (d+1)*M/G - 1, that is rows i0*k .. i1*k + k - 1, computes them with
 * dZ scaled by 1/B of the whole batch, and leaves each micro-batch's
 * gradient in its own slot.  One batch of moves (comm.h: NCCL, or host
 * memory) brings every other device's row losses and gradient slots to
 * device 0, which adds the M gradients with one sum_n in micro-batch
 * order and the B row losses with one cairn_sum, exactly as a single
 * device does; a second batch takes the summed gradient back to every
 * replica.  With NCCL no device waits for the host (the caller reads the
 * loss with loss_read). */
int cairn__model_shared_fb(struct cairn_model *m, int64_t batch, int micro,
                           const float *x, const int32_t *y)
{
	const int g = m->nrep;
	const int64_t k = batch / micro, in = m->dim[0];
	const size_t gbytes = (size_t)m->nparams * sizeof(float);
	struct cairn__move *mv = m->moves;
	int nmv = 0;
	int rc = 0;

	if (cairn__comm_broken(m->comm)) /* no work for a dead rig */
		return cairn__comm_move(m->comm, NULL, 0);

	for (int d = 0; d < g && !rc; d++) {
		struct cairn_model *r = m->rep[d];
		int i0 = (int)((int64_t)d * micro / g);
		int i1 = (int)((int64_t)(d + 1) * micro / g);
		int64_t r0 = (int64_t)i0 * k, nr = (int64_t)(i1 - i0) * k;

		if (nr == 0)
			continue; /* more devices than micro-batches */
		rc = cairn__model_upload(r, nr, x + r0 * in, y + r0);
		if (!rc)
			rc = cairn__model_forward(r, nr);
		if (!rc)
			rc = cairn_xent_fwd(r->be, nr, m->spec.classes,
			                    r->ws + r->z_off[m->nlayers - 1],
			                    r->labels, r->ws + r->probs_off,
			                    r->ws + r->loss_off);
		if (!rc)
			rc = cairn__model_backward(
			    r, nr, i1 - i0, 1.0f / (float)batch,
			    d ? r->slots : m->slots + i0, NULL);
		if (rc || d == 0)
			continue;
		/* Device d's row losses and micro-batch gradients to
		 * device 0's rows and slots. */
		mv[nmv++] = (struct cairn__move){d, 0, r->ws + r->loss_off,
		                                 m->ws + m->loss_off + r0,
		                                 (size_t)nr * sizeof(float)};
		for (int i = i0; i < i1; i++)
			mv[nmv++] = (struct cairn__move){d, 0, r->slots[i - i0],
			                                 m->slots[i], gbytes};
	}
	if (!rc)
		rc = cairn__comm_move(m->comm, mv, nmv);
	if (!rc)
		rc = cairn_sum_n(m->be, m->nparams, micro,
		                 (const float *const *)m->slots,
		                 m->buf[CAIRN_MODEL_GRADS]);
	if (!rc)
		rc = cairn_sum(m->be, batch, m->ws + m->loss_off,
		               m->ws + m->sum_off);
	/* The summed gradient to every replica. */
	for (int d = 1; d < g; d++)
		mv[d - 1] = (struct cairn__move){
		    0, d, m->buf[CAIRN_MODEL_GRADS],
		    m->rep[d]->buf[CAIRN_MODEL_GRADS], gbytes};
	if (!rc)
		rc = cairn__comm_move(m->comm, mv, g - 1);
	return rc;
}
