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

int cairn_audit_verdict_encode(const struct cairn_audit_verdict *v,
                               uint8_t *out, size_t cap, size_t *len)
{
	uint8_t *p = out;
	size_t n;

	if (!v || !out || !len || v->nsegments > CAIRN_AUDIT_MAX_SEGMENTS ||
	    v->accepted > 1)
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
		cairn__seterr(err, errlen,
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
	if (v->accepted > 1) {
		cairn__seterr(err, errlen,
		              "the verdict's accepted field is %" PRIu32
		              "; 0 or 1 expected",
		              v->accepted);
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
