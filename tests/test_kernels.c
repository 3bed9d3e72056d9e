/* cairn: every op of a fast backend against the reference, bit for bit.
 *
 *   test_kernels --backend cpu    cpu backend: AVX2 (when the CPU has it)
 *                                 and portable kernels, 1, 2 and 8 threads
 *   test_kernels --backend cuda   the GPU; exits 77 (skipped) without one
 *   test_kernels --backend emu    the cuda backend's kernels run on the host
 *                                 (tests/emu; built when a C++ compiler is
 *                                 there, else exits 77)
 *
 * Inputs are fresh random numbers each run (seed printed; set
 * CAIRN_TEST_SEED=0x... to replay), with NaN, infinities, signed zeros and
 * subnormals mixed in.  Each case runs on ref, then on every configuration
 * of the backend under test, and the outputs must be equal byte for byte. */
#include <inttypes.h>
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

#include "cairn/error.h"
#include "cairn/dataset.h"
#include "cairn/kernels.h"
#include "cairn/log.h"
#include "ops_scalar.h"

/* ---- random inputs --------------------------------------------------- */

static uint64_t g_seed;
static uint64_t g_rng;

static uint64_t rnd(void)
{
	return cairn_test_splitmix64(&g_rng);
}

static int64_t rnd_range(int64_t lo, int64_t hi)
{
	return lo + (int64_t)(rnd() % (uint64_t)(hi - lo + 1));
}

static float rnd_unit(void)
{
	return (float)(rnd() >> 40) * 0x1p-24f * 2.0f - 1.0f;
}

static float u2f(uint32_t u)
{
	float f;
	memcpy(&f, &u, sizeof f);
	return f;
}

/* Mostly values in [-scale, scale]; with special != 0, about one in
 * 64 is NaN (of varied payload and sign), +-inf, +-0, a subnormal or huge. */
static void fill_floats(float *x, int64_t n, float scale, int special)
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
	void *host;   /* initial contents (inputs, and outputs' old values) */
	size_t bytes;
	int is_out;   /* compared after the op */
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

static int tc_add(struct tcase *c, size_t bytes, int is_out)
{
	assert_true(c->nbuf < MAX_BUFS);
	c->buf[c->nbuf].host = cairn_test_xmalloc(bytes);
	c->buf[c->nbuf].bytes = bytes;
	c->buf[c->nbuf].is_out = is_out;
	return c->nbuf++;
}

static float *tc_floats(struct tcase *c, int64_t n, int is_out, float scale,
			int special)
{
	int b = tc_add(c, (size_t)n * sizeof(float), is_out);
	fill_floats(c->buf[b].host, n, scale, special);
	return c->buf[b].host;
}

static void tc_free(struct tcase *c)
{
	for (int b = 0; b < c->nbuf; b++)
		free(c->buf[b].host);
	c->nbuf = 0;
}

/* Uploads every buffer to be, runs, downloads the outputs into out[b]. */
static int run_on(cairn_backend *be, const struct tcase *c, void **out)
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

