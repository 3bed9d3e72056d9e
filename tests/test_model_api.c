/* cairn: the model's interface (include/cairn/model.h).
 *
 * - initialisation and sampling: recomputed by hand from Philox, same seed
 *   same bytes, any change of (seed, round, task, step) other indices;
 * - argument checks (micro-batch counts included), a step in two halves,
 *   and the argmax tie rule; accuracy independent of the evaluation batch;
 * - a training set held on a CUDA-kind backend (the kernels run on the
 *   host, tests/emu): a step from indices uploads no rows.
 *
 * The configurations are model_fixture.h's; inputs are fresh random
 * numbers each run (seed printed; set CAIRN_TEST_SEED=0x... to replay). */
#include <inttypes.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "model_fixture.h"

#include "cairn/dataset.h"
#include "cairn/error.h"
#include "cairn/kernels.h"
#include "cairn/log.h"
#include "cairn/model.h"
#include "philox.h"

/* ---- initialisation and sampling ---------------------------------------- */

static void test_init(void **state)
{
	struct state *s = *state;
	static const int64_t hid[] = {33, 20};
	cairn_mlp_spec spec = cairn_test_mlp(70, 2, hid, 9, CAIRN_ACT_RELU);
	cairn_model *m = NULL;
	uint64_t seed = rnd();
	float *a, *b;
	int64_t n;

	assert_int_equal(cairn_model_create(s->ref, &spec, 4, 1, &m), 0);
	n = cairn_model_param_count(m);
	assert_int_equal(n, 70 * 33 + 33 + 33 * 20 + 20 + 20 * 9 + 9);
	assert_int_equal(cairn_model_tensor_count(m), 6);
	a = cairn_test_xmalloc((size_t)n * sizeof *a);
	b = cairn_test_xmalloc((size_t)n * sizeof *b);
	assert_int_equal(cairn_model_init(m, seed), 0);
	assert_int_equal(cairn_model_read(m, CAIRN_MODEL_PARAMS, a), 0);

	/* Recompute every element by hand: tensor i from stream 2^63 + i,
	 * offset 0, bound 1/sqrtf(fan_in); and the layout's offsets. */
	for (int i = 0, off = 0; i < 6; i++) {
		static const int fan_in[] = {70, 33, 20};
		int64_t o, rows, cols;
		assert_int_equal(cairn_model_tensor(m, i, &o, &rows, &cols), 0);
		assert_int_equal(o, off);
		float k = 1.0f / sqrtf((float)fan_in[i / 2]);
		for (int64_t e = 0; e < rows * cols; e++) {
			uint32_t w[4];
			cairn_philox_block(
			    seed, CAIRN_MODEL_INIT_STREAM + (uint64_t)i,
			    (uint64_t)e / 4, w);
			float want = cairn_rng_uniform(w[e % 4], -k, k);
			if (memcmp(&want, &a[o + e], 4))
				fail_msg("init tensor %d [%" PRId64
				         "]: %.9g, want %.9g",
				         i, e, (double)a[o + e], (double)want);
			assert_true(a[o + e] >= -k && a[o + e] <= k);
		}
		off += (int)(rows * cols);
	}
	assert_int_equal(cairn_model_tensor(m, 6, NULL, NULL, NULL),
	                 CAIRN_EINVAL);
	/* grads, m, v are +0 */
	for (int i = 1; i < CAIRN_MODEL_NBUFS; i++) {
		assert_int_equal(cairn_model_read(m, (cairn_model_buf)i, b), 0);
		for (int64_t e = 0; e < n; e++) {
			uint32_t u;
			memcpy(&u, &b[e], 4);
			assert_int_equal(u, 0);
		}
	}
	/* same seed, same bytes (and on the cpu backend too); other seed,
	 * other bytes */
	assert_int_equal(cairn_model_init(m, seed), 0);
	assert_int_equal(cairn_model_read(m, CAIRN_MODEL_PARAMS, b), 0);
	assert_memory_equal(a, b, (size_t)n * sizeof *a);
	cairn_model_free(m);
	assert_int_equal(cairn_model_create(s->cpu2, &spec, 4, 1, &m), 0);
	assert_int_equal(cairn_model_init(m, seed), 0);
	assert_int_equal(cairn_model_read(m, CAIRN_MODEL_PARAMS, b), 0);
	assert_memory_equal(a, b, (size_t)n * sizeof *a);
	assert_int_equal(cairn_model_init(m, seed ^ 1), 0);
	assert_int_equal(cairn_model_read(m, CAIRN_MODEL_PARAMS, b), 0);
	assert_memory_not_equal(a, b, (size_t)n * sizeof *a);
	/* write / read round trip */
	assert_int_equal(cairn_model_write(m, CAIRN_MODEL_V, a), 0);
	assert_int_equal(cairn_model_read(m, CAIRN_MODEL_V, b), 0);
	assert_memory_equal(a, b, (size_t)n * sizeof *a);
	cairn_model_free(m);
	free(a);
	free(b);
}

