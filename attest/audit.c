/* cairn: the auditor (include/cairn/audit.h): challenge segments, replay
 * them from a bundle's checkpoints, signed verdicts.
 *
 * Ownership: cairn_audit_bundle makes one model on the caller's backend
 * for the call and frees it on every path; it only reads the bundle (for a
 * lazily read one, the drawn checkpoints' tensors from its file, through a
 * buffer it frees) and the dataset.  cairn_audit_read and _read_lazy hand
 * the bundle they read to the caller (cairn_bundle_free). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest_impl.h"
#include "cairn/audit.h"
#include "cairn/error.h"

/* ---- challenge --------------------------------------------------------- */

int cairn_audit_challenge(const uint8_t trace_root[CAIRN_HASH_BYTES],
                          const uint8_t nonce[CAIRN_HASH_BYTES], uint32_t nseg,
                          uint32_t s, uint32_t *out)
{
	uint8_t seen[(CAIRN_AUDIT_MAX_SEGMENTS + 7) / 8] = {0};
	uint8_t h[CAIRN_HASH_BYTES], ctr[4];
	struct cairn_hash_ctx ctx;
	uint64_t rem, x;
	uint32_t want, got = 0, counter = 0;
	int rc;

	if (!trace_root || !nonce || !out || nseg == 0 ||
	    nseg > CAIRN_AUDIT_MAX_SEGMENTS || s == 0)
		return CAIRN_EINVAL;
	want = s < nseg ? s : nseg;
	/* 2^64 mod nseg: x in the top rem values would favour small indices. */
	rem = (UINT64_C(0) - nseg) % nseg;
	while (got < want) {
		if (counter == UINT32_MAX)
			return CAIRN_EINTERNAL; /* ~never: 2^32 hashes */
		cairn__put_u32le(ctr, counter++);
		rc = cairn_hash_init(&ctx, CAIRN_DOM_CHALLENGE);
		if (!rc)
			rc = cairn_hash_update(&ctx, trace_root,
			                       CAIRN_HASH_BYTES);
		if (!rc)
			rc = cairn_hash_update(&ctx, nonce, CAIRN_HASH_BYTES);
		if (!rc)
			rc = cairn_hash_update(&ctx, ctr, sizeof ctr);
		if (!rc)
			rc = cairn_hash_final(&ctx, h);
		if (rc)
			return rc;
		x = cairn__get_u64le(h);
		if (rem && x >= UINT64_C(0) - rem)
			continue;
		x %= nseg;
		if (seen[x / 8] & (1u << (x % 8)))
			continue;
		seen[x / 8] |= (uint8_t)(1u << (x % 8));
		out[got++] = (uint32_t)x;
	}
	return 0;
}

/* ---- names -------------------------------------------------------------- */

const char *cairn_audit_check_name(int check)
{
	switch (check) {
	case CAIRN_AUDIT_OK:
		return "ok";
	case CAIRN_AUDIT_PROFILE:
		return "profile";
	case CAIRN_AUDIT_DATASET:
		return "dataset";
	case CAIRN_AUDIT_REVEAL:
		return "reveal";
	case CAIRN_AUDIT_REPLAY:
		return "replay";
	case CAIRN_AUDIT_SIGNATURE:
		return "signature";
	case CAIRN_AUDIT_TASK_ID:
		return "task-id";
	case CAIRN_AUDIT_WORK:
		return "work";
	case CAIRN_AUDIT_COMMITMENT:
		return "commitment";
	case CAIRN_AUDIT_START:
		return "start";
	case CAIRN_AUDIT_ASSIGNMENT:
		return "assignment";
	default:
		return "unknown";
	}
}

