/* cairn: new files, written all or nothing and never over an existing one
 * (attest/file.c, the way key files and bundles are written: a temporary
 * file in the same directory, synced, then linked to its name only if the
 * name is still free, and the directory synced).
 *
 * what names the file in messages ("report": "report PATH already
 * exists; ...").  Both return 0 with "no error" in err, or a negative
 * CAIRN_E* code (cairn/error.h) with a message in err naming the path:
 * CAIRN_EEXIST when something is at path (it is left as it is),
 * CAIRN_ENOENT or CAIRN_EPERM when its directory is missing or not
 * writable, CAIRN_EINVAL for an empty path or one ending in '/'. */
#ifndef CAIRN_FILE_H
#define CAIRN_FILE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Whether cairn_file_write_new could make path now: nothing there, and a
 * directory that exists and is writable.  For refusing a long job before
 * it runs; the write still decides (the name may be taken meanwhile). */
int cairn_file_check_new(const char *path, const char *what, char *err,
                         size_t errlen);

/* Writes data[0..len) to a new file at path (mode 0644 less the umask).
 * libsodium must be initialised (the temporary name is random). */
int cairn_file_write_new(const char *path, const char *what, const void *data,
                         size_t len, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
