/* cairn: signed result bundles (include/cairn/bundle.h,
 * docs/bundle-format.md).
 *
 * The fixture runs a real task: a 784-16-10 ReLU MLP on the ref backend,
 * a synthetic in-memory dataset of 64 samples, batch 8 in 2 micro-batches,
 * H = 4 inner steps with a checkpoint every c = 2, collected with
 * cairn_bundle_checkpoint and signed with a fresh key.  The bundle is
 * written, read back and compared field by field; then every way of
 * spoiling it must be refused with the right code and a message naming
 * the file: truncation at every offset of the first 512 bytes and at 300
 * random others, one-bit flips at every byte of the first 768 and at 500
 * random offsets (all must be caught: every byte is covered), oversized
 * and non-protobuf files, another signer, a result of another task,
 * checkpoints out of order, claims that contradict the spec, and a write
 * over an existing file.  The lazy reader (cairn_bundle_read_lazy) gives
 * the same bundle once every checkpoint is checked or loaded into a
 * model, refuses every spoiled file the full reader refuses except for a
 * tensor, which checking its checkpoint refuses with the full reader's
 * message, and the reader names the check that refused a bundle.
 *
 * Offsets and bits are random each run (seed printed; set
 * CAIRN_TEST_SEED=0x... to replay). */
#include <dirent.h>
#include <sys/resource.h>
#include <signal.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "task_fixture.h"
#include "test_util.h"

#include "cairn/attest.h"
#include "cairn/bundle.h"
#include "cairn/error.h"
#include "cairn/identity.h"
#include "cairn/kernels.h"
#include "cairn/model.h"
#include "cairn/task.h"

#define STEPS 4
#define EVERY 2

/* Everything the tests share, built once by setup. */
struct fx {
	uint64_t rng;
	cairn_backend *be;
	cairn_dataset ds; /* our own buffers: never cairn_dataset_close */
	uint8_t *images, *labels;
	uint8_t droot[CAIRN_HASH_BYTES];
	struct cairn_task_spec spec;
	int64_t nparams;
	float *w_r;
	uint8_t *state_roots; /* the run's trace */
	float *losses;
	uint8_t *steps; /* the run's step log */
	struct cairn_task_trace trace;
	struct cairn_identity id;
	struct cairn_bundle good; /* as collected and signed */
	char dir[64];
	char path[256]; /* the good bundle, dir/<task id>.cairn */
	uint8_t *bytes; /* its file */
	size_t len;
};

static uint64_t rnd(struct fx *f)
{
	return cairn_test_splitmix64(&f->rng);
}

/* Runs f->spec from f->w_r into b (begun here), signed by id. */
static void run_task(struct fx *f, struct cairn_bundle *b,
                     const struct cairn_identity *id)
{
	cairn_test_task_bundle(f->be, &f->spec, &f->ds, f->w_r, &f->trace, id,
	                       b);
}

static int read_whole(const char *path, uint8_t **out, size_t *len)
{
	struct stat st;
	int fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st))
		return -1;
	*len = (size_t)st.st_size;
	*out = cairn_test_xmalloc(*len);
	if (read(fd, *out, *len) != (ssize_t)*len) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static void write_whole(const char *path, const void *p, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	char name[CAIRN_BUNDLE_FILENAME_BYTES], err[512] = "";
	uint32_t n;

	if (!f)
		return -1;
	f->rng = cairn_test_seed("test_bundle");
	if (cairn_backend_open(CAIRN_BACKEND_REF, NULL, &f->be))
		return -1;
	if (cairn_test_task_dataset(&f->rng, &f->images, &f->labels, &f->ds,
	                            f->droot))
		return -1;
	cairn_test_task_spec(&f->spec, "test-bundle", f->rng, f->droot, STEPS,
	                     EVERY);
	f->spec.round = 3;
	f->spec.task = 1;
	f->spec.tasks = 3;

	/* W_r: the model's initialisation, and its root in the spec. */
	if (cairn_test_task_w_r(f->be, &f->spec, &f->w_r, &f->nparams))
		return -1;

	n = cairn_task_state_count(&f->spec);
	f->state_roots = cairn_test_xmalloc((size_t)n * CAIRN_HASH_BYTES);
	f->losses = cairn_test_xmalloc(STEPS * sizeof(float));
	f->trace.state_roots = f->state_roots;
	f->trace.losses = f->losses;
	f->steps = cairn_test_xmalloc(STEPS * CAIRN_STEP_RECORD_BYTES);
	f->trace.steps = f->steps;
	if (cairn_identity_generate(&f->id))
		return -1;
	run_task(f, &f->good, &f->id);

	snprintf(f->dir, sizeof f->dir, "/tmp/cairn-test-bundle-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	if (cairn_bundle_filename(&f->spec, name, sizeof name))
		return -1;
	snprintf(f->path, sizeof f->path, "%s/%s", f->dir, name);
	if (cairn_bundle_write(&f->good, f->path, err, sizeof err)) {
		print_message("write: %s\n", err);
		return -1;
	}
	if (read_whole(f->path, &f->bytes, &f->len))
		return -1;
	print_message("bundle: %zu bytes, %" PRId64 " parameters, %" PRIu32
	              " states\n",
	              f->len, f->nparams, n);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	DIR *d;
	struct dirent *e;
	char p[512];

	if (!f)
		return 0;
	d = opendir(f->dir);
	while (d && (e = readdir(d))) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			snprintf(p, sizeof p, "%s/%s", f->dir, e->d_name);
			unlink(p);
		}
	}
	if (d)
		closedir(d);
	rmdir(f->dir);
	cairn_bundle_free(&f->good);
	cairn_identity_wipe(&f->id);
	cairn_backend_close(f->be);
	free(f->bytes);
	free(f->w_r);
	free(f->state_roots);
	free(f->losses);
	free(f->steps);
	free(f->images);
	free(f->labels);
	free(f);
	return 0;
}

/* 1 when every byte of b is zero. */
static int bundle_zeroed(const struct cairn_bundle *b)
{
	static const struct cairn_bundle zero;
	return memcmp(b, &zero, sizeof zero) == 0;
}

static void assert_state_equal(const struct cairn_state *a,
                               const struct cairn_state *b)
{
	uint8_t ea[CAIRN_STATE_BYTES], eb[CAIRN_STATE_BYTES];
	assert_int_equal(cairn_state_encode(a, ea), 0);
	assert_int_equal(cairn_state_encode(b, eb), 0);
	assert_memory_equal(ea, eb, CAIRN_STATE_BYTES);
}

static void assert_bundle_equal(const struct cairn_bundle *a,
                                const struct cairn_bundle *b)
{
	uint8_t ea[CAIRN_TASK_SPEC_BYTES], eb[CAIRN_TASK_SPEC_BYTES];
	uint8_t ra[CAIRN_TASK_RESULT_BYTES], rb[CAIRN_TASK_RESULT_BYTES];
	size_t bytes;

	assert_int_equal(cairn_task_spec_encode(&a->spec, ea), 0);
	assert_int_equal(cairn_task_spec_encode(&b->spec, eb), 0);
	assert_memory_equal(ea, eb, sizeof ea);
	assert_int_equal(cairn_task_result_encode(&a->result, ra), 0);
	assert_int_equal(cairn_task_result_encode(&b->result, rb), 0);
	assert_memory_equal(ra, rb, sizeof ra);
	assert_memory_equal(a->signature, b->signature, CAIRN_SIGNATURE_BYTES);
	assert_int_equal(a->nstates, b->nstates);
	assert_memory_equal(a->state_roots, b->state_roots,
	                    (size_t)a->nstates * CAIRN_HASH_BYTES);
	assert_state_equal(&a->final_state, &b->final_state);
	assert_memory_equal(a->steps, b->steps,
	                    (size_t)a->spec.inner_steps *
	                        CAIRN_STEP_RECORD_BYTES);
	assert_int_equal(a->ncheckpoints, b->ncheckpoints);
	assert_int_equal(a->param_count, b->param_count);
	bytes = (size_t)a->param_count * sizeof(float);
	for (uint32_t i = 0; i < a->ncheckpoints; i++) {
		assert_state_equal(&a->checkpoints[i].state,
		                   &b->checkpoints[i].state);
		assert_memory_equal(a->checkpoints[i].params,
		                    b->checkpoints[i].params, bytes);
		assert_memory_equal(a->checkpoints[i].m, b->checkpoints[i].m,
		                    bytes);
		assert_memory_equal(a->checkpoints[i].v, b->checkpoints[i].v,
		                    bytes);
	}
}

