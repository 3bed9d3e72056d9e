/* cairn: the public op entry points.
 *
 * Each function checks its arguments cheaply (shapes, leading dimensions,
 * NULL pointers where elements exist, overflow of sizes), builds a struct
 * cairn_op and dispatches it.  Scalars that are the same for every element
 * (AdamW's bias corrections) are derived here, once, on the host, so that
 * every backend uses the same bits. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "backend_impl.h"
#include "fpenv.h"
#include "cairn/error.h"

/* Largest element count an op accepts: byte sizes must fit in size_t and
 * int64 index arithmetic must not overflow. */
#define CAIRN__MAX_ELEMS ((int64_t)1 << 50)

/* Whether out may be written while in is read: they are disjoint, or
 * (when same_ok) the very same buffer, which element-wise ops allow.  Any
 * other overlap would make the result depend on the order in which a
 * backend happens to read and write, so it is refused. */
static int cairn__disjoint(const void *out, int64_t out_elems, const void *in,
                           int64_t in_elems, int same_ok)
{
	uintptr_t o = (uintptr_t)out, i = (uintptr_t)in;
	uintptr_t ob = (uintptr_t)out_elems * 4, ib = (uintptr_t)in_elems * 4;

	if (!out || !in || out_elems <= 0 || in_elems <= 0)
		return 1;
	if (same_ok && out == in)
		return 1;
	return o >= i + ib || i >= o + ob;
}

/* Elements spanned by a rows x cols matrix with leading dimension ld. */
static int64_t cairn__span(int64_t rows, int64_t cols, int64_t ld)
{
	return rows > 0 && cols > 0 ? (rows - 1) * ld + cols : 0;
}

static int cairn__check_n(int64_t n)
{
	return n < 0 || n > CAIRN__MAX_ELEMS ? CAIRN_EINVAL : 0;
}

/* rows x cols matrix with leading dimension ld: ld >= cols (or >= 1 when
 * cols == 0), and rows * ld bounded. */
static int cairn__check_mat(int64_t rows, int64_t cols, int64_t ld)
{
	if (rows < 0 || cols < 0 || ld < 1 || ld < cols)
		return CAIRN_EINVAL;
	if (rows > 0 && ld > CAIRN__MAX_ELEMS / rows)
		return CAIRN_EINVAL;
	return 0;
}

/* Checks a gemm's arguments and fills op (segs k-segments, see
 * cairn_gemm_seg).  Returns 1 when there is nothing to do (m or n is 0),
 * 0 when op is ready to dispatch, or a negative CAIRN_E* code. */
static int cairn__gemm_build(cairn_trans ta, cairn_trans tb, int64_t m,
                             int64_t n, int64_t k, int64_t segs, const float *a,
                             int64_t lda, const float *b, int64_t ldb, float *c,
                             int64_t ldc, int accumulate, struct cairn_op *op)
{
	if ((ta != CAIRN_NOTRANS && ta != CAIRN_TRANS) ||
	    (tb != CAIRN_NOTRANS && tb != CAIRN_TRANS))
		return CAIRN_EINVAL;
	if (ta == CAIRN_TRANS && tb == CAIRN_TRANS)
		return CAIRN_ENOTSUP;
	/* Stored shapes: A is m x k (or k x m), B is k x n (or n x k). */
	if (ta == CAIRN_NOTRANS ? cairn__check_mat(m, k, lda)
	                        : cairn__check_mat(k, m, lda))
		return CAIRN_EINVAL;
	if (tb == CAIRN_NOTRANS ? cairn__check_mat(k, n, ldb)
	                        : cairn__check_mat(n, k, ldb))
		return CAIRN_EINVAL;
	if (cairn__check_mat(m, n, ldc))
		return CAIRN_EINVAL;
	if (segs < 1 || segs > CAIRN_GEMM_MAX_SEGS || k % segs)
		return CAIRN_EINVAL;
	if (m == 0 || n == 0)
		return 1;
	if (!c || (k > 0 && (!a || !b)))
		return CAIRN_EINVAL;
	if (k > 0) {
		int64_t cs = cairn__span(m, n, ldc);
		int64_t as =
		    ta ? cairn__span(k, m, lda) : cairn__span(m, k, lda);
		int64_t bs =
		    tb ? cairn__span(n, k, ldb) : cairn__span(k, n, ldb);
		if (!cairn__disjoint(c, cs, a, as, 0) ||
		    !cairn__disjoint(c, cs, b, bs, 0))
			return CAIRN_EINVAL;
	}
	op->kind = CAIRN_OP_GEMM;
	op->u.gemm.ta = ta;
	op->u.gemm.tb = tb;
	op->u.gemm.m = m;
	op->u.gemm.n = n;
	op->u.gemm.k = k;
	op->u.gemm.segs = segs;
	op->u.gemm.a = a;
	op->u.gemm.lda = lda;
	op->u.gemm.b = b;
	op->u.gemm.ldb = ldb;
	op->u.gemm.c = c;
	op->u.gemm.ldc = ldc;
	op->u.gemm.accumulate = accumulate ? 1 : 0;
	return 0;
}

