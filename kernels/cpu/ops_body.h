/* cairn: the cpu backend's element-wise workers, compiled twice.
 *
 * This body is included by ops_portable.c (plain x86-64) and ops_avx2.c
 * (-mavx2 -mfma, where fmaf is one instruction instead of a libm call and
 * loops may vectorise).  Both compile the same per-element formulas from
 * ops_scalar.h and philox.h, so the two tables give the same bits; only the
 * speed differs.  The includer defines CPU_OPS_TABLE, the table's name.
 *
 * Each worker computes its share [lo, hi) of the op's outputs
 * (cairn__split); reductions keep the reference's order (bias_grad splits
 * columns, never rows; sum runs on one thread). */
#ifndef CPU_OPS_TABLE
#error "define CPU_OPS_TABLE before including ops_body.h"
#endif

#include <string.h>

#include "blake2b.h"
#include "cpu_impl.h"
#include "ops_scalar.h"
#include "philox.h"

static void cpu_bias_add(void *arg, int tid, int nth)
{
	const struct cairn_op *op = arg;
	const int64_t cols = op->u.bias.cols;
	int64_t lo, hi;

	cairn__split(op->u.bias.rows, tid, nth, &lo, &hi);
	for (int64_t i = lo; i < hi; i++) {
		const float *x = op->u.bias.x + i * cols;
		float *y = op->u.bias.y + i * cols;
		int64_t j = 0;
#ifdef CPU_BIAS_ROW_X8
		j = CPU_BIAS_ROW_X8(x, op->u.bias.bias, y, cols);
#endif
		for (; j < cols; j++)
			y[j] = cairn_canon(x[j] + op->u.bias.bias[j]);
	}
}

/* Columns per local accumulator block (16 KiB on the stack). */
#define CPU_ACC_CHUNK 4096

/* Each thread owns a range of columns and walks all rows in order, so
 * every db[j] is the reference's sequential sum.  The sums build in a local
 * block and db is written last, so db may alias dy (as on ref and cuda). */