void cairn_audit_diff_names(uint32_t diff, char *out, size_t outlen)
{
	static const char *const names[] = {"params",  "m",    "v",
	                                    "samples", "loss", "step"};
	size_t n = 0;

	if (!out || !outlen)
		return;
	out[0] = '\0';
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		int w;
		if (!(diff & (1u << i)))
			continue;
		w = snprintf(out + n, outlen - n, "%s%s", n ? "," : "",
		             names[i]);
		if (w < 0 || (size_t)w >= outlen - n)
			return;
		n += (size_t)w;
	}
	if (!n)
		snprintf(out, outlen, "none");
}

/* ---- auditing a bundle -------------------------------------------------- */

static uint32_t state_diff(const struct cairn_state *a,
                           const struct cairn_state *b)
{
	uint32_t d = 0;
	if (a->step != b->step)
		d |= CAIRN_AUDIT_DIFF_STEP;
	if (memcmp(a->params, b->params, CAIRN_HASH_BYTES))
		d |= CAIRN_AUDIT_DIFF_PARAMS;
	if (memcmp(a->m, b->m, CAIRN_HASH_BYTES))
		d |= CAIRN_AUDIT_DIFF_M;
	if (memcmp(a->v, b->v, CAIRN_HASH_BYTES))
		d |= CAIRN_AUDIT_DIFF_V;
	if (memcmp(a->samples, b->samples, CAIRN_HASH_BYTES))
		d |= CAIRN_AUDIT_DIFF_SAMPLES;
	if (a->loss_bits != b->loss_bits)
		d |= CAIRN_AUDIT_DIFF_LOSS;
	return d;
}

/* The claimed record of state k (1 <= k < nstates) into *st: the final
 * state for the last; else checkpoint k's.  A lazily read bundle has not
 * hashed that one's tensors: they are loaded into md (whose replayed state
 * is no longer needed) and hashed there, and CAIRN_ECRYPTO says they are
 * not trace entry k either. */
static int claimed_state(const struct cairn_bundle *b, cairn_model *md,
                         uint32_t k, struct cairn_state *st)
{
	if (k + 1 == b->nstates) {
		*st = b->final_state;
		return 0;
	}
	if (b->checkpoints[k].params) {
		*st = b->checkpoints[k].state;
		return 0;
	}
	return cairn_bundle_load_checkpoint(b, k, md, st, NULL, 0);
}

static void reject(struct cairn_audit_verdict *v, int check, uint32_t seg,
                   uint32_t c, uint32_t diff)
{
	v->accepted = 0;
	v->check = (uint32_t)check;
	v->segment = seg;
	if (seg != CAIRN_AUDIT_NO_SEGMENT) {
		v->step_first = seg * c + 1;
		v->step_last = (seg + 1) * c;
	}
	v->diff = diff;
}

/* What one segment's audit found. */
struct seg_result {
	int bad_check;   /* CAIRN_AUDIT_REVEAL or _START: the checkpoint it
	                  * starts from is not the trace's (err says why) */
	int mismatch;    /* the replay disagrees with the worker's claim */
	int end_differs; /* ... in the state root at the segment's end */
	int diff_known;  /* diff compares with the claimed record */
	uint32_t diff;   /* CAIRN_AUDIT_DIFF_* at the end */
	uint32_t diff_step, diff_what;     /* the first difference */
	uint32_t loss_worker, loss_replay; /* at diff_step, when a record */
	uint32_t elem_tensor, elem_worker, elem_replay;
	uint64_t elem_count, elem_index;
	uint8_t root[CAIRN_HASH_BYTES]; /* the replayed state root */
};

/* The end state's tensors (params, m, v) as host arrays. */
struct host_state {
	float *t[3];
};

static void host_state_free(struct host_state *h)
{
	for (int k = 0; k < 3; k++)
		free(h->t[k]);
	memset(h, 0, sizeof *h);
}

/* Copies md's parameters, m and v to new host arrays. */
static int host_state_read(cairn_model *md, int64_t n, struct host_state *h)
{
	static const cairn_model_buf which[3] = {CAIRN_MODEL_PARAMS,
	                                         CAIRN_MODEL_M, CAIRN_MODEL_V};
	int rc = 0;

	memset(h, 0, sizeof *h);
	for (int k = 0; k < 3 && !rc; k++) {
		h->t[k] = malloc((size_t)n * sizeof(float) + 1);
		rc = h->t[k] ? cairn_model_read(md, which[k], h->t[k])
		             : CAIRN_ENOMEM;
	}
	if (rc)
		host_state_free(h);
	return rc;
}

