/* cairn: backend selection, memory entry points, argument checks and error
 * strings (kernels/backend.c, kernels/ops.c, kernels/error.c); the order
 * between two backends' queues (cairn_backend_wait_for,
 * cairn_buf_copy_async), on the CPU and, with --backend cuda (label gpu),
 * on a GPU's streams. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#ifdef CAIRN_TEST_EMU
#include "backend_emu.h"
#endif
#include <stdio.h>

#include "cairn/error.h"
#include "cairn/kernels.h"
#include "cairn/log.h"

struct fx {
	cairn_backend *be;
	float *x, *y, *z;
	int32_t *lab;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	if (!f || cairn_backend_open(CAIRN_BACKEND_CPU, NULL, &f->be))
		return -1;
	if (cairn_buf_alloc(f->be, 4096, (void **)&f->x) ||
	    cairn_buf_alloc(f->be, 4096, (void **)&f->y) ||
	    cairn_buf_alloc(f->be, 4096, (void **)&f->z) ||
	    cairn_buf_alloc(f->be, 4096, (void **)&f->lab))
		return -1;
	memset(f->x, 0, 4096);
	memset(f->y, 0, 4096);
	memset(f->z, 0, 4096);
	memset(f->lab, 0, 4096);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	cairn_buf_free(f->be, f->x);
	cairn_buf_free(f->be, f->y);
	cairn_buf_free(f->be, f->z);
	cairn_buf_free(f->be, f->lab);
	cairn_backend_close(f->be);
	free(f);
	return 0;
}

static void test_strerror(void **state)
{
	(void)state;
	assert_string_equal(cairn_strerror(0), "success");
	for (int e = -1; e > CAIRN_ERR_MIN; e--) {
		const char *s = cairn_strerror(e);
		assert_non_null(s);
		assert_string_not_equal(s, "unknown error");
	}
	assert_string_equal(cairn_strerror(CAIRN_ERR_MIN), "unknown error");
	assert_string_equal(cairn_strerror(5), "unknown error");
}

static void test_open_kinds(void **state)
{
	cairn_backend *be = NULL;
	(void)state;

	assert_int_equal(cairn_backend_open(CAIRN_BACKEND_REF, NULL, &be), 0);
	assert_string_equal(cairn_backend_name(be), "ref");
	assert_int_equal(cairn_backend_threads(be), 1);
	cairn_backend_close(be);

	cairn_backend_opts o = {3, 0, "portable", 1, 0};
	assert_int_equal(cairn_backend_open(CAIRN_BACKEND_CPU, &o, &be), 0);
	assert_string_equal(cairn_backend_name(be), "cpu");
	assert_int_equal(cairn_backend_threads(be), 3);
	assert_non_null(strstr(cairn_backend_describe(be), "portable"));
	cairn_backend_close(be);

	be = NULL;
	assert_int_equal(cairn_backend_open((cairn_backend_kind)7, NULL, &be),
	                 CAIRN_EINVAL);
	o.threads = -1;
	assert_int_equal(cairn_backend_open(CAIRN_BACKEND_CPU, &o, &be),
	                 CAIRN_EINVAL);
	o.threads = 1;
	o.cpu_isa = "sse9";
	assert_int_equal(cairn_backend_open(CAIRN_BACKEND_CPU, &o, &be),
	                 CAIRN_EINVAL);
	assert_null(be);
	cairn_backend_close(NULL); /* harmless */
}

