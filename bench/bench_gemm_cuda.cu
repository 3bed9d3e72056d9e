/* cairn: the GPU side of `cairn bench gemm` (cairn__bench_gemm_cuda).
 *
 * Opens the CUDA backend through the public API, fills A and B on the host
 * with the same generator and seeds as the CPU side (bench_gemm.c), uploads
 * them, and times on the backend's own stream with CUDA events (warm-up,
 * then the median of the repeats):
 *   - the exact SGEMM, cairn_gemm (exact-v1);
 *   - cuBLAS SGEMM (cublasSgemm_v2, CUBLAS_DEFAULT_MATH: plain FP32, no
 *     TF32; the mode PyTorch sets when torch.backends.cuda.matmul.
 *     allow_tf32 is False), loaded with dlopen so that the binary never
 *     needs libcublas to start; a missing cuBLAS only leaves the reference
 *     column empty;
 *   - the chip's headroom: cuBLAS cublasGemmEx with BF16 A, B and C and
 *     FP32 accumulation (CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT, the same
 *     handle and math mode: tensor cores), on the same inputs rounded to
 *     BF16 on the device; the cuBLAS call PyTorch's BF16 matmul has long
 *     made (a recent PyTorch may use cublasLt; bench/gpu/bench-all.sh
 *     compares the two figures).
 * Between the exact and the cuBLAS runs it reads back 16 sampled rows of
 * the exact result and compares their bits with a host loop of fmaf in
 * ascending k (cuBLAS then writes its result over the exact one: three
 * N x N FP32 buffers, not four; the BF16 GEMM has three of its own).
 *
 * cuBLAS is looked for in $CAIRN_CUBLAS (a path, when set), then by soname
 * (libcublas.so.13, .12), then under $CUDA_HOME/lib64 and
 * /usr/local/cuda/lib64, for machines whose loader cache lacks the
 * toolkit.
 *
 * cuBLAS is column-major: the row-major C = op(A) op(B) is, seen column-
 * major, C^T = op(B)^T op(A)^T, so B goes first and m and n swap.
 *
 * Everything allocated here (backend, device and host buffers, the BF16
 * buffers, events, the cuBLAS handle and library) is freed here, on every
 * path.  Written and compiled on a machine with no GPU; the GPU figures
 * have not been measured yet. */
#include <dlfcn.h>
#include <math.h>
#include <cuda_bf16.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "cairn/error.h"
#include "cairn/kernels.h"
#include "cairn/log.h"
#include "cuda/cuda_common.cuh"
#include "fpenv.h"
#include "hd.h"

#define BG_SAMPLED_ROWS 16
#define BG_TARGET_SECONDS 1.0 /* per side when cfg->reps is 0 */
#define BG_MIN_REPS 5
#define BG_MAX_REPS 10000

/* ---- cuBLAS, declared here and loaded at run time ----------------------
 * The few entry points used, as in cublas_api.h (CUDA 12 and 13 agree);
 * enums are passed as int, which is their ABI. */
typedef struct cublasContext *bg_cublas_handle;
typedef int (*bg_cublas_create_fn)(bg_cublas_handle *handle);
typedef int (*bg_cublas_destroy_fn)(bg_cublas_handle handle);
typedef int (*bg_cublas_set_stream_fn)(bg_cublas_handle handle,
                                       cudaStream_t stream);
typedef int (*bg_cublas_set_math_fn)(bg_cublas_handle handle, int mode);
typedef int (*bg_cublas_version_fn)(bg_cublas_handle handle, int *version);
typedef int (*bg_cublas_sgemm_fn)(bg_cublas_handle handle, int transa,
                                  int transb, int m, int n, int k,
                                  const float *alpha, const float *a, int lda,
                                  const float *b, int ldb, const float *beta,
                                  float *c, int ldc);
typedef int (*bg_cublas_gemm_ex_fn)(bg_cublas_handle handle, int transa,
                                    int transb, int m, int n, int k,
                                    const void *alpha, const void *a, int atype,
                                    int lda, const void *b, int btype, int ldb,
                                    const void *beta, void *c, int ctype,
                                    int ldc, int compute_type, int algo);

