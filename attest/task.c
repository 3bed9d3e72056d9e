/* cairn: task specs, task ids, running a task with its commitment trace,
 * and signed results (include/cairn/task.h; the byte formats are in
 * docs/commitments.md sections 11 to 13).
 *
 * Ownership: nothing here keeps a pointer to its arguments after it
 * returns.  cairn_task_run and cairn_task_replay allocate their batch
 * buffers (x, y, the sample indices) for the call and free them on every
 * path. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attest_impl.h"
#include "committer.h"
#include "cairn/error.h"
#include "cairn/task.h"

static double now_sec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint32_t f32_bits(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	return u;
}

static float bits_f32(uint32_t u)
{
	float f;
	memcpy(&f, &u, 4);
	return f;
}

/* 1 when s[0..max) is a NUL-terminated string of 1..max-1 characters from
 * allowed, followed by NUL padding only. */
static int padded_name_ok(const char *s, size_t max, const char *allowed)
{
	size_t n = strnlen(s, max);
	if (n == 0 || n == max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!strchr(allowed, s[i]))
			return 0;
	for (size_t i = n; i < max; i++)
		if (s[i])
			return 0;
	return 1;
}

#define JOB_CHARS "abcdefghijklmnopqrstuvwxyz0123456789._-"

/* The model's multiply-adds per row: sum over layers of d[l] * d[l+1]
 * (dimensions already checked: each at most 65536, so no overflow). */
static uint64_t spec_macs(const struct cairn_task_spec *s)
{
	uint64_t macs = 0;
	int64_t prev = s->model.input;
	for (int l = 0; l <= s->model.nhidden; l++) {
		int64_t d = l < s->model.nhidden ? s->model.hidden[l]
		                                 : s->model.classes;
		macs += (uint64_t)(prev * d);
		prev = d;
	}
	return macs;
}

