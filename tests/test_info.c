/* cairn: `cairn info`'s collector (worker/info.c) against hwloc's own tools.
 *
 * - packages, cores, PUs, NUMA nodes and cache counts equal what
 *   `hwloc-calc --number-of TYPE all` says, memory and cache sizes what
 *   `hwloc-info` says, and hwloc's release that of `hwloc-info --version`
 *   (skipped when the tools are not installed: Debian's hwloc package),
 *   and the OS's memory what /proc/meminfo's MemTotal says (within 1 %);
 * - GPUs agree with cairn_cuda_probe, each listed GPU has its properties,
 *   and no GPU comes with a reason in missing;
 * - argument checks and the version formatting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cairn/error.h"
#include "cairn/info.h"
#include "cairn/kernels.h"

/* The tools the comparison runs; any missing skips it. */
static int have_tools(void)
{
	return system("command -v hwloc-calc >/dev/null 2>&1 && "
	              "command -v hwloc-info >/dev/null 2>&1") == 0;
}

/* Runs cmd and returns its first line of output into buf; 0 on success. */
static int first_line(const char *cmd, char *buf, size_t len)
{
	FILE *p = popen(cmd, "r");
	int ok;

	assert_non_null(p);
	ok = fgets(buf, (int)len, p) != NULL;
	if (pclose(p) != 0 || !ok)
		return -1;
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* `hwloc-calc --number-of TYPE all` as a number. */
static long long hwloc_count(const char *type)
{
	char cmd[128], line[128];

	snprintf(cmd, sizeof cmd, "hwloc-calc --number-of %s all 2>/dev/null",
	         type);
	if (first_line(cmd, line, sizeof line))
		fail_msg("%s failed", cmd);
	return strtoll(line, NULL, 10);
}

/* The number after "ATTR = " in `hwloc-info OBJ`; -1 when absent. */
static long long hwloc_attr(const char *obj, const char *attr)
{
	char cmd[160], line[256];
	long long v = -1;
	size_t n = strlen(attr);
	FILE *p;

	snprintf(cmd, sizeof cmd, "hwloc-info %s 2>/dev/null", obj);
	p = popen(cmd, "r");
	assert_non_null(p);
	while (fgets(line, sizeof line, p)) {
		const char *s = line + strspn(line, " ");
		if (!strncmp(s, attr, n) && !strncmp(s + n, " = ", 3))
			v = strtoll(s + n + 3, NULL, 10);
	}
	pclose(p);
	return v;
}

/* /proc/meminfo's MemTotal in bytes (it is in kB there). */
static unsigned long long meminfo_total(void)
{
	char line[256];
	unsigned long long kb = 0;
	FILE *f = fopen("/proc/meminfo", "r");

	assert_non_null(f);
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "MemTotal: %llu kB", &kb) == 1)
			break;
	fclose(f);
	assert_true(kb > 0);
	return kb * 1024;
}

