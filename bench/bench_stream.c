/* cairn: `cairn bench stream`, memory bandwidth.
 *
 * CPU: the STREAM triad a[j] = b[j] + s * c[j] on float64 arrays well
 * beyond the caches (each array at least 4 x the machine's L3, all three
 * at least 256 MiB, but all three at most a sixteenth of its memory: see
 * stream_cpu), on the CPU backend's thread pool (one contiguous
 * slice per thread, workers pinned to cores as the backend pins them).
 * GB/s counts STREAM's 24 bytes per element (read b and c, write a; the
 * write-allocate read is not counted).  Beside it, on the same threads,
 * slices and arrays, the independent loop of stream_ref.c (compiled
 * apart with -O2); the runs alternate, cairn then reference, after a
 * warm-up of each, and the medians are reported with their ratio.
 *
 * GPU (a build with CUDA and a usable device): a device-to-device copy with
 * cairn's kernel beside cudaMemcpyDeviceToDevice (bench_stream_cuda.cu).
 *
 * Exit codes: 0 ok, 1 a failure, 2 bad usage. */
#include <hwloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench.h"
#include "cairn/error.h"
#include "cairn/kernels.h"
#include "cairn/text.h"
#include "cpu/cpu_impl.h"

#define STREAM_MIN_TOTAL (256ull << 20) /* all three arrays, at least */
#define STREAM_L3_TIMES 4               /* each array >= 4 x the L3 */
#define STREAM_BYTES_PER_ELEM 24        /* 3 arrays x 8 bytes */
#define STREAM_SCALAR 3.0
#define STREAM_GPU_BYTES (1ull << 30) /* per buffer on the GPU */

struct stream_args {
	const char *device; /* "auto" (cpu, and the gpu when usable), "cpu",
	                     * "gpu" */
	int threads;        /* 0: one per core */
	int reps;           /* 0: 20, or 5 with --quick */
	int quick, json;
};

/* What the threads work on: one of the two loops over the arrays. */
struct stream_job {
	double *a, *b, *c;
	size_t n;
	int ref; /* 1: stream_ref.c's loop, 0: cairn's */
	int init;
};

#ifndef CAIRN_HAVE_CUDA
/* This build has no CUDA: no GPU side. */
int cairn__bench_stream_cuda(int device, size_t bytes, int reps,
                             struct cairn_bench_copy_result *res)
{
	(void)device;
	(void)bytes;
	(void)reps;
	snprintf(res->why, sizeof res->why,
	         "this cairn was built without CUDA");
	return CAIRN_ENOTSUP;
}
#endif

static void stream_usage(FILE *f)
{
	fprintf(f,
	        "usage: cairn bench stream [OPTIONS]\n\n"
	        "Memory bandwidth.  CPU: the STREAM triad a = b + s*c on "
	        "float64 arrays\nwell beyond the caches (24 bytes per "
	        "element), beside an independent\ntriad loop compiled apart "
	        "with -O2, on the same pinned threads.  GPU:\ndevice-to-device "
	        "copy (bytes read + written) beside cudaMemcpy.\n\n"
	        "options:\n"
	        "  --device D   auto (cpu, and the gpu when usable), cpu "
	        "or gpu;\n"
	        "               default: $CAIRN_DEVICE, else auto\n"
	        "  --threads T  CPU threads (default: one per core)\n"
	        "  --reps R     timed repetitions of each loop, median "
	        "reported (default 20)\n"
	        "  --quick      fewer repetitions (5)\n"
	        "  --json       one JSON object on stdout\n"
	        "  -h, --help   this text\n\n"
	        "exit status: 0 ok, 1 failure, 2 bad usage\n");
}

/* 0, 1 after --help, or 2 after printing a usage error. */
static int stream_parse(int argc, char **argv, struct stream_args *s)
{
	memset(s, 0, sizeof *s);
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		long long x;
		int rc;

		if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
			stream_usage(stdout);
			return 1;
		} else if (!strcmp(o, "--json")) {
			s->json = 1;
			continue;
		} else if (!strcmp(o, "--quick")) {
			s->quick = 1;
			continue;
		} else if (!strcmp(o, "--device") && v) {
			if ((rc = cairn__bench_parse_device("stream", v,
			                                    &s->device)))
				return rc;
		} else if (!strcmp(o, "--threads")) {
			if ((rc = cairn__bench_parse_int("stream", o, v, 1,
			                                 1024, &x)))
				return rc;
			s->threads = (int)x;
		} else if (!strcmp(o, "--reps")) {
			if ((rc = cairn__bench_parse_int("stream", o, v, 1,
			                                 10000, &x)))
				return rc;
			s->reps = (int)x;
		} else {
			cairn_eprint(
			    "cairn bench stream: unknown option '%s'%s; see "
			    "'cairn bench stream --help'\n",
			    o, v ? "" : " (or a missing value)");
			return 2;
		}
		i++;
	}
	if (!s->reps)
		s->reps = s->quick ? 5 : 20;
	/* not given: $CAIRN_DEVICE, else auto */
	if (!s->device)
		return cairn__bench_parse_device("stream", NULL, &s->device);
	return 0;
}