int cairn_gemm(cairn_backend *be, cairn_trans ta, cairn_trans tb, int64_t m,
               int64_t n, int64_t k, const float *a, int64_t lda,
               const float *b, int64_t ldb, float *c, int64_t ldc,
               int accumulate)
{
	struct cairn_op op = {.kind = CAIRN_OP_GEMM};
	int rc;

	if (!be)
		return CAIRN_EINVAL;
	rc = cairn__gemm_build(ta, tb, m, n, k, 1, a, lda, b, ldb, c, ldc,
	                       accumulate, &op);
	return rc ? (rc > 0 ? 0 : rc) : cairn__op_dispatch(be, &op);
}

int cairn_gemm_seg(cairn_backend *be, cairn_trans ta, cairn_trans tb, int64_t m,
                   int64_t n, int64_t k, int64_t segs, const float *a,
                   int64_t lda, const float *b, int64_t ldb, float *c,
                   int64_t ldc)
{
	struct cairn_op op = {.kind = CAIRN_OP_GEMM};
	int rc;

	if (!be)
		return CAIRN_EINVAL;
	rc = cairn__gemm_build(ta, tb, m, n, k, segs, a, lda, b, ldb, c, ldc, 0,
	                       &op);
	return rc ? (rc > 0 ? 0 : rc) : cairn__op_dispatch(be, &op);
}

static int cairn__bias(cairn_backend *be, enum cairn_op_kind kind, int64_t rows,
                       int64_t cols, const float *x, const float *bias,
                       float *y)
{
	struct cairn_op op = {.kind = kind};

	if (!be || cairn__check_mat(rows, cols, cols > 0 ? cols : 1))
		return CAIRN_EINVAL;
	if (cols == 0 || (rows == 0 && kind == CAIRN_OP_BIAS_ADD))
		return 0;
	if (!y || (rows > 0 && !x) || (kind == CAIRN_OP_BIAS_ADD && !bias))
		return CAIRN_EINVAL;
	if (kind == CAIRN_OP_BIAS_GRAD
	        ? !cairn__disjoint(y, cols, x, rows * cols, 0)
	        : !cairn__disjoint(y, rows * cols, x, rows * cols, 1) ||
	              !cairn__disjoint(y, rows * cols, bias, cols, 0))
		return CAIRN_EINVAL;
	op.u.bias.rows = rows;
	op.u.bias.cols = cols;
	op.u.bias.x = x;
	op.u.bias.bias = bias;
	op.u.bias.y = y;
	return cairn__op_dispatch(be, &op);
}

int cairn_bias_add(cairn_backend *be, int64_t rows, int64_t cols,
                   const float *x, const float *bias, float *y)
{
	return cairn__bias(be, CAIRN_OP_BIAS_ADD, rows, cols, x, bias, y);
}

int cairn_bias_grad(cairn_backend *be, int64_t rows, int64_t cols,
                    const float *dy, float *db)
{
	return cairn__bias(be, CAIRN_OP_BIAS_GRAD, rows, cols, dy, NULL, db);
}

static int cairn__act(cairn_backend *be, enum cairn_op_kind kind, int64_t n,
                      const float *x, const float *dy, float *y)
{
	struct cairn_op op = {.kind = kind};
	int bwd = kind == CAIRN_OP_RELU_BWD || kind == CAIRN_OP_GELU_BWD;

	if (!be || cairn__check_n(n))
		return CAIRN_EINVAL;
	if (n == 0)
		return 0;
	if (!x || !y || (bwd && !dy))
		return CAIRN_EINVAL;
	if (!cairn__disjoint(y, n, x, n, 1) ||
	    (bwd && !cairn__disjoint(y, n, dy, n, 1)))
		return CAIRN_EINVAL;
	op.u.act.n = n;
	op.u.act.x = x;
	op.u.act.dy = dy;
	op.u.act.y = y;
	return cairn__op_dispatch(be, &op);
}

int cairn_relu(cairn_backend *be, int64_t n, const float *x, float *y)
{
	return cairn__act(be, CAIRN_OP_RELU, n, x, NULL, y);
}

