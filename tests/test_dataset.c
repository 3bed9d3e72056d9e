/* cairn: the IDX dataset reader (include/cairn/dataset.h) on well-formed
 * data: gzip'd, plain and mixed files loaded byte for byte, the pixel's
 * float, concatenated gzip members, gathers and their range checks; the
 * files themselves (missing, empty, a directory, a FIFO, unreadable) and
 * the directory layout.  The last test loads the real Fashion-MNIST splits
 * when Debian's dataset-fashion-mnist is installed, and skips otherwise.
 *
 * Cut, corrupt and inconsistent files are test_dataset_malformed.c's; the
 * files both write and the fixture are dataset_fixture.h's. */
#define _DEFAULT_SOURCE /* mkdtemp */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "dataset_fixture.h"

static void test_valid_roundtrip(void **state)
{
	struct ctx *c = *state;
	cairn_dataset *ds;
	static const uint32_t idx[5] = {6, 0, 3, 3, 1};
	float *x;
	int32_t y[5];

	/* gzip'd, plain, and each mixed. */
	for (int mode = 0; mode < 4; mode++) {
		struct buf im = good_images(), lb = good_labels();

		put(c->img, mode & 1 ? gz_of(im) : im);
		put(c->lab, mode & 2 ? gz_of(lb) : lb);
		ds = open_ok(c);
		check_seven(ds);
		cairn_dataset_close(ds);
	}

	ds = open_ok(c);
	x = malloc(sizeof(float) * 5 * CAIRN_DATASET_PIXELS);
	assert_non_null(x);
	assert_int_equal(
	    cairn_dataset_gather(ds, idx, 5, x, y, c->msg, sizeof c->msg), 0);
	for (size_t b = 0; b < 5; b++) {
		assert_int_equal(y[b], labels7[idx[b]]);
		for (uint32_t j = 0; j < CAIRN_DATASET_PIXELS; j++) {
			uint8_t p = pixel_of(idx[b], j);
			float want = (float)((double)p / 255.0);

			assert_int_equal(fbits(x[b * CAIRN_DATASET_PIXELS + j]),
			                 fbits(want));
		}
	}
	/* Labels only, pixels only, an empty batch. */
	memset(y, 0xff, sizeof y);
	assert_int_equal(cairn_dataset_gather(ds, idx, 5, NULL, y, NULL, 0), 0);
	assert_int_equal(y[0], 5);
	assert_int_equal(cairn_dataset_gather(ds, idx, 1, x, NULL, NULL, 0), 0);
	assert_int_equal(cairn_dataset_gather(ds, NULL, 0, x, y, NULL, 0), 0);
	free(x);
	cairn_dataset_close(ds);
	cairn_dataset_close(NULL);
}

/* The float of each byte: correctly rounded p / 255, known bits. */
static void test_pixel_bits(void **state)
{
	(void)state;
	for (int p = 0; p < 256; p++)
		assert_int_equal(fbits(cairn_dataset_pixel((uint8_t)p)),
		                 fbits((float)((double)p / 255.0)));
	assert_int_equal(fbits(cairn_dataset_pixel(0)), 0x00000000u);
	assert_int_equal(fbits(cairn_dataset_pixel(1)), 0x3b808081u);
	assert_int_equal(fbits(cairn_dataset_pixel(3)), 0x3c40c0c1u);
	assert_int_equal(fbits(cairn_dataset_pixel(127)), 0x3efefeffu);
	assert_int_equal(fbits(cairn_dataset_pixel(128)), 0x3f008081u);
	assert_int_equal(fbits(cairn_dataset_pixel(254)), 0x3f7efeffu);
	assert_int_equal(fbits(cairn_dataset_pixel(255)), 0x3f800000u);
}

