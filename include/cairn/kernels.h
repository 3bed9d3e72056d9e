/* cairn: the compute layer's public interface.
 *
 * A backend (ref, cpu, cuda) owns memory and runs ops.  Every op is defined
 * by its scalar reference in kernels/ref; every backend must give the same
 * bits for every input (docs/numeric-profile.md, DESIGN.md section 2).
 *
 * Memory: pointers passed to ops are backend buffers from cairn_buf_alloc()
 * (device memory on CUDA).  Host data moves in and out with cairn_buf_write()
 * and cairn_buf_read().  All matrices are row-major with a leading dimension.
 *
 * Every function returns 0 or a negative CAIRN_E* code.  Ops check their
 * arguments before touching memory and return CAIRN_EINVAL for bad shapes or
 * NULL pointers, CAIRN_ENOTSUP when the backend cannot run the op.
 *
 * NaN: every op writes NaN results as the canonical quiet NaN 0x7fc00000, so
 * that NaN bits do not depend on the hardware (x86 and CUDA differ).
 *
 * Aliasing: an output must not overlap an input, except that an element-wise
 * op's output may be the very same buffer as its input (y == x, dx == dy,
 * out == a, dlogits == probs, sum_n's dst == any src[i]).  Any other
 * overlap (and every overlap for gemm, bias_grad and xent_fwd, whose
 * outputs are written while inputs are still read) is refused with
 * CAIRN_EINVAL, so the bits never depend on a backend's access order.
 *
 * Threads: a backend handle is used by one thread at a time (it may use
 * many threads inside).  Open one backend per thread that computes.
 *
 * CUDA's current device: a cuda backend's calls make its device the
 * calling thread's current one (cudaSetDevice, only when it is not) and
 * leave it so.  A program that also calls CUDA itself, on several
 * devices, sets its own device again after calling cairn. */
#ifndef CAIRN_KERNELS_H
#define CAIRN_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The exact numeric profile's name, written into every task spec. */
#define CAIRN_PROFILE_EXACT "exact-v1"

/* The bits every op writes for a NaN result. */
#define CAIRN_CANON_NAN_BITS 0x7fc00000u

typedef struct cairn_backend cairn_backend;

typedef enum cairn_backend_kind {
	CAIRN_BACKEND_REF = 0,  /* scalar C: the oracle */
	CAIRN_BACKEND_CPU = 1,  /* blocked, vectorised, threaded */
	CAIRN_BACKEND_CUDA = 2, /* SIMT FP32 on an NVIDIA GPU */
	CAIRN_BACKEND_COUNT = 3
} cairn_backend_kind;

typedef struct cairn_backend_opts {
	int threads;         /* cpu: worker threads; 0 = one per core */
	int device;          /* cuda: device ordinal */
	const char *cpu_isa; /* cpu: "auto" (NULL), "avx512", "avx2" or
	                      * "portable" */
	int no_pin;          /* cpu: 1 = do not pin threads to cores */
	/* cpu: 1 = answer CAIRN_ENOTSUP to cairn_gemm_seg, as the cuda
	 * backend does (tests the model's other path on the CPU) */
	int no_gemm_seg;
} cairn_backend_opts;

/* Opens a backend of the given kind.  opts may be NULL for defaults.
 * On success *out is owned by the caller and freed by cairn_backend_close().
 * CAIRN_ENODEV: the kind is built but no usable device is there;
 * CAIRN_ENOTSUP: the kind is not built into this binary. */
int cairn_backend_open(cairn_backend_kind kind, const cairn_backend_opts *opts,
                       cairn_backend **out);

/* Opens the backend a user asked for: want is "auto", "cpu", "gpu" (or
 * "cuda") or "ref"; NULL means the environment variable CAIRN_DEVICE, and
 * when that is unset, "auto".  "auto" takes CUDA when a usable device and
 * driver are present, else the CPU, and logs one line saying which and why.
 * "gpu" fails with CAIRN_ENODEV when no GPU is usable. */