int cairn_relu_bwd(cairn_backend *be, int64_t n, const float *x,
                   const float *dy, float *dx)
{
	return cairn__act(be, CAIRN_OP_RELU_BWD, n, x, dy, dx);
}

int cairn_gelu(cairn_backend *be, int64_t n, const float *x, float *y)
{
	return cairn__act(be, CAIRN_OP_GELU, n, x, NULL, y);
}

int cairn_gelu_bwd(cairn_backend *be, int64_t n, const float *x,
                   const float *dy, float *dx)
{
	return cairn__act(be, CAIRN_OP_GELU_BWD, n, x, dy, dx);
}

int cairn_xent_fwd(cairn_backend *be, int64_t rows, int64_t classes,
                   const float *logits, const int32_t *labels, float *probs,
                   float *loss)
{
	struct cairn_op op = {.kind = CAIRN_OP_XENT_FWD};

	if (!be || rows < 0 || classes < 1 || classes > INT32_MAX ||
	    cairn__check_mat(rows, classes, classes))
		return CAIRN_EINVAL;
	if (rows == 0)
		return 0;
	if (!logits || !labels || !probs || !loss)
		return CAIRN_EINVAL;
	/* a row's probs are written while its logits are still read */
	if (!cairn__disjoint(probs, rows * classes, logits, rows * classes,
	                     0) ||
	    !cairn__disjoint(loss, rows, logits, rows * classes, 0) ||
	    !cairn__disjoint(loss, rows, probs, rows * classes, 0) ||
	    !cairn__disjoint(probs, rows * classes, labels, rows, 0) ||
	    !cairn__disjoint(loss, rows, labels, rows, 0))
		return CAIRN_EINVAL;
	op.u.xent.rows = rows;
	op.u.xent.classes = classes;
	op.u.xent.in = logits;
	op.u.xent.labels = labels;
	op.u.xent.out = probs;
	op.u.xent.loss = loss;
	return cairn__op_dispatch(be, &op);
}

int cairn_xent_bwd(cairn_backend *be, int64_t rows, int64_t classes,
                   const float *probs, const int32_t *labels, float scale,
                   float *dlogits)
{
	struct cairn_op op = {.kind = CAIRN_OP_XENT_BWD};

	if (!be || rows < 0 || classes < 1 || classes > INT32_MAX ||
	    cairn__check_mat(rows, classes, classes))
		return CAIRN_EINVAL;
	if (rows == 0)
		return 0;
	if (!probs || !labels || !dlogits)
		return CAIRN_EINVAL;
	if (!cairn__disjoint(dlogits, rows * classes, probs, rows * classes,
	                     1) ||
	    !cairn__disjoint(dlogits, rows * classes, labels, rows, 0))
		return CAIRN_EINVAL;
	op.u.xent.rows = rows;
	op.u.xent.classes = classes;
	op.u.xent.in = probs;
	op.u.xent.labels = labels;
	op.u.xent.scale = scale;
	op.u.xent.out = dlogits;
	return cairn__op_dispatch(be, &op);
}

/* beta^t in float by binary exponentiation, low bit first: the one fixed
 * definition every backend's bias correction uses (docs/numeric-profile.md). */
static float cairn__pow_int(float beta, int64_t t)
{
	float result = 1.0f, base = beta;

	while (t > 0) {
		if (t & 1)
			result = result * base;
		base = base * base;
		t >>= 1;
	}
	return result;
}

