/* cairn: verdict lines (worker/verdicts.h): the JSON object `cairn verify`
 * writes for a verdict, and `cairn verify --verdicts`, which checks files
 * of them.
 *
 * A line is written in a fixed order from the verdict and three unsigned
 * strings (bundle path, device, reason):
 *   {"bundle":S  PART1  S  PART2  [,"reason":S]  [SIGNED]  }
 * where PART1, PART2 and SIGNED are rendered from the verdict alone.  The
 * checker decodes the signed encoding ("verdict"), verifies its signature,
 * renders PART1, PART2 and SIGNED from it and requires the line to be
 * exactly that, with any well-formed JSON strings in the S places: so a
 * valid line says nothing the signed verdict does not (no extra key, no
 * repeated key, no edited value).
 *
 * Ownership: nothing here keeps a pointer to its arguments; the renderings
 * are open_memstream buffers freed before each function returns. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cairn/attest.h"
#include "cairn/audit.h"
#include "cairn/text.h"
#include "cli_util.h"
#include "verdicts.h"

static void hex_bytes(const uint8_t *p, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[p[i] >> 4];
		out[2 * i + 1] = d[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static const char *const elem_names[4] = {NULL, "params", "m", "v"};

/* PART1: the task, the trace root and the nonce, up to the device's
 * value. */
static void part1(FILE *f, const struct cairn_audit_verdict *v)
{
	char hx[2 * CAIRN_HASH_BYTES + 1];

	hex_bytes(v->task_id, CAIRN_HASH_BYTES, hx);
	fprintf(f, ",\"task_id\":\"%s\"", hx);
	hex_bytes(v->trace_root, CAIRN_HASH_BYTES, hx);
	fprintf(f, ",\"trace_root\":\"%s\"", hx);
	hex_bytes(v->nonce, CAIRN_HASH_BYTES, hx);
	fprintf(f, ",\"nonce\":\"%s\",\"device\":", hx);
}

/* PART2: the segments drawn, the decision and the narrowing of a replay
 * rejection ("first_difference", "element"; null when there is none). */
static void part2(FILE *f, const struct cairn_audit_verdict *v)
{
	char names[64];

	fputs(",\"segments\":[", f);
	for (uint32_t i = 0; i < v->nsegments; i++)
		fprintf(f, "%s%" PRIu32, i ? "," : "", v->segments[i]);
	fprintf(f, "],\"accepted\":%s,\"check\":\"%s\"",
	        v->accepted ? "true" : "false",
	        cairn_audit_check_name((int)v->check));
	if (v->segment != CAIRN_AUDIT_NO_SEGMENT)
		fprintf(f,
		        ",\"segment\":%" PRIu32 ",\"steps\":[%" PRIu32
		        ",%" PRIu32 "]",
		        v->segment, v->step_first, v->step_last);
	else
		fputs(",\"segment\":null,\"steps\":null", f);
	cairn_audit_diff_names(v->diff, names, sizeof names);
	fprintf(f, ",\"differs\":\"%s\"", v->diff ? names : "");
	if (v->diff_step) {
		cairn_audit_diff_names(v->diff_what, names, sizeof names);
		fprintf(f,
		        ",\"first_difference\":{\"step\":%" PRIu32
		        ",\"differs\":\"%s\"}",
		        v->diff_step, v->diff_what ? names : "");
	} else {
		fputs(",\"first_difference\":null", f);
	}
	if (v->elem_tensor >= 1 && v->elem_tensor <= 3)
		fprintf(f,
		        ",\"element\":{\"tensor\":\"%s\",\"index\":%" PRIu64
		        ",\"count\":%" PRIu64 ",\"worker_bits\":\"%08" PRIx32
		        "\",\"replay_bits\":\"%08" PRIx32 "\"}",
		        elem_names[v->elem_tensor], v->elem_index,
		        v->elem_count, v->elem_worker, v->elem_replay);
	else
		fputs(",\"element\":null", f);
}

/* SIGNED: the auditor's key, the signed encoding in hex and the
 * signature. */
static void part_signed(FILE *f, const struct cairn_audit_verdict *v)
{
	char hx[2 * CAIRN_SIGNATURE_BYTES + 1], *enc_hex;
	uint8_t *enc = malloc(CAIRN_AUDIT_VERDICT_MAX_BYTES);
	size_t len = 0;

	hex_bytes(v->auditor_key, CAIRN_PUBLIC_KEY_BYTES, hx);
	fprintf(f, ",\"auditor_key\":\"%s\"", hx);
	enc_hex = malloc(2 * CAIRN_AUDIT_VERDICT_MAX_BYTES + 1);
	if (enc && enc_hex &&
	    !cairn_audit_verdict_encode(v, enc, CAIRN_AUDIT_VERDICT_MAX_BYTES,
	                                &len)) {
		hex_bytes(enc, len, enc_hex);
		fprintf(f, ",\"verdict\":\"%s\"", enc_hex);
	}
	free(enc);
	free(enc_hex);
	hex_bytes(v->signature, CAIRN_SIGNATURE_BYTES, hx);
	fprintf(f, ",\"signature\":\"%s\"", hx);
}

