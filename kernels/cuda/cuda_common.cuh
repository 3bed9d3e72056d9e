/* cairn: internals shared by the CUDA backend's files (kernels/cuda) and the
 * GPU benchmark (bench/bench_gemm_cuda.cu).
 *
 * - struct cairn_cuda_ctx: the backend's context (be->ctx), owned by the
 *   backend and freed by its iface->free.
 * - CAIRN_CUDA_CHECK(call): runs a CUDA runtime call; on failure logs
 *   file:line, the call and cudaGetErrorString, and evaluates to a cairn
 *   code (CAIRN_ENOMEM for an allocation failure, else CAIRN_EDEVICE).
 *   Use it as  rc = CAIRN_CUDA_CHECK(cudaFoo(...)); if (rc) goto out;
 * - CAIRN_CUDA_CHECK_LAUNCH(name): the same for cudaGetLastError() right
 *   after a kernel launch.
 * - cairn__cuda_blocks(): grid size of a grid-stride loop.
 *
 * Kernels index with int64_t and loop grid-stride, so element counts past
 * 2^31 work with any grid size. */
#ifndef CAIRN_CUDA_COMMON_CUH
#define CAIRN_CUDA_COMMON_CUH

#include <stddef.h>
#include <stdint.h>

#ifdef CAIRN_CUDA_EMU
/* tests/emu: the CUDA subset kernels/cuda uses, on the host, so that the
 * kernels' own source runs against ref in CI (test_kernels*, --backend
 * emu) */
#include "cuda_emu.h"
#else
#include <cuda_runtime.h>
#endif

#include "backend_impl.h"
#include "cairn/error.h"
#include "cairn/log.h"

/* The CUDA backend's context.  Owned by the backend (be->ctx). */
struct cairn_cuda_ctx {
	int device;   /* CUDA device ordinal */
	int sm_count; /* multiprocessors */
	int cc_major, cc_minor;
	/* GEMM block shape (gemm.cuh): -1 picks per call; 0..3 forced by
	 * CAIRN_CUDA_GEMM_SHAPE at open (for measuring the shapes) */
	int gemm_shape;
	/* threads a block of the chunk hash (hash.cu): 0 for its default;
	 * 32, 64 or 128 forced by CAIRN_CUDA_HASH_THREADS at open (for
	 * measuring what the background hashing costs the training
	 * beside it: fewer threads a block spread the chunks over more
	 * multiprocessors, a warp or two on each) */
	int hash_threads;
	cudaStream_t stream; /* every op and copy runs on it; owned */
	/* recorded on stream for another backend to wait for
	 * (cairn_backend_wait_for); owned */
	cudaEvent_t order_event;
	void *scratch; /* device scratch (sum_n's pointer list, the
	                * gather's indices); owned, grown on demand,
	                * NULL until first use */
	size_t scratch_bytes;
	/* The pointer list scratch holds for sum_n (host copy; owned): the
	 * first sumn_count entries are valid, 0 when something else wrote
	 * scratch or it was regrown.  A sum_n over the same list (a rig's
	 * gradient slots, every step) then queues no copy at all. */
	const float **sumn_list;
	int sumn_count, sumn_cap;
};

/* A kernel launch on stream st: kernel<<<grid, block, 0, st>>>(args...).
 * CAIRN_CUDA_LAUNCH_SYNC is for kernels that use __syncthreads: on a GPU
 * the two are the same; the host emulation (CAIRN_CUDA_EMU) runs a plain
 * launch's threads one after another and a SYNC launch's as one host
 * thread each, and refuses __syncthreads in a plain launch. */
#ifdef CAIRN_CUDA_EMU
#define CAIRN_CUDA_LAUNCH(kernel, grid, block, st, ...)                        \
	cairn__emu_launch_seq((grid), (block), (st),                           \
	                      [&] { kernel(__VA_ARGS__); })
#define CAIRN_CUDA_LAUNCH_SYNC(kernel, grid, block, st, ...)                   \
	cairn__emu_launch((grid), (block), (st), [&] { kernel(__VA_ARGS__); })
#else
#define CAIRN_CUDA_LAUNCH(kernel, grid, block, st, ...)                        \
	kernel<<<(grid), (block), 0, (st)>>>(__VA_ARGS__)
#define CAIRN_CUDA_LAUNCH_SYNC CAIRN_CUDA_LAUNCH
#endif

/* Threads per block of the elementwise kernels. */
#define CAIRN_CUDA_THREADS 256
/* Most blocks a grid-stride launch uses: enough to fill any GPU many times
 * over, far below the 2^31 - 1 limit of gridDim.x. */
#define CAIRN_CUDA_MAX_BLOCKS ((int64_t)1 << 20)

/* Logs a failed CUDA call and translates it; 0 when err is cudaSuccess. */
static inline int cairn__cuda_check(cudaError_t err, const char *what,
                                    const char *file, int line)
{
	if (err == cudaSuccess)
		return 0;
	cairn_error("cuda: %s:%d: %s failed: %s (%s)", file, line, what,
	            cudaGetErrorString(err), cudaGetErrorName(err));
	/* Clear the runtime's last error, or the next launch check would
	 * report this failure as its own (harmless for errors that break
	 * the context: they stay). */
	(void)cudaGetLastError();
	return err == cudaErrorMemoryAllocation ? CAIRN_ENOMEM : CAIRN_EDEVICE;
}

#define CAIRN_CUDA_CHECK(call)                                                 \
	cairn__cuda_check((call), #call, __FILE__, __LINE__)
#define CAIRN_CUDA_CHECK_LAUNCH(name)                                          \
	cairn__cuda_check(cudaGetLastError(), "launch of " name, __FILE__,     \
	                  __LINE__)

/* Blocks for a grid-stride loop over n > 0 items with `threads` per block. */
static inline unsigned int cairn__cuda_blocks(int64_t n, int threads)
{
	int64_t b = (n + threads - 1) / threads;

	if (b < 1)
		b = 1;
	return (unsigned int)(b < CAIRN_CUDA_MAX_BLOCKS
	                          ? b
	                          : CAIRN_CUDA_MAX_BLOCKS);
}

/* A grid-stride loop over [0, n) with int64_t indices:
 *   for (int64_t e = cairn__cuda_first(); e < n; e += cairn__cuda_stride())
 * (the 1-D grid's x dimension). */
static __device__ __forceinline__ int64_t cairn__cuda_first(void)
{
	return (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
}

static __device__ __forceinline__ int64_t cairn__cuda_stride(void)
{
	return (int64_t)blockDim.x * gridDim.x;
}

/* Makes ctx->device current on the calling thread (a rig may run one
 * backend per GPU from one thread).  0 or a cairn error code. */
int cairn__cuda_enter(struct cairn_cuda_ctx *ctx);

/* Device scratch of at least bytes, valid until the next call; grows by
 * freeing the old buffer after the stream is idle.  *out is owned by ctx. */
int cairn__cuda_scratch(struct cairn_cuda_ctx *ctx, size_t bytes, void **out);

/* The stream a CUDA backend runs its ops on, for code that must order its
 * own work with the backend's (the GPU benchmark times on it).  Returns
 * CAIRN_EINVAL when be is not an open CUDA backend. */
int cairn__cuda_backend_stream(const struct cairn_backend *be,
                               cudaStream_t *out);

#endif
