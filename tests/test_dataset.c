/* cairn: the IDX dataset reader (include/cairn/dataset.h).
 *
 * Each test writes crafted IDX files, gzip'd with zlib or plain, into a
 * fresh temporary directory (the fixture) and checks the loaded bytes, or
 * the error code and that the message names the file and the bad value.
 * The last test loads the real Fashion-MNIST splits when Debian's
 * dataset-fashion-mnist is installed, and skips otherwise. */
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
#include <zlib.h>

#include "cairn/dataset.h"
#include "cairn/error.h"

#define N7 7u /* samples in the small valid dataset */

static const uint8_t labels7[N7] = {3, 0, 9, 1, 7, 2, 5};

struct ctx {
	char dir[64];
	char img[128]; /* dir/img */
	char lab[128]; /* dir/lab */
	char msg[1024];
};

/* A byte buffer the tests build files in. */
struct buf {
	uint8_t *p;
	size_t n;
};

static void buf_free(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->n = 0;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Sample i, pixel j: covers every byte value 0..255 across 7 images. */
static uint8_t pixel_of(uint32_t i, uint32_t j)
{
	return (uint8_t)(i * 131u + j * 7u + (i ^ j));
}

/* An image file declaring `count` images of rows x cols, holding `have`
 * images' worth of pixels, then `extra` trailing bytes. */
static struct buf make_images(uint32_t magic, uint32_t count, uint32_t rows,
			      uint32_t cols, uint32_t have, size_t extra)
{
	size_t px = (size_t)rows * cols, n = 16 + have * px + extra;
	struct buf b = {calloc(1, n), n};

	assert_non_null(b.p);
	put_be32(b.p, magic);
	put_be32(b.p + 4, count);
	put_be32(b.p + 8, rows);
	put_be32(b.p + 12, cols);
	for (uint32_t i = 0; i < have; i++)
		for (size_t j = 0; j < px; j++)
			b.p[16 + i * px + j] = pixel_of(i, (uint32_t)j);
	memset(b.p + 16 + have * px, 0xab, extra);
	return b;
}

/* A label file declaring `count` labels, holding labels[0..have-1]. */
static struct buf make_labels(uint32_t magic, uint32_t count,
			      const uint8_t *labels, uint32_t have,
			      size_t extra)
{
	size_t n = 8 + have + extra;
	struct buf b = {calloc(1, n), n};

	assert_non_null(b.p);
	put_be32(b.p, magic);
	put_be32(b.p + 4, count);
	memcpy(b.p + 8, labels, have);
	memset(b.p + 8 + have, 0xcd, extra);
	return b;
}

/* gzip of raw, as gzip(1) would write it (one member). */
static struct buf gz(const struct buf *raw)
{
	z_stream zs;
	struct buf b;

	memset(&zs, 0, sizeof zs);
	assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8,
				      Z_DEFAULT_STRATEGY),
			 Z_OK);
	b.n = deflateBound(&zs, raw->n) + 32;
	b.p = malloc(b.n);
	assert_non_null(b.p);
	zs.next_in = raw->p;
	zs.avail_in = (uInt)raw->n;
	zs.next_out = b.p;
	zs.avail_out = (uInt)b.n;
	assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
	b.n = zs.total_out;
	deflateEnd(&zs);
	return b;
}

static void write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	if (n)
		assert_int_equal(fwrite(p, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

/* Writes b to path and frees it. */
static void put(const char *path, struct buf b)
{
	write_file(path, b.p, b.n);
	buf_free(&b);
}

static struct buf gz_of(struct buf raw)
{
	struct buf z = gz(&raw);

	buf_free(&raw);
	return z;
}

static struct buf good_images(void)
{
	return make_images(CAIRN_IDX_MAGIC_IMAGES, N7, 28, 28, N7, 0);
}

static struct buf good_labels(void)
{
	return make_labels(CAIRN_IDX_MAGIC_LABELS, N7, labels7, N7, 0);
}

static void rm_tree(const char *path)
{
	struct stat st;
	struct dirent *e;
	char sub[512];
	DIR *d;

	if (lstat(path, &st) != 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlink(path);
		return;
	}
	d = opendir(path);
	if (d) {
		while ((e = readdir(d)) != NULL) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
			rm_tree(sub);
		}
		closedir(d);
	}
	rmdir(path);
}

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof *c);

	if (!c)
		return -1;
	snprintf(c->dir, sizeof c->dir, "/tmp/cairn-dataset-XXXXXX");
	if (!mkdtemp(c->dir)) {
		free(c);
		return -1;
	}
	snprintf(c->img, sizeof c->img, "%s/img", c->dir);
	snprintf(c->lab, sizeof c->lab, "%s/lab", c->dir);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	rm_tree(c->dir);
	free(c);
	return 0;
}

/* Opens c->img and c->lab and expects failure with code rc and a message
 * holding the file `path` (when not NULL) and each non-NULL needle. */
