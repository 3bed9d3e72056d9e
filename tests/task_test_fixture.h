/* cairn tests: the fixture of test_task.c, test_task_commit.c and
 * test_task_spec.c: a synthetic split of 300 random images and labels (the
 * fixture owns them), the spec of task 1 of 3 of a 784-16-10 ReLU MLP on it
 * (AdamW, batch 8 in 2 micro-batches, H = 6 inner steps, a checkpoint every
 * c = 2) and its W_r, computed on ref.
 *
 * Fresh random inputs each run (seed printed under the program's name;
 * CAIRN_TEST_SEED=0x... replays).  The bundle and audit tests' smaller
 * task is task_fixture.h. */
#ifndef CAIRN_TASK_TEST_FIXTURE_H
#define CAIRN_TASK_TEST_FIXTURE_H

/* Include after <cmocka.h>. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#include "cairn/bundle.h"
#include "cairn/error.h"
#include "cairn/outer.h"
#include "cairn/task.h"

#define HB CAIRN_HASH_BYTES

static uint64_t g_rng;

static inline uint64_t rnd(void)
{
	return cairn_test_splitmix64(&g_rng);
}

/* A synthetic split: n random images and labels (owned by the fixture). */
struct fixture {
	cairn_dataset ds;
	uint8_t *images, *labels;
	uint8_t ds_root[HB];
	struct cairn_task_spec spec;
	float *w0; /* W_r of the spec, param count floats */
	int64_t nparams;
};

static inline int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	const uint32_t n = 300;
	cairn_backend *be = NULL;
	cairn_model *m = NULL;

	if (!f)
		return -1;
	f->images = malloc((size_t)n * CAIRN_DATASET_PIXELS);
	f->labels = malloc(n);
	if (!f->images || !f->labels)
		goto fail;
	for (size_t i = 0; i < (size_t)n * CAIRN_DATASET_PIXELS; i++)
		f->images[i] = (uint8_t)rnd();
	for (uint32_t i = 0; i < n; i++)
		f->labels[i] = (uint8_t)(rnd() % 10);
	f->ds.count = n;
	f->ds.images = f->images;
	f->ds.labels = f->labels;
	if (cairn_dataset_root(&f->ds, f->ds_root))
		goto fail;

	struct cairn_task_spec *s = &f->spec;
	strcpy(s->profile, CAIRN_PROFILE_EXACT);
	strcpy(s->job, "test-mlp");
	s->seed = rnd();
	s->round = (uint32_t)(rnd() % 1000);
	s->tasks = 3;
	s->task = 1;
	s->model.input = 784;
	s->model.nhidden = 1;
	s->model.hidden[0] = 16;
	s->model.classes = 10;
	s->model.act = CAIRN_ACT_RELU;
	cairn_optim_defaults(&s->opt);
	s->opt.adamw.lr = 1e-2f;
	memcpy(s->dataset_root, f->ds_root, HB);
	s->dataset_count = n;
	s->batch = 8;
	s->micro = 2;
	s->inner_steps = 6;
	s->checkpoint_every = 2;

	if (cairn_backend_open(CAIRN_BACKEND_REF, NULL, &be) ||
	    cairn_model_create(be, &s->model, 8, 2, &m) ||
	    cairn_model_init(m, s->seed))
		goto fail;
	f->nparams = cairn_model_param_count(m);
	f->w0 = malloc((size_t)f->nparams * sizeof(float));
	if (!f->w0 || cairn_model_read(m, CAIRN_MODEL_PARAMS, f->w0) ||
	    cairn_tensor_root(f->w0, (size_t)f->nparams * 4, s->params_root))
		goto fail;
	cairn_model_free(m);
	cairn_backend_close(be);
	*state = f;
	return 0;
fail: /* nothing outlives a setup that failed */
	cairn_model_free(m);
	cairn_backend_close(be);
	free(f->images);
	free(f->labels);
	free(f->w0);
	free(f);
	return -1;
}

static inline int teardown(void **state)
{
	struct fixture *f = *state;
	free(f->images);
	free(f->labels);
	free(f->w0);
	free(f);
	return 0;
}

#endif