static void report_diff(const struct tcase *c, const char *cfg, int b,
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
static void check_case(struct state *s, struct tcase *c)
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

static int add_cfg(struct state *s, cairn_backend_kind kind, int threads,
		   const char *isa)
{
	int rc;

	if (s->ncfg == CFG_MAX) {
		fprintf(stderr, "test_kernels: more than CFG_MAX configs\n");
		return -1;
	}
	rc = cairn_test_config_open(&s->cfg[s->ncfg], kind, threads, isa);
	if (rc == 0)
		s->ncfg++;
	return rc;
}

static int setup(void **state)
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
		static const char *const shapes[] = {
		    "128x128", "64x128",    "64x64",
		    "32x64",   "32x64-4x4", "16x32-4x4"};
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

static int teardown(void **state)
{
	struct state *s = *state;

	for (int k = 0; k < s->ncfg; k++)
		cairn_backend_close(s->cfg[k].be);
	cairn_backend_close(s->ref);
	free(s);
	return 0;
}

/* ---- GEMM ------------------------------------------------------------ */

/* i[8] > 0: cairn_gemm_seg with i[8] k-segments. */
static int run_gemm(cairn_backend *be, void *const *p, const struct tcase *c)
{
	if (c->i[8] > 0)
		return cairn_gemm_seg(be, (cairn_trans)c->i[0],
				      (cairn_trans)c->i[1], c->i[2], c->i[3],
				      c->i[4], c->i[8], p[0], c->i[5], p[1],
				      c->i[6], p[2], c->i[7]);
	return cairn_gemm(be, (cairn_trans)c->i[0], (cairn_trans)c->i[1],
			  c->i[2], c->i[3], c->i[4], p[0], c->i[5], p[1],
			  c->i[6], p[2], c->i[7], (int)c->f[0]);
}

/* The cuda backend runs k-segments only in whole k-tiles of its kernel
 * (segments of a multiple of 8); for others cairn_gemm_seg answers
 * CAIRN_ENOTSUP there (test_gemm_seg_args holds it) and the model adds the
 * segments with sum_n.  Such cases are skipped on cuda. */
static int seg_skip(int64_t k, int64_t segs)
{
	return segs > 1 && (k / segs) % 8 && strcmp(g_backend, "cpu");
}

/* A gemm case's integer arguments, as run_gemm reads them. */
static void gemm_args_set(struct tcase *c, int ta, int tb, int64_t m,
			  int64_t n, int64_t k, int64_t lda, int64_t ldb,
			  int64_t ldc, int64_t segs)
{
	const int64_t v[9] = {ta, tb, m, n, k, lda, ldb, ldc, segs};

	memcpy(c->i, v, sizeof v);
}

/* segs > 0: cairn_gemm_seg (accumulate unused); 0: cairn_gemm. */
static void gemm_case_segs(struct state *s, int ta, int tb, int64_t m,
			   int64_t n, int64_t k, int accumulate, int pad,
			   int special, int64_t segs)
{
	struct tcase c = {.run = run_gemm};
	int64_t lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad;

	if (seg_skip(k, segs))
		return;
	int64_t ldc = n + pad;
	int64_t arows = ta ? k : m, brows = tb ? n : k;

	if (lda < 1)
		lda = 1;
	if (ldb < 1)
		ldb = 1;
	snprintf(c.what, sizeof c.what,
		 "gemm %c%c m=%" PRId64 " n=%" PRId64 " k=%" PRId64
		 " acc=%d pad=%d special=%d segs=%" PRId64,
		 ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, accumulate, pad,
		 special, segs);
	/* Inputs in [-1,1] (k up to ~1000 keeps sums finite). */
	tc_floats(&c, arows * lda + 1, 0, 1.0f, special);
	tc_floats(&c, brows * ldb + 1, 0, 1.0f, special);
	tc_floats(&c, m * ldc + 1, 1, 4.0f, special);
	gemm_args_set(&c, ta, tb, m, n, k, lda, ldb, ldc, segs);
	c.f[0] = (float)accumulate;
	check_case(s, &c);
}

static void gemm_case(struct state *s, int ta, int tb, int64_t m, int64_t n,
		      int64_t k, int accumulate, int pad, int special)
{
	gemm_case_segs(s, ta, tb, m, n, k, accumulate, pad, special, 0);
}

static const int LAYOUTS[3][2] = {{0, 0}, {0, 1}, {1, 0}};

/* Every listed size in every role, all three layouts, both init modes. */
static void test_gemm_odd_shapes(void **state)
{
	static const int64_t sizes[] = {1,  2,  3,   5,   7,   8,   15,  16,
					17, 31, 63,  64,  65,  127, 128, 129,
					255, 256, 257};
	const size_t ns = sizeof sizes / sizeof sizes[0];

	for (int l = 0; l < 3; l++)
		for (size_t a = 0; a < ns; a++) {
			int64_t x = sizes[a];
			int64_t y = sizes[(a * 7 + 3) % ns];
			int64_t z = sizes[(a * 11 + 5) % ns];
			gemm_case(*state, LAYOUTS[l][0], LAYOUTS[l][1], x, y, z,
				  (int)(a & 1), 0, 0);
			gemm_case(*state, LAYOUTS[l][0], LAYOUTS[l][1], y, z, x,
				  (int)(~a & 1), (int)(a % 3), 0);
			gemm_case(*state, LAYOUTS[l][0], LAYOUTS[l][1], z, x, y,
				  (int)(a & 1), 1, 0);
		}
}

/* 1000 and 1031 in each role, with the other two dimensions moderate. */
static void test_gemm_large_shapes(void **state)
{
	static const int64_t big[] = {1000, 1031};

	for (int l = 0; l < 3; l++)
		for (int b = 0; b < 2; b++) {
			gemm_case(*state, LAYOUTS[l][0], LAYOUTS[l][1], big[b],
				  67, 129, l & 1, 0, 0);
			gemm_case(*state, LAYOUTS[l][0], LAYOUTS[l][1], 65,
				  big[b], 255, 1, 3, 0);
			gemm_case(*state, LAYOUTS[l][0], LAYOUTS[l][1], 33, 97,
				  big[b], 0, 0, 0);
		}
	/* wider than one NC block (4080) and taller than several MC blocks */
	gemm_case(*state, 0, 0, 5, 4133, 37, 1, 0, 0);
	gemm_case(*state, 0, 1, 3, 4099, 21, 0, 1, 0);
	gemm_case(*state, 1, 0, 2111, 7, 45, 0, 0, 0);
	/* tall and wide: the rows split with a shared B panel, n > NC */
	gemm_case(*state, 0, 0, 2400, 4200, 20, 0, 0, 0);
	/* the reference model's shapes: 784-1024-1024-10, batch 256 */
	gemm_case(*state, 0, 1, 256, 1024, 784, 0, 0, 0);  /* forward */
	gemm_case(*state, 0, 0, 256, 784, 1024, 0, 0, 0);  /* dX */
	gemm_case(*state, 1, 0, 1024, 10, 256, 0, 0, 0);   /* dW */
	gemm_case(*state, 0, 1, 256, 10, 1024, 1, 0, 0);
}

static void test_gemm_random_shapes(void **state)
{
	for (int r = 0; r < 60; r++) {
		int l = (int)(rnd() % 3);
		gemm_case(*state, LAYOUTS[l][0], LAYOUTS[l][1],
			  rnd_range(1, 300), rnd_range(1, 300),
			  rnd_range(1, 600), (int)(rnd() & 1),
			  (int)rnd_range(0, 5), 0);
	}
}

static void test_gemm_special_values(void **state)
{
	for (int l = 0; l < 3; l++) {
		gemm_case(*state, LAYOUTS[l][0], LAYOUTS[l][1], 37, 41, 53, 1,
			  0, 1);
		gemm_case(*state, LAYOUTS[l][0], LAYOUTS[l][1], 130, 70, 300,
			  0, 2, 1);
		/* several k blocks on every ISA (AVX2's is 512): NaNs
		 * stored between blocks go on raw (GEMM_RAW) */
		gemm_case(*state, LAYOUTS[l][0], LAYOUTS[l][1], 50, 40, 1600,
			  0, 1, 1);
	}
}

/* k == 0: C becomes its init (+0 or itself, NaNs canonical). */
static void test_gemm_k_zero(void **state)
{
	for (int l = 0; l < 3; l++) {
		gemm_case(*state, LAYOUTS[l][0], LAYOUTS[l][1], 5, 7, 0, 0, 0,
			  1);
		gemm_case(*state, LAYOUTS[l][0], LAYOUTS[l][1], 9, 33, 0, 1, 0,
			  1);
	}
}

/* ---- k-segmented GEMM (cairn_gemm_seg) ---------------------------------- */


/* The model's dW GEMMs (dZ^T X over 4 micro-batches of 64 rows) and
 * random shapes, segments and layouts; segments longer than the cpu's k
 * block (256 portable, 512 AVX2) take its other path. */
static void test_gemm_seg_shapes(void **state)
{
	gemm_case_segs(*state, 1, 0, 1024, 784, 256, 0, 0, 0, 4);
	gemm_case_segs(*state, 1, 0, 10, 1024, 256, 0, 0, 0, 4);
	gemm_case_segs(*state, 1, 0, 10, 1024, 256, 0, 0, 0, 8);
	for (int l = 0; l < 3; l++) {
		gemm_case_segs(*state, LAYOUTS[l][0], LAYOUTS[l][1], 37, 29,
			       2 * 300, 0, 1, 0, 2);  /* 300 > 256 */
		gemm_case_segs(*state, LAYOUTS[l][0], LAYOUTS[l][1], 13, 70,
			       2 * 520, 0, 0, 0, 2);  /* 520 > 512 */
		gemm_case_segs(*state, LAYOUTS[l][0], LAYOUTS[l][1], 20, 33,
			       9 * 100, 0, 2, 0, 9);  /* several blocks */
		gemm_case_segs(*state, LAYOUTS[l][0], LAYOUTS[l][1], 7, 9, 5,
			       0, 0, 0, 5);           /* segments of 1 */
	}
	for (int r = 0; r < 40; r++) {
		int l = (int)(rnd() % 3);
		int64_t segs = rnd_range(1, 9), q = rnd_range(1, 120);
		gemm_case_segs(*state, LAYOUTS[l][0], LAYOUTS[l][1],
			       rnd_range(1, 200), rnd_range(1, 200), segs * q,
			       0, (int)rnd_range(0, 3), 0, segs);
	}
}

static void test_gemm_seg_special_values(void **state)
{
	for (int l = 0; l < 3; l++) {
		gemm_case_segs(*state, LAYOUTS[l][0], LAYOUTS[l][1], 37, 41,
			       4 * 16, 0, 0, 1, 4);
		gemm_case_segs(*state, LAYOUTS[l][0], LAYOUTS[l][1], 130, 70,
			       3 * 100, 0, 2, 1, 3);
		gemm_case_segs(*state, LAYOUTS[l][0], LAYOUTS[l][1], 9, 33, 0,
			       0, 0, 1, 3); /* k = 0 */
		/* segments over several k blocks on every ISA */
		gemm_case_segs(*state, LAYOUTS[l][0], LAYOUTS[l][1], 50, 40,
			       16 * 100, 0, 0, 1, 16);
	}
}

/* The definition, independently of the fast kernels: on every backend,
 * cairn_gemm_seg gives the bits of one cairn_gemm per segment into its
 * own matrix followed by cairn_sum_n over them in segment order. */
static int run_gemm_seg_by_parts(cairn_backend *be, void *const *p,
				 const struct tcase *c)
{
	const int64_t m = c->i[2], n = c->i[3], k = c->i[4], segs = c->i[8];
	const int64_t q = k / segs, lda = c->i[5], ldb = c->i[6];
	/* p[3 .. 3+segs): one m x n matrix per segment */
	const float *src[16];
	int rc = 0;

	if (segs > 16)
		return CAIRN_EINVAL;
	for (int64_t s = 0; s < segs && !rc; s++) {
		/* op(A) = A^T: row p of A; op(B) = B: row p of B */
		rc = cairn_gemm(be, CAIRN_TRANS, CAIRN_NOTRANS, m, n, q,
				(const float *)p[0] + s * q * lda, lda,
				(const float *)p[1] + s * q * ldb, ldb,
				p[3 + s], n, 0);
		src[s] = p[3 + s];
	}
	if (!rc)
		rc = cairn_sum_n(be, m * n, (int)segs, src, p[2]);
	return rc;
}

static void test_gemm_seg_is_sum_of_parts(void **state)
{
	struct state *s = *state;
	static const int64_t shapes[][4] = {
	    /* m, n, q, segs */
	    {33, 47, 64, 4}, {10, 100, 17, 3}, {64, 16, 600, 2}};

	for (int t = 0; t < 3; t++) {
		const int64_t m = shapes[t][0], n = shapes[t][1];
		const int64_t k = shapes[t][2] * shapes[t][3];
		const int64_t segs = shapes[t][3];
		if (seg_skip(k, segs))
			continue;
		for (int b = -1; b < s->ncfg; b++) {
			cairn_backend *be = b < 0 ? s->ref : s->cfg[b].be;
			struct tcase c = {.run = run_gemm_seg_by_parts};
			void *parts[MAX_BUFS] = {0}, *whole[MAX_BUFS] = {0};
			int rc;
			snprintf(c.what, sizeof c.what,
				 "gemm_seg by parts m=%" PRId64 " n=%" PRId64
				 " k=%" PRId64 " segs=%" PRId64,
				 m, n, k, segs);
			tc_floats(&c, k * m, 0, 1.0f, 1);
			tc_floats(&c, k * n, 0, 1.0f, 1);
			tc_floats(&c, m * n, 1, 1.0f, 0);
			for (int64_t i = 0; i < segs; i++)
				tc_floats(&c, m * n, 0, 1.0f, 0);
			gemm_args_set(&c, CAIRN_TRANS, CAIRN_NOTRANS, m, n, k,
				      m, n, n, segs);
			rc = run_on(be, &c, parts);
			if (rc)
				fail_msg("%s on %s: %s", c.what,
					 cairn_backend_describe(be),
					 cairn_strerror(rc));
			c.run = run_gemm;
			rc = run_on(be, &c, whole);
			if (rc)
				fail_msg("%s on %s: %s", c.what,
					 cairn_backend_describe(be),
					 cairn_strerror(rc));
			if (memcmp(parts[2], whole[2], c.buf[2].bytes)) {
				report_diff(&c, cairn_backend_describe(be), 2,
					    parts[2], whole[2]);
				fail_msg("%s differs from its parts on %s",
					 c.what, cairn_backend_describe(be));
			}
			for (int i = 0; i < c.nbuf; i++) {
				free(parts[i]);
				free(whole[i]);
			}
			tc_free(&c);
		}
	}
}

/* Bad segment counts are refused before anything is written. */
static void test_gemm_seg_args(void **state)
{
	struct state *s = *state;
	float a[12] = {0}, b[12] = {0}, c[9] = {0};
	static const int64_t bad[] = {0, -1, 4, 5, CAIRN_GEMM_MAX_SEGS + 1};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(cairn_gemm_seg(s->ref, CAIRN_NOTRANS,
						CAIRN_NOTRANS, 3, 3, 6, bad[i],
						a, 6, b, 3, c, 3),
				 CAIRN_EINVAL);
	/* k = 0 divides by anything: only the limit refuses these */
	assert_int_equal(cairn_gemm_seg(s->ref, CAIRN_NOTRANS, CAIRN_NOTRANS, 3,
					3, 0, CAIRN_GEMM_MAX_SEGS + 1, a, 1, b,
					3, c, 3),
			 CAIRN_EINVAL);
	assert_int_equal(cairn_gemm_seg(s->ref, CAIRN_NOTRANS, CAIRN_NOTRANS, 3,
					3, 0, CAIRN_GEMM_MAX_SEGS, a, 1, b, 3,
					c, 3),
			 0);
	assert_int_equal(cairn_gemm_seg(NULL, CAIRN_NOTRANS, CAIRN_NOTRANS, 3,
					3, 6, 2, a, 6, b, 3, c, 3),
			 CAIRN_EINVAL);
	assert_int_equal(cairn_gemm_seg(s->ref, CAIRN_TRANS, CAIRN_TRANS, 3, 3,
					6, 2, a, 3, b, 6, c, 3),
			 CAIRN_ENOTSUP);
	for (int k = 0; k < s->ncfg && strcmp(g_backend, "cpu"); k++) {
		void *p[3] = {0};
		for (int i = 0; i < 3; i++)
			assert_int_equal(cairn_buf_alloc(s->cfg[k].be, 64,
							 &p[i]),
					 0);
		assert_int_equal(cairn_gemm_seg(s->cfg[k].be, CAIRN_NOTRANS,
						CAIRN_NOTRANS, 3, 3, 4, 2,
						p[0], 4, p[1], 3, p[2], 3),
				 CAIRN_ENOTSUP);
		for (int i = 0; i < 3; i++)
			cairn_buf_free(s->cfg[k].be, p[i]);
	}
}

/* ---- elementwise, reductions, optimizers ------------------------------ */

static const int64_t LENGTHS[] = {1, 3, 17, 63, 64, 65, 1000, 1031, 65537,
				  300007};
#define NLENGTHS (sizeof LENGTHS / sizeof LENGTHS[0])

static int run_act(cairn_backend *be, void *const *p, const struct tcase *c)
{
	switch (c->i[0]) {
	case 0:
		return cairn_relu(be, c->i[1], p[0], p[2]);
	case 1:
		return cairn_relu_bwd(be, c->i[1], p[0], p[1], p[2]);
	case 2:
		return cairn_gelu(be, c->i[1], p[0], p[2]);
	default:
		return cairn_gelu_bwd(be, c->i[1], p[0], p[1], p[2]);
	}
}

static void test_activations(void **state)
{
	static const char *const names[] = {"relu", "relu_bwd", "gelu",
					    "gelu_bwd"};
	for (int f = 0; f < 4; f++)
		for (size_t l = 0; l < NLENGTHS; l++) {
			struct tcase c = {.run = run_act};
			int64_t n = LENGTHS[l];
			snprintf(c.what, sizeof c.what, "%s n=%" PRId64,
				 names[f], n);
			/* wide range: tanh saturates, exp under/overflows */
			tc_floats(&c, n, 0, l & 1 ? 12.0f : 3.0f, 1);
			tc_floats(&c, n, 0, 2.0f, 1);
			tc_floats(&c, n, 1, 1.0f, 0);
			c.i[0] = f;
			c.i[1] = n;
			check_case(*state, &c);
		}
}

static int run_bias(cairn_backend *be, void *const *p, const struct tcase *c)
{
	if (c->i[0])
		return cairn_bias_grad(be, c->i[1], c->i[2], p[0], p[2]);
	return cairn_bias_add(be, c->i[1], c->i[2], p[0], p[1], p[2]);
}

static void test_bias(void **state)
{
	/* 70000 rows: past the 65535 of a CUDA grid's y dimension, so
	 * the cuda backend's row-stride loop runs. */
	static const int64_t shapes[][2] = {{1, 1},    {3, 17},  {256, 1024},
					    {256, 10}, {1031, 63}, {7, 1000},
					    {2000, 65}, {0, 5},    {70000, 3}};
	for (int grad = 0; grad < 2; grad++)
		for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
			struct tcase c = {.run = run_bias};
			int64_t r = shapes[i][0], k = shapes[i][1];
			snprintf(c.what, sizeof c.what,
				 "bias_%s rows=%" PRId64 " cols=%" PRId64,
				 grad ? "grad" : "add", r, k);
			tc_floats(&c, r * k + 1, 0, 2.0f, 1);
			tc_floats(&c, k, 0, 1.0f, 1);
			tc_floats(&c, grad ? k : r * k + 1, 1, 1.0f, 0);
			c.i[0] = grad;
			c.i[1] = r;
			c.i[2] = k;
			check_case(*state, &c);
		}
}