/* "auto" never fails on a machine without a GPU: it falls back to cpu. */
static void test_open_auto(void **state)
{
	cairn_backend *be = NULL;
	char why[256];
	int ngpu = cairn_cuda_probe(why, sizeof why);
	(void)state;

	assert_true(ngpu >= 0);
	if (ngpu == 0)
		assert_true(strlen(why) > 0);
	assert_int_equal(cairn_backend_open_auto("auto", NULL, &be), 0);
	assert_string_equal(cairn_backend_name(be), ngpu > 0 ? "cuda" : "cpu");
	cairn_backend_close(be);

	assert_int_equal(cairn_backend_open_auto("CPU", NULL, &be), 0);
	assert_string_equal(cairn_backend_name(be), "cpu");
	cairn_backend_close(be);

	assert_int_equal(cairn_backend_open_auto("ref", NULL, &be), 0);
	assert_string_equal(cairn_backend_name(be), "ref");
	cairn_backend_close(be);

	be = NULL;
	assert_int_equal(cairn_backend_open_auto("tpu", NULL, &be),
	                 CAIRN_EINVAL);
	assert_null(be);
	if (ngpu == 0) {
		int rc = cairn_backend_open_auto("gpu", NULL, &be);
		assert_true(rc == CAIRN_ENODEV || rc == CAIRN_ENOTSUP);
		assert_null(be);
	}

	/* NULL: the environment decides */
	setenv("CAIRN_DEVICE", "ref", 1);
	assert_int_equal(cairn_backend_open_auto(NULL, NULL, &be), 0);
	assert_string_equal(cairn_backend_name(be), "ref");
	cairn_backend_close(be);
	setenv("CAIRN_DEVICE", "bogus", 1);
	be = NULL;
	assert_int_equal(cairn_backend_open_auto(NULL, NULL, &be),
	                 CAIRN_EINVAL);
	unsetenv("CAIRN_DEVICE");
}

static void test_buf_args(void **state)
{
	struct fx *f = *state;
	void *p = NULL;
	float h[4] = {1, 2, 3, 4}, g[4] = {0};

	assert_int_equal(cairn_buf_alloc(f->be, 0, &p), CAIRN_EINVAL);
	assert_int_equal(cairn_buf_alloc(NULL, 16, &p), CAIRN_EINVAL);
	assert_int_equal(cairn_buf_alloc(f->be, 16, NULL), CAIRN_EINVAL);
	assert_int_equal(cairn_buf_alloc(f->be, 16, &p), 0);
	assert_int_equal((uintptr_t)p % 64, 0);
	assert_int_equal(cairn_buf_write(f->be, p, h, sizeof h), 0);
	assert_int_equal(cairn_buf_read(f->be, g, p, sizeof g), 0);
	assert_memory_equal(h, g, sizeof h);
	assert_int_equal(cairn_buf_write(f->be, NULL, h, 4), CAIRN_EINVAL);
	assert_int_equal(cairn_buf_read(f->be, g, NULL, 4), CAIRN_EINVAL);
	assert_int_equal(cairn_buf_read(f->be, g, p, 0), 0);
	assert_int_equal(cairn_backend_sync(f->be), 0);
	cairn_buf_free(f->be, p);
	cairn_buf_free(f->be, NULL);
}

