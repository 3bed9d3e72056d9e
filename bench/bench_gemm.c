/* cairn: `cairn bench gemm`, the exact-profile SGEMM beside the vendor's.
 *
 * Times cairn_gemm (exact-v1: every element one fmaf chain, k ascending)
 * through the public API on the chosen backend, and on the CPU OpenBLAS's
 * cblas_sgemm (loaded at run time) with the same thread count, on the same
 * random inputs: warm-up first, then the median of the repeats, the exact
 * runs back to back and then the reference runs (interleaving them would
 * let OpenBLAS's spinning idle threads steal time from cairn's).  Then
 * checks the exact result bit for bit: against the ref backend for
 * N <= 1024, on 16 sampled rows recomputed with a scalar fmaf loop above.
 * The GPU side lives in bench_gemm_cuda.cu (cairn__bench_gemm_cuda); it
 * also times the vendor's BF16 GEMM, the chip's headroom, printed here as
 * its own line (and "vendor_bf16*" keys in --json).  `cairn bench SUITE`
 * is dispatched from here (cairn_cmd_bench, at the end).
 *
 * Exit codes: 0 ok, 1 a failure (including a result that is not
 * bit-exact), 2 bad usage. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "cairn/cli.h"
#include "cairn/error.h"
#include "cairn/kernels.h"
#include "cairn/log.h"
#include "cairn/text.h"
#include "fpenv.h"
#include "hd.h"

#define GEMM_FULL_CHECK_MAX 1024 /* full check against ref up to this N */
#define GEMM_SAMPLED_ROWS 16
#define GEMM_TARGET_SECONDS 1.0 /* timing per side when reps is auto */
#define GEMM_MIN_REPS 5
#define GEMM_MAX_SIZE 32768

/* The parsed command line of `cairn bench gemm`. */
struct gemm_args {
	const char *device; /* "auto", "cpu", "gpu"; NULL: CAIRN_DEVICE or
	                     * auto (cairn_backend_open_auto) */
	int threads;        /* 0 = one per core */
	int64_t size;       /* 0 = the device's default */
	const char *layout; /* "nn", "nt" or "tn" */
	int ta, tb;
	int reps; /* 0 = auto */
	int json;
};

#ifndef CAIRN_HAVE_CUDA
/* This build has no CUDA: the GPU bench is not there. */
int cairn__bench_gemm_cuda(const struct cairn_bench_gemm_cfg *cfg,
                           struct cairn_bench_gemm_result *res)
{
	(void)cfg;
	(void)res;
	return CAIRN_ENOTSUP;
}
#endif

/* The text lives with the whole run (bench_report.c). */
static void bench_usage(FILE *f)
{
	cairn__bench_usage(f);
}

static void gemm_usage(FILE *f)
{
	fprintf(f,
	        "usage: cairn bench gemm [OPTIONS]\n\n"
	        "Times the exact-profile SGEMM (bit-identical on every device "
	        "and thread count)\nand the vendor's SGEMM on the same "
	        "random N x N inputs, and checks the exact\nresult bit for "
	        "bit.  On the GPU the vendor's SGEMM runs with TF32 off, and "
	        "the\nvendor's BF16 GEMM (FP32 accumulate) is timed too: the "
	        "chip's headroom.\n\n"
	        "options:\n"
	        "  --device D   auto (the GPU when one is usable, else the "
	        "CPU), cpu or gpu;\n"
	        "               default: $CAIRN_DEVICE, else auto\n"
	        "  --threads T  CPU threads for cairn and OpenBLAS (default: "
	        "one per core)\n"
	        "  --size N     M = N = K (default 2048 on cpu, 8192 on gpu)\n"
	        "  --layout L   nn (default), nt or tn\n"
	        "  --reps R     timed repetitions, median reported (default: "
	        "~1 s worth, >= %d)\n"
	        "  --json       one JSON object on stdout\n"
	        "  -h, --help   this text\n\n"
	        "exit status: 0 ok, 1 failure (or a result that is not "
	        "bit-exact), 2 bad usage\n",
	        GEMM_MIN_REPS);
}

