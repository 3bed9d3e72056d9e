/* cairn: `cairn verify` (worker/verify.c) end to end.
 *
 * The fixture (audit_fixture.h) runs real tasks; its dataset is written
 * here as IDX files for the command to read.
 *
 *   (a) `cairn verify`: exit 0, 1 (a replay, a corrupted signature, state
 *       root or tensor, with the check in the JSON and the signed verdict
 *       file) and 2 (truncated files, junk, bad usage, a dataset it
 *       lacks); `cairn verify --verdicts` checks the signed verdict files
 *       and refuses edits and forgeries;
 *   (b) `cairn verify --lazy` (the default): a tampered tensor rejected
 *       with check reveal when its checkpoint is drawn and accepted when
 *       it is not, rejected when read with --full; --task-id;
 *   (c) a bundle's file name holding terminal escapes reaches the output
 *       spelled out, never raw.
 *
 * Random data each run (seed printed; CAIRN_TEST_SEED=0x... replays). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "audit_fixture.h"

#include "cairn/cli.h"

/* ---- (a) cairn verify -------------------------------------------------- */

static void put_be32(FILE *fp, uint32_t x)
{
	uint8_t b[4] = {(uint8_t)(x >> 24), (uint8_t)(x >> 16),
	                (uint8_t)(x >> 8), (uint8_t)x};
	assert_int_equal(fwrite(b, 1, 4, fp), 4);
}

/* The fixture's dataset as the IDX files of split "train" in dir. */
static void write_idx(struct fx *f, const char *dir)
{
	char p[512];
	FILE *fp;

	snprintf(p, sizeof p, "%s/train-images-idx3-ubyte", dir);
	assert_non_null(fp = fopen(p, "wb"));
	put_be32(fp, CAIRN_IDX_MAGIC_IMAGES);
	put_be32(fp, NSAMPLES);
	put_be32(fp, CAIRN_DATASET_ROWS);
	put_be32(fp, CAIRN_DATASET_COLS);
	assert_int_equal(
	    fwrite(f->images, 1, (size_t)NSAMPLES * CAIRN_DATASET_PIXELS, fp),
	    (size_t)NSAMPLES * CAIRN_DATASET_PIXELS);
	assert_int_equal(fclose(fp), 0);
	snprintf(p, sizeof p, "%s/train-labels-idx1-ubyte", dir);
	assert_non_null(fp = fopen(p, "wb"));
	put_be32(fp, CAIRN_IDX_MAGIC_LABELS);
	put_be32(fp, NSAMPLES);
	assert_int_equal(fwrite(f->labels, 1, NSAMPLES, fp), NSAMPLES);
	assert_int_equal(fclose(fp), 0);
}

