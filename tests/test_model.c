/* cairn: the model and one training step (include/cairn/model.h).
 *
 * - bit-exactness: the same init and steps on ref and on every cpu
 *   configuration (AVX2 and portable, 1, 2 and 3 threads; one without
 *   cairn_gemm_seg; the cuda backend's kernels run on the host, tests/emu,
 *   for the small models; and cuda when a device is usable), for several
 *   micro-batch counts M: parameters,
 *   gradients, moments and loss bits equal (the multi-device view of M is
 *   in test_step.c);
 * - the backward pass against central differences of a double-precision
 *   reimplementation of the loss (the math, apart from the bits);
 * - learning on separable synthetic data, and on Fashion-MNIST when it is
 *   installed;
 * - initialisation and sampling: recomputed by hand from Philox, same seed
 *   same bytes, any change of (seed, round, task, step) other indices;
 * - argument checks (micro-batch counts included) and the argmax tie rule;
 * - the step time of the reference model for M = 1, 4 and 8 (printed,
 *   never asserted).
 *
 * Inputs are fresh random numbers each run (seed printed; set
 * CAIRN_TEST_SEED=0x... to replay). */
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

#include "test_util.h"

#include "cairn/dataset.h"
#include "cairn/error.h"
#include "cairn/kernels.h"
#include "cairn/log.h"
#include "cairn/model.h"
#include "philox.h"

/* ---- random inputs --------------------------------------------------- */

static uint64_t g_seed;
static uint64_t g_rng;

static uint64_t rnd(void)
{
	return cairn_test_splitmix64(&g_rng);
}

/* [0, 1) */
static float rnd_u01(void)
{
	return (float)(rnd() >> 40) * 0x1p-24f;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}


/* Pixel-like inputs in [0, 1) and labels in [0, classes). */
static void random_batch(float *x, int32_t *y, int64_t rows, int64_t in,
                         int64_t classes)
{
	for (int64_t i = 0; i < rows * in; i++)
		x[i] = rnd_u01();
	for (int64_t r = 0; r < rows; r++)
		y[r] = (int32_t)(rnd() % (uint64_t)classes);
}

/* ---- configurations ------------------------------------------------- */

struct state {
	cairn_backend *ref;
	struct cairn_test_config cfg[12];
	int ncfg;
	cairn_backend *cpu2; /* cpu, 2 threads, default ISA (one of cfg) */
	cairn_backend *nogs; /* cpu, 2 threads, no cairn_gemm_seg (one of cfg) */
	cairn_backend *emu;  /* the emulated cuda kernels (one of cfg), or NULL */
};

static int add_cfg(struct state *s, cairn_backend_kind kind, int threads,
		   const char *isa)
{
	int rc = cairn_test_config_open(&s->cfg[s->ncfg], kind, threads, isa);

	if (rc == 0)
		s->ncfg++;
	return rc;
}

static int setup(void **state)
{
	static const int threads[] = {1, 2, 3};
	static const char *const isas[] = {"avx2", "portable"};
	struct state *s = calloc(1, sizeof *s);
	char why[256];

	if (!s || cairn_backend_open(CAIRN_BACKEND_REF, NULL, &s->ref))
		return -1;
	for (int i = 0; i < 2; i++)
		for (int t = 0; t < 3; t++) {
			int rc =
			    add_cfg(s, CAIRN_BACKEND_CPU, threads[t], isas[i]);
			if (rc == CAIRN_ENOTSUP)
				break; /* no AVX2 on this CPU */
			if (rc)
				return -1;
			if (threads[t] == 2 && !s->cpu2)
				s->cpu2 = s->cfg[s->ncfg - 1].be;
		}
	if (!s->cpu2)
		return -1;
	{ /* the path of a backend without cairn_gemm_seg (cuda's) */
		cairn_backend_opts o = {2, 0, NULL, 0, 1};
		struct cairn_test_config *c = &s->cfg[s->ncfg];
		if (cairn_backend_open(CAIRN_BACKEND_CPU, &o, &c->be))
			return -1;
		snprintf(c->name, sizeof c->name, "cpu without gemm_seg (%s)",
		         cairn_backend_describe(c->be));
		s->nogs = c->be;
		s->ncfg++;
	}
#ifdef CAIRN_TEST_EMU
	{ /* the cuda backend's kernels, run on the host (tests/emu) */
		if (cairn_test_emu_config_open(&s->cfg[s->ncfg]))
			return -1;
		s->emu = s->cfg[s->ncfg++].be;
	}
#endif
	if (cairn_cuda_probe(why, sizeof why) > 0 &&
	    add_cfg(s, CAIRN_BACKEND_CUDA, 0, NULL))
		return -1;
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	struct state *s = *state;

	for (int k = 0; k < s->ncfg; k++)
		cairn_backend_close(s->cfg[k].be);
	cairn_backend_close(s->ref);
	free(s);
	return 0;
}

