/* cairn tests: the auditor's fixture, shared by test_audit.c,
 * test_audit_read.c, test_audit_verdicts.c, test_audit_cli.c and
 * test_audit_sgd.c.
 *
 * It runs real tasks: a 784-16-10 ReLU MLP, a synthetic in-memory dataset
 * of 64 samples, batch 8 in 2 micro-batches, H = 8 inner steps with a
 * checkpoint every c = 2 (4 segments), collected with
 * cairn_bundle_checkpoint and signed with a fresh key.  Every bundle an
 * audit sees has been written and read back, so a cheat that the replay
 * must catch passes every structural check first.  The helpers make and
 * copy bundles, re-sign a cheater's claims, and audit with every segment
 * or with a nonce that draws a chosen one.
 *
 * Random data each run (seed printed under the program's name;
 * CAIRN_TEST_SEED=0x... replays). */
#ifndef CAIRN_AUDIT_FIXTURE_H
#define CAIRN_AUDIT_FIXTURE_H

/* Include after <cmocka.h>: the helpers below fail the running test. */

#include <dirent.h>
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
#include "cairn/audit.h"
#include "cairn/bundle.h"
#include "cairn/identity.h"
#include "cairn/kernels.h"
#include "cairn/model.h"
#include "cairn/task.h"

#define STEPS 8
#define EVERY 2
#define NSEG (STEPS / EVERY)

struct fx {
	uint64_t rng;
	cairn_backend *ref, *cpu;
	cairn_dataset ds; /* our own buffers: never cairn_dataset_close */
	uint8_t *images, *labels;
	uint8_t droot[CAIRN_HASH_BYTES];
	struct cairn_task_spec spec;
	float *w_r;
	struct cairn_identity id;  /* the worker */
	struct cairn_identity aud; /* the auditor */
	struct cairn_bundle good;  /* honest, from cpu, read back */
	char dir[64];
	int nfiles;
	struct cairn_audit_verdict v;
	char err[1024];
};

/* The next value of the run's generator. */
static inline uint64_t rnd(struct fx *f)
{
	return cairn_test_splitmix64(&f->rng);
}

/* A cpu backend with threads threads, unpinned; the caller closes it. */
static inline cairn_backend *open_cpu(int threads)
{
	cairn_backend_opts o;
	cairn_backend *be = NULL;
	memset(&o, 0, sizeof o);
	o.threads = threads;
	o.no_pin = 1; /* the test machine is shared */
	assert_int_equal(cairn_backend_open(CAIRN_BACKEND_CPU, &o, &be), 0);
	return be;
}

/* Runs spec (the honest W_r) on be into a new bundle b, signed by id. */
static inline void run_bundle(struct fx *f, cairn_backend *be,
                              const struct cairn_task_spec *spec,
                              struct cairn_bundle *b)
{
	uint8_t roots[(NSEG + 1) * CAIRN_HASH_BYTES];
	uint8_t steps[STEPS * CAIRN_STEP_RECORD_BYTES];
	float losses[STEPS];
	struct cairn_task_trace tr = {
	    .state_roots = roots, .losses = losses, .steps = steps};

	cairn_test_task_bundle(be, spec, &f->ds, f->w_r, &tr, &f->id, b);
}

/* Writes b to a new file and reads it back into *out with every check of
 * cairn_bundle_read (which must pass); frees b.  Returns the path in
 * path (optional). */
static inline void reread(struct fx *f, struct cairn_bundle *b,
                          struct cairn_bundle *out, char *path, size_t pathlen)
{
	char p[256], err[1024] = "";
	int rc;

	snprintf(p, sizeof p, "%s/b%d.cairn", f->dir, f->nfiles++);
	assert_int_equal(cairn_bundle_write(b, p, err, sizeof err), 0);
	cairn_bundle_free(b);
	rc = cairn_bundle_read(p, out, err, sizeof err);
	if (rc)
		print_message("cairn_bundle_read: %s\n", err);
	assert_int_equal(rc, 0);
	if (path)
		snprintf(path, pathlen, "%s", p);
}

/* The cheater's signature over his own claims: every state root from the
 * records, the trace root, the final parameters root, a step log that
 * agrees with every committed state (each checkpoint's samples and loss
 * as the record of its step: a log that did not would be rejected when
 * read, check commitment), its steps root, the task id of the spec in the
 * bundle, signed with the worker's key. */
