/* cairn: Ed25519 identities and key files (attest/identity.c).
 *
 * Each test runs in a fresh mkdtemp directory (setup/teardown):
 * - round trip: generate, save, load; the file is byte for byte the format
 *   of docs/keygen.md, rebuilt here from libsodium; signatures cross over;
 * - saving never overwrites (a file, a dangling link), leaves no temporary
 *   file, and gives mode 0600 whatever the umask;
 * - loading refuses group/other modes, links, directories, FIFOs, another
 *   user's file (as root), every single-byte change, every truncation,
 *   inserted bytes, trailing bytes, wrong headers, bad hex, a public key
 *   that does not match the seed, and oversized files;
 * - signatures are domain-separated and fail for another key, a changed
 *   message or a changed signature. */
#define _GNU_SOURCE /* nftw */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "cairn/error.h"
#include "cairn/identity.h"

#define KEY_BYTES 247

struct fixture {
	char dir[64];
	char key[128];
	char err[1024];
};

static int rm_entry(const char *p, const struct stat *st, int flag,
                    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	if (!f)
		return -1;
	snprintf(f->dir, sizeof f->dir, "/tmp/cairn-identity-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->key, sizeof f->key, "%s/worker.key", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* Reads a whole small file; returns its length. */
static size_t slurp(const char *path, char *buf, size_t cap)
{
	FILE *fp = fopen(path, "rb");
	size_t n;
	assert_non_null(fp);
	n = fread(buf, 1, cap, fp);
	fclose(fp);
	return n;
}

/* Replaces path with n bytes of buf, mode 0600. */
static void spit(const char *path, const void *buf, size_t n, mode_t mode)
{
	int fd;
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, n), (ssize_t)n);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

/* The key file of docs/keygen.md built here from its parts; the checksum
 * covers the first three lines. */
static size_t build_file(char *out, const char *header, const char *pub,
                         const char *seed)
{
	uint8_t sum[32];
	char sumhex[65];
	int n = sprintf(out, "%s\npublic: %s\nsecret-seed: %s\n", header, pub,
	                seed);
	crypto_generichash(sum, 32, (const uint8_t *)out, (size_t)n, NULL, 0);
	hex(sum, 32, sumhex);
	n += sprintf(out + n, "checksum: %s\n", sumhex);
	return (size_t)n;
}

static void make_key(struct fixture *f, struct cairn_identity *id)
{
	assert_int_equal(cairn_identity_generate(id), 0);
	assert_int_equal(cairn_identity_save(id, f->key, f->err, sizeof f->err),
	                 0);
}

/* Loading path fails with code want, the identity is left zeroed, and the
 * message names path and contains needle (when not NULL). */
static void expect_refused(struct fixture *f, const char *path, int want,
                           const char *needle)
{
	struct cairn_identity id;
	static const struct cairn_identity zero;
	memset(&id, 0xa5, sizeof id);
	f->err[0] = '\0';
	assert_int_equal(cairn_identity_load(&id, path, f->err, sizeof f->err),
	                 want);
	assert_memory_equal(&id, &zero, sizeof id);
	if (!strstr(f->err, path) || (needle && !strstr(f->err, needle)))
		fail_msg("message '%s' lacks '%s' or '%s'", f->err, path,
		         needle ? needle : "");
}

static void test_round_trip(void **state)
{
	struct fixture *f = *state;
	struct cairn_identity a, b;
	char text[KEY_BYTES + 16], want[KEY_BYTES + 16], pub[65], seed[65];
	uint8_t sig[CAIRN_SIGNATURE_BYTES];
	size_t n;
	static const char msg[] = "result of task 7";

	make_key(f, &a);
	assert_int_equal(cairn_identity_load(&b, f->key, f->err, sizeof f->err),
	                 0);
	assert_memory_equal(a.public_key, b.public_key, 32);
	assert_memory_equal(a.secret_key, b.secret_key, 64);

	/* The bytes are the documented format. */
	n = slurp(f->key, text, sizeof text);
	assert_int_equal(n, KEY_BYTES);
	hex(a.public_key, 32, pub);
	hex(a.secret_key, 32, seed); /* libsodium: sk = seed || pk */
	assert_int_equal(build_file(want, "cairn-ed25519-key v1", pub, seed),
	                 KEY_BYTES);
	assert_memory_equal(text, want, KEY_BYTES);

	assert_int_equal(cairn_identity_public_hex(&b, pub), 0);
	assert_int_equal(strlen(pub), 64);
	hex(a.public_key, 32, seed);
	assert_string_equal(pub, seed);

	/* Sign with the loaded key, verify with the original, and back. */
	assert_int_equal(cairn_identity_sign(&b, msg, sizeof msg, sig), 0);
	assert_int_equal(
	    cairn_identity_verify(a.public_key, msg, sizeof msg, sig), 0);
	assert_int_equal(cairn_identity_sign(&a, msg, sizeof msg, sig), 0);
	assert_int_equal(
	    cairn_identity_verify(b.public_key, msg, sizeof msg, sig), 0);
	cairn_identity_wipe(&a);
	cairn_identity_wipe(&b);
	{
		static const struct cairn_identity zero;
		assert_memory_equal(&a, &zero, sizeof a);
	}
}

static void test_refuses_overwrite(void **state)
{
	struct fixture *f = *state;
	struct cairn_identity a, b;
	char before[KEY_BYTES], after[KEY_BYTES + 1], link[160];
	int entries = 0;
	struct stat st;

	make_key(f, &a);
	assert_int_equal(slurp(f->key, before, sizeof before), KEY_BYTES);
	assert_int_equal(cairn_identity_generate(&b), 0);
	assert_int_equal(cairn_identity_save(&b, f->key, f->err, sizeof f->err),
	                 CAIRN_EEXIST);
	assert_non_null(strstr(f->err, f->key));
	assert_non_null(strstr(f->err, "remove the old key"));
	assert_int_equal(slurp(f->key, after, sizeof after), KEY_BYTES);
	assert_memory_equal(before, after, KEY_BYTES);

	/* A dangling link is not replaced either, nor followed. */
	snprintf(link, sizeof link, "%s/dangling", f->dir);
	assert_int_equal(symlink("/nonexistent/cairn-target", link), 0);
	assert_int_equal(cairn_identity_save(&b, link, f->err, sizeof f->err),
	                 CAIRN_EEXIST);
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISLNK(st.st_mode));

	/* Nothing else was left behind (no temporary files). */
	{
		char cmd[256];
		FILE *p;
		snprintf(cmd, sizeof cmd, "ls -A '%s' | wc -l", f->dir);
		p = popen(cmd, "r");
		assert_non_null(p);
		assert_int_equal(fscanf(p, "%d", &entries), 1);
		pclose(p);
	}
	assert_int_equal(entries, 2);

	/* A directory that does not exist. */
	snprintf(link, sizeof link, "%s/no/such/dir/k", f->dir);
	assert_int_equal(cairn_identity_save(&b, link, f->err, sizeof f->err),
	                 CAIRN_ENOENT);
	assert_non_null(strstr(f->err, link));
	cairn_identity_wipe(&a);
	cairn_identity_wipe(&b);
}