static void test_sampling(void **state)
{
	enum { B = 1000 };
	uint32_t a[B], b[B], cnt[10] = {0};
	uint64_t seed = rnd();
	uint32_t n = (uint32_t)(rnd() % 100000) + 1;

	(void)state;
	assert_int_equal(cairn_sample_indices(seed, 3, 5, 7, n, B, a), 0);
	assert_int_equal(cairn_sample_indices(seed, 3, 5, 7, n, B, b), 0);
	assert_memory_equal(a, b, sizeof a);
	for (int e = 0; e < B; e++) {
		uint32_t w[4];
		assert_true(a[e] < n);
		cairn_philox_block(seed, (3ull << 32) | 5,
		                   (7ull << 32) | (uint64_t)(e / 4), w);
		assert_int_equal(a[e],
		                 (uint32_t)(((uint64_t)w[e % 4] * n) >> 32));
	}
	/* a prefix of a larger batch is the smaller batch */
	assert_int_equal(cairn_sample_indices(seed, 3, 5, 7, n, 13, b), 0);
	assert_memory_equal(a, b, 13 * sizeof *a);
	/* any change of seed, round, task or step draws other indices */
	assert_int_equal(cairn_sample_indices(seed ^ 1, 3, 5, 7, n, B, b), 0);
	assert_memory_not_equal(a, b, sizeof a);
	assert_int_equal(cairn_sample_indices(seed, 4, 5, 7, n, B, b), 0);
	assert_memory_not_equal(a, b, sizeof a);
	assert_int_equal(cairn_sample_indices(seed, 3, 6, 7, n, B, b), 0);
	assert_memory_not_equal(a, b, sizeof a);
	assert_int_equal(cairn_sample_indices(seed, 3, 5, 8, n, B, b), 0);
	assert_memory_not_equal(a, b, sizeof a);
	/* (round, task) and (task, round) differ */
	assert_int_equal(cairn_sample_indices(seed, 5, 3, 7, n, B, b), 0);
	assert_memory_not_equal(a, b, sizeof a);
	/* n = 1 gives 0; n = 10 is about uniform (100000 draws, counts
	 * within 5% of 10000: about 5 sigma) */
	assert_int_equal(cairn_sample_indices(seed, 0, 0, 1, 1, B, b), 0);
	for (int e = 0; e < B; e++)
		assert_int_equal(b[e], 0);
	for (uint32_t step = 1; step <= 100; step++) {
		assert_int_equal(
		    cairn_sample_indices(seed, 1, 2, step, 10, B, b), 0);
		for (int e = 0; e < B; e++)
			cnt[b[e]]++;
	}
	for (int c = 0; c < 10; c++)
		assert_true(cnt[c] > 9500 && cnt[c] < 10500);
	/* arguments */
	assert_int_equal(cairn_sample_indices(seed, 0, 0, 1, 0, B, b),
	                 CAIRN_EINVAL);
	assert_int_equal(cairn_sample_indices(seed, 0, 0, 1, 10, -1, b),
	                 CAIRN_EINVAL);
	assert_int_equal(cairn_sample_indices(seed, 0, 0, 1, 10, 1, NULL),
	                 CAIRN_EINVAL);
	assert_int_equal(cairn_sample_indices(seed, 0, 0, 1, 10, 0, NULL), 0);
	assert_int_equal(cairn_sample_indices(seed, CAIRN_SAMPLE_ROUND_LIMIT, 0,
	                                      1, 10, 1, b),
	                 CAIRN_ERANGE);
	assert_int_equal(cairn_sample_indices(seed,
	                                      CAIRN_SAMPLE_ROUND_LIMIT - 1,
	                                      UINT32_MAX, UINT32_MAX, 10, 1, b),
	                 0);
}

