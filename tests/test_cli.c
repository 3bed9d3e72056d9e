/* cairn: the binary as a user runs it (integration): exit codes, help,
 * errors that name the bad value, strict numbers, the bench suites and
 * signed reports, `cairn keygen` (new key, no overwrite, --show refusing
 * an open mode) and `cairn info --json`; `cairn train` is in
 * test_cli_train.c.  argv[1] is the path of the cairn binary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "../bench/bench.h" /* cairn__bench_report_check */
#include "cairn/cli.h"
#include "cairn/dataset.h"
#include "cairn/error.h"
#include "cairn/kernels.h"
#include "cairn/task.h"
#include "cairn/model.h"

#include "cli_fixture.h"

static void test_help_and_version(void **state)
{
	char *o;
	(void)state;
	assert_int_equal(run("--help", &o), 0);
	assert_non_null(strstr(o, "bench"));
	free(o);
	assert_int_equal(run("--version", &o), 0);
	assert_non_null(strstr(o, "exact-v1"));
	free(o);
	assert_int_equal(run("bench --help", &o), 0);
	assert_non_null(strstr(o, "gemm"));
	free(o);
	assert_int_equal(run("bench gemm --help", &o), 0);
	assert_non_null(strstr(o, "--size"));
	free(o);
	/* 'cairn -h COMMAND' is the command's help, not cairn's */
	assert_int_equal(run("-h train", &o), 0);
	assert_non_null(strstr(o, "--inner-steps"));
	free(o);
	assert_int_equal(run("--help verify", &o), 0);
	assert_non_null(strstr(o, "--verdicts"));
	free(o);
}

static void test_usage_errors(void **state)
{
	char *o;
	(void)state;
	assert_int_equal(run("", &o), 2);
	free(o);
	assert_int_equal(run("frobnicate", &o), 2);
	assert_non_null(strstr(o, "frobnicate"));
	free(o);
	assert_int_equal(run("--bogus", &o), 2);
	assert_non_null(strstr(o, "--bogus"));
	free(o);
	assert_int_equal(run("ledger", &o), 2); /* planned, not built */
	assert_non_null(strstr(o, "not built yet"));
	free(o);
	/* nothing after --help COMMAND or --version is ignored */
	assert_int_equal(run("--version extra", &o), 2);
	assert_non_null(strstr(o, "'extra'"));
	free(o);
	assert_int_equal(run("-h train extra", &o), 2);
	assert_non_null(strstr(o, "'extra'"));
	free(o);
	assert_int_equal(run("-h frobnicate", &o), 2);
	assert_non_null(strstr(o, "frobnicate"));
	free(o);
	assert_int_equal(run("-h ledger", &o), 2);
	assert_non_null(strstr(o, "not built yet"));
	free(o);
	assert_int_equal(run("bench nosuchsuite", &o), 2);
	assert_non_null(strstr(o, "nosuchsuite"));
	free(o);
	assert_int_equal(run("bench gemm --size -5", &o), 2);
	assert_non_null(strstr(o, "-5"));
	free(o);
	assert_int_equal(run("bench gemm --threads abc", &o), 2);
	assert_non_null(strstr(o, "abc"));
	free(o);
	assert_int_equal(run("bench gemm --device tpu", &o), 2);
	assert_non_null(strstr(o, "tpu"));
	free(o);
	/* a global option after the command: where it goes */
	assert_int_equal(run("info -v", &o), 2);
	assert_non_null(strstr(o, "put it before the command ('cairn -v "
	                          "info ...')"));
	free(o);
	assert_int_equal(run("verify --quiet", &o), 2);
	assert_non_null(strstr(o, "'cairn --quiet verify ...'"));
	free(o);
}

/* The suites that measure both devices by default (hash, stream, pcie and
 * the whole run) take CAIRN_DEVICE as their default, as every other
 * command does; --device wins over it, and a bad value names where it
 * came from. */
static int env_device_setup(void **state)
{
	const char *v = getenv("CAIRN_DEVICE");

	*state = v ? strdup(v) : NULL;
	return v && !*state ? -1 : 0;
}

/* CAIRN_DEVICE as it was, whether the test passed or not */
static int env_device_teardown(void **state)
{
	int rc = *state ? setenv("CAIRN_DEVICE", *state, 1)
	                : unsetenv("CAIRN_DEVICE");

	free(*state);
	return rc;
}

