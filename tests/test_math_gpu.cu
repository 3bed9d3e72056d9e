/* cairn: the deterministic math of kernels/cairn_math.h and kernels/philox.h
 * gives the same bits on the GPU as on the CPU (DESIGN.md 2.4, 2.5).
 *
 * One source, two compilations: the kernels below are compiled by nvcc for
 * the device (--fmad=false), and the host side of this same file by the
 * host compiler (g++ with -ffp-contract=off, through -Xcompiler).  Both call
 * the same header functions on the same arguments, and the results are
 * compared with memcmp, bit for bit; the first mismatch of each function is
 * printed (argument bits, CPU bits, GPU bits).
 *
 * Arguments, each through all five of cairn_expf, cairn_logf, cairn_tanhf,
 * cairn_sinpif and cairn_cospif:
 *   - every STRIDE-th bit pattern of the 2^32 (STRIDE 13 by default: 330M
 *     arguments, every binade of both signs, NaNs included; about 30 s of
 *     one host core at -O2);
 *   - the special values: +-0, +-inf, quiet and signalling NaNs of both
 *     signs, the subnormal boundaries, FLT_MAX, the overflow and underflow
 *     thresholds of exp;
 *   - runs of consecutive floats (both signs) around the switch points
 *     documented in cairn_math.h: exp's clamps, its over/underflow
 *     thresholds and every n ln2 +- ln2/2 edge of its reduction; log's
 *     sqrt(1/2) 2^k reduction edges, 1 and the subnormal boundary; tanh's
 *     polynomial/exp switch, its exp-reduction edges, where it rounds to 1
 *     and its clamp; sinpi/cospi's quarter points, 2^22, 2^23, 2^24 and
 *     the subnormal results.
 * Philox: cairn_philox_block words, cairn_rng_normal (all four lanes) and
 * cairn_rng_uniform for 2 x 2^21 blocks (16.8M draws of each kind), with
 * keys, streams and block numbers that use their high 32 bits and cross
 * 2^32.
 *
 * NaN: results are compared after cairn_canon, as every op's output is in
 * the profile.  The raw NaN bits are allowed to differ (x86 keeps the sign
 * and payload of a NaN operand, CUDA gives 0x7fffffff), so e.g. x + x of a
 * NaN is not bit-equal across the two; the profile never stores such bits.
 * Every non-NaN result is compared raw.
 *
 * Exits 77 (skipped) without a usable CUDA device.  Environment:
 *   CAIRN_TEST_STRIDE=n      sweep every n-th bit pattern (1: all 2^32; the
 *                            host side then takes some 7 minutes)
 *   CAIRN_TEST_HOST_ONLY=1   no GPU: compare the host against a second host
 *                            evaluation; this exercises the harness (input
 *                            sets, chunking, comparison) and times the host
 *                            side, it proves nothing about the GPU. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <math.h>

#include <vector>

#include <cuda_runtime.h>

extern "C" {
#include <cmocka.h>
}

#include "cairn_math.h"
#include "philox.h"

enum { FN_EXP, FN_LOG, FN_TANH, FN_SINPI, FN_COSPI, FN_COUNT };

static const char *const fn_names[FN_COUNT] = {
    "cairn_expf", "cairn_logf", "cairn_tanhf", "cairn_sinpif", "cairn_cospif"};

#define DEFAULT_STRIDE 13u
#define CHUNK (1u << 22) /* arguments per launch */

static int g_host_only;

/* A failed CUDA call fails the current test, naming the call. */
#define CK(call)                                                               \
	do {                                                                   \
		cudaError_t e_ = (call);                                       \
		if (e_ != cudaSuccess)                                         \
			fail_msg("%s:%d: %s: %s (%s)", __FILE__, __LINE__,     \
			         #call, cudaGetErrorName(e_),                  \
			         cudaGetErrorString(e_));                      \
	} while (0)

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint32_t f2u(float f)
{
	uint32_t u;
	memcpy(&u, &f, sizeof u);
	return u;
}

/* ---- the code under test, one source for both sides ---------------------- */