/* The first tensor (params, m, v) in which the worker's and the replay's
 * end states differ, bit for bit: how many elements, the first, both
 * values. */
static void elem_diff(const float *const w[3], const float *const r[3],
                      int64_t n, struct seg_result *out)
{
	for (int k = 0; k < 3; k++) {
		uint64_t count = 0, first = 0;
		uint32_t wb = 0, rb = 0;
		for (int64_t i = 0; i < n; i++) {
			uint32_t a, b;
			memcpy(&a, &w[k][i], 4);
			memcpy(&b, &r[k][i], 4);
			if (a == b)
				continue;
			if (!count++) {
				first = (uint64_t)i;
				wb = a;
				rb = b;
			}
		}
		if (count) {
			out->elem_tensor = (uint32_t)k + 1;
			out->elem_count = count;
			out->elem_index = first;
			out->elem_worker = wb;
			out->elem_replay = rb;
			return;
		}
	}
}

/* After a replay of segment seg that disagrees with the trace at its end:
 * what differs in the state record (the claimed one: the final state, or
 * checkpoint seg + 1, loaded and checked into md where a lazily read
 * bundle has not) and, where the bundle holds the end state's tensors,
 * the first element.  md holds the replayed end state on entry. */
static void narrow_end(cairn_model *md, const struct cairn_bundle *b,
                       uint32_t seg, const struct cairn_state *end,
                       struct seg_result *r)
{
	const uint32_t k = seg + 1;
	struct host_state mine = {0}, theirs = {0};
	struct cairn_state want;
	int tensors = k + 1 < b->nstates; /* a checkpoint, not t = H */

	/* The replay's tensors first: loading a lazily read checkpoint
	 * overwrites md.  Without memory, no element is named. */
	if (tensors && host_state_read(md, b->param_count, &mine))
		tensors = 0;
	if (claimed_state(b, md, k, &want))
		goto out; /* checkpoint k is not trace entry k either */
	r->diff = state_diff(end, &want);
	r->diff_known = 1;
	if (!tensors || !(r->diff & (CAIRN_AUDIT_DIFF_PARAMS |
	                             CAIRN_AUDIT_DIFF_M | CAIRN_AUDIT_DIFF_V)))
		goto out;
	if (b->checkpoints[k].params) {
		const float *w[3] = {b->checkpoints[k].params,
		                     b->checkpoints[k].m, b->checkpoints[k].v};
		const float *m3[3] = {mine.t[0], mine.t[1], mine.t[2]};
		elem_diff(w, m3, b->param_count, r);
	} else if (!host_state_read(md, b->param_count, &theirs)) {
		const float *w[3] = {theirs.t[0], theirs.t[1], theirs.t[2]};
		const float *m3[3] = {mine.t[0], mine.t[1], mine.t[2]};
		elem_diff(w, m3, b->param_count, r);
	}
out:
	host_state_free(&mine);
	host_state_free(&theirs);
}

/* Loads the checkpoint segment seg starts from into md, checked
 * (cairn_bundle_load_checkpoint: a lazily read bundle's tensors are read
 * and hashed now), replays the segment, and compares every step's record
 * with b's step log and its end with b's trace.  0 with *r filled;
 * negative on a failure. */
static int audit_segment(cairn_model *md, const struct cairn_bundle *b,
                         const cairn_dataset *ds, uint32_t seg,
                         struct seg_result *r, char *err, size_t errlen)
{
	const struct cairn_task_spec *sp = &b->spec;
	const uint32_t c = sp->checkpoint_every;
	const uint8_t *wlog;
	struct cairn_state end;
	uint8_t *recs = NULL;
	uint32_t j;
	int rc;

