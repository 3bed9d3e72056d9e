/* cairn: running a task with its commitment trace (include/cairn/task.h,
 * "running a task"): the inner steps, each step's record, the state
 * commitments at the checkpoints (here, or through a background
 * committer: committer.c), and the auditor's replay of a segment.
 *
 * Ownership: nothing here keeps a pointer to its arguments after it
 * returns.  cairn_task_run and cairn_task_replay allocate their batch
 * buffers (x, y, the sample indices) for the call and free them on every
 * path. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest_impl.h"
#include "committer.h"
#include "cairn/error.h"
#include "cairn/log.h"
#include "cairn/task.h"

static uint32_t f32_bits(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	return u;
}

unsigned cairn_task_zero_tensors(const struct cairn_task_spec *spec, uint64_t t)
{
	unsigned z = t == 0 ? CAIRN_STATE_ZERO_M | CAIRN_STATE_ZERO_V : 0u;

	if (spec && spec->opt.kind == CAIRN_OPTIM_SGD)
		z |= CAIRN_STATE_ZERO_V;
	return z;
}

int cairn_task_commit_state(cairn_model *m, unsigned zero, uint64_t t,
                            const uint8_t samples[CAIRN_HASH_BYTES], float loss,
                            struct cairn_state *st)
{
	static const cairn_model_buf bufs[3] = {CAIRN_MODEL_PARAMS,
	                                        CAIRN_MODEL_M, CAIRN_MODEL_V};
	uint8_t *roots[3], zroot[CAIRN_HASH_BYTES];
	size_t bytes;
	int rc;

	if (!m || !samples || !st ||
	    (zero & ~(CAIRN_STATE_ZERO_M | CAIRN_STATE_ZERO_V)))
		return CAIRN_EINVAL;
	roots[0] = st->params;
	roots[1] = st->m;
	roots[2] = st->v;
	bytes = (size_t)cairn_model_param_count(m) * sizeof(float);
	if (zero && (rc = cairn_tensor_zero_root(bytes, zroot)))
		return rc;
	for (int i = 0; i < 3; i++) {
		/* bit 0 is m (i = 1), bit 1 is v (i = 2) */
		if (i && (zero >> (i - 1) & 1u)) {
			memcpy(roots[i], zroot, CAIRN_HASH_BYTES);
			continue;
		}
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
	uint8_t samples[CAIRN_HASH_BYTES]; /* the digest of idx */
};

/* Where a run's commitment time goes (struct cairn_task_trace). */
struct run_clock {
	double digests; /* the sample digests, in batch_prepare */
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

/* Step t's batch (1-based t): its sample indices drawn and digested
 * (the digest goes into the step's record; computing it here, while a GPU
 * runs the step before, keeps it off the critical path; its time is added
 * to clk), and, unless the model holds the training set under the spec's
 * dataset root (cairn_model_has_data: the backend gathers the rows
 * itself), its rows and labels gathered into b. */
static int batch_prepare(const cairn_model *m, const struct cairn_task_spec *s,
                         const cairn_dataset *ds, uint32_t t, struct batch *b,
                         struct run_clock *clk, char *err, size_t errlen)
{
	int rc = cairn_sample_indices(s->seed, s->round, s->task, t,
	                              s->dataset_count, s->batch, b->idx);

