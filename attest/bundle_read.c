/* cairn: reading signed result bundles (include/cairn/bundle.h; the
 * format and every check, in order, are in docs/bundle-format.md section
 * 4), and cairn_bundle_free.  Collecting and writing are in
 * attest/bundle.c.
 *
 * Reading does not unpack with protobuf-c.  A walk over the wire format
 * accepts exactly the encoding protobuf-c packs (fields in number order,
 * each non-repeated one at most once and never holding its default value,
 * varints in their shortest form, no unknown fields, nothing after the
 * message) and notes where every field lies, skipping the tensors; then
 * the small fields are read and checked; then the tensors are read with
 * pread straight into the arrays handed out and hashed there.  A file is
 * never held whole in memory, and a lazy read (cairn_bundle_read_lazy)
 * reads no tensor at all: cairn_bundle_check_checkpoint and
 * cairn_bundle_load_checkpoint read and check one checkpoint's tensors
 * when they are needed, and those bytes (held, never re-read) are the
 * ones used, so a file changed after the check cannot change what was
 * checked.
 *
 * Ownership: a struct cairn_bundle owns its state roots, checkpoint array,
 * tensors and, read lazily, its source: the open file and a copy of its
 * name, closed and freed by cairn_bundle_free.  Nothing here keeps a
 * pointer to its arguments after it returns. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "attest_impl.h"
#include "bundle_impl.h"
#include "cairn/attest.h"
#include "cairn/bundle.h"
#include "cairn/error.h"
#include "cairn/kernels.h"
#include "cairn/model.h"
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

/* Where a lazily read bundle's tensors are (cairn_bundle_read_lazy). */
struct cairn_bundle_source {
	int fd;
	uint64_t len;  /* the size fstat gave */
	char *name;    /* "bundle PATH", for messages */
	uint64_t *off; /* [nstates - 1][3]: params, m, v */
};

static void source_free(struct cairn_bundle_source *s)
{
	if (!s)
		return;
	close(s->fd);
	free(s->name);
	free(s->off);
	free(s);
}

/* Here rather than in attest/bundle.c: it closes a lazily read bundle's
 * source, which only this file knows. */
void cairn_bundle_free(struct cairn_bundle *b)
{
	if (!b)
		return;
	if (b->checkpoints && b->nstates && !b->spool) {
		for (uint32_t i = 0; i < b->nstates - 1; i++) {
			free(b->checkpoints[i].params);
			free(b->checkpoints[i].m);
			free(b->checkpoints[i].v);
		}
	}
	free(b->checkpoints);
	free(b->state_roots);
	free(b->steps);
	source_free(b->source);
	cairn__bundle_spool_free(b);
	memset(b, 0, sizeof *b);
}

/* ---- reading: the bytes -------------------------------------------------- */

/* A bundle's bytes: a buffer (cairn_bundle_decode), or a regular file that
 * is read with pread where the checks need it (cairn_bundle_read). */
struct src {
	const uint8_t *buf; /* the bytes; NULL: read them from fd */
	int fd;
	uint64_t len;
	const char *name; /* "bundle PATH", or the caller's label */
};

/* Copies the n bytes at off (inside the len bytes) into out. */
static int src_read(const struct src *s, uint64_t off, void *out, size_t n,
                    char *err, size_t errlen)
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

/* Steps 1 to 3: opens the regular file at path (at most max bytes, from
 * fstat; nothing is read) into s->fd and s->len. */
static int src_open(struct src *s, const char *path, uint64_t max, char *err,
                    size_t errlen)
{
	return cairn_file_open_input(path, "bundle", max, &s->fd, &s->len, err,
	                             errlen);
}

/* ---- reading: the encoding ----------------------------------------------- */

/* A checkpoint as the walk found it: its small fields (0 when left out)
 * and where its tensors lie. */
struct cp_span {
	uint64_t step;
	uint32_t loss_bits;
	uint64_t samples_len;
	uint8_t samples[CAIRN_HASH_BYTES]; /* when samples_len is 32 */
	uint64_t off[3], len[3];           /* params, m, v */
};