void cairn__verdict_json(FILE *f, const char *path, const char *device,
                         const struct cairn_audit_verdict *v,
                         const char *reason, int with_signature)
{
	fputs("{\"bundle\":", f);
	cairn__cli_json_string(f, path);
	part1(f, v);
	cairn__cli_json_string(f, device);
	part2(f, v);
	if (!v->accepted) {
		fputs(",\"reason\":", f);
		cairn__cli_json_string(f, reason ? reason : "");
	}
	if (with_signature)
		part_signed(f, v);
	fputc('}', f);
}

/* ---- checking ------------------------------------------------------------ */

/* The value of the last "key":"..." in line: its first character and
 * length (to the next quote); NULL when there is none.  Only used to
 * find the signed encoding and the signature (hex, no quotes inside):
 * the whole line is then checked against them. */
static const char *line_field(const char *line, const char *key, size_t *len)
{
	char pat[32];
	const char *p = NULL, *q, *end;

	snprintf(pat, sizeof pat, "\"%s\":\"", key);
	for (q = strstr(line, pat); q; q = strstr(q + 1, pat))
		p = q + strlen(pat);
	if (!p || !(end = strchr(p, '"')))
		return NULL;
	*len = (size_t)(end - p);
	return p;
}

/* Past the JSON string at p (which must start with a quote): no control
 * characters, only JSON's escapes, well-formed UTF-8; NULL when it is not
 * one. */
static const char *skip_string(const char *p)
{
	if (*p != '"')
		return NULL;
	for (p++;; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '"')
			return p + 1;
		if (c < 0x20)
			return NULL; /* the end of the line, or a raw control */
		if (c >= 0x80) {
			int n =
			    cairn_text_utf8_len((const unsigned char *)p, 4);
			if (!n)
				return NULL;
			p += n - 1;
			continue;
		}
		if (c != '\\')
			continue;
		c = (unsigned char)*++p;
		if (c == 'u') {
			for (int i = 0; i < 4; i++)
				if (!strchr("0123456789abcdefABCDEF", *++p) ||
				    !*p)
					return NULL;
		} else if (!c || !strchr("\"\\/bfnrt", c)) {
			return NULL;
		}
	}
}

/* Past the literal lit at p; NULL when p does not start with it. */
static const char *skip_literal(const char *p, const char *lit, size_t n)
{
	return p && !strncmp(p, lit, n) ? p + n : NULL;
}

/* 0 when line is exactly what cairn__verdict_json writes for v with some
 * path, device and reason; else -1 with the part that differs in what. */
static int line_is_verdict(const char *line,
                           const struct cairn_audit_verdict *v, char *what,
                           size_t whatlen)
{
	void (*const parts[3])(FILE *, const struct cairn_audit_verdict *) = {
	    part1, part2, part_signed};
	static const char *const names[3] = {
	    "task_id, trace_root or nonce",
	    "segments, accepted, check, segment, steps, differs, "
	    "first_difference or element",
	    "auditor_key, verdict or signature"};
	char *r[3] = {NULL, NULL, NULL};
	size_t rl[3] = {0, 0, 0};
	const char *p;
	int rc = -1;

	for (int k = 0; k < 3; k++) {
		FILE *m = open_memstream(&r[k], &rl[k]);
		if (!m) {
			snprintf(what, whatlen, "(out of memory)");
			goto out;
		}
		parts[k](m, v);
		if (fclose(m)) {
			snprintf(what, whatlen, "(out of memory)");
			goto out;
		}
	}
	/* Each step names the part it checks, then moves past it; the first
	 * that fails leaves p NULL and its name in what. */
#define PART(name, expr)                                                       \
	do {                                                                   \
		if (p) {                                                       \
			snprintf(what, whatlen, "%s", name);                   \
			p = (expr);                                            \
		}                                                              \
	} while (0)
	p = line;
	PART("bundle", skip_literal(p, "{\"bundle\":", 10));
	PART("bundle", skip_string(p));
	PART(names[0], skip_literal(p, r[0], rl[0]));
	PART("device", skip_string(p));
	PART(names[1], skip_literal(p, r[1], rl[1]));
	if (!v->accepted) {
		PART("reason", skip_literal(p, ",\"reason\":", 10));
		PART("reason", skip_string(p));
	}
	PART(names[2], skip_literal(p, r[2], rl[2]));
	PART("what follows the signature", strcmp(p, "}") ? NULL : p);
#undef PART
	if (p)
		rc = 0;
out:
	for (int k = 0; k < 3; k++)
		free(r[k]);
	return rc;
}

