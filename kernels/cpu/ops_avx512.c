/* cairn: the cpu backend's element-wise workers for CPUs with AVX-512F:
 * the AVX2 table's workers, from the same source with the same flags
 * (-mavx2 -mfma, CMakeLists.txt), but for hash_chunks, which takes eight
 * chunks at a time in the 8-lane kernel (hash_avx512.c, the only code
 * built for AVX-512).  Used only after the CPUID check in backend_cpu.c. */
#define CPU_OPS_TABLE cairn__cpu_ops_avx512
#define CPU_HASH_X8 cairn__blake2b_x8
#include "ops_avx2_lanes.h"
#include "ops_body.h"