/* All five functions of one argument, canonicalised (see the NaN note). */
__host__ __device__ static void eval_math(uint32_t u, uint32_t out[FN_COUNT])
{
	float x = cairn_u2f(u);
	out[FN_EXP] = cairn_f2u(cairn_canon(cairn_expf(x)));
	out[FN_LOG] = cairn_f2u(cairn_canon(cairn_logf(x)));
	out[FN_TANH] = cairn_f2u(cairn_canon(cairn_tanhf(x)));
	out[FN_SINPI] = cairn_f2u(cairn_canon(cairn_sinpif(x)));
	out[FN_COSPI] = cairn_f2u(cairn_canon(cairn_cospif(x)));
}

__global__ void k_math(const uint32_t *in, uint32_t n, uint32_t *out)
{
	uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
	if (i < n)
		eval_math(in[i], out + (size_t)i * FN_COUNT);
}

struct rng_cfg {
	uint64_t key, stream, block0;
	float mean, std, lo, hi;
};

/* Per block, 12 words: the 4 Philox words, the 4 normal lanes, the 4
 * uniforms (one per word). */
#define RNG_WORDS 12

__host__ __device__ static void eval_rng(const rng_cfg &c, uint64_t i,
                                         uint32_t out[RNG_WORDS])
{
	uint32_t w[4];
	cairn_philox_block(c.key, c.stream, c.block0 + i, w);
	for (int l = 0; l < 4; l++) {
		out[l] = w[l];
		out[4 + l] = cairn_f2u(cairn_rng_normal(w, l, c.mean, c.std));
		out[8 + l] = cairn_f2u(cairn_rng_uniform(w[l], c.lo, c.hi));
	}
}

__global__ void k_rng(rng_cfg c, uint32_t n, uint32_t *out)
{
	uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
	if (i < n)
		eval_rng(c, i, out + (size_t)i * RNG_WORDS);
}

/* ---- the arguments ------------------------------------------------------- */

/* The 2 half + 1 consecutive floats centred on |x|, each with both signs. */
static void around(std::vector<uint32_t> &v, float x, uint32_t half)
{
	uint32_t mag = f2u(x) & 0x7fffffffu;
	uint32_t lo = mag > half ? mag - half : 0;
	uint32_t hi = mag + half > 0x7fffffffu ? 0x7fffffffu : mag + half;

	for (uint32_t m = lo; m <= hi; m++) {
		v.push_back(m);
		v.push_back(m | 0x80000000u);
	}
}

