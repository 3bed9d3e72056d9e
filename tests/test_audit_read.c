/* cairn: the auditor's reading of bundles (include/cairn/audit.h).
 *
 * The fixture (audit_fixture.h) runs real tasks and reads every bundle
 * back before an audit sees it.
 *
 *   (a) cheats caught when the bundle is read (cairn_audit_read, and
 *       cairn_audit_decode from memory), each rejected with the check
 *       that names it, the rejection signed: a signature by another
 *       key, a valid result replayed for another task, a false work
 *       claim, state roots that are not the signed trace, a checkpoint
 *       that is not its trace entry, a start that is not W_r; and the
 *       one that is accepted by design (a copy re-signed by its copier);
 *   (b) lazy reading (cairn_audit_read_lazy): honest bundles accepted; a
 *       checkpoint that is not its trace entry rejected with check
 *       reveal when it is drawn (and accepted when it is not); the
 *       read-time rejections and the replay verdicts the same as those
 *       of a full read.
 *
 * Random data each run (seed printed; CAIRN_TEST_SEED=0x... replays). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "audit_fixture.h"

/* ---- (a) cheats caught when the bundle is read ------------------------- */

/* Writes the cheat c (freed) and reads it with cairn_audit_read, and
 * its bytes with cairn_audit_decode: both must reject it with check,
 * naming the task of c's spec and, for a reveal, segment seg; the
 * rejection is signed and verifies.  Returns the path in path. */
static void expect_read_rejected(struct fx *f, struct cairn_bundle *c,
                                 const char *what, int check, uint32_t seg,
                                 char *path, size_t pathlen)
{
	struct cairn_audit_verdict *d = cairn_test_xmalloc(sizeof *d);
	struct cairn_bundle r;
	uint8_t id[CAIRN_HASH_BYTES], *buf;
	char p[256], want[64], err[1024];
	long len;
	int rejected = 0;
	FILE *fp;

	assert_int_equal(cairn_task_id(&c->spec, id), 0);
	snprintf(p, sizeof p, "%s/b%d.cairn", f->dir, f->nfiles++);
	assert_int_equal(cairn_bundle_write(c, p, err, sizeof err), 0);
	cairn_bundle_free(c);
	assert_int_equal(
	    cairn_audit_read(p, &r, &f->v, &rejected, f->err, sizeof f->err),
	    0);
	print_message("%-22s -> %s check '%s' when read\n    %s\n", what,
	              rejected ? "REJECTED" : "read",
	              cairn_audit_check_name((int)f->v.check), f->err);
	assert_int_equal(rejected, 1);
	assert_int_equal(r.nstates, 0); /* nothing handed over */
	assert_int_equal(f->v.accepted, 0);
	assert_int_equal(f->v.check, check);
	assert_int_equal(f->v.segment, seg);
	if (seg != CAIRN_AUDIT_NO_SEGMENT) {
		assert_int_equal(f->v.step_first, seg * EVERY + 1);
		assert_int_equal(f->v.step_last, (seg + 1) * EVERY);
	}
	assert_int_equal(f->v.nsegments, 0);
	assert_memory_equal(f->v.task_id, id, CAIRN_HASH_BYTES);
	snprintf(want, sizeof want,
	         "check %s: ", cairn_audit_check_name(check));
	assert_true(!strncmp(f->err, want, strlen(want)));
	/* The same from the bytes in memory. */
	assert_non_null(fp = fopen(p, "rb"));
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	len = ftell(fp);
	rewind(fp);
	buf = cairn_test_xmalloc((size_t)len);
	assert_int_equal(fread(buf, 1, (size_t)len, fp), (size_t)len);
	fclose(fp);
	rejected = 0;
	assert_int_equal(cairn_audit_decode(buf, (size_t)len, NULL, &r, d,
	                                    &rejected, err, sizeof err),
	                 0);
	assert_int_equal(rejected, 1);
	assert_memory_equal(d, &f->v, sizeof *d);
	/* A rejection at read is signed like any verdict. */
	assert_int_equal(cairn_audit_verdict_sign(&f->aud, d), 0);
	assert_int_equal(cairn_audit_verdict_verify(d), 0);
	free(buf);
	free(d);
	if (path)
		snprintf(path, pathlen, "%s", p);
}

/* A trace that does not start at W_r, into *c: the cheater starts from
 * other parameters (one bit of checkpoint 0's params[7]) and commits to
 * it all, re-rooted and re-signed. */