int cairn_backend_open_auto(const char *want, const cairn_backend_opts *opts,
                            cairn_backend **out);

/* Opens another backend like be: its kind, its device (opts->device is
 * ignored), and opts' other settings (NULL: defaults); for work beside be's
 * that cairn_backend_wait_for orders against it.  As cairn_backend_open. */
int cairn_backend_open_peer(cairn_backend *be, const cairn_backend_opts *opts,
                            cairn_backend **out);

/* 1 when cairn_backend_open_auto knows the word want (whether or not such
 * a device is here), else 0: for refusing a typo before a long set-up. */
int cairn_backend_device_known(const char *want);

void cairn_backend_close(cairn_backend *be);

/* "ref", "cpu" or "cuda". */
const char *cairn_backend_name(const cairn_backend *be);
/* The kind; CAIRN_BACKEND_COUNT for NULL. */
cairn_backend_kind cairn_backend_get_kind(const cairn_backend *be);
/* One line about the backend (ISA and threads, or GPU name). */
const char *cairn_backend_describe(const cairn_backend *be);
/* Threads the backend computes with (1 for ref and cuda). */
int cairn_backend_threads(const cairn_backend *be);

/* Whether a kind is compiled into this binary (1) or not (0). */
int cairn_backend_built(cairn_backend_kind kind);

/* Probes for a usable CUDA device without opening a backend.  Returns the
 * number of usable devices (>= 0), and when there are none, a reason in
 * why[0..why_len) ("no CUDA driver", "built without CUDA", ...). */
int cairn_cuda_probe(char *why, size_t why_len);

/* ---- memory ---------------------------------------------------------- */

/* Allocates bytes (> 0) of backend memory, 64-byte aligned at least. */
int cairn_buf_alloc(cairn_backend *be, size_t bytes, void **out);
void cairn_buf_free(cairn_backend *be, void *buf);
/* host src -> backend dst */
int cairn_buf_write(cairn_backend *be, void *dst, const void *src,
                    size_t bytes);
/* backend src -> host dst */
int cairn_buf_read(cairn_backend *be, void *dst, const void *src, size_t bytes);
/* backend src -> backend dst, done when it returns.  src may also be memory
 * of another open backend of the same kind on the same device, once that
 * backend's queued work is finished (cairn_backend_sync): a snapshot for
 * a second backend (its own CUDA stream) to work on. */
int cairn_buf_copy(cairn_backend *be, void *dst, const void *src, size_t bytes);
/* The same copy queued on be, not waited for: it is done before any work
 * queued on be after it (and before work queued on another backend after
 * cairn_backend_wait_for(other, be)).  On a backend whose ops are done
 * when they return (ref, cpu) it is cairn_buf_copy.  src and dst must stay
 * untouched until then. */
int cairn_buf_copy_async(cairn_backend *be, void *dst, const void *src,
                         size_t bytes);
/* Work queued on be from now on starts only after all the work queued on
 * other so far, without the host waiting where the device can order it
 * (CUDA: other's stream records an event that be's stream waits for).
 * Backends whose ops are done when they return need nothing; for two of
 * different implementations the host waits for other
 * (cairn_backend_sync). */
int cairn_backend_wait_for(cairn_backend *be, cairn_backend *other);
/* The CUDA device ordinal of a cuda backend; 0 for ref and cpu, -1 for
 * NULL.  cairn_backend_opts.device opens another backend on it. */
int cairn_backend_device(const cairn_backend *be);
/* Waits for all work queued on the backend; returns the first error. */
int cairn_backend_sync(cairn_backend *be);

/* ---- ops ------------------------------------------------------------- */

typedef enum cairn_trans { CAIRN_NOTRANS = 0, CAIRN_TRANS = 1 } cairn_trans;

/* C[m x n] = init + op(A)[m x k] . op(B)[k x n], row-major.
 * init is C's current value when accumulate != 0, else +0.0f.  Each element:
 *   acc = init; for p = 0 .. k-1: acc = fmaf(a(i,p), b(p,j), acc)
 * with p ascending.  Layouts: NN, NT (B transposed) and TN (A transposed);
 * TT gives CAIRN_ENOTSUP.  op(A) = A is m x k with lda >= k; op(A) = A^T
 * means A is stored k x m with lda >= m (likewise B). */
