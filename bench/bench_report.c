/* cairn: `cairn bench` with no suite (every suite, one report; `cairn
 * bench verify`, the signed report's check, is in bench_report_verify.c).
 *
 * The whole run runs gemm, stream, pcie, hash and train in turn (pcie not
 * with --device cpu: it has nothing to measure there), each in a child
 * process (fork) with its --json output and its stderr captured in
 * temporary files: a suite that fails, even by crashing, becomes a result
 * with an "error" and the others still run (a suite that exits 1 after
 * printing its results, such as pcie with one failing GPU of several,
 * keeps its rows and adds the error).  The parent touches no device before
 * the last child is done (a CUDA context does not survive fork); then it
 * collects `cairn info` and prints one report:
 *
 *   {"signer":"<hex>",            only with --key
 *    "report":"cairn/report/v1","quick":BOOL,
 *    "info":{...cairn info --json...},
 *    "results":[{"suite","name","device","value","unit","reference",
 *                "reference_value","ratio"[,"error"]}...]
 *    [,"skipped":[{"suite","why"}...]]}
 *
 * "skipped" lists the GPU parts a suite left out under --device auto
 * (its "gpu_skipped": no GPU, or a build without CUDA); it is there only
 * when one was.
 *
 * With --out FILE --key KEY the report (that JSON and a newline) goes to
 * FILE followed by one line "signature: <128 hex>\n": the worker key's
 * Ed25519 signature (cairn_identity_sign) of H(REPORT header || JSON and
 * newline).  `cairn bench verify FILE` checks it; any changed byte fails.
 *
 * Exit codes: the whole run 0 when every suite succeeded, 1 when one
 * failed (the report still says which), 2 bad usage; verify 0 good
 * signature, 1 rejected, 2 unreadable or bad usage. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../worker/cli_util.h" /* cairn__cli_json_string */
#include "bench.h"
#include "cairn/attest.h"
#include "cairn/cli.h"
#include "cairn/error.h"
#include "cairn/file.h"
#include "cairn/identity.h"
#include "cairn/info.h"
#include "cairn/text.h"

#define REPORT_MAX_ROWS 64
#define REPORT_MAX_SKIPS 8

/* One result, parsed from a suite's --json output. */
struct report_row {
	char suite[16], name[192], device[320], unit[16];
	char reference[160], error[320];
	double value, reference_value;
	int have_reference, failed;
};

/* A GPU part a suite skipped, and why. */
struct report_skip {
	char suite[16], why[320];
};

struct report {
	struct report_row rows[REPORT_MAX_ROWS];
	int nrows;
	struct report_skip skips[REPORT_MAX_SKIPS];
	int nskips;
};

struct all_args {
	const char *device, *threads, *out, *key;
	int quick, json;
};

typedef int (*report_suite_fn)(int argc, char **argv);

/* `cairn bench gemm ...` through the dispatcher (its command is static
 * in bench_gemm.c): argv[0] is "gemm". */
static int report_gemm(int argc, char **argv)
{
	char *av[24];

	if (argc > 22)
		return 2;
	av[0] = "bench";
	memcpy(av + 1, argv, (size_t)argc * sizeof *av);
	av[argc + 1] = NULL;
	return cairn_cmd_bench(argc + 1, av);
}

/* ---- JSON output ------------------------------------------------------ */

void cairn__bench_json_str(FILE *f, const char *s)
{
	cairn__cli_json_string(f, s); /* valid UTF-8 whatever s holds */
}

/* x as a JSON number ("%.4f" for a ratio, else "%.6g"), or null when it
 * is not finite (a suite's figure divided by a zero time): JSON has no
 * inf or nan, and a report must stay one JSON object
 * (cairn__bench_report_json_check). */
static void bench_json_num(FILE *f, double x, int ratio)
{
	if (!isfinite(x))
		fputs("null", f);
	else if (ratio)
		fprintf(f, "%.4f", x);
	else
		fprintf(f, "%.6g", x);
}

