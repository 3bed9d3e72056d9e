/* cairn: text that reaches a terminal, made safe whatever bytes it quotes.
 *
 * A message names files and peers, and a file's name or a peer's string is
 * anybody's bytes: `cairn verify` over the files of an untrusted archive can
 * hand cairn a name holding ESC [ 2 J or a right-to-left override.  Every
 * message (cairn_eprint, cairn_log) and every output line that quotes a
 * path or a message goes through cairn_text_print, which writes the
 * formatted text with each byte that could steer a terminal or disguise
 * what it shows spelled out instead:
 *
 *   - a C0 control other than tab, and DEL: \xNN (ESC is \x1b, CR is
 *     \x0d, LF is \x0a); the one newline kept is the last byte of a text
 *     whose format ends with one, the line's own end (so several lines
 *     take one call each): a name holding "\nACCEPTED x" must not forge
 *     a line;
 *   - a byte that is not part of well-formed UTF-8: \xNN;
 *   - a C1 control (U+0080 to U+009F) and the bidirectional controls
 *     U+061C, U+200E, U+200F, U+202A to U+202E and U+2066 to U+2069:
 *     \uNNNN.
 *
 * Everything else, printable ASCII and well-formed UTF-8, is written as it
 * is.  JSON output has its own escaping and does not come here; nor do
 * usage texts, tables of the machine's own figures, and progress lines
 * that rewrite themselves with CR: cairn's own bytes. */
#ifndef CAIRN_TEXT_H
#define CAIRN_TEXT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The length of the well-formed UTF-8 sequence at p, of which avail bytes
 * may be read (1 to 4), or 0 when the bytes there are not one: a stray
 * continuation byte, or a truncated, overlong or surrogate sequence, or
 * one above U+10FFFF.  avail 0 gives 0.  The bytes are read in order and
 * the first that does not fit stops it, so on a NUL-terminated string
 * avail may be 4 whatever is left: a NUL is never read past. */
int cairn_text_utf8_len(const unsigned char *p, size_t avail);

/* For the well-formed sequence of n bytes at p (n from
 * cairn_text_utf8_len): its code point when cairn_text_print spells it
 * out as \uNNNN (a C1 or bidirectional control), else -1.  The JSON
 * writers escape the same code points. */
long cairn_text_hidden(const unsigned char *p, int n);

/* Writes the n bytes at s to out (outlen bytes, always NUL-terminated when
 * outlen > 0) escaped as above, every newline spelled out (s is one value,
 * a name, with no line of its own to end); returns the length of the whole
 * escaped text, as snprintf does, so a return >= outlen means out was cut
 * (never inside an escape). */
size_t cairn_text_escape(const char *s, size_t n, char *out, size_t outlen);

/* printf to f, the formatted text escaped as above, under f's lock so that
 * a line from one thread is not cut by another's, and in one fwrite when
 * the escaped text is 4 KiB or less (one write(2) on an unbuffered
 * stderr).  0, or CAIRN_EINVAL for a NULL f or fmt or a format vsnprintf
 * refuses, CAIRN_ENOMEM when a text longer than 4 KiB cannot be formatted
 * (its first 4 KiB are written), or CAIRN_EIO when f reports a write
 * error. */
int cairn_text_print(FILE *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int cairn_text_vprint(FILE *f, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* A message for the person at the terminal, on stderr. */
#define cairn_eprint(...) cairn_text_print(stderr, __VA_ARGS__)

#ifdef __cplusplus
}
#endif
#endif