static int verify_cli(const char *a0, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;

	argv[argc++] = (char *)"verify";
	va_start(ap, a0);
	for (const char *a = a0; a && argc < 31; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	fflush(stdout);
	return cairn_cmd_verify(argc, argv);
}

/* The fixture's IDX files in f->dir/data (made once) into data. */
static void data_dir(struct fx *f, char *data, size_t len)
{
	struct stat st;

	snprintf(data, len, "%s/data", f->dir);
	if (!stat(data, &st))
		return;
	assert_int_equal(mkdir(data, 0700), 0);
	write_idx(f, data);
}

static void write_bytes(const char *path, const uint8_t *p, size_t n)
{
	FILE *fp = fopen(path, "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(p, 1, n, fp), n);
	assert_int_equal(fclose(fp), 0);
}

/* The offset of needle in hay (which must hold it). */
static size_t find(const uint8_t *hay, size_t n, const uint8_t *needle,
                   size_t m)
{
	for (size_t i = 0; i + m <= n; i++)
		if (!memcmp(hay + i, needle, m))
			return i;
	fail_msg("bytes not found in the bundle");
	return 0;
}

/* A new string: s with the first a at or after offset from replaced by b
 * (a must be there). */
static char *replace_in(const char *s, ptrdiff_t from, const char *a,
                        const char *b)
{
	const char *at = strstr(s + from, a);
	size_t n = strlen(s), la = strlen(a), lb = strlen(b);
	char *out;

	assert_non_null(at);
	out = cairn_test_xmalloc(n - la + lb + 1);
	memcpy(out, s, (size_t)(at - s));
	memcpy(out + (at - s), b, lb);
	strcpy(out + (at - s) + lb, at + la);
	return out;
}

/* Offset of a byte near the end of the last checkpoint's v tensor in a
 * bundle file of the good bundle's task: 10 bytes before the step log
 * (field 8, the file's last: a 1-byte tag and a 2-byte length before its
 * STEPS * 36 bytes). */
static size_t last_tensor_byte(struct fx *f, const uint8_t *buf, size_t len)
{
	size_t off =
	    find(buf, len, f->good.steps, STEPS * CAIRN_STEP_RECORD_BYTES);
	assert_int_equal(off + STEPS * CAIRN_STEP_RECORD_BYTES, len);
	return off - 3 - 10;
}

/* stdout and stderr, both, into the file at path until capture_end. */
struct capture {
	int out, err;
};

static void capture_begin(struct capture *c, const char *path)
{
	int fd;

	fflush(stdout);
	fflush(stderr);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	c->out = dup(1);
	c->err = dup(2);
	assert_true(c->out >= 0 && c->err >= 0);
	assert_true(dup2(fd, 1) == 1 && dup2(fd, 2) == 2);
	close(fd);
}

/* Ends the capture; the bytes written, NUL-terminated (caller frees). */
static char *capture_end(struct capture *c, const char *path)
{
	fflush(stdout);
	fflush(stderr);
	assert_true(dup2(c->out, 1) == 1 && dup2(c->err, 2) == 2);
	close(c->out);
	close(c->err);
	return cairn_test_read_stream(fopen(path, "rb"), NULL);
}

static void test_cli_verify(void **state)
{
	struct fx *f = *state;
	struct cairn_bundle c, tmp;
	char data[256], good[256], bad[256], junk[256], key[256], out[256],
	    none[256], line[4096], err[512];
	FILE *fp;

	data_dir(f, data, sizeof data);
	copy_good(f, &tmp);
	reread(f, &tmp, &c, good, sizeof good);
	cairn_bundle_free(&c);
	copy_good(f, &c);
	c.final_state = c.checkpoints[NSEG - 1].state;
	c.final_state.step = STEPS;
	cheat_resign(f, &c);
	reread(f, &c, &tmp, bad, sizeof bad);
	cairn_bundle_free(&tmp);
	snprintf(junk, sizeof junk, "%s/junk.cairn", f->dir);
	assert_non_null(fp = fopen(junk, "wb"));
	fputs("not a bundle", fp);
	fclose(fp);
	snprintf(key, sizeof key, "%s/auditor.key", f->dir);
	assert_int_equal(cairn_identity_save(&f->aud, key, err, sizeof err), 0);
	snprintf(out, sizeof out, "%s/verdicts.jsonl", f->dir);

	assert_int_equal(verify_cli(good, "--data", data, "--device", "cpu",
	                            "--threads", "2", "--segments", "4", NULL),
	                 0);
	assert_int_equal(verify_cli(good, bad, "--data", data, "--device",
	                            "cpu", "--segments", "9", "--seed",
	                            "00112233445566778899aabbccddeeff00112233"
	                            "445566778899aabbccddeeff",
	                            "--key", key, "--out", out, "--json", NULL),
	                 1);
	assert_int_equal(
	    verify_cli(good, junk, "--data", data, "--device", "ref", NULL), 2);
	assert_int_equal(
	    verify_cli(good, "--data", data, "--seed", "xyz", NULL), 2);
	assert_int_equal(verify_cli("--data", data, NULL), 2);
	assert_int_equal(verify_cli(good, "--data", data, "--out", out, NULL),
	                 2); /* --out needs --key */
	/* No bundle audited, no verdict: no --out file is made (an empty
	 * one would refuse the next run's --out and hold no verdict). */
	snprintf(none, sizeof none, "%s/none.jsonl", f->dir);
	assert_int_equal(
	    verify_cli(junk, "--data", data, "--key", key, "--out", none, NULL),
	    2);
	assert_int_equal(access(none, F_OK), -1);
	/* An --out that exists: refused before any audit (no verdict
	 * printed: a refusal only when writing at the end exits 2 too), and
	 * left as it is (the two lines read below). */
	{
		struct capture cap;
		char log[300], *got;
		int ex;

		snprintf(log, sizeof log, "%s/capture.txt", f->dir);
		capture_begin(&cap, log);
		ex = verify_cli(good, "--data", data, "--device", "cpu",
		                "--key", key, "--out", out, NULL);
		got = capture_end(&cap, log);
		if (ex != 2 || !strstr(got, "already exists") ||
		    strstr(got, "ACCEPTED"))
			fail_msg("verify --out EXISTING: exit %d:\n%s", ex,
			         got);
		free(got);
	}
	/* The verdict file: two signed lines, the second rejected. */
	assert_non_null(fp = fopen(out, "r"));
	assert_non_null(fgets(line, sizeof line, fp));
	assert_non_null(strstr(line, "\"accepted\":true"));
	assert_non_null(strstr(line, "\"signature\":\""));
	assert_non_null(fgets(line, sizeof line, fp));
	assert_non_null(strstr(line, "\"accepted\":false"));
	assert_non_null(strstr(line, "\"check\":\"replay\""));
	assert_non_null(strstr(line, "\"segment\":3,\"steps\":[7,8]"));
	/* The narrowing: step 8 ran on step 6's samples. */
	assert_non_null(strstr(line, "\"first_difference\":{\"step\":8,"));
	assert_non_null(strstr(line, "\"element\":null"));
	assert_non_null(strstr(line, "\"verdict\":\""));
	assert_null(fgets(line, sizeof line, fp));
	fclose(fp);

	/* Checking the verdict file: valid as written, by this auditor. */
	{
		char hex[CAIRN_HASH_HEX_BYTES], edited[256], other[256];
		char *text, *p;
		size_t n;
		long l;

		assert_int_equal(verify_cli("--verdicts", out, NULL), 0);
		assert_int_equal(verify_cli("--verdicts", out, "--json", NULL),
		                 0);
		assert_int_equal(cairn_hash_to_hex(f->aud.public_key, hex), 0);
		assert_int_equal(
		    verify_cli("--verdicts", out, "--auditor", hex, NULL), 0);
		/* Another auditor's key: invalid. */
		assert_int_equal(cairn_hash_to_hex(f->id.public_key, hex), 0);
		assert_int_equal(
		    verify_cli("--verdicts", out, "--auditor", hex, NULL), 1);
		/* Edits: a readable field, a byte of the signed encoding, a
		 * byte of the signature: each invalid (exit 1). */
		assert_non_null(fp = fopen(out, "r"));
		assert_int_equal(fseek(fp, 0, SEEK_END), 0);
		l = ftell(fp);
		rewind(fp);
		n = (size_t)l;
		text = cairn_test_xmalloc(n + 1);
		assert_int_equal(fread(text, 1, n, fp), n);
		text[n] = '\0';
		fclose(fp);
		snprintf(edited, sizeof edited, "%s/edited.jsonl", f->dir);
		for (int k = 0; k < 6; k++) {
			char *e = cairn_test_xmalloc(n + 64);
			memcpy(e, text, n + 1);
			if (k >= 3) {
				/* Forgeries that keep the genuine text
				 * somewhere in the line (a review of the
				 * first checker, which only looked for it):
				 * a repeated key, a nested copy, an edit to
				 * a value that also appears elsewhere. */
				static const char *const from[3][2] = {
				    {"\"}\n", "\",\"accepted\":true}\n"},
				    {"\"accepted\":false,\"check\":\"replay\"",
				     "\"accepted\":true,\"check\":\"ok\""},
				    {"\"differs\":\"params,m,v,samples,loss\"",
				     "\"differs\":\"samples,loss\""}};
				ptrdiff_t l2 = strchr(e, '\n') + 1 - e;
				free(e);
				e = replace_in(text, l2, from[k - 3][0],
				               from[k - 3][1]);
				if (k == 4) {
					char *e2 = replace_in(
					    e, l2, "\"}\n",
					    "\",\"x\":{\"accepted\":false,"
					    "\"check\":\"replay\"}}\n");
					free(e);
					e = e2;
				}
			} else if (k == 0) {
				/* the rejection claimed as an acceptance */
				p = strstr(e, "\"accepted\":false");
				assert_non_null(p);
				memcpy(p + 11, "true,", 5);
				memmove(p + 16, p + 17, strlen(p + 17) + 1);
			} else {
				p = strstr(e, k == 1 ? "\"verdict\":\""
				                     : "\"signature\":\"");
				assert_non_null(p);
				p = strchr(p + 3, ':') + 2 + 20;
				*p = *p == '0' ? '1' : '0';
			}
			write_bytes(edited, (const uint8_t *)e, strlen(e));
			print_message("verdict file edit %d -> exit %d\n", k,
			              verify_cli("--verdicts", edited, NULL));
			assert_int_equal(verify_cli("--verdicts", edited, NULL),
			                 1);
			free(e);
		}
		/* Not verdicts: exit 2. */
		snprintf(other, sizeof other, "%s/not-verdicts.jsonl", f->dir);
		write_bytes(other, (const uint8_t *)"{\"bundle\":\"x\"}\n", 15);
		assert_int_equal(verify_cli("--verdicts", other, NULL), 2);
		assert_int_equal(verify_cli("--verdicts", junk, NULL), 2);
		snprintf(other, sizeof other, "%s/missing.jsonl", f->dir);
		assert_int_equal(verify_cli("--verdicts", other, NULL), 2);
		/* A genuine line with bytes hidden after a NUL: not a
		 * verdict (the checker must see the whole line). */
		{
			ptrdiff_t l1 = strchr(text, '\n') - text;
			char *e = cairn_test_xmalloc((size_t)l1 + 32);
			memcpy(e, text, (size_t)l1);
			memcpy(e + l1, "\0,\"accepted\":false}\n", 20);
			snprintf(other, sizeof other, "%s/nul.jsonl", f->dir);
			write_bytes(other, (const uint8_t *)e, (size_t)l1 + 20);
			assert_int_equal(verify_cli("--verdicts", other, NULL),
			                 2);
			/* a CRLF line end is one; a second CR is an edit */
			memcpy(e + l1, "\r\n", 2);
			write_bytes(other, (const uint8_t *)e, (size_t)l1 + 2);
			assert_int_equal(verify_cli("--verdicts", other, NULL),
			                 0);
			memcpy(e + l1, "\r\r\n", 3);
			write_bytes(other, (const uint8_t *)e, (size_t)l1 + 3);
			assert_int_equal(verify_cli("--verdicts", other, NULL),
			                 1);
			free(e);
		}
		/* A line past the limit (3 MB, no newline): refused after
		 * reading the limit, not read whole; a FIFO and a directory
		 * are refused, not read (a FIFO would block). */
		{
			size_t big = (size_t)3 << 20;
			uint8_t *z = calloc(big, 1);
			assert_non_null(z);
			memset(z, 'a', big);
			char said[4096] = "", errp[300];
			int saved = dup(2), fd;
			ssize_t k;
			snprintf(other, sizeof other, "%s/long.jsonl", f->dir);
			write_bytes(other, z, big);
			free(z);
			/* what it says on stderr: refused at the limit */
			snprintf(errp, sizeof errp, "%s/stderr", f->dir);
			fd = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
			assert_true(saved >= 0 && fd >= 0);
			fflush(stderr);
			dup2(fd, 2);
			k = verify_cli("--verdicts", other, NULL);
			fflush(stderr);
			dup2(saved, 2);
			close(saved);
			close(fd);
			assert_int_equal(k, 2);
			fd = open(errp, O_RDONLY);
			assert_true(fd >= 0);
			k = read(fd, said, sizeof said - 1);
			close(fd);
			assert_true(k > 0);
			assert_non_null(
			    strstr(said, "longer than 1081720 bytes"));
			snprintf(other, sizeof other, "%s/fifo.jsonl", f->dir);
			assert_int_equal(mkfifo(other, 0600), 0);
			assert_int_equal(verify_cli("--verdicts", other, NULL),
			                 2);
			assert_int_equal(verify_cli("--verdicts", f->dir, NULL),
			                 2);
		}
		assert_int_equal(
		    verify_cli("--verdicts", out, "--data", data, NULL), 2);
		assert_int_equal(verify_cli(good, "--auditor", hex, NULL), 2);
		free(text);
	}
}

/* Truncated and corrupted copies of an honest bundle through `cairn
 * verify`: a file that is no longer a bundle is exit 2, one that still
 * reads but breaks the signature or a commitment is a rejection, exit 1,
 * with the check named in the signed verdict file. */
static void test_cli_damaged(void **state)
{
	struct fx *f = *state;
	struct cairn_bundle c, tmp;
	uint8_t spec[CAIRN_TASK_SPEC_BYTES], *buf, *cp;
	char data[256], good[256], key[256], p[300], out[300], line[8192],
	    err[512], want[64];
	size_t len, off;
	long l;
	FILE *fp;
	struct damage {
		const char *what;
		size_t at;
		int flip; /* 0: truncate at `at` */
		int exit;
		const char *check;
	} d[16];
	int nd = 0;

	data_dir(f, data, sizeof data);
	copy_good(f, &tmp);
	reread(f, &tmp, &c, good, sizeof good);
	cairn_bundle_free(&c);
	snprintf(key, sizeof key, "%s/auditor.key", f->dir);
	if (access(key, F_OK))
		assert_int_equal(
		    cairn_identity_save(&f->aud, key, err, sizeof err), 0);
	assert_non_null(fp = fopen(good, "rb"));
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	l = ftell(fp);
	len = (size_t)l;
	rewind(fp);
	buf = cairn_test_xmalloc(len);
	cp = cairn_test_xmalloc(len);
	assert_int_equal(fread(buf, 1, len, fp), len);
	fclose(fp);
	assert_int_equal(cairn_task_spec_encode(&f->good.spec, spec), 0);

	d[nd++] = (struct damage){"truncated by 1 byte", len - 1, 0, 2, NULL};
	d[nd++] = (struct damage){"truncated to half", len / 2, 0, 2, NULL};
	d[nd++] = (struct damage){"truncated to 100 bytes", 100, 0, 2, NULL};
	d[nd++] = (struct damage){"empty", 0, 0, 2, NULL};
	d[nd++] = (struct damage){"first tag byte", 0, 1, 2, NULL};
	off = find(buf, len, f->good.signature, CAIRN_SIGNATURE_BYTES);
	d[nd++] = (struct damage){"signature byte", off + 9, 1, 1, "signature"};
	off = find(buf, len, spec, sizeof spec);
	d[nd++] =
	    (struct damage){"spec's seed byte", off + 48, 1, 1, "task-id"};
	off = find(buf, len, f->good.state_roots + 2 * CAIRN_HASH_BYTES,
	           CAIRN_HASH_BYTES);
	d[nd++] =
	    (struct damage){"state root 2 byte", off + 3, 1, 1, "commitment"};
	off = find(buf, len, f->good.steps, STEPS * CAIRN_STEP_RECORD_BYTES);
	d[nd++] =
	    (struct damage){"step log byte", off + 40, 1, 1, "commitment"};
	d[nd++] = (struct damage){
	    "last tensor byte", last_tensor_byte(f, buf, len), 1, 1, "reveal"};

	for (int i = 0; i < nd; i++) {
		int ex;

		memcpy(cp, buf, len);
		if (d[i].flip)
			cp[d[i].at] ^= 0x01;
		snprintf(p, sizeof p, "%s/damaged%d.cairn", f->dir, i);
		write_bytes(p, cp, d[i].flip ? len : d[i].at);
		snprintf(out, sizeof out, "%s/damaged%d.jsonl", f->dir, i);
		ex = verify_cli(p, "--data", data, "--device", "cpu", "--full",
		                "--key", key, "--out", out, "--json", NULL);
		print_message("%-24s -> exit %d\n", d[i].what, ex);
		assert_int_equal(ex, d[i].exit);
		if (d[i].exit == 2) {
			/* No verdict for a file that is not a bundle, and
			 * so no verdict file, not even an empty one. */
			assert_int_equal(access(out, F_OK), -1);
			continue;
		}
		assert_non_null(fp = fopen(out, "r"));
		assert_non_null(fgets(line, sizeof line, fp));
		fclose(fp);
		snprintf(want, sizeof want, "\"check\":\"%s\"", d[i].check);
		assert_non_null(strstr(line, "\"accepted\":false"));
		assert_non_null(strstr(line, want));
		assert_non_null(strstr(line, "\"segments\":[]"));
		assert_non_null(strstr(line, "\"signature\":\""));
		if (!strcmp(d[i].check, "reveal"))
			assert_non_null(
			    strstr(line, "\"segment\":3,\"steps\":[7,8]"));
	}
	/* An unreadable bundle (damaged0: truncated) beside a rejected one
	 * (damaged5: its signature): 2 wins. */
	assert_int_equal(d[0].exit, 2);
	assert_int_equal(d[5].exit, 1);
	snprintf(p, sizeof p, "%s/damaged0.cairn", f->dir);
	snprintf(out, sizeof out, "%s/damaged5.cairn", f->dir);
	assert_int_equal(
	    verify_cli(good, out, p, "--data", data, "--device", "cpu", NULL),
	    2);
	assert_int_equal(
	    verify_cli(good, out, "--data", data, "--device", "cpu", NULL), 1);
	/* A missing file and a directory: 2. */
	snprintf(p, sizeof p, "%s/no-such.cairn", f->dir);
	assert_int_equal(verify_cli(p, "--data", data, NULL), 2);
	assert_int_equal(verify_cli(f->dir, "--data", data, NULL), 2);
	/* Data the auditor has not got (one label changed): cannot audit,
	 * exit 2, never a rejection of the honest bundle. */
	snprintf(p, sizeof p, "%s/data2", f->dir);
	assert_int_equal(mkdir(p, 0700), 0);
	f->labels[0] = (uint8_t)((f->labels[0] + 1) % CAIRN_DATASET_CLASSES);
	write_idx(f, p);
	f->labels[0] = (uint8_t)((f->labels[0] + CAIRN_DATASET_CLASSES - 1) %
	                         CAIRN_DATASET_CLASSES);
	assert_int_equal(verify_cli(good, "--data", p, "--device", "cpu", NULL),
	                 2);
	free(buf);
	free(cp);
}

/* ---- (b) cairn verify --lazy ------------------------------------------- */

/* `cairn verify --lazy` (the default): an honest bundle is accepted; a
 * tampered tensor is rejected (check reveal, the segment drawn) when its
 * checkpoint is drawn, and accepted when it is not; with --full it is
 * rejected when read, whatever is drawn. */
static void test_cli_lazy(void **state)
{
	struct fx *f = *state;
	struct cairn_bundle c, tmp;
	uint8_t nonce[CAIRN_HASH_BYTES], *buf;
	char data[256], good[256], bad[256], key[256], out[256], seed[80],
	    line[8192], err[512];
	size_t len;
	long l;
	FILE *fp;

	data_dir(f, data, sizeof data);
	copy_good(f, &tmp);
	reread(f, &tmp, &c, good, sizeof good);
	cairn_bundle_free(&c);
	assert_int_equal(verify_cli(good, "--data", data, "--device", "cpu",
	                            "--lazy", "--segments", "2", NULL),
	                 0);
	/* The last tensor byte: checkpoint 3's v. */
	assert_non_null(fp = fopen(good, "rb"));
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	l = ftell(fp);
	len = (size_t)l;
	rewind(fp);
	buf = cairn_test_xmalloc(len);
	assert_int_equal(fread(buf, 1, len, fp), len);
	fclose(fp);
	buf[last_tensor_byte(f, buf, len)] ^= 0x01;
	snprintf(bad, sizeof bad, "%s/lazy-tampered.cairn", f->dir);
	write_bytes(bad, buf, len);
	free(buf);
	snprintf(key, sizeof key, "%s/auditor.key", f->dir);
	if (access(key, F_OK))
		assert_int_equal(
		    cairn_identity_save(&f->aud, key, err, sizeof err), 0);
	for (int drawn = 1; drawn >= 0; drawn--) {
		int ex;

		nonce_drawing(f->good.result.trace_root, NSEG - 1, !drawn,
		              nonce);
		assert_int_equal(cairn_hash_to_hex(nonce, seed), 0);
		snprintf(out, sizeof out, "%s/lazy%d.jsonl", f->dir, drawn);
		ex = verify_cli(bad, "--data", data, "--device", "cpu",
		                "--lazy", "--seed", seed, "--key", key, "--out",
		                out, NULL);
		assert_int_equal(ex, drawn ? 1 : 0);
		assert_non_null(fp = fopen(out, "r"));
		assert_non_null(fgets(line, sizeof line, fp));
		fclose(fp);
		if (!drawn) {
			assert_non_null(strstr(line, "\"accepted\":true"));
			continue;
		}
		assert_non_null(strstr(line, "\"accepted\":false"));
		assert_non_null(strstr(line, "\"check\":\"reveal\""));
		assert_non_null(strstr(line, "\"segments\":[3]"));
		assert_non_null(strstr(line, "\"segment\":3,\"steps\":[7,8]"));
		assert_non_null(strstr(line, "checkpoint 3 (t = 6)"));
	}
	/* With --full: rejected when read, nothing drawn. */
	assert_int_equal(verify_cli(bad, "--data", data, "--device", "cpu",
	                            "--full", "--seed", seed, NULL),
	                 1);
	/* The default is --lazy: the same as above when not drawn. */
	assert_int_equal(verify_cli(bad, "--data", data, "--device", "cpu",
	                            "--seed", seed, NULL),
	                 0);
	/* --task-id: the honest bundle's own task is accepted; asked for
	 * another task only, it is rejected with check assignment (a
	 * self-consistent bundle for a spec nobody assigned). */
	{
		char tid[CAIRN_HASH_HEX_BYTES], other[CAIRN_HASH_HEX_BYTES];
		uint8_t o[CAIRN_HASH_BYTES];
		memcpy(o, f->good.result.task_id, sizeof o);
		o[0] ^= 0x01;
		assert_int_equal(cairn_hash_to_hex(f->good.result.task_id, tid),
		                 0);
		assert_int_equal(cairn_hash_to_hex(o, other), 0);
		assert_int_equal(verify_cli(good, "--data", data, "--device",
		                            "cpu", "--task-id", other,
		                            "--task-id", tid, NULL),
		                 0);
		snprintf(out, sizeof out, "%s/assignment.jsonl", f->dir);
		assert_int_equal(verify_cli(good, "--data", data, "--device",
		                            "cpu", "--task-id", other, "--key",
		                            key, "--out", out, NULL),
		                 1);
		assert_non_null(fp = fopen(out, "r"));
		assert_non_null(fgets(line, sizeof line, fp));
		fclose(fp);
		assert_non_null(strstr(line, "\"accepted\":false"));
		assert_non_null(strstr(line, "\"check\":\"assignment\""));
		assert_int_equal(
		    verify_cli(good, "--data", data, "--task-id", "xyz", NULL),
		    2);
	}
}

/* ---- (c) a file name that would steer the terminal ------------------- */

/* A bundle whose name holds an OSC title sequence, BEL, a right-to-left
 * override and a newline starting a forged line, as a file from an
 * untrusted archive may: accepted, refused when truncated, and missing,
 * the name reaches the terminal spelled out (cairn/text.h), never as the
 * raw bytes; with --json, as \\u escapes. */
static void test_cli_hostile_name(void **state)
{
	static const char raw[] = "evil\x1b]0;owned\x07\xe2\x80\xae"
	                          "gpj\nACCEPTED x";
	static const char shown[] =
	    "evil\\x1b]0;owned\\x07\\u202egpj\\x0aACCEPTED x";
	static const char shown_json[] =
	    "evil\\u001b]0;owned\\u0007\\u202egpj\\u000aACCEPTED x";
	struct fx *f = *state;
	struct cairn_bundle c, tmp;
	struct capture cap;
	char data[256], good[256], p[400], log[300], *got;
	/* the last: the accepted one again, with --json */
	const char *what[] = {"accepted", "truncated", "missing", "accepted"};

	data_dir(f, data, sizeof data);
	copy_good(f, &tmp);
	reread(f, &tmp, &c, good, sizeof good);
	cairn_bundle_free(&c);
	snprintf(log, sizeof log, "%s/capture.txt", f->dir);
	for (int i = 0; i < 4; i++) {
		int ex;

		snprintf(p, sizeof p, "%s/%s-%s.cairn", f->dir, what[i], raw);
		if (i < 2) {
			size_t len;
			char *buf =
			    cairn_test_read_stream(fopen(good, "rb"), &len);
			write_bytes(p, (const uint8_t *)buf,
			            i == 0 ? len : len / 2);
			free(buf);
		}
		capture_begin(&cap, log);
		ex = verify_cli(p, "--data", data, "--device", "cpu",
		                i == 3 ? "--json" : NULL, NULL);
		got = capture_end(&cap, log);
		print_message("%s%s -> exit %d\n", what[i],
		              i == 3 ? " --json" : "", ex);
		assert_int_equal(ex, i == 0 || i == 3 ? 0 : 2);
		if (i == 0)
			assert_non_null(strstr(got, "ACCEPTED "));
		assert_non_null(strstr(got, i == 3 ? shown_json : shown));
		for (const char *q = got; *q; q++)
			if ((unsigned char)*q < 0x20 && *q != '\n' &&
			    *q != '\t')
				fail_msg(
				    "%s: control byte 0x%02x in the output",
				    what[i], (unsigned char)*q);
		assert_null(strstr(got, "\xe2\x80\xae"));
		assert_null(strstr(got, "\nACCEPTED x")); /* no forged line */
		free(got);
	}
}

/* An unknown --device is bad usage, refused with cairn verify's own message
 * before the dataset is opened (here a directory that does not exist, which
 * would otherwise be the error), as cairn train refuses it; so are --full
 * and --lazy together. */
static void test_cli_bad_device(void **state)
{
	struct fx *f = *state;
	struct capture cap;
	char log[300], bundle[300], nodata[300], *got;
	int ex;

	snprintf(log, sizeof log, "%s/capture.txt", f->dir);
	snprintf(bundle, sizeof bundle, "%s/any.cairn", f->dir);
	snprintf(nodata, sizeof nodata, "%s/no-such-data", f->dir);
	capture_begin(&cap, log);
	ex = verify_cli(bundle, "--data", nodata, "--device", "tpu", NULL);
	got = capture_end(&cap, log);
	assert_int_equal(ex, 2);
	assert_non_null(strstr(got, "cairn verify: --device 'tpu': want "
	                            "auto, cpu, gpu or ref\n"));
	assert_null(strstr(got, "no-such-data"));
	free(got);
	/* --full and --lazy together: bad usage too, not the last one wins */
	capture_begin(&cap, log);
	ex = verify_cli(bundle, "--data", nodata, "--full", "--lazy", NULL);
	got = capture_end(&cap, log);
	assert_int_equal(ex, 2);
	assert_non_null(strstr(got, "--full and --lazy"));
	assert_null(strstr(got, "no-such-data"));
	free(got);
}

/* The fixture (audit_fixture.h), its seed printed under this program's
 * name. */
static int setup(void **state)
{
	return audit_fx_setup(state, "test_audit_cli");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cli_verify),
	    cmocka_unit_test(test_cli_damaged),
	    cmocka_unit_test(test_cli_lazy),
	    cmocka_unit_test(test_cli_hostile_name),
	    cmocka_unit_test(test_cli_bad_device),
	};
	return cmocka_run_group_tests(tests, setup, audit_fx_teardown);
}
