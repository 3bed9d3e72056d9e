/* cairn: Ed25519 identities and their key files.
 *
 * The key file format and the permission rules are in
 * include/cairn/identity.h and docs/keygen.md.  Writing goes through a
 * temporary file in the key's directory that is linked to the final name
 * only when complete (attest/file.c), so a crash leaves either no key or
 * the whole key; loading refuses anything a careful ssh would refuse
 * (links, files others can read, files of another user) before reading a
 * byte.
 *
 * `cairn keygen`, the command over these functions, is worker/keygen.c. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <sodium.h>

#include "attest_impl.h"
#include "cairn/attest.h"
#include "cairn/error.h"
#include "cairn/identity.h"

_Static_assert(crypto_sign_PUBLICKEYBYTES == CAIRN_PUBLIC_KEY_BYTES,
               "crypto_sign public key is not 32 bytes");
_Static_assert(crypto_sign_SECRETKEYBYTES == CAIRN_SECRET_KEY_BYTES,
               "crypto_sign secret key is not 64 bytes");
_Static_assert(crypto_sign_BYTES == CAIRN_SIGNATURE_BYTES,
               "crypto_sign signature is not 64 bytes");
_Static_assert(crypto_sign_SEEDBYTES == 32, "crypto_sign seed is not 32");

#define SEED_BYTES 32
#define HEX_LEN 64

/* The four lines of a key file (identity.h); each ends with '\n'. */
static const char *const line_prefix[4] = {
    CAIRN_KEY_FILE_HEADER, "public: ", "secret-seed: ", "checksum: "};
#define KEY_FILE_BYTES                                                         \
	(sizeof CAIRN_KEY_FILE_HEADER + sizeof "public: " - 1 + HEX_LEN + 1 +  \
	 sizeof "secret-seed: " - 1 + HEX_LEN + 1 + sizeof "checksum: " - 1 +  \
	 HEX_LEN + 1)
_Static_assert(KEY_FILE_BYTES == 247, "key file size changed");

/* sodium_init() is idempotent and thread-safe: 0 the first time, 1 after;
 * -1 when libsodium cannot work (no randomness source). */
static int sodium_ready(char *err, size_t errlen)
{
	if (sodium_init() < 0) {
		cairn__seterr(err, errlen,
		              "libsodium failed to initialise "
		              "(sodium_init)");
		return CAIRN_ECRYPTO;
	}
	return 0;
}

static void to_hex(const uint8_t *b, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
}

/* 0..15 for a lower-case hex digit, -1 for anything else. */
static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* ---- identities ------------------------------------------------------- */

int cairn_identity_generate(struct cairn_identity *id)
{
	int rc;
	if (!id)
		return CAIRN_EINVAL;
	rc = sodium_ready(NULL, 0);
	if (rc)
		return rc;
	if (crypto_sign_keypair(id->public_key, id->secret_key)) {
		cairn_identity_wipe(id);
		return CAIRN_ECRYPTO;
	}
	return 0;
}

void cairn_identity_wipe(struct cairn_identity *id)
{
	if (id)
		sodium_memzero(id, sizeof *id);
}

int cairn_identity_public_hex(const struct cairn_identity *id,
                              char out[CAIRN_PUBLIC_KEY_HEX_BYTES])
{
	if (!id || !out)
		return CAIRN_EINVAL;
	to_hex(id->public_key, CAIRN_PUBLIC_KEY_BYTES, out);
	out[HEX_LEN] = '\0';
	return 0;
}

/* The signed bytes: header(SIGNATURE) || msg (caller frees *out). */
static int signed_bytes(const void *msg, size_t len, uint8_t **out)
{
	uint8_t *buf;
	int rc;
	if (len > SIZE_MAX - CAIRN_DOMAIN_HEADER_BYTES)
		return CAIRN_ERANGE;
	buf = malloc(CAIRN_DOMAIN_HEADER_BYTES + len);
	if (!buf)
		return CAIRN_ENOMEM;
	rc = cairn_domain_header(CAIRN_DOM_SIGNATURE, buf);
	if (rc) {
		free(buf);
		return rc;
	}
	if (len)
		memcpy(buf + CAIRN_DOMAIN_HEADER_BYTES, msg, len);
	*out = buf;
	return 0;
}