int cairn_task_spec_check(const struct cairn_task_spec *s, char *err,
			  size_t errlen)
{
	const cairn_mlp_spec *md;
	int64_t params = 0, prev;
	const cairn_adamw_params *o;

	if (!s) {
		cairn__seterr(err, errlen, "no task spec");
		return CAIRN_EINVAL;
	}
	md = &s->model;
	o = &s->adamw;
	if (strncmp(s->profile, CAIRN_PROFILE_EXACT, CAIRN_TASK_PROFILE_MAX) ||
	    !padded_name_ok(s->profile, CAIRN_TASK_PROFILE_MAX,
			    "abcdefghijklmnopqrstuvwxyz0123456789-.")) {
		cairn__seterr(
		    err, errlen,
		    "numeric profile '%.*s' is not the one this cairn "
		    "runs ('%s')",
		    CAIRN_TASK_PROFILE_MAX, s->profile, CAIRN_PROFILE_EXACT);
		return CAIRN_EINVAL;
	}
	if (!padded_name_ok(s->job, CAIRN_TASK_JOB_MAX, JOB_CHARS)) {
		cairn__seterr(err, errlen,
		              "job name '%.*s' must be 1 to %d characters of "
		              "[a-z0-9._-], NUL-padded",
		              CAIRN_TASK_JOB_MAX, s->job,
		              CAIRN_TASK_JOB_MAX - 1);
		return CAIRN_EINVAL;
	}
	if (s->round >= CAIRN_SAMPLE_ROUND_LIMIT) {
		cairn__seterr(err, errlen,
		              "round %" PRIu32 " is not below 2^30", s->round);
		return CAIRN_EINVAL;
	}
	if (s->tasks == 0 || s->task >= s->tasks) {
		cairn__seterr(err, errlen,
		              "task index %" PRIu32
		              " is not below the round's task "
		              "count %" PRIu32,
		              s->task, s->tasks);
		return CAIRN_EINVAL;
	}
	if (md->nhidden < 0 || md->nhidden > CAIRN_MLP_MAX_HIDDEN ||
	    (md->act != CAIRN_ACT_RELU && md->act != CAIRN_ACT_GELU)) {
		cairn__seterr(
		    err, errlen,
		    "model: %d hidden layers (at most %d) and activation "
		    "%d (0 relu, 1 gelu)",
		    md->nhidden, CAIRN_MLP_MAX_HIDDEN, (int)md->act);
		return CAIRN_EINVAL;
	}
	prev = md->input;
	for (int l = 0; l <= md->nhidden; l++) {
		int64_t d = l < md->nhidden ? md->hidden[l] : md->classes;
		if (prev < 1 || prev > CAIRN_TASK_MAX_DIM || d < 1 ||
		    d > CAIRN_TASK_MAX_DIM) {
			cairn__seterr(err, errlen,
			              "model: layer %d is %" PRId64
			              " x %" PRId64
			              "; every dimension must be 1..%d",
			              l, prev, d, CAIRN_TASK_MAX_DIM);
			return CAIRN_EINVAL;
		}
		params += d * prev + d;
		prev = d;
	}
	for (int l = md->nhidden; l < CAIRN_MLP_MAX_HIDDEN; l++)
		if (md->hidden[l]) {
			cairn__seterr(err, errlen,
			              "model: hidden[%d] = %" PRId64
			              " beyond the %d hidden layers",
			              l, md->hidden[l], md->nhidden);
			return CAIRN_EINVAL;
		}
	if (params > CAIRN_TASK_MAX_PARAMS) {
		cairn__seterr(err, errlen,
		              "model: %" PRId64
		              " parameters, more than the limit %" PRId64,
		              params, (int64_t)CAIRN_TASK_MAX_PARAMS);
		return CAIRN_EINVAL;
	}
	/* The work a result claims (cairn_task_flops) must fit in 64 bits. */
	{
		uint64_t w;
		if (__builtin_mul_overflow(spec_macs(s),
		                           6u * (uint64_t)s->batch, &w) ||
		    __builtin_mul_overflow(w, (uint64_t)s->inner_steps, &w)) {
			cairn__seterr(err, errlen,
			              "the task's work (H %" PRIu32 " x batch %" PRIu32
			              " x 6 x the model's multiply-adds) overflows "
			              "64 bits; make the task smaller",
			              s->inner_steps, s->batch);
			return CAIRN_EINVAL;
		}
	}
	if (s->optimizer != CAIRN_TASK_OPT_ADAMW) {
		cairn__seterr(err, errlen,
		              "optimizer %" PRIu32 " is unknown (1 = AdamW)",
		              s->optimizer);
		return CAIRN_EINVAL;
	}
	if (!(o->lr > 0.0f && o->lr <= 10.0f) ||
	    !(o->beta1 >= 0.0f && o->beta1 < 1.0f) ||
	    !(o->beta2 >= 0.0f && o->beta2 < 1.0f) ||
	    !(o->eps > 0.0f && o->eps <= 1.0f) ||
	    !(o->weight_decay >= 0.0f && o->weight_decay <= 1.0f)) {
		cairn__seterr(
		    err, errlen,
		    "AdamW settings lr %g, betas %g/%g, eps %g, weight decay "
		    "%g: need 0 < lr <= 10, 0 <= beta < 1, 0 < eps <= 1, "
		    "0 <= weight decay <= 1",
		    (double)o->lr, (double)o->beta1, (double)o->beta2,
		    (double)o->eps, (double)o->weight_decay);
		return CAIRN_EINVAL;
	}
	if (s->dataset_count == 0 || s->dataset_count > CAIRN_DATASET_MAX_COUNT) {
		cairn__seterr(err, errlen,
		              "dataset count %" PRIu32 " is not 1..%u",
		              s->dataset_count, CAIRN_DATASET_MAX_COUNT);
		return CAIRN_EINVAL;
	}
	if (s->batch == 0 || s->batch > CAIRN_TASK_MAX_BATCH || s->micro == 0 ||
	    s->batch % s->micro) {
		cairn__seterr(err, errlen,
		              "batch %" PRIu32 " with %" PRIu32
		              " micro-batches: need 1 <= batch <= %d and micro "
		              "dividing batch",
		              s->batch, s->micro, CAIRN_TASK_MAX_BATCH);
		return CAIRN_EINVAL;
	}
	if (s->inner_steps == 0 || s->inner_steps > CAIRN_TASK_MAX_STEPS ||
	    s->checkpoint_every == 0 ||
	    s->inner_steps % s->checkpoint_every ||
	    s->inner_steps / s->checkpoint_every + 1 > CAIRN_TASK_MAX_STATES) {
		cairn__seterr(
		    err, errlen,
		    "%" PRIu32 " inner steps with a checkpoint every %" PRIu32
		    ": need 1 <= H <= %d, c dividing H, and H / c < %d",
		    s->inner_steps, s->checkpoint_every, CAIRN_TASK_MAX_STEPS,
		    CAIRN_TASK_MAX_STATES);
		return CAIRN_EINVAL;
	}
	return 0;
}

