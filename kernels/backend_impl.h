/* cairn: the backend interface, internal to kernels/.
 *
 * Each backend fills one static const struct cairn_backend_i and dispatches
 * ops with one switch on op->kind.  Public op functions (kernels/ops.c) check
 * arguments, build a struct cairn_op and call cairn__op_dispatch(), which asks
 * supports_op before op_run.  A backend may assume the op's arguments were
 * checked (shapes >= 0, pointers non-NULL where elements exist). */
#ifndef CAIRN_BACKEND_IMPL_H
#define CAIRN_BACKEND_IMPL_H

#include "cairn/kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

enum cairn_op_kind {
	CAIRN_OP_GEMM = 0,
	CAIRN_OP_BIAS_ADD,
	CAIRN_OP_BIAS_GRAD,
	CAIRN_OP_RELU,
	CAIRN_OP_RELU_BWD,
	CAIRN_OP_GELU,
	CAIRN_OP_GELU_BWD,
	CAIRN_OP_XENT_FWD,
	CAIRN_OP_XENT_BWD,
	CAIRN_OP_ADAMW,
	CAIRN_OP_NESTEROV,
	CAIRN_OP_SUM_N,
	CAIRN_OP_SUB,
	CAIRN_OP_SCALE,
	CAIRN_OP_SUM,
	CAIRN_OP_FILL_UNIFORM,
	CAIRN_OP_FILL_NORMAL,
	CAIRN_OP_HASH_CHUNKS,
	CAIRN_OP_GATHER_U8,
	CAIRN_OP_COUNT
};

const char *cairn__op_name(enum cairn_op_kind kind);

/* Parameters of one op.  Pointers are backend memory (except sum_n.src,
 * a host array of backend pointers). */

/* Chunks of a hash_chunks op: max(1, ceil(bytes / chunk_bytes)). */
static inline int64_t cairn__hash_nchunks(int64_t bytes, int64_t chunk_bytes)
{
	int64_t n = bytes / chunk_bytes + (bytes % chunk_bytes != 0);
	return n > 0 ? n : 1;
}

struct cairn_op {
	enum cairn_op_kind kind;
	union {
		struct {
			cairn_trans ta, tb;
			int64_t m, n, k, lda, ldb, ldc;
			/* k segments of k / segs (cairn_gemm_seg); 1 for
			 * cairn_gemm.  segs > 1 implies accumulate == 0. */
			int64_t segs;
			const float *a, *b;
			float *c;
			int accumulate;
		} gemm;
		struct { /* bias_add: y = x + bias; bias_grad: db = colsum(dy)
			  */
			int64_t rows, cols;
			const float *x, *bias; /* bias_grad: x is dy */
			float *y;              /* bias_grad: y is db */
		} bias;
		struct { /* relu, gelu: y = f(x); *_bwd: y = f'(x) * dy */
			int64_t n;
			const float *x, *dy;
			float *y;
		} act;
		struct {
			int64_t rows, classes;
			const float *in; /* fwd: logits; bwd: probs */
			const int32_t *labels;
			float scale; /* bwd only */
			float *out;  /* fwd: probs; bwd: dlogits */
			float *loss; /* fwd only */
		} xent;
		struct {
			int64_t n;
			/* Scalars derived once on the host (ops.c), so every
			 * backend uses the same bits: */
			float lr, beta1, beta2, eps;
			float one_minus_beta1, one_minus_beta2;
			float decay;    /* 1 - lr * weight_decay */
			float bc1, bc2; /* 1 - beta^t */
			float *param, *m, *v;
			const float *grad;
		} adamw;
		struct {
			int64_t n;
			float lr, momentum;
			float *param, *buf;
			const float *grad;
		} nesterov;
		struct {
			int64_t n;
			int count;
			const float *const *src;
			float *dst;
		} sum_n;
		struct { /* sub: out = a - b; scale: out = a * s; sum: out[0] */
			int64_t n;
			const float *a, *b;
			float s;
			float *out;
		} vec;
		struct {
			int64_t n;
			uint64_t key, stream, offset;
			float p0, p1; /* uniform: lo, hi; normal: mean, std */
			float *out;
		} fill;
		struct { /* out[32c..] = BLAKE2b-256(header || chunk c) */
			const uint8_t *data;
			int64_t bytes;       /* >= 0; 0 is one empty chunk */
			int64_t chunk_bytes; /* > 0, a multiple of 128 */
			uint8_t
			    header[CAIRN_HASH_CHUNKS_HEADER_BYTES]; /* copy */
			uint8_t *out; /* 32 * nchunks bytes */
		} hash;
		struct { /* cairn_gather_u8 */
			int64_t n, cols;
			const uint32_t *idx;   /* host, n entries < rows */
			const uint8_t *src;    /* rows x cols */
			const uint8_t *labels; /* rows, or NULL */
			float *x;              /* n x cols */
			int32_t *y;            /* n, when labels */
		} gather;
	} u;
};