/* ---- bit-exactness ---------------------------------------------------- */

struct run {
	int64_t n;
	float *buf[CAIRN_MODEL_NBUFS];
	uint32_t loss_bits[8];
	double secs;
};

static void run_free(struct run *r)
{
	for (int i = 0; i < CAIRN_MODEL_NBUFS; i++)
		free(r->buf[i]);
}

/* What a step is by definition (model.h): the forward and backward pass,
 * then one AdamW update of the whole parameter buffer.  cairn_model_step
 * queues each layer's update inside the backward pass instead; test_steps
 * holds it to this. */
static int step_by_definition(cairn_model *m, int64_t batch, int micro,
                              const float *x, const int32_t *y,
                              const cairn_adamw_params *opt, float *loss)
{
	int rc = cairn_model_forward_backward(m, batch, micro, x, y, loss);

	if (!rc)
		rc = cairn_adamw(cairn_model_backend(m),
		                 cairn_model_param_count(m), opt,
		                 cairn_model_buffer(m, CAIRN_MODEL_PARAMS),
		                 cairn_model_buffer(m, CAIRN_MODEL_GRADS),
		                 cairn_model_buffer(m, CAIRN_MODEL_M),
		                 cairn_model_buffer(m, CAIRN_MODEL_V));
	return rc;
}

/* init(seed) and `steps` steps of `micro` micro-batches on be, step t with
 * rows x + (t-1)*batch*in; then reads all four buffers back.  by_def: the
 * steps as step_by_definition, not cairn_model_step. */
static void train_on(cairn_backend *be, const cairn_mlp_spec *spec,
                     int64_t batch, int micro, int steps, uint64_t seed,
                     const float *x, const int32_t *y, struct run *r,
                     int by_def)
{
	cairn_model *m = NULL;
	cairn_adamw_params opt;
	double t0;

	assert_true(steps <= 8);
	cairn_adamw_defaults(&opt);
	assert_int_equal(cairn_model_create(be, spec, batch, micro, &m), 0);
	assert_int_equal(cairn_model_init(m, seed), 0);
	t0 = now_s();
	for (int t = 1; t <= steps; t++) {
		float loss;
		opt.step = t;
		assert_int_equal(
		    (by_def ? step_by_definition : cairn_model_step)(
		        m, batch, micro, x + (t - 1) * batch * spec->input,
		        y + (t - 1) * batch, &opt, &loss),
		    0);
		memcpy(&r->loss_bits[t - 1], &loss, 4);
	}
	assert_int_equal(cairn_backend_sync(be), 0);
	r->secs = now_s() - t0;
	r->n = cairn_model_param_count(m);
	for (int i = 0; i < CAIRN_MODEL_NBUFS; i++) {
		r->buf[i] = cairn_test_xmalloc((size_t)r->n * sizeof(float));
		assert_int_equal(
		    cairn_model_read(m, (cairn_model_buf)i, r->buf[i]), 0);
	}
	cairn_model_free(m);
}