/* Reads path, which must be refused with want (0: any of the codes a
 * spoiled bundle may get), with a message naming the file and b left
 * zeroed.  Returns the code. */
static int expect_refused(const char *path, int want, const char *needle)
{
	struct cairn_bundle b;
	char err[1024] = "";
	int rc;

	memset(&b, 0xa5, sizeof b);
	rc = cairn_bundle_read(path, &b, err, sizeof err);
	if (rc == 0 || (want && rc != want) || (needle && !strstr(err, needle)))
		print_message("%s: got %d (%s): %s\n", path, rc,
		              cairn_strerror(rc), err);
	assert_int_not_equal(rc, 0);
	if (want)
		assert_int_equal(rc, want);
	else
		assert_true(rc == CAIRN_EFORMAT || rc == CAIRN_ECRYPTO ||
		            rc == CAIRN_EMISMATCH);
	assert_true(strlen(err) > 0);
	assert_non_null(strstr(err, path));
	if (needle)
		assert_non_null(strstr(err, needle));
	assert_true(bundle_zeroed(&b));
	return rc;
}

/* Writes b to dir/name (removing an old one) and returns the path. */
static const char *write_as(struct fx *f, const struct cairn_bundle *b,
                            const char *name)
{
	static char path[512];
	char err[512] = "";
	int rc;

	snprintf(path, sizeof path, "%s/%s", f->dir, name);
	unlink(path);
	rc = cairn_bundle_write(b, path, err, sizeof err);
	if (rc)
		print_message("write %s: %s\n", path, err);
	assert_int_equal(rc, 0);
	return path;
}

/* cairn_bundle_write of b to dir/name (removing an old one): its code. */
static int write_as_rc(struct fx *f, const struct cairn_bundle *b,
                       const char *name)
{
	char path[512], err[512] = "";

	snprintf(path, sizeof path, "%s/%s", f->dir, name);
	unlink(path);
	return cairn_bundle_write(b, path, err, sizeof err);
}

/* Flips the low bit of byte at of the file fd, whose byte there is was. */
static void byte_flip(int fd, uint8_t was, size_t at)
{
	uint8_t x = was ^ 1u;
	assert_int_equal(pwrite(fd, &x, 1, (off_t)at), 1);
}

/* r signed by who, whatever r's worker key says (the RESULT domain hash
 * of the encoding, include/cairn/task.h). */
static void sign_as(const struct cairn_identity *who,
                    const struct cairn_task_result *r,
                    uint8_t sig[CAIRN_SIGNATURE_BYTES])
{
	uint8_t enc[CAIRN_TASK_RESULT_BYTES], d[CAIRN_HASH_BYTES];
	assert_int_equal(cairn_task_result_encode(r, enc), 0);
	assert_int_equal(
	    cairn_hash_domain(CAIRN_DOM_RESULT, enc, sizeof enc, d), 0);
	assert_int_equal(cairn_identity_sign(who, d, sizeof d, sig), 0);
}

/* ---- the round trip ------------------------------------------------------ */

static void test_roundtrip(void **state)
{
	struct fx *f = *state;
	struct cairn_bundle b;
	uint8_t id[CAIRN_HASH_BYTES];
	char h[CAIRN_HASH_HEX_BYTES], want[CAIRN_BUNDLE_FILENAME_BYTES];
	char name[CAIRN_BUNDLE_FILENAME_BYTES], err[512] = "";
	const size_t bytes = (size_t)f->nparams * sizeof(float);
	const struct cairn_bundle *g = &f->good;

	/* What was collected is the run. */
	assert_int_equal(g->nstates, STEPS / EVERY + 1);
	assert_int_equal(g->ncheckpoints, g->nstates - 1);
	assert_int_equal(g->param_count, f->nparams);
	assert_int_equal(g->param_count,
	                 (int64_t)CAIRN_DATASET_PIXELS * HIDDEN + HIDDEN +
	                     HIDDEN * CAIRN_DATASET_CLASSES +
	                     CAIRN_DATASET_CLASSES);
	assert_memory_equal(g->state_roots, f->state_roots,
	                    (size_t)g->nstates * CAIRN_HASH_BYTES);
	assert_int_equal(cairn_task_id(&f->spec, id), 0);
	assert_memory_equal(g->result.task_id, id, CAIRN_HASH_BYTES);
	assert_memory_equal(g->result.worker_key, f->id.public_key,
	                    CAIRN_PUBLIC_KEY_BYTES);
	assert_memory_equal(g->result.trace_root, f->trace.trace_root,
	                    CAIRN_HASH_BYTES);
	assert_memory_equal(g->result.final_params_root,
	                    f->trace.final_params_root, CAIRN_HASH_BYTES);
	assert_int_equal(g->result.flops, cairn_task_flops(&f->spec));
	assert_string_equal(g->result.device_class, "ref");
	assert_int_equal(cairn_task_result_verify(&g->result, g->signature), 0);
	assert_int_equal(g->final_state.step, STEPS);
	for (uint32_t i = 0; i < g->ncheckpoints; i++)
		assert_int_equal(g->checkpoints[i].state.step, i * EVERY);
	assert_memory_equal(g->checkpoints[0].params, f->w_r, bytes);
	for (int64_t i = 0; i < f->nparams; i++) {
		assert_true(g->checkpoints[0].m[i] == 0.0f);
		assert_true(g->checkpoints[0].v[i] == 0.0f);
	}
	/* Training moved the parameters between t = 0 and t = c. */
	assert_memory_not_equal(g->checkpoints[1].params, f->w_r, bytes);

	/* The file name. */
	assert_int_equal(cairn_hash_to_hex(id, h), 0);
	snprintf(want, sizeof want, "%s.cairn", h);
	assert_int_equal(cairn_bundle_filename(&f->spec, name, sizeof name), 0);
	assert_string_equal(name, want);
	assert_string_equal(strrchr(f->path, '/') + 1, want);
	assert_int_equal(cairn_bundle_filename(&f->spec, name, sizeof name - 1),
	                 CAIRN_EINVAL);

	/* Read back: every field equal. */
	assert_int_equal(cairn_bundle_read(f->path, &b, err, sizeof err), 0);
	assert_bundle_equal(g, &b);
	cairn_bundle_free(&b);
	assert_true(bundle_zeroed(&b));
	/* The same bytes from memory. */
	assert_int_equal(
	    cairn_bundle_decode(f->bytes, f->len, NULL, &b, err, sizeof err),
	    0);
	assert_bundle_equal(g, &b);
	cairn_bundle_free(&b);
	/* Exactly the limit is fine. */
	assert_int_equal(
	    cairn_bundle_read_max(f->path, f->len, &b, err, sizeof err), 0);
	cairn_bundle_free(&b);
	/* The same task run again gives the same bytes, signature included
	 * (Ed25519 is deterministic). */
	{
		struct cairn_bundle again;
		const char *p;
		uint8_t *bytes2;
		size_t len2;
		run_task(f, &again, &f->id);
		p = write_as(f, &again, "again.cairn");
		assert_int_equal(read_whole(p, &bytes2, &len2), 0);
		assert_int_equal(len2, f->len);
		assert_memory_equal(bytes2, f->bytes, f->len);
		free(bytes2);
		cairn_bundle_free(&again);
		unlink(p);
	}
}

/* ---- writing ------------------------------------------------------------- */

/* The number of open file descriptors of this process. */
static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;
	assert_non_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* 1 when p lies in a mapping of a deleted file (/proc/self/maps). */
