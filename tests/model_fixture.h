/* cairn tests: the fixture of the model's tests, test_model.c (the same
 * bits on every configuration), test_model_learn.c (the gradients against
 * finite differences, learning, the step time) and test_model_api.c
 * (initialisation, sampling, argument checks, evaluation, a training set
 * on the device).
 *
 * The configurations: ref, and the cpu backend with AVX2 (when the CPU has
 * it) and portable kernels on 1, 2 and 3 threads, one without
 * cairn_gemm_seg, the cuda backend's kernels run on the host (tests/emu,
 * when built with a C++ compiler), and cuda when a device is usable.
 *
 * Inputs are fresh random numbers each run (seed printed under the
 * program's name; set CAIRN_TEST_SEED=0x... to replay). */
#ifndef CAIRN_MODEL_FIXTURE_H
#define CAIRN_MODEL_FIXTURE_H

/* Include after <cmocka.h>. */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "test_util.h"

#include "cairn/error.h"
#include "cairn/kernels.h"
#include "cairn/model.h"

/* ---- random inputs --------------------------------------------------- */

static uint64_t g_seed;
static uint64_t g_rng;

static inline uint64_t rnd(void)
{
	return cairn_test_splitmix64(&g_rng);
}

/* [0, 1) */
static inline float rnd_u01(void)
{
	return (float)(rnd() >> 40) * 0x1p-24f;
}

static inline double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Pixel-like inputs in [0, 1) and labels in [0, classes). */
static inline void random_batch(float *x, int32_t *y, int64_t rows, int64_t in,
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
	cairn_backend
	    *nogs; /* cpu, 2 threads, no cairn_gemm_seg (one of cfg) */
	cairn_backend
	    *emu; /* the emulated cuda kernels (one of cfg), or NULL */
};

static inline int add_cfg(struct state *s, cairn_backend_kind kind, int threads,
                          const char *isa)
{
	int rc = cairn_test_config_open(&s->cfg[s->ncfg], kind, threads, isa);

	if (rc == 0)
		s->ncfg++;
	return rc;
}

static inline int setup(void **state)
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

static inline int teardown(void **state)
{
	struct state *s = *state;

	for (int k = 0; k < s->ncfg; k++)
		cairn_backend_close(s->cfg[k].be);
	cairn_backend_close(s->ref);
	free(s);
	return 0;
}

#endif
