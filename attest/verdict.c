/* cairn: signed verdicts (include/cairn/audit.h): the encoding of
 * docs/commitments.md section 15.3, its digest, signing and checking.
 *
 * Ownership: nothing here keeps a pointer to its arguments;
 * cairn_audit_verdict_digest allocates the encoding for the call. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "attest_impl.h"
#include "cairn/audit.h"
#include "cairn/error.h"

/* The fixed part of the encoding: 4 hashes, 12 u32 and 2 u64. */
#define VERDICT_FIXED (4 * CAIRN_HASH_BYTES + 12 * 4 + 2 * 8)

#define DIFF_BITS 0x3fu /* CAIRN_AUDIT_DIFF_PARAMS .. _STEP */

/* 0 when v's fields agree with one another as cairn_audit_bundle writes
 * them, else CAIRN_EFORMAT and which do not: a signed verdict must say one
 * thing, not leave a reader to guess ("unknown", null) at a value out of
 * range. */
static int verdict_check(const struct cairn_audit_verdict *v, char *err,
                         size_t errlen)
{
	const char *why = NULL;
	const int replay = v->check == CAIRN_AUDIT_REPLAY;

	if (v->accepted > 1)
		why = "accepted is neither 0 nor 1";
	else if (v->check > CAIRN_AUDIT_ASSIGNMENT)
		why = "check is not a known check (0 to 10)";
	else if (v->accepted != (v->check == CAIRN_AUDIT_OK))
		why = v->accepted ? "it is accepted but names a failed check"
		                  : "it is rejected but names check ok";
	else if (v->accepted && v->segment != CAIRN_AUDIT_NO_SEGMENT)
		why = "it is accepted but names a failed segment";
	else if (v->segment == CAIRN_AUDIT_NO_SEGMENT
	             ? v->step_first || v->step_last
	             : !v->step_first || v->step_first > v->step_last)
		why = "its steps do not go with its segment";
	else if ((v->diff | v->diff_what) & ~DIFF_BITS)
		why = "a difference mask holds unknown bits";
	else if (v->elem_tensor > CAIRN_AUDIT_ELEM_V)
		why = "elem_tensor is not a tensor (0 to 3)";
	else if (!replay &&
	         (v->diff || v->diff_step || v->diff_what || v->elem_tensor))
		why = "it names a difference but is not a replay rejection";
	else if (!v->diff_step && v->diff_what)
		why = "it names what differs at a first difference but no "
		      "step";
	else if (v->diff_step &&
	         (v->diff_step < v->step_first || v->diff_step > v->step_last))
		why = "its first difference is not a step of its segment";
	else if (!v->elem_tensor && (v->elem_count || v->elem_index ||
	                             v->elem_worker || v->elem_replay))
		why = "it names an element but no tensor";
	if (!why)
		return 0;
	cairn__seterr(err, errlen,
	              "the verdict's fields disagree: %s (accepted %" PRIu32
	              ", check %" PRIu32 ", segment %" PRIu32 ", steps %" PRIu32
	              "..%" PRIu32 ", diff 0x%" PRIx32 ", diff_what 0x%" PRIx32
	              ", elem_tensor %" PRIu32 ")",
	              why, v->accepted, v->check, v->segment, v->step_first,
	              v->step_last, v->diff, v->diff_what, v->elem_tensor);
	return CAIRN_EFORMAT;
}

int cairn_audit_verdict_encode(const struct cairn_audit_verdict *v,
                               uint8_t *out, size_t cap, size_t *len)
{
	uint8_t *p = out;
	size_t n;

	if (!v || !out || !len || v->nsegments > CAIRN_AUDIT_MAX_SEGMENTS ||
	    verdict_check(v, NULL, 0))
		return CAIRN_EINVAL;
	n = VERDICT_FIXED + 4 * (size_t)v->nsegments;
	if (cap < n)
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
	cairn__put_u32le(p + 24, v->diff_step);
	cairn__put_u32le(p + 28, v->diff_what);
	cairn__put_u32le(p + 32, v->elem_tensor);
	cairn__put_u64le(p + 36, v->elem_count);
	cairn__put_u64le(p + 44, v->elem_index);
	cairn__put_u32le(p + 52, v->elem_worker);
	cairn__put_u32le(p + 56, v->elem_replay);
	cairn__put_u32le(p + 60, v->nsegments);
	p += 64;
	for (uint32_t i = 0; i < v->nsegments; i++)
		cairn__put_u32le(p + 4 * i, v->segments[i]);
	*len = n;
	return 0;
}

