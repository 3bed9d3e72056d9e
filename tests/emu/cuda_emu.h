/* cairn: a host emulation of the CUDA subset kernels/cuda uses, so that
 * the kernels' own source runs and is checked bit for bit on a machine
 * without a GPU (tests/test_gemm_emu.cpp; test_kernels, test_kernels_gemm
 * and test_kernels_hash --backend emu, through tests/emu/backend_emu.cpp).
 *
 * kernels/cuda/cuda_common.cuh includes this instead of <cuda_runtime.h>
 * when CAIRN_CUDA_EMU is defined, and the .cu files are then compiled as
 * host C++ (C++20, for std::barrier).  A launch runs the grid's blocks one
 * after another.  CAIRN_CUDA_LAUNCH_SYNC (kernels with __syncthreads) runs
 * a block as one std::thread per CUDA thread, __syncthreads being a
 * std::barrier; CAIRN_CUDA_LAUNCH runs a block's threads one after
 * another on the calling thread, and a __syncthreads there is reported as
 * a bug in the launch (the kernel needs the SYNC launch).  __shared__ is a
 * function-local static (one per kernel instantiation, shared by the
 * threads of the running block).  __ldg checks, when the test has named
 * the matrices a kernel may read (cairn_emu_mats), that every load falls
 * inside them (the GEMM's promise: padding is never read), and that a
 * float4 load is aligned.  Runtime calls are plain host memory operations.
 *
 * It checks what the kernels compute and which elements they read, not
 * how fast they are, and not races beyond what a barrier orders (the host
 * threads run in any order between barriers, which does catch a missing
 * barrier often, not always). */
#ifndef CAIRN_CUDA_EMU_H
#define CAIRN_CUDA_EMU_H

#include <barrier>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static
#define __align__(n) __attribute__((aligned(n)))

struct dim3 {
	unsigned int x, y, z;
	dim3(unsigned int a = 1, unsigned int b = 1, unsigned int c = 1)
	    : x(a), y(b), z(c)
	{
	}
};
struct cairn_emu_uint3 {
	unsigned int x, y, z;
};
inline thread_local cairn_emu_uint3 threadIdx;
inline cairn_emu_uint3 blockIdx;
inline dim3 gridDim, blockDim;

struct alignas(16) float4 {
	float x, y, z, w;
};
inline float4 make_float4(float a, float b, float c, float d)
{
	return float4{a, b, c, d};
}

/* ---- the runtime subset ---------------------------------------------- */

typedef void *cudaStream_t;
typedef void *cudaEvent_t; /* the backend context holds one; never used */
enum cudaError_t { cudaSuccess = 0, cudaErrorMemoryAllocation = 2 };
enum cudaMemcpyKind {
	cudaMemcpyHostToHost = 0,
	cudaMemcpyHostToDevice = 1,
	cudaMemcpyDeviceToHost = 2,
	cudaMemcpyDeviceToDevice = 3
};
inline cudaError_t cudaGetLastError(void)
{
	return cudaSuccess;
}
inline const char *cudaGetErrorString(cudaError_t e)
{
	return e == cudaSuccess ? "no error" : "emulated error";
}
inline const char *cudaGetErrorName(cudaError_t e)
{
	return e == cudaSuccess ? "cudaSuccess" : "cudaErrorUnknown";
}
/* Bytes copied host to device so far, by cudaMemcpyAsync here and by the
 * emulated backend's buf_write (backend_emu.cpp): a test counts what a
 * step uploads (cairn_test_emu_h2d_bytes). */
inline unsigned long long cairn_emu_h2d_bytes;

/* Device memory is host memory here: the copy is done at once. */
inline cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes,
                                   cudaMemcpyKind kind, cudaStream_t st)
{
	(void)st;
	if (kind == cudaMemcpyHostToDevice)
		cairn_emu_h2d_bytes += bytes;
	memmove(dst, src, bytes);
	return cudaSuccess;
}

/* ---- barriers and launches ------------------------------------------- */