/* Everything but the strided sweep. */
static std::vector<uint32_t> extra_args(void)
{
	static const uint32_t special[] = {
	    0x00000000u, 0x80000000u, /* +-0 */
	    0x7f800000u, 0xff800000u, /* +-inf */
	    0x7fc00000u, 0xffc00000u, /* quiet NaNs */
	    0x7fffffffu, 0xffffffffu, /* all-ones payloads */
	    0x7fc00001u, 0xffe12345u, /* quiet, with payload */
	    0x7f800001u, 0xff800001u, /* signalling NaNs */
	    0x7fa00000u, 0xffbfffffu, /* signalling, payload */
	    0x00000001u, 0x80000001u, /* smallest subnormal */
	    0x007fffffu, 0x807fffffu, /* largest subnormal */
	    0x00800000u, 0x80800000u, /* smallest normal */
	    0x7f7fffffu, 0xff7fffffu, /* FLT_MAX */
	    0x3f800000u, 0xbf800000u, /* +-1 */
	    0x42b17217u, 0x42b17218u, /* exp: last finite, inf */
	    0xc2cff1b4u, 0xc2cff1b5u, /* exp: last 2^-149, +0 */
	    0x42b20000u, 0xc2d00000u, /* exp: clamps 89, -104 */
	};
	std::vector<uint32_t> v(special, special + sizeof special / 4);
	const double ln2 = 0.69314718055994530942;

	/* exp */
	around(v, 89.0f, 4096);
	around(v, 104.0f, 4096);
	around(v, cairn_u2f(0x42b17217u), 1 << 15); /* overflow */
	around(v, cairn_u2f(0x42cff1b4u), 1 << 15); /* underflow to 0 */
	around(v, 87.3365479f, 1 << 14);            /* e^x = 2^-126 */
	around(v, 0.0f, 1 << 14);                   /* subnormal arguments */
	around(v, 0x1p-24f, 4096);
	around(v, 0x1p-26f, 4096);
	for (int n = -150; n <= 128; n++) /* reduction edges */
		around(v, (float)((n + 0.5) * ln2), 512);
	for (int n = -150; n <= 128; n++) /* x = n ln2 */
		around(v, (float)(n * ln2), 64);
	/* log */
	around(v, 1.0f, 1 << 16);
	around(v, 0x1p-126f, 1 << 15); /* subnormal to normal */
	around(v, 0x1p-149f, 4096);
	around(v, 0x1.fffffep127f, 4096);
	for (int k = -149; k <= 127; k++) /* sqrt(1/2) 2^k edges */
		around(v, ldexpf(0x1.6a09e6p-1f, k), 512);
	/* tanh */
	around(v, 0.55f, 1 << 15);   /* polynomial / exp switch */
	around(v, 9.0109f, 1 << 14); /* rounds to 1 from here */
	around(v, 9.1f, 4096);       /* clamp */
	around(v, 0x1p-12f, 4096);
	for (int n = 0; n <= 27; n++) /* exp's n changes at 2a */
		around(v, (float)((n + 0.5) * ln2 * 0.5), 1024);
	/* sinpi, cospi */
	for (int k = 0; k <= 64; k++) /* quarter points: quadrants, 0, +-1 */
		around(v, (float)k * 0.25f, 2048);
	for (int k = 5; k <= 22; k++) /* quarter points of larger binades */
		around(v, ldexpf(1.0f, k) + 0.25f, 512);
	around(v, 0x1p22f, 1 << 14);
	around(v, 0x1p23f, 1 << 14);
	around(v, 0x1p24f, 4096);
	around(v, 0x1p-127f, 4096); /* sinpi subnormal, r 2^64 scaling */
	around(v, 0x1p-130f, 4096);
	return v;
}

/* The idx-th argument: the sweep first, then the extras. */
static inline uint32_t arg_at(uint64_t idx, uint64_t n_sweep, uint32_t stride,
                              const std::vector<uint32_t> &extra)
{
	return idx < n_sweep ? (uint32_t)(idx * stride)
	                     : extra[(size_t)(idx - n_sweep)];
}

static uint32_t env_stride(void)
{
	const char *e = getenv("CAIRN_TEST_STRIDE");
	unsigned long s = e && *e ? strtoul(e, NULL, 0) : DEFAULT_STRIDE;
	return s >= 1 && s <= 0xffffffffu ? (uint32_t)s : DEFAULT_STRIDE;
}

/* ---- tests ----------------------------------------------------------------
 */

struct mismatch {
	uint64_t count;
	uint32_t x, cpu, gpu;
};