int cairn_audit_verdict_decode(const uint8_t *buf, size_t len,
                               struct cairn_audit_verdict *out, char *err,
                               size_t errlen)
{
	struct cairn_audit_verdict *v;
	const uint8_t *p = buf;
	uint32_t n;

	if (!buf || !out) {
		cairn__seterr(err, errlen, "no input");
		return CAIRN_EINVAL;
	}
	if (len < VERDICT_FIXED) {
		cairn__seterr(err, errlen,
		              "a verdict is at least %d bytes; this one is %zu",
		              VERDICT_FIXED, len);
		return CAIRN_EFORMAT;
	}
	n = cairn__get_u32le(buf + VERDICT_FIXED - 4);
	if (n > CAIRN_AUDIT_MAX_SEGMENTS ||
	    len != VERDICT_FIXED + 4 * (size_t)n) {
		cairn__seterr(
		    err, errlen,
		    "the verdict names %" PRIu32 " segments (at most "
		    "%d) but is %zu bytes; %d + 4 x segments expected",
		    n, CAIRN_AUDIT_MAX_SEGMENTS, len, VERDICT_FIXED);
		return CAIRN_EFORMAT;
	}
	v = out;
	memset(v, 0, sizeof *v);
	memcpy(v->task_id, p, CAIRN_HASH_BYTES);
	p += CAIRN_HASH_BYTES;
	memcpy(v->trace_root, p, CAIRN_HASH_BYTES);
	p += CAIRN_HASH_BYTES;
	memcpy(v->nonce, p, CAIRN_HASH_BYTES);
	p += CAIRN_HASH_BYTES;
	memcpy(v->auditor_key, p, CAIRN_PUBLIC_KEY_BYTES);
	p += CAIRN_PUBLIC_KEY_BYTES;
	v->accepted = cairn__get_u32le(p);
	v->check = cairn__get_u32le(p + 4);
	v->segment = cairn__get_u32le(p + 8);
	v->step_first = cairn__get_u32le(p + 12);
	v->step_last = cairn__get_u32le(p + 16);
	v->diff = cairn__get_u32le(p + 20);
	v->diff_step = cairn__get_u32le(p + 24);
	v->diff_what = cairn__get_u32le(p + 28);
	v->elem_tensor = cairn__get_u32le(p + 32);
	v->elem_count = cairn__get_u64le(p + 36);
	v->elem_index = cairn__get_u64le(p + 44);
	v->elem_worker = cairn__get_u32le(p + 52);
	v->elem_replay = cairn__get_u32le(p + 56);
	v->nsegments = n;
	p += 64;
	for (uint32_t i = 0; i < n; i++)
		v->segments[i] = cairn__get_u32le(p + 4 * i);
	if (verdict_check(v, err, errlen)) {
		memset(v, 0, sizeof *v);
		return CAIRN_EFORMAT;
	}
	return 0;
}

int cairn_audit_verdict_digest(const struct cairn_audit_verdict *v,
                               uint8_t out[CAIRN_HASH_BYTES])
{
	uint8_t *enc;
	size_t len;
	int rc;

	if (!v || !out)
		return CAIRN_EINVAL;
	enc = malloc(CAIRN_AUDIT_VERDICT_MAX_BYTES);
	if (!enc)
		return CAIRN_ENOMEM;
	rc = cairn_audit_verdict_encode(v, enc, CAIRN_AUDIT_VERDICT_MAX_BYTES,
	                                &len);
	if (!rc)
		rc = cairn_hash_domain(CAIRN_DOM_VERDICT, enc, len, out);
	free(enc);
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