/* The machine's cores and its total L3 (all instances; the last-level
 * cache below it when there is no L3), from hwloc.  Defaults of 1 core
 * and 32 MiB when hwloc cannot tell. */
static void stream_topology(int *cores, uint64_t *llc)
{
	hwloc_topology_t topo;
	hwloc_obj_type_t types[] = {HWLOC_OBJ_L3CACHE, HWLOC_OBJ_L2CACHE};

	*cores = 1;
	*llc = 32ull << 20;
	if (hwloc_topology_init(&topo))
		return;
	if (!hwloc_topology_load(topo)) {
		int n = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
		if (n > 0)
			*cores = n;
		for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
			uint64_t sum = 0;
			hwloc_obj_t o = NULL;
			while (
			    (o = hwloc_get_next_obj_by_type(topo, types[t], o)))
				sum += o->attr ? o->attr->cache.size : 0;
			if (sum) {
				*llc = sum;
				break;
			}
		}
	}
	hwloc_topology_destroy(topo);
}

/* An array of bytes on 2 MiB boundaries, asking for huge pages where the
 * kernel gives them on request: the first touch of gigabytes then costs
 * a fraction of a second, not one fault per 4 KiB page.  NULL when out of
 * memory; free() releases it. */
static void *stream_alloc(size_t bytes)
{
	const size_t align = (size_t)2 << 20;
	size_t len = (bytes + align - 1) & ~(align - 1);
	void *p = aligned_alloc(align, len);
#ifdef MADV_HUGEPAGE
	if (p)
		(void)madvise(p, len, MADV_HUGEPAGE); /* a hint; may fail */
#endif
	return p;
}

/* cairn's triad over one slice: STREAM's kernel as STREAM states it, so
 * that the figure a worker advertises is the one STREAM would report on
 * its machine.  (An earlier version unrolled it by four, which GCC 12's
 * -O2 turns into SSE2 pairs: 11 to 26 % more GB/s on the 2-core
 * development machine than the textbook loop, a figure no STREAM run
 * there would give; bench/results/2026-11-22-cpu-bench-quick.md.) */
static void stream_triad(double *restrict a, const double *restrict b,
                         const double *restrict c, double s, size_t n)
{
	for (size_t j = 0; j < n; j++)
		a[j] = b[j] + s * c[j];
}

/* One thread's slice: first-touch initialisation, or one of the loops. */
static void stream_worker(void *arg, int tid, int nth)
{
	struct stream_job *job = arg;
	int64_t lo, hi;
	size_t n;

	cairn__split((int64_t)job->n, tid, nth, &lo, &hi);
	n = (size_t)(hi - lo);
	if (job->init) {
		for (int64_t j = lo; j < hi; j++) {
			job->a[j] = 0.0;
			job->b[j] = 1.0;
			job->c[j] = 2.0;
		}
	} else if (job->ref) {
		cairn__stream_ref_triad(job->a + lo, job->b + lo, job->c + lo,
		                        STREAM_SCALAR, n);
	} else {
		stream_triad(job->a + lo, job->b + lo, job->c + lo,
		             STREAM_SCALAR, n);
	}
}

/* The CPU triad, cairn's and the reference's: medians in GB/s. */
struct stream_cpu_result {
	int threads;
	size_t n, array_bytes;
	uint64_t llc; /* the caches hwloc reports (stream_topology) */
	int capped;   /* 1: arrays under 4 x llc, limited by memory */
	double gbps, ref_gbps;
	char desc[160];
};

static int stream_cpu(const struct stream_args *s,
                      struct stream_cpu_result *res)
{
	struct cairn_pool *pool = NULL;
	struct stream_job job;
	double *t = NULL, *tr = NULL;
	uint64_t llc, array, mem;
	long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
	int cores, rc;