/* ---- arguments, tie rule, batching ---------------------------------- */

static void test_args(void **state)
{
	struct state *s = *state;
	static const int64_t hid[] = {8};
	cairn_mlp_spec spec = cairn_test_mlp(6, 1, hid, 4, CAIRN_ACT_RELU), bad;
	cairn_model *m = NULL;
	cairn_optim opt;
	float x[5 * 6] = {0}, loss;
	int32_t y[5] = {0, 1, 2, 3, 0};

	cairn_optim_defaults(&opt);
	assert_int_equal(cairn_model_create(NULL, &spec, 4, 2, &m),
	                 CAIRN_EINVAL);
	assert_int_equal(cairn_model_create(s->ref, NULL, 4, 2, &m),
	                 CAIRN_EINVAL);
	assert_int_equal(cairn_model_create(s->ref, &spec, 0, 2, &m),
	                 CAIRN_EINVAL);
	/* max micro: 1 .. min(max batch, CAIRN_MODEL_MAX_MICRO) */
	assert_int_equal(cairn_model_create(s->ref, &spec, 4, 0, &m),
	                 CAIRN_EINVAL);
	assert_int_equal(cairn_model_create(s->ref, &spec, 4, 5, &m),
	                 CAIRN_EINVAL);
	assert_int_equal(cairn_model_create(s->ref, &spec,
	                                    CAIRN_MODEL_MAX_MICRO + 1,
	                                    CAIRN_MODEL_MAX_MICRO + 1, &m),
	                 CAIRN_EINVAL);
	assert_null(m);
	bad = spec;
	bad.nhidden = -1;
	assert_int_equal(cairn_model_create(s->ref, &bad, 4, 2, &m),
	                 CAIRN_EINVAL);
	bad.nhidden = CAIRN_MLP_MAX_HIDDEN + 1;
	assert_int_equal(cairn_model_create(s->ref, &bad, 4, 2, &m),
	                 CAIRN_EINVAL);
	bad = spec;
	bad.hidden[0] = 0;
	assert_int_equal(cairn_model_create(s->ref, &bad, 4, 2, &m),
	                 CAIRN_EINVAL);
	bad = spec;
	bad.classes = 0;
	assert_int_equal(cairn_model_create(s->ref, &bad, 4, 2, &m),
	                 CAIRN_EINVAL);
	bad = spec;
	bad.act = (cairn_act)7;
	assert_int_equal(cairn_model_create(s->ref, &bad, 4, 2, &m),
	                 CAIRN_EINVAL);
	bad = spec;
	bad.input = (int64_t)1 << 40;
	assert_int_equal(cairn_model_create(s->ref, &bad, 4, 2, &m),
	                 CAIRN_EINVAL);
	assert_null(m);

	assert_int_equal(cairn_model_create(s->ref, &spec, 4, 2, &m), 0);
	assert_int_equal(cairn_model_init(m, 1), 0);
	assert_int_equal(cairn_model_step(m, 5, 2, x, y, &opt, &loss),
	                 CAIRN_EINVAL); /* batch > max batch */
	assert_int_equal(cairn_model_step(m, 0, 2, x, y, &opt, &loss),
	                 CAIRN_EINVAL);
	assert_int_equal(cairn_model_step(m, 4, 2, NULL, y, &opt, &loss),
	                 CAIRN_EINVAL);
	assert_int_equal(cairn_model_step(m, 4, 2, x, NULL, &opt, &loss),
	                 CAIRN_EINVAL);
	assert_int_equal(cairn_model_step(m, 4, 2, x, y, NULL, &loss),
	                 CAIRN_EINVAL);
	/* micro: >= 1, <= the max micro, dividing the batch */
	assert_int_equal(cairn_model_step(m, 4, 0, x, y, &opt, &loss),
	                 CAIRN_EINVAL);
	assert_int_equal(cairn_model_step(m, 4, -1, x, y, &opt, &loss),
	                 CAIRN_EINVAL);
	assert_int_equal(cairn_model_step(m, 4, 4, x, y, &opt, &loss),
	                 CAIRN_EINVAL); /* above the max micro (2) */
	assert_int_equal(cairn_model_step(m, 3, 2, x, y, &opt, &loss),
	                 CAIRN_EINVAL); /* 2 does not divide 3 */
	assert_int_equal(cairn_model_forward_backward(m, 3, 2, x, y, &loss),
	                 CAIRN_EINVAL);
	assert_int_equal(cairn_model_forward_backward(m, 4, 0, x, y, &loss),
	                 CAIRN_EINVAL);
	assert_int_equal(cairn_model_forward_backward(m, 3, 1, x, y, &loss), 0);
	assert_int_equal(cairn_model_max_micro(m), 2);
	opt.adamw.step = 0;
	assert_int_equal(cairn_model_step(m, 4, 2, x, y, &opt, &loss),
	                 CAIRN_EINVAL);
	opt.adamw.step = 1;
	y[2] = 4;
	assert_int_equal(cairn_model_step(m, 4, 2, x, y, &opt, &loss),
	                 CAIRN_ERANGE);
	y[2] = -1;
	assert_int_equal(cairn_model_loss(m, 4, x, y, &loss), CAIRN_ERANGE);
	y[2] = 2;
	assert_int_equal(cairn_model_step(m, 4, 2, x, y, &opt, &loss), 0);
	assert_int_equal(cairn_model_read(m, (cairn_model_buf)4, x),
	                 CAIRN_EINVAL);
	assert_null(cairn_model_buffer(m, CAIRN_MODEL_NBUFS));
	assert_int_equal(cairn_model_evaluate_dataset(m, NULL, NULL),
	                 CAIRN_EINVAL);
	/* A step in two halves: the same bits as one call; no second begin,
	 * no step, no end without a begin; a failed begin begins nothing. */
	{
		cairn_model *m2 = NULL;
		float l1 = 0.0f, l2 = 1.0f, *p1, *p2;
		int64_t n;
		assert_int_equal(cairn_model_create(s->ref, &spec, 4, 2, &m2),
		                 0);
		n = cairn_model_param_count(m);
		p1 = cairn_test_xmalloc((size_t)n * sizeof *p1);
		p2 = cairn_test_xmalloc((size_t)n * sizeof *p2);
		assert_int_equal(cairn_model_init(m, 9), 0);
		assert_int_equal(cairn_model_init(m2, 9), 0);
		assert_int_equal(cairn_model_step_end(m, &l1), CAIRN_EINVAL);
		assert_int_equal(cairn_model_step_begin(m, 4, 4, x, y, &opt),
		                 CAIRN_EINVAL); /* micro above the max */
		assert_int_equal(cairn_model_step_end(m, &l1), CAIRN_EINVAL);
		assert_int_equal(cairn_model_step_begin(m, 4, 2, x, y, &opt),
		                 0);
		assert_int_equal(cairn_model_step_begin(m, 4, 2, x, y, &opt),
		                 CAIRN_EINVAL);
		assert_int_equal(cairn_model_step(m, 4, 2, x, y, &opt, &l1),
		                 CAIRN_EINVAL);
		/* the model is reserved until the end */
		assert_int_equal(cairn_model_loss(m, 4, x, y, &l2),
		                 CAIRN_EINVAL);
		assert_int_equal(cairn_model_read(m, CAIRN_MODEL_PARAMS, p1),
		                 CAIRN_EINVAL);
		assert_int_equal(cairn_model_zero(m, CAIRN_MODEL_M),
		                 CAIRN_EINVAL);
		assert_int_equal(cairn_model_init(m, 9), CAIRN_EINVAL);
		assert_int_equal(cairn_model_write(m, CAIRN_MODEL_V, p1),
		                 CAIRN_EINVAL);
		assert_int_equal(cairn_model_step_end(m, &l1), 0);
		assert_int_equal(cairn_model_step_end(m, &l1), CAIRN_EINVAL);
		assert_int_equal(cairn_model_step(m2, 4, 2, x, y, &opt, &l2),
		                 0);
		assert_memory_equal(&l1, &l2, sizeof l1);
		for (int b = 0; b < CAIRN_MODEL_NBUFS; b++) {
			assert_int_equal(
			    cairn_model_read(m, (cairn_model_buf)b, p1), 0);
			assert_int_equal(
			    cairn_model_read(m2, (cairn_model_buf)b, p2), 0);
			assert_memory_equal(p1, p2, (size_t)n * sizeof *p1);
		}
		free(p1);
		free(p2);
		cairn_model_free(m2);
	}
	/* A training set on the backend: the model's input must be its
	 * pixels, its labels below the classes, its indices in range. */
	{
		static const int64_t h[] = {5};
		cairn_mlp_spec sp = cairn_test_mlp(CAIRN_DATASET_PIXELS, 1, h,
		                                   4, CAIRN_ACT_RELU);
		uint8_t *img = cairn_test_xmalloc(3 * CAIRN_DATASET_PIXELS);
		uint8_t lab[3] = {0, 3, 1};
		cairn_dataset ds = {3, img, lab};
		uint32_t idx[2] = {2, 0}, oob[2] = {2, 3};
		cairn_model *md = NULL;
		float l = 0.0f;
		memset(img, 200, 3 * CAIRN_DATASET_PIXELS);
		uint8_t root[32] = {1}, other[32] = {2};
		assert_int_equal(cairn_model_attach_data(m, &ds, root),
		                 CAIRN_EINVAL);
		assert_int_equal(cairn_model_create(s->ref, &sp, 2, 1, &md), 0);
		assert_int_equal(cairn_model_init(md, 3), 0);
		assert_false(cairn_model_has_data(md, &ds, root));
		assert_int_equal(
		    cairn_model_step_begin_idx(md, 2, 1, idx, &opt),
		    CAIRN_EINVAL); /* nothing attached */
		lab[1] = 4;        /* not below 4 classes */
		assert_int_equal(cairn_model_attach_data(md, &ds, root),
		                 CAIRN_ERANGE);
		lab[1] = 3;
		assert_int_equal(cairn_model_attach_data(md, &ds, NULL),
		                 CAIRN_EINVAL);
		assert_int_equal(cairn_model_attach_data(md, &ds, root), 0);
		assert_true(cairn_model_has_data(md, &ds, root));
		assert_false(cairn_model_has_data(md, &ds, other));
		/* on a CPU backend the policy keeps it on the host */
		assert_int_equal(cairn_model_use_device_data(md, &ds, root), 0);
		assert_int_equal(
		    cairn_model_step_begin_idx(md, 2, 1, oob, &opt),
		    CAIRN_ERANGE);
		assert_int_equal(cairn_model_step_end(md, &l), CAIRN_EINVAL);
		assert_int_equal(
		    cairn_model_step_begin_idx(md, 2, 1, idx, &opt), 0);
		assert_int_equal(cairn_model_step_end(md, &l), 0);
		assert_true(l > 0.0f);
		cairn_model_free(md);
		free(img);
	}
	assert_int_equal(cairn_model_step_begin(NULL, 4, 2, x, y, &opt),
	                 CAIRN_EINVAL);
	assert_int_equal(cairn_model_step_end(NULL, NULL), CAIRN_EINVAL);
	cairn_model_free(m);
	cairn_model_free(NULL);
}

