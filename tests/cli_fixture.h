/* cairn tests: the cairn binary run as a user runs it, shared by
 * test_cli.c (help, usage errors, bench, keygen, info) and test_cli_train.c
 * (cairn train: roots, bundles, failures and signals).  Each program's
 * argv[1] is the binary's path, kept in g_bin.
 *
 * Include after <cmocka.h>: the helpers below fail the running test. */
#ifndef CAIRN_CLI_FIXTURE_H
#define CAIRN_CLI_FIXTURE_H

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static const char *g_bin;

/* Runs the shell command cmd with its stdout captured; returns the exit
 * code and the output (caller frees). */
static inline int run_shell(const char *cmd, char **out)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	FILE *p;
	int st;

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

/* Runs "cairn ARGS" with stdout and stderr captured; returns the exit
 * code and the combined output (caller frees). */
static inline int run(const char *args, char **out)
{
	char cmd[1024];
	int w = snprintf(cmd, sizeof cmd, "'%s' %s 2>&1", g_bin, args);

	if (w < 0 || (size_t)w >= sizeof cmd) /* never run a cut command */
		fail_msg("command too long for run(): %s", args);
	return run_shell(cmd, out);
}

/* A fresh directory under /tmp for one test (*state is its path), removed
 * with everything in it by the teardown, which cmocka runs whether the
 * test passed or failed: a failing run leaves nothing behind. */
static inline int tmpdir_setup(void **state)
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

static inline int tmpdir_teardown(void **state)
{
	char cmd[128];
	int rc;

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", (char *)*state);
	rc = system(cmd);
	free(*state);
	return rc == 0 ? 0 : -1;
}

/* Whether JSON text o holds "key":value, the whole value (the next
 * character ends it), whatever the white space. */
static inline int json_has(const char *o, const char *key, const char *value)
{
	char want[1024], *flat = malloc(strlen(o) + 1);
	size_t n = 0;
	int found, w;

	assert_non_null(flat);
	/* a cut needle could match what the whole one would not */
	w = snprintf(want, sizeof want, "\"%s\":%s", key, value);
	if (w < 0 || (size_t)w >= sizeof want)
		fail_msg("json_has: key and value too long: %s", key);
	for (const char *p = o; *p; p++)
		if (*p != ' ' && *p != '\n' && *p != '\t')
			flat[n++] = *p;
	flat[n] = '\0';
	/* the whole value: what follows it ends it (so "0" is not found in
	 * "0.9" nor "1" in "10") */
	found = 0;
	for (const char *q = flat; !found && (q = strstr(q, want)); q++)
		found = strchr(",}]", q[strlen(want)]) && q[strlen(want)];
	free(flat);
	return found;
}

#endif