int cairn_task_spec_encode(const struct cairn_task_spec *s,
			   uint8_t out[CAIRN_TASK_SPEC_BYTES])
{
	uint8_t *p = out;
	const cairn_mlp_spec *md;
	if (!s || !out || cairn_task_spec_check(s, NULL, 0))
		return CAIRN_EINVAL;
	md = &s->model;
	memset(out, 0, CAIRN_TASK_SPEC_BYTES);
	memcpy(p, s->profile, CAIRN_TASK_PROFILE_MAX);
	p += CAIRN_TASK_PROFILE_MAX;
	memcpy(p, s->job, CAIRN_TASK_JOB_MAX);
	p += CAIRN_TASK_JOB_MAX;
	cairn__put_u64le(p, s->seed);
	cairn__put_u32le(p + 8, s->round);
	cairn__put_u32le(p + 12, s->task);
	cairn__put_u32le(p + 16, s->tasks);
	p += 20;
	cairn__put_u32le(p, (uint32_t)md->input);
	cairn__put_u32le(p + 4, (uint32_t)md->nhidden);
	for (int l = 0; l < CAIRN_MLP_MAX_HIDDEN; l++)
		cairn__put_u32le(p + 8 + 4 * l,
				 l < md->nhidden ? (uint32_t)md->hidden[l] : 0);
	cairn__put_u32le(p + 40, (uint32_t)md->classes);
	cairn__put_u32le(p + 44, (uint32_t)md->act);
	p += 48;
	memcpy(p, s->params_root, CAIRN_HASH_BYTES);
	p += CAIRN_HASH_BYTES;
	cairn__put_u32le(p, s->optimizer);
	cairn__put_u32le(p + 4, f32_bits(s->adamw.lr));
	cairn__put_u32le(p + 8, f32_bits(s->adamw.beta1));
	cairn__put_u32le(p + 12, f32_bits(s->adamw.beta2));
	cairn__put_u32le(p + 16, f32_bits(s->adamw.eps));
	cairn__put_u32le(p + 20, f32_bits(s->adamw.weight_decay));
	p += 24;
	memcpy(p, s->dataset_root, CAIRN_HASH_BYTES);
	p += CAIRN_HASH_BYTES;
	cairn__put_u32le(p, s->dataset_count);
	cairn__put_u32le(p + 4, s->batch);
	cairn__put_u32le(p + 8, s->micro);
	cairn__put_u32le(p + 12, s->inner_steps);
	cairn__put_u32le(p + 16, s->checkpoint_every);
	p += 20;
	return p - out == CAIRN_TASK_SPEC_BYTES ? 0 : CAIRN_EINTERNAL;
}

int cairn_task_spec_decode(const uint8_t *buf, size_t len,
			   struct cairn_task_spec *out, char *err,
			   size_t errlen)
{
	struct cairn_task_spec s;
	const uint8_t *p = buf;
	uint8_t again[CAIRN_TASK_SPEC_BYTES];
	uint32_t nh;

	if (!buf || !out) {
		cairn__seterr(err, errlen, "no input");
		return CAIRN_EINVAL;
	}
	if (len != CAIRN_TASK_SPEC_BYTES) {
		cairn__seterr(
		    err, errlen,
		    "task spec is %zu bytes; the exact-v1 encoding has %d", len,
		    CAIRN_TASK_SPEC_BYTES);
		return CAIRN_EFORMAT;
	}
	memset(&s, 0, sizeof s);
	memcpy(s.profile, p, CAIRN_TASK_PROFILE_MAX);
	p += CAIRN_TASK_PROFILE_MAX;
	memcpy(s.job, p, CAIRN_TASK_JOB_MAX);
	p += CAIRN_TASK_JOB_MAX;
	s.seed = cairn__get_u64le(p);
	s.round = cairn__get_u32le(p + 8);
	s.task = cairn__get_u32le(p + 12);
	s.tasks = cairn__get_u32le(p + 16);
	p += 20;
	s.model.input = cairn__get_u32le(p);
	nh = cairn__get_u32le(p + 4);
	if (nh > CAIRN_MLP_MAX_HIDDEN) {
		cairn__seterr(err, errlen,
		              "task spec: %" PRIu32
		              " hidden layers (at most %d)",
		              nh, CAIRN_MLP_MAX_HIDDEN);
		return CAIRN_EFORMAT;
	}
	s.model.nhidden = (int)nh;
	for (int l = 0; l < CAIRN_MLP_MAX_HIDDEN; l++)
		s.model.hidden[l] = cairn__get_u32le(p + 8 + 4 * l);
	s.model.classes = cairn__get_u32le(p + 40);
	s.model.act = (cairn_act)cairn__get_u32le(p + 44);
	p += 48;
	memcpy(s.params_root, p, CAIRN_HASH_BYTES);
	p += CAIRN_HASH_BYTES;
	s.optimizer = cairn__get_u32le(p);
	s.adamw.lr = bits_f32(cairn__get_u32le(p + 4));
	s.adamw.beta1 = bits_f32(cairn__get_u32le(p + 8));
	s.adamw.beta2 = bits_f32(cairn__get_u32le(p + 12));
	s.adamw.eps = bits_f32(cairn__get_u32le(p + 16));
	s.adamw.weight_decay = bits_f32(cairn__get_u32le(p + 20));
	p += 24;
	memcpy(s.dataset_root, p, CAIRN_HASH_BYTES);
	p += CAIRN_HASH_BYTES;
	s.dataset_count = cairn__get_u32le(p);
	s.batch = cairn__get_u32le(p + 4);
	s.micro = cairn__get_u32le(p + 8);
	s.inner_steps = cairn__get_u32le(p + 12);
	s.checkpoint_every = cairn__get_u32le(p + 16);
	if (cairn_task_spec_check(&s, err, errlen))
		return CAIRN_EFORMAT;
	/* One encoding per spec: anything the encoder would not write (a
	 * non-canonical float such as -0 is fine, but padding is not) is
	 * refused. */
	if (cairn_task_spec_encode(&s, again) ||
	    memcmp(again, buf, CAIRN_TASK_SPEC_BYTES)) {
		cairn__seterr(
		    err, errlen,
		    "task spec is not in canonical form (non-zero padding)");
		return CAIRN_EFORMAT;
	}
	*out = s;
	return 0;
}

