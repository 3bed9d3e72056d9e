/* cairn: internals of the cpu backend (kernels/cpu). */
#ifndef CAIRN_CPU_IMPL_H
#define CAIRN_CPU_IMPL_H

#include <stdint.h>
#include "backend_impl.h"

/* ---- thread pool (pool.c) ---------------------------------------------
 * A fixed set of threads; the caller of cairn__pool_run is thread 0, so a
 * pool of 1 runs everything inline.  With pin != 0 each thread is bound with
 * hwloc to one core (round-robin when there are more threads than cores);
 * pinning failures are logged once and are not errors.
 * The pool is owned by the cpu backend's context. */
struct cairn_pool;
typedef void (*cairn_pool_fn)(void *arg, int tid, int nthreads);

int cairn__pool_create(int nthreads, int pin, struct cairn_pool **out);
void cairn__pool_destroy(struct cairn_pool *pool);
/* Runs fn(arg, tid, n) for tid = 0..n-1 concurrently; returns when all are
 * done.  Not reentrant: fn must not call cairn__pool_run. */
void cairn__pool_run(struct cairn_pool *pool, cairn_pool_fn fn, void *arg);
int cairn__pool_threads(const struct cairn_pool *pool);
/* "pinned to 2 cores" or "not pinned: <why>"; static storage in the pool. */
const char *cairn__pool_describe(const struct cairn_pool *pool);

/* Splits [0, n) into nth contiguous ranges, the first n % nth one longer. */
static inline void cairn__split(int64_t n, int tid, int nth, int64_t *lo,
                                int64_t *hi)
{
	int64_t q = n / nth, r = n % nth;
	*lo = tid * q + (tid < r ? tid : r);
	*hi = *lo + q + (tid < r ? 1 : 0);
}

/* ---- instruction sets ------------------------------------------------- */
enum cairn_cpu_isa {
	CAIRN_ISA_PORTABLE = 0, /* plain C, any x86-64 (or other CPU) */
	CAIRN_ISA_AVX2 = 1,     /* AVX2 + FMA3 */
	CAIRN_ISA_AVX512 = 2    /* the AVX2 kernels, but BLAKE2b on eight
	                         * AVX-512F lanes (hash_avx512.c) */
};
const char *cairn__isa_name(int isa);

/* ---- element-wise workers (ops_body.h, compiled twice) ----------------
 * Pool functions over a struct cairn_op (passed as arg); sum runs alone. */
struct cairn__cpu_ops {
	cairn_pool_fn bias_add, bias_grad, act, xent, adamw, nesterov, sum_n,
	    vec, fill, hash_chunks;
	void (*sum)(const struct cairn_op *op);
};
extern const struct cairn__cpu_ops cairn__cpu_ops_portable;
extern const struct cairn__cpu_ops cairn__cpu_ops_avx2;
extern const struct cairn__cpu_ops cairn__cpu_ops_avx512;

/* ---- BLAKE2b, four messages at a time (hash_avx2.c) ---------------------
 * Continues n copies of s (nothing buffered) over p[i][0..len[i]),
 * len[i] > 0, and writes each digest to out[i], for i < n (1..4): the
 * bytes of cairn_blake2b_update and cairn_blake2b_final on a copy of s.
 * AVX2 only: the AVX2 ops table's hash_chunks uses it (ops_avx2.c). */
struct cairn_blake2b_state;
void cairn__blake2b_x4(const struct cairn_blake2b_state *s, int n,
                       const uint8_t *const p[], const int64_t len[],
                       uint8_t *const out[]);
/* The same on eight lanes, n 1..8: AVX-512F only (hash_avx512.c), for the
 * avx512 ops table (ops_avx512.c). */
void cairn__blake2b_x8(const struct cairn_blake2b_state *s, int n,
                       const uint8_t *const p[], const int64_t len[],
                       uint8_t *const out[]);

/* ---- GEMM (gemm.c, gemm_avx2.c) ----------------------------------------
 * Runs op->u.gemm (already checked: NN, NT or TN; shapes valid) on the pool
 * with the given ISA.  Bit-equal to the reference for every shape and thread
 * count: each C element is computed by one thread, k ascending, with fmaf.
 * Returns 0 or CAIRN_ENOMEM. */
int cairn__cpu_gemm(struct cairn_pool *pool, int isa,
                    const struct cairn_op *op);

/* The micro-kernels' load argument: a mode in its low bits,
 *   GEMM_ZERO  c = chain from +0
 *   GEMM_LOAD  c = chain from c (the chain goes on)
 *   GEMM_ADD   c = c + chain from +0 (one more k-segment, cairn_gemm_seg)
 * and flags:
 *   GEMM_RAW   store the tile without canonicalising its NaNs: a later
 *              call of the same GEMM goes on with it and stores it
 *              canonical (a NaN stays a NaN through fmaf and addition, so
 *              only the final store's canonicalisation shows in the bits);
 *              without it, NaNs are stored as 0x7fc00000;
 *   GEMM_NOPF  do not prefetch c_next: the next call is this tile again. */
enum {
	GEMM_ZERO = 0,
	GEMM_LOAD = 1,
	GEMM_ADD = 2,
	GEMM_MODE = 3, /* the mode's bits */
	GEMM_RAW = 4,
	GEMM_NOPF = 8
};

/* The AVX2 pieces gemm.c calls, defined in gemm_avx2.c (compiled with
 * -mavx2 -mfma; called only when the backend selected CAIRN_ISA_AVX2).
 * The micro-kernel and the packed layouts are described there. */
void cairn__gemm_ukr_avx2_6x16(int64_t kc, const float *a, const float *b,
                               float *c, int64_t ldc, int load,
                               const float *c_next);
void cairn__gemm_packb_nt_avx2(int64_t kc, const float *src, int64_t ld,
                               float *dst);
void cairn__gemm_packb_n_avx2(int64_t kc, const float *src, int64_t ld,
                              float *dst);
void cairn__gemm_packa_n_avx2(int64_t kc, const float *src, int64_t ld,
                              float *dst);
void cairn__gemm_packa_t_avx2(int64_t kc, const float *src, int64_t ld,
                              float *dst);

#endif
