/* cairn: the command line's number parsers (include/cairn/cli.h,
 * worker/cli.c), by table: what each accepts, what it refuses and with
 * which code, and that a refused value leaves the output untouched.
 * test_cli.c checks that the commands name the option and value. */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cairn/cli.h"
#include "cairn/error.h"

/* Whole numbers: digits only, no '+', space or octal; a sign only where
 * lo < 0.  u64: decimal or 0x-hex. */
static void test_parse_ints(void **state)
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
	(void)state;
	for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
		long long x = 77;
		int rc =
		    cairn_cli_parse_int(ints[i].v, ints[i].lo, ints[i].hi, &x);
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
}

/* Real numbers as binary32: decimal with an optional fraction and
 * exponent, correctly rounded; a sign only where lo < 0; no '+', space,
 * hex, inf or nan; a text that is not zero but rounds to it is out of
 * range, not 0. */
static void test_parse_floats(void **state)
{
	static const struct {
		const char *v;
		float lo, hi;
		int rc;
		float want;
	} fl[] = {
	    {"0.1", 0.0f, 10.0f, 0, 0.1f},
	    {"1e-3", 0.0f, 10.0f, 0, 1e-3f},
	    {"1E-3", 0.0f, 10.0f, 0, 1e-3f},
	    {".5", 0.0f, 1.0f, 0, 0.5f},
	    {"5.", 0.0f, 10.0f, 0, 5.0f},
	    {"0.9", 0.0f, 0.99999994f, 0, 0.9f},
	    {"-0.25", -1.0f, 1.0f, 0, -0.25f},
	    {"0", 0.0f, 1.0f, 0, 0.0f},
	    {"0.000", 0.0f, 1.0f, 0, 0.0f},
	    {"2e+0", 0.0f, 10.0f, 0, 2.0f},
	    /* the nearest float: 0.7 is 0x3f333333 */
	    {"0.70000001", 0.0f, 1.0f, 0, 0.7f},
	    {"1", 0.0f, 0.99999994f, CAIRN_ERANGE, 0},
	    {"0.99999999", 0.0f, 0.99999994f, CAIRN_ERANGE,
	     0}, /* rounds to 1 */
	    {"11", FLT_MIN, 10.0f, CAIRN_ERANGE, 0},
	    {"0", FLT_MIN, 10.0f, CAIRN_ERANGE, 0},
	    {"1e-50", 0.0f, 10.0f, CAIRN_ERANGE, 0}, /* not zero, rounds to 0 */
	    {"1e39", 0.0f, FLT_MAX, CAIRN_ERANGE, 0},
	    {"-1", 0.0f, 1.0f, CAIRN_EINVAL, 0}, /* no sign where lo >= 0 */
	    {"-0", 0.0f, 1.0f, CAIRN_EINVAL, 0},
	    {"-2", -1.0f, 1.0f, CAIRN_ERANGE, 0},
	    {"", 0.0f, 1.0f, CAIRN_EINVAL, 0},
	    {"-", -1.0f, 1.0f, CAIRN_EINVAL, 0},
	    {".", 0.0f, 1.0f, CAIRN_EINVAL, 0},
	    {"e3", 0.0f, 1.0f, CAIRN_EINVAL, 0},
	    {"1e", 0.0f, 10.0f, CAIRN_EINVAL, 0},
	    {"1e+", 0.0f, 10.0f, CAIRN_EINVAL, 0},
	    {"+1", 0.0f, 10.0f, CAIRN_EINVAL, 0},
	    {" 1", 0.0f, 10.0f, CAIRN_EINVAL, 0},
	    {"1 ", 0.0f, 10.0f, CAIRN_EINVAL, 0},
	    {"0x1p-3", 0.0f, 10.0f, CAIRN_EINVAL, 0},
	    {"inf", 0.0f, FLT_MAX, CAIRN_EINVAL, 0},
	    {"nan", 0.0f, 10.0f, CAIRN_EINVAL, 0},
	    {"1,5", 0.0f, 10.0f, CAIRN_EINVAL, 0},
	    {"1.2.3", 0.0f, 10.0f, CAIRN_EINVAL, 0},
	};

	(void)state;
	for (size_t i = 0; i < sizeof fl / sizeof fl[0]; i++) {
		float x = 77.0f;
		int rc = cairn_cli_parse_float(fl[i].v, fl[i].lo, fl[i].hi, &x);
		if (rc != fl[i].rc ||
		    memcmp(&x, rc ? &(float){77.0f} : &fl[i].want, 4))
			fail_msg(
			    "cairn_cli_parse_float('%s', %g, %g): %d, %.9g",
			    fl[i].v, (double)fl[i].lo, (double)fl[i].hi, rc,
			    (double)x);
	}
	assert_int_equal(cairn_cli_parse_float(NULL, 0.0f, 1.0f, &(float){0}),
	                 CAIRN_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_ints),
	    cmocka_unit_test(test_parse_floats),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