int cairn_adamw(cairn_backend *be, int64_t n, const cairn_adamw_params *p,
                float *param, const float *grad, float *m, float *v)
{
	struct cairn_op op = {.kind = CAIRN_OP_ADAMW};
	float b1p, b2p;
	unsigned csr;
	int rc;

	/* p first: n = 0 checks p alone (kernels.h) */
	if (!be || !p || cairn__check_n(n) || p->step < 1)
		return CAIRN_EINVAL;
	if (!(p->beta1 >= 0.0f && p->beta1 < 1.0f) ||
	    !(p->beta2 >= 0.0f && p->beta2 < 1.0f) || !(p->eps > 0.0f) ||
	    !(p->lr >= 0.0f) || !(p->weight_decay >= 0.0f))
		return CAIRN_EINVAL;
	if (n == 0)
		return 0;
	if (!param || !grad || !m || !v)
		return CAIRN_EINVAL;
	if (!cairn__disjoint(param, n, grad, n, 0) ||
	    !cairn__disjoint(param, n, m, n, 0) ||
	    !cairn__disjoint(param, n, v, n, 0) ||
	    !cairn__disjoint(m, n, v, n, 0) ||
	    !cairn__disjoint(m, n, grad, n, 0) ||
	    !cairn__disjoint(v, n, grad, n, 0))
		return CAIRN_EINVAL;
	/* the host-side scalars follow the profile too */
	csr = cairn__fp_enter();
	b1p = cairn__pow_int(p->beta1, p->step);
	b2p = cairn__pow_int(p->beta2, p->step);
	op.u.adamw.n = n;
	op.u.adamw.lr = p->lr;
	op.u.adamw.beta1 = p->beta1;
	op.u.adamw.beta2 = p->beta2;
	op.u.adamw.eps = p->eps;
	op.u.adamw.one_minus_beta1 = 1.0f - p->beta1;
	op.u.adamw.one_minus_beta2 = 1.0f - p->beta2;
	op.u.adamw.decay = 1.0f - p->lr * p->weight_decay;
	op.u.adamw.bc1 = 1.0f - b1p;
	op.u.adamw.bc2 = 1.0f - b2p;
	op.u.adamw.param = param;
	op.u.adamw.grad = grad;
	op.u.adamw.m = m;
	op.u.adamw.v = v;
	rc = cairn__op_dispatch(be, &op);
	cairn__fp_leave(csr);
	return rc;
}

int cairn_nesterov(cairn_backend *be, int64_t n, float lr, float momentum,
                   float *param, const float *grad, float *buf)
{
	struct cairn_op op = {.kind = CAIRN_OP_NESTEROV};

	if (!be || cairn__check_n(n))
		return CAIRN_EINVAL;
	if (n == 0)
		return 0;
	if (!param || !grad || !buf)
		return CAIRN_EINVAL;
	if (!cairn__disjoint(param, n, grad, n, 0) ||
	    !cairn__disjoint(param, n, buf, n, 0) ||
	    !cairn__disjoint(buf, n, grad, n, 0))
		return CAIRN_EINVAL;
	op.u.nesterov.n = n;
	op.u.nesterov.lr = lr;
	op.u.nesterov.momentum = momentum;
	op.u.nesterov.param = param;
	op.u.nesterov.grad = grad;
	op.u.nesterov.buf = buf;
	return cairn__op_dispatch(be, &op);
}

/* Most tensors sum_n combines at once (micro-batches of a step, tasks of a
 * round); the CUDA backend copies the pointer list to the device. */
#define CAIRN__SUM_N_MAX 65536

int cairn_sum_n(cairn_backend *be, int64_t n, int count,
                const float *const *src, float *dst)
{
	struct cairn_op op = {.kind = CAIRN_OP_SUM_N};

	if (!be || cairn__check_n(n) || count < 1 || count > CAIRN__SUM_N_MAX ||
	    !src)
		return CAIRN_EINVAL;
	if (n == 0)
		return 0;
	if (!dst)
		return CAIRN_EINVAL;
	for (int i = 0; i < count; i++)
		if (!src[i] || !cairn__disjoint(dst, n, src[i], n, 1))
			return CAIRN_EINVAL;
	op.u.sum_n.n = n;
	op.u.sum_n.count = count;
	op.u.sum_n.src = src;
	op.u.sum_n.dst = dst;
	return cairn__op_dispatch(be, &op);
}

int cairn_gather_u8(cairn_backend *be, int64_t n, int64_t cols, int64_t rows,
                    const uint32_t *idx, const uint8_t *src,
                    const uint8_t *labels, float *x, int32_t *y)
{
	struct cairn_op op = {.kind = CAIRN_OP_GATHER_U8};

	if (!be || cairn__check_n(n) || cols < 1 || cairn__check_n(rows) ||
	    cairn__check_n(cols) || (n && (!idx || !src || !x)) ||
	    (labels && n && !y) || (n && n > INT64_MAX / cols) ||
	    cairn__check_n(n * cols))
		return CAIRN_EINVAL;
	for (int64_t r = 0; r < n; r++)
		if ((int64_t)idx[r] >= rows)
			return CAIRN_ERANGE;
	if (n == 0)
		return 0;
	op.u.gather.n = n;
	op.u.gather.cols = cols;
	op.u.gather.idx = idx;
	op.u.gather.src = src;
	op.u.gather.labels = labels;
	op.u.gather.x = x;
	op.u.gather.y = labels ? y : NULL;
	return cairn__op_dispatch(be, &op);
}

