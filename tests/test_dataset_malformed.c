/* cairn: the IDX dataset reader (include/cairn/dataset.h) on malformed
 * files: gzip streams cut at every point, corrupt and with every bit
 * flipped, garbage, wrong magic numbers and dimensions, counts that lie
 * (gzip bombs included), trailing data and labels out of range.  Each
 * must fail cleanly (never a crash, never a partial dataset) with a
 * message naming the file and the bad value.
 *
 * Well-formed data, gathers, files and directories are test_dataset.c's;
 * the files both write and the fixture are dataset_fixture.h's. */
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

/* A gzip'd image file cut at many points: never a crash, always a message
 * naming the file; cuts inside the gzip data say "truncated gzip". */
static void test_truncated_gzip(void **state)
{
	struct ctx *c = *state;
	struct buf z = gz_of(good_images());
	size_t cuts[] = {1, 2, 3, 9, 10, 11, 20, 0, 0, 0, 0, 0};

	cuts[7] = z.n / 2;
	cuts[8] = z.n - 9;
	cuts[9] = z.n - 8; /* CRC and length missing */
	cuts[10] = z.n - 4;
	cuts[11] = z.n - 1;
	put(c->lab, good_labels());
	for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
		write_file(c->img, z.p, cuts[i]);
		print_message("  cut at %zu of %zu\n", cuts[i], z.n);
		if (cuts[i] == 1) /* one byte 1f is no gzip magic */
			expect_fail(c, CAIRN_EFORMAT, c->img,
			            "truncated IDX header", "1 byte");
		else
			expect_fail(c, CAIRN_EFORMAT, c->img,
			            "truncated gzip stream", NULL);
	}
	buf_free(&z);
}

/* Every cut of a gzip'd and of a plain file fails cleanly, naming the
 * file; every single-bit change either fails cleanly or, where gzip does
 * not check the bit (header time, OS, the deflate data's padding bits),
 * loads the same data. */
static void test_every_cut_and_flip(void **state)
{
	struct ctx *c = *state;
	struct buf z = gz_of(good_images()), p = good_labels();
	cairn_dataset *ds;
	int rc;

	put(c->lab, good_labels());
	for (size_t cut = 0; cut < z.n; cut++) {
		write_file(c->img, z.p, cut);
		ds = NULL;
		rc = cairn_dataset_open_files(c->img, c->lab, &ds, c->msg,
		                              sizeof c->msg);
		assert_true(rc < 0);
		assert_null(ds);
		assert_non_null(strstr(c->msg, c->img));
	}
	for (size_t i = 0; i < z.n; i++) {
		z.p[i] ^= 0x20;
		write_file(c->img, z.p, z.n);
		ds = NULL;
		rc = cairn_dataset_open_files(c->img, c->lab, &ds, c->msg,
		                              sizeof c->msg);
		if (rc == 0) { /* must be byte-identical data */
			print_message("    flip at %zu of %zu: unchecked\n", i,
			              z.n);
			check_seven(ds);
			cairn_dataset_close(ds);
		} else {
			assert_null(ds);
			assert_non_null(strstr(c->msg, c->img));
		}
		z.p[i] ^= 0x20;
	}
	put(c->img, good_images());
	for (size_t cut = 0; cut < p.n; cut++) {
		write_file(c->lab, p.p, cut);
		ds = NULL;
		rc = cairn_dataset_open_files(c->img, c->lab, &ds, c->msg,
		                              sizeof c->msg);
		assert_true(rc < 0);
		assert_null(ds);
		assert_non_null(strstr(c->msg, c->lab));
	}
	buf_free(&z);
	buf_free(&p);
}

