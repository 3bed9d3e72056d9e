/* cairn: the model's math (include/cairn/model.h).
 *
 * - the backward pass against central differences of a double-precision
 *   reimplementation of the loss (the math, apart from the bits);
 * - learning on separable synthetic data, and on Fashion-MNIST when it is
 *   installed;
 * - the step time of the reference model for M = 1, 4 and 8 (printed,
 *   never asserted).
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
#include <unistd.h>

#include <cmocka.h>

#include "model_fixture.h"

#include "cairn/dataset.h"
#include "cairn/error.h"
#include "cairn/kernels.h"
#include "cairn/log.h"
#include "cairn/model.h"

/* ---- the backward pass against finite differences ----------------------- */

/* The mean loss in double for params p (the layout of model.h). */
static double loss_double(const cairn_mlp_spec *s, const double *p,
                          int64_t batch, const float *x, const int32_t *y)
{
	int64_t dim[CAIRN_MLP_MAX_HIDDEN + 2], L = s->nhidden + 1;
	double h[2][64], total = 0.0;

	dim[0] = s->input;
	for (int i = 0; i < s->nhidden; i++)
		dim[i + 1] = s->hidden[i];
	dim[L] = s->classes;
	for (int64_t r = 0; r < batch; r++) {
		const double *w = p;
		int cur = 0;
		double mx, se = 0.0;

		for (int64_t i = 0; i < dim[0]; i++)
			h[0][i] = x[r * dim[0] + i];
		for (int64_t l = 0; l < L; l++) {
			const double *b = w + dim[l + 1] * dim[l];
			for (int64_t j = 0; j < dim[l + 1]; j++) {
				double z = b[j];
				for (int64_t i = 0; i < dim[l]; i++)
					z += w[j * dim[l] + i] * h[cur][i];
				if (l + 1 < L) {
					if (s->act == CAIRN_ACT_RELU)
						z = z > 0 ? z : 0;
					else
						z = 0.5 * z *
						    (1.0 +
						     tanh(
						         0.79788456080286535588 *
						         (z + 0.044715 * z * z *
						                  z)));
				}
				h[1 - cur][j] = z;
			}
			cur = 1 - cur;
			w = b + dim[l + 1];
		}
		mx = h[cur][0];
		for (int64_t j = 1; j < s->classes; j++)
			mx = h[cur][j] > mx ? h[cur][j] : mx;
		for (int64_t j = 0; j < s->classes; j++)
			se += exp(h[cur][j] - mx);
		total += log(se) + mx - h[cur][y[r]];
	}
	return total / (double)batch;
}

static void gradcheck(cairn_backend *be, const cairn_mlp_spec *spec,
                      int64_t batch, int micro)
{
	cairn_model *m = NULL;
	int64_t n;
	float *pf, *g, x[64 * 8], loss;
	int32_t y[64];
	double *p, worst = 0.0, mass = 0.0, ld;
	const double h = 1e-6;

	assert_true(batch <= 8 && spec->input <= 64);
	assert_int_equal(cairn_model_create(be, spec, batch, micro, &m), 0);
	assert_int_equal(cairn_model_init(m, rnd()), 0);
	for (int64_t i = 0; i < batch * spec->input; i++)
		x[i] = rnd_u01() * 2.0f - 1.0f;
	for (int64_t r = 0; r < batch; r++)
		y[r] = (int32_t)(rnd() % (uint64_t)spec->classes);
	n = cairn_model_param_count(m);
	pf = cairn_test_xmalloc((size_t)n * sizeof *pf);
	g = cairn_test_xmalloc((size_t)n * sizeof *g);
	p = cairn_test_xmalloc((size_t)n * sizeof *p);
	assert_int_equal(
	    cairn_model_forward_backward(m, batch, micro, x, y, &loss), 0);
	assert_int_equal(cairn_model_read(m, CAIRN_MODEL_PARAMS, pf), 0);
	assert_int_equal(cairn_model_read(m, CAIRN_MODEL_GRADS, g), 0);
	for (int64_t i = 0; i < n; i++)
		p[i] = pf[i];
	ld = loss_double(spec, p, batch, x, y);
	if (fabs(ld - loss) > 1e-5 * (1.0 + fabs(ld)))
		fail_msg("loss %.9g (cairn) vs %.12g (double)", (double)loss,
		         ld);
	for (int64_t i = 0; i < n; i++) {
		double save = p[i], lp, lm, fd, err;
		p[i] = save + h;
		lp = loss_double(spec, p, batch, x, y);
		p[i] = save - h;
		lm = loss_double(spec, p, batch, x, y);
		p[i] = save;
		fd = (lp - lm) / (2.0 * h);
		err = fabs(fd - g[i]);
		mass += fabs(fd);
		if (err > worst)
			worst = err;
		if (err > 1e-5 + 1e-3 * fabs(fd))
			fail_msg("%" PRId64 "-...-%" PRId64
			         " %s: gradient[%" PRId64 "] = %.9g, central "
			         "difference %.9g (seed 0x%" PRIx64 ")",
			         spec->input, spec->classes,
			         spec->act == CAIRN_ACT_RELU ? "relu" : "gelu",
			         i, (double)g[i], fd, g_seed);
	}
	assert_true(mass > 1e-3); /* not vacuous */
	printf("  gradcheck %" PRId64 " params (%s, %d hidden): worst |g - "
	       "fd| = %.2e\n",
	       n, spec->act == CAIRN_ACT_RELU ? "relu" : "gelu", spec->nhidden,
	       worst);
	free(pf);
	free(g);
	free(p);
	cairn_model_free(m);
}