int cairn_identity_sign(const struct cairn_identity *id, const void *msg,
                        size_t len, uint8_t sig[CAIRN_SIGNATURE_BYTES])
{
	uint8_t *buf = NULL;
	int rc;
	if (!id || !sig || (!msg && len))
		return CAIRN_EINVAL;
	rc = sodium_ready(NULL, 0);
	if (rc)
		return rc;
	rc = signed_bytes(msg, len, &buf);
	if (rc)
		return rc;
	if (crypto_sign_detached(sig, NULL, buf,
	                         CAIRN_DOMAIN_HEADER_BYTES + len,
	                         id->secret_key))
		rc = CAIRN_ECRYPTO;
	free(buf);
	return rc;
}

int cairn_identity_verify(const uint8_t public_key[CAIRN_PUBLIC_KEY_BYTES],
                          const void *msg, size_t len,
                          const uint8_t sig[CAIRN_SIGNATURE_BYTES])
{
	uint8_t *buf = NULL;
	int rc;
	if (!public_key || !sig || (!msg && len))
		return CAIRN_EINVAL;
	rc = sodium_ready(NULL, 0);
	if (rc)
		return rc;
	rc = signed_bytes(msg, len, &buf);
	if (rc)
		return rc;
	if (crypto_sign_verify_detached(
	        sig, buf, CAIRN_DOMAIN_HEADER_BYTES + len, public_key))
		rc = CAIRN_ECRYPTO;
	free(buf);
	return rc;
}

/* ---- the key file ----------------------------------------------------- */

/* The 247 bytes of id's key file into text (KEY_FILE_BYTES + 1, with a
 * NUL).  The caller wipes text. */
static int format_key(const struct cairn_identity *id, char *text)
{
	uint8_t seed[SEED_BYTES], sum[CAIRN_HASH_BYTES];
	char *p = text;
	int rc = 0;

	if (crypto_sign_ed25519_sk_to_seed(seed, id->secret_key)) {
		rc = CAIRN_ECRYPTO;
		goto out;
	}
	p += sprintf(p, "%s\n%s", line_prefix[0], line_prefix[1]);
	to_hex(id->public_key, CAIRN_PUBLIC_KEY_BYTES, p);
	p += HEX_LEN;
	p += sprintf(p, "\n%s", line_prefix[2]);
	to_hex(seed, SEED_BYTES, p);
	p += HEX_LEN;
	p += sprintf(p, "\n%s", line_prefix[3]);
	if (crypto_generichash(sum, sizeof sum, (const uint8_t *)text,
	                       (size_t)(p - text) - strlen(line_prefix[3]),
	                       NULL, 0)) {
		rc = CAIRN_ECRYPTO;
		goto out;
	}
	to_hex(sum, sizeof sum, p);
	p += HEX_LEN;
	*p++ = '\n';
	*p = '\0';
	if ((size_t)(p - text) != KEY_FILE_BYTES)
		rc = CAIRN_EINTERNAL;
out:
	sodium_memzero(seed, sizeof seed);
	return rc;
}

/* Writes the key file's text, KEY_FILE_BYTES at text, to fd
 * (cairn__file_create_new's write_fn): 0, or -1 with errno set. */