/* Bad shapes and pointers are refused before any memory is touched. */
static void test_op_args(void **state)
{
	struct fx *f = *state;
	cairn_backend *be = f->be;
	float *x = f->x, *y = f->y, *z = f->z;
	const float *src[2] = {x, NULL};
	cairn_adamw_params ap = {1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, 1};

	/* gemm */
	assert_int_equal(cairn_gemm(be, 0, 0, 2, 2, 2, x, 2, y, 2, z, 2, 0), 0);
	assert_int_equal(cairn_gemm(be, 1, 1, 2, 2, 2, x, 2, y, 2, z, 2, 0),
	                 CAIRN_ENOTSUP);
	assert_int_equal(cairn_gemm(be, 2, 0, 2, 2, 2, x, 2, y, 2, z, 2, 0),
	                 CAIRN_EINVAL);
	assert_int_equal(cairn_gemm(be, 0, 0, -1, 2, 2, x, 2, y, 2, z, 2, 0),
	                 CAIRN_EINVAL);
	assert_int_equal(cairn_gemm(be, 0, 0, 2, 2, 3, x, 2, y, 2, z, 2, 0),
	                 CAIRN_EINVAL); /* lda < k */
	assert_int_equal(cairn_gemm(be, 1, 0, 3, 2, 2, x, 2, y, 2, z, 2, 0),
	                 CAIRN_EINVAL); /* A^T: lda < m */
	assert_int_equal(cairn_gemm(be, 0, 1, 2, 3, 2, x, 2, y, 1, z, 3, 0),
	                 CAIRN_EINVAL); /* B^T: ldb < k */
	assert_int_equal(cairn_gemm(be, 0, 0, 2, 3, 2, x, 2, y, 3, z, 2, 0),
	                 CAIRN_EINVAL); /* ldc < n */
	assert_int_equal(cairn_gemm(be, 0, 0, 2, 2, 2, NULL, 2, y, 2, z, 2, 0),
	                 CAIRN_EINVAL);
	assert_int_equal(cairn_gemm(be, 0, 0, 2, 2, 2, x, 2, y, 2, NULL, 2, 0),
	                 CAIRN_EINVAL);
	assert_int_equal(
	    cairn_gemm(be, 0, 0, 0, 2, 2, NULL, 2, NULL, 2, NULL, 2, 0),
	    0); /* empty */
	assert_int_equal(cairn_gemm(be, 0, 0, (int64_t)1 << 40, 1 << 20, 1, x,
	                            1, y, 1 << 20, z, 1 << 20, 0),
	                 CAIRN_EINVAL); /* size overflow */
	assert_int_equal(cairn_gemm(NULL, 0, 0, 2, 2, 2, x, 2, y, 2, z, 2, 0),
	                 CAIRN_EINVAL);

	/* elementwise and friends */
	assert_int_equal(cairn_relu(be, -1, x, y), CAIRN_EINVAL);
	assert_int_equal(cairn_relu(be, 4, NULL, y), CAIRN_EINVAL);
	assert_int_equal(cairn_relu(be, 0, NULL, NULL), 0);
	assert_int_equal(cairn_gelu_bwd(be, 4, x, NULL, y), CAIRN_EINVAL);
	assert_int_equal(cairn_bias_add(be, 2, 2, x, NULL, y), CAIRN_EINVAL);
	assert_int_equal(cairn_bias_grad(be, -2, 2, x, y), CAIRN_EINVAL);
	assert_int_equal(cairn_xent_fwd(be, 2, 0, x, f->lab, y, z),
	                 CAIRN_EINVAL);
	assert_int_equal(cairn_xent_fwd(be, 2, 3, x, NULL, y, z), CAIRN_EINVAL);
	assert_int_equal(cairn_xent_bwd(be, 2, 3, x, f->lab, 0.5f, NULL),
	                 CAIRN_EINVAL);
	assert_int_equal(cairn_adamw(be, 4, &ap, x, y, z, x + 512), 0);
	ap.step = 0;
	assert_int_equal(cairn_adamw(be, 4, &ap, x, y, z, x + 512),
	                 CAIRN_EINVAL);
	ap.step = 1;
	ap.beta1 = 1.0f;
	assert_int_equal(cairn_adamw(be, 4, &ap, x, y, z, x + 512),
	                 CAIRN_EINVAL);
	ap.beta1 = 0.9f;
	ap.eps = 0.0f;
	assert_int_equal(cairn_adamw(be, 4, &ap, x, y, z, x + 512),
	                 CAIRN_EINVAL);
	assert_int_equal(cairn_adamw(be, 4, NULL, x, y, z, x + 512),
	                 CAIRN_EINVAL);
	assert_int_equal(cairn_nesterov(be, 4, 0.7f, 0.9f, x, NULL, z),
	                 CAIRN_EINVAL);
	assert_int_equal(cairn_sum_n(be, 4, 0, src, y), CAIRN_EINVAL);
	assert_int_equal(cairn_sum_n(be, 4, 2, src, y), CAIRN_EINVAL);
	assert_int_equal(cairn_sum_n(be, 4, 1, src, y), 0);
	assert_int_equal(cairn_sum(be, 4, x, NULL), CAIRN_EINVAL);
	assert_int_equal(cairn_sum(be, 0, NULL, y), 0);
	assert_true(y[0] == 0.0f);
	assert_int_equal(
	    cairn_fill_uniform(be, 4, 1, 2, UINT64_MAX - 1, 0, 1, x),
	    CAIRN_EINVAL); /* counter wraps */
	assert_int_equal(cairn_fill_normal(be, 4, 1, 2, 0, 0, 1, NULL),
	                 CAIRN_EINVAL);
}

/* Outputs may not overlap inputs, except the very same buffer for
 * element-wise ops (include/cairn/kernels.h). */