static void cheat_start(struct fx *f, struct cairn_bundle *c)
{
	size_t bytes = (size_t)f->good.param_count * sizeof(float);
	uint32_t u;

	copy_good(f, c);
	memcpy(&u, &c->checkpoints[0].params[7], 4);
	u ^= 0x00400000u;
	memcpy(&c->checkpoints[0].params[7], &u, 4);
	assert_int_equal(cairn_tensor_root(c->checkpoints[0].params, bytes,
	                                   c->checkpoints[0].state.params),
	                 0);
	cheat_resign(f, c);
}

static void test_cheat_other_key(void **state)
{
	struct fx *f = *state;
	struct cairn_identity cheater;
	struct cairn_task_result r2;
	struct cairn_bundle c, r;
	int rejected = 1;
	char p[256];

	assert_int_equal(cairn_identity_generate(&cheater), 0);
	/* The cheater signs the honest result with his key, leaving the
	 * honest worker's key in it. */
	copy_good(f, &c);
	r2 = c.result;
	memcpy(r2.worker_key, cheater.public_key, CAIRN_PUBLIC_KEY_BYTES);
	assert_int_equal(cairn_task_result_sign(&cheater, &r2, c.signature), 0);
	expect_read_rejected(f, &c, "signed by another key",
	                     CAIRN_AUDIT_SIGNATURE, CAIRN_AUDIT_NO_SEGMENT,
	                     NULL, 0);
	assert_non_null(strstr(f->err, "signature does not verify"));
	/* The result names the cheater's key; the signature is the honest
	 * worker's. */
	copy_good(f, &c);
	memcpy(c.result.worker_key, cheater.public_key, CAIRN_PUBLIC_KEY_BYTES);
	expect_read_rejected(f, &c, "claims another key", CAIRN_AUDIT_SIGNATURE,
	                     CAIRN_AUDIT_NO_SEGMENT, NULL, 0);
	/* Accepted by design: a copy that names and is signed by its copier
	 * is the same work (every honest run gives these bits).  Paying the
	 * right worker is the scheduler's job: it takes a task's result only
	 * from the worker it assigned the task to. */
	copy_good(f, &c);
	memcpy(c.result.worker_key, cheater.public_key, CAIRN_PUBLIC_KEY_BYTES);
	assert_int_equal(
	    cairn_task_result_sign(&cheater, &c.result, c.signature), 0);
	reread(f, &c, &r, p, sizeof p);
	cairn_bundle_free(&r);
	assert_int_equal(
	    cairn_audit_read(p, &r, &f->v, &rejected, f->err, sizeof f->err),
	    0);
	assert_int_equal(rejected, 0);
	assert_int_equal(audit_all(f, f->cpu, &r, NULL), 0);
	assert_int_equal(f->v.accepted, 1);
	cairn_bundle_free(&r);
	cairn_identity_wipe(&cheater);
}

static void test_cheat_replayed_result(void **state)
{
	struct fx *f = *state;
	struct cairn_task_spec s = f->spec;
	struct cairn_bundle c;
	uint8_t id_a[CAIRN_HASH_BYTES];

	/* Task 1 run honestly, then task 0's valid result and signature
	 * put in its bundle: a result replayed for another task. */
	s.task = 1;
	run_bundle(f, f->cpu, &s, &c);
	c.result = f->good.result;
	memcpy(c.signature, f->good.signature, sizeof c.signature);
	expect_read_rejected(f, &c, "result of task 0 for 1",
	                     CAIRN_AUDIT_TASK_ID, CAIRN_AUDIT_NO_SEGMENT, NULL,
	                     0);
	assert_non_null(strstr(f->err, "a result of another task"));
	/* The verdict names task 1 (the file's), not task 0, whose honest
	 * result it must not discredit. */
	assert_int_equal(cairn_task_id(&f->spec, id_a), 0);
	assert_memory_not_equal(f->v.task_id, id_a, CAIRN_HASH_BYTES);
	/* The whole of task 0's bundle under round 3's spec: the same. */
	copy_good(f, &c);
	c.spec.round = 3;
	expect_read_rejected(f, &c, "bundle of task 0 as r3",
	                     CAIRN_AUDIT_TASK_ID, CAIRN_AUDIT_NO_SEGMENT, NULL,
	                     0);
}