static int run_xent(cairn_backend *be, void *const *p, const struct tcase *c)
{
	int rc = cairn_xent_fwd(be, c->i[0], c->i[1], p[0], p[1], p[2], p[3]);
	if (rc)
		return rc;
	return cairn_xent_bwd(be, c->i[0], c->i[1], p[2], p[1], c->f[0], p[4]);
}

static void test_xent(void **state)
{
	static const int64_t shapes[][2] = {{1, 1},    {1, 10},   {3, 2},
					    {256, 10}, {1031, 17}, {64, 1000},
					    {5, 4099}};
	for (int special = 0; special < 2; special++)
		for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
			struct tcase c = {.run = run_xent};
			int64_t r = shapes[i][0], k = shapes[i][1];
			int b;
			int32_t *labels;
			snprintf(c.what, sizeof c.what,
				 "xent rows=%" PRId64 " classes=%" PRId64
				 " special=%d",
				 r, k, special);
			tc_floats(&c, r * k, 0, special ? 90.0f : 8.0f,
				  special);
			b = tc_add(&c, (size_t)r * sizeof(int32_t), 0);
			labels = c.buf[b].host;
			for (int64_t j = 0; j < r; j++) {
				labels[j] = (int32_t)rnd_range(0, k - 1);
				if (special && rnd() % 8 == 0)
					labels[j] = rnd() & 1 ? -1 : (int32_t)k;
			}
			tc_floats(&c, r * k, 1, 1.0f, 0);  /* probs */
			tc_floats(&c, r, 1, 1.0f, 0);      /* loss */
			tc_floats(&c, r * k, 1, 1.0f, 0);  /* dlogits */
			c.i[0] = r;
			c.i[1] = k;
			c.f[0] = 1.0f / (float)r;
			check_case(*state, &c);
		}
}