void cairn__bench_json_row(FILE *f, const char *suite, const char *name,
                           const char *device, double value, const char *unit,
                           const char *reference, double reference_value)
{
	fprintf(f, "{\"suite\":");
	cairn__bench_json_str(f, suite);
	fprintf(f, ",\"name\":");
	cairn__bench_json_str(f, name);
	fprintf(f, ",\"device\":");
	cairn__bench_json_str(f, device);
	fprintf(f, ",\"value\":");
	bench_json_num(f, value, 0);
	fprintf(f, ",\"unit\":");
	cairn__bench_json_str(f, unit);
	if (reference) {
		fprintf(f, ",\"reference\":");
		cairn__bench_json_str(f, reference);
		fprintf(f, ",\"reference_value\":");
		bench_json_num(f, reference_value, 0);
		fprintf(f, ",\"ratio\":");
		bench_json_num(
		    f, reference_value > 0 ? value / reference_value : 0.0, 1);
		fputc('}', f);
	} else {
		fprintf(f, ",\"reference\":null,\"reference_value\":null,"
		           "\"ratio\":null}");
	}
}

/* ---- JSON input: just enough for the suites' own flat objects ---------- */

/* The value after "key": in [p, end), or NULL. */
static const char *report_find(const char *p, const char *end, const char *key)
{
	char want[64];
	size_t wl;

	snprintf(want, sizeof want, "\"%s\":", key);
	wl = strlen(want);
	for (; p + wl <= end; p++)
		if (!memcmp(p, want, wl))
			return p + wl;
	return NULL;
}

/* The string value of key into buf (unescaped); 0, or -1 when absent or
 * not a string. */
static int report_str(const char *p, const char *end, const char *key,
                      char *buf, size_t len)
{
	const char *v = report_find(p, end, key);
	size_t n = 0;

	if (!v || *v != '"' || !len)
		return -1;
	for (v++; v < end && *v != '"'; v++) {
		char ch = *v;
		if (ch == '\\' && v + 1 < end) {
			v++;
			ch = *v;
			if (ch == 'u' && v + 4 < end) {
				ch = (char)strtol((char[]){v[3], v[4], 0}, NULL,
				                  16);
				v += 4;
			}
		}
		if (n + 1 < len)
			buf[n++] = ch;
	}
	buf[n] = '\0';
	return 0;
}

/* The number value of key; 0, or -1 when absent or not a number. */
static int report_num(const char *p, const char *end, const char *key,
                      double *out)
{
	const char *v = report_find(p, end, key);
	char *e;

	if (!v)
		return -1;
	errno = 0;
	*out = strtod(v, &e);
	return e == v || errno ? -1 : 0;
}

static struct report_row *report_add(struct report *r, const char *suite)
{
	struct report_row *row;

	if (r->nrows >= REPORT_MAX_ROWS)
		return NULL;
	row = &r->rows[r->nrows++];
	memset(row, 0, sizeof *row);
	snprintf(row->suite, sizeof row->suite, "%s", suite);
	return row;
}

/* The rows of a stream, pcie or hash suite: the objects of its "results"
 * (none when it skipped its only part: pcie without a GPU). */
static int report_parse_rows(struct report *r, const char *suite, const char *o,
                             const char *end)
{
	const char *p = report_find(o, end, "results");
	int n = 0;

	if (!p || *p != '[')
		return -1;
	if (p[1] == ']')
		return report_find(o, end, "gpu_skipped") ? 0 : -1;
	while ((p = memchr(p, '{', (size_t)(end - p)))) {
		const char *q = p;
		struct report_row *row;
		int in_str = 0;

		for (; q < end; q++) { /* the matching '}' (no nesting) */
			if (*q == '\\' && in_str)
				q++;
			else if (*q == '"')
				in_str = !in_str;
			else if (*q == '}' && !in_str)
				break;
		}
		if (q >= end || !(row = report_add(r, suite)))
			return -1;
		if (report_str(p, q, "name", row->name, sizeof row->name) ||
		    report_str(p, q, "device", row->device,
		               sizeof row->device) ||
		    report_str(p, q, "unit", row->unit, sizeof row->unit) ||
		    report_num(p, q, "value", &row->value))
			return -1;
		row->have_reference =
		    report_str(p, q, "reference", row->reference,
		               sizeof row->reference) == 0 &&
		    report_num(p, q, "reference_value",
		               &row->reference_value) == 0;
		n++;
		p = q;
		while (p < end && *p != ',' && *p != ']')
			p++;
		if (p >= end || *p == ']')
			break; /* the end of "results" */
	}
	return n ? 0 : -1;
}