static void test_bench_device_env(void **state)
{
	char *o;
	(void)state;
	setenv("CAIRN_DEVICE", "tpu", 1);
	assert_int_equal(run("bench hash --quick", &o), 2);
	assert_non_null(strstr(o, "CAIRN_DEVICE 'tpu'"));
	free(o);
	assert_int_equal(run("bench stream --quick", &o), 2);
	assert_non_null(strstr(o, "CAIRN_DEVICE 'tpu'"));
	free(o);
	assert_int_equal(run("bench --quick", &o), 2);
	assert_non_null(strstr(o, "CAIRN_DEVICE 'tpu'"));
	free(o);
	/* the suites and commands that open one device refuse it before
	 * any work too, naming the variable, not --device */
	{
		static const char *const cmds[] = {
		    "bench gemm --size 64", "bench train --steps 1",
		    "bench audit", "train --job fmnist-mlp",
		    "verify /nonexistent/x.cairn"};
		for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
			int rc = run(cmds[i], &o);
			if (rc != 2 || !strstr(o, "CAIRN_DEVICE 'tpu'") ||
			    strstr(o, "--device 'tpu'"))
				fail_msg(
				    "CAIRN_DEVICE=tpu cairn %s: exit %d:\n%s",
				    cmds[i], rc, o);
			free(o);
		}
	}
	/* --device wins: the run goes on to the next check, the data */
	assert_int_equal(
	    run("train --job fmnist-mlp --device cpu --data /nonexistent/d",
	        &o),
	    2);
	assert_non_null(strstr(o, "/nonexistent/d"));
	assert_null(strstr(o, "CAIRN_DEVICE"));
	free(o);
	assert_int_equal(run("bench pcie --device tpu", &o), 2);
	assert_non_null(strstr(o, "--device 'tpu'"));
	free(o);
	setenv("CAIRN_DEVICE", "ref", 1);
	assert_int_equal(run("bench hash --quick", &o), 2);
	assert_non_null(strstr(o, "too slow"));
	free(o);
	setenv("CAIRN_DEVICE", "cpu", 1);
	assert_int_equal(run("bench pcie", &o), 2);
	assert_non_null(strstr(o, "CAIRN_DEVICE is cpu"));
	free(o);
	/* cpu only: no GPU row, and no word of a skipped GPU either */
	assert_int_equal(run("-q bench hash --quick --json", &o), 0);
	assert_non_null(strstr(o, "\"device\":\"cpu: "));
	assert_null(strstr(o, "gpu"));
	free(o);
	setenv("CAIRN_DEVICE", "tpu", 1);
	assert_int_equal(run("-q bench hash --quick --json --device cpu", &o),
	                 0);
	assert_non_null(strstr(o, "\"device\":\"cpu: "));
	free(o);
	/* a GPU the variable asks for and cannot have is named as the
	 * device that could not be opened, not as "the default" */
	setenv("CAIRN_DEVICE", "gpu", 1);
	{
		int rc = run("-q bench gemm --size 64", &o);
		if (rc && (rc != 1 || !strstr(o, "cannot open the gpu device")))
			fail_msg("CAIRN_DEVICE=gpu bench gemm: exit %d:\n%s",
			         rc, o);
		free(o);
	}
}

/* The JSON carries the figures the issue names, and the exact result was
 * checked against the reference bit for bit. */
static void test_bench_gemm_json(void **state)
{
	char *o;
	(void)state;
	assert_int_equal(run("-q bench gemm --device cpu --threads 2 --size 96 "
	                     "--reps 3 --json",
	                     &o),
	                 0);
	assert_non_null(strstr(o, "\"exact_gflops\""));
	assert_true(json_has(o, "bit_exact", "true"));
	free(o);
	assert_int_equal(run("-q bench gemm --device cpu --threads 1 --size 65 "
	                     "--layout tn --reps 2 --json",
	                     &o),
	                 0);
	assert_true(json_has(o, "layout", "\"tn\""));
	assert_true(json_has(o, "bit_exact", "true"));
	free(o);
}

/* cairn bench train: usage errors name the value; a short real run gives
 * the JSON keys (when the Fashion-MNIST files are installed). */