static int setup(void **state)
{
	struct cairn_info *info = calloc(1, sizeof *info);
	char err[512];

	if (!info)
		return -1;
	if (cairn_info_collect(info, err, sizeof err)) {
		fprintf(stderr, "cairn_info_collect: %s\n", err);
		free(info);
		return -1;
	}
	*state = info;
	return 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

static void test_args(void **state)
{
	char err[64] = "x";
	(void)state;

	assert_int_equal(cairn_info_collect(NULL, err, sizeof err),
	                 CAIRN_EINVAL);
	assert_int_equal(cairn_info_collect(NULL, NULL, 0), CAIRN_EINVAL);
}

/* The CPU part always works, and agrees with hwloc's tools. */
static void test_cpu_matches_hwloc_tools(void **state)
{
	const struct cairn_info *info = *state;
	const struct cairn_info_cpu *c = &info->cpu;
	static const struct {
		const char *type, *obj;
		size_t off;
	} caches[] = {
	    {"l1dcache", "l1dcache:0", offsetof(struct cairn_info_cpu, l1d)},
	    {"l2cache", "l2cache:0", offsetof(struct cairn_info_cpu, l2)},
	    {"l3cache", "l3cache:0", offsetof(struct cairn_info_cpu, l3)},
	};

	assert_true(c->packages >= 1);
	assert_true(c->cores >= 1);
	assert_true(c->pus >= c->cores);
	assert_true(c->numa_nodes >= 1);
	assert_true(c->memory_bytes > 0);
	{
		/* within 1 %: a ballooned VM may change between the reads,
		 * and lxcfs fakes /proc/meminfo but not sysconf */
		unsigned long long mt = meminfo_total(),
		                   os = c->os_memory_bytes;
		if ((os > mt ? os - mt : mt - os) > mt / 100)
			fail_msg("os_memory_bytes %llu, MemTotal %llu bytes",
			         os, mt);
	}
	if (!have_tools())
		skip(); /* install Debian's hwloc package to compare */
	assert_int_equal(c->packages, hwloc_count("package"));
	assert_int_equal(c->cores, hwloc_count("core"));
	assert_int_equal(c->pus, hwloc_count("pu"));
	assert_int_equal(c->numa_nodes, hwloc_count("numanode"));
	assert_int_equal(c->memory_bytes,
	                 hwloc_attr("machine:0", "total memory"));
	for (size_t i = 0; i < sizeof caches / sizeof caches[0]; i++) {
		const struct cairn_info_cache *k =
		    (const void *)((const char *)c + caches[i].off);
		long long n = hwloc_count(caches[i].type);
		assert_int_equal(k->count, n);
		if (n > 0)
			assert_int_equal(
			    k->bytes,
			    hwloc_attr(caches[i].obj, "attr cache size"));
	}
}

static void test_hwloc_version(void **state)
{
	const struct cairn_info *info = *state;
	char line[128], want[160];

	assert_true(info->versions.hwloc_api >= 0x20000); /* hwloc 2 API */
	assert_true(info->versions.hwloc[0] == '2');
	if (!have_tools())
		skip();
	if (first_line("hwloc-info --version 2>&1", line, sizeof line))
		fail_msg("hwloc-info --version failed");
	snprintf(want, sizeof want, "hwloc-info %s", info->versions.hwloc);
	assert_string_equal(line, want);
}

/* Each listed GPU has its properties; the count agrees with the probe;
 * without one, missing says why. */
static void test_gpus(void **state)
{
	const struct cairn_info *info = *state;
	char why[256];
	int usable = cairn_cuda_probe(why, sizeof why);

	assert_true(info->ngpus <= info->gpu_count);
	assert_true(info->ngpus <= CAIRN_INFO_MAX_GPUS);
	assert_true(info->nmissing <= CAIRN_INFO_MAX_MISSING);
	for (int i = 0; i < info->nmissing; i++)
		assert_true(strlen(info->missing[i]) > 10);
	/* The probe counts the devices cairn can run on (sm_80 and up);
	 * info lists all the runtime sees. */
	assert_true(info->gpu_count >= usable);
	if (info->gpu_count == 0) {
		int said = 0;
		assert_int_equal(info->ngpus, 0);
		for (int i = 0; i < info->nmissing; i++)
			said |=
			    !strncmp(info->missing[i], "GPU: none seen: ", 16);
		assert_true(said);
		if (!cairn_backend_built(CAIRN_BACKEND_CUDA))
			assert_int_equal(info->versions.cuda_runtime, 0);
		return;
	}
	assert_true(info->versions.cuda_runtime > 0);
	assert_true(info->versions.cuda_driver > 0);
	for (int i = 0; i < info->ngpus; i++) {
		const struct cairn_info_gpu *g = &info->gpus[i];
		unsigned d, b, v, f;
		assert_int_equal(g->index, i);
		assert_true(g->name[0]);
		assert_true(g->memory_bytes > 0);
		assert_true(g->sm_count > 0);
		assert_true(g->cc_major > 0);
		assert_int_equal(
		    sscanf(g->pci_bus_id, "%x:%x:%x.%x", &d, &b, &v, &f), 4);
		assert_int_equal(strncmp(g->uuid, "GPU-", 4), 0);
		if (g->numa_node >= 0)
			assert_true(g->numa_node < 4096 && g->cpuset[0]);
	}
}

static void test_version_formats(void **state)
{
	char buf[32];
	(void)state;

	cairn_info_hwloc_version(0x00020900, buf, sizeof buf);
	assert_string_equal(buf, "2.9.0");
	cairn_info_hwloc_version(0x00020b01, buf, sizeof buf);
	assert_string_equal(buf, "2.11.1");
	cairn_info_nccl_version(22105, buf, sizeof buf);
	assert_string_equal(buf, "2.21.5");
	cairn_info_nccl_version(2804, buf, sizeof buf);
	assert_string_equal(buf, "2.8.4");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_args),
	    cmocka_unit_test(test_cpu_matches_hwloc_tools),
	    cmocka_unit_test(test_hwloc_version),
	    cmocka_unit_test(test_gpus),
	    cmocka_unit_test(test_version_formats),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