/* Parses argv (argv[0] is "gemm").  Returns 0, 1 after --help, or 2 after
 * printing a usage error. */
static int gemm_parse(int argc, char **argv, struct gemm_args *g)
{
	const char *env;

	memset(g, 0, sizeof *g);
	g->layout = "nn";
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		long long x;
		int rc;

		if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
			gemm_usage(stdout);
			return 1;
		} else if (!strcmp(o, "--json")) {
			g->json = 1;
			continue;
		} else if (!v &&
		           (!strcmp(o, "--device") || !strcmp(o, "--layout"))) {
			cairn_eprint("cairn bench gemm: %s needs a value; "
			             "see 'cairn bench gemm --help'\n",
			             o);
			return 2;
		} else if (!strcmp(o, "--device")) {
			if (strcmp(v, "auto") && strcmp(v, "cpu") &&
			    strcmp(v, "gpu")) {
				cairn_eprint("cairn bench gemm: --device "
				             "'%s': want auto, cpu or gpu\n",
				             v);
				return 2;
			}
			g->device = v;
		} else if (!strcmp(o, "--layout")) {
			if (strcmp(v, "nn") && strcmp(v, "nt") &&
			    strcmp(v, "tn")) {
				cairn_eprint("cairn bench gemm: --layout "
				             "'%s': want nn, nt or tn\n",
				             v);
				return 2;
			}
			g->layout = v;
			g->ta = v[0] == 't';
			g->tb = v[1] == 't';
		} else if (!strcmp(o, "--threads")) {
			if ((rc = cairn__bench_parse_int("gemm", o, v, 1, 1024,
			                                 &x)))
				return rc;
			g->threads = (int)x;
		} else if (!strcmp(o, "--size")) {
			if ((rc = cairn__bench_parse_int("gemm", o, v, 1,
			                                 GEMM_MAX_SIZE, &x)))
				return rc;
			g->size = x;
		} else if (!strcmp(o, "--reps")) {
			if ((rc = cairn__bench_parse_int("gemm", o, v, 1,
			                                 100000, &x)))
				return rc;
			g->reps = (int)x;
		} else {
			cairn_eprint("cairn bench gemm: unknown option '%s' "
			             "(options: --device, --threads, --size, "
			             "--layout, --reps, --json, --help)\n",
			             o);
			return 2;
		}
		i++; /* the option's value */
	}
	/* a bad CAIRN_DEVICE is refused here, where it came from named,
	 * before any work (the device is opened from it later) */
	if (!g->device && cairn__bench_parse_device("gemm", NULL, &env))
		return 2;
	return 0;
}

/* splitmix64: the bench's inputs need only be random-looking. */
static uint64_t gemm_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Fills x with uniform floats in [-1, 1), 24 random bits each. */
static void gemm_fill(float *x, size_t n, uint64_t seed)
{
	for (size_t i = 0; i < n; i++)
		x[i] =
		    (float)(int32_t)(gemm_rand(&seed) >> 40) * 0x1p-23f - 1.0f;
}

/* Runs the exact GEMM on be once and waits for it. */
static int gemm_exact_once(cairn_backend *be, const struct gemm_args *g,
                           int64_t n, const float *a, const float *b, float *c)
{
	int rc = cairn_gemm(be, g->ta ? CAIRN_TRANS : CAIRN_NOTRANS,
	                    g->tb ? CAIRN_TRANS : CAIRN_NOTRANS, n, n, n, a, n,
	                    b, n, c, n, 0);
	return rc ? rc : cairn_backend_sync(be);
}

/* Times the exact GEMM: warm-up, then reps runs (auto: about
 * GEMM_TARGET_SECONDS); *reps gets the count, *median the time. */