static void test_bench_train(void **state)
{
	char *o;
	int have_data;
	(void)state;
	assert_int_equal(run("bench train --help", &o), 0);
	assert_non_null(strstr(o, "--micro"));
	free(o);
	assert_int_equal(run("bench train --batch 256 --micro 7", &o), 2);
	assert_non_null(strstr(o, "7"));
	free(o);
	assert_int_equal(run("bench train --steps 0", &o), 2);
	free(o);
	/* bad input, as cairn train says it: exit 2 */
	assert_int_equal(
	    run("bench train --data /nonexistent/dir --steps 1", &o), 2);
	assert_non_null(strstr(o, "/nonexistent/dir"));
	free(o);
	have_data =
	    access(CAIRN_DATASET_DEFAULT_DIR "/train-images-idx3-ubyte.gz",
	           R_OK) == 0;
	if (!have_data)
		skip();
	assert_int_equal(run("-q bench train --device cpu --threads 2 --batch "
	                     "32 --micro 4 --steps 3 --warmup 1 --json",
	                     &o),
	                 0);
	assert_true(json_has(o, "micro", "4"));
	assert_true(json_has(o, "data_on_device", "false"));
	assert_non_null(strstr(o, "\"samples_per_second\""));
	/* the CPU times background commits only when asked */
	assert_true(json_has(o, "background_total_fraction", "null"));
	{
		char *b;
		const char *k;
		assert_int_equal(run("-q bench train --device cpu --threads 2 "
		                     "--batch 32 --micro 4 --steps 2 --warmup "
		                     "0 --checkpoint-every 2 --background "
		                     "--json",
		                     &b),
		                 0);
		k = strstr(b, "\"background_total_fraction\":");
		assert_non_null(k);
		k += strlen("\"background_total_fraction\":");
		if (!(*k >= '0' && *k <= '9') && *k != '-')
			fail_msg("no background figure: %s", b);
		free(b);
	}
	/* It trains what it says: the reference model from the suite's
	 * seed, steps 1..4 on the suite's samples; its last loss is step
	 * 4's, recomputed here with the library. */
	{
		cairn_backend *be = NULL;
		cairn_dataset *ds = NULL;
		cairn_model *m = NULL;
		cairn_mlp_spec spec;
		cairn_optim opt;
		float *x = malloc(32 * CAIRN_DATASET_PIXELS * sizeof *x), l = 0;
		int32_t y[32];
		uint32_t idx[32];
		char want[64];
		assert_non_null(x);
		assert_int_equal(
		    cairn_backend_open(CAIRN_BACKEND_CPU, NULL, &be), 0);
		assert_int_equal(
		    cairn_dataset_open(NULL, "train", &ds, NULL, 0), 0);
		cairn_mlp_spec_reference(&spec);
		assert_int_equal(cairn_model_create(be, &spec, 32, 4, &m), 0);
		assert_int_equal(cairn_model_init(m, CAIRN__BENCH_TRAIN_SEED),
		                 0);
		cairn_optim_defaults(&opt);
		for (uint32_t t = 1; t <= 4; t++) {
			assert_int_equal(
			    cairn_sample_indices(CAIRN__BENCH_TRAIN_SEED, 0, 0,
			                         t, ds->count, 32, idx),
			    0);
			assert_int_equal(
			    cairn_dataset_gather(ds, idx, 32, x, y, NULL, 0),
			    0);
			opt.adamw.step = t;
			assert_int_equal(
			    cairn_model_step(m, 32, 4, x, y, &opt, &l), 0);
		}
		snprintf(want, sizeof want, "%.6g", (double)l);
		if (!json_has(o, "last_loss", want))
			fail_msg(
			    "bench train's last loss is not step 4's (%s):\n"
			    "%s",
			    want, o);
		cairn_model_free(m);
		cairn_dataset_close(ds);
		cairn_backend_close(be);
		free(x);
	}
	free(o);
}

/* Asking for the GPU on a machine without one fails with a reason. */
static void test_bench_gpu_absent(void **state)
{
	char *o;
	int rc;
	(void)state;
	int said_why;
	rc = run("bench gemm --device gpu --size 64 --reps 1", &o);
	said_why = strstr(o, "GPU") || strstr(o, "CUDA");
	free(o);
	if (rc == 0)
		skip(); /* there is a GPU here */
	assert_int_not_equal(rc, 0);
	assert_true(said_why);
}

/* cairn bench pcie measures host-GPU copies: bad arguments are exit 2
 * whatever the machine; without a usable GPU, --json still says why
 * (gpu_skipped, exit 0) and --device gpu fails (exit 1). */
static void test_bench_pcie(void **state)
{
	char *o;
	int rc;
	(void)state;

	assert_int_equal(run("bench pcie --device cpu", &o), 2);
	assert_non_null(strstr(o, "use auto or gpu"));
	free(o);
	assert_int_equal(run("bench pcie --size 0", &o), 2);
	assert_non_null(strstr(o, "--size"));
	free(o);
	rc = run("-q bench pcie --json --size 8 --quick", &o);
	if (!strstr(o, "\"gpu_skipped\"")) {
		free(o);
		skip(); /* a GPU measured here: the gpu label's business */
	}
	assert_int_equal(rc, 0);
	assert_true(json_has(o, "suite", "\"pcie\""));
	assert_non_null(strstr(o, "\"results\":[]"));
	free(o);
	assert_int_equal(run("bench pcie --device gpu --size 8", &o), 1);
	assert_true(strstr(o, "GPU") || strstr(o, "CUDA"));
	free(o);
}

