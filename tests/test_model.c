/* cairn: the model and one training step, bit for bit
 * (include/cairn/model.h).
 *
 * The same init and steps on ref and on every cpu configuration (AVX2 and
 * portable, 1, 2 and 3 threads; one without cairn_gemm_seg; the cuda
 * backend's kernels run on the host, tests/emu, for the small models; and
 * cuda when a device is usable), for several micro-batch counts M:
 * parameters, gradients, moments and loss bits equal (the multi-device
 * view of M is in test_step.c); and a step equal to its definition.
 *
 * The gradients against finite differences, learning and the step time are
 * in test_model_learn.c; initialisation, sampling, argument checks,
 * evaluation and a training set on the device in test_model_api.c.  The
 * configurations are model_fixture.h's; inputs are fresh random numbers
 * each run (seed printed; set CAIRN_TEST_SEED=0x... to replay). */
#include <inttypes.h>
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

#include "cairn/error.h"
#include "cairn/kernels.h"
#include "cairn/log.h"
#include "cairn/model.h"

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
 * then one update of the whole parameter buffer (AdamW, or SGD's
 * cairn_nesterov on the momentum buffer m).  cairn_model_step
 * queues each layer's update inside the backward pass instead; test_steps
 * holds it to this. */
static int step_by_definition(cairn_model *m, int64_t batch, int micro,
                              const float *x, const int32_t *y,
                              const cairn_optim *opt, float *loss)
{
	int rc = cairn_model_forward_backward(m, batch, micro, x, y, loss);

	if (!rc && opt->kind == CAIRN_OPTIM_SGD)
		return cairn_nesterov(cairn_model_backend(m),
		                      cairn_model_param_count(m), opt->sgd.lr,
		                      opt->sgd.momentum,
		                      cairn_model_buffer(m, CAIRN_MODEL_PARAMS),
		                      cairn_model_buffer(m, CAIRN_MODEL_GRADS),
		                      cairn_model_buffer(m, CAIRN_MODEL_M));
	if (!rc)
		rc = cairn_adamw(cairn_model_backend(m),
		                 cairn_model_param_count(m), &opt->adamw,
		                 cairn_model_buffer(m, CAIRN_MODEL_PARAMS),
		                 cairn_model_buffer(m, CAIRN_MODEL_GRADS),
		                 cairn_model_buffer(m, CAIRN_MODEL_M),
		                 cairn_model_buffer(m, CAIRN_MODEL_V));
	return rc;
}

/* The optimizers the tests run: the reference job's AdamW, SGD with
 * Nesterov momentum (so that m carries over between steps), plain SGD. */
static cairn_optim optim_of(int i)
{
	cairn_optim o;

	if (i == 0) {
		cairn_optim_defaults(&o);
	} else {
		cairn_optim_sgd(&o, 0.05f);
		o.sgd.momentum = i == 1 ? 0.9f : 0.0f;
	}
	return o;
}

static const char *optim_label(const cairn_optim *o)
{
	return o->kind == CAIRN_OPTIM_ADAMW ? "adamw"
	       : o->sgd.momentum > 0.0f     ? "sgd+nesterov"
	                                    : "sgd";
}

/* init(seed) and `steps` steps of `micro` micro-batches with optimizer
 * `o` on be, step t with rows x + (t-1)*batch*in; then reads all four
 * buffers back.  by_def: the steps as step_by_definition, not
 * cairn_model_step. */
static void train_on(cairn_backend *be, const cairn_mlp_spec *spec,
                     int64_t batch, int micro, int steps, uint64_t seed,
                     const cairn_optim *o, const float *x, const int32_t *y,
                     struct run *r, int by_def)
{
	cairn_model *m = NULL;
	cairn_optim opt = *o;
	double t0;

	assert_true(steps <= 8);
	assert_int_equal(cairn_model_create(be, spec, batch, micro, &m), 0);
	assert_int_equal(cairn_model_init(m, seed), 0);
	t0 = now_s();
	for (int t = 1; t <= steps; t++) {
		float loss;
		opt.adamw.step = t;
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
                        int steps, const cairn_optim *opt, int all_cfgs)
{
	char what[128];
	float *x = cairn_test_xmalloc((size_t)(steps * batch * spec->input) *
	                              sizeof(float));
	int32_t *y =
	    cairn_test_xmalloc((size_t)(steps * batch) * sizeof(int32_t));
	uint64_t seed = rnd();
	struct run want = {0};

	snprintf(what, sizeof what, "%s M=%d %s", name, micro,
	         optim_label(opt));
	random_batch(x, y, steps * batch, spec->input, spec->classes);
	train_on(s->ref, spec, batch, micro, steps, seed, opt, x, y, &want, 0);
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
		train_on(s->cfg[k].be, spec, batch, micro, steps, seed, opt, x,
		         y, &got, 0);
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
	cairn_optim adamw = optim_of(0);

	for (int micro = 1; micro <= 4; micro *= 2)
		check_exact(*state, "784-64-32-10 relu B=32 x3", &a, 32, micro,
		            3, &adamw, 1);
	/* odd sizes everywhere, GELU, three hidden layers; one row per
	 * micro-batch */
	check_exact(*state, "50-40-30-20-7 gelu B=17 x3", &b, 17, 1, 3, &adamw,
	            1);
	check_exact(*state, "50-40-30-20-7 gelu B=17 x3", &b, 17, 17, 3, &adamw,
	            1);
	/* the SGD optimizers on every configuration (the cuda kernels
	 * emulated included) */
	for (int i = 1; i <= 2; i++) {
		cairn_optim sgd = optim_of(i);
		check_exact(*state, "784-64-32-10 relu B=32 x3", &a, 32, 2, 3,
		            &sgd, 1);
		check_exact(*state, "50-40-30-20-7 gelu B=17 x3", &b, 17, 1, 3,
		            &sgd, 1);
	}
}

/* cairn_model_step against its definition, forward_backward then one
 * update of the whole buffer by each optimizer, on ref and the 2-thread
 * cpu: the same bits
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

	for (int i = 0; i < 6; i++)
		for (int micro = 1; micro <= 4; micro *= 2)
			for (int k = 0; k < 2; k++) {
				const cairn_mlp_spec *sp = &specs[i % 2];
				const cairn_optim opt = optim_of(i / 2);
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
				         &opt, x, y, &want, 1);
				train_on(bes[k], sp, batch, micro, steps, seed,
				         &opt, x, y, &got, 0);
				snprintf(what, sizeof what,
				         "step vs its definition, %d hidden, "
				         "M=%d, %s",
				         sp->nhidden, micro, optim_label(&opt));
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

	cairn_optim adamw = optim_of(0);

	cairn_mlp_spec_reference(&spec);
	check_exact(*state, "784-1024-1024-10 relu B=256 x1", &spec, 256,
	            CAIRN_MODEL_REFERENCE_MICRO, 1, &adamw, 0);
}

/* ---- main -------------------------------------------------------------- */

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_steps),
	    cmocka_unit_test(test_exact_small),
	    cmocka_unit_test(test_exact_reference),
	};

	cairn_log_set_level(CAIRN_LOG_WARN);
	g_seed = cairn_test_seed("test_model");
	g_rng = g_seed;
	return cmocka_run_group_tests(tests, setup, teardown);
}