static int gemm_time_exact(cairn_backend *be, const struct gemm_args *g,
                           int64_t n, const float *a, const float *b, float *c,
                           int *reps, double *median)
{
	double *t = NULL, t0, tw;
	int rc;

	if ((rc = gemm_exact_once(be, g, n, a, b, c)))
		return rc;
	t0 = cairn__bench_now();
	if ((rc = gemm_exact_once(be, g, n, a, b, c)))
		return rc;
	tw = cairn__bench_now() - t0;
	if (*reps <= 0) {
		double r = ceil(GEMM_TARGET_SECONDS / (tw > 1e-9 ? tw : 1e-9));
		*reps = r < GEMM_MIN_REPS ? GEMM_MIN_REPS
		        : r > 100000      ? 100000
		                          : (int)r;
	}
	t = malloc((size_t)*reps * sizeof *t);
	if (!t)
		return CAIRN_ENOMEM;
	for (int r = 0; r < *reps && !rc; r++) {
		t0 = cairn__bench_now();
		rc = gemm_exact_once(be, g, n, a, b, c);
		t[r] = cairn__bench_now() - t0;
	}
	if (!rc)
		*median = cairn__bench_median(t, *reps);
	free(t);
	return rc;
}

/* Times OpenBLAS's cblas_sgemm on the host arrays, threads threads, the
 * same reps as the exact side (one warm-up run first). */
static int gemm_time_blas(const struct cairn_blas *bl,
                          const struct gemm_args *g, int threads, int64_t n,
                          const float *a, const float *b, float *c, int reps,
                          double *median)
{
	int ta = g->ta ? CAIRN_CBLAS_TRANS : CAIRN_CBLAS_NO_TRANS;
	int tb = g->tb ? CAIRN_CBLAS_TRANS : CAIRN_CBLAS_NO_TRANS;
	int ni = (int)n;
	double *t = malloc((size_t)reps * sizeof *t);

	if (!t)
		return CAIRN_ENOMEM;
	if (bl->set_threads)
		bl->set_threads(threads);
	bl->sgemm(CAIRN_CBLAS_ROW_MAJOR, ta, tb, ni, ni, ni, 1.0f, a, ni, b, ni,
	          0.0f, c, ni);
	for (int r = 0; r < reps; r++) {
		double t0 = cairn__bench_now();
		bl->sgemm(CAIRN_CBLAS_ROW_MAJOR, ta, tb, ni, ni, ni, 1.0f, a,
		          ni, b, ni, 0.0f, c, ni);
		t[r] = cairn__bench_now() - t0;
	}
	*median = cairn__bench_median(t, reps);
	free(t);
	return 0;
}

/* Full check: the same GEMM on the ref backend; counts differing
 * elements into res.  The ref backend and its buffers are freed here. */
static int gemm_check_full(const struct gemm_args *g, int64_t n, const float *a,
                           const float *b, const float *c,
                           struct cairn_bench_gemm_result *res)
{
	size_t bytes = (size_t)n * (size_t)n * sizeof(float);
	cairn_backend *ref = NULL;
	void *ra = NULL, *rb = NULL, *rc_ = NULL;
	float *host = NULL;
	int rc;

	rc = cairn_backend_open(CAIRN_BACKEND_REF, NULL, &ref);
	if (rc)
		goto out;
	host = malloc(bytes);
	if (!host) {
		rc = CAIRN_ENOMEM;
		goto out;
	}
	if ((rc = cairn_buf_alloc(ref, bytes, &ra)) ||
	    (rc = cairn_buf_alloc(ref, bytes, &rb)) ||
	    (rc = cairn_buf_alloc(ref, bytes, &rc_)) ||
	    (rc = cairn_buf_write(ref, ra, a, bytes)) ||
	    (rc = cairn_buf_write(ref, rb, b, bytes)) ||
	    (rc = gemm_exact_once(ref, g, n, ra, rb, rc_)) ||
	    (rc = cairn_buf_read(ref, host, rc_, bytes)))
		goto out;
	res->mismatches = 0;
	for (size_t i = 0; i < (size_t)n * (size_t)n; i++)
		if (memcmp(&host[i], &c[i], sizeof *c))
			res->mismatches++;
	res->bit_exact = res->mismatches == 0;
	snprintf(res->check_how, sizeof res->check_how,
	         "all %lld elements vs the ref backend",
	         (long long)n * (long long)n);
out:
	if (ref) {
		cairn_buf_free(ref, ra);
		cairn_buf_free(ref, rb);
		cairn_buf_free(ref, rc_);
		cairn_backend_close(ref);
	}
	free(host);
	return rc;
}