static void cpu_bias_grad(void *arg, int tid, int nth)
{
	const struct cairn_op *op = arg;
	const int64_t cols = op->u.bias.cols;
	float acc[CPU_ACC_CHUNK];
	int64_t lo, hi;

	cairn__split(cols, tid, nth, &lo, &hi);
	for (int64_t c0 = lo; c0 < hi; c0 += CPU_ACC_CHUNK) {
		int64_t w = hi - c0 < CPU_ACC_CHUNK ? hi - c0 : CPU_ACC_CHUNK;
		for (int64_t j = 0; j < w; j++)
			acc[j] = 0.0f;
		for (int64_t i = 0; i < op->u.bias.rows; i++) {
			const float *dy = op->u.bias.x + i * cols + c0;
			for (int64_t j = 0; j < w; j++)
				acc[j] = acc[j] + dy[j];
		}
		for (int64_t j = 0; j < w; j++)
			op->u.bias.y[c0 + j] = cairn_canon(acc[j]);
	}
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
#ifdef CPU_ADAMW_X8
	/* Eight elements at a time, the same operations in the same order
	 * (ops_avx2.c); the tail below. */
	lo = CPU_ADAMW_X8(op, lo, hi);
#endif
	for (int64_t e = lo; e < hi; e++)
		cairn_adamw_f(
		    &op->u.adamw.param[e], &op->u.adamw.m[e], &op->u.adamw.v[e],
		    op->u.adamw.grad[e], op->u.adamw.lr, op->u.adamw.beta1,
		    op->u.adamw.beta2, op->u.adamw.one_minus_beta1,
		    op->u.adamw.one_minus_beta2, op->u.adamw.decay,
		    op->u.adamw.bc1, op->u.adamw.bc2, op->u.adamw.eps);
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

/* Sources are added in order, a local block at a time, and dst is written
 * last: dst may be any of the sources (as on ref and cuda). */
static void cpu_sum_n(void *arg, int tid, int nth)
{
	const struct cairn_op *op = arg;
	float acc[CPU_ACC_CHUNK];
	int64_t lo, hi;

	cairn__split(op->u.sum_n.n, tid, nth, &lo, &hi);
#ifdef CPU_SUM_N_X8
	lo = CPU_SUM_N_X8(op, lo, hi); /* eight at a time (ops_avx2.c) */
#endif
	for (int64_t c0 = lo; c0 < hi; c0 += CPU_ACC_CHUNK) {
		int64_t w = hi - c0 < CPU_ACC_CHUNK ? hi - c0 : CPU_ACC_CHUNK;
		memcpy(acc, op->u.sum_n.src[0] + c0, (size_t)w * sizeof(float));
		for (int i = 1; i < op->u.sum_n.count; i++) {
			const float *src = op->u.sum_n.src[i] + c0;
			for (int64_t e = 0; e < w; e++)
				acc[e] = acc[e] + src[e];
		}
		for (int64_t e = 0; e < w; e++)
			op->u.sum_n.dst[c0 + e] = cairn_canon(acc[e]);
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
			op->u.fill.out[e] = cairn_rng_normal(
			    w, (int)(idx % 4), op->u.fill.p0, op->u.fill.p1);
	}
}

#if defined(CPU_HASH_X8) || defined(CPU_HASH_X4)
/* A multi-lane BLAKE2b kernel (cpu_impl.h: cairn__blake2b_x4, _x8). */
typedef void (*cpu_hash_lanes_fn)(const struct cairn_blake2b_state *s, int n,
                                  const uint8_t *const p[], const int64_t len[],
                                  uint8_t *const out[]);

/* Chunks lo.. of op through fn, `lanes` at a time while at least `least`
 * remain before hi (fewer at the end, lanes idle); returns the first
 * chunk not done. */
static int64_t cpu_hash_lanes(const struct cairn_op *op,
                              const struct cairn_blake2b_state *head,
                              int64_t lo, int64_t hi, int lanes, int least,
                              cpu_hash_lanes_fn fn)
{
	const int64_t bytes = op->u.hash.bytes, cb = op->u.hash.chunk_bytes;

	while (hi - lo >= least) {
		const uint8_t *p[8];
		int64_t len[8];
		uint8_t *out[8];
		int n = hi - lo < lanes ? (int)(hi - lo) : lanes;

		for (int i = 0; i < n; i++) {
			int64_t off = (lo + i) * cb;
			p[i] = op->u.hash.data + off;
			len[i] = bytes - off < cb ? bytes - off : cb;
			out[i] = op->u.hash.out + 32 * (lo + i);
		}
		fn(head, n, p, len, out);
		lo += n;
	}
	return lo;
}
#endif

/* Each thread hashes a contiguous range of chunks (cairn__split), each to
 * the reference's bytes.  The header is one full block and, when there is
 * data, never a chunk's last, so it is compressed once and every chunk
 * continues from that state.  With CPU_HASH_X8 (ops_avx512.c) the chunks
 * go through an 8-lane kernel eight at a time (five to seven at the end
 * of a range); with CPU_HASH_X4 (ops_avx2.c, and ops_avx512.c for what
 * is left) through a 4-lane kernel four at a time (two or three at the
 * end); a lone chunk left over goes as fast through the scalar code as
 * through a kernel with idle lanes. */
static void cpu_hash_chunks(void *arg, int tid, int nth)
{
	const struct cairn_op *op = arg;
	const int64_t bytes = op->u.hash.bytes, cb = op->u.hash.chunk_bytes;
	struct cairn_blake2b_state head;
	int64_t lo, hi;

	cairn__split(cairn__hash_nchunks(bytes, cb), tid, nth, &lo, &hi);
	if (lo >= hi)
		return;
	cairn_blake2b_init(&head, 32);
	if (bytes == 0) {
		/* One empty chunk: the header block is the final one. */
		cairn_blake2b_update(&head, op->u.hash.header,
		                     sizeof op->u.hash.header);
		cairn_blake2b_final(&head, op->u.hash.out);
		return;
	}
	cairn__blake2b_block(&head, op->u.hash.header, 0);
#ifdef CPU_HASH_X8
	lo = cpu_hash_lanes(op, &head, lo, hi, 8, 5, CPU_HASH_X8);
#endif
#ifdef CPU_HASH_X4
	lo = cpu_hash_lanes(op, &head, lo, hi, 4, 2, CPU_HASH_X4);
#endif
	for (int64_t c = lo; c < hi; c++) {
		struct cairn_blake2b_state st = head;
		int64_t off = c * cb;
		int64_t len = bytes - off < cb ? bytes - off : cb;

		cairn_blake2b_update(&st, op->u.hash.data + off, (size_t)len);
		cairn_blake2b_final(&st, op->u.hash.out + 32 * c);
	}
}

/* One sequential chain, by definition: never split. */
static void cpu_sum(const struct cairn_op *op)
{
	float acc = 0.0f;

	for (int64_t e = 0; e < op->u.vec.n; e++)
		acc = acc + op->u.vec.a[e];
	op->u.vec.out[0] = cairn_canon(acc);
}

const struct cairn__cpu_ops CPU_OPS_TABLE = {
    /* .bias_add  = */ cpu_bias_add,
    /* .bias_grad = */ cpu_bias_grad,
    /* .act       = */ cpu_act,
    /* .xent      = */ cpu_xent,
    /* .adamw     = */ cpu_adamw,
    /* .nesterov  = */ cpu_nesterov,
    /* .sum_n     = */ cpu_sum_n,
    /* .vec       = */ cpu_vec,
    /* .fill      = */ cpu_fill,
    /* .hash_chunks = */ cpu_hash_chunks,
    /* .sum       = */ cpu_sum,
};
