/* cairn: the emulated CUDA backend for tests (backend_emu.cpp). */
#ifndef CAIRN_TEST_BACKEND_EMU_H
#define CAIRN_TEST_BACKEND_EMU_H

#include "cairn/kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Opens a backend that runs kernels/cuda's kernels on the host; freed by
 * cairn_backend_close().  0 or CAIRN_ENOMEM. */
int cairn_test_emu_backend_open(cairn_backend **out);

/* Bytes the emulated backends have copied host to device so far
 * (cairn_buf_write, and cudaMemcpyAsync inside the kernels' code). */
unsigned long long cairn_test_emu_h2d_bytes(void);

#ifdef __cplusplus
}
#endif

#endif