static void test_gradcheck(void **state)
{
	struct state *s = *state;
	static const int64_t h1[] = {4}, h2[] = {5, 4};

	for (int a = 0; a < 2; a++) {
		cairn_act act = a ? CAIRN_ACT_GELU : CAIRN_ACT_RELU;
		cairn_mlp_spec one = cairn_test_mlp(5, 1, h1, 3, act);
		cairn_mlp_spec two = cairn_test_mlp(6, 2, h2, 3, act);
		gradcheck(s->ref, &one, 3, 1);
		gradcheck(s->ref, &two, 3, 3);
		gradcheck(s->cpu2, &two, 5, 5);
	}
}

/* ---- learning --------------------------------------------------------- */

/* Gaussian-ish blobs around random centres: separable, so 100 AdamW steps
 * must bring the loss far down. */
static void test_learn_synthetic(void **state)
{
	struct state *s = *state;
	enum { IN = 32, C = 4, B = 32, STEPS = 100, NTEST = 1000 };
	static const int64_t hid[] = {32};
	cairn_mlp_spec spec = cairn_test_mlp(IN, 1, hid, C, CAIRN_ACT_RELU);
	float centre[C][IN], x[B * IN], first = 0, last = 0;
	float *xt = cairn_test_xmalloc(NTEST * IN * sizeof(float));
	int32_t y[B], *yt = cairn_test_xmalloc(NTEST * sizeof(int32_t));
	cairn_optim opt;
	cairn_model *m = NULL;
	int64_t correct = 0;

	for (int c = 0; c < C; c++)
		for (int i = 0; i < IN; i++)
			centre[c][i] = rnd_u01() * 2.0f - 1.0f;
	cairn_optim_defaults(&opt);
	assert_int_equal(cairn_model_create(s->cpu2, &spec, B, 4, &m), 0);
	assert_int_equal(cairn_model_init(m, rnd()), 0);
	for (int t = 1; t <= STEPS; t++) {
		float loss;
		for (int r = 0; r < B; r++) {
			y[r] = (int32_t)(rnd() % C);
			for (int i = 0; i < IN; i++)
				x[r * IN + i] =
				    centre[y[r]][i] + 0.5f * (rnd_u01() - 0.5f);
		}
		opt.adamw.step = t;
		assert_int_equal(cairn_model_step(m, B, 4, x, y, &opt, &loss),
		                 0);
		if (t <= 5)
			first += loss / 5;
		if (t > STEPS - 10)
			last += loss / 10;
	}
	for (int r = 0; r < NTEST; r++) {
		yt[r] = (int32_t)(rnd() % C);
		for (int i = 0; i < IN; i++)
			xt[r * IN + i] =
			    centre[yt[r]][i] + 0.5f * (rnd_u01() - 0.5f);
	}
	assert_int_equal(cairn_model_evaluate(m, NTEST, xt, yt, &correct), 0);
	printf("  synthetic: loss %.4f (first 5 steps) -> %.4f (last 10), "
	       "accuracy %.1f%%\n",
	       (double)first, (double)last, 100.0 * (double)correct / NTEST);
	if (!(last < 0.25f * first) || correct < NTEST * 95 / 100)
		fail_msg("no learning: loss %.4f -> %.4f, accuracy %" PRId64
		         "/%d (seed 0x%" PRIx64 ")",
		         (double)first, (double)last, correct, (int)NTEST,
		         g_seed);
	cairn_model_free(m);
	free(xt);
	free(yt);
}

/* 150 steps of a 784-256-10 MLP on Fashion-MNIST, with the sampling rule
 * and the test set's accuracy; skipped when the dataset is not installed. */