	memset(r, 0, sizeof *r);
	recs = malloc((size_t)c * CAIRN_STEP_RECORD_BYTES);
	if (!recs) {
		cairn__seterr(err, errlen,
		              "out of memory for %" PRIu32 " step records", c);
		return CAIRN_ENOMEM;
	}
	rc = cairn_bundle_load_checkpoint(b, seg, md, NULL, err, errlen);
	if (rc == CAIRN_ECRYPTO || rc == CAIRN_EMISMATCH) {
		r->bad_check = rc == CAIRN_ECRYPTO ? CAIRN_AUDIT_REVEAL
		                                   : CAIRN_AUDIT_START;
		rc = 0;
		goto out;
	}
	if (rc)
		goto out;
	rc = cairn_task_replay(md, sp, ds, seg * c, (seg + 1) * c, &end, recs,
	                       err, errlen);
	if (!rc)
		rc = cairn_state_root(&end, r->root);
	if (rc)
		goto out;
	/* The first step whose record (samples digest, loss) differs. */
	wlog = b->steps + (size_t)seg * c * CAIRN_STEP_RECORD_BYTES;
	for (j = 0; j < c; j++) {
		const uint8_t *mine =
		    recs + (size_t)j * CAIRN_STEP_RECORD_BYTES;
		const uint8_t *theirs =
		    wlog + (size_t)j * CAIRN_STEP_RECORD_BYTES;
		if (!memcmp(mine, theirs, CAIRN_STEP_RECORD_BYTES))
			continue;
		r->mismatch = 1;
		r->diff_step = seg * c + 1 + j;
		if (memcmp(mine, theirs, CAIRN_HASH_BYTES))
			r->diff_what |= CAIRN_AUDIT_DIFF_SAMPLES;
		r->loss_replay = cairn__get_u32le(mine + CAIRN_HASH_BYTES);
		r->loss_worker = cairn__get_u32le(theirs + CAIRN_HASH_BYTES);
		if (r->loss_replay != r->loss_worker)
			r->diff_what |= CAIRN_AUDIT_DIFF_LOSS;
		break;
	}
	if (!cairn_hash_equal(r->root, b->state_roots + (size_t)(seg + 1) *
	                                                    CAIRN_HASH_BYTES)) {
		r->mismatch = 1;
		r->end_differs = 1;
		narrow_end(md, b, seg, &end, r);
		if (!r->diff_step) {
			/* Every step agrees: the difference is in the
			 * state at the end. */
			r->diff_step = (seg + 1) * c;
			r->diff_what = r->diff;
		}
	}
out:
	free(recs);
	return rc;
}

/* Names element i of the parameter layout (cairn/model.h: W_0 [d1 x d0]
 * row-major, b_0 [d1], W_1, b_1, ...): "W_1[17,300]" or "b_2[4]". */
static void elem_where(const cairn_mlp_spec *md, uint64_t i, char *out,
                       size_t outlen)
{
	uint64_t off = 0;
	int64_t in = md->input;

	snprintf(out, outlen, "?");
	for (int l = 0; l <= md->nhidden; l++) {
		int64_t d = l < md->nhidden ? md->hidden[l] : md->classes;
		uint64_t w = (uint64_t)(d * in);
		if (i < off + w) {
			snprintf(out, outlen, "W_%d[%" PRIu64 ",%" PRIu64 "]",
			         l, (i - off) / (uint64_t)in,
			         (i - off) % (uint64_t)in);
			return;
		}
		off += w;
		if (i < off + (uint64_t)d) {
			snprintf(out, outlen, "b_%d[%" PRIu64 "]", l, i - off);
			return;
		}
		off += (uint64_t)d;
		in = d;
	}
}

