/* cairn: background commits (include/cairn/task.h, "background commits").
 *
 * A committer owns three more backends of the model's kind and device, one
 * per state tensor (on CUDA, three streams: the tensors' hashes run side
 * by side, each about as long as one 64 KiB chunk's BLAKE2b), a snapshot
 * of its tensor on each, and the tensor's leaf digests.
 * cairn_committer_start() queues the copies of the tensors into the
 * snapshot after the model's last step, the model's next work after the
 * copies, and their chunk hashes after the copies on the committer's
 * backends (cairn_backend_wait_for: on CUDA, events between the streams,
 * so the host waits for nothing); on CUDA those backends have their own
 * streams, so the hashing runs beside the next training steps.
 * cairn_committer_collect() waits for the hashes, reads
 * the leaves back and computes the three roots, exactly as
 * cairn_task_commit_state() does on the model's own backend; the
 * snapshot then stays readable (cairn_committer_read: a bundle keeps the
 * checkpoint's tensors) until the next start.  A tensor that is +0 by
 * definition (cairn_task_zero_tensors: m and v at t = 0, SGD's v) is
 * neither copied nor hashed; its root is the zero tensor's (computed
 * once, at open) and a read of it gives zeros.
 *
 * Ownership: everything in struct cairn_committer is owned by it and
 * freed by cairn_committer_close(); the model is borrowed during start. */
#include <stdlib.h>
#include <string.h>

#include "attest_impl.h"
#include "committer.h"
#include "cairn/error.h"
#include "cairn/task.h"

#define NTENSORS 3

struct cairn_committer {
	cairn_backend *be[NTENSORS]; /* owned: same kind and device */
	int64_t n;                   /* floats per tensor */
	float *snap[NTENSORS];       /* be memory: params, m, v */
	/* be[0] memory: the three tensors' leaf digests, lbytes each, each
	 * written by its own backend's hash (one device: any of its streams
	 * may write it), all read back at once by be[0] */
	uint8_t *dleaves;
	size_t lbytes;
	uint8_t *leaves;                 /* host: the three tensors' leaves */
	uint8_t zroot[CAIRN_HASH_BYTES]; /* the zero tensor's root */
	int zero[NTENSORS];              /* the pending snapshot's +0 tensors */
	int read_zero[NTENSORS];         /* zero of the state collected */
	int pending;                     /* a snapshot is being hashed */
	int readable;                    /* the snapshot is the state last
	                                  * collected (until the next start) */
	struct cairn_state st;           /* its step, samples and loss */
	struct cairn_state collected;    /* with readable: that state */
};

static const cairn_model_buf state_bufs[NTENSORS] = {
    CAIRN_MODEL_PARAMS, CAIRN_MODEL_M, CAIRN_MODEL_V};

int cairn_committer_open(cairn_backend *be, int64_t nparams,
                         cairn_committer **out)
{
	cairn_backend_opts opts;
	struct cairn_committer *c = NULL;
	size_t bytes, lbytes;
	int rc = 0;

	if (!be || !out || nparams < 1 ||
	    (uint64_t)nparams > SIZE_MAX / sizeof(float))
		return CAIRN_EINVAL;
	bytes = (size_t)nparams * sizeof(float);
	lbytes = (size_t)cairn_tensor_leaf_count(bytes) * CAIRN_HASH_BYTES;
	c = calloc(1, sizeof *c);
	if (!c)
		return CAIRN_ENOMEM;
	c->n = nparams;
	memset(&opts, 0, sizeof opts);
	opts.threads = 1;
	for (int i = 0; i < NTENSORS && !rc; i++) {
		rc = cairn_backend_open_peer(be, &opts, &c->be[i]);
		if (!rc)
			rc = cairn_buf_alloc(c->be[i], bytes,
			                     (void **)&c->snap[i]);
	}
	c->lbytes = lbytes;
	if (!rc)
		rc = cairn_tensor_zero_root(bytes, c->zroot);
	if (!rc)
		rc = cairn_buf_alloc(c->be[0], NTENSORS * lbytes,
		                     (void **)&c->dleaves);
	if (!rc) {
		c->leaves = malloc(NTENSORS * lbytes);
		if (!c->leaves)
			rc = CAIRN_ENOMEM;
	}
	if (rc) {
		cairn_committer_close(c);
		return rc;
	}
	*out = c;
	return 0;
}

void cairn_committer_close(cairn_committer *c)
{
	if (!c)
		return;
	/* every hash done (they write dleaves) before anything goes */
	for (int i = 0; i < NTENSORS; i++)
		if (c->be[i])
			(void)cairn_backend_sync(c->be[i]);
	if (c->dleaves)
		cairn_buf_free(c->be[0], c->dleaves);
	for (int i = 0; i < NTENSORS; i++) {
		if (!c->be[i])
			continue;
		cairn_buf_free(c->be[i], c->snap[i]);
		cairn_backend_close(c->be[i]);
	}
	free(c->leaves);
	free(c);
}

int cairn__committer_fits(const cairn_committer *c, cairn_model *m)
{
	cairn_backend *mb;

	if (!c || !m)
		return CAIRN_EINVAL;
	mb = cairn_model_backend(m);
	if (cairn_model_param_count(m) != c->n ||
	    cairn_backend_get_kind(mb) != cairn_backend_get_kind(c->be[0]) ||
	    cairn_backend_device(mb) != cairn_backend_device(c->be[0]))
		return CAIRN_EINVAL;
	return 0;
}