/* Whether s holds a run of exactly 64 lower-case hex digits. */
static int has_hex64(const char *s)
{
	size_t run = 0;
	for (const char *p = s;; p++) {
		int hex = (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f');
		if (hex) {
			run++;
		} else {
			if (run == 64)
				return 1;
			if (!*p)
				return 0;
			run = 0;
		}
	}
}

static void test_keygen(void **state)
{
	const char *dir = *state;
	char args[900], key[200], *o, *shown;
	struct stat st;
	int rc;

	/* A path that is not UTF-8 (a 0xff byte, a DEL) still makes valid
	 * JSON: U+FFFD and an escape, a euro sign kept as it is. */
	snprintf(args, sizeof args,
	         "keygen --json --out \"$(printf '%s/\\342\\202\\254"
	         "\\377\\177k')\"",
	         dir);
	assert_int_equal(run(args, &o), 0);
	if (!strstr(o, "/\xe2\x82\xac\\ufffd\\u007fk\"}"))
		fail_msg("keygen --json: %s", o);
	free(o);

	snprintf(key, sizeof key, "%s/k", dir);

	/* A new key: exit 0, the public key and the path, mode 0600. */
	snprintf(args, sizeof args, "keygen --out '%s'", key);
	assert_int_equal(run(args, &o), 0);
	assert_true(has_hex64(o));
	assert_non_null(strstr(o, key));
	assert_int_equal(stat(key, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);

	/* --show loads it back and prints the same public key. */
	snprintf(args, sizeof args, "keygen --show '%s'", key);
	assert_int_equal(run(args, &shown), 0);
	assert_string_equal(o, shown);
	free(shown);
	free(o);

	/* The same path again: exit 1, naming the path; the key stays. */
	snprintf(args, sizeof args, "keygen --out '%s'", key);
	assert_int_equal(run(args, &o), 1);
	assert_non_null(strstr(o, key));
	assert_non_null(strstr(o, "already exists"));
	free(o);
	/* a directory: said so, with what to give instead */
	assert_int_equal(run("keygen --out /tmp", &o), 1);
	assert_non_null(strstr(o, "/tmp is a directory; give the path of a "
	                          "new file"));
	free(o);

	/* A copy readable by others is refused with the fix to run. */
	snprintf(args, sizeof args, "cp '%s' '%s.644' && chmod 644 '%s.644'",
	         key, key, key);
	assert_int_equal(system(args), 0);
	snprintf(args, sizeof args, "keygen --show '%s.644'", key);
	assert_int_equal(run(args, &o), 1);
	assert_non_null(strstr(o, "chmod 600"));
	assert_non_null(strstr(o, "0644"));
	free(o);

	/* --json, and the default path under $HOME (directory mode 0700). */
	{
		char home[300], *old = getenv("HOME"), *saved = NULL, path[400];
		if (old)
			saved = strdup(old);
		snprintf(home, sizeof home, "%s/home", dir);
		assert_int_equal(mkdir(home, 0755), 0);
		setenv("HOME", home, 1);
		unsetenv("CAIRN_KEY");
		rc = run("keygen --json", &o);
		if (saved) {
			setenv("HOME", saved, 1);
			free(saved);
		} else {
			unsetenv("HOME");
		}
		assert_int_equal(rc, 0);
		snprintf(path, sizeof path, "\"%s/.config/cairn/worker.key\"",
		         home);
		assert_true(json_has(o, "path", path));
		assert_non_null(strstr(o, "\"public_key\""));
		assert_true(has_hex64(o));
		free(o);
		snprintf(path, sizeof path, "%s/.config/cairn", home);
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0700);
		snprintf(path, sizeof path, "%s/.config/cairn/worker.key",
		         home);
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0600);
	}

	/* Usage errors: exit 2. */
	assert_int_equal(run("keygen --out", &o), 2);
	free(o);
	assert_int_equal(run("keygen --out --json", &o), 2);
	assert_non_null(strstr(o, "looks like an option"));
	free(o);
	assert_int_equal(run("keygen --frob", &o), 2);
	assert_non_null(strstr(o, "--frob"));
	free(o);
}

