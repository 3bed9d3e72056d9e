/* cairn: the core of cairn_text_vprint, shared with cairn_log (not a
 * public header). */
#ifndef CAIRN_TEXT_IMPL_H
#define CAIRN_TEXT_IMPL_H

#include <stdarg.h>
#include <stdio.h>

/* prefix as it is (cairn's own bytes; NULL for none), then fmt's text
 * escaped (cairn/text.h), then a newline when eol: under f's lock, in one
 * fwrite when it all comes to 4 KiB or less.  cairn_text_vprint's return
 * codes. */
int cairn__text_vprint(FILE *f, const char *prefix, int eol, const char *fmt,
                       va_list ap) __attribute__((format(printf, 4, 0)));

#endif
