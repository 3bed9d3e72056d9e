/* cairn: `cairn info`, the rig as the worker sees it (DESIGN.md section 8).
 *
 * hwloc gives the topology, with I/O discovery on so that each GPU's PCI
 * object gives its locality: Debian's hwloc has no CUDA or NVML plugin, so a
 * GPU is found by the PCI bus id the CUDA runtime reports
 * (hwloc_get_pcidev_by_busid), and its NUMA node and cpuset are those of
 * its first ancestor that is not an I/O object.  The CUDA calls live in
 * kernels/cuda/info_cuda.cu (a stub below when built without CUDA).  NVML
 * and NCCL are loaded with dlopen: the CUDA toolkit here ships no nvml.h,
 * and the binary must start on a machine that has neither. */
#define _GNU_SOURCE /* dlfcn's RTLD_* under _POSIX_C_SOURCE */
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hwloc.h>
#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/lsan_interface.h>
#endif

#include "cairn/cli.h"
#include "cairn/error.h"
#include "cairn/info.h"
#include "cairn/log.h"
#include "cairn/text.h"
#include "cli_util.h"
#include "cuda/info_cuda.h"

#ifndef CAIRN_HAVE_CUDA
/* Built without CUDA: no devices, and the reason. */
int cairn__cuda_info(struct cairn_info_gpu *gpus, int max, int *runtime,
                     int *driver, char *why, size_t why_len)
{
	(void)gpus;
	(void)max;
	*runtime = 0;
	*driver = 0;
	if (why && why_len)
		snprintf(why, why_len,
		         "this cairn was built without CUDA (configure "
		         "with -DCAIRN_CUDA=ON where nvcc is installed)");
	return 0;
}
#endif

/* Adds one sentence to info->missing; extras past the last slot are
 * dropped (the list says so in its last entry). */
static void info_missing(struct cairn_info *info, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void info_missing(struct cairn_info *info, const char *fmt, ...)
{
	va_list ap;

	if (info->nmissing >= CAIRN_INFO_MAX_MISSING)
		return;
	if (info->nmissing == CAIRN_INFO_MAX_MISSING - 1) {
		snprintf(info->missing[info->nmissing++],
		         CAIRN_INFO_MISSING_LEN,
		         "more could not be seen than this list holds");
		return;
	}
	va_start(ap, fmt);
	vsnprintf(info->missing[info->nmissing++], CAIRN_INFO_MISSING_LEN, fmt,
	          ap);
	va_end(ap);
}

void cairn_info_hwloc_version(unsigned v, char *buf, size_t len)
{
	if (!buf || !len)
		return;
	snprintf(buf, len, "%u.%u.%u", (v >> 16) & 0xff, (v >> 8) & 0xff,
	         v & 0xff);
}

/* cairn_info_nccl_version is defined with the transport that loads NCCL
 * (kernels/comm.c), which names the version too. */

/* dlsym into a function pointer without a cast ISO C leaves undefined
 * (as bench/blas_ref.c does). */
static void *info_sym(void *dl, const char *name, void *fnptr, size_t size)
{
	void *p = dlsym(dl, name);

	if (p && size == sizeof p)
		memcpy(fnptr, &p, sizeof p);
	return p;
}

/* ---- CPU: hwloc ---------------------------------------------------------- */

static void info_cache(hwloc_topology_t topo, hwloc_obj_type_t type,
                       struct cairn_info_cache *c)
{
	hwloc_obj_t o = hwloc_get_obj_by_type(topo, type, 0);

	c->count = hwloc_get_nbobjs_by_type(topo, type);
	if (c->count < 0) /* at several depths: count none rather than lie */
		c->count = 0;
	c->bytes = o && o->attr ? o->attr->cache.size : 0;
}

static void info_cpu(hwloc_topology_t topo, struct cairn_info_cpu *cpu)
{
	hwloc_obj_t root = hwloc_get_root_obj(topo);
	hwloc_obj_t pkg = hwloc_get_obj_by_type(topo, HWLOC_OBJ_PACKAGE, 0);
	const char *model = NULL;

	cpu->packages = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PACKAGE);
	cpu->cores = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
	cpu->pus = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU);
	cpu->numa_nodes = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE);
	cpu->memory_bytes = root ? root->total_memory : 0;
	{
		long pages = sysconf(_SC_PHYS_PAGES);
		long psize = sysconf(_SC_PAGE_SIZE);
		cpu->os_memory_bytes = pages > 0 && psize > 0
		                           ? (uint64_t)pages * (uint64_t)psize
		                           : 0;
	}
	if (pkg)
		model = hwloc_obj_get_info_by_name(pkg, "CPUModel");
	snprintf(cpu->model, sizeof cpu->model, "%s", model ? model : "");
	/* some firmware pads the brand string with spaces; drop them */
	for (size_t n = strlen(cpu->model);
	     n > 0 && (cpu->model[n - 1] == ' ' || cpu->model[n - 1] == '\t');
	     n--)
		cpu->model[n - 1] = '\0';
	info_cache(topo, HWLOC_OBJ_L1CACHE, &cpu->l1d);
	info_cache(topo, HWLOC_OBJ_L2CACHE, &cpu->l2);
	info_cache(topo, HWLOC_OBJ_L3CACHE, &cpu->l3);
}

