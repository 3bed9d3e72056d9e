/* cairn: the bundles of SGD tasks, which leave v out (docs/bundle-format.md
 * section 2.1: with SGD, v is +0 in every state, so no checkpoint has
 * field 6 and the reader supplies param_count zero floats).
 *
 * The fixture (bundle_fixture.h) runs the AdamW task; here the same task
 * with SGD inside:
 *
 * - its bundle has no field 6 (so it is the AdamW one's size less a
 *   field of 4 * param_count bytes a checkpoint), and is read (eagerly, lazily,
 * from memory), checked, loaded into a model and audited, with v all +0;
 * collected through a spool it has the same bytes;
 * - the same bundle with a v of zeros added to each checkpoint is refused
 *   ("SGD bundles carry no v"), read in full or lazily;
 * - an AdamW bundle without v is refused.
 *
 * Data and keys are random each run (seed printed; CAIRN_TEST_SEED=0x...
 * replays). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bundle_fixture.h"

#include "cairn/audit.h"

#define NCP (STEPS / EVERY)
#define TAG_CHECKPOINT 0x3a /* field 7, length-delimited */
#define TAG_V 0x32          /* field 6 of a checkpoint */

/* ---- a small re-encoder: the bundle with v added or dropped ------------- */

enum v_op { V_KEEP, V_ADD, V_DROP };

static uint64_t get_varint(const uint8_t *p, size_t *pos)
{
	uint64_t v = 0;
	for (int sh = 0; sh < 64; sh += 7) {
		uint8_t c = p[(*pos)++];
		v |= (uint64_t)(c & 0x7f) << sh;
		if (!(c & 0x80))
			break;
	}
	return v;
}

