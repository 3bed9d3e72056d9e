/* cairn: the cpu backend's thread pool and ISA choice (kernels/cpu). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cairn/error.h"
#include "cairn/kernels.h"
#include "cairn/log.h"
#include "blake2b.h"
#include "cpu/cpu_impl.h"

struct hits {
	int n;
	int seen[64];
	int64_t covered[1000];
};

static void count_fn(void *arg, int tid, int nth)
{
	struct hits *h = arg;
	int64_t lo, hi;

	h->seen[tid] += 1;
	if (nth != h->n)
		h->seen[tid] += 1000; /* wrong thread count: makes it fail */
	cairn__split(1000, tid, nth, &lo, &hi);
	for (int64_t i = lo; i < hi; i++)
		h->covered[i] += 1;
}

/* Every thread runs exactly once per call, and the split covers the range
 * exactly once, for many calls in a row (no lost wake-ups). */
static void test_pool_runs_each_thread_once(void **state)
{
	static const int sizes[] = {1, 2, 3, 8};
	(void)state;

	for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
		struct cairn_pool *pool = NULL;
		struct hits *h = calloc(1, sizeof *h);
		const int reps = 2000;

		assert_non_null(h);
		h->n = sizes[s];
		assert_int_equal(cairn__pool_create(sizes[s], s & 1, &pool), 0);
		assert_int_equal(cairn__pool_threads(pool), sizes[s]);
		assert_non_null(cairn__pool_describe(pool));
		for (int r = 0; r < reps; r++)
			cairn__pool_run(pool, count_fn, h);
		for (int t = 0; t < sizes[s]; t++)
			assert_int_equal(h->seen[t], reps);
		for (int i = 0; i < 1000; i++)
			assert_int_equal(h->covered[i], reps);
		cairn__pool_destroy(pool);
		free(h);
	}
}

static void test_pool_args(void **state)
{
	struct cairn_pool *pool = NULL;
	(void)state;

	assert_int_equal(cairn__pool_create(0, 0, &pool), CAIRN_EINVAL);
	assert_null(pool);
	cairn__pool_destroy(NULL);
}

static void test_split(void **state)
{
	(void)state;
	for (int64_t n = 0; n < 50; n++)
		for (int nth = 1; nth < 9; nth++) {
			int64_t next = 0;
			for (int t = 0; t < nth; t++) {
				int64_t lo, hi;
				cairn__split(n, t, nth, &lo, &hi);
				assert_int_equal(lo, next);
				assert_true(hi >= lo);
				assert_true(hi - lo <= n / nth + 1);
				next = hi;
			}
			assert_int_equal(next, n);
		}
}

/* CAIRN_CPU_ISA picks the kernels; an ISA this CPU lacks is refused. */
static void test_isa_choice(void **state)
{
	cairn_backend *be = NULL;
	cairn_backend_opts o = {1, 0, NULL, 1, 0};
	(void)state;

	setenv("CAIRN_CPU_ISA", "portable", 1);
	assert_int_equal(cairn_backend_open(CAIRN_BACKEND_CPU, &o, &be), 0);
	assert_non_null(strstr(cairn_backend_describe(be), "portable"));
	cairn_backend_close(be);
	setenv("CAIRN_CPU_ISA", "nonsense", 1);
	be = NULL;
	assert_int_equal(cairn_backend_open(CAIRN_BACKEND_CPU, &o, &be),
	                 CAIRN_EINVAL);
	assert_null(be);
	unsetenv("CAIRN_CPU_ISA");
	o.cpu_isa = "avx2";
	{
		int rc = cairn_backend_open(CAIRN_BACKEND_CPU, &o, &be);
		__builtin_cpu_init();
		if (__builtin_cpu_supports("avx2") &&
		    __builtin_cpu_supports("fma")) {
			assert_int_equal(rc, 0);
			assert_non_null(
			    strstr(cairn_backend_describe(be), "avx2"));
			/* avx2 keeps the 4-lane hash */
			assert_null(
			    strstr(cairn_backend_describe(be), "avx-512"));
			cairn_backend_close(be);
		} else {
			assert_int_equal(rc, CAIRN_ENOTSUP);
		}
	}
	/* avx512: the AVX2 kernels and an AVX-512F hash; auto picks it
	 * where the CPU has it, and avx2 then keeps the 4-lane hash */
	o.cpu_isa = "avx512";
	be = NULL;
	{
		int rc = cairn_backend_open(CAIRN_BACKEND_CPU, &o, &be);
		int has = __builtin_cpu_supports("avx2") &&
		          __builtin_cpu_supports("fma") &&
		          __builtin_cpu_supports("avx512f");
		if (has) {
			assert_int_equal(rc, 0);
			assert_non_null(
			    strstr(cairn_backend_describe(be), "avx-512 hash"));
			cairn_backend_close(be);
		} else {
			assert_int_equal(rc, CAIRN_ENOTSUP);
			assert_null(be);
		}
		o.cpu_isa = NULL;
		be = NULL;
		assert_int_equal(cairn_backend_open(CAIRN_BACKEND_CPU, &o, &be),
		                 0);
		assert_int_equal(
		    strstr(cairn_backend_describe(be), "avx-512 hash") != NULL,
		    has);
		cairn_backend_close(be);
	}
}