/* The command line's numbers through the commands (the parsers
 * themselves are test_cli_parse.c's): refused with the option and the
 * value. */
static void test_parse_numbers(void **state)
{
	char *o;

	(void)state;
	assert_int_equal(run("train --job fmnist-mlp --seed ' -1'", &o), 2);
	assert_non_null(strstr(o, "--seed ' -1'"));
	free(o);
	assert_int_equal(run("train --job fmnist-mlp --rounds +2", &o), 2);
	assert_non_null(strstr(o, "--rounds '+2'"));
	free(o);
	assert_int_equal(run("train --job fmnist-mlp --gpus ' 0'", &o), 2);
	assert_non_null(strstr(o, "--gpus ' 0'"));
	free(o);
	assert_int_equal(run("train --job fmnist-mlp --lr 0x1p-3", &o), 2);
	assert_non_null(strstr(o, "--lr '0x1p-3'"));
	free(o);
	assert_int_equal(
	    run("train --job fmnist-mlp --optimizer sgd --momentum 1", &o), 2);
	assert_non_null(strstr(o, "--momentum '1'"));
	free(o);
}

/* ---- cairn info -----------------------------------------------------------
 */

/* `cairn info --json` holds the keys the issue names; a machine with no GPU
 * gives an empty gpus array and says why in missing.  Text mode and a bad
 * argument too. */
static void test_info_json(void **state)
{
	static const char *const keys[] = {
	    "\"cpu\":{",
	    "\"packages\":",
	    "\"cores\":",
	    "\"pus\":",
	    "\"numa_nodes\":",
	    "\"memory_bytes\":",
	    "\"os_memory_bytes\":",
	    "\"caches\":{",
	    "\"gpus\":[",
	    "\"versions\":{",
	    "\"hwloc\":\"",
	    "\"cuda_runtime\":",
	    "\"nvidia_driver\":",
	    "\"nccl\":",
	    "\"missing\":[",
	};
	char *o, *flat;
	size_t n = 0;
	(void)state;

	assert_int_equal(run("info --json", &o), 0);
	flat = malloc(strlen(o) + 1);
	assert_non_null(flat);
	for (const char *p = o; *p; p++) /* JSON strings here hold no tabs */
		if (*p != ' ' && *p != '\n' && *p != '\t')
			flat[n++] = *p;
	flat[n] = '\0';
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (!strstr(flat, keys[i]))
			fail_msg("no %s in cairn info --json:\n%s", keys[i], o);
	if (json_has(o, "gpu_count", "0")) {
		/* No GPU: an empty array, and a missing entry says why
		 * (no driver, no device, or a build without CUDA). */
		const char *m = strstr(flat, "\"missing\":[");
		assert_true(json_has(o, "gpus", "[]"));
		if (!m || !strstr(m, "\"GPU:noneseen:"))
			fail_msg("no GPU and no reason in missing:\n%s", o);
	} else {
		for (const char *k = flat; (k = strstr(k, "\"index\":")); k++)
			assert_non_null(strstr(k, "\"pci_bus_id\":"));
		assert_non_null(strstr(flat, "\"compute_capability\":\""));
		assert_non_null(strstr(flat, "\"sm_count\":"));
		assert_non_null(strstr(flat, "\"numa_node\":"));
		assert_non_null(strstr(flat, "\"uuid\":"));
	}
	free(flat);
	free(o);

	assert_int_equal(run("info", &o), 0);
	assert_non_null(strstr(o, "core"));
	assert_non_null(strstr(o, "NUMA node"));
	assert_non_null(strstr(o, "hwloc"));
	free(o);
	assert_int_equal(run("info --frob", &o), 2);
	assert_non_null(strstr(o, "--frob"));
	free(o);
	assert_int_equal(run("info --help", &o), 0);
	assert_non_null(strstr(o, "--json"));
	free(o);
}

/* The number after "key": in o (the first one), or -1 when absent or
 * null. */
static double json_num(const char *o, const char *key)
{
	char want[64];
	const char *p;

	snprintf(want, sizeof want, "\"%s\":", key);
	p = strstr(o, want);
	if (!p || !strncmp(p + strlen(want), "null", 4))
		return -1.0;
	return strtod(p + strlen(want), NULL);
}

/* Every result object of a report or suite in o has a positive value and
 * a ratio; returns how many there were. */