static void test_mode_whatever_umask(void **state)
{
	struct fixture *f = *state;
	static const mode_t masks[] = {0, 022, 077, 0277, 0777};
	struct cairn_identity id, back;
	struct stat st;
	char p[160];

	assert_int_equal(cairn_identity_generate(&id), 0);
	for (size_t i = 0; i < sizeof masks / sizeof masks[0]; i++) {
		mode_t old = umask(masks[i]);
		snprintf(p, sizeof p, "%s/k%zu", f->dir, i);
		assert_int_equal(
		    cairn_identity_save(&id, p, f->err, sizeof f->err), 0);
		umask(old);
		assert_int_equal(stat(p, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0600);
		assert_int_equal(
		    cairn_identity_load(&back, p, f->err, sizeof f->err), 0);
		assert_memory_equal(back.public_key, id.public_key, 32);
	}
	cairn_identity_wipe(&id);
	cairn_identity_wipe(&back);
}

static void test_group_other_modes(void **state)
{
	struct fixture *f = *state;
	static const mode_t bad[] = {0640, 0604, 0644, 0660, 0606,
	                             0610, 0601, 0620, 0602, 0700 | 07};
	struct cairn_identity id;
	char want[16];

	make_key(f, &id);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(chmod(f->key, bad[i]), 0);
		snprintf(want, sizeof want, "(mode %04o)", (unsigned)bad[i]);
		expect_refused(f, f->key, CAIRN_EPERM, want);
		assert_non_null(strstr(f->err, "chmod 600"));
	}
	expect_refused(f, f->key, CAIRN_EPERM, "others");
	assert_int_equal(chmod(f->key, 0644), 0);
	expect_refused(f, f->key, CAIRN_EPERM,
	               "readable by its group and others");
	/* Owner-only modes are fine. */
	assert_int_equal(chmod(f->key, 0400), 0);
	assert_int_equal(
	    cairn_identity_load(&id, f->key, f->err, sizeof f->err), 0);
	cairn_identity_wipe(&id);
}

