/* cairn: reading signed result bundles, the bytes and the encoding
 * (docs/bundle-format.md section 4: steps 1 to 3, the reads of step 4, and
 * steps 6 to 8); the reader's design is described in attest/bundle_read.c,
 * which checks steps 4 and 5 itself, and the checks that follow the walk
 * are in attest/bundle_check.c.
 *
 * A bundle's bytes come from a buffer or from a regular file read with
 * pread (struct cairn__bundle_src).  The walk reads a file through a 4 KiB
 * window, accepts exactly the encoding protobuf-c packs (fields in
 * number order, each non-repeated one at most once and never holding its
 * default value, varints in their shortest form, no unknown fields,
 * nothing after the message) and notes in a struct cairn__bundle_layout
 * where every field lies; it skips the tensors and reads no field's value
 * but the varints, the loss bits and the checkpoints' samples digests.
 *
 * Ownership: a source's buffer, descriptor and name stay its owner's
 * (nothing here closes or frees them); the walk writes into the caller's
 * layout, whose arrays the caller allocates and frees, and frees its own
 * cursor before it returns. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "attest_impl.h"
#include "bundle_impl.h"
#include "cairn/attest.h"
#include "cairn/bundle.h"
#include "cairn/error.h"
#include "cairn/task.h"

/* ---- reading: the bytes -------------------------------------------------- */

int cairn__bundle_src_read(const struct cairn__bundle_src *s, uint64_t off,
                           void *out, size_t n, char *err, size_t errlen)
{
	uint8_t *p = out;
	ssize_t r;
	int e;

	if (s->buf) {
		if (n)
			memcpy(out, s->buf + off, n);
		return 0;
	}
	while (n) {
		r = pread(s->fd, p,
		          n < CAIRN__BUNDLE_IO_CHUNK ? n
		                                     : CAIRN__BUNDLE_IO_CHUNK,
		          (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			e = r < 0 ? errno : 0;
			cairn__seterr(
			    err, errlen,
			    "%s: %s at byte %" PRIu64 " of the %" PRIu64
			    " bytes fstat gave%s%s; is it still being "
			    "written?",
			    s->name, r < 0 ? "read failed" : "the file shrank",
			    off, s->len, e ? ": " : "", e ? strerror(e) : "");
			return CAIRN_EIO;
		}
		p += r;
		off += (uint64_t)r;
		n -= (size_t)r;
	}
	return 0;
}

int cairn__bundle_src_open(struct cairn__bundle_src *s, const char *path,
                           uint64_t max, char *err, size_t errlen)
{
	return cairn_file_open_input(path, "bundle", max, &s->fd, &s->len, err,
	                             errlen);
}

/* ---- reading: the encoding ----------------------------------------------- */

/* The walk's cursor: pos in s, with a window of the bytes around it. */
struct walk {
	const struct cairn__bundle_src *s;
	struct cairn__bundle_layout *L;
	uint64_t pos;
	const uint8_t *w; /* bytes [woff, woff + wlen) of the input */
	uint64_t woff;
	size_t wlen;
	char *err;
	size_t errlen;
	uint8_t win[4096];
};

/* A failure of the encoding at byte at: not protobuf at all, or (canon)
 * not the encoding protobuf-c packs. */
static int enc_fail(struct walk *k, int canon, uint64_t at, const char *fmt,
                    ...) __attribute__((format(printf, 4, 5)));

static int enc_fail(struct walk *k, int canon, uint64_t at, const char *fmt,
                    ...)
{
	char why[192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	if (canon)
		cairn__seterr(k->err, k->errlen,
		              "%s is not the canonical encoding of its fields "
		              "(%s, at byte %" PRIu64 " of %" PRIu64
		              "): fields out of order, repeated, or holding "
		              "default values; it was altered or not written "
		              "by cairn",
		              k->s->name, why, at, k->s->len);
	else
		cairn__seterr(k->err, k->errlen,
		              "%s (%" PRIu64 " bytes) is not a bundle: it does "
		              "not decode as a cairn.Bundle message (%s, at "
		              "byte %" PRIu64 "): truncated, corrupt, or "
		              "another kind of file",
		              k->s->name, k->s->len, why, at);
	return CAIRN_EFORMAT;
}

/* The byte at the cursor, which must lie before end: 1 when it does not,
 * or a read error. */
static int next_byte(struct walk *k, uint64_t end, uint8_t *out)
{
	size_t n;
	int rc;

	if (k->pos >= end)
		return 1;
	if (k->pos < k->woff || k->pos - k->woff >= k->wlen) {
		if (k->s->buf) {
			k->w = k->s->buf;
			k->woff = 0;
			k->wlen = (size_t)k->s->len;
		} else {
			n = k->s->len - k->pos < sizeof k->win
			        ? (size_t)(k->s->len - k->pos)
			        : sizeof k->win;
			rc = cairn__bundle_src_read(k->s, k->pos, k->win, n,
			                            k->err, k->errlen);
			if (rc)
				return rc;
			k->w = k->win;
			k->woff = k->pos;
			k->wlen = n;
		}
	}
	*out = k->w[k->pos++ - k->woff];
	return 0;
}

static int past_end(struct walk *k, uint64_t at, uint64_t end, const char *what)
{
	return enc_fail(k, 0, at, "%s runs past the end of %s", what,
	                end < k->s->len ? "its checkpoint" : "the file");
}

/* A varint before end, in the form protobuf-c packs: at most 10 bytes, 64
 * bits, and no redundant last byte. */
static int get_varint(struct walk *k, uint64_t end, const char *what,
                      uint64_t *v)
{
	uint64_t at = k->pos, x = 0;
	uint8_t b = 0;
	int i, rc;

	for (i = 0; i < 10; i++) {
		rc = next_byte(k, end, &b);
		if (rc)
			return rc < 0 ? rc : past_end(k, at, end, what);
		x |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80))
			break;
	}
	if (i == 10)
		return enc_fail(k, 0, at, "%s longer than 10 bytes", what);
	if (i == 9 && b > 1) /* bits past the 64th: no uint64 */
		return enc_fail(k, 0, at, "%s in 10 bytes, above 2^64 - 1",
		                what);
	if (i > 0 && b == 0)
		return enc_fail(k, 1, at,
		                "%s in %d bytes, not its shortest form", what,
		                i + 1);
	*v = x;
	return 0;
}