static int in_deleted_file(const void *p)
{
	FILE *fm = fopen("/proc/self/maps", "r");
	char line[1024];
	int found = 0;
	assert_non_null(fm);
	while (!found && fgets(line, sizeof line, fm)) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 &&
		    (uintptr_t)p >= lo && (uintptr_t)p < hi)
			found = strstr(line, "(deleted)") ? 1 : -1;
	}
	fclose(fm);
	return found == 1;
}

/* cairn_bundle_spool: the checkpoints kept in an unlinked file under a
 * directory (their tensors in its mapping, not the heap) give the same
 * file as those kept in memory; a directory that cannot hold it (none,
 * or a file size limit below it), or a bundle not just begun, is refused
 * with b intact; freeing closes and unmaps it. */
static void test_spool(void **state)
{
	struct fx *f = *state;
	struct cairn_bundle b;
	cairn_model *m = NULL;
	char err[512] = "", path[600];
	uint8_t *bytes = NULL;
	size_t len = 0;
	int fds = count_fds();

	assert_int_equal(cairn_bundle_begin(&b, &f->spec), 0);
	{ /* no room: a file size limit of half the checkpoints' bytes */
		struct rlimit old, small;
		void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
		uint64_t total = (uint64_t)(b.nstates - 1) * 3 *
		                 (uint64_t)b.param_count * 4;
		int rc;
		assert_true(total > 2);
		assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
		small = old;
		small.rlim_cur = (rlim_t)(total / 2);
		assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
		rc = cairn_bundle_spool(&b, f->dir, err, sizeof err);
		assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
		signal(SIGXFSZ, prev);
		assert_int_equal(rc, CAIRN_EIO);
		assert_non_null(strstr(err, f->dir));
		assert_null(b.spool);
		assert_int_equal(count_fds(), fds);
	}
	assert_int_equal(cairn_bundle_spool(&b, "/nonexistent-cairn-dir", err,
	                                    sizeof err),
	                 CAIRN_EIO);
	assert_non_null(strstr(err, "/nonexistent-cairn-dir"));
	assert_null(b.spool);
	assert_int_equal(cairn_bundle_spool(&b, f->dir, err, sizeof err), 0);
	assert_non_null(b.spool);
	assert_int_equal(cairn_bundle_spool(&b, f->dir, err, sizeof err),
	                 CAIRN_EINVAL);
	assert_int_equal(cairn_bundle_spool(NULL, f->dir, err, sizeof err),
	                 CAIRN_EINVAL);
	assert_int_equal(cairn_model_create(f->be, &f->spec.model, BATCH,
	                                    MICRO, &m),
	                 0);
	if (cairn_task_run(m, &f->spec, &f->ds, f->spec.dataset_root, f->w_r,
	                   &f->trace, cairn_bundle_checkpoint, &b, err,
	                   sizeof err))
		fail_msg("cairn_task_run: %s", err);
	cairn_model_free(m);
	/* the tensors are in the file's mapping, not the heap */
	assert_true(b.ncheckpoints > 0);
	for (uint32_t i = 0; i < b.ncheckpoints; i++) {
		assert_true(in_deleted_file(b.checkpoints[i].params));
		assert_true(in_deleted_file(b.checkpoints[i].v));
	}
	assert_int_equal(count_fds(), fds + 1);
	assert_int_equal(cairn_bundle_finish(&b, &f->trace, &f->id,
	                                     cairn_backend_name(f->be)),
	                 0);
	snprintf(path, sizeof path, "%s/spooled", f->dir);
	if (cairn_bundle_write(&b, path, err, sizeof err))
		fail_msg("write: %s", err);
	assert_int_equal(read_whole(path, &bytes, &len), 0);
	assert_int_equal(len, f->len);
	assert_memory_equal(bytes, f->bytes, len);
	free(bytes);
	unlink(path);
	cairn_bundle_free(&b);
	assert_null(b.spool);
	assert_int_equal(count_fds(), fds);
	/* after a checkpoint: too late */
	assert_int_equal(cairn_bundle_begin(&b, &f->spec), 0);
	b.ncheckpoints = 1;
	assert_int_equal(cairn_bundle_spool(&b, f->dir, err, sizeof err),
	                 CAIRN_EINVAL);
	b.ncheckpoints = 0;
	cairn_bundle_free(&b);
	/* the spool file left nothing in the directory */
	{
		DIR *d = opendir(f->dir);
		struct dirent *e;
		assert_non_null(d);
		while ((e = readdir(d)))
			assert_null(strstr(e->d_name, "spool"));
		closedir(d);
	}
}

static void test_write_refuses(void **state)
{
	struct fx *f = *state;
	struct cairn_bundle part;
	uint8_t *now;
	size_t len;
	char err[1024] = "", path[512];
	DIR *d;
	struct dirent *e;

	/* An existing file is never replaced, not even by the same bytes. */
	assert_int_equal(cairn_bundle_write(&f->good, f->path, err, sizeof err),
	                 CAIRN_EEXIST);
	assert_non_null(strstr(err, f->path));
	assert_non_null(strstr(err, "exists"));
	assert_int_equal(read_whole(f->path, &now, &len), 0);
	assert_int_equal(len, f->len);
	assert_memory_equal(now, f->bytes, len);
	free(now);

	/* No such directory. */
	snprintf(path, sizeof path, "%s/no/such/dir/x.cairn", f->dir);
	assert_int_equal(cairn_bundle_write(&f->good, path, err, sizeof err),
	                 CAIRN_ENOENT);
	assert_non_null(strstr(err, path));
	/* A directory name. */
	snprintf(path, sizeof path, "%s/", f->dir);
	assert_int_equal(cairn_bundle_write(&f->good, path, err, sizeof err),
	                 CAIRN_EINVAL);

	/* An incomplete bundle. */
	assert_int_equal(cairn_bundle_begin(&part, &f->spec), 0);
	snprintf(path, sizeof path, "%s/part.cairn", f->dir);
	assert_int_equal(cairn_bundle_write(&part, path, err, sizeof err),
	                 CAIRN_EINVAL);
	assert_non_null(strstr(err, "incomplete"));
	assert_int_equal(access(path, F_OK), -1);
	cairn_bundle_free(&part);
	assert_int_equal(cairn_bundle_write(NULL, path, err, sizeof err),
	                 CAIRN_EINVAL);
	assert_int_equal(cairn_bundle_write(&f->good, NULL, err, sizeof err),
	                 CAIRN_EINVAL);

	/* No temporary file is left behind by any of this. */
	d = opendir(f->dir);
	assert_non_null(d);
	while ((e = readdir(d)))
		assert_null(strstr(e->d_name, ".tmp"));
	closedir(d);
}

/* ---- spoiled files ------------------------------------------------------- */

static int cmp_desc(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	return x < y ? 1 : x > y ? -1 : 0;
}

static void test_truncated(void **state)
{
	struct fx *f = *state;
	const size_t head = f->len < 512 ? f->len : 512, nrand = 300;
	size_t *off = cairn_test_xmalloc((head + nrand) * sizeof *off), n = 0;
	char path[512];
	int fd;

	for (size_t i = 0; i < head; i++)
		off[n++] = i;
	for (size_t i = 0; i < nrand && f->len > 512; i++)
		off[n++] = 512 + (size_t)(rnd(f) % (f->len - 512));
	/* Cut a copy ever shorter: one ftruncate per offset. */
	qsort(off, n, sizeof *off, cmp_desc);
	snprintf(path, sizeof path, "%s/truncated.cairn", f->dir);
	write_whole(path, f->bytes, f->len);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	for (size_t i = 0; i < n; i++) {
		if (i && off[i] == off[i - 1])
			continue;
		assert_int_equal(ftruncate(fd, (off_t)off[i]), 0);
		expect_refused(path, CAIRN_EFORMAT, NULL);
	}
	close(fd);
	unlink(path);
	print_message("truncated: %zu offsets refused\n", n);
	free(off);
}

