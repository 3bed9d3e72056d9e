/* cairn: reading signed result bundles, the checks (docs/bundle-format.md
 * section 4, steps 9 to 28, in that order); the reader's design is
 * described in attest/bundle_read.c, the walk whose layout they read is
 * in attest/bundle_walk.c.
 *
 * On the fields the walk found, the small ones are read and checked into
 * a new struct cairn_bundle: the format, spec, result and signature (steps
 * 9 to 15), then the state roots, final state, step log and every
 * checkpoint's step, lengths, samples and loss (16 to 26).  Then either
 * every checkpoint's tensors are read with pread straight into the arrays
 * handed out, hashed there and checked against the trace (27 and 28), or,
 * for a lazy read, only state root 0 is checked against the task's start
 * and the bundle keeps its source for cairn_bundle_check_checkpoint.  An
 * SGD bundle has no v in the file (docs/bundle-format.md section 2.1): its
 * v arrays are zeros, their root cairn_tensor_zero_root's.
 *
 * Ownership: each check fills the caller's bundle, which owns what was put
 * into it even when a check fails (cairn_bundle_free); arrays of
 * cairn__bundle_read_tensors are the caller's, also on failure.  The lazy
 * check moves the source's descriptor and name into the bundle's source,
 * which it allocates; nothing else here keeps a pointer to its
 * arguments. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest_impl.h"
#include "bundle_impl.h"
#include "cairn/attest.h"
#include "cairn/bundle.h"
#include "cairn/error.h"
#include "cairn/kernels.h"
#include "cairn/task.h"

/* The inverse of cairn_state_encode (docs/commitments.md section 5):
 * u64le step || params || m || v || samples || u32le loss_bits.  Every
 * 140-byte string is a record, so there is nothing to refuse. */
static void state_decode(const uint8_t in[CAIRN_STATE_BYTES],
                         struct cairn_state *st)
{
	memset(st, 0, sizeof *st);
	st->step = cairn__get_u64le(in);
	memcpy(st->params, in + 8, CAIRN_HASH_BYTES);
	memcpy(st->m, in + 40, CAIRN_HASH_BYTES);
	memcpy(st->v, in + 72, CAIRN_HASH_BYTES);
	memcpy(st->samples, in + 104, CAIRN_HASH_BYTES);
	st->loss_bits = cairn__get_u32le(in + 136);
}

static void hex(const uint8_t h[CAIRN_HASH_BYTES],
                char out[CAIRN_HASH_HEX_BYTES])
{
	if (cairn_hash_to_hex(h, out))
		snprintf(out, CAIRN_HASH_HEX_BYTES, "?");
}

/* ---- reading: the checks ------------------------------------------------- */

int cairn__bundle_check_record(const struct cairn_task_spec *spec,
                               const uint8_t *state_roots, uint32_t i,
                               const struct cairn_state *st, int zero_mv,
                               const char *name, int *step, char *err,
                               size_t errlen)
{
	const uint8_t *want = state_roots + (size_t)i * CAIRN_HASH_BYTES;
	uint8_t root[CAIRN_HASH_BYTES], empty[CAIRN_HASH_BYTES];
	char h1[CAIRN_HASH_HEX_BYTES], h2[CAIRN_HASH_HEX_BYTES];
	int rc;

	rc = cairn_state_root(st, root);
	if (!rc && i == 0)
		rc = cairn_samples_digest(NULL, 0, empty);
	if (rc) {
		cairn__seterr(err, errlen,
		              "%s: hashing checkpoint %" PRIu32 ": %s", name, i,
		              cairn_strerror(rc));
		return rc;
	}
	if (!cairn_hash_equal(root, want)) {
		hex(root, h1);
		hex(want, h2);
		cairn__seterr(
		    err, errlen,
		    "%s: checkpoint %" PRIu32 " (t = %" PRIu64 "): its "
		    "tensors, samples and loss hash to state root %s, but "
		    "the signed trace has %s there: the checkpoint is "
		    "corrupt or not the state the worker committed to",
		    name, i, st->step, h1, h2);
		*step = 27;
		return CAIRN_ECRYPTO;
	}
	/* t = 0 is W_r with m = v = +0, no samples and loss bits 0. */
	if (i == 0 &&
	    (!cairn_hash_equal(st->params, spec->params_root) || !zero_mv ||
	     !cairn_hash_equal(st->samples, empty) || st->loss_bits)) {
		hex(st->params, h1);
		hex(spec->params_root, h2);
		cairn__seterr(
		    err, errlen,
		    "%s: the signed state at t = 0 is not the task's start "
		    "(parameters %s, want W_r = %s; m and v %s; samples "
		    "digest %s the empty list's; loss bits 0x%08" PRIx32
		    ", want 0): the worker did not start from the spec",
		    name, h1, h2, zero_mv ? "all +0" : "NOT all +0",
		    cairn_hash_equal(st->samples, empty) ? "is" : "is NOT",
		    st->loss_bits);
		*step = 28;
		return CAIRN_EMISMATCH;
	}
	return 0;
}

