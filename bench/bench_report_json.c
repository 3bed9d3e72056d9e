/* cairn: the strict JSON check of a signed report's body (bench.h,
 * cairn__bench_report_json_check), so that a good signature also means
 * that every reader of the file sees the same report: one JSON object
 * (RFC 8259) and nothing else, in UTF-8, with no control byte or DEL in a
 * string, no "\u0000", no key written twice in one object (a reader that
 * keeps the first and one that keeps the last would disagree), keys
 * without escapes (so that "a" and "\u0061" cannot both appear), and at
 * most REPORT_JSON_MAX_DEPTH nested arrays and objects.  White space is
 * JSON's less the carriage return, which cairn never writes.
 *
 * Ownership: nothing is kept; each object's key list is the check's own
 * and freed before it returns.  Time and memory are O(n log n) and O(n)
 * in the body's length. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "cairn/error.h"
#include "cairn/text.h"

#define REPORT_JSON_MAX_DEPTH 32

struct rj_key {
	const unsigned char *s;
	size_t n;
};

struct rj {
	const unsigned char *p, *start, *end;
	const char *fail;  /* what was wrong; NULL until then */
	size_t at;         /* its byte offset */
	struct rj_key dup; /* with a key written twice: that key */
	int depth;
	int nomem;
};

static int rj_fail(struct rj *j, const char *what)
{
	if (!j->fail) {
		j->fail = what;
		j->at = (size_t)(j->p - j->start);
	}
	return -1;
}

static void rj_space(struct rj *j)
{
	while (j->p < j->end &&
	       (*j->p == ' ' || *j->p == '\t' || *j->p == '\n'))
		j->p++;
}

static int rj_hex4(const unsigned char *p)
{
	for (int i = 0; i < 4; i++)
		if (!((p[i] >= '0' && p[i] <= '9') ||
		      (p[i] >= 'a' && p[i] <= 'f') ||
		      (p[i] >= 'A' && p[i] <= 'F')))
			return 0;
	return 1;
}

/* A string at j->p (its opening quote); key: no escapes allowed, and its
 * bytes between the quotes into *k. */
static int rj_string(struct rj *j, struct rj_key *k)
{
	j->p++;
	if (k)
		k->s = j->p;
	while (j->p < j->end && *j->p != '"') {
		int n;
		if (*j->p < 0x20 || *j->p == 0x7f)
			return rj_fail(j, "a control byte in a string");
		if (*j->p == '\\') {
			if (k)
				return rj_fail(j, "an escape in a key");
			if (j->end - j->p < 2)
				break;
			if (j->p[1] == 'u') {
				if (j->end - j->p < 6 || !rj_hex4(j->p + 2))
					return rj_fail(j, "a bad \\u escape");
				if (!memcmp(j->p + 2, "0000", 4))
					return rj_fail(j,
					               "\\u0000 in a string");
				j->p += 6;
			} else if (strchr("\"\\/bfnrt", j->p[1]) && j->p[1]) {
				j->p += 2;
			} else {
				return rj_fail(j, "a bad escape");
			}
			continue;
		}
		if (*j->p >= 0x80) {
			n = cairn_text_utf8_len(j->p, (size_t)(j->end - j->p));
			if (!n)
				return rj_fail(j, "a byte that is not UTF-8");
		} else {
			n = 1;
		}
		j->p += n;
	}
	if (j->p >= j->end)
		return rj_fail(j, "a string without its closing quote");
	if (k)
		k->n = (size_t)(j->p - k->s);
	j->p++;
	return 0;
}

static int rj_digits(struct rj *j)
{
	const unsigned char *d = j->p;
	while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
		j->p++;
	return j->p > d ? 0 : rj_fail(j, "a number without digits");
}