static void test_learn_fmnist(void **state)
{
	struct state *s = *state;
	enum { B = 64, STEPS = 150 };
	static const int64_t hid[] = {256};
	cairn_mlp_spec spec = cairn_test_mlp(784, 1, hid, 10, CAIRN_ACT_RELU);
	cairn_dataset *train = NULL, *test = NULL;
	char err[512];
	float *x = cairn_test_xmalloc(B * 784 * sizeof(float)), first = 0,
	      last = 0;
	int32_t y[B];
	uint32_t idx[B];
	cairn_optim opt;
	cairn_model *m = NULL;
	int64_t correct = 0;
	uint64_t seed = rnd();
	double t0 = now_s();

	if (access(CAIRN_DATASET_DEFAULT_DIR, R_OK)) {
		free(x);
		skip();
	}
	assert_int_equal(
	    cairn_dataset_open(NULL, "train", &train, err, sizeof err), 0);
	assert_int_equal(
	    cairn_dataset_open(NULL, "test", &test, err, sizeof err), 0);
	cairn_optim_defaults(&opt);
	assert_int_equal(cairn_model_create(s->cpu2, &spec, 500, 4, &m), 0);
	assert_int_equal(cairn_model_init(m, seed), 0);
	for (int t = 1; t <= STEPS; t++) {
		float loss;
		assert_int_equal(cairn_sample_indices(seed, 0, 0, (uint32_t)t,
		                                      train->count, B, idx),
		                 0);
		assert_int_equal(
		    cairn_dataset_gather(train, idx, B, x, y, err, sizeof err),
		    0);
		opt.adamw.step = t;
		assert_int_equal(cairn_model_step(m, B, 4, x, y, &opt, &loss),
		                 0);
		if (t <= 5)
			first += loss / 5;
		if (t > STEPS - 10)
			last += loss / 10;
	}
	assert_int_equal(cairn_model_evaluate_dataset(m, test, &correct), 0);
	printf("  fashion-mnist 784-256-10, %d steps of %d: loss %.4f -> "
	       "%.4f, test accuracy %.2f%% (%.2f s)\n",
	       STEPS, B, (double)first, (double)last,
	       100.0 * (double)correct / test->count, now_s() - t0);
	if (!(last < 0.8f) || !(first > 1.5f) ||
	    correct < (int64_t)test->count * 70 / 100)
		fail_msg("no learning on fashion-mnist: loss %.4f -> %.4f, "
		         "accuracy %" PRId64 "/%u (seed 0x%" PRIx64 ")",
		         (double)first, (double)last, correct, test->count,
		         g_seed);
	cairn_model_free(m);
	cairn_dataset_close(train);
	cairn_dataset_close(test);
	free(x);
}

/* ---- the reference model's step time ----------------------------------- */

/* The mean and best step time of the reference model at batch 256 with
 * M micro-batches on the 2-thread cpu backend. */
static void step_time(cairn_backend *be, int micro)
{
	enum { B = 256, WARM = 2, REPS = 10 };
	cairn_mlp_spec spec;
	cairn_model *m = NULL;
	cairn_optim opt;
	float *x = cairn_test_xmalloc(B * 784 * sizeof(float)), loss;
	int32_t y[B];
	double best = 1e30, total = 0;

	cairn_mlp_spec_reference(&spec);
	cairn_optim_defaults(&opt);
	random_batch(x, y, B, 784, 10);
	assert_int_equal(cairn_model_create(be, &spec, B, micro, &m), 0);
	assert_int_equal(cairn_model_init(m, rnd()), 0);
	for (int t = 1; t <= WARM + REPS; t++) {
		double t0 = now_s(), dt;
		opt.adamw.step = t;
		assert_int_equal(
		    cairn_model_step(m, B, micro, x, y, &opt, &loss), 0);
		assert_int_equal(cairn_backend_sync(be), 0);
		dt = now_s() - t0;
		if (t <= WARM)
			continue;
		total += dt;
		best = dt < best ? dt : best;
	}
	printf("  step time, 784-1024-1024-10 B=256 M=%d on %s: %.1f ms "
	       "mean, %.1f ms best; %.0f samples/s (mean)\n",
	       micro, cairn_backend_describe(be), 1e3 * total / REPS,
	       1e3 * best, B * REPS / total);
	fflush(stdout);
	cairn_model_free(m);
	free(x);
}

static void test_step_time(void **state)
{
	struct state *s = *state;

	step_time(s->cpu2, 1);
	step_time(s->cpu2, 4);
	step_time(s->cpu2, 8);
}

/* ---- main -------------------------------------------------------------- */

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_gradcheck),
	    cmocka_unit_test(test_learn_synthetic),
	    cmocka_unit_test(test_learn_fmnist),
	    cmocka_unit_test(test_step_time),
	};

	cairn_log_set_level(CAIRN_LOG_WARN);
	g_seed = cairn_test_seed("test_model_learn");
	g_rng = g_seed;
	return cmocka_run_group_tests(tests, setup, teardown);
}