/* A field's tag before end: its number (at least 1) and wire type. */
static int get_tag(struct walk *k, uint64_t end, uint32_t *field, uint32_t *wt)
{
	uint64_t at = k->pos, t;
	int rc;

	rc = get_varint(k, end, "a field tag", &t);
	if (rc)
		return rc;
	if (t >> 32 || !(t >> 3))
		return enc_fail(k, 0, at, "field tag 0x%" PRIx64, t);
	*field = (uint32_t)(t >> 3);
	*wt = (uint32_t)(t & 7);
	return 0;
}

/* The length of a bytes or message field whose value must end by end;
 * the cursor is left on the value's first byte. */
static int get_len(struct walk *k, uint64_t end, uint32_t field, uint64_t *len)
{
	uint64_t at = k->pos;
	int rc;

	rc = get_varint(k, end, "a length", len);
	if (rc)
		return rc;
	if (*len > end - k->pos)
		return enc_fail(k, 0, at,
		                "field %" PRIu32 " of %" PRIu64 " bytes, with "
		                "%" PRIu64 " left in %s",
		                field, *len, end - k->pos,
		                end < k->s->len ? "its checkpoint"
		                                : "the file");
	return 0;
}

/* Walks checkpoint i: the BundleCheckpoint message in [k->pos, end). */
static int walk_checkpoint(struct walk *k, uint64_t i, uint64_t end,
                           struct cairn__bundle_cp_span *cp)
{
	/* Fields 1 to 6: step (varint), samples (bytes), loss_bits
	 * (fixed32), params, m, v (bytes). */
	static const uint8_t wire[7] = {0, 0, 2, 5, 2, 2, 2};
	uint32_t last = 0, field, wt;
	uint64_t at, v, len;
	uint8_t b[4];
	int rc;