/* Sampled check: GEMM_SAMPLED_ROWS random rows recomputed with the
 * profile's scalar loop (fmaf, k ascending, NaN canonical). */
static void gemm_check_rows(const struct gemm_args *g, int64_t n,
                            const float *a, const float *b, const float *c,
                            uint64_t seed, struct cairn_bench_gemm_result *res)
{
	/* the reference loop under the profile's FP control (fpenv.h) */
	unsigned csr = cairn__fp_enter();

	res->mismatches = 0;
	for (int s = 0; s < GEMM_SAMPLED_ROWS; s++) {
		int64_t i = (int64_t)(gemm_rand(&seed) % (uint64_t)n);
		for (int64_t j = 0; j < n; j++) {
			float acc = 0.0f;
			for (int64_t p = 0; p < n; p++) {
				float x = g->ta ? a[p * n + i] : a[i * n + p];
				float y = g->tb ? b[j * n + p] : b[p * n + j];
				acc = fmaf(x, y, acc);
			}
			acc = cairn_canon(acc);
			if (memcmp(&acc, &c[i * n + j], sizeof acc))
				res->mismatches++;
		}
	}
	cairn__fp_leave(csr);
	res->bit_exact = res->mismatches == 0;
	snprintf(res->check_how, sizeof res->check_how,
	         "%d sampled rows vs a scalar fmaf loop", GEMM_SAMPLED_ROWS);
}

/* Whether a CPU run of size n fits in this machine's memory: three host
 * matrices and three backend copies (the full check adds three more, but
 * only up to n = 1024).  0, or CAIRN_ENOMEM with a message. */
static int gemm_check_memory(int64_t n)
{
	long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
	double need = 6.0 * (double)n * (double)n * sizeof(float);
	double have = (double)pages * (double)psize;

	if (pages <= 0 || psize <= 0 || need <= 0.8 * have)
		return 0;
	cairn_eprint(
	    "cairn bench gemm: --size %lld needs %.1f GiB; this machine has "
	    "%.1f GiB of memory; choose a smaller --size\n",
	    (long long)n, need / 1073741824.0, have / 1073741824.0);
	return CAIRN_ENOMEM;
}

/* The CPU side: cairn on be, OpenBLAS beside it, then the bit check.
 * Host arrays are allocated and freed here. */
static int gemm_bench_cpu(cairn_backend *be, const struct gemm_args *g,
                          const struct cairn_bench_gemm_cfg *cfg,
                          struct cairn_bench_gemm_result *res)
{
	int64_t n = cfg->size;
	size_t elems = (size_t)n * (size_t)n, bytes = elems * sizeof(float);
	float *a = NULL, *b = NULL, *c = NULL;
	void *da = NULL, *db = NULL, *dc = NULL; /* backend memory */
	struct cairn_blas bl;
	double flops = 2.0 * (double)n * (double)n * (double)n;
	int rc;

	memset(&bl, 0, sizeof bl);
	a = malloc(bytes);
	b = malloc(bytes);
	c = malloc(bytes);
	if (!a || !b || !c) {
		rc = CAIRN_ENOMEM;
		goto out;
	}
	gemm_fill(a, elems, cfg->seed);
	gemm_fill(b, elems, cfg->seed + 1);
	if ((rc = cairn_buf_alloc(be, bytes, &da)) ||
	    (rc = cairn_buf_alloc(be, bytes, &db)) ||
	    (rc = cairn_buf_alloc(be, bytes, &dc)) ||
	    (rc = cairn_buf_write(be, da, a, bytes)) ||
	    (rc = cairn_buf_write(be, db, b, bytes)))
		goto out;