int cairn_task_id(const struct cairn_task_spec *s,
		  uint8_t out[CAIRN_HASH_BYTES])
{
	uint8_t enc[CAIRN_TASK_SPEC_BYTES];
	int rc;
	if (!s || !out)
		return CAIRN_EINVAL;
	rc = cairn_task_spec_encode(s, enc);
	if (rc)
		return rc;
	return cairn_hash_domain(CAIRN_DOM_TASK, enc, sizeof enc, out);
}

uint32_t cairn_task_state_count(const struct cairn_task_spec *s)
{
	if (cairn_task_spec_check(s, NULL, 0))
		return 0;
	return s->inner_steps / s->checkpoint_every + 1;
}

uint64_t cairn_task_flops(const struct cairn_task_spec *s)
{
	/* The check bounds this product to 64 bits. */
	if (cairn_task_spec_check(s, NULL, 0))
		return 0;
	return (uint64_t)s->inner_steps * s->batch * 6u * spec_macs(s);
}

int cairn_dataset_root(const cairn_dataset *ds, uint8_t out[CAIRN_HASH_BYTES])
{
	uint8_t rec[4 + 2 * CAIRN_HASH_BYTES];
	int rc;
	if (!ds || !out || !ds->images || !ds->labels)
		return CAIRN_EINVAL;
	cairn__put_u32le(rec, ds->count);
	rc = cairn_tensor_root(ds->images,
			       (size_t)ds->count * CAIRN_DATASET_PIXELS, rec + 4);
	if (rc)
		return rc;
	rc = cairn_tensor_root(ds->labels, ds->count, rec + 4 + CAIRN_HASH_BYTES);
	if (rc)
		return rc;
	return cairn_hash_domain(CAIRN_DOM_DATASET, rec, sizeof rec, out);
}

/* ---- running ------------------------------------------------------------ */

int cairn_task_commit_state(cairn_model *m, uint64_t t,
			    const uint8_t samples[CAIRN_HASH_BYTES],
			    float loss, struct cairn_state *st)
{
	static const cairn_model_buf bufs[3] = {
	    CAIRN_MODEL_PARAMS, CAIRN_MODEL_M, CAIRN_MODEL_V};
	uint8_t *roots[3];
	size_t bytes;
	int rc;

	if (!m || !samples || !st)
		return CAIRN_EINVAL;
	roots[0] = st->params;
	roots[1] = st->m;
	roots[2] = st->v;
	bytes = (size_t)cairn_model_param_count(m) * sizeof(float);
	for (int i = 0; i < 3; i++) {
		rc = cairn_tensor_root_on(cairn_model_backend(m),
					  cairn_model_buffer(m, bufs[i]), bytes,
					  roots[i]);
		if (rc)
			return rc;
	}
	st->step = t;
	memcpy(st->samples, samples, CAIRN_HASH_BYTES);
	st->loss_bits = f32_bits(loss);
	return 0;
}