static inline void cheat_resign(struct fx *f, struct cairn_bundle *b)
{
	for (uint32_t k = 1; k < b->nstates; k++) {
		const struct cairn_state *st = k + 1 < b->nstates
		                                   ? &b->checkpoints[k].state
		                                   : &b->final_state;
		assert_int_equal(
		    cairn_step_record(st->samples, st->loss_bits,
		                      b->steps + (size_t)(st->step - 1) *
		                                     CAIRN_STEP_RECORD_BYTES),
		    0);
	}
	assert_int_equal(cairn_step_log_root(b->steps, b->nstates - 1,
	                                     b->spec.checkpoint_every,
	                                     b->result.steps_root),
	                 0);
	for (uint32_t k = 0; k + 1 < b->nstates; k++)
		assert_int_equal(
		    cairn_state_root(&b->checkpoints[k].state,
		                     b->state_roots + k * CAIRN_HASH_BYTES),
		    0);
	assert_int_equal(
	    cairn_state_root(&b->final_state,
	                     b->state_roots +
	                         (b->nstates - 1) * CAIRN_HASH_BYTES),
	    0);
	assert_int_equal(
	    cairn_trace_root(b->state_roots, b->nstates, b->result.trace_root),
	    0);
	memcpy(b->result.final_params_root, b->final_state.params,
	       CAIRN_HASH_BYTES);
	assert_int_equal(cairn_task_id(&b->spec, b->result.task_id), 0);
	assert_int_equal(
	    cairn_task_result_sign(&f->id, &b->result, b->signature), 0);
}

/* A deep copy of the good bundle (through its file). */
static inline void copy_good(struct fx *f, struct cairn_bundle *out)
{
	struct cairn_bundle tmp;
	size_t bytes = (size_t)f->good.param_count * sizeof(float);

	memset(&tmp, 0, sizeof tmp);
	assert_int_equal(cairn_bundle_begin(&tmp, &f->good.spec), 0);
	tmp.result = f->good.result;
	memcpy(tmp.signature, f->good.signature, sizeof tmp.signature);
	memcpy(tmp.state_roots, f->good.state_roots,
	       (size_t)f->good.nstates * CAIRN_HASH_BYTES);
	tmp.final_state = f->good.final_state;
	tmp.param_count = f->good.param_count;
	for (uint32_t k = 0; k < f->good.ncheckpoints; k++) {
		struct cairn_bundle_checkpoint *d = &tmp.checkpoints[k];
		const struct cairn_bundle_checkpoint *s =
		    &f->good.checkpoints[k];
		d->state = s->state;
		d->params = cairn_test_xmalloc(bytes);
		d->m = cairn_test_xmalloc(bytes);
		d->v = cairn_test_xmalloc(bytes);
		memcpy(d->params, s->params, bytes);
		memcpy(d->m, s->m, bytes);
		memcpy(d->v, s->v, bytes);
	}
	tmp.ncheckpoints = f->good.ncheckpoints;
	tmp.steps = cairn_test_xmalloc(STEPS * CAIRN_STEP_RECORD_BYTES);
	memcpy(tmp.steps, f->good.steps, STEPS * CAIRN_STEP_RECORD_BYTES);
	*out = tmp;
}

/* The fixture, for cmocka_run_group_tests: the run's seed printed as
 * prog's, the dataset, spec, W_r, the two keys, a temporary directory
 * and the honest bundle from cpu, read back (f->good). */
