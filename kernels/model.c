/* cairn: the MLP and one training step (include/cairn/model.h, where
 * every convention is written down).  A model on several devices is in
 * model_rig.c, a training set on the backend in model_data.c, evaluation
 * and step sampling in model_eval.c; the struct they share in
 * model_impl.h.
 *
 * Only the public op API is used, so this file is the same for every
 * backend.  Memory per model: four parameter-sized buffers (params, grads,
 * m, v) and one float workspace holding, for max_batch rows,
 *     x [B x d0], then per layer Z_l [B x d(l+1)] and, for hidden layers,
 *     X_{l+1} = act(Z_l) [B x d(l+1)], then probs [B x C], loss [B],
 *     the loss sum [1], and two gradient buffers dA, dB [B x max d(1..L)]
 * (the backward pass ping-pongs between them), each region starting on a
 * 64-byte boundary; plus a backend int32 buffer for the labels and a host
 * buffer for the logits that prediction reads back.
 *
 * Micro-batches (model.h): for each layer, dW is one k-segmented GEMM
 * (cairn_gemm_seg, segment i = micro-batch i) and db goes as below.  On a
 * backend without that GEMM for these segments (cuda when a micro-batch's
 * row count is not a multiple of 8; cpu with no_gemm_seg), micro-batch
 * 0's dW and db go straight into the gradient buffer, and each later
 * micro-batch's into a scratch buffer the size of the largest layer (W_l
 * and b_l, contiguous as in the layout; not allocated when max_micro is
 * 1), which one cairn_sum_n of count 2 then adds into the gradient at
 * once:
 *     g = g + dW_l,i   for i = 1..M-1 in order
 * Each step is one binary32 addition, so this is exactly sum_n's chain
 * ((g_0 + g_1) + g_2) + ... element by element, the same bits as one
 * sum_n over M stored copies, with one layer of scratch (4 MB for the
 * reference model) instead of M - 1 gradient copies.  Both run at the
 * same speed on the 2-core test machine (the M - 1 adds of every
 * gradient element are memory-bound either way; the dW GEMMs with
 * k = B/M cost about the same as one with k = B). */
#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fpenv.h"
#include "model_impl.h"
#include "cairn/error.h"
#include "cairn/log.h"
#include "cairn/model.h"
#include "philox.h"

void cairn_mlp_spec_reference(cairn_mlp_spec *spec)
{
	if (!spec)
		return;
	memset(spec, 0, sizeof *spec);
	spec->input = 784;
	spec->nhidden = 2;
	spec->hidden[0] = 1024;
	spec->hidden[1] = 1024;
	spec->classes = 10;
	spec->act = CAIRN_ACT_RELU;
}

void cairn_adamw_defaults(cairn_adamw_params *p)
{
	if (!p)
		return;
	p->lr = 1e-3f;
	p->beta1 = 0.9f;
	p->beta2 = 0.999f;
	p->eps = 1e-8f;
	p->weight_decay = 0.01f;
	p->step = 1;
}

void cairn_optim_defaults(cairn_optim *o)
{
	if (!o)
		return;
	memset(o, 0, sizeof *o);
	o->kind = CAIRN_OPTIM_ADAMW;
	cairn_adamw_defaults(&o->adamw);
}

void cairn_optim_sgd(cairn_optim *o, float lr)
{
	if (!o)
		return;
	memset(o, 0, sizeof *o);
	o->kind = CAIRN_OPTIM_SGD;
	o->sgd.lr = lr;
}

int cairn_optim_check(const cairn_optim *o)
{
	if (!o)
		return CAIRN_EINVAL;
	if (o->kind == CAIRN_OPTIM_ADAMW) {
		const cairn_adamw_params *p = &o->adamw;
		/* cairn_adamw's own rules, plus finite values */
		if (p->step < 1 || !(p->beta1 >= 0.0f && p->beta1 < 1.0f) ||
		    !(p->beta2 >= 0.0f && p->beta2 < 1.0f) ||
		    !(p->eps > 0.0f && p->eps <= FLT_MAX) ||
		    !(p->lr >= 0.0f && p->lr <= FLT_MAX) ||
		    !(p->weight_decay >= 0.0f && p->weight_decay <= FLT_MAX))
			return CAIRN_EINVAL;
		return 0;
	}
	if (o->kind == CAIRN_OPTIM_SGD) {
		if (!(o->sgd.lr >= 0.0f && o->sgd.lr <= FLT_MAX) ||
		    !(o->sgd.momentum >= 0.0f && o->sgd.momentum < 1.0f))
			return CAIRN_EINVAL;
		return 0;
	}
	return CAIRN_EINVAL;
}