/* One suite's --json output into rows; -1 when it is not what the suite
 * prints. */
static int report_parse(struct report *r, const char *suite, const char *o,
                        size_t len)
{
	const char *end = o + len;
	struct report_row *row;
	char dev[128], desc[160];
	double size, threads, batch, tflops;

	if (strcmp(suite, "gemm") && strcmp(suite, "train"))
		return report_parse_rows(r, suite, o, end);
	if (!(row = report_add(r, suite)) ||
	    report_str(o, end, "device", dev, sizeof dev) ||
	    report_str(o, end, "device_desc", desc, sizeof desc))
		return -1;
	snprintf(row->device, sizeof row->device, "%s: %s", dev, desc);
	if (!strcmp(suite, "gemm")) {
		if (report_num(o, end, "size", &size) ||
		    report_num(o, end, "exact_gflops", &row->value))
			return -1;
		snprintf(row->name, sizeof row->name,
		         "exact-v1 SGEMM %.0f x %.0f x %.0f", size, size, size);
		snprintf(row->unit, sizeof row->unit, "GFLOP/s");
		row->have_reference =
		    report_str(o, end, "reference", row->reference,
		               sizeof row->reference) == 0 &&
		    report_num(o, end, "reference_gflops",
		               &row->reference_value) == 0;
		/* the GPU's vendor BF16 GEMM, the chip's headroom: a row of
		 * its own, with no reference */
		if (report_num(o, end, "vendor_bf16_tflops", &tflops) == 0) {
			struct report_row *bf = report_add(r, suite);
			if (!bf)
				return -1;
			memcpy(bf->device, row->device, sizeof bf->device);
			snprintf(bf->name, sizeof bf->name,
			         "vendor-bf16 GEMM %.0f x %.0f x %.0f (cuBLAS, "
			         "FP32 accumulate; the chip's headroom)",
			         size, size, size);
			snprintf(bf->unit, sizeof bf->unit, "TFLOP/s");
			bf->value = tflops;
		}
		return 0;
	}
	if (report_num(o, end, "threads", &threads) ||
	    report_num(o, end, "batch", &batch) ||
	    report_num(o, end, "samples_per_second", &row->value))
		return -1;
	snprintf(row->name, sizeof row->name,
	         "fmnist-mlp training step, batch %.0f", batch);
	snprintf(row->unit, sizeof row->unit, "samples/s");
	return 0;
}

/* Notes the GPU part that a suite's output says it skipped. */
static void report_skipped(struct report *r, const char *suite, const char *o,
                           size_t len)
{
	struct report_skip *k;

	if (r->nskips >= REPORT_MAX_SKIPS ||
	    !report_find(o, o + len, "gpu_skipped"))
		return;
	k = &r->skips[r->nskips];
	if (report_str(o, o + len, "gpu_skipped", k->why, sizeof k->why))
		return;
	snprintf(k->suite, sizeof k->suite, "%s", suite);
	r->nskips++;
}

/* ---- the whole run ---------------------------------------------------- */

