/* cairn: `cairn train` as a user runs it (integration): the same final
 * model root with 1 and 2 threads and with sync or background commits,
 * signed bundles that `cairn verify` accepts, usage errors that name the
 * bad value, a failed task that keeps the others' bundles, Ctrl-C
 * that keeps what ran, and SGD inside.  argv[1] is the path of the cairn
 * binary. */
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

#include "cli_fixture.h"
#include "cairn/dataset.h"
#include "cairn/task.h"

/* ---- cairn train ----------------------------------------------------------
 */

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
		assert_non_null(
		    strstr(o, "\"per_round\":[{\"round\":0,\"loss\":"));
		/* where the commitment time went, the collect part included */
		assert_non_null(strstr(o, "\"commitment_parts\":{\"t0\":"));
		assert_non_null(strstr(o, "\"collect\":"));
		assert_non_null(strstr(o, "\"deferred_counted\":true"));
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
			fail_msg("%s: final model root %s, first run %s",
			         how[i], got, want);
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
		assert_true(
		    json_has(o, "commits", i ? "\"background\"" : "\"sync\""));
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
				fail_msg("%s/%s left behind", sub[0],
				         e->d_name);
			snprintf(args, sizeof args, "cmp -s '%s/%s' '%s/%s'",
			         sub[0], e->d_name, sub[1], e->d_name);
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
				fail_msg("%s/%s left behind", sub[1],
				         e->d_name);
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
#define BUNDLE_JOB                                                             \
	"train --job fmnist-mlp --rounds 1 --tasks 3 --inner-steps 4 "         \
	"--checkpoint-every 2 --batch 32 --micro 2 --device cpu "              \
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
			fail_msg("the error names neither %s nor why:\n%s",
			         path, o);
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
			snprintf(cmd, sizeof cmd,
			         "cmp -s '%.127s/%.255s' '%.127s/%.255s'", good,
			         got[i], bad, got[i]);
			if (system(cmd))
				fail_msg("%s/%s is not the good run's (%s)",
				         bad, got[i], cmd);
		}
	}
#undef BUNDLE_JOB
	/* the first, second and third task in the way: 0, 1, 2 bundles */
	assert_int_equal(nbad[0] + nbad[1] + nbad[2], 3);
	assert_true(nbad[0] != nbad[1] && nbad[1] != nbad[2] &&
	            nbad[0] != nbad[2]);
}

/* Runs a job of one task (or tasks, with background commits) of 2 steps of
 * the reference model, 2 checkpoints (each bundle about 45 MB, and its
 * checkpoints' file as much), with --bundle-dir on a tmpfs mounted with
 * mopts ("size=60m", say) in a mount namespace of its own (unshare -m), so
 * the mount ends with the command whatever happens.  The output, then
 * "exit=N" and "files=N" (what is left in the directory).  -1 where such
 * a mount is not allowed here. */
static int run_on_small_fs(const char *dir, const char *key, const char *mopts,
                           int tasks, char **o)
{
	char cmd[2048];

	/* the probe mounts on dir itself (/mnt need not exist) */
	snprintf(cmd, sizeof cmd,
	         "unshare -m --propagation private sh -c "
	         "'mount -t tmpfs -o size=1m tmpfs \"$1\"' sh '%s' "
	         "2>/dev/null",
	         dir);
	if (system(cmd))
		return -1;
	snprintf(cmd, sizeof cmd,
	         "unshare -m --propagation private sh -c '"
	         "mkdir -p \"$1/b\" && "
	         "mount -t tmpfs -o %s tmpfs \"$1/b\" || exit 77; "
	         "\"$2\" train --job fmnist-mlp --rounds 1 --tasks %d "
	         "--inner-steps 2 --checkpoint-every 1 --test-samples 0 "
	         "--device cpu --commits %s --bundle-dir \"$1/b\" "
	         "--key \"$3\" 2>&1; "
	         "echo exit=$?; echo files=$(ls -A \"$1/b\" | wc -l)' "
	         "sh '%s' '%s' '%s'",
	         mopts, tasks, tasks > 1 ? "background" : "sync", dir, g_bin,
	         key);
	return run_shell(cmd, o);
}

/* A --bundle-dir with room for the checkpoints but not for the bundle that
 * follows them: the task is refused before it trains, saying how much is
 * free and needed, and nothing is left there; with room, the same job
 * writes its bundle.  Before, the task trained and then failed to write. */
