/* cairn: signed result bundles (include/cairn/bundle.h,
 * docs/bundle-format.md): the round trip, writing and collecting
 * (attest/bundle.c).
 *
 * The fixture (bundle_fixture.h) runs a real task and writes its bundle.
 * The bundle as collected is the run; written, read back (from the file
 * and from memory) and compared field by field it is the same, and the
 * same task run again gives the same bytes.  Checkpoints spooled to an
 * unlinked file give the same file as those kept in memory; a write over
 * an existing file, into no directory or of an incomplete bundle is
 * refused and leaves nothing behind; collecting refuses checkpoints out
 * of order and a finish with a trace, step log or identity that is not
 * the run's.  The spoiled files are test_bundle_walk.c's, the refused
 * claims test_bundle_check.c's, the lazy reader test_bundle_read.c's.
 *
 * Random data each run (seed printed; CAIRN_TEST_SEED=0x... replays). */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <cmocka.h>

#include "bundle_fixture.h"

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
		uint64_t total =
		    (uint64_t)(b.nstates - 1) * 3 * (uint64_t)b.param_count * 4;
		int rc;
		assert_true(total > 2);
		assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
		small = old;
		small.rlim_cur = (rlim_t)(total / 2);
		assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
		rc = cairn_bundle_spool(&b, f->dir, 0, err, sizeof err);
		assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
		signal(SIGXFSZ, prev);
		assert_int_equal(rc, CAIRN_EIO);
		assert_non_null(strstr(err, f->dir));
		assert_null(b.spool);
		assert_int_equal(count_fds(), fds);
	}
	assert_int_equal(cairn_bundle_spool(&b, "/nonexistent-cairn-dir", 0,
	                                    err, sizeof err),
	                 CAIRN_EIO);
	assert_non_null(strstr(err, "/nonexistent-cairn-dir"));
	assert_null(b.spool);
	assert_int_equal(cairn_bundle_spool(&b, f->dir, 0, err, sizeof err), 0);
	assert_non_null(b.spool);
	assert_int_equal(cairn_bundle_spool(&b, f->dir, 0, err, sizeof err),
	                 CAIRN_EINVAL);
	assert_int_equal(cairn_bundle_spool(NULL, f->dir, 0, err, sizeof err),
	                 CAIRN_EINVAL);
	assert_int_equal(
	    cairn_model_create(f->be, &f->spec.model, BATCH, MICRO, &m), 0);
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
	assert_int_equal(cairn_bundle_spool(&b, f->dir, 0, err, sizeof err),
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
		uint8_t *rec =
		    f->trace.steps + (EVERY - 1) * CAIRN_STEP_RECORD_BYTES;
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

/* The fixture (bundle_fixture.h), its seed printed under this program's
 * name. */
static int setup(void **state)
{
	return bundle_fx_setup(state, "test_bundle");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_spool),
	    cmocka_unit_test(test_write_refuses),
	    cmocka_unit_test(test_collect),
	};
	return cmocka_run_group_tests(tests, setup, bundle_fx_teardown);
}