static void test_bit_flips(void **state)
{
	struct fx *f = *state;
	const size_t head = f->len < 768 ? f->len : 768, nrand = 500;
	int counts[3] = {0, 0, 0};
	struct cairn_bundle b;
	char path[512], err[512];
	int fd;

	snprintf(path, sizeof path, "%s/flipped.cairn", f->dir);
	write_whole(path, f->bytes, f->len);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	for (size_t i = 0; i < head + nrand; i++) {
		size_t at = i < head ? i : (size_t)(rnd(f) % f->len);
		uint8_t byte = f->bytes[at] ^ (uint8_t)(1u << (rnd(f) % 8));
		int rc;
		assert_int_equal(pwrite(fd, &byte, 1, (off_t)at), 1);
		rc = expect_refused(path, 0, NULL);
		counts[rc == CAIRN_EFORMAT ? 0 : rc == CAIRN_ECRYPTO ? 1 : 2]++;
		assert_int_equal(pwrite(fd, f->bytes + at, 1, (off_t)at), 1);
	}
	close(fd);
	/* Restored: good again. */
	assert_int_equal(cairn_bundle_read(path, &b, err, sizeof err), 0);
	cairn_bundle_free(&b);
	unlink(path);
	print_message("bit flips: %zu refused (%d format, %d crypto, %d "
	              "mismatch)\n",
	              head + nrand, counts[0], counts[1], counts[2]);
}

static void test_oversized(void **state)
{
	struct fx *f = *state;
	struct cairn_bundle b;
	char path[512], err[512] = "";
	int fd;

	/* One byte over a small limit; a sparse file, nothing to read. */
	snprintf(path, sizeof path, "%s/big.cairn", f->dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (1 << 20) + 1), 0);
	memset(&b, 0x5a, sizeof b);
	assert_int_equal(
	    cairn_bundle_read_max(path, 1 << 20, &b, err, sizeof err),
	    CAIRN_ERANGE);
	assert_non_null(strstr(err, path));
	assert_true(bundle_zeroed(&b));
	/* One byte over the real limit, when the file system can hold it. */
	if (ftruncate(fd, (off_t)CAIRN_BUNDLE_MAX_BYTES + 1) == 0)
		expect_refused(path, CAIRN_ERANGE, "limit");
	else
		print_message("no sparse file of 8 GiB here (%s): skipped\n",
		              strerror(errno));
	close(fd);
	unlink(path);
	/* The good bundle against a limit one byte short. */
	assert_int_equal(
	    cairn_bundle_read_max(f->path, f->len - 1, &b, err, sizeof err),
	    CAIRN_ERANGE);
	assert_true(bundle_zeroed(&b));
}

static void test_not_a_bundle(void **state)
{
	struct fx *f = *state;
	static const char text[] = "hello, this is not a bundle\n";
	/* Unknown field 31 (varint 1) after a good bundle; format again. */
	static const uint8_t unknown[] = {0xf8, 0x01, 0x01};
	static const uint8_t format_again[] = {0x08, 0x01};
	static const uint8_t format3[] = {0x08, 0x03};
	uint8_t *junk = cairn_test_xmalloc(f->len + 3);
	struct cairn_bundle b;
	char path[512], err[512];

	snprintf(path, sizeof path, "%s/text.cairn", f->dir);
	write_whole(path, text, sizeof text - 1);
	expect_refused(path, CAIRN_EFORMAT, NULL);
	write_whole(path, "", 0);
	expect_refused(path, CAIRN_EFORMAT, "empty");
	for (int k = 0; k < 8; k++) {
		for (size_t i = 0; i < 4096; i++)
			junk[i] = (uint8_t)rnd(f);
		write_whole(path, junk, 4096);
		expect_refused(path, CAIRN_EFORMAT, NULL);
	}
	write_whole(path, format3, sizeof format3);
	expect_refused(path, CAIRN_EFORMAT, "format 3");
	memcpy(junk, f->bytes, f->len);
	memcpy(junk + f->len, unknown, sizeof unknown);
	write_whole(path, junk, f->len + sizeof unknown);
	expect_refused(path, CAIRN_EFORMAT, "unknown");
	memcpy(junk + f->len, format_again, sizeof format_again);
	write_whole(path, junk, f->len + sizeof format_again);
	expect_refused(path, CAIRN_EFORMAT, "canonical");
	/* The good bundle twice over. */
	{
		uint8_t *two = cairn_test_xmalloc(2 * f->len);
		memcpy(two, f->bytes, f->len);
		memcpy(two + f->len, f->bytes, f->len);
		write_whole(path, two, 2 * f->len);
		expect_refused(path, CAIRN_EFORMAT, NULL);
		free(two);
	}
	unlink(path);
	free(junk);

	/* Not a file, no file, no arguments. */
	assert_int_equal(cairn_bundle_read(f->dir, &b, err, sizeof err),
	                 CAIRN_EINVAL);
	assert_non_null(strstr(err, f->dir));
	snprintf(path, sizeof path, "%s/missing.cairn", f->dir);
	assert_int_equal(cairn_bundle_read(path, &b, err, sizeof err),
	                 CAIRN_ENOENT);
	assert_non_null(strstr(err, path));
	assert_int_equal(cairn_bundle_read(NULL, &b, err, sizeof err),
	                 CAIRN_EINVAL);
	assert_int_equal(cairn_bundle_read(f->path, NULL, err, sizeof err),
	                 CAIRN_EINVAL);
	assert_int_equal(
	    cairn_bundle_decode(NULL, 5, NULL, &b, err, sizeof err),
	    CAIRN_EINVAL);
}

static void test_other_signer(void **state)
{
	struct fx *f = *state;
	struct cairn_identity other;
	struct cairn_bundle c = f->good, b; /* shallow: c's arrays are good's */
	char err[512];

	assert_int_equal(cairn_identity_generate(&other), 0);
	/* The result names our key; another key signed it. */
	sign_as(&other, &c.result, c.signature);
	expect_refused(write_as(f, &c, "other-signer.cairn"), CAIRN_ECRYPTO,
	               "signature");
	/* The result names the other key; ours signed it. */
	memcpy(c.result.worker_key, other.public_key, CAIRN_PUBLIC_KEY_BYTES);
	sign_as(&f->id, &c.result, c.signature);
	expect_refused(write_as(f, &c, "other-key.cairn"), CAIRN_ECRYPTO,
	               "signature");
	/* A signature of another result (one more FLOP). */
	c = f->good;
	c.result.flops++;
	sign_as(&f->id, &c.result, c.signature);
	c.result.flops--;
	expect_refused(write_as(f, &c, "other-result.cairn"), CAIRN_ECRYPTO,
	               "signature");
	/* Control: the other key's own, consistent signature is a valid
	 * bundle (of another worker). */
	c = f->good;
	memcpy(c.result.worker_key, other.public_key, CAIRN_PUBLIC_KEY_BYTES);
	sign_as(&other, &c.result, c.signature);
	assert_int_equal(cairn_bundle_read(write_as(f, &c, "other-ok.cairn"),
	                                   &b, err, sizeof err),
	                 0);
	assert_memory_equal(b.result.worker_key, other.public_key,
	                    CAIRN_PUBLIC_KEY_BYTES);
	cairn_bundle_free(&b);
	cairn_identity_wipe(&other);
}

static void test_other_task(void **state)
{
	struct fx *f = *state;
	struct cairn_task_spec s2 = f->spec;
	struct cairn_bundle c = f->good;

	/* A result signed for task 2 of the round, in task 1's bundle. */
	s2.task = 2;
	assert_int_equal(cairn_task_id(&s2, c.result.task_id), 0);
	assert_int_equal(cairn_task_result_sign(&f->id, &c.result, c.signature),
	                 0);
	expect_refused(write_as(f, &c, "other-task.cairn"), CAIRN_ECRYPTO,
	               "task");
	/* Task 1's result with task 2's spec. */
	c = f->good;
	c.spec = s2;
	expect_refused(write_as(f, &c, "other-spec.cairn"), CAIRN_ECRYPTO,
	               "task");
}

