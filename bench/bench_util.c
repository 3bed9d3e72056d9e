/* cairn: small helpers shared by the `cairn bench` suites. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "cairn/cli.h"
#include "cairn/log.h"
#include "cairn/text.h"

/* Parses an integer option value of `cairn bench SUITE` in [lo, hi];
 * prints why not.  0, or 2 (the usage exit code). */
int cairn__bench_parse_int(const char *suite, const char *opt, const char *val,
                           long long lo, long long hi, long long *out)
{
	long long v;

	const char *sp = suite[0] ? " " : ""; /* "": the whole run */

	if (!val) {
		cairn_eprint("cairn bench%s%s: %s needs a value; see "
		             "'cairn bench%s%s --help'\n",
		             sp, suite, opt, sp, suite);
		return 2;
	}
	if (cairn_cli_parse_int(val, lo, hi, &v)) {
		cairn_eprint("cairn bench%s%s: %s '%s': want an integer "
		             "from %lld to %lld\n",
		             sp, suite, opt, val, lo, hi);
		return 2;
	}
	*out = v;
	return 0;
}

int cairn__bench_parse_device(const char *suite, const char *val,
                              const char **out)
{
	const char *sp = suite[0] ? " " : "", *from = "--device";

	if (!val) {
		from = "CAIRN_DEVICE";
		val = getenv("CAIRN_DEVICE");
		if (!val || !val[0]) {
			*out = "auto";
			return 0;
		}
	}
	if (!strcmp(val, "auto") || !strcmp(val, "cpu") ||
	    !strcmp(val, "gpu")) {
		*out = val;
		return 0;
	}
	cairn_eprint("cairn bench%s%s: %s '%s': want auto, cpu or gpu%s\n", sp,
	             suite, from, val,
	             !strcmp(val, "ref")
	                 ? " (ref, the scalar oracle, is far too "
	                   "slow to benchmark)"
	                 : "");
	return 2;
}

const char *cairn__bench_device_name(const char *device)
{
	const char *env = getenv("CAIRN_DEVICE");

	return device ? device : env && *env ? env : "default";
}

/* Seconds on the monotonic clock. */
double cairn__bench_now(void)
{
	return cairn_clock_seconds();
}

static int bench_cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return a < b ? -1 : a > b;
}

/* The median of t[0..n), n >= 1; sorts t. */
double cairn__bench_median(double *t, int n)
{
	qsort(t, (size_t)n, sizeof *t, bench_cmp_double);
	return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}
