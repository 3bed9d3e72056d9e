/* cairn: the CUDA backend.
 *
 * One device and one stream per backend.  Buffers are cudaMalloc'd device
 * memory; copies in and out are cudaMemcpyAsync on the stream followed by a
 * synchronize (simple and correct: a copy returns when it is done).  Ops are
 * queued on the stream and run asynchronously; their errors show up at the
 * next copy or cairn_backend_sync().
 *
 * The op families live in one .cu each (gemm, elementwise, optim, xent,
 * rng, hash); op_run below is the one switch that dispatches to them.
 *
 * Ownership: the backend's context (struct cairn_cuda_ctx: the stream and
 * the scratch buffer) is owned by be->ctx and freed by cuda_free; buffers
 * from cuda_buf_alloc belong to the caller until cuda_buf_free. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_common.cuh"
#include "gemm.cuh"
#include "route.cuh"
#include "comm.h"

/* Oldest compute capability this build has code for (sm_80, 86, 89, 90 and
 * compute_90 PTX; CMakeLists.txt sets the list). */
#define CUDA_MIN_MAJOR 8
#define CUDA_SMOKE_MAGIC 0x63616972u /* "cair" */

/* Writes a known word: proves that this binary has a kernel image the
 * device can run (cudaErrorNoKernelImageForDevice otherwise). */
static __global__ void cuda_smoke_kernel(unsigned int *out)
{
	if (blockIdx.x == 0 && threadIdx.x == 0)
		out[0] = CUDA_SMOKE_MAGIC;
}

static struct cairn_cuda_ctx *cuda_ctx(struct cairn_backend *be)
{
	return (struct cairn_cuda_ctx *)be->ctx;
}

int cairn__cuda_enter(struct cairn_cuda_ctx *ctx)
{
	int cur = -1;
	int rc = CAIRN_CUDA_CHECK(cudaGetDevice(&cur));

	if (rc == 0 && cur != ctx->device)
		rc = CAIRN_CUDA_CHECK(cudaSetDevice(ctx->device));
	return rc;
}

int cairn__cuda_scratch(struct cairn_cuda_ctx *ctx, size_t bytes, void **out)
{
	void *p = NULL;
	int rc;

	if (bytes <= ctx->scratch_bytes && ctx->scratch) {
		*out = ctx->scratch;
		return 0;
	}
	ctx->sumn_count = 0; /* the new buffer holds no list */
	/* Queued kernels may still read the old buffer: wait for them. */
	rc = CAIRN_CUDA_CHECK(cudaStreamSynchronize(ctx->stream));
	if (rc)
		return rc;
	if (ctx->scratch) {
		rc = CAIRN_CUDA_CHECK(cudaFree(ctx->scratch));
		ctx->scratch = NULL;
		ctx->scratch_bytes = 0;
		if (rc)
			return rc;
	}
	if (bytes < 4096)
		bytes = 4096;
	rc = CAIRN_CUDA_CHECK(cudaMalloc(&p, bytes));
	if (rc)
		return rc;
	ctx->scratch = p;
	ctx->scratch_bytes = bytes;
	*out = p;
	return 0;
}

int cairn__cuda_backend_stream(const struct cairn_backend *be,
                               cudaStream_t *out)
{
	if (!be || be->kind != CAIRN_BACKEND_CUDA || !be->ctx || !out)
		return CAIRN_EINVAL;
	*out = ((const struct cairn_cuda_ctx *)be->ctx)->stream;
	return 0;
}

int cairn__backend_stream(const struct cairn_backend *be, void **out)
{
	cudaStream_t st;

	if (cairn__cuda_backend_stream(be, &st))
		return CAIRN_ENOTSUP;
	*out = (void *)st;
	return 0;
}

int cairn__backend_stream_query(const struct cairn_backend *be)
{
	cudaStream_t st;
	cudaError_t e;

	if (cairn__cuda_backend_stream(be, &st))
		return CAIRN_ENOTSUP;
	e = cudaStreamQuery(st); /* any device's stream, from any device */
	if (e == cudaErrorNotReady)
		return 1;
	return CAIRN_CUDA_CHECK(e);
}