	if (!rc) {
		double t0 = cairn_clock_seconds();
		rc = cairn_samples_digest(b->idx, s->batch, b->samples);
		clk->digests += cairn_clock_seconds() - t0;
	}
	if (rc) {
		cairn__seterr(err, errlen, "sampling step %" PRIu32 ": %s", t,
		              cairn_strerror(rc));
		return rc;
	}
	if (cairn_model_has_data(m, ds, s->dataset_root))
		return 0;
	rc =
	    cairn_dataset_gather(ds, b->idx, s->batch, b->x, b->y, err, errlen);
	if (rc && err && errlen) {
		char why[256];
		snprintf(why, sizeof why, "%s", err);
		cairn__seterr(err, errlen, "gathering step %" PRIu32 ": %s", t,
		              why);
	}
	return rc;
}

/* With background commits, a checkpoint starts its state's hashing in
 * the committer's free slot and leaves the collect of the state before
 * it (due) to the next step, which runs it while the device computes
 * that step: the host's part of a collect (reading the leaves back,
 * building the roots, the checkpoint callback) then costs the device
 * nothing.  Everything here is borrowed from cairn_task_run. */
struct deferred {
	int due; /* the oldest state started is to be collected */
	const struct cairn_task_spec *spec;
	struct cairn_task_trace *trace;
	cairn_task_checkpoint_fn cb;
	void *ud;
	struct cairn_state *st; /* receives the state collected */
};

static int deferred_collect(struct deferred *dc, char *err, size_t errlen);

/* Inner step t on the batch bb[t % 2], which batch_prepare filled: forward,
 * backward, the inner optimizer's update.  While the device computes it
 * (cairn_model_step_begin returns without waiting on a GPU), step t + 1's batch
 * is prepared into bb[(t + 1) % 2] when t < t_last, and a collect that is
 * due (dc, which may be NULL) is run; then the loss is read. */
static int run_step(cairn_model *m, const struct cairn_task_spec *s,
                    const cairn_dataset *ds, uint32_t t, uint32_t t_last,
                    struct batch bb[2], struct run_clock *clk,
                    struct deferred *dc, float *loss, char *err, size_t errlen)
{
	const struct batch *b = &bb[t % 2];
	cairn_optim opt = s->opt;
	int rc, rc_next = 0;

