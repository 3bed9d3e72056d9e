/* cairn: internals shared by the files of attest/ (not a public header). */
#ifndef CAIRN_ATTEST_IMPL_H
#define CAIRN_ATTEST_IMPL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "cairn/attest.h"
#include "cairn/kernels.h"

/* cairn_tensor_root_on in two halves (tensor.c), for hashing that goes on
 * while the caller does other work: start queues the chunk hashes of
 * data (len bytes of be's memory) into dleaves (be's memory, 32 bytes a
 * leaf of cairn_tensor_leaf_count(len)); finish reads them into leaves
 * (host, as many bytes) and computes the root. */
int cairn__tensor_leaves_start(cairn_backend *be, const void *data, size_t len,
                               void *dleaves);
int cairn__tensor_root_finish(cairn_backend *be, const void *dleaves,
                              size_t len, uint8_t *leaves,
                              uint8_t out[CAIRN_HASH_BYTES]);

/* Writes one formatted line into err (when there is one). */
static inline void cairn__seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline void cairn__seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* A fixed-size name field from a file anyone may have written, fit for a
 * message: its n bytes up to the last non-NUL one, printable ASCII as it
 * is (but \\ and '), NUL as \0 and every other byte as \xNN, so no
 * escape sequence reaches a terminal and a bad byte in the padding shows.
 * out is always terminated; a field longer than fits ends in "...". */
static inline const char *cairn__field_quote(const char *p, size_t n, char *out,
                                             size_t outlen)
{
	static const char hx[] = "0123456789abcdef";
	size_t end = n, o = 0;

	if (!outlen)
		return out;
	while (end && !p[end - 1])
		end--;
	for (size_t i = 0; i < end; i++) {
		const unsigned char c = (unsigned char)p[i];
		char tmp[5];
		size_t k = 0;
		if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'') {
			tmp[k++] = (char)c;
		} else if (!c) {
			tmp[k++] = '\\';
			tmp[k++] = '0';
		} else {
			tmp[k++] = '\\';
			tmp[k++] = 'x';
			tmp[k++] = hx[c >> 4];
			tmp[k++] = hx[c & 15];
		}
		if (o + k + 4 > outlen) {
			if (outlen >= 4) {
				memcpy(out + (o < outlen - 4 ? o : outlen - 4),
				       "...", 3);
				o = (o < outlen - 4 ? o : outlen - 4) + 3;
			}
			break;
		}
		memcpy(out + o, tmp, k);
		o += k;
	}
	out[o < outlen ? o : outlen - 1] = '\0';
	return out;
}

/* Writes v as 8 little-endian bytes / 4 little-endian bytes. */
static inline void cairn__put_u64le(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void cairn__put_u32le(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Reads 4 little-endian bytes / 8 little-endian bytes. */
static inline uint32_t cairn__get_u32le(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t cairn__get_u64le(const uint8_t *p)
{
	uint64_t lo = cairn__get_u32le(p), hi = cairn__get_u32le(p + 4);
	return lo | hi << 32;
}

/* The root of a tree: H(root domain of tree || u64le bound || mth_hash),
 * where bound is the length the root commits to (bytes of a tensor, entries
 * of a trace). */
int cairn__merkle_bind(int tree, uint64_t bound,
                       const uint8_t mth_hash[CAIRN_HASH_BYTES],
                       uint8_t out[CAIRN_HASH_BYTES]);

/* ---- new files (attest/file.c) ------------------------------------------ */

/* An errno from open/link/read/write as a cairn code. */
int cairn__from_errno(int e);

/* One kind of file that cairn__file_create_new writes: how its errors name
 * it and how it is made.  Each message keeps the wording its module has
 * always used, hence the several names. */
struct cairn__file_kind {
	const char *what;        /* "key file": "cannot create key file PATH" */
	const char *what_short;  /* "key": "cannot create a file in DIR for
	                          * key PATH" */
	const char *path_what;   /* "key file": "key file PATH names a
	                          * directory; give a file name" */
	const char *name_hint;   /* after "give a file name": "" or " (...)" */
	const char *exists_hint; /* after "WHAT PATH already exists; " */
	const char *tmp_prefix;  /* ".cairn-key-": the temporary file is
	                          * PREFIX, 16 random hex digits, ".tmp" */
	mode_t mode;             /* the new file's mode, less the umask... */
	int force_mode;          /* ...or exactly mode (fchmod) when set */
	int write_names_tmp;     /* write errors name DIR/TMP as well */
};

/* A path split for cairn__file_create_new: base points into path, which
 * must outlive the struct; nothing here needs freeing. */
struct cairn__file_path {
	const struct cairn__file_kind *kind;
	const char *path;
	const char *base; /* the last component of path, never empty */
	char dir[4096];   /* the rest: "." without a slash, "/" at the root */
};

/* Splits path into fp->dir and fp->base.  CAIRN_EINVAL, with a message in
 * err, when path ends in '/' or its directory is too long. */
int cairn__file_path_split(struct cairn__file_path *fp, const char *path,
                           const struct cairn__file_kind *kind, char *err,
                           size_t errlen);

/* 0 when nothing is at fp's path (lstat finds no entry) and fp->dir is a
 * writable directory; else CAIRN_EEXIST with the kind's "already exists"
 * message in err (the early answer cairn__file_create_new gives too), or
 * the directory's error (CAIRN_ENOENT, CAIRN_EPERM, ...).  Only advice:
 * the path may be taken between this and the create, which refuses it
 * then. */
int cairn__file_check_free(const struct cairn__file_path *fp, char *err,
                           size_t errlen);

/* Creates fp's file, which must not exist, all or nothing: write_fn writes
 * the contents to fd (a new temporary file in fp->dir; 0, or -1 with errno
 * set), then the file is synced and linked to its name with
 * renameat2(RENAME_NOREPLACE) or link + unlink, and the directory synced.
 * An existing file is never replaced (CAIRN_EEXIST) and the temporary file
 * never left behind.  0 with "no error" in err, or a CAIRN_E* code and a
 * message naming the path.  libsodium must be initialised (the temporary
 * name is random); ud stays the caller's. */
int cairn__file_create_new(const struct cairn__file_path *fp,
                           int (*write_fn)(int fd, void *ud), void *ud,
                           char *err, size_t errlen);

#endif