/* Where the fields of a bundle lie: what the walk found.  Entries of the
 * repeated fields past CAIRN_TASK_MAX_STATES are counted, not kept (no
 * task has that many). */
struct layout {
	uint32_t format;
	uint64_t off[9], len[9]; /* fields 2, 3, 4, 6 and 8, by number */
	uint64_t nroots, ncps;   /* entries of fields 5 and 7 */
	uint64_t (*roots)[2];    /* offset, length */
	struct cp_span *cps;
	struct cp_span spare; /* checkpoints past the kept ones */
};

/* The walk's cursor: pos in s, with a window of the bytes around it. */
struct walk {
	const struct src *s;
	struct layout *L;
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
			rc = src_read(k->s, k->pos, k->win, n, k->err,
			              k->errlen);
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
                           struct cp_span *cp)
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

/* Steps 5 to 8: the whole input is the canonical encoding of a
 * cairn.Bundle, whose fields k->L notes.  Tensors are skipped, not read. */
static int walk_bundle(struct walk *k)
{
	/* Fields 1 to 8: format (varint), then bytes or messages. */
	static const uint8_t wire[9] = {0, 0, 2, 2, 2, 2, 2, 2, 2};
	struct layout *L = k->L;
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

/* ---- reading: the checks ------------------------------------------------- */

/* 1 when all len bytes are zero (+0.0f in every float). */
static int all_zero(const void *p, size_t len)
{
	const uint8_t *q = p;
	uint8_t acc = 0;

	for (size_t i = 0; i < len; i++)
		acc |= q[i];
	return acc == 0;
}

/* Steps 27 and 28 for checkpoint i, whose record st holds its tensors'
 * roots: its state root must be trace entry i, and checkpoint 0 must be
 * the task's start (zero_mv: its m and v are all zero bytes).  *step is
 * set to the step that failed. */
static int check_record(const struct cairn_task_spec *spec,
                        const uint8_t *state_roots, uint32_t i,
                        const struct cairn_state *st, int zero_mv,
                        const char *name, int *step, char *err, size_t errlen)
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

/* Reads checkpoint cp's three tensors (bytes each) from s into new arrays
 * (*t[k], the caller's to free) and hashes them into st on the host. */
static int read_tensors(const struct src *s, const struct cp_span *cp,
                        size_t bytes, float **t[3], struct cairn_state *st,
                        uint32_t i, char *err, size_t errlen)
{
	uint8_t *roots[3] = {st->params, st->m, st->v};
	int rc;

	for (int k = 0; k < 3; k++) {
		*t[k] = malloc(bytes ? bytes : 1);
		if (!*t[k]) {
			cairn__seterr(
			    err, errlen,
			    "%s: out of memory for checkpoint %" PRIu32
			    " (%zu bytes a tensor)",
			    s->name, i, bytes);
			return CAIRN_ENOMEM;
		}
		rc = src_read(s, cp->off[k], *t[k], bytes, err, errlen);
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
static void span_state(const struct cp_span *cp, struct cairn_state *st)
{
	memset(st, 0, sizeof *st);
	st->step = cp->step;
	memcpy(st->samples, cp->samples, CAIRN_HASH_BYTES);
	st->loss_bits = cp->loss_bits;
}

/* The state root of the task's start, which a lazy reader checks state
 * root 0 against: W_r (the spec's parameters root), m = v = +0, the empty
 * samples digest, loss bits 0.  The zero tensor's leaves are all the hash
 * of a zero chunk (the last one shorter), so its root costs two. */
static int start_root(const struct cairn_task_spec *spec, size_t bytes,
                      uint8_t out[CAIRN_HASH_BYTES])
{
	const size_t chunk = CAIRN_TENSOR_CHUNK_BYTES;
	uint64_t n = cairn_tensor_leaf_count(bytes);
	uint8_t *zero = calloc(1, chunk), *leaves = malloc(n * 32);
	uint8_t full[CAIRN_HASH_BYTES], tail[CAIRN_HASH_BYTES];
	size_t last = bytes - (size_t)(n - 1) * chunk; /* 0 for no bytes */
	struct cairn_state st;
	int rc = CAIRN_ENOMEM;

	memset(&st, 0, sizeof st);
	if (!zero || !leaves)
		goto out;
	rc = cairn_tensor_leaf(zero, chunk, full);
	if (!rc)
		rc = cairn_tensor_leaf(zero, last, tail);
	if (rc)
		goto out;
	for (uint64_t j = 0; j < n; j++)
		memcpy(leaves + j * 32, j + 1 < n ? full : tail, 32);
	rc = cairn_tensor_root_from_leaves(leaves, n, bytes, st.m);
	if (!rc)
		rc = cairn_samples_digest(NULL, 0, st.samples);
	if (rc)
		goto out;
	memcpy(st.v, st.m, CAIRN_HASH_BYTES);
	memcpy(st.params, spec->params_root, CAIRN_HASH_BYTES);
	rc = cairn_state_root(&st, out);
out:
	free(zero);
	free(leaves);
	return rc;
}

/* Steps 9 to 15 on the walked bytes: the format, spec, result and
 * signature into nb, and the result's claims.  *step is set to a failed
 * step that refuses the bundle (12, 14, 15). */
static int check_result(const struct src *s, const struct layout *L,
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
		cairn__seterr(err, errlen,
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
	         ? src_read(s, L->off[2], spec, sizeof spec, err, errlen)
	         : 0;
	if (!rc && L->len[3] == sizeof res)
		rc = src_read(s, L->off[3], res, sizeof res, err, errlen);
	if (!rc && L->len[4] == CAIRN_SIGNATURE_BYTES)
		rc = src_read(s, L->off[4], nb->signature,
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
static int check_steps(const struct src *s, const struct layout *L,
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
		cairn__seterr(err, errlen,
		              "%s: the step log is %" PRIu64 " bytes; the task's "
		              "H = %" PRIu32 " steps need %" PRIu64
		              " (%d bytes a step)",
		              name, L->len[8], H, want, CAIRN_STEP_RECORD_BYTES);
		return CAIRN_EFORMAT;
	}
	nb->steps = malloc((size_t)want);
	if (!nb->steps) {
		cairn__seterr(err, errlen, "%s: out of memory for the step log",
		              name);
		return CAIRN_ENOMEM;
	}
	rc = src_read(s, L->off[8], nb->steps, (size_t)want, err, errlen);
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

/* Steps 16 to 26, after check_result: the state roots, the final state
 * and the step log into nb (which then owns them and an empty checkpoint
 * array), then every checkpoint's step, lengths, samples and loss.  *step
 * is set to a failed step that refuses the bundle (17, 19, 20, 22, 23,
 * 26; *bad to the checkpoint of 26). */
static int check_trace(const struct src *s, const struct layout *L,
                       struct cairn_bundle *nb, int *step, uint32_t *bad,
                       char *err, size_t errlen)
{
	const char *name = s->name;
	uint8_t fin[CAIRN_STATE_BYTES];
	uint8_t troot[CAIRN_HASH_BYTES], froot[CAIRN_HASH_BYTES];
	char h1[CAIRN_HASH_HEX_BYTES], h2[CAIRN_HASH_HEX_BYTES];
	size_t bytes;
	uint32_t n, c;
	int rc = 0;

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
		rc = src_read(s, L->roots[i][0],
		              nb->state_roots + (size_t)i * CAIRN_HASH_BYTES,
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
	rc = src_read(s, L->off[6], fin, sizeof fin, err, errlen);
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
	rc = check_steps(s, L, nb, step, err, errlen);
	if (rc)
		return rc;
	/* 24 to 26: the checkpoints' count, steps, lengths, samples and
	 * losses. */
	bytes = (size_t)nb->param_count * sizeof(float);
	if (L->ncps != n - 1) {
		cairn__seterr(
		    err, errlen,
		    "%s: %" PRIu64 " checkpoints; the task has %" PRIu32
		    " (t = 0, %" PRIu32 ", ..., H - c = %" PRIu32 ")",
		    name, L->ncps, n - 1, c, nb->spec.inner_steps - c);
		return CAIRN_EFORMAT;
	}
	for (uint32_t i = 0; i < n - 1; i++) {
		const struct cp_span *cp = &L->cps[i];
		if (cp->step != (uint64_t)i * c) {
			cairn__seterr(
			    err, errlen,
			    "%s: checkpoint %" PRIu32 " is at step %" PRIu64
			    ", want t = %" PRIu64 " (checkpoints come in "
			    "step order, every c = %" PRIu32 " steps)",
			    name, i, cp->step, (uint64_t)i * c, c);
			return CAIRN_EFORMAT;
		}
		if (cp->samples_len != CAIRN_HASH_BYTES ||
		    cp->len[0] != bytes || cp->len[1] != bytes ||
		    cp->len[2] != bytes) {
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
		if (!cairn__bundle_step_agrees(nb->steps,
		                               nb->spec.inner_steps, &st)) {
			const uint8_t *rec =
			    nb->steps +
			    (size_t)(st.step - 1) * CAIRN_STEP_RECORD_BYTES;
			hex(st.samples, h1);
			hex(rec, h2);
			cairn__seterr(
			    err, errlen,
			    "%s: checkpoint %" PRIu32 " (t = %" PRIu64 ") "
			    "has samples digest %s and loss bits 0x%08" PRIx32
			    ", but the signed step log's record of step %" PRIu64
			    " has %s and 0x%08" PRIx32 ": the checkpoint or the "
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

/* Steps 27 and 28 for every checkpoint, in order: reads its tensors into
 * nb's arrays and checks them. */
static int check_all(const struct src *s, const struct layout *L,
                     struct cairn_bundle *nb, int *step, uint32_t *bad,
                     char *err, size_t errlen)
{
	const size_t bytes = (size_t)nb->param_count * sizeof(float);
	int rc;

	for (uint32_t i = 0; i + 1 < nb->nstates; i++) {
		struct cairn_bundle_checkpoint *cp = &nb->checkpoints[i];
		float **t[3] = {&cp->params, &cp->m, &cp->v};
		struct cairn_state st;

		*bad = i;
		span_state(&L->cps[i], &st);
		rc = read_tensors(s, &L->cps[i], bytes, t, &st, i, err, errlen);
		if (!rc)
			rc = check_record(&nb->spec, nb->state_roots, i, &st,
			                  i || (all_zero(cp->m, bytes) &&
			                        all_zero(cp->v, bytes)),
			                  s->name, step, err, errlen);
		if (rc)
			return rc;
		cp->state = st;
		nb->ncheckpoints = i + 1;
	}
	*bad = UINT32_MAX;
	return 0;
}

/* The lazy reader's step 28: state root 0 is the task's start; and the
 * source a lazily read bundle keeps (s's descriptor and name move to it). */
static int check_lazy(struct src *s, char **name, const struct layout *L,
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

/* *why when no check refused the bundle (why may be NULL). */
static void refusal_clear(struct cairn_bundle_refusal *why)
{
	if (why) {
		memset(why, 0, sizeof *why);
		why->checkpoint = UINT32_MAX;
	}
}

/* The reader (steps 5 to 28, or the lazy reader's) on s, into *b; *why
 * says which check refused it.  With lazy, s's descriptor and *name move
 * into b->source. */
static int read_bundle(struct src *s, char **name, int lazy,
                       struct cairn_bundle *b, struct cairn_bundle_refusal *why,
                       char *err, size_t errlen)
{
	struct layout L;
	struct walk *k = NULL;
	struct cairn_bundle nb;
	uint32_t bad = UINT32_MAX;
	uint8_t extra;
	ssize_t r;
	int rc, step = 0;

	memset(&L, 0, sizeof L);
	memset(&nb, 0, sizeof nb);
	cairn__seterr(err, errlen, "no error");
	if (s->len == 0) {
		cairn__seterr(err, errlen,
		              "%s is empty (0 bytes): not a bundle", s->name);
		return CAIRN_EFORMAT;
	}
	k = calloc(1, sizeof *k);
	L.roots = malloc(CAIRN_TASK_MAX_STATES * sizeof *L.roots);
	L.cps = malloc(CAIRN_TASK_MAX_STATES * sizeof *L.cps);
	if (!k || !L.roots || !L.cps) {
		cairn__seterr(err, errlen, "%s: out of memory", s->name);
		rc = CAIRN_ENOMEM;
		goto out;
	}
	k->s = s;
	k->L = &L;
	k->err = err;
	k->errlen = errlen;
	rc = walk_bundle(k);
	if (rc)
		goto out;
	/* Step 4: no byte follows the size fstat gave. */
	if (!s->buf) {
		do
			r = pread(s->fd, &extra, 1, (off_t)s->len);
		while (r < 0 && errno == EINTR);
		if (r != 0) {
			cairn__seterr(err, errlen,
			              "%s: %s past the %" PRIu64 " bytes fstat "
			              "gave; is it still being written?",
			              s->name,
			              r < 0 ? "read failed" : "the file grew",
			              s->len);
			rc = CAIRN_EIO;
			goto out;
		}
	}
	rc = check_result(s, &L, &nb, &step, err, errlen);
	if (!rc)
		rc = check_trace(s, &L, &nb, &step, &bad, err, errlen);
	if (!rc)
		rc = lazy ? check_lazy(s, name, &L, &nb, &step, err, errlen)
		          : check_all(s, &L, &nb, &step, &bad, err, errlen);
	if (rc)
		goto out;
	*b = nb;
	memset(&nb, 0, sizeof nb);
	cairn__seterr(err, errlen, "no error");
out:
	if (why && step && (rc == CAIRN_ECRYPTO || rc == CAIRN_EMISMATCH)) {
		why->step = step;
		/* The lazy reader's step 28 is checkpoint 0's. */
		if (step >= 26)
			why->checkpoint = bad == UINT32_MAX ? 0 : bad;
		why->spec = nb.spec;
		why->result = nb.result;
		if (cairn_task_id(&nb.spec, why->task_id))
			refusal_clear(why);
	}
	cairn_bundle_free(&nb);
	free(L.roots);
	free(L.cps);
	free(k);
	return rc;
}

int cairn_bundle_decode_ex(const uint8_t *buf, size_t len, const char *name,
                           struct cairn_bundle *b,
                           struct cairn_bundle_refusal *why, char *err,
                           size_t errlen)
{
	struct src s = {.buf = buf, .fd = -1, .len = len};

	refusal_clear(why);
	if (b)
		memset(b, 0, sizeof *b);
	s.name = name ? name : "bundle";
	if (!b || (!buf && len)) {
		cairn__seterr(err, errlen, "%s: no input or no bundle to fill",
		              s.name);
		return CAIRN_EINVAL;
	}
	return read_bundle(&s, NULL, 0, b, why, err, errlen);
}

int cairn_bundle_decode(const uint8_t *buf, size_t len, const char *name,
                        struct cairn_bundle *b, char *err, size_t errlen)
{
	return cairn_bundle_decode_ex(buf, len, name, b, NULL, err, errlen);
}

/* cairn_bundle_read_ex with the size limit max. */
static int read_path(const char *path, uint64_t max, int lazy,
                     struct cairn_bundle *b, struct cairn_bundle_refusal *why,
                     char *err, size_t errlen)
{
	struct src s = {.fd = -1};
	char *name = NULL;
	size_t n;
	int rc;

	refusal_clear(why);
	if (b)
		memset(b, 0, sizeof *b);
	if (!path || !*path || !b) {
		cairn__seterr(err, errlen, "%s",
		              b ? "bundle path '': an empty path; name a bundle "
		                  "file"
		                : "read bundle: no bundle to fill");
		return CAIRN_EINVAL;
	}
	n = strlen(path) + sizeof "bundle ";
	name = malloc(n);
	if (!name) {
		cairn__seterr(err, errlen, "read bundle %s: out of memory",
		              path);
		return CAIRN_ENOMEM;
	}
	snprintf(name, n, "bundle %s", path);
	s.name = name;
	rc = src_open(&s, path, max, err, errlen);
	if (!rc)
		rc = read_bundle(&s, &name, lazy, b, why, err, errlen);
	if (s.fd >= 0)
		close(s.fd);
	free(name); /* NULL when it went to b->source */
	return rc;
}

int cairn_bundle_read_ex(const char *path,
                         const struct cairn_bundle_read_opts *o,
                         struct cairn_bundle *b,
                         struct cairn_bundle_refusal *why, char *err,
                         size_t errlen)
{
	return read_path(
	    path, o && o->max_bytes ? o->max_bytes : CAIRN_BUNDLE_MAX_BYTES,
	    o && o->lazy, b, why, err, errlen);
}

int cairn_bundle_read_max(const char *path, uint64_t max_bytes,
                          struct cairn_bundle *b, char *err, size_t errlen)
{
	return read_path(path, max_bytes, 0, b, NULL, err, errlen);
}

int cairn_bundle_read(const char *path, struct cairn_bundle *b, char *err,
                      size_t errlen)
{
	return read_path(path, CAIRN_BUNDLE_MAX_BYTES, 0, b, NULL, err, errlen);
}

int cairn_bundle_read_lazy(const char *path, struct cairn_bundle *b, char *err,
                           size_t errlen)
{
	return read_path(path, CAIRN_BUNDLE_MAX_BYTES, 1, b, NULL, err, errlen);
}

/* ---- checking a lazily read checkpoint ----------------------------------- */

/* The source of b's checkpoint i as a src, and its tensors' spans. */
static void source_src(const struct cairn_bundle *b, uint32_t i, struct src *s,
                       struct cp_span *cp)
{
	const struct cairn_bundle_source *so = b->source;

	memset(s, 0, sizeof *s);
	s->fd = so->fd;
	s->len = so->len;
	s->name = so->name;
	memset(cp, 0, sizeof *cp);
	memcpy(cp->off, so->off + (size_t)i * 3, sizeof cp->off);
}

/* 0 when b and i name a checkpoint of a complete bundle; CAIRN_EINVAL
 * with err when not. */
static int checkpoint_arg(const struct cairn_bundle *b, uint32_t i,
                          const char *what, char *err, size_t errlen)
{
	if (!b || !b->checkpoints || !b->state_roots || b->nstates < 2 ||
	    b->ncheckpoints != b->nstates - 1 || i >= b->ncheckpoints) {
		cairn__seterr(err, errlen,
		              "%s: no bundle, an incomplete one, or no "
		              "checkpoint %" PRIu32 " in it",
		              what, i);
		return CAIRN_EINVAL;
	}
	return 0;
}

int cairn_bundle_check_checkpoint(struct cairn_bundle *b, uint32_t i, char *err,
                                  size_t errlen)
{
	const size_t bytes = b ? (size_t)b->param_count * sizeof(float) : 0;
	struct cairn_bundle_checkpoint cp;
	float **t[3] = {&cp.params, &cp.m, &cp.v};
	struct cp_span span;
	struct src s;
	int rc, step = 0;

	rc = checkpoint_arg(b, i, "cairn_bundle_check_checkpoint", err, errlen);
	if (rc)
		return rc;
	if (b->checkpoints[i].params && b->checkpoints[i].m &&
	    b->checkpoints[i].v)
		return 0;
	if (!b->source) {
		cairn__seterr(err, errlen,
		              "bundle: checkpoint %" PRIu32 " has no tensors "
		              "and the bundle was not read lazily",
		              i);
		return CAIRN_EINVAL;
	}
	memset(&cp, 0, sizeof cp);
	cp.state = b->checkpoints[i].state;
	source_src(b, i, &s, &span);
	rc = read_tensors(&s, &span, bytes, t, &cp.state, i, err, errlen);
	if (!rc)
		rc = check_record(
		    &b->spec, b->state_roots, i, &cp.state,
		    i || (all_zero(cp.m, bytes) && all_zero(cp.v, bytes)),
		    s.name, &step, err, errlen);
	if (rc) {
		free(cp.params);
		free(cp.m);
		free(cp.v);
		return rc;
	}
	b->checkpoints[i] = cp;
	return 0;
}

int cairn_bundle_load_checkpoint(const struct cairn_bundle *b, uint32_t i,
                                 cairn_model *m, struct cairn_state *st,
                                 char *err, size_t errlen)
{
	static const cairn_model_buf which[3] = {CAIRN_MODEL_PARAMS,
	                                         CAIRN_MODEL_M, CAIRN_MODEL_V};
	const struct cairn_bundle_checkpoint *cp;
	const char *name;
	struct cairn_state rec;
	uint8_t *roots[3] = {rec.params, rec.m, rec.v};
	size_t bytes;
	float *tmp = NULL;
	struct cp_span span;
	struct src s;
	int rc, step = 0, zero_mv = 1;

	rc = checkpoint_arg(b, i, "cairn_bundle_load_checkpoint", err, errlen);
	if (rc)
		return rc;
	name = b->source ? b->source->name : "bundle";
	if (!m || cairn_model_param_count(m) != b->param_count) {
		cairn__seterr(err, errlen,
		              "%s: no model, or one of %" PRId64 " parameters "
		              "for a spec of %" PRId64,
		              name, m ? cairn_model_param_count(m) : 0,
		              b->param_count);
		return CAIRN_EINVAL;
	}
	bytes = (size_t)b->param_count * sizeof(float);
	cp = &b->checkpoints[i];
	rec = cp->state;
	if (cp->params && cp->m && cp->v) {
		/* Checked when read (or collected): its record is the one
		 * its tensors hash to. */
		rc = cairn_model_write(m, which[0], cp->params);
		if (!rc)
			rc = cairn_model_write(m, which[1], cp->m);
		if (!rc)
			rc = cairn_model_write(m, which[2], cp->v);
		if (rc)
			goto fail_model;
		/* The zero moments at t = 0 are checked here too: a bundle
		 * still being collected was never read back. */
		rc = check_record(&b->spec, b->state_roots, i, &rec,
		                  i || (all_zero(cp->m, bytes) &&
		                        all_zero(cp->v, bytes)),
		                  name, &step, err, errlen);
		goto out;
	}
	if (!b->source) {
		cairn__seterr(err, errlen,
		              "%s: checkpoint %" PRIu32 " has no tensors and "
		              "the bundle was not read lazily",
		              name, i);
		return CAIRN_EINVAL;
	}
	/* Read one tensor at a time through tmp into the model, then hash
	 * what the model holds where it holds it. */
	tmp = malloc(bytes ? bytes : 1);
	if (!tmp) {
		cairn__seterr(err, errlen,
		              "%s: out of memory for checkpoint %" PRIu32, name,
		              i);
		return CAIRN_ENOMEM;
	}
	source_src(b, i, &s, &span);
	for (int k = 0; k < 3; k++) {
		rc = src_read(&s, span.off[k], tmp, bytes, err, errlen);
		if (rc)
			goto out;
		if (i == 0 && k > 0)
			zero_mv &= all_zero(tmp, bytes);
		rc = cairn_model_write(m, which[k], tmp);
		if (rc)
			goto fail_model;
	}
	for (int k = 0; k < 3 && !rc; k++)
		rc = cairn_tensor_root_on(cairn_model_backend(m),
		                          cairn_model_buffer(m, which[k]),
		                          bytes, roots[k]);
	if (rc) {
		cairn__seterr(err, errlen,
		              "%s: hashing checkpoint %" PRIu32 " on the %s "
		              "backend: %s",
		              name, i,
		              cairn_backend_name(cairn_model_backend(m)),
		              cairn_strerror(rc));
		goto out;
	}
	rc = check_record(&b->spec, b->state_roots, i, &rec, zero_mv, name,
	                  &step, err, errlen);
	goto out;
fail_model:
	cairn__seterr(err, errlen,
	              "%s: cannot load checkpoint %" PRIu32 " into the model: "
	              "%s",
	              name, i, cairn_strerror(rc));
out:
	free(tmp);
	if (!rc && st)
		*st = rec;
	return rc;
}