static void test_math_bits(void **state)
{
	(void)state;
	const uint32_t stride = env_stride();
	const uint64_t n_sweep = 0xffffffffull / stride + 1;
	const std::vector<uint32_t> extra = extra_args();
	const uint64_t total = n_sweep + extra.size();
	std::vector<uint32_t> in(CHUNK), cpu((size_t)CHUNK * FN_COUNT),
	    gpu((size_t)CHUNK * FN_COUNT);
	mismatch mm[FN_COUNT] = {};
	uint32_t *d_in = NULL, *d_out = NULL;
	double host_s = 0.0, t0 = now_s();

	printf("math: %llu arguments (the bit patterns 0, %u, 2*%u, ...: %llu; "
	       "special values and runs: %zu), %d functions each\n",
	       (unsigned long long)total, stride, stride,
	       (unsigned long long)n_sweep, extra.size(), FN_COUNT);
	fflush(stdout);
	if (!g_host_only) {
		CK(cudaMalloc((void **)&d_in,
		              (size_t)CHUNK * sizeof(uint32_t)));
		CK(cudaMalloc((void **)&d_out,
		              (size_t)CHUNK * FN_COUNT * sizeof(uint32_t)));
	}
	for (uint64_t base = 0; base < total; base += CHUNK) {
		uint32_t n =
		    (uint32_t)(total - base < CHUNK ? total - base : CHUNK);
		for (uint32_t i = 0; i < n; i++)
			in[i] = arg_at(base + i, n_sweep, stride, extra);
		if (!g_host_only) {
			CK(cudaMemcpy(d_in, in.data(), n * sizeof(uint32_t),
			              cudaMemcpyHostToDevice));
			k_math<<<(n + 255) / 256, 256>>>(d_in, n, d_out);
			CK(cudaGetLastError());
		}
		/* the host side runs while the kernel does */
		double h0 = now_s();
		for (uint32_t i = 0; i < n; i++)
			eval_math(in[i], &cpu[(size_t)i * FN_COUNT]);
		host_s += now_s() - h0;
		if (!g_host_only) {
			CK(cudaMemcpy(gpu.data(), d_out,
			              (size_t)n * FN_COUNT * sizeof(uint32_t),
			              cudaMemcpyDeviceToHost));
		} else {
			for (uint32_t i = 0; i < n; i++)
				eval_math(in[i], &gpu[(size_t)i * FN_COUNT]);
		}
		if (memcmp(cpu.data(), gpu.data(),
		           (size_t)n * FN_COUNT * sizeof(uint32_t)) == 0)
			continue;
		for (uint32_t i = 0; i < n; i++)
			for (int f = 0; f < FN_COUNT; f++) {
				size_t j = (size_t)i * FN_COUNT + f;
				if (cpu[j] == gpu[j])
					continue;
				if (mm[f].count++ == 0) {
					mm[f].x = in[i];
					mm[f].cpu = cpu[j];
					mm[f].gpu = gpu[j];
				}
			}
	}
	if (!g_host_only) {
		CK(cudaFree(d_in));
		CK(cudaFree(d_out));
	}

	uint64_t bad = 0;
	for (int f = 0; f < FN_COUNT; f++) {
		if (mm[f].count == 0) {
			printf("%-12s: %llu arguments, all bits equal\n",
			       fn_names[f], (unsigned long long)total);
			continue;
		}
		printf("%-12s: %llu of %llu results differ; first: x = "
		       "0x%08x (%a), cpu 0x%08x (%a), gpu 0x%08x (%a)\n",
		       fn_names[f], (unsigned long long)mm[f].count,
		       (unsigned long long)total, mm[f].x,
		       (double)cairn_u2f(mm[f].x), mm[f].cpu,
		       (double)cairn_u2f(mm[f].cpu), mm[f].gpu,
		       (double)cairn_u2f(mm[f].gpu));
		bad += mm[f].count;
	}
	printf("math: host side %.1f s for %llu evaluations (%.1f ns each, one "
	       "core); %.1f s in all\n",
	       host_s, (unsigned long long)(total * FN_COUNT),
	       1e9 * host_s / (double)(total * FN_COUNT), now_s() - t0);
	fflush(stdout);
	assert_int_equal(bad, 0);
}

