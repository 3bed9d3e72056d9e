/* cairn: text made safe for a terminal (cairn/text.h). */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/error.h"
#include "cairn/text.h"
#include "text_impl.h"

/* Texts up to this long are formatted on the stack, and escaped texts up
 * to this long are written with one fwrite. */
#define CAIRN__TEXT_STACK 4096

int cairn_text_utf8_len(const unsigned char *p, size_t avail)
{
	unsigned c, lo = 0x80, hi = 0xbf;
	size_t n;

	if (!p || !avail)
		return 0;
	c = p[0];
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if (avail < n)
		return 0;
	if (c == 0xe0)
		lo = 0xa0; /* overlong */
	else if (c == 0xed)
		hi = 0x9f; /* surrogates */
	else if (c == 0xf0)
		lo = 0x90; /* overlong */
	else if (c == 0xf4)
		hi = 0x8f; /* above U+10FFFF */
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return (int)n;
}

/* The code point of the well-formed sequence of n bytes at p. */
static unsigned cairn__text_code_point(const unsigned char *p, int n)
{
	static const unsigned lead_mask[] = {0, 0x7f, 0x1f, 0x0f, 0x07};
	unsigned cp = p[0] & lead_mask[n];

	for (int i = 1; i < n; i++)
		cp = (cp << 6) | (p[i] & 0x3f);
	return cp;
}

/* Whether code point cp, though well-formed, is written as \uNNNN: a C1
 * control or a bidirectional control (Unicode's Bidi_Control: U+061C,
 * U+200E, U+200F, U+202A to U+202E, U+2066 to U+2069). */
static int cairn__text_hidden(unsigned cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0x61c || cp == 0x200e ||
	       cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069);
}

long cairn_text_hidden(const unsigned char *p, int n)
{
	unsigned cp;

	if (!p || n < 2 || n > 4)
		return -1;
	cp = cairn__text_code_point(p, n);
	return cairn__text_hidden(cp) ? (long)cp : -1;
}

/* The next unit of the n bytes at p as it is written: its bytes go to
 * tmp (at most 6) and their count to *tlen; returns how many input bytes
 * it used (n > 0).  A newline is kept only when nl_ok. */
static size_t cairn__text_unit(const unsigned char *p, size_t n, int nl_ok,
                               char tmp[6], size_t *tlen)
{
	static const char hx[] = "0123456789abcdef";
	int len = cairn_text_utf8_len(p, n);

	if (len == 1 && ((p[0] >= 0x20 && p[0] != 0x7f) || p[0] == '\t' ||
	                 (p[0] == '\n' && nl_ok))) {
		tmp[0] = (char)p[0];
		*tlen = 1;
		return 1;
	}
	if (len > 1) {
		unsigned cp = cairn__text_code_point(p, len);
		if (!cairn__text_hidden(cp)) {
			memcpy(tmp, p, (size_t)len);
			*tlen = (size_t)len;
			return (size_t)len;
		}
		tmp[0] = '\\';
		tmp[1] = 'u';
		for (int i = 0; i < 4; i++)
			tmp[2 + i] = hx[(cp >> (12 - 4 * i)) & 15];
		*tlen = 6;
		return (size_t)len;
	}
	/* A control byte, DEL, or a byte outside well-formed UTF-8. */
	tmp[0] = '\\';
	tmp[1] = 'x';
	tmp[2] = hx[p[0] >> 4];
	tmp[3] = hx[p[0] & 15];
	*tlen = 4;
	return 1;
}

size_t cairn_text_escape(const char *s, size_t n, char *out, size_t outlen)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t total = 0, o = 0, i = 0;
	int cut = 0;

	if (!s)
		n = 0;
	if (!out)
		outlen = 0;
	while (i < n) {
		char tmp[6];
		size_t tlen;
		i += cairn__text_unit(p + i, n - i, 0, tmp, &tlen);
		if (!cut && o + tlen < outlen) {
			memcpy(out + o, tmp, tlen);
			o += tlen;
		} else {
			cut = 1;
		}
		total += tlen;
	}
	if (outlen)
		out[o] = '\0';
	return total;
}

/* Escaped output gathered for f: an escaped text of up to 4 KiB leaves
 * in one fwrite, so an unbuffered stderr gets one write(2) for a line,
 * not one per byte, and another process's output does not land inside it
 * (a pipe takes a write of up to 4 KiB whole). */
struct cairn__text_out {
	FILE *f;
	size_t n;
	int rc;
	char buf[CAIRN__TEXT_STACK];
};

static void cairn__text_flush(struct cairn__text_out *o)
{
	if (o->n && fwrite(o->buf, 1, o->n, o->f) != o->n && !o->rc)
		o->rc = CAIRN_EIO;
	o->n = 0;
}

static void cairn__text_put(struct cairn__text_out *o, const char *s, size_t n)
{
	while (n) {
		size_t k = sizeof o->buf - o->n;
		if (!k) {
			cairn__text_flush(o);
			k = sizeof o->buf;
		}
		if (k > n)
			k = n;
		memcpy(o->buf + o->n, s, k);
		o->n += k;
		s += k;
		n -= k;
	}
}

int cairn__text_vprint(FILE *f, const char *prefix, int eol, const char *fmt,
                       va_list ap)
{
	char stack[CAIRN__TEXT_STACK], *heap = NULL;
	struct cairn__text_out o;
	const unsigned char *p;
	size_t fl, nl_at = SIZE_MAX;
	int n, rc = 0;
	va_list ap2;

	if (!f || !fmt)
		return CAIRN_EINVAL;
	va_copy(ap2, ap);
	n = vsnprintf(stack, sizeof stack, fmt, ap);
	if (n < 0) {
		rc = CAIRN_EINVAL;
		goto out;
	}
	p = (const unsigned char *)stack;
	if ((size_t)n >= sizeof stack) {
		heap = malloc((size_t)n + 1);
		if (heap && vsnprintf(heap, (size_t)n + 1, fmt, ap2) == n) {
			p = (const unsigned char *)heap;
		} else {
			/* The first 4 KiB still say something. */
			rc = CAIRN_ENOMEM;
			n = (int)sizeof stack - 1;
		}
	}
	/* The format's own final newline ends the line; a newline from an
	 * argument (a file may be named "x\nACCEPTED y") must not start a
	 * line of its own, so it is spelled out like any control byte. */
	fl = strlen(fmt);
	if (fl && fmt[fl - 1] == '\n') {
		if (rc)
			eol = 1; /* cut: the line still ends */
		else
			nl_at = (size_t)n - 1;
	}
	o.f = f;
	o.n = 0;
	o.rc = 0;
	flockfile(f);
	if (prefix)
		cairn__text_put(&o, prefix, strlen(prefix));
	for (size_t i = 0; i < (size_t)n;) {
		char tmp[6];
		size_t tlen;
		i += cairn__text_unit(p + i, (size_t)n - i, i == nl_at, tmp,
		                      &tlen);
		cairn__text_put(&o, tmp, tlen);
	}
	if (eol)
		cairn__text_put(&o, "\n", 1);
	cairn__text_flush(&o);
	funlockfile(f);
	if (!rc)
		rc = o.rc;
out:
	va_end(ap2);
	free(heap);
	return rc;
}

int cairn_text_vprint(FILE *f, const char *fmt, va_list ap)
{
	return cairn__text_vprint(f, NULL, 0, fmt, ap);
}

int cairn_text_print(FILE *f, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = cairn_text_vprint(f, fmt, ap);
	va_end(ap);
	return rc;
}
