/* cairn: the fast CPU backend.
 *
 * GEMM is BLIS-style with AVX2/FMA micro-kernels (gemm.c, gemm_avx2.c).  The
 * other ops are the reference loops split over the thread pool (ops_body.h,
 * compiled for portable x86-64 and for AVX2/FMA): each output element is
 * computed by one thread with the same per-element formula (ops_scalar.h),
 * so the bits do not depend on the thread count or the ISA.
 *
 * The backend context owns the thread pool. */
#include <hwloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cairn/error.h"
#include "cairn/log.h"
#include "cpu_impl.h"
#include "ops_scalar.h"

/* Below this many elements an op runs on the calling thread: waking the
 * pool costs more than the work. */
#define CPU_SERIAL_ELEMS 32768

struct cpu_ctx {
	struct cairn_pool *pool;
	int isa;
	int no_gemm_seg;                  /* opts->no_gemm_seg */
	const struct cairn__cpu_ops *ops; /* per ISA; static tables */
};

const char *cairn__isa_name(int isa)
{
	return isa == CAIRN_ISA_AVX512 ? "avx2+fma, avx-512 hash"
	       : isa == CAIRN_ISA_AVX2 ? "avx2+fma"
	                               : "portable";
}

/* Runs fn over the pool, or inline when the op is small.  work is a rough
 * cost in element-operations, in double so that products of the API's
 * largest sizes cannot overflow. */
static void cpu_run(struct cpu_ctx *ctx, double work, cairn_pool_fn fn,
                    void *arg)
{
	if (work < CPU_SERIAL_ELEMS || cairn__pool_threads(ctx->pool) == 1)
		fn(arg, 0, 1);
	else
		cairn__pool_run(ctx->pool, fn, arg);
}

static int cpu_supports_op(struct cairn_backend *be, const struct cairn_op *op)
{
	const struct cpu_ctx *ctx = be->ctx;

	if (op->kind == CAIRN_OP_GEMM)
		return !(op->u.gemm.ta == CAIRN_TRANS &&
		         op->u.gemm.tb == CAIRN_TRANS) &&
		       (op->u.gemm.segs == 1 || !ctx->no_gemm_seg);
	return (int)op->kind >= 0 && op->kind < CAIRN_OP_COUNT;
}

/* cairn_gather_u8 on the calling thread (a batch is 200K pixels: memory
 * moves, not worth the pool): each pixel looked up in a table of the 256
 * cairn_pixel_f values, the same bits as the division. */
static void cpu_gather_u8(const struct cairn_op *op)
{
	const int64_t cols = op->u.gather.cols;
	float lut[256];

	for (int v = 0; v < 256; v++)
		lut[v] = cairn_pixel_f((uint8_t)v);
	for (int64_t r = 0; r < op->u.gather.n; r++) {
		const uint8_t *row =
		    op->u.gather.src + (int64_t)op->u.gather.idx[r] * cols;
		float *x = op->u.gather.x + r * cols;
		for (int64_t j = 0; j < cols; j++)
			x[j] = lut[row[j]];
		if (op->u.gather.labels)
			op->u.gather.y[r] =
			    op->u.gather.labels[op->u.gather.idx[r]];
	}
}

static int cpu_op_run(struct cairn_backend *be, const struct cairn_op *op)
{
	struct cpu_ctx *ctx = be->ctx;
	const struct cairn__cpu_ops *f = ctx->ops;
	void *arg = (void *)op; /* read-only in every worker */

	switch (op->kind) {
	case CAIRN_OP_GEMM:
		return cairn__cpu_gemm(ctx->pool, ctx->isa, op);
	case CAIRN_OP_BIAS_ADD:
		cpu_run(ctx, (double)op->u.bias.rows * op->u.bias.cols,
		        f->bias_add, arg);
		return 0;
	case CAIRN_OP_BIAS_GRAD:
		cpu_run(ctx, (double)op->u.bias.rows * op->u.bias.cols,
		        f->bias_grad, arg);
		return 0;
	case CAIRN_OP_RELU:
	case CAIRN_OP_RELU_BWD:
		cpu_run(ctx, (double)op->u.act.n, f->act, arg);
		return 0;
	case CAIRN_OP_GELU:
	case CAIRN_OP_GELU_BWD:
		/* tanh per element: worth threads much earlier */
		cpu_run(ctx, (double)op->u.act.n * 16, f->act, arg);
		return 0;
	case CAIRN_OP_XENT_FWD:
	case CAIRN_OP_XENT_BWD:
		cpu_run(ctx, (double)op->u.xent.rows * op->u.xent.classes * 8,
		        f->xent, arg);
		return 0;
	case CAIRN_OP_ADAMW:
		cpu_run(ctx, (double)op->u.adamw.n * 4, f->adamw, arg);
		return 0;
	case CAIRN_OP_NESTEROV:
		cpu_run(ctx, (double)op->u.nesterov.n, f->nesterov, arg);
		return 0;
	case CAIRN_OP_SUM_N:
		cpu_run(ctx, (double)op->u.sum_n.n * op->u.sum_n.count,
		        f->sum_n, arg);
		return 0;
	case CAIRN_OP_SUB:
	case CAIRN_OP_SCALE:
		cpu_run(ctx, (double)op->u.vec.n, f->vec, arg);
		return 0;
	case CAIRN_OP_SUM:
		f->sum(op);
		return 0;
	case CAIRN_OP_FILL_UNIFORM:
	case CAIRN_OP_FILL_NORMAL:
		cpu_run(ctx, (double)op->u.fill.n * 16, f->fill, arg);
		return 0;
	case CAIRN_OP_GATHER_U8:
		cpu_gather_u8(op);
		return 0;
	case CAIRN_OP_HASH_CHUNKS:
		/* About 8 element-operations a byte; never more threads'
		 * worth than there are chunks (cairn__split gives the rest
		 * nothing). */
		cpu_run(ctx, ((double)op->u.hash.bytes + 128) * 8,
		        f->hash_chunks, arg);
		return 0;
	default:
		return CAIRN_ENOTSUP;
	}
}