static void expect_fail(struct ctx *c, int rc, const char *path,
			const char *needle, const char *needle2)
{
	cairn_dataset *ds = (cairn_dataset *)&ds; /* must be reset */
	int got;

	memset(c->msg, 0, sizeof c->msg);
	got = cairn_dataset_open_files(c->img, c->lab, &ds, c->msg,
				       sizeof c->msg);
	print_message("    %d: %s\n", got, c->msg);
	assert_int_equal(got, rc);
	assert_null(ds);
	if (path)
		assert_non_null(strstr(c->msg, path));
	if (needle)
		assert_non_null(strstr(c->msg, needle));
	if (needle2)
		assert_non_null(strstr(c->msg, needle2));
}

static uint32_t fbits(float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof u);
	return u;
}

/* Checks a loaded copy of the 7-sample dataset byte for byte. */
static void check_seven(const cairn_dataset *ds)
{
	assert_int_equal(ds->count, N7);
	for (uint32_t i = 0; i < N7; i++) {
		assert_int_equal(ds->labels[i], labels7[i]);
		for (uint32_t j = 0; j < CAIRN_DATASET_PIXELS; j++)
			assert_int_equal(ds->images[i * CAIRN_DATASET_PIXELS + j],
					 pixel_of(i, j));
	}
}

static cairn_dataset *open_ok(struct ctx *c)
{
	cairn_dataset *ds = NULL;
	int rc = cairn_dataset_open_files(c->img, c->lab, &ds, c->msg,
					  sizeof c->msg);

	if (rc)
		print_message("unexpected: %s\n", c->msg);
	assert_int_equal(rc, 0);
	assert_non_null(ds);
	return ds;
}

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
	assert_int_equal(cairn_dataset_gather(ds, idx, 5, x, y, c->msg,
					      sizeof c->msg),
			 0);
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
	assert_int_equal(cairn_dataset_gather(ds, bad, 3, x, y, c->msg,
					      sizeof c->msg),
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
	put(c->img, gz_of(make_images(CAIRN_IDX_MAGIC_IMAGES, N7, 28, 29, N7,
				      0)));
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
	put(c->img, gz_of(make_images(CAIRN_IDX_MAGIC_IMAGES, 8, 28, 28, N7,
				      0)));
	expect_fail(c, CAIRN_EFORMAT, c->img,
		    "declares 8 images (6272 bytes) but holds 5488", NULL);
	/* Declares 60000, holds 7: memory follows the data. */
	put(c->lab, make_labels(CAIRN_IDX_MAGIC_LABELS, 60000, labels60k,
				60000, 0));
	free(labels60k);
	put(c->img, gz_of(make_images(CAIRN_IDX_MAGIC_IMAGES, 60000, 28, 28,
				      N7, 0)));
	expect_fail(c, CAIRN_EFORMAT, c->img,
		    "declares 60000 images (47040000 bytes) but holds 5488",
		    NULL);
	/* 60000 images of zeros, 47 MB in about 46 KB of gzip: refused as
	 * it inflates, past 64 to 1 (a gzip bomb), not read whole */
	put(c->img, gz_of(make_images(CAIRN_IDX_MAGIC_IMAGES, 60000, 28, 28,
				      0, (size_t)60000 * 784)));
	expect_fail(c, CAIRN_EFORMAT, c->img, "over 64 to 1", NULL);
	put(c->lab, good_labels());
	/* Absurd and empty counts. */
	put(c->img, make_images(CAIRN_IDX_MAGIC_IMAGES, 10000001u, 28, 28, N7,
				0));
	expect_fail(c, CAIRN_ERANGE, c->img, "declares 10000001 images",
		    "want 1 to 10000000");
	put(c->img, make_images(CAIRN_IDX_MAGIC_IMAGES, 0xffffffffu, 28, 28,
				N7, 0));
	expect_fail(c, CAIRN_ERANGE, c->img, "declares 4294967295 images",
		    NULL);
	put(c->img, make_images(CAIRN_IDX_MAGIC_IMAGES, 0, 28, 28, 0, 0));
	expect_fail(c, CAIRN_ERANGE, c->img, "declares 0 images", NULL);
	/* Labels declared larger than held. */
	put(c->img, good_images());
	put(c->lab, gz_of(make_labels(CAIRN_IDX_MAGIC_LABELS, 9, labels7, N7,
				      0)));
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
	put(c->img, gz_of(make_images(CAIRN_IDX_MAGIC_IMAGES, 1000000, 28, 28,
				      N7, 0)));
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
	put(c->img, gz_of(make_images(CAIRN_IDX_MAGIC_IMAGES, N7, 28, 28, N7,
				      100000)));
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

		assert_int_equal(cairn_dataset_open_files(NULL, c->lab, &ds,
							  c->msg,
							  sizeof c->msg),
				 CAIRN_EINVAL);
		assert_int_equal(cairn_dataset_open_files(c->img, c->lab, NULL,
							  NULL, 0),
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
		assert_int_equal(cairn_dataset_gather(ds, idx, 2, x, y, NULL,
						      0),
				 0);
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
		cmocka_unit_test_setup_teardown(test_gzip_members, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_gather_range, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_truncated_gzip, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_gzip, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_every_cut_and_flip, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_magic, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_wrong_dims, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trailing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_label_range, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreadable, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_open_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fashion_mnist, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