/* 0 when m can run spec (same model, big enough); CAIRN_EINVAL with err. */
static int model_fits(cairn_model *m, const struct cairn_task_spec *s,
		      const cairn_dataset *ds, char *err, size_t errlen)
{
	const cairn_mlp_spec *ms = cairn_model_spec(m);
	if (cairn_task_spec_check(s, err, errlen))
		return CAIRN_EINVAL;
	if (ms->input != s->model.input || ms->nhidden != s->model.nhidden ||
	    ms->classes != s->model.classes || ms->act != s->model.act ||
	    memcmp(ms->hidden, s->model.hidden,
		   (size_t)ms->nhidden * sizeof ms->hidden[0])) {
		cairn__seterr(err, errlen,
		              "the model given is not the spec's model");
		return CAIRN_EINVAL;
	}
	if (cairn_model_max_batch(m) < (int64_t)s->batch ||
	    cairn_model_max_micro(m) < (int)s->micro) {
		cairn__seterr(err, errlen,
		              "the model was made for batches of %" PRId64
		              " in %d micro-batches; the spec needs %" PRIu32
		              " in %" PRIu32,
		              cairn_model_max_batch(m),
		              cairn_model_max_micro(m), s->batch, s->micro);
		return CAIRN_EINVAL;
	}
	if (!ds || ds->count != s->dataset_count ||
	    s->model.input != CAIRN_DATASET_PIXELS) {
		cairn__seterr(
		    err, errlen,
		    "the dataset has %u samples of %d pixels; the spec "
		    "names %" PRIu32 " samples for a model of %" PRId64
		    " inputs",
		    ds ? ds->count : 0u, CAIRN_DATASET_PIXELS, s->dataset_count,
		    s->model.input);
		return CAIRN_EMISMATCH;
	}
	return 0;
}

/* Scratch of one batch, owned by the caller of batches_alloc. */
struct batch {
	float *x;
	int32_t *y;
	uint32_t *idx;
};

/* The two batches of a run (step t uses bb[t % 2]; see run_step). */
static int batches_alloc(struct batch bb[2], const struct cairn_task_spec *s,
                         char *err, size_t errlen)
{
	for (int i = 0; i < 2; i++) {
		struct batch *b = &bb[i];
		b->x = malloc((size_t)s->batch * (size_t)s->model.input *
		              sizeof(float));
		b->y = malloc((size_t)s->batch * sizeof(int32_t));
		b->idx = malloc((size_t)s->batch * sizeof(uint32_t));
		if (!b->x || !b->y || !b->idx) {
			cairn__seterr(err, errlen,
			              "out of memory for a batch of %" PRIu32,
			              s->batch);
			return CAIRN_ENOMEM;
		}
	}
	return 0;
}

static void batches_free(struct batch bb[2])
{
	for (int i = 0; i < 2; i++) {
		free(bb[i].x);
		free(bb[i].y);
		free(bb[i].idx);
	}
}

/* Step t's batch (1-based t): its sample indices drawn and, unless the
 * model holds the training set under the spec's dataset root
 * (cairn_model_has_data: the backend gathers the rows itself), its rows
 * and labels gathered into b. */
static int batch_prepare(const cairn_model *m, const struct cairn_task_spec *s,
                         const cairn_dataset *ds, uint32_t t, struct batch *b,
                         char *err, size_t errlen)
{
	int rc = cairn_sample_indices(s->seed, s->round, s->task, t,
	                              s->dataset_count, s->batch, b->idx);

	if (rc) {
		cairn__seterr(err, errlen, "sampling step %" PRIu32 ": %s", t,
		              cairn_strerror(rc));
		return rc;
	}
	if (cairn_model_has_data(m, ds, s->dataset_root))
		return 0;
	rc = cairn_dataset_gather(ds, b->idx, s->batch, b->x, b->y, err,
	                          errlen);
	if (rc && err && errlen) {
		char why[256];
		snprintf(why, sizeof why, "%s", err);
		cairn__seterr(err, errlen, "gathering step %" PRIu32 ": %s", t,
		              why);
	}
	return rc;
}

/* Inner step t on the batch bb[t % 2], which batch_prepare filled: forward,
 * backward, AdamW.  While the device computes it (cairn_model_step_begin
 * returns without waiting on a GPU), step t + 1's batch is prepared into
 * bb[(t + 1) % 2] when t < t_last; then the loss is read. */
static int run_step(cairn_model *m, const struct cairn_task_spec *s,
                    const cairn_dataset *ds, uint32_t t, uint32_t t_last,
                    struct batch bb[2], float *loss, char *err, size_t errlen)
{
	const struct batch *b = &bb[t % 2];
	cairn_adamw_params opt = s->adamw;
	int rc, rc_next = 0;

