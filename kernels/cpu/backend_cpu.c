/* cairn: the fast CPU backend.
 *
 * GEMM is BLIS-style with AVX2/FMA micro-kernels (gemm.c, gemm_avx2.c).  The
 * other ops are the reference loops split over the thread pool: each output
 * element is computed by one thread with the same per-element formula
 * (ops_scalar.h), so the bits do not depend on the thread count.  Reductions
 * keep the reference's sequence: bias_grad splits columns, never rows;
 * the vector sum runs on one thread.
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
#include "philox.h"

/* Below this many elements an op runs on the calling thread: waking the
 * pool costs more than the work. */
#define CPU_SERIAL_ELEMS 32768

struct cpu_ctx {
	struct cairn_pool *pool;
	int isa;
};

const char *cairn__isa_name(int isa)
{
	return isa == CAIRN_ISA_AVX2 ? "avx2+fma" : "portable";
}

/* Runs fn over the pool, or inline when the op is small. */
static void cpu_run(struct cpu_ctx *ctx, int64_t work, cairn_pool_fn fn,
		    void *arg)
{
	if (work < CPU_SERIAL_ELEMS || cairn__pool_threads(ctx->pool) == 1)
		fn(arg, 0, 1);
	else
		cairn__pool_run(ctx->pool, fn, arg);
}

static void cpu_bias_add(void *arg, int tid, int nth)
{
	const struct cairn_op *op = arg;
	const int64_t cols = op->u.bias.cols;
	int64_t lo, hi;

	cairn__split(op->u.bias.rows, tid, nth, &lo, &hi);
	for (int64_t i = lo; i < hi; i++) {
		const float *x = op->u.bias.x + i * cols;
		float *y = op->u.bias.y + i * cols;
		for (int64_t j = 0; j < cols; j++)
			y[j] = cairn_canon(x[j] + op->u.bias.bias[j]);
	}
}

/* Each thread owns a range of columns and walks all rows in order, so
 * every db[j] is the reference's sequential sum. */
static void cpu_bias_grad(void *arg, int tid, int nth)
{
	const struct cairn_op *op = arg;
	const int64_t cols = op->u.bias.cols;
	float *db = op->u.bias.y;
	int64_t lo, hi;

	cairn__split(cols, tid, nth, &lo, &hi);
	for (int64_t j = lo; j < hi; j++)
		db[j] = 0.0f;
	for (int64_t i = 0; i < op->u.bias.rows; i++) {
		const float *dy = op->u.bias.x + i * cols;
		for (int64_t j = lo; j < hi; j++)
			db[j] = db[j] + dy[j];
	}
	for (int64_t j = lo; j < hi; j++)
		db[j] = cairn_canon(db[j]);
}

static void cpu_act(void *arg, int tid, int nth)
{
	const struct cairn_op *op = arg;
	const float *x = op->u.act.x, *dy = op->u.act.dy;
	float *y = op->u.act.y;
	int64_t lo, hi;

	cairn__split(op->u.act.n, tid, nth, &lo, &hi);
	switch (op->kind) {
	case CAIRN_OP_RELU:
		for (int64_t e = lo; e < hi; e++)
			y[e] = cairn_relu_f(x[e]);
		break;
	case CAIRN_OP_RELU_BWD:
		for (int64_t e = lo; e < hi; e++)
			y[e] = cairn_relu_bwd_f(x[e], dy[e]);
		break;
	case CAIRN_OP_GELU:
		for (int64_t e = lo; e < hi; e++)
			y[e] = cairn_gelu_f(x[e]);
		break;
	default: /* CAIRN_OP_GELU_BWD */
		for (int64_t e = lo; e < hi; e++)
			y[e] = cairn_gelu_bwd_f(x[e], dy[e]);
		break;
	}
}

static void cpu_xent(void *arg, int tid, int nth)
{
	const struct cairn_op *op = arg;
	const int64_t cls = op->u.xent.classes;
	int64_t lo, hi;

	cairn__split(op->u.xent.rows, tid, nth, &lo, &hi);
	for (int64_t r = lo; r < hi; r++) {
		const float *in = op->u.xent.in + r * cls;
		float *out = op->u.xent.out + r * cls;
		int32_t label = op->u.xent.labels[r];
		int bad = label < 0 || (int64_t)label >= cls;

		if (op->kind == CAIRN_OP_XENT_FWD) {
			op->u.xent.loss[r] =
				cairn_xent_row_f(in, cls, label, out);
			continue;
		}
		for (int64_t j = 0; j < cls; j++)
			out[j] = cairn_xent_bwd_f(in[j], j == label, bad,
						  op->u.xent.scale);
	}
}

