/* cairn: the binary as a user runs it (integration): exit codes, help,
 * errors that name the bad value, `cairn bench gemm --json`, and
 * `cairn keygen` (new key, no overwrite, --show refusing an open mode).
 * argv[1] is the path of the cairn binary. */
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

static const char *g_bin;

/* Runs "cairn ARGS" with stdout and stderr captured; returns the exit
 * code and the combined output (caller frees). */
static int run(const char *args, char **out)
{
	char cmd[1024];
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	FILE *p;
	int st;

	snprintf(cmd, sizeof cmd, "'%s' %s 2>&1", g_bin, args);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_non_null(buf);
	for (;;) {
		size_t n = fread(buf + len, 1, cap - len - 1, p);
		len += n;
		if (n == 0)
			break;
		if (cap - len < 2) {
			char *bigger = realloc(buf, cap * 2);
			assert_non_null(bigger);
			buf = bigger;
			cap *= 2;
		}
	}
	buf[len] = '\0';
	st = pclose(p);
	*out = buf;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A fresh directory under /tmp for one test (*state is its path), removed
 * with everything in it by the teardown, which cmocka runs whether the
 * test passed or failed: a failing run leaves nothing behind. */
static int tmpdir_setup(void **state)
{
	char *dir = strdup("/tmp/cairn-test-cli-XXXXXX");

	if (!dir || !mkdtemp(dir)) {
		fprintf(stderr, "test_cli: cannot make a directory in /tmp\n");
		free(dir);
		return -1;
	}
	*state = dir;
	return 0;
}

static int tmpdir_teardown(void **state)
{
	char cmd[128];
	int rc;

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", (char *)*state);
	rc = system(cmd);
	free(*state);
	return rc == 0 ? 0 : -1;
}

/* Whether JSON text o holds "key":value, whatever the white space. */
static int json_has(const char *o, const char *key, const char *value)
{
	char want[256], *flat = malloc(strlen(o) + 1);
	size_t n = 0;
	int found;

	assert_non_null(flat);
	for (const char *p = o; *p; p++)
		if (*p != ' ' && *p != '\n' && *p != '\t')
			flat[n++] = *p;
	flat[n] = '\0';
	snprintf(want, sizeof want, "\"%s\":%s", key, value);
	found = strstr(flat, want) != NULL;
	free(flat);
	return found;
}

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
	assert_int_equal(run("bench train --data /nonexistent/dir --steps 1",
			     &o),
			 2);
	assert_non_null(strstr(o, "/nonexistent/dir"));
	free(o);
	have_data = access(CAIRN_DATASET_DEFAULT_DIR
			   "/train-images-idx3-ubyte.gz",
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
	/* It trains what it says: the reference model from the suite's
	 * seed, steps 1..4 on the suite's samples; its last loss is step
	 * 4's, recomputed here with the library. */
	{
		cairn_backend *be = NULL;
		cairn_dataset *ds = NULL;
		cairn_model *m = NULL;
		cairn_mlp_spec spec;
		cairn_adamw_params opt;
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
		cairn_adamw_defaults(&opt);
		for (uint32_t t = 1; t <= 4; t++) {
			assert_int_equal(
			    cairn_sample_indices(CAIRN__BENCH_TRAIN_SEED, 0, 0,
			                         t, ds->count, 32, idx),
			    0);
			assert_int_equal(
			    cairn_dataset_gather(ds, idx, 32, x, y, NULL, 0),
			    0);
			opt.step = t;
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
		snprintf(path, sizeof path, "%s/.config/cairn/worker.key", home);
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

/* ---- cairn train ---------------------------------------------------------- */

/* A short job: 2 rounds of 2 tasks of 4 steps of 32 rows. */
#define SHORT_JOB                                                              \
	"train --job fmnist-mlp --rounds 2 --tasks 2 --inner-steps 4 "         \
	"--checkpoint-every 2 --batch 32 --micro 2 --json"

/* Copies the 64 hex digits after "key":" into out (65 bytes). */
static void json_hex(const char *o, const char *key, char out[65])
{
	char want[96];
	const char *p;
	snprintf(want, sizeof want, "\"%s\":\"", key);
	p = strstr(o, want);
	if (!p)
		fail_msg("no %s in: %s", key, o);
	p += strlen(want);
	assert_true(strlen(p) >= 64);
	memcpy(out, p, 64);
	out[64] = '\0';
	for (int i = 0; i < 64; i++)
		assert_non_null(strchr("0123456789abcdef", out[i]));
}

/* The same job gives the same final model root with 1 and 2 threads, both
 * CPU kernel sets, repeated, and on the scalar reference backend. */
static void test_train_same_root(void **state)
{
	static const char *const how[] = {
	    "--device cpu --threads 1 --test-samples 500",
	    "--device cpu --threads 2 --test-samples 500",
	    "--device cpu --threads 2 --test-samples 500", /* a repeat */
	    "--device cpu --threads 3 --test-samples 0",
	    "--device ref --test-samples 0",
	    "--device cpu --threads 2 --test-samples 0 --commits background",
	};
	char want[65] = "", got[65], args[512];
	(void)state;

	for (size_t i = 0; i < sizeof how / sizeof how[0]; i++) {
		char *o;
		int rc;
		snprintf(args, sizeof args, SHORT_JOB " %s", how[i]);
		if (i == 3)
			setenv("CAIRN_CPU_ISA", "portable", 1);
		rc = run(args, &o);
		unsetenv("CAIRN_CPU_ISA");
		if (rc != 0)
			fail_msg("cairn %s: exit %d\n%s", args, rc, o);
		json_hex(o, "final_model_root", got);
		assert_true(json_has(o, "rounds", "2"));
		/* one device: no transport */
		assert_true(json_has(o, "devices", "1"));
		assert_true(json_has(o, "transport", "\"\""));
		/* the CPU gathers on the host */
		assert_true(json_has(o, "data_on_device", "false"));
		assert_non_null(strstr(o, "\"samples_per_second\":"));
		assert_non_null(strstr(o, "\"per_round\":[{\"round\":0,\"loss\":"));
		assert_true(json_has(o, "commits",
				     strstr(how[i], "background")
					 ? "\"background\""
					 : "\"sync\""));
		if (strstr(how[i], "--test-samples 0"))
			assert_true(json_has(o, "test_accuracy", "null"));
		else
			assert_true(json_has(o, "test_samples", "500"));
		if (i == 0)
			memcpy(want, got, sizeof want);
		else if (strcmp(want, got))
			fail_msg("%s: final model root %s, first run %s", how[i],
				 got, want);
		free(o);
	}
	/* Another seed is another model. */
	{
		char *o;
		assert_int_equal(run(SHORT_JOB " --device cpu --seed 0x2a "
					       "--test-samples 0",
				     &o),
				 0);
		json_hex(o, "final_model_root", got);
		assert_string_not_equal(want, got);
		free(o);
	}
}

/* A new worker key, dir/worker.key, its path in key[len]. */
static void worker_key(const char *dir, char *key, size_t len)
{
	char args[512], *o;

	snprintf(key, len, "%s/worker.key", dir);
	snprintf(args, sizeof args, "keygen --out '%s'", key);
	assert_int_equal(run(args, &o), 0);
	free(o);
}

/* Bundles written with background commits (each checkpoint's tensors
 * read from the committer's snapshot; a task's last state collected only
 * after the next task ran, on the other of two committers) are the bytes
 * of those written with sync commits (read from the model), and cairn
 * verify accepts them.  Two rounds of two tasks: each committer serves a
 * second task after its first was finished. */
static void test_train_bundles_background(void **state)
{
	static const char *const modes[2] = {"sync", "background"};
	const char *dir = *state;
	char args[1024], sub[2][64], key[64], *o;
	size_t nfiles = 0;

	worker_key(dir, key, sizeof key);
	for (int i = 0; i < 2; i++) {
		int rc;
		snprintf(sub[i], sizeof sub[i], "%s/%s", dir, modes[i]);
		assert_int_equal(mkdir(sub[i], 0700), 0);
		snprintf(args, sizeof args,
		         "train --job fmnist-mlp --rounds 2 --tasks 2 "
		         "--inner-steps 4 --checkpoint-every 2 --batch 32 "
		         "--micro 2 --json --device cpu --threads 2 "
		         "--test-samples 0 --commits %s --bundle-dir '%s' "
		         "--key '%s'",
		         modes[i], sub[i], key);
		rc = run(args, &o);
		if (rc)
			fail_msg("cairn %s: exit %d\n%s", args, rc, o);
		assert_true(json_has(o, "commits", i ? "\"background\""
		                                     : "\"sync\""));
		free(o);
	}
	{
		DIR *d = opendir(sub[0]);
		struct dirent *e;
		assert_non_null(d);
		while ((e = readdir(d))) {
			/* nothing but the bundles: no spool or temporary
			 * file left behind */
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			if (e->d_name[0] == '.' || strlen(e->d_name) > 200)
				fail_msg("%s/%s left behind", sub[0], e->d_name);
			snprintf(args, sizeof args,
			         "cmp -s '%s/%s' '%s/%s'", sub[0], e->d_name,
			         sub[1], e->d_name);
			if (system(args))
				fail_msg("%s differs with background commits "
				         "(%s)",
				         e->d_name, args);
			snprintf(args, sizeof args, "verify '%s/%s'", sub[1],
			         e->d_name);
			if (run(args, &o))
				fail_msg("cairn %s:\n%s", args, o);
			free(o);
			nfiles++;
		}
		closedir(d);
		d = opendir(sub[1]);
		assert_non_null(d);
		while ((e = readdir(d)))
			if (e->d_name[0] == '.' && strcmp(e->d_name, ".") &&
			    strcmp(e->d_name, ".."))
				fail_msg("%s/%s left behind", sub[1], e->d_name);
		closedir(d);
	}
	assert_int_equal(nfiles, 4); /* one bundle per task */
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Names (not "." files) in dir, sorted, into names[max]; the count. */
static int list_bundles(const char *dir, char names[][256], int max)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.') {
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
				fail_msg("%s/%s left behind", dir, e->d_name);
			continue;
		}
		assert_true(n < max && strlen(e->d_name) < 256);
		strcpy(names[n++], e->d_name);
	}
	closedir(d);
	qsort(names, (size_t)n, 256, cmp_name);
	return n;
}

/* A job whose task could not write its bundle (a stale file holds its
 * name; cairn never replaces a bundle) fails before that task trains,
 * exit 1, naming the file, and still finishes the tasks that ran (with
 * background commits a task is finished only after the next one ran):
 * their bundles are written, the bytes of a good run's, and the stale
 * file is left as it was.  Each of the three tasks in turn is the one in
 * the way: 0, 1 and 2 tasks ran before it. */
static void test_train_bundle_failure_keeps_others(void **state)
{
	const char *dir = *state;
	char args[1024], cmd[1024], good[128], bad[128], key[128], path[512];
	char names[4][256], got[4][256], *o;
	int nbad[3], n;

	worker_key(dir, key, sizeof key);
	snprintf(good, sizeof good, "%s/good", dir);
	assert_int_equal(mkdir(good, 0700), 0);
#define BUNDLE_JOB                                                         \
	"train --job fmnist-mlp --rounds 1 --tasks 3 --inner-steps 4 "     \
	"--checkpoint-every 2 --batch 32 --micro 2 --device cpu "          \
	"--threads 2 --test-samples 0 --commits background --bundle-dir "
	snprintf(args, sizeof args, BUNDLE_JOB "'%s' --key '%s'", good, key);
	if (run(args, &o))
		fail_msg("cairn %s:\n%s", args, o);
	free(o);
	assert_int_equal(list_bundles(good, names, 4), 3);

	for (int s = 0; s < 3; s++) {
		FILE *f;
		char stale[16] = "";
		snprintf(bad, sizeof bad, "%s/bad%d", dir, s);
		assert_int_equal(mkdir(bad, 0700), 0);
		snprintf(path, sizeof path, "%s/%s", bad, names[s]);
		f = fopen(path, "w");
		assert_non_null(f);
		fputs("stale\n", f);
		assert_int_equal(fclose(f), 0);
		snprintf(args, sizeof args, BUNDLE_JOB "'%s' --key '%s'", bad,
			 key);
		if (run(args, &o) != 1)
			fail_msg("cairn %s: not exit 1 with %s in the way:\n%s",
				 args, path, o);
		if (!strstr(o, path) || !strstr(o, "never replaces"))
			fail_msg("the error names neither %s nor why:\n%s", path,
				 o);
		if (strstr(o, "round 1/1"))
			fail_msg("the round ended before the error:\n%s", o);
		free(o);
		f = fopen(path, "r");
		assert_non_null(f);
		assert_non_null(fgets(stale, sizeof stale, f));
		fclose(f);
		assert_string_equal(stale, "stale\n");
		n = list_bundles(bad, got, 4);
		nbad[s] = n - 1; /* the stale file is listed */
		for (int i = 0; i < n; i++) {
			if (!strcmp(got[i], names[s]))
				continue;
			snprintf(cmd, sizeof cmd, "cmp -s '%.127s/%.255s' '%.127s/%.255s'",
				 good, got[i], bad, got[i]);
			if (system(cmd))
				fail_msg("%s/%s is not the good run's (%s)", bad,
					 got[i], cmd);
		}
	}
#undef BUNDLE_JOB
	/* the first, second and third task in the way: 0, 1, 2 bundles */
	assert_int_equal(nbad[0] + nbad[1] + nbad[2], 3);
	assert_true(nbad[0] != nbad[1] && nbad[1] != nbad[2] &&
		    nbad[0] != nbad[2]);
}

/* Ctrl-C keeps what ran: SIGINT while the third of four tasks trains (its
 * first bundle appears only then, background commits finishing each task
 * after the next) stops the job at that task's next checkpoint with exit
 * 130, and the tasks that ran are finished: their bundles written (the
 * first two; the third as well should the signal come late) and each
 * accepted by cairn verify, nothing left behind. */
static void test_train_sigint_keeps_bundles(void **state)
{
	const char *dir = *state;
	char key[128], bdir[128], log[160], args[512], *o;
	char names[4][256];
	int st = 0, n, fd;
	pid_t pid;

	worker_key(dir, key, sizeof key);
	snprintf(bdir, sizeof bdir, "%s/b", dir);
	assert_int_equal(mkdir(bdir, 0700), 0);
	snprintf(log, sizeof log, "%s/train.log", dir);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		execl(g_bin, g_bin, "train", "--job", "fmnist-mlp", "--rounds",
		      "1", "--tasks", "4", "--inner-steps", "400",
		      "--checkpoint-every", "100", "--batch", "32", "--micro",
		      "2", "--device", "cpu", "--threads", "2",
		      "--test-samples", "0", "--commits", "background",
		      "--bundle-dir", bdir, "--key", key, (char *)NULL);
		_exit(127);
	}
	/* the first bundle: task 0, finished once task 1 ran */
	for (int i = 0; i < 6000; i++) {
		struct timespec ts = {0, 20 * 1000 * 1000};
		DIR *d = opendir(bdir);
		struct dirent *e;
		int found = 0;
		assert_non_null(d);
		while ((e = readdir(d)))
			found |= strstr(e->d_name, ".cairn") != NULL &&
			         e->d_name[0] != '.';
		closedir(d);
		if (found || waitpid(pid, &st, WNOHANG) == pid)
			break;
		nanosleep(&ts, NULL);
	}
	assert_int_equal(kill(pid, SIGINT), 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 130) {
		snprintf(args, sizeof args, "cat '%s'", log);
		(void)system(args);
		fail_msg("cairn train after SIGINT: status 0x%x, want exit 130",
		         (unsigned)st);
	}
	n = list_bundles(bdir, names, 4);
	if (n < 2 || n > 3)
		fail_msg("%d bundles after SIGINT during task 2 of 4", n);
	for (int i = 0; i < n; i++) {
		snprintf(args, sizeof args, "-q verify '%s/%s' --segments 1",
		         bdir, names[i]);
		if (run(args, &o))
			fail_msg("cairn %s:\n%s", args, o);
		free(o);
	}
	/* what the log says */
	snprintf(args, sizeof args, "grep -q 'stopped by SIGINT' '%s'", log);
	assert_int_equal(system(args), 0);
}

/* The command line's numbers: digits only, no sign, space or octal. */
static void test_parse_numbers(void **state)
{
	static const struct {
		const char *v;
		long long lo, hi;
		int rc;
		long long want;
	} ints[] = {
	    {"5", 1, 10, 0, 5},
	    {"010", 0, 100, 0, 10}, /* decimal, not octal */
	    {"-3", -5, 5, 0, -3},
	    {"0", 0, 0, 0, 0},
	    {" 5", 1, 10, CAIRN_EINVAL, 0},
	    {"+5", 1, 10, CAIRN_EINVAL, 0},
	    {"5 ", 1, 10, CAIRN_EINVAL, 0},
	    {"", 1, 10, CAIRN_EINVAL, 0},
	    {"-", -5, 5, CAIRN_EINVAL, 0},
	    {"-1", 0, 10, CAIRN_EINVAL, 0}, /* no sign where lo >= 0 */
	    {"1e3", 1, 10000, CAIRN_EINVAL, 0},
	    {"0x10", 1, 100, CAIRN_EINVAL, 0},
	    {"11", 1, 10, CAIRN_ERANGE, 0},
	    {"-6", -5, 5, CAIRN_ERANGE, 0},
	    {"9223372036854775808", 0, 100, CAIRN_ERANGE, 0},
	};
	static const struct {
		const char *v;
		int rc;
		unsigned long long want;
	} u64s[] = {
	    {"42", 0, 42},
	    {"0x2a", 0, 42},
	    {"0X2A", 0, 42},
	    {"010", 0, 10},
	    {"18446744073709551615", 0, ~0ull},
	    {"0xffffffffffffffff", 0, ~0ull},
	    {"18446744073709551616", CAIRN_ERANGE, 0},
	    {"0x10000000000000000", CAIRN_ERANGE, 0},
	    {"0x", CAIRN_EINVAL, 0},
	    {"", CAIRN_EINVAL, 0},
	    {"-1", CAIRN_EINVAL, 0},
	    {" 1", CAIRN_EINVAL, 0},
	    {"1 ", CAIRN_EINVAL, 0},
	    {"0x2g", CAIRN_EINVAL, 0},
	};
	char *o;

	(void)state;
	for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
		long long x = 77;
		int rc = cairn_cli_parse_int(ints[i].v, ints[i].lo, ints[i].hi,
					     &x);
		if (rc != ints[i].rc || x != (rc ? 77 : ints[i].want))
			fail_msg("cairn_cli_parse_int('%s', %lld, %lld): %d, "
				 "%lld",
				 ints[i].v, ints[i].lo, ints[i].hi, rc, x);
	}
	for (size_t i = 0; i < sizeof u64s / sizeof u64s[0]; i++) {
		unsigned long long x = 77;
		int rc = cairn_cli_parse_u64(u64s[i].v, &x);
		if (rc != u64s[i].rc || x != (rc ? 77 : u64s[i].want))
			fail_msg("cairn_cli_parse_u64('%s'): %d, %llu",
				 u64s[i].v, rc, x);
	}
	/* through the commands: refused with the option and the value */
	assert_int_equal(run("train --job fmnist-mlp --seed ' -1'", &o), 2);
	assert_non_null(strstr(o, "--seed ' -1'"));
	free(o);
	assert_int_equal(run("train --job fmnist-mlp --rounds +2", &o), 2);
	assert_non_null(strstr(o, "--rounds '+2'"));
	free(o);
	assert_int_equal(run("train --job fmnist-mlp --gpus ' 0'", &o), 2);
	assert_non_null(strstr(o, "--gpus ' 0'"));
	free(o);
}