/* Says why the runtime found no device, in words a rig owner can act on. */
static void cuda_probe_why(cudaError_t err, char *why, size_t why_len)
{
	int drv = 0, rt = 0;

	if (!why || why_len == 0)
		return;
	switch (err) {
	case cudaErrorInsufficientDriver:
		if (cudaDriverGetVersion(&drv) != cudaSuccess || drv == 0) {
			snprintf(why, why_len,
			         "no NVIDIA driver found (libcuda.so.1): "
			         "install the NVIDIA driver to use the GPU");
		} else {
			cudaRuntimeGetVersion(&rt);
			snprintf(why, why_len,
			         "NVIDIA driver too old for this CUDA runtime "
			         "(driver supports CUDA %d.%d, cairn was built "
			         "with CUDA %d.%d): update the driver",
			         drv / 1000, (drv % 1000) / 10, rt / 1000,
			         (rt % 1000) / 10);
		}
		break;
	case cudaErrorNoDevice:
		snprintf(why, why_len,
		         "no CUDA device (the driver sees none; check "
		         "CUDA_VISIBLE_DEVICES and nvidia-smi)");
		break;
	case cudaErrorStubLibrary:
		snprintf(why, why_len,
		         "libcuda.so.1 is the toolkit's stub, not a driver: "
		         "install the NVIDIA driver");
		break;
	case cudaErrorSystemDriverMismatch:
		snprintf(why, why_len,
		         "the NVIDIA kernel module and libcuda.so.1 have "
		         "different versions: reboot or reinstall the driver");
		break;
	case cudaErrorDevicesUnavailable:
		snprintf(why, why_len,
		         "every CUDA device is busy or in exclusive/"
		         "prohibited compute mode (see nvidia-smi)");
		break;
	default:
		snprintf(why, why_len, "CUDA runtime: %s (%s)",
		         cudaGetErrorString(err), cudaGetErrorName(err));
		break;
	}
}

/* 1 when device dev is one this build can run on; else 0 and why. */
static int cuda_device_usable(int dev, char *why, size_t why_len)
{
	cudaDeviceProp prop;
	cudaError_t err = cudaGetDeviceProperties(&prop, dev);

	if (err != cudaSuccess) {
		if (why && why_len)
			snprintf(why, why_len,
			         "CUDA device %d: cannot read its properties: "
			         "%s",
			         dev, cudaGetErrorString(err));
		cudaGetLastError();
		return 0;
	}
	if (prop.major < CUDA_MIN_MAJOR) {
		if (why && why_len)
			snprintf(
			    why, why_len,
			    "CUDA device %d (%s) has compute capability "
			    "%d.%d; cairn needs 8.0 or newer (Ampere, Ada, "
			    "Hopper or later)",
			    dev, prop.name, prop.major, prop.minor);
		return 0;
	}
	return 1;
}

extern "C" int cairn__cuda_probe(char *why, size_t why_len)
{
	char first_why[256] = "";
	int count = 0, usable = 0;
	cudaError_t err = cudaGetDeviceCount(&count);

	if (err != cudaSuccess) {
		cuda_probe_why(err, why, why_len);
		cudaGetLastError(); /* not sticky: clear it */
		return 0;
	}
	if (count == 0) {
		cuda_probe_why(cudaErrorNoDevice, why, why_len);
		return 0;
	}
	for (int dev = 0; dev < count; dev++) {
		char w[256];
		if (cuda_device_usable(dev, w, sizeof w))
			usable++;
		else if (!first_why[0])
			snprintf(first_why, sizeof first_why, "%s", w);
	}
	if (why && why_len)
		snprintf(why, why_len, "%s", usable ? "" : first_why);
	return usable;
}

/* ---- memory ---------------------------------------------------------- */

static int cuda_buf_alloc(struct cairn_backend *be, size_t bytes, void **out)
{
	struct cairn_cuda_ctx *ctx = cuda_ctx(be);
	void *p = NULL;
	int rc = cairn__cuda_enter(ctx);

	if (rc)
		return rc;
	rc = CAIRN_CUDA_CHECK(cudaMalloc(&p, bytes));
	if (rc)
		return rc;
	*out = p; /* cudaMalloc aligns to 256 bytes */
	return 0;
}

