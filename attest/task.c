/* cairn: task specs, task ids and signed results (include/cairn/task.h;
 * the byte formats are in docs/commitments.md sections 11 to 13).
 * Running a task is in task_run.c.
 *
 * Ownership: nothing here keeps a pointer to its arguments after it
 * returns. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest_impl.h"
#include "cairn/error.h"
#include "cairn/task.h"

static uint32_t f32_bits(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	return u;
}

/* Whether f is -0.0f. */
static int neg_zero(float f)
{
	return f32_bits(f) == 0x80000000u;
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
	char q[4 * (CAIRN_TASK_PROFILE_MAX + CAIRN_TASK_JOB_MAX) + 4];

	if (!s) {
		cairn__seterr(err, errlen, "no task spec");
		return CAIRN_EINVAL;
	}
	md = &s->model;
	o = &s->opt.adamw;
	if (strncmp(s->profile, CAIRN_PROFILE_EXACT, CAIRN_TASK_PROFILE_MAX) ||
	    !padded_name_ok(s->profile, CAIRN_TASK_PROFILE_MAX,
	                    "abcdefghijklmnopqrstuvwxyz0123456789-.")) {
		cairn__seterr(err, errlen,
		              "numeric profile '%s' is not the one this cairn "
		              "runs ('%s')",
		              cairn__field_quote(s->profile,
		                                 CAIRN_TASK_PROFILE_MAX, q,
		                                 sizeof q),
		              CAIRN_PROFILE_EXACT);
		return CAIRN_EINVAL;
	}
	if (!padded_name_ok(s->job, CAIRN_TASK_JOB_MAX, JOB_CHARS)) {
		cairn__seterr(
		    err, errlen,
		    "job name '%s' must be 1 to %d characters of "
		    "[a-z0-9._-], NUL-padded",
		    cairn__field_quote(s->job, CAIRN_TASK_JOB_MAX, q, sizeof q),
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
			cairn__seterr(
			    err, errlen,
			    "the task's work (H %" PRIu32 " x batch %" PRIu32
			    " x 6 x the model's multiply-adds) overflows "
			    "64 bits; make the task smaller",
			    s->inner_steps, s->batch);
			return CAIRN_EINVAL;
		}
	}
	/* A zero setting is +0: -0 would be a second spec (and id) for the
	 * same task. */
	if ((s->opt.kind == CAIRN_OPTIM_SGD && neg_zero(s->opt.sgd.momentum)) ||
	    (s->opt.kind == CAIRN_OPTIM_ADAMW &&
	     (neg_zero(o->beta1) || neg_zero(o->beta2) ||
	      neg_zero(o->weight_decay)))) {
		cairn__seterr(err, errlen,
		              "%s setting -0: a zero is written +0, so that a "
		              "task has one spec and one id",
		              cairn_optim_name(s->opt.kind));
		return CAIRN_EINVAL;
	}
	if (s->opt.kind == CAIRN_OPTIM_SGD) {
		if (!(s->opt.sgd.lr > 0.0f && s->opt.sgd.lr <= 10.0f) ||
		    !(s->opt.sgd.momentum >= 0.0f &&
		      s->opt.sgd.momentum < 1.0f)) {
			cairn__seterr(
			    err, errlen,
			    "SGD settings lr %g, momentum %g: need 0 < "
			    "lr <= 10, 0 <= momentum < 1",
			    (double)s->opt.sgd.lr, (double)s->opt.sgd.momentum);
			return CAIRN_EINVAL;
		}
	} else if (s->opt.kind != CAIRN_OPTIM_ADAMW) {
		cairn__seterr(err, errlen,
		              "optimizer %" PRIu32
		              " is unknown (1 = AdamW, 2 = SGD)",
		              s->opt.kind);
		return CAIRN_EINVAL;
	} else if (!(o->lr > 0.0f && o->lr <= 10.0f) ||
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
	if (s->dataset_count == 0 ||
	    s->dataset_count > CAIRN_DATASET_MAX_COUNT) {
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
	    s->checkpoint_every == 0 || s->inner_steps % s->checkpoint_every ||
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
	cairn__put_u32le(p, s->opt.kind);
	if (s->opt.kind == CAIRN_OPTIM_SGD) { /* then 12 zero bytes */
		cairn__put_u32le(p + 4, f32_bits(s->opt.sgd.lr));
		cairn__put_u32le(p + 8, f32_bits(s->opt.sgd.momentum));
	} else {
		cairn__put_u32le(p + 4, f32_bits(s->opt.adamw.lr));
		cairn__put_u32le(p + 8, f32_bits(s->opt.adamw.beta1));
		cairn__put_u32le(p + 12, f32_bits(s->opt.adamw.beta2));
		cairn__put_u32le(p + 16, f32_bits(s->opt.adamw.eps));
		cairn__put_u32le(p + 20, f32_bits(s->opt.adamw.weight_decay));
	}
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
	s.opt.kind = cairn__get_u32le(p);
	if (s.opt.kind == CAIRN_OPTIM_SGD) {
		s.opt.sgd.lr = bits_f32(cairn__get_u32le(p + 4));
		s.opt.sgd.momentum = bits_f32(cairn__get_u32le(p + 8));
		for (int i = 12; i < 24; i++)
			if (p[i]) {
				cairn__seterr(err, errlen,
				              "task spec: SGD has only lr and "
				              "momentum, but byte %td (of the "
				              "unused 160..171) is 0x%02x",
				              p + i - buf, p[i]);
				return CAIRN_EFORMAT;
			}
	} else {
		s.opt.adamw.lr = bits_f32(cairn__get_u32le(p + 4));
		s.opt.adamw.beta1 = bits_f32(cairn__get_u32le(p + 8));
		s.opt.adamw.beta2 = bits_f32(cairn__get_u32le(p + 12));
		s.opt.adamw.eps = bits_f32(cairn__get_u32le(p + 16));
		s.opt.adamw.weight_decay = bits_f32(cairn__get_u32le(p + 20));
	}
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
	/* One encoding per spec: anything the encoder would not write (such
	 * as non-zero padding) is refused; the check above refuses -0. */
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
	rc = cairn_tensor_root(
	    ds->images, (size_t)ds->count * CAIRN_DATASET_PIXELS, rec + 4);
	if (rc)
		return rc;
	rc = cairn_tensor_root(ds->labels, ds->count,
	                       rec + 4 + CAIRN_HASH_BYTES);
	if (rc)
		return rc;
	return cairn_hash_domain(CAIRN_DOM_DATASET, rec, sizeof rec, out);
}

/* ---- results --------------------------------------------------------------
 */

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
		char q[4 * CAIRN_TASK_DEVICE_MAX + 4];
		cairn__seterr(
		    err, errlen,
		    "result: device class '%s' is not 1 to %d characters of "
		    "[a-z0-9._-], NUL-padded",
		    cairn__field_quote(r.device_class, CAIRN_TASK_DEVICE_MAX, q,
		                       sizeof q),
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