int cairn_info_hwloc_load(struct hwloc_topology *topo)
{
	int r;

#ifdef __SANITIZE_ADDRESS__
	__lsan_disable();
#endif
	r = hwloc_topology_load(topo);
#ifdef __SANITIZE_ADDRESS__
	__lsan_enable();
#endif
	return r;
}

/* Loads the topology with I/O discovery (important PCI devices, which
 * include every GPU).  If that fails, loads it without I/O and says so.
 * On success *out is owned by the caller (hwloc_topology_destroy). */
static int info_topology(struct cairn_info *info, hwloc_topology_t *out,
                         char *err, size_t err_len)
{
	hwloc_topology_t topo = NULL;
	int io = 1;

	*out = NULL;
	if (hwloc_topology_init(&topo) != 0)
		goto fail;
	if (hwloc_topology_set_io_types_filter(
	        topo, HWLOC_TYPE_FILTER_KEEP_IMPORTANT) != 0) {
		info_missing(info,
		             "hwloc I/O discovery: cannot turn it on "
		             "(%s); GPU locality is unknown",
		             strerror(errno));
		io = 0;
	}
	if (cairn_info_hwloc_load(topo) == 0)
		goto done;
	if (!io)
		goto fail;
	info_missing(info,
	             "hwloc I/O discovery: loading the topology with "
	             "it failed (%s); GPU locality is unknown",
	             strerror(errno));
	hwloc_topology_destroy(topo);
	topo = NULL;
	io = 0;
	if (hwloc_topology_init(&topo) != 0 || cairn_info_hwloc_load(topo) != 0)
		goto fail;
done:
	if (io && hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PCI_DEVICE) == 0)
		info_missing(info,
		             "hwloc I/O discovery: no PCI devices seen (is "
		             "/sys/bus/pci readable? was hwloc built with "
		             "PCI support?); GPU locality is unknown");
	*out = topo;
	return 0;
fail:
	if (err && err_len)
		snprintf(err, err_len,
		         "info: hwloc cannot read this machine's topology "
		         "(%s); check that /sys and /proc are mounted, or "
		         "run lstopo to see hwloc's own error",
		         strerror(errno));
	if (topo)
		hwloc_topology_destroy(topo);
	return CAIRN_EIO;
}

/* The GPU's NUMA node and cpus: those of the first non-I/O ancestor of
 * its PCI object. */