/* Waits for the stream first: ops queued on buf must finish before the
 * memory can go back (cudaFree synchronizes in practice; this makes it
 * certain).  Errors are logged: a free cannot fail to its caller. */
static void cuda_buf_free(struct cairn_backend *be, void *buf)
{
	struct cairn_cuda_ctx *ctx = cuda_ctx(be);

	if (!buf || cairn__cuda_enter(ctx))
		return;
	(void)CAIRN_CUDA_CHECK(cudaStreamSynchronize(ctx->stream));
	(void)CAIRN_CUDA_CHECK(cudaFree(buf));
}

static int cuda_copy(struct cairn_backend *be, void *dst, const void *src,
                     size_t bytes, cudaMemcpyKind kind)
{
	struct cairn_cuda_ctx *ctx = cuda_ctx(be);
	int rc;

	if (bytes == 0)
		return 0;
	rc = cairn__cuda_enter(ctx);
	if (rc)
		return rc;
	rc = CAIRN_CUDA_CHECK(
	    cudaMemcpyAsync(dst, src, bytes, kind, ctx->stream));
	if (rc)
		return rc;
	return CAIRN_CUDA_CHECK(cudaStreamSynchronize(ctx->stream));
}

static int cuda_buf_write(struct cairn_backend *be, void *dst, const void *src,
                          size_t bytes)
{
	return cuda_copy(be, dst, src, bytes, cudaMemcpyHostToDevice);
}

static int cuda_buf_read(struct cairn_backend *be, void *dst, const void *src,
                         size_t bytes)
{
	return cuda_copy(be, dst, src, bytes, cudaMemcpyDeviceToHost);
}

/* Device to device on this backend's stream; src may be another CUDA
 * backend's memory on the same device (the caller has synced that one). */
static int cuda_buf_copy(struct cairn_backend *be, void *dst, const void *src,
                         size_t bytes)
{
	return cuda_copy(be, dst, src, bytes, cudaMemcpyDeviceToDevice);
}

static int cuda_buf_copy_async(struct cairn_backend *be, void *dst,
                               const void *src, size_t bytes)
{
	struct cairn_cuda_ctx *ctx = cuda_ctx(be);
	int rc = cairn__cuda_enter(ctx);

	if (rc)
		return rc;
	return CAIRN_CUDA_CHECK(cudaMemcpyAsync(
	    dst, src, bytes, cudaMemcpyDeviceToDevice, ctx->stream));
}

/* be's stream waits, on the device, for what other's stream has queued:
 * an event recorded there (one per backend, reused: a wait takes the
 * event's state when it is queued). */
static int cuda_wait_for(struct cairn_backend *be, struct cairn_backend *other)
{
	struct cairn_cuda_ctx *ctx = cuda_ctx(be), *o = cuda_ctx(other);
	int rc = cairn__cuda_enter(o);

	if (!rc)
		rc = CAIRN_CUDA_CHECK(
		    cudaEventRecord(o->order_event, o->stream));
	if (!rc)
		rc = cairn__cuda_enter(ctx);
	if (!rc)
		rc = CAIRN_CUDA_CHECK(
		    cudaStreamWaitEvent(ctx->stream, o->order_event, 0));
	return rc;
}

static int cuda_sync(struct cairn_backend *be)
{
	struct cairn_cuda_ctx *ctx = cuda_ctx(be);
	int rc = cairn__cuda_enter(ctx);

	if (rc)
		return rc;
	return CAIRN_CUDA_CHECK(cudaStreamSynchronize(ctx->stream));
}

/* ---- ops ------------------------------------------------------------- */

static int cuda_supports_op(struct cairn_backend *be, const struct cairn_op *op)
{
	(void)be;
	return cairn__cuda_op_supported(op);
}

static int cuda_op_run(struct cairn_backend *be, const struct cairn_op *op)
{
	struct cairn_cuda_ctx *ctx = cuda_ctx(be);
	int rc = cairn__cuda_enter(ctx);

	return rc ? rc : cairn__cuda_op_route(ctx, op);
}

/* ---- life cycle ------------------------------------------------------ */

