/* cairn: the GPU side of `cairn bench stream` (cairn__bench_stream_cuda).
 *
 * Device-to-device copy bandwidth: cairn's own copy kernel (16-byte loads
 * and stores, grid-stride) beside the vendor's cudaMemcpyDeviceToDevice,
 * on the same two buffers and the same stream.  One warm-up sample of
 * each, then reps timed samples of each, a sample being BSC_BATCH copies
 * queued back to back between two CUDA events; the medians are
 * reported, per copy.  GB/s counts the bytes read plus the bytes written (2 x bytes
 * a copy), as DESIGN.md section 8 says.
 *
 * Compiled only with CUDA.  Written and compiled on a machine with no GPU:
 * it has not been run there.  Everything allocated here (buffers, events,
 * stream, timings) is freed here, on every path. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime.h>

#include "bench.h"
#include "cairn/error.h"

/* Copies a timed sample holds. */
#define BSC_BATCH 8

/* dst = src, n16 16-byte words; grid-stride, four loads in flight per
 * thread before their stores, with the streaming cache hints (each byte
 * is read once and written once: keeping it in L2 helps nothing).  The
 * first run on an H100, one load at a time with plain hints, did 2,844
 * GB/s against cudaMemcpy's 3,011. */
__global__ static void bsc_copy(int4 *__restrict__ dst,
                                const int4 *__restrict__ src, size_t n16)
{
	size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
	const size_t stride = (size_t)gridDim.x * blockDim.x;

	for (; i + 3 * stride < n16; i += 4 * stride) {
		const int4 a = __ldcs(src + i);
		const int4 b = __ldcs(src + i + stride);
		const int4 c = __ldcs(src + i + 2 * stride);
		const int4 d = __ldcs(src + i + 3 * stride);
		__stcs(dst + i, a);
		__stcs(dst + i + stride, b);
		__stcs(dst + i + 2 * stride, c);
		__stcs(dst + i + 3 * stride, d);
	}
	for (; i < n16; i += stride)
		__stcs(dst + i, __ldcs(src + i));
}

static int bsc_cmp(const void *x, const void *y)
{
	float a = *(const float *)x, b = *(const float *)y;

	return a < b ? -1 : a > b;
}

/* Median of t[0..n) in ms (sorts t). */
static float bsc_median(float *t, int n)
{
	qsort(t, (size_t)n, sizeof *t, bsc_cmp);
	return n % 2 ? t[n / 2] : 0.5f * (t[n / 2 - 1] + t[n / 2]);
}

/* Records why and returns CAIRN_EDEVICE when e is an error. */
static int bsc_check(cudaError_t e, const char *what,
                     struct cairn_bench_copy_result *res)
{
	if (e == cudaSuccess)
		return 0;
	snprintf(res->why, sizeof res->why, "%s: %s", what,
	         cudaGetErrorString(e));
	return e == cudaErrorMemoryAllocation ? CAIRN_ENOMEM : CAIRN_EDEVICE;
}

extern "C" int cairn__bench_stream_cuda(int device, size_t bytes, int reps,
                                        struct cairn_bench_copy_result *res)
{
	void *src = NULL, *dst = NULL;
	cudaEvent_t e0 = NULL, e1 = NULL;
	cudaStream_t st = NULL;
	cudaDeviceProp prop;
	float *tk = NULL, *tm = NULL;
	size_t n16 = bytes / 16;
	int count = 0, sms = 1, rc;