static int check_results(const char *o)
{
	const char *p = strstr(o, "\"results\":[");
	int n = 0;

	assert_non_null(p);
	while ((p = strstr(p, "{\"suite\":"))) {
		const char *end = strchr(p, '}');
		char *row;
		assert_non_null(end);
		row = strndup(p, (size_t)(end - p + 1));
		assert_non_null(row);
		if (strstr(row, "\"error\":"))
			fail_msg("a suite failed: %s", row);
		assert_non_null(strstr(row, "\"name\":\""));
		assert_non_null(strstr(row, "\"device\":\""));
		assert_non_null(strstr(row, "\"unit\":\""));
		assert_non_null(strstr(row, "\"reference\":"));
		assert_non_null(strstr(row, "\"reference_value\":"));
		assert_non_null(strstr(row, "\"ratio\":"));
		assert_true(json_num(row, "value") > 0.0);
		free(row);
		n++;
		p = end;
	}
	return n;
}

/* cairn bench stream / hash / the whole run: the JSON has the results
 * with their references and ratios, and a signed report verifies while
 * any changed byte of it is rejected. */
static void test_bench_suites(void **state)
{
	const char *dir = *state;
	char cmd[512], *o, *rep, key[64], out[64];
	size_t len = 0;
	FILE *f;

	assert_int_equal(
	    run("-q bench stream --device cpu --reps 3 --json", &o), 0);
	assert_true(json_has(o, "suite", "\"stream\""));
	assert_int_equal(check_results(o), 1);
	assert_true(json_num(o, "ratio") > 0.0);
	free(o);

	assert_int_equal(run("-q bench hash --device cpu --quick --json", &o),
	                 0);
	assert_true(json_has(o, "suite", "\"hash\""));
	assert_int_equal(check_results(o), 2);
	assert_non_null(strstr(o, "7454760"));
	free(o);

	assert_int_equal(run("bench nosuch --quick", &o), 2);
	free(o);
	assert_int_equal(run("bench --quick --out /tmp/x", &o), 2);
	assert_non_null(strstr(o, "--key"));
	free(o);

	/* the whole run, signed */
	snprintf(key, sizeof key, "%s/key", dir);
	snprintf(out, sizeof out, "%s/report", dir);
	snprintf(cmd, sizeof cmd, "-q keygen --out '%s'", key);
	assert_int_equal(run(cmd, &o), 0);
	free(o);
	/* --out never replaces a file (here the very key that signs) and a
	 * path that cannot be written is refused before any suite runs */
	{
		char was[512], now[512];
		size_t n0, n1;
		f = fopen(key, "rb");
		assert_non_null(f);
		n0 = fread(was, 1, sizeof was, f);
		fclose(f);
		snprintf(cmd, sizeof cmd,
		         "bench --quick --device cpu --out '%s' --key '%s'",
		         key, key);
		assert_int_equal(run(cmd, &o), 2);
		assert_non_null(strstr(o, "already exists"));
		assert_null(strstr(o, "gemm")); /* no suite ran */
		free(o);
		f = fopen(key, "rb");
		assert_non_null(f);
		n1 = fread(now, 1, sizeof now, f);
		fclose(f);
		assert_int_equal(n0, n1);
		assert_memory_equal(was, now, n0);
		snprintf(
		    cmd, sizeof cmd,
		    "bench --quick --device cpu --out '%s/no/r' --key '%s'",
		    dir, key);
		assert_int_equal(run(cmd, &o), 2);
		assert_non_null(strstr(o, "create it first"));
		free(o);
		/* a name longer than the file system takes (255 bytes) */
		snprintf(cmd, sizeof cmd,
		         "bench --quick --device cpu --out '%s/%0300d' --key "
		         "'%s'",
		         dir, 0, key);
		assert_int_equal(run(cmd, &o), 2);
		assert_non_null(strstr(o, "File name too long"));
		assert_null(strstr(o, "gemm"));
		free(o);
	}
	if (access(CAIRN_DATASET_DEFAULT_DIR "/train-images-idx3-ubyte.gz",
	           R_OK) != 0)
		skip(); /* the train suite needs Fashion-MNIST */
	snprintf(cmd, sizeof cmd,
	         "-q bench --quick --device cpu --json --out '%s' --key '%s'",
	         out, key);
	assert_int_equal(run(cmd, &o), 0);
	assert_non_null(strstr(o, "\"info\":{"));
	assert_non_null(strstr(o, "\"packages\":"));
	assert_true(json_has(o, "report", "\"cairn/report/v1\""));
	assert_int_equal(check_results(o),
	                 5); /* gemm, stream, hash x2, train */
	assert_true(json_has(o, "suite", "\"gemm\""));
	assert_true(json_has(o, "suite", "\"stream\""));
	assert_true(json_has(o, "suite", "\"hash\""));
	assert_true(json_has(o, "suite", "\"train\""));
	free(o);

	snprintf(cmd, sizeof cmd, "bench verify '%s'", out);
	assert_int_equal(run(cmd, &o), 0);
	assert_non_null(strstr(o, "good signature by "));
	/* --signer: the key that signed it passes, any other is rejected */
	{
		char pub[65], other[1024];
		memcpy(pub, strstr(o, "good signature by ") + 18, 64);
		pub[64] = '\0';
		free(o);
		snprintf(other, sizeof other, "%s --signer %s", cmd, pub);
		assert_int_equal(run(other, &o), 0);
		assert_non_null(strstr(o, "(the --signer)"));
		free(o);
		pub[0] = pub[0] == '0' ? '1' : '0';
		snprintf(other, sizeof other, "%s --signer %s", cmd, pub);
		assert_int_equal(run(other, &o), 1);
		assert_non_null(strstr(o, "not by the --signer"));
		free(o);
		snprintf(other, sizeof other, "%s --signer %.63s", cmd, pub);
		assert_int_equal(run(other, &o), 2);
		free(o);
		snprintf(other, sizeof other, "%s '%s'", cmd, out);
		assert_int_equal(run(other, &o), 2);
		assert_non_null(strstr(o, "one report at a time"));
		free(o);
	}
	/* not a regular file: refused at once (exit 2), a FIFO not waited
	 * on, a directory not taken for a short report */
	{
		char other[512];
		snprintf(other, sizeof other, "%s/fifo", dir);
		assert_int_equal(mkfifo(other, 0600), 0);
		snprintf(other, sizeof other, "bench verify '%s/fifo'", dir);
		assert_int_equal(run(other, &o), 2);
		assert_non_null(strstr(o, "not a regular file"));
		free(o);
		snprintf(other, sizeof other, "bench verify '%s'", dir);
		assert_int_equal(run(other, &o), 2);
		assert_non_null(strstr(o, "not a regular file"));
		free(o);
		/* more bytes than fstat said (a /proc file says 0): a file
		 * still being written is not judged on its first part */
		if (access("/proc/version", R_OK) == 0) {
			assert_int_equal(run("bench verify /proc/version", &o),
			                 2);
			assert_non_null(strstr(o, "grew while it was read"));
			free(o);
		}
	}

	/* flip every byte: each one is rejected (in process), and one of
	 * them through the command */
	f = fopen(out, "rb");
	assert_non_null(f);
	rep = malloc(1 << 20);
	assert_non_null(rep);
	len = fread(rep, 1, 1 << 20, f);
	fclose(f);
	assert_true(len > 200 && len < (1 << 20));
	assert_int_equal(cairn__bench_report_check(rep, len, NULL, NULL, 0), 0);
	for (size_t i = 0; i < len; i++) {
		for (int m = 0; m < 2; m++) {
			char was = rep[i];
			rep[i] = (char)(was ^ (m ? 0x80 : 0x01));
			if (cairn__bench_report_check(rep, len, NULL, NULL,
			                              0) == 0)
				fail_msg("byte %zu of the report changed and "
				         "still verified",
				         i);
			rep[i] = was;
		}
	}
	assert_int_not_equal(
	    cairn__bench_report_check(rep, len - 1, NULL, NULL, 0), 0);
	rep[len / 2] ^= 0x01;
	f = fopen(out, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(rep, 1, len, f), len);
	fclose(f);
	assert_int_equal(run(cmd, &o), 1);
	assert_non_null(strstr(o, "rejected"));
	free(o);
	free(rep);
}

