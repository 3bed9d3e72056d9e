/* cairn: the background committer itself (include/cairn/task.h,
 * "background commits"; attest/committer.c), below the task runs that
 * test_task_commit.c drives through it.
 *
 * - The tensors that are +0 by definition (cairn_task_zero_tensors) get
 *   the zero tensor's root from cairn_task_commit_state and a committer
 *   without their buffers being read, and read back as +0.
 * - Random sequences of model changes, starts, collects and reads on cpu
 *   and on the cuda backend's kernels emulated on the host (lazy queues):
 *   the two snapshot slots, collects oldest first, reads until a start
 *   reuses the slot, and the order between the model and the snapshots.
 *
 * The fixture is task_test_fixture.h's (a synthetic dataset, a 784-16-10
 * model); fresh random inputs each run, seed printed. */
#include <inttypes.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "task_test_fixture.h"
#ifdef CAIRN_TEST_EMU
#include "backend_emu.h"
#endif

/* A state's tensors that are +0 by definition (cairn_task_zero_tensors:
 * m and v at t = 0, SGD's v) get the zero tensor's root from
 * cairn_task_commit_state and a committer without the model's buffer
 * being read (here deliberately not zero, so a root that was hashed would
 * differ), and a committer's read of them gives +0; the others are hashed.
 * Any other bit is refused. */
static void test_zero_tensors_not_hashed(void **state)
{
	struct fixture *f = *state;
	const size_t bytes = (size_t)f->nparams * sizeof(float);
	const unsigned M = CAIRN_STATE_ZERO_M, V = CAIRN_STATE_ZERO_V;
	static const cairn_model_buf bufs[3] = {CAIRN_MODEL_PARAMS,
	                                        CAIRN_MODEL_M, CAIRN_MODEL_V};
	struct cairn_task_spec sgd = f->spec;
	float *host[3], *got = cairn_test_xmalloc(bytes);
	uint8_t samples[HB], zero[HB], want[3][HB];
	cairn_backend *be = NULL;
	cairn_model *m = NULL;
	cairn_committer *cm = NULL;
	struct cairn_state st;
	int had = 0;

	/* which tensors are +0, by spec and step */
	sgd.opt.kind = CAIRN_OPTIM_SGD;
	assert_int_equal(cairn_task_zero_tensors(&f->spec, 0), M | V);
	assert_int_equal(cairn_task_zero_tensors(&f->spec, 1), 0);
	assert_int_equal(cairn_task_zero_tensors(&sgd, 0), M | V);
	assert_int_equal(cairn_task_zero_tensors(&sgd, 4), V);

	assert_int_equal(cairn_backend_open(CAIRN_BACKEND_CPU, NULL, &be), 0);
	assert_int_equal(cairn_model_create(be, &f->spec.model, 8, 2, &m), 0);
	assert_int_equal(cairn_committer_open(be, f->nparams, &cm), 0);
	assert_int_equal(cairn_samples_digest(NULL, 0, samples), 0);
	assert_int_equal(cairn_tensor_zero_root(bytes, zero), 0);
	for (int i = 0; i < 3; i++) {
		host[i] = cairn_test_xmalloc(bytes);
		for (int64_t k = 0; k < f->nparams; k++)
			host[i][k] =
			    (float)((int64_t)(rnd() % 2001) - 1000) / 64.0f;
		host[i][0] = 1.0f; /* never all zeros */
		assert_int_equal(cairn_model_write(m, bufs[i], host[i]), 0);
		assert_int_equal(cairn_tensor_root(host[i], bytes, want[i]), 0);
		assert_memory_not_equal(want[i], zero, HB);
	}
	for (unsigned z = 0; z < 4; z++) {
		uint8_t *roots[3];
		for (int pass = 0; pass < 2; pass++) { /* sync, background */
			memset(&st, 0, sizeof st);
			if (pass == 0) {
				assert_int_equal(
				    cairn_task_commit_state(m, z, 5, samples,
				                            0.5f, &st),
				    0);
			} else {
				assert_int_equal(cairn_committer_start(
				                     cm, m, z, 5, samples, 7),
				                 0);
				assert_int_equal(
				    cairn_committer_collect(cm, &st, &had), 0);
				assert_int_equal(had, 1);
				assert_int_equal(st.step, 5);
			}
			roots[0] = st.params;
			roots[1] = st.m;
			roots[2] = st.v;
			for (int i = 0; i < 3; i++) {
				int is_zero = i && (z >> (i - 1) & 1u);
				assert_memory_equal(
				    roots[i], is_zero ? zero : want[i], HB);
				if (pass == 0)
					continue;
				memset(got, 0x55, bytes);
				assert_int_equal(
				    cairn_committer_read(cm, bufs[i], got), 0);
				if (!is_zero) {
					assert_memory_equal(got, host[i],
					                    bytes);
					continue;
				}
				for (int64_t k = 0; k < f->nparams; k++)
					if (got[k] != 0.0f || signbit(got[k]))
						fail_msg("zero %u: tensor %d "
						         "[%" PRId64 "] = %a, "
						         "not +0",
						         z, i, k,
						         (double)got[k]);
			}
		}
	}
	for (unsigned bad = 4; bad <= 8; bad += 4) {
		assert_int_equal(
		    cairn_task_commit_state(m, bad, 5, samples, 0.5f, &st),
		    CAIRN_EINVAL);
		assert_int_equal(
		    cairn_committer_start(cm, m, bad, 5, samples, 7),
		    CAIRN_EINVAL);
	}
	cairn_committer_close(cm);
	cairn_model_free(m);
	cairn_backend_close(be);
	for (int i = 0; i < 3; i++)
		free(host[i]);
	free(got);
	(void)state;
}