/* The multi-lane BLAKE2b kernels, called directly: every lane count
 * (the ops use x8 only for 5..8 chunks, x4 for 2..4), lanes of unequal
 * lengths (whole blocks, a partial last block, one byte), against the
 * scalar code on a copy of the same state. */
static void test_blake2b_lanes(void **state)
{
	enum { MAXLEN = 1024 }; /* shape 0's longest lane: 8 blocks */
	static uint8_t data[8][MAXLEN], want[8][32], got[8][32];
	struct cairn_blake2b_state head;
	uint8_t hdr[CAIRN_BLAKE2B_BLOCKBYTES];
	const uint8_t *p[8];
	int64_t len[8];
	uint8_t *out[8];
	int has_x4 = 0, has_x8 = 0;
	(void)state;

	__builtin_cpu_init();
	has_x4 =
	    __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
	has_x8 = has_x4 && __builtin_cpu_supports("avx512f");
	if (!has_x4)
		skip();
	for (int i = 0; i < 8; i++)
		for (int j = 0; j < MAXLEN; j++)
			data[i][j] = (uint8_t)(31 * i + 7 * j + (j >> 5));
	for (int j = 0; j < (int)sizeof hdr; j++)
		hdr[j] = (uint8_t)(255 - j);
	cairn_blake2b_init(&head, 32);
	cairn__blake2b_block(&head, hdr, 0);
	for (int w = 4; w <= 8; w += 4) {
		if (w == 8 && !has_x8)
			break;
		for (int n = 1; n <= w; n++)
			for (int shape = 0; shape < 3; shape++) {
				for (int i = 0; i < n; i++) {
					struct cairn_blake2b_state st = head;
					len[i] = shape == 0   ? 128 * (i + 1)
					         : shape == 1 ? 1 + 97 * i
					                      : MAXLEN - i;
					p[i] = data[i];
					out[i] = got[i];
					cairn_blake2b_update(&st, p[i],
					                     (size_t)len[i]);
					cairn_blake2b_final(&st, want[i]);
				}
				memset(got, 0, sizeof got);
				if (w == 4)
					cairn__blake2b_x4(&head, n, p, len,
					                  out);
				else
					cairn__blake2b_x8(&head, n, p, len,
					                  out);
				for (int i = 0; i < n; i++)
					if (memcmp(got[i], want[i], 32))
						fail_msg(
						    "x%d, %d lanes, shape %d: "
						    "lane %d differs",
						    w, n, shape, i);
			}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pool_runs_each_thread_once),
	    cmocka_unit_test(test_pool_args),
	    cmocka_unit_test(test_split),
	    cmocka_unit_test(test_isa_choice),
	    cmocka_unit_test(test_blake2b_lanes),
	};
	cairn_log_set_level(CAIRN_LOG_QUIET);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