static const char *const buf_names[] = {"params", "grads", "m", "v"};

static void compare_runs(const char *what, const char *cfg,
                         const struct run *want, const struct run *got,
                         int steps)
{
	assert_int_equal(want->n, got->n);
	for (int t = 0; t < steps; t++)
		if (want->loss_bits[t] != got->loss_bits[t])
			fail_msg("%s on %s: loss of step %d 0x%08" PRIx32
			         " (ref) vs 0x%08" PRIx32 " (seed 0x%" PRIx64
			         ")",
			         what, cfg, t + 1, want->loss_bits[t],
			         got->loss_bits[t], g_seed);
	for (int i = 0; i < CAIRN_MODEL_NBUFS; i++) {
		if (!memcmp(want->buf[i], got->buf[i],
		            (size_t)want->n * sizeof(float)))
			continue;
		for (int64_t e = 0; e < want->n; e++) {
			uint32_t a, b;
			memcpy(&a, &want->buf[i][e], 4);
			memcpy(&b, &got->buf[i][e], 4);
			if (a != b)
				fail_msg(
				    "%s on %s: %s[%" PRId64 "] 0x%08" PRIx32
				    " (ref) vs 0x%08" PRIx32 " (seed 0x%" PRIx64
				    ", CAIRN_TEST_SEED to replay)",
				    what, cfg, buf_names[i], e, a, b, g_seed);
		}
	}
}

/* The same training on ref and on every configuration. */
static void check_exact(struct state *s, const char *name,
                        const cairn_mlp_spec *spec, int64_t batch, int micro,
                        int steps, int all_cfgs)
{
	char what[128];
	float *x =
	    cairn_test_xmalloc((size_t)(steps * batch * spec->input) * sizeof(float));
	int32_t *y = cairn_test_xmalloc((size_t)(steps * batch) * sizeof(int32_t));
	uint64_t seed = rnd();
	struct run want = {0};

	snprintf(what, sizeof what, "%s M=%d", name, micro);
	random_batch(x, y, steps * batch, spec->input, spec->classes);
	train_on(s->ref, spec, batch, micro, steps, seed, x, y, &want, 0);
	printf("  %s: ref %.3f s\n", what, want.secs);
	for (int k = 0; k < s->ncfg; k++) {
		struct run got = {0};
		/* the emulated kernels take minutes on the reference model:
		 * the small models hold them */
		if (!all_cfgs && s->cfg[k].be == s->emu)
			continue;
		if (!all_cfgs && s->cfg[k].be != s->cpu2 &&
		    cairn_backend_get_kind(s->cfg[k].be) == CAIRN_BACKEND_CPU &&
		    cairn_backend_threads(s->cfg[k].be) != 2)
			continue;
		train_on(s->cfg[k].be, spec, batch, micro, steps, seed, x, y,
		         &got, 0);
		printf("  %s: %s %.3f s\n", what, s->cfg[k].name, got.secs);
		compare_runs(what, s->cfg[k].name, &want, &got, steps);
		run_free(&got);
	}
	fflush(stdout);
	run_free(&want);
	free(x);
	free(y);
}

static void test_exact_small(void **state)
{
	static const int64_t h1[] = {64, 32}, h2[] = {40, 30, 20};
	cairn_mlp_spec a = cairn_test_mlp(784, 2, h1, 10, CAIRN_ACT_RELU);
	cairn_mlp_spec b = cairn_test_mlp(50, 3, h2, 7, CAIRN_ACT_GELU);

	for (int micro = 1; micro <= 4; micro *= 2)
		check_exact(*state, "784-64-32-10 relu B=32 x3", &a, 32, micro,
		            3, 1);
	/* odd sizes everywhere, GELU, three hidden layers; one row per
	 * micro-batch */
	check_exact(*state, "50-40-30-20-7 gelu B=17 x3", &b, 17, 1, 3, 1);
	check_exact(*state, "50-40-30-20-7 gelu B=17 x3", &b, 17, 17, 3, 1);
}