static void info_gpu_locality(struct cairn_info *info, hwloc_topology_t topo,
                              struct cairn_info_gpu *g)
{
	unsigned dom = 0, bus = 0, dev = 0, fn = 0;
	hwloc_obj_t pci, anc;
	int node;

	if (sscanf(g->pci_bus_id, "%x:%x:%x.%x", &dom, &bus, &dev, &fn) != 4) {
		info_missing(info,
		             "GPU %d: PCI bus id '%s' is not "
		             "domain:bus:device.function; its NUMA "
		             "node is unknown",
		             g->index, g->pci_bus_id);
		return;
	}
	pci = hwloc_get_pcidev_by_busid(topo, dom, bus, dev, fn);
	if (!pci) {
		info_missing(info,
		             "GPU %d (PCI %s): hwloc has no PCI object for "
		             "it; its NUMA node and cpus are unknown",
		             g->index, g->pci_bus_id);
		return;
	}
	anc = hwloc_get_non_io_ancestor_obj(topo, pci);
	if (!anc || !anc->cpuset)
		return;
	hwloc_bitmap_list_snprintf(g->cpuset, sizeof g->cpuset, anc->cpuset);
	node = anc->nodeset ? hwloc_bitmap_first(anc->nodeset) : -1;
	g->numa_node = node >= 0 ? node : -1;
}

/* ---- NVML ------------------------------------------------------------------
 */

/* The few NVML entry points used (no nvml.h here). */
typedef int nvml_ret;
typedef struct nvml_device_st *nvml_device;
struct nvml_util {
	unsigned gpu, memory;
};
#define NVML_OK 0
#define NVML_INSUFFICIENT_SIZE 7

/* Owned by info_nvml for the length of one call. */
struct nvml {
	void *dl;
	nvml_ret (*init)(void);
	nvml_ret (*shutdown)(void);
	const char *(*error_string)(nvml_ret);
	nvml_ret (*driver_version)(char *, unsigned);
	nvml_ret (*count)(unsigned *);
	nvml_ret (*by_bus_id)(const char *, nvml_device *);
	nvml_ret (*uuid)(nvml_device, char *, unsigned);
	nvml_ret (*util)(nvml_device, struct nvml_util *);
	nvml_ret (*compute_procs)(nvml_device, unsigned *, void *);
	nvml_ret (*graphics_procs)(nvml_device, unsigned *, void *);
};

static const char *nvml_err(const struct nvml *n, nvml_ret r)
{
	const char *s = n->error_string ? n->error_string(r) : NULL;
	return s ? s : "unknown NVML error";
}

/* Processes on d from one of NVML's calls; -1 when it cannot say.  Asks
 * with room for none: the answer is the count, not the list. */
static int nvml_procs(nvml_ret (*fn)(nvml_device, unsigned *, void *),
                      nvml_device d)
{
	unsigned char room[64];
	unsigned count = 0;
	nvml_ret r;

	if (!fn)
		return -1;
	r = fn(d, &count, room);
	if (r == NVML_OK)
		return 0;
	return r == NVML_INSUFFICIENT_SIZE ? (int)count : -1;
}

/* The newest of NVML's versioned names for a process query. */
static void nvml_procs_sym(void *dl, const char *base, void *fnptr, size_t size)
{
	static const char *const sfx[] = {"_v3", "_v2", ""};
	char name[96];

	for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++) {
		snprintf(name, sizeof name, "%s%s", base, sfx[i]);
		if (info_sym(dl, name, fnptr, size))
			return;
	}
}

/* UUID, utilisation and process counts of each GPU, and the driver's
 * version.  NVML missing or failing is said in info->missing. */
