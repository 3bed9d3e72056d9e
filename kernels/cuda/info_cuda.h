/* cairn: what the CUDA runtime says about each device, for `cairn info`
 * (worker/info.c).  Plain C: info.c compiles without CUDA, and a build
 * without CUDA gets the stub in worker/info.c. */
#ifndef CAIRN_INFO_CUDA_H
#define CAIRN_INFO_CUDA_H

#include <stddef.h>

#include "cairn/info.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Fills gpus[0..max) with the devices the CUDA runtime sees: index, name,
 * uuid (the runtime's), pci_bus_id, memory_bytes, sm_count and compute
 * capability; the other fields are left alone.  Returns the number of
 * devices (>= 0, may exceed max).  *runtime and *driver get the runtime's
 * and the driver's CUDA versions (1000 * major + 10 * minor; 0 none).
 * why[0..why_len) is "" when all went well, else one sentence: why there
 * are no devices, or which device could not be read. */
int cairn__cuda_info(struct cairn_info_gpu *gpus, int max, int *runtime,
                     int *driver, char *why, size_t why_len);

/* Device dev's PCI bus id ("0000:41:00.0") into out[0..len): the
 * runtime's, or when it cannot say, the same address from prop (dev's
 * cudaDeviceProp). */
struct cudaDeviceProp;
void cairn__cuda_pci_bus_id(int dev, const struct cudaDeviceProp *prop,
                            char *out, size_t len);

#ifdef __cplusplus
}
#endif
#endif