	res->reps = cfg->reps;
	rc = gemm_time_exact(be, g, n, da, db, dc, &res->reps,
	                     &res->exact_seconds);
	if (rc)
		goto out;
	res->exact_gflops = flops / res->exact_seconds / 1e9;
	if ((rc = cairn_buf_read(be, c, dc, bytes)))
		goto out;

	if (cairn_blas_open(&bl, res->reference, sizeof res->reference) == 0) {
		float *cr = malloc(bytes);
		if (!cr) {
			rc = CAIRN_ENOMEM;
			goto out;
		}
		rc = gemm_time_blas(&bl, g, res->threads, n, a, b, cr,
		                    res->reps, &res->reference_seconds);
		free(cr);
		if (rc)
			goto out;
		res->have_reference = 1;
		snprintf(res->reference, sizeof res->reference, "%s", bl.name);
		res->reference_gflops = flops / res->reference_seconds / 1e9;
	}

	if (cfg->check && n <= GEMM_FULL_CHECK_MAX)
		rc = gemm_check_full(g, n, a, b, c, res);
	else if (cfg->check)
		gemm_check_rows(g, n, a, b, c, cfg->seed + 2, res);
out:
	cairn_blas_close(&bl);
	cairn_buf_free(be, da);
	cairn_buf_free(be, db);
	cairn_buf_free(be, dc);
	free(a);
	free(b);
	free(c);
	return rc;
}

/* Writes s as a JSON string (quotes included). */
static void gemm_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

