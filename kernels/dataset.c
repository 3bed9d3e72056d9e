/* cairn: Fashion-MNIST IDX files, gzip'd or plain, validated
 * (include/cairn/dataset.h).
 *
 * A file is read through a small byte source (struct src) that either
 * inflates a gzip stream with zlib or copies a plain file, 64 KiB at a time.
 * On top of it, idx_load() checks the header (magic, dimensions, count)
 * before it allocates anything, then grows the data buffer as bytes arrive,
 * so memory follows the data actually present, never the declared size
 * alone.  It reads to the very end, so that a gzip stream's CRC and length
 * are checked and trailing bytes are caught. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "cairn/dataset.h"
#include "cairn/error.h"
#include "cairn/log.h"

#define SRC_CHUNK (64u * 1024u)    /* file bytes read at a time */
#define FIRST_ALLOC (1u << 20)     /* first data buffer, grown by doubling */
#define TRAILING_MAX (64ull << 20) /* trailing bytes counted at most */
/* A gzip'd file may inflate to at most GZ_SLACK + GZ_MAX_RATIO times the
 * compressed bytes used so far.  Image data compresses far less (Fashion-
 * MNIST about 2 to 1, MNIST under 5 to 1); a few kilobytes of zeros that
 * inflate to gigabytes is a gzip bomb, refused as it inflates. */
#define GZ_MAX_RATIO 64
/* The shortest whole gzip member: a 10-byte header, an empty deflate
 * block (2 bytes) and the 8-byte trailer. */
#define GZ_MIN_MEMBER 20
#define GZ_SLACK (16ull << 20)
#define PATH_BUF 4096

/* What an IDX file of one kind must hold. */
struct idx_kind {
	uint32_t magic;
	unsigned ndims;
	unsigned item;     /* bytes per sample */
	const char *what;  /* "an image file" */
	const char *noun;  /* "images" */
	const char *shape; /* the dimensions, in words */
};

static const struct idx_kind kind_images = {
    CAIRN_IDX_MAGIC_IMAGES, 3,        CAIRN_DATASET_PIXELS,
    "an image file",        "images", "count x 28 x 28"};
static const struct idx_kind kind_labels = {
    CAIRN_IDX_MAGIC_LABELS, 1, 1, "a label file", "labels", "count"};

/* A byte source over one file.  zs.next_in/avail_in is the cursor into
 * in[] for both modes. */
struct src {
	const char *path;
	FILE *f;
	unsigned char *in;  /* SRC_CHUNK bytes */
	uint64_t in_total;  /* file bytes read so far */
	uint64_t out_total; /* bytes inflated so far, all members */
	uint64_t file_size;
	int in_eof;         /* the file has no more bytes */
	int gz;             /* 1: gzip, 0: plain */
	int zinit;          /* inflateInit2 done */
	int member_end;     /* the current gzip member has ended */
	uint64_t member_at; /* where a later member starts (0: the first) */
	z_stream zs;
	char *err;
	size_t errlen;
};

/* The loaded data section of one IDX file; data is malloc'd. */
struct idx {
	uint32_t count;
	uint8_t *data;
};

/* The dataset the caller sees is the first member, so the handle converts
 * back to this on close. */
struct ds_impl {
	cairn_dataset pub;
	uint8_t *images;
	uint8_t *labels;
};

