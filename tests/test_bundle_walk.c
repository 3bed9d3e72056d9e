/* cairn: signed result bundles, spoiled files (attest/bundle_walk.c's walk
 * over the encoding, and every check behind it; docs/bundle-format.md
 * section 4).
 *
 * The fixture (bundle_fixture.h) runs a real task and writes its bundle.
 * Every way of spoiling the file must be refused with the right code and
 * a message naming the file: truncation at every offset of the first 512
 * bytes and at 300 random others, one-bit flips at every byte of the
 * first 768 and at 500 random offsets (all must be caught: every byte is
 * covered), oversized files, and files that are not a bundle (text,
 * random bytes, another format, an unknown field, a non-canonical
 * encoding, two bundles, no file at all).
 *
 * Offsets and bits are random each run (seed printed; set
 * CAIRN_TEST_SEED=0x... to replay). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bundle_fixture.h"

/* ---- spoiled files ------------------------------------------------------- */

static int cmp_desc(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	return x < y ? 1 : x > y ? -1 : 0;
}

static void test_truncated(void **state)
{
	struct fx *f = *state;
	const size_t head = f->len < 512 ? f->len : 512, nrand = 300;
	size_t *off = cairn_test_xmalloc((head + nrand) * sizeof *off), n = 0;
	char path[512];
	int fd;

	for (size_t i = 0; i < head; i++)
		off[n++] = i;
	for (size_t i = 0; i < nrand && f->len > 512; i++)
		off[n++] = 512 + (size_t)(rnd(f) % (f->len - 512));
	/* Cut a copy ever shorter: one ftruncate per offset. */
	qsort(off, n, sizeof *off, cmp_desc);
	snprintf(path, sizeof path, "%s/truncated.cairn", f->dir);
	write_whole(path, f->bytes, f->len);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	for (size_t i = 0; i < n; i++) {
		if (i && off[i] == off[i - 1])
			continue;
		assert_int_equal(ftruncate(fd, (off_t)off[i]), 0);
		expect_refused(path, CAIRN_EFORMAT, NULL);
	}
	close(fd);
	unlink(path);
	print_message("truncated: %zu offsets refused\n", n);
	free(off);
}

static void test_bit_flips(void **state)
{
	struct fx *f = *state;
	const size_t head = f->len < 768 ? f->len : 768, nrand = 500;
	int counts[3] = {0, 0, 0};
	struct cairn_bundle b;
	char path[512], err[512];
	int fd;

	snprintf(path, sizeof path, "%s/flipped.cairn", f->dir);
	write_whole(path, f->bytes, f->len);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	for (size_t i = 0; i < head + nrand; i++) {
		size_t at = i < head ? i : (size_t)(rnd(f) % f->len);
		uint8_t byte = f->bytes[at] ^ (uint8_t)(1u << (rnd(f) % 8));
		int rc;
		assert_int_equal(pwrite(fd, &byte, 1, (off_t)at), 1);
		rc = expect_refused(path, 0, NULL);
		counts[rc == CAIRN_EFORMAT ? 0 : rc == CAIRN_ECRYPTO ? 1 : 2]++;
		assert_int_equal(pwrite(fd, f->bytes + at, 1, (off_t)at), 1);
	}
	close(fd);
	/* Restored: good again. */
	assert_int_equal(cairn_bundle_read(path, &b, err, sizeof err), 0);
	cairn_bundle_free(&b);
	unlink(path);
	print_message("bit flips: %zu refused (%d format, %d crypto, %d "
	              "mismatch)\n",
	              head + nrand, counts[0], counts[1], counts[2]);
}

