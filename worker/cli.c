/* cairn: subcommand dispatch and global options.
 *
 *   cairn [-v|-q] COMMAND [ARGS...]
 *
 * Commands that later issues build are listed as planned and refuse to run
 * with a clear message, rather than pretending. */
#include <errno.h>
#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/cli.h"
#include "cairn/error.h"
#include "cairn/kernels.h"
#include "cairn/log.h"
#include "cairn/text.h"

struct cairn__cmd {
	const char *name;
	int (*run)(int argc, char **argv); /* NULL: planned, not built yet */
	const char *summary;
};

static const struct cairn__cmd cairn__cmds[] = {
    {"bench", cairn_cmd_bench,
     "measure this machine: gemm, stream, pcie, hash, train, audit"},
    {"info", cairn_cmd_info,
     "the rig as the worker sees it: CPU topology, GPUs and their locality"},
    {"train", cairn_cmd_train,
     "run a training job locally, with its commitments"},
    {"worker", NULL, "the provider daemon (planned)"},
    {"scheduler", NULL, "the coordinator (planned)"},
    {"verify", cairn_cmd_verify,
     "audit result bundles: replay drawn segments, sign a verdict"},
    {"ledger", NULL, "show and verify the rewards ledger (planned)"},
    {"keygen", cairn_cmd_keygen,
     "make or show an Ed25519 identity (key file mode 0600)"},
};

#define CAIRN__NCMDS (sizeof cairn__cmds / sizeof cairn__cmds[0])

int cairn_cli_parse_int(const char *v, long long lo, long long hi,
                        long long *out)
{
	const char *d = v;
	char *end;
	long long x;

	if (!v)
		return CAIRN_EINVAL;
	if (*d == '-' && lo < 0)
		d++;
	if (!*d)
		return CAIRN_EINVAL;
	for (const char *p = d; *p; p++)
		if (*p < '0' || *p > '9')
			return CAIRN_EINVAL;
	errno = 0;
	x = strtoll(v, &end, 10);
	if (errno == ERANGE || x < lo || x > hi)
		return CAIRN_ERANGE;
	if (errno || *end)
		return CAIRN_EINVAL;
	*out = x;
	return 0;
}

int cairn_cli_parse_u64(const char *v, unsigned long long *out)
{
	unsigned long long x = 0;
	int hex, n = 0;

	if (!v)
		return CAIRN_EINVAL;
	hex = v[0] == '0' && (v[1] == 'x' || v[1] == 'X');
	for (const char *p = v + (hex ? 2 : 0); *p; p++, n++) {
		unsigned dig;
		if (*p >= '0' && *p <= '9')
			dig = (unsigned)(*p - '0');
		else if (hex && *p >= 'a' && *p <= 'f')
			dig = (unsigned)(*p - 'a' + 10);
		else if (hex && *p >= 'A' && *p <= 'F')
			dig = (unsigned)(*p - 'A' + 10);
		else
			return CAIRN_EINVAL;
		if (hex) {
			if (x >> 60)
				return CAIRN_ERANGE;
			x = x << 4 | dig;
		} else {
			if (x > (~0ull - dig) / 10)
				return CAIRN_ERANGE;
			x = x * 10 + dig;
		}
	}
	if (!n)
		return CAIRN_EINVAL;
	*out = x;
	return 0;
}

int cairn_cli_check_env_device(const char *cmd, const char *device)
{
	const char *env = getenv("CAIRN_DEVICE");

	if (device || !env || !*env || cairn_backend_device_known(env))
		return 0;
	cairn_eprint("%s: CAIRN_DEVICE '%s': want auto, cpu, gpu or ref; "
	             "correct or unset it, or give --device\n",
	             cmd, env);
	return 2;
}

int cairn_cli_parse_float(const char *v, float lo, float hi, float *out)
{
	const char *p = v;
	char *end;
	int digits = 0, nonzero = 0;
	float x;

	if (!v)
		return CAIRN_EINVAL;
	/* the grammar first, so strtof sees nothing it would read otherwise
	 * (hex, inf, nan, leading spaces) */
	if (*p == '-' && lo < 0.0f) /* a sign only where one may be due */
		p++;
	for (; *p >= '0' && *p <= '9'; p++, digits++)
		nonzero |= *p != '0';
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++, digits++)
			nonzero |= *p != '0';
	if (!digits)
		return CAIRN_EINVAL;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '-' || *p == '+')
			p++;
		if (!(*p >= '0' && *p <= '9'))
			return CAIRN_EINVAL;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p)
		return CAIRN_EINVAL;
	errno = 0;
	x = strtof(v, &end);
	if (*end)
		return CAIRN_EINVAL;
	/* ERANGE: overflow to infinity, or an underflow; a non-zero text
	 * that gives 0 is refused, not taken as 0 */
	if ((errno == ERANGE &&
	     (x == 0.0f || !(x >= -FLT_MAX && x <= FLT_MAX))) ||
	    (nonzero && x == 0.0f) || !(x >= lo && x <= hi))
		return CAIRN_ERANGE;
	*out = x;
	return 0;
}

