/* cairn: `cairn bench verify FILE`, the check of a report that `cairn
 * bench --out FILE --key KEY` signed (bench_report.c writes it): the
 * report's JSON and a newline, then "signature: <128 hex>\n", the signer's
 * Ed25519 signature of H(REPORT header || JSON and newline).
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
	const size_t hl = sizeof head - 1;
	uint8_t pub[CAIRN_PUBLIC_KEY_BYTES], sig[CAIRN_SIGNATURE_BYTES];
	uint8_t digest[CAIRN_HASH_BYTES];
	const char *line;
	size_t body;

	if (!buf || len < hl + 64 + 2 + CAIRN__BENCH_REPORT_SIG_LINE_BYTES)
		return report_reject(why, why_len, CAIRN_EFORMAT,
		                     "too short to be a signed report");
	body = len - CAIRN__BENCH_REPORT_SIG_LINE_BYTES;
	line = buf + body;
	if (buf[len - 1] != '\n' || buf[body - 1] != '\n' ||
	    memcmp(line, CAIRN__BENCH_REPORT_SIG_LINE, 11))
		return report_reject(
		    why, why_len, CAIRN_EFORMAT,
		    "no 'signature: <128 hex>' line at the end");
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
	if (signer) {
		memcpy(signer, buf + hl, 64);
		signer[64] = '\0';
	}
	return 0;
}

/* `cairn bench verify FILE`: argv[0] is "verify". */
int cairn__bench_verify_cmd(int argc, char **argv)
{
	char signer[65], why[512];
	char *buf = NULL;
	size_t len = 0;
	uint64_t size = 0;
	int fd, rc, rd_errno = 0, grew = 0;

	if (argc == 2 &&
	    (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		printf("usage: cairn bench verify FILE\n\n"
		       "Checks a report written by 'cairn bench --out FILE "
		       "--key KEY': its\nsignature over every byte, and "
		       "prints the signer's public key.\n\n"
		       "exit status: 0 good signature, 1 rejected, 2 "
		       "unreadable or bad usage\n");
		return 0;
	}
	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "cairn bench verify: want one report file "
		                "(cairn bench verify FILE)\n");
		return 2;
	}
	/* a regular file of at most 64 MiB; a FIFO or device is refused */
	if (cairn_file_open_input(argv[1], "report",
	                          CAIRN__BENCH_REPORT_FILE_MAX, &fd, &size, why,
	                          sizeof why)) {
		fprintf(stderr, "cairn bench verify: %s\n", why);
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
		fprintf(stderr, "cairn bench verify: %s: %s\n", argv[1],
		        !buf       ? "out of memory"
		        : rd_errno ? strerror(rd_errno)
		        : grew     ? "the file grew while it was read; is it "
		                     "still being written?"
		                   : "the file shrank while it was read");
		free(buf);
		return 2;
	}
	rc = cairn__bench_report_check(buf, len, signer, why, sizeof why);
	free(buf);
	if (rc) {
		fprintf(stderr, "cairn bench verify: %s: rejected: %s\n",
		        argv[1], why);
		return 1;
	}
	printf("cairn bench verify: %s: good signature by %s\n", argv[1],
	       signer);
	return 0;
}
