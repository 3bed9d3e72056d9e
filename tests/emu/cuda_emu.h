/* cairn: a host emulation of the CUDA subset kernels/cuda/gemm.cu uses, so
 * that the GEMM kernel's own source runs and is checked bit for bit on a
 * machine without a GPU (tests/test_gemm_emu.cpp).
 *
 * gemm.cu includes this instead of its CUDA headers when CAIRN_CUDA_EMU is
 * defined, and is then compiled as host C++ (C++20, for std::barrier).
 * A launch runs the grid's blocks one after another; a block is one
 * std::thread per CUDA thread, __syncthreads() a std::barrier, and
 * __shared__ a function-local static (one per kernel instantiation,
 * shared by the threads of the running block).  __ldg checks that every
 * global load of A or B falls inside the stored matrices (the kernel's
 * promise: padding is never read) and that float4 loads are aligned.
 *
 * It checks what a kernel computes and which elements it reads, not how
 * fast it is, and not races between threads beyond what a barrier orders
 * (the host threads run in any order between barriers, which does catch
 * a missing barrier often, not always). */
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

#include "backend_impl.h"
#include "cairn/error.h"

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

typedef void *cudaStream_t;

/* The fields of the CUDA backend's context that gemm.cu reads. */
struct cairn_cuda_ctx {
	int sm_count;
	int gemm_shape;
	cudaStream_t stream;
};

inline std::barrier<> *cairn_emu_bar;
inline void __syncthreads(void) { cairn_emu_bar->arrive_and_wait(); }

/* The matrices a kernel may read with __ldg (set by the test before a
 * launch): base, rows, columns and leading dimension, as stored. */
struct cairn_emu_mat {
	const float *base;
	int64_t rows, cols, ld;
};
inline cairn_emu_mat cairn_emu_mats[2];
inline int cairn_emu_bad_loads;

inline void cairn_emu_check(const float *p)
{
	for (const cairn_emu_mat &m : cairn_emu_mats) {
		int64_t off;
		if (!m.base)
			continue;
		off = p - m.base;
		if (off >= 0 && off < m.rows * m.ld && off % m.ld < m.cols)
			return;
	}
	if (cairn_emu_bad_loads++ == 0)
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

/* Runs f as a grid of blocks of `threads` threads. */
template <class F>
void cairn__emu_launch(dim3 grid, unsigned int threads, F f)
{
	gridDim = grid;
	blockDim = dim3(threads);
	for (unsigned int by = 0; by < grid.y; by++)
		for (unsigned int bx = 0; bx < grid.x; bx++) {
			std::barrier<> bar((std::ptrdiff_t)threads);
			std::vector<std::thread> ts;
			blockIdx = cairn_emu_uint3{bx, by, 0};
			cairn_emu_bar = &bar;
			for (unsigned int t = 0; t < threads; t++)
				ts.emplace_back([&f, t] {
					threadIdx = cairn_emu_uint3{t, 0, 0};
					f();
				});
			for (std::thread &th : ts)
				th.join();
		}
}

#endif