static void test_checkpoint_order(void **state)
{
	struct fx *f = *state;
	struct cairn_bundle c = f->good;
	struct cairn_bundle_checkpoint cps[2];

	assert_int_equal(c.ncheckpoints, 2);
	/* Swapped. */
	cps[0] = f->good.checkpoints[1];
	cps[1] = f->good.checkpoints[0];
	c.checkpoints = cps;
	expect_refused(write_as(f, &c, "swapped.cairn"), CAIRN_EFORMAT,
	               "checkpoint 0 is at step 2");
	/* Twice the first. */
	cps[0] = f->good.checkpoints[0];
	cps[1] = f->good.checkpoints[0];
	expect_refused(write_as(f, &c, "twice.cairn"), CAIRN_EFORMAT,
	               "checkpoint 1");
	/* The right steps on the wrong tensors. */
	cps[0] = f->good.checkpoints[1];
	cps[1] = f->good.checkpoints[0];
	cps[0].state.step = 0;
	cps[1].state.step = EVERY;
	/* (checkpoint 1's samples and loss are step 0's, not the step log's
	 * record of step 2: refused before any tensor is hashed) */
	expect_refused(write_as(f, &c, "relabelled.cairn"), CAIRN_ECRYPTO,
	               "checkpoint 1 (t = 2)");
	/* A changed loss at t = c. */
	cps[0] = f->good.checkpoints[0];
	cps[1] = f->good.checkpoints[1];
	cps[1].state.loss_bits ^= 1;
	expect_refused(write_as(f, &c, "loss.cairn"), CAIRN_ECRYPTO,
	               "checkpoint 1 (t = 2)");
}

/* A bundle whose claims are signed but contradict its spec. */
/* A cheater's start: checkpoint 0's first moment replaced by m (host,
 * param count floats), its state root, the trace root and the signature
 * made again consistently, so only the t = 0 rule can refuse it.  cps is
 * c's copy of the checkpoints; roots has room for c's state roots. */
static void start_with_moment(struct fx *f, struct cairn_bundle *c,
                              struct cairn_bundle_checkpoint *cps, float *m,
                              uint8_t *roots)
{
	const size_t bytes = (size_t)f->nparams * sizeof(float);

	cps[0].m = m;
	assert_int_equal(cairn_tensor_root(m, bytes, cps[0].state.m), 0);
	memcpy(roots, c->state_roots, (size_t)c->nstates * CAIRN_HASH_BYTES);
	assert_int_equal(cairn_state_root(&cps[0].state, roots), 0);
	assert_int_equal(
	    cairn_trace_root(roots, c->nstates, c->result.trace_root), 0);
	c->checkpoints = cps;
	c->state_roots = roots;
	assert_int_equal(
	    cairn_task_result_sign(&f->id, &c->result, c->signature), 0);
}

static void test_false_claims(void **state)
{
	struct fx *f = *state;
	struct cairn_bundle c = f->good;
	struct cairn_bundle_checkpoint cps[2];
	const size_t bytes = (size_t)f->nparams * sizeof(float);
	float *m = cairn_test_xmalloc(bytes);
	uint8_t *roots =
	    cairn_test_xmalloc((size_t)c.nstates * CAIRN_HASH_BYTES);

	/* The work done. */
	c.result.flops *= 2;
	assert_int_equal(cairn_task_result_sign(&f->id, &c.result, c.signature),
	                 0);
	expect_refused(write_as(f, &c, "flops.cairn"), CAIRN_EMISMATCH,
	               "FLOPs");

	/* t = 0 with a non-zero first moment, consistently hashed and
	 * signed. */
	c = f->good;
	memcpy(cps, f->good.checkpoints, sizeof cps);
	memcpy(m, cps[0].m, bytes);
	m[7] = 1.0f;
	start_with_moment(f, &c, cps, m, roots);
	expect_refused(write_as(f, &c, "moment.cairn"), CAIRN_EMISMATCH,
	               "t = 0");
	free(m);
	free(roots);
}

/* ---- collecting --------------------------------------------------------- */

static void test_collect(void **state)
{
	struct fx *f = *state;
	struct cairn_task_spec bad = f->spec;
	struct cairn_bundle b;
	struct cairn_state st;
	cairn_model *m = NULL;
	uint8_t root[CAIRN_HASH_BYTES] = {0}, saved;
	struct cairn_identity other;

	bad.checkpoint_every = 3; /* does not divide H = 4 */
	memset(&b, 0x77, sizeof b);
	assert_int_equal(cairn_bundle_begin(&b, &bad), CAIRN_EINVAL);
	assert_true(bundle_zeroed(&b));
	assert_int_equal(cairn_bundle_begin(NULL, &f->spec), CAIRN_EINVAL);

	/* Out of order. */
	assert_int_equal(
	    cairn_model_create(f->be, &f->spec.model, BATCH, MICRO, &m), 0);
	assert_int_equal(cairn_model_init(m, 1), 0);
	assert_int_equal(cairn_bundle_begin(&b, &f->spec), 0);
	memset(&st, 0, sizeof st);
	st.step = EVERY;
	assert_int_equal(cairn_bundle_checkpoint(&b, &st, root, m),
	                 CAIRN_EINVAL);
	assert_int_equal(b.ncheckpoints, 0);
	st.step = 0;
	assert_int_equal(cairn_bundle_checkpoint(&b, &st, root, m), 0);
	assert_int_equal(cairn_bundle_checkpoint(&b, &st, root, m),
	                 CAIRN_EINVAL);
	assert_int_equal(b.ncheckpoints, 1);
	assert_int_equal(cairn_bundle_checkpoint(NULL, &st, root, m),
	                 CAIRN_EINVAL);
	/* Incomplete: no finish. */
	assert_int_equal(cairn_bundle_finish(&b, &f->trace, &f->id, "ref"),
	                 CAIRN_EINVAL);
	cairn_bundle_free(&b);
	assert_true(bundle_zeroed(&b));
	cairn_bundle_free(&b);
	cairn_bundle_free(NULL);
	cairn_model_free(m);

	/* A complete run, then finish with the wrong things. */
	run_task(f, &b, &f->id);
	assert_int_equal(cairn_bundle_finish(&b, &f->trace, &f->id, ""),
	                 CAIRN_EINVAL);
	assert_int_equal(cairn_bundle_finish(&b, &f->trace, &f->id, "GPU"),
	                 CAIRN_EINVAL);
	assert_int_equal(
	    cairn_bundle_finish(&b, &f->trace, &f->id,
	                        "0123456789012345678901234567890x"),
	    CAIRN_EINVAL);
	saved = f->trace.state_roots[CAIRN_HASH_BYTES];
	f->trace.state_roots[CAIRN_HASH_BYTES] ^= 1;
	assert_int_equal(cairn_bundle_finish(&b, &f->trace, &f->id, "ref"),
	                 CAIRN_EMISMATCH);
	f->trace.state_roots[CAIRN_HASH_BYTES] = saved;
	f->trace.trace_root[0] ^= 1;
	assert_int_equal(cairn_bundle_finish(&b, &f->trace, &f->id, "ref"),
	                 CAIRN_EMISMATCH);
	f->trace.trace_root[0] ^= 1;
	/* A step log that is not the run's: its root, a record between
	 * checkpoints, and the record of a checkpoint's step with a
	 * matching root (it contradicts the state committed there). */
	f->trace.steps_root[3] ^= 1;
	assert_int_equal(cairn_bundle_finish(&b, &f->trace, &f->id, "ref"),
	                 CAIRN_EMISMATCH);
	f->trace.steps_root[3] ^= 1;
	f->trace.steps[5] ^= 1; /* step 1's samples digest */
	assert_int_equal(cairn_bundle_finish(&b, &f->trace, &f->id, "ref"),
	                 CAIRN_EMISMATCH);
	f->trace.steps[5] ^= 1;
	{
		uint8_t sroot[CAIRN_HASH_BYTES];
		uint8_t *rec = f->trace.steps +
		               (EVERY - 1) * CAIRN_STEP_RECORD_BYTES;
		memcpy(sroot, f->trace.steps_root, sizeof sroot);
		rec[CAIRN_HASH_BYTES] ^= 1; /* the loss of step c */
		assert_int_equal(cairn_step_log_root(f->trace.steps,
		                                     STEPS / EVERY, EVERY,
		                                     f->trace.steps_root),
		                 0);
		assert_int_equal(
		    cairn_bundle_finish(&b, &f->trace, &f->id, "ref"),
		    CAIRN_EMISMATCH);
		rec[CAIRN_HASH_BYTES] ^= 1;
		memcpy(f->trace.steps_root, sroot, sizeof sroot);
	}
	assert_null(b.steps);
	/* A torn identity (our public key, another secret key): finish
	 * checks its own signature. */
	assert_int_equal(cairn_identity_generate(&other), 0);
	memcpy(other.public_key, f->id.public_key, CAIRN_PUBLIC_KEY_BYTES);
	assert_int_equal(cairn_bundle_finish(&b, &f->trace, &other, "ref"),
	                 CAIRN_ECRYPTO);
	cairn_identity_wipe(&other);
	/* And finally right: the same bytes as the fixture's. */
	assert_int_equal(cairn_bundle_finish(&b, &f->trace, &f->id, "ref"), 0);
	assert_bundle_equal(&b, &f->good);
	cairn_bundle_free(&b);
}