/* Writes the narrowing of r (segment seg, replayed on be) into out. */
static void narrow_text(const struct cairn_bundle *b, const char *be,
                        uint32_t seg, const struct seg_result *r, char *out,
                        size_t outlen)
{
	static const char *const tensor[4] = {"", "parameters", "m", "v"};
	const uint32_t c = b->spec.checkpoint_every;
	char names[96], hx[CAIRN_HASH_HEX_BYTES], hy[CAIRN_HASH_HEX_BYTES];
	char where[160] = "";
	size_t n = 0;
	int w;

#define NARROW_PUT(...)                                                        \
	do {                                                                   \
		w = snprintf(out + n, outlen - n, __VA_ARGS__);                \
		if (w < 0 || (size_t)w >= outlen - n)                          \
			return;                                                \
		n += (size_t)w;                                                \
	} while (0)

	if (!out || !outlen)
		return;
	out[0] = '\0';
	cairn_audit_diff_names(r->diff_what, names, sizeof names);
	NARROW_PUT("check replay: segment %" PRIu32 " (steps %" PRIu32
	           "..%" PRIu32 ") replayed on %s: first difference at step "
	           "%" PRIu32 ": %s",
	           seg, seg * c + 1, (seg + 1) * c, be, r->diff_step,
	           r->diff_known || !r->end_differs || r->diff_what
	               ? names
	               : "unknown");
	if (r->diff_what & CAIRN_AUDIT_DIFF_SAMPLES)
		NARROW_PUT(" (the worker trained on other samples than the "
		           "spec draws)");
	/* A loss from the same samples differs because the parameters going
	 * into the step do: an earlier update, or the step's own forward
	 * pass, was not computed as the spec says. */
	if ((r->diff_what & CAIRN_AUDIT_DIFF_LOSS) &&
	    !(r->diff_what & CAIRN_AUDIT_DIFF_SAMPLES) && r->end_differs)
		NARROW_PUT(" (loss bits worker 0x%08" PRIx32
		           ", replay 0x%08" PRIx32
		           ": on the same samples, so the worker's parameters "
		           "or forward pass at step %" PRIu32 " are not the "
		           "replay's)",
		           r->loss_worker, r->loss_replay, r->diff_step);
	else if (r->diff_what & CAIRN_AUDIT_DIFF_LOSS)
		NARROW_PUT(" (loss bits worker 0x%08" PRIx32
		           ", replay 0x%08" PRIx32 ")",
		           r->loss_worker, r->loss_replay);
	if (!r->end_differs) {
		NARROW_PUT("; the segment still ends on the committed state "
		           "root, so the step log is false");
		return;
	}
	cairn_hash_to_hex(r->root, hx);
	cairn_hash_to_hex(b->state_roots + (size_t)(seg + 1) * CAIRN_HASH_BYTES,
	                  hy);
	if (r->diff_known)
		cairn_audit_diff_names(r->diff, names, sizeof names);
	else
		snprintf(names, sizeof names,
		         "unknown (checkpoint %" PRIu32
		         " is not trace entry %" PRIu32 " either)",
		         seg + 1, seg + 1);
	NARROW_PUT("; the replay ends on state root %s, but the trace commits "
	           "to %s at step %" PRIu32 "; the end state differs in: %s",
	           hx, hy, (seg + 1) * c, names);
	if (r->elem_tensor) {
		elem_where(&b->spec.model, r->elem_index, where, sizeof where);
		NARROW_PUT("; %" PRIu64 " of the %" PRId64 " elements of %s "
		           "differ, the first at index %" PRIu64 " (%s): "
		           "worker 0x%08" PRIx32 ", replay 0x%08" PRIx32,
		           r->elem_count, b->param_count,
		           tensor[r->elem_tensor], r->elem_index, where,
		           r->elem_worker, r->elem_replay);
	}
#undef NARROW_PUT
}

