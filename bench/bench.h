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
#include <stdio.h>

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
	/* The vendor's BF16 GEMM, the chip's headroom (gpu only: the CPU
	 * side leaves these zero).  cuBLAS cublasGemmEx, BF16 in and out,
	 * FP32 accumulate (CUBLAS_COMPUTE_32F), on the same inputs rounded
	 * to BF16. */
	int have_bf16;       /* 1 when it ran */
	char bf16[128];      /* its name and version; when have_bf16 == 0
	                      * on the gpu: why not */
	int bf16_reps;       /* timed repetitions */
	double bf16_seconds; /* median seconds of one BF16 GEMM */
	double bf16_tflops;  /* 2*M*N*K / bf16_seconds / 1e12 */
};

/* Times the exact SGEMM on CUDA device cfg->device, the vendor SGEMM
 * (cuBLAS, loaded at run time, TF32 off) and the vendor BF16 GEMM on the
 * same inputs, and checks the exact result against a scalar fmaf loop on
 * sampled rows.  Fills *res.
 * Returns 0, CAIRN_ENOTSUP when this cairn was built without CUDA,
 * CAIRN_ENODEV when no usable GPU is present, CAIRN_ENOMEM, or
 * CAIRN_EDEVICE.  A missing cuBLAS is not an error: have_reference = 0 and
 * res->reference says why (have_bf16 = 0 and res->bf16 likewise).  Defined in
 * bench_gemm_cuda.cu when built with CUDA, else in bench_gemm.c (returns
 * CAIRN_ENOTSUP). */
int cairn__bench_gemm_cuda(const struct cairn_bench_gemm_cfg *cfg,
                           struct cairn_bench_gemm_result *res);

/* ---- helpers shared by the suites (bench_util.c) ---------------------- */
int cairn__bench_parse_int(const char *suite, const char *opt, const char *val,
                           long long lo, long long hi, long long *out);
/* The device a suite measures: VAL (a --device value) when not NULL, else
 * $CAIRN_DEVICE when set and not empty, else "auto"; it must be auto, cpu
 * or gpu.  0, or 2 (the usage exit code) after printing which value was
 * wrong and where it came from.  *out points into VAL or the
 * environment, or is a literal. */
int cairn__bench_parse_device(const char *suite, const char *val,
                              const char **out);
/* The device a suite opened or tried to, for messages: device (its
 * --device) when given, else $CAIRN_DEVICE when set, else "default". */
const char *cairn__bench_device_name(const char *device);
double cairn__bench_now(void);
double cairn__bench_median(double *t, int n);

/* The train suite (bench_train.c): argv[0] is "train". */
int cairn__bench_train_cmd(int argc, char **argv);

/* The audit suite (bench_audit.c): argv[0] is "audit". */
int cairn__bench_audit_cmd(int argc, char **argv);

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

/* ---- the stream, hash and whole-run suites (issue 5) -------------------
 * `cairn bench stream` (bench_stream.c), `cairn bench hash`
 * (bench_hash.c), and `cairn bench` with no suite, which runs every suite
 * and can sign its report (bench_report.c); argv[0] is the suite's name
 * ("bench" for the whole run). */
int cairn__bench_stream_cmd(int argc, char **argv);
int cairn__bench_hash_cmd(int argc, char **argv);
int cairn__bench_all_cmd(int argc, char **argv);
/* The usage text of `cairn bench` (every suite and the whole run). */
void cairn__bench_usage(FILE *f);
/* `cairn bench verify FILE`: 0 good signature, 1 rejected, 2 unreadable
 * or bad usage. */
int cairn__bench_verify_cmd(int argc, char **argv);

/* The independent triad a[j] = b[j] + scalar * c[j] (stream_ref.c, built
 * apart with -O2); shares no code with cairn's loop. */
void cairn__stream_ref_triad(double *a, const double *b, const double *c,
                             double scalar, size_t n);

/* The GPU side of the stream suite (bench_stream_cuda.cu): copies bytes
 * from one device buffer to another with cairn's copy kernel and with
 * cudaMemcpyDeviceToDevice, reps timed runs each after a warm-up, timed
 * with CUDA events; GB/s counts the bytes read plus the bytes written.
 * Returns 0, CAIRN_ENOTSUP without CUDA, CAIRN_ENODEV with no usable GPU,
 * CAIRN_ENOMEM or CAIRN_EDEVICE (why[] says more). */
struct cairn_bench_copy_result {
	char device[128];   /* the GPU's name */
	double kernel_gbps; /* cairn's copy kernel, median */
	double memcpy_gbps; /* cudaMemcpyDeviceToDevice, median */
	char why[192];      /* on failure: what went wrong */
};
int cairn__bench_stream_cuda(int device, size_t bytes, int reps,
                             struct cairn_bench_copy_result *res);

/* ---- the pcie suite (issue 5) -------------------------------------------
 * `cairn bench pcie` (bench_pcie.c): host-to-device and device-to-host
 * bandwidth of each GPU from pinned host memory bound to the GPU's NUMA
 * node, beside the same copies from pinned memory at the default placement
 * (first touch by the calling thread, not bound).  bench_pcie.c owns the
 * host buffers and the hwloc side; bench_pcie_cuda.cu the CUDA side. */