static void test_not_a_plain_file(void **state)
{
	struct fixture *f = *state;
	struct cairn_identity id;
	char p[160];

	make_key(f, &id);
	cairn_identity_wipe(&id);
	snprintf(p, sizeof p, "%s/link.key", f->dir);
	assert_int_equal(symlink(f->key, p), 0);
	expect_refused(f, p, CAIRN_EPERM, "symbolic link");
	expect_refused(f, f->dir, CAIRN_EINVAL, "directory");
	snprintf(p, sizeof p, "%s/fifo", f->dir);
	assert_int_equal(mkfifo(p, 0600), 0);
	expect_refused(f, p, CAIRN_EINVAL, "FIFO"); /* and does not hang */
	{ /* a socket cannot be opened at all (ENXIO): still named */
		struct sockaddr_un sa;
		int s = socket(AF_UNIX, SOCK_STREAM, 0);
		assert_true(s >= 0);
		memset(&sa, 0, sizeof sa);
		sa.sun_family = AF_UNIX;
		snprintf(sa.sun_path, sizeof sa.sun_path, "%s/sock", f->dir);
		assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof sa), 0);
		expect_refused(f, sa.sun_path, CAIRN_EINVAL, "is a socket");
		close(s);
	}
	snprintf(p, sizeof p, "%s/missing.key", f->dir);
	expect_refused(f, p, CAIRN_ENOENT, "cairn keygen");
}

/* Root can give the file away; others cannot test this. */
static void test_other_owner(void **state)
{
	struct fixture *f = *state;
	struct cairn_identity id;
	if (geteuid() != 0)
		skip();
	make_key(f, &id);
	cairn_identity_wipe(&id);
	assert_int_equal(chown(f->key, 4242, (gid_t)-1), 0);
	expect_refused(f, f->key, CAIRN_EPERM, "owned by uid 4242");
}

/* Every single-byte change of a key file is refused: the format has no
 * free white space, so there is no position where a change is harmless. */