/* ---- lazy reading -------------------------------------------------------- */

/* The offset in f's file of checkpoint i's tensor k (0 params, 1 m, 2 v):
 * found by its first bytes, which differ between checkpoints. */
static size_t tensor_offset(struct fx *f, uint32_t i, int k)
{
	const float *t[3] = {f->good.checkpoints[i].params,
	                     f->good.checkpoints[i].m,
	                     f->good.checkpoints[i].v};
	const size_t bytes = (size_t)f->nparams * sizeof(float);
	size_t from = 0;

	/* m and v are all zero at t = 0: find params, then step over it and
	 * the next field's tag and 3-byte length (50 920 bytes). */
	if (i == 0 && k > 0)
		return tensor_offset(f, 0, 0) + (size_t)k * (bytes + 4);
	for (uint32_t j = 0; j < i; j++)
		from = tensor_offset(f, j, 2) + bytes;
	for (size_t at = from; at + bytes <= f->len; at++)
		if (!memcmp(f->bytes + at, t[k], 256) &&
		    !memcmp(f->bytes + at, t[k], bytes))
			return at;
	fail_msg("tensor %d of checkpoint %u not found", k, i);
	return 0;
}

/* Reads path lazily (which must succeed) into b. */
static void read_lazy_ok(const char *path, struct cairn_bundle *b)
{
	char err[1024] = "";
	int rc = cairn_bundle_read_lazy(path, b, err, sizeof err);

	if (rc)
		print_message("lazy read %s: %s\n", path, err);
	assert_int_equal(rc, 0);
	assert_non_null(b->source);
}

/* A lazy read holds everything but the tensors; checking each checkpoint
 * (on the host) or loading it into a model (hashed on the model's
 * backend) gives the full reader's bundle, and the same bytes back. */
static void test_lazy_roundtrip(void **state)
{
	struct fx *f = *state;
	const size_t bytes = (size_t)f->nparams * sizeof(float);
	struct cairn_bundle b, full;
	struct cairn_state st;
	cairn_model *m = NULL;
	float *host = cairn_test_xmalloc(bytes);
	char err[1024] = "";
	uint8_t *again;
	size_t len;

	assert_int_equal(cairn_bundle_read(f->path, &full, err, sizeof err), 0);
	assert_null(full.source);
	read_lazy_ok(f->path, &b);
	assert_int_equal(b.nstates, full.nstates);
	assert_int_equal(b.ncheckpoints, full.ncheckpoints);
	assert_memory_equal(b.state_roots, full.state_roots,
	                    (size_t)b.nstates * CAIRN_HASH_BYTES);
	assert_state_equal(&b.final_state, &full.final_state);
	assert_memory_equal(b.signature, full.signature, CAIRN_SIGNATURE_BYTES);
	for (uint32_t i = 0; i < b.ncheckpoints; i++) {
		const struct cairn_state *a = &b.checkpoints[i].state;
		assert_null(b.checkpoints[i].params);
		assert_null(b.checkpoints[i].m);
		assert_null(b.checkpoints[i].v);
		assert_int_equal(a->step, full.checkpoints[i].state.step);
		assert_memory_equal(a->samples,
		                    full.checkpoints[i].state.samples,
		                    CAIRN_HASH_BYTES);
		assert_int_equal(a->loss_bits,
		                 full.checkpoints[i].state.loss_bits);
	}
	/* Not complete until every checkpoint is checked. */
	assert_int_equal(write_as_rc(f, &b, "lazy.cairn"), CAIRN_EINVAL);

	/* Into a model: the record and the tensors of the full read. */
	assert_int_equal(
	    cairn_model_create(f->be, &f->spec.model, BATCH, MICRO, &m), 0);
	for (uint32_t i = 0; i < b.ncheckpoints; i++) {
		assert_int_equal(cairn_bundle_load_checkpoint(&b, i, m, &st,
		                                              err, sizeof err),
		                 0);
		assert_state_equal(&st, &full.checkpoints[i].state);
		assert_int_equal(cairn_model_read(m, CAIRN_MODEL_PARAMS, host),
		                 0);
		assert_memory_equal(host, full.checkpoints[i].params, bytes);
		assert_int_equal(cairn_model_read(m, CAIRN_MODEL_V, host), 0);
		assert_memory_equal(host, full.checkpoints[i].v, bytes);
		assert_null(b.checkpoints[i].params); /* b is only read */
	}
	/* Into the bundle, on the host; again is a no-op. */
	for (uint32_t i = 0; i < b.ncheckpoints; i++) {
		assert_int_equal(
		    cairn_bundle_check_checkpoint(&b, i, err, sizeof err), 0);
		assert_int_equal(
		    cairn_bundle_check_checkpoint(&b, i, err, sizeof err), 0);
	}
	assert_bundle_equal(&b, &full);
	/* Held tensors load too. */
	assert_int_equal(
	    cairn_bundle_load_checkpoint(&b, 1, m, &st, err, sizeof err), 0);
	assert_state_equal(&st, &full.checkpoints[1].state);
	/* And it writes the same bytes. */
	assert_int_equal(write_as_rc(f, &b, "lazy.cairn"), 0);
	snprintf(err, sizeof err, "%s/lazy.cairn", f->dir);
	assert_int_equal(read_whole(err, &again, &len), 0);
	assert_int_equal(len, f->len);
	assert_memory_equal(again, f->bytes, len);
	free(again);
	unlink(err);

	/* Bad arguments. */
	assert_int_equal(
	    cairn_bundle_check_checkpoint(&b, b.ncheckpoints, err, sizeof err),
	    CAIRN_EINVAL);
	assert_int_equal(
	    cairn_bundle_check_checkpoint(NULL, 0, err, sizeof err),
	    CAIRN_EINVAL);
	assert_int_equal(
	    cairn_bundle_load_checkpoint(&b, 0, NULL, NULL, err, sizeof err),
	    CAIRN_EINVAL);
	/* A collected bundle holds its tensors: nothing to check. */
	assert_int_equal(
	    cairn_bundle_check_checkpoint(&f->good, 0, err, sizeof err), 0);
	cairn_bundle_free(&b);
	assert_true(bundle_zeroed(&b));
	cairn_bundle_free(&full);
	cairn_model_free(m);
	free(host);
}

/* A tampered tensor passes the lazy read; checking its checkpoint, on the
 * host or in a model, refuses it with the full reader's message, and the
 * other checkpoints still check. */