	memset(cp, 0, sizeof *cp);
	while (k->pos < end) {
		at = k->pos;
		rc = get_tag(k, end, &field, &wt);
		if (rc)
			return rc;
		if (field > 6) {
			cairn__seterr(
			    k->err, k->errlen,
			    "%s: checkpoint %" PRIu64 " has a field "
			    "unknown to bundle format %d (field number "
			    "%" PRIu32 ", at byte %" PRIu64 "): a newer "
			    "format or not a bundle",
			    k->s->name, i, CAIRN_BUNDLE_FORMAT, field, at);
			return CAIRN_EFORMAT;
		}
		if (wt != wire[field])
			return enc_fail(k, 0, at,
			                "checkpoint %" PRIu64
			                "'s field %" PRIu32
			                " has wire type %" PRIu32 ", want %u",
			                i, field, wt, wire[field]);
		if (field <= last)
			return enc_fail(k, 1, at,
			                "checkpoint %" PRIu64
			                "'s field %" PRIu32
			                " after its field %" PRIu32,
			                i, field, last);
		last = field;
		if (field == 1 || field == 3) {
			if (field == 1) {
				rc = get_varint(k, end, "a step", &v);
			} else {
				for (int j = 0; j < 4; j++) {
					rc = next_byte(k, end, &b[j]);
					if (rc)
						return rc < 0
						           ? rc
						           : past_end(
						                 k, at, end,
						                 "loss_bits");
				}
				v = cairn__get_u32le(b);
			}
			if (rc)
				return rc;
			if (!v)
				return enc_fail(
				    k, 1, at,
				    "checkpoint %" PRIu64 "'s field "
				    "%" PRIu32 " holds its default 0",
				    i, field);
			if (field == 1)
				cp->step = v;
			else
				cp->loss_bits = (uint32_t)v;
			continue;
		}
		rc = get_len(k, end, field, &len);
		if (rc)
			return rc;
		if (!len)
			return enc_fail(k, 1, at,
			                "checkpoint %" PRIu64
			                "'s field %" PRIu32
			                " holds its default (empty)",
			                i, field);
		if (field == 2) {
			cp->samples_len = len;
			for (uint64_t j = 0; len == CAIRN_HASH_BYTES && j < len;
			     j++) {
				rc = next_byte(k, end, &cp->samples[j]);
				if (rc)
					return rc; /* < 0: len fits */
			}
			if (len != CAIRN_HASH_BYTES)
				k->pos += len;
			continue;
		}
		cp->off[field - 4] = k->pos;
		cp->len[field - 4] = len;
		k->pos += len;
	}
	return 0;
}

/* Steps 6 to 8: the whole input is the canonical encoding of a
 * cairn.Bundle, whose fields k->L notes.  Tensors are skipped, not read. */
static int walk_bundle(struct walk *k)
{
	/* Fields 1 to 8: format (varint), then bytes or messages. */
	static const uint8_t wire[9] = {0, 0, 2, 2, 2, 2, 2, 2, 2};
	struct cairn__bundle_layout *L = k->L;
	const uint64_t end = k->s->len;
	uint32_t last = 0, field, wt;
	uint64_t at, v, len;
	int rc;

	while (k->pos < end) {
		at = k->pos;
		rc = get_tag(k, end, &field, &wt);
		if (rc)
			return rc;
		if (field > 8) {
			cairn__seterr(
			    k->err, k->errlen,
			    "%s: a field unknown to bundle format %d "
			    "(field number %" PRIu32 ", at byte %" PRIu64
			    "): a newer format or not a bundle",
			    k->s->name, CAIRN_BUNDLE_FORMAT, field, at);
			return CAIRN_EFORMAT;
		}
		if (wt != wire[field])
			return enc_fail(k, 0, at,
			                "field %" PRIu32
			                " has wire type %" PRIu32 ", want %u",
			                field, wt, wire[field]);
		/* Only the repeated fields 5 and 7 come more than once. */
		if (field < last || (field == last && field != 5 && field != 7))
			return enc_fail(
			    k, 1, at, "field %" PRIu32 " after field %" PRIu32,
			    field, last);
		last = field;
		if (field == 1) {
			rc = get_varint(k, end, "the format", &v);
			if (rc)
				return rc;
			if (v > UINT32_MAX)
				return enc_fail(k, 0, at,
				                "format %" PRIu64 ", above a "
				                "uint32's 4294967295",
				                v);
			if (!v) /* the default: proto3 leaves it out */
				return enc_fail(k, 1, at, "format 0 written");
			L->format = (uint32_t)v;
			continue;
		}
		rc = get_len(k, end, field, &len);
		if (rc)
			return rc;
		if (field == 5) {
			if (L->nroots < CAIRN_TASK_MAX_STATES) {
				L->roots[L->nroots][0] = k->pos;
				L->roots[L->nroots][1] = len;
			}
			L->nroots++;
			k->pos += len;
		} else if (field == 7) {
			rc = walk_checkpoint(k, L->ncps, k->pos + len,
			                     L->ncps < CAIRN_TASK_MAX_STATES
			                         ? &L->cps[L->ncps]
			                         : &L->spare);
			if (rc)
				return rc;
			L->ncps++;
		} else if (!len) {
			return enc_fail(k, 1, at,
			                "field %" PRIu32 " holds its default "
			                "(empty)",
			                field);
		} else {
			L->off[field] = k->pos;
			L->len[field] = len;
			k->pos += len;
		}
	}
	return 0;
}

int cairn__bundle_walk(const struct cairn__bundle_src *s,
                       struct cairn__bundle_layout *L, char *err, size_t errlen)
{
	struct walk *k;
	int rc;

	k = calloc(1, sizeof *k);
	if (!k) {
		cairn__seterr(err, errlen, "%s: out of memory", s->name);
		return CAIRN_ENOMEM;
	}
	k->s = s;
	k->L = L;
	k->err = err;
	k->errlen = errlen;
	rc = walk_bundle(k);
	free(k);
	return rc;
}