enum {
	BG_CUBLAS_STATUS_SUCCESS = 0,
	BG_CUBLAS_OP_N = 0,
	BG_CUBLAS_OP_T = 1,
	BG_CUBLAS_DEFAULT_MATH = 0, /* FP32 stays FP32: no TF32 */
	BG_CUDA_R_16BF = 14,        /* cudaDataType (library_types.h) */
	BG_CUBLAS_COMPUTE_32F = 68, /* cublasComputeType_t */
	BG_CUBLAS_GEMM_DEFAULT = -1 /* cublasGemmAlgo_t */
};

struct bg_cublas {
	void *dl;                /* dlopen handle, owned */
	bg_cublas_handle handle; /* owned */
	bg_cublas_destroy_fn destroy;
	bg_cublas_sgemm_fn sgemm;
	bg_cublas_gemm_ex_fn gemm_ex; /* (optional) NULL: no BF16 row */
	int version;                  /* cublasGetVersion's; 0 unknown */
	char name[128]; /* "cuBLAS 13.1.0 SGEMM (FP32, TF32 off)" */
};

/* Which GEMM a timed run does. */
enum bg_kind {
	BG_EXACT, /* cairn_gemm, exact-v1 */
	BG_SGEMM, /* cublasSgemm_v2, FP32, TF32 off */
	BG_BF16   /* cublasGemmEx, BF16 in and out, FP32 accumulate */
};

/* dlopens cuBLAS: $CAIRN_CUBLAS, the sonames, then the toolkit's folder.
 * NULL when none loads; err[] then has the loader's first message. */
static void *bg_cublas_dlopen(char *err, size_t len)
{
	static const char *const names[] = {"libcublas.so.13",
	                                    "libcublas.so.12", "libcublas.so"};
	static const char *const dirs[] = {"/usr/local/cuda/lib64",
	                                   "/usr/local/cuda/lib"};
	const char *env = getenv("CAIRN_CUBLAS");
	const char *home = getenv("CUDA_HOME");
	char path[512];
	void *dl = NULL;

	err[0] = '\0';
	if (env && env[0]) {
		dl = dlopen(env, RTLD_NOW | RTLD_LOCAL);
		if (!dl) {
			const char *e = dlerror();
			snprintf(err, len, "CAIRN_CUBLAS=%s: %s", env,
			         e ? e : "");
		}
		return dl; /* asked for this one: no other */
	}
	for (size_t i = 0; i < sizeof names / sizeof names[0] && !dl; i++) {
		dl = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
		if (!dl && i == 0) {
			const char *e = dlerror();
			snprintf(err, len, "%s", e ? e : "");
		}
	}
	for (int h = 0; h < 3 && !dl; h++) {
		const char *dir = h == 0 ? home : dirs[h - 1];
		if (!dir || !dir[0])
			continue;
		for (size_t i = 0; i < 2 && !dl; i++) {
			snprintf(path, sizeof path, "%s%s/%s", dir,
			         h == 0 ? "/lib64" : "", names[i]);
			dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
		}
	}
	return dl;
}

/* Loads cuBLAS, makes a handle on stream with TF32 off.  On failure writes
 * why into why[0..len), leaves *cb closable and returns CAIRN_ENOENT (not
 * there) or CAIRN_EDEVICE (there but failing). */