int cairn_gemm(cairn_backend *be, cairn_trans ta, cairn_trans tb, int64_t m,
               int64_t n, int64_t k, const float *a, int64_t lda,
               const float *b, int64_t ldb, float *c, int64_t ldc,
               int accumulate);

/* The most k-segments cairn_gemm_seg takes. */
#define CAIRN_GEMM_MAX_SEGS 65536

/* C[m x n] = the sum, in segment order, of segs GEMMs over consecutive
 * k-segments of k / segs (segs divides k):
 *   chain_s(i,j) = +0.0f; for p = s*q .. s*q+q-1 (q = k/segs, ascending):
 *                  acc = fmaf(a(i,p), b(p,j), acc)
 *   C(i,j) = canon(((c_0 + c_1) + c_2) + ... + c_{segs-1}),
 *   with c_s = canon(chain_s)
 * which is, bit for bit, cairn_gemm (accumulate 0) of each segment into
 * its own matrix followed by cairn_sum_n over them in segment order.  With
 * segs = 1 it is cairn_gemm with accumulate 0.  Used for a gradient summed
 * over micro-batches (model.h) without storing each micro-batch's matrix.
 * Layouts and leading dimensions as cairn_gemm.  CAIRN_ENOTSUP (before
 * anything is written) when the backend has no such kernel: run the
 * segments with cairn_gemm and add them with cairn_sum_n instead. */
int cairn_gemm_seg(cairn_backend *be, cairn_trans ta, cairn_trans tb, int64_t m,
                   int64_t n, int64_t k, int64_t segs, const float *a,
                   int64_t lda, const float *b, int64_t ldb, float *c,
                   int64_t ldc);

/* y[i][j] = x[i][j] + bias[j]; y may equal x. */
int cairn_bias_add(cairn_backend *be, int64_t rows, int64_t cols,
                   const float *x, const float *bias, float *y);
/* db[j] = sum over i ascending of dy[i][j], starting from +0.0f. */
int cairn_bias_grad(cairn_backend *be, int64_t rows, int64_t cols,
                    const float *dy, float *db);

/* Elementwise activations; y (dx) may equal x (dy). */
int cairn_relu(cairn_backend *be, int64_t n, const float *x, float *y);
int cairn_relu_bwd(cairn_backend *be, int64_t n, const float *x,
                   const float *dy, float *dx);
int cairn_gelu(cairn_backend *be, int64_t n, const float *x, float *y);
int cairn_gelu_bwd(cairn_backend *be, int64_t n, const float *x,
                   const float *dy, float *dx);

/* Softmax cross-entropy over rows of logits[rows x classes].
 * probs gets the softmax, loss[r] = -log softmax(logits[r])[labels[r]].
 * A label outside [0, classes) gives a NaN loss for its row (labels are
 * validated where they are read; the op never reads out of bounds). */
int cairn_xent_fwd(cairn_backend *be, int64_t rows, int64_t classes,
                   const float *logits, const int32_t *labels, float *probs,
                   float *loss);
/* dlogits[r][j] = (probs[r][j] - (j == labels[r])) * scale; a bad label
 * gives a NaN row. */
int cairn_xent_bwd(cairn_backend *be, int64_t rows, int64_t classes,
                   const float *probs, const int32_t *labels, float scale,
                   float *dlogits);

/* AdamW (decoupled weight decay), one step t >= 1 on n elements.  p is
 * checked before anything else, so n = 0 (with NULL buffers) checks p
 * alone: CAIRN_EINVAL for step < 1, betas outside [0, 1), eps <= 0, or a
 * negative or NaN lr or weight decay (cairn_model_step relies on it). */