int cairn__bundle_read_tensors(const struct cairn__bundle_src *s,
                               const struct cairn__bundle_cp_span *cp,
                               size_t bytes, const uint8_t *vzero, float **t[3],
                               struct cairn_state *st, uint32_t i, char *err,
                               size_t errlen)
{
	uint8_t *roots[3] = {st->params, st->m, st->v};
	int rc;

	for (int k = 0; k < 3; k++) {
		const int zero = k == 2 && vzero;
		*t[k] = zero ? calloc(1, bytes ? bytes : 1)
		             : malloc(bytes ? bytes : 1);
		if (!*t[k]) {
			cairn__seterr(
			    err, errlen,
			    "%s: out of memory for checkpoint %" PRIu32
			    " (%zu bytes a tensor)",
			    s->name, i, bytes);
			return CAIRN_ENOMEM;
		}
		if (zero) { /* SGD: not in the file, +0 throughout */
			memcpy(roots[k], vzero, CAIRN_HASH_BYTES);
			continue;
		}
		rc = cairn__bundle_src_read(s, cp->off[k], *t[k], bytes, err,
		                            errlen);
		if (rc)
			return rc;
		rc = cairn_tensor_root(*t[k], bytes, roots[k]);
		if (rc) {
			cairn__seterr(err, errlen,
			              "%s: hashing checkpoint %" PRIu32 ": %s",
			              s->name, i, cairn_strerror(rc));
			return rc;
		}
	}
	return 0;
}

/* The record cp claims, but for its tensors' roots. */
static void span_state(const struct cairn__bundle_cp_span *cp,
                       struct cairn_state *st)
{
	memset(st, 0, sizeof *st);
	st->step = cp->step;
	memcpy(st->samples, cp->samples, CAIRN_HASH_BYTES);
	st->loss_bits = cp->loss_bits;
}

/* The state root of the task's start, which a lazy reader checks state
 * root 0 against: W_r (the spec's parameters root), m = v = +0, the empty
 * samples digest, loss bits 0. */
static int start_root(const struct cairn_task_spec *spec, size_t bytes,
                      uint8_t out[CAIRN_HASH_BYTES])
{
	struct cairn_state st;
	int rc;

	memset(&st, 0, sizeof st);
	rc = cairn_tensor_zero_root(bytes, st.m);
	if (!rc)
		rc = cairn_samples_digest(NULL, 0, st.samples);
	if (rc)
		return rc;
	memcpy(st.v, st.m, CAIRN_HASH_BYTES);
	memcpy(st.params, spec->params_root, CAIRN_HASH_BYTES);
	return cairn_state_root(&st, out);
}