void cairn__bench_usage(FILE *f)
{
	fprintf(f,
	        "usage: cairn bench [OPTIONS]            every suite, one "
	        "report\n"
	        "       cairn bench SUITE [OPTIONS]      one suite\n"
	        "       cairn bench verify FILE          check a signed "
	        "report\n\n"
	        "Measures this machine.  Suites:\n"
	        "  gemm    exact-profile SGEMM beside OpenBLAS (cpu) or "
	        "cuBLAS (gpu)\n"
	        "  stream  memory bandwidth: CPU triad, GPU device-to-device "
	        "copy\n"
	        "  pcie    host-device copies from pinned memory on the GPU's "
	        "NUMA node\n"
	        "  hash    tensor-root throughput beside libsodium's "
	        "BLAKE2b\n"
	        "  train   samples/s of the reference job's training step\n"
	        "  audit   an audit's cost against the task it audits\n\n"
	        "options of the whole run (gemm, stream, pcie, hash and train; "
	        "pcie is left\nout with --device cpu):\n"
	        "  --quick      a short run (under 15 s on 2 cores; the "
	        "default, under 60 s)\n"
	        "  --device D   auto, cpu or gpu, for every suite; default: "
	        "$CAIRN_DEVICE,\n"
	        "               else auto\n"
	        "  --threads T  CPU threads (default: one per core)\n"
	        "  --json       one JSON object on stdout: the cairn info "
	        "data and the results\n"
	        "  --out FILE   write the report, signed, to FILE, a new "
	        "file (needs --key)\n"
	        "  --key FILE   the worker key (cairn keygen) that signs "
	        "the report\n"
	        "  -h, --help   this text\n\n"
	        "'cairn bench SUITE --help' lists a suite's options.\n"
	        "exit status: 0 ok, 1 a suite failed (the report says which), "
	        "2 bad usage\n");
}

/* 0, 1 after --help, or 2 after printing a usage error. */
static int all_parse(int argc, char **argv, struct all_args *a)
{
	memset(a, 0, sizeof *a);
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		long long x;

		if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
			cairn__bench_usage(stdout);
			return 1;
		} else if (!strcmp(o, "--json")) {
			a->json = 1;
			continue;
		} else if (!strcmp(o, "--quick")) {
			a->quick = 1;
			continue;
		} else if (!strcmp(o, "--device") && v) {
			if (cairn__bench_parse_device("", v, &a->device))
				return 2;
		} else if (!strcmp(o, "--threads")) {
			if (cairn__bench_parse_int("", o, v, 1, 1024, &x))
				return 2;
			a->threads = v;
		} else if (!strcmp(o, "--out") && v) {
			a->out = v;
		} else if (!strcmp(o, "--key") && v) {
			a->key = v;
		} else {
			cairn_eprint(
			    "cairn bench: unknown option or suite '%s'%s "
			    "(suites: gemm, stream, pcie, hash, train, "
			    "audit, verify); see 'cairn bench --help'\n",
			    o, v ? "" : " (or a missing value)");
			return 2;
		}
		i++;
	}
	/* not given: $CAIRN_DEVICE, else auto, for every suite (pcie is
	 * left out on cpu) */
	if (!a->device && cairn__bench_parse_device("", NULL, &a->device))
		return 2;
	if (!a->out != !a->key) {
		cairn_eprint("cairn bench: %s needs %s: a signed report is "
		             "written with the worker key (cairn keygen)\n",
		             a->out ? "--out" : "--key",
		             a->out ? "--key" : "--out");
		return 2;
	}
	return 0;
}

/* Reads all of f (rewound) into a NUL-terminated heap string; NULL when
 * out of memory.  Caller frees. */
static char *report_slurp(FILE *f, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);

	rewind(f);
	while (buf) {
		n += fread(buf + n, 1, cap - n - 1, f);
		if (n < cap - 1)
			break;
		char *bigger = realloc(buf, cap * 2);
		if (!bigger)
			free(buf);
		buf = bigger;
		cap *= 2;
	}
	if (buf)
		buf[n] = '\0';
	*len = n;
	return buf;
}

/* The last non-empty line of s, into buf, without its newline. */
static void report_last_line(const char *s, char *buf, size_t len)
{
	size_t n = strlen(s);
	const char *e, *b;

	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		n--;
	e = s + n;
	for (b = e; b > s && b[-1] != '\n'; b--)
		;
	snprintf(buf, len, "%.*s", (int)(e - b), b);
}