static void cpu_free(struct cairn_backend *be)
{
	struct cpu_ctx *ctx = be->ctx;

	if (!ctx)
		return;
	cairn__pool_destroy(ctx->pool);
	free(ctx);
	be->ctx = NULL;
}

static const struct cairn_backend_i cpu_iface = {
    /* .name        = */ "cpu",
    /* .free        = */ cpu_free,
    /* .buf_alloc   = */ cairn__host_alloc,
    /* .buf_free    = */ cairn__host_free,
    /* .buf_write   = */ cairn__host_copy,
    /* .buf_read    = */ cairn__host_copy,
    /* .buf_copy    = */ cairn__host_copy,
    /* .sync        = */ NULL,
    /* .supports_op = */ cpu_supports_op,
    /* .op_run      = */ cpu_op_run,
    /* .buf_copy_async = */ NULL, /* ops are done when they return */
    /* .wait_for    = */ NULL,
    /* .open_peer   = */ NULL,
};

/* Physical cores, from hwloc; 1 when hwloc cannot tell. */
static int cpu_count_cores(void)
{
	hwloc_topology_t topo;
	int n = 0;

	if (hwloc_topology_init(&topo))
		return 1;
	if (hwloc_topology_load(topo) == 0)
		n = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
	hwloc_topology_destroy(topo);
	return n > 0 ? n : 1;
}

/* The ISA asked for (opts, then CAIRN_CPU_ISA, then auto) if this CPU can
 * run it; CAIRN_ENOTSUP when it cannot, CAIRN_EINVAL for an unknown name.
 * auto takes the best this CPU has: avx512 (the AVX2 kernels with an
 * AVX-512F hash), avx2, portable. */
static int cpu_pick_isa(const char *want, int *isa)
{
	int has_avx2 = 0, has_avx512 = 0;
	const char *src = "CPU ISA"; /* where want came from, for errors */

#if defined(__x86_64__) || defined(__i386__)
	__builtin_cpu_init();
	has_avx2 =
	    __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
	/* libgcc also checks that the OS saves the AVX-512 state */
	has_avx512 = has_avx2 && __builtin_cpu_supports("avx512f");
#endif
	if (!want || !*want) {
		want = getenv("CAIRN_CPU_ISA");
		src = "CAIRN_CPU_ISA";
	}
	if (!want || !*want || !strcasecmp(want, "auto")) {
		*isa = has_avx512 ? CAIRN_ISA_AVX512
		       : has_avx2 ? CAIRN_ISA_AVX2
		                  : CAIRN_ISA_PORTABLE;
		return 0;
	}
	if (!strcasecmp(want, "portable")) {
		*isa = CAIRN_ISA_PORTABLE;
		return 0;
	}
	if (!strcasecmp(want, "avx2")) {
		if (!has_avx2) {
			cairn_error("%s avx2 asked for, but this CPU lacks "
			            "AVX2/FMA; use auto or portable",
			            src);
			return CAIRN_ENOTSUP;
		}
		*isa = CAIRN_ISA_AVX2;
		return 0;
	}
	if (!strcasecmp(want, "avx512")) {
		if (!has_avx512) {
			cairn_error("%s avx512 asked for, but this CPU (or "
			            "its OS) lacks AVX-512F with AVX2/FMA; use "
			            "auto, avx2 or portable",
			            src);
			return CAIRN_ENOTSUP;
		}
		*isa = CAIRN_ISA_AVX512;
		return 0;
	}
	cairn_error("%s '%s': unknown; want auto, avx512, avx2 or portable",
	            src, want);
	return CAIRN_EINVAL;
}

#define CPU_MAX_THREADS 1024

int cairn__backend_cpu_init(struct cairn_backend *be,
                            const cairn_backend_opts *opts)
{
	struct cpu_ctx *ctx = NULL;
	int threads = opts->threads, rc;

	ctx = calloc(1, sizeof *ctx);
	if (!ctx)
		return CAIRN_ENOMEM;
	rc = cpu_pick_isa(opts->cpu_isa, &ctx->isa);
	if (rc)
		goto out;
	ctx->no_gemm_seg = opts->no_gemm_seg;
	ctx->ops = ctx->isa == CAIRN_ISA_AVX512 ? &cairn__cpu_ops_avx512
	           : ctx->isa == CAIRN_ISA_AVX2 ? &cairn__cpu_ops_avx2
	                                        : &cairn__cpu_ops_portable;
	if (threads == 0)
		threads = cpu_count_cores();
	if (threads > CPU_MAX_THREADS) {
		cairn_error("%d threads asked for; at most %d", threads,
		            CPU_MAX_THREADS);
		rc = CAIRN_EINVAL;
		goto out;
	}
	rc = cairn__pool_create(threads, !opts->no_pin, &ctx->pool);
	if (rc)
		goto out;
	be->iface = &cpu_iface;
	be->threads = threads;
	be->ctx = ctx;
	snprintf(be->desc, sizeof be->desc, "%s, %d thread%s, %s",
	         cairn__isa_name(ctx->isa), threads, threads == 1 ? "" : "s",
	         cairn__pool_describe(ctx->pool));
	ctx = NULL;
out:
	free(ctx);
	return rc;
}