/* Checks one line into *v: 0 valid, 1 invalid (a signature that does not
 * verify, a line that is not what the signed verdict says, another auditor
 * than wanted), 2 not a verdict line; why says what. */
static int check_line(const char *line, const uint8_t *auditor,
                      struct cairn_audit_verdict *v, uint8_t *enc, char *why,
                      size_t whylen)
{
	const char *hv, *hs;
	size_t lv, ls, len;
	char sub[256], hx[CAIRN_HASH_HEX_BYTES];
	int rc;

	hv = line_field(line, "verdict", &lv);
	hs = line_field(line, "signature", &ls);
	if (!hv || !hs) {
		snprintf(why, whylen,
		         "no signed verdict (\"verdict\" and \"signature\" "
		         "fields): not a line of a file `cairn verify --out` "
		         "writes");
		return 2;
	}
	if (lv > 2 * (size_t)CAIRN_AUDIT_VERDICT_MAX_BYTES ||
	    sodium_hex2bin(enc, CAIRN_AUDIT_VERDICT_MAX_BYTES, hv, lv, NULL,
	                   &len, NULL) ||
	    len * 2 != lv) {
		snprintf(why, whylen,
		         "its \"verdict\" is not hex of at most %d bytes",
		         CAIRN_AUDIT_VERDICT_MAX_BYTES);
		return 2;
	}
	rc = cairn_audit_verdict_decode(enc, len, v, sub, sizeof sub);
	if (rc) {
		snprintf(why, whylen, "its \"verdict\" does not decode: %s",
		         sub);
		return 2;
	}
	if (ls != 2 * CAIRN_SIGNATURE_BYTES ||
	    sodium_hex2bin(v->signature, CAIRN_SIGNATURE_BYTES, hs, ls, NULL,
	                   &len, NULL) ||
	    len != CAIRN_SIGNATURE_BYTES) {
		snprintf(why, whylen, "its \"signature\" is not %d hex digits",
		         2 * CAIRN_SIGNATURE_BYTES);
		return 2;
	}
	cairn_hash_to_hex(v->auditor_key, hx);
	if (cairn_audit_verdict_verify(v)) {
		snprintf(why, whylen,
		         "the signature does not verify under auditor key %s: "
		         "the verdict was altered, or not signed by that key",
		         hx);
		return 1;
	}
	if (line_is_verdict(line, v, sub, sizeof sub)) {
		snprintf(why, whylen,
		         "the line is not what the signed verdict says (at "
		         "%s): it was edited after signing",
		         sub);
		return 1;
	}
	if (auditor &&
	    memcmp(auditor, v->auditor_key, CAIRN_PUBLIC_KEY_BYTES)) {
		snprintf(why, whylen,
		         "signed by auditor %s, not the one --auditor names",
		         hx);
		return 1;
	}
	return 0;
}

/* One checked line on stdout: JSON, or a VALID line (an invalid one is
 * on stderr already). */
static void report_line(const char *path, long lineno, int r,
                        const struct cairn_audit_verdict *v, const char *why,
                        int json)
{
	char tid[CAIRN_HASH_HEX_BYTES], ak[CAIRN_HASH_HEX_BYTES], names[64];

	if (r && !json)
		return;
	if (json) {
		fputs("{\"file\":", stdout);
		cairn__cli_json_string(stdout, path);
		printf(",\"line\":%ld,\"valid\":%s", lineno,
		       r ? "false" : "true");
	}
	if (r) {
		fputs(",\"error\":", stdout);
		cairn__cli_json_string(stdout, why);
		fputs("}\n", stdout);
		return;
	}
	cairn_hash_to_hex(v->task_id, tid);
	cairn_hash_to_hex(v->auditor_key, ak);
	if (json) {
		printf(",\"auditor_key\":\"%s\",\"task_id\":\"%s\","
		       "\"accepted\":%s,\"check\":\"%s\"}\n",
		       ak, tid, v->accepted ? "true" : "false",
		       cairn_audit_check_name((int)v->check));
		return;
	}
	cairn_text_print(stdout, "VALID %s line %ld: auditor %s, task %s %s",
	                 path, lineno, ak, tid,
	                 v->accepted ? "ACCEPTED" : "REJECTED");
	if (!v->accepted)
		printf(" check %s", cairn_audit_check_name((int)v->check));
	if (v->diff_step) {
		cairn_audit_diff_names(v->diff_what, names, sizeof names);
		printf(", first difference at step %" PRIu32 " (%s)",
		       v->diff_step, names);
	}
	putchar('\n');
}