static int run_adamw(cairn_backend *be, void *const *p, const struct tcase *c)
{
	cairn_adamw_params ap = {c->f[0], c->f[1], c->f[2], c->f[3], c->f[4],
				 c->i[1]};
	/* two steps in a row: the state carries */
	int rc = cairn_adamw(be, c->i[0], &ap, p[0], p[1], p[2], p[3]);
	ap.step++;
	return rc ? rc : cairn_adamw(be, c->i[0], &ap, p[0], p[1], p[2], p[3]);
}

static void test_adamw(void **state)
{
	static const int64_t steps[] = {1, 2, 7, 100, 1000, 123457};
	for (size_t l = 0; l < NLENGTHS; l++) {
		struct tcase c = {.run = run_adamw};
		float *v;
		int64_t n = LENGTHS[l];
		c.i[0] = n;
		c.i[1] = steps[l % 6];
		c.f[0] = 1e-3f;
		c.f[1] = 0.9f;
		c.f[2] = l & 1 ? 0.999f : 0.95f;
		c.f[3] = 1e-8f;
		c.f[4] = l & 2 ? 0.01f : 0.0f;
		snprintf(c.what, sizeof c.what,
			 "adamw n=%" PRId64 " step=%" PRId64, n, c.i[1]);
		tc_floats(&c, n, 1, 0.5f, 0);        /* param */
		tc_floats(&c, n, 0, 1.0f, l > 5);    /* grad */
		tc_floats(&c, n, 1, 0.1f, 0);        /* m */
		v = tc_floats(&c, n, 1, 0.01f, 0);   /* v >= 0 */
		for (int64_t e = 0; e < n; e++)
			v[e] = v[e] * v[e];
		check_case(*state, &c);
	}
}