static inline int audit_fx_setup(void **state, const char *prog)
{
	struct fx *f = calloc(1, sizeof *f);
	struct cairn_bundle b;
	int64_t np;

	if (!f)
		return -1;
	f->rng = cairn_test_seed(prog);
	if (cairn_backend_open(CAIRN_BACKEND_REF, NULL, &f->ref))
		return -1;
	f->cpu = open_cpu(2);
	if (cairn_test_task_dataset(&f->rng, &f->images, &f->labels, &f->ds,
	                            f->droot))
		return -1;
	cairn_test_task_spec(&f->spec, "test-audit", f->rng, f->droot, STEPS,
	                     EVERY);
	f->spec.round = 2;
	f->spec.task = 0;
	f->spec.tasks = 2;
	if (cairn_test_task_w_r(f->cpu, &f->spec, &f->w_r, &np))
		return -1;
	if (cairn_identity_generate(&f->id) || cairn_identity_generate(&f->aud))
		return -1;
	snprintf(f->dir, sizeof f->dir, "/tmp/cairn-test-audit-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	*state = f;
	run_bundle(f, f->cpu, &f->spec, &b);
	reread(f, &b, &f->good, NULL, 0);
	return 0;
}

/* Removes dir and everything under it. */
static inline void rm_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[512];
	struct stat st;

	while (d && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		/* A path that would not fit is left alone, never cut short
		 * into another name (the fixture's names are short). */
		if (snprintf(p, sizeof p, "%s/%s", dir, e->d_name) >=
		    (int)sizeof p)
			continue;
		if (!lstat(p, &st) && S_ISDIR(st.st_mode))
			rm_tree(p);
		else
			unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

/* Frees what audit_fx_setup made and removes its directory. */
static inline int audit_fx_teardown(void **state)
{
	struct fx *f = *state;

	if (!f)
		return 0;
	rm_tree(f->dir);
	cairn_bundle_free(&f->good);
	cairn_identity_wipe(&f->id);
	cairn_identity_wipe(&f->aud);
	cairn_backend_close(f->ref);
	cairn_backend_close(f->cpu);
	free(f->w_r);
	free(f->images);
	free(f->labels);
	free(f);
	return 0;
}

/* Audits b on be with every segment drawn under a random nonce. */
static inline int audit_all(struct fx *f, cairn_backend *be,
                            const struct cairn_bundle *b, const uint8_t *droot)
{
	uint8_t nonce[CAIRN_HASH_BYTES];
	for (size_t i = 0; i < sizeof nonce; i++)
		nonce[i] = (uint8_t)rnd(f);
	f->err[0] = '\0';
	return cairn_audit_bundle(be, b, &f->ds, droot ? droot : f->droot,
	                          nonce, NSEG, &f->v, f->err, sizeof f->err);
}

/* A nonce whose single draw from root is segment want (or, with
 * want_not, any segment but want). */
static inline void nonce_drawing(const uint8_t *root, uint32_t want,
                                 int want_not, uint8_t nonce[CAIRN_HASH_BYTES])
{
	uint32_t seg = 0;

	memset(nonce, 0, CAIRN_HASH_BYTES);
	for (int i = 0; i < 256; i++) {
		nonce[0] = (uint8_t)i;
		assert_int_equal(
		    cairn_audit_challenge(root, nonce, NSEG, 1, &seg), 0);
		if ((seg == want) != want_not)
			return;
	}
	fail_msg("no nonce draws %s segment %u", want_not ? "other than" : "",
	         want);
}

/* Audits b on be with S = 1 and a nonce that draws segment seg (or, with
 * not, any other): f->v and f->err hold the verdict. */
static inline void audit_drawn(struct fx *f, cairn_backend *be,
                               const struct cairn_bundle *b, uint32_t seg,
                               int not )
{
	uint8_t nonce[CAIRN_HASH_BYTES];

	nonce_drawing(b->result.trace_root, seg, not, nonce);
	assert_int_equal(cairn_audit_bundle(be, b, &f->ds, f->droot, nonce, 1,
	                                    &f->v, f->err, sizeof f->err),
	                 0);
}

/* Audits the cheat c (read back first) on cpu; it must be rejected by
 * check with diff including must and excluding mustnot. */
static inline void expect_rejected(struct fx *f, struct cairn_bundle *c,
                                   const char *what, int check, uint32_t must,
                                   uint32_t mustnot)
{
	struct cairn_bundle r;
	char names[64];

	reread(f, c, &r, NULL, 0);
	assert_int_equal(audit_all(f, f->cpu, &r, NULL), 0);
	cairn_audit_diff_names(f->v.diff, names, sizeof names);
	print_message("%-22s -> %s check '%s', segment %" PRId32
	              ", differs %s\n    %s\n",
	              what, f->v.accepted ? "ACCEPTED" : "REJECTED",
	              cairn_audit_check_name((int)f->v.check),
	              (int32_t)f->v.segment, names, f->err);
	assert_int_equal(f->v.accepted, 0);
	assert_int_equal(f->v.check, check);
	assert_true((f->v.diff & must) == must);
	assert_int_equal(f->v.diff & mustnot, 0);
	assert_true(f->v.segment < NSEG);
	assert_int_equal(f->v.step_first, f->v.segment * EVERY + 1);
	assert_int_equal(f->v.step_last, (f->v.segment + 1) * EVERY);
	assert_non_null(strstr(f->err, "replay"));
	/* The narrowing: a step inside the segment and what differs there;
	 * at the segment's last step with nothing in the records, it is the
	 * end state's difference. */
	assert_true(f->v.diff_step >= f->v.step_first &&
	            f->v.diff_step <= f->v.step_last);
	assert_int_not_equal(f->v.diff_what, 0);
	if (!(f->v.diff_what &
	      (CAIRN_AUDIT_DIFF_SAMPLES | CAIRN_AUDIT_DIFF_LOSS)))
		assert_int_equal(f->v.diff_step, f->v.step_last);
	{
		char at[48];
		snprintf(at, sizeof at, "first difference at step %" PRIu32,
		         f->v.diff_step);
		assert_non_null(strstr(f->err, at));
	}
	cairn_bundle_free(&r);
}

/* Runs a spec that differs from the honest one by change, then claims the
 * honest spec and re-signs. */
static inline void cheat_other_spec(struct fx *f,
                                    const struct cairn_task_spec *run,
                                    struct cairn_bundle *c)
{
	run_bundle(f, f->cpu, run, c);
	c->spec = f->spec;
	cheat_resign(f, c);
}

#endif