static void test_lazy_tampered(void **state)
{
	struct fx *f = *state;
	struct cairn_bundle b;
	cairn_model *m = NULL;
	char path[512], err[1024] = "", full_err[1024] = "";
	uint8_t *bytes = cairn_test_xmalloc(f->len);

	assert_int_equal(
	    cairn_model_create(f->be, &f->spec.model, BATCH, MICRO, &m), 0);
	snprintf(path, sizeof path, "%s/lazy-tampered.cairn", f->dir);
	for (uint32_t i = 0; i < f->good.ncheckpoints; i++) {
		for (int k = 0; k < 3; k++) {
			size_t at = tensor_offset(f, i, k) +
			            (size_t)(rnd(f) % ((size_t)f->nparams * 4));
			memcpy(bytes, f->bytes, f->len);
			bytes[at] ^= (uint8_t)(1u << (rnd(f) % 8));
			write_whole(path, bytes, f->len);
			/* The full reader refuses it. */
			assert_int_equal(cairn_bundle_read(path, &b, full_err,
			                                   sizeof full_err),
			                 CAIRN_ECRYPTO);
			read_lazy_ok(path, &b);
			for (uint32_t j = 0; j < b.ncheckpoints; j++) {
				int rc = cairn_bundle_check_checkpoint(
				    &b, j, err, sizeof err);
				if (j != i) {
					assert_int_equal(rc, 0);
					continue;
				}
				assert_int_equal(rc, CAIRN_ECRYPTO);
				assert_string_equal(err, full_err);
				assert_null(b.checkpoints[j].params);
				err[0] = '\0';
				assert_int_equal(
				    cairn_bundle_load_checkpoint(
				        &b, j, m, NULL, err, sizeof err),
				    CAIRN_ECRYPTO);
				assert_string_equal(err, full_err);
			}
			cairn_bundle_free(&b);
		}
	}
	print_message("lazy: a flip in each tensor of each checkpoint: read, "
	              "then refused when checked: %s\n",
	              full_err);
	assert_non_null(strstr(full_err, path));
	unlink(path);
	free(bytes);
	cairn_model_free(m);
}

/* The lazy reader refuses what the full reader refuses, but for a
 * checkpoint's record (tensors, samples, loss bits): truncation anywhere,
 * every bit flip in a tensor when its checkpoint is checked, and every
 * other flip either when read or when its checkpoint is checked. */
static void test_lazy_refuses(void **state)
{
	struct fx *f = *state;
	const size_t bytes = (size_t)f->nparams * sizeof(float);
	struct cairn_bundle b;
	char path[512], err[1024];
	size_t at;
	int fd, at_read = 0, at_check = 0;

	snprintf(path, sizeof path, "%s/lazy-spoiled.cairn", f->dir);
	write_whole(path, f->bytes, f->len);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	for (size_t i = 0; i < 768 + 500; i++) {
		int rc, in_tensor = 0;
		uint8_t byte;

		at = i < 768 ? i : (size_t)(rnd(f) % f->len);
		byte = f->bytes[at] ^ (uint8_t)(1u << (rnd(f) % 8));
		assert_int_equal(pwrite(fd, &byte, 1, (off_t)at), 1);
		for (uint32_t j = 0; j < f->good.ncheckpoints; j++)
			for (int k = 0; k < 3; k++) {
				size_t t = tensor_offset(f, j, k);
				in_tensor |= at >= t && at < t + bytes;
			}
		memset(&b, 0xa5, sizeof b);
		rc = cairn_bundle_read_lazy(path, &b, err, sizeof err);
		if (rc) {
			assert_false(in_tensor);
			assert_true(rc == CAIRN_EFORMAT ||
			            rc == CAIRN_ECRYPTO ||
			            rc == CAIRN_EMISMATCH);
			assert_non_null(strstr(err, path));
			assert_true(bundle_zeroed(&b));
			at_read++;
		} else {
			for (uint32_t j = 0; !rc && j < b.ncheckpoints; j++)
				rc = cairn_bundle_check_checkpoint(&b, j, err,
				                                   sizeof err);
			assert_int_equal(rc, CAIRN_ECRYPTO);
			cairn_bundle_free(&b);
			at_check++;
		}
		assert_int_equal(pwrite(fd, f->bytes + at, 1, (off_t)at), 1);
	}
	print_message("lazy bit flips: %d refused when read, %d when their "
	              "checkpoint was checked\n",
	              at_read, at_check);
	/* Truncation: refused when read, at every offset tried. */
	for (size_t i = 0; i < 512 + 100; i++) {
		at = i < 512 ? i : (size_t)(rnd(f) % f->len);
		assert_int_equal(ftruncate(fd, (off_t)at), 0);
		memset(&b, 0xa5, sizeof b);
		assert_int_equal(
		    cairn_bundle_read_lazy(path, &b, err, sizeof err),
		    CAIRN_EFORMAT);
		assert_true(bundle_zeroed(&b));
	}
	/* A file that shrinks or changes after the lazy read: the checkpoint
	 * read later is EIO, or refused by its hash. */
	assert_int_equal(ftruncate(fd, 0), 0);
	assert_int_equal(pwrite(fd, f->bytes, f->len, 0), (ssize_t)f->len);
	read_lazy_ok(path, &b);
	at = tensor_offset(f, 1, 2) + 8;
	byte_flip(fd, f->bytes[at], at);
	assert_int_equal(cairn_bundle_check_checkpoint(&b, 1, err, sizeof err),
	                 CAIRN_ECRYPTO);
	assert_int_equal(cairn_bundle_check_checkpoint(&b, 0, err, sizeof err),
	                 0);
	/* (cut inside checkpoint 1's v: the step log after it goes too) */
	assert_int_equal(ftruncate(fd, (off_t)(at + 8)), 0);
	assert_int_equal(cairn_bundle_check_checkpoint(&b, 1, err, sizeof err),
	                 CAIRN_EIO);
	assert_non_null(strstr(err, "shrank"));
	assert_null(b.checkpoints[1].params);
	cairn_bundle_free(&b);
	close(fd);
	unlink(path);
}

/* Which check refused a bundle (cairn_bundle_read_ex), lazily or not; and
 * the lazy reader's start check, on the committed root alone. */
static void test_refusal(void **state)
{
	struct fx *f = *state;
	struct cairn_bundle c = f->good, b;
	struct cairn_bundle_checkpoint cps[2];
	struct cairn_bundle_refusal why;
	struct cairn_bundle_read_opts lazy = {.lazy = 1};
	const size_t bytes = (size_t)f->nparams * sizeof(float);
	float *m = cairn_test_xmalloc(bytes);
	uint8_t *roots =
	    cairn_test_xmalloc((size_t)c.nstates * CAIRN_HASH_BYTES);
	uint8_t id[CAIRN_HASH_BYTES];
	char err[1024];
	const char *p;

	/* Accepted: nothing refused. */
	assert_int_equal(
	    cairn_bundle_read_ex(f->path, NULL, &b, &why, err, sizeof err), 0);
	assert_int_equal(why.step, 0);
	assert_int_equal(why.checkpoint, UINT32_MAX);
	cairn_bundle_free(&b);
	/* Work: step 15, for both readers, with the spec and its task id. */
	c.result.flops *= 2;
	assert_int_equal(cairn_task_result_sign(&f->id, &c.result, c.signature),
	                 0);
	p = write_as(f, &c, "why-flops.cairn");
	for (int l = 0; l < 2; l++) {
		assert_int_equal(cairn_bundle_read_ex(p, l ? &lazy : NULL, &b,
		                                      &why, err, sizeof err),
		                 CAIRN_EMISMATCH);
		assert_int_equal(why.step, 15);
		assert_int_equal(why.checkpoint, UINT32_MAX);
		assert_int_equal(cairn_task_id(&f->spec, id), 0);
		assert_memory_equal(why.task_id, id, CAIRN_HASH_BYTES);
		assert_int_equal(why.result.flops, c.result.flops);
		assert_true(bundle_zeroed(&b));
	}
	/* A checkpoint whose tensors are not its entry: step 27 at read,
	 * checkpoint 1; the lazy reader accepts it. */
	c = f->good;
	memcpy(cps, f->good.checkpoints, sizeof cps);
	memcpy(m, cps[1].v, bytes);
	m[2] = nextafterf(m[2], 1.0f);
	cps[1].v = m;
	c.checkpoints = cps;
	p = write_as(f, &c, "why-tensor.cairn");
	assert_int_equal(
	    cairn_bundle_read_ex(p, NULL, &b, &why, err, sizeof err),
	    CAIRN_ECRYPTO);
	assert_int_equal(why.step, 27);
	assert_int_equal(why.checkpoint, 1);
	assert_int_equal(
	    cairn_bundle_read_ex(p, &lazy, &b, &why, err, sizeof err), 0);
	assert_int_equal(why.step, 0);
	cairn_bundle_free(&b);
	/* A changed loss at checkpoint 1 contradicts the step log: step 26
	 * for both readers. */
	c = f->good;
	memcpy(cps, f->good.checkpoints, sizeof cps);
	cps[1].state.loss_bits ^= 1;
	c.checkpoints = cps;
	p = write_as(f, &c, "why-loss.cairn");
	for (int l = 0; l < 2; l++) {
		assert_int_equal(cairn_bundle_read_ex(p, l ? &lazy : NULL, &b,
		                                      &why, err, sizeof err),
		                 CAIRN_ECRYPTO);
		assert_int_equal(why.step, 26);
		assert_int_equal(why.checkpoint, 1);
		assert_non_null(strstr(err, "step log"));
	}
	/* A start with a non-zero moment, consistently hashed and signed:
	 * step 28 for both; the lazy reader decides on state root 0. */
	c = f->good;
	memcpy(cps, f->good.checkpoints, sizeof cps);
	memcpy(m, cps[0].m, bytes);
	m[3] = -0.0f; /* one sign bit: not +0 */
	start_with_moment(f, &c, cps, m, roots);
	p = write_as(f, &c, "why-start.cairn");
	for (int l = 0; l < 2; l++) {
		assert_int_equal(cairn_bundle_read_ex(p, l ? &lazy : NULL, &b,
		                                      &why, err, sizeof err),
		                 CAIRN_EMISMATCH);
		assert_int_equal(why.step, 28);
		assert_int_equal(why.checkpoint, 0);
		assert_non_null(strstr(err, "t = 0"));
		assert_non_null(strstr(err, p));
	}
	/* A size limit through the options; the decoder reports too. */
	lazy.max_bytes = f->len - 1;
	assert_int_equal(
	    cairn_bundle_read_ex(f->path, &lazy, &b, &why, err, sizeof err),
	    CAIRN_ERANGE);
	assert_int_equal(why.step, 0);
	assert_int_equal(cairn_bundle_decode_ex(f->bytes, f->len, NULL, &b,
	                                        &why, err, sizeof err),
	                 0);
	cairn_bundle_free(&b);
	free(m);
	free(roots);
}