	opt.adamw.step = t; /* AdamW's t; SGD has no step count */
	rc = cairn_model_has_data(m, ds, s->dataset_root)
	         ? cairn_model_step_begin_idx(m, s->batch, (int)s->micro,
	                                      b->idx, &opt)
	         : cairn_model_step_begin(m, s->batch, (int)s->micro, b->x,
	                                  b->y, &opt);
	if (!rc && t < t_last)
		rc_next = batch_prepare(m, s, ds, t + 1, &bb[(t + 1) % 2], clk,
		                        err, errlen);
	if (!rc && !rc_next && dc && dc->due)
		rc_next = deferred_collect(dc, err, errlen);
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

/* Step t's record (the samples digest batch_prepare made of b->idx, and
 * the loss bits) into rec; the samples digest also into samples. */
static int step_record(const struct batch *b, float loss,
                       uint8_t samples[CAIRN_HASH_BYTES],
                       uint8_t rec[CAIRN_STEP_RECORD_BYTES])
{
	memcpy(samples, b->samples, CAIRN_HASH_BYTES);
	return cairn_step_record(samples, f32_bits(loss), rec);
}

/* The state at t = 0 holds W_r: CAIRN_EMISMATCH, with err, when its
 * parameters root is not the one the spec names. */
static int check_w_r(const struct cairn_state *st,
                     const struct cairn_task_spec *spec, char *err,
                     size_t errlen)
{
	char hex[CAIRN_HASH_HEX_BYTES], hex2[CAIRN_HASH_HEX_BYTES];

	if (cairn_hash_equal(st->params, spec->params_root))
		return 0;
	cairn_hash_to_hex(st->params, hex);
	cairn_hash_to_hex(spec->params_root, hex2);
	cairn__seterr(err, errlen,
	              "the parameters given have root %s, the task names "
	              "W_r = %s",
	              hex, hex2);
	return CAIRN_EMISMATCH;
}

/* The state *st committed (its roots known): its root into the trace,
 * W_r's check at t = 0, then the callback (m: the model holding the
 * state, or NULL with a committer).  err says what failed. */
static int state_done(const struct cairn_task_spec *spec,
                      struct cairn_task_trace *trace,
                      const struct cairn_state *st, cairn_model *m,
                      cairn_task_checkpoint_fn cb, void *ud, char *err,
                      size_t errlen)
{
	uint8_t *root =
	    trace->state_roots +
	    (size_t)(st->step / spec->checkpoint_every) * CAIRN_HASH_BYTES;
	int rc = cairn_state_root(st, root);

	if (rc) {
		cairn__seterr(err, errlen,
		              "checkpoint t = %" PRIu64 ": its state root: %s",
		              st->step, cairn_strerror(rc));
		return rc;
	}
	if (st->step == 0 && (rc = check_w_r(st, spec, err, errlen)))
		return rc;
	if (cb && (rc = cb(ud, st, root, m)))
		cairn__seterr(err, errlen,
		              "checkpoint t = %" PRIu64 " not kept: %s",
		              st->step, cairn_strerror(rc));
	return rc;
}

/* cairn_committer_collect on the trace's committer, its time added to
 * trace->commit.collect_seconds (within the checkpoint or end seconds). */
static int collect(struct cairn_task_trace *trace, struct cairn_state *st,
                   int *had)
{
	double t0 = cairn_clock_seconds();
	int rc = cairn_committer_collect(trace->committer, st, had);

	trace->commit.collect_seconds += cairn_clock_seconds() - t0;
	return rc;
}

/* With a committer: collects the oldest state started (its roots) into
 * *dc->st and completes its checkpoint (state_done). */
static int collect_oldest(struct deferred *dc, char *err, size_t errlen)
{
	int had = 0;
	int rc = collect(dc->trace, dc->st, &had);

	if (rc)
		cairn__seterr(err, errlen,
		              "collecting the roots of the checkpoint before "
		              "the last: %s",
		              cairn_strerror(rc));
	else if (had)
		rc = state_done(dc->spec, dc->trace, dc->st, NULL, dc->cb,
		                dc->ud, err, errlen);
	return rc;
}

static int deferred_collect(struct deferred *dc, char *err, size_t errlen)
{
	double t0 = cairn_clock_seconds();
	int rc;

	dc->due = 0;
	rc = collect_oldest(dc, err, errlen);
	dc->trace->commit.deferred_seconds += cairn_clock_seconds() - t0;
	return rc;
}

/* Commits the state m holds after step t: with a committer, starts its
 * hashing, and when the state before it is still to be collected, marks
 * that collect due for the next step (dc) or, at t = H, collects it here
 * (into *st, state_done); else hashes it here, into *st (state_done).
 * Its wall time is added to *seconds. */
static int commit_at(cairn_model *m, const struct cairn_task_spec *spec,
                     struct cairn_task_trace *trace, uint32_t t,
                     const uint8_t samples[CAIRN_HASH_BYTES], float loss,
                     struct deferred *dc, double *seconds, char *err,
                     size_t errlen)
{
	double t0 = cairn_clock_seconds();
	int rc;

	if (trace->committer) {
		rc = cairn_committer_start(trace->committer, m,
		                           cairn_task_zero_tensors(spec, t), t,
		                           samples, f32_bits(loss));
		if (rc)
			cairn__seterr(err, errlen,
			              "checkpoint t = %" PRIu32 ": %s", t,
			              cairn_strerror(rc));
		else if (cairn__committer_pending(trace->committer) > 1) {
			if (t < spec->inner_steps)
				dc->due = 1;
			else /* no step left to hide it behind */
				rc = collect_oldest(dc, err, errlen);
		}
	} else {
		rc =
		    cairn_task_commit_state(m, cairn_task_zero_tensors(spec, t),
		                            t, samples, loss, dc->st);
		if (rc)
			cairn__seterr(err, errlen,
			              "hashing the state at t = %" PRIu32
			              ": %s",
			              t, cairn_strerror(rc));
		else
			rc = state_done(spec, trace, dc->st, m, dc->cb, dc->ud,
			                err, errlen);
	}
	*seconds += cairn_clock_seconds() - t0;
	return rc;
}

/* The trace's closing roots, from the state at t = H in *st; err says
 * what failed. */
static int trace_close(struct cairn_task_trace *trace,
                       const struct cairn_task_spec *spec,
                       const struct cairn_state *st, char *err, size_t errlen)
{
	int rc;

	memcpy(trace->final_params_root, st->params, CAIRN_HASH_BYTES);
	rc = cairn_trace_root(trace->state_roots, cairn_task_state_count(spec),
	                      trace->trace_root);
	if (!rc)
		rc = cairn_step_log_root(
		    trace->steps, cairn_task_state_count(spec) - 1,
		    spec->checkpoint_every, trace->steps_root);
	if (rc)
		cairn__seterr(err, errlen, "the trace's roots: %s",
		              cairn_strerror(rc));
	return rc;
}

/* With a committer: waits for the roots of the state at t = H (its
 * time is end_seconds), then state_done and trace_close. */
static int task_end(struct cairn_task_trace *trace,
                    const struct cairn_task_spec *spec,
                    cairn_task_checkpoint_fn cb, void *ud,
                    struct cairn_state *st, char *err, size_t errlen)
{
	double t0 = cairn_clock_seconds();
	int had = 0;
	int rc = collect(trace, st, &had);