/* cairn_model_step against its definition, forward_backward then one
 * AdamW of the whole buffer, on ref and the 2-thread cpu: the same bits
 * in all four buffers and the losses (the per-layer update inside the
 * backward pass must not change a bit, e.g. by updating a layer before
 * its weights have given dX). */
static void test_steps(void **state)
{
	struct state *s = *state;
	static const int64_t h1[] = {64, 32}, h2[] = {40, 30, 20};
	const cairn_mlp_spec specs[2] = {
	    cairn_test_mlp(784, 2, h1, 10, CAIRN_ACT_RELU),
	    cairn_test_mlp(50, 3, h2, 7, CAIRN_ACT_GELU)};
	const int64_t batch = 12;
	const int steps = 3;
	cairn_backend *bes[2] = {s->ref, s->cpu2};

	for (int i = 0; i < 2; i++)
		for (int micro = 1; micro <= 4; micro *= 2)
			for (int k = 0; k < 2; k++) {
				const cairn_mlp_spec *sp = &specs[i];
				float *x = cairn_test_xmalloc(
				    (size_t)(steps * batch * sp->input) *
				    sizeof(float));
				int32_t *y = cairn_test_xmalloc(
				    (size_t)(steps * batch) * sizeof(int32_t));
				uint64_t seed = rnd();
				struct run want = {0}, got = {0};
				char what[96];

				random_batch(x, y, steps * batch, sp->input,
				             sp->classes);
				train_on(bes[k], sp, batch, micro, steps, seed,
				         x, y, &want, 1);
				train_on(bes[k], sp, batch, micro, steps, seed,
				         x, y, &got, 0);
				snprintf(what, sizeof what,
				         "step vs its definition, %d hidden, "
				         "M=%d",
				         sp->nhidden, micro);
				compare_runs(what, cairn_backend_name(bes[k]),
				             &want, &got, steps);
				run_free(&want);
				run_free(&got);
				free(x);
				free(y);
			}
}

/* One step of the reference model at batch 256 with the reference job's
 * micro-batch count (the small models above cover later steps, from
 * non-zero moments, and other counts).  The scalar ref takes most of
 * the time (about 4 s here); the cpu runs use 2 threads of each ISA. */
static void test_exact_reference(void **state)
{
	cairn_mlp_spec spec;

	cairn_mlp_spec_reference(&spec);
	check_exact(*state, "784-1024-1024-10 relu B=256 x1", &spec, 256,
	            CAIRN_MODEL_REFERENCE_MICRO, 1, 0);
}

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
	cairn_adamw_params opt;
	cairn_model *m = NULL;
	int64_t correct = 0;

	for (int c = 0; c < C; c++)
		for (int i = 0; i < IN; i++)
			centre[c][i] = rnd_u01() * 2.0f - 1.0f;
	cairn_adamw_defaults(&opt);
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
		opt.step = t;
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
	float *x = cairn_test_xmalloc(B * 784 * sizeof(float)), first = 0, last = 0;
	int32_t y[B];
	uint32_t idx[B];
	cairn_adamw_params opt;
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
	cairn_adamw_defaults(&opt);
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
		opt.step = t;
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
	cairn_adamw_params opt;
	float x[5 * 6] = {0}, loss;
	int32_t y[5] = {0, 1, 2, 3, 0};

	cairn_adamw_defaults(&opt);
	assert_int_equal(cairn_model_create(NULL, &spec, 4, 2, &m), CAIRN_EINVAL);
	assert_int_equal(cairn_model_create(s->ref, NULL, 4, 2, &m), CAIRN_EINVAL);
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
	assert_int_equal(cairn_model_create(s->ref, &bad, 4, 2, &m), CAIRN_EINVAL);
	bad.nhidden = CAIRN_MLP_MAX_HIDDEN + 1;
	assert_int_equal(cairn_model_create(s->ref, &bad, 4, 2, &m), CAIRN_EINVAL);
	bad = spec;
	bad.hidden[0] = 0;
	assert_int_equal(cairn_model_create(s->ref, &bad, 4, 2, &m), CAIRN_EINVAL);
	bad = spec;
	bad.classes = 0;
	assert_int_equal(cairn_model_create(s->ref, &bad, 4, 2, &m), CAIRN_EINVAL);
	bad = spec;
	bad.act = (cairn_act)7;
	assert_int_equal(cairn_model_create(s->ref, &bad, 4, 2, &m), CAIRN_EINVAL);
	bad = spec;
	bad.input = (int64_t)1 << 40;
	assert_int_equal(cairn_model_create(s->ref, &bad, 4, 2, &m), CAIRN_EINVAL);
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
	assert_int_equal(
	    cairn_model_forward_backward(m, 3, 2, x, y, &loss), CAIRN_EINVAL);
	assert_int_equal(
	    cairn_model_forward_backward(m, 4, 0, x, y, &loss), CAIRN_EINVAL);
	assert_int_equal(cairn_model_forward_backward(m, 3, 1, x, y, &loss),
	                 0);
	assert_int_equal(cairn_model_max_micro(m), 2);
	opt.step = 0;
	assert_int_equal(cairn_model_step(m, 4, 2, x, y, &opt, &loss),
	                 CAIRN_EINVAL);
	opt.step = 1;
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