/* All weights 0, last bias {1, 3, 3, 2}: every logit row ties at columns 1
 * and 2, and the lowest index wins. */
static void test_tie_rule(void **state)
{
	struct state *s = *state;
	static const int64_t hid[] = {8};
	cairn_mlp_spec spec = cairn_test_mlp(6, 1, hid, 4, CAIRN_ACT_GELU);
	cairn_model *m = NULL;
	float *p, x[3 * 6];
	int32_t pred[3], y[3] = {1, 2, 1};
	int64_t n, off, correct;

	for (int i = 0; i < 3 * 6; i++)
		x[i] = rnd_u01();
	assert_int_equal(cairn_model_create(s->cpu2, &spec, 3, 1, &m), 0);
	n = cairn_model_param_count(m);
	p = calloc((size_t)n, sizeof *p);
	assert_non_null(p);
	assert_int_equal(cairn_model_tensor(m, 3, &off, NULL, NULL), 0);
	p[off + 0] = 1;
	p[off + 1] = 3;
	p[off + 2] = 3;
	p[off + 3] = 2;
	assert_int_equal(cairn_model_write(m, CAIRN_MODEL_PARAMS, p), 0);
	assert_int_equal(cairn_model_predict(m, 3, x, pred), 0);
	for (int r = 0; r < 3; r++)
		assert_int_equal(pred[r], 1);
	assert_int_equal(cairn_model_evaluate(m, 3, x, y, &correct), 0);
	assert_int_equal(correct, 2);
	free(p);
	cairn_model_free(m);
}