static int cairn__vec(cairn_backend *be, enum cairn_op_kind kind, int64_t n,
                      const float *a, const float *b, float s, float *out)
{
	struct cairn_op op = {.kind = kind};

	if (!be || cairn__check_n(n) || !out)
		return CAIRN_EINVAL;
	if (n == 0 && kind != CAIRN_OP_SUM)
		return 0;
	if ((n > 0 && !a) || (kind == CAIRN_OP_SUB && n > 0 && !b))
		return CAIRN_EINVAL;
	if (kind != CAIRN_OP_SUM ? !cairn__disjoint(out, n, a, n, 1) ||
	                               !cairn__disjoint(out, n, b, n, 1)
	                         : !cairn__disjoint(out, 1, a, n, 0))
		return CAIRN_EINVAL;
	op.u.vec.n = n;
	op.u.vec.a = a;
	op.u.vec.b = b;
	op.u.vec.s = s;
	op.u.vec.out = out;
	return cairn__op_dispatch(be, &op);
}

int cairn_sub(cairn_backend *be, int64_t n, const float *a, const float *b,
              float *out)
{
	return cairn__vec(be, CAIRN_OP_SUB, n, a, b, 0.0f, out);
}

int cairn_scale(cairn_backend *be, int64_t n, float s, const float *x,
                float *out)
{
	return cairn__vec(be, CAIRN_OP_SCALE, n, x, NULL, s, out);
}

int cairn_sum(cairn_backend *be, int64_t n, const float *x, float *out)
{
	return cairn__vec(be, CAIRN_OP_SUM, n, x, NULL, 0.0f, out);
}

static int cairn__fill(cairn_backend *be, enum cairn_op_kind kind, int64_t n,
                       uint64_t key, uint64_t stream, uint64_t offset, float p0,
                       float p1, float *out)
{
	struct cairn_op op = {.kind = kind};

	if (!be || cairn__check_n(n) || offset > UINT64_MAX - (uint64_t)n)
		return CAIRN_EINVAL;
	if (n == 0)
		return 0;
	if (!out)
		return CAIRN_EINVAL;
	op.u.fill.n = n;
	op.u.fill.key = key;
	op.u.fill.stream = stream;
	op.u.fill.offset = offset;
	op.u.fill.p0 = p0;
	op.u.fill.p1 = p1;
	op.u.fill.out = out;
	return cairn__op_dispatch(be, &op);
}

int cairn_fill_uniform(cairn_backend *be, int64_t n, uint64_t key,
                       uint64_t stream, uint64_t offset, float lo, float hi,
                       float *out)
{
	return cairn__fill(be, CAIRN_OP_FILL_UNIFORM, n, key, stream, offset,
	                   lo, hi, out);
}

int cairn_fill_normal(cairn_backend *be, int64_t n, uint64_t key,
                      uint64_t stream, uint64_t offset, float mean, float std,
                      float *out)
{
	return cairn__fill(be, CAIRN_OP_FILL_NORMAL, n, key, stream, offset,
	                   mean, std, out);
}

/* Byte ranges [a, a + an) and [b, b + bn) are disjoint (empty ones are). */
static int cairn__disjoint_bytes(const void *a, int64_t an, const void *b,
                                 int64_t bn)
{
	uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;

	if (!a || !b || an <= 0 || bn <= 0)
		return 1;
	return x >= y + (uintptr_t)bn || y >= x + (uintptr_t)an;
}

int cairn_hash_chunks(cairn_backend *be, const void *data, int64_t bytes,
                      int64_t chunk_bytes,
                      const uint8_t header[CAIRN_HASH_CHUNKS_HEADER_BYTES],
                      uint8_t *out)
{
	struct cairn_op op = {.kind = CAIRN_OP_HASH_CHUNKS};
	int64_t nchunks;

	if (!be || !header || !out || bytes < 0 || bytes > CAIRN__MAX_ELEMS ||
	    chunk_bytes <= 0 || chunk_bytes > CAIRN__MAX_ELEMS ||
	    chunk_bytes % CAIRN_HASH_CHUNKS_HEADER_BYTES != 0)
		return CAIRN_EINVAL;
	if (bytes > 0 && !data)
		return CAIRN_EINVAL;
	nchunks = cairn__hash_nchunks(bytes, chunk_bytes);
	if (!cairn__disjoint_bytes(out, nchunks * 32, data, bytes))
		return CAIRN_EINVAL;
	op.u.hash.data = data;
	op.u.hash.bytes = bytes;
	op.u.hash.chunk_bytes = chunk_bytes;
	memcpy(op.u.hash.header, header, CAIRN_HASH_CHUNKS_HEADER_BYTES);
	op.u.hash.out = out;
	return cairn__op_dispatch(be, &op);
}