int cairn__bench_pcie_cmd(int argc, char **argv);

/* One CUDA device as the pcie suite sees it. */
struct cairn_bench_pcie_gpu {
	char name[128];      /* the device's name */
	char pci_bus_id[32]; /* "0000:41:00.0"; "" unknown */
	int host_numa;       /* cudaDevAttrHostNumaId: the host NUMA node
	                      * nearest the device; -1 unknown */
};

/* Lists the CUDA devices into gpus[0..max) and returns how many there are
 * (> 0, may exceed max); or CAIRN_ENOTSUP (built without CUDA), CAIRN_ENODEV
 * (none usable) or CAIRN_EDEVICE, with why in why[0..len).  Defined in
 * bench_pcie_cuda.cu, or in bench_pcie.c without CUDA. */
int cairn__bench_pcie_devices(struct cairn_bench_pcie_gpu *gpus, int max,
                              char *why, size_t len);

/* One device's copies.  The caller owns both host buffers: page-aligned,
 * bytes long, already written (so their pages exist where they were
 * placed); the callee registers them with cudaHostRegister for the run
 * and unregisters them before it returns. */
struct cairn_bench_pcie_cfg {
	int device;     /* CUDA device ordinal */
	size_t bytes;   /* bytes per copy (> 0) */
	int reps;       /* timed copies of each kind (>= 1); median */
	int warmup;     /* untimed copies of each kind first (>= 0) */
	void *host;     /* bound to the GPU's NUMA node (cairn's) */
	void *host_ref; /* default placement (the reference) */
};

/* Medians in GB/s (1e9 bytes/s; each byte crosses the link once). */
struct cairn_bench_pcie_result {
	double h2d_gbps, d2h_gbps;         /* from/to host */
	double ref_h2d_gbps, ref_d2h_gbps; /* from/to host_ref */
	char why[192];                     /* on failure: which call, why */
};

/* Times cudaMemcpyAsync host -> device and device -> host for both host
 * buffers, interleaved (bound, reference, bound, ...), each copy between
 * two CUDA events on a stream of its own.  Returns 0, CAIRN_EINVAL,
 * CAIRN_ENOTSUP without CUDA, CAIRN_ENOMEM or CAIRN_EDEVICE (why[] says
 * which call failed). */
int cairn__bench_pcie_cuda(const struct cairn_bench_pcie_cfg *cfg,
                           struct cairn_bench_pcie_result *res);

/* One line of a report's results array, as JSON (bench_report.c): suite,
 * name, device, value, unit, and the reference's name and value with the
 * ratio value / reference_value when reference is not NULL. */
void cairn__bench_json_str(FILE *f, const char *s);
void cairn__bench_json_row(FILE *f, const char *suite, const char *name,
                           const char *device, double value, const char *unit,
                           const char *reference, double reference_value);

/* The signed report: body (the JSON text, starting with
 * {"signer":"<public key hex>","report":"cairn/report/v1", and ending with
 * a newline) followed by "signature: <128 hex>\n", the Ed25519 signature
 * (cairn_identity_sign) of H(REPORT header || body).
 * cairn__bench_report_check returns 0 when buf[0..len) is such a report
 * with a good signature and a body that cairn__bench_report_json_check
 * accepts, writing the signer's hex into signer (may be NULL);
 * CAIRN_EFORMAT, CAIRN_ECRYPTO or CAIRN_ENOMEM with why in
 * why[0..why_len) otherwise.  A changed byte anywhere is rejected. */
int cairn__bench_report_check(const char *buf, size_t len, char signer[65],
                              char *why, size_t why_len);
/* 0 when body[0..len) is one JSON object and nothing else, as cairn
 * writes reports: UTF-8, no control byte or DEL or \u0000 in a string, no
 * key twice in an object, no escape in a key, at most 32 levels deep,
 * white space without CR (bench_report_json.c).  Else CAIRN_EFORMAT (or
 * CAIRN_ENOMEM) with what and where, the byte offset, in why. */
int cairn__bench_report_json_check(const char *body, size_t len, char *why,
                                   size_t why_len);

/* The signature line that ends a signed report, its length, and the
 * largest report `cairn bench verify` reads. */
/* cairn bench train's seed: the model's initialisation and each step's
 * sample indices (cairn_sample_indices(seed, 0, 0, step, ...)), so that a
 * test can recompute what the suite trains. */
#define CAIRN__BENCH_TRAIN_SEED 0x63616972ull /* "cair" */

#define CAIRN__BENCH_REPORT_SIG_LINE "signature: "
#define CAIRN__BENCH_REPORT_SIG_LINE_BYTES (11 + 2 * CAIRN_SIGNATURE_BYTES + 1)
#define CAIRN__BENCH_REPORT_FILE_MAX (64u << 20)

/* The command itself, cairn_cmd_bench, is declared in cairn/cli.h. */

#ifdef __cplusplus
}
#endif
#endif