/* Accuracy does not depend on the evaluation batch size. */
static void test_eval_batching(void **state)
{
	struct state *s = *state;
	enum { N = 203, IN = 20 };
	static const int64_t hid[] = {16};
	cairn_mlp_spec spec = cairn_test_mlp(IN, 1, hid, 5, CAIRN_ACT_RELU);
	cairn_model *a = NULL, *b = NULL;
	float *x = cairn_test_xmalloc(N * IN * sizeof(float));
	int32_t y[N];
	int64_t ca, cb;
	uint64_t seed = rnd();

	random_batch(x, y, N, IN, 5);
	assert_int_equal(cairn_model_create(s->cpu2, &spec, 7, 1, &a), 0);
	assert_int_equal(cairn_model_create(s->ref, &spec, 64, 8, &b), 0);
	assert_int_equal(cairn_model_init(a, seed), 0);
	assert_int_equal(cairn_model_init(b, seed), 0);
	assert_int_equal(cairn_model_evaluate(a, N, x, y, &ca), 0);
	assert_int_equal(cairn_model_evaluate(b, N, x, y, &cb), 0);
	assert_int_equal(ca, cb);
	assert_true(ca > 0 && ca < N); /* random labels: some right, not all */
	cairn_model_free(a);
	cairn_model_free(b);
	free(x);
}

