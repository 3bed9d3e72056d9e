/* cairn: the rig as the worker sees it (`cairn info`, DESIGN.md section 8).
 *
 * hwloc gives the CPU topology and, from its PCI objects, the locality of
 * each GPU (the NUMA node and cpuset a GPU's feeder thread binds to).  The
 * CUDA runtime gives the device properties; NVML, loaded at run time with
 * dlopen, gives the UUID, the utilisation and the processes on each GPU;
 * NCCL, when libnccl.so.2 is there, its version.
 *
 * Only the CPU part is required.  Whatever cannot be seen (no GPU, no
 * driver, no NVML, no I/O discovery, a build without CUDA) leaves its
 * fields at "unknown" (-1, 0 or "") and adds one sentence to missing[]
 * saying what and why.
 *
 * Ownership: struct cairn_info is plain data with no pointers; the caller
 * owns it (it is about 20 KiB: heap or a roomy stack) and there is nothing
 * to free. */
#ifndef CAIRN_INFO_H
#define CAIRN_INFO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CAIRN_INFO_MAX_GPUS 16    /* GPUs listed; more are counted */
#define CAIRN_INFO_MAX_MISSING 12 /* sentences in missing[] */
#define CAIRN_INFO_MISSING_LEN 320

/* One cache level: the size of one instance and how many there are. */
struct cairn_info_cache {
	uint64_t bytes; /* of the first instance; 0 when there is none */
	int count;
};

struct cairn_info_cpu {
	char model[128]; /* hwloc's CPUModel of the first package; "" */
	int packages, cores, pus, numa_nodes;
	uint64_t memory_bytes; /* hwloc's total memory of the machine */
	/* The OS's total (sysconf: physical pages x page size, which is
	 * /proc/meminfo's MemTotal outside a container that fakes the
	 * latter); 0 unknown.  Equal to memory_bytes on a sound machine; a
	 * VM may count less in its NUMA nodes than it has. */
	uint64_t os_memory_bytes;
	struct cairn_info_cache l1d, l2, l3;
};

struct cairn_info_gpu {
	int index; /* CUDA device ordinal */
	char name[256];
	char uuid[96];       /* "GPU-..."; NVML's, else the CUDA runtime's */
	char pci_bus_id[32]; /* "0000:41:00.0", from cudaDeviceGetPCIBusId */
	uint64_t memory_bytes;
	int sm_count;
	int cc_major, cc_minor; /* compute capability */
	/* Locality from hwloc: the OS index of the nearest NUMA node (the
	 * first of the GPU's non-I/O ancestor's nodeset) and that
	 * ancestor's cpuset as a list ("0-15,32-47"); -1 and "" unknown. */
	int numa_node;
	char cpuset[128];
	/* From NVML; -1 unknown (no NVML, or not supported, e.g. MIG). */
	int util_gpu_percent, util_mem_percent;
	int compute_procs, graphics_procs;
};

struct cairn_info_versions {
	char hwloc[16];     /* the loaded hwloc's release ("2.9.0"), from
	                     * the topology's hwlocVersion info; "" */
	unsigned hwloc_api; /* hwloc_get_api_version(): the API, which
	                     * releases of a series share (2.9.0 has 2.8) */
	int cuda_runtime;   /* 1000 * major + 10 * minor; 0 not built */
	int cuda_driver;    /* the CUDA version the driver supports; 0 none */
	char nvidia_driver[64]; /* NVML's driver version; "" no NVML */
	int nccl;               /* ncclGetVersion's code; 0 not found */
};

struct cairn_info {
	struct cairn_info_cpu cpu;
	int gpu_count; /* devices the CUDA runtime sees (may exceed ngpus) */
	int ngpus;     /* entries in gpus[] */
	struct cairn_info_gpu gpus[CAIRN_INFO_MAX_GPUS];
	struct cairn_info_versions versions;
	int nmissing;
	char missing[CAIRN_INFO_MAX_MISSING][CAIRN_INFO_MISSING_LEN];
};

/* Fills *info with what this machine shows.  Returns 0 when the CPU
 * topology was read, whatever else was missing (see info->missing);
 * CAIRN_EINVAL for a NULL info; CAIRN_EIO when hwloc cannot read the
 * topology at all, with the reason in err[0..err_len) (err may be NULL). */
int cairn_info_collect(struct cairn_info *info, char *err, size_t err_len);

/* Writes info as `cairn info --json` prints it (one object and a newline)
 * to f. */
void cairn_info_write_json(FILE *f, const struct cairn_info *info);

/* "2.8.0" from hwloc's API version encoding, into buf (>= 16 bytes). */
void cairn_info_hwloc_version(unsigned v, char *buf, size_t len);

/* hwloc_topology_load(topo) for a topology with I/O discovery: hwloc's
 * PCI plugin (libpciaccess) leaves about 1 KiB allocated after the
 * topology is destroyed, so under AddressSanitizer what the load
 * allocates is not tracked by LeakSanitizer (which would fail every run
 * on it).  hwloc's return value. */
struct hwloc_topology;
int cairn_info_hwloc_load(struct hwloc_topology *topo);

/* "2.21.5" from ncclGetVersion's code, into buf (at least 16 bytes). */
void cairn_info_nccl_version(int v, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
