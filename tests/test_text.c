/* cairn: text made safe for a terminal (kernels/text.c, cairn/text.h).
 *
 * - cairn_text_utf8_len on each class of UTF-8 sequence and on each way
 *   one can be malformed, and never reading past avail;
 * - cairn_text_escape on each byte class it escapes and each it keeps,
 *   its snprintf-like return, and a cut that never splits an escape;
 * - cairn_text_print through a file, below and above its 4 KiB stack
 *   buffer, a newline kept only as the format's own line end, and
 *   cairn_log's message through stderr;
 * - random bytes (seed printed): the escaped text holds no control byte
 *   but tab, no DEL, is well-formed UTF-8 with no C1 or bidi
 *   control, and a text with none of those comes out unchanged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cairn/error.h"
#include "cairn/log.h"
#include "cairn/text.h"
#include "test_util.h"

static uint64_t g_seed;

static void test_utf8_len(void **state)
{
	static const struct {
		const char *bytes;
		size_t n;
		int want;
	} c[] = {
	    {"A", 1, 1},
	    {"\x7f", 1, 1},
	    {"\xc2\x80", 2, 2},         /* U+0080 */
	    {"\xdf\xbf", 2, 2},         /* U+07FF */
	    {"\xe0\xa0\x80", 3, 3},     /* U+0800 */
	    {"\xe2\x80\xae", 3, 3},     /* U+202E */
	    {"\xef\xbf\xbf", 3, 3},     /* U+FFFF */
	    {"\xf0\x90\x80\x80", 4, 4}, /* U+10000 */
	    {"\xf4\x8f\xbf\xbf", 4, 4}, /* U+10FFFF */
	    {"\x80", 1, 0},             /* stray continuation */
	    {"\xbf", 1, 0},
	    {"\xc0\x80", 2, 0},         /* overlong NUL */
	    {"\xc1\xbf", 2, 0},         /* overlong */
	    {"\xe0\x9f\xbf", 3, 0},     /* overlong */
	    {"\xed\xa0\x80", 3, 0},     /* surrogate U+D800 */
	    {"\xf0\x8f\xbf\xbf", 4, 0}, /* overlong */
	    {"\xf4\x90\x80\x80", 4, 0}, /* above U+10FFFF */
	    {"\xf5\x80\x80\x80", 4, 0},
	    {"\xff", 1, 0},
	    {"\xc2\x41", 2, 0}, /* continuation missing */
	    {"\xe2\x80\x41", 3, 0},
	    {"\xf0\x90\x80\x41", 4, 0},
	    {"\xe2\x80\xae", 2, 0}, /* truncated by avail */
	    {"\xf0\x90\x80\x80", 3, 0},
	    {"\xc2\x80", 1, 0},
	    {"A", 0, 0},
	};
	(void)state;
	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
		/* exactly n bytes on the heap: ASan catches a read past avail
		 */
		unsigned char *p = cairn_test_xmalloc(c[i].n);
		memcpy(p, c[i].bytes, c[i].n);
		if (cairn_text_utf8_len(p, c[i].n) != c[i].want)
			fail_msg("case %zu: utf8_len %d, want %d", i,
			         cairn_text_utf8_len(p, c[i].n), c[i].want);
		free(p);
	}
}

/* The escaped text of the n bytes at s, checked to equal want. */
static void check_escape(const char *s, size_t n, const char *want)
{
	char out[256];
	size_t len = cairn_text_escape(s, n, out, sizeof out);

	assert_int_equal(len, strlen(want));
	assert_string_equal(out, want);
}

static void test_escape_classes(void **state)
{
	(void)state;
	check_escape("plain text, 0-9 ~", 17, "plain text, 0-9 ~");
	check_escape("a\nb\tc", 5, "a\\x0ab\tc"); /* a value: no line */
	check_escape("\x1b[2J", 4, "\\x1b[2J");
	check_escape("a\rb", 3, "a\\x0db");
	check_escape("\x07\x08\x7f", 3, "\\x07\\x08\\x7f");
	check_escape("a\0b", 3, "a\\x00b");
	check_escape("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x99\x82", 14,
	             "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x99\x82");
	check_escape("\xc2\x9b"
	             "31m",
	             5, "\\u009b31m"); /* C1 CSI */
	check_escape("\x9b"
	             "31m",
	             4, "\\x9b31m"); /* raw 8-bit CSI */
	check_escape("evil\xe2\x80\xaegpj.exe", 14, "evil\\u202egpj.exe");
	check_escape("\xe2\x80\x8e\xe2\x80\x8f", 6, "\\u200e\\u200f");
	check_escape("\xd8\x9c", 2, "\\u061c"); /* ARABIC LETTER MARK */
	check_escape("\xe2\x80\xaa\xe2\x81\xa6\xe2\x81\xa9", 9,
	             "\\u202a\\u2066\\u2069");
	check_escape("\xe2\x80\xa9\xe2\x81\xaa", 6,
	             "\xe2\x80\xa9\xe2\x81\xaa"); /* neighbours kept */
	check_escape("\xed\xa0\x80", 3, "\\xed\\xa0\\x80");
	check_escape("\xe2\x80", 2, "\\xe2\\x80"); /* cut off at the end */
	check_escape("", 0, "");
	/* cairn_text_hidden: the code point of those spelled out as \uNNNN */
	assert_int_equal(
	    cairn_text_hidden((const unsigned char *)"\xe2\x80\xae", 3),
	    0x202e);
	assert_int_equal(
	    cairn_text_hidden((const unsigned char *)"\xc2\x9b", 2), 0x9b);
	assert_int_equal(
	    cairn_text_hidden((const unsigned char *)"\xd8\x9c", 2), 0x61c);
	assert_int_equal(
	    cairn_text_hidden((const unsigned char *)"\xc3\xa9", 2), -1);
	assert_int_equal(cairn_text_hidden((const unsigned char *)"a", 1), -1);
}