/* Flipped bytes in the deflate data or in the CRC: corrupt gzip. */
static void test_corrupt_gzip(void **state)
{
	struct ctx *c = *state;
	struct buf z = gz_of(good_images());

	put(c->lab, good_labels());
	z.p[z.n - 6] ^= 0x55; /* inside the CRC32 */
	write_file(c->img, z.p, z.n);
	expect_fail(c, CAIRN_EFORMAT, c->img, "corrupt gzip data",
	            "incorrect data check");
	z.p[z.n - 6] ^= 0x55;
	z.p[z.n - 2] ^= 0x01; /* inside ISIZE */
	write_file(c->img, z.p, z.n);
	expect_fail(c, CAIRN_EFORMAT, c->img, "corrupt gzip data",
	            "incorrect length check");
	z.p[z.n - 2] ^= 0x01;
	z.p[2] = 7; /* compression method */
	write_file(c->img, z.p, z.n);
	expect_fail(c, CAIRN_EFORMAT, c->img, "corrupt gzip data", "zlib:");
	z.p[2] = 8;
	/* Garbage after a gzip magic. */
	for (size_t i = 10; i < z.n; i++)
		z.p[i] = (uint8_t)(i * 37u + 11u);
	write_file(c->img, z.p, z.n);
	expect_fail(c, CAIRN_EFORMAT, c->img, "corrupt gzip data", NULL);
	buf_free(&z);
}

static void test_garbage(void **state)
{
	struct ctx *c = *state;
	uint8_t junk[3000];
	struct buf z;

	for (size_t i = 0; i < sizeof junk; i++)
		junk[i] = (uint8_t)(i * 97u + 13u);
	junk[0] = 0x42;
	put(c->lab, good_labels());
	write_file(c->img, junk, sizeof junk);
	expect_fail(c, CAIRN_EFORMAT, c->img, "bad IDX magic 0x42",
	            "not an IDX file");
	/* The same garbage, gzip'd: a valid stream holding junk. */
	{
		struct buf raw = {junk, sizeof junk};

		z = gz(&raw);
	}
	put(c->img, z);
	expect_fail(c, CAIRN_EFORMAT, c->img, "bad IDX magic 0x42",
	            "(want 0x00000803 for an image file)");
	/* A gzip'd gzip file. */
	put(c->img, gz_of(gz_of(good_images())));
	expect_fail(c, CAIRN_EFORMAT, c->img, "bad IDX magic 0x1f8b",
	            "compressed twice");
}

static void test_wrong_magic(void **state)
{
	struct ctx *c = *state;

	/* Labels where images belong, and the other way round. */
	put(c->img, gz_of(good_labels()));
	put(c->lab, good_labels());
	expect_fail(c, CAIRN_EFORMAT, c->img,
	            "bad IDX magic 0x00000801 (want 0x00000803 for an image "
	            "file)",
	            "is this a label file?");
	put(c->img, good_images());
	put(c->lab, gz_of(good_images()));
	expect_fail(c, CAIRN_EFORMAT, c->lab,
	            "bad IDX magic 0x00000803 (want 0x00000801 for a label "
	            "file)",
	            "3 dimensions, want 1");
	/* Element type other than u8 (0x0d is float). */
	put(c->lab, good_labels());
	put(c->img, make_images(0x00000d03u, N7, 28, 28, N7, 0));
	expect_fail(c, CAIRN_EFORMAT, c->img, "0x00000d03",
	            "element type 0x0d, want 0x08");
	/* u8 but two dimensions. */
	put(c->img, make_images(0x00000802u, N7, 28, 28, N7, 0));
	expect_fail(c, CAIRN_EFORMAT, c->img, "0x00000802",
	            "2 dimensions, want 3");
	put(c->img, good_images());
	put(c->lab, make_labels(0x00000802u, N7, labels7, N7, 0));
	expect_fail(c, CAIRN_EFORMAT, c->lab, "0x00000802",
	            "2 dimensions, want 1");
}