int cairn__bundle_check_result(const struct cairn__bundle_src *s,
                               const struct cairn__bundle_layout *L,
                               struct cairn_bundle *nb, int *step, char *err,
                               size_t errlen)
{
	const char *name = s->name;
	uint8_t spec[CAIRN_TASK_SPEC_BYTES], res[CAIRN_TASK_RESULT_BYTES];
	uint8_t id[CAIRN_HASH_BYTES];
	char h1[CAIRN_HASH_HEX_BYTES], h2[CAIRN_HASH_HEX_BYTES], sub[256];
	int rc;

	/* 9 to 11: format, spec and result.  A field of another length is
	 * not read: the decoders refuse its length before reading. */
	if (L->format != CAIRN_BUNDLE_FORMAT) {
		cairn__seterr(
		    err, errlen,
		    "%s: bundle format %" PRIu32
		    "; this cairn reads format %d only%s",
		    name, L->format, CAIRN_BUNDLE_FORMAT,
		    L->format == 1
		        ? " (format 1 bundles, from before the step "
		          "log, cannot be audited: run the task again "
		          "with this cairn)"
		        : "");
		return CAIRN_EFORMAT;
	}
	memset(spec, 0, sizeof spec);
	memset(res, 0, sizeof res);
	rc = L->len[2] == sizeof spec
	         ? cairn__bundle_src_read(s, L->off[2], spec, sizeof spec, err,
	                                  errlen)
	         : 0;
	if (!rc && L->len[3] == sizeof res)
		rc = cairn__bundle_src_read(s, L->off[3], res, sizeof res, err,
		                            errlen);
	if (!rc && L->len[4] == CAIRN_SIGNATURE_BYTES)
		rc = cairn__bundle_src_read(s, L->off[4], nb->signature,
		                            CAIRN_SIGNATURE_BYTES, err, errlen);
	if (rc)
		return rc;
	if (cairn_task_spec_decode(spec, (size_t)L->len[2], &nb->spec, sub,
	                           sizeof sub)) {
		cairn__seterr(err, errlen,
		              "%s: its task spec does not decode: %s", name,
		              sub);
		return CAIRN_EFORMAT;
	}
	if (cairn_task_result_decode(res, (size_t)L->len[3], &nb->result, sub,
	                             sizeof sub)) {
		cairn__seterr(err, errlen, "%s: its result does not decode: %s",
		              name, sub);
		return CAIRN_EFORMAT;
	}
	/* 12 to 15: the result is for this spec, signed by its worker key,
	 * and claims the spec's work. */
	rc = cairn_task_id(&nb->spec, id);
	if (rc) {
		cairn__seterr(err, errlen, "%s: task id: %s", name,
		              cairn_strerror(rc));
		return rc;
	}
	if (!cairn_hash_equal(id, nb->result.task_id)) {
		hex(nb->result.task_id, h1);
		hex(id, h2);
		cairn__seterr(
		    err, errlen,
		    "%s: the result is for task %s, but the bundle's spec "
		    "is task %s: a result of another task",
		    name, h1, h2);
		*step = 12;
		return CAIRN_ECRYPTO;
	}
	if (L->len[4] != CAIRN_SIGNATURE_BYTES) {
		cairn__seterr(err, errlen,
		              "%s: the signature is %" PRIu64 " bytes, want %d",
		              name, L->len[4], CAIRN_SIGNATURE_BYTES);
		return CAIRN_EFORMAT;
	}
	if (cairn_task_result_verify(&nb->result, nb->signature)) {
		hex(nb->result.worker_key, h1);
		cairn__seterr(
		    err, errlen,
		    "%s: the signature does not verify with the result's "
		    "worker key %s: the result was altered or signed by "
		    "another key",
		    name, h1);
		*step = 14;
		return CAIRN_ECRYPTO;
	}
	if (nb->result.flops != cairn_task_flops(&nb->spec)) {
		cairn__seterr(
		    err, errlen,
		    "%s: the result claims %" PRIu64 " FLOPs; the task's "
		    "work is %" PRIu64,
		    name, nb->result.flops, cairn_task_flops(&nb->spec));
		*step = 15;
		return CAIRN_EMISMATCH;
	}
	return 0;
}

/* Steps 21 to 23: the step log (field 8) into nb->steps, its root, and
 * its last record against the final state.  *step is set to 22 or 23 when
 * one refuses the bundle. */