static int run_nesterov(cairn_backend *be, void *const *p,
			const struct tcase *c)
{
	return cairn_nesterov(be, c->i[0], c->f[0], c->f[1], p[0], p[1], p[2]);
}

static void test_nesterov(void **state)
{
	for (size_t l = 0; l < NLENGTHS; l++) {
		struct tcase c = {.run = run_nesterov};
		int64_t n = LENGTHS[l];
		snprintf(c.what, sizeof c.what, "nesterov n=%" PRId64, n);
		tc_floats(&c, n, 1, 1.0f, 0);
		tc_floats(&c, n, 0, 0.1f, l & 1);
		tc_floats(&c, n, 1, 0.1f, 0);
		c.i[0] = n;
		c.f[0] = 0.7f;
		c.f[1] = 0.9f;
		check_case(*state, &c);
	}
}

/* buffers 0..count-1 are sources; dst is buffer count (i[2] == 0), or the
 * source i[2] - 1 itself (in place into that source). */
static int run_sum_n(cairn_backend *be, void *const *p, const struct tcase *c)
{
	const float *src[MAX_BUFS];
	int count = (int)c->i[1];

	for (int i = 0; i < count; i++)
		src[i] = p[i];
	return cairn_sum_n(be, c->i[0], count, src,
			   c->i[2] ? (float *)p[c->i[2] - 1] : (float *)p[count]);
}

static void test_sum_n(void **state)
{
	static const int counts[] = {1, 2, 3, 8, 33};
	for (size_t l = 0; l < NLENGTHS; l += 2)
		for (int ci = 0; ci < 5; ci++)
			for (int inplace = 0; inplace < 3; inplace++) {
				struct tcase c = {.run = run_sum_n};
				int64_t n = LENGTHS[l];
				int count = counts[ci];
				/* 0: separate dst; 1: into src[0];
				 * 2: into the last source */
				int into = inplace == 0   ? -1
					   : inplace == 1 ? 0
							  : count - 1;
				snprintf(c.what, sizeof c.what,
					 "sum_n n=%" PRId64 " count=%d into=%d",
					 n, count, into);
				for (int i = 0; i < count; i++)
					tc_floats(&c, n, i == into, 1.0f,
						  l == 4);
				tc_floats(&c, n, into < 0, 1.0f, 0);
				c.i[0] = n;
				c.i[1] = count;
				c.i[2] = into + 1;
				check_case(*state, &c);
			}
}

/* gather_u8: buffers src (u8, rows x cols), labels (u8, rows), x (out),
 * y (out), idx (its host copy is the op's host index list); i[0] n,
 * i[1] cols, i[2] rows, i[3] 1 with labels. */
static int run_gather(cairn_backend *be, void *const *p, const struct tcase *c)
{
	return cairn_gather_u8(be, c->i[0], c->i[1], c->i[2], c->buf[4].host,
			       p[0], c->i[3] ? p[1] : NULL, p[2], p[3]);
}

static void test_gather(void **state)
{
	static const int64_t shapes[][3] = {/* rows, cols, n */
					    {7, 784, 5},
					    {100, 3, 64},
					    {1, 1, 1},
					    {1000, 784, 256},
					    {300, 17, 299}};
	cairn_backend *ref = ((struct state *)*state)->ref;

	for (int sh = 0; sh < 5; sh++)
		for (int lab = 0; lab < 2; lab++) {
			struct tcase c = {.run = run_gather};
			int64_t rows = shapes[sh][0], cols = shapes[sh][1],
				n = shapes[sh][2];
			uint8_t *src, *labels;
			uint32_t *idx;
			int32_t *y;
			snprintf(c.what, sizeof c.what,
				 "gather_u8 rows=%" PRId64 " cols=%" PRId64
				 " n=%" PRId64 " labels=%d",
				 rows, cols, n, lab);
			src = c.buf[tc_add(&c, (size_t)(rows * cols), 0)].host;
			labels = c.buf[tc_add(&c, (size_t)rows, 0)].host;
			tc_floats(&c, n * cols, 1, 1.0f, 0);
			y = c.buf[tc_add(&c, (size_t)n * 4, 1)].host;
			idx = c.buf[tc_add(&c, (size_t)n * 4, 0)].host;
			/* every byte value, then random ones */
			for (int64_t e = 0; e < rows * cols; e++)
				src[e] = (uint8_t)(e < 256 ? (uint64_t)e : rnd());
			for (int64_t r = 0; r < rows; r++)
				labels[r] = (uint8_t)(rnd() % 10);
			for (int64_t r = 0; r < n; r++) {
				idx[r] = (uint32_t)(rnd() % (uint64_t)rows);
				y[r] = -7; /* stays without labels */
			}
			c.i[0] = n;
			c.i[1] = cols;
			c.i[2] = rows;
			c.i[3] = lab;
			check_case(*state, &c);
		}
	/* The backends' pixel (ops_scalar.h) is the dataset's own value
	 * (dataset.h), for all 256. */
	for (int v = 0; v < 256; v++) {
		float a = cairn_dataset_pixel((uint8_t)v);
		float b = cairn_pixel_f((uint8_t)v);
		assert_memory_equal(&a, &b, 4);
	}
	/* Arguments: an index past rows, no columns, an empty batch. */
	{
		uint32_t bad[2] = {0, 5};
		void *src = NULL, *x = NULL, *yy = NULL;
		assert_int_equal(cairn_buf_alloc(ref, 64, &src), 0);
		assert_int_equal(cairn_buf_alloc(ref, 64, &x), 0);
		assert_int_equal(cairn_buf_alloc(ref, 64, &yy), 0);
		assert_int_equal(cairn_gather_u8(ref, 2, 4, 5, bad, src, src, x,
						 yy),
				 CAIRN_ERANGE);
		assert_int_equal(cairn_gather_u8(ref, 2, 0, 5, bad, src, NULL,
						 x, NULL),
				 CAIRN_EINVAL);
		assert_int_equal(cairn_gather_u8(ref, 1, 4, 5, bad, src, src, x,
						 NULL),
				 CAIRN_EINVAL); /* labels without y */
		assert_int_equal(cairn_gather_u8(ref, 0, 4, 5, NULL, NULL, NULL,
						 NULL, NULL),
				 0);
		cairn_buf_free(ref, src);
		cairn_buf_free(ref, x);
		cairn_buf_free(ref, yy);
	}
}

/* Many sources (i[1] of them, cycling over buffers 0..2), into buffer 3:
 * past 512, where the cuda backend grows its pointer scratch. */
