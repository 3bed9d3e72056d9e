/* cairn: `cairn bench pcie`, host-device bandwidth of each GPU.
 *
 * For each CUDA device: host-to-device and device-to-host GB/s of
 * cudaMemcpyAsync (bench_pcie_cuda.cu) from pinned host memory on the
 * GPU's NUMA node, beside the same copies from pinned memory at the
 * default placement, the reference.  The two buffers differ only in where
 * their pages are, so the ratio is what binding to the GPU's node buys
 * (about 1 on a machine with one NUMA node, or when the default placement
 * happens to be the GPU's node: the report says where each buffer is).
 *
 * The GPU's node comes from hwloc, as `cairn info` finds it (worker/info.c):
 * the PCI object of the bus id CUDA reports, then its first non-I/O
 * ancestor, when that ancestor's nodeset is a single node.  When hwloc
 * cannot tell (no PCI discovery, a VM), the CUDA driver's
 * cudaDevAttrHostNumaId is used, and failing that the buffer is not bound
 * and its name says so.
 *
 * Binding: hwloc_alloc_membind(BIND, STRICT) then first touch here, then
 * cudaHostRegister in bench_pcie_cuda.cu; not cudaHostAlloc then
 * hwloc_set_area_membind.  cudaHostAlloc allocates and pins the pages at
 * once, on whatever node the allocating thread's policy gives; a binding
 * set afterwards applies only to pages not yet there, and the kernel does
 * not migrate pinned pages, so it would not move them.  With the policy
 * set before the first touch, every page is created on the GPU's node and
 * cudaHostRegister pins it there.  The reference is the same allocation
 * without the binding (hwloc_alloc, first touch by this thread, the
 * default local policy, cudaHostRegister): what a program that does not
 * care about NUMA gets.  Pageable memory is not the reference: its copies
 * measure the driver's staging through its own pinned buffers, not the
 * link.  The node each buffer landed on is read back with
 * hwloc_get_area_memlocation and printed.
 *
 * Ownership: the host buffers, the topology and the bitmaps are allocated
 * and freed here, per GPU, on every path.
 *
 * Exit codes: 0 ok (also when there is no GPU and --device is auto: the
 * suite is then skipped and says why), 1 a failure (or --device gpu with no
 * GPU), 2 bad usage. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hwloc.h>

#include "bench.h"
#include "cairn/error.h"
#include "cairn/info.h"
#include "cairn/text.h"

#define PCIE_DEFAULT_MIB 256
#define PCIE_MAX_MIB 65536
#define PCIE_MAX_GPUS 64
#define PCIE_REPS 20
#define PCIE_QUICK_REPS 5
#define PCIE_WARMUP 2

struct pcie_args {
	const char *device; /* "auto" (the GPUs when usable, else skipped)
	                     * or "gpu" (a GPU is required) */
	long long mib;      /* bytes per copy, in MiB */
	int reps;           /* 0: PCIE_REPS, or PCIE_QUICK_REPS with --quick */
	int quick, json;
};

/* One GPU's figures and where its buffers were. */
struct pcie_gpu_run {
	int ok;           /* 1: measured */
	char device[320]; /* "gpu0: NAME (PCI ..., NUMA node N from hwloc)" */
	char bound[160];  /* what the bound buffer is, for row names */
	char reference[160]; /* the reference buffer, for row names */
	char error[256];     /* when ok == 0 */
	struct cairn_bench_pcie_result res;
};

#ifndef CAIRN_HAVE_CUDA
/* This build has no CUDA: no GPU to measure. */
int cairn__bench_pcie_devices(struct cairn_bench_pcie_gpu *gpus, int max,
                              char *why, size_t len)
{
	(void)gpus;
	(void)max;
	snprintf(why, len, "this cairn was built without CUDA");
	return CAIRN_ENOTSUP;
}

int cairn__bench_pcie_cuda(const struct cairn_bench_pcie_cfg *cfg,
                           struct cairn_bench_pcie_result *res)
{
	(void)cfg;
	snprintf(res->why, sizeof res->why,
	         "this cairn was built without CUDA");
	return CAIRN_ENOTSUP;
}
#endif