/* -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static int rj_number(struct rj *j)
{
	if (*j->p == '-')
		j->p++;
	if (j->p < j->end && *j->p == '0')
		j->p++;
	else if (rj_digits(j))
		return -1;
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (rj_digits(j))
			return -1;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (rj_digits(j))
			return -1;
	}
	return 0;
}

static int rj_key_cmp(const void *a, const void *b)
{
	const struct rj_key *x = a, *y = b;
	int c = memcmp(x->s, y->s, x->n < y->n ? x->n : y->n);
	return c ? c : (x->n > y->n) - (x->n < y->n);
}

static int rj_value(struct rj *j);

static int rj_object(struct rj *j)
{
	struct rj_key *keys = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;

	j->p++;
	rj_space(j);
	if (j->p < j->end && *j->p == '}') {
		j->p++;
		return 0;
	}
	for (;;) {
		struct rj_key k;
		rj_space(j);
		if (j->p >= j->end || *j->p != '"') {
			rc = rj_fail(j, "an object key expected");
			break;
		}
		if ((rc = rj_string(j, &k)))
			break;
		if (n == cap) {
			size_t c2 = cap ? cap * 2 : 16;
			struct rj_key *k2 = realloc(keys, c2 * sizeof *k2);
			if (!k2) {
				j->nomem = 1;
				rc = rj_fail(j, "out of memory");
				break;
			}
			keys = k2;
			cap = c2;
		}
		keys[n++] = k;
		rj_space(j);
		if (j->p >= j->end || *j->p != ':') {
			rc = rj_fail(j, "':' expected after a key");
			break;
		}
		j->p++;
		if ((rc = rj_value(j)))
			break;
		rj_space(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if (j->p < j->end && *j->p == '}') {
			j->p++;
			break;
		}
		rc = rj_fail(j, "',' or '}' expected");
		break;
	}
	if (!rc && n > 1) {
		qsort(keys, n, sizeof *keys, rj_key_cmp);
		for (size_t i = 1; i < n && !rc; i++)
			if (!rj_key_cmp(&keys[i - 1], &keys[i])) {
				/* at the object's end; the key is named */
				rc = rj_fail(j, "a key written twice in the "
				                "object that ends");
				j->dup = keys[i];
			}
	}
	free(keys);
	return rc;
}

static int rj_array(struct rj *j)
{
	j->p++;
	rj_space(j);
	if (j->p < j->end && *j->p == ']') {
		j->p++;
		return 0;
	}
	for (;;) {
		if (rj_value(j))
			return -1;
		rj_space(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if (j->p < j->end && *j->p == ']') {
			j->p++;
			return 0;
		}
		return rj_fail(j, "',' or ']' expected");
	}
}

static int rj_literal(struct rj *j, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n))
		return rj_fail(j, "not a JSON value");
	j->p += n;
	return 0;
}

static int rj_value(struct rj *j)
{
	int rc;

	rj_space(j);
	if (j->p >= j->end)
		return rj_fail(j, "a value expected");
	switch (*j->p) {
	case '{':
	case '[':
		if (++j->depth > REPORT_JSON_MAX_DEPTH)
			return rj_fail(j, "nested deeper than 32");
		rc = *j->p == '{' ? rj_object(j) : rj_array(j);
		j->depth--;
		return rc;
	case '"':
		return rj_string(j, NULL);
	case 't':
		return rj_literal(j, "true");
	case 'f':
		return rj_literal(j, "false");
	case 'n':
		return rj_literal(j, "null");
	default:
		if (*j->p == '-' || (*j->p >= '0' && *j->p <= '9'))
			return rj_number(j);
		return rj_fail(j, "not a JSON value");
	}
}

int cairn__bench_report_json_check(const char *body, size_t len, char *why,
                                   size_t why_len)
{
	struct rj j = {0};

	j.p = j.start = (const unsigned char *)body;
	j.end = j.p + len;
	if (!len || *j.p != '{')
		rj_fail(&j, "not a JSON object");
	else if (!rj_value(&j) && j.p != j.end)
		rj_fail(&j, "bytes after the report's closing '}'");
	if (!j.fail)
		return 0;
	if (why && why_len) {
		int shown = j.dup.s && j.dup.n <= 64; /* the key, when plain */
		for (size_t i = 0; shown && i < j.dup.n; i++)
			shown = j.dup.s[i] >= 0x20 && j.dup.s[i] < 0x7f;
		snprintf(
		    why, why_len,
		    "the report is not one well-formed JSON object as "
		    "cairn writes it: %s at byte %zu%s%.*s%s",
		    j.fail, j.at, shown ? " (\"" : "", shown ? (int)j.dup.n : 0,
		    shown ? (const char *)j.dup.s : "", shown ? "\")" : "");
	}
	return j.nomem ? CAIRN_ENOMEM : CAIRN_EFORMAT;
}
