/* cairn: error codes.
 *
 * Every function that can fail returns int: 0 on success or one of the
 * negative codes below.  Library errors (CUDA, hwloc, libsodium, errno, ...)
 * are translated to these at the module boundary; the module logs the
 * library's own message where a person needs it. */
#ifndef CAIRN_ERROR_H
#define CAIRN_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

enum cairn_err {
	CAIRN_OK = 0,
	CAIRN_EINVAL = -1,   /* invalid argument */
	CAIRN_ENOMEM = -2,   /* out of memory (host or device) */
	CAIRN_EIO = -3,      /* input/output error */
	CAIRN_ENOTSUP = -4,  /* not supported (by this backend, build or CPU) */
	CAIRN_ENODEV = -5,   /* no usable device */
	CAIRN_EDEVICE = -6,  /* a device (CUDA) call failed */
	CAIRN_ERANGE = -7,   /* value out of range */
	CAIRN_EFORMAT = -8,  /* malformed input */
	CAIRN_ENOENT = -9,   /* no such file or object */
	CAIRN_EEXIST = -10,  /* already exists */
	CAIRN_EPERM = -11,   /* permission denied or unsafe permissions */
	CAIRN_ECRYPTO = -12, /* signature, hash or key failure */
	CAIRN_EPROTO = -13,  /* protocol violation */
	CAIRN_ETIMEDOUT = -14, /* timed out */
	CAIRN_EMISMATCH = -15, /* results differ where they must be equal */
	CAIRN_EINTERNAL = -16, /* a bug in cairn: please report it */
	CAIRN_ECANCELED = -17, /* stopped on request (a signal) */
	CAIRN_ERR_MIN = -18    /* one below the lowest code; not an error */
};

/* A static, human-readable string for an error code; never NULL. */
const char *cairn_strerror(int err);

#ifdef __cplusplus
}
#endif
#endif