static void pcie_usage(FILE *f)
{
	fprintf(f,
	        "usage: cairn bench pcie [OPTIONS]\n\n"
	        "Host-device bandwidth of each GPU: cudaMemcpyAsync "
	        "host-to-device and\ndevice-to-host from pinned memory bound "
	        "to the GPU's NUMA node (hwloc),\nbeside the same copies "
	        "from pinned memory at the default placement.\n\n"
	        "options:\n"
	        "  --device D   auto (every GPU; skipped when there is none) "
	        "or gpu\n"
	        "               (fail when there is none); default: "
	        "$CAIRN_DEVICE, else auto\n"
	        "  --size MIB   bytes per copy, in MiB (default %d)\n"
	        "  --reps R     timed copies of each kind, median reported "
	        "(default %d)\n"
	        "  --quick      fewer repetitions (%d)\n"
	        "  --json       one JSON object on stdout\n"
	        "  -h, --help   this text\n\n"
	        "exit status: 0 ok (or no GPU with --device auto), 1 "
	        "failure, 2 bad usage\n",
	        PCIE_DEFAULT_MIB, PCIE_REPS, PCIE_QUICK_REPS);
}

/* 0, 1 after --help, or 2 after printing a usage error. */
static int pcie_parse(int argc, char **argv, struct pcie_args *p)
{
	memset(p, 0, sizeof *p);
	p->mib = PCIE_DEFAULT_MIB;
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		long long x;
		int rc;

		if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
			pcie_usage(stdout);
			return 1;
		} else if (!strcmp(o, "--json")) {
			p->json = 1;
			continue;
		} else if (!strcmp(o, "--quick")) {
			p->quick = 1;
			continue;
		} else if (!strcmp(o, "--device") && v) {
			if (!strcmp(v, "cpu")) {
				cairn_eprint(
				    "cairn bench pcie: --device cpu: this "
				    "suite measures copies between the host "
				    "and a GPU; use auto or gpu\n");
				return 2;
			}
			if ((rc = cairn__bench_parse_device("pcie", v,
			                                    &p->device)))
				return rc;
		} else if (!strcmp(o, "--size")) {
			if ((rc = cairn__bench_parse_int("pcie", o, v, 1,
			                                 PCIE_MAX_MIB, &x)))
				return rc;
			p->mib = x;
		} else if (!strcmp(o, "--reps")) {
			if ((rc = cairn__bench_parse_int("pcie", o, v, 1, 10000,
			                                 &x)))
				return rc;
			p->reps = (int)x;
		} else {
			cairn_eprint(
			    "cairn bench pcie: unknown option '%s'%s; see "
			    "'cairn bench pcie --help'\n",
			    o, v ? "" : " (or a missing value)");
			return 2;
		}
		i++;
	}
	if (!p->reps)
		p->reps = p->quick ? PCIE_QUICK_REPS : PCIE_REPS;
	/* not given: $CAIRN_DEVICE, else auto */
	if (!p->device && cairn__bench_parse_device("pcie", NULL, &p->device))
		return 2;
	if (!strcmp(p->device, "cpu")) {
		cairn_eprint("cairn bench pcie: CAIRN_DEVICE is cpu, but this "
		             "suite measures copies between the host and a "
		             "GPU; unset CAIRN_DEVICE or pass --device gpu\n");
		return 2;
	}
	return 0;
}

/* The topology with I/O discovery (the PCI objects that give a GPU's
 * locality); without it when that fails.  NULL when hwloc cannot load any.
 * (cairn_info_hwloc_load: LeakSanitizer does not track hwloc's PCI
 * plugin's load). */
static hwloc_topology_t pcie_topology(void)
{
	hwloc_topology_t topo = NULL;
	int r;

	for (int io = 1; io >= 0; io--) {
		if (hwloc_topology_init(&topo))
			return NULL;
		if (io)
			hwloc_topology_set_io_types_filter(
			    topo, HWLOC_TYPE_FILTER_KEEP_IMPORTANT);
		r = cairn_info_hwloc_load(topo);
		if (!r)
			return topo;
		hwloc_topology_destroy(topo);
	}
	return NULL;
}

/* The OS index of the GPU's NUMA node, or -1; how[] says where it came
 * from ("hwloc", "the CUDA driver") or why it is unknown. */