/* Concatenated gzip members are one stream, as gunzip reads them. */
static void test_gzip_members(void **state)
{
	struct ctx *c = *state;
	struct buf im = good_images(), a, b, both;
	struct buf half1 = {im.p, 1000}, half2 = {im.p + 1000, im.n - 1000};
	cairn_dataset *ds;

	a = gz(&half1);
	b = gz(&half2);
	both.n = a.n + b.n;
	both.p = malloc(both.n);
	assert_non_null(both.p);
	memcpy(both.p, a.p, a.n);
	memcpy(both.p + a.n, b.p, b.n);
	put(c->img, both);
	put(c->lab, gz_of(good_labels()));
	ds = open_ok(c);
	check_seven(ds);
	cairn_dataset_close(ds);
	buf_free(&a);
	buf_free(&b);
	buf_free(&im);
}

static void test_gather_range(void **state)
{
	struct ctx *c = *state;
	static const uint32_t bad[3] = {1, 7, 2};
	static const uint32_t huge[1] = {0xffffffffu};
	float x[3 * CAIRN_DATASET_PIXELS];
	int32_t y[3] = {-5, -5, -5};
	cairn_dataset *ds;

	put(c->img, good_images());
	put(c->lab, good_labels());
	ds = open_ok(c);
	memset(x, 0x7f, sizeof x);
	assert_int_equal(
	    cairn_dataset_gather(ds, bad, 3, x, y, c->msg, sizeof c->msg),
	    CAIRN_ERANGE);
	print_message("    %s\n", c->msg);
	assert_non_null(strstr(c->msg, "index 7 at batch position 1"));
	assert_non_null(strstr(c->msg, "0..6"));
	/* Nothing written on failure. */
	assert_int_equal(y[0], -5);
	assert_int_equal(fbits(x[0]), 0x7f7f7f7fu);
	assert_int_equal(cairn_dataset_gather(ds, huge, 1, x, y, NULL, 0),
	                 CAIRN_ERANGE);
	assert_int_equal(cairn_dataset_gather(ds, NULL, 1, x, y, NULL, 0),
	                 CAIRN_EINVAL);
	assert_int_equal(cairn_dataset_gather(NULL, bad, 1, x, y, NULL, 0),
	                 CAIRN_EINVAL);
	cairn_dataset_close(ds);
}

static void test_files(void **state)
{
	struct ctx *c = *state;

	/* Missing, empty, a directory, a FIFO. */
	put(c->lab, good_labels());
	expect_fail(c, CAIRN_ENOENT, c->img, "no such file", NULL);
	write_file(c->img, "", 0);
	expect_fail(c, CAIRN_EFORMAT, c->img, "is empty (0 bytes)", NULL);
	unlink(c->img);
	assert_int_equal(mkdir(c->img, 0700), 0);
	expect_fail(c, CAIRN_EINVAL, c->img, "is a directory", NULL);
	rmdir(c->img);
	assert_int_equal(mkfifo(c->img, 0600), 0); /* must not hang */
	expect_fail(c, CAIRN_EINVAL, c->img, "is not a regular file", NULL);
	unlink(c->img);
	put(c->img, good_images());
	unlink(c->lab);
	expect_fail(c, CAIRN_ENOENT, c->lab, "no such file", NULL);
	/* Bad arguments. */
	{
		cairn_dataset *ds = NULL;

		assert_int_equal(cairn_dataset_open_files(
		                     NULL, c->lab, &ds, c->msg, sizeof c->msg),
		                 CAIRN_EINVAL);
		assert_int_equal(
		    cairn_dataset_open_files(c->img, c->lab, NULL, NULL, 0),
		    CAIRN_EINVAL);
		assert_int_equal(cairn_dataset_open(c->dir, "valid", &ds,
		                                    c->msg, sizeof c->msg),
		                 CAIRN_EINVAL);
		assert_non_null(strstr(c->msg, "unknown split 'valid'"));
		assert_null(ds);
	}
}