static void test_rng_bits(void **state)
{
	(void)state;
	static const char *const part[3] = {
	    "cairn_philox_block", "cairn_rng_normal", "cairn_rng_uniform"};
	/* High words of key, stream and block used; the second run of
	 * blocks crosses 2^32 (the counter's word 1). */
	const rng_cfg cfgs[2] = {
	    {0x0123456789abcdefull, 5, 0, 0.0f, 1.0f, 0.0f, 1.0f},
	    {0xfedcba9876543210ull, 0x100000007ull, 0xfff00000ull, 0.5f, 2.0f,
	     -0.25f, 3.0f},
	};
	const uint32_t n = 1u << 21; /* blocks per configuration */
	std::vector<uint32_t> cpu((size_t)n * RNG_WORDS),
	    gpu((size_t)n * RNG_WORDS);
	uint32_t *d_out = NULL;
	uint64_t bad = 0;

	if (!g_host_only)
		CK(cudaMalloc((void **)&d_out,
		              (size_t)n * RNG_WORDS * sizeof(uint32_t)));
	for (int c = 0; c < 2; c++) {
		mismatch mm[3] = {};
		uint64_t idx[3] = {0, 0, 0};
		if (!g_host_only) {
			k_rng<<<(n + 255) / 256, 256>>>(cfgs[c], n, d_out);
			CK(cudaGetLastError());
		}
		for (uint32_t i = 0; i < n; i++)
			eval_rng(cfgs[c], i, &cpu[(size_t)i * RNG_WORDS]);
		if (!g_host_only) {
			CK(cudaMemcpy(gpu.data(), d_out,
			              (size_t)n * RNG_WORDS * sizeof(uint32_t),
			              cudaMemcpyDeviceToHost));
		} else {
			for (uint32_t i = 0; i < n; i++)
				eval_rng(cfgs[c], i,
				         &gpu[(size_t)i * RNG_WORDS]);
		}
		if (memcmp(cpu.data(), gpu.data(),
		           (size_t)n * RNG_WORDS * sizeof(uint32_t)) != 0) {
			for (size_t j = 0; j < (size_t)n * RNG_WORDS; j++) {
				int p = (int)(j % RNG_WORDS) / 4;
				if (cpu[j] == gpu[j])
					continue;
				if (mm[p].count++ == 0) {
					mm[p].x = (uint32_t)(j % RNG_WORDS % 4);
					idx[p] = j / RNG_WORDS;
					mm[p].cpu = cpu[j];
					mm[p].gpu = gpu[j];
				}
			}
		}
		for (int p = 0; p < 3; p++) {
			if (mm[p].count == 0) {
				printf("%-18s: key 0x%016llx stream 0x%llx, "
				       "%u blocks from 0x%llx: %u results, "
				       "all bits equal\n",
				       part[p], (unsigned long long)cfgs[c].key,
				       (unsigned long long)cfgs[c].stream, n,
				       (unsigned long long)cfgs[c].block0,
				       4 * n);
				continue;
			}
			printf("%-18s: key 0x%016llx stream 0x%llx: %llu of "
			       "%u results differ; first: block 0x%llx word "
			       "%u, cpu 0x%08x, gpu 0x%08x\n",
			       part[p], (unsigned long long)cfgs[c].key,
			       (unsigned long long)cfgs[c].stream,
			       (unsigned long long)mm[p].count, 4 * n,
			       (unsigned long long)(cfgs[c].block0 + idx[p]),
			       mm[p].x, mm[p].cpu, mm[p].gpu);
			bad += mm[p].count;
		}
	}
	fflush(stdout);
	if (!g_host_only)
		CK(cudaFree(d_out));
	assert_int_equal(bad, 0);
}

/* ---- main ------------------------------------------------------------------
 */

int main(void)
{
	const char *e = getenv("CAIRN_TEST_HOST_ONLY");
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_math_bits),
	    cmocka_unit_test(test_rng_bits),
	};

	g_host_only = e && *e && strcmp(e, "0") != 0;
	if (g_host_only) {
		printf("test_math_gpu: HOST ONLY (CAIRN_TEST_HOST_ONLY): the "
		       "host against itself; this checks the harness, not the "
		       "GPU\n");
	} else {
		int count = 0;
		cudaError_t err = cudaGetDeviceCount(&count);
		cudaDeviceProp prop;

		if (err != cudaSuccess || count == 0) {
			printf("SKIP: no usable CUDA device (%s)\n",
			       err != cudaSuccess ? cudaGetErrorString(err)
			                          : "no device");
			return 77;
		}
		err = cudaSetDevice(0);
		if (err == cudaSuccess)
			err = cudaFree(0); /* creates the context */
		if (err == cudaSuccess)
			err = cudaGetDeviceProperties(&prop, 0);
		if (err != cudaSuccess) {
			printf("SKIP: no usable CUDA device (device 0: %s)\n",
			       cudaGetErrorString(err));
			return 77;
		}
		printf("test_math_gpu: device 0, %s, compute capability "
		       "%d.%d\n",
		       prop.name, prop.major, prop.minor);
	}
	fflush(stdout);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