int cairn_audit_bundle(cairn_backend *be, const struct cairn_bundle *b,
                       const cairn_dataset *ds,
                       const uint8_t dataset_root[CAIRN_HASH_BYTES],
                       const uint8_t nonce[CAIRN_HASH_BYTES], uint32_t s,
                       struct cairn_audit_verdict *v, char *err, size_t errlen)
{
	const struct cairn_task_spec *sp;
	cairn_model *md = NULL;
	char hx[CAIRN_HASH_HEX_BYTES], hy[CAIRN_HASH_HEX_BYTES];
	char why[1536];
	uint32_t nseg, c;
	int rc;

	if (!v)
		return CAIRN_EINVAL;
	memset(v, 0, sizeof *v);
	if (!be || !b || !ds || !dataset_root || !nonce || s == 0) {
		cairn__seterr(err, errlen,
		              "cairn_audit_bundle: missing argument or s = 0");
		return CAIRN_EINVAL;
	}
	sp = &b->spec;
	c = sp->checkpoint_every;
	if (b->nstates < 2 || !b->state_roots || !b->checkpoints || !b->steps ||
	    b->ncheckpoints != b->nstates - 1 || c == 0 ||
	    b->nstates != cairn_task_state_count(sp)) {
		cairn__seterr(err, errlen,
		              "the bundle is incomplete (%" PRIu32
		              " of %" PRIu32 " checkpoints, %s step log); read "
		              "it with cairn_bundle_read first",
		              b->ncheckpoints, b->nstates ? b->nstates - 1 : 0,
		              b->steps ? "its" : "no");
		return CAIRN_EINVAL;
	}
	/* A spec this auditor cannot replay is not the worker's fault: no
	 * verdict, an error (an honest bundle is never rejected). */
	if (strncmp(sp->profile, CAIRN_PROFILE_EXACT, CAIRN_TASK_PROFILE_MAX)) {
		char q[4 * CAIRN_TASK_PROFILE_MAX + 4];
		cairn__seterr(err, errlen,
		              "cannot audit: the spec's numeric profile '%s' "
		              "is not '%s', the one this cairn replays; audit "
		              "it with a cairn that runs that profile",
		              cairn__field_quote(sp->profile,
		                                 CAIRN_TASK_PROFILE_MAX, q,
		                                 sizeof q),
		              CAIRN_PROFILE_EXACT);
		return CAIRN_ENOTSUP;
	}
	if (!cairn_hash_equal(sp->dataset_root, dataset_root)) {
		cairn_hash_to_hex(sp->dataset_root, hx);
		cairn_hash_to_hex(dataset_root, hy);
		cairn__seterr(err, errlen,
		              "cannot audit: the spec trains on dataset root "
		              "%s but the local data's root is %s; audit with "
		              "the spec's data (--data DIR)",
		              hx, hy);
		return CAIRN_EMISMATCH;
	}
	nseg = b->nstates - 1;
	memcpy(v->task_id, b->result.task_id, CAIRN_HASH_BYTES);
	memcpy(v->trace_root, b->result.trace_root, CAIRN_HASH_BYTES);
	memcpy(v->nonce, nonce, CAIRN_HASH_BYTES);
	v->accepted = 1;
	v->check = CAIRN_AUDIT_OK;
	v->segment = CAIRN_AUDIT_NO_SEGMENT;
	rc = cairn_audit_challenge(v->trace_root, nonce, nseg, s, v->segments);
	if (rc) {
		cairn__seterr(err, errlen, "cannot draw the challenge: %s",
		              cairn_strerror(rc));
		goto fail;
	}
	v->nsegments = s < nseg ? s : nseg;

