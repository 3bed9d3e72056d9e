/* cairn: `cairn bench verify FILE`, the check of a report that `cairn
 * bench --out FILE --key KEY` signed (bench_report.c writes it): the
 * report's JSON and a newline, then "signature: <128 hex>\n", the signer's
 * Ed25519 signature of H(REPORT header || JSON and newline).
 *
 * A good signature is not the end: the body must also be the one JSON
 * object cairn writes (bench_report_json.c), so that every reader sees
 * the signer the signature checked; --signer HEX names the key that must
 * have signed it.
 *
 * Ownership: the command reads the file into a buffer it frees; the check
 * keeps no pointer to its arguments. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "cairn/attest.h"
#include "cairn/error.h"
#include "cairn/identity.h"
#include "cairn/text.h"

static int report_reject(char *why, size_t len, int rc, const char *msg)
{
	if (why && len)
		snprintf(why, len, "%s", msg);
	return rc;
}

int cairn__bench_report_check(const char *buf, size_t len, char signer[65],
                              char *why, size_t why_len)
{
	static const char head[] = "{\"signer\":\"";
	static const char rhead[] = "\",\"report\":\"cairn/report/v1\",";
	const size_t hl = sizeof head - 1, rl = sizeof rhead - 1;
	uint8_t pub[CAIRN_PUBLIC_KEY_BYTES], sig[CAIRN_SIGNATURE_BYTES];
	uint8_t digest[CAIRN_HASH_BYTES];
	const char *line;
	size_t body;
	int rc;

	if (!buf || len < hl + 64 + 2 + CAIRN__BENCH_REPORT_SIG_LINE_BYTES)
		return report_reject(why, why_len, CAIRN_EFORMAT,
		                     "too short to be a signed report");
	body = len - CAIRN__BENCH_REPORT_SIG_LINE_BYTES;
	line = buf + body;
	if (buf[len - 1] != '\n' || buf[body - 1] != '\n' ||
	    memcmp(line, CAIRN__BENCH_REPORT_SIG_LINE, 11))
		return report_reject(
		    why, why_len, CAIRN_EFORMAT,
		    len >= 2 && buf[len - 2] == '\r'
		        ? "its lines end in CR LF; cairn writes LF only (was "
		          "it copied through a tool that changed the line "
		          "ends?)"
		        : "no 'signature: <128 hex>' line at the end, after "
		          "the report and its newline");
	if (cairn_hash_from_hex(line + 11, 64, sig) ||
	    cairn_hash_from_hex(line + 75, 64, sig + 32))
		return report_reject(why, why_len, CAIRN_EFORMAT,
		                     "the signature is not 128 lower-case hex "
		                     "digits");
	if (memcmp(buf, head, hl) || buf[hl + 64] != '"' ||
	    cairn_hash_from_hex(buf + hl, 64, pub))
		return report_reject(why, why_len, CAIRN_EFORMAT,
		                     "the report does not start with "
		                     "{\"signer\":\"<64 lower-case hex>\"");
	if (cairn_hash_domain(CAIRN_DOM_REPORT, buf, body, digest) ||
	    cairn_identity_verify(pub, digest, sizeof digest, sig))
		return report_reject(why, why_len, CAIRN_ECRYPTO,
		                     "the signature does not match the report "
		                     "(changed bytes, or another key's)");
	/* Signed is not enough: every reader must see the report the
	 * signer's key names, the one cairn wrote (a second "signer" key,
	 * bytes after the object, a line that looks like a signature). */
	if (body < hl + 64 + rl + 2 || memcmp(buf + hl + 64, rhead, rl))
		return report_reject(why, why_len, CAIRN_EFORMAT,
		                     "signed, but the key is not followed by "
		                     "\"report\":\"cairn/report/v1\": not a "
		                     "report this cairn writes");
	if ((rc = cairn__bench_report_json_check(buf, body - 1, why, why_len)))
		return rc;
	if (signer) {
		memcpy(signer, buf + hl, 64);
		signer[64] = '\0';
	}
	return 0;
}

