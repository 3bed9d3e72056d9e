/* cairn tests: the harness of the kernel tests, shared by test_kernels.c
 * (elementwise ops, reductions, optimizers, fills, gathers and the
 * caller's FP environment), test_kernels_gemm.c (GEMM and k-segmented
 * GEMM) and test_kernels_hash.c (hash_chunks).  Each program runs
 *
 *   PROG --backend cpu    cpu backend: AVX-512, AVX2 (when the CPU has
 *                         them) and portable kernels, 1, 2, 3 and 8 threads
 *   PROG --backend cuda   the GPU, with every GEMM block shape forced too;
 *                         exits 77 (skipped) without one
 *   PROG --backend emu    the cuda backend's kernels run on the host
 *                         (tests/emu; built when a C++ compiler is there,
 *                         else exits 77)
 *
 * Inputs are fresh random numbers each run (seed printed under the
 * program's name; set CAIRN_TEST_SEED=0x... to replay), with NaN,
 * infinities, signed zeros and subnormals mixed in.  Each case runs on ref,
 * then on every configuration of the backend under test, and the outputs
 * must be equal byte for byte. */
#ifndef CAIRN_KERNELS_FIXTURE_H
#define CAIRN_KERNELS_FIXTURE_H

/* Include after <cmocka.h>: the helpers below fail the running test. */

#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#include "cairn/error.h"
#include "cairn/kernels.h"
#include "cairn/log.h"

/* ---- random inputs --------------------------------------------------- */

static uint64_t g_seed;
static uint64_t g_rng;

static inline uint64_t rnd(void)
{
	return cairn_test_splitmix64(&g_rng);
}

static inline int64_t rnd_range(int64_t lo, int64_t hi)
{
	return lo + (int64_t)(rnd() % (uint64_t)(hi - lo + 1));
}

static inline float rnd_unit(void)
{
	return (float)(rnd() >> 40) * 0x1p-24f * 2.0f - 1.0f;
}

static inline float u2f(uint32_t u)
{
	float f;
	memcpy(&f, &u, sizeof f);
	return f;
}

/* Mostly values in [-scale, scale]; with special != 0, about one in
 * 64 is NaN (of varied payload and sign), +-inf, +-0, a subnormal or huge. */
static inline void fill_floats(float *x, int64_t n, float scale, int special)
{
	for (int64_t i = 0; i < n; i++) {
		x[i] = rnd_unit() * scale;
		if (!special || rnd() % 64)
			continue;
		switch (rnd() % 7) {
		case 0:
			x[i] = u2f(0x7fc00000u | (uint32_t)(rnd() & 0x3fffff) |
			           (rnd() & 1 ? 0x80000000u : 0));
			break;
		case 1:
			x[i] = u2f(0x7f800001u + (uint32_t)(rnd() % 0x3fffff));
			break; /* signalling NaN */
		case 2:
			x[i] = rnd() & 1 ? u2f(0x7f800000u) : u2f(0xff800000u);
			break;
		case 3:
			x[i] = rnd() & 1 ? 0.0f : -0.0f;
			break;
		case 4:
			x[i] = u2f((uint32_t)(rnd() % 0x7fffff + 1) |
			           (rnd() & 1 ? 0x80000000u : 0));
			break;
		case 5:
			x[i] = rnd_unit() * 3e38f;
			break;
		default:
			x[i] = rnd_unit() * 1e-30f;
			break;
		}
	}
}

/* ---- the case harness ------------------------------------------------ */

#define MAX_BUFS 48

struct tbuf {
	void *host; /* initial contents (inputs, and outputs' old values) */
	size_t bytes;
	int is_out; /* compared after the op */
};

struct tcase {
	char what[160];
	int nbuf;
	struct tbuf buf[MAX_BUFS];
	int64_t i[10];
	float f[8];
	/* Runs the op on be, with p[b] the backend copy of buf[b]. */
	int (*run)(cairn_backend *be, void *const *p, const struct tcase *c);
};