static void test_train_bundle_no_room(void **state)
{
	/* the file system, the tasks (two: background commits, so the
	 * first's bundle is still to be written when the second is
	 * checked), the exit and files left, a text that must be there and
	 * one that must not */
	static const struct {
		const char *mopts;
		int tasks;
		const char *tail, *has, *hasnt;
	} cases[] = {
	    /* no room for the bundle: refused before the round, the room
	     * named, nothing left */
	    {"size=60m", 1, "exit=1\nfiles=0\n",
	     "MB free once the checkpoints'", "round 1/1"},
	    {"size=120m", 1, "exit=0\nfiles=1\n", "round 1/1", NULL},
	    /* the second task refused; the first's bundle still written
	     * (the job keeps what ran) */
	    {"size=100m", 2, "exit=1\nfiles=1\n", "write the bundles elsewhere",
	     NULL},
	    {"size=150m", 2, "exit=0\nfiles=2\n", "round 1/1", NULL},
	    /* a directory nobody may write (read-only binds root too): bad
	     * usage before any work */
	    {"ro,size=1m", 1, "exit=2\nfiles=0\n", "cannot write there",
	     "fmnist-mlp on"},
	};
	const char *dir = *state;
	char key[128], *o;

	worker_key(dir, key, sizeof key);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int rc = run_on_small_fs(dir, key, cases[i].mopts,
		                         cases[i].tasks, &o);
		if (rc < 0) {
			fprintf(stderr,
			        "test_train_bundle_no_room: skipped: cannot "
			        "mount a tmpfs in a mount namespace here (not "
			        "root?)\n");
			skip();
		}
		if (rc || !strstr(o, cases[i].tail) ||
		    !strstr(o, cases[i].has) ||
		    (cases[i].hasnt && strstr(o, cases[i].hasnt)))
			fail_msg("%s, %d task(s): want '%s', '%s' and not "
			         "'%s':\n%s",
			         cases[i].mopts, cases[i].tasks, cases[i].tail,
			         cases[i].has,
			         cases[i].hasnt ? cases[i].hasnt : "", o);
		free(o);
	}
}

/* Without an accuracy to measure (--test-samples 0) the test split is not
 * needed: a data directory with the training split alone does; asked for
 * an accuracy, it names the missing file. */
static void test_train_no_test_split(void **state)
{
	const char *dir = *state;
	char cmd[1024], *o;

	snprintf(cmd, sizeof cmd,
	         "ln -s " CAIRN_DATASET_DEFAULT_DIR
	         "/train-images-idx3-ubyte.gz " CAIRN_DATASET_DEFAULT_DIR
	         "/train-labels-idx1-ubyte.gz '%s'/",
	         dir);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof cmd,
	         "train --job fmnist-mlp --rounds 1 --tasks 1 --inner-steps 1 "
	         "--checkpoint-every 1 --batch 32 --micro 2 --device cpu "
	         "--data '%s' --test-samples 0 --json",
	         dir);
	if (run(cmd, &o) || !json_has(o, "test_samples", "0"))
		fail_msg("cairn %s:\n%s", cmd, o);
	free(o);
	snprintf(cmd, sizeof cmd,
	         "train --job fmnist-mlp --rounds 1 --tasks 1 --inner-steps 1 "
	         "--checkpoint-every 1 --batch 32 --micro 2 --device cpu "
	         "--data '%s' --test-samples 10",
	         dir);
	if (run(cmd, &o) != 2 || !strstr(o, "t10k-images-idx3-ubyte"))
		fail_msg("cairn %s: want exit 2 naming the test split:\n%s",
		         cmd, o);
	free(o);
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

/* SGD inside (--optimizer sgd): the same final root with 1 and 2
 * threads, another than AdamW's, the settings in the JSON, and signed
 * bundles that `cairn verify` replays with SGD and accepts.  Then
 * synchronous data-parallel SGD (H = 1, outer lr 1, momentum 0). */