	opt.step = t;
	rc = cairn_model_has_data(m, ds, s->dataset_root)
	         ? cairn_model_step_begin_idx(m, s->batch, (int)s->micro,
	                                      b->idx, &opt)
	         : cairn_model_step_begin(m, s->batch, (int)s->micro, b->x,
	                                  b->y, &opt);
	if (!rc && t < t_last)
		rc_next = batch_prepare(m, s, ds, t + 1, &bb[(t + 1) % 2], err,
		                        errlen);
	if (!rc) /* always, so that the model is never left mid-step */
		rc = cairn_model_step_end(m, loss);
	if (rc) {
		cairn__seterr(err, errlen, "step %" PRIu32 " on %s: %s", t,
		              cairn_backend_name(cairn_model_backend(m)),
		              cairn_strerror(rc));
		return rc;
	}
	return rc_next;
}

/* Step t's record (samples digest of b->idx and the loss bits) into rec;
 * the samples digest also into samples. */
static int step_record(const struct batch *b, const struct cairn_task_spec *s,
		       float loss, uint8_t samples[CAIRN_HASH_BYTES],
		       uint8_t rec[CAIRN_STEP_RECORD_BYTES])
{
	int rc = cairn_samples_digest(b->idx, s->batch, samples);
	if (!rc)
		rc = cairn_step_record(samples, f32_bits(loss), rec);
	return rc;
}

/* A background commit's state (when one is pending): its root into the
 * trace, then the callback, without the model (task.h). */
static int collect_commit(cairn_committer *cm,
			  const struct cairn_task_spec *spec,
			  struct cairn_task_trace *trace, struct cairn_state *st,
			  cairn_task_checkpoint_fn cb, void *ud)
{
	uint8_t *root;
	int had, rc;

	rc = cairn_committer_collect(cm, st, &had);
	if (rc || !had)
		return rc;
	root = trace->state_roots +
	       (size_t)(st->step / spec->checkpoint_every) * CAIRN_HASH_BYTES;
	rc = cairn_state_root(st, root);
	if (!rc && cb)
		rc = cb(ud, st, root, NULL);
	return rc;
}