static int check_steps(const struct cairn__bundle_src *s,
                       const struct cairn__bundle_layout *L,
                       struct cairn_bundle *nb, int *step, char *err,
                       size_t errlen)
{
	const char *name = s->name;
	const uint32_t H = nb->spec.inner_steps, c = nb->spec.checkpoint_every;
	const uint64_t want = (uint64_t)H * CAIRN_STEP_RECORD_BYTES;
	uint8_t root[CAIRN_HASH_BYTES];
	char h1[CAIRN_HASH_HEX_BYTES], h2[CAIRN_HASH_HEX_BYTES];
	int rc;

	if (L->len[8] != want) {
		cairn__seterr(
		    err, errlen,
		    "%s: the step log is %" PRIu64 " bytes; the task's "
		    "H = %" PRIu32 " steps need %" PRIu64 " (%d bytes a step)",
		    name, L->len[8], H, want, CAIRN_STEP_RECORD_BYTES);
		return CAIRN_EFORMAT;
	}
	nb->steps = malloc((size_t)want);
	if (!nb->steps) {
		cairn__seterr(err, errlen, "%s: out of memory for the step log",
		              name);
		return CAIRN_ENOMEM;
	}
	rc = cairn__bundle_src_read(s, L->off[8], nb->steps, (size_t)want, err,
	                            errlen);
	if (rc)
		return rc;
	rc = cairn_step_log_root(nb->steps, H / c, c, root);
	if (rc) {
		cairn__seterr(err, errlen, "%s: steps root: %s", name,
		              cairn_strerror(rc));
		return rc;
	}
	if (!cairn_hash_equal(root, nb->result.steps_root)) {
		hex(root, h1);
		hex(nb->result.steps_root, h2);
		cairn__seterr(
		    err, errlen,
		    "%s: the step log gives steps root %s, but the signed "
		    "result has %s: the step log was altered",
		    name, h1, h2);
		*step = 22;
		return CAIRN_ECRYPTO;
	}
	if (!cairn__bundle_step_agrees(nb->steps, H, &nb->final_state)) {
		const uint8_t *rec =
		    nb->steps + (size_t)(H - 1) * CAIRN_STEP_RECORD_BYTES;
		hex(nb->final_state.samples, h1);
		hex(rec, h2);
		cairn__seterr(
		    err, errlen,
		    "%s: the final state (t = %" PRIu32 ") has samples "
		    "digest %s and loss bits 0x%08" PRIx32 ", but the signed "
		    "step log's record of step %" PRIu32 " has %s and "
		    "0x%08" PRIx32 ": the final state or the step log is false",
		    name, H, h1, nb->final_state.loss_bits, H, h2,
		    cairn__get_u32le(rec + CAIRN_HASH_BYTES));
		*step = 23;
		return CAIRN_ECRYPTO;
	}
	return 0;
}

/* 20, with SGD: the final state's v root is that of param_count zero
 * floats (v is +0 in every state of an SGD task; the checkpoints' v are
 * checked as they are hashed, 27). */
static int check_final_v(const struct cairn_bundle *nb, const char *name,
                         int *step, char *err, size_t errlen)
{
	uint8_t zero[CAIRN_HASH_BYTES];
	char h1[CAIRN_HASH_HEX_BYTES];
	int rc;

	if (!cairn__bundle_no_v(&nb->spec))
		return 0;
	rc = cairn_tensor_zero_root((size_t)nb->param_count * sizeof(float),
	                            zero);
	if (rc) {
		cairn__seterr(err, errlen, "%s: the zero v's root: %s", name,
		              cairn_strerror(rc));
		return rc;
	}
	if (cairn_hash_equal(nb->final_state.v, zero))
		return 0;
	hex(nb->final_state.v, h1);
	cairn__seterr(err, errlen,
	              "%s: the final state's v root is %s, but the task's "
	              "optimizer is SGD, whose v is +0 in every state",
	              name, h1);
	*step = 20;
	return CAIRN_EMISMATCH;
}