/* Frees the context: waits for queued work, then the stream and scratch. */
static void cuda_free(struct cairn_backend *be)
{
	struct cairn_cuda_ctx *ctx = cuda_ctx(be);

	if (!ctx)
		return;
	if (cairn__cuda_enter(ctx) == 0) {
		if (ctx->stream) {
			(void)CAIRN_CUDA_CHECK(
			    cudaStreamSynchronize(ctx->stream));
			(void)CAIRN_CUDA_CHECK(cudaStreamDestroy(ctx->stream));
		}
		if (ctx->order_event)
			(void)CAIRN_CUDA_CHECK(
			    cudaEventDestroy(ctx->order_event));
		if (ctx->scratch)
			(void)CAIRN_CUDA_CHECK(cudaFree(ctx->scratch));
	}
	free(ctx->sumn_list);
	free(ctx);
	be->ctx = NULL;
}

static const struct cairn_backend_i cuda_iface = {
    /* .name        = */ "cuda",
    /* .free        = */ cuda_free,
    /* .buf_alloc   = */ cuda_buf_alloc,
    /* .buf_free    = */ cuda_buf_free,
    /* .buf_write   = */ cuda_buf_write,
    /* .buf_read    = */ cuda_buf_read,
    /* .buf_copy    = */ cuda_buf_copy,
    /* .sync        = */ cuda_sync,
    /* .supports_op = */ cuda_supports_op,
    /* .op_run      = */ cuda_op_run,
    /* .buf_copy_async = */ cuda_buf_copy_async,
    /* .wait_for    = */ cuda_wait_for,
    /* .open_peer   = */ NULL,
};

/* Runs one tiny kernel and reads its word back: catches a binary without
 * code for this device, and a device that cannot run kernels at all. */
static int cuda_smoke_test(struct cairn_cuda_ctx *ctx, const char *name)
{
	unsigned int *dword = NULL, word = 0;
	cudaError_t err;
	int rc;

	rc = CAIRN_CUDA_CHECK(cudaMalloc((void **)&dword, sizeof *dword));
	if (rc)
		goto out;
	cuda_smoke_kernel<<<1, 32, 0, ctx->stream>>>(dword);
	err = cudaGetLastError();
	if (err == cudaErrorNoKernelImageForDevice ||
	    err == cudaErrorUnsupportedPtxVersion) {
		cairn_error("cuda: device %d (%s, sm_%d%d): this cairn has no "
		            "GPU code it can run (built for sm_80, sm_86, "
		            "sm_89, sm_90 and compute_90 PTX; %s): rebuild "
		            "with CMAKE_CUDA_ARCHITECTURES including %d%d, or "
		            "update the driver",
		            ctx->device, name, ctx->cc_major, ctx->cc_minor,
		            cudaGetErrorString(err), ctx->cc_major,
		            ctx->cc_minor);
		rc = CAIRN_ENODEV;
		goto out;
	}
	rc = cairn__cuda_check(err, "launch of cuda_smoke_kernel", __FILE__,
	                       __LINE__);
	if (rc)
		goto out;
	rc = CAIRN_CUDA_CHECK(cudaMemcpyAsync(
	    &word, dword, sizeof word, cudaMemcpyDeviceToHost, ctx->stream));
	if (rc)
		goto out;
	rc = CAIRN_CUDA_CHECK(cudaStreamSynchronize(ctx->stream));
	if (rc)
		goto out;
	if (word != CUDA_SMOKE_MAGIC) {
		cairn_error("cuda: device %d (%s): a test kernel wrote 0x%08x, "
		            "want 0x%08x: the device does not run kernels "
		            "correctly",
		            ctx->device, name, word, CUDA_SMOKE_MAGIC);
		rc = CAIRN_EDEVICE;
	}
out:
	if (dword)
		(void)CAIRN_CUDA_CHECK(cudaFree(dword));
	return rc;
}

/* Opens device opts->device: checks it exists and can run this build's
 * code, creates the stream and fills *be.  On failure nothing is left
 * allocated and be->ctx is NULL. */