static void test_wrong_dims(void **state)
{
	struct ctx *c = *state;

	put(c->lab, good_labels());
	put(c->img, make_images(CAIRN_IDX_MAGIC_IMAGES, N7, 27, 28, N7, 0));
	expect_fail(c, CAIRN_EFORMAT, c->img, "27x28", "want 28x28");
	put(c->img,
	    gz_of(make_images(CAIRN_IDX_MAGIC_IMAGES, N7, 28, 29, N7, 0)));
	expect_fail(c, CAIRN_EFORMAT, c->img, "28x29", "want 28x28");
	/* 32 x 32 with 28 x 28 data sizes must not be read as 28 x 28. */
	put(c->img, make_images(CAIRN_IDX_MAGIC_IMAGES, N7, 0, 0, 0, 0));
	expect_fail(c, CAIRN_EFORMAT, c->img, "0x0 pixels", NULL);
	/* A header cut short. */
	{
		struct buf b = good_images();

		write_file(c->img, b.p, 10);
		expect_fail(c, CAIRN_EFORMAT, c->img, "truncated IDX header",
		            "10 bytes, want 16");
		write_file(c->img, b.p, 3);
		expect_fail(c, CAIRN_EFORMAT, c->img, "truncated IDX header",
		            "3 bytes, want at least 4");
		buf_free(&b);
	}
}

static void test_counts(void **state)
{
	struct ctx *c = *state;

	static const uint8_t labels8[8] = {3, 0, 9, 1, 7, 2, 5, 4};
	uint8_t *labels60k = calloc(60000, 1);

	assert_non_null(labels60k);
	/* Declares one image more than it holds, plain and gzip'd (with as
	 * many labels as it declares, so that the pixels are read). */
	put(c->lab, make_labels(CAIRN_IDX_MAGIC_LABELS, 8, labels8, 8, 0));
	put(c->img, make_images(CAIRN_IDX_MAGIC_IMAGES, 8, 28, 28, N7, 0));
	expect_fail(c, CAIRN_EFORMAT, c->img,
	            "declares 8 images (6272 bytes) but holds 5488", NULL);
	put(c->img,
	    gz_of(make_images(CAIRN_IDX_MAGIC_IMAGES, 8, 28, 28, N7, 0)));
	expect_fail(c, CAIRN_EFORMAT, c->img,
	            "declares 8 images (6272 bytes) but holds 5488", NULL);
	/* Declares 60000, holds 7: memory follows the data. */
	put(c->lab,
	    make_labels(CAIRN_IDX_MAGIC_LABELS, 60000, labels60k, 60000, 0));
	free(labels60k);
	put(c->img,
	    gz_of(make_images(CAIRN_IDX_MAGIC_IMAGES, 60000, 28, 28, N7, 0)));
	expect_fail(c, CAIRN_EFORMAT, c->img,
	            "declares 60000 images (47040000 bytes) but holds 5488",
	            NULL);
	/* 60000 images of zeros, 47 MB in about 46 KB of gzip: refused as
	 * it inflates, past 64 to 1 (a gzip bomb), not read whole */
	put(c->img, gz_of(make_images(CAIRN_IDX_MAGIC_IMAGES, 60000, 28, 28, 0,
	                              (size_t)60000 * 784)));
	expect_fail(c, CAIRN_EFORMAT, c->img, "over 64 to 1", NULL);
	put(c->lab, good_labels());
	/* Absurd and empty counts. */
	put(c->img,
	    make_images(CAIRN_IDX_MAGIC_IMAGES, 10000001u, 28, 28, N7, 0));
	expect_fail(c, CAIRN_ERANGE, c->img, "declares 10000001 images",
	            "want 1 to 10000000");
	put(c->img,
	    make_images(CAIRN_IDX_MAGIC_IMAGES, 0xffffffffu, 28, 28, N7, 0));
	expect_fail(c, CAIRN_ERANGE, c->img, "declares 4294967295 images",
	            NULL);
	put(c->img, make_images(CAIRN_IDX_MAGIC_IMAGES, 0, 28, 28, 0, 0));
	expect_fail(c, CAIRN_ERANGE, c->img, "declares 0 images", NULL);
	/* Labels declared larger than held. */
	put(c->img, good_images());
	put(c->lab,
	    gz_of(make_labels(CAIRN_IDX_MAGIC_LABELS, 9, labels7, N7, 0)));
	expect_fail(c, CAIRN_EFORMAT, c->lab,
	            "declares 9 labels (9 bytes) but holds 7", NULL);
	/* Counts that differ between the pair. */
	put(c->lab, make_labels(CAIRN_IDX_MAGIC_LABELS, 6, labels7, 6, 0));
	expect_fail(c, CAIRN_EFORMAT, c->img, "declares 7 images but",
	            "holds 6 labels");
	assert_non_null(strstr(c->msg, c->lab));
	/* An image file declaring more images than there are labels is
	 * refused from its header, before its pixels are read (a small gzip
	 * can inflate to gigabytes): here the pixels are not even there. */
	put(c->lab, good_labels());
	put(c->img,
	    gz_of(make_images(CAIRN_IDX_MAGIC_IMAGES, 1000000, 28, 28, N7, 0)));
	expect_fail(c, CAIRN_EFORMAT, c->img, "declares 1000000 images but",
	            "holds 7 labels");
}