typedef struct cairn_adamw_params {
	float lr, beta1, beta2, eps, weight_decay;
	int64_t step; /* t, counted from 1 */
} cairn_adamw_params;
int cairn_adamw(cairn_backend *be, int64_t n, const cairn_adamw_params *p,
                float *param, const float *grad, float *m, float *v);

/* SGD with Nesterov momentum (the outer optimizer):
 *   buf = fmaf(mu, buf, g); param = fmaf(-lr, fmaf(mu, buf, g), param) */
int cairn_nesterov(cairn_backend *be, int64_t n, float lr, float momentum,
                   float *param, const float *grad, float *buf);

/* dst[e] = (...((src[0][e] + src[1][e]) + src[2][e]) ...) + src[count-1][e]
 * in that order; count >= 1; src is a host array of backend pointers. */
int cairn_sum_n(cairn_backend *be, int64_t n, int count,
                const float *const *src, float *dst);
/* A batch of rows of a u8 table (a training set on the device) as the
 * model's input: for r < n and j < cols
 *   x[r * cols + j] = (float)src[idx[r] * cols + j] / 255.0f
 * (cairn_dataset_pixel: one correctly rounded division), and, when labels
 * is not NULL, y[r] = labels[idx[r]].  idx is pageable host memory (not
 * pinned), n entries, each checked against rows (CAIRN_ERANGE, nothing
 * done); the call returns once the indices are staged, so idx may be
 * reused at once.  src (rows x cols), labels (rows), x and y are backend
 * memory. */
int cairn_gather_u8(cairn_backend *be, int64_t n, int64_t cols, int64_t rows,
                    const uint32_t *idx, const uint8_t *src,
                    const uint8_t *labels, float *x, int32_t *y);
/* out = a - b */
int cairn_sub(cairn_backend *be, int64_t n, const float *a, const float *b,
              float *out);
/* out = x * s */
int cairn_scale(cairn_backend *be, int64_t n, float s, const float *x,
                float *out);
/* out[0] = sum over i ascending of x[i], from +0.0f (backend memory). */
int cairn_sum(cairn_backend *be, int64_t n, const float *x, float *out);

/* Counter-based random fills (Philox4x32-10).  Element e of the stream
 * (key, stream) is a pure function of (key, stream, offset + e); see
 * docs/numeric-profile.md for the exact mapping. */
int cairn_fill_uniform(cairn_backend *be, int64_t n, uint64_t key,
                       uint64_t stream, uint64_t offset, float lo, float hi,
                       float *out);
int cairn_fill_normal(cairn_backend *be, int64_t n, uint64_t key,
                      uint64_t stream, uint64_t offset, float mean, float std,
                      float *out);

/* ---- hashing ------------------------------------------------------------ */

/* Bytes of the header block cairn_hash_chunks puts before every chunk. */
#define CAIRN_HASH_CHUNKS_HEADER_BYTES 128

/* BLAKE2b-256 (unkeyed, 32-byte output) of fixed-size chunks of a byte
 * buffer, each prefixed by a caller-given 128-byte header block, so that
 * a device can hash tensor chunks where they live (the attest layer passes
 * its domain header; this op knows no domains):
 *   nchunks = max(1, ceil(bytes / chunk_bytes));
 *   chunk c = data[c * chunk_bytes .. min(bytes, (c + 1) * chunk_bytes));
 *   out[32c .. 32c + 32) = BLAKE2b-256(header || chunk c).
 * bytes == 0 is one empty chunk: out[0..32) is the hash of the header
 * alone (data may then be NULL).  data (bytes) and out (32 * nchunks bytes)
 * are backend memory; header is host memory, copied before the call
 * returns.  chunk_bytes must be a positive multiple of 128, bytes >= 0;
 * out must not overlap data (CAIRN_EINVAL otherwise). */
int cairn_hash_chunks(cairn_backend *be, const void *data, int64_t bytes,
                      int64_t chunk_bytes,
                      const uint8_t header[CAIRN_HASH_CHUNKS_HEADER_BYTES],
                      uint8_t *out);

#ifdef __cplusplus
}
#endif
#endif