/* The result: one JSON object, or a small table. */
static void gemm_print(const struct gemm_args *g, const char *device,
                       const struct cairn_bench_gemm_cfg *cfg,
                       const struct cairn_bench_gemm_result *res)
{
	double ratio = res->have_reference && res->reference_gflops > 0
	                   ? res->exact_gflops / res->reference_gflops
	                   : 0.0;
	const char *check = res->bit_exact == 1   ? "match"
	                    : res->bit_exact == 0 ? "MISMATCH"
	                                          : "not checked";

	if (g->json) {
		printf("{\"suite\":\"gemm\",\"profile\":\"%s\",\"device\":",
		       CAIRN_PROFILE_EXACT);
		gemm_json_str(stdout, device);
		printf(",\"device_desc\":");
		gemm_json_str(stdout, res->device);
		printf(",\"size\":%lld,\"threads\":%d,\"layout\":\"%s\","
		       "\"reps\":%d,\"exact_seconds\":%.6g,"
		       "\"exact_gflops\":%.2f",
		       (long long)cfg->size, res->threads, cfg->layout,
		       res->reps, res->exact_seconds, res->exact_gflops);
		if (res->have_reference) {
			printf(",\"reference\":");
			gemm_json_str(stdout, res->reference);
			printf(",\"reference_seconds\":%.6g,"
			       "\"reference_gflops\":%.2f,\"ratio\":%.4f",
			       res->reference_seconds, res->reference_gflops,
			       ratio);
		} else {
			printf(",\"reference\":null,\"reference_why\":");
			gemm_json_str(stdout, res->reference);
			printf(",\"ratio\":null");
		}
		printf(",\"bit_exact\":%s,\"mismatches\":%lld,\"check\":",
		       res->bit_exact == 1   ? "true"
		       : res->bit_exact == 0 ? "false"
		                             : "null",
		       (long long)res->mismatches);
		gemm_json_str(stdout, res->check_how);
		if (res->have_bf16) {
			printf(",\"vendor_bf16\":");
			gemm_json_str(stdout, res->bf16);
			printf(",\"vendor_bf16_reps\":%d,"
			       "\"vendor_bf16_seconds\":%.6g,"
			       "\"vendor_bf16_tflops\":%.2f",
			       res->bf16_reps, res->bf16_seconds,
			       res->bf16_tflops);
		} else if (res->bf16[0]) { /* the gpu, without it */
			printf(",\"vendor_bf16\":null,\"vendor_bf16_why\":");
			gemm_json_str(stdout, res->bf16);
		}
		printf("}\n");
		return;
	}
	printf("cairn bench gemm: %s SGEMM, %lld x %lld x %lld, layout %s\n",
	       CAIRN_PROFILE_EXACT, (long long)cfg->size, (long long)cfg->size,
	       (long long)cfg->size, cfg->layout);
	printf("  %-10s %s (%s)\n", "device", device, res->device);
	printf("  %-10s %d\n", "threads", res->threads);
	printf("  %-10s %d, median reported\n", "reps", res->reps);
	printf("  %-10s %8.1f GFLOP/s  (%.4f s)\n", "exact", res->exact_gflops,
	       res->exact_seconds);
	if (res->have_reference) {
		printf("  %-10s %8.1f GFLOP/s  (%.4f s)  %s\n", "reference",
		       res->reference_gflops, res->reference_seconds,
		       res->reference);
		printf("  %-10s %8.3f  (exact / reference)\n", "ratio", ratio);
	} else {
		printf("  %-10s none: %s\n", "reference", res->reference);
	}
	printf("  %-10s %s", "bit check", check);
	if (res->bit_exact >= 0)
		printf(" (%s%s)", res->check_how,
		       res->bit_exact == 0 ? ", elements differ" : "");
	printf("\n");
	if (res->have_bf16) {
		printf("  %-10s %8.1f TFLOP/s  (%.6f s, %d reps)  %s\n",
		       "bf16 gemm", res->bf16_tflops, res->bf16_seconds,
		       res->bf16_reps, res->bf16);
		printf("  %-10s %8.1f x  (bf16 gemm / exact: what the chip "
		       "does without the exact profile)\n",
		       "headroom", res->bf16_tflops * 1e3 / res->exact_gflops);
	} else if (res->bf16[0]) {
		printf("  %-10s none: %s\n", "bf16 gemm", res->bf16);
	}
}