static int bg_cublas_open(struct bg_cublas *cb, cudaStream_t stream, char *why,
                          size_t len)
{
	bg_cublas_create_fn create;
	bg_cublas_set_stream_fn set_stream;
	bg_cublas_set_math_fn set_math;
	bg_cublas_version_fn version;
	char err[256];
	int st, ver = 0;

	memset(cb, 0, sizeof *cb);
	cb->dl = bg_cublas_dlopen(err, sizeof err);
	if (!cb->dl) {
		snprintf(why, len,
		         "cuBLAS not found (%s); set CAIRN_CUBLAS to the path "
		         "of libcublas.so.13",
		         err);
		return CAIRN_ENOENT;
	}
	create = (bg_cublas_create_fn)dlsym(cb->dl, "cublasCreate_v2");
	cb->destroy = (bg_cublas_destroy_fn)dlsym(cb->dl, "cublasDestroy_v2");
	set_stream =
	    (bg_cublas_set_stream_fn)dlsym(cb->dl, "cublasSetStream_v2");
	set_math = (bg_cublas_set_math_fn)dlsym(cb->dl, "cublasSetMathMode");
	version = (bg_cublas_version_fn)dlsym(cb->dl, "cublasGetVersion_v2");
	cb->sgemm = (bg_cublas_sgemm_fn)dlsym(cb->dl, "cublasSgemm_v2");
	cb->gemm_ex = (bg_cublas_gemm_ex_fn)dlsym(cb->dl, "cublasGemmEx");
	if (!create || !cb->destroy || !set_stream || !set_math || !version ||
	    !cb->sgemm) {
		snprintf(why, len,
		         "cuBLAS lacks an entry point (cublasCreate_v2, "
		         "cublasSgemm_v2, ...)");
		return CAIRN_ENOENT;
	}
	st = create(&cb->handle);
	if (st != BG_CUBLAS_STATUS_SUCCESS) {
		cb->handle = NULL;
		snprintf(why, len, "cublasCreate_v2 failed (status %d)", st);
		return CAIRN_EDEVICE;
	}
	st = set_stream(cb->handle, stream);
	if (st == BG_CUBLAS_STATUS_SUCCESS)
		st = set_math(cb->handle, BG_CUBLAS_DEFAULT_MATH);
	if (st != BG_CUBLAS_STATUS_SUCCESS) {
		snprintf(why, len,
		         "cublasSetStream/cublasSetMathMode failed (status "
		         "%d)",
		         st);
		return CAIRN_EDEVICE;
	}
	if (version(cb->handle, &ver) != BG_CUBLAS_STATUS_SUCCESS)
		ver = 0;
	cb->version = ver;
	snprintf(cb->name, sizeof cb->name,
	         "cuBLAS %d.%d.%d SGEMM (FP32, TF32 off)", ver / 10000,
	         (ver % 10000) / 100, ver % 100);
	return 0;
}

static void bg_cublas_close(struct bg_cublas *cb)
{
	if (cb->handle && cb->destroy)
		cb->destroy(cb->handle);
	/* The library stays loaded (no dlclose): unloading CUDA libraries
	 * while the process goes on has a record of crashes at exit, and
	 * `cairn bench` runs other suites after this one. */
	memset(cb, 0, sizeof *cb);
}

/* ---- inputs and timing ----------------------------------------------- */

/* splitmix64, as bench_gemm.c: the same seed gives the same inputs. */
static uint64_t bg_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform floats in [-1, 1), 24 random bits each (exact arithmetic). */
static void bg_fill(float *x, size_t n, uint64_t seed)
{
	for (size_t i = 0; i < n; i++)
		x[i] = (float)(int32_t)(bg_rand(&seed) >> 40) * 0x1p-23f - 1.0f;
}

static int bg_cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return a < b ? -1 : a > b;
}

