/* cairn: other names for the CUDA backend's functions when its source is
 * compiled for the host (tests/emu), so that a test program can hold both
 * the emulated kernels and, in a CUDA build, libcairn's real ones.
 * Included before any kernels/cuda file. */
#ifndef CAIRN_EMU_NAMES_H
#define CAIRN_EMU_NAMES_H

#define cairn__cuda_gemm cairn__emu_cuda_gemm
#define cairn__cuda_gemm_shape_parse cairn__emu_cuda_gemm_shape_parse
#define cairn__cuda_gemm_shape_name cairn__emu_cuda_gemm_shape_name
#define cairn__cuda_gemm_shape_pick cairn__emu_cuda_gemm_shape_pick
#define cairn__cuda_elementwise cairn__emu_cuda_elementwise
#define cairn__cuda_optim cairn__emu_cuda_optim
#define cairn__cuda_xent cairn__emu_cuda_xent
#define cairn__cuda_fill cairn__emu_cuda_fill
#define cairn__cuda_hash cairn__emu_cuda_hash
#define cairn__cuda_data cairn__emu_cuda_data
#define cairn__cuda_enter cairn__emu_cuda_enter
#define cairn__cuda_scratch cairn__emu_cuda_scratch
#define cairn__cuda_backend_stream cairn__emu_cuda_backend_stream

#endif
