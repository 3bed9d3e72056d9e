/* cairn tests: the IDX files the dataset reader's tests write, shared by
 * test_dataset.c (well-formed data, gathers, files and directories, the
 * real Fashion-MNIST) and test_dataset_malformed.c (cut, corrupt and
 * inconsistent files).
 *
 * Each test writes crafted IDX files, gzip'd with zlib or plain, into a
 * fresh temporary directory (the fixture, setup and teardown) and checks
 * the loaded bytes, or the error code and that the message names the file
 * and the bad value. */
#ifndef CAIRN_DATASET_FIXTURE_H
#define CAIRN_DATASET_FIXTURE_H

/* Include after <cmocka.h>: the helpers below fail the running test; and
 * define _DEFAULT_SOURCE (for mkdtemp) before the first #include. */

#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

static inline void buf_free(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->n = 0;
}

static inline void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Sample i, pixel j: covers every byte value 0..255 across 7 images. */
static inline uint8_t pixel_of(uint32_t i, uint32_t j)
{
	return (uint8_t)(i * 131u + j * 7u + (i ^ j));
}

/* An image file declaring `count` images of rows x cols, holding `have`
 * images' worth of pixels, then `extra` trailing bytes. */
static inline struct buf make_images(uint32_t magic, uint32_t count,
                                     uint32_t rows, uint32_t cols,
                                     uint32_t have, size_t extra)
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
static inline struct buf make_labels(uint32_t magic, uint32_t count,
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
static inline struct buf gz(const struct buf *raw)
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

static inline void write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	if (n)
		assert_int_equal(fwrite(p, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

/* Writes b to path and frees it. */
static inline void put(const char *path, struct buf b)
{
	write_file(path, b.p, b.n);
	buf_free(&b);
}

static inline struct buf gz_of(struct buf raw)
{
	struct buf z = gz(&raw);

	buf_free(&raw);
	return z;
}

static inline struct buf good_images(void)
{
	return make_images(CAIRN_IDX_MAGIC_IMAGES, N7, 28, 28, N7, 0);
}

static inline struct buf good_labels(void)
{
	return make_labels(CAIRN_IDX_MAGIC_LABELS, N7, labels7, N7, 0);
}

/* Removes path and, for a directory, everything under it; fails the
 * running test rather than remove a path cut short to fit the buffer. */
static inline void rm_tree(const char *path)
{
	struct stat st;
	struct dirent *e;
	char sub[512];
	DIR *d;
	int w;

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
			w = snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
			if (w < 0 || (size_t)w >= sizeof sub) {
				/* never remove a cut path: it names another */
				print_error("rm_tree: %s/%s is longer than %zu "
				            "bytes\n",
				            path, e->d_name, sizeof sub - 1);
				closedir(d);
				fail();
			}
			rm_tree(sub);
		}
		closedir(d);
	}
	rmdir(path);
}

static inline int setup(void **state)
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

static inline int teardown(void **state)
{
	struct ctx *c = *state;

	rm_tree(c->dir);
	free(c);
	return 0;
}

/* Opens c->img and c->lab and expects failure with code rc and a message
 * holding the file `path` (when not NULL) and each non-NULL needle. */
static inline void expect_fail(struct ctx *c, int rc, const char *path,
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

static inline uint32_t fbits(float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof u);
	return u;
}

/* Checks a loaded copy of the 7-sample dataset byte for byte. */
static inline void check_seven(const cairn_dataset *ds)
{
	assert_int_equal(ds->count, N7);
	for (uint32_t i = 0; i < N7; i++) {
		assert_int_equal(ds->labels[i], labels7[i]);
		for (uint32_t j = 0; j < CAIRN_DATASET_PIXELS; j++)
			assert_int_equal(
			    ds->images[i * CAIRN_DATASET_PIXELS + j],
			    pixel_of(i, j));
	}
}

static inline cairn_dataset *open_ok(struct ctx *c)
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

#endif