/* Runs "cairn ARGS" with its stdout on /dev/full (every write fails,
 * ENOSPC) and its stderr captured: the exit code and stderr's text
 * (caller frees). */
static int run_stdout_full(const char *args, char **err)
{
	char cmd[1024];
	int w =
	    snprintf(cmd, sizeof cmd, "'%s' %s 2>&1 >/dev/full", g_bin, args);

	if (w < 0 || (size_t)w >= sizeof cmd)
		fail_msg("command too long: %s", args);
	return run_shell(cmd, err);
}

/* Output that could not be written is a failure, said on stderr, never
 * exit 0; what the command did stays done (a key file is kept). */
static void test_stdout_full(void **state)
{
	const char *dir = *state;
	const char *cmds[] = {"--version", "--help", "info --json",
	                      "train --help"};
	char args[600], key[300], *o;
	struct stat st;

	if (access("/dev/full", W_OK)) {
		skip(); /* no /dev/full here */
		return;
	}
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		int rc = run_stdout_full(cmds[i], &o);
		if (rc != 1 || !strstr(o, "cannot write to standard output") ||
		    !strstr(o, "No space left on device"))
			fail_msg("cairn %s >/dev/full: exit %d: %s", cmds[i],
			         rc, o);
		free(o);
	}
	snprintf(key, sizeof key, "%s/k", dir);
	snprintf(args, sizeof args, "keygen --out '%s'", key);
	assert_int_equal(run_stdout_full(args, &o), 1);
	assert_non_null(strstr(o, "cannot write to standard output"));
	free(o);
	assert_int_equal(stat(key, &st), 0); /* the key is kept */
	assert_int_equal(st.st_mode & 07777, 0600);
	/* a usage error keeps its own exit status */
	assert_int_equal(run_stdout_full("nosuch", &o), 2);
	free(o);
}