static void test_oversized(void **state)
{
	struct fx *f = *state;
	struct cairn_bundle b;
	char path[512], err[512] = "";
	int fd;

	/* One byte over a small limit; a sparse file, nothing to read. */
	snprintf(path, sizeof path, "%s/big.cairn", f->dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (1 << 20) + 1), 0);
	memset(&b, 0x5a, sizeof b);
	assert_int_equal(
	    cairn_bundle_read_max(path, 1 << 20, &b, err, sizeof err),
	    CAIRN_ERANGE);
	assert_non_null(strstr(err, path));
	assert_true(bundle_zeroed(&b));
	/* One byte over the real limit, when the file system can hold it. */
	if (ftruncate(fd, (off_t)CAIRN_BUNDLE_MAX_BYTES + 1) == 0)
		expect_refused(path, CAIRN_ERANGE, "limit");
	else
		print_message("no sparse file of 8 GiB here (%s): skipped\n",
		              strerror(errno));
	close(fd);
	unlink(path);
	/* The good bundle against a limit one byte short. */
	assert_int_equal(
	    cairn_bundle_read_max(f->path, f->len - 1, &b, err, sizeof err),
	    CAIRN_ERANGE);
	assert_true(bundle_zeroed(&b));
}

static void test_not_a_bundle(void **state)
{
	struct fx *f = *state;
	static const char text[] = "hello, this is not a bundle\n";
	/* Unknown field 31 (varint 1) after a good bundle; format again. */
	static const uint8_t unknown[] = {0xf8, 0x01, 0x01};
	static const uint8_t format_again[] = {0x08, 0x01};
	static const uint8_t format3[] = {0x08, 0x03};
	uint8_t *junk = cairn_test_xmalloc(f->len + 3);
	struct cairn_bundle b;
	char path[512], err[512];

	snprintf(path, sizeof path, "%s/text.cairn", f->dir);
	write_whole(path, text, sizeof text - 1);
	expect_refused(path, CAIRN_EFORMAT, NULL);
	write_whole(path, "", 0);
	expect_refused(path, CAIRN_EFORMAT, "empty");
	for (int k = 0; k < 8; k++) {
		for (size_t i = 0; i < 4096; i++)
			junk[i] = (uint8_t)rnd(f);
		write_whole(path, junk, 4096);
		expect_refused(path, CAIRN_EFORMAT, NULL);
	}
	write_whole(path, format3, sizeof format3);
	expect_refused(path, CAIRN_EFORMAT, "format 3");
	memcpy(junk, f->bytes, f->len);
	memcpy(junk + f->len, unknown, sizeof unknown);
	write_whole(path, junk, f->len + sizeof unknown);
	expect_refused(path, CAIRN_EFORMAT, "unknown");
	memcpy(junk + f->len, format_again, sizeof format_again);
	write_whole(path, junk, f->len + sizeof format_again);
	expect_refused(path, CAIRN_EFORMAT, "canonical");
	/* The good bundle twice over. */
	{
		uint8_t *two = cairn_test_xmalloc(2 * f->len);
		memcpy(two, f->bytes, f->len);
		memcpy(two + f->len, f->bytes, f->len);
		write_whole(path, two, 2 * f->len);
		expect_refused(path, CAIRN_EFORMAT, NULL);
		free(two);
	}
	unlink(path);
	free(junk);

	/* Not a file, no file, no arguments. */
	assert_int_equal(cairn_bundle_read(f->dir, &b, err, sizeof err),
	                 CAIRN_EINVAL);
	assert_non_null(strstr(err, f->dir));
	snprintf(path, sizeof path, "%s/missing.cairn", f->dir);
	assert_int_equal(cairn_bundle_read(path, &b, err, sizeof err),
	                 CAIRN_ENOENT);
	assert_non_null(strstr(err, path));
	assert_int_equal(cairn_bundle_read(NULL, &b, err, sizeof err),
	                 CAIRN_EINVAL);
	assert_int_equal(cairn_bundle_read(f->path, NULL, err, sizeof err),
	                 CAIRN_EINVAL);
	assert_int_equal(
	    cairn_bundle_decode(NULL, 5, NULL, &b, err, sizeof err),
	    CAIRN_EINVAL);
}

/* The fixture (bundle_fixture.h), its seed printed under this program's
 * name. */
static int setup(void **state)
{
	return bundle_fx_setup(state, "test_bundle_walk");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_truncated),
	    cmocka_unit_test(test_bit_flips),
	    cmocka_unit_test(test_oversized),
	    cmocka_unit_test(test_not_a_bundle),
	};
	return cmocka_run_group_tests(tests, setup, bundle_fx_teardown);
}