struct cairn_backend;

struct cairn_backend_i {
	const char *name;
	/* Frees ctx and everything the backend owns (not be itself). */
	void (*free)(struct cairn_backend *be);
	int (*buf_alloc)(struct cairn_backend *be, size_t bytes, void **out);
	void (*buf_free)(struct cairn_backend *be, void *buf);
	int (*buf_write)(struct cairn_backend *be, void *dst, const void *src,
	                 size_t bytes);
	int (*buf_read)(struct cairn_backend *be, void *dst, const void *src,
	                size_t bytes);
	/* backend src -> backend dst (src may belong to another backend of
	 * the same kind and device); done when it returns */
	int (*buf_copy)(struct cairn_backend *be, void *dst, const void *src,
	                size_t bytes);
	int (*sync)(struct cairn_backend *be); /* (optional) */
	/* 1 when op_run can run this op, else 0. */
	int (*supports_op)(struct cairn_backend *be, const struct cairn_op *op);
	int (*op_run)(struct cairn_backend *be, const struct cairn_op *op);
	/* (optional; NULL: buf_copy) buf_copy queued, not waited for */
	int (*buf_copy_async)(struct cairn_backend *be, void *dst,
	                      const void *src, size_t bytes);
	/* (optional; NULL: nothing to order) be's later work waits for the
	 * work queued on other, a backend of the same kind, so far */
	int (*wait_for)(struct cairn_backend *be, struct cairn_backend *other);
	/* (optional; NULL: cairn_backend_open of be's kind) another backend
	 * of be's own implementation on be's device, as opts otherwise say */
	int (*open_peer)(struct cairn_backend *be,
	                 const cairn_backend_opts *opts,
	                 struct cairn_backend **out);
};

struct cairn_backend {
	const struct cairn_backend_i *iface;
	cairn_backend_kind kind;
	int threads;
	int device; /* cuda: the device ordinal; 0 for the others */
	char desc[160];
	void *ctx; /* owned by the backend, freed by iface->free */
};

/* Runs op on be after asking supports_op (CAIRN_ENOTSUP if not). */
int cairn__op_dispatch(struct cairn_backend *be, const struct cairn_op *op);

/* Constructors of each backend: fill *be (iface, threads, desc, ctx). */
int cairn__backend_ref_init(struct cairn_backend *be,
                            const cairn_backend_opts *opts);
int cairn__backend_cpu_init(struct cairn_backend *be,
                            const cairn_backend_opts *opts);
/* Defined in kernels/cuda when built with CUDA, else in backend.c. */
int cairn__backend_cuda_init(struct cairn_backend *be,
                             const cairn_backend_opts *opts);
int cairn__cuda_probe(char *why, size_t why_len);

/* Host memory helpers shared by the ref and cpu backends. */
int cairn__host_alloc(struct cairn_backend *be, size_t bytes, void **out);
void cairn__host_free(struct cairn_backend *be, void *buf);
int cairn__host_copy(struct cairn_backend *be, void *dst, const void *src,
                     size_t bytes);

#ifdef __cplusplus
}
#endif
#endif
