/* cairn: every op of a fast backend but GEMM and hash_chunks against the
 * reference, bit for bit: activations, bias, cross-entropy, AdamW,
 * Nesterov, sum_n (in place, with many sources, and the sequences that a
 * cached pointer list must tell apart), sub/scale/sum, the Philox fills,
 * the u8 gather; and the caller's FP environment (FTZ/DAZ set by the
 * caller or inherited by the pool's workers changes no bit).
 *
 *   test_kernels --backend cpu    cpu backend: AVX-512, AVX2 (when the CPU
 *                                 has them) and portable kernels, 1, 2, 3
 *                                 and 8 threads
 *   test_kernels --backend cuda   the GPU; exits 77 (skipped) without one
 *   test_kernels --backend emu    the cuda backend's kernels run on the host
 *                                 (tests/emu; built when a C++ compiler is
 *                                 there, else exits 77)
 *
 * GEMM is in test_kernels_gemm.c and hash_chunks in test_kernels_hash.c,
 * with the same options; the harness the three share (kernels_fixture.h):
 * inputs are fresh random numbers each run (seed printed; set
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

#include <cmocka.h>

#include "kernels_fixture.h"

#include "cairn/dataset.h"
#include "ops_scalar.h"

/* ---- elementwise, reductions, optimizers ------------------------------ */

static const int64_t LENGTHS[] = {1,  3,    17,   63,    64,
                                  65, 1000, 1031, 65537, 300007};
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
	static const int64_t shapes[][2] = {{1, 1},     {3, 17},    {256, 1024},
	                                    {256, 10},  {1031, 63}, {7, 1000},
	                                    {2000, 65}, {0, 5},     {70000, 3}};
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
	static const int64_t shapes[][2] = {{1, 1},    {1, 10},    {3, 2},
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
			tc_floats(&c, r * k, 1, 1.0f, 0); /* probs */
			tc_floats(&c, r, 1, 1.0f, 0);     /* loss */
			tc_floats(&c, r * k, 1, 1.0f, 0); /* dlogits */
			c.i[0] = r;
			c.i[1] = k;
			c.f[0] = 1.0f / (float)r;
			check_case(*state, &c);
		}
}

static int run_adamw(cairn_backend *be, void *const *p, const struct tcase *c)
{
	cairn_adamw_params ap = {c->f[0], c->f[1], c->f[2],
	                         c->f[3], c->f[4], c->i[1]};
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
		tc_floats(&c, n, 1, 0.5f, 0);      /* param */
		tc_floats(&c, n, 0, 1.0f, l > 5);  /* grad */
		tc_floats(&c, n, 1, 0.1f, 0);      /* m */
		v = tc_floats(&c, n, 1, 0.01f, 0); /* v >= 0 */
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
	                   c->i[2] ? (float *)p[c->i[2] - 1]
	                           : (float *)p[count]);
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
				src[e] =
				    (uint8_t)(e < 256 ? (uint64_t)e : rnd());
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
		assert_int_equal(
		    cairn_gather_u8(ref, 2, 4, 5, bad, src, src, x, yy),
		    CAIRN_ERANGE);
		assert_int_equal(
		    cairn_gather_u8(ref, 2, 0, 5, bad, src, NULL, x, NULL),
		    CAIRN_EINVAL);
		assert_int_equal(
		    cairn_gather_u8(ref, 1, 4, 5, bad, src, src, x, NULL),
		    CAIRN_EINVAL); /* labels without y */
		assert_int_equal(
		    cairn_gather_u8(ref, 0, 4, 5, NULL, NULL, NULL, NULL, NULL),
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
		rc =
		    cairn_gather_u8(be, c->i[3], c->i[2], c->i[1],
		                    c->buf[13].host, p[9], p[10], p[11], p[12]);
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
		return cairn_fill_normal(be, c->i[1], key, stream, off, c->f[0],
		                         c->f[1], p[0]);
	return cairn_fill_uniform(be, c->i[1], key, stream, off, c->f[0],
	                          c->f[1], p[0]);
}

static void test_fill(void **state)
{
	static const int64_t offsets[] = {
	    0, 1, 2, 3, 4294967295ll * 4 - 2, (int64_t)1 << 40};
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
	float *a = cairn_test_xmalloc(m * k * 4),
	      *b = cairn_test_xmalloc(k * n * 4);
	float *want = cairn_test_xmalloc(m * n * 4),
	      *got = cairn_test_xmalloc(m * n * 4);
	float *x = cairn_test_xmalloc(1000 * 4),
	      *y0 = cairn_test_xmalloc(1000 * 4);
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
	assert_int_equal(
	    cairn_gemm(s->ref, 0, 0, m, n, k, a, k, b, n, want, n, 0), 0);
	assert_int_equal(cairn_scale(s->ref, 1000, 0.5f, x, y0), 0);
	_mm_setcsr(csr | 0x8040u); /* FTZ | DAZ */
	for (int i = 0; i < nall; i++) {
		memset(got, 0xff, (size_t)(m * n * 4));
		assert_int_equal(
		    cairn_gemm(all[i], 0, 0, m, n, k, a, k, b, n, got, n, 0),
		    0);
		assert_int_equal(cairn_scale(all[i], 1000, 0.5f, x, y1), 0);
		assert_int_equal(_mm_getcsr() & 0x8040u,
		                 0x8040u); /* restored */
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
	float *a = cairn_test_xmalloc(n * n * 4),
	      *b = cairn_test_xmalloc(n * n * 4);
	float *want = cairn_test_xmalloc(n * n * 4),
	      *got = cairn_test_xmalloc(n * n * 4);
	float *x = cairn_test_xmalloc(e * 4), *y0 = cairn_test_xmalloc(e * 4),
	      *y1 = cairn_test_xmalloc(e * 4);
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
	assert_int_equal(
	    cairn_gemm(s->ref, 0, 0, n, n, n, a, n, b, n, want, n, 0), 0);
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
	    cmocka_unit_test(test_caller_ftz_daz),
	    cmocka_unit_test(test_workers_ftz_daz),
	};
	int rc = kernels_start(argc, argv, "test_kernels");

	if (rc >= 0)
		return rc;
	return cmocka_run_group_tests(tests, setup, teardown);
}