static int write_key(int fd, void *text)
{
	const char *p = text;
	size_t n = KEY_FILE_BYTES;

	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* How cairn_identity_save names and makes a key file (attest/file.c). */
static const struct cairn__file_kind key_file = {
    .what = "key file",
    .what_short = "key",
    .path_what = "key file",
    .name_hint = "",
    .exists_hint = "cairn never overwrites a key: choose another path, or "
                   "remove the old key deliberately (it may be the only "
                   "copy of that identity)",
    .tmp_prefix = ".cairn-key-",
    .mode = 0600,
    .force_mode = 1, /* 0600 whatever the umask */
    .write_names_tmp = 0,
};

int cairn_identity_save(const struct cairn_identity *id, const char *path,
                        char *err, size_t errlen)
{
	char text[KEY_FILE_BYTES + 1];
	struct cairn__file_path fp;
	int rc;

	cairn__seterr(err, errlen, "no error");
	if (!id || !path || !*path) {
		cairn__seterr(err, errlen,
		              "save key: no identity or empty path");
		return CAIRN_EINVAL;
	}
	rc = sodium_ready(err, errlen);
	if (rc)
		return rc;
	/* The secret key carries the public key: refuse a torn struct. */
	if (sodium_memcmp(id->public_key, id->secret_key + SEED_BYTES,
	                  CAIRN_PUBLIC_KEY_BYTES)) {
		cairn__seterr(err, errlen,
		              "save key %s: the identity's public and "
		              "secret keys do not belong together",
		              path);
		return CAIRN_EINVAL;
	}
	rc = cairn__file_path_split(&fp, path, &key_file, err, errlen);
	if (rc)
		return rc;

	rc = format_key(id, text);
	if (rc) {
		cairn__seterr(err, errlen, "save key %s: %s", path,
		              cairn_strerror(rc));
		goto out;
	}
	rc = cairn__file_create_new(&fp, write_key, text, err, errlen);
out:
	sodium_memzero(text, sizeof text);
	return rc;
}

/* Parses 64 lower-case hex digits at s into out[32]; -1 with *col the
 * 0-based offset of the first bad digit. */
static int hex32(const char *s, uint8_t out[32], size_t *col)
{
	for (size_t i = 0; i < 32; i++) {
		int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			*col = 2 * i + (hi < 0 ? 0 : 1);
			return -1;
		}
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* Checks text[0..n) (the whole file) and derives *id from it.  Errors name
 * path and the line; they never quote the secret line. */
static int parse_key(const char *text, size_t n, const char *path,
                     struct cairn_identity *id, char *err, size_t errlen)
{
	static const char *const what[4] = {"header", "public key",
	                                    "secret seed", "checksum"};
	uint8_t val[4][32], sum[CAIRN_HASH_BYTES],
	    derived[CAIRN_PUBLIC_KEY_BYTES];
	size_t pos = 0, sum_start = 0, col;
	int rc = CAIRN_EFORMAT;

	for (int l = 0; l < 4; l++) {
		const char *line = text + pos, *nl;
		size_t len, plen = strlen(line_prefix[l]);
		nl = memchr(line, '\n', n - pos);
		if (!nl && n >= KEY_FILE_BYTES) {
			cairn__seterr(
			    err, errlen,
			    "key file %s: line %d (the %s line) does not end "
			    "in the file's %zu bytes; not a cairn key file, "
			    "which is %zu bytes of 4 lines ('cairn keygen' "
			    "makes one)",
			    path, l + 1, what[l], n, (size_t)KEY_FILE_BYTES);
			goto out;
		}
		if (!nl) {
			cairn__seterr(
			    err, errlen,
			    "key file %s: line %d: truncated (the file ends "
			    "after %zu bytes, inside the %s line; a key "
			    "file is %zu bytes)",
			    path, l + 1, n, what[l], (size_t)KEY_FILE_BYTES);
			goto out;
		}
		len = (size_t)(nl - line);
		if (l == 0) {
			if (len != plen || memcmp(line, line_prefix[0], plen)) {
				int ver =
				    len > 19 &&
				    !memcmp(line, "cairn-ed25519-key v", 19);
				char shown[41];
				size_t k;
				for (k = 0; k < len && k < 40; k++)
					shown[k] =
					    line[k] >= 0x20 && line[k] < 0x7f
					        ? line[k]
					        : '?';
				shown[k] = '\0';
				if (len == plen + 1 && line[plen] == '\r' &&
				    !memcmp(line, line_prefix[0], plen))
					cairn__seterr(
					    err, errlen,
					    "key file %s: line 1 ends in CR LF "
					    "(Windows line ends, from a copy "
					    "through Windows?): convert the "
					    "file "
					    "back with dos2unix",
					    path);
				else
					cairn__seterr(
					    err, errlen,
					    "key file %s: line 1: %s '%s'%s "
					    "(want '%s')",
					    path,
					    ver ? "unsupported key file version"
					        : "not a cairn key file: "
					          "header",
					    shown, len > 40 ? "..." : "",
					    CAIRN_KEY_FILE_HEADER);
				goto out;
			}
		} else {
			if (l == 3)
				sum_start = pos;
			if (len < plen || memcmp(line, line_prefix[l], plen)) {
				cairn__seterr(
				    err, errlen,
				    "key file %s: line %d: want the %s, "
				    "starting '%s'",
				    path, l + 1, what[l], line_prefix[l]);
				goto out;
			}
			if (len - plen != HEX_LEN) {
				cairn__seterr(
				    err, errlen,
				    "key file %s: line %d: the %s has %zu "
				    "characters (want %d lower-case hex "
				    "digits)",
				    path, l + 1, what[l], len - plen, HEX_LEN);
				goto out;
			}
			if (hex32(line + plen, val[l], &col)) {
				cairn__seterr(
				    err, errlen,
				    "key file %s: line %d: column %zu of the "
				    "%s is not a lower-case hex digit",
				    path, l + 1, plen + col + 1, what[l]);
				goto out;
			}
		}
		pos += len + 1;
	}
	if (pos != n) {
		cairn__seterr(
		    err, errlen,
		    "key file %s: %zu unexpected bytes after line 4 (a key "
		    "file is exactly %zu bytes)",
		    path, n - pos, (size_t)KEY_FILE_BYTES);
		goto out;
	}
	if (crypto_generichash(sum, sizeof sum, (const uint8_t *)text,
	                       sum_start, NULL, 0)) {
		rc = CAIRN_ECRYPTO;
		cairn__seterr(err, errlen, "key file %s: BLAKE2b failed", path);
		goto out;
	}
	if (sodium_memcmp(sum, val[3], sizeof sum)) {
		cairn__seterr(
		    err, errlen,
		    "key file %s: line 4: checksum mismatch: the file was "
		    "changed or damaged; restore it from a backup",
		    path);
		goto out;
	}
	if (crypto_sign_seed_keypair(derived, id->secret_key, val[2])) {
		rc = CAIRN_ECRYPTO;
		cairn__seterr(err, errlen, "key file %s: key derivation failed",
		              path);
		goto out;
	}
	if (sodium_memcmp(derived, val[1], sizeof derived)) {
		cairn__seterr(
		    err, errlen,
		    "key file %s: line 2: the public key does not match "
		    "the secret seed on line 3",
		    path);
		goto out;
	}
	memcpy(id->public_key, derived, sizeof derived);
	rc = 0;
out:
	sodium_memzero(val, sizeof val);
	if (rc)
		cairn_identity_wipe(id);
	return rc;
}

/* A name for a file type in an error message. */
static const char *type_name(mode_t m)
{
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISCHR(m) || S_ISBLK(m))
		return "a device";
	if (S_ISSOCK(m))
		return "a socket";
	return "not a regular file";
}

int cairn_identity_load(struct cairn_identity *id, const char *path, char *err,
                        size_t errlen)
{
	char text[CAIRN_KEY_FILE_MAX + 1];
	size_t n = 0;
	struct stat st;
	int fd = -1, rc, e;
	unsigned mode;

	cairn__seterr(err, errlen, "no error");
	if (!id || !path || !*path) {
		cairn__seterr(err, errlen,
		              "load key: no identity or empty path");
		return CAIRN_EINVAL;
	}
	cairn_identity_wipe(id);
	rc = sodium_ready(err, errlen);
	if (rc)
		return rc;
	fd = open(path,
	          O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		e = errno;
		if (e == ELOOP) {
			rc = CAIRN_EPERM;
			cairn__seterr(
			    err, errlen,
			    "key file %s is a symbolic link; cairn does not "
			    "follow links to key files: name the file "
			    "itself",
			    path);
		} else if (e != ENOENT && lstat(path, &st) == 0 &&
		           !S_ISREG(st.st_mode)) {
			/* a socket cannot be opened (ENXIO): say what it is */
			rc = CAIRN_EINVAL;
			cairn__seterr(err, errlen,
			              "key file %s is %s, not a key file", path,
			              type_name(st.st_mode));
		} else {
			rc = cairn__from_errno(e);
			cairn__seterr(
			    err, errlen, "cannot open key file %s: %s%s", path,
			    strerror(e),
			    rc == CAIRN_ENOENT ? " (make one with 'cairn "
			                         "keygen')"
			                       : "");
		}
		goto out;
	}
	if (fstat(fd, &st)) {
		e = errno;
		rc = cairn__from_errno(e);
		cairn__seterr(err, errlen, "cannot stat key file %s: %s", path,
		              strerror(e));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = CAIRN_EINVAL;
		cairn__seterr(err, errlen, "key file %s is %s, not a key file",
		              path, type_name(st.st_mode));
		goto out;
	}
	if (st.st_uid != geteuid()) {
		rc = CAIRN_EPERM;
		cairn__seterr(
		    err, errlen,
		    "key file %s is owned by uid %u, not by you (uid %u); "
		    "a key file must belong to the user who runs cairn",
		    path, (unsigned)st.st_uid, (unsigned)geteuid());
		goto out;
	}
	mode = (unsigned)st.st_mode & 07777;
	if (mode & 077) {
		rc = CAIRN_EPERM;
		cairn__seterr(
		    err, errlen,
		    "key file %s is %s by %s (mode %04o); run chmod 600 %s",
		    path, (mode & 044) ? "readable" : "accessible",
		    (mode & 070) && (mode & 007) ? "its group and others"
		    : (mode & 070)               ? "its group"
		                                 : "others",
		    mode, path);
		goto out;
	}
	if (st.st_size > CAIRN_KEY_FILE_MAX) {
		rc = CAIRN_EFORMAT;
		cairn__seterr(
		    err, errlen,
		    "key file %s is %lld bytes; a cairn key file is %zu "
		    "bytes and never over %d: this is not a key file",
		    path, (long long)st.st_size, (size_t)KEY_FILE_BYTES,
		    CAIRN_KEY_FILE_MAX);
		goto out;
	}
	/* Bounded even if the file grows after fstat. */
	while (n < sizeof text) {
		ssize_t r = read(fd, text + n, sizeof text - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			e = errno;
			rc = cairn__from_errno(e);
			cairn__seterr(err, errlen,
			              "cannot read key file %s: %s", path,
			              strerror(e));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > CAIRN_KEY_FILE_MAX) {
		rc = CAIRN_EFORMAT;
		cairn__seterr(
		    err, errlen,
		    "key file %s is over %d bytes: this is not a key file",
		    path, CAIRN_KEY_FILE_MAX);
		goto out;
	}
	rc = parse_key(text, n, path, id, err, errlen);
	if (rc == 0)
		cairn__seterr(err, errlen, "no error");
out:
	if (fd >= 0)
		close(fd);
	sodium_memzero(text, sizeof text);
	if (rc)
		cairn_identity_wipe(id);
	return rc;
}
