/* cairn: the GPU side of `cairn bench pcie` (cairn__bench_pcie_devices and
 * cairn__bench_pcie_cuda).
 *
 * Host-device bandwidth: cudaMemcpyAsync host -> device and device -> host
 * of cfg->bytes, from two pinned host buffers that the caller (bench_pcie.c)
 * allocated and wrote: one bound to the GPU's NUMA node, one at the default
 * placement (the reference).  Both are pinned here with cudaHostRegister,
 * so the two differ only in where their pages are.  Warm-up copies of each
 * kind first; then the copies are interleaved (bound h2d, reference h2d,
 * bound d2h, reference d2h, and again) so that a drift of the clock or of
 * the link hits both sides alike.  Each copy lies between two CUDA events
 * on a stream of its own, and is waited for before the next; the medians
 * are reported.  GB/s is bytes / seconds / 1e9: each byte crosses the link
 * once.
 *
 * Compiled only with CUDA.  Written and compiled on a machine with no GPU:
 * it has not been run there.  Ownership: the host buffers are the caller's
 * (registered here for the length of the call and unregistered on every
 * path); the device buffer, the stream, the events and the timings are
 * allocated and freed here. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime.h>

#include "bench.h"
#include "cairn/error.h"
#include "cairn/kernels.h"
#include "cairn/log.h"
#include "cuda/info_cuda.h"

enum { BP_H2D, BP_REF_H2D, BP_D2H, BP_REF_D2H, BP_KINDS };

static const char *const bp_kind_names[BP_KINDS] = {
    "host-to-device copy (bound)", "host-to-device copy (reference)",
    "device-to-host copy (bound)", "device-to-host copy (reference)"};

/* Records which call failed and why into res->why; returns CAIRN_ENOMEM for
 * an allocation failure, CAIRN_EDEVICE otherwise, 0 when e is cudaSuccess.
 * The first failure is kept. */
static int bp_check(cudaError_t e, const char *what,
                    struct cairn_bench_pcie_result *res)
{
	if (e == cudaSuccess)
		return 0;
	if (!res->why[0])
		snprintf(res->why, sizeof res->why, "%s: %s (%s)", what,
		         cudaGetErrorString(e), cudaGetErrorName(e));
	return e == cudaErrorMemoryAllocation ? CAIRN_ENOMEM : CAIRN_EDEVICE;
}

extern "C" int cairn__bench_pcie_devices(struct cairn_bench_pcie_gpu *gpus,
                                         int max, char *why, size_t len)
{
	cudaError_t e;
	int count = 0;

	if (!gpus || max < 0 || !why)
		return CAIRN_EINVAL;
	why[0] = '\0';
	e = cudaGetDeviceCount(&count);
	if (e != cudaSuccess || count <= 0) {
		cudaGetLastError(); /* not sticky: clear it */
		if (cairn_cuda_probe(why, len) <= 0 && why[0])
			return CAIRN_ENODEV;
		snprintf(why, len, "no usable GPU (cudaGetDeviceCount: %s)",
		         e != cudaSuccess ? cudaGetErrorString(e)
		                          : "no devices");
		return CAIRN_ENODEV;
	}
	for (int d = 0; d < count && d < max; d++) {
		struct cairn_bench_pcie_gpu *g = &gpus[d];
		cudaDeviceProp prop;
		int numa = -1;

		memset(g, 0, sizeof *g);
		e = cudaGetDeviceProperties(&prop, d);
		if (e != cudaSuccess) {
			snprintf(why, len,
			         "CUDA device %d: cudaGetDeviceProperties: %s; "
			         "check nvidia-smi",
			         d, cudaGetErrorString(e));
			cudaGetLastError();
			return CAIRN_EDEVICE;
		}
		snprintf(g->name, sizeof g->name, "%s", prop.name);
		cairn__cuda_pci_bus_id(d, &prop, g->pci_bus_id,
		                       sizeof g->pci_bus_id);
		/* The driver's own view of the nearest host node: a fallback
		 * for when hwloc cannot see the GPU's PCI object. */
		e = cudaDeviceGetAttribute(&numa, cudaDevAttrHostNumaId, d);
		if (e != cudaSuccess) {
			cudaGetLastError();
			numa = -1;
		}
		g->host_numa = numa >= 0 ? numa : -1;
	}
	return count;
}

/* Logs a failed cleanup call (its error does not replace the first). */
static void bp_warn(cudaError_t e, const char *what)
{
	if (e != cudaSuccess)
		cairn_warn("bench pcie: %s: %s", what, cudaGetErrorString(e));
}

static int bp_cmp(const void *x, const void *y)
{
	float a = *(const float *)x, b = *(const float *)y;

	return a < b ? -1 : a > b;
}

/* Median of t[0..n) in ms (sorts t). */
static float bp_median(float *t, int n)
{
	qsort(t, (size_t)n, sizeof *t, bp_cmp);
	return n % 2 ? t[n / 2] : 0.5f * (t[n / 2 - 1] + t[n / 2]);
}

/* One copy of the given kind between e0 and e1, waited for; *ms gets its
 * time. */
static int bp_copy(int kind, const struct cairn_bench_pcie_cfg *cfg, void *dev,
                   cudaStream_t st, cudaEvent_t e0, cudaEvent_t e1, float *ms,
                   struct cairn_bench_pcie_result *res)
{
	void *host =
	    kind == BP_H2D || kind == BP_D2H ? cfg->host : cfg->host_ref;
	int h2d = kind == BP_H2D || kind == BP_REF_H2D;
	int rc;