int cairn__bundle_check_trace(const struct cairn__bundle_src *s,
                              const struct cairn__bundle_layout *L,
                              struct cairn_bundle *nb, int *step, uint32_t *bad,
                              char *err, size_t errlen)
{
	const char *name = s->name;
	uint8_t fin[CAIRN_STATE_BYTES];
	uint8_t troot[CAIRN_HASH_BYTES], froot[CAIRN_HASH_BYTES];
	char h1[CAIRN_HASH_HEX_BYTES], h2[CAIRN_HASH_HEX_BYTES];
	size_t bytes;
	uint32_t n, c;
	int rc = 0, no_v;

	/* 16 and 17: the state roots and the trace root. */
	n = cairn_task_state_count(&nb->spec);
	c = nb->spec.checkpoint_every;
	if (L->nroots != n) {
		cairn__seterr(err, errlen,
		              "%s: %" PRIu64
		              " state roots; the task (H = %" PRIu32
		              ", c = %" PRIu32 ") has %" PRIu32,
		              name, L->nroots, nb->spec.inner_steps, c, n);
		return CAIRN_EFORMAT;
	}
	for (uint32_t i = 0; i < n; i++)
		if (L->roots[i][1] != CAIRN_HASH_BYTES) {
			cairn__seterr(err, errlen,
			              "%s: state root %" PRIu32 " (t = %" PRIu64
			              ") is %" PRIu64 " bytes, want %d",
			              name, i, (uint64_t)i * c, L->roots[i][1],
			              CAIRN_HASH_BYTES);
			return CAIRN_EFORMAT;
		}
	nb->nstates = n;
	nb->param_count = cairn__bundle_param_count(&nb->spec);
	nb->state_roots = malloc((size_t)n * CAIRN_HASH_BYTES);
	nb->checkpoints = calloc(n - 1, sizeof *nb->checkpoints);
	if (!nb->state_roots || !nb->checkpoints) {
		cairn__seterr(err, errlen, "%s: out of memory", name);
		return CAIRN_ENOMEM;
	}
	for (uint32_t i = 0; i < n && !rc; i++)
		rc = cairn__bundle_src_read(s, L->roots[i][0],
		                            nb->state_roots +
		                                (size_t)i * CAIRN_HASH_BYTES,
		                            CAIRN_HASH_BYTES, err, errlen);
	if (rc)
		return rc;
	rc = cairn_trace_root(nb->state_roots, n, troot);
	if (rc) {
		cairn__seterr(err, errlen, "%s: trace root: %s", name,
		              cairn_strerror(rc));
		return rc;
	}
	if (!cairn_hash_equal(troot, nb->result.trace_root)) {
		hex(troot, h1);
		hex(nb->result.trace_root, h2);
		cairn__seterr(
		    err, errlen,
		    "%s: the state roots give trace root %s, but the signed "
		    "result has %s: the state roots were altered",
		    name, h1, h2);
		*step = 17;
		return CAIRN_ECRYPTO;
	}
	/* 18 to 20: the final state. */
	if (L->len[6] != CAIRN_STATE_BYTES) {
		cairn__seterr(err, errlen,
		              "%s: the final state is %" PRIu64
		              " bytes, want %d",
		              name, L->len[6], CAIRN_STATE_BYTES);
		return CAIRN_EFORMAT;
	}
	rc = cairn__bundle_src_read(s, L->off[6], fin, sizeof fin, err, errlen);
	if (rc)
		return rc;
	state_decode(fin, &nb->final_state);
	if (nb->final_state.step != nb->spec.inner_steps) {
		cairn__seterr(err, errlen,
		              "%s: the final state is at step %" PRIu64
		              ", want t = H = %" PRIu32,
		              name, nb->final_state.step, nb->spec.inner_steps);
		return CAIRN_EFORMAT;
	}
	rc = cairn_state_root(&nb->final_state, froot);
	if (rc) {
		cairn__seterr(err, errlen, "%s: final state root: %s", name,
		              cairn_strerror(rc));
		return rc;
	}
	if (!cairn_hash_equal(froot, nb->state_roots +
	                                 (size_t)(n - 1) * CAIRN_HASH_BYTES)) {
		hex(froot, h1);
		hex(nb->state_roots + (size_t)(n - 1) * CAIRN_HASH_BYTES, h2);
		cairn__seterr(err, errlen,
		              "%s: the final state (t = %" PRIu32
		              ") has root %s, but the trace's last state root "
		              "is %s",
		              name, nb->spec.inner_steps, h1, h2);
		*step = 19;
		return CAIRN_ECRYPTO;
	}
	if (!cairn_hash_equal(nb->final_state.params,
	                      nb->result.final_params_root)) {
		hex(nb->final_state.params, h1);
		hex(nb->result.final_params_root, h2);
		cairn__seterr(
		    err, errlen,
		    "%s: the final state's parameters root %s is not the "
		    "signed result's %s",
		    name, h1, h2);
		*step = 20;
		return CAIRN_ECRYPTO;
	}
	rc = check_final_v(nb, name, step, err, errlen);
	if (!rc)
		rc = check_steps(s, L, nb, step, err, errlen);
	if (rc)
		return rc;
	/* 24 to 26: the checkpoints' count, steps, lengths, samples and
	 * losses. */
	bytes = (size_t)nb->param_count * sizeof(float);
	no_v = cairn__bundle_no_v(&nb->spec);
	if (L->ncps != n - 1) {
		cairn__seterr(
		    err, errlen,
		    "%s: %" PRIu64 " checkpoints; the task has %" PRIu32
		    " (t = 0, %" PRIu32 ", ..., H - c = %" PRIu32 ")",
		    name, L->ncps, n - 1, c, nb->spec.inner_steps - c);
		return CAIRN_EFORMAT;
	}
	for (uint32_t i = 0; i < n - 1; i++) {
		const struct cairn__bundle_cp_span *cp = &L->cps[i];
		if (cp->step != (uint64_t)i * c) {
			cairn__seterr(
			    err, errlen,
			    "%s: checkpoint %" PRIu32 " is at step %" PRIu64
			    ", want t = %" PRIu64 " (checkpoints come in "
			    "step order, every c = %" PRIu32 " steps)",
			    name, i, cp->step, (uint64_t)i * c, c);
			return CAIRN_EFORMAT;
		}
		if (no_v && cp->len[2]) {
			cairn__seterr(
			    err, errlen,
			    "%s: checkpoint %" PRIu32 " (t = %" PRIu64
			    ") carries a v tensor (field 6, %" PRIu64
			    " bytes), but the task's optimizer is SGD and "
			    "SGD bundles carry no v (it is +0 throughout): "
			    "write the bundle again with this cairn",
			    name, i, cp->step, cp->len[2]);
			return CAIRN_EFORMAT;
		}
		if (cp->samples_len != CAIRN_HASH_BYTES ||
		    cp->len[0] != bytes || cp->len[1] != bytes ||
		    cp->len[2] != (no_v ? 0 : bytes)) {
			cairn__seterr(
			    err, errlen,
			    "%s: checkpoint %" PRIu32 " (t = %" PRIu64
			    "): samples digest %" PRIu64 " bytes (want %d), "
			    "params/m/v %" PRIu64 "/%" PRIu64 "/%" PRIu64
			    " bytes (want %zu each, %" PRId64
			    " floats of the spec's model)",
			    name, i, cp->step, cp->samples_len,
			    CAIRN_HASH_BYTES, cp->len[0], cp->len[1],
			    cp->len[2], bytes, nb->param_count);
			return CAIRN_EFORMAT;
		}
	}
	for (uint32_t i = 1; i < n - 1; i++) {
		struct cairn_state st;
		span_state(&L->cps[i], &st);
		if (!cairn__bundle_step_agrees(nb->steps, nb->spec.inner_steps,
		                               &st)) {
			const uint8_t *rec =
			    nb->steps +
			    (size_t)(st.step - 1) * CAIRN_STEP_RECORD_BYTES;
			hex(st.samples, h1);
			hex(rec, h2);
			cairn__seterr(
			    err, errlen,
			    "%s: checkpoint %" PRIu32 " (t = %" PRIu64 ") "
			    "has samples digest %s and loss bits 0x%08" PRIx32
			    ", but the signed step log's record of step "
			    "%" PRIu64 " has %s and 0x%08" PRIx32
			    ": the checkpoint or the "
			    "step log is false",
			    name, i, st.step, h1, st.loss_bits, st.step, h2,
			    cairn__get_u32le(rec + CAIRN_HASH_BYTES));
			*step = 26;
			*bad = i;
			return CAIRN_ECRYPTO;
		}
	}
	return 0;
}