/* One state the property test below expects a committer to give back:
 * its roots, and its tensors as the model held them at the start (+0 for
 * the ones zero names). */
struct expect {
	struct cairn_state st;
	float *t[3];
};

/* Random writes to the model, starts (random zero bits), collects and
 * reads in a random order, on the cpu backend and on the cuda backend's
 * kernels emulated on the host (whose queues run as late as they may):
 * every collect gives the oldest state started, with the roots of what the
 * model held at its start however the model changed since; a read gives
 * that state's tensors until a start reuses its slot (the start that
 * leaves two pending); a third start is refused.  The model changes by
 * writes (the host waits) and by zeroing (queued on the model's backend:
 * the start's copies must wait for it), and the expected tensors come
 * from a host copy, never from reading the model (which would wait). */
static void test_committer_sequences(void **state)
{
	struct fixture *f = *state;
	const size_t bytes = (size_t)f->nparams * sizeof(float);
	static const cairn_model_buf bufs[3] = {CAIRN_MODEL_PARAMS,
	                                        CAIRN_MODEL_M, CAIRN_MODEL_V};
	float *host = cairn_test_xmalloc(bytes);
	float *mirror[3]; /* what the model holds */
	uint8_t zero[HB];

	assert_int_equal(cairn_tensor_zero_root(bytes, zero), 0);
	for (int kind = 0; kind < 2; kind++) {
		struct expect q[3], *readable = NULL; /* q[0..n): pending */
		cairn_backend *be = NULL;
		cairn_model *m = NULL;
		cairn_committer *cm = NULL;
		int n = 0, starts = 0, collects = 0;

		if (kind == 0) {
			assert_int_equal(
			    cairn_backend_open(CAIRN_BACKEND_CPU, NULL, &be),
			    0);
		} else {
#ifdef CAIRN_TEST_EMU
			assert_int_equal(cairn_test_emu_backend_open(&be), 0);
#else
			continue;
#endif
		}
		assert_int_equal(
		    cairn_model_create(be, &f->spec.model, 8, 2, &m), 0);
		assert_int_equal(cairn_committer_open(be, f->nparams, &cm), 0);
		for (int k = 0; k < 3; k++)
			for (int i = 0; i < 3; i++)
				q[k].t[i] = cairn_test_xmalloc(bytes);
		for (int i = 0; i < 3; i++) {
			mirror[i] = cairn_test_xmalloc(bytes);
			for (int64_t k = 0; k < f->nparams; k++)
				mirror[i][k] = (float)(rnd() % 4096) / 64.0f;
			assert_int_equal(
			    cairn_model_write(m, bufs[i], mirror[i]), 0);
		}
		for (int op = 0; op < 300; op++) {
			int r = (int)(rnd() % 4), had = 0;
			struct cairn_state st;
			if (r == 0) { /* the model changes */
				int i = (int)(rnd() % 3);
				if (rnd() % 2) { /* queued, not waited for */
					memset(mirror[i], 0, bytes);
					assert_int_equal(
					    cairn_model_zero(m, bufs[i]), 0);
					continue;
				}
				for (int64_t k = 0; k < f->nparams; k++)
					mirror[i][k] =
					    (float)(rnd() % 4096) / 64.0f;
				assert_int_equal(
				    cairn_model_write(m, bufs[i], mirror[i]),
				    0);
			} else if (r == 1) { /* a start */
				unsigned z = (unsigned)(rnd() % 4);
				uint8_t samples[HB];
				struct expect *e = &q[n < 2 ? n : 2];
				for (int k = 0; k < HB; k++)
					samples[k] = (uint8_t)rnd();
				if (n == 2) {
					assert_int_equal(
					    cairn_committer_start(cm, m, z,
					                          (uint64_t)op,
					                          samples, 7),
					    CAIRN_EINVAL);
					continue;
				}
				memset(&e->st, 0, sizeof e->st);
				e->st.step = (uint64_t)op;
				memcpy(e->st.samples, samples, HB);
				e->st.loss_bits = 7;
				for (int i = 0; i < 3; i++) {
					uint8_t *root = i == 0   ? e->st.params
					                : i == 1 ? e->st.m
					                         : e->st.v;
					if (i && (z >> (i - 1) & 1u)) {
						memset(e->t[i], 0, bytes);
						memcpy(root, zero, HB);
						continue;
					}
					memcpy(e->t[i], mirror[i], bytes);
					assert_int_equal(
					    cairn_tensor_root(e->t[i], bytes,
					                      root),
					    0);
				}
				assert_int_equal(
				    cairn_committer_start(
				        cm, m, z, (uint64_t)op, samples, 7),
				    0);
				n++;
				starts++;
				if (n == 2)
					readable = NULL; /* its slot reused */
			} else if (r == 2) {             /* a collect */
				assert_int_equal(
				    cairn_committer_collect(cm, &st, &had), 0);
				assert_int_equal(had, n > 0);
				if (!n)
					continue;
				assert_memory_equal(&st, &q[0].st, sizeof st);
				/* q[2] holds the collected one, the rest
				 * move up */
				{
					struct expect tmp = q[2];
					q[2] = q[0];
					q[0] = q[1];
					q[1] = tmp;
				}
				readable = &q[2];
				n--;
				collects++;
			} else { /* a read */
				int i = (int)(rnd() % 3);
				int rc =
				    cairn_committer_read(cm, bufs[i], host);
				assert_int_equal(rc,
				                 readable ? 0 : CAIRN_EINVAL);
				if (readable)
					assert_memory_equal(
					    host, readable->t[i], bytes);
			}
		}
		print_message("  %s: %d starts, %d collects\n",
		              cairn_backend_name(be), starts, collects);
		assert_true(starts > 20 && collects > 20);
		cairn_committer_close(cm);
		for (int k = 0; k < 3; k++)
			for (int i = 0; i < 3; i++)
				free(q[k].t[i]);
		for (int i = 0; i < 3; i++)
			free(mirror[i]);
		cairn_model_free(m);
		cairn_backend_close(be);
	}
	free(host);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_zero_tensors_not_hashed),
	    cmocka_unit_test(test_committer_sequences),
	};
	g_rng = cairn_test_seed("test_committer");
	return cmocka_run_group_tests(tests, setup, teardown);
}
