/* cairn: writing a new file all or nothing, never over an existing one
 * (attest/attest_impl.h), and opening an input that may come from anyone
 * (include/cairn/attest.h).
 *
 * The key file (attest/identity.c) and the bundle (attest/bundle.c) are
 * written the same way: a temporary file in the final directory, written
 * and synced, then linked to its name only if that name is still free, so
 * a crash leaves either no file or the whole file, and a file that is
 * there already stays as it was. */
#define _GNU_SOURCE /* renameat2 and RENAME_NOREPLACE (glibc >= 2.28) */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <inttypes.h>
#include <unistd.h>

#include <sodium.h>

#include "attest_impl.h"
#include "cairn/attest.h"
#include "cairn/error.h"
#include "cairn/file.h"

int cairn__from_errno(int e)
{
	switch (e) {
	case ENOENT:
	case ENOTDIR:
		return CAIRN_ENOENT;
	case EACCES:
	case EPERM:
	case EROFS:
		return CAIRN_EPERM;
	case EEXIST:
		return CAIRN_EEXIST;
	case ENOMEM:
		return CAIRN_ENOMEM;
	default:
		return CAIRN_EIO;
	}
}

int cairn_file_open_input(const char *path, const char *what,
                          uint64_t max_bytes, int *fd, uint64_t *bytes,
                          char *err, size_t errlen)
{
	struct stat st;
	int f, e, rc;

	if (fd)
		*fd = -1;
	if (!path || !what || !fd || !bytes) {
		cairn__seterr(err, errlen, "cairn_file_open_input: no %s",
		              !path ? "path" : "output");
		return CAIRN_EINVAL;
	}
	/* O_NONBLOCK: a FIFO must not hang the open; no effect on a file. */
	f = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (f < 0) {
		e = errno;
		cairn__seterr(err, errlen, "cannot open %s %s: %s", what, path,
		              strerror(e));
		return cairn__from_errno(e);
	}
	if (fstat(f, &st)) {
		e = errno;
		cairn__seterr(err, errlen, "%s %s: fstat: %s", what, path,
		              strerror(e));
		rc = cairn__from_errno(e);
	} else if (!S_ISREG(st.st_mode)) {
		cairn__seterr(err, errlen,
		              "%s %s is not a regular file (a directory, a "
		              "device or a FIFO): give the path of a file",
		              what, path);
		rc = CAIRN_EINVAL;
	} else if (st.st_size < 0 || (uint64_t)st.st_size > max_bytes) {
		cairn__seterr(
		    err, errlen,
		    "%s %s is %jd bytes, over the limit of %" PRIu64
		    " bytes: not a %s cairn accepts; nothing was read",
		    what, path, (intmax_t)st.st_size, max_bytes, what);
		rc = CAIRN_ERANGE;
	} else {
		/* reads block as usual from here (an NFS or FUSE file could
		 * otherwise answer EAGAIN) */
		int fl = fcntl(f, F_GETFL);
		if (fl != -1)
			(void)fcntl(f, F_SETFL, fl & ~O_NONBLOCK);
		*fd = f;
		*bytes = (uint64_t)st.st_size;
		return 0;
	}
	close(f);
	return rc;
}

int cairn__file_path_split(struct cairn__file_path *fp, const char *path,
                           const struct cairn__file_kind *kind, char *err,
                           size_t errlen)
{
	const char *slash = strrchr(path, '/');

	fp->kind = kind;
	fp->path = path;
	fp->base = slash ? slash + 1 : path;
	if (!*fp->base) {
		cairn__seterr(err, errlen,
		              "%s %s names a directory; give a file name%s",
		              kind->path_what, path, kind->name_hint);
		return CAIRN_EINVAL;
	}
	if (!slash)
		snprintf(fp->dir, sizeof fp->dir, ".");
	else if (slash == path)
		snprintf(fp->dir, sizeof fp->dir, "/");
	else if ((size_t)(slash - path) >= sizeof fp->dir) {
		cairn__seterr(err, errlen, "%s %s: path too long", kind->what,
		              path);
		return CAIRN_EINVAL;
	} else
		snprintf(fp->dir, sizeof fp->dir, "%.*s", (int)(slash - path),
		         path);
	return 0;
}

