/* cairn tests: the bundle tests' fixture, shared by test_bundle.c
 * (the round trip, writing and collecting), test_bundle_walk.c (spoiled
 * bytes), test_bundle_check.c (signed claims the checks refuse, and which
 * check refused) and test_bundle_read.c (the lazy reader).
 *
 * It runs a real task: a 784-16-10 ReLU MLP on the ref backend, a
 * synthetic in-memory dataset of 64 samples, batch 8 in 2 micro-batches,
 * H = 4 inner steps with a checkpoint every c = 2, collected with
 * cairn_bundle_checkpoint and signed with a fresh key, and writes the
 * bundle to a temporary directory (f->path; its bytes in f->bytes).  The
 * helpers compare bundles field by field, read a spoiled file that must
 * be refused, and write a changed bundle under a new name.
 *
 * Random data each run (seed printed under the program's name;
 * CAIRN_TEST_SEED=0x... replays). */
#ifndef CAIRN_BUNDLE_FIXTURE_H
#define CAIRN_BUNDLE_FIXTURE_H

/* Include after <cmocka.h>: the helpers below fail the running test. */

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

static inline uint64_t rnd(struct fx *f)
{
	return cairn_test_splitmix64(&f->rng);
}

/* Runs f->spec from f->w_r into b (begun here), signed by id. */
static inline void run_task(struct fx *f, struct cairn_bundle *b,
                            const struct cairn_identity *id)
{
	cairn_test_task_bundle(f->be, &f->spec, &f->ds, f->w_r, &f->trace, id,
	                       b);
}

/* The bytes of path into *out (caller frees) and *len: 0, or -1 with
 * *out NULL and *len 0. */
static inline int read_whole(const char *path, uint8_t **out, size_t *len)
{
	struct stat st;
	int fd = open(path, O_RDONLY);
	*out = NULL;
	*len = 0;
	if (fd < 0 || fstat(fd, &st)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*len = (size_t)st.st_size;
	*out = cairn_test_xmalloc(*len);
	if (read(fd, *out, *len) != (ssize_t)*len) {
		close(fd);
		free(*out);
		*out = NULL;
		*len = 0;
		return -1;
	}
	close(fd);
	return 0;
}

static inline void write_whole(const char *path, const void *p, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

/* The fixture, for cmocka_run_group_tests: the run's seed printed as
 * prog's, the dataset, spec, W_r, the key, the good bundle collected
 * and signed (f->good), written to f->path and read into f->bytes. */
static inline int bundle_fx_setup(void **state, const char *prog)
{
	struct fx *f = calloc(1, sizeof *f);
	char name[CAIRN_BUNDLE_FILENAME_BYTES], err[512] = "";
	uint32_t n;

	if (!f)
		return -1;
	f->rng = cairn_test_seed(prog);
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

/* Frees what bundle_fx_setup made and removes its directory. */
static inline int bundle_fx_teardown(void **state)
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
static inline int bundle_zeroed(const struct cairn_bundle *b)
{
	static const struct cairn_bundle zero;
	return memcmp(b, &zero, sizeof zero) == 0;
}

static inline void assert_state_equal(const struct cairn_state *a,
                                      const struct cairn_state *b)
{
	uint8_t ea[CAIRN_STATE_BYTES], eb[CAIRN_STATE_BYTES];
	assert_int_equal(cairn_state_encode(a, ea), 0);
	assert_int_equal(cairn_state_encode(b, eb), 0);
	assert_memory_equal(ea, eb, CAIRN_STATE_BYTES);
}

static inline void assert_bundle_equal(const struct cairn_bundle *a,
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
static inline int expect_refused(const char *path, int want, const char *needle)
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
static inline const char *write_as(struct fx *f, const struct cairn_bundle *b,
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
static inline int write_as_rc(struct fx *f, const struct cairn_bundle *b,
                              const char *name)
{
	char path[512], err[512] = "";

	snprintf(path, sizeof path, "%s/%s", f->dir, name);
	unlink(path);
	return cairn_bundle_write(b, path, err, sizeof err);
}

#endif