/* The median of t[0..n); sorts t. */
static double bg_median(double *t, int n)
{
	qsort(t, (size_t)n, sizeof *t, bg_cmp_double);
	return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

/* One GEMM of the bench, queued on the backend's stream. */
struct bg_job {
	const struct cairn_bench_gemm_cfg *cfg;
	cairn_backend *be;
	enum bg_kind kind;
	struct bg_cublas *cb; /* for BG_SGEMM and BG_BF16 */
	const void *a, *b;    /* float, or __nv_bfloat16 for BG_BF16 */
	void *c;
};

static int bg_run(const struct bg_job *j)
{
	const int64_t n = j->cfg->size;
	const float one = 1.0f, zero = 0.0f;
	const int ta = j->cfg->tb ? BG_CUBLAS_OP_T : BG_CUBLAS_OP_N;
	const int tb = j->cfg->ta ? BG_CUBLAS_OP_T : BG_CUBLAS_OP_N;
	int st;

	if (j->kind == BG_EXACT)
		return cairn_gemm(j->be,
		                  j->cfg->ta ? CAIRN_TRANS : CAIRN_NOTRANS,
		                  j->cfg->tb ? CAIRN_TRANS : CAIRN_NOTRANS, n,
		                  n, n, (const float *)j->a, n,
		                  (const float *)j->b, n, (float *)j->c, n, 0);
	/* column-major: C^T (n x m) = op(B)^T (n x k) . op(A)^T (k x m) */
	if (j->kind == BG_SGEMM)
		st = j->cb->sgemm(j->cb->handle, ta, tb, (int)n, (int)n, (int)n,
		                  &one, (const float *)j->b, (int)n,
		                  (const float *)j->a, (int)n, &zero,
		                  (float *)j->c, (int)n);
	else
		st = j->cb->gemm_ex(
		    j->cb->handle, ta, tb, (int)n, (int)n, (int)n, &one, j->b,
		    BG_CUDA_R_16BF, (int)n, j->a, BG_CUDA_R_16BF, (int)n, &zero,
		    j->c, BG_CUDA_R_16BF, (int)n, BG_CUBLAS_COMPUTE_32F,
		    BG_CUBLAS_GEMM_DEFAULT);
	if (st != BG_CUBLAS_STATUS_SUCCESS) {
		cairn_error("cuda bench: %s failed (cuBLAS status %d)",
		            j->kind == BG_SGEMM ? "cublasSgemm_v2"
		                                : "cublasGemmEx (BF16)",
		            st);
		return CAIRN_EDEVICE;
	}
	return 0;
}

/* Seconds between two recorded events (after waiting for e1). */
static int bg_elapsed(cudaEvent_t e0, cudaEvent_t e1, double *seconds)
{
	float ms = 0.0f;
	int rc = CAIRN_CUDA_CHECK(cudaEventSynchronize(e1));

	if (!rc)
		rc = CAIRN_CUDA_CHECK(cudaEventElapsedTime(&ms, e0, e1));
	*seconds = (double)ms * 1e-3;
	return rc;
}

/* Times job on stream: cfg->warmup untimed runs, then *reps runs (0:
 * enough for about BG_TARGET_SECONDS), each between two events; *median
 * gets the median seconds of one run.  The events are freed here. */
static int bg_time(const struct bg_job *job, cudaStream_t stream, int *reps,
                   double *median)
{
	cudaEvent_t *ev = NULL;
	double *t = NULL, one = 0.0;
	int nev = 0, rc = 0;

	for (int w = 0;
	     w < (job->cfg->warmup > 0 ? job->cfg->warmup : 1) && !rc; w++)
		rc = bg_run(job);
	if (rc)
		goto out;
	if (*reps <= 0) {
		/* one run measured to pick the count */
		ev = (cudaEvent_t *)calloc(2, sizeof *ev);
		if (!ev) {
			rc = CAIRN_ENOMEM;
			goto out;
		}
		for (; nev < 2 && !rc; nev++)
			rc = CAIRN_CUDA_CHECK(cudaEventCreate(&ev[nev]));
		if (rc ||
		    (rc = CAIRN_CUDA_CHECK(cudaEventRecord(ev[0], stream))) ||
		    (rc = bg_run(job)) ||
		    (rc = CAIRN_CUDA_CHECK(cudaEventRecord(ev[1], stream))) ||
		    (rc = bg_elapsed(ev[0], ev[1], &one)))
			goto out;
		double r = ceil(BG_TARGET_SECONDS / (one > 1e-7 ? one : 1e-7));
		*reps = r < BG_MIN_REPS   ? BG_MIN_REPS
		        : r > BG_MAX_REPS ? BG_MAX_REPS
		                          : (int)r;
		for (int i = 0; i < nev; i++)
			cudaEventDestroy(ev[i]);
		free(ev);
		ev = NULL;
		nev = 0;
	}
	/* reps + 1 events back to back: run r lies between ev[r], ev[r+1] */
	ev = (cudaEvent_t *)calloc((size_t)*reps + 1, sizeof *ev);
	t = (double *)malloc((size_t)*reps * sizeof *t);
	if (!ev || !t) {
		rc = CAIRN_ENOMEM;
		goto out;
	}
	for (; nev < *reps + 1 && !rc; nev++)
		rc = CAIRN_CUDA_CHECK(cudaEventCreate(&ev[nev]));
	if (rc || (rc = CAIRN_CUDA_CHECK(cudaEventRecord(ev[0], stream))))
		goto out;
	for (int r = 0; r < *reps; r++) {
		if ((rc = bg_run(job)) ||
		    (rc = CAIRN_CUDA_CHECK(cudaEventRecord(ev[r + 1], stream))))
			goto out;
	}
	for (int r = 0; r < *reps; r++)
		if ((rc = bg_elapsed(ev[r], ev[r + 1], &t[r])))
			goto out;
	*median = bg_median(t, *reps);
out:
	if (rc) /* let queued work drain before the events go */
		cudaStreamSynchronize(stream);
	for (int i = 0; i < nev; i++)
		if (ev[i])
			cudaEventDestroy(ev[i]);
	free(ev);
	free(t);
	return rc;
}

/* ---- the bit check --------------------------------------------------- */

/* Row i of the exact result, recomputed on the host: each element one fmaf
 * chain in ascending k from +0.0f, NaN canonical.  For B stored k x n the
 * loop runs k outside and j inside (contiguous rows of B); for B stored
 * n x k, j outside.  Either way every element sees k ascending. */
static inline __attribute__((always_inline)) void
bg_row_body(const struct cairn_bench_gemm_cfg *cfg, const float *a,
            const float *b, int64_t i, float *acc)
{
	const int64_t n = cfg->size;

	if (!cfg->tb) {
		for (int64_t j = 0; j < n; j++)
			acc[j] = 0.0f;
		for (int64_t p = 0; p < n; p++) {
			const float x = cfg->ta ? a[p * n + i] : a[i * n + p];
			const float *brow = b + p * n;
			for (int64_t j = 0; j < n; j++)
				acc[j] = fmaf(x, brow[j], acc[j]);
		}
	} else {
		for (int64_t j = 0; j < n; j++) {
			const float *bcol = b + j * n;
			float s = 0.0f;
			for (int64_t p = 0; p < n; p++) {
				const float x =
				    cfg->ta ? a[p * n + i] : a[i * n + p];
				s = fmaf(x, bcol[p], s);
			}
			acc[j] = s;
		}
	}
	for (int64_t j = 0; j < n; j++)
		acc[j] = cairn_canon(acc[j]);
}

/* The same with fmaf as one FMA3 instruction (about 10x faster than the
 * libm call; equally exact: both are the correctly rounded fused
 * multiply-add). */
__attribute__((target("avx2,fma"))) static void
bg_row_ref_fma3(const struct cairn_bench_gemm_cfg *cfg, const float *a,
                const float *b, int64_t i, float *acc)
{
	bg_row_body(cfg, a, b, i, acc);
}

static void bg_row_ref_libm(const struct cairn_bench_gemm_cfg *cfg,
                            const float *a, const float *b, int64_t i,
                            float *acc)
{
	bg_row_body(cfg, a, b, i, acc);
}

static void bg_row_ref(const struct cairn_bench_gemm_cfg *cfg, const float *a,
                       const float *b, int64_t i, float *acc)
{
	if (__builtin_cpu_supports("fma") && __builtin_cpu_supports("avx2"))
		bg_row_ref_fma3(cfg, a, b, i, acc);
	else
		bg_row_ref_libm(cfg, a, b, i, acc);
}

/* Reads BG_SAMPLED_ROWS rows of the device result dc (rows drawn as in
 * bench_gemm.c) and counts elements whose bits differ. */
static int bg_check(const struct cairn_bench_gemm_cfg *cfg, cairn_backend *be,
                    const float *a, const float *b, const float *dc,
                    struct cairn_bench_gemm_result *res)
{
	const int64_t n = cfg->size;
	float *got = (float *)malloc((size_t)n * sizeof *got);
	float *want = (float *)malloc((size_t)n * sizeof *want);
	uint64_t seed = cfg->seed + 2;
	int rc = 0;

	if (!got || !want) {
		rc = CAIRN_ENOMEM;
		goto out;
	}
	res->mismatches = 0;
	for (int s = 0; s < BG_SAMPLED_ROWS; s++) {
		const int64_t i = (int64_t)(bg_rand(&seed) % (uint64_t)n);
		rc = cairn_buf_read(be, got, dc + i * n,
		                    (size_t)n * sizeof *got);
		if (rc)
			goto out;
		{
			/* the host reference under the profile's FP control,
			 * whatever the caller's (fpenv.h) */
			unsigned csr = cairn__fp_enter();
			bg_row_ref(cfg, a, b, i, want);
			cairn__fp_leave(csr);
		}
		for (int64_t j = 0; j < n; j++)
			if (memcmp(&got[j], &want[j], sizeof got[j]))
				res->mismatches++;
	}
	res->bit_exact = res->mismatches == 0;
	snprintf(res->check_how, sizeof res->check_how,
	         "%d sampled rows vs a scalar fmaf loop", BG_SAMPLED_ROWS);
out:
	free(got);
	free(want);
	return rc;
}

/* ---- the vendor's BF16 GEMM: the chip's headroom ------------------ */

/* dst[i] = src[i] rounded to BF16 (nearest, ties to even); grid-stride. */
__global__ static void bg_to_bf16(__nv_bfloat16 *__restrict__ dst,
                                  const float *__restrict__ src, int64_t n)
{
	for (int64_t i = cairn__cuda_first(); i < n; i += cairn__cuda_stride())
		dst[i] = __float2bfloat16_rn(src[i]);
}

/* The vendor's BF16 GEMM on da and db rounded to BF16: three BF16 device
 * buffers of its own (freed here), cfg->reps runs (0: about
 * BG_TARGET_SECONDS' worth) after the warm-up, timed on stream.  Fills the
 * bf16 fields of res.  A cuBLAS without cublasGemmEx, or BF16 buffers that
 * do not fit, leave have_bf16 = 0 with the reason in res->bf16 and return
 * 0; a failing call returns its error. */
static int bg_bf16(const struct cairn_bench_gemm_cfg *cfg, cairn_backend *be,
                   struct bg_cublas *cb, cudaStream_t stream, const float *da,
                   const float *db, struct cairn_bench_gemm_result *res)
{
	const int64_t n = cfg->size, elems = n * n;
	const size_t bytes = (size_t)elems * sizeof(__nv_bfloat16);
	const unsigned blocks = cairn__cuda_blocks(elems, CAIRN_CUDA_THREADS);
	__nv_bfloat16 *a16 = NULL, *b16 = NULL, *c16 = NULL;
	struct bg_job job;
	cudaError_t e;
	int rc = 0;

	if (!cb->gemm_ex) {
		snprintf(res->bf16, sizeof res->bf16,
		         "this cuBLAS has no cublasGemmEx");
		return 0;
	}
	e = cudaMalloc((void **)&a16, bytes);
	if (e == cudaSuccess)
		e = cudaMalloc((void **)&b16, bytes);
	if (e == cudaSuccess)
		e = cudaMalloc((void **)&c16, bytes);
	if (e != cudaSuccess) {
		snprintf(res->bf16, sizeof res->bf16,
		         "not run: cudaMalloc of 3 x %zu MiB of BF16: %s",
		         bytes >> 20, cudaGetErrorString(e));
		cudaGetLastError();
		goto out;
	}
	bg_to_bf16<<<blocks, CAIRN_CUDA_THREADS, 0, stream>>>(a16, da, elems);
	if ((rc = CAIRN_CUDA_CHECK_LAUNCH("bg_to_bf16")))
		goto out;
	bg_to_bf16<<<blocks, CAIRN_CUDA_THREADS, 0, stream>>>(b16, db, elems);
	if ((rc = CAIRN_CUDA_CHECK_LAUNCH("bg_to_bf16")))
		goto out;
	memset(&job, 0, sizeof job);
	job.cfg = cfg;
	job.be = be;
	job.kind = BG_BF16;
	job.cb = cb;
	job.a = a16;
	job.b = b16;
	job.c = c16;
	res->bf16_reps = cfg->reps;
	rc = bg_time(&job, stream, &res->bf16_reps, &res->bf16_seconds);
	if (rc)
		goto out;
	res->have_bf16 = 1;
	res->bf16_tflops =
	    2.0 * (double)n * (double)n * (double)n / res->bf16_seconds / 1e12;
	snprintf(res->bf16, sizeof res->bf16,
	         "cuBLAS %d.%d.%d cublasGemmEx (BF16 in/out, FP32 accumulate)",
	         cb->version / 10000, (cb->version % 10000) / 100,
	         cb->version % 100);
out:
	/* the stream may still use the buffers */
	if (stream && (a16 || b16 || c16))
		(void)CAIRN_CUDA_CHECK(cudaStreamSynchronize(stream));
	if (a16)
		(void)CAIRN_CUDA_CHECK(cudaFree(a16));
	if (b16)
		(void)CAIRN_CUDA_CHECK(cudaFree(b16));
	if (c16)
		(void)CAIRN_CUDA_CHECK(cudaFree(c16));
	return rc;
}

/* ---- the entry point ------------------------------------------------- */

int cairn__bench_gemm_cuda(const struct cairn_bench_gemm_cfg *cfg,
                           struct cairn_bench_gemm_result *res)
{
	cairn_backend_opts opts;
	cairn_backend *be = NULL;
	struct bg_cublas cb;
	struct bg_job job;
	cudaStream_t stream = NULL;
	float *a = NULL, *b = NULL, *da = NULL, *db = NULL, *dc = NULL;
	int64_t n;
	size_t elems, bytes;
	double flops;
	int rc, crc;

	memset(&cb, 0, sizeof cb);
	if (!cfg || !res || cfg->size <= 0 || cfg->size > INT32_MAX ||
	    (cfg->ta && cfg->tb))
		return CAIRN_EINVAL;
	n = cfg->size;
	elems = (size_t)n * (size_t)n;
	bytes = elems * sizeof(float);
	flops = 2.0 * (double)n * (double)n * (double)n;

	memset(&opts, 0, sizeof opts);
	opts.device = cfg->device;
	rc = cairn_backend_open(CAIRN_BACKEND_CUDA, &opts, &be);
	if (rc)
		return rc;
	rc = cairn__cuda_backend_stream(be, &stream);
	if (rc)
		goto out;
	snprintf(res->device, sizeof res->device, "%s",
	         cairn_backend_describe(be));
	res->threads = 1;

	a = (float *)malloc(bytes);
	b = (float *)malloc(bytes);
	if (!a || !b) {
		rc = CAIRN_ENOMEM;
		goto out;
	}
	bg_fill(a, elems, cfg->seed);
	bg_fill(b, elems, cfg->seed + 1);
	if ((rc = cairn_buf_alloc(be, bytes, (void **)&da)) ||
	    (rc = cairn_buf_alloc(be, bytes, (void **)&db)) ||
	    (rc = cairn_buf_alloc(be, bytes, (void **)&dc)) ||
	    (rc = cairn_buf_write(be, da, a, bytes)) ||
	    (rc = cairn_buf_write(be, db, b, bytes)))
		goto out;

	/* the exact SGEMM */
	memset(&job, 0, sizeof job);
	job.cfg = cfg;
	job.be = be;
	job.kind = BG_EXACT;
	job.a = da;
	job.b = db;
	job.c = dc;
	res->reps = cfg->reps;
	rc = bg_time(&job, stream, &res->reps, &res->exact_seconds);
	if (rc)
		goto out;
	res->exact_gflops = flops / res->exact_seconds / 1e9;

	/* the bit check, before cuBLAS reuses dc */
	if (cfg->check) {
		rc = bg_check(cfg, be, a, b, dc, res);
		if (rc)
			goto out;
	} else {
		res->bit_exact = -1;
		res->mismatches = 0;
	}

	/* cuBLAS: same inputs, same reps, writes dc */
	crc =
	    bg_cublas_open(&cb, stream, res->reference, sizeof res->reference);
	if (crc == 0) {
		job.kind = BG_SGEMM;
		job.cb = &cb;
		rc = bg_time(&job, stream, &res->reps, &res->reference_seconds);
		if (rc)
			goto out;
		res->have_reference = 1;
		snprintf(res->reference, sizeof res->reference, "%s", cb.name);
		res->reference_gflops = flops / res->reference_seconds / 1e9;
		/* the chip's headroom: the vendor's BF16 GEMM */
		rc = bg_bf16(cfg, be, &cb, stream, da, db, res);
		if (rc)
			goto out;
	} else {
		cairn_debug("cuda bench: no reference: %s", res->reference);
		snprintf(res->bf16, sizeof res->bf16, "%s", res->reference);
	}
out:
	bg_cublas_close(&cb);
	if (be) {
		cairn_buf_free(be, da);
		cairn_buf_free(be, db);
		cairn_buf_free(be, dc);
		cairn_backend_close(be);
	}
	free(a);
	free(b);
	return rc;
}