const char *cairn_optim_name(uint32_t kind)
{
	return kind == CAIRN_OPTIM_ADAMW ? "adamw"
	       : kind == CAIRN_OPTIM_SGD ? "sgd"
	                                 : "unknown";
}

/* Fills dims from a spec; CAIRN_EINVAL for a bad spec. */
static int spec_dims(const cairn_mlp_spec *s, int64_t *dim, int *nlayers)
{
	if (s->nhidden < 0 || s->nhidden > CAIRN_MLP_MAX_HIDDEN ||
	    (s->act != CAIRN_ACT_RELU && s->act != CAIRN_ACT_GELU))
		return CAIRN_EINVAL;
	dim[0] = s->input;
	for (int i = 0; i < s->nhidden; i++)
		dim[i + 1] = s->hidden[i];
	dim[s->nhidden + 1] = s->classes;
	for (int i = 0; i <= s->nhidden + 1; i++)
		if (dim[i] < 1 || dim[i] > MAX_DIM)
			return CAIRN_EINVAL;
	*nlayers = s->nhidden + 1;
	return 0;
}

static int64_t align_up(int64_t n)
{
	return (n + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS;
}

/* Lays out the parameters and the workspace; returns the workspace size in
 * floats, or -1 when a size is out of bounds. */
static int64_t model_layout(struct cairn_model *m)
{
	int64_t off = 0, ws = 0, dmax = 0, b = m->max_batch;

	for (int l = 0; l < m->nlayers; l++) {
		m->w_off[l] = off;
		off += m->dim[l + 1] * m->dim[l]; /* each < 2^48 */
		m->b_off[l] = off;
		off += m->dim[l + 1];
		if (off > MAX_ELEMS)
			return -1;
		if (m->dim[l + 1] > dmax)
			dmax = m->dim[l + 1];
	}
	m->nparams = off;
	if (m->dim[0] > dmax)
		dmax = m->dim[0];
	if (dmax > MAX_ELEMS / b)
		return -1; /* every region is at most b * dmax */
	m->x_off = ws;
	ws += align_up(b * m->dim[0]);
	for (int l = 0; l < m->nlayers; l++) {
		m->z_off[l] = ws;
		ws += align_up(b * m->dim[l + 1]);
		m->a_off[l] = -1;
		if (l + 1 < m->nlayers) {
			m->a_off[l] = ws;
			ws += align_up(b * m->dim[l + 1]);
		}
	}
	m->probs_off = ws;
	ws += align_up(b * m->spec.classes);
	m->loss_off = ws;
	ws += align_up(b);
	m->sum_off = ws;
	ws += ALIGN_FLOATS;
	for (int i = 0; i < 2; i++) {
		m->d_off[i] = ws;
		ws += align_up(b * dmax);
	}
	return ws > MAX_ELEMS ? -1 : ws;
}

/* Ownership: on success *out belongs to the caller; on failure everything
 * allocated here is freed through cairn_model_free. */
int cairn_model_create(cairn_backend *be, const cairn_mlp_spec *spec,
                       int64_t max_batch, int max_micro, cairn_model **out)
{
	struct cairn_model *m = NULL;
	int64_t ws;
	int rc;

	if (out)
		*out = NULL;
	if (!be || !spec || !out || max_batch < 1 || max_batch > MAX_DIM ||
	    max_micro < 1 || max_micro > max_batch ||
	    max_micro > CAIRN_MODEL_MAX_MICRO)
		return CAIRN_EINVAL;
	m = calloc(1, sizeof *m);
	if (!m)
		return CAIRN_ENOMEM;
	m->be = be;
	m->spec = *spec;
	m->max_batch = max_batch;
	m->max_micro = max_micro;
	m->nrep = 1;
	m->rep[0] = m;
	rc = spec_dims(spec, m->dim, &m->nlayers);
	if (rc)
		goto out;
	ws = model_layout(m);
	if (ws < 0) {
		rc = CAIRN_EINVAL;
		goto out;
	}
	for (int i = 0; i < CAIRN_MODEL_NBUFS; i++) {
		rc = cairn_buf_alloc(be, (size_t)m->nparams * sizeof(float),
		                     (void **)&m->buf[i]);
		if (rc)
			goto out;
	}
	rc = cairn_buf_alloc(be, (size_t)ws * sizeof(float), (void **)&m->ws);
	if (rc)
		goto out;
	if (max_micro > 1) {
		int64_t big = 0;
		for (int l = 0; l < m->nlayers; l++)
			if (m->dim[l + 1] * (m->dim[l] + 1) > big)
				big = m->dim[l + 1] * (m->dim[l] + 1);
		rc = cairn_buf_alloc(be, (size_t)big * sizeof(float),
		                     (void **)&m->scratch);
		if (rc)
			goto out;
	}
	rc = cairn_buf_alloc(be, (size_t)max_batch * sizeof(int32_t),
	                     (void **)&m->labels);
	if (rc)
		goto out;
	m->host_logits =
	    malloc((size_t)(max_batch * spec->classes) * sizeof(float));
	if (!m->host_logits) {
		rc = CAIRN_ENOMEM;
		goto out;
	}
	*out = m;
	m = NULL;
out:
	cairn_model_free(m);
	return rc;
}

void cairn_model_free(cairn_model *m)
{
	if (!m)
		return;
	/* A rig's transfers may still be pending (a step that failed after
	 * its moves): freeing synchronizes the streams, so wait through the
	 * comm first, which aborts the communicators if a device failed. */
	if (m->comm && !cairn__comm_broken(m->comm))
		(void)cairn__comm_wait(m->comm);
	for (int i = 0; i < CAIRN_MODEL_NBUFS; i++)
		if (m->buf[i])
			cairn_buf_free(m->be, m->buf[i]);
	if (m->ws)
		cairn_buf_free(m->be, m->ws);
	if (m->scratch)
		cairn_buf_free(m->be, m->scratch);
	if (m->labels)
		cairn_buf_free(m->be, m->labels);
	if (m->slots) {
		for (int i = 0; i < m->nslots; i++)
			if (m->slots[i])
				cairn_buf_free(m->be, m->slots[i]);
		free(m->slots);
	}
	for (int d = 1; d < m->nrep; d++)
		cairn_model_free(m->rep[d]);
	cairn__comm_close(m->comm);
	free(m->moves);
	if (m->d_images)
		cairn_buf_free(m->be, m->d_images);
	if (m->d_labels)
		cairn_buf_free(m->be, m->d_labels);
	free(m->host_logits);
	free(m);
}

/* ---- accessors and host copies ---------------------------------------- */

const cairn_mlp_spec *cairn_model_spec(const cairn_model *m)
{
	return m ? &m->spec : NULL;
}

cairn_backend *cairn_model_backend(const cairn_model *m)
{
	return m ? m->be : NULL;
}

int64_t cairn_model_max_batch(const cairn_model *m)
{
	return m ? m->max_batch : 0;
}

int cairn_model_max_micro(const cairn_model *m)
{
	return m ? m->max_micro : 0;
}

int64_t cairn_model_param_count(const cairn_model *m)
{
	return m ? m->nparams : 0;
}

int cairn_model_tensor_count(const cairn_model *m)
{
	return m ? 2 * m->nlayers : 0;
}

int cairn_model_tensor(const cairn_model *m, int i, int64_t *offset,
                       int64_t *rows, int64_t *cols)
{
	int l;

	if (!m || i < 0 || i >= 2 * m->nlayers)
		return CAIRN_EINVAL;
	l = i / 2;
	if (offset)
		*offset = i % 2 ? m->b_off[l] : m->w_off[l];
	if (rows)
		*rows = i % 2 ? 1 : m->dim[l + 1];
	if (cols)
		*cols = i % 2 ? m->dim[l + 1] : m->dim[l];
	return 0;
}

float *cairn_model_buffer(cairn_model *m, cairn_model_buf which)
{
	if (!m || (int)which < 0 || which >= CAIRN_MODEL_NBUFS)
		return NULL;
	return m->buf[which];
}

int cairn_model_read(cairn_model *m, cairn_model_buf which, float *host)
{
	float *p = cairn_model_buffer(m, which);

	if (!p || !host || m->pending) /* pending: cairn_model_step_begin */
		return CAIRN_EINVAL;
	return cairn_buf_read(m->be, host, p,
	                      (size_t)m->nparams * sizeof(float));
}

/* Writes every replica (one per device), so they stay equal. */
int cairn_model_write(cairn_model *m, cairn_model_buf which, const float *host)
{
	int rc = 0;

	if (!cairn_model_buffer(m, which) || !host || m->pending)
		return CAIRN_EINVAL;
	for (int d = 0; d < m->nrep && !rc; d++)
		rc = cairn_buf_write(m->rep[d]->be, m->rep[d]->buf[which], host,
		                     (size_t)m->nparams * sizeof(float));
	return rc;
}

/* +0 everywhere: cairn_fill_uniform with lo = hi = +0 gives
 * fmaf(u, +0, +0) = +0 for every element, on the backend, with no host
 * buffer of the model's size. */
int cairn_model_zero(cairn_model *m, cairn_model_buf which)
{
	int rc = 0;

	if (!cairn_model_buffer(m, which) || m->pending)
		return CAIRN_EINVAL;
	for (int d = 0; d < m->nrep && !rc; d++)
		rc = cairn_fill_uniform(m->rep[d]->be, m->nparams, 0, 0, 0,
		                        0.0f, 0.0f, m->rep[d]->buf[which]);
	return rc;
}

int cairn_model_init(cairn_model *m, uint64_t seed)
{
	int rc = 0;

	if (!m || m->pending)
		return CAIRN_EINVAL;
	for (int i = 0; i < m->nlayers * m->nrep && !rc; i++) {
		int l = i % m->nlayers;
		struct cairn_model *r = m->rep[i / m->nlayers];
		float k = 1.0f / sqrtf((float)m->dim[l]);
		float *p = r->buf[CAIRN_MODEL_PARAMS];
		uint64_t s = CAIRN_MODEL_INIT_STREAM + 2 * (uint64_t)l;

		rc = cairn_fill_uniform(r->be, m->dim[l + 1] * m->dim[l], seed,
		                        s, 0, -k, k, p + m->w_off[l]);
		if (!rc)
			rc = cairn_fill_uniform(r->be, m->dim[l + 1], seed,
			                        s + 1, 0, -k, k,
			                        p + m->b_off[l]);
	}
	for (int i = CAIRN_MODEL_GRADS; i < CAIRN_MODEL_NBUFS && !rc; i++)
		rc = cairn_model_zero(m, (cairn_model_buf)i);
	return rc;
}

/* ---- forward and backward --------------------------------------------- */

/* Uploads x (and y, when non-NULL, after checking every label). */
int cairn__model_upload(struct cairn_model *m, int64_t batch, const float *x,
                        const int32_t *y)
{
	int rc;

	/* also refused while a step is begun and not ended (model.h) */
	if (!x || batch < 1 || batch > m->max_batch || m->pending)
		return CAIRN_EINVAL;
	if (y)
		for (int64_t r = 0; r < batch; r++)
			if (y[r] < 0 || y[r] >= m->spec.classes)
				return CAIRN_ERANGE;
	rc = cairn_buf_write(m->be, m->ws + m->x_off, x,
	                     (size_t)(batch * m->dim[0]) * sizeof(float));
	if (!rc && y)
		rc = cairn_buf_write(m->be, m->labels, y,
		                     (size_t)batch * sizeof(int32_t));
	return rc;
}

/* The logits of the uploaded batch into Z_{L-1}. */
int cairn__model_forward(struct cairn_model *m, int64_t b)
{
	const float *p = m->buf[CAIRN_MODEL_PARAMS];
	const float *x = m->ws + m->x_off;
	int rc = 0;

	for (int l = 0; l < m->nlayers && !rc; l++) {
		int64_t in = m->dim[l], out = m->dim[l + 1];
		float *z = m->ws + m->z_off[l], *a;

		rc = cairn_gemm(m->be, CAIRN_NOTRANS, CAIRN_TRANS, b, out, in,
		                x, in, p + m->w_off[l], in, z, out, 0);
		if (!rc)
			rc = cairn_bias_add(m->be, b, out, z, p + m->b_off[l],
			                    z);
		if (rc || l + 1 == m->nlayers)
			break;
		a = m->ws + m->a_off[l];
		rc = m->spec.act == CAIRN_ACT_GELU
		         ? cairn_gelu(m->be, b * out, z, a)
		         : cairn_relu(m->be, b * out, z, a);
		x = a;
	}
	return rc;
}

/* Softmax cross-entropy: the row losses and their sum of the batch just
 * forwarded, queued on the backend (device 0's workspace: loss_off,
 * sum_off; nothing later in a step writes them). */
static int loss_enqueue(struct cairn_model *m, int64_t b)
{
	float *rows = m->ws + m->loss_off;
	int rc;

	rc = cairn_xent_fwd(m->be, b, m->spec.classes,
	                    m->ws + m->z_off[m->nlayers - 1], m->labels,
	                    m->ws + m->probs_off, rows);
	if (!rc)
		rc = cairn_sum(m->be, b, rows, m->ws + m->sum_off);
	return rc;
}

/* The mean loss S / b from the sum loss_enqueue (or shared_fb) queued.
 * The read waits for the device: a step reads it last, after the backward
 * pass and the update are queued, so that a GPU is not left idle mid-step. */
static int loss_read(struct cairn_model *m, int64_t b, float *loss)
{
	float s = 0.0f;
	/* A rig waits through its comm: a device that fails mid-transfer
	 * must end the wait with an error, not hang it (comm.h). */
	int rc = m->comm ? cairn__comm_wait(m->comm) : 0;

	if (!rc)
		rc = cairn_buf_read(m->be, &s, m->ws + m->sum_off, sizeof s);

	if (!rc && loss) {
		unsigned csr =
		    cairn__fp_enter(); /* host float math: the profile */
		*loss = s / (float)b;
		cairn__fp_leave(csr);
	}
	return rc;
}

/* Layer l's weight and bias gradients of a batch of micro micro-batches
 * of k rows (dz: b x out, x: b x in) into the gradient buffer, summed in
 * micro-batch order (model.h): the weights with one k-segmented GEMM,
 * whose bits are those of one GEMM per micro-batch followed by sum_n; the
 * biases micro-batch by micro-batch, db_0 into the gradient, then for
 * i >= 1 db_i into the scratch and g = g + scratch.  CAIRN_ENOTSUP (before
 * anything is written) when the backend has no k-segmented GEMM. */
static int grads_seg(struct cairn_model *m, int l, int64_t b, int micro,
                     const float *dz, const float *x)
{
	int64_t in = m->dim[l], out = m->dim[l + 1], k = b / micro;
	float *gw = m->buf[CAIRN_MODEL_GRADS] + m->w_off[l];
	float *gb = gw + out * in;
	const float *src[2] = {gb, m->scratch};
	int rc;

	rc = cairn_gemm_seg(m->be, CAIRN_TRANS, CAIRN_NOTRANS, out, in, b,
	                    micro, dz, out, x, in, gw, in);
	for (int i = 0; i < micro && !rc; i++) {
		rc = cairn_bias_grad(m->be, k, out, dz + (int64_t)i * k * out,
		                     i ? m->scratch : gb);
		if (!rc && i)
			rc = cairn_sum_n(m->be, out, 2, src, gb);
	}
	return rc;
}

/* The inner optimizer's update of n parameters from off, in model r's
 * buffers (model.h: AdamW on m and v, or SGD on the momentum buffer m). */
static int optim_update(struct cairn_model *r, int64_t off, int64_t n,
                        const cairn_optim *opt)
{
	float *const *b = r->buf;

	if (opt->kind == CAIRN_OPTIM_SGD)
		return cairn_nesterov(r->be, n, opt->sgd.lr, opt->sgd.momentum,
		                      b[CAIRN_MODEL_PARAMS] + off,
		                      b[CAIRN_MODEL_GRADS] + off,
		                      b[CAIRN_MODEL_M] + off);
	return cairn_adamw(r->be, n, &opt->adamw, b[CAIRN_MODEL_PARAMS] + off,
	                   b[CAIRN_MODEL_GRADS] + off, b[CAIRN_MODEL_M] + off,
	                   b[CAIRN_MODEL_V] + off);
}

/* The update of layer l's weights and bias (contiguous in every
 * buffer). */
static int layer_update(struct cairn_model *m, int l, const cairn_optim *opt)
{
	return optim_update(m, m->w_off[l], m->dim[l + 1] * (m->dim[l] + 1),
	                    opt);
}

/* The gradient of the loss into the gradient buffer (model.h): the
 * row-wise backward over the whole batch; per layer, the weight and bias
 * gradients summed over the micro-batches by grads_seg, or, where the
 * backend has no k-segmented GEMM, those of micro-batch 0 (rows 0..k-1)
 * into the gradient buffer, then for i = 1..micro-1 those of rows
 * i*k..i*k+k-1 into the scratch and g = g + scratch (sum_n of 2: the
 * chain of model.h, step by step; the same bits).
 * scale is 1/B of the whole batch (B may exceed b when the batch is shared
 * between devices).  With slots, micro-batch i's weight and bias gradients
 * go to slots[i] in the gradient layout instead, and nothing is summed.
 * With opt (a step on one device; not with slots), layer l's update
 * is queued once its gradient is whole and its weights have given dX:
 * the update is element-wise and nothing later in the pass reads layer l's
 * parameters, so these are the bits of one update after the pass, with
 * the layer's parameters and gradient still in cache. */
int cairn__model_backward(struct cairn_model *m, int64_t b, int micro,
                          float scale, float *const *slots,
                          const cairn_optim *opt)
{
	const float *p = m->buf[CAIRN_MODEL_PARAMS];
	float *dz = m->ws + m->d_off[0];
	int64_t k = b / micro;
	int cur = 0, rc;

	if (opt && slots) /* the slots are summed elsewhere, then updated */
		return CAIRN_EINVAL;
	rc = cairn_xent_bwd(m->be, b, m->spec.classes, m->ws + m->probs_off,
	                    m->labels, scale, dz);
	for (int l = m->nlayers - 1; l >= 0 && !rc; l--) {
		int64_t in = m->dim[l], out = m->dim[l + 1];
		const float *x = l ? m->ws + m->a_off[l - 1] : m->ws + m->x_off;
		float *dx = m->ws + m->d_off[1 - cur];
		int done = 0;

		if (micro > 1 && !slots && m->no_seg_rows != b / micro) {
			rc = grads_seg(m, l, b, micro, dz, x);
			if (rc == CAIRN_ENOTSUP) {
				m->no_seg_rows = b / micro;
				rc = 0;
			} else {
				done = 1;
			}
		}
		for (int i = 0; i < micro && !rc && !done; i++) {
			/* W_l then b_l, contiguous in both */
			float *gl = m->buf[CAIRN_MODEL_GRADS] + m->w_off[l];
			float *dst = slots ? slots[i] + m->w_off[l]
			             : i   ? m->scratch
			                   : gl;
			const float *dzi = dz + (int64_t)i * k * out;
			const float *src[2] = {gl, m->scratch};

			rc = cairn_gemm(
			    m->be, CAIRN_TRANS, CAIRN_NOTRANS, out, in, k, dzi,
			    out, x + (int64_t)i * k * in, in, dst, in, 0);
			if (!rc)
				rc = cairn_bias_grad(m->be, k, out, dzi,
				                     dst + out * in);
			if (!rc && i && !slots)
				rc = cairn_sum_n(m->be, out * in + out, 2, src,
				                 gl);
		}
		if (rc)
			break;
		if (l == 0) {
			if (opt)
				rc = layer_update(m, l, opt);
			break;
		}
		rc = cairn_gemm(m->be, CAIRN_NOTRANS, CAIRN_NOTRANS, b, in, out,
		                dz, out, p + m->w_off[l], in, dx, in, 0);
		if (!rc && opt)
			rc = layer_update(m, l, opt);
		if (!rc) {
			const float *zp = m->ws + m->z_off[l - 1];
			rc = m->spec.act == CAIRN_ACT_GELU
			         ? cairn_gelu_bwd(m->be, b * in, zp, dx, dx)
			         : cairn_relu_bwd(m->be, b * in, zp, dx, dx);
		}
		dz = dx;
		cur = 1 - cur;
	}
	return rc;
}

int cairn_model_loss(cairn_model *m, int64_t batch, const float *x,
                     const int32_t *y, float *loss)
{
	int rc;

	if (!m || !y || !loss)
		return CAIRN_EINVAL;
	rc = cairn__model_upload(m, batch, x, y);
	if (!rc)
		rc = cairn__model_forward(m, batch);
	if (!rc)
		rc = loss_enqueue(m, batch);
	if (!rc)
		rc = loss_read(m, batch, loss);
	return rc;
}

/* A step's forward and backward pass, queued; the loss is left in device
 * 0's workspace for loss_read.  With opt, on one device, the backward pass
 * also queues the optimizer's update layer by layer (cairn__model_backward);
 * *updated says whether it did (a rig's replicas are updated after the
 * gradients are gathered and summed). */
static int fb_enqueue(struct cairn_model *m, int64_t batch, int micro,
                      const float *x, const int32_t *y, const uint32_t *idx,
                      const cairn_optim *opt, int *updated)
{
	int rc;

	if (!m || (!y && !idx) || micro < 1 || micro > m->max_micro ||
	    batch < 1 || batch % micro)
		return CAIRN_EINVAL;
	if (idx) { /* the batch from the training set on the backend */
		if (!m->d_images || m->nrep > 1 || batch > m->max_batch ||
		    m->pending)
			return CAIRN_EINVAL;
		rc = cairn_gather_u8(m->be, batch, m->dim[0], m->d_count, idx,
		                     m->d_images, m->d_labels, m->ws + m->x_off,
		                     m->labels);
	} else if (m->nrep > 1) {
		if (!x || batch > m->max_batch)
			return CAIRN_EINVAL;
		for (int64_t r = 0; r < batch; r++)
			if (y[r] < 0 || y[r] >= m->spec.classes)
				return CAIRN_ERANGE;
		return cairn__model_shared_fb(m, batch, micro, x, y);
	} else {
		rc = cairn__model_upload(m, batch, x, y);
	}
	if (!rc)
		rc = cairn__model_forward(m, batch);
	if (!rc)
		rc = loss_enqueue(m, batch);
	if (!rc)
		rc = cairn__model_backward(m, batch, micro, 1.0f / (float)batch,
		                           NULL, opt);
	if (!rc && updated)
		*updated = opt != NULL;
	return rc;
}

/* rc, after a rig's step failed: its moves may be pending, so wait
 * through the comm (which aborts it if a device failed), not later in a
 * stream synchronize (comm.h). */
static int rig_settle(struct cairn_model *m, int rc)
{
	if (rc && m && m->comm && !cairn__comm_broken(m->comm))
		(void)cairn__comm_wait(m->comm);
	return rc;
}

int cairn_model_forward_backward(cairn_model *m, int64_t batch, int micro,
                                 const float *x, const int32_t *y, float *loss)
{
	int rc = fb_enqueue(m, batch, micro, x, y, NULL, NULL, NULL);

	return rc ? rig_settle(m, rc) : loss_read(m, batch, loss);
}

/* cairn_model_step_begin, from x and y or (idx not NULL) from the
 * training set on the backend. */
static int step_begin(cairn_model *m, int64_t batch, int micro, const float *x,
                      const int32_t *y, const uint32_t *idx,
                      const cairn_optim *opt)
{
	int rc, updated = 0;

	/* opt checked before any work is queued */
	if (!m || cairn_optim_check(opt) || m->pending)
		return CAIRN_EINVAL;
	rc = fb_enqueue(m, batch, micro, x, y, idx, opt, &updated);
	/* Every replica applies the same update to the same bits. */
	for (int d = 0; d < m->nrep && !rc && !updated; d++)
		rc = optim_update(m->rep[d], 0, m->nparams, opt);
	if (!rc)
		m->pending = batch;
	return rig_settle(m, rc);
}

int cairn_model_step_begin(cairn_model *m, int64_t batch, int micro,
                           const float *x, const int32_t *y,
                           const cairn_optim *opt)
{
	if (!y)
		return CAIRN_EINVAL;
	return step_begin(m, batch, micro, x, y, NULL, opt);
}

int cairn_model_step_begin_idx(cairn_model *m, int64_t batch, int micro,
                               const uint32_t *idx, const cairn_optim *opt)
{
	if (!idx)
		return CAIRN_EINVAL;
	return step_begin(m, batch, micro, NULL, NULL, idx, opt);
}

int cairn_model_step_end(cairn_model *m, float *loss)
{
	int64_t b;

	if (!m || !m->pending)
		return CAIRN_EINVAL;
	b = m->pending;
	m->pending = 0; /* whatever the read gives, the step is over */
	return loss_read(m, b, loss);
}

int cairn_model_step(cairn_model *m, int64_t batch, int micro, const float *x,
                     const int32_t *y, const cairn_optim *opt, float *loss)
{
	int rc = cairn_model_step_begin(m, batch, micro, x, y, opt);

	return rc ? rc : cairn_model_step_end(m, loss);
}
