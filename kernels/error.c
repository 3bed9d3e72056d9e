/* cairn: error strings. */
#include "cairn/error.h"

static const char *const cairn__err_str[] = {
    "success",
    "invalid argument",
    "out of memory",
    "input/output error",
    "not supported",
    "no usable device",
    "device call failed",
    "value out of range",
    "malformed input",
    "no such file or object",
    "already exists",
    "permission denied",
    "cryptographic check failed",
    "protocol violation",
    "timed out",
    "results differ",
    "internal error (a bug in cairn; please report it)",
    "cancelled on request",
};

/* A static string for err; unknown codes get a generic text. */
const char *cairn_strerror(int err)
{
	if (err > 0 || err <= CAIRN_ERR_MIN)
		return "unknown error";
	return cairn__err_str[-err];
}