int cairn__bundle_check_all(const struct cairn__bundle_src *s,
                            const struct cairn__bundle_layout *L,
                            struct cairn_bundle *nb, int *step, uint32_t *bad,
                            char *err, size_t errlen)
{
	const size_t bytes = (size_t)nb->param_count * sizeof(float);
	const int no_v = cairn__bundle_no_v(&nb->spec);
	uint8_t vzero[CAIRN_HASH_BYTES];
	int rc;

	rc = no_v ? cairn_tensor_zero_root(bytes, vzero) : 0;
	if (rc) {
		cairn__seterr(err, errlen, "%s: the zero v's root: %s", s->name,
		              cairn_strerror(rc));
		return rc;
	}
	for (uint32_t i = 0; i + 1 < nb->nstates; i++) {
		struct cairn_bundle_checkpoint *cp = &nb->checkpoints[i];
		float **t[3] = {&cp->params, &cp->m, &cp->v};
		struct cairn_state st;

		*bad = i;
		span_state(&L->cps[i], &st);
		rc = cairn__bundle_read_tensors(s, &L->cps[i], bytes,
		                                no_v ? vzero : NULL, t, &st, i,
		                                err, errlen);
		if (!rc)
			rc = cairn__bundle_check_record(
			    &nb->spec, nb->state_roots, i, &st,
			    i || (cairn__bundle_all_zero(cp->m, bytes) &&
			          cairn__bundle_all_zero(cp->v, bytes)),
			    s->name, step, err, errlen);
		if (rc)
			return rc;
		cp->state = st;
		nb->ncheckpoints = i + 1;
	}
	*bad = UINT32_MAX;
	return 0;
}

