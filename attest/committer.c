/* cairn: background commits (include/cairn/task.h, "background commits").
 *
 * A committer owns two snapshot slots, so that one state can be hashed
 * while the one before it is collected.  Each slot owns three more
 * backends of the model's kind and device, one per state tensor (on
 * CUDA, three streams: the tensors' hashes run side by side, each about
 * as long as one 64 KiB chunk's BLAKE2b), a snapshot of its tensor on
 * each, and the tensors' leaf digests.  cairn_committer_start() queues,
 * in the next free slot, the copies of the tensors into the snapshot
 * after the model's last step, the model's next work after the copies,
 * and their chunk hashes after the copies on the slot's backends
 * (cairn_backend_wait_for: on CUDA, events between the streams, so the
 * host waits for nothing); on CUDA those backends have their own
 * streams, so the hashing runs beside the next training steps.
 * cairn_committer_collect() takes the oldest started slot: it waits for
 * its hashes, reads the leaves back and computes the three roots, exactly
 * as cairn_task_commit_state() does on the model's own backend; that
 * snapshot then stays readable (cairn_committer_read: a bundle keeps the
 * checkpoint's tensors) until a start reuses its slot.  Because each slot
 * has its own streams, reading one slot never waits for the other's
 * hashing.  A tensor that is +0 by definition (cairn_task_zero_tensors:
 * m and v at t = 0, SGD's v) is neither copied nor hashed; its root is
 * the zero tensor's (computed once, at open) and a read of it gives
 * zeros.
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
#define NSLOTS 2 /* snapshots in flight: one hashing, one collected */

/* One snapshot of a state and its hashing. */
struct slot {
	cairn_backend *be[NTENSORS]; /* owned: same kind and device */
	float *snap[NTENSORS];       /* be memory: params, m, v */
	/* be[0] memory: the three tensors' leaf digests, lbytes each, each
	 * written by its own backend's hash (one device: any of its streams
	 * may write it), all read back at once by be[0] */
	uint8_t *dleaves;
	int zero[NTENSORS];    /* the tensors +0 by definition */
	struct cairn_state st; /* its step, samples and loss */
};