	if ((rc = bp_check(cudaEventRecord(e0, st), "cudaEventRecord", res)) ||
	    (rc = bp_check(
	         cudaMemcpyAsync(
	             h2d ? dev : host, h2d ? host : dev, cfg->bytes,
	             h2d ? cudaMemcpyHostToDevice : cudaMemcpyDeviceToHost, st),
	         bp_kind_names[kind], res)) ||
	    (rc = bp_check(cudaEventRecord(e1, st), "cudaEventRecord", res)) ||
	    (rc = bp_check(cudaEventSynchronize(e1), bp_kind_names[kind],
	                   res)) ||
	    (rc = bp_check(cudaEventElapsedTime(ms, e0, e1),
	                   "cudaEventElapsedTime", res)))
		return rc;
	return 0;
}

extern "C" int cairn__bench_pcie_cuda(const struct cairn_bench_pcie_cfg *cfg,
                                      struct cairn_bench_pcie_result *res)
{
	void *dev = NULL;
	cudaStream_t st = NULL;
	cudaEvent_t e0 = NULL, e1 = NULL;
	float *t[BP_KINDS] = {NULL, NULL, NULL, NULL};
	double *gbps[BP_KINDS];
	int reg = 0, reg_ref = 0, rc;

	if (!cfg || !res || !cfg->host || !cfg->host_ref || !cfg->bytes ||
	    cfg->reps < 1 || cfg->warmup < 0)
		return CAIRN_EINVAL;
	gbps[BP_H2D] = &res->h2d_gbps;
	gbps[BP_REF_H2D] = &res->ref_h2d_gbps;
	gbps[BP_D2H] = &res->d2h_gbps;
	gbps[BP_REF_D2H] = &res->ref_d2h_gbps;
	for (int k = 0; k < BP_KINDS; k++) {
		t[k] = (float *)malloc((size_t)cfg->reps * sizeof *t[k]);
		if (!t[k]) {
			snprintf(res->why, sizeof res->why, "out of memory");
			rc = CAIRN_ENOMEM;
			goto out;
		}
	}
	if ((rc = bp_check(cudaSetDevice(cfg->device), "cudaSetDevice", res)) ||
	    (rc = bp_check(cudaMalloc(&dev, cfg->bytes), "cudaMalloc", res)))
		goto out;
	/* Pins the pages where they already are: the caller wrote both
	 * buffers, so each page exists on the node it was placed on, and a
	 * pinned page does not move. */
	if ((rc = bp_check(cudaHostRegister(cfg->host, cfg->bytes,
	                                    cudaHostRegisterDefault),
	                   "cudaHostRegister (the bound buffer)", res)))
		goto out;
	reg = 1;
	if ((rc = bp_check(cudaHostRegister(cfg->host_ref, cfg->bytes,
	                                    cudaHostRegisterDefault),
	                   "cudaHostRegister (the reference buffer)", res)))
		goto out;
	reg_ref = 1;
	if ((rc =
	         bp_check(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking),
	                  "cudaStreamCreateWithFlags", res)) ||
	    (rc = bp_check(cudaEventCreate(&e0), "cudaEventCreate", res)) ||
	    (rc = bp_check(cudaEventCreate(&e1), "cudaEventCreate", res)) ||
	    (rc = bp_check(cudaMemsetAsync(dev, 0x3c, cfg->bytes, st),
	                   "cudaMemsetAsync", res)))
		goto out;
	for (int r = -cfg->warmup; r < cfg->reps; r++) { /* r < 0: warm-up */
		for (int k = 0; k < BP_KINDS; k++) {
			float ms = 0.0f;
			if ((rc = bp_copy(k, cfg, dev, st, e0, e1, &ms, res)))
				goto out;
			if (r >= 0)
				t[k][r] = ms;
		}
	}
	for (int k = 0; k < BP_KINDS; k++) {
		float ms = bp_median(t[k], cfg->reps);
		if (!(ms > 0.0f)) {
			snprintf(res->why, sizeof res->why,
			         "%s: CUDA events timed %g ms; cannot make a "
			         "bandwidth of it",
			         bp_kind_names[k], (double)ms);
			rc = CAIRN_EDEVICE;
			goto out;
		}
		*gbps[k] = (double)cfg->bytes / ((double)ms * 1e-3) / 1e9;
	}
	rc = 0;
out:
	/* Cleanup keeps the first error; later ones are only logged. */
	if (st)
		bp_warn(cudaStreamSynchronize(st), "cudaStreamSynchronize");
	if (e0)
		bp_warn(cudaEventDestroy(e0), "cudaEventDestroy");
	if (e1)
		bp_warn(cudaEventDestroy(e1), "cudaEventDestroy");
	if (st)
		bp_warn(cudaStreamDestroy(st), "cudaStreamDestroy");
	if (reg)
		bp_warn(cudaHostUnregister(cfg->host),
		        "cudaHostUnregister (the bound buffer)");
	if (reg_ref)
		bp_warn(cudaHostUnregister(cfg->host_ref),
		        "cudaHostUnregister (the reference buffer)");
	if (dev)
		bp_warn(cudaFree(dev), "cudaFree");
	cudaGetLastError();
	for (int k = 0; k < BP_KINDS; k++)
		free(t[k]);
	return rc;
}