	if (rc)
		cairn__seterr(err, errlen,
		              "checkpoint t = %" PRIu32
		              ": collecting its roots: %s",
		              spec->inner_steps, cairn_strerror(rc));
	else if (!had || st->step != spec->inner_steps) {
		cairn__seterr(err, errlen,
		              "checkpoint t = %" PRIu32
		              ": the committer holds no such state",
		              spec->inner_steps);
		rc = CAIRN_EINVAL;
	} else {
		rc = state_done(spec, trace, st, NULL, cb, ud, err, errlen);
	}
	trace->commit.end_seconds += cairn_clock_seconds() - t0;
	return rc ? rc : trace_close(trace, spec, st, err, errlen);
}

int cairn_task_finish(struct cairn_task_trace *trace,
                      const struct cairn_task_spec *spec,
                      cairn_task_checkpoint_fn cb, void *ud, char *err,
                      size_t errlen)
{
	struct cairn_state st;
	double before;
	int rc;

	if (!trace || !spec || !trace->committer || !trace->pending) {
		cairn__seterr(err, errlen,
		              "cairn_task_finish: no task of this trace is "
		              "waiting for its last roots");
		return CAIRN_EINVAL;
	}
	trace->pending = 0;
	before = trace->commit.end_seconds;
	rc = task_end(trace, spec, cb, ud, &st, err, errlen);
	trace->hash_seconds += trace->commit.end_seconds - before;
	if (rc)
		cairn__committer_drop(trace->committer);
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
	struct run_clock clk = {0};
	struct cairn_state st;
	struct deferred dc = {0, spec, trace, cb, ud, &st};
	uint8_t samples[CAIRN_HASH_BYTES];
	char hex[CAIRN_HASH_HEX_BYTES], hex2[CAIRN_HASH_HEX_BYTES];
	uint32_t c;
	int rc;

	if (!m || !spec || !dataset_root || !w_r || !trace ||
	    !trace->state_roots || !trace->losses || !trace->steps) {
		cairn__seterr(err, errlen, "cairn_task_run: missing argument");
		return CAIRN_EINVAL;
	}
	if (trace->pending) { /* its timings and roots are kept */
		cairn__seterr(err, errlen,
		              "the trace still waits for its last task's "
		              "roots: cairn_task_finish it first");
		return CAIRN_EINVAL;
	}
	trace->hash_seconds = 0.0;
	memset(&trace->commit, 0, sizeof trace->commit);
	rc = model_fits(m, spec, ds, err, errlen);
	if (rc)
		return rc;
	if (trace->committer && cairn__committer_fits(trace->committer, m)) {
		cairn__seterr(err, errlen,
		              "the background committer was opened for "
		              "another model or device than this task's");
		return CAIRN_EINVAL;
	}
	if (cairn__committer_pending(trace->committer)) {
		cairn__seterr(err, errlen,
		              "the background committer still hashes another "
		              "task's last state: cairn_task_finish that task "
		              "first");
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
	c = spec->checkpoint_every;
	rc = batches_alloc(bb, spec, err, errlen);
	if (rc)
		goto out;
	/* t = 0: W_r, m = v = +0, no samples, loss bits 0.  Its parameters
	 * root must be the spec's W_r: checked here, or with a committer
	 * when its roots are collected, during step c + 1 (the state is
	 * hashed behind the first c steps, which a wrong W_r then
	 * wasted). */
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
	rc = commit_at(m, spec, trace, 0, samples, 0.0f, &dc,
	               &trace->commit.t0_seconds, err, errlen);
	if (rc)
		goto out;
	rc = batch_prepare(m, spec, ds, 1, &bb[1], &clk, err, errlen);
	if (rc)
		goto out;
	for (uint32_t t = 1; t <= spec->inner_steps; t++) {
		float loss;
		rc = run_step(m, spec, ds, t, spec->inner_steps, bb, &clk, &dc,
		              &loss, err, errlen);
		if (rc)
			goto out;
		trace->losses[t - 1] = loss;
		{
			double t0 = cairn_clock_seconds();
			rc = step_record(&bb[t % 2], loss, samples,
			                 trace->steps +
			                     (size_t)(t - 1) *
			                         CAIRN_STEP_RECORD_BYTES);
			trace->commit.records_seconds +=
			    cairn_clock_seconds() - t0;
		}
		if (rc) {
			cairn__seterr(err, errlen,
			              "recording step %" PRIu32 ": %s", t,
			              cairn_strerror(rc));
			goto out;
		}
		if (t % c == 0 &&
		    (rc = commit_at(m, spec, trace, t, samples, loss, &dc,
		                    &trace->commit.checkpoint_seconds, err,
		                    errlen)))
			goto out;
	}
	if (trace->committer && trace->defer_end) {
		trace->pending = 1; /* cairn_task_finish collects t = H */
		goto out;
	}
	if (trace->committer)
		rc = task_end(trace, spec, cb, ud, &st, err, errlen);
	else /* commit_at left the state at t = H in st */
		rc = trace_close(trace, spec, &st, err, errlen);
out:
	/* The sample digests and the deferred collects count as commitment
	 * work where the host waits for them: not on a GPU, which runs the
	 * step meanwhile. */
	trace->commit.digest_seconds = clk.digests;
	trace->hash_seconds =
	    trace->commit.t0_seconds + trace->commit.records_seconds +
	    trace->commit.checkpoint_seconds + trace->commit.end_seconds;
	if (cairn_backend_get_kind(cairn_model_backend(m)) !=
	    CAIRN_BACKEND_CUDA)
		trace->hash_seconds +=
		    clk.digests + trace->commit.deferred_seconds;
	if (rc && trace->committer)
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
	struct run_clock clk = {0}; /* not reported */
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
	rc = batch_prepare(m, spec, ds, t0 + 1, &bb[(t0 + 1) % 2], &clk, err,
	                   errlen);
	if (rc)
		goto out;
	for (uint32_t t = t0 + 1; t <= t1; t++) {
		uint8_t rec[CAIRN_STEP_RECORD_BYTES];
		rc = run_step(m, spec, ds, t, t1, bb, &clk, NULL, &loss, err,
		              errlen);
		if (rc)
			goto out;
		rc = step_record(&bb[t % 2], loss, samples, rec);
		if (rc) {
			cairn__seterr(err, errlen,
			              "recording step %" PRIu32 ": %s", t,
			              cairn_strerror(rc));
			goto out;
		}
		if (records)
			memcpy(records + (size_t)(t - t0 - 1) *
			                     CAIRN_STEP_RECORD_BYTES,
			       rec, sizeof rec);
	}
	rc = cairn_task_commit_state(m, cairn_task_zero_tensors(spec, t1), t1,
	                             samples, loss, end);
out:
	batches_free(bb);
	return rc;
}