static void cpu_adamw(void *arg, int tid, int nth)
{
	const struct cairn_op *op = arg;
	int64_t lo, hi;

	cairn__split(op->u.adamw.n, tid, nth, &lo, &hi);
	for (int64_t e = lo; e < hi; e++)
		cairn_adamw_f(&op->u.adamw.param[e], &op->u.adamw.m[e],
			      &op->u.adamw.v[e], op->u.adamw.grad[e],
			      op->u.adamw.lr, op->u.adamw.beta1,
			      op->u.adamw.beta2, op->u.adamw.one_minus_beta1,
			      op->u.adamw.one_minus_beta2, op->u.adamw.decay,
			      op->u.adamw.bc1, op->u.adamw.bc2,
			      op->u.adamw.eps);
}

static void cpu_nesterov(void *arg, int tid, int nth)
{
	const struct cairn_op *op = arg;
	int64_t lo, hi;

	cairn__split(op->u.nesterov.n, tid, nth, &lo, &hi);
	for (int64_t e = lo; e < hi; e++)
		cairn_nesterov_f(&op->u.nesterov.param[e],
				 &op->u.nesterov.buf[e], op->u.nesterov.grad[e],
				 op->u.nesterov.lr, op->u.nesterov.momentum);
}

/* Sources are added in order into dst, a cache-sized chunk at a time; dst
 * may alias src[0] (the first pass reads it before writing). */
static void cpu_sum_n(void *arg, int tid, int nth)
{
	const struct cairn_op *op = arg;
	int64_t lo, hi;

	cairn__split(op->u.sum_n.n, tid, nth, &lo, &hi);
	for (int64_t c0 = lo; c0 < hi; c0 += 4096) {
		int64_t c1 = c0 + 4096 < hi ? c0 + 4096 : hi;
		float *dst = op->u.sum_n.dst;
		if (dst != op->u.sum_n.src[0])
			memcpy(dst + c0, op->u.sum_n.src[0] + c0,
			       (size_t)(c1 - c0) * sizeof(float));
		for (int i = 1; i < op->u.sum_n.count; i++) {
			const float *s = op->u.sum_n.src[i];
			for (int64_t e = c0; e < c1; e++)
				dst[e] = dst[e] + s[e];
		}
		for (int64_t e = c0; e < c1; e++)
			dst[e] = cairn_canon(dst[e]);
	}
}

static void cpu_vec(void *arg, int tid, int nth)
{
	const struct cairn_op *op = arg;
	const float *a = op->u.vec.a, *b = op->u.vec.b;
	float *out = op->u.vec.out;
	int64_t lo, hi;

	cairn__split(op->u.vec.n, tid, nth, &lo, &hi);
	if (op->kind == CAIRN_OP_SUB) {
		for (int64_t e = lo; e < hi; e++)
			out[e] = cairn_canon(a[e] - b[e]);
	} else {
		for (int64_t e = lo; e < hi; e++)
			out[e] = cairn_canon(a[e] * op->u.vec.s);
	}
}

/* One Philox block per four elements, as the reference maps them. */
static void cpu_fill(void *arg, int tid, int nth)
{
	const struct cairn_op *op = arg;
	uint32_t w[4];
	uint64_t have = UINT64_MAX;
	int64_t lo, hi;

	cairn__split(op->u.fill.n, tid, nth, &lo, &hi);
	for (int64_t e = lo; e < hi; e++) {
		uint64_t idx = op->u.fill.offset + (uint64_t)e;
		if (idx / 4 != have) {
			have = idx / 4;
			cairn_philox_block(op->u.fill.key, op->u.fill.stream,
					   have, w);
		}
		if (op->kind == CAIRN_OP_FILL_UNIFORM)
			op->u.fill.out[e] = cairn_rng_uniform(
				w[idx % 4], op->u.fill.p0, op->u.fill.p1);
		else
			op->u.fill.out[e] =
				cairn_rng_normal(w, (int)(idx % 4),
						 op->u.fill.p0, op->u.fill.p1);
	}
}