static size_t put_varint(uint8_t *out, uint64_t v)
{
	size_t n = 0;
	do {
		out[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	return n;
}

/* Where the field at *pos ends (its tag read into *tag). */
static size_t field_end(const uint8_t *p, size_t *pos, uint64_t *tag)
{
	size_t at;

	*tag = get_varint(p, pos);
	at = *pos;
	switch (*tag & 7) {
	case 0:
		(void)get_varint(p, &at);
		return at;
	case 2: {
		uint64_t n = get_varint(p, &at);
		return at + (size_t)n;
	}
	case 5:
		return at + 4;
	default:
		fail_msg("wire type %u", (unsigned)(*tag & 7));
		return at;
	}
}

/* A checkpoint's content p[0..len) into out, v dropped or appended (field
 * 6 is its last); its length; *nv counts the v fields met. */
static size_t redo_checkpoint(const uint8_t *p, size_t len, enum v_op op,
                              size_t bytes, uint8_t *out, int *nv)
{
	size_t pos = 0, n = 0;

	while (pos < len) {
		size_t start = pos, end;
		uint64_t tag;
		end = field_end(p, &pos, &tag);
		*nv += tag == TAG_V;
		if (!(tag == TAG_V && op == V_DROP)) {
			memcpy(out + n, p + start, end - start);
			n += end - start;
		}
		pos = end;
	}
	if (op == V_ADD) {
		out[n++] = TAG_V;
		n += put_varint(out + n, bytes);
		memset(out + n, 0, bytes);
		n += bytes;
	}
	return n;
}

/* in re-encoded with op on every checkpoint's v (bytes zero bytes when
 * added) into a new buffer (*outlen bytes); *nv: the v fields in in. */
static uint8_t *redo(const uint8_t *in, size_t len, enum v_op op, size_t bytes,
                     size_t *outlen, int *nv)
{
	uint8_t *out = cairn_test_xmalloc(len + NCP * (bytes + 16));
	uint8_t *cp = cairn_test_xmalloc(len + bytes + 16);
	size_t pos = 0, n = 0;

	*nv = 0;
	while (pos < len) {
		size_t start = pos, end, at;
		uint64_t tag;
		end = field_end(in, &pos, &tag);
		if (tag != TAG_CHECKPOINT) {
			memcpy(out + n, in + start, end - start);
			n += end - start;
		} else {
			size_t body, k;
			at = pos;
			body = (size_t)get_varint(in, &at);
			k = redo_checkpoint(in + at, body, op, bytes, cp, nv);
			out[n++] = TAG_CHECKPOINT;
			n += put_varint(out + n, k);
			memcpy(out + n, cp, k);
			n += k;
		}
		pos = end;
	}
	free(cp);
	*outlen = n;
	return out;
}

/* ---- helpers ------------------------------------------------------------ */

/* f's spec with SGD inside (Nesterov momentum 0.9). */
static struct cairn_task_spec sgd_spec(const struct fx *f)
{
	struct cairn_task_spec s = f->spec;

	cairn_optim_sgd(&s.opt, 0.05f);
	s.opt.sgd.momentum = 0.9f;
	return s;
}

/* The SGD task run and collected into *b (through a spool under f->dir
 * with spool) and written to dir/name: its path. */
static const char *sgd_bundle(struct fx *f, struct cairn_bundle *b, int spool,
                              const char *name)
{
	const struct cairn_task_spec s = sgd_spec(f);
	cairn_model *m = NULL;
	char err[512] = "";

	if (!spool) {
		cairn_test_task_bundle(f->be, &s, &f->ds, f->w_r, &f->trace,
		                       &f->id, b);
		return write_as(f, b, name);
	}
	assert_int_equal(cairn_model_create(f->be, &s.model, BATCH, MICRO, &m),
	                 0);
	assert_int_equal(cairn_bundle_begin(b, &s), 0);
	assert_int_equal(cairn_bundle_spool(b, f->dir, 0, err, sizeof err), 0);
	assert_int_equal(cairn_task_run(m, &s, &f->ds, s.dataset_root, f->w_r,
	                                &f->trace, cairn_bundle_checkpoint, b,
	                                err, sizeof err),
	                 0);
	assert_int_equal(cairn_bundle_finish(b, &f->trace, &f->id,
	                                     cairn_backend_name(f->be)),
	                 0);
	cairn_model_free(m);
	return write_as(f, b, name);
}

static void assert_zero(const float *p, int64_t n)
{
	assert_non_null(p);
	for (int64_t i = 0; i < n; i++) {
		uint32_t u;
		memcpy(&u, &p[i], 4);
		assert_int_equal(u, 0);
	}
}

/* Loads every checkpoint of b into a model: accepted, with b's parameters
 * (want's, when given) and v all +0. */
static void load_all(struct fx *f, const struct cairn_bundle *b,
                     const struct cairn_bundle *want)
{
	const int64_t n = b->param_count;
	float *host = cairn_test_xmalloc((size_t)n * sizeof(float));
	cairn_model *m = NULL;
	char err[1024] = "";

	assert_int_equal(
	    cairn_model_create(f->be, &b->spec.model, BATCH, MICRO, &m), 0);
	for (uint32_t i = 0; i < b->ncheckpoints; i++) {
		struct cairn_state st;
		int rc =
		    cairn_bundle_load_checkpoint(b, i, m, &st, err, sizeof err);
		if (rc)
			print_message("load %" PRIu32 ": %s\n", i, err);
		assert_int_equal(rc, 0);
		assert_int_equal(cairn_model_read(m, CAIRN_MODEL_V, host), 0);
		assert_zero(host, n);
		if (want) {
			assert_int_equal(
			    cairn_model_read(m, CAIRN_MODEL_PARAMS, host), 0);
			assert_memory_equal(host, want->checkpoints[i].params,
			                    (size_t)n * sizeof(float));
			assert_state_equal(&st, &want->checkpoints[i].state);
		}
	}
	cairn_model_free(m);
	free(host);
}

/* Audits every segment of b on f's backend: accepted. */
static void audit_ok(struct fx *f, const struct cairn_bundle *b)
{
	struct cairn_audit_verdict v;
	uint8_t nonce[CAIRN_HASH_BYTES];
	char err[1024] = "";

	for (size_t i = 0; i < sizeof nonce; i++)
		nonce[i] = (uint8_t)rnd(f);
	assert_int_equal(cairn_audit_bundle(f->be, b, &f->ds, f->droot, nonce,
	                                    NCP, &v, err, sizeof err),
	                 0);
	if (!v.accepted)
		print_message("audit: %s\n", err);
	assert_int_equal(v.accepted, 1);
	assert_int_equal(v.nsegments, NCP);
}

/* ---- the tests ---------------------------------------------------------- */

static void test_sgd_round_trip(void **state)
{
	struct fx *f = *state;
	struct cairn_bundle b, r, lz;
	const size_t bytes = (size_t)f->nparams * sizeof(float);
	uint8_t *buf = NULL, *again = NULL;
	size_t len = 0, alen = 0;
	char err[1024] = "", path[512];
	int nv;

	snprintf(path, sizeof path, "%s", sgd_bundle(f, &b, 0, "sgd.cairn"));
	assert_int_equal(read_whole(path, &buf, &len), 0);
	/* no checkpoint has field 6: the AdamW bundle's less one field of
	 * 1 + 3 + bytes a checkpoint (the lengths' varints keep their
	 * size) */
	free(redo(buf, len, V_KEEP, bytes, &alen, &nv));
	assert_int_equal(nv, 0);
	assert_int_equal(alen, len);
	free(redo(f->bytes, f->len, V_KEEP, bytes, &alen, &nv));
	assert_int_equal(nv, NCP);
	assert_int_equal(len, f->len - NCP * (1 + 3 + bytes));
	print_message("SGD bundle: %zu bytes (with v: %zu)\n", len, f->len);

	assert_int_equal(cairn_bundle_read(path, &r, err, sizeof err), 0);
	assert_bundle_equal(&b, &r);
	for (uint32_t i = 0; i < r.ncheckpoints; i++)
		assert_zero(r.checkpoints[i].v, r.param_count);
	load_all(f, &r, &b);
	audit_ok(f, &r);
	cairn_bundle_free(&r);
	assert_int_equal(
	    cairn_bundle_decode(buf, len, "sgd", &r, err, sizeof err), 0);
	assert_bundle_equal(&b, &r);
	cairn_bundle_free(&r);

	/* lazily: loaded into a model, audited, then checked and written
	 * again, to the same bytes */
	assert_int_equal(cairn_bundle_read_lazy(path, &lz, err, sizeof err), 0);
	assert_null(lz.checkpoints[1].v);
	load_all(f, &lz, &b);
	audit_ok(f, &lz);
	for (uint32_t i = 0; i < lz.ncheckpoints; i++) {
		assert_int_equal(
		    cairn_bundle_check_checkpoint(&lz, i, err, sizeof err), 0);
		assert_zero(lz.checkpoints[i].v, lz.param_count);
	}
	assert_bundle_equal(&b, &lz);
	assert_int_equal(
	    read_whole(write_as(f, &lz, "again.cairn"), &again, &alen), 0);
	assert_int_equal(alen, len);
	assert_memory_equal(again, buf, len);
	cairn_bundle_free(&lz);
	cairn_bundle_free(&b);
	free(again);
	free(buf);
}

static void test_sgd_spool(void **state)
{
	struct fx *f = *state;
	struct cairn_bundle b, s;
	uint8_t *heap = NULL, *spooled = NULL;
	size_t hlen = 0, slen = 0;

	assert_int_equal(
	    read_whole(sgd_bundle(f, &b, 0, "heap.cairn"), &heap, &hlen), 0);
	assert_int_equal(
	    read_whole(sgd_bundle(f, &s, 1, "spool.cairn"), &spooled, &slen),
	    0);
	assert_int_equal(slen, hlen);
	assert_memory_equal(spooled, heap, hlen);
	assert_non_null(s.spool);
	for (uint32_t i = 0; i < s.ncheckpoints; i++)
		assert_zero(s.checkpoints[i].v, s.param_count);
	load_all(f, &s, &b);
	cairn_bundle_free(&s);
	cairn_bundle_free(&b);
	free(heap);
	free(spooled);
}

/* path must be refused with want and needle, read in full and lazily. */
static void refused_both(const char *path, int want, const char *needle)
{
	struct cairn_bundle b;
	char err[1024] = "";

	expect_refused(path, want, needle);
	assert_int_equal(cairn_bundle_read_lazy(path, &b, err, sizeof err),
	                 want);
	assert_non_null(strstr(err, needle));
	assert_true(bundle_zeroed(&b));
}

static void test_sgd_with_v_refused(void **state)
{
	struct fx *f = *state;
	struct cairn_bundle b;
	const size_t bytes = (size_t)f->nparams * sizeof(float);
	uint8_t *buf = NULL, *with_v;
	size_t len = 0, wlen;
	char path[512];
	int nv;

	assert_int_equal(
	    read_whole(sgd_bundle(f, &b, 0, "sgd2.cairn"), &buf, &len), 0);
	cairn_bundle_free(&b);
	with_v = redo(buf, len, V_ADD, bytes, &wlen, &nv);
	assert_int_equal(nv, 0);
	assert_int_equal(wlen, f->len); /* the AdamW bundle's size */
	snprintf(path, sizeof path, "%s/sgd-with-v.cairn", f->dir);
	write_whole(path, with_v, wlen);
	refused_both(path, CAIRN_EFORMAT,
	             "checkpoint 0 (t = 0) carries a v tensor");
	expect_refused(path, CAIRN_EFORMAT, "SGD bundles carry no v");
	print_message("SGD bundle with v (%zu bytes) refused\n", wlen);
	free(with_v);
	free(buf);
}

static void test_adamw_without_v_refused(void **state)
{
	struct fx *f = *state;
	const size_t bytes = (size_t)f->nparams * sizeof(float);
	uint8_t *no_v;
	size_t nlen;
	char path[512];
	int nv;

	no_v = redo(f->bytes, f->len, V_DROP, bytes, &nlen, &nv);
	assert_int_equal(nv, NCP);
	assert_int_equal(nlen, f->len - NCP * (1 + 3 + bytes));
	snprintf(path, sizeof path, "%s/adamw-no-v.cairn", f->dir);
	write_whole(path, no_v, nlen);
	refused_both(path, CAIRN_EFORMAT, "checkpoint 0 (t = 0)");
	expect_refused(path, CAIRN_EFORMAT, "params/m/v");
	free(no_v);
}

/* Check 20 with SGD: a final state whose v root is not the zero
 * tensor's is refused, the claim otherwise made consistent (its state
 * root, the trace root, the signature) so that only that rule can refuse
 * it. */
static void test_sgd_final_v_refused(void **state)
{
	struct fx *f = *state;
	const struct cairn_task_spec s = sgd_spec(f);
	struct cairn_bundle b;
	uint8_t *last;

	cairn_test_task_bundle(f->be, &s, &f->ds, f->w_r, &f->trace, &f->id,
	                       &b);
	last = b.state_roots + (size_t)(b.nstates - 1) * CAIRN_HASH_BYTES;
	b.final_state.v[0] ^= 1;
	assert_int_equal(cairn_state_root(&b.final_state, last), 0);
	assert_int_equal(
	    cairn_trace_root(b.state_roots, b.nstates, b.result.trace_root), 0);
	assert_int_equal(cairn_task_result_sign(&f->id, &b.result, b.signature),
	                 0);
	expect_refused(write_as(f, &b, "sgd-final-v.cairn"), CAIRN_EMISMATCH,
	               "the final state's v root");
	cairn_bundle_free(&b);
}

static int setup(void **state)
{
	return bundle_fx_setup(state, "test_bundle_sgd");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sgd_round_trip),
	    cmocka_unit_test(test_sgd_spool),
	    cmocka_unit_test(test_sgd_with_v_refused),
	    cmocka_unit_test(test_adamw_without_v_refused),
	    cmocka_unit_test(test_sgd_final_v_refused),
	};
	return cmocka_run_group_tests(tests, setup, bundle_fx_teardown);
}