static void test_trailing(void **state)
{
	struct ctx *c = *state;
	struct buf z, both;

	put(c->lab, good_labels());
	put(c->img, make_images(CAIRN_IDX_MAGIC_IMAGES, N7, 28, 28, N7, 3));
	expect_fail(c, CAIRN_EFORMAT, c->img,
	            "3 bytes of trailing data after the declared 7 images",
	            NULL);
	put(c->img,
	    gz_of(make_images(CAIRN_IDX_MAGIC_IMAGES, N7, 28, 28, N7, 100000)));
	expect_fail(c, CAIRN_EFORMAT, c->img,
	            "100000 bytes of trailing data after the declared 7 "
	            "images",
	            NULL);
	put(c->img, good_images());
	put(c->lab, make_labels(CAIRN_IDX_MAGIC_LABELS, N7, labels7, N7, 1));
	expect_fail(c, CAIRN_EFORMAT, c->lab, "1 byte of trailing data",
	            "7 labels");
	/* Bytes after a complete gzip stream. */
	put(c->lab, good_labels());
	z = gz_of(good_images());
	both.n = z.n + 5;
	both.p = calloc(1, both.n);
	assert_non_null(both.p);
	memcpy(both.p, z.p, z.n);
	put(c->img, both);
	expect_fail(c, CAIRN_EFORMAT, c->img,
	            "5 bytes of trailing data after the end of the gzip stream",
	            NULL);
	/* ... starting with gzip's magic, too few for another member: still
	 * trailing data, not a truncated stream */
	for (size_t extra = 1; extra <= 3; extra++) {
		static const uint8_t magic[3] = {0x1f, 0x8b, 0x08};
		char want[96];
		both.n = z.n + extra;
		both.p = calloc(1, both.n);
		assert_non_null(both.p);
		memcpy(both.p, z.p, z.n);
		memcpy(both.p + z.n, magic, extra);
		put(c->img, both);
		snprintf(want, sizeof want,
		         "%zu byte%s of trailing data after the end of the "
		         "gzip stream (at byte %zu), too few",
		         extra, extra == 1 ? "" : "s", z.n);
		expect_fail(c, CAIRN_EFORMAT, c->img, want, NULL);
	}
	buf_free(&z);
}

static void test_label_range(void **state)
{
	struct ctx *c = *state;
	uint8_t l[N7];

	put(c->img, good_images());
	memcpy(l, labels7, N7);
	l[4] = 10;
	put(c->lab, gz_of(make_labels(CAIRN_IDX_MAGIC_LABELS, N7, l, N7, 0)));
	expect_fail(c, CAIRN_ERANGE, c->lab,
	            "label 10 at index 4 is out of range (want 0..9)", NULL);
	l[4] = 9;
	l[6] = 255;
	put(c->lab, make_labels(CAIRN_IDX_MAGIC_LABELS, N7, l, N7, 0));
	expect_fail(c, CAIRN_ERANGE, c->lab, "label 255 at index 6", NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_truncated_gzip, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_corrupt_gzip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_every_cut_and_flip, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wrong_magic, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wrong_dims, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_counts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_trailing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_label_range, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