int cairn__bundle_check_lazy(struct cairn__bundle_src *s, char **name,
                             const struct cairn__bundle_layout *L,
                             struct cairn_bundle *nb, int *step, char *err,
                             size_t errlen)
{
	const size_t bytes = (size_t)nb->param_count * sizeof(float);
	struct cairn_bundle_source *src;
	uint8_t root[CAIRN_HASH_BYTES];
	char h1[CAIRN_HASH_HEX_BYTES], h2[CAIRN_HASH_HEX_BYTES];
	char h3[CAIRN_HASH_HEX_BYTES];
	uint32_t ncp = nb->nstates - 1;
	int rc;

	rc = start_root(&nb->spec, bytes, root);
	if (rc) {
		cairn__seterr(err, errlen, "%s: the start's root: %s", s->name,
		              cairn_strerror(rc));
		return rc;
	}
	if (!cairn_hash_equal(root, nb->state_roots)) {
		hex(nb->state_roots, h1);
		hex(root, h2);
		hex(nb->spec.params_root, h3);
		cairn__seterr(
		    err, errlen,
		    "%s: the signed state at t = 0 is not the task's start "
		    "(state root %s, want %s: W_r = %s, m and v all +0, the "
		    "empty list's samples digest, loss bits 0): the worker "
		    "did not start from the spec",
		    s->name, h1, h2, h3);
		*step = 28;
		return CAIRN_EMISMATCH;
	}
	src = calloc(1, sizeof *src);
	if (src)
		src->off = malloc((size_t)ncp * 3 * sizeof *src->off);
	if (!src || !src->off) {
		free(src);
		cairn__seterr(err, errlen, "%s: out of memory", s->name);
		return CAIRN_ENOMEM;
	}
	for (uint32_t i = 0; i < ncp; i++) {
		span_state(&L->cps[i], &nb->checkpoints[i].state);
		memcpy(src->off + (size_t)i * 3, L->cps[i].off,
		       sizeof L->cps[i].off);
	}
	nb->ncheckpoints = ncp;
	src->fd = s->fd;
	src->len = s->len;
	src->name = *name;
	s->fd = -1;
	*name = NULL;
	nb->source = src;
	return 0;
}
