/* cairn: backend registry, selection and memory entry points.
 *
 * The registry is the table of constructors below (static, read-only).  A
 * backend handle is owned by whoever opened it and freed with
 * cairn_backend_close(). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backend_impl.h"
#include "comm.h"
#include "fpenv.h"
#include "cairn/error.h"
#include "cairn/log.h"

typedef int (*cairn__backend_ctor)(struct cairn_backend *,
                                   const cairn_backend_opts *);

static const cairn__backend_ctor cairn__ctors[CAIRN_BACKEND_COUNT] = {
    /* [CAIRN_BACKEND_REF]  = */ cairn__backend_ref_init,
    /* [CAIRN_BACKEND_CPU]  = */ cairn__backend_cpu_init,
    /* [CAIRN_BACKEND_CUDA] = */ cairn__backend_cuda_init,
};

#ifndef CAIRN_HAVE_CUDA
/* Built without CUDA: the kind exists but can never be opened. */
int cairn__backend_cuda_init(struct cairn_backend *be,
                             const cairn_backend_opts *opts)
{
	(void)be;
	(void)opts;
	return CAIRN_ENOTSUP;
}

int cairn__cuda_probe(char *why, size_t why_len)
{
	if (why && why_len)
		snprintf(why, why_len, "this cairn was built without CUDA");
	return 0;
}

int cairn__backend_stream(const struct cairn_backend *be, void **out)
{
	(void)be;
	(void)out;
	return CAIRN_ENOTSUP;
}

int cairn__backend_stream_query(const struct cairn_backend *be)
{
	(void)be;
	return CAIRN_ENOTSUP;
}
#endif

int cairn_backend_built(cairn_backend_kind kind)
{
	switch (kind) {
	case CAIRN_BACKEND_REF:
	case CAIRN_BACKEND_CPU:
		return 1;
	case CAIRN_BACKEND_CUDA:
#ifdef CAIRN_HAVE_CUDA
		return 1;
#else
		return 0;
#endif
	default:
		return 0;
	}
}

int cairn_cuda_probe(char *why, size_t why_len)
{
	if (why && why_len)
		why[0] = '\0';
	return cairn__cuda_probe(why, why_len);
}

/* Opens one backend kind; on failure *out is untouched. */
int cairn_backend_open(cairn_backend_kind kind, const cairn_backend_opts *opts,
                       cairn_backend **out)
{
	static const cairn_backend_opts defaults = {0, 0, NULL, 0, 0};
	struct cairn_backend *be = NULL;
	int rc;

	if (!out || (int)kind < 0 || kind >= CAIRN_BACKEND_COUNT)
		return CAIRN_EINVAL;
	if (!opts)
		opts = &defaults;
	if (opts->threads < 0 || opts->device < 0)
		return CAIRN_EINVAL;
	be = calloc(1, sizeof *be);
	if (!be)
		return CAIRN_ENOMEM;
	be->kind = kind;
	be->threads = 1;
	rc = cairn__ctors[kind](be, opts);
	if (rc)
		goto out;
	*out = be;
	be = NULL;
out:
	free(be);
	return rc;
}

/* Maps a user's word to a kind; -1 for "auto", -2 for an unknown word. */
static int cairn__backend_parse(const char *want)
{
	if (!strcasecmp(want, "auto"))
		return -1;
	if (!strcasecmp(want, "cpu"))
		return CAIRN_BACKEND_CPU;
	if (!strcasecmp(want, "gpu") || !strcasecmp(want, "cuda"))
		return CAIRN_BACKEND_CUDA;
	if (!strcasecmp(want, "ref"))
		return CAIRN_BACKEND_REF;
	return -2;
}

int cairn_backend_device_known(const char *want)
{
	return want && cairn__backend_parse(want) != -2;
}

int cairn_backend_open_auto(const char *want, const cairn_backend_opts *opts,
                            cairn_backend **out)
{
	char why[256] = "";
	const char *src = "--device";
	int kind, rc;

	if (!out)
		return CAIRN_EINVAL;
	if (!want) {
		want = getenv("CAIRN_DEVICE");
		src = "CAIRN_DEVICE";
		if (!want || !*want) {
			want = "auto";
			src = "default";
		}
	}
	kind = cairn__backend_parse(want);
	if (kind == -2) {
		cairn_error(
		    "%s: unknown device '%s' (want auto, cpu, gpu or ref)", src,
		    want);
		return CAIRN_EINVAL;
	}
	if (kind >= 0) {
		rc = cairn_backend_open((cairn_backend_kind)kind, opts, out);
		if (rc == 0) {
			cairn_info("backend %s (%s: %s): %s",
			           cairn_backend_name(*out), src, want,
			           cairn_backend_describe(*out));
		} else if (kind == CAIRN_BACKEND_CUDA) {
			cairn_cuda_probe(why, sizeof why);
			cairn_error("%s %s: no usable GPU: %s", src, want,
			            why[0] ? why : cairn_strerror(rc));
		} else {
			cairn_error("%s %s: cannot open backend: %s", src, want,
			            cairn_strerror(rc));
		}
		return rc;
	}
	/* auto: CUDA when a usable device and driver are there. */
	if (cairn_cuda_probe(why, sizeof why) > 0) {
		rc = cairn_backend_open(CAIRN_BACKEND_CUDA, opts, out);
		if (rc == 0) {
			cairn_info("backend cuda: %s",
			           cairn_backend_describe(*out));
			return 0;
		}
		snprintf(why, sizeof why, "opening the GPU failed: %s",
		         cairn_strerror(rc));
	}
	rc = cairn_backend_open(CAIRN_BACKEND_CPU, opts, out);
	if (rc)
		return rc;
	cairn_info("backend cpu (%s): %s", why[0] ? why : "no usable GPU",
	           cairn_backend_describe(*out));
	return 0;
}