/* A cut output: NUL-terminated, never inside an escape, and the return
 * is the whole length. */
static void test_escape_cut(void **state)
{
	const char *s = "ab\x1b"
	                "cd";
	char out[8];
	size_t full = strlen("ab\\x1bcd");

	(void)state;
	for (size_t outlen = 0; outlen <= sizeof out; outlen++) {
		memset(out, 'Z', sizeof out);
		assert_int_equal(cairn_text_escape(s, 5, out, outlen), full);
		if (!outlen) {
			assert_int_equal(out[0], 'Z');
			continue;
		}
		assert_non_null(memchr(out, '\0', outlen));
		/* what was written is a prefix ending between units */
		if (outlen < 3)
			assert_int_equal(strlen(out), outlen - 1);
		else if (outlen < 7)
			assert_string_equal(out, "ab");
		else if (outlen == 7)
			assert_string_equal(out, "ab\\x1b");
		else
			assert_string_equal(out, "ab\\x1bc");
	}
}

/* cairn_text_print of fmt and its arguments into a temporary file: the
 * bytes. */
static char *printf_to_file(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static char *printf_to_file(const char *fmt, ...)
{
	FILE *f = tmpfile();
	va_list ap;
	int rc;

	assert_non_null(f);
	va_start(ap, fmt);
	rc = cairn_text_vprint(f, fmt, ap);
	va_end(ap);
	assert_int_equal(rc, 0);
	return cairn_test_read_stream(f, NULL);
}

#define CHECK_PRINT(want, ...)                                                 \
	do {                                                                   \
		char *got_ = printf_to_file(__VA_ARGS__);                      \
		assert_string_equal(got_, want);                               \
		free(got_);                                                    \
	} while (0)

static void test_print(void **state)
{
	size_t len, n = 10000;
	char *big, *got, *want;

	(void)state;
	got = printf_to_file("%s%s\n", "cannot open 'a\x1b]0;owned\x07.cairn'",
	                     ": no such file");
	assert_string_equal(got,
	                    "cannot open 'a\\x1b]0;owned\\x07.cairn': no such "
	                    "file\n");
	free(got);

	/* Above the stack buffer: all of it, escaped to the end. */
	big = cairn_test_xmalloc(n + 1);
	for (size_t i = 0; i < n; i++)
		big[i] = (char)('a' + i % 26);
	big[n - 1] = '\x1b';
	big[n] = '\0';
	got = printf_to_file("%s%s", big, "!");
	len = strlen(got);
	assert_int_equal(len, n - 1 + 4 + 1);
	want = cairn_test_xmalloc(len + 1);
	memcpy(want, big, n - 1);
	memcpy(want + n - 1, "\\x1b!", 6);
	assert_memory_equal(got, want, len + 1);
	free(want);
	free(got);
	free(big);
}

/* Only the format's final newline ends a line: one from an argument (a
 * file named "x\nACCEPTED y") is spelled out, also where it is the last
 * byte of the text. */
static void test_print_newline(void **state)
{
	(void)state;
	CHECK_PRINT("cannot open x\\x0aACCEPTED y\n", "cannot open %s\n",
	            "x\nACCEPTED y");
	CHECK_PRINT("cannot open x\\x0a\n", "cannot open %s\n", "x\n");
	CHECK_PRINT("ACCEPTED x\\x0a", "ACCEPTED %s", "x\n");
	CHECK_PRINT("\\x0a", "%s", "\n");
	CHECK_PRINT("a\\x0ab\n", "a\n%s\n", "b"); /* one call per line */
	CHECK_PRINT("\n", "%s\n", "");
}

/* A text whose escapes make it longer than the 4 KiB written at once:
 * all of it, in order. */
static void test_print_long_escaped(void **state)
{
	size_t n = 3000, len;
	char *esc = cairn_test_xmalloc(n + 1), *got;

	(void)state;
	memset(esc, 0x1b, n);
	esc[n] = '\0';
	got = printf_to_file("<%s>\n", esc);
	len = strlen(got);
	assert_int_equal(len, 1 + 4 * n + 2);
	assert_int_equal(got[0], '<');
	for (size_t i = 0; i < n; i++)
		assert_memory_equal(got + 1 + 4 * i, "\\x1b", 4);
	assert_string_equal(got + 1 + 4 * n, ">\n");
	free(got);
	free(esc);
}

/* cairn_log's message is escaped too: stderr caught in a file. */
static void test_log(void **state)
{
	FILE *f = tmpfile();
	int saved, level = cairn_log_get_level();
	char *got;

	(void)state;
	assert_non_null(f);
	fflush(stderr);
	saved = dup(2);
	assert_true(saved >= 0);
	assert_int_equal(dup2(fileno(f), 2), 2);
	cairn_log_set_level(CAIRN_LOG_INFO);
	cairn_error("cannot read %s", "a\x1b[2J\xe2\x80\xae.idx");
	cairn_error("cannot read %s", "b\n2026 cairn[INFO] all good");
	cairn_debug("not shown %s", "\x1b");
	fflush(stderr);
	assert_int_equal(dup2(saved, 2), 2);
	close(saved);
	cairn_log_set_level(level);
	got = cairn_test_read_stream(f, NULL);
	assert_non_null(strstr(got, " cairn[ERROR] cannot read "
	                            "a\\x1b[2J\\u202e.idx\n"));
	assert_non_null(strstr(got, " cairn[ERROR] cannot read "
	                            "b\\x0a2026 cairn[INFO] all good\n"));
	assert_null(strchr(got, '\x1b'));
	assert_null(strstr(got, "not shown"));
	free(got);
}

/* Whether the n bytes at s are what a terminal may safely be shown. */
static void check_safe(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		int k = cairn_text_utf8_len(s + i, n - i);
		if (!k)
			fail_msg("byte 0x%02x at %zu is not UTF-8", s[i], i);
		if (k == 1 && ((s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f))
			fail_msg("control byte 0x%02x at %zu", s[i], i);
		if (k == 2 && s[i] == 0xc2 && s[i + 1] < 0xa0)
			fail_msg("C1 control at %zu", i);
		if (k == 3 && s[i] == 0xe2 &&
		    ((s[i + 1] == 0x80 &&
		      (s[i + 2] == 0x8e || s[i + 2] == 0x8f ||
		       (s[i + 2] >= 0xaa && s[i + 2] <= 0xae))) ||
		     (s[i + 1] == 0x81 && s[i + 2] >= 0xa6 &&
		      s[i + 2] <= 0xa9)))
			fail_msg("bidi control at %zu", i);
		i += (size_t)k;
	}
}

static void test_random(void **state)
{
	uint64_t rng = g_seed;
	/* bytes biased to the interesting ones */
	static const unsigned char pool[] = {
	    0x00, 0x07, 0x09, 0x0a, 0x0d, 0x1b, 0x7f, 0x80, 0x9b, 0xbf,
	    0xc2, 0xc0, 0xe2, 0x80, 0x81, 0xae, 0xa6, 0xed, 0xf0, 0xf4,
	    0x90, 0xff, 'a',  '\\', 0x8e, 0xa9, 0xaa, 0x8f, 0xc3, 0xa9};
	unsigned char in[64];
	char out[64 * 6 + 1];

	(void)state;
	for (int t = 0; t < 200000; t++) {
		size_t n = cairn_test_splitmix64(&rng) % sizeof in, len;
		for (size_t i = 0; i < n; i++) {
			uint64_t r = cairn_test_splitmix64(&rng);
			in[i] = (r & 1) ? pool[(r >> 8) % sizeof pool]
			                : (unsigned char)(r >> 16);
		}
		len = cairn_text_escape((const char *)in, n, out, sizeof out);
		assert_true(len < sizeof out);
		assert_int_equal(strlen(out), len);
		check_safe((const unsigned char *)out, len);
	}
	/* Safe text is kept as it is. */
	for (int t = 0; t < 20000; t++) {
		size_t n = 0, len;
		while (n < 40) {
			static const char *const units[] = {"a",
			                                    " ",
			                                    "\\x0a",
			                                    "\t",
			                                    "\\x1b",
			                                    "\xc3\xa9",
			                                    "\xe2\x82\xac",
			                                    "\xf0\x9f\x99\x82",
			                                    "\xc2\xa0",
			                                    "\xe2\x80\xa9"};
			const char *u = units[cairn_test_splitmix64(&rng) % 10];
			memcpy(in + n, u, strlen(u));
			n += strlen(u);
		}
		len = cairn_text_escape((const char *)in, n, out, sizeof out);
		assert_int_equal(len, n);
		assert_memory_equal(out, in, n);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_utf8_len),
	    cmocka_unit_test(test_escape_classes),
	    cmocka_unit_test(test_escape_cut),
	    cmocka_unit_test(test_print),
	    cmocka_unit_test(test_print_newline),
	    cmocka_unit_test(test_print_long_escaped),
	    cmocka_unit_test(test_log),
	    cmocka_unit_test(test_random),
	};
	g_seed = cairn_test_seed("test_text");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
