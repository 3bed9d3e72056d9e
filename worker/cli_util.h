/* cairn: helpers shared by the commands of worker/ (not a public header). */
#ifndef CAIRN_CLI_UTIL_H
#define CAIRN_CLI_UTIL_H

#include <stdio.h>

/* The length of the well-formed UTF-8 sequence at p (1 to 4), or 0 when
 * the bytes there are not one (a stray continuation byte, a truncated,
 * overlong or surrogate sequence, above U+10FFFF). */
static inline int cairn__cli_utf8_len(const unsigned char *p)
{
	unsigned c = p[0], lo = 0x80, hi = 0xbf;
	int n;

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
	for (int i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

/* s as a JSON string on f, quotes included: always valid JSON in UTF-8,
 * whatever bytes s holds (a path, a message quoting a file): control
 * characters and DEL escaped, and each byte that is not part of
 * well-formed UTF-8 written as U+FFFD. */
static inline void cairn__cli_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		int n = cairn__cli_utf8_len(p);
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\u%04x", *p);
		else if (!n)
			fputs("\\ufffd", f);
		else
			fwrite(p, 1, (size_t)n, f);
		p += n ? n : 1;
	}
	fputc('"', f);
}

#endif