/* ---- the step log ----------------------------------------------------- */

/* c: the good bundle with its step log replaced by steps (owned by the
 * caller), its steps root made again and re-signed when resign. */
static void with_steps(struct fx *f, struct cairn_bundle *c, uint8_t *steps,
                       int resign)
{
	*c = f->good;
	c->steps = steps;
	if (!resign)
		return;
	assert_int_equal(cairn_step_log_root(steps, STEPS / EVERY, EVERY,
	                                     c->result.steps_root),
	                 0);
	assert_int_equal(cairn_task_result_sign(&f->id, &c->result, c->signature),
	                 0);
}

static void test_step_log(void **state)
{
	struct fx *f = *state;
	const size_t n = STEPS * CAIRN_STEP_RECORD_BYTES;
	struct cairn_bundle c, b;
	struct cairn_bundle_refusal why;
	struct cairn_bundle_read_opts lazy = {.lazy = 1};
	uint8_t *steps = cairn_test_xmalloc(n), *buf;
	char err[1024];
	const char *p;
	size_t at;

	/* The file ends with the step log: field 8, its length (2 bytes),
	 * the records, as collected. */
	assert_memory_equal(f->bytes + f->len - n, f->good.steps, n);
	for (uint32_t t = 1; t <= STEPS; t++)
		assert_memory_equal(f->good.steps +
		                        (t - 1) * CAIRN_STEP_RECORD_BYTES +
		                        CAIRN_HASH_BYTES,
		                    &f->losses[t - 1], 4);

	/* Every byte of the log is covered: a flip without a new signature
	 * is step 22 (check commitment), for both readers. */
	for (size_t k = 0; k < n; k += 7) {
		memcpy(steps, f->good.steps, n);
		steps[k] ^= 0x10;
		with_steps(f, &c, steps, 0);
		p = write_as(f, &c, "steps-flip.cairn");
		for (int l = 0; l < 2; l++) {
			assert_int_equal(
			    cairn_bundle_read_ex(p, l ? &lazy : NULL, &b, &why,
			                         err, sizeof err),
			    CAIRN_ECRYPTO);
			assert_int_equal(why.step, 22);
			assert_non_null(strstr(err, "step log"));
		}
	}
	/* Re-signed: the record of step H must be the final state's (23);
	 * the record of a checkpoint's step its own (26). */
	memcpy(steps, f->good.steps, n);
	steps[(STEPS - 1) * CAIRN_STEP_RECORD_BYTES] ^= 1;
	with_steps(f, &c, steps, 1);
	p = write_as(f, &c, "steps-final.cairn");
	assert_int_equal(cairn_bundle_read_ex(p, NULL, &b, &why, err, sizeof err),
	                 CAIRN_ECRYPTO);
	assert_int_equal(why.step, 23);
	memcpy(steps, f->good.steps, n);
	steps[(EVERY - 1) * CAIRN_STEP_RECORD_BYTES + CAIRN_HASH_BYTES] ^= 1;
	with_steps(f, &c, steps, 1);
	p = write_as(f, &c, "steps-cp.cairn");
	assert_int_equal(cairn_bundle_read_ex(p, &lazy, &b, &why, err, sizeof err),
	                 CAIRN_ECRYPTO);
	assert_int_equal(why.step, 26);
	assert_int_equal(why.checkpoint, 1);
	/* A false record between checkpoints, re-signed, reads: only a
	 * replay can see it (test_audit). */
	memcpy(steps, f->good.steps, n);
	steps[CAIRN_HASH_BYTES] ^= 1; /* the loss of step 1 */
	with_steps(f, &c, steps, 1);
	p = write_as(f, &c, "steps-inner.cairn");
	assert_int_equal(cairn_bundle_read(p, &b, err, sizeof err), 0);
	assert_memory_equal(b.steps, steps, n);
	cairn_bundle_free(&b);

	/* A log one byte short: EFORMAT, naming the lengths. */
	buf = cairn_test_xmalloc(f->len);
	memcpy(buf, f->bytes, f->len);
	at = f->len - n - 2; /* the length varint: n = 144 is 0x90 0x01 */
	assert_int_equal(buf[at], (uint8_t)(0x80 | (n & 0x7f)));
	assert_int_equal(buf[at + 1], (uint8_t)(n >> 7));
	buf[at] = (uint8_t)(0x80 | ((n - 1) & 0x7f));
	p = "steps-short.cairn";
	{
		char path[512];
		snprintf(path, sizeof path, "%s/%s", f->dir, p);
		write_whole(path, buf, f->len - 1);
		expect_refused(path, CAIRN_EFORMAT, "step log is 143 bytes");
		/* Format 1 (before the step log): named as such. */
		memcpy(buf, f->bytes, f->len);
		assert_int_equal(buf[0], 0x08); /* field 1, varint */
		assert_int_equal(buf[1], CAIRN_BUNDLE_FORMAT);
		buf[1] = 1;
		write_whole(path, buf, f->len);
		expect_refused(path, CAIRN_EFORMAT, "format 1 bundles");
	}
	/* No step log at all: cairn_bundle_write refuses. */
	c = f->good;
	c.steps = NULL;
	assert_int_equal(write_as_rc(f, &c, "no-steps.cairn"), CAIRN_EINVAL);
	free(buf);
	free(steps);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_spool),
	    cmocka_unit_test(test_write_refuses),
	    cmocka_unit_test(test_truncated),
	    cmocka_unit_test(test_bit_flips),
	    cmocka_unit_test(test_oversized),
	    cmocka_unit_test(test_not_a_bundle),
	    cmocka_unit_test(test_other_signer),
	    cmocka_unit_test(test_other_task),
	    cmocka_unit_test(test_checkpoint_order),
	    cmocka_unit_test(test_false_claims),
	    cmocka_unit_test(test_collect),
	    cmocka_unit_test(test_lazy_roundtrip),
	    cmocka_unit_test(test_lazy_tampered),
	    cmocka_unit_test(test_lazy_refuses),
	    cmocka_unit_test(test_refusal),
	    cmocka_unit_test(test_step_log),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