	rc = cairn_model_create(be, &sp->model, sp->batch, (int)sp->micro, &md);
	if (rc) {
		cairn__seterr(err, errlen,
		              "cannot make the spec's model on the %s "
		              "backend: %s",
		              cairn_backend_name(be), cairn_strerror(rc));
		goto fail;
	}
	for (uint32_t i = 0; i < v->nsegments; i++) {
		uint32_t seg = v->segments[i];
		struct seg_result r;

		rc = audit_segment(md, b, ds, seg, &r, err, errlen);
		if (rc)
			goto fail;
		if (r.bad_check) {
			/* err holds the reader's message for the checkpoint. */
			snprintf(why, sizeof why, "%s",
			         err && errlen ? err : "");
			reject(v, r.bad_check,
			       r.bad_check == CAIRN_AUDIT_REVEAL
			           ? seg
			           : CAIRN_AUDIT_NO_SEGMENT,
			       c, 0);
			cairn__seterr(err, errlen,
			              "check %s: segment %" PRIu32
			              " (steps %" PRIu32 "..%" PRIu32 "): %s",
			              cairn_audit_check_name(r.bad_check), seg,
			              seg * c + 1, (seg + 1) * c, why);
			goto out;
		}
		if (r.mismatch) {
			reject(v, CAIRN_AUDIT_REPLAY, seg, c, r.diff);
			v->diff_step = r.diff_step;
			v->diff_what = r.diff_what;
			v->elem_tensor = r.elem_tensor;
			v->elem_count = r.elem_count;
			v->elem_index = r.elem_index;
			v->elem_worker = r.elem_worker;
			v->elem_replay = r.elem_replay;
			narrow_text(b, cairn_backend_name(be), seg, &r, why,
			            sizeof why);
			cairn__seterr(err, errlen, "%s", why);
			goto out;
		}
	}
	if (err && errlen)
		err[0] = '\0';
out:
	cairn_model_free(md);
	return 0;
fail:
	cairn_model_free(md);
	memset(v, 0, sizeof *v);
	return rc;
}

/* ---- rejections found when a bundle is read ------------------------------ */

/* The check a reader's refusal names (docs/bundle-format.md section 4's
 * step numbers); -1 for none. */
static int refusal_check(int step)
{
	switch (step) {
	case 12:
		return CAIRN_AUDIT_TASK_ID;
	case 14:
		return CAIRN_AUDIT_SIGNATURE;
	case 15:
		return CAIRN_AUDIT_WORK;
	case 17:
	case 19:
	case 20:
	case 22:
	case 23:
	case 26:
		return CAIRN_AUDIT_COMMITMENT;
	case 27:
		return CAIRN_AUDIT_REVEAL;
	case 28:
		return CAIRN_AUDIT_START;
	default:
		return -1;
	}
}

/* After the reader gave rc, with *why and its message rerr: a rejection
 * of the worker's claim (0, *rejected = 1, *v filled) or an error (rc, or
 * CAIRN_EINTERNAL for a refusal that names no check) with err set. */
static int sort_read(int rc, const struct cairn_bundle_refusal *why,
                     const char *name, const char *rerr,
                     struct cairn_audit_verdict *v, int *rejected, char *err,
                     size_t errlen)
{
	int check;

	if (!rc) {
		cairn__seterr(err, errlen, "no error");
		return 0;
	}
	if (rc != CAIRN_ECRYPTO && rc != CAIRN_EMISMATCH) {
		cairn__seterr(err, errlen, "%s", rerr);
		return rc;
	}
	check = refusal_check(why->step);
	if (check < 0) {
		cairn__seterr(err, errlen,
		              "%s: the reader refused it (%s) but named no "
		              "check: a bug in cairn, please report it",
		              name, rerr);
		return CAIRN_EINTERNAL;
	}
	/* The task the file answers, not the one its result may name. */
	memcpy(v->task_id, why->task_id, CAIRN_HASH_BYTES);
	memcpy(v->trace_root, why->result.trace_root, CAIRN_HASH_BYTES);
	reject(v, check,
	       check == CAIRN_AUDIT_REVEAL ? why->checkpoint
	                                   : CAIRN_AUDIT_NO_SEGMENT,
	       why->spec.checkpoint_every, 0);
	*rejected = 1;
	cairn__seterr(err, errlen, "check %s: %s",
	              cairn_audit_check_name(check), rerr);
	return 0;
}