static void info_nvml(struct cairn_info *info)
{
	struct nvml n;
	const char *e;
	unsigned count = 0;
	nvml_ret r;

	memset(&n, 0, sizeof n);
	n.dl = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!n.dl) {
		e = dlerror();
		info_missing(info,
		             "NVML: libnvidia-ml.so.1 not loaded (%s); it "
		             "comes with the NVIDIA driver: no utilisation "
		             "or process counts",
		             e ? e : "not found");
		return;
	}
	info_sym(n.dl, "nvmlErrorString", &n.error_string,
	         sizeof n.error_string);
	if (!info_sym(n.dl, "nvmlInit_v2", &n.init, sizeof n.init) ||
	    !info_sym(n.dl, "nvmlShutdown", &n.shutdown, sizeof n.shutdown)) {
		info_missing(info, "NVML: libnvidia-ml.so.1 has no "
		                   "nvmlInit_v2; update the NVIDIA driver");
		goto out;
	}
	r = n.init();
	if (r != NVML_OK) {
		info_missing(info,
		             "NVML: nvmlInit failed (%s, code %d); check "
		             "nvidia-smi",
		             nvml_err(&n, r), r);
		goto out;
	}
	info_sym(n.dl, "nvmlSystemGetDriverVersion", &n.driver_version,
	         sizeof n.driver_version);
	info_sym(n.dl, "nvmlDeviceGetCount_v2", &n.count, sizeof n.count);
	info_sym(n.dl, "nvmlDeviceGetHandleByPciBusId_v2", &n.by_bus_id,
	         sizeof n.by_bus_id);
	info_sym(n.dl, "nvmlDeviceGetUUID", &n.uuid, sizeof n.uuid);
	info_sym(n.dl, "nvmlDeviceGetUtilizationRates", &n.util, sizeof n.util);
	nvml_procs_sym(n.dl, "nvmlDeviceGetComputeRunningProcesses",
	               &n.compute_procs, sizeof n.compute_procs);
	nvml_procs_sym(n.dl, "nvmlDeviceGetGraphicsRunningProcesses",
	               &n.graphics_procs, sizeof n.graphics_procs);

	if (n.driver_version &&
	    n.driver_version(info->versions.nvidia_driver,
	                     sizeof info->versions.nvidia_driver) != NVML_OK)
		info->versions.nvidia_driver[0] = '\0';
	if (info->gpu_count == 0 && n.count && n.count(&count) == NVML_OK &&
	    count > 0)
		info_missing(info,
		             "NVML sees %u NVIDIA GPU%s that the CUDA "
		             "runtime does not list (see the GPU entry above)",
		             count, count == 1 ? "" : "s");
	for (int i = 0; i < info->ngpus; i++) {
		struct cairn_info_gpu *g = &info->gpus[i];
		struct nvml_util u;
		nvml_device d = NULL;
		char uuid[96];

		if (!n.by_bus_id || !g->pci_bus_id[0] ||
		    (r = n.by_bus_id(g->pci_bus_id, &d)) != NVML_OK) {
			info_missing(info,
			             "NVML: no device at PCI %s (GPU %d); "
			             "its utilisation is unknown",
			             g->pci_bus_id, g->index);
			continue;
		}
		if (n.uuid && n.uuid(d, uuid, sizeof uuid) == NVML_OK)
			snprintf(g->uuid, sizeof g->uuid, "%s", uuid);
		if (n.util && n.util(d, &u) == NVML_OK) {
			g->util_gpu_percent = (int)u.gpu;
			g->util_mem_percent = (int)u.memory;
		}
		g->compute_procs = nvml_procs(n.compute_procs, d);
		g->graphics_procs = nvml_procs(n.graphics_procs, d);
	}
	n.shutdown();
out:
	dlclose(n.dl);
}

/* NCCL's version, when libnccl.so.2 is there.  Its absence matters only
 * to a rig with two GPUs or more. */