/* Runs fn(argc, argv) in a child with stdout and stderr captured; adds its
 * rows to r, or one row with an error.  Returns 0 when it succeeded. */
static int report_run_suite(struct report *r, const char *suite,
                            report_suite_fn fn, int argc, char **argv)
{
	FILE *out = tmpfile(), *err = tmpfile();
	char *o = NULL, *e = NULL;
	size_t olen = 0, elen = 0;
	struct report_row *row;
	int st = 0, rc = -1, nrows = r->nrows;
	pid_t pid = -1;

	if (!out || !err)
		goto fail;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		int ex;
		if (dup2(fileno(out), 1) < 0 || dup2(fileno(err), 2) < 0)
			_exit(125);
		ex = fn(argc, argv);
		fflush(stdout);
		fflush(stderr);
		_exit(ex & 0xff);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		goto fail;
	o = report_slurp(out, &olen);
	e = report_slurp(err, &elen);
	if (!o || !e)
		goto fail;
	if (WIFEXITED(st) && (WEXITSTATUS(st) == 0 || WEXITSTATUS(st) == 1) &&
	    report_parse(r, suite, o, olen) == 0) {
		report_skipped(r, suite, o, olen);
		if (WEXITSTATUS(st) == 0) {
			rc = 0;
			goto out;
		}
		nrows = r->nrows; /* it printed results, then failed: keep
		                   * them beside its error */
	}
fail:
	r->nrows = nrows; /* drop the rows of a half-parsed output */
	row = report_add(r, suite);
	if (!row)
		goto out;
	snprintf(row->name, sizeof row->name, "%s", suite);
	row->failed = 1;
	if (e && e[0])
		report_last_line(e, row->error, sizeof row->error);
	else if (pid > 0 && WIFSIGNALED(st))
		snprintf(row->error, sizeof row->error,
		         "cairn bench %s: killed by signal %d", suite,
		         WTERMSIG(st));
	else if (o && WIFEXITED(st) && WEXITSTATUS(st) == 0)
		snprintf(row->error, sizeof row->error,
		         "cairn bench %s: output not understood", suite);
	else
		snprintf(row->error, sizeof row->error,
		         "cairn bench %s: could not run (%s)", suite,
		         strerror(errno));
out:
	if (out)
		fclose(out);
	if (err)
		fclose(err);
	free(o);
	free(e);
	return rc;
}

/* The report's JSON (and its newline) into f. */
static void report_write_json(FILE *f, const struct all_args *a,
                              const char *signer, const struct report *r,
                              const struct cairn_info *info)
{
	fprintf(f, "{");
	if (signer)
		fprintf(f, "\"signer\":\"%s\",", signer);
	fprintf(f, "\"report\":\"%s\",\"quick\":%s,\"info\":",
	        cairn_domain_string(CAIRN_DOM_REPORT),
	        a->quick ? "true" : "false");
	if (info)
		cairn_info_write_json(f, info);
	else
		fprintf(f, "null");
	fprintf(f, ",\"results\":[");
	for (int i = 0; i < r->nrows; i++) {
		const struct report_row *row = &r->rows[i];
		if (i)
			fprintf(f, ",\n");
		if (!row->failed) {
			cairn__bench_json_row(
			    f, row->suite, row->name, row->device, row->value,
			    row->unit,
			    row->have_reference ? row->reference : NULL,
			    row->reference_value);
			continue;
		}
		fprintf(f, "{\"suite\":");
		cairn__bench_json_str(f, row->suite);
		fprintf(f, ",\"name\":");
		cairn__bench_json_str(f, row->name);
		fprintf(f, ",\"device\":null,\"value\":null,\"unit\":null,"
		           "\"reference\":null,\"reference_value\":null,"
		           "\"ratio\":null,\"error\":");
		cairn__bench_json_str(f, row->error);
		fprintf(f, "}");
	}
	fprintf(f, "]");
	for (int i = 0; i < r->nskips; i++) {
		fprintf(f,
		        i ? ",\n{\"suite\":" : ",\n\"skipped\":[{\"suite\":");
		cairn__bench_json_str(f, r->skips[i].suite);
		fprintf(f, ",\"why\":");
		cairn__bench_json_str(f, r->skips[i].why);
		fprintf(f, "}");
	}
	fprintf(f, "%s}\n", r->nskips ? "]" : "");
}