static void test_op_aliasing(void **state)
{
	struct fx *f = *state;
	cairn_backend *be = f->be;
	float *x = f->x, *y = f->y;
	const float *src[3] = {x, y, f->z};
	cairn_adamw_params ap = {1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, 1};

	/* gemm: C may not touch A or B */
	assert_int_equal(cairn_gemm(be, 0, 0, 4, 4, 4, x, 4, y, 4, x, 4, 0),
	                 CAIRN_EINVAL);
	assert_int_equal(
	    cairn_gemm(be, 0, 0, 4, 4, 4, x, 4, y, 4, y + 15, 4, 0),
	    CAIRN_EINVAL);
	assert_int_equal(
	    cairn_gemm(be, 0, 0, 4, 4, 4, x, 4, y, 4, y + 16, 4, 0),
	    0); /* just past B */
	/* element-wise: same buffer yes, shifted no */
	assert_int_equal(cairn_relu(be, 16, x, x), 0);
	assert_int_equal(cairn_relu(be, 16, x, x + 1), CAIRN_EINVAL);
	assert_int_equal(cairn_gelu_bwd(be, 16, x, y, y), 0);
	assert_int_equal(cairn_sub(be, 16, x, y, y), 0);
	assert_int_equal(cairn_sub(be, 16, x, y, y + 8), CAIRN_EINVAL);
	/* bias_grad writes db while dy rows are read */
	assert_int_equal(cairn_bias_grad(be, 3, 4, x, x), CAIRN_EINVAL);
	assert_int_equal(cairn_bias_grad(be, 3, 4, x, x + 12), 0);
	assert_int_equal(cairn_bias_add(be, 3, 4, x, y, x), 0);
	assert_int_equal(cairn_bias_add(be, 3, 4, x, x + 8, x), CAIRN_EINVAL);
	/* xent_fwd: probs and loss apart from logits */
	assert_int_equal(cairn_xent_fwd(be, 2, 3, x, f->lab, x, y),
	                 CAIRN_EINVAL);
	assert_int_equal(cairn_xent_fwd(be, 2, 3, x, f->lab, y, x + 5),
	                 CAIRN_EINVAL);
	/* sum_n: dst may be any source, not part of one */
	assert_int_equal(cairn_sum_n(be, 8, 3, src, y), 0);
	assert_int_equal(cairn_sum_n(be, 8, 3, src, f->z), 0);
	assert_int_equal(cairn_sum_n(be, 8, 3, src, y + 4), CAIRN_EINVAL);
	/* optimizers: all four tensors distinct */
	assert_int_equal(cairn_adamw(be, 8, &ap, x, y, x + 8, x + 16), 0);
	assert_int_equal(cairn_adamw(be, 8, &ap, x, y, x, x + 16),
	                 CAIRN_EINVAL);
	assert_int_equal(cairn_nesterov(be, 8, 0.7f, 0.9f, x, y, y),
	                 CAIRN_EINVAL);
	assert_int_equal(cairn_sum(be, 8, x, x + 3), CAIRN_EINVAL);
	assert_int_equal(cairn_sum(be, 8, x, x + 8), 0);
}

/* A few hand-computed values pin the op definitions themselves. */
static void test_known_values(void **state)
{
	struct fx *f = *state;
	cairn_backend *be = f->be;
	float a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {7, 8, 9, 10, 11, 12};
	float c[4] = {1, 1, 1, 1};
	float want_nn[4] = {58, 64, 139, 154};
	uint32_t nan_bits;

	memcpy(f->x, a, sizeof a);
	memcpy(f->y, b, sizeof b);
	memcpy(f->z, c, sizeof c);
	/* [2x3] . [3x2] */
	assert_int_equal(
	    cairn_gemm(be, 0, 0, 2, 2, 3, f->x, 3, f->y, 2, f->z, 2, 0), 0);
	assert_memory_equal(f->z, want_nn, sizeof want_nn);
	assert_int_equal(
	    cairn_gemm(be, 0, 0, 2, 2, 3, f->x, 3, f->y, 2, f->z, 2, 1), 0);
	for (int i = 0; i < 4; i++)
		assert_true(f->z[i] == 2 * want_nn[i]);

	/* relu of NaN is the canonical NaN, of -0 is +0 */
	f->x[0] = -0.0f;
	memcpy(&f->x[1], &(uint32_t){0xffc01234u}, 4);
	assert_int_equal(cairn_relu(be, 2, f->x, f->y), 0);
	assert_true(f->y[0] == 0.0f && !signbit(f->y[0]));
	memcpy(&nan_bits, &f->y[1], 4);
	assert_int_equal(nan_bits, CAIRN_CANON_NAN_BITS);

	/* sum is sequential: 1e8 + 1 + ... stays 1e8, then -1e8 */
	f->x[0] = 1e8f;
	for (int i = 1; i < 9; i++)
		f->x[i] = 1.0f;
	f->x[9] = -1e8f;
	assert_int_equal(cairn_sum(be, 10, f->x, f->y), 0);
	assert_true(f->y[0] == 0.0f);

	/* xent of equal logits: log(classes) */
	for (int i = 0; i < 4; i++)
		f->x[i] = 2.5f;
	f->lab[0] = 3;
	assert_int_equal(cairn_xent_fwd(be, 1, 4, f->x, f->lab, f->y, f->z), 0);
	assert_true(f->y[0] == 0.25f);
	assert_true(fabsf(f->z[0] - 1.3862944f) < 1e-6f);
	f->lab[0] = 4; /* out of range: NaN loss, no crash */
	assert_int_equal(cairn_xent_fwd(be, 1, 4, f->x, f->lab, f->y, f->z), 0);
	memcpy(&nan_bits, &f->z[0], 4);
	assert_int_equal(nan_bits, CAIRN_CANON_NAN_BITS);
}

