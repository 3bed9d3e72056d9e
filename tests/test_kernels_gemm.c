/* cairn: GEMM of a fast backend against the reference, bit for bit:
 * cairn_gemm over odd, large, random and special-valued shapes in every
 * layout and both init modes, and the k-segmented cairn_gemm_seg (its
 * shapes, special values, its definition as a sum of per-segment GEMMs,
 * its argument checks).
 *
 *   test_kernels_gemm --backend cpu|cuda|emu
 *
 * The harness, the backends' configurations and the options are those of
 * kernels_fixture.h (with cuda, every GEMM block shape forced too); the
 * other ops are in test_kernels.c, hash_chunks in test_kernels_hash.c. */
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
static void gemm_args_set(struct tcase *c, int ta, int tb, int64_t m, int64_t n,
                          int64_t k, int64_t lda, int64_t ldb, int64_t ldc,
                          int64_t segs)
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
	static const int64_t sizes[] = {1,   2,   3,   5,   7,  8,  15,
	                                16,  17,  31,  63,  64, 65, 127,
	                                128, 129, 255, 256, 257};
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
	gemm_case(*state, 0, 1, 256, 1024, 784, 0, 0, 0); /* forward */
	gemm_case(*state, 0, 0, 256, 784, 1024, 0, 0, 0); /* dX */
	gemm_case(*state, 1, 0, 1024, 10, 256, 0, 0, 0);  /* dW */
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
		gemm_case(*state, LAYOUTS[l][0], LAYOUTS[l][1], 130, 70, 300, 0,
		          2, 1);
		/* several k blocks on every ISA (AVX2's is 512): NaNs
		 * stored between blocks go on raw (GEMM_RAW) */
		gemm_case(*state, LAYOUTS[l][0], LAYOUTS[l][1], 50, 40, 1600, 0,
		          1, 1);
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
		               2 * 300, 0, 1, 0, 2); /* 300 > 256 */
		gemm_case_segs(*state, LAYOUTS[l][0], LAYOUTS[l][1], 13, 70,
		               2 * 520, 0, 0, 0, 2); /* 520 > 512 */
		gemm_case_segs(*state, LAYOUTS[l][0], LAYOUTS[l][1], 20, 33,
		               9 * 100, 0, 2, 0, 9); /* several blocks */
		gemm_case_segs(*state, LAYOUTS[l][0], LAYOUTS[l][1], 7, 9, 5, 0,
		               0, 0, 5); /* segments of 1 */
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
	static const int64_t shapes[][4] = {/* m, n, q, segs */
	                                    {33, 47, 64, 4},
	                                    {10, 100, 17, 3},
	                                    {64, 16, 600, 2}};

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
			assert_int_equal(
			    cairn_buf_alloc(s->cfg[k].be, 64, &p[i]), 0);
		assert_int_equal(cairn_gemm_seg(s->cfg[k].be, CAIRN_NOTRANS,
		                                CAIRN_NOTRANS, 3, 3, 4, 2, p[0],
		                                4, p[1], 3, p[2], 3),
		                 CAIRN_ENOTSUP);
		for (int i = 0; i < 3; i++)
			cairn_buf_free(s->cfg[k].be, p[i]);
	}
}

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
	};
	int rc = kernels_start(argc, argv, "test_kernels_gemm");

	if (rc >= 0)
		return rc;
	return cmocka_run_group_tests(tests, setup, teardown);
}
