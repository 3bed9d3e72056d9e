/* cairn: Ed25519 identities (DESIGN.md sections 1 and 5): generate, save
 * to and load from a key file, sign and verify.
 *
 * An identity is a libsodium crypto_sign key pair: a 32-byte public key and
 * a 64-byte secret key (the 32-byte seed followed by the public key).  The
 * key file stores the seed, never the expanded key; docs/keygen.md gives its
 * byte-level format:
 *
 *   cairn-ed25519-key v1\n
 *   public: <64 lower-case hex digits>\n
 *   secret-seed: <64 lower-case hex digits>\n
 *   checksum: <64 hex: BLAKE2b-256 of the three lines above>\n
 *
 * Exactly these 247 bytes: no other white space, no comments, nothing after
 * the last newline.
 *
 * Errors: functions return 0 or a negative CAIRN_E* code (cairn/error.h);
 * those that touch files also write one line into the caller's buffer err
 * (errlen bytes, always NUL-terminated; err may be NULL) that names the
 * file, what is wrong and what to do, with no "cairn: " prefix.
 *   CAIRN_EEXIST  save: the key file already exists (it is never replaced)
 *   CAIRN_ENOENT  load: no such file; save: the directory does not exist
 *   CAIRN_EPERM   a key file readable or writable by group or others, owned
 *                 by another user, a symbolic link; or the OS refused access
 *   CAIRN_EINVAL  bad argument, or a path that is not a regular file
 *   CAIRN_EFORMAT a malformed key file (header, version, hex, length,
 *                 checksum, a public key that does not match the seed, a
 *                 file over CAIRN_KEY_FILE_MAX bytes); err names the line
 *   CAIRN_EIO     a read, write, fsync or link failed
 *   CAIRN_ECRYPTO libsodium failed (sodium_init, key derivation) or a
 *                 signature does not verify
 *   CAIRN_ENOMEM  out of memory
 *
 * Secrets (the seed, the secret key, the file's text) are wiped with
 * sodium_memzero on every path, success or failure.  Nothing here keeps a
 * pointer to its arguments, prints, or holds global state. */
#ifndef CAIRN_IDENTITY_H
#define CAIRN_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CAIRN_PUBLIC_KEY_BYTES 32
#define CAIRN_SECRET_KEY_BYTES 64
#define CAIRN_SIGNATURE_BYTES 64
#define CAIRN_PUBLIC_KEY_HEX_BYTES 65 /* 64 lower-case hex digits and a NUL */
#define CAIRN_KEY_FILE_MAX 4096       /* a larger file is refused unread */
#define CAIRN_KEY_FILE_HEADER "cairn-ed25519-key v1"

/* One identity.  The caller owns the struct (stack or heap) and must call
 * cairn_identity_wipe when done with it, on every path. */
struct cairn_identity {
	uint8_t public_key[CAIRN_PUBLIC_KEY_BYTES];
	uint8_t secret_key[CAIRN_SECRET_KEY_BYTES]; /* seed || public key */
};

/* A fresh key pair from the OS's random numbers (crypto_sign_keypair). */
int cairn_identity_generate(struct cairn_identity *id);

/* Zeroes the whole struct (sodium_memzero); id may be NULL. */
void cairn_identity_wipe(struct cairn_identity *id);

/* Writes id to a new key file at path, mode 0600 whatever the umask.
 * The bytes go to a temporary file in the same directory, which is
 * fsync'd and then linked to path without replacing anything (renameat2
 * RENAME_NOREPLACE, or link + unlink where that is not supported); the
 * directory is fsync'd last.  So path either does not exist or holds the
 * whole key, even after a crash, and an existing path is never touched
 * (CAIRN_EEXIST, even for a dangling symbolic link).  The directory must
 * exist. */
int cairn_identity_save(const struct cairn_identity *id, const char *path,
                        char *err, size_t errlen);

/* Reads the key file at path into *id after these checks, in order: not a
 * symbolic link (O_NOFOLLOW), a regular file, owned by the effective uid,
 * mode & 077 == 0, at most CAIRN_KEY_FILE_MAX bytes, the exact format
 * above, the checksum, and the public key equal to the one derived from
 * the seed.  On failure *id is zeroed. */
int cairn_identity_load(struct cairn_identity *id, const char *path, char *err,
                        size_t errlen);

/* Signs msg[0..len) in the SIGNATURE domain: the signed bytes are the
 * 128-byte domain header of CAIRN_DOM_SIGNATURE (cairn/attest.h) followed
 * by msg, so a cairn signature never validates any other Ed25519 message.
 * What msg is (a result, a ledger entry) must be said inside msg itself,
 * typically as a hash in that structure's own domain.  msg may be NULL
 * when len is 0. */
int cairn_identity_sign(const struct cairn_identity *id, const void *msg,
                        size_t len, uint8_t sig[CAIRN_SIGNATURE_BYTES]);

/* 0 when sig is public_key's signature of msg as cairn_identity_sign makes
 * it; CAIRN_ECRYPTO when not. */
int cairn_identity_verify(const uint8_t public_key[CAIRN_PUBLIC_KEY_BYTES],
                          const void *msg, size_t len,
                          const uint8_t sig[CAIRN_SIGNATURE_BYTES]);

/* The public key as 64 lower-case hex digits and a NUL. */
int cairn_identity_public_hex(const struct cairn_identity *id,
                              char out[CAIRN_PUBLIC_KEY_HEX_BYTES]);

#ifdef __cplusplus
}
#endif
#endif
