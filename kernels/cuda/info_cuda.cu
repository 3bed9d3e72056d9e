/* cairn: device properties from the CUDA runtime, for `cairn info`.
 *
 * The runtime is linked statically and finds the driver at run time, so
 * on a machine with no driver cudaGetDeviceCount fails cleanly and
 * cairn_cuda_probe (backend_cuda.cu) says why in words. */
#include <stdio.h>
#include <string.h>

#include <cuda_runtime.h>

#include "cairn/kernels.h"
#include "info_cuda.h"

void cairn__cuda_pci_bus_id(int dev, const struct cudaDeviceProp *prop,
                            char *out, size_t len)
{
	if (cudaDeviceGetPCIBusId(out, (int)len, dev) == cudaSuccess)
		return;
	/* The properties carry the same address. */
	snprintf(out, len, "%04x:%02x:%02x.0", prop->pciDomainID,
	         prop->pciBusID, prop->pciDeviceID);
	cudaGetLastError();
}

/* The runtime's UUID in nvidia-smi's form, "GPU-xxxxxxxx-xxxx-...". */
static void info_cuda_uuid(const cudaUUID_t *u, char *buf, size_t len)
{
	const unsigned char *b = (const unsigned char *)u->bytes;

	snprintf(buf, len,
	         "GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	         "%02x%02x%02x%02x%02x%02x",
	         b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
	         b[10], b[11], b[12], b[13], b[14], b[15]);
}

extern "C" int cairn__cuda_info(struct cairn_info_gpu *gpus, int max,
                                int *runtime, int *driver, char *why,
                                size_t why_len)
{
	cudaError_t err;
	int count = 0;

	if (why && why_len)
		why[0] = '\0';
	*runtime = 0;
	*driver = 0;
	if (cudaRuntimeGetVersion(runtime) != cudaSuccess)
		*runtime = 0;
	/* 0 with cudaSuccess when no driver is installed. */
	if (cudaDriverGetVersion(driver) != cudaSuccess)
		*driver = 0;
	cudaGetLastError();

	err = cudaGetDeviceCount(&count);
	if (err != cudaSuccess || count == 0) {
		cudaGetLastError(); /* not sticky: clear it */
		/* The probe reruns the count and words the reason. */
		(void)cairn_cuda_probe(why, why_len);
		return 0;
	}
	for (int dev = 0; dev < count && dev < max; dev++) {
		struct cairn_info_gpu *g = &gpus[dev];
		cudaDeviceProp prop;

		g->index = dev;
		err = cudaGetDeviceProperties(&prop, dev);
		if (err != cudaSuccess) {
			if (why && why_len && !why[0])
				snprintf(why, why_len,
				         "CUDA device %d: cannot read its "
				         "properties (%s); check nvidia-smi",
				         dev, cudaGetErrorString(err));
			cudaGetLastError();
			continue;
		}
		snprintf(g->name, sizeof g->name, "%s", prop.name);
		info_cuda_uuid(&prop.uuid, g->uuid, sizeof g->uuid);
		g->memory_bytes = (uint64_t)prop.totalGlobalMem;
		g->sm_count = prop.multiProcessorCount;
		g->cc_major = prop.major;
		g->cc_minor = prop.minor;
		cairn__cuda_pci_bus_id(dev, &prop, g->pci_bus_id,
		                       sizeof g->pci_bus_id);
	}
	return count;
}