/* ---- the reference model's step time ----------------------------------- */

/* The mean and best step time of the reference model at batch 256 with
 * M micro-batches on the 2-thread cpu backend. */
static void step_time(cairn_backend *be, int micro)
{
	enum { B = 256, WARM = 2, REPS = 10 };
	cairn_mlp_spec spec;
	cairn_model *m = NULL;
	cairn_adamw_params opt;
	float *x = cairn_test_xmalloc(B * 784 * sizeof(float)), loss;
	int32_t y[B];
	double best = 1e30, total = 0;

	cairn_mlp_spec_reference(&spec);
	cairn_adamw_defaults(&opt);
	random_batch(x, y, B, 784, 10);
	assert_int_equal(cairn_model_create(be, &spec, B, micro, &m), 0);
	assert_int_equal(cairn_model_init(m, rnd()), 0);
	for (int t = 1; t <= WARM + REPS; t++) {
		double t0 = now_s(), dt;
		opt.step = t;
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
	cairn_mlp_spec sp = cairn_test_mlp(CAIRN_DATASET_PIXELS, 1, h, 10,
	                                   CAIRN_ACT_RELU);
	uint8_t *img = cairn_test_xmalloc(N * CAIRN_DATASET_PIXELS);
	uint8_t lab[N], root[32] = {7};
	cairn_dataset ds = {N, img, lab};
	float *x = cairn_test_xmalloc(B * CAIRN_DATASET_PIXELS * sizeof(float));
	int32_t y[B];
	uint32_t idx[B];
	cairn_model *md = NULL, *mh = NULL;
	cairn_adamw_params opt;
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
	cairn_adamw_defaults(&opt);
	opt.step = 1;
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
		assert_int_equal(cairn_model_read(md, CAIRN_MODEL_PARAMS, p1), 0);
		assert_int_equal(cairn_model_read(mh, CAIRN_MODEL_PARAMS, p2), 0);
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
	    cmocka_unit_test(test_gradcheck),
	    cmocka_unit_test(test_steps),
	    cmocka_unit_test(test_exact_small),
	    cmocka_unit_test(test_exact_reference),
	    cmocka_unit_test(test_learn_synthetic),
	    cmocka_unit_test(test_learn_fmnist),
	    cmocka_unit_test(test_step_time),
	    cmocka_unit_test(test_device_data_uploads),
	};

	cairn_log_set_level(CAIRN_LOG_WARN);
	g_seed = cairn_test_seed("test_model");
	g_rng = g_seed;
	return cmocka_run_group_tests(tests, setup, teardown);
}