int cairn_committer_start(cairn_committer *c, cairn_model *m, unsigned zero,
                          uint64_t t, const uint8_t samples[CAIRN_HASH_BYTES],
                          uint32_t loss_bits)
{
	cairn_backend *mb;
	size_t bytes;
	int rc = 0;

	if (!c || !m || !samples ||
	    (zero & ~(CAIRN_STATE_ZERO_M | CAIRN_STATE_ZERO_V)))
		return CAIRN_EINVAL;
	mb = cairn_model_backend(m);
	if (c->pending || cairn__committer_fits(c, m))
		return CAIRN_EINVAL;
	bytes = (size_t)c->n * sizeof(float);
	c->zero[0] = 0; /* the parameters are always hashed */
	c->zero[1] = (zero & CAIRN_STATE_ZERO_M) != 0;
	c->zero[2] = (zero & CAIRN_STATE_ZERO_V) != 0;
	c->readable = 0; /* the snapshot is overwritten from here on */
	/* Ordered on the device, the host waiting for nothing: each copy
	 * after the model's last step, the model's next step after the
	 * copies, each hash after its copy; nothing for a +0 tensor. */
	for (int i = 0; i < NTENSORS && !rc; i++)
		if (!c->zero[i])
			rc = cairn_backend_wait_for(c->be[i], mb);
	for (int i = 0; i < NTENSORS && !rc; i++) /* side by side */
		if (!c->zero[i])
			rc = cairn_buf_copy_async(
			    c->be[i], c->snap[i],
			    cairn_model_buffer(m, state_bufs[i]), bytes);
	for (int i = 0; i < NTENSORS && !rc; i++)
		if (!c->zero[i])
			rc = cairn_backend_wait_for(mb, c->be[i]);
	for (int i = 0; i < NTENSORS && !rc; i++)
		if (!c->zero[i])
			rc = cairn__tensor_leaves_start(
			    c->be[i], c->snap[i], bytes,
			    c->dleaves + i * c->lbytes);
	if (rc) {
		/* nothing queued may outlive the call: the model's buffers
		 * are being copied from */
		(void)cairn_backend_sync(mb);
		for (int i = 0; i < NTENSORS; i++)
			(void)cairn_backend_sync(c->be[i]);
		return rc;
	}
	c->st.step = t;
	memcpy(c->st.samples, samples, CAIRN_HASH_BYTES);
	c->st.loss_bits = loss_bits;
	c->pending = 1;
	return 0;
}

int cairn_committer_collect(cairn_committer *c, struct cairn_state *st,
                            int *had)
{
	uint8_t *roots[NTENSORS];
	size_t bytes;
	int rc = 0;

	if (!c || !st || !had)
		return CAIRN_EINVAL;
	*had = 0;
	if (!c->pending)
		return 0;
	c->pending = 0;
	*st = c->st;
	roots[0] = st->params;
	roots[1] = st->m;
	roots[2] = st->v;
	bytes = (size_t)c->n * sizeof(float);
	/* one read, on be[0], once the other hashes are done too (a +0
	 * tensor's leaves come along unused) */
	for (int i = 1; i < NTENSORS && !rc; i++)
		if (!c->zero[i])
			rc = cairn_backend_wait_for(c->be[0], c->be[i]);
	if (!rc)
		rc = cairn_buf_read(c->be[0], c->leaves, c->dleaves,
		                    NTENSORS * c->lbytes);
	for (int i = 0; i < NTENSORS && !rc; i++) {
		if (c->zero[i])
			memcpy(roots[i], c->zroot, CAIRN_HASH_BYTES);
		else
			rc = cairn_tensor_root_from_leaves(
			    c->leaves + i * c->lbytes,
			    cairn_tensor_leaf_count(bytes), bytes, roots[i]);
	}
	if (!rc) {
		*had = 1;
		c->collected = *st;
		memcpy(c->read_zero, c->zero, sizeof c->read_zero);
	} else {
		/* a failed wait or read may leave hashes queued: none may
		 * outlive the call (cairn__committer_drop's promise) */
		for (int i = 0; i < NTENSORS; i++)
			(void)cairn_backend_sync(c->be[i]);
	}
	c->readable = !rc;
	return rc;
}

const struct cairn_state *cairn__committer_collected(const cairn_committer *c)
{
	return c && c->readable ? &c->collected : NULL;
}

int cairn_committer_read(cairn_committer *c, cairn_model_buf which, float *host)
{
	int i;

	if (!c || !host || !c->readable)
		return CAIRN_EINVAL;
	for (i = 0; i < NTENSORS && state_bufs[i] != which; i++)
		;
	if (i == NTENSORS)
		return CAIRN_EINVAL; /* the gradient is not part of a state */
	if (c->read_zero[i]) {       /* +0 by definition, never copied */
		memset(host, 0, (size_t)c->n * sizeof(float));
		return 0;
	}
	return cairn_buf_read(c->be[i], host, c->snap[i],
	                      (size_t)c->n * sizeof(float));
}

int cairn__committer_pending(const cairn_committer *c)
{
	return c ? c->pending : 0;
}

int64_t cairn__committer_nparams(const cairn_committer *c)
{
	return c ? c->n : 0;
}

void cairn__committer_drop(cairn_committer *c)
{
	if (!c)
		return;
	c->readable = 0;
	if (!c->pending)
		return;
	for (int i = 0; i < NTENSORS; i++)
		(void)cairn_backend_sync(c->be[i]);
	c->pending = 0;
}