	memset(&job, 0, sizeof job);
	stream_topology(&cores, &llc);
	res->threads = s->threads ? s->threads : cores;
	res->llc = llc;
	array = STREAM_L3_TIMES * llc;
	if (3 * array < STREAM_MIN_TOTAL)
		array = (STREAM_MIN_TOTAL + 2) / 3;
	mem = pages > 0 && psize > 0 ? (uint64_t)pages * (uint64_t)psize : 0;
	/* Beyond STREAM_MIN_TOTAL the three arrays take at most a
	 * sixteenth of the machine's memory: a virtual machine may report
	 * its host's whole L3 for each of its cores (1016 MiB for 2 cores
	 * was seen), and 4 x that must not push a rig into swap.  Whatever
	 * they come to, more than half of memory is not run. */
	{
		uint64_t cap =
		    mem / 16 > STREAM_MIN_TOTAL ? mem / 16 : STREAM_MIN_TOTAL;
		if (mem && 3 * array > cap) {
			/* a whole MiB each, rounded up: never under the
			 * minimum */
			array =
			    (cap / 3 + (1ull << 20) - 1) & ~((1ull << 20) - 1);
			res->capped = 1;
		}
	}
	if (mem && 3 * array > mem / 2) {
		cairn_eprint(
		    "cairn bench stream: 3 arrays of %llu MiB need more "
		    "than half of this machine's %llu MiB; not run\n",
		    (unsigned long long)(array >> 20),
		    (unsigned long long)(mem >> 20));
		return CAIRN_ENOMEM;
	}
	res->n = job.n = (size_t)(array / sizeof(double));
	res->array_bytes = job.n * sizeof(double);
	job.a = stream_alloc(job.n * sizeof(double));
	job.b = stream_alloc(job.n * sizeof(double));
	job.c = stream_alloc(job.n * sizeof(double));
	t = malloc((size_t)s->reps * sizeof *t);
	tr = malloc((size_t)s->reps * sizeof *tr);
	if (!job.a || !job.b || !job.c || !t || !tr) {
		rc = CAIRN_ENOMEM;
		goto out;
	}
	rc = cairn__pool_create(res->threads, 1, &pool);
	if (rc)
		goto out;
	snprintf(res->desc, sizeof res->desc, "cpu: %d thread%s, %s",
	         res->threads, res->threads == 1 ? "" : "s",
	         cairn__pool_describe(pool));
	job.init = 1; /* each thread touches its own slice first */
	cairn__pool_run(pool, stream_worker, &job);
	job.init = 0;
	for (int w = 0; w < 2; w++) { /* warm-up: one of each */
		job.ref = w;
		cairn__pool_run(pool, stream_worker, &job);
	}
	for (int r = 0; r < s->reps; r++) {
		for (int w = 0; w < 2; w++) {
			double t0 = cairn__bench_now();
			job.ref = w;
			cairn__pool_run(pool, stream_worker, &job);
			(w ? tr : t)[r] = cairn__bench_now() - t0;
		}
	}
	/* a = b + 3c = 7 everywhere; a wrong loop is not a bandwidth */
	if (job.a[0] != 7.0 || job.a[job.n - 1] != 7.0 ||
	    job.a[job.n / 2] != 7.0) {
		cairn_eprint("cairn bench stream: the triad computed %g, "
		             "not 7: this is a bug in cairn, please report "
		             "it\n",
		             job.a[job.n / 2]);
		rc = CAIRN_EDEVICE;
		goto out;
	}
	res->gbps = STREAM_BYTES_PER_ELEM * (double)job.n /
	            cairn__bench_median(t, s->reps) / 1e9;
	res->ref_gbps = STREAM_BYTES_PER_ELEM * (double)job.n /
	                cairn__bench_median(tr, s->reps) / 1e9;
out:
	if (pool)
		cairn__pool_destroy(pool);
	free(job.a);
	free(job.b);
	free(job.c);
	free(t);
	free(tr);
	return rc;
}