/* "cairn ARG" with SIGPIPE ignored and its stdout a pipe whose reader is
 * already gone (every write fails, EPIPE: `cairn ARG | head` when the
 * caller ignores SIGPIPE, without the race), stderr into the file errpath:
 * the exit code. */
static int run_stdout_epipe(const char *arg, const char *errpath)
{
	int fds[2], st, efd;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	close(fds[0]);
	efd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(efd >= 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		signal(SIGPIPE, SIG_IGN); /* kept across exec */
		if (dup2(fds[1], 1) != 1 || dup2(efd, 2) != 2)
			_exit(126);
		execl(g_bin, g_bin, arg, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	close(efd);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A reader that stopped early is named as such, not as a full disk; the
 * output is still lost, so still exit 1. */
static void test_stdout_epipe(void **state)
{
	const char *dir = *state;
	char path[300], o[4096];
	size_t n;
	FILE *f;

	snprintf(path, sizeof path, "%s/stderr", dir);
	assert_int_equal(run_stdout_epipe("--help", path), 1);
	assert_non_null(f = fopen(path, "r"));
	n = fread(o, 1, sizeof o - 1, f);
	fclose(f);
	o[n] = '\0';
	if (!strstr(o, "cannot write to standard output: Broken pipe") ||
	    !strstr(o, "the program reading it stopped") ||
	    strstr(o, "full disk"))
		fail_msg("cairn --help into a closed pipe: %s", o);
}

/* A binary file given to --verdicts (a bundle, say) is one error, not one
 * per line of it. */
static void test_verdicts_binary(void **state)
{
	const char *dir = *state;
	char path[300], args[600], *o, *p;
	FILE *f;
	int n = 0;

	snprintf(path, sizeof path, "%s/binary", dir);
	assert_non_null(f = fopen(path, "wb"));
	for (int i = 0; i < 200; i++)
		assert_int_equal(fwrite("ab\0cd\n", 1, 6, f), 6);
	assert_int_equal(fclose(f), 0);
	snprintf(args, sizeof args, "verify --verdicts '%s'", path);
	assert_int_equal(run(args, &o), 2);
	for (p = o; (p = strstr(p, "not a verdict:")); p++)
		n++;
	if (n != 1 || !strstr(o, "binary file"))
		fail_msg(
		    "verify --verdicts on a binary file: %d errors: %.300s", n,
		    o);
	free(o);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_help_and_version),
	    cmocka_unit_test(test_usage_errors),
	    cmocka_unit_test_setup_teardown(
	        test_bench_device_env, env_device_setup, env_device_teardown),
	    cmocka_unit_test(test_bench_gemm_json),
	    cmocka_unit_test(test_bench_train),
	    cmocka_unit_test(test_bench_gpu_absent),
	    cmocka_unit_test(test_bench_pcie),
	    cmocka_unit_test_setup_teardown(test_keygen, tmpdir_setup,
	                                    tmpdir_teardown),
	    cmocka_unit_test(test_parse_numbers),
	    cmocka_unit_test(test_info_json),
	    cmocka_unit_test_setup_teardown(test_bench_suites, tmpdir_setup,
	                                    tmpdir_teardown),
	    cmocka_unit_test_setup_teardown(test_stdout_full, tmpdir_setup,
	                                    tmpdir_teardown),
	    cmocka_unit_test_setup_teardown(test_verdicts_binary, tmpdir_setup,
	                                    tmpdir_teardown),
	    cmocka_unit_test_setup_teardown(test_stdout_epipe, tmpdir_setup,
	                                    tmpdir_teardown),
	};
	if (argc < 2) {
		fprintf(stderr, "usage: test_cli PATH-TO-CAIRN\n");
		return 2;
	}
	g_bin = argv[1];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