static int pcie_gpu_node(hwloc_topology_t topo,
                         const struct cairn_bench_pcie_gpu *g, char *how,
                         size_t len)
{
	unsigned dom = 0, bus = 0, dev = 0, fn = 0;
	hwloc_obj_t pci = NULL, anc = NULL;

	if (sscanf(g->pci_bus_id, "%x:%x:%x.%x", &dom, &bus, &dev, &fn) == 4)
		pci = hwloc_get_pcidev_by_busid(topo, dom, bus, dev, fn);
	if (pci)
		anc = hwloc_get_non_io_ancestor_obj(topo, pci);
	if (anc && anc->nodeset && hwloc_bitmap_weight(anc->nodeset) == 1) {
		snprintf(how, len, "hwloc");
		return hwloc_bitmap_first(anc->nodeset);
	}
	if (g->host_numa >= 0 &&
	    hwloc_get_numanode_obj_by_os_index(topo, (unsigned)g->host_numa)) {
		snprintf(how, len, "the CUDA driver");
		return g->host_numa;
	}
	snprintf(how, len, "%s",
	         !pci ? "hwloc has no PCI object for it"
	              : "its hwloc locality spans several NUMA nodes");
	return -1;
}

/* The NUMA nodes the pages of [p, p + bytes) are on, in words ("node 0",
 * "nodes 0-1"), or "unknown nodes" when the kernel will not say. */
static void pcie_where(hwloc_topology_t topo, const void *p, size_t bytes,
                       char *buf, size_t len)
{
	hwloc_bitmap_t set = hwloc_bitmap_alloc();

	snprintf(buf, len, "unknown nodes");
	if (set &&
	    !hwloc_get_area_memlocation(topo, p, bytes, set,
	                                HWLOC_MEMBIND_BYNODESET) &&
	    !hwloc_bitmap_iszero(set)) {
		char list[32];
		hwloc_bitmap_list_snprintf(list, sizeof list, set);
		snprintf(buf, len, "node%s %s",
		         hwloc_bitmap_weight(set) == 1 ? "" : "s", list);
	}
	hwloc_bitmap_free(set);
}

/* Page-aligned memory bound to NUMA node `node` (-1: not bound); note[]
 * says why it is not bound when the binding failed.  NULL when out of
 * memory.  Free with hwloc_free(topo, p, bytes). */
static void *pcie_alloc_bound(hwloc_topology_t topo, size_t bytes, int node,
                              char *note, size_t len)
{
	hwloc_bitmap_t set;
	void *p = NULL;

	note[0] = '\0';
	if (node < 0)
		return hwloc_alloc(topo, bytes);
	set = hwloc_bitmap_alloc();
	if (!set)
		return NULL;
	hwloc_bitmap_only(set, (unsigned)node);
	errno = 0;
	p = hwloc_alloc_membind(topo, bytes, set, HWLOC_MEMBIND_BIND,
	                        HWLOC_MEMBIND_BYNODESET | HWLOC_MEMBIND_STRICT);
	if (!p && errno != ENOMEM) {
		/* e.g. a container whose seccomp profile denies mbind */
		snprintf(note, len, "binding failed: %s", strerror(errno));
		p = hwloc_alloc(topo, bytes);
	}
	hwloc_bitmap_free(set);
	return p;
}

/* Measures GPU g (ordinal d) into *run; 0 or a cairn error (run->error
 * says what). */
