/* cairn: the CUDA backend's kernels, run on the host (tests/emu/cuda_emu.h)
 * behind a backend of their own, so that test_kernels* --backend emu hold
 * every CUDA kernel's source to ref, bit for bit, on machines without a
 * GPU.  The op routing and supports_op are kernels/cuda/route.cuh's, as
 * in backend_cuda.cu;
 * memory is host memory; the "device" is an H100's 132 multiprocessors
 * (which decides the GEMM's block shapes).  For tests only.
 *
 * Like a stream, and more lazily than any GPU: ops and async copies are
 * queued and run only when they must (the host reads, writes, copies or
 * frees through the backend, syncs it, or another backend waits for it:
 * cairn_backend_wait_for runs the queue of the backend waited for).  So
 * a missing wait between two backends (the committer's snapshot and the
 * model's steps) reads data too new or too old here, where a GPU might
 * have happened to run in time. */
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

/* One queued piece of work: an op (with its own copies of the host
 * arrays an op may point to, which the caller may free once op_run
 * returns, as CUDA's launch has read them) or a device copy. */
struct emu_work {
	int is_copy;
	struct cairn_op op;
	void *owned; /* sum_n.src or gather.idx, copied */
	void *dst;
	const void *src;
	size_t bytes;
};

struct emu_queue {
	struct emu_work *w;
	size_t n, cap;
	int err; /* the first failure, reported at the next flush */
};

/* be->ctx: the kernels' context first, so that it is one to them. */
struct emu_ctx {
	struct cairn_cuda_ctx cuda;
	struct emu_queue q;
};

static int emu_run_now(struct cairn_backend *be, const struct cairn_op *op);

static struct emu_queue *emu_q(struct cairn_backend *be)
{
	return &((struct emu_ctx *)be->ctx)->q;
}

/* Runs be's queue in order; its first failure, sticky as a stream's. */
static int emu_flush(struct cairn_backend *be)
{
	struct emu_queue *q = emu_q(be);

	for (size_t i = 0; i < q->n; i++) {
		struct emu_work *w = &q->w[i];
		if (!q->err) {
			if (w->is_copy)
				memmove(w->dst, w->src, w->bytes);
			else
				q->err = emu_run_now(be, &w->op);
		}
		free(w->owned);
	}
	q->n = 0;
	return q->err;
}

static int emu_push(struct cairn_backend *be, const struct emu_work *w)
{
	struct emu_queue *q = emu_q(be);

	if (q->n == q->cap) {
		size_t cap = q->cap ? 2 * q->cap : 64;
		void *p = realloc(q->w, cap * sizeof *q->w);
		if (!p)
			return CAIRN_ENOMEM;
		q->w = (struct emu_work *)p;
		q->cap = cap;
	}
	q->w[q->n++] = *w;
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
	(void)emu_flush(be); /* as cudaFree waits */
	free(buf);
}

/* The host's copies (read, write, copy) come after the queued work. */
static int emu_copy(struct cairn_backend *be, void *dst, const void *src,
                    size_t bytes)
{
	int rc = emu_flush(be);

	if (!rc)
		memmove(dst, src, bytes);
	return rc;
}

static int emu_copy_async(struct cairn_backend *be, void *dst, const void *src,
                          size_t bytes)
{
	struct emu_work w;

	memset(&w, 0, sizeof w);
	w.is_copy = 1;
	w.dst = dst;
	w.src = src;
	w.bytes = bytes;
	return emu_push(be, &w);
}

static int emu_sync(struct cairn_backend *be)
{
	return emu_flush(be);
}

/* be's later work after other's queued work: run other's queue now (be's
 * own runs later still). */
static int emu_wait_for(struct cairn_backend *be, struct cairn_backend *other)
{
	(void)be;
	return emu_flush(other);
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

/* Queues op, with copies of the host arrays it points to. */
static int emu_op_run(struct cairn_backend *be, const struct cairn_op *op)
{
	struct emu_work w;
	size_t own = 0;
	int rc;

	memset(&w, 0, sizeof w);
	w.op = *op;
	if (op->kind == CAIRN_OP_SUM_N && op->u.sum_n.count > 0)
		own = (size_t)op->u.sum_n.count * sizeof *op->u.sum_n.src;
	else if (op->kind == CAIRN_OP_GATHER_U8 && op->u.gather.n > 0)
		own = (size_t)op->u.gather.n * sizeof *op->u.gather.idx;
	if (own) {
		w.owned = malloc(own);
		if (!w.owned)
			return CAIRN_ENOMEM;
		if (op->kind == CAIRN_OP_SUM_N) {
			memcpy(w.owned, op->u.sum_n.src, own);
			w.op.u.sum_n.src = (const float *const *)w.owned;
		} else {
			memcpy(w.owned, op->u.gather.idx, own);
			w.op.u.gather.idx = (const uint32_t *)w.owned;
		}
	}
	rc = emu_push(be, &w);
	if (rc)
		free(w.owned);
	return rc;
}

/* As cuda_op_run; a __syncthreads in a plain launch or a misaligned float4
 * load the emulation saw fails the op. */
static int emu_run_now(struct cairn_backend *be, const struct cairn_op *op)
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
		(void)emu_flush(be);
		free(emu_q(be)->w);
		free(ctx->scratch);
		free(ctx->sumn_list);
	}
	free(ctx);
}

static int emu_open_peer(struct cairn_backend *be,
                         const cairn_backend_opts *opts,
                         struct cairn_backend **out)
{
	(void)be;
	(void)opts;
	return cairn_test_emu_backend_open(out);
}

static const struct cairn_backend_i emu_iface = {
    /* .name        = */ "cuda-emu",
    /* .free        = */ emu_free,
    /* .buf_alloc   = */ emu_buf_alloc,
    /* .buf_free    = */ emu_buf_free,
    /* .buf_write   = */ emu_write,
    /* .buf_read    = */ emu_copy,
    /* .buf_copy    = */ emu_copy,
    /* .sync        = */ emu_sync,
    /* .supports_op = */ emu_supports_op,
    /* .op_run      = */ emu_op_run,
    /* .buf_copy_async = */ emu_copy_async,
    /* .wait_for    = */ emu_wait_for,
    /* .open_peer   = */ emu_open_peer,
};

extern "C" int cairn_test_emu_backend_open(cairn_backend **out)
{
	struct cairn_backend *be;
	struct cairn_cuda_ctx *ctx;

	be = (struct cairn_backend *)calloc(1, sizeof *be);
	ctx = (struct cairn_cuda_ctx *)calloc(1, sizeof(struct emu_ctx));
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