static void test_train_sgd(void **state)
{
	const char *dir = *state;
	char args[1024], adamw[65], want[65], got[65], key[64], *o;
	DIR *d;
	struct dirent *e;
	int nfiles = 0;

	assert_int_equal(
	    run(SHORT_JOB " --device cpu --threads 2 --test-samples 0", &o), 0);
	json_hex(o, "final_model_root", adamw);
	assert_true(json_has(o, "optimizer", "\"adamw\""));
	assert_true(json_has(o, "momentum", "null"));
	free(o);
	worker_key(dir, key, sizeof key);
	for (int threads = 1; threads <= 2; threads++) {
		int rc;
		snprintf(args, sizeof args,
		         SHORT_JOB " --optimizer sgd --momentum 0.9 --device "
		                   "cpu --threads %d --test-samples 0%s%s%s",
		         threads, threads == 2 ? " --bundle-dir '" : "",
		         threads == 2 ? dir : "",
		         threads == 2 ? "' --key " : "");
		if (threads == 2)
			strncat(args, key, sizeof args - strlen(args) - 1);
		rc = run(args, &o);
		if (rc)
			fail_msg("cairn %s: exit %d\n%s", args, rc, o);
		assert_true(json_has(o, "optimizer", "\"sgd\""));
		assert_true(json_has(o, "lr", "0.100000001"));
		assert_true(json_has(o, "momentum", "0.899999976"));
		assert_true(json_has(o, "outer_lr", "0.699999988"));
		json_hex(o, "final_model_root", threads == 1 ? want : got);
		free(o);
	}
	assert_string_equal(want, got);
	assert_string_not_equal(want, adamw);
	d = opendir(dir);
	assert_non_null(d);
	while ((e = readdir(d))) {
		if (!strstr(e->d_name, ".cairn"))
			continue;
		snprintf(args, sizeof args, "verify '%s/%s'", dir, e->d_name);
		if (run(args, &o))
			fail_msg("cairn %s:\n%s", args, o);
		free(o);
		nfiles++;
	}
	closedir(d);
	assert_int_equal(nfiles, 4);

	assert_int_equal(run("train --job fmnist-mlp --rounds 3 --tasks 2 "
	                     "--inner-steps 1 --checkpoint-every 1 --batch 32 "
	                     "--micro 1 --optimizer sgd --outer-lr 1 "
	                     "--outer-momentum 0 --device cpu --test-samples 0 "
	                     "--json",
	                     &o),
	                 0);
	assert_true(json_has(o, "outer_lr", "1"));
	assert_true(json_has(o, "outer_momentum", "0"));
	assert_true(json_has(o, "momentum", "0"));
	json_hex(o, "final_model_root", want);
	free(o);
	/* the outer settings are applied, not only shown */
	assert_int_equal(run("train --job fmnist-mlp --rounds 3 --tasks 2 "
	                     "--inner-steps 1 --checkpoint-every 1 --batch 32 "
	                     "--micro 1 --optimizer sgd --device cpu "
	                     "--test-samples 0 --json",
	                     &o),
	                 0);
	assert_true(json_has(o, "outer_momentum", "0.899999976"));
	json_hex(o, "final_model_root", got);
	assert_string_not_equal(want, got);
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
	    {"train --job fmnist-mlp --optimizer adam", "--optimizer adam"},
	    {"train --job fmnist-mlp --momentum 0.9", "--optimizer sgd"},
	    {"train --job fmnist-mlp --lr 0", "--lr '0'"},
	    {"train --job fmnist-mlp --lr 20", "--lr '20'"},
	    {"train --job fmnist-mlp --outer-momentum 1.5",
	     "--outer-momentum '1.5'"},
	    {"train --job fmnist-mlp --outer-lr -1", "--outer-lr '-1'"},
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

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_train_same_root),
	    cmocka_unit_test(test_train_errors),
	    cmocka_unit_test_setup_teardown(test_train_sgd, tmpdir_setup,
	                                    tmpdir_teardown),
	    cmocka_unit_test_setup_teardown(test_train_bundles_background,
	                                    tmpdir_setup, tmpdir_teardown),
	    cmocka_unit_test_setup_teardown(
	        test_train_bundle_failure_keeps_others, tmpdir_setup,
	        tmpdir_teardown),
	    cmocka_unit_test_setup_teardown(test_train_sigint_keeps_bundles,
	                                    tmpdir_setup, tmpdir_teardown),
	    cmocka_unit_test_setup_teardown(test_train_bundle_no_room,
	                                    tmpdir_setup, tmpdir_teardown),
	    cmocka_unit_test_setup_teardown(test_train_no_test_split,
	                                    tmpdir_setup, tmpdir_teardown),
	};
	if (argc < 2) {
		fprintf(stderr, "usage: test_cli_train PATH-TO-CAIRN\n");
		return 2;
	}
	g_bin = argv[1];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