static int pcie_gpu(hwloc_topology_t topo, int d,
                    const struct cairn_bench_pcie_gpu *g,
                    const struct pcie_args *a, struct pcie_gpu_run *run)
{
	struct cairn_bench_pcie_cfg cfg;
	size_t bytes = (size_t)a->mib << 20;
	char how[64], note[80], at[40], at_ref[40];
	void *host = NULL, *ref = NULL;
	int node, rc;

	memset(&cfg, 0, sizeof cfg);
	if (!topo) {
		snprintf(run->device, sizeof run->device, "gpu%d: %s (PCI %s)",
		         d, g->name, g->pci_bus_id);
		snprintf(run->error, sizeof run->error,
		         "hwloc cannot load this machine's topology; run "
		         "lstopo to see hwloc's own error");
		return CAIRN_EIO;
	}
	node = pcie_gpu_node(topo, g, how, sizeof how);
	if (node >= 0)
		snprintf(run->device, sizeof run->device,
		         "gpu%d: %s (PCI %s, NUMA node %d from %s)", d, g->name,
		         g->pci_bus_id, node, how);
	else
		snprintf(run->device, sizeof run->device,
		         "gpu%d: %s (PCI %s, NUMA node unknown: %s)", d,
		         g->name, g->pci_bus_id, how);
	host = pcie_alloc_bound(topo, bytes, node, note, sizeof note);
	ref = hwloc_alloc(topo, bytes);
	if (!host || !ref) {
		snprintf(run->error, sizeof run->error,
		         "out of host memory for two buffers of %lld MiB; "
		         "try a smaller --size",
		         a->mib);
		rc = CAIRN_ENOMEM;
		goto out;
	}
	/* First touch: the bound buffer's pages are created on the GPU's
	 * node, the reference's where this thread's default policy puts
	 * them. */
	memset(host, 0xa5, bytes);
	memset(ref, 0x5a, bytes);
	pcie_where(topo, host, bytes, at, sizeof at);
	pcie_where(topo, ref, bytes, at_ref, sizeof at_ref);
	if (node >= 0 && !note[0])
		snprintf(run->bound, sizeof run->bound,
		         "pinned, bound to the GPU's NUMA node %d (pages on "
		         "%s)",
		         node, at);
	else
		snprintf(run->bound, sizeof run->bound,
		         "pinned, NOT bound (%s; pages on %s)",
		         note[0] ? note : "the GPU's NUMA node is unknown", at);
	snprintf(run->reference, sizeof run->reference,
	         "pinned at the default placement, not bound (pages on %s)",
	         at_ref);

	cfg.device = d;
	cfg.bytes = bytes;
	cfg.reps = a->reps;
	cfg.warmup = PCIE_WARMUP;
	cfg.host = host;
	cfg.host_ref = ref;
	rc = cairn__bench_pcie_cuda(&cfg, &run->res);
	if (rc) {
		snprintf(run->error, sizeof run->error, "%s",
		         run->res.why[0] ? run->res.why : cairn_strerror(rc));
		goto out;
	}
	run->ok = 1;
out:
	if (host)
		hwloc_free(topo, host, bytes);
	if (ref)
		hwloc_free(topo, ref, bytes);
	return rc;
}

/* Whether two buffers of mib MiB fit in half this machine's memory. */
static int pcie_fits(long long mib)
{
	long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
	double have = (double)pages * (double)psize;

	return pages <= 0 || psize <= 0 ||
	       2.0 * (double)mib * 1048576.0 <= 0.5 * have;
}

/* The results: one JSON object, or a small table. */
static void pcie_print(const struct pcie_args *a,
                       const struct pcie_gpu_run *runs, int n,
                       const char *skipped)
{
	static const char *const dir[2] = {"host-to-device", "device-to-host"};

	if (a->json) {
		char name[224];
		int first = 1;

		printf("{\"suite\":\"pcie\",\"bytes\":%llu,\"reps\":%d,"
		       "\"warmup\":%d,\"gpus\":%d,\"results\":[",
		       (unsigned long long)a->mib << 20, a->reps, PCIE_WARMUP,
		       n);
		for (int i = 0; i < n; i++) {
			const struct pcie_gpu_run *r = &runs[i];
			if (!r->ok)
				continue;
			for (int k = 0; k < 2; k++) {
				char ref[224];
				snprintf(name, sizeof name, "%s, %lld MiB, %s",
				         dir[k], a->mib, r->bound);
				snprintf(ref, sizeof ref, "cudaMemcpyAsync, %s",
				         r->reference);
				if (!first)
					printf(",");
				first = 0;
				cairn__bench_json_row(
				    stdout, "pcie", name, r->device,
				    k ? r->res.d2h_gbps : r->res.h2d_gbps,
				    "GB/s", ref,
				    k ? r->res.ref_d2h_gbps
				      : r->res.ref_h2d_gbps);
			}
		}
		printf("]");
		first = 1;
		for (int i = 0; i < n; i++) {
			if (runs[i].ok)
				continue;
			printf(first ? ",\"errors\":[" : ",");
			first = 0;
			printf("{\"device\":");
			cairn__bench_json_str(stdout, runs[i].device);
			printf(",\"error\":");
			cairn__bench_json_str(stdout, runs[i].error);
			printf("}");
		}
		if (!first)
			printf("]");
		if (skipped) {
			printf(",\"gpu_skipped\":");
			cairn__bench_json_str(stdout, skipped);
		}
		printf("}\n");
		return;
	}
	printf("cairn bench pcie: host-device bandwidth, copies of %lld MiB, "
	       "median of %d\n",
	       a->mib, a->reps);
	if (skipped) {
		printf("  %-10s not measured: %s\n", "gpu", skipped);
		return;
	}
	for (int i = 0; i < n; i++) {
		const struct pcie_gpu_run *r = &runs[i];
		printf("  %s\n", r->device);
		if (!r->ok) {
			cairn_text_print(stdout, "    FAILED: %s\n", r->error);
			continue;
		}
		printf("    %-10s %s\n", "cairn", r->bound);
		printf("    %-10s %s\n", "reference", r->reference);
		for (int k = 0; k < 2; k++) {
			double v = k ? r->res.d2h_gbps : r->res.h2d_gbps;
			double rv =
			    k ? r->res.ref_d2h_gbps : r->res.ref_h2d_gbps;
			printf("    %-15s %7.2f GB/s  reference %7.2f GB/s  "
			       "ratio %.3f\n",
			       dir[k], v, rv, rv > 0 ? v / rv : 0.0);
		}
	}
}