static void cairn__usage(FILE *f)
{
	fprintf(f, "usage: cairn [-v | -q] COMMAND [ARGS...]\n\n"
	           "Verified compute on idle GPUs, with a CPU fallback that "
	           "gives the same bits.\n\ncommands:\n");
	for (size_t i = 0; i < CAIRN__NCMDS; i++)
		fprintf(f, "  %-10s %s\n", cairn__cmds[i].name,
		        cairn__cmds[i].summary);
	fprintf(f, "\noptions:\n"
	           "  -v, --verbose   debug logging\n"
	           "  -q, --quiet     errors only\n"
	           "  --version       print the version and numeric profile\n"
	           "  -h, --help      this text; 'cairn COMMAND --help' for a "
	           "command\n\n"
	           "environment: CAIRN_DEVICE=auto|cpu|gpu|ref picks the "
	           "backend, CAIRN_CPU_ISA=auto|avx512|avx2|portable the CPU "
	           "kernels.\n");
}

static const struct cairn__cmd *cairn__cmd_find(const char *name)
{
	for (size_t c = 0; c < CAIRN__NCMDS; c++)
		if (!strcmp(name, cairn__cmds[c].name))
			return &cairn__cmds[c];
	return NULL;
}

/* Runs argv[0] as a command; 2 with a message if it is unknown or not
 * built yet. */
static int cairn__cmd_run(int argc, char **argv)
{
	const struct cairn__cmd *cmd = cairn__cmd_find(argv[0]);

	if (!cmd) {
		cairn_eprint(
		    "cairn: unknown command '%s'; see 'cairn --help'\n",
		    argv[0]);
		return 2;
	}
	if (!cmd->run) {
		cairn_eprint(
		    "cairn: '%s' is not built yet in cairn %s; available "
		    "now: bench, info, keygen, train, verify\n",
		    argv[0], CAIRN_VERSION);
		return 2;
	}
	return cmd->run(argc, argv);
}

/* --help or --version with more after it: 'cairn -h COMMAND' is that
 * command's help; anything else is a mistake, said, not ignored. */
static int cairn__extra_args(const char *opt, int argc, char **argv, int i)
{
	if (i + 1 >= argc)
		return -1;
	if (strcmp(opt, "--version")) {
		char *help[] = {argv[i + 1], (char *)"--help", NULL};
		if (i + 2 < argc) {
			cairn_eprint(
			    "cairn: unexpected '%s' after '%s %s'; for a "
			    "command's help run 'cairn %s --help'\n",
			    argv[i + 2], opt, argv[i + 1], argv[i + 1]);
			return 2;
		}
		return cairn__cmd_run(2, help);
	}
	cairn_eprint(
	    "cairn: unexpected '%s' after '%s', which takes nothing; run "
	    "'cairn --version' alone\n",
	    argv[i + 1], opt);
	return 2;
}

/* What the command printed reached stdout: rc, or when a write to it
 * failed (a full disk, a closed file) 1 (rc if that is already a failure)
 * after saying so, never 0 for output that was lost. */
static int cairn__stdout_done(int rc)
{
	int bad = ferror(stdout), e = 0;

	errno = 0;
	if (fflush(stdout))
		e = errno;
	if (!bad && !e)
		return rc;
	if (e == EPIPE) /* SIGPIPE ignored: `cairn ... | head` */
		cairn_eprint("cairn: cannot write to standard output: %s; "
		             "the program reading it stopped before the end "
		             "(files the command wrote are kept)\n",
		             strerror(e));
	else
		cairn_eprint("cairn: cannot write to standard output%s%s; "
		             "what was printed there is incomplete (files the "
		             "command wrote are kept): check where stdout "
		             "goes, e.g. a full disk\n",
		             e ? ": " : "", e ? strerror(e) : "");
	return rc ? rc : 1;
}

static int cairn__cli_run(int argc, char **argv);

int cairn_cli_main(int argc, char **argv)
{
	return cairn__stdout_done(cairn__cli_run(argc, argv));
}

static int cairn__cli_run(int argc, char **argv)
{
	int i = 1, rc;

	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			if ((rc = cairn__extra_args(a, argc, argv, i)) >= 0)
				return rc;
			cairn__usage(stdout);
			return 0;
		} else if (!strcmp(a, "--version")) {
			if ((rc = cairn__extra_args(a, argc, argv, i)) >= 0)
				return rc;
			printf("cairn %s (profile %s, cuda backend %s)\n",
			       CAIRN_VERSION, CAIRN_PROFILE_EXACT,
			       cairn_backend_built(CAIRN_BACKEND_CUDA)
			           ? "built"
			           : "not built");
			return 0;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			cairn_log_set_level(CAIRN_LOG_DEBUG);
		} else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
			cairn_log_set_level(CAIRN_LOG_ERROR);
		} else {
			cairn_eprint("cairn: unknown option '%s'; see 'cairn "
			             "--help'\n",
			             a);
			return 2;
		}
	}
	if (i >= argc) {
		cairn__usage(stderr);
		return 2;
	}
	rc = cairn__cmd_run(argc - i, argv + i);
	/* bad usage with a global option after the command: say where it
	 * goes (only then, so a value that looks like one is never
	 * refused for it) */
	for (int k = i + 1; rc == 2 && k < argc; k++) {
		const char *a = argv[k];
		if (!strcmp(a, "-v") || !strcmp(a, "--verbose") ||
		    !strcmp(a, "-q") || !strcmp(a, "--quiet")) {
			cairn_eprint("cairn: %s is an option of cairn itself: "
			             "put it before the command ('cairn %s "
			             "%s ...')\n",
			             a, a, argv[i]);
			break;
		}
	}
	return rc;
}