#define CFG_MAX 16 /* backend configurations under test, at most */

struct state {
	cairn_backend *ref;
	struct cairn_test_config cfg[CFG_MAX];
	int ncfg;
};

static const char *g_backend = "cpu";
/* The program's name, for messages (kernels_start sets it). */
static const char *g_prog = "test_kernels";

static inline int tc_add(struct tcase *c, size_t bytes, int is_out)
{
	assert_true(c->nbuf < MAX_BUFS);
	c->buf[c->nbuf].host = cairn_test_xmalloc(bytes);
	c->buf[c->nbuf].bytes = bytes;
	c->buf[c->nbuf].is_out = is_out;
	return c->nbuf++;
}

static inline float *tc_floats(struct tcase *c, int64_t n, int is_out,
                               float scale, int special)
{
	int b = tc_add(c, (size_t)n * sizeof(float), is_out);
	fill_floats(c->buf[b].host, n, scale, special);
	return c->buf[b].host;
}

static inline void tc_free(struct tcase *c)
{
	for (int b = 0; b < c->nbuf; b++)
		free(c->buf[b].host);
	c->nbuf = 0;
}

/* Uploads every buffer to be, runs, downloads the outputs into out[b]. */
static inline int run_on(cairn_backend *be, const struct tcase *c, void **out)
{
	void *p[MAX_BUFS] = {0};
	int rc = 0;

	for (int b = 0; b < c->nbuf && !rc; b++) {
		rc = cairn_buf_alloc(be, c->buf[b].bytes ? c->buf[b].bytes : 4,
		                     &p[b]);
		if (!rc)
			rc = cairn_buf_write(be, p[b], c->buf[b].host,
			                     c->buf[b].bytes);
	}
	if (!rc)
		rc = c->run(be, p, c);
	if (!rc)
		rc = cairn_backend_sync(be);
	for (int b = 0; b < c->nbuf && !rc; b++) {
		if (!c->buf[b].is_out)
			continue;
		out[b] = cairn_test_xmalloc(c->buf[b].bytes);
		rc = cairn_buf_read(be, out[b], p[b], c->buf[b].bytes);
	}
	for (int b = 0; b < c->nbuf; b++)
		cairn_buf_free(be, p[b]);
	return rc;
}

static inline void report_diff(const struct tcase *c, const char *cfg, int b,
                               const void *want, const void *got)
{
	const uint32_t *w = want, *g = got;
	size_t n = c->buf[b].bytes / 4, bad = 0, first = 0;

	for (size_t e = 0; e < n; e++)
		if (w[e] != g[e] && bad++ == 0)
			first = e;
	fprintf(stderr,
	        "MISMATCH %s on %s: output %d differs in %zu of %zu words; "
	        "first at [%zu]: ref 0x%08" PRIx32 " (%.9g) vs 0x%08" PRIx32
	        " (%.9g); seed 0x%016" PRIx64 " (CAIRN_TEST_SEED=0x%" PRIx64
	        " to replay)\n",
	        c->what, cfg, b, bad, n, first, w[first], (double)u2f(w[first]),
	        g[first], (double)u2f(g[first]), g_seed, g_seed);
}

/* Runs c on ref and on every configuration; every output must match. */
static inline void check_case(struct state *s, struct tcase *c)
{
	void *want[MAX_BUFS] = {0};
	int rc = run_on(s->ref, c, want);

	if (rc)
		fail_msg("%s on ref: %s", c->what, cairn_strerror(rc));
	for (int k = 0; k < s->ncfg; k++) {
		void *got[MAX_BUFS] = {0};
		rc = run_on(s->cfg[k].be, c, got);
		if (rc)
			fail_msg("%s on %s: %s (seed 0x%" PRIx64 ")", c->what,
			         s->cfg[k].name, cairn_strerror(rc), g_seed);
		for (int b = 0; b < c->nbuf; b++) {
			if (!c->buf[b].is_out)
				continue;
			if (memcmp(want[b], got[b], c->buf[b].bytes)) {
				report_diff(c, s->cfg[k].name, b, want[b],
				            got[b]);
				fail_msg("%s differs on %s", c->what,
				         s->cfg[k].name);
			}
			free(got[b]);
		}
	}
	for (int b = 0; b < c->nbuf; b++)
		free(want[b]);
	tc_free(c);
}

