/* cairn: the auditor (include/cairn/audit.h): challenge segments, replay
 * them from a bundle's checkpoints, signed verdicts.
 *
 * Ownership: cairn_audit_bundle makes one model on the caller's backend
 * for the call and frees it on every path; it only reads the bundle and
 * the dataset.  cairn_audit_read hands the bundle it read to the caller
 * (cairn_bundle_free); on a rejection it holds the file's bytes and
 * protobuf-c's unpacked copy for the call only. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "attest_impl.h"
#include "cairn/audit.h"
#include "cairn/bundle.pb-c.h"
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
 * trace.  0 with *mismatch = 0 or 1 (and *diff, and the replayed state
 * root in root); negative on a failure. */
static int audit_segment(cairn_model *md, const struct cairn_bundle *b,
                         const cairn_dataset *ds, uint32_t seg, int *mismatch,
                         uint32_t *diff, int *reveal_bad,
                         uint8_t root[CAIRN_HASH_BYTES], char *err,
                         size_t errlen)
{
	const struct cairn_task_spec *sp = &b->spec;
	const struct cairn_bundle_checkpoint *cp = &b->checkpoints[seg];
	const struct cairn_state *want;
	uint32_t c = sp->checkpoint_every;
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
	/* A spec this auditor cannot replay is not the worker's fault: no
	 * verdict, an error (an honest bundle is never rejected). */
	if (strncmp(sp->profile, CAIRN_PROFILE_EXACT, CAIRN_TASK_PROFILE_MAX)) {
		cairn__seterr(err, errlen,
		              "cannot audit: the spec's numeric profile '%.*s' "
		              "is not '%s', the one this cairn replays; audit "
		              "it with a cairn that runs that profile",
		              CAIRN_TASK_PROFILE_MAX, sp->profile,
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
		uint32_t seg = v->segments[i], diff;
		uint8_t got[CAIRN_HASH_BYTES];
		int bad, reveal_bad;

		rc = audit_segment(md, b, ds, seg, &bad, &diff, &reveal_bad,
		                   got, err, errlen);
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
			cairn_hash_to_hex(got, hx);
			cairn_hash_to_hex(b->state_roots + (size_t)(seg + 1) *
			                                       CAIRN_HASH_BYTES,
			                  hy);
			cairn__seterr(
			    err, errlen,
			    "check replay: segment %" PRIu32 " (steps %" PRIu32
			    "..%" PRIu32 ") replayed on %s ends on state root "
			    "%s, but the trace commits to %s at step %" PRIu32
			    "; differs: %s%s",
			    seg, v->step_first, v->step_last,
			    cairn_backend_name(be), hx, hy, v->step_last, names,
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

/* ---- rejections found when a bundle is read ------------------------------ */

/* Floats in each tensor of spec's model (the spec is checked). */
static int64_t spec_param_count(const struct cairn_task_spec *s)
{
	int64_t n = 0, prev = s->model.input;
	for (int l = 0; l <= s->model.nhidden; l++) {
		int64_t d = l < s->model.nhidden ? s->model.hidden[l]
		                                 : s->model.classes;
		n += d * prev + d;
		prev = d;
	}
	return n;
}

static int all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;
	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

/* The 140-byte state record (docs/commitments.md section 5). */
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

/* The record checkpoint cp claims: its tensors' roots, step, samples and
 * loss bits. */
static int checkpoint_state(const Cairn__BundleCheckpoint *cp,
                            struct cairn_state *st)
{
	int rc;

	memset(st, 0, sizeof *st);
	st->step = cp->step;
	memcpy(st->samples, cp->samples.data, CAIRN_HASH_BYTES);
	st->loss_bits = cp->loss_bits;
	rc = cairn_tensor_root(cp->params.data, cp->params.len, st->params);
	if (!rc)
		rc = cairn_tensor_root(cp->m.data, cp->m.len, st->m);
	if (!rc)
		rc = cairn_tensor_root(cp->v.data, cp->v.len, st->v);
	return rc;
}

/* Redoes the checks of cairn_bundle_read on buf that can fail with
 * CAIRN_ECRYPTO or CAIRN_EMISMATCH, in the reader's order
 * (docs/bundle-format.md section 4, steps 12 to 24), and fills v with the
 * first that fails.  0 when one failed; 1 when all passed; CAIRN_EFORMAT
 * when buf is not a well-formed bundle; another negative code on a
 * failure (out of memory). */
static int name_failure(const uint8_t *buf, size_t len,
                        struct cairn_audit_verdict *v)
{
	Cairn__Bundle *msg;
	struct cairn_task_spec spec;
	struct cairn_task_result res;
	struct cairn_state st;
	uint8_t id[CAIRN_HASH_BYTES], root[CAIRN_HASH_BYTES],
	    empty[CAIRN_HASH_BYTES];
	uint8_t *roots = NULL;
	uint32_t n = 0, c = 0;
	size_t bytes;
	int rc = CAIRN_EFORMAT, check = -1;
	uint32_t seg = CAIRN_AUDIT_NO_SEGMENT;

	memset(v, 0, sizeof *v);
	msg = cairn__bundle__unpack(NULL, len, buf);
	if (!msg)
		return CAIRN_EFORMAT;
	if (cairn_task_spec_decode(msg->task_spec.data, msg->task_spec.len,
	                           &spec, NULL, 0) ||
	    cairn_task_result_decode(msg->result.data, msg->result.len, &res,
	                             NULL, 0) ||
	    msg->signature.len != CAIRN_SIGNATURE_BYTES)
		goto out;
	rc = cairn_task_id(&spec, id);
	if (rc)
		goto out;
	memcpy(v->task_id, id, CAIRN_HASH_BYTES);
	memcpy(v->trace_root, res.trace_root, CAIRN_HASH_BYTES);
	n = cairn_task_state_count(&spec);
	c = spec.checkpoint_every;
	/* 12, 14, 15: the result is this spec's, signed by the key it names,
	 * and claims the spec's work. */
	if (!cairn_hash_equal(id, res.task_id)) {
		check = CAIRN_AUDIT_TASK_ID;
		goto found;
	}
	if (cairn_task_result_verify(&res, msg->signature.data)) {
		check = CAIRN_AUDIT_SIGNATURE;
		goto found;
	}
	if (res.flops != cairn_task_flops(&spec)) {
		check = CAIRN_AUDIT_WORK;
		goto found;
	}
	/* 16, 17: the state roots give the signed trace root. */
	rc = CAIRN_EFORMAT;
	if (msg->n_state_roots != n)
		goto out;
	roots = malloc((size_t)n * CAIRN_HASH_BYTES);
	if (!roots) {
		rc = CAIRN_ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < n; i++) {
		if (msg->state_roots[i].len != CAIRN_HASH_BYTES)
			goto out;
		memcpy(roots + (size_t)i * CAIRN_HASH_BYTES,
		       msg->state_roots[i].data, CAIRN_HASH_BYTES);
	}
	rc = cairn_trace_root(roots, n, root);
	if (rc)
		goto out;
	if (!cairn_hash_equal(root, res.trace_root)) {
		check = CAIRN_AUDIT_COMMITMENT;
		goto found;
	}
	/* 18 to 20: the final state is the trace's last and the result's. */
	rc = CAIRN_EFORMAT;
	if (msg->final_state.len != CAIRN_STATE_BYTES)
		goto out;
	state_decode(msg->final_state.data, &st);
	if (st.step != spec.inner_steps)
		goto out;
	rc = cairn_state_root(&st, root);
	if (rc)
		goto out;
	if (!cairn_hash_equal(root,
	                      roots + (size_t)(n - 1) * CAIRN_HASH_BYTES) ||
	    !cairn_hash_equal(st.params, res.final_params_root)) {
		check = CAIRN_AUDIT_COMMITMENT;
		goto found;
	}
	/* 21 to 24: every checkpoint is its trace entry; the first is the
	 * task's start. */
	rc = CAIRN_EFORMAT;
	bytes = (size_t)spec_param_count(&spec) * sizeof(float);
	if (msg->n_checkpoints != n - 1)
		goto out;
	for (uint32_t i = 0; i < n - 1; i++) {
		const Cairn__BundleCheckpoint *cp = msg->checkpoints[i];
		if (cp->step != (uint64_t)i * c ||
		    cp->samples.len != CAIRN_HASH_BYTES ||
		    cp->params.len != bytes || cp->m.len != bytes ||
		    cp->v.len != bytes)
			goto out;
	}
	rc = cairn_samples_digest(NULL, 0, empty);
	if (rc)
		goto out;
	for (uint32_t i = 0; i < n - 1; i++) {
		const Cairn__BundleCheckpoint *cp = msg->checkpoints[i];
		rc = checkpoint_state(cp, &st);
		if (!rc)
			rc = cairn_state_root(&st, root);
		if (rc)
			goto out;
		if (!cairn_hash_equal(root,
		                      roots + (size_t)i * CAIRN_HASH_BYTES)) {
			check = CAIRN_AUDIT_REVEAL;
			seg = i;
			goto found;
		}
		if (i == 0 &&
		    (!cairn_hash_equal(st.params, spec.params_root) ||
		     !all_zero(cp->m.data, cp->m.len) ||
		     !all_zero(cp->v.data, cp->v.len) ||
		     !cairn_hash_equal(st.samples, empty) || st.loss_bits)) {
			check = CAIRN_AUDIT_START;
			goto found;
		}
	}
	rc = 1;
	goto out;
found:
	reject(v, check, seg, c, 0);
	rc = 0;
out:
	free(roots);
	cairn__bundle__free_unpacked(msg, NULL);
	return rc;
}

/* After cairn_bundle_read or _decode gave rc for buf (the file's bytes,
 * or NULL when they could not be had again): sorts rc into a rejection or
 * an error (cairn_audit_read).  rerr is the reader's message. */
static int sort_read(int rc, const uint8_t *buf, size_t len, const char *name,
                     const char *rerr, int reread, struct cairn_bundle *b,
                     struct cairn_audit_verdict *v, int *rejected, char *err,
                     size_t errlen)
{
	int rc2;

	if (rc != CAIRN_ECRYPTO && rc != CAIRN_EMISMATCH) {
		cairn__seterr(err, errlen, "%s", rerr);
		return rc;
	}
	rc2 = buf ? name_failure(buf, len, v) : CAIRN_EFORMAT;
	if (rc2 == 0) {
		*rejected = 1;
		cairn__seterr(err, errlen, "check %s: %s",
		              cairn_audit_check_name((int)v->check), rerr);
		return 0;
	}
	memset(v, 0, sizeof *v);
	cairn_bundle_free(b);
	if (rc2 == 1 || rc2 == CAIRN_EFORMAT) {
		if (reread) {
			cairn__seterr(err, errlen,
			              "%s changed while it was read (the first "
			              "read said: %s); audit it again once it "
			              "is complete",
			              name, rerr);
			return CAIRN_EIO;
		}
		cairn__seterr(err, errlen,
		              "%s: the reader refused it (%s) but no check "
		              "fails when they are redone: a bug in cairn, "
		              "please report it",
		              name, rerr);
		return CAIRN_EINTERNAL;
	}
	cairn__seterr(err, errlen, "%s: naming the failed check: %s", name,
	              cairn_strerror(rc2));
	return rc2;
}

int cairn_audit_decode(const uint8_t *buf, size_t len, const char *name,
                       struct cairn_bundle *b, struct cairn_audit_verdict *v,
                       int *rejected, char *err, size_t errlen)
{
	char rerr[1024];
	int rc;

	if (v)
		memset(v, 0, sizeof *v);
	if (rejected)
		*rejected = 0;
	if (!b || !v || !rejected) {
		if (b)
			memset(b, 0, sizeof *b);
		cairn__seterr(err, errlen,
		              "cairn_audit_decode: missing argument");
		return CAIRN_EINVAL;
	}
	if (!name)
		name = "bundle";
	rc = cairn_bundle_decode(buf, len, name, b, rerr, sizeof rerr);
	if (!rc) {
		cairn__seterr(err, errlen, "no error");
		return 0;
	}
	return sort_read(rc, buf, len, name, rerr, 0, b, v, rejected, err,
	                 errlen);
}

/* The bytes of the regular file at path, at most max (caller frees);
 * NULL when they cannot be had. */
static uint8_t *slurp(const char *path, uint64_t max, size_t *len)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t got = 0;
	int fd;

	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    (uint64_t)st.st_size > max || (uint64_t)st.st_size > SIZE_MAX)
		goto out;
	buf = malloc((size_t)st.st_size);
	while (buf && got < (size_t)st.st_size) {
		size_t want = (size_t)st.st_size - got;
		ssize_t r =
		    read(fd, buf + got, want < (1u << 30) ? want : (1u << 30));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	if (buf && got == (size_t)st.st_size) {
		*len = got;
		close(fd);
		return buf;
	}
out:
	free(buf);
	close(fd);
	return NULL;
}

int cairn_audit_read(const char *path, struct cairn_bundle *b,
                     struct cairn_audit_verdict *v, int *rejected, char *err,
                     size_t errlen)
{
	char rerr[1024], name[4200];
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc;

	if (v)
		memset(v, 0, sizeof *v);
	if (rejected)
		*rejected = 0;
	if (!path || !b || !v || !rejected) {
		if (b)
			memset(b, 0, sizeof *b);
		cairn__seterr(err, errlen,
		              "cairn_audit_read: missing argument");
		return CAIRN_EINVAL;
	}
	rc = cairn_bundle_read(path, b, rerr, sizeof rerr);
	if (!rc) {
		cairn__seterr(err, errlen, "no error");
		return 0;
	}
	snprintf(name, sizeof name, "bundle %s", path);
	if (rc == CAIRN_ECRYPTO || rc == CAIRN_EMISMATCH)
		buf = slurp(path, CAIRN_BUNDLE_MAX_BYTES, &len);
	rc =
	    sort_read(rc, buf, len, name, rerr, 1, b, v, rejected, err, errlen);
	free(buf);
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