static void verify_usage(FILE *f)
{
	fprintf(f, "usage: cairn bench verify FILE [--signer HEX]\n\n"
	           "Checks a report written by 'cairn bench --out FILE --key "
	           "KEY': its\nsignature over every byte and its format, and "
	           "prints the signer's public\nkey.  With --signer, a report "
	           "signed by any other key is rejected: a\ngood signature "
	           "alone only says that someone signed these bytes.\n\n"
	           "options:\n"
	           "  --signer HEX  the public key (64 hex digits; 'cairn "
	           "keygen --show') that\n"
	           "                must have signed it\n"
	           "  -h, --help    this text\n\n"
	           "A file over 64 MiB (no report is near that) is refused as "
	           "unreadable.\n"
	           "exit status: 0 good signature (by HEX, with --signer), 1 "
	           "rejected,\n2 unreadable or bad usage\n");
}

/* `cairn bench verify FILE [--signer HEX]`: argv[0] is "verify". */
int cairn__bench_verify_cmd(int argc, char **argv)
{
	char signer[65], why[8192], want[65] = "";
	const char *path = NULL;
	char *buf = NULL;
	size_t len = 0;
	uint64_t size = 0;
	int fd, rc, rd_errno = 0, grew = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			verify_usage(stdout);
			return 0;
		} else if (!strcmp(a, "--signer")) {
			uint8_t pub[CAIRN_PUBLIC_KEY_BYTES];
			const char *v = i + 1 < argc ? argv[++i] : NULL;
			if (!v || strlen(v) != 64 ||
			    cairn_hash_from_hex(v, 64, pub)) {
				cairn_eprint(
				    "cairn bench verify: --signer '%s': want "
				    "the signer's public key, 64 lower-case "
				    "hex digits ('cairn keygen --show')\n",
				    v ? v : "");
				return 2;
			}
			memcpy(want, v, 65);
		} else if (a[0] == '-' || path) {
			if (a[0] == '-')
				cairn_eprint(
				    "cairn bench verify: '%s': not an "
				    "option of verify; see 'cairn bench "
				    "verify --help' (a file named so: "
				    "./%s)\n",
				    a, a);
			else
				cairn_eprint(
				    "cairn bench verify: '%s': one report "
				    "at a time ('%s' is the first)\n",
				    a, path);
			return 2;
		} else {
			path = a;
		}
	}
	if (!path) {
		cairn_eprint("cairn bench verify: which report? (cairn bench "
		             "verify FILE [--signer HEX])\n");
		return 2;
	}
	/* a regular file of at most 64 MiB; a FIFO or device is refused */
	if (cairn_file_open_input(path, "report", CAIRN__BENCH_REPORT_FILE_MAX,
	                          &fd, &size, why, sizeof why)) {
		cairn_eprint("cairn bench verify: %s\n", why);
		return 2;
	}
	buf = malloc(size ? (size_t)size : 1);
	while (buf && len < size) {
		ssize_t got = read(fd, buf + len, (size_t)size - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) { /* an error, or the file shrank */
			rd_errno = got < 0 ? errno : 0;
			break;
		}
		len += (size_t)got;
	}
	if (buf && len == size) {
		/* no byte past the size fstat gave: a report still being
		 * written is not judged on its first part */
		char extra;
		ssize_t got;
		do
			got = read(fd, &extra, 1);
		while (got < 0 && errno == EINTR);
		if (got > 0)
			grew = 1;
		else if (got < 0)
			rd_errno = errno;
	}
	close(fd);
	if (!buf || len < size || grew || rd_errno) {
		cairn_eprint("cairn bench verify: %s: %s\n", path,
		             !buf       ? "out of memory"
		             : rd_errno ? strerror(rd_errno)
		             : grew ? "the file grew while it was read; is it "
		                      "still being written?"
		                    : "the file shrank while it was read");
		free(buf);
		return 2;
	}
	rc = cairn__bench_report_check(buf, len, signer, why, sizeof why);
	free(buf);
	if (rc) {
		cairn_eprint("cairn bench verify: %s: rejected: %s\n", path,
		             why);
		return 1;
	}
	if (want[0] && strcmp(want, signer)) {
		cairn_eprint(
		    "cairn bench verify: %s: rejected: signed by %s, not by "
		    "the --signer %s\n",
		    path, signer, want);
		return 1;
	}
	cairn_text_print(stdout,
	                 "cairn bench verify: %s: good signature by %s%s\n",
	                 path, signer, want[0] ? " (the --signer)" : "");
	return 0;
}