/* The report as a table. */
static void report_print_text(const struct all_args *a, const struct report *r)
{
	printf("cairn bench: %s run, every suite\n",
	       a->quick ? "quick" : "full");
	for (int i = 0; i < r->nrows; i++) {
		const struct report_row *row = &r->rows[i];
		if (row->failed) {
			cairn_text_print(stdout, "  %-7s FAILED: %s\n",
			                 row->suite, row->error);
			continue;
		}
		printf("  %-7s %s\n", row->suite, row->name);
		printf("          %-10s %10.2f %s  (%s)\n", "cairn", row->value,
		       row->unit, row->device);
		if (row->have_reference)
			printf("          %-10s %10.2f %s  %s\n          %-10s "
			       "%10.3f\n",
			       "reference", row->reference_value, row->unit,
			       row->reference, "ratio",
			       row->reference_value > 0
			           ? row->value / row->reference_value
			           : 0.0);
	}
	for (int i = 0; i < r->nskips; i++)
		printf("  %-7s gpu not measured: %s\n", r->skips[i].suite,
		       r->skips[i].why);
}

/* Signs body[0..len) and writes it with its signature line to a new file
 * at path (cairn_file_write_new: never over an existing one).  0, or a
 * CAIRN_E* code with the reason in err. */
static int report_save(const struct cairn_identity *id, const char *body,
                       size_t len, const char *path, char *err, size_t errlen)
{
	uint8_t digest[CAIRN_HASH_BYTES], sig[CAIRN_SIGNATURE_BYTES];
	char hex[2][CAIRN_HASH_HEX_BYTES], *file = NULL;
	size_t flen;
	int rc;

	if ((rc = cairn_hash_domain(CAIRN_DOM_REPORT, body, len, digest)) ||
	    (rc = cairn_identity_sign(id, digest, sizeof digest, sig))) {
		snprintf(err, errlen, "signing it: %s", cairn_strerror(rc));
		return rc;
	}
	cairn_hash_to_hex(sig, hex[0]);
	cairn_hash_to_hex(sig + 32, hex[1]);
	flen = len + CAIRN__BENCH_REPORT_SIG_LINE_BYTES;
	file = malloc(flen + 1); /* and snprintf's NUL */
	if (!file) {
		snprintf(err, errlen, "out of memory");
		return CAIRN_ENOMEM;
	}
	memcpy(file, body, len);
	snprintf(file + len, flen + 1 - len, "%s%s%s\n",
	         CAIRN__BENCH_REPORT_SIG_LINE, hex[0], hex[1]);
	rc = cairn_file_write_new(path, "report", file, flen, err, errlen);
	free(file);
	return rc;
}