	if (!res || reps < 1 || n16 == 0)
		return CAIRN_EINVAL;
	bytes = n16 * 16;
	if (cudaGetDeviceCount(&count) != cudaSuccess || count <= device) {
		cudaGetLastError();
		snprintf(res->why, sizeof res->why,
		         "no usable GPU (CUDA device %d not found)", device);
		return CAIRN_ENODEV;
	}
	if ((rc = bsc_check(cudaSetDevice(device), "cudaSetDevice", res)) ||
	    (rc = bsc_check(cudaGetDeviceProperties(&prop, device),
	                    "cudaGetDeviceProperties", res)))
		goto out;
	snprintf(res->device, sizeof res->device, "%s", prop.name);
	sms = prop.multiProcessorCount > 0 ? prop.multiProcessorCount : 1;
	tk = (float *)malloc((size_t)reps * sizeof *tk);
	tm = (float *)malloc((size_t)reps * sizeof *tm);
	if (!tk || !tm) {
		rc = CAIRN_ENOMEM;
		goto out;
	}
	if ((rc = bsc_check(cudaMalloc(&src, bytes), "cudaMalloc", res)) ||
	    (rc = bsc_check(cudaMalloc(&dst, bytes), "cudaMalloc", res)) ||
	    (rc = bsc_check(cudaStreamCreate(&st), "cudaStreamCreate", res)) ||
	    (rc = bsc_check(cudaEventCreate(&e0), "cudaEventCreate", res)) ||
	    (rc = bsc_check(cudaEventCreate(&e1), "cudaEventCreate", res)) ||
	    (rc = bsc_check(cudaMemsetAsync(src, 0x5a, bytes, st),
	                    "cudaMemsetAsync", res)))
		goto out;
	/* Each sample times BSC_BATCH copies queued back to back between
	 * two events, so the stream is never idle inside it (a lone copy
	 * would add its launch latency, about 1 % of a 1 GiB copy, where
	 * PyTorch's timing queues them). */
	for (int side = 0; side < 2; side++) {
		float *t = side ? tm : tk;
		for (int r = -1; r < reps; r++) { /* r = -1: warm-up */
			float ms = 0.0f;
			if ((rc = bsc_check(cudaEventRecord(e0, st),
			                    "cudaEventRecord", res)))
				goto out;
			for (int b = 0; b < BSC_BATCH; b++) {
				if (side)
					rc = bsc_check(
					    cudaMemcpyAsync(dst, src, bytes,
					                    cudaMemcpyDeviceToDevice,
					                    st),
					    "cudaMemcpyAsync", res);
				else {
					bsc_copy<<<sms * 8, 512, 0, st>>>(
					    (int4 *)dst, (const int4 *)src, n16);
					rc = bsc_check(cudaGetLastError(),
					               "the copy kernel's launch",
					               res);
				}
				if (rc)
					goto out;
			}
			if ((rc = bsc_check(cudaEventRecord(e1, st),
			                    "cudaEventRecord", res)) ||
			    (rc = bsc_check(cudaEventSynchronize(e1),
			                    side ? "cudaMemcpyAsync"
			                         : "the copy kernel",
			                    res)) ||
			    (rc = bsc_check(cudaEventElapsedTime(&ms, e0, e1),
			                    "cudaEventElapsedTime", res)))
				goto out;
			if (r >= 0)
				t[r] = ms / BSC_BATCH;
		}
	}
	if (!(bsc_median(tk, reps) > 0.0f) || !(bsc_median(tm, reps) > 0.0f)) {
		snprintf(res->why, sizeof res->why,
		         "the copies timed at %g and %g ms: not a measurement",
		         (double)bsc_median(tk, reps),
		         (double)bsc_median(tm, reps));
		rc = CAIRN_EDEVICE;
		goto out;
	}
	res->kernel_gbps = 2.0 * (double)bytes / (bsc_median(tk, reps) * 1e-3) /
	                   1e9;
	res->memcpy_gbps = 2.0 * (double)bytes / (bsc_median(tm, reps) * 1e-3) /
	                   1e9;
	rc = 0;
out:
	if (e0)
		cudaEventDestroy(e0);
	if (e1)
		cudaEventDestroy(e1);
	if (st)
		cudaStreamDestroy(st);
	cudaFree(src);
	cudaFree(dst);
	free(tk);
	free(tm);
	return rc;
}