static void test_every_byte_corruption(void **state)
{
	struct fixture *f = *state;
	struct cairn_identity id;
	char good[KEY_BYTES], bad[KEY_BYTES + 1];
	int tried = 0;

	make_key(f, &id);
	cairn_identity_wipe(&id);
	assert_int_equal(slurp(f->key, good, sizeof good), KEY_BYTES);
	for (size_t pos = 0; pos < KEY_BYTES; pos++) {
		for (int bit = 0; bit < 8; bit++) {
			memcpy(bad, good, KEY_BYTES);
			bad[pos] = (char)(bad[pos] ^ (1 << bit));
			spit(f->key, bad, KEY_BYTES, 0600);
			expect_refused(f, f->key, CAIRN_EFORMAT, "line");
			tried++;
		}
		/* One byte inserted before pos, and pos deleted. */
		memcpy(bad, good, pos);
		bad[pos] = ' ';
		memcpy(bad + pos + 1, good + pos, KEY_BYTES - pos);
		spit(f->key, bad, KEY_BYTES + 1, 0600);
		expect_refused(f, f->key, CAIRN_EFORMAT, NULL);
		memcpy(bad, good, pos);
		memcpy(bad + pos, good + pos + 1, KEY_BYTES - pos - 1);
		spit(f->key, bad, KEY_BYTES - 1, 0600);
		expect_refused(f, f->key, CAIRN_EFORMAT, NULL);
		tried += 2;
	}
	assert_int_equal(tried, KEY_BYTES * 10);
	/* a key file's size with no line end: not called truncated */
	memset(bad, 0, KEY_BYTES);
	spit(f->key, bad, KEY_BYTES, 0600);
	expect_refused(f, f->key, CAIRN_EFORMAT,
	               "line 1 (the header line) "
	               "does not end");
	/* The untouched file still loads. */
	spit(f->key, good, KEY_BYTES, 0600);
	assert_int_equal(
	    cairn_identity_load(&id, f->key, f->err, sizeof f->err), 0);
	cairn_identity_wipe(&id);
}

static void test_truncated(void **state)
{
	struct fixture *f = *state;
	struct cairn_identity id;
	char good[KEY_BYTES];

	make_key(f, &id);
	cairn_identity_wipe(&id);
	assert_int_equal(slurp(f->key, good, sizeof good), KEY_BYTES);
	for (size_t n = 0; n < KEY_BYTES; n++) {
		spit(f->key, good, n, 0600);
		expect_refused(f, f->key, CAIRN_EFORMAT,
		               n + 1 < KEY_BYTES ? "truncated" : "line 4");
	}
}

static void test_wrong_content(void **state)
{
	struct fixture *f = *state;
	struct cairn_identity id, other;
	char text[512], pub[65], seed[65], opub[65];
	size_t n;

	make_key(f, &id);
	assert_int_equal(cairn_identity_generate(&other), 0);
	hex(id.public_key, 32, pub);
	hex(id.secret_key, 32, seed);
	hex(other.public_key, 32, opub);

	/* Valid checksums, wrong content. */
	n = build_file(text, "cairn-ed25519-key v2", pub, seed);
	spit(f->key, text, n, 0600);
	expect_refused(f, f->key, CAIRN_EFORMAT, "version");
	n = build_file(text, "ssh-ed25519-key v1", pub, seed);
	spit(f->key, text, n, 0600);
	expect_refused(f, f->key, CAIRN_EFORMAT, "not a cairn key file");
	/* A copy through Windows: the message says so */
	n = build_file(text, "cairn-ed25519-key v1\r", pub, seed);
	spit(f->key, text, n, 0600);
	expect_refused(f, f->key, CAIRN_EFORMAT, "ends in CR LF");
	n = build_file(text, "cairn-ed25519-key v1", opub, seed);
	spit(f->key, text, n, 0600);
	expect_refused(f, f->key, CAIRN_EFORMAT, "does not match");
	for (char *p = seed; *p; p++)
		if (*p >= 'a')
			*p = (char)(*p - 'a' + 'A');
	n = build_file(text, "cairn-ed25519-key v1", pub, seed);
	spit(f->key, text, n, 0600);
	expect_refused(f, f->key, CAIRN_EFORMAT, "hex digit");
	n = build_file(text, "cairn-ed25519-key v1", pub, "00");
	spit(f->key, text, n, 0600);
	expect_refused(f, f->key, CAIRN_EFORMAT, "line 3");

	/* Trailing bytes after a good file. */
	hex(id.secret_key, 32, seed);
	n = build_file(text, "cairn-ed25519-key v1", pub, seed);
	text[n++] = '\n';
	spit(f->key, text, n, 0600);
	expect_refused(f, f->key, CAIRN_EFORMAT, "after line 4");

	/* Oversized: refused on its size. */
	{
		char *big = malloc(5000);
		assert_non_null(big);
		memset(big, 'a', 5000);
		memcpy(big, text, KEY_BYTES);
		spit(f->key, big, 5000, 0600);
		expect_refused(f, f->key, CAIRN_EFORMAT, "5000 bytes");
		spit(f->key, big, CAIRN_KEY_FILE_MAX + 1, 0600);
		expect_refused(f, f->key, CAIRN_EFORMAT, "4097 bytes");
		free(big);
	}
	spit(f->key, "", 0, 0600);
	expect_refused(f, f->key, CAIRN_EFORMAT, "truncated");
	cairn_identity_wipe(&id);
	cairn_identity_wipe(&other);
}