static int run_sum_n_many(cairn_backend *be, void *const *p,
			  const struct tcase *c)
{
	const float **src = malloc((size_t)c->i[1] * sizeof *src);
	int rc;

	if (!src)
		return CAIRN_ENOMEM;
	for (int64_t i = 0; i < c->i[1]; i++)
		src[i] = p[i % 3];
	rc = cairn_sum_n(be, c->i[0], (int)c->i[1], src, (float *)p[3]);
	free(src);
	return rc;
}

static void test_sum_n_many(void **state)
{
	static const int counts[] = {511, 512, 513, 600, 1500};
	for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++) {
		struct tcase c = {.run = run_sum_n_many};
		int64_t n = k == 3 ? 100003 : 1000;
		snprintf(c.what, sizeof c.what, "sum_n n=%" PRId64 " count=%d",
			 n, counts[k]);
		for (int i = 0; i < 3; i++)
			tc_floats(&c, n, 0, 1.0f, k == 4);
		tc_floats(&c, n, 1, 1.0f, 0);
		c.i[0] = n;
		c.i[1] = counts[k];
		check_case(*state, &c);
	}
}

/* sum_n calls in a row that a backend keeping the last long pointer list
 * it copied (cuda: ctx->sumn_list, for more than 64 sources) must tell
 * apart: a list of SEQ_K sources (cycling over buffers 0..2), the same
 * again, a short list between (passed another way), the same host array
 * with two entries swapped, a prefix of it, and the list after a gather
 * overwrote the device scratch (with fewer bytes than the list: no
 * regrowth to hide it).  Buffers 0..2 the sources, 3..8 the sums, 9..12
 * the gather's src, labels, x and y, 13 its indices (host list); i[0] n,
 * i[1] gather rows, i[2] cols, i[3] its n. */
#define SEQ_K 100
static int run_sum_n_seq(cairn_backend *be, void *const *p,
			 const struct tcase *c)
{
	const float *src[SEQ_K], *tmp;
	const int64_t n = c->i[0];
	int rc;

	for (int i = 0; i < SEQ_K; i++)
		src[i] = p[i % 3];
	rc = cairn_sum_n(be, n, SEQ_K, src, p[3]);
	if (!rc)
		rc = cairn_sum_n(be, n, 2, src, p[4]);
	if (!rc)
		rc = cairn_sum_n(be, n, SEQ_K, src, p[5]);
	tmp = src[1];
	src[1] = src[2];
	src[2] = tmp;
	if (!rc)
		rc = cairn_sum_n(be, n, SEQ_K, src, p[6]);
	if (!rc)
		rc = cairn_sum_n(be, n, SEQ_K - 1, src, p[7]);
	if (!rc)
		rc = cairn_gather_u8(be, c->i[3], c->i[2], c->i[1],
				     c->buf[13].host, p[9], p[10], p[11],
				     p[12]);
	if (!rc)
		rc = cairn_sum_n(be, n, SEQ_K, src, p[8]);
	return rc;
}

static void test_sum_n_seq(void **state)
{
	static const int64_t lens[] = {1, 1000, 4099};
	const int64_t rows = 50, cols = 9, gn = 64; /* 256 B of indices */

	for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++) {
		struct tcase c = {.run = run_sum_n_seq};
		uint8_t *gsrc, *labels;
		uint32_t *idx;
		snprintf(c.what, sizeof c.what,
			 "sum_n repeated, reordered, prefix, after gather "
			 "n=%" PRId64,
			 lens[l]);
		for (int b = 0; b < 9; b++)
			tc_floats(&c, lens[l], b >= 3, 1.0f, 0);
		gsrc = c.buf[tc_add(&c, (size_t)(rows * cols), 0)].host;
		labels = c.buf[tc_add(&c, (size_t)rows, 0)].host;
		tc_floats(&c, gn * cols, 1, 1.0f, 0);
		tc_add(&c, (size_t)gn * 4, 1);
		idx = c.buf[tc_add(&c, (size_t)gn * 4, 0)].host;
		for (int64_t e = 0; e < rows * cols; e++)
			gsrc[e] = (uint8_t)rnd();
		for (int64_t r = 0; r < rows; r++)
			labels[r] = (uint8_t)(rnd() % 10);
		for (int64_t r = 0; r < gn; r++)
			idx[r] = (uint32_t)(rnd() % (uint64_t)rows);
		c.i[0] = lens[l];
		c.i[1] = rows;
		c.i[2] = cols;
		c.i[3] = gn;
		check_case(*state, &c);
	}
}

static int run_vec(cairn_backend *be, void *const *p, const struct tcase *c)
{
	switch (c->i[0]) {
	case 0:
		return cairn_sub(be, c->i[1], p[0], p[1], p[2]);
	case 1:
		return cairn_scale(be, c->i[1], c->f[0], p[0], p[2]);
	default:
		return cairn_sum(be, c->i[1], p[0], p[2]);
	}
}

static void test_vec(void **state)
{
	static const char *const names[] = {"sub", "scale", "sum"};
	for (int f = 0; f < 3; f++)
		for (size_t l = 0; l < NLENGTHS; l++) {
			struct tcase c = {.run = run_vec};
			int64_t n = LENGTHS[l];
			snprintf(c.what, sizeof c.what, "%s n=%" PRId64,
				 names[f], n);
			tc_floats(&c, n, 0, 1.0f, l & 1);
			tc_floats(&c, n, 0, 1.0f, l & 1);
			tc_floats(&c, f == 2 ? 1 : n, 1, 1.0f, 0);
			c.i[0] = f;
			c.i[1] = n;
			c.f[0] = -0.37f;
			check_case(*state, &c);
		}
}

static int run_fill(cairn_backend *be, void *const *p, const struct tcase *c)
{
	uint64_t key = (uint64_t)c->i[2], stream = (uint64_t)c->i[3];
	uint64_t off = (uint64_t)c->i[4];

	if (c->i[0])
		return cairn_fill_normal(be, c->i[1], key, stream, off,
					 c->f[0], c->f[1], p[0]);
	return cairn_fill_uniform(be, c->i[1], key, stream, off, c->f[0],
				  c->f[1], p[0]);
}