static void test_cheat_commitments(void **state)
{
	struct fx *f = *state;
	struct cairn_bundle c;
	uint32_t u;

	/* More work claimed than done, signed. */
	copy_good(f, &c);
	c.result.flops *= 2;
	assert_int_equal(cairn_task_result_sign(&f->id, &c.result, c.signature),
	                 0);
	expect_read_rejected(f, &c, "twice the FLOPs", CAIRN_AUDIT_WORK,
	                     CAIRN_AUDIT_NO_SEGMENT, NULL, 0);
	/* State roots that are not the signed trace. */
	copy_good(f, &c);
	c.state_roots[2 * CAIRN_HASH_BYTES + 5] ^= 0x10;
	expect_read_rejected(f, &c, "a state root changed",
	                     CAIRN_AUDIT_COMMITMENT, CAIRN_AUDIT_NO_SEGMENT,
	                     NULL, 0);
	/* A final state that is not the trace's last. */
	copy_good(f, &c);
	c.final_state.loss_bits ^= 1;
	expect_read_rejected(f, &c, "final state changed",
	                     CAIRN_AUDIT_COMMITMENT, CAIRN_AUDIT_NO_SEGMENT,
	                     NULL, 0);
	/* A checkpoint whose tensors are not its trace entry: one ulp in
	 * checkpoint 3's m, nothing re-rooted. */
	copy_good(f, &c);
	memcpy(&u, &c.checkpoints[3].m[100], 4);
	u += 1;
	memcpy(&c.checkpoints[3].m[100], &u, 4);
	expect_read_rejected(f, &c, "checkpoint 3 tensor", CAIRN_AUDIT_REVEAL,
	                     3, NULL, 0);
	/* A trace that does not start at W_r: the cheater starts from other
	 * parameters and commits to it all. */
	cheat_start(f, &c);
	expect_read_rejected(f, &c, "start is not W_r", CAIRN_AUDIT_START,
	                     CAIRN_AUDIT_NO_SEGMENT, NULL, 0);
}

/* ---- (b) lazy reading -------------------------------------------------- */

/* Writes c (freed) to a new file, its path in path. */
static void write_new(struct fx *f, struct cairn_bundle *c, char *path,
                      size_t pathlen)
{
	char err[1024];

	snprintf(path, pathlen, "%s/b%d.cairn", f->dir, f->nfiles++);
	assert_int_equal(cairn_bundle_write(c, path, err, sizeof err), 0);
	cairn_bundle_free(c);
}

/* Reads path with cairn_audit_read_lazy, which must not reject it. */
static void lazy_read_ok(struct fx *f, const char *path, struct cairn_bundle *b)
{
	int rejected = 1;

	assert_int_equal(cairn_audit_read_lazy(path, b, &f->v, &rejected,
	                                       f->err, sizeof f->err),
	                 0);
	if (rejected)
		print_message("lazy read rejected: %s\n", f->err);
	assert_int_equal(rejected, 0);
	assert_non_null(b->source);
}

/* Honest bundles read lazily are accepted on ref and cpu, every segment
 * and single draws; auditing leaves the bundle as it was read. */
static void test_lazy_honest(void **state)
{
	struct fx *f = *state;
	cairn_backend *makers[2] = {f->ref, f->cpu};
	int audits = 0;

	for (int i = 0; i < 2; i++) {
		struct cairn_bundle b, r;
		char path[256];

		run_bundle(f, makers[i], &f->spec, &b);
		write_new(f, &b, path, sizeof path);
		lazy_read_ok(f, path, &r);
		for (int a = 0; a < 2; a++) {
			assert_int_equal(
			    audit_all(f, a ? f->cpu : f->ref, &r, NULL), 0);
			if (!f->v.accepted)
				print_message("false rejection: %s\n", f->err);
			assert_int_equal(f->v.accepted, 1);
			assert_int_equal(f->v.nsegments, NSEG);
			audits++;
		}
		for (int k = 0; k < 8; k++) {
			uint8_t nonce[CAIRN_HASH_BYTES];
			for (size_t j = 0; j < sizeof nonce; j++)
				nonce[j] = (uint8_t)rnd(f);
			assert_int_equal(
			    cairn_audit_bundle(k % 2 ? f->cpu : f->ref, &r,
			                       &f->ds, f->droot, nonce, 1,
			                       &f->v, f->err, sizeof f->err),
			    0);
			assert_int_equal(f->v.accepted, 1);
			audits++;
		}
		for (uint32_t k = 0; k < r.ncheckpoints; k++)
			assert_null(r.checkpoints[k].params);
		cairn_bundle_free(&r);
	}
	print_message("lazily read honest bundles: %d audits accepted\n",
	              audits);
}