static void test_signatures(void **state)
{
	struct cairn_identity a, b;
	uint8_t sig[CAIRN_SIGNATURE_BYTES], msg[100];
	(void)state;

	assert_int_equal(cairn_identity_generate(&a), 0);
	assert_int_equal(cairn_identity_generate(&b), 0);
	assert_memory_not_equal(a.public_key, b.public_key, 32);
	randombytes_buf(msg, sizeof msg);
	assert_int_equal(cairn_identity_sign(&a, msg, sizeof msg, sig), 0);
	assert_int_equal(
	    cairn_identity_verify(a.public_key, msg, sizeof msg, sig), 0);
	/* Another key. */
	assert_int_equal(
	    cairn_identity_verify(b.public_key, msg, sizeof msg, sig),
	    CAIRN_ECRYPTO);
	/* Every bit of the message and of the signature counts. */
	for (size_t i = 0; i < sizeof msg * 8; i += 7) {
		msg[i / 8] ^= (uint8_t)(1u << (i % 8));
		assert_int_equal(
		    cairn_identity_verify(a.public_key, msg, sizeof msg, sig),
		    CAIRN_ECRYPTO);
		msg[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	assert_int_equal(
	    cairn_identity_verify(a.public_key, msg, sizeof msg - 1, sig),
	    CAIRN_ECRYPTO);
	for (size_t i = 0; i < sizeof sig * 8; i += 5) {
		sig[i / 8] ^= (uint8_t)(1u << (i % 8));
		assert_int_equal(
		    cairn_identity_verify(a.public_key, msg, sizeof msg, sig),
		    CAIRN_ECRYPTO);
		sig[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	/* Domain-separated: not a plain Ed25519 signature of msg. */
	assert_int_not_equal(
	    crypto_sign_verify_detached(sig, msg, sizeof msg, a.public_key), 0);
	/* The empty message. */
	assert_int_equal(cairn_identity_sign(&a, NULL, 0, sig), 0);
	assert_int_equal(cairn_identity_verify(a.public_key, "", 0, sig), 0);
	/* Arguments. */
	assert_int_equal(cairn_identity_sign(NULL, msg, 1, sig), CAIRN_EINVAL);
	assert_int_equal(cairn_identity_sign(&a, NULL, 1, sig), CAIRN_EINVAL);
	assert_int_equal(cairn_identity_verify(NULL, msg, 1, sig),
	                 CAIRN_EINVAL);
	assert_int_equal(cairn_identity_load(NULL, "x", NULL, 0), CAIRN_EINVAL);
	assert_int_equal(cairn_identity_save(&a, "", NULL, 0), CAIRN_EINVAL);
	cairn_identity_wipe(&a);
	cairn_identity_wipe(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refuses_overwrite, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_mode_whatever_umask, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_group_other_modes, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_not_a_plain_file, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_other_owner, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_every_byte_corruption, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wrong_content, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_signatures, setup, teardown),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