/* --backend cuda: the ordering test on a GPU (main's probe found one). */
static int g_cuda;

/* Two backends of one kind and device, A and B.  A computes C = A0.B0
 * (a GEMM long enough on a GPU, 2048^3, that a copy not waiting for it
 * would read C unfinished); B runs two such GEMMs of its own, then waits
 * for A and copies C to D (so the copy comes well after A's GEMM); A
 * waits for B and scales C by 0.5 in place (without that wait the scale
 * would run long before the copy).  D must hold the product, exactly
 * what A reads back before the scale on a third run: the copy came after
 * the GEMM and before the scale, with the host waiting for neither.  Then
 * the same with B idle, so that only the wait keeps its copy after A's
 * GEMM. */
static void wait_for_on(cairn_backend *a, cairn_backend *b, int64_t n)
{
	const size_t bytes = (size_t)(n * n) * sizeof(float);
	cairn_backend *r = NULL;
	float *ha = malloc(bytes), *hd = malloc(bytes), *want = malloc(bytes);
	float *da = NULL, *dc = NULL, *dd = NULL, *db = NULL, *de = NULL;

	assert_non_null(ha);
	assert_non_null(hd);
	assert_non_null(want);
	for (int64_t i = 0; i < n * n; i++)
		ha[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
	assert_int_equal(cairn_buf_alloc(a, bytes, (void **)&da), 0);
	assert_int_equal(cairn_buf_alloc(a, bytes, (void **)&dc), 0);
	assert_int_equal(cairn_buf_alloc(b, bytes, (void **)&dd), 0);
	assert_int_equal(cairn_buf_alloc(b, bytes, (void **)&db), 0);
	assert_int_equal(cairn_buf_alloc(b, bytes, (void **)&de), 0);
	assert_int_equal(cairn_buf_write(a, da, ha, bytes), 0);
	assert_int_equal(cairn_buf_write(b, db, ha, bytes), 0);
	for (int rep = 0; rep < 3; rep++) {
		assert_int_equal(
		    cairn_gemm(a, 0, 0, n, n, n, da, n, da, n, dc, n, 0), 0);
		if (rep == 2) { /* the product itself, the host waiting */
			assert_int_equal(cairn_buf_read(a, want, dc, bytes), 0);
			break;
		}
		for (int g = 0; g < 2; g++) /* B busy for a while */
			assert_int_equal(cairn_gemm(b, 0, 0, n, n, n, db, n, db,
			                            n, de, n, 0),
			                 0);
		assert_int_equal(cairn_backend_wait_for(b, a), 0);
		assert_int_equal(cairn_buf_copy_async(b, dd, dc, bytes), 0);
		assert_int_equal(cairn_backend_wait_for(a, b), 0);
		assert_int_equal(cairn_scale(a, n * n, 0.5f, dc, dc), 0);
		assert_int_equal(cairn_buf_read(b, hd, dd, bytes), 0);
		assert_int_equal(cairn_backend_sync(a), 0);
	}
	assert_memory_equal(hd, want, bytes);
	/* The other way: A busy with the GEMM into C (zeroed first), B idle:
	 * B's copy of C, queued at once, must still wait for A's GEMM (on a
	 * GPU, without the wait it would copy zeros or half a product). */
	memset(hd, 0, bytes);
	assert_int_equal(cairn_buf_write(a, dc, hd, bytes), 0);
	assert_int_equal(cairn_gemm(a, 0, 0, n, n, n, da, n, da, n, dc, n, 0),
	                 0);
	assert_int_equal(cairn_backend_wait_for(b, a), 0);
	assert_int_equal(cairn_buf_copy_async(b, dd, dc, bytes), 0);
	assert_int_equal(cairn_buf_read(b, hd, dd, bytes), 0);
	assert_memory_equal(hd, want, bytes);
	assert_int_equal(cairn_backend_sync(a), 0);

	/* arguments; the same backend, and backends of two kinds (the host
	 * waits) */
	assert_int_equal(cairn_backend_wait_for(NULL, a), CAIRN_EINVAL);
	assert_int_equal(cairn_backend_wait_for(a, NULL), CAIRN_EINVAL);
	assert_int_equal(cairn_backend_wait_for(a, a), 0);
	assert_int_equal(cairn_backend_open(CAIRN_BACKEND_REF, NULL, &r), 0);
	assert_int_equal(cairn_backend_wait_for(r, a), 0);
	assert_int_equal(cairn_backend_wait_for(a, r), 0);
	assert_int_equal(cairn_buf_copy_async(NULL, dd, dc, 4), CAIRN_EINVAL);
	assert_int_equal(cairn_buf_copy_async(b, NULL, dc, 4), CAIRN_EINVAL);
	assert_int_equal(cairn_buf_copy_async(b, dd, dc, 0), 0);
	cairn_backend_close(r);
	cairn_buf_free(a, da);
	cairn_buf_free(a, dc);
	cairn_buf_free(b, dd);
	cairn_buf_free(b, db);
	cairn_buf_free(b, de);
	free(ha);
	free(hd);
	free(want);
}

static void test_wait_for(void **state)
{
	const cairn_backend_kind kind =
	    g_cuda ? CAIRN_BACKEND_CUDA : CAIRN_BACKEND_CPU;
	cairn_backend_opts o = {g_cuda ? 0 : 1, 0, NULL, 1, 0};
	cairn_backend *a = NULL, *b = NULL;
	(void)state;

	assert_int_equal(cairn_backend_open(kind, &o, &a), 0);
	assert_int_equal(cairn_backend_open_peer(a, &o, &b), 0);
	wait_for_on(a, b, g_cuda ? 2048 : 64);
	cairn_backend_close(b);
	cairn_backend_close(a);
#ifdef CAIRN_TEST_EMU
	/* The emulated CUDA backend runs each queue as late as it may: there
	 * a missing wait gives other bytes however fast the host is. */
	if (!g_cuda) {
		assert_int_equal(cairn_test_emu_backend_open(&a), 0);
		assert_int_equal(cairn_backend_open_peer(a, NULL, &b), 0);
		wait_for_on(a, b, 64);
		cairn_backend_close(b);
		cairn_backend_close(a);
	}
#endif
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_strerror),
	    cmocka_unit_test(test_open_kinds),
	    cmocka_unit_test(test_open_auto),
	    cmocka_unit_test_setup_teardown(test_buf_args, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_op_args, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_op_aliasing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_known_values, setup, teardown),
	    cmocka_unit_test(test_wait_for),
	};
	const struct CMUnitTest gpu_tests[] = {
	    cmocka_unit_test(test_wait_for),
	};
	cairn_log_set_level(CAIRN_LOG_QUIET);
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--backend") && i + 1 < argc &&
		    !strcmp(argv[i + 1], "cuda"))
			g_cuda = 1;
	if (g_cuda) {
		char why[256];
		if (cairn_cuda_probe(why, sizeof why) <= 0) {
			printf("test_backend --backend cuda: skipped: %s\n",
			       why);
			return 77;
		}
		return cmocka_run_group_tests(gpu_tests, NULL, NULL);
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