static void test_fill(void **state)
{
	static const int64_t offsets[] = {0, 1, 2, 3, 4294967295ll * 4 - 2,
					  (int64_t)1 << 40};
	for (int normal = 0; normal < 2; normal++)
		for (size_t l = 0; l < NLENGTHS; l++) {
			struct tcase c = {.run = run_fill};
			int64_t n = LENGTHS[l];
			c.i[0] = normal;
			c.i[1] = n;
			c.i[2] = (int64_t)rnd();
			c.i[3] = (int64_t)rnd();
			c.i[4] = offsets[l % 6];
			c.f[0] = normal ? 0.0f : -0.05f;
			c.f[1] = normal ? 0.02f : 0.05f;
			snprintf(c.what, sizeof c.what,
				 "fill_%s n=%" PRId64 " offset=%" PRId64,
				 normal ? "normal" : "uniform", n, c.i[4]);
			tc_floats(&c, n, 1, 1.0f, 0);
			check_case(*state, &c);
		}
}

/* ---- hash_chunks ----------------------------------------------------- */

/* buf 0: data (i[2] bytes of offset, then i[0] bytes hashed), buf 1: the
 * header (used from host memory, as the API wants; its backend copy is
 * unused), buf 2: out (32 per chunk, a multiple of 4 bytes as report_diff
 * reads words). */
static int run_hash_chunks(cairn_backend *be, void *const *p,
			   const struct tcase *c)
{
	return cairn_hash_chunks(be, (uint8_t *)p[0] + c->i[2], c->i[0],
				 c->i[1], c->buf[1].host, p[2]);
}

static void tc_bytes(struct tcase *c, size_t n, int is_out)
{
	int b = tc_add(c, n, is_out);
	uint8_t *x = c->buf[b].host;
	for (size_t i = 0; i < n; i++)
		x[i] = (uint8_t)rnd();
}

static void test_hash_chunks(void **state)
{
	static const int64_t sizes[] = {0,     1,     127,   128,
					129,   65535, 65536, 65537,
					3 * 65536 + 5};
	static const int64_t chunks[] = {128, 1024, 65536};
	for (size_t l = 0; l < sizeof sizes / sizeof sizes[0]; l++)
		for (size_t k = 0; k < sizeof chunks / sizeof chunks[0]; k++) {
			struct tcase c = {.run = run_hash_chunks};
			int64_t n = sizes[l], cb = chunks[k];
			int64_t nchunks = n / cb + (n % cb != 0);
			if (nchunks == 0)
				nchunks = 1;
			snprintf(c.what, sizeof c.what,
				 "hash_chunks bytes=%" PRId64 " chunk=%" PRId64,
				 n, cb);
			tc_bytes(&c, (size_t)n, 0);
			tc_bytes(&c, 128, 0);
			tc_bytes(&c, (size_t)nchunks * 32, 1);
			c.i[0] = n;
			c.i[1] = cb;
			check_case(*state, &c);
		}
}

/* The AVX2 table hashes four chunks at a time and the AVX-512 one eight
 * (then four), so chunk counts 1..17 give every remainder mod 8 and mod 4,
 * and two full rounds of eight, on 1 thread and split over 2, 3 and 8;
 * the last
 * chunk full, short by whole blocks, or short by any number of bytes (its
 * final block partial); chunk sizes of one and two blocks, the 64 KiB the
 * attest layer uses, and one block more; data at odd addresses too, and at
 * addresses 4 but not 8 bytes aligned. */
static void test_hash_chunks_lanes(void **state)
{
	static const int64_t chunks[] = {128, 256, 65536, 65536 + 128};
	for (size_t k = 0; k < sizeof chunks / sizeof chunks[0]; k++)
		for (int64_t nch = 1; nch <= 17; nch++)
			for (int tail = 0; tail < 3; tail++) {
				struct tcase c = {.run = run_hash_chunks};
				int64_t cb = chunks[k], n = nch * cb, off = 0;
				if (tail == 1 && cb > 128)
					n -= 128 * rnd_range(1, cb / 128 - 1);
				if (tail == 2) {
					n -= rnd_range(1, cb - 1);
					/* any byte, or 4 but not 8 aligned
					 * (cuda reads 32-bit words there) */
					off = nch % 3 ? rnd_range(1, 31)
						      : 4 * (2 * rnd_range(0, 3) +
							     1);
				}
				snprintf(c.what, sizeof c.what,
					 "hash_chunks bytes=%" PRId64
					 " chunk=%" PRId64 " offset=%" PRId64,
					 n, cb, off);
				tc_bytes(&c, (size_t)(n + off), 0);
				tc_bytes(&c, 128, 0);
				tc_bytes(&c, (size_t)nch * 32, 1);
				c.i[0] = n;
				c.i[1] = cb;
				c.i[2] = off;
				check_case(*state, &c);
			}
}

/* Bad arguments are refused before anything runs. */
static void test_hash_chunks_args(void **state)
{
	struct state *s = *state;
	uint8_t hdr[128] = {0};
	void *buf = NULL;
	uint8_t *b;

	assert_int_equal(cairn_buf_alloc(s->ref, 4096, &buf), 0);
	b = buf;
	assert_int_equal(cairn_hash_chunks(s->ref, b, 256, 0, hdr, b + 1024),
			 CAIRN_EINVAL);
	assert_int_equal(cairn_hash_chunks(s->ref, b, 256, 100, hdr, b + 1024),
			 CAIRN_EINVAL);
	assert_int_equal(cairn_hash_chunks(s->ref, b, -1, 128, hdr, b + 1024),
			 CAIRN_EINVAL);
	assert_int_equal(cairn_hash_chunks(s->ref, b, 256, 128, NULL, b + 1024),
			 CAIRN_EINVAL);
	assert_int_equal(cairn_hash_chunks(s->ref, b, 256, 128, hdr, NULL),
			 CAIRN_EINVAL);
	assert_int_equal(cairn_hash_chunks(s->ref, NULL, 256, 128, hdr, b),
			 CAIRN_EINVAL);
	/* out (64 bytes) overlapping data */
	assert_int_equal(cairn_hash_chunks(s->ref, b, 256, 128, hdr, b + 200),
			 CAIRN_EINVAL);
	assert_int_equal(cairn_hash_chunks(s->ref, b + 32, 256, 128, hdr, b),
			 CAIRN_EINVAL);
	/* adjacent is fine; bytes == 0 needs no data */
	assert_int_equal(cairn_hash_chunks(s->ref, b, 256, 128, hdr, b + 256),
			 0);
	assert_int_equal(cairn_hash_chunks(s->ref, NULL, 0, 128, hdr, b), 0);
	cairn_buf_free(s->ref, buf);
}

/* ---- the caller's FP environment ------------------------------------- */

#if defined(__x86_64__)
#include <xmmintrin.h>

/* Tiny inputs whose products are subnormal: under FTZ/DAZ they would flush
 * to zero.  A caller with FTZ and DAZ set (as fast-math start-up code
 * does) must get the same bits as one without. */
