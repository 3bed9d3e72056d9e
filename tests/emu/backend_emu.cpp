/* cairn: the CUDA backend's kernels, run on the host (tests/emu/cuda_emu.h)
 * behind a backend of their own, so that test_kernels --backend emu holds
 * every CUDA kernel's source to ref, bit for bit, on machines without a
 * GPU.  The op routing and supports_op are kernels/cuda/route.cuh's, as
 * in backend_cuda.cu;
 * memory is host memory; the "device" is an H100's 132 multiprocessors
 * (which decides the GEMM's block shapes).  For tests only. */
#define CAIRN_CUDA_EMU 1
#include "emu_names.h" /* libcairn may hold the real ones (CUDA builds) */
#include "../../kernels/cuda/data.cu"
#include "../../kernels/cuda/elementwise.cu"
#include "../../kernels/cuda/gemm.cu"
#include "../../kernels/cuda/hash.cu"
#include "../../kernels/cuda/optim.cu"
#include "../../kernels/cuda/rng.cu"
#include "../../kernels/cuda/xent.cu"
#include "../../kernels/cuda/route.cuh"

#include "backend_emu.h"

/* What backend_cuda.cu provides to the kernels' files. */
int cairn__cuda_enter(struct cairn_cuda_ctx *ctx)
{
	(void)ctx;
	return 0;
}

int cairn__cuda_scratch(struct cairn_cuda_ctx *ctx, size_t bytes, void **out)
{
	if (bytes > ctx->scratch_bytes) {
		void *p = realloc(ctx->scratch, bytes);
		if (!p)
			return CAIRN_ENOMEM;
		ctx->scratch = p;
		ctx->scratch_bytes = bytes;
		ctx->sumn_count = 0; /* as the real one: a new buffer */
	}
	*out = ctx->scratch;
	return 0;
}

static int emu_buf_alloc(struct cairn_backend *be, size_t bytes, void **out)
{
	(void)be;
	*out = aligned_alloc(256, (bytes + 255) / 256 * 256);
	return *out ? 0 : CAIRN_ENOMEM;
}

static void emu_buf_free(struct cairn_backend *be, void *buf)
{
	(void)be;
	free(buf);
}

static int emu_copy(struct cairn_backend *be, void *dst, const void *src,
                    size_t bytes)
{
	(void)be;
	memmove(dst, src, bytes);
	return 0;
}

/* host to "device": counted (cairn_test_emu_h2d_bytes) */
static int emu_write(struct cairn_backend *be, void *dst, const void *src,
                     size_t bytes)
{
	cairn_emu_h2d_bytes += bytes;
	return emu_copy(be, dst, src, bytes);
}

extern "C" unsigned long long cairn_test_emu_h2d_bytes(void)
{
	return cairn_emu_h2d_bytes;
}

static int emu_supports_op(struct cairn_backend *be, const struct cairn_op *op)
{
	(void)be;
	return cairn__cuda_op_supported(op);
}

/* As cuda_op_run; a __syncthreads in a plain launch or a misaligned float4
 * load the emulation saw fails the op. */
static int emu_op_run(struct cairn_backend *be, const struct cairn_op *op)
{
	int rc;

	cairn_emu_bad_syncs = 0;
	cairn_emu_bad_loads = 0;
	rc = cairn__cuda_op_route((struct cairn_cuda_ctx *)be->ctx, op);
	if (!rc && (cairn_emu_bad_syncs || cairn_emu_bad_loads))
		rc = CAIRN_EDEVICE;
	return rc;
}

static void emu_free(struct cairn_backend *be)
{
	struct cairn_cuda_ctx *ctx = (struct cairn_cuda_ctx *)be->ctx;

	if (ctx) {
		free(ctx->scratch);
		free(ctx->sumn_list);
	}
	free(ctx);
}

static const struct cairn_backend_i emu_iface = {
    /* .name        = */ "cuda-emu",
    /* .free        = */ emu_free,
    /* .buf_alloc   = */ emu_buf_alloc,
    /* .buf_free    = */ emu_buf_free,
    /* .buf_write   = */ emu_write,
    /* .buf_read    = */ emu_copy,
    /* .buf_copy    = */ emu_copy,
    /* .sync        = */ NULL,
    /* .supports_op = */ emu_supports_op,
    /* .op_run      = */ emu_op_run,
    /* .buf_copy_async = */ NULL, /* ops are done when they return */
    /* .wait_for    = */ NULL,
};

extern "C" int cairn_test_emu_backend_open(cairn_backend **out)
{
	struct cairn_backend *be;
	struct cairn_cuda_ctx *ctx;

	be = (struct cairn_backend *)calloc(1, sizeof *be);
	ctx = (struct cairn_cuda_ctx *)calloc(1, sizeof *ctx);
	if (!be || !ctx) {
		free(be);
		free(ctx);
		return CAIRN_ENOMEM;
	}
	ctx->sm_count = 132;
	ctx->gemm_shape = -1;
	be->iface = &emu_iface;
	be->kind = CAIRN_BACKEND_CUDA;
	be->threads = 1;
	be->ctx = ctx;
	snprintf(be->desc, sizeof be->desc,
	         "the cuda backend's kernels on the host (emulated, 132 SMs)");
	*out = be;
	return 0;
}