static void info_nccl(struct cairn_info *info)
{
	int (*get_version)(int *) = NULL;
	int v = 0;
	void *dl = dlopen("libnccl.so.2", RTLD_NOW | RTLD_LOCAL);

	if (!dl) {
		if (info->gpu_count >= 2)
			info_missing(info,
			             "NCCL: libnccl.so.2 not found; a job "
			             "across this rig's %d GPUs needs it "
			             "(install libnccl2)",
			             info->gpu_count);
		return;
	}
	if (info_sym(dl, "ncclGetVersion", &get_version, sizeof get_version) &&
	    get_version(&v) == 0)
		info->versions.nccl = v;
	else
		info_missing(info, "NCCL: libnccl.so.2 loaded but "
		                   "ncclGetVersion failed; reinstall libnccl2");
	dlclose(dl);
}

/* ---- collect ---------------------------------------------------------------
 */

int cairn_info_collect(struct cairn_info *info, char *err, size_t err_len)
{
	hwloc_topology_t topo = NULL;
	const char *ver;
	char why[256];
	int rc;

	if (err && err_len)
		err[0] = '\0';
	if (!info)
		return CAIRN_EINVAL;
	memset(info, 0, sizeof *info);
	info->versions.hwloc_api = hwloc_get_api_version();
	rc = info_topology(info, &topo, err, err_len);
	if (rc)
		goto out;
	info_cpu(topo, &info->cpu);
	/* The library adds its own release to the root at load time. */
	ver = hwloc_obj_get_info_by_name(hwloc_get_root_obj(topo),
	                                 "hwlocVersion");
	snprintf(info->versions.hwloc, sizeof info->versions.hwloc, "%s",
	         ver ? ver : "");

	for (int i = 0; i < CAIRN_INFO_MAX_GPUS; i++) {
		struct cairn_info_gpu *g = &info->gpus[i];
		g->numa_node = -1;
		g->util_gpu_percent = g->util_mem_percent = -1;
		g->compute_procs = g->graphics_procs = -1;
	}
	info->gpu_count = cairn__cuda_info(
	    info->gpus, CAIRN_INFO_MAX_GPUS, &info->versions.cuda_runtime,
	    &info->versions.cuda_driver, why, sizeof why);
	info->ngpus = info->gpu_count < CAIRN_INFO_MAX_GPUS
	                  ? info->gpu_count
	                  : CAIRN_INFO_MAX_GPUS;
	if (info->gpu_count == 0)
		info_missing(info, "GPU: none seen: %s", why);
	else if (why[0])
		info_missing(info, "GPU: %s", why);
	if (info->gpu_count > info->ngpus)
		info_missing(info,
		             "GPU: only the first %d of %d GPUs are "
		             "listed",
		             info->ngpus, info->gpu_count);
	for (int i = 0; i < info->ngpus; i++) {
		struct cairn_info_gpu *g = &info->gpus[i];
		for (char *p = g->pci_bus_id; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		if (g->pci_bus_id[0])
			info_gpu_locality(info, topo, g);
	}
	info_nvml(info);
	info_nccl(info);
out:
	if (topo)
		hwloc_topology_destroy(topo);
	return rc;
}

/* ---- cairn info ------------------------------------------------------------
 */

static void info_usage(FILE *f)
{
	fprintf(f,
	        "usage: cairn info [--json]\n\n"
	        "Shows the rig as the worker sees it: CPU topology, caches "
	        "and memory (hwloc),\neach GPU with its NUMA node and cpus, "
	        "utilisation and processes (CUDA,\nNVML), and the versions "
	        "of the libraries underneath.  What cannot be seen\n(no GPU, "
	        "no driver, no NVML, no I/O discovery) is listed under "
	        "'missing'.\n\n"
	        "options:\n"
	        "  --json       one JSON object on stdout (keys: "
	        "docs/info.md)\n"
	        "  -h, --help   this text\n\n"
	        "exit status: 0 done, 1 hwloc could not read the topology, 2 "
	        "bad usage.\n");
}

/* An int, or null when it is unknown (< 0). */
static void info_json_int(FILE *f, int v)
{
	if (v < 0)
		fprintf(f, "null");
	else
		fprintf(f, "%d", v);
}

/* A string, or null when it is empty. */
static void info_json_str_or_null(FILE *f, const char *s)
{
	if (s[0])
		cairn__cli_json_string(f, s);
	else
		fprintf(f, "null");
}

/* "M.m" from CUDA's 1000 * major + 10 * minor, or "" for 0. */
static void info_cuda_version(int v, char *buf, size_t len)
{
	if (v > 0)
		snprintf(buf, len, "%d.%d", v / 1000, v % 1000 / 10);
	else if (len)
		buf[0] = '\0';
}

static void info_print_json(FILE *f, const struct cairn_info *info)
{
	const struct cairn_info_cpu *c = &info->cpu;
	const struct cairn_info_versions *v = &info->versions;
	char buf[32];

	fprintf(f, "{\n  \"cpu\": {\n    \"model\": ");
	cairn__cli_json_string(f, c->model);
	fprintf(f,
	        ",\n    \"packages\": %d,\n    \"cores\": %d,\n"
	        "    \"pus\": %d,\n    \"numa_nodes\": %d,\n"
	        "    \"memory_bytes\": %llu,\n    \"os_memory_bytes\": %llu,\n"
	        "    \"caches\": {\n",
	        c->packages, c->cores, c->pus, c->numa_nodes,
	        (unsigned long long)c->memory_bytes,
	        (unsigned long long)c->os_memory_bytes);
	fprintf(f,
	        "      \"l1d\": {\"bytes\": %llu, \"count\": %d},\n"
	        "      \"l2\": {\"bytes\": %llu, \"count\": %d},\n"
	        "      \"l3\": {\"bytes\": %llu, \"count\": %d}\n    }\n  },\n",
	        (unsigned long long)c->l1d.bytes, c->l1d.count,
	        (unsigned long long)c->l2.bytes, c->l2.count,
	        (unsigned long long)c->l3.bytes, c->l3.count);
	fprintf(f, "  \"gpu_count\": %d,\n  \"gpus\": [", info->gpu_count);
	for (int i = 0; i < info->ngpus; i++) {
		const struct cairn_info_gpu *g = &info->gpus[i];
		fprintf(f, "%s\n    {\"index\": %d, \"name\": ", i ? "," : "",
		        g->index);
		cairn__cli_json_string(f, g->name);
		fprintf(f, ", \"uuid\": ");
		info_json_str_or_null(f, g->uuid);
		fprintf(f, ", \"pci_bus_id\": ");
		info_json_str_or_null(f, g->pci_bus_id);
		fprintf(f,
		        ",\n     \"memory_bytes\": %llu, \"sm_count\": %d, "
		        "\"compute_capability\": \"%d.%d\",\n"
		        "     \"numa_node\": ",
		        (unsigned long long)g->memory_bytes, g->sm_count,
		        g->cc_major, g->cc_minor);
		info_json_int(f, g->numa_node);
		fprintf(f, ", \"cpuset\": ");
		info_json_str_or_null(f, g->cpuset);
		fprintf(f, ",\n     \"utilization_percent\": ");
		info_json_int(f, g->util_gpu_percent);
		fprintf(f, ", \"memory_utilization_percent\": ");
		info_json_int(f, g->util_mem_percent);
		fprintf(f, ",\n     \"compute_processes\": ");
		info_json_int(f, g->compute_procs);
		fprintf(f, ", \"graphics_processes\": ");
		info_json_int(f, g->graphics_procs);
		fprintf(f, "}");
	}
	fprintf(f, "%s],\n  \"versions\": {\n    \"cairn\": \"%s\",\n",
	        info->ngpus ? "\n  " : "", CAIRN_VERSION);
	fprintf(f, "    \"hwloc\": ");
	info_json_str_or_null(f, v->hwloc);
	cairn_info_hwloc_version(v->hwloc_api, buf, sizeof buf);
	fprintf(f,
	        ",\n    \"hwloc_api\": \"%s\",\n    \"cuda_runtime\": ", buf);
	info_cuda_version(v->cuda_runtime, buf, sizeof buf);
	info_json_str_or_null(f, buf);
	fprintf(f, ",\n    \"cuda_driver\": ");
	info_cuda_version(v->cuda_driver, buf, sizeof buf);
	info_json_str_or_null(f, buf);
	fprintf(f, ",\n    \"nvidia_driver\": ");
	info_json_str_or_null(f, v->nvidia_driver);
	fprintf(f, ",\n    \"nccl\": ");
	if (v->nccl > 0)
		cairn_info_nccl_version(v->nccl, buf, sizeof buf);
	else
		buf[0] = '\0';
	info_json_str_or_null(f, buf);
	fprintf(f, "\n  },\n  \"missing\": [");
	for (int i = 0; i < info->nmissing; i++) {
		fprintf(f, "%s\n    ", i ? "," : "");
		cairn__cli_json_string(f, info->missing[i]);
	}
	fprintf(f, "%s]\n}\n", info->nmissing ? "\n  " : "");
}

/* The JSON of `cairn info --json`, for reports that embed it (the
 * whole-run report of `cairn bench`): the same bytes. */
void cairn_info_write_json(FILE *f, const struct cairn_info *info)
{
	info_print_json(f, info);
}

/* bytes as "512 KiB", "32 MiB", "5.6 GiB". */
static void info_size(uint64_t b, char *buf, size_t len)
{
	static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double x = (double)b;
	int u = 0;

	while (x >= 1024.0 && u < 4) {
		x /= 1024.0;
		u++;
	}
	if (x == (double)(uint64_t)x)
		snprintf(buf, len, "%llu %s", (unsigned long long)x, unit[u]);
	else
		snprintf(buf, len, "%.1f %s", x, unit[u]);
}

static void info_print_cache(FILE *f, const char *name,
                             const struct cairn_info_cache *c, int *first)
{
	char sz[32];

	if (!c->count)
		return;
	info_size(c->bytes, sz, sizeof sz);
	fprintf(f, "%s%s %s x%d", *first ? "" : ", ", name, sz, c->count);
	*first = 0;
}

/* "-" for an unknown (< 0) count or percentage. */
static const char *info_num(int v, char *buf, size_t len)
{
	if (v < 0)
		return "-";
	snprintf(buf, len, "%d", v);
	return buf;
}

/* Whether the OS's memory and hwloc's differ by more than 1 %: then the
 * text says both (a VM's NUMA nodes may hold less than it has). */
static int info_memory_differs(const struct cairn_info_cpu *c)
{
	uint64_t lo = c->memory_bytes, hi = c->os_memory_bytes;

	if (!lo || !hi)
		return 0;
	if (lo > hi) {
		uint64_t t = lo;
		lo = hi;
		hi = t;
	}
	return hi - lo > hi / 100;
}

static void info_print_text(FILE *f, const struct cairn_info *info)
{
	const struct cairn_info_cpu *c = &info->cpu;
	const struct cairn_info_versions *v = &info->versions;
	char a[32], b[32], d[32], e[32];
	int first = 1;

	info_size(c->memory_bytes, a, sizeof a);
	fprintf(f,
	        "cpu       %s%s%d package%s, %d core%s, %d PU%s, %d NUMA "
	        "node%s\n",
	        c->model, c->model[0] ? ": " : "", c->packages,
	        c->packages == 1 ? "" : "s", c->cores, c->cores == 1 ? "" : "s",
	        c->pus, c->pus == 1 ? "" : "s", c->numa_nodes,
	        c->numa_nodes == 1 ? "" : "s");
	fprintf(f, "memory    %s (%llu bytes)", a,
	        (unsigned long long)c->memory_bytes);
	if (info_memory_differs(c)) {
		info_size(c->os_memory_bytes, b, sizeof b);
		fprintf(f, " in hwloc's NUMA nodes; the OS has %s (%llu bytes)",
		        b, (unsigned long long)c->os_memory_bytes);
	}
	fputs("\ncaches    ", f);
	info_print_cache(f, "L1d", &c->l1d, &first);
	info_print_cache(f, "L2", &c->l2, &first);
	info_print_cache(f, "L3", &c->l3, &first);
	fprintf(f, "%s\n", first ? "none reported" : "");
	if (info->ngpus == 0)
		fprintf(f, "gpus      none\n");
	for (int i = 0; i < info->ngpus; i++) {
		const struct cairn_info_gpu *g = &info->gpus[i];
		info_size(g->memory_bytes, a, sizeof a);
		fprintf(f, "gpu %-5d %s (sm_%d%d, %d SMs, %s)\n", g->index,
		        g->name, g->cc_major, g->cc_minor, g->sm_count, a);
		fprintf(f, "          uuid %s, PCI %s\n",
		        g->uuid[0] ? g->uuid : "-",
		        g->pci_bus_id[0] ? g->pci_bus_id : "-");
		fprintf(f, "          NUMA node %s, cpus %s\n",
		        info_num(g->numa_node, a, sizeof a),
		        g->cpuset[0] ? g->cpuset : "-");
		if (g->util_gpu_percent >= 0)
			fprintf(f, "          busy %d%% (memory %s%%), ",
			        g->util_gpu_percent,
			        info_num(g->util_mem_percent, a, sizeof a));
		else
			fprintf(f, "          busy -, ");
		fprintf(f, "processes: %s compute, %s graphics\n",
		        info_num(g->compute_procs, d, sizeof d),
		        info_num(g->graphics_procs, e, sizeof e));
	}
	snprintf(a, sizeof a, "%s", v->hwloc[0] ? v->hwloc : "-");
	info_cuda_version(v->cuda_runtime, b, sizeof b);
	info_cuda_version(v->cuda_driver, d, sizeof d);
	if (v->nccl > 0)
		cairn_info_nccl_version(v->nccl, e, sizeof e);
	else
		e[0] = '\0';
	fprintf(f,
	        "versions  cairn %s, hwloc %s, CUDA runtime %s, driver's "
	        "CUDA %s, NVIDIA driver %s, NCCL %s\n",
	        CAIRN_VERSION, a, b[0] ? b : "-", d[0] ? d : "-",
	        v->nvidia_driver[0] ? v->nvidia_driver : "-", e[0] ? e : "-");
	if (info->nmissing)
		fprintf(f, "missing\n");
	for (int i = 0; i < info->nmissing; i++)
		fprintf(f, "  - %s\n", info->missing[i]);
}

/* `cairn info [--json]`: argv[0] is "info". */
int cairn_cmd_info(int argc, char **argv)
{
	struct cairn_info *info = NULL;
	char err[512];
	int json = 0, rc;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			info_usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--json")) {
			json = 1;
		} else {
			cairn_eprint("cairn: info: unknown argument '%s'; see "
			             "'cairn info --help'\n",
			             argv[i]);
			return 2;
		}
	}
	info = calloc(1, sizeof *info);
	if (!info) {
		cairn_eprint("cairn: info: out of memory (%zu bytes)\n",
		             sizeof *info);
		return 1;
	}
	rc = cairn_info_collect(info, err, sizeof err);
	if (rc) {
		cairn_eprint("cairn: %s\n", err[0] ? err : cairn_strerror(rc));
		rc = 1;
		goto out;
	}
	for (int i = 0; i < info->nmissing; i++)
		cairn_debug("info: missing: %s", info->missing[i]);
	if (json)
		info_print_json(stdout, info);
	else
		info_print_text(stdout, info);
out:
	free(info);
	return rc;
}
