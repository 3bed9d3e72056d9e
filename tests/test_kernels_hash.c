/* cairn: cairn_hash_chunks of a fast backend against the reference, bit
 * for bit: every size around the chunk and block boundaries, chunk counts
 * giving every remainder of the vectorised lanes (four and eight chunks at
 * a time), data at odd and 4-byte-aligned addresses, and the argument
 * checks.
 *
 *   test_kernels_hash --backend cpu|cuda|emu
 *
 * The harness, the backends' configurations and the options are those of
 * kernels_fixture.h; the other ops are in test_kernels.c, GEMM in
 * test_kernels_gemm.c. */
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
	static const int64_t sizes[] = {0,     1,     127,   128,          129,
	                                65535, 65536, 65537, 3 * 65536 + 5};
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
					off =
					    nch % 3
					        ? rnd_range(1, 31)
					        : 4 * (2 * rnd_range(0, 3) + 1);
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

/* ---- main -------------------------------------------------------------- */

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hash_chunks),
	    cmocka_unit_test(test_hash_chunks_lanes),
	    cmocka_unit_test(test_hash_chunks_args),
	};
	int rc = kernels_start(argc, argv, "test_kernels_hash");

	if (rc >= 0)
		return rc;
	return cmocka_run_group_tests(tests, setup, teardown);
}