int cairn__bench_stream_cmd(int argc, char **argv)
{
	struct stream_args s;
	struct stream_cpu_result cpu;
	struct cairn_bench_copy_result gpu;
	int rc, have_cpu = 0, have_gpu = 0, want_gpu, want_cpu;
	char name[160];

	rc = stream_parse(argc, argv, &s);
	if (rc)
		return rc == 1 ? 0 : 2;
	memset(&cpu, 0, sizeof cpu);
	memset(&gpu, 0, sizeof gpu);
	want_cpu = strcmp(s.device, "gpu") != 0;
	want_gpu = strcmp(s.device, "cpu") != 0;
	if (want_cpu) {
		rc = stream_cpu(&s, &cpu);
		if (rc) {
			cairn_eprint("cairn bench stream: cpu triad: %s\n",
			             cairn_strerror(rc));
			return 1;
		}
		have_cpu = 1;
	}
	if (want_gpu) {
		rc =
		    cairn__bench_stream_cuda(0, STREAM_GPU_BYTES, s.reps, &gpu);
		if (rc == CAIRN_ENODEV) {
			char why[sizeof gpu.why] = "";
			cairn_cuda_probe(why, sizeof why);
			if (why[0])
				memcpy(gpu.why, why, sizeof why);
		}
		if (rc && !strcmp(s.device, "gpu")) {
			cairn_eprint(
			    "cairn bench stream: --device gpu: %s (%s); "
			    "use --device cpu\n",
			    cairn_strerror(rc), gpu.why);
			return 1;
		}
		have_gpu = rc == 0;
	}
	if (s.json) {
		int first = 1;
		printf("{\"suite\":\"stream\",\"bytes_per_element\":%d,"
		       "\"array_bytes\":%zu,\"cache_bytes\":%llu,"
		       "\"arrays_limited_by_memory\":%s,"
		       "\"threads\":%d,\"reps\":%d,\"results\":[",
		       STREAM_BYTES_PER_ELEM, cpu.array_bytes,
		       (unsigned long long)cpu.llc,
		       cpu.capped ? "true" : "false", cpu.threads, s.reps);
		if (have_cpu) {
			snprintf(name, sizeof name,
			         "triad float64, 3 x %zu MiB",
			         cpu.array_bytes >> 20);
			cairn__bench_json_row(stdout, "stream", name, cpu.desc,
			                      cpu.gbps, "GB/s",
			                      "independent triad loop "
			                      "(stream_ref.c, -O2)",
			                      cpu.ref_gbps);
			first = 0;
		}
		if (have_gpu) {
			char dev[160];
			if (!first)
				printf(",");
			snprintf(name, sizeof name,
			         "device-to-device copy, %llu MiB",
			         (unsigned long long)(STREAM_GPU_BYTES >> 20));
			snprintf(dev, sizeof dev, "gpu0: %s", gpu.device);
			cairn__bench_json_row(stdout, "stream", name, dev,
			                      gpu.kernel_gbps, "GB/s",
			                      "cudaMemcpyDeviceToDevice",
			                      gpu.memcpy_gbps);
		}
		printf("]");
		if (want_gpu && !have_gpu) {
			printf(",\"gpu_skipped\":");
			cairn__bench_json_str(stdout, gpu.why);
		}
		printf("}\n");
		return 0;
	}
	printf("cairn bench stream: memory bandwidth, median of %d\n", s.reps);
	if (have_cpu) {
		printf("  %-10s %s\n", "cpu", cpu.desc);
		printf("  %-10s float64, 3 arrays of %zu MiB, %d bytes per "
		       "element\n",
		       "triad", cpu.array_bytes >> 20, STREAM_BYTES_PER_ELEM);
		if (cpu.capped)
			printf("  %-10s under 4 x the %llu MiB of cache hwloc "
			       "reports: the three arrays\n  %-10s are "
			       "limited to a sixteenth of this machine's "
			       "memory%s\n",
			       "note", (unsigned long long)(cpu.llc >> 20), "",
			       cpu.array_bytes <= cpu.llc
			           ? ",\n             at most the cache: the "
			             "figure may include cache hits"
			           : "");
		printf("  %-10s %8.2f GB/s\n", "cairn", cpu.gbps);
		printf("  %-10s %8.2f GB/s  independent loop (stream_ref.c, "
		       "-O2)\n",
		       "reference", cpu.ref_gbps);
		printf("  %-10s %8.3f  (cairn / reference)\n", "ratio",
		       cpu.gbps / cpu.ref_gbps);
	}
	if (have_gpu) {
		printf("  %-10s gpu0: %s, device-to-device copy of %llu MiB "
		       "(read + write)\n",
		       "gpu", gpu.device,
		       (unsigned long long)(STREAM_GPU_BYTES >> 20));
		printf("  %-10s %8.1f GB/s\n", "cairn", gpu.kernel_gbps);
		printf("  %-10s %8.1f GB/s  cudaMemcpyDeviceToDevice\n",
		       "reference", gpu.memcpy_gbps);
		printf("  %-10s %8.3f  (cairn / reference)\n", "ratio",
		       gpu.kernel_gbps / gpu.memcpy_gbps);
	} else if (want_gpu) {
		printf("  %-10s not measured: %s\n", "gpu", gpu.why);
	}
	return 0;
}