/* A tensor that is not its trace entry passes the lazy read; an audit
 * that draws its checkpoint rejects with check reveal, naming it; one
 * that does not draw it accepts (a checkpoint never drawn is not read). */
static void test_lazy_reveal(void **state)
{
	struct fx *f = *state;
	const uint32_t bad[2] = {3, 0};
	struct cairn_bundle c, r;
	char path[256], want[64];
	uint32_t u;

	for (int t = 0; t < 2; t++) {
		const uint32_t k = bad[t];

		/* One ulp in checkpoint k's m, nothing re-rooted. */
		copy_good(f, &c);
		memcpy(&u, &c.checkpoints[k].m[100], 4);
		u += 1;
		memcpy(&c.checkpoints[k].m[100], &u, 4);
		write_new(f, &c, path, sizeof path);
		lazy_read_ok(f, path, &r);
		snprintf(want, sizeof want, "checkpoint %u (t = %u)", k,
		         k * EVERY);
		for (int a = 0; a < 2; a++) {
			audit_drawn(f, a ? f->cpu : f->ref, &r, k, 0);
			assert_int_equal(f->v.accepted, 0);
			assert_int_equal(f->v.check, CAIRN_AUDIT_REVEAL);
			assert_int_equal(f->v.segment, k);
			assert_int_equal(f->v.step_first, k * EVERY + 1);
			assert_int_equal(f->v.step_last, (k + 1) * EVERY);
			assert_int_equal(f->v.nsegments, 1);
			assert_int_equal(f->v.segments[0], k);
			assert_true(!strncmp(f->err, "check reveal: ", 14));
			assert_non_null(strstr(f->err, want));
			assert_non_null(strstr(f->err, path));
		}
		print_message("%-22s -> REJECTED check 'reveal' when drawn\n"
		              "    %s\n",
		              k ? "lazy: checkpoint 3" : "lazy: checkpoint 0",
		              f->err);
		/* Every segment: rejected when k comes up. */
		assert_int_equal(audit_all(f, f->cpu, &r, NULL), 0);
		assert_int_equal(f->v.accepted, 0);
		assert_int_equal(f->v.check, CAIRN_AUDIT_REVEAL);
		assert_int_equal(f->v.segment, k);
		/* A draw that misses it accepts. */
		audit_drawn(f, f->cpu, &r, k, 1);
		assert_int_equal(f->v.accepted, 1);
		cairn_bundle_free(&r);
	}
}

/* Writes c (freed) and reads it both ways: the lazy reader must reject it
 * with the same verdict as cairn_audit_read. */
static void expect_lazy_same(struct fx *f, struct cairn_bundle *c,
                             const char *what, int check)
{
	struct cairn_audit_verdict *full = cairn_test_xmalloc(sizeof *full);
	struct cairn_bundle r;
	char path[256];
	int rejected = 0;

	write_new(f, c, path, sizeof path);
	assert_int_equal(
	    cairn_audit_read(path, &r, full, &rejected, f->err, sizeof f->err),
	    0);
	assert_int_equal(rejected, 1);
	rejected = 0;
	assert_int_equal(cairn_audit_read_lazy(path, &r, &f->v, &rejected,
	                                       f->err, sizeof f->err),
	                 0);
	print_message("%-22s -> lazy: %s check '%s'\n", what,
	              rejected ? "REJECTED" : "read",
	              cairn_audit_check_name((int)f->v.check));
	assert_int_equal(rejected, 1);
	assert_int_equal(r.nstates, 0);
	assert_null(r.source);
	assert_int_equal(f->v.check, check);
	assert_memory_equal(&f->v, full, sizeof *full);
	free(full);
}

/* The rejections found when a bundle is read are the same read lazily
 * (all but reveal, which test_lazy_reveal covers). */
