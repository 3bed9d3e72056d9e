/* cairn: helpers shared by the commands of worker/ (not a public header). */
#ifndef CAIRN_CLI_UTIL_H
#define CAIRN_CLI_UTIL_H

#include <stdio.h>

#include "cairn/text.h"

/* s as a JSON string on f, quotes included: always valid JSON in UTF-8,
 * whatever bytes s holds (a path, a message quoting a file): control
 * characters, DEL, and the C1 and bidirectional controls that
 * cairn_text_print spells out escaped as \\uNNNN (the same text, and
 * no raw control reaches a terminal showing the JSON), and each byte that
 * is not part of well-formed UTF-8 written as U+FFFD. */
static inline void cairn__cli_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		int n = cairn_text_utf8_len(p, 4); /* a NUL ends the check */
		long cp = cairn_text_hidden(p, n);
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\u%04x", *p);
		else if (!n)
			fputs("\\ufffd", f);
		else if (cp >= 0)
			fprintf(f, "\\u%04lx", cp);
		else
			fwrite(p, 1, (size_t)n, f);
		p += n ? n : 1;
	}
	fputc('"', f);
}

#endif