int cairn_task_run(cairn_model *m, const struct cairn_task_spec *spec,
		   const cairn_dataset *ds,
		   const uint8_t dataset_root[CAIRN_HASH_BYTES],
		   const float *w_r, struct cairn_task_trace *trace,
		   cairn_task_checkpoint_fn cb, void *ud, char *err,
		   size_t errlen)
{
	struct batch bb[2] = {{0}};
	struct cairn_state st;
	uint8_t samples[CAIRN_HASH_BYTES];
	char hex[CAIRN_HASH_HEX_BYTES], hex2[CAIRN_HASH_HEX_BYTES];
	uint32_t n, c;
	double t_hash = 0.0;
	int rc;

	if (!m || !spec || !dataset_root || !w_r || !trace ||
	    !trace->state_roots || !trace->losses || !trace->steps) {
		cairn__seterr(err, errlen, "cairn_task_run: missing argument");
		return CAIRN_EINVAL;
	}
	rc = model_fits(m, spec, ds, err, errlen);
	if (rc)
		return rc;
	if (trace->committer && cairn__committer_fits(trace->committer, m)) {
		cairn__seterr(err, errlen,
		              "the background committer was opened for "
		              "another model or device than this task's");
		return CAIRN_EINVAL;
	}
	if (!cairn_hash_equal(dataset_root, spec->dataset_root)) {
		cairn_hash_to_hex(dataset_root, hex);
		cairn_hash_to_hex(spec->dataset_root, hex2);
		cairn__seterr(
		    err, errlen,
		    "the local dataset's root %s is not the task's %s: "
		    "other data (point --data at the files the job names)",
		    hex, hex2);
		return CAIRN_EMISMATCH;
	}
	n = cairn_task_state_count(spec);
	c = spec->checkpoint_every;
	rc = batches_alloc(bb, spec, err, errlen);
	if (rc)
		goto out;
	/* t = 0: W_r, m = v = +0, no samples, loss bits 0. */
	rc = cairn_model_write(m, CAIRN_MODEL_PARAMS, w_r);
	if (!rc)
		rc = cairn_model_zero(m, CAIRN_MODEL_M);
	if (!rc)
		rc = cairn_model_zero(m, CAIRN_MODEL_V);
	if (!rc)
		rc = cairn_samples_digest(NULL, 0, samples);
	if (rc) {
		cairn__seterr(err, errlen, "loading W_r: %s",
		              cairn_strerror(rc));
		goto out;
	}
	{
		double t0 = now_sec();
		rc = cairn_task_commit_state(m, 0, samples, 0.0f, &st);
		if (!rc)
			rc = cairn_state_root(&st, trace->state_roots);
		t_hash += now_sec() - t0;
	}
	if (rc) {
		cairn__seterr(err, errlen, "hashing the state at t = 0: %s",
		              cairn_strerror(rc));
		goto out;
	}
	if (!cairn_hash_equal(st.params, spec->params_root)) {
		cairn_hash_to_hex(st.params, hex);
		cairn_hash_to_hex(spec->params_root, hex2);
		cairn__seterr(
		    err, errlen,
		    "the parameters given have root %s, the task names "
		    "W_r = %s",
		    hex, hex2);
		rc = CAIRN_EMISMATCH;
		goto out;
	}
	if (cb && (rc = cb(ud, &st, trace->state_roots, m))) {
		cairn__seterr(err, errlen, "checkpoint t = 0 not kept: %s",
		              cairn_strerror(rc));
		goto out;
	}
	rc = batch_prepare(m, spec, ds, 1, &bb[1], err, errlen);
	if (rc)
		goto out;
	for (uint32_t t = 1; t <= spec->inner_steps; t++) {
		float loss;
		rc = run_step(m, spec, ds, t, spec->inner_steps, bb, &loss, err,
		              errlen);
		if (rc)
			goto out;
		trace->losses[t - 1] = loss;
		{
			/* The step log's record counts as commitment work. */
			double t0 = now_sec();
			rc = step_record(&bb[t % 2], spec, loss, samples,
					 trace->steps + (size_t)(t - 1) *
							    CAIRN_STEP_RECORD_BYTES);
			t_hash += now_sec() - t0;
		}
		if (rc) {
			cairn__seterr(err, errlen, "recording step %" PRIu32
				      ": %s", t, cairn_strerror(rc));
			goto out;
		}
		if (t % c)
			continue;
		{
			double t0 = now_sec();
			uint8_t *root = trace->state_roots +
					(size_t)(t / c) * CAIRN_HASH_BYTES;
			if (trace->committer) {
				/* the last one's roots, then this one's start */
				rc = collect_commit(trace->committer, spec,
				                    trace, &st, cb, ud);
				if (!rc)
					rc = cairn_committer_start(
					    trace->committer, m, t, samples,
					    f32_bits(loss));
			} else {
				rc = cairn_task_commit_state(m, t, samples,
				                             loss, &st);
				if (!rc)
					rc = cairn_state_root(&st, root);
				if (!rc && cb)
					rc = cb(ud, &st, root, m);
			}
			t_hash += now_sec() - t0;
			if (rc) {
				cairn__seterr(err, errlen,
				              "checkpoint t = %" PRIu32 ": %s",
				              t, cairn_strerror(rc));
				goto out;
			}
		}
	}
	if (trace->committer) { /* the state at t = H */
		double t0 = now_sec();
		rc = collect_commit(trace->committer, spec, trace, &st, cb, ud);
		t_hash += now_sec() - t0;
		if (rc) {
			cairn__seterr(err, errlen,
			              "checkpoint t = %" PRIu32 ": %s",
			              spec->inner_steps, cairn_strerror(rc));
			goto out;
		}
	}
	memcpy(trace->final_params_root, st.params, CAIRN_HASH_BYTES);
	rc = cairn_trace_root(trace->state_roots, n, trace->trace_root);
	if (!rc)
		rc = cairn_step_log_root(trace->steps, n - 1, c,
					 trace->steps_root);
	trace->hash_seconds = t_hash;
out:
	if (rc && trace && trace->committer)
		cairn__committer_drop(trace->committer);
	batches_free(bb);
	return rc;
}

int cairn_task_replay(cairn_model *m, const struct cairn_task_spec *spec,
		      const cairn_dataset *ds, uint32_t t0, uint32_t t1,
		      struct cairn_state *end, uint8_t *records, char *err,
		      size_t errlen)
{
	struct batch bb[2] = {{0}};
	uint8_t samples[CAIRN_HASH_BYTES];
	float loss = 0.0f;
	int rc;

	if (!m || !spec || !end) {
		cairn__seterr(err, errlen,
		              "cairn_task_replay: missing argument");
		return CAIRN_EINVAL;
	}
	rc = model_fits(m, spec, ds, err, errlen);
	if (rc)
		return rc;
	if (t0 >= t1 || t1 > spec->inner_steps) {
		cairn__seterr(err, errlen,
		              "steps %" PRIu32 "..%" PRIu32
		              " are not inside 1..%" PRIu32,
		              t0 + 1, t1, spec->inner_steps);
		return CAIRN_EINVAL;
	}
	rc = batches_alloc(bb, spec, err, errlen);
	if (rc)
		goto out;
	rc = batch_prepare(m, spec, ds, t0 + 1, &bb[(t0 + 1) % 2], err, errlen);
	if (rc)
		goto out;
	for (uint32_t t = t0 + 1; t <= t1; t++) {
		uint8_t rec[CAIRN_STEP_RECORD_BYTES];
		rc = run_step(m, spec, ds, t, t1, bb, &loss, err, errlen);
		if (rc)
			goto out;
		rc = step_record(&bb[t % 2], spec, loss, samples, rec);
		if (rc) {
			cairn__seterr(err, errlen, "recording step %" PRIu32
				      ": %s", t, cairn_strerror(rc));
			goto out;
		}
		if (records)
			memcpy(records + (size_t)(t - t0 - 1) *
					     CAIRN_STEP_RECORD_BYTES,
			       rec, sizeof rec);
	}
	rc = cairn_task_commit_state(m, t1, samples, loss, end);
out:
	batches_free(bb);
	return rc;
}