static void test_caller_ftz_daz(void **state)
{
	struct state *s = *state;
	const int64_t m = 19, n = 23, k = 29;
	float *a = cairn_test_xmalloc(m * k * 4), *b = cairn_test_xmalloc(k * n * 4);
	float *want = cairn_test_xmalloc(m * n * 4), *got = cairn_test_xmalloc(m * n * 4);
	float *x = cairn_test_xmalloc(1000 * 4), *y0 = cairn_test_xmalloc(1000 * 4);
	float *y1 = cairn_test_xmalloc(1000 * 4);
	unsigned csr = _mm_getcsr();
	cairn_backend *all[1 + CFG_MAX];
	int nall = 0;

	for (int64_t i = 0; i < m * k; i++)
		a[i] = rnd_unit() * 1e-20f;
	for (int64_t i = 0; i < k * n; i++)
		b[i] = rnd_unit() * 1e-19f;
	for (int i = 0; i < 1000; i++)
		x[i] = rnd_unit() * 1e-38f; /* subnormal or near it */
	all[nall++] = s->ref;
	for (int c = 0; c < s->ncfg; c++)
		if (cairn_backend_get_kind(s->cfg[c].be) != CAIRN_BACKEND_CUDA)
			all[nall++] = s->cfg[c].be;
	if (nall == 1) { /* nothing on the host besides ref to test */
		free(a), free(b), free(want), free(got), free(x), free(y0),
			free(y1);
		skip();
	}
	assert_int_equal(cairn_gemm(s->ref, 0, 0, m, n, k, a, k, b, n, want,
				    n, 0),
			 0);
	assert_int_equal(cairn_scale(s->ref, 1000, 0.5f, x, y0), 0);
	_mm_setcsr(csr | 0x8040u); /* FTZ | DAZ */
	for (int i = 0; i < nall; i++) {
		memset(got, 0xff, (size_t)(m * n * 4));
		assert_int_equal(cairn_gemm(all[i], 0, 0, m, n, k, a, k, b, n,
					    got, n, 0),
				 0);
		assert_int_equal(cairn_scale(all[i], 1000, 0.5f, x, y1), 0);
		assert_int_equal(_mm_getcsr() & 0x8040u, 0x8040u); /* restored */
		_mm_setcsr(csr);
		assert_memory_equal(want, got, (size_t)(m * n * 4));
		assert_memory_equal(y0, y1, 1000 * 4);
		_mm_setcsr(csr | 0x8040u);
	}
	_mm_setcsr(csr);
	free(a);
	free(b);
	free(want);
	free(got);
	free(x);
	free(y0);
	free(y1);
}

/* A backend opened by a thread with FTZ|DAZ set (an application built with
 * fast-math flags): its pool workers inherit that MXCSR and must leave it.
 * The ops are big enough that the workers take part. */
static void test_workers_ftz_daz(void **state)
{
	struct state *s = *state;
	const int64_t n = 300, e = 200000;
	float *a = cairn_test_xmalloc(n * n * 4), *b = cairn_test_xmalloc(n * n * 4);
	float *want = cairn_test_xmalloc(n * n * 4), *got = cairn_test_xmalloc(n * n * 4);
	float *x = cairn_test_xmalloc(e * 4), *y0 = cairn_test_xmalloc(e * 4), *y1 = cairn_test_xmalloc(e * 4);
	unsigned csr = _mm_getcsr();
	cairn_backend_opts o = {2, 0, NULL, 0, 0};
	cairn_backend *be = NULL;

	if (strcmp(g_backend, "cpu")) {
		free(a), free(b), free(want), free(got), free(x), free(y0),
			free(y1);
		skip();
	}
	for (int64_t i = 0; i < n * n; i++) {
		a[i] = rnd_unit() * 1e-20f;
		b[i] = rnd_unit() * 1e-19f;
	}
	for (int64_t i = 0; i < e; i++)
		x[i] = rnd_unit() * 1e-37f;
	assert_int_equal(cairn_gemm(s->ref, 0, 0, n, n, n, a, n, b, n, want,
				    n, 0),
			 0);
	assert_int_equal(cairn_gelu(s->ref, e, x, y0), 0);
	_mm_setcsr(csr | 0x8040u); /* FTZ | DAZ, inherited by the workers */
	assert_int_equal(cairn_backend_open(CAIRN_BACKEND_CPU, &o, &be), 0);
	assert_int_equal(cairn_gemm(be, 0, 0, n, n, n, a, n, b, n, got, n, 0),
			 0);
	assert_int_equal(cairn_gelu(be, e, x, y1), 0);
	cairn_backend_close(be);
	_mm_setcsr(csr);
	assert_memory_equal(want, got, (size_t)(n * n * 4));
	assert_memory_equal(y0, y1, (size_t)e * 4);
	free(a);
	free(b);
	free(want);
	free(got);
	free(x);
	free(y0);
	free(y1);
}
#else
static void test_workers_ftz_daz(void **state)
{
	(void)state;
	skip();
}


static void test_caller_ftz_daz(void **state)
{
	(void)state;
	skip();
}
#endif

/* ---- main -------------------------------------------------------------- */

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gemm_odd_shapes),
		cmocka_unit_test(test_gemm_large_shapes),
		cmocka_unit_test(test_gemm_random_shapes),
		cmocka_unit_test(test_gemm_special_values),
		cmocka_unit_test(test_gemm_k_zero),
		cmocka_unit_test(test_gemm_seg_shapes),
		cmocka_unit_test(test_gemm_seg_special_values),
		cmocka_unit_test(test_gemm_seg_is_sum_of_parts),
		cmocka_unit_test(test_gemm_seg_args),
		cmocka_unit_test(test_activations),
		cmocka_unit_test(test_bias),
		cmocka_unit_test(test_xent),
		cmocka_unit_test(test_adamw),
		cmocka_unit_test(test_nesterov),
		cmocka_unit_test(test_sum_n),
		cmocka_unit_test(test_sum_n_many),
		cmocka_unit_test(test_sum_n_seq),
		cmocka_unit_test(test_vec),
		cmocka_unit_test(test_fill),
		cmocka_unit_test(test_gather),
		cmocka_unit_test(test_hash_chunks),
		cmocka_unit_test(test_hash_chunks_lanes),
		cmocka_unit_test(test_hash_chunks_args),
		cmocka_unit_test(test_caller_ftz_daz),
		cmocka_unit_test(test_workers_ftz_daz),
	};

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
		fprintf(stderr, "test_kernels: unknown backend '%s'\n",
			g_backend);
		return 2;
	}
	printf("test_kernels: backend %s\n", g_backend);
	g_seed = cairn_test_seed("test_kernels");
	g_rng = g_seed;
	return cmocka_run_group_tests(tests, setup, teardown);
}