/* Writes a message into err (when there is room) and returns rc. */
static int seterr(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int seterr(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Reads the next chunk of the file into in[]; sets in_eof at its end. */
static int src_fill(struct src *s)
{
	size_t got;
	int e;

	s->zs.next_in = s->in;
	s->zs.avail_in = 0;
	if (s->in_eof)
		return 0;
	errno = 0;
	got = fread(s->in, 1, SRC_CHUNK, s->f);
	if (got < SRC_CHUNK) {
		if (ferror(s->f)) {
			e = errno;
			return seterr(s->err, s->errlen, CAIRN_EIO,
			              "dataset %s: read failed after %llu "
			              "bytes: %s",
			              s->path, (unsigned long long)s->in_total,
			              e ? strerror(e) : "I/O error");
		}
		s->in_eof = 1;
	}
	s->zs.avail_in = (uInt)got;
	s->in_total += got;
	return 0;
}

/* Plain file: copies up to n bytes; *got < n only at the end of the file. */
static int src_read_plain(struct src *s, unsigned char *buf, size_t n,
                          size_t *got)
{
	size_t done = 0, take;
	int rc = 0;

	while (done < n) {
		if (s->zs.avail_in == 0) {
			rc = src_fill(s);
			if (rc || s->zs.avail_in == 0)
				break;
		}
		take = n - done < s->zs.avail_in ? n - done : s->zs.avail_in;
		memcpy(buf + done, s->zs.next_in, take);
		s->zs.next_in += take;
		s->zs.avail_in -= (uInt)take;
		done += take;
	}
	*got = done;
	return rc;
}

/* gzip: inflates up to n bytes; *got < n only at the clean end of the last
 * member (its CRC and length checked).  Anything else that ends the data
 * early is an error: a truncated stream, corrupt data, trailing bytes. */
static int src_read_gz(struct src *s, unsigned char *buf, size_t n, size_t *got)
{
	size_t done = 0, chunk;
	uint64_t at;
	int rc = 0, ret;

	while (done < n) {
		if (s->member_end) {
			if (s->zs.avail_in == 0) {
				rc = src_fill(s);
				if (rc || s->zs.avail_in == 0)
					break; /* the clean end */
			}
			if (s->zs.next_in[0] != 0x1f) {
				uint64_t left;
				at = s->in_total - s->zs.avail_in;
				left =
				    s->file_size > at ? s->file_size - at : 0;
				rc = seterr(
				    s->err, s->errlen, CAIRN_EFORMAT,
				    "dataset %s: %llu byte%s of trailing "
				    "data after the end of the gzip "
				    "stream (at byte %llu); want none",
				    s->path, (unsigned long long)left,
				    left == 1 ? "" : "s",
				    (unsigned long long)at);
				break;
			}
			/* Another gzip member follows (as `cat a.gz b.gz`). */
			s->member_at = s->in_total - s->zs.avail_in;
			if (inflateReset(&s->zs) != Z_OK) {
				rc = seterr(s->err, s->errlen, CAIRN_EINTERNAL,
				            "dataset %s: inflateReset failed",
				            s->path);
				break;
			}
			s->member_end = 0;
		}
		if (s->zs.avail_in == 0) {
			rc = src_fill(s);
			if (rc)
				break;
			if (s->zs.avail_in == 0 && s->member_at &&
			    s->in_total - s->member_at < GZ_MIN_MEMBER) {
				/* too short for a member: stray bytes */
				uint64_t left = s->in_total - s->member_at;
				rc = seterr(
				    s->err, s->errlen, CAIRN_EFORMAT,
				    "dataset %s: %llu byte%s of trailing "
				    "data after the end of the gzip "
				    "stream (at byte %llu), too few for "
				    "another gzip member; want none",
				    s->path, (unsigned long long)left,
				    left == 1 ? "" : "s",
				    (unsigned long long)s->member_at);
				break;
			}
			if (s->zs.avail_in == 0) {
				rc = seterr(
				    s->err, s->errlen, CAIRN_EFORMAT,
				    "dataset %s: truncated gzip stream: "
				    "the file ends after %llu bytes, "
				    "before the end of the compressed "
				    "data (%llu bytes decompressed); "
				    "want a complete .gz file",
				    s->path, (unsigned long long)s->in_total,
				    (unsigned long long)s->out_total);
				break;
			}
		}
		chunk = n - done < UINT_MAX ? n - done : UINT_MAX;
		s->zs.next_out = buf + done;
		s->zs.avail_out = (uInt)chunk;
		ret = inflate(&s->zs, Z_NO_FLUSH);
		done += chunk - s->zs.avail_out;
		s->out_total += chunk - s->zs.avail_out;
		at = s->in_total - s->zs.avail_in; /* compressed bytes used */
		if (s->out_total > GZ_SLACK + GZ_MAX_RATIO * at) {
			rc = seterr(s->err, s->errlen, CAIRN_EFORMAT,
			            "dataset %s: %llu bytes inflated from %llu "
			            "compressed ones, over %d to 1: not image "
			            "data (real IDX files compress less than 5 "
			            "to 1); refused before it fills memory",
			            s->path, (unsigned long long)s->out_total,
			            (unsigned long long)at, GZ_MAX_RATIO);
			break;
		}
		if (ret == Z_STREAM_END) {
			s->member_end = 1;
		} else if (ret == Z_MEM_ERROR) {
			rc = seterr(s->err, s->errlen, CAIRN_ENOMEM,
			            "dataset %s: out of memory in zlib",
			            s->path);
			break;
		} else if (ret != Z_OK && ret != Z_BUF_ERROR) {
			at = s->in_total - s->zs.avail_in;
			rc = seterr(s->err, s->errlen, CAIRN_EFORMAT,
			            "dataset %s: corrupt gzip data near byte "
			            "%llu (zlib: %s)",
			            s->path, (unsigned long long)at,
			            s->zs.msg ? s->zs.msg : "error");
			break;
		}
	}
	*got = done;
	return rc;
}

static int src_read(struct src *s, unsigned char *buf, size_t n, size_t *got)
{
	return s->gz ? src_read_gz(s, buf, n, got)
	             : src_read_plain(s, buf, n, got);
}

static void src_close(struct src *s)
{
	if (s->zinit)
		inflateEnd(&s->zs);
	if (s->f)
		fclose(s->f);
	free(s->in);
	s->zinit = 0;
	s->f = NULL;
	s->in = NULL;
}

/* Opens path (a regular file, never a directory or FIFO), reads its first
 * chunk and picks gzip or plain by the gzip magic 1f 8b.  On failure the
 * source holds nothing; src_close() is safe either way. */
static int src_open(struct src *s, const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd, e, rc;

	memset(s, 0, sizeof *s);
	s->path = path;
	s->err = err;
	s->errlen = errlen;
	/* O_NONBLOCK: a FIFO must not hang the open; no effect on files. */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		if (e == ENOENT || e == ENOTDIR)
			return seterr(err, errlen, CAIRN_ENOENT,
			              "dataset %s: no such file", path);
		if (e == EACCES || e == EPERM)
			return seterr(err, errlen, CAIRN_EPERM,
			              "dataset %s: cannot open: %s", path,
			              strerror(e));
		return seterr(err, errlen, CAIRN_EIO,
		              "dataset %s: cannot open: %s", path, strerror(e));
	}
	if (fstat(fd, &st) != 0) {
		e = errno;
		close(fd);
		return seterr(err, errlen, CAIRN_EIO,
		              "dataset %s: cannot stat: %s", path, strerror(e));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return seterr(err, errlen, CAIRN_EINVAL,
		              "dataset %s: %s; want an IDX file, gzip'd or "
		              "plain",
		              path,
		              S_ISDIR(st.st_mode)
		                  ? "is a directory"
		                  : "is not a regular file (a FIFO, socket "
		                    "or device)");
	}
	s->file_size = (uint64_t)st.st_size;
	s->f = fdopen(fd, "rb");
	if (!s->f) {
		e = errno;
		close(fd);
		return seterr(err, errlen, CAIRN_EIO,
		              "dataset %s: cannot open: %s", path, strerror(e));
	}
	s->in = malloc(SRC_CHUNK);
	if (!s->in)
		return seterr(err, errlen, CAIRN_ENOMEM,
		              "dataset %s: out of memory", path);
	rc = src_fill(s);
	if (rc)
		return rc;
	if (s->zs.avail_in == 0)
		return seterr(err, errlen, CAIRN_EFORMAT,
		              "dataset %s: is empty (0 bytes); want an IDX "
		              "file, gzip'd or plain",
		              path);
	if (s->zs.avail_in >= 2 && s->in[0] == 0x1f && s->in[1] == 0x8b) {
		s->gz = 1;
		/* 16 + MAX_WBITS: gzip wrapper only, CRC and length checked. */
		if (inflateInit2(&s->zs, 16 + MAX_WBITS) != Z_OK)
			return seterr(err, errlen, CAIRN_ENOMEM,
			              "dataset %s: cannot start zlib", path);
		s->zinit = 1;
	}
	return 0;
}

/* The message for a magic that is not k's: what it is and what is wanted. */
static int bad_magic(const char *path, const struct idx_kind *k, uint32_t m,
                     char *err, size_t errlen)
{
	const struct idx_kind *other =
	    k == &kind_images ? &kind_labels : &kind_images;
	unsigned type = (m >> 8) & 0xffu, nd = m & 0xffu;
	char why[160];

	if (m >> 16 == 0x1f8bu)
		snprintf(why, sizeof why,
		         "gzip data inside the gzip stream; compressed twice?");
	else if (m >> 16)
		snprintf(why, sizeof why,
		         "not an IDX file (an IDX magic starts with two zero "
		         "bytes)");
	else if (type != 0x08)
		snprintf(why, sizeof why,
		         "element type 0x%02x, want 0x08 (unsigned byte)",
		         type);
	else
		snprintf(why, sizeof why, "%u dimension%s, want %u (%s)%s%s%s",
		         nd, nd == 1 ? "" : "s", k->ndims, k->shape,
		         m == other->magic ? "; is this " : "",
		         m == other->magic ? other->what : "",
		         m == other->magic ? "?" : "");
	return seterr(err, errlen, CAIRN_EFORMAT,
	              "dataset %s: bad IDX magic 0x%08x (want 0x%08x for %s): "
	              "%s",
	              path, (unsigned)m, (unsigned)k->magic, k->what, why);
}

/* Reads want data bytes into a buffer that grows as bytes arrive.  On
 * success *out (malloc'd, owned by the caller) holds *have <= want bytes;
 * *have < want means the data ended early.  On failure nothing is left. */
static int read_data(struct src *s, const struct idx_kind *k, size_t want,
                     uint8_t **out, size_t *have)
{
	size_t cap = want < FIRST_ALLOC ? want : FIRST_ALLOC, got, n = 0;
	uint8_t *buf, *nb;
	int rc = 0;

	*out = NULL;
	*have = 0;
	buf = malloc(cap);
	if (!buf)
		return seterr(s->err, s->errlen, CAIRN_ENOMEM,
		              "dataset %s: out of memory (%zu bytes)", s->path,
		              cap);
	for (;;) {
		rc = src_read(s, buf + n, cap - n, &got);
		n += got;
		if (rc || n < cap || cap == want)
			break;
		cap = cap > want / 2 ? want : cap * 2;
		nb = realloc(buf, cap);
		if (!nb) {
			rc = seterr(s->err, s->errlen, CAIRN_ENOMEM,
			            "dataset %s: out of memory (%zu bytes for "
			            "the %s)",
			            s->path, cap, k->noun);
			break;
		}
		buf = nb;
	}
	if (rc) {
		free(buf);
		return rc;
	}
	*out = buf;
	*have = n;
	return 0;
}

/* Loads one IDX file of kind k.  On success out->data is malloc'd and owned
 * by the caller; on failure out is zeroed and nothing is left allocated. */
/* Loads path as k; with other (not NULL), the file whose count this one
 * must declare (the labels of these images), checked from the header,
 * before the data is read: a small file that declares more items than
 * its partner is refused at once, not after gigabytes are inflated. */
static int idx_load(const char *path, const struct idx_kind *k,
                    const char *other, uint32_t other_count, struct idx *out,
                    char *err, size_t errlen)
{
	unsigned char hdr[16], scratch[4096];
	size_t hlen = 4 + 4 * (size_t)k->ndims, got, have = 0;
	uint64_t want, extra = 0;
	uint32_t magic, count, rows, cols;
	uint8_t *data = NULL;
	struct src s;
	int rc;

	memset(out, 0, sizeof *out);
	rc = src_open(&s, path, err, errlen);
	if (rc)
		goto out;
	rc = src_read(&s, hdr, 4, &got);
	if (rc)
		goto out;
	if (got < 4) {
		rc = seterr(err, errlen, CAIRN_EFORMAT,
		            "dataset %s: truncated IDX header: %zu byte%s, "
		            "want at least 4 (the magic)",
		            path, got, got == 1 ? "" : "s");
		goto out;
	}
	magic = be32(hdr);
	if (magic != k->magic) {
		rc = bad_magic(path, k, magic, err, errlen);
		goto out;
	}
	rc = src_read(&s, hdr + 4, hlen - 4, &got);
	if (rc)
		goto out;
	if (got < hlen - 4) {
		rc = seterr(err, errlen, CAIRN_EFORMAT,
		            "dataset %s: truncated IDX header: %zu bytes, "
		            "want %zu (the magic and %u dimensions)",
		            path, 4 + got, hlen, k->ndims);
		goto out;
	}
	count = be32(hdr + 4);
	if (k->ndims == 3) {
		rows = be32(hdr + 8);
		cols = be32(hdr + 12);
		if (rows != CAIRN_DATASET_ROWS || cols != CAIRN_DATASET_COLS) {
			rc = seterr(err, errlen, CAIRN_EFORMAT,
			            "dataset %s: images are %ux%u pixels, "
			            "want 28x28",
			            path, (unsigned)rows, (unsigned)cols);
			goto out;
		}
	}
	if (count == 0 || count > CAIRN_DATASET_MAX_COUNT) {
		rc = seterr(err, errlen, CAIRN_ERANGE,
		            "dataset %s: declares %u %s; want 1 to %u", path,
		            (unsigned)count, k->noun,
		            (unsigned)CAIRN_DATASET_MAX_COUNT);
		goto out;
	}
	if (other && count != other_count) {
		rc = seterr(err, errlen, CAIRN_EFORMAT,
		            "dataset %s: declares %u %s but %s holds %u "
		            "labels; want one label per image",
		            path, (unsigned)count, k->noun, other,
		            (unsigned)other_count);
		goto out;
	}
	want = (uint64_t)count * k->item;
	if (want > SIZE_MAX) {
		rc = seterr(err, errlen, CAIRN_ENOMEM,
		            "dataset %s: %llu bytes do not fit in memory", path,
		            (unsigned long long)want);
		goto out;
	}
	rc = read_data(&s, k, (size_t)want, &data, &have);
	if (rc)
		goto out;
	if (have < want) {
		rc = seterr(err, errlen, CAIRN_EFORMAT,
		            "dataset %s: declares %u %s (%llu bytes) but "
		            "holds %zu",
		            path, (unsigned)count, k->noun,
		            (unsigned long long)want, have);
		goto out;
	}
	/* Count what follows the declared data, without keeping it. */
	do {
		rc = src_read(&s, scratch, sizeof scratch, &got);
		if (rc)
			goto out;
		extra += got;
	} while (got == sizeof scratch && extra < TRAILING_MAX);
	if (extra) {
		rc = seterr(err, errlen, CAIRN_EFORMAT,
		            "dataset %s: %s%llu byte%s of trailing data after "
		            "the declared %u %s (%llu bytes); want none",
		            path, extra >= TRAILING_MAX ? "at least " : "",
		            (unsigned long long)extra, extra == 1 ? "" : "s",
		            (unsigned)count, k->noun, (unsigned long long)want);
		goto out;
	}
	if (k == &kind_labels) {
		for (uint32_t i = 0; i < count; i++) {
			if (data[i] < CAIRN_DATASET_CLASSES)
				continue;
			rc = seterr(err, errlen, CAIRN_ERANGE,
			            "dataset %s: label %u at index %u is out "
			            "of range (want 0..%u)",
			            path, (unsigned)data[i], (unsigned)i,
			            CAIRN_DATASET_CLASSES - 1u);
			goto out;
		}
	}
	out->count = count;
	out->data = data;
	data = NULL;
out:
	src_close(&s);
	free(data);
	return rc;
}

int cairn_dataset_open_files(const char *images_path, const char *labels_path,
                             cairn_dataset **out, char *err, size_t errlen)
{
	struct idx img = {0}, lab = {0};
	struct ds_impl *d = NULL;
	int rc;

	if (err && errlen)
		err[0] = '\0';
	if (!out)
		return seterr(err, errlen, CAIRN_EINVAL,
		              "dataset: no output handle given");
	*out = NULL;
	if (!images_path || !labels_path)
		return seterr(err, errlen, CAIRN_EINVAL,
		              "dataset: no %s file given",
		              images_path ? "label" : "image");
	/* The labels first (one byte each): the images' header must then
	 * declare as many (idx_load checks it before reading the pixels). */
	rc = idx_load(labels_path, &kind_labels, NULL, 0, &lab, err, errlen);
	if (rc)
		goto out;
	rc = idx_load(images_path, &kind_images, labels_path, lab.count, &img,
	              err, errlen);
	if (rc)
		goto out;
	d = calloc(1, sizeof *d);
	if (!d) {
		rc = seterr(err, errlen, CAIRN_ENOMEM,
		            "dataset %s: out of memory", images_path);
		goto out;
	}
	d->images = img.data;
	d->labels = lab.data;
	d->pub.count = img.count;
	d->pub.images = d->images;
	d->pub.labels = d->labels;
	img.data = lab.data = NULL;
	*out = &d->pub;
	cairn_debug("dataset %s, %s: %u samples", images_path, labels_path,
	            (unsigned)d->pub.count);
out:
	free(img.data);
	free(lab.data);
	return rc;
}

/* Joins dir and base into path, preferring base.gz, then base, the way
 * Debian installs the files or a user may have unpacked them. */
static int find_file(const char *dir, const char *base, char *path, size_t len,
                     char *err, size_t errlen)
{
	const char *sep = dir[0] && dir[strlen(dir) - 1] == '/' ? "" : "/";
	struct stat st;
	int n;

	n = snprintf(path, len, "%s%s%s.gz", dir, sep, base);
	if (n < 0 || (size_t)n >= len)
		return seterr(err, errlen, CAIRN_EINVAL,
		              "dataset directory %s: path too long", dir);
	if (stat(path, &st) == 0 || errno != ENOENT)
		return 0; /* opening it says what is wrong, if anything */
	snprintf(path, len, "%s%s%s", dir, sep, base);
	if (stat(path, &st) == 0 || errno != ENOENT)
		return 0;
	snprintf(path, len, "%s%s%s.gz", dir, sep, base);
	return seterr(err, errlen, CAIRN_ENOENT,
	              "dataset %s: no such file (nor %s without .gz); want "
	              "the Fashion-MNIST IDX files there (apt-get install "
	              "dataset-fashion-mnist, or --data DIR)",
	              path, base);
}

int cairn_dataset_open(const char *dir, const char *split, cairn_dataset **out,
                       char *err, size_t errlen)
{
	char ipath[PATH_BUF], lpath[PATH_BUF];
	const char *prefix;
	struct stat st;
	int rc, e;

	if (err && errlen)
		err[0] = '\0';
	if (!out)
		return seterr(err, errlen, CAIRN_EINVAL,
		              "dataset: no output handle given");
	*out = NULL;
	if (!dir)
		dir = CAIRN_DATASET_DEFAULT_DIR;
	if (!split)
		split = "(null)";
	if (strcmp(split, "train") == 0)
		prefix = "train";
	else if (strcmp(split, "test") == 0)
		prefix = "t10k";
	else
		return seterr(err, errlen, CAIRN_EINVAL,
		              "dataset: unknown split '%s'; want train or test",
		              split);
	if (stat(dir, &st) != 0) {
		e = errno;
		return seterr(
		    err, errlen, e == ENOENT ? CAIRN_ENOENT : CAIRN_EIO,
		    "dataset directory %s: %s; want the Fashion-MNIST "
		    "IDX files there (apt-get install "
		    "dataset-fashion-mnist, or --data DIR)",
		    dir, strerror(e));
	}
	if (!S_ISDIR(st.st_mode))
		return seterr(err, errlen, CAIRN_EINVAL,
		              "dataset directory %s: not a directory; give "
		              "--data the directory that holds the "
		              "Fashion-MNIST IDX files",
		              dir);
	{
		char ib[32], lb[32];

		snprintf(ib, sizeof ib, "%s-images-idx3-ubyte", prefix);
		snprintf(lb, sizeof lb, "%s-labels-idx1-ubyte", prefix);
		rc = find_file(dir, ib, ipath, sizeof ipath, err, errlen);
		if (rc)
			return rc;
		rc = find_file(dir, lb, lpath, sizeof lpath, err, errlen);
		if (rc)
			return rc;
	}
	return cairn_dataset_open_files(ipath, lpath, out, err, errlen);
}

void cairn_dataset_close(cairn_dataset *ds)
{
	struct ds_impl *d = (struct ds_impl *)ds;

	if (!d)
		return;
	free(d->images);
	free(d->labels);
	free(d);
}

int cairn_dataset_gather(const cairn_dataset *ds, const uint32_t *idx, size_t n,
                         float *x, int32_t *y, char *err, size_t errlen)
{
	if (!ds || (n && !idx))
		return seterr(err, errlen, CAIRN_EINVAL,
		              "dataset: gather: no dataset or no indices");
	if (n > SIZE_MAX / sizeof(float) / CAIRN_DATASET_PIXELS)
		return seterr(err, errlen, CAIRN_EINVAL,
		              "dataset: gather: batch of %zu is too large", n);
	for (size_t b = 0; b < n; b++) {
		if (idx[b] < ds->count)
			continue;
		return seterr(err, errlen, CAIRN_ERANGE,
		              "dataset: gather: index %u at batch position "
		              "%zu is out of range (want 0..%u)",
		              (unsigned)idx[b], b, (unsigned)ds->count - 1u);
	}
	/* The 256 pixel values, each cairn_dataset_pixel's own division:
	 * a lookup per pixel instead of a division (the same bits). */
	float lut[256];
	for (int v = 0; v < 256; v++)
		lut[v] = cairn_dataset_pixel((uint8_t)v);
	for (size_t b = 0; b < n; b++) {
		const uint8_t *p =
		    ds->images + (size_t)idx[b] * CAIRN_DATASET_PIXELS;
		if (x) {
			float *row = x + b * CAIRN_DATASET_PIXELS;
			for (size_t j = 0; j < CAIRN_DATASET_PIXELS; j++)
				row[j] = lut[p[j]];
		}
		if (y)
			y[b] = ds->labels[idx[b]];
	}
	return 0;
}
