/* cairn: the cpu backend's element-wise workers for any x86-64 CPU. */
#define CPU_OPS_TABLE cairn__cpu_ops_portable
#include "ops_body.h"