/* ---- fixtures -------------------------------------------------------- */

static inline int add_cfg(struct state *s, cairn_backend_kind kind, int threads,
                          const char *isa)
{
	int rc;

	if (s->ncfg == CFG_MAX) {
		fprintf(stderr, "%s: more than CFG_MAX configs\n", g_prog);
		return -1;
	}
	rc = cairn_test_config_open(&s->cfg[s->ncfg], kind, threads, isa);
	if (rc == 0)
		s->ncfg++;
	return rc;
}

static inline int setup(void **state)
{
	struct state *s = calloc(1, sizeof *s);

	if (!s || cairn_backend_open(CAIRN_BACKEND_REF, NULL, &s->ref))
		return -1;
#ifdef CAIRN_TEST_EMU
	if (!strcmp(g_backend, "emu")) {
		if (cairn_test_emu_config_open(&s->cfg[s->ncfg]))
			return -1;
		s->ncfg++;
	} else
#endif
	    if (!strcmp(g_backend, "cuda")) {
		/* the launcher's pick, then every GEMM block shape forced
		 * (kernels/cuda/gemm.cuh): each must give ref's bits */
		static const char *const shapes[] = {"128x128",   "64x128",
		                                     "64x64",     "32x64",
		                                     "32x64-4x4", "16x32-4x4"};
		if (add_cfg(s, CAIRN_BACKEND_CUDA, 0, NULL))
			return -1;
		for (int i = 0; i < 6; i++) {
			int rc;
			setenv("CAIRN_CUDA_GEMM_SHAPE", shapes[i], 1);
			rc = add_cfg(s, CAIRN_BACKEND_CUDA, 0, NULL);
			unsetenv("CAIRN_CUDA_GEMM_SHAPE");
			if (rc)
				return -1;
		}
	} else {
		/* 3 threads: shares that are not powers of two */
		static const int threads[] = {1, 2, 3, 8};
		static const char *const isas[] = {"avx512", "avx2",
		                                   "portable"};
		for (int i = 0; i < 3; i++)
			for (int t = 0; t < 4; t++) {
				int rc = add_cfg(s, CAIRN_BACKEND_CPU,
				                 threads[t], isas[i]);
				if (rc == CAIRN_ENOTSUP)
					break; /* this CPU lacks the ISA */
				if (rc)
					return -1;
			}
	}
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

/* ---- main ------------------------------------------------------------ */

/* Reads --backend from argv into g_backend, quiets the log, checks that
 * the backend can run here and prints the seed under prog's name: -1 to go
 * on with the tests, else the exit code (77: skipped; 2: a bad backend). */
static inline int kernels_start(int argc, char **argv, const char *prog)
{
	g_prog = prog;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--backend") && i + 1 < argc)
			g_backend = argv[++i];
	cairn_log_set_level(CAIRN_LOG_WARN);
	if (!strcmp(g_backend, "cuda")) {
		char why[256];
		if (cairn_cuda_probe(why, sizeof why) <= 0) {
			printf("SKIP: no usable CUDA device: %s\n", why);
			return 77;
		}
	} else if (!strcmp(g_backend, "emu")) {
#ifndef CAIRN_TEST_EMU
		printf("SKIP: built without the emulated backend (no C++ "
		       "compiler)\n");
		return 77;
#endif
	} else if (strcmp(g_backend, "cpu")) {
		fprintf(stderr, "%s: unknown backend '%s'\n", prog, g_backend);
		return 2;
	}
	printf("%s: backend %s\n", prog, g_backend);
	g_seed = cairn_test_seed(prog);
	g_rng = g_seed;
	return -1;
}

#endif