struct cairn_committer {
	struct slot s[NSLOTS];
	int64_t n;                       /* floats per tensor */
	size_t lbytes;                   /* one tensor's leaves */
	uint8_t *leaves;                 /* host: one slot's leaves */
	uint8_t zroot[CAIRN_HASH_BYTES]; /* the zero tensor's root */
	int first;       /* the oldest slot started and not collected */
	int npending;    /* slots started and not collected: 0..NSLOTS */
	int64_t nhashed; /* tensors whose hashing was queued, since open */
	int readable;    /* the slot of the state last collected, until a start
	                  * reuses it; -1: none */
	struct cairn_state collected; /* with readable: that state */
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
	c->lbytes = lbytes;
	c->readable = -1;
	memset(&opts, 0, sizeof opts);
	opts.threads = 1;
	for (int k = 0; k < NSLOTS && !rc; k++) {
		struct slot *sl = &c->s[k];
		for (int i = 0; i < NTENSORS && !rc; i++) {
			rc = cairn_backend_open_peer(be, &opts, &sl->be[i]);
			if (!rc)
				rc = cairn_buf_alloc(sl->be[i], bytes,
				                     (void **)&sl->snap[i]);
		}
		if (!rc)
			rc = cairn_buf_alloc(sl->be[0], NTENSORS * lbytes,
			                     (void **)&sl->dleaves);
	}
	if (!rc)
		rc = cairn_tensor_zero_root(bytes, c->zroot);
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

/* Waits for everything queued on slot sl's backends. */
static void slot_sync(struct slot *sl)
{
	for (int i = 0; i < NTENSORS; i++)
		if (sl->be[i])
			(void)cairn_backend_sync(sl->be[i]);
}

void cairn_committer_close(cairn_committer *c)
{
	if (!c)
		return;
	for (int k = 0; k < NSLOTS; k++) {
		struct slot *sl = &c->s[k];
		/* every hash done (they write dleaves) before anything
		 * goes */
		slot_sync(sl);
		if (sl->dleaves)
			cairn_buf_free(sl->be[0], sl->dleaves);
		for (int i = 0; i < NTENSORS; i++) {
			if (!sl->be[i])
				continue;
			cairn_buf_free(sl->be[i], sl->snap[i]);
			cairn_backend_close(sl->be[i]);
		}
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
	    cairn_backend_get_kind(mb) !=
	        cairn_backend_get_kind(c->s[0].be[0]) ||
	    cairn_backend_device(mb) != cairn_backend_device(c->s[0].be[0]))
		return CAIRN_EINVAL;
	return 0;
}

int cairn_committer_start(cairn_committer *c, cairn_model *m, unsigned zero,
                          uint64_t t, const uint8_t samples[CAIRN_HASH_BYTES],
                          uint32_t loss_bits)
{
	cairn_backend *mb;
	struct slot *sl;
	size_t bytes;
	int rc = 0, k;

	if (!c || !m || !samples ||
	    (zero & ~(CAIRN_STATE_ZERO_M | CAIRN_STATE_ZERO_V)))
		return CAIRN_EINVAL;
	mb = cairn_model_backend(m);
	if (c->npending == NSLOTS || cairn__committer_fits(c, m))
		return CAIRN_EINVAL;
	bytes = (size_t)c->n * sizeof(float);
	k = (c->first + c->npending) % NSLOTS;
	sl = &c->s[k];
	if (c->readable == k)
		c->readable = -1; /* its snapshot is overwritten from here */
	sl->zero[0] = 0;          /* the parameters are always hashed */
	sl->zero[1] = (zero & CAIRN_STATE_ZERO_M) != 0;
	sl->zero[2] = (zero & CAIRN_STATE_ZERO_V) != 0;
	/* Ordered on the device, the host waiting for nothing: each copy
	 * after the model's last step, the model's next step after the
	 * copies, each hash after its copy; nothing for a +0 tensor. */
	for (int i = 0; i < NTENSORS && !rc; i++)
		if (!sl->zero[i])
			rc = cairn_backend_wait_for(sl->be[i], mb);
	for (int i = 0; i < NTENSORS && !rc; i++) /* side by side */
		if (!sl->zero[i])
			rc = cairn_buf_copy_async(
			    sl->be[i], sl->snap[i],
			    cairn_model_buffer(m, state_bufs[i]), bytes);
	for (int i = 0; i < NTENSORS && !rc; i++)
		if (!sl->zero[i])
			rc = cairn_backend_wait_for(mb, sl->be[i]);
	for (int i = 0; i < NTENSORS && !rc; i++)
		if (!sl->zero[i])
			rc = cairn__tensor_leaves_start(
			    sl->be[i], sl->snap[i], bytes,
			    sl->dleaves + i * c->lbytes);
	if (rc) {
		/* nothing queued may outlive the call: the model's buffers
		 * are being copied from */
		(void)cairn_backend_sync(mb);
		slot_sync(sl);
		return rc;
	}
	sl->st.step = t;
	memcpy(sl->st.samples, samples, CAIRN_HASH_BYTES);
	sl->st.loss_bits = loss_bits;
	for (int i = 0; i < NTENSORS; i++)
		c->nhashed += !sl->zero[i];
	c->npending++;
	return 0;
}

int cairn_committer_collect(cairn_committer *c, struct cairn_state *st,
                            int *had)
{
	uint8_t *roots[NTENSORS];
	struct slot *sl;
	size_t bytes;
	int rc = 0, k;

	if (!c || !st || !had)
		return CAIRN_EINVAL;
	*had = 0;
	if (!c->npending)
		return 0;
	k = c->first;
	sl = &c->s[k];
	c->first = (k + 1) % NSLOTS;
	c->npending--;
	*st = sl->st;
	roots[0] = st->params;
	roots[1] = st->m;
	roots[2] = st->v;
	bytes = (size_t)c->n * sizeof(float);
	/* one read, on be[0], once the other hashes are done too (a +0
	 * tensor's leaves come along unused) */
	for (int i = 1; i < NTENSORS && !rc; i++)
		if (!sl->zero[i])
			rc = cairn_backend_wait_for(sl->be[0], sl->be[i]);
	if (!rc)
		rc = cairn_buf_read(sl->be[0], c->leaves, sl->dleaves,
		                    NTENSORS * c->lbytes);
	for (int i = 0; i < NTENSORS && !rc; i++) {
		if (sl->zero[i])
			memcpy(roots[i], c->zroot, CAIRN_HASH_BYTES);
		else
			rc = cairn_tensor_root_from_leaves(
			    c->leaves + i * c->lbytes,
			    cairn_tensor_leaf_count(bytes), bytes, roots[i]);
	}
	if (rc) {
		/* a failed wait or read may leave hashes queued: none may
		 * outlive the call, and the slot after it is forgotten too
		 * (cairn__committer_drop's promise) */
		cairn__committer_drop(c);
		return rc;
	}
	*had = 1;
	c->collected = *st;
	c->readable = k;
	return 0;
}

const struct cairn_state *cairn__committer_collected(const cairn_committer *c)
{
	return c && c->readable >= 0 ? &c->collected : NULL;
}

int cairn_committer_read(cairn_committer *c, cairn_model_buf which, float *host)
{
	const struct slot *sl;
	int i;

	if (!c || !host || c->readable < 0)
		return CAIRN_EINVAL;
	sl = &c->s[c->readable];
	for (i = 0; i < NTENSORS && state_bufs[i] != which; i++)
		;
	if (i == NTENSORS)
		return CAIRN_EINVAL; /* the gradient is not part of a state */
	if (sl->zero[i]) {           /* +0 by definition, never copied */
		memset(host, 0, (size_t)c->n * sizeof(float));
		return 0;
	}
	return cairn_buf_read(sl->be[i], host, sl->snap[i],
	                      (size_t)c->n * sizeof(float));
}

int cairn__committer_pending(const cairn_committer *c)
{
	return c ? c->npending : 0;
}

int64_t cairn_committer_tensors_hashed(const cairn_committer *c)
{
	return c ? c->nhashed : 0;
}

int64_t cairn__committer_nparams(const cairn_committer *c)
{
	return c ? c->n : 0;
}

void cairn__committer_drop(cairn_committer *c)
{
	if (!c)
		return;
	c->readable = -1;
	if (!c->npending)
		return;
	for (int k = 0; k < NSLOTS; k++)
		slot_sync(&c->s[k]);
	c->npending = 0;
}