void cairn_backend_close(cairn_backend *be)
{
	if (!be)
		return;
	if (be->iface && be->iface->free)
		be->iface->free(be);
	free(be);
}

const char *cairn_backend_name(const cairn_backend *be)
{
	return be && be->iface ? be->iface->name : "none";
}

cairn_backend_kind cairn_backend_get_kind(const cairn_backend *be)
{
	return be ? be->kind : CAIRN_BACKEND_COUNT;
}

const char *cairn_backend_describe(const cairn_backend *be)
{
	return be ? be->desc : "";
}

int cairn_backend_threads(const cairn_backend *be)
{
	return be ? be->threads : 0;
}

/* ---- memory ---------------------------------------------------------- */

int cairn_buf_alloc(cairn_backend *be, size_t bytes, void **out)
{
	if (!be || !out || bytes == 0)
		return CAIRN_EINVAL;
	return be->iface->buf_alloc(be, bytes, out);
}

void cairn_buf_free(cairn_backend *be, void *buf)
{
	if (be && buf)
		be->iface->buf_free(be, buf);
}

int cairn_buf_write(cairn_backend *be, void *dst, const void *src, size_t bytes)
{
	if (!be || ((!dst || !src) && bytes))
		return CAIRN_EINVAL;
	if (bytes == 0)
		return 0;
	return be->iface->buf_write(be, dst, src, bytes);
}

int cairn_buf_read(cairn_backend *be, void *dst, const void *src, size_t bytes)
{
	if (!be || ((!dst || !src) && bytes))
		return CAIRN_EINVAL;
	if (bytes == 0)
		return 0;
	return be->iface->buf_read(be, dst, src, bytes);
}

int cairn_buf_copy(cairn_backend *be, void *dst, const void *src, size_t bytes)
{
	if (!be || ((!dst || !src) && bytes))
		return CAIRN_EINVAL;
	if (bytes == 0)
		return 0;
	return be->iface->buf_copy(be, dst, src, bytes);
}

int cairn_buf_copy_async(cairn_backend *be, void *dst, const void *src,
                         size_t bytes)
{
	if (!be || ((!dst || !src) && bytes))
		return CAIRN_EINVAL;
	if (bytes == 0)
		return 0;
	return be->iface->buf_copy_async
	           ? be->iface->buf_copy_async(be, dst, src, bytes)
	           : be->iface->buf_copy(be, dst, src, bytes);
}

int cairn_backend_open_peer(cairn_backend *be, const cairn_backend_opts *opts,
                            cairn_backend **out)
{
	static const cairn_backend_opts defaults = {0, 0, NULL, 0, 0};
	cairn_backend_opts o;

	if (!be || !out)
		return CAIRN_EINVAL;
	o = opts ? *opts : defaults;
	o.device = be->device;
	if (be->iface->open_peer)
		return be->iface->open_peer(be, &o, out);
	return cairn_backend_open(be->kind, &o, out);
}

int cairn_backend_wait_for(cairn_backend *be, cairn_backend *other)
{
	if (!be || !other)
		return CAIRN_EINVAL;
	if (be == other)
		return 0; /* a backend's work is in order already */
	if (be->iface == other->iface) /* the same implementation */
		return be->iface->wait_for ? be->iface->wait_for(be, other) : 0;
	return cairn_backend_sync(other);
}

int cairn_backend_device(const cairn_backend *be)
{
	return be ? be->device : -1;
}

int cairn_backend_sync(cairn_backend *be)
{
	if (!be)
		return CAIRN_EINVAL;
	return be->iface->sync ? be->iface->sync(be) : 0;
}

/* Host memory for the ref and cpu backends: 64-byte aligned. */
int cairn__host_alloc(struct cairn_backend *be, size_t bytes, void **out)
{
	void *p = NULL;
	size_t rounded = (bytes + 63) & ~(size_t)63;

	(void)be;
	if (rounded < bytes)
		return CAIRN_ENOMEM;
	if (posix_memalign(&p, 64, rounded))
		return CAIRN_ENOMEM;
	*out = p;
	return 0;
}

void cairn__host_free(struct cairn_backend *be, void *buf)
{
	(void)be;
	free(buf);
}

int cairn__host_copy(struct cairn_backend *be, void *dst, const void *src,
                     size_t bytes)
{
	(void)be;
	memmove(dst, src, bytes);
	return 0;
}

/* ---- dispatch -------------------------------------------------------- */

/* Every op runs under the exact profile's FP environment (fpenv.h). */
int cairn__op_dispatch(struct cairn_backend *be, const struct cairn_op *op)
{
	unsigned csr;
	int rc;

	if (!be->iface->supports_op(be, op)) {
		cairn_debug("backend %s does not run op %s", be->iface->name,
		            cairn__op_name(op->kind));
		return CAIRN_ENOTSUP;
	}
	csr = cairn__fp_enter();
	rc = be->iface->op_run(be, op);
	cairn__fp_leave(csr);
	return rc;
}

const char *cairn__op_name(enum cairn_op_kind kind)
{
	static const char *const names[CAIRN_OP_COUNT] = {
	    "gemm",        "bias_add",    "bias_grad", "relu",
	    "relu_bwd",    "gelu",        "gelu_bwd",  "xent_fwd",
	    "xent_bwd",    "adamw",       "nesterov",  "sum_n",
	    "sub",         "scale",       "sum",       "fill_uniform",
	    "fill_normal", "hash_chunks", "gather_u8",
	};
	if ((int)kind < 0 || kind >= CAIRN_OP_COUNT)
		return "unknown";
	return names[kind];
}