/* The longest line --verdicts reads: the signed encoding in hex and room
 * for the unsigned strings (the bundle's path escaped as JSON, the device,
 * a reason).  A longer line is not a verdict. */
#define VERDICT_LINE_MAX                                                       \
	((size_t)2 * CAIRN_AUDIT_VERDICT_MAX_BYTES + ((size_t)1 << 20))

/* One line of f into line (room for VERDICT_LINE_MAX + 2 bytes) without
 * its LF or CR LF end: its length; -1 at the end of the file with nothing
 * read, or after a read error (ferror says); -2 for a line longer than
 * VERDICT_LINE_MAX (the rest of it is not read). */
static long read_line(FILE *f, char *line)
{
	size_t n = 0;
	int ch;

	while ((ch = getc(f)) != EOF) {
		if (ch == '\n')
			break;
		if (n > VERDICT_LINE_MAX) /* room for one CR more */
			return -2;
		line[n++] = (char)ch;
	}
	if (ferror(f) || (ch == EOF && n == 0))
		return -1;
	if (n && line[n - 1] == '\r')
		n--; /* a CR LF line end */
	return n > VERDICT_LINE_MAX ? -2 : (long)n;
}

int cairn__verdicts_check(char *const *files, int n, const uint8_t *auditor,
                          int json)
{
	struct cairn_audit_verdict *v = calloc(1, sizeof *v);
	uint8_t *enc = malloc(CAIRN_AUDIT_VERDICT_MAX_BYTES);
	char why[8192], *line = malloc(VERDICT_LINE_MAX + 2);
	int ex = 0;

	if (!v || !enc || !line) {
		cairn_eprint("cairn verify: out of memory\n");
		ex = 2;
		goto out;
	}
	for (int i = 0; i < n; i++) {
		const char *path = files[i];
		long lineno = 0, nlines = 0, got;
		uint64_t size;
		FILE *f = NULL;
		int fd, r, binary = 0;

		/* a regular file: a FIFO or a device is refused, not read
		 * (they need not end) */
		r = cairn_file_open_input(path, "verdict file", UINT64_MAX, &fd,
		                          &size, why, sizeof why);
		if (!r && !(f = fdopen(fd, "r"))) {
			snprintf(why, sizeof why, "verdict file %s: %s", path,
			         strerror(errno));
			close(fd);
		}
		if (!f) {
			cairn_eprint("cairn verify: %s\n", why);
			ex = 2;
			continue;
		}
		while (!binary && (got = read_line(f, line)) != -1) {
			lineno++;
			if (got == -2) {
				snprintf(why, sizeof why,
				         "longer than %zu bytes (the rest of "
				         "the file was not read)",
				         VERDICT_LINE_MAX);
				cairn_eprint("cairn verify: %s line %ld: not a "
				             "verdict: %s\n",
				             path, lineno, why);
				memset(v, 0, sizeof *v);
				report_line(path, lineno, 2, v, why, json);
				ex = 2;
				break;
			}
			line[got] = '\0';
			if (!got)
				continue;
			nlines++;
			memset(v, 0, sizeof *v);
			if (memchr(line, '\0', (size_t)got)) {
				/* a binary file (a bundle given by mistake):
				 * one message, not one per line of it */
				r = 2;
				binary = 1;
				snprintf(why, sizeof why,
				         "it holds a NUL byte: a binary file, "
				         "not a verdict file (the rest of it "
				         "was not read)");
			} else {
				r = check_line(line, auditor, v, enc, why,
				               sizeof why);
			}
			if (r > ex)
				ex = r;
			if (r)
				cairn_eprint(
				    "cairn verify: %s line %ld: %s %s\n", path,
				    lineno,
				    r == 1 ? "INVALID:" : "not a verdict:",
				    why);
			report_line(path, lineno, r, v, why, json);
		}
		if (ferror(f)) {
			cairn_eprint("cairn verify: cannot read %s: %s\n", path,
			             strerror(errno));
			ex = 2;
		} else if (!nlines && got != -2) {
			cairn_eprint(
			    "cairn verify: %s holds no verdict (empty, or "
			    "blank lines only)\n",
			    path);
			ex = 2;
		}
		fclose(f);
	}
out:
	free(line);
	free(enc);
	free(v);
	return ex;
}