static void test_lazy_read_rejections(void **state)
{
	struct fx *f = *state;
	struct cairn_identity cheater;
	struct cairn_task_result r2;
	struct cairn_bundle c;

	/* The honest result, signed by a cheater under his own key. */
	assert_int_equal(cairn_identity_generate(&cheater), 0);
	copy_good(f, &c);
	r2 = c.result;
	memcpy(r2.worker_key, cheater.public_key, CAIRN_PUBLIC_KEY_BYTES);
	assert_int_equal(cairn_task_result_sign(&cheater, &r2, c.signature), 0);
	expect_lazy_same(f, &c, "signed by another key", CAIRN_AUDIT_SIGNATURE);
	cairn_identity_wipe(&cheater);
	copy_good(f, &c);
	c.spec.round = 3;
	expect_lazy_same(f, &c, "bundle of task 0 as r3", CAIRN_AUDIT_TASK_ID);
	copy_good(f, &c);
	c.result.flops *= 2;
	assert_int_equal(cairn_task_result_sign(&f->id, &c.result, c.signature),
	                 0);
	expect_lazy_same(f, &c, "twice the FLOPs", CAIRN_AUDIT_WORK);
	copy_good(f, &c);
	c.state_roots[2 * CAIRN_HASH_BYTES + 5] ^= 0x10;
	expect_lazy_same(f, &c, "a state root changed", CAIRN_AUDIT_COMMITMENT);
	copy_good(f, &c);
	c.final_state.loss_bits ^= 1;
	expect_lazy_same(f, &c, "final state changed", CAIRN_AUDIT_COMMITMENT);
	cheat_start(f, &c);
	expect_lazy_same(f, &c, "start is not W_r", CAIRN_AUDIT_START);
}

/* Cheats caught at replay: the same verdict read lazily as read in full,
 * what differs included (for a lazily read bundle the claimed end of a
 * segment is a checkpoint loaded and hashed when the replay differs). */
static void test_lazy_replay(void **state)
{
	struct fx *f = *state;
	struct cairn_audit_verdict *full = cairn_test_xmalloc(sizeof *full);
	struct cairn_bundle c, r, l;
	size_t bytes = (size_t)f->good.param_count * sizeof(float);
	uint8_t nonce[CAIRN_HASH_BYTES];
	char path[256], ferr[1024];
	int rejected;
	uint32_t u;

	for (int t = 0; t < 3; t++) {
		copy_good(f, &c);
		if (t == 0) { /* one ulp at t = 4 */
			memcpy(&u, &c.checkpoints[2].params[5], 4);
			u += 1;
			memcpy(&c.checkpoints[2].params[5], &u, 4);
			assert_int_equal(
			    cairn_tensor_root(c.checkpoints[2].params, bytes,
			                      c.checkpoints[2].state.params),
			    0);
		} else if (t == 1) { /* steps 7..8 skipped */
			c.final_state = c.checkpoints[NSEG - 1].state;
			c.final_state.step = STEPS;
		} else { /* task 0's trace as task 1's */
			c.spec.task = 1;
		}
		cheat_resign(f, &c);
		write_new(f, &c, path, sizeof path);
		assert_int_equal(cairn_audit_read(path, &r, full, &rejected,
		                                  f->err, sizeof f->err),
		                 0);
		lazy_read_ok(f, path, &l);
		for (size_t j = 0; j < sizeof nonce; j++)
			nonce[j] = (uint8_t)rnd(f);
		assert_int_equal(cairn_audit_bundle(f->cpu, &r, &f->ds,
		                                    f->droot, nonce, NSEG, full,
		                                    ferr, sizeof ferr),
		                 0);
		assert_int_equal(
		    cairn_audit_bundle(f->cpu, &l, &f->ds, f->droot, nonce,
		                       NSEG, &f->v, f->err, sizeof f->err),
		    0);
		print_message("lazy replay cheat %d -> %s\n", t, f->err);
		assert_int_equal(f->v.accepted, 0);
		assert_int_equal(f->v.check, CAIRN_AUDIT_REPLAY);
		assert_true(f->v.diff != 0);
		assert_memory_equal(&f->v, full, sizeof *full);
		assert_string_equal(f->err, ferr);
		cairn_bundle_free(&r);
		cairn_bundle_free(&l);
	}
	free(full);
}

/* The fixture (audit_fixture.h), its seed printed under this program's
 * name. */
static int setup(void **state)
{
	return audit_fx_setup(state, "test_audit_read");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cheat_other_key),
	    cmocka_unit_test(test_cheat_replayed_result),
	    cmocka_unit_test(test_cheat_commitments),
	    cmocka_unit_test(test_lazy_honest),
	    cmocka_unit_test(test_lazy_reveal),
	    cmocka_unit_test(test_lazy_read_rejections),
	    cmocka_unit_test(test_lazy_replay),
	};
	return cmocka_run_group_tests(tests, setup, audit_fx_teardown);
}