/* Unreadable: only meaningful when not root (root reads anything). */
static void test_unreadable(void **state)
{
	struct ctx *c = *state;

	if (geteuid() == 0)
		skip();
	put(c->img, good_images());
	put(c->lab, good_labels());
	assert_int_equal(chmod(c->img, 0), 0);
	expect_fail(c, CAIRN_EPERM, c->img, "cannot open", NULL);
}

/* The directory layout: Debian's names, .gz first, then plain. */
static void test_open_dir(void **state)
{
	struct ctx *c = *state;
	char p[256], dirslash[128];
	cairn_dataset *ds = NULL;
	int rc;

	snprintf(p, sizeof p, "%s/train-images-idx3-ubyte.gz", c->dir);
	put(p, gz_of(good_images()));
	snprintf(p, sizeof p, "%s/train-labels-idx1-ubyte", c->dir);
	put(p, good_labels());
	rc = cairn_dataset_open(c->dir, "train", &ds, c->msg, sizeof c->msg);
	assert_int_equal(rc, 0);
	check_seven(ds);
	cairn_dataset_close(ds);
	snprintf(dirslash, sizeof dirslash, "%s/", c->dir);
	rc = cairn_dataset_open(dirslash, "train", &ds, c->msg, sizeof c->msg);
	assert_int_equal(rc, 0);
	cairn_dataset_close(ds);

	rc = cairn_dataset_open(c->dir, "test", &ds, c->msg, sizeof c->msg);
	print_message("    %d: %s\n", rc, c->msg);
	assert_int_equal(rc, CAIRN_ENOENT);
	assert_null(ds);
	assert_non_null(strstr(c->msg, "t10k-images-idx3-ubyte.gz"));
	assert_non_null(strstr(c->msg, c->dir));

	snprintf(p, sizeof p, "%s/nowhere", c->dir);
	rc = cairn_dataset_open(p, "train", &ds, c->msg, sizeof c->msg);
	print_message("    %d: %s\n", rc, c->msg);
	assert_int_equal(rc, CAIRN_ENOENT);
	assert_non_null(strstr(c->msg, p));
}

/* The real Fashion-MNIST: 60000 + 10000 samples, balanced classes. */
static void test_fashion_mnist(void **state)
{
	static const struct {
		const char *split;
		uint32_t count;
	} want[2] = {{"train", 60000}, {"test", 10000}};
	struct ctx *c = *state;
	struct stat st;

	(void)c;
	if (stat(CAIRN_DATASET_DEFAULT_DIR, &st) != 0)
		skip();
	for (int s = 0; s < 2; s++) {
		cairn_dataset *ds = NULL;
		uint32_t hist[CAIRN_DATASET_CLASSES] = {0}, idx[2];
		float x[2 * CAIRN_DATASET_PIXELS];
		int32_t y[2];
		int rc = cairn_dataset_open(NULL, want[s].split, &ds, c->msg,
		                            sizeof c->msg);

		if (rc)
			print_message("%s\n", c->msg);
		assert_int_equal(rc, 0);
		assert_int_equal(ds->count, want[s].count);
		for (uint32_t i = 0; i < ds->count; i++)
			hist[ds->labels[i]]++;
		for (int k = 0; k < CAIRN_DATASET_CLASSES; k++)
			assert_int_equal(hist[k], want[s].count / 10);
		idx[0] = 0;
		idx[1] = ds->count - 1;
		assert_int_equal(
		    cairn_dataset_gather(ds, idx, 2, x, y, NULL, 0), 0);
		assert_int_equal(y[1], ds->labels[ds->count - 1]);
		/* The first training image is an ankle boot (class 9). */
		if (s == 0)
			assert_int_equal(y[0], 9);
		cairn_dataset_close(ds);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_valid_roundtrip, setup,
	                                    teardown),
	    cmocka_unit_test(test_pixel_bits),
	    cmocka_unit_test_setup_teardown(test_gzip_members, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_gather_range, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_files, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unreadable, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open_dir, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fashion_mnist, setup,
	                                    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
