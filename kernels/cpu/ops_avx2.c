/* cairn: the cpu backend's element-wise workers, built with -mavx2 -mfma
 * (CMakeLists.txt) and used only after the CPUID check in backend_cpu.c. */
#define CPU_OPS_TABLE cairn__cpu_ops_avx2
/* hash_chunks: four chunks at a time in the 4-lane kernel (hash_avx2.c). */
#define CPU_HASH_X4 cairn__blake2b_x4
#include "ops_body.h"