inline std::barrier<> *cairn_emu_bar; /* NULL: a plain (sequential) block */
inline int cairn_emu_bad_syncs;
inline void __syncthreads(void)
{
	if (cairn_emu_bar) {
		cairn_emu_bar->arrive_and_wait();
		return;
	}
	if (cairn_emu_bad_syncs++ == 0)
		fprintf(stderr, "emu: __syncthreads in a kernel launched with "
		                "CAIRN_CUDA_LAUNCH: it needs "
		                "CAIRN_CUDA_LAUNCH_SYNC\n");
}

/* The matrices a kernel may read with __ldg (set by a test before a
 * launch; none named: any address): base, rows, columns and leading
 * dimension, as stored. */
struct cairn_emu_mat {
	const float *base;
	int64_t rows, cols, ld;
};
inline cairn_emu_mat cairn_emu_mats[2];
inline int cairn_emu_bad_loads;

inline void cairn_emu_check(const float *p)
{
	int named = 0;
	for (const cairn_emu_mat &m : cairn_emu_mats) {
		int64_t off;
		if (!m.base)
			continue;
		named = 1;
		off = p - m.base;
		if (off >= 0 && off < m.rows * m.ld && off % m.ld < m.cols)
			return;
	}
	if (named && cairn_emu_bad_loads++ == 0)
		fprintf(stderr, "emu: a load outside A and B at %p\n",
		        (const void *)p);
}

inline float __ldg(const float *p)
{
	cairn_emu_check(p);
	return *p;
}

inline float4 __ldg(const float4 *p)
{
	const float *q = reinterpret_cast<const float *>(p);
	if ((uintptr_t)p % 16) {
		if (cairn_emu_bad_loads++ == 0)
			fprintf(stderr, "emu: misaligned float4 load at %p\n",
			        (const void *)p);
		return float4{0, 0, 0, 0};
	}
	for (int i = 0; i < 4; i++)
		cairn_emu_check(q + i);
	return *p;
}

/* Runs f as a grid of blocks of `threads` threads, a host thread each:
 * the threads are made once per launch and go through the blocks in step
 * (thread 0 names the next block between two barriers; a kernel's own
 * __syncthreads use the same barrier, which is why every thread of a block
 * must reach the same number of them, as on a GPU). */
template <class F>
void cairn__emu_launch(dim3 grid, unsigned int threads, cudaStream_t st, F f)
{
	const uint64_t nblocks = (uint64_t)grid.x * grid.y * grid.z;
	std::barrier<> bar((std::ptrdiff_t)threads);
	std::vector<std::thread> ts;

	(void)st;
	gridDim = grid;
	blockDim = dim3(threads);
	cairn_emu_bar = &bar;
	for (unsigned int t = 0; t < threads; t++)
		ts.emplace_back([&f, &bar, grid, nblocks, t] {
			threadIdx = cairn_emu_uint3{t, 0, 0};
			for (uint64_t b = 0; b < nblocks; b++) {
				if (t == 0)
					blockIdx = cairn_emu_uint3{
					    (unsigned int)(b % grid.x),
					    (unsigned int)(b / grid.x % grid.y),
					    (unsigned int)(b / grid.x /
					                   grid.y)};
				bar.arrive_and_wait(); /* blockIdx is set */
				f();
				bar.arrive_and_wait(); /* the block is done */
			}
		});
	for (std::thread &th : ts)
		th.join();
	cairn_emu_bar = NULL;
}

/* Runs f as a grid of blocks whose threads run one after another (kernels
 * without __syncthreads). */
template <class F>
void cairn__emu_launch_seq(dim3 grid, unsigned int threads, cudaStream_t st,
                           F f)
{
	(void)st;
	gridDim = grid;
	blockDim = dim3(threads);
	cairn_emu_bar = NULL;
	for (unsigned int bz = 0; bz < grid.z; bz++)
		for (unsigned int by = 0; by < grid.y; by++)
			for (unsigned int bx = 0; bx < grid.x; bx++) {
				blockIdx = cairn_emu_uint3{bx, by, bz};
				for (unsigned int t = 0; t < threads; t++) {
					threadIdx = cairn_emu_uint3{t, 0, 0};
					f();
				}
			}
}

#endif
