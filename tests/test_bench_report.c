/* cairn: the signed benchmark report's checks, in process (unit): the
 * strict JSON check of a report's body (bench/bench_report_json.c) and
 * cairn__bench_report_check refusing a well-signed body that is not the
 * report cairn writes (bench/bench_report_verify.c).  A real report,
 * written and verified through the binary, is in test_cli. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../bench/bench.h"
#include "cairn/attest.h"
#include "cairn/error.h"
#include "cairn/identity.h"

/* A report's body: one JSON object as cairn writes it, and nothing else
 * (cairn__bench_report_json_check). */
static void test_report_json(void **state)
{
	static const struct {
		const char *body, *why; /* why: NULL when accepted */
	} cases[] = {
	    {"{\"a\":1}", NULL},
	    {"{\"a\":[1,-0.5,2e-3,1E+9,true,false,null,\"x\\u00e9\\n\"],"
	     "\n \"b\":{\"c\":{}},\"d\":[]}",
	     NULL},
	    {"{\"caf\xc3\xa9\":\"\xe2\x82\xac\"}", NULL}, /* UTF-8 */
	    {"{\"a\":1,\"a\":2}", "written twice"},
	    {"{\"a\":{\"b\":1,\"c\":2,\"b\":3}}", "(\"b\")"},
	    {"{\"a\":1}{\"b\":2}", "after the report's closing"},
	    {"{\"a\":1}\nsignature: 00", "after the report's closing"},
	    {"{\"a\":1} ", "after the report's closing"},
	    {"{\"a\":1,}", "key expected"},
	    {"{\"a\":[1,]}", "not a JSON value"},
	    {"{\"a\":NaN}", "not a JSON value"},
	    {"{\"a\":01}", "',' or '}' expected"},
	    {"{\"a\":1.}", "without digits"},
	    {"{\"a\":\"\x1b[2J\"}", "control byte"},
	    {"{\"a\":\"\x7f\"}", "control byte"},
	    {"{\"a\":\"\xff\"}", "not UTF-8"},
	    {"{\"a\":\"\xc3\"}", "not UTF-8"},
	    {"{\"a\":\"\xed\xa0\x80\"}", "not UTF-8"}, /* a surrogate */
	    {"{\"a\":\"\\u0000\"}", "\\u0000"},
	    {"{\"a\":\"\\x41\"}", "a bad escape"},
	    {"{\"a\":\"\\u12\"}", "bad \\u escape"},
	    {"{\"\\u0061\":1}", "escape in a key"},
	    {"{\"a\":\r1}", "not a JSON value"},
	    {"{\"a\":\"x}", "closing quote"},
	    {"[1]", "not a JSON object"},
	    {"", "not a JSON object"},
	};
	char why[512], deep[128];
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int rc = cairn__bench_report_json_check(
		    cases[i].body, strlen(cases[i].body), why, sizeof why);
		if (!cases[i].why
		        ? rc != 0
		        : rc != CAIRN_EFORMAT || !strstr(why, cases[i].why))
			fail_msg("case %zu (%s): rc %d, %s", i, cases[i].body,
			         rc, rc ? why : "accepted");
	}
	/* 32 levels are allowed, 33 are not */
	for (int d = 32; d <= 33; d++) {
		int n = 0;
		n += snprintf(deep + n, sizeof deep - (size_t)n, "{\"a\":");
		for (int k = 1; k < d; k++)
			deep[n++] = '[';
		for (int k = 1; k < d; k++)
			deep[n++] = ']';
		deep[n++] = '}';
		deep[n] = '\0';
		assert_int_equal(cairn__bench_report_json_check(
		                     deep, (size_t)n, why, sizeof why),
		                 d == 32 ? 0 : CAIRN_EFORMAT);
	}
}

/* A good signature over a body that is not a report cairn writes is still
 * rejected: here a second "signer" key that a JSON reader keeping the
 * last one would take for the signer. */
static void test_report_signed_malformed(void **state)
{
	struct cairn_identity a, b;
	char ha[CAIRN_HASH_HEX_BYTES], hb[CAIRN_HASH_HEX_BYTES];
	char body[512], file[1024], why[512], hx[2][CAIRN_HASH_HEX_BYTES];
	uint8_t digest[CAIRN_HASH_BYTES], sig[CAIRN_SIGNATURE_BYTES];
	(void)state;
	assert_int_equal(cairn_identity_generate(&a), 0);
	assert_int_equal(cairn_identity_generate(&b), 0);
	cairn_hash_to_hex(a.public_key, ha);
	cairn_hash_to_hex(b.public_key, hb);
	for (int t = 0; t < 4; t++) {
		size_t n, len;
		int rc;
		if (t < 3) {
			n = (size_t)snprintf(body, sizeof body,
			                     "{\"signer\":\"%s\",\"report\":"
			                     "\"cairn/report/v1\",",
			                     ha);
			if (t == 0) /* honest */
				n += (size_t)snprintf(body + n, sizeof body - n,
				                      "\"x\":1}\n");
			else if (t == 1) /* B named again */
				n += (size_t)snprintf(body + n, sizeof body - n,
				                      "\"signer\":\"%s\"}\n",
				                      hb);
			else /* a second object */
				n += (size_t)snprintf(body + n, sizeof body - n,
				                      "\"x\":1}{\"signer\":"
				                      "\"%s\"}\n",
				                      hb);
		} else { /* the key not followed by the report's name */
			n = (size_t)snprintf(body, sizeof body,
			                     "{\"signer\":\"%s\",\"x\":1}\n",
			                     ha);
		}
		assert_true(n < sizeof body);
		assert_int_equal(
		    cairn_hash_domain(CAIRN_DOM_REPORT, body, n, digest), 0);
		assert_int_equal(
		    cairn_identity_sign(&a, digest, sizeof digest, sig), 0);
		cairn_hash_to_hex(sig, hx[0]);
		cairn_hash_to_hex(sig + 32, hx[1]);
		len = (size_t)snprintf(file, sizeof file, "%s%s%s%s\n", body,
		                       CAIRN__BENCH_REPORT_SIG_LINE, hx[0],
		                       hx[1]);
		assert_true(len < sizeof file);
		rc =
		    cairn__bench_report_check(file, len, NULL, why, sizeof why);
		if (t == 0) {
			assert_int_equal(rc, 0);
			continue;
		}
		assert_int_equal(rc, CAIRN_EFORMAT);
		assert_non_null(strstr(why, t == 1   ? "(\"signer\")"
		                            : t == 2 ? "after the report's"
		                                     : "cairn/report/v1"));
	}
	cairn_identity_wipe(&a);
	cairn_identity_wipe(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_report_json),
	    cmocka_unit_test(test_report_signed_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