/* A training set held on a CUDA-kind backend (the kernels run on the
 * host, tests/emu): a step from sample indices uploads those indices and
 * nothing of the batch's rows, where a step from a host batch uploads
 * every pixel; both give the same loss and parameters. */
static void test_device_data_uploads(void **state)
{
#ifdef CAIRN_TEST_EMU
	struct state *s = *state;
	enum { N = 64, B = 16 };
	static const int64_t h[] = {8};
	cairn_mlp_spec sp =
	    cairn_test_mlp(CAIRN_DATASET_PIXELS, 1, h, 10, CAIRN_ACT_RELU);
	uint8_t *img = cairn_test_xmalloc(N * CAIRN_DATASET_PIXELS);
	uint8_t lab[N], root[32] = {7};
	cairn_dataset ds = {N, img, lab};
	float *x = cairn_test_xmalloc(B * CAIRN_DATASET_PIXELS * sizeof(float));
	int32_t y[B];
	uint32_t idx[B];
	cairn_model *md = NULL, *mh = NULL;
	cairn_optim opt;
	unsigned long long before, idx_bytes, host_bytes;
	float l1 = 0.0f, l2 = 0.0f;
	int64_t n;

	for (int i = 0; i < N * CAIRN_DATASET_PIXELS; i++)
		img[i] = (uint8_t)(rnd_u01() * 256.0f);
	for (int i = 0; i < N; i++)
		lab[i] = (uint8_t)(i % 10);
	for (int i = 0; i < B; i++)
		idx[i] = (uint32_t)((7 * i + 3) % N);
	assert_int_equal(cairn_dataset_gather(&ds, idx, B, x, y, NULL, 0), 0);
	cairn_optim_defaults(&opt);
	opt.adamw.step = 1;
	assert_int_equal(cairn_model_create(s->emu, &sp, B, 2, &md), 0);
	assert_int_equal(cairn_model_create(s->emu, &sp, B, 2, &mh), 0);
	assert_int_equal(cairn_model_init(md, 5), 0);
	assert_int_equal(cairn_model_init(mh, 5), 0);
	assert_int_equal(cairn_model_attach_data(md, &ds, root), 0);

	before = cairn_test_emu_h2d_bytes();
	assert_int_equal(cairn_model_step_begin_idx(md, B, 2, idx, &opt), 0);
	assert_int_equal(cairn_model_step_end(md, &l1), 0);
	idx_bytes = cairn_test_emu_h2d_bytes() - before;
	before = cairn_test_emu_h2d_bytes();
	assert_int_equal(cairn_model_step_begin(mh, B, 2, x, y, &opt), 0);
	assert_int_equal(cairn_model_step_end(mh, &l2), 0);
	host_bytes = cairn_test_emu_h2d_bytes() - before;
	print_message("uploaded in a step: %llu bytes from indices, %llu "
	              "from a host batch\n",
	              idx_bytes, host_bytes);
	/* the indices, and at most a few small lists: never the rows */
	assert_true(idx_bytes <= (unsigned long long)B * 4 + 2048);
	assert_true(host_bytes >=
	            (unsigned long long)B * CAIRN_DATASET_PIXELS * 4);
	assert_memory_equal(&l1, &l2, sizeof l1);
	n = cairn_model_param_count(md);
	{
		float *p1 = cairn_test_xmalloc((size_t)n * sizeof(float));
		float *p2 = cairn_test_xmalloc((size_t)n * sizeof(float));
		assert_int_equal(cairn_model_read(md, CAIRN_MODEL_PARAMS, p1),
		                 0);
		assert_int_equal(cairn_model_read(mh, CAIRN_MODEL_PARAMS, p2),
		                 0);
		assert_memory_equal(p1, p2, (size_t)n * sizeof(float));
		free(p1);
		free(p2);
	}
	cairn_model_free(md);
	cairn_model_free(mh);
	free(img);
	free(x);
#else
	(void)state;
	skip(); /* no C++ compiler: no emulated CUDA backend */
#endif
}

/* ---- main -------------------------------------------------------------- */

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_init),
	    cmocka_unit_test(test_sampling),
	    cmocka_unit_test(test_args),
	    cmocka_unit_test(test_tie_rule),
	    cmocka_unit_test(test_eval_batching),
	    cmocka_unit_test(test_device_data_uploads),
	};

	cairn_log_set_level(CAIRN_LOG_WARN);
	g_seed = cairn_test_seed("test_model_api");
	g_rng = g_seed;
	return cmocka_run_group_tests(tests, setup, teardown);
}
