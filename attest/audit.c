/* cairn: the auditor (include/cairn/audit.h): challenge segments, replay
 * them from a bundle's checkpoints, signed verdicts.
 *
 * Ownership: cairn_audit_bundle makes one model on the caller's backend
 * for the call and frees it on every path; it only reads the bundle and
 * the dataset. */
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

/* The claimed record of state k (1 <= k < nstates): checkpoint k's, or the
 * final state for the last. */
static const struct cairn_state *claimed_state(const struct cairn_bundle *b,
                                               uint32_t k)
{
	if (k + 1 == b->nstates)
		return &b->final_state;
	if (k < b->ncheckpoints)
		return &b->checkpoints[k].state;
	return NULL;
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

/* Replays segment seg of b on model md and compares its end with b's
 * trace.  0 with *mismatch = 0 or 1 (and *diff); negative on a failure. */
static int audit_segment(cairn_model *md, const struct cairn_bundle *b,
                         const cairn_dataset *ds, uint32_t seg, int *mismatch,
                         uint32_t *diff, int *reveal_bad, char *err,
                         size_t errlen)
{
	const struct cairn_task_spec *sp = &b->spec;
	const struct cairn_bundle_checkpoint *cp = &b->checkpoints[seg];
	const struct cairn_state *want;
	uint32_t c = sp->checkpoint_every;
	uint8_t root[CAIRN_HASH_BYTES];
	struct cairn_state end;
	int rc;

	*mismatch = 0;
	*diff = 0;
	*reveal_bad = 0;
	/* The start: the revealed record must be trace entry seg. */
	rc = cairn_state_root(&cp->state, root);
	if (rc)
		return rc;
	if (cp->state.step != (uint64_t)seg * c ||
	    !cairn_hash_equal(root, b->state_roots +
	                                (size_t)seg * CAIRN_HASH_BYTES)) {
		*reveal_bad = 1;
		return 0;
	}
	rc = cairn_model_write(md, CAIRN_MODEL_PARAMS, cp->params);
	if (!rc)
		rc = cairn_model_write(md, CAIRN_MODEL_M, cp->m);
	if (!rc)
		rc = cairn_model_write(md, CAIRN_MODEL_V, cp->v);
	if (rc) {
		cairn__seterr(err, errlen,
		              "cannot load checkpoint %" PRIu32
		              " into the model: %s",
		              seg, cairn_strerror(rc));
		return rc;
	}
	rc = cairn_task_replay(md, sp, ds, seg * c, (seg + 1) * c, &end, NULL,
	                       err, errlen);
	if (rc)
		return rc;
	rc = cairn_state_root(&end, root);
	if (rc)
		return rc;
	if (cairn_hash_equal(root, b->state_roots +
	                               (size_t)(seg + 1) * CAIRN_HASH_BYTES))
		return 0;
	*mismatch = 1;
	want = claimed_state(b, seg + 1);
	if (want)
		*diff = state_diff(&end, want);
	return 0;
}

int cairn_audit_bundle(cairn_backend *be, const struct cairn_bundle *b,
                       const cairn_dataset *ds,
                       const uint8_t dataset_root[CAIRN_HASH_BYTES],
                       const uint8_t nonce[CAIRN_HASH_BYTES], uint32_t s,
                       struct cairn_audit_verdict *v, char *err, size_t errlen)
{
	const struct cairn_task_spec *sp;
	cairn_model *md = NULL;
	char hx[CAIRN_HASH_HEX_BYTES], hy[CAIRN_HASH_HEX_BYTES], names[64];
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
	if (b->nstates < 2 || !b->state_roots || !b->checkpoints ||
	    b->ncheckpoints != b->nstates - 1 || c == 0 ||
	    b->nstates != cairn_task_state_count(sp)) {
		cairn__seterr(err, errlen,
		              "the bundle is incomplete (%" PRIu32
		              " of %" PRIu32 " checkpoints); read it with "
		              "cairn_bundle_read first",
		              b->ncheckpoints, b->nstates ? b->nstates - 1 : 0);
		return CAIRN_EINVAL;
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

	if (strncmp(sp->profile, CAIRN_PROFILE_EXACT, CAIRN_TASK_PROFILE_MAX)) {
		reject(v, CAIRN_AUDIT_PROFILE, CAIRN_AUDIT_NO_SEGMENT, c, 0);
		cairn__seterr(err, errlen,
		              "check profile: the spec's numeric profile "
		              "'%.*s' is not '%s'; its bits cannot be "
		              "replayed here",
		              CAIRN_TASK_PROFILE_MAX, sp->profile,
		              CAIRN_PROFILE_EXACT);
		return 0;
	}
	if (!cairn_hash_equal(sp->dataset_root, dataset_root)) {
		reject(v, CAIRN_AUDIT_DATASET, CAIRN_AUDIT_NO_SEGMENT, c, 0);
		cairn_hash_to_hex(sp->dataset_root, hx);
		cairn_hash_to_hex(dataset_root, hy);
		cairn__seterr(err, errlen,
		              "check dataset: the spec trains on dataset "
		              "root %s but the local data's root is %s; "
		              "audit with the spec's data (--data DIR)",
		              hx, hy);
		return 0;
	}

	rc = cairn_model_create(be, &sp->model, sp->batch, (int)sp->micro, &md);
	if (rc) {
		cairn__seterr(err, errlen,
		              "cannot make the spec's model on the %s "
		              "backend: %s",
		              cairn_backend_name(be), cairn_strerror(rc));
		goto fail;
	}
	for (uint32_t i = 0; i < v->nsegments; i++) {
		uint32_t seg = v->segments[i], diff;
		int bad, reveal_bad;

		rc = audit_segment(md, b, ds, seg, &bad, &diff, &reveal_bad,
		                   err, errlen);
		if (rc)
			goto fail;
		if (reveal_bad) {
			reject(v, CAIRN_AUDIT_REVEAL, seg, c, 0);
			cairn__seterr(
			    err, errlen,
			    "check reveal: segment %" PRIu32 " (steps %" PRIu32
			    "..%" PRIu32 "): checkpoint %" PRIu32
			    " is not entry %" PRIu32 " of the trace",
			    seg, v->step_first, v->step_last, seg, seg);
			goto out;
		}
		if (bad) {
			reject(v, CAIRN_AUDIT_REPLAY, seg, c, diff);
			cairn_audit_diff_names(diff, names, sizeof names);
			cairn__seterr(
			    err, errlen,
			    "check replay: segment %" PRIu32 " (steps %" PRIu32
			    "..%" PRIu32 ") replayed on %s does not end on the "
			    "committed state root of step %" PRIu32
			    "; differs: %s%s",
			    seg, v->step_first, v->step_last,
			    cairn_backend_name(be), v->step_last, names,
			    (diff & CAIRN_AUDIT_DIFF_SAMPLES)
			        ? " (the worker trained on other "
			          "samples)"
			        : "");
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

/* ---- verdicts ------------------------------------------------------------ */

int cairn_audit_verdict_digest(const struct cairn_audit_verdict *v,
                               uint8_t out[CAIRN_HASH_BYTES])
{
	struct cairn_hash_ctx ctx;
	uint8_t fix[4 * CAIRN_HASH_BYTES + 7 * 4], w[4];
	uint8_t *p = fix;
	int rc;

	if (!v || !out || v->nsegments > CAIRN_AUDIT_MAX_SEGMENTS ||
	    v->accepted > 1)
		return CAIRN_EINVAL;
	memcpy(p, v->task_id, CAIRN_HASH_BYTES);
	p += CAIRN_HASH_BYTES;
	memcpy(p, v->trace_root, CAIRN_HASH_BYTES);
	p += CAIRN_HASH_BYTES;
	memcpy(p, v->nonce, CAIRN_HASH_BYTES);
	p += CAIRN_HASH_BYTES;
	memcpy(p, v->auditor_key, CAIRN_PUBLIC_KEY_BYTES);
	p += CAIRN_PUBLIC_KEY_BYTES;
	cairn__put_u32le(p, v->accepted);
	cairn__put_u32le(p + 4, v->check);
	cairn__put_u32le(p + 8, v->segment);
	cairn__put_u32le(p + 12, v->step_first);
	cairn__put_u32le(p + 16, v->step_last);
	cairn__put_u32le(p + 20, v->diff);
	cairn__put_u32le(p + 24, v->nsegments);
	rc = cairn_hash_init(&ctx, CAIRN_DOM_VERDICT);
	if (!rc)
		rc = cairn_hash_update(&ctx, fix, sizeof fix);
	for (uint32_t i = 0; !rc && i < v->nsegments; i++) {
		cairn__put_u32le(w, v->segments[i]);
		rc = cairn_hash_update(&ctx, w, sizeof w);
	}
	if (!rc)
		rc = cairn_hash_final(&ctx, out);
	return rc;
}

int cairn_audit_verdict_sign(const struct cairn_identity *id,
                             struct cairn_audit_verdict *v)
{
	uint8_t d[CAIRN_HASH_BYTES];
	int rc;

	if (!id || !v)
		return CAIRN_EINVAL;
	memcpy(v->auditor_key, id->public_key, CAIRN_PUBLIC_KEY_BYTES);
	rc = cairn_audit_verdict_digest(v, d);
	if (!rc)
		rc = cairn_identity_sign(id, d, sizeof d, v->signature);
	return rc;
}

int cairn_audit_verdict_verify(const struct cairn_audit_verdict *v)
{
	uint8_t d[CAIRN_HASH_BYTES];
	int rc;

	if (!v)
		return CAIRN_EINVAL;
	rc = cairn_audit_verdict_digest(v, d);
	if (rc)
		return rc == CAIRN_EINVAL ? CAIRN_ECRYPTO : rc;
	return cairn_identity_verify(v->auditor_key, d, sizeof d, v->signature);
}