/* ---- results -------------------------------------------------------------- */

int cairn_task_result_encode(const struct cairn_task_result *r,
			     uint8_t out[CAIRN_TASK_RESULT_BYTES])
{
	uint8_t *p = out;
	if (!r || !out ||
	    !padded_name_ok(r->device_class, CAIRN_TASK_DEVICE_MAX,
			    "abcdefghijklmnopqrstuvwxyz0123456789._-"))
		return CAIRN_EINVAL;
	memcpy(p, r->task_id, 32);
	memcpy(p + 32, r->worker_key, 32);
	memcpy(p + 64, r->trace_root, 32);
	memcpy(p + 96, r->final_params_root, 32);
	memcpy(p + 128, r->steps_root, 32);
	cairn__put_u64le(p + 160, r->flops);
	memcpy(p + 168, r->device_class, CAIRN_TASK_DEVICE_MAX);
	return 0;
}

int cairn_task_result_decode(const uint8_t *buf, size_t len,
			     struct cairn_task_result *out, char *err,
			     size_t errlen)
{
	struct cairn_task_result r;
	if (!buf || !out) {
		cairn__seterr(err, errlen, "no input");
		return CAIRN_EINVAL;
	}
	if (len != CAIRN_TASK_RESULT_BYTES) {
		cairn__seterr(err, errlen,
		              "result is %zu bytes; the v2 encoding has %d",
		              len, CAIRN_TASK_RESULT_BYTES);
		return CAIRN_EFORMAT;
	}
	memcpy(r.task_id, buf, 32);
	memcpy(r.worker_key, buf + 32, 32);
	memcpy(r.trace_root, buf + 64, 32);
	memcpy(r.final_params_root, buf + 96, 32);
	memcpy(r.steps_root, buf + 128, 32);
	r.flops = cairn__get_u64le(buf + 160);
	memcpy(r.device_class, buf + 168, CAIRN_TASK_DEVICE_MAX);
	if (!padded_name_ok(r.device_class, CAIRN_TASK_DEVICE_MAX,
			    "abcdefghijklmnopqrstuvwxyz0123456789._-")) {
		cairn__seterr(
		    err, errlen,
		    "result: device class is not 1 to %d characters of "
		    "[a-z0-9._-], NUL-padded",
		    CAIRN_TASK_DEVICE_MAX - 1);
		return CAIRN_EFORMAT;
	}
	*out = r;
	return 0;
}

/* The signed message: H(RESULT header || encoding). */
static int result_digest(const struct cairn_task_result *r,
			 uint8_t out[CAIRN_HASH_BYTES])
{
	uint8_t enc[CAIRN_TASK_RESULT_BYTES];
	int rc = cairn_task_result_encode(r, enc);
	if (rc)
		return rc;
	return cairn_hash_domain(CAIRN_DOM_RESULT, enc, sizeof enc, out);
}

int cairn_task_result_sign(const struct cairn_identity *id,
			   const struct cairn_task_result *r,
			   uint8_t sig[CAIRN_SIGNATURE_BYTES])
{
	uint8_t d[CAIRN_HASH_BYTES];
	int rc;
	if (!id || !r || !sig ||
	    memcmp(id->public_key, r->worker_key, CAIRN_PUBLIC_KEY_BYTES))
		return CAIRN_EINVAL;
	rc = result_digest(r, d);
	if (rc)
		return rc;
	return cairn_identity_sign(id, d, sizeof d, sig);
}

int cairn_task_result_verify(const struct cairn_task_result *r,
			     const uint8_t sig[CAIRN_SIGNATURE_BYTES])
{
	uint8_t d[CAIRN_HASH_BYTES];
	int rc;
	if (!r || !sig)
		return CAIRN_EINVAL;
	rc = result_digest(r, d);
	if (rc)
		return rc;
	return cairn_identity_verify(r->worker_key, d, sizeof d, sig);
}