int cairn__bench_all_cmd(int argc, char **argv)
{
	static const struct {
		const char *name;
		report_suite_fn fn;
		const char *quick[4], *full[4]; /* the suite's own options */
		int gpu_only; /* 1: takes no --threads, not run on --device
		               * cpu */
	} suites[] = {
	    {"gemm",
	     NULL,
	     {"--size", "512", "--reps", "5"},
	     {"--size", "1024", "--reps", "10"},
	     0},
	    {"stream", cairn__bench_stream_cmd, {"--quick"}, {NULL}, 0},
	    {"pcie", cairn__bench_pcie_cmd, {"--quick"}, {NULL}, 1},
	    {"hash", cairn__bench_hash_cmd, {"--quick"}, {NULL}, 0},
	    {"train",
	     cairn__bench_train_cmd,
	     {"--steps", "5", "--warmup", "1"},
	     {"--steps", "20", "--warmup", "3"},
	     0},
	};
	const int nsuites = (int)(sizeof suites / sizeof suites[0]);
	int nrun = 0, irun = 0;
	struct all_args a;
	struct report *r = NULL;
	struct cairn_info *info = NULL;
	struct cairn_identity id;
	char pub[CAIRN_PUBLIC_KEY_HEX_BYTES], err[8192], *body = NULL;
	size_t blen = 0;
	FILE *mem = NULL;
	int rc, ex = 1, failed = 0, progress = isatty(2);

	memset(&id, 0, sizeof id);
	rc = all_parse(argc, argv, &a);
	if (rc)
		return rc == 1 ? 0 : 2;
	if (a.key) {
		rc = cairn_identity_load(&id, a.key, err, sizeof err);
		if (!rc)
			rc = cairn_identity_public_hex(&id, pub);
		if (rc) {
			cairn_eprint("cairn bench: --key: %s\n",
			             err[0] ? err : cairn_strerror(rc));
			ex = 2;
			goto out;
		}
	}
	/* A report that could not be written is refused before the suites
	 * run, not after; the write at the end never replaces a file. */
	if (a.out && cairn_file_check_new(a.out, "report", err, sizeof err)) {
		cairn_eprint("cairn bench: --out: %s\n", err);
		ex = 2;
		goto out;
	}
	r = calloc(1, sizeof *r);
	info = calloc(1, sizeof *info);
	if (!r || !info) {
		cairn_eprint("cairn bench: out of memory\n");
		goto out;
	}
	for (int s = 0; s < nsuites; s++)
		nrun += !(suites[s].gpu_only && a.device &&
		          !strcmp(a.device, "cpu"));
	for (int s = 0; s < nsuites; s++) {
		char *av[16];
		const char *const *own =
		    a.quick ? suites[s].quick : suites[s].full;
		int ac = 0;

		if (suites[s].gpu_only && a.device && !strcmp(a.device, "cpu"))
			continue;

		av[ac++] = (char *)suites[s].name;
		av[ac++] = "--json";
		for (int k = 0; k < 4 && own[k]; k++)
			av[ac++] = (char *)own[k];
		if (a.device) {
			av[ac++] = "--device";
			av[ac++] = (char *)a.device;
		}
		if (a.threads && !suites[s].gpu_only) {
			av[ac++] = "--threads";
			av[ac++] = (char *)a.threads;
		}
		av[ac] = NULL;
		if (progress)
			fprintf(stderr, "\rcairn bench: [%d/%d] %-8s ...%20s",
			        ++irun, nrun, suites[s].name, "");
		if (report_run_suite(r, suites[s].name,
		                     suites[s].fn ? suites[s].fn : report_gemm,
		                     ac, av))
			failed++;
	}
	if (progress)
		fprintf(stderr, "\r%60s\r", "");
	/* After the children: the parent may now touch the GPU. */
	if (cairn_info_collect(info, err, sizeof err)) {
		free(info);
		info = NULL;
	}
	mem = open_memstream(&body, &blen);
	if (!mem) {
		cairn_eprint("cairn bench: out of memory\n");
		goto out;
	}
	report_write_json(mem, &a, a.key ? pub : NULL, r, info);
	if (fclose(mem) || !body) {
		mem = NULL;
		cairn_eprint("cairn bench: out of memory\n");
		goto out;
	}
	mem = NULL;
	if (a.json)
		fwrite(body, 1, blen, stdout);
	else
		report_print_text(&a, r);
	if (a.out) {
		rc = report_save(&id, body, blen, a.out, err, sizeof err);
		if (rc) {
			cairn_eprint("cairn bench: the report was not written: "
			             "%s\n",
			             err);
			goto out;
		}
		if (!a.json)
			cairn_text_print(stdout,
			                 "report signed by %s written to %s\n",
			                 pub, a.out);
	}
	for (int i = 0; i < r->nrows; i++)
		if (r->rows[i].failed)
			cairn_eprint("cairn bench: suite %s failed: %s\n",
			             r->rows[i].suite, r->rows[i].error);
	ex = failed ? 1 : 0;
out:
	cairn_identity_wipe(&id);
	free(body);
	free(r);
	free(info);
	return ex;
}