extern "C" int cairn__backend_cuda_init(struct cairn_backend *be,
                                        const cairn_backend_opts *opts)
{
	struct cairn_cuda_ctx *ctx = NULL;
	cudaDeviceProp prop;
	char why[256] = "";
	int dev = opts ? opts->device : 0;
	int count = 0, rc;
	cudaError_t err;

	be->ctx = NULL;
	err = cudaGetDeviceCount(&count);
	if (err != cudaSuccess || count == 0) {
		cuda_probe_why(err != cudaSuccess ? err : cudaErrorNoDevice,
		               why, sizeof why);
		cudaGetLastError();
		cairn_debug("cuda: no usable device: %s", why);
		return CAIRN_ENODEV;
	}
	if (dev < 0 || dev >= count) {
		cairn_error("cuda: device %d does not exist (this machine has "
		            "%d CUDA device%s, numbered from 0)",
		            dev, count, count == 1 ? "" : "s");
		return CAIRN_ENODEV;
	}
	if (!cuda_device_usable(dev, why, sizeof why)) {
		cairn_error("cuda: %s", why);
		return CAIRN_ENODEV;
	}
	rc = CAIRN_CUDA_CHECK(cudaGetDeviceProperties(&prop, dev));
	if (rc)
		goto out;
	rc = CAIRN_CUDA_CHECK(cudaSetDevice(dev));
	if (rc)
		goto out;
	ctx = (struct cairn_cuda_ctx *)calloc(1, sizeof *ctx);
	if (!ctx) {
		rc = CAIRN_ENOMEM;
		goto out;
	}
	ctx->device = dev;
	ctx->gemm_shape = -1;
	{ /* a forced GEMM block shape, for measuring the shapes */
		const char *shape = getenv("CAIRN_CUDA_GEMM_SHAPE");
		if (shape && *shape && strcmp(shape, "auto")) {
			ctx->gemm_shape = cairn__cuda_gemm_shape_parse(shape);
			if (ctx->gemm_shape < 0) {
				cairn_error("cuda: CAIRN_CUDA_GEMM_SHAPE=%.40s "
				            "is not a GEMM block shape; use "
				            "auto, 128x128, 64x128, 64x64 or "
				            "32x64, or unset it",
				            shape);
				rc = CAIRN_EINVAL;
				goto out;
			}
		}
	}
	{ /* a forced chunk-hash block size, for measuring */
		const char *ht = getenv("CAIRN_CUDA_HASH_THREADS");
		if (ht && *ht) {
			if (!strcmp(ht, "32") || !strcmp(ht, "64") ||
			    !strcmp(ht, "128")) {
				ctx->hash_threads = atoi(ht);
			} else {
				cairn_error(
				    "cuda: CAIRN_CUDA_HASH_THREADS=%.40s "
				    "is not a hash block size; use 32, "
				    "64 or 128, or unset it",
				    ht);
				rc = CAIRN_EINVAL;
				goto out;
			}
		}
	}
	ctx->sm_count = prop.multiProcessorCount;
	ctx->cc_major = prop.major;
	ctx->cc_minor = prop.minor;
	/* A blocking stream: it stays ordered with work other code may
	 * queue on the legacy default stream of the same device. */
	rc = CAIRN_CUDA_CHECK(cudaStreamCreate(&ctx->stream));
	if (!rc)
		rc = CAIRN_CUDA_CHECK(cudaEventCreateWithFlags(
		    &ctx->order_event, cudaEventDisableTiming));
	if (rc)
		goto out;
	rc = cuda_smoke_test(ctx, prop.name);
	if (rc)
		goto out;

	be->iface = &cuda_iface;
	be->kind = CAIRN_BACKEND_CUDA;
	be->threads = 1;
	be->device = dev;
	snprintf(
	    be->desc, sizeof be->desc, "%.100s (sm_%d%d, %d SMs, %d GiB%s%s)",
	    prop.name, prop.major, prop.minor, prop.multiProcessorCount,
	    (int)(prop.totalGlobalMem >> 30),
	    ctx->gemm_shape < 0 ? "" : ", GEMM blocks ",
	    ctx->gemm_shape < 0 ? ""
	                        : cairn__cuda_gemm_shape_name(ctx->gemm_shape));
	be->ctx = ctx;
	ctx = NULL;
out:
	if (ctx) {
		if (ctx->order_event)
			(void)CAIRN_CUDA_CHECK(
			    cudaEventDestroy(ctx->order_event));
		if (ctx->stream)
			(void)CAIRN_CUDA_CHECK(cudaStreamDestroy(ctx->stream));
		free(ctx);
	}
	return rc;
}