/* Moves dfd/tmp to dfd/base unless base exists: renameat2 with
 * RENAME_NOREPLACE, or where the file system lacks it link + unlink.
 * Returns 0 or -1 with errno set; on success tmp is gone. */
static int link_noreplace(int dfd, const char *tmp, const char *base)
{
#ifdef RENAME_NOREPLACE
	if (renameat2(dfd, tmp, dfd, base, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
		return -1;
#endif
	if (linkat(dfd, tmp, dfd, base, 0))
		return -1;
	(void)unlinkat(dfd, tmp, 0);
	return 0;
}

static void exists_error(const struct cairn__file_path *fp, char *err,
                         size_t errlen)
{
	struct stat st;

	if (!lstat(fp->path, &st) && S_ISDIR(st.st_mode)) {
		/* a directory where a new file was meant (a path given,
		 * or one cairn names, such as a bundle's) */
		cairn__seterr(err, errlen,
		              "%s %s is a directory; give the path of a new "
		              "file (%s/NAME, say), or move the directory away",
		              fp->kind->what, fp->path, fp->path);
		return;
	}
	cairn__seterr(err, errlen, "%s %s already exists; %s", fp->kind->what,
	              fp->path, fp->kind->exists_hint);
}

/* Writing the temporary file tmp failed with errno e. */
static int write_error(const struct cairn__file_path *fp, const char *tmp,
                       int e, char *err, size_t errlen)
{
	if (fp->kind->write_names_tmp)
		cairn__seterr(err, errlen, "cannot write %s %s (in %s/%s): %s",
		              fp->kind->what, fp->path, fp->dir, tmp,
		              strerror(e));
	else
		cairn__seterr(err, errlen, "cannot write %s %s: %s",
		              fp->kind->what, fp->path, strerror(e));
	return cairn__from_errno(e);
}

int cairn__file_check_free(const struct cairn__file_path *fp, char *err,
                           size_t errlen)
{
	struct stat st;
	int e, rc;

	if (lstat(fp->path, &st) == 0) {
		exists_error(fp, err, errlen);
		return CAIRN_EEXIST;
	}
	if (errno != ENOENT) { /* a name too long, a loop, ...: not free */
		e = errno;
		rc = cairn__from_errno(e);
		cairn__seterr(err, errlen, "cannot write %s %s: %s",
		              fp->kind->what, fp->path, strerror(e));
		return rc;
	}
	if (stat(fp->dir, &st))
		e = errno;
	else if (!S_ISDIR(st.st_mode))
		e = ENOTDIR;
	else if (access(fp->dir, W_OK | X_OK))
		e = errno;
	else
		return 0;
	rc = cairn__from_errno(e);
	cairn__seterr(err, errlen, "cannot write %s %s: directory %s: %s%s",
	              fp->kind->what, fp->path, fp->dir, strerror(e),
	              e == ENOENT ? " (create it first)" : "");
	return rc;
}

/* The kind of the files cairn_file_check_new and cairn_file_write_new
 * make: what names them. */
static void plain_kind(struct cairn__file_kind *k, const char *what)
{
	memset(k, 0, sizeof *k);
	k->what = what;
	k->what_short = what;
	k->path_what = what;
	k->name_hint = "";
	k->exists_hint = "cairn never replaces a file: give a new name, or "
	                 "remove it first";
	k->tmp_prefix = ".cairn-";
	k->mode = 0644;
}

/* path split as a file of kind what (*k, which *fp then points to). */
static int plain_path(const char *path, const char *what,
                      struct cairn__file_kind *k, struct cairn__file_path *fp,
                      char *err, size_t errlen)
{
	if (!path || !*path || !what) {
		cairn__seterr(err, errlen, "%s path: empty",
		              what ? what : "file");
		return CAIRN_EINVAL;
	}
	plain_kind(k, what);
	return cairn__file_path_split(fp, path, k, err, errlen);
}

int cairn_file_check_new(const char *path, const char *what, char *err,
                         size_t errlen)
{
	struct cairn__file_kind k;
	struct cairn__file_path fp;
	int rc = plain_path(path, what, &k, &fp, err, errlen);

	if (!rc)
		rc = cairn__file_check_free(&fp, err, errlen);
	if (!rc)
		cairn__seterr(err, errlen, "no error");
	return rc;
}

struct bytes_out {
	const uint8_t *p;
	size_t n;
};

static int write_bytes(int fd, void *ud)
{
	const struct bytes_out *b = ud;
	size_t done = 0;

	while (done < b->n) {
		ssize_t w = write(fd, b->p + done, b->n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		done += (size_t)w;
	}
	return 0;
}

int cairn_file_write_new(const char *path, const char *what, const void *data,
                         size_t len, char *err, size_t errlen)
{
	struct cairn__file_kind k;
	struct cairn__file_path fp;
	struct bytes_out b = {data, len};
	int rc;

	if (len && !data) {
		cairn__seterr(err, errlen, "write %s %s: no data",
		              what ? what : "file", path ? path : "");
		return CAIRN_EINVAL;
	}
	rc = plain_path(path, what, &k, &fp, err, errlen);
	if (!rc)
		rc = cairn__file_create_new(&fp, write_bytes, &b, err, errlen);
	return rc;
}

int cairn__file_create_new(const struct cairn__file_path *fp,
                           int (*write_fn)(int fd, void *ud), void *ud,
                           char *err, size_t errlen)
{
	const struct cairn__file_kind *k = fp->kind;
	const char *path = fp->path;
	char tmp[64], hex[17];
	uint8_t rnd[8];
	int fd = -1, dfd = -1, tmp_made = 0, rc, e;

	/* A friendly early answer; the link below is what really refuses. */
	rc = cairn__file_check_free(fp, err, errlen);
	if (rc)
		goto out;
	dfd = open(fp->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		e = errno;
		rc = cairn__from_errno(e);
		cairn__seterr(err, errlen,
		              "cannot write %s %s: directory %s: %s%s", k->what,
		              path, fp->dir, strerror(e),
		              rc == CAIRN_ENOENT ? " (create it first)" : "");
		goto out;
	}
	randombytes_buf(rnd, sizeof rnd);
	sodium_bin2hex(hex, sizeof hex, rnd, sizeof rnd);
	snprintf(tmp, sizeof tmp, "%s%s.tmp", k->tmp_prefix, hex);
	fd = openat(dfd, tmp,
	            O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	            k->mode);
	if (fd < 0) {
		e = errno;
		rc = cairn__from_errno(e);
		cairn__seterr(err, errlen,
		              "cannot create a file in %s for %s %s: %s",
		              fp->dir, k->what_short, path, strerror(e));
		goto out;
	}
	tmp_made = 1;
	/* force_mode: mode whatever the umask (which may have taken bits
	 * off). */
	if ((k->force_mode && fchmod(fd, k->mode)) || write_fn(fd, ud) ||
	    fsync(fd)) {
		rc = write_error(fp, tmp, errno, err, errlen);
		goto out;
	}
	/* The descriptor is gone after close, even when it fails. */
	e = close(fd) ? errno : 0;
	fd = -1;
	if (e) {
		rc = write_error(fp, tmp, e, err, errlen);
		goto out;
	}
	if (link_noreplace(dfd, tmp, fp->base)) {
		e = errno;
		rc = cairn__from_errno(e);
		if (rc == CAIRN_EEXIST)
			exists_error(fp, err, errlen);
		else
			cairn__seterr(err, errlen, "cannot create %s %s: %s",
			              k->what, path, strerror(e));
		goto out;
	}
	tmp_made = 0;
	if (fsync(dfd) && errno != EINVAL) {
		e = errno;
		rc = cairn__from_errno(e);
		cairn__seterr(err, errlen,
		              "%s %s written, but syncing directory %s "
		              "failed: %s",
		              k->what, path, fp->dir, strerror(e));
		goto out;
	}
	rc = 0;
	cairn__seterr(err, errlen, "no error");
out:
	if (fd >= 0)
		close(fd);
	if (tmp_made)
		(void)unlinkat(dfd, tmp, 0);
	if (dfd >= 0)
		close(dfd);
	return rc;
}