static int cpu_supports_op(struct cairn_backend *be, const struct cairn_op *op)
{
	(void)be;
	if (op->kind == CAIRN_OP_GEMM)
		return !(op->u.gemm.ta == CAIRN_TRANS &&
			 op->u.gemm.tb == CAIRN_TRANS);
	return (int)op->kind >= 0 && op->kind < CAIRN_OP_COUNT;
}

static int cpu_op_run(struct cairn_backend *be, const struct cairn_op *op)
{
	struct cpu_ctx *ctx = be->ctx;
	void *arg = (void *)op; /* read-only in every worker */

	switch (op->kind) {
	case CAIRN_OP_GEMM:
		return cairn__cpu_gemm(ctx->pool, ctx->isa, op);
	case CAIRN_OP_BIAS_ADD:
		cpu_run(ctx, op->u.bias.rows * op->u.bias.cols, cpu_bias_add,
			arg);
		return 0;
	case CAIRN_OP_BIAS_GRAD:
		cpu_run(ctx, op->u.bias.rows * op->u.bias.cols, cpu_bias_grad,
			arg);
		return 0;
	case CAIRN_OP_RELU:
	case CAIRN_OP_RELU_BWD:
		cpu_run(ctx, op->u.act.n, cpu_act, arg);
		return 0;
	case CAIRN_OP_GELU:
	case CAIRN_OP_GELU_BWD:
		/* tanh per element: worth threads much earlier */
		cpu_run(ctx, op->u.act.n * 16, cpu_act, arg);
		return 0;
	case CAIRN_OP_XENT_FWD:
	case CAIRN_OP_XENT_BWD:
		cpu_run(ctx, op->u.xent.rows * op->u.xent.classes * 8,
			cpu_xent, arg);
		return 0;
	case CAIRN_OP_ADAMW:
		cpu_run(ctx, op->u.adamw.n * 4, cpu_adamw, arg);
		return 0;
	case CAIRN_OP_NESTEROV:
		cpu_run(ctx, op->u.nesterov.n, cpu_nesterov, arg);
		return 0;
	case CAIRN_OP_SUM_N:
		cpu_run(ctx, op->u.sum_n.n * op->u.sum_n.count, cpu_sum_n,
			arg);
		return 0;
	case CAIRN_OP_SUB:
	case CAIRN_OP_SCALE:
		cpu_run(ctx, op->u.vec.n, cpu_vec, arg);
		return 0;
	case CAIRN_OP_SUM: {
		/* one sequential chain, by definition */
		float acc = 0.0f;
		for (int64_t e = 0; e < op->u.vec.n; e++)
			acc = acc + op->u.vec.a[e];
		op->u.vec.out[0] = cairn_canon(acc);
		return 0;
	}
	case CAIRN_OP_FILL_UNIFORM:
	case CAIRN_OP_FILL_NORMAL:
		cpu_run(ctx, op->u.fill.n * 16, cpu_fill, arg);
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
	/* .sync        = */ NULL,
	/* .supports_op = */ cpu_supports_op,
	/* .op_run      = */ cpu_op_run,
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
 * run it; CAIRN_ENOTSUP when it cannot, CAIRN_EINVAL for an unknown name. */
static int cpu_pick_isa(const char *want, int *isa)
{
	int has_avx2 = 0;

#if defined(__x86_64__) || defined(__i386__)
	__builtin_cpu_init();
	has_avx2 = __builtin_cpu_supports("avx2") &&
		   __builtin_cpu_supports("fma");
#endif
	if (!want || !*want)
		want = getenv("CAIRN_CPU_ISA");
	if (!want || !*want || !strcasecmp(want, "auto")) {
		*isa = has_avx2 ? CAIRN_ISA_AVX2 : CAIRN_ISA_PORTABLE;
		return 0;
	}
	if (!strcasecmp(want, "portable")) {
		*isa = CAIRN_ISA_PORTABLE;
		return 0;
	}
	if (!strcasecmp(want, "avx2")) {
		if (!has_avx2) {
			cairn_error("CPU ISA avx2 asked for, but this CPU lacks "
				    "AVX2/FMA; use auto or portable");
			return CAIRN_ENOTSUP;
		}
		*isa = CAIRN_ISA_AVX2;
		return 0;
	}
	cairn_error("unknown CPU ISA '%s' (want auto, avx2 or portable)", want);
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