/* `cairn bench gemm`. */
static int gemm_cmd(int argc, char **argv)
{
	struct gemm_args g;
	struct cairn_bench_gemm_cfg cfg;
	struct cairn_bench_gemm_result res;
	cairn_backend_opts opts;
	cairn_backend *be = NULL;
	const char *device = "cpu";
	int rc, gpu = 0;

	rc = gemm_parse(argc, argv, &g);
	if (rc)
		return rc == 1 ? 0 : 2;
	memset(&opts, 0, sizeof opts);
	opts.threads = g.threads;
	if (g.device && !strcmp(g.device, "gpu")) {
		gpu = 1;
	} else {
		rc = cairn_backend_open_auto(g.device, &opts, &be);
		if (rc) {
			cairn_eprint(
			    "cairn bench gemm: cannot open the %s "
			    "device: %s%s\n",
			    cairn__bench_device_name(g.device),
			    cairn_strerror(rc),
			    rc == CAIRN_EINVAL
			        ? "; check --device, CAIRN_DEVICE "
			          "(auto, cpu or gpu) and CAIRN_CPU_ISA "
			          "(auto, avx512, avx2 or portable)"
			        : "");
			return rc == CAIRN_EINVAL ? 2 : 1;
		}
		if (cairn_backend_get_kind(be) == CAIRN_BACKEND_REF) {
			cairn_eprint(
			    "cairn bench gemm: CAIRN_DEVICE=ref is the "
			    "scalar oracle, far too slow to benchmark; use "
			    "cpu or gpu\n");
			cairn_backend_close(be);
			return 2;
		}
		if (cairn_backend_get_kind(be) == CAIRN_BACKEND_CUDA) {
			cairn_backend_close(be);
			be = NULL;
			gpu = 1;
		} else {
			device = cairn_backend_name(be);
		}
	}

	memset(&cfg, 0, sizeof cfg);
	memset(&res, 0, sizeof res);
	cfg.size = g.size ? g.size : gpu ? 8192 : 2048;
	cfg.ta = g.ta;
	cfg.tb = g.tb;
	cfg.layout = g.layout;
	cfg.reps = g.reps;
	cfg.warmup = 1;
	cfg.threads = g.threads;
	cfg.seed = 0x63616972ull; /* "cair" */
	cfg.check = 1;
	res.bit_exact = -1;
	if (!gpu && gemm_check_memory(cfg.size)) {
		cairn_backend_close(be);
		return 2;
	}

	if (gpu) {
		device = "gpu";
		rc = cairn__bench_gemm_cuda(&cfg, &res);
		if (rc == CAIRN_ENOTSUP) {
			cairn_eprint("cairn bench gemm: --device gpu: this "
			             "cairn was built without CUDA; rebuild "
			             "with -DCAIRN_CUDA=ON, or use --device "
			             "cpu\n");
			return 1;
		}
		if (rc == CAIRN_ENODEV) {
			char why[256] = "";
			cairn_cuda_probe(why, sizeof why);
			cairn_eprint("cairn bench gemm: --device gpu: no "
			             "usable GPU (%s); use --device cpu\n",
			             why[0] ? why : cairn_strerror(rc));
			return 1;
		}
	} else {
		res.threads = cairn_backend_threads(be);
		cfg.threads = res.threads;
		snprintf(res.device, sizeof res.device, "%s",
		         cairn_backend_describe(be));
		rc = gemm_bench_cpu(be, &g, &cfg, &res);
		cairn_backend_close(be);
	}
	if (rc) {
		cairn_eprint(
		    "cairn bench gemm: %s, size %lld, layout %s: "
		    "%s%s\n",
		    device, (long long)cfg.size, cfg.layout, cairn_strerror(rc),
		    rc == CAIRN_ENOMEM ? " (try a smaller --size)" : "");
		return 1;
	}
	gemm_print(&g, device, &cfg, &res);
	if (res.bit_exact == 0) {
		cairn_eprint("cairn bench gemm: the exact SGEMM differs "
		             "from the reference in %lld elements (%s): "
		             "this is a bug in cairn, please report it\n",
		             (long long)res.mismatches, res.check_how);
		return 1;
	}
	return 0;
}

/* `cairn bench SUITE ...`: argv[0] is "bench". */
int cairn_cmd_bench(int argc, char **argv)
{
	if (argc >= 2 &&
	    (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		bench_usage(stdout);
		return 0;
	}
	/* no suite: every suite, one report */
	if (argc < 2 || argv[1][0] == '-')
		return cairn__bench_all_cmd(argc, argv);
	if (!strcmp(argv[1], "gemm"))
		return gemm_cmd(argc - 1, argv + 1);
	if (!strcmp(argv[1], "train"))
		return cairn__bench_train_cmd(argc - 1, argv + 1);
	if (!strcmp(argv[1], "audit"))
		return cairn__bench_audit_cmd(argc - 1, argv + 1);
	if (!strcmp(argv[1], "stream"))
		return cairn__bench_stream_cmd(argc - 1, argv + 1);
	if (!strcmp(argv[1], "pcie"))
		return cairn__bench_pcie_cmd(argc - 1, argv + 1);
	if (!strcmp(argv[1], "hash"))
		return cairn__bench_hash_cmd(argc - 1, argv + 1);
	if (!strcmp(argv[1], "verify"))
		return cairn__bench_verify_cmd(argc - 1, argv + 1);
	cairn_eprint(
	    "cairn bench: unknown suite '%s' (available: gemm, stream, "
	    "pcie, hash, train, audit, verify); "
	    "see 'cairn bench --help'\n",
	    argv[1]);
	return 2;
}
