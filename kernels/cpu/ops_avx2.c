/* cairn: the cpu backend's element-wise workers, built with -mavx2 -mfma
 * (CMakeLists.txt) and used only after the CPUID check in backend_cpu.c. */
#define CPU_OPS_TABLE cairn__cpu_ops_avx2
#include "ops_avx2_lanes.h"
#include "ops_body.h"