/* 0 when the out arguments are there (zeroed); CAIRN_EINVAL with err. */
static int read_args(int have_in, struct cairn_bundle *b,
                     struct cairn_audit_verdict *v, int *rejected,
                     const char *fn, char *err, size_t errlen)
{
	if (v)
		memset(v, 0, sizeof *v);
	if (rejected)
		*rejected = 0;
	if (have_in && b && v && rejected)
		return 0;
	if (b)
		memset(b, 0, sizeof *b);
	cairn__seterr(err, errlen, "%s: missing argument", fn);
	return CAIRN_EINVAL;
}

int cairn_audit_decode(const uint8_t *buf, size_t len, const char *name,
                       struct cairn_bundle *b, struct cairn_audit_verdict *v,
                       int *rejected, char *err, size_t errlen)
{
	struct cairn_bundle_refusal why;
	char rerr[10240]; /* room for a path of PATH_MAX and why */
	int rc;

	/* A NULL buf with bytes is the reader's to refuse. */
	rc = read_args(1, b, v, rejected, "cairn_audit_decode", err, errlen);
	if (rc)
		return rc;
	if (!name)
		name = "bundle";
	rc = cairn_bundle_decode_ex(buf, len, name, b, &why, rerr, sizeof rerr);
	return sort_read(rc, &why, name, rerr, v, rejected, err, errlen);
}

/* cairn_audit_read and _read_lazy. */
static int audit_read(const char *path, int lazy, struct cairn_bundle *b,
                      struct cairn_audit_verdict *v, int *rejected, char *err,
                      size_t errlen)
{
	struct cairn_bundle_read_opts o = {.lazy = lazy};
	struct cairn_bundle_refusal why;
	char rerr[10240], name[4200]; /* room for a long path and why */
	int rc;

	rc = read_args(path != NULL, b, v, rejected,
	               lazy ? "cairn_audit_read_lazy" : "cairn_audit_read", err,
	               errlen);
	if (rc)
		return rc;
	rc = cairn_bundle_read_ex(path, &o, b, &why, rerr, sizeof rerr);
	snprintf(name, sizeof name, "bundle %s", path);
	return sort_read(rc, &why, name, rerr, v, rejected, err, errlen);
}

int cairn_audit_read(const char *path, struct cairn_bundle *b,
                     struct cairn_audit_verdict *v, int *rejected, char *err,
                     size_t errlen)
{
	return audit_read(path, 0, b, v, rejected, err, errlen);
}

int cairn_audit_read_lazy(const char *path, struct cairn_bundle *b,
                          struct cairn_audit_verdict *v, int *rejected,
                          char *err, size_t errlen)
{
	return audit_read(path, 1, b, v, rejected, err, errlen);
}

int cairn_audit_check_assignment(const struct cairn_bundle *b,
                                 const uint8_t *ids, size_t n,
                                 struct cairn_audit_verdict *v, int *rejected,
                                 char *err, size_t errlen)
{
	char hex[CAIRN_HASH_HEX_BYTES];

	if (!b || !v || !rejected || (n && !ids)) {
		cairn__seterr(err, errlen,
		              "cairn_audit_check_assignment: missing argument");
		return CAIRN_EINVAL;
	}
	for (size_t i = 0; i < n; i++)
		if (cairn_hash_equal(b->result.task_id,
		                     ids + i * CAIRN_HASH_BYTES))
			return 0;
	if (!n)
		return 0;
	memcpy(v->task_id, b->result.task_id, CAIRN_HASH_BYTES);
	memcpy(v->trace_root, b->result.trace_root, CAIRN_HASH_BYTES);
	reject(v, CAIRN_AUDIT_ASSIGNMENT, CAIRN_AUDIT_NO_SEGMENT,
	       b->spec.checkpoint_every, 0);
	*rejected = 1;
	cairn_hash_to_hex(b->result.task_id, hex);
	cairn__seterr(err, errlen,
	              "check assignment: the bundle is for task %s, which is "
	              "not one given with --task-id (a spec the worker was "
	              "not assigned)",
	              hex);
	return 0;
}
