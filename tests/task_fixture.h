/* cairn tests: the small task that the bundle tests (bundle_fixture.h)
 * and the auditor's tests (audit_fixture.h) run.
 *
 * A synthetic in-memory dataset of NSAMPLES random samples; a 784-HIDDEN-10
 * ReLU MLP trained with AdamW, batch BATCH in MICRO micro-batches; W_r, the
 * model's initialisation; and a run of the task into a signed bundle.  Each
 * test program picks its job name, its round and task numbers, H and c. */
#ifndef CAIRN_TASK_FIXTURE_H
#define CAIRN_TASK_FIXTURE_H

/* Include after <cmocka.h>: the helpers below fail the running test. */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cairn/attest.h"
#include "cairn/bundle.h"
#include "cairn/identity.h"
#include "cairn/kernels.h"
#include "cairn/model.h"
#include "cairn/task.h"
#include "test_util.h"

#define NSAMPLES 64
#define HIDDEN 16
#define BATCH 8
#define MICRO 2

/* NSAMPLES random images, then their labels, drawn from the generator *rng
 * into new arrays *images and *labels (the caller frees them); ds points at
 * them (never cairn_dataset_close it) and droot gets its root.  0, or -1. */
static inline int cairn_test_task_dataset(uint64_t *rng, uint8_t **images,
                                          uint8_t **labels, cairn_dataset *ds,
                                          uint8_t droot[CAIRN_HASH_BYTES])
{
	*images = cairn_test_xmalloc((size_t)NSAMPLES * CAIRN_DATASET_PIXELS);
	*labels = cairn_test_xmalloc(NSAMPLES);
	for (size_t i = 0; i < (size_t)NSAMPLES * CAIRN_DATASET_PIXELS; i++)
		(*images)[i] = (uint8_t)cairn_test_splitmix64(rng);
	for (size_t i = 0; i < NSAMPLES; i++)
		(*labels)[i] = (uint8_t)(cairn_test_splitmix64(rng) %
		                         CAIRN_DATASET_CLASSES);
	ds->count = NSAMPLES;
	ds->images = *images;
	ds->labels = *labels;
	return cairn_dataset_root(ds, droot) ? -1 : 0;
}

/* The spec of job's task on the dataset whose root is droot: steps inner
 * steps with a checkpoint every `every`, round 0 and task 0 of 1 (the
 * caller sets its own), no params_root yet (cairn_test_task_w_r). */
static inline void cairn_test_task_spec(struct cairn_task_spec *s,
                                        const char *job, uint64_t seed,
                                        const uint8_t droot[CAIRN_HASH_BYTES],
                                        uint32_t steps, uint32_t every)
{
	memset(s, 0, sizeof *s);
	snprintf(s->profile, sizeof s->profile, "%s", CAIRN_PROFILE_EXACT);
	snprintf(s->job, sizeof s->job, "%s", job);
	s->seed = seed;
	s->tasks = 1;
	s->model.input = CAIRN_DATASET_PIXELS;
	s->model.nhidden = 1;
	s->model.hidden[0] = HIDDEN;
	s->model.classes = CAIRN_DATASET_CLASSES;
	s->model.act = CAIRN_ACT_RELU;
	cairn_optim_defaults(&s->opt);
	s->opt.adamw.step = 0;
	memcpy(s->dataset_root, droot, CAIRN_HASH_BYTES);
	s->dataset_count = NSAMPLES;
	s->batch = BATCH;
	s->micro = MICRO;
	s->inner_steps = steps;
	s->checkpoint_every = every;
}

/* W_r: spec's model initialised on be from spec->seed, into a new array
 * *w_r of *nparams floats (the caller frees it), and its root into
 * spec->params_root.  0, or -1. */
static inline int cairn_test_task_w_r(cairn_backend *be,
                                      struct cairn_task_spec *spec, float **w_r,
                                      int64_t *nparams)
{
	cairn_model *m = NULL;
	int rc = -1;

	if (cairn_model_create(be, &spec->model, BATCH, MICRO, &m) ||
	    cairn_model_init(m, spec->seed))
		goto out;
	*nparams = cairn_model_param_count(m);
	*w_r = cairn_test_xmalloc((size_t)*nparams * sizeof(float));
	if (cairn_model_read(m, CAIRN_MODEL_PARAMS, *w_r) ||
	    cairn_tensor_root(*w_r, (size_t)*nparams * sizeof(float),
	                      spec->params_root))
		goto out;
	rc = 0;
out:
	cairn_model_free(m);
	return rc;
}

/* Runs spec from w_r on be into b (begun here), collecting its
 * checkpoints, with its trace in tr, and signs it with id as be's device
 * class.  Fails the running test (printing why) when any of it fails. */
static inline void
cairn_test_task_bundle(cairn_backend *be, const struct cairn_task_spec *spec,
                       const cairn_dataset *ds, const float *w_r,
                       struct cairn_task_trace *tr,
                       const struct cairn_identity *id, struct cairn_bundle *b)
{
	cairn_model *m = NULL;
	char err[512] = "";
	int rc;

	assert_int_equal(cairn_model_create(be, &spec->model, BATCH, MICRO, &m),
	                 0);
	assert_int_equal(cairn_bundle_begin(b, spec), 0);
	rc = cairn_task_run(m, spec, ds, spec->dataset_root, w_r, tr,
	                    cairn_bundle_checkpoint, b, err, sizeof err);
	if (rc)
		print_message("cairn_task_run: %s\n", err);
	assert_int_equal(rc, 0);
	assert_int_equal(cairn_bundle_finish(b, tr, id, cairn_backend_name(be)),
	                 0);
	cairn_model_free(m);
}

#endif