int cairn__bench_pcie_cmd(int argc, char **argv)
{
	struct pcie_args a;
	struct cairn_bench_pcie_gpu *gpus = NULL;
	struct pcie_gpu_run *runs = NULL;
	hwloc_topology_t topo = NULL;
	char why[256] = "";
	int rc, n, failed = 0, ex = 1;

	rc = pcie_parse(argc, argv, &a);
	if (rc)
		return rc == 1 ? 0 : 2;
	if (!pcie_fits(a.mib)) {
		cairn_eprint(
		    "cairn bench pcie: --size %lld: two host buffers of "
		    "that size need more than half of this machine's "
		    "memory; choose a smaller --size\n",
		    a.mib);
		return 2;
	}
	gpus = calloc(PCIE_MAX_GPUS, sizeof *gpus);
	if (!gpus) {
		cairn_eprint("cairn bench pcie: out of memory\n");
		return 1;
	}
	n = cairn__bench_pcie_devices(gpus, PCIE_MAX_GPUS, why, sizeof why);
	if (n < 0) {
		if (!why[0])
			snprintf(why, sizeof why, "%s", cairn_strerror(n));
		if (!strcmp(a.device, "gpu") || n == CAIRN_EDEVICE) {
			if (n == CAIRN_ENODEV)
				cairn_eprint(
				    "cairn bench pcie: --device %s: no "
				    "usable GPU (%s)\n",
				    a.device, why);
			else
				cairn_eprint(
				    "cairn bench pcie: --device %s: %s%s\n",
				    a.device, why,
				    n == CAIRN_ENOTSUP
				        ? "; rebuild with -DCAIRN_CUDA=ON "
				          "where nvcc is installed"
				        : "");
			goto out;
		}
		pcie_print(&a, NULL, 0, why); /* auto, no GPU: skipped */
		ex = 0;
		goto out;
	}
	if (n > PCIE_MAX_GPUS) {
		cairn_eprint(
		    "cairn bench pcie: %d GPUs; measuring the first %d\n", n,
		    PCIE_MAX_GPUS);
		n = PCIE_MAX_GPUS;
	}
	runs = calloc((size_t)n, sizeof *runs);
	if (!runs) {
		cairn_eprint("cairn bench pcie: out of memory\n");
		goto out;
	}
	topo = pcie_topology();
	for (int d = 0; d < n; d++) {
		if (isatty(2)) /* progress on a terminal only */
			fprintf(stderr, "\rcairn bench pcie: [%d/%d] gpu%d ...",
			        d + 1, n, d);
		if (pcie_gpu(topo, d, &gpus[d], &a, &runs[d]))
			failed++;
	}
	if (isatty(2))
		fprintf(stderr, "\r%50s\r", "");
	pcie_print(&a, runs, n, NULL);
	for (int d = 0; d < n; d++)
		if (!runs[d].ok)
			cairn_eprint("cairn bench pcie: %s: %s\n",
			             runs[d].device, runs[d].error);
	ex = failed ? 1 : 0;
out:
	if (topo)
		hwloc_topology_destroy(topo);
	free(runs);
	free(gpus);
	return ex;
}
