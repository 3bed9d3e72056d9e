/* cairn: `cairn bench` internals shared by the bench sources (C and CUDA).
 *
 * The GEMM suite (bench_gemm.c) parses the command line into a struct
 * cairn_bench_gemm_cfg and fills a struct cairn_bench_gemm_result; on the
 * GPU it hands both to cairn__bench_gemm_cuda (bench_gemm_cuda.cu), which
 * times the exact SGEMM and cuBLAS (loaded with dlopen) with CUDA events.
 * Everything here is plain C so that nvcc can include it. */
#ifndef CAIRN_BENCH_H
#define CAIRN_BENCH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What to measure.  Square problems: M = N = K = size. */
struct cairn_bench_gemm_cfg {
	int64_t size;       /* M = N = K (> 0) */
	int ta, tb;         /* 0/1 = op(A), op(B) transposed; nn: 0,0  nt: 0,1
	                     * tn: 1,0 (same meaning as cairn_trans) */
	const char *layout; /* "nn", "nt" or "tn" (for printing) */
	int reps;           /* timed repetitions (>= 1); the median is reported;
	                     * 0 = the callee picks enough for ~1-2 s, at least 5 */
	int warmup;         /* untimed runs before timing (>= 1) */
	int threads;        /* cpu: threads for both cairn and the reference;
	                     * gpu: ignored */
	int device;         /* gpu: CUDA device ordinal; cpu: ignored */
	uint64_t seed;      /* seed of the random inputs (uniform in [-1, 1)) */
	int check;          /* 1 = check the exact result bit for bit (see
	                     * bit_exact below), 0 = skip the check */
};

/* What was measured.  The caller zeroes it before the call. */
struct cairn_bench_gemm_result {
	char device[128];         /* "cpu: AVX2, 2 threads ..." or the GPU's
	                           * name, for printing */
	int threads;              /* threads actually used (1 on gpu) */
	int reps;                 /* timed repetitions actually run */
	double exact_seconds;     /* median seconds of one exact SGEMM */
	double exact_gflops;      /* 2*M*N*K / exact_seconds / 1e9 */
	int have_reference;       /* 1 when the reference ran */
	char reference[128];      /* reference name and version, e.g.
	                           * "OpenBLAS 0.3.21 ..." or "cuBLAS 12.4";
	                           * when have_reference == 0: why not */
	double reference_seconds; /* median seconds of one reference SGEMM */
	double reference_gflops;  /* 2*M*N*K / reference_seconds / 1e9 */
	int bit_exact;            /* 1 = equal bits, 0 = differ, -1 = not
	                           * checked */
	char check_how[96];       /* how it was checked: "full vs ref backend",
	                           * "16 sampled rows vs scalar fmaf", ... */
	int64_t mismatches;       /* elements that differed (when checked) */
};

/* Times the exact SGEMM on CUDA device cfg->device and the vendor SGEMM
 * (cuBLAS, loaded at run time) on the same inputs, and checks the exact
 * result against a scalar fmaf loop on sampled rows.  Fills *res.
 * Returns 0, CAIRN_ENOTSUP when this cairn was built without CUDA,
 * CAIRN_ENODEV when no usable GPU is present, CAIRN_ENOMEM, or
 * CAIRN_EDEVICE.  A missing cuBLAS is not an error: have_reference = 0 and
 * res->reference says why.  Defined in bench_gemm_cuda.cu when built with
 * CUDA, else in bench_gemm.c (returns CAIRN_ENOTSUP). */
int cairn__bench_gemm_cuda(const struct cairn_bench_gemm_cfg *cfg,
                           struct cairn_bench_gemm_result *res);

/* ---- helpers shared by the suites (bench_util.c) ---------------------- */
int cairn__bench_parse_int(const char *suite, const char *opt, const char *val,
                           long long lo, long long hi, long long *out);
double cairn__bench_now(void);
double cairn__bench_median(double *t, int n);

/* The train suite (bench_train.c): argv[0] is "train". */
int cairn__bench_train_cmd(int argc, char **argv);

/* ---- OpenBLAS, loaded at run time (blas_ref.c) -------------------------
 * The binary never links a BLAS: cairn_blas_open dlopens libopenblas.so.0
 * (then libopenblas.so) and resolves the entry points below. */
enum {
	CAIRN_CBLAS_ROW_MAJOR = 101,
	CAIRN_CBLAS_NO_TRANS = 111,
	CAIRN_CBLAS_TRANS = 112
};

typedef void (*cairn_cblas_sgemm_fn)(int order, int ta, int tb, int m, int n,
                                     int k, float alpha, const float *a,
                                     int lda, const float *b, int ldb,
                                     float beta, float *c, int ldc);
typedef void (*cairn_blas_set_threads_fn)(int n);
typedef char *(*cairn_blas_get_config_fn)(void);

struct cairn_blas {
	void *handle;                          /* dlopen handle, owned */
	cairn_cblas_sgemm_fn sgemm;            /* cblas_sgemm */
	cairn_blas_set_threads_fn set_threads; /* openblas_set_num_threads
	                                        * (optional, may be NULL) */
	char name[128];                        /* "OpenBLAS <config>" */
};

/* Opens OpenBLAS.  On failure returns CAIRN_ENOENT and writes why into
 * why[0..len) (len may be 0); *b is then zeroed and needs no close. */
int cairn_blas_open(struct cairn_blas *b, char *why, size_t len);
/* Closes what cairn_blas_open opened; safe on a zeroed struct. */
void cairn_blas_close(struct cairn_blas *b);

/* The command itself, cairn_cmd_bench, is declared in cairn/cli.h. */

#ifdef __cplusplus
}
#endif
#endif