static void test_train_errors(void **state)
{
	static const struct {
		const char *args, *needle;
	} bad[] = {
	    {"train", "--job is required"},
	    {"train --job resnet", "resnet"},
	    {"train --job fmnist-mlp --inner-steps 10 --checkpoint-every 3",
	     "--checkpoint-every 3"},
	    {"train --job fmnist-mlp --batch 30 --micro 4", "--micro 4"},
	    {"train --job fmnist-mlp --rounds 0", "--rounds '0'"},
	    {"train --job fmnist-mlp --seed -1", "--seed '-1'"},
	    {"train --job fmnist-mlp --gpus 0,0", "GPU 0 is named twice"},
	    {"train --job fmnist-mlp --gpus 1x", "'1x'"},
	    {"train --job fmnist-mlp --gpus 0 --device cpu", "--device cpu"},
	    {"train --job fmnist-mlp --bundle-dir /tmp", "--key"},
	    {"train --job fmnist-mlp --key /nonexistent/k", "--bundle-dir"},
	    {"train --job fmnist-mlp --device tpu", "--device 'tpu'"},
	    {"train --job fmnist-mlp --data ''", "--data ''"},
	    {"train --job fmnist-mlp --bundle-dir /nonexistent/dir --key k",
	     "/nonexistent/dir"},
	    {"train --job fmnist-mlp --data /nonexistent/data",
	     "/nonexistent/data"},
	    {"train --job fmnist-mlp --frob", "--frob"},
	    {"train --job fmnist-mlp --commits later", "--commits later"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *o;
		int rc = run(bad[i].args, &o);
		if (rc != 2 || !strstr(o, bad[i].needle))
			fail_msg("cairn %s: exit %d, want 2 and '%s' in:\n%s",
				 bad[i].args, rc, bad[i].needle, o);
		free(o);
	}
	/* Two GPUs: a short job where there are two, else exit 1 naming
	 * what is missing. */
	{
		char *o;
		int rc = run(SHORT_JOB " --test-samples 0 --gpus 0,1", &o);
		if (!(rc == 0 || (rc == 1 && strstr(o, "GPU"))))
			fail_msg("--gpus 0,1: exit %d:\n%s", rc, o);
		if (rc == 0 && !json_has(o, "devices", "2"))
			fail_msg("--gpus 0,1: no \"devices\":2 in:\n%s", o);
		if (rc == 0 && !strstr(o, "gradients move between the 2 GPUs"))
			fail_msg("--gpus 0,1: no transport line in:\n%s", o);
		free(o);
	}
}

/* ---- cairn info ----------------------------------------------------------- */

/* `cairn info --json` holds the keys the issue names; a machine with no GPU
 * gives an empty gpus array and says why in missing.  Text mode and a bad
 * argument too. */
static void test_info_json(void **state)
{
	static const char *const keys[] = {
	    "\"cpu\":{",        "\"packages\":",   "\"cores\":",
	    "\"pus\":",         "\"numa_nodes\":", "\"memory_bytes\":",
	    "\"caches\":{",     "\"gpus\":[",      "\"versions\":{",
	    "\"hwloc\":\"",     "\"cuda_runtime\":", "\"nvidia_driver\":",
	    "\"nccl\":",        "\"missing\":[",
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

	assert_int_equal(run("-q bench stream --device cpu --reps 3 --json",
			     &o),
			 0);
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
			 "bench --quick --device cpu --out '%s' --key '%s'", key,
			 key);
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
		snprintf(cmd, sizeof cmd,
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
	assert_int_equal(check_results(o), 5); /* gemm, stream, hash x2, train */
	assert_true(json_has(o, "suite", "\"gemm\""));
	assert_true(json_has(o, "suite", "\"stream\""));
	assert_true(json_has(o, "suite", "\"hash\""));
	assert_true(json_has(o, "suite", "\"train\""));
	free(o);

	snprintf(cmd, sizeof cmd, "bench verify '%s'", out);
	assert_int_equal(run(cmd, &o), 0);
	assert_non_null(strstr(o, "good signature"));
	free(o);
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
			if (cairn__bench_report_check(rep, len, NULL, NULL, 0) ==
			    0)
				fail_msg("byte %zu of the report changed and "
					 "still verified", i);
			rep[i] = was;
		}
	}
	assert_int_not_equal(cairn__bench_report_check(rep, len - 1, NULL,
						       NULL, 0),
			     0);
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

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_help_and_version),
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test_setup_teardown(test_bench_device_env,
		                                env_device_setup,
		                                env_device_teardown),
		cmocka_unit_test(test_bench_gemm_json),
		cmocka_unit_test(test_bench_train),
		cmocka_unit_test(test_bench_gpu_absent),
		cmocka_unit_test(test_bench_pcie),
		cmocka_unit_test_setup_teardown(test_keygen, tmpdir_setup,
		                                tmpdir_teardown),
		cmocka_unit_test(test_train_same_root),
		cmocka_unit_test(test_parse_numbers),
		cmocka_unit_test(test_train_errors),
		cmocka_unit_test_setup_teardown(test_train_bundles_background, tmpdir_setup,
		                                tmpdir_teardown),
		cmocka_unit_test_setup_teardown(
		    test_train_bundle_failure_keeps_others, tmpdir_setup,
		    tmpdir_teardown),
		cmocka_unit_test_setup_teardown(
		    test_train_sigint_keeps_bundles, tmpdir_setup,
		    tmpdir_teardown),
		cmocka_unit_test(test_info_json),
		cmocka_unit_test_setup_teardown(test_bench_suites, tmpdir_setup,
		                                tmpdir_teardown),
	};
	if (argc < 2) {
		fprintf(stderr, "usage: test_cli PATH-TO-CAIRN\n");
		return 2;
	}
	g_bin = argv[1];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
