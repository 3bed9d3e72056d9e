/* cairn: reading signed result bundles (include/cairn/bundle.h; the
 * format and every check, in order, are in docs/bundle-format.md section
 * 4): the read API, the checking of a lazily read bundle's checkpoints,
 * and cairn_bundle_free.  The byte source and the walk over the encoding
 * are in attest/bundle_walk.c, the checks in attest/bundle_check.c, their
 * shared structures in attest/bundle_impl.h.  Collecting and writing are
 * in attest/bundle.c.
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
 * source, which only the reader makes. */
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
static int read_bundle(struct cairn__bundle_src *s, char **name, int lazy,
                       struct cairn_bundle *b, struct cairn_bundle_refusal *why,
                       char *err, size_t errlen)
{
	struct cairn__bundle_layout L;
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
	L.roots = malloc(CAIRN_TASK_MAX_STATES * sizeof *L.roots);
	L.cps = malloc(CAIRN_TASK_MAX_STATES * sizeof *L.cps);
	if (!L.roots || !L.cps) {
		cairn__seterr(err, errlen, "%s: out of memory", s->name);
		rc = CAIRN_ENOMEM;
		goto out;
	}
	rc = cairn__bundle_walk(s, &L, err, errlen);
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
	rc = cairn__bundle_check_result(s, &L, &nb, &step, err, errlen);
	if (!rc)
		rc = cairn__bundle_check_trace(s, &L, &nb, &step, &bad, err,
		                               errlen);
	if (!rc)
		rc = lazy ? cairn__bundle_check_lazy(s, name, &L, &nb, &step,
		                                     err, errlen)
		          : cairn__bundle_check_all(s, &L, &nb, &step, &bad,
		                                    err, errlen);
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
	return rc;
}

int cairn_bundle_decode_ex(const uint8_t *buf, size_t len, const char *name,
                           struct cairn_bundle *b,
                           struct cairn_bundle_refusal *why, char *err,
                           size_t errlen)
{
	struct cairn__bundle_src s = {.buf = buf, .fd = -1, .len = len};

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
	struct cairn__bundle_src s = {.fd = -1};
	char *name = NULL;
	size_t n;
	int rc;

	refusal_clear(why);
	if (b)
		memset(b, 0, sizeof *b);
	if (!path || !*path || !b) {
		cairn__seterr(
		    err, errlen, "%s",
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
	rc = cairn__bundle_src_open(&s, path, max, err, errlen);
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
static void source_src(const struct cairn_bundle *b, uint32_t i,
                       struct cairn__bundle_src *s,
                       struct cairn__bundle_cp_span *cp)
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

/* An SGD bundle's v (not in the file): the root of param_count zero
 * floats into vzero; nothing for AdamW. */
static int vzero_root(const struct cairn_bundle *b, const char *name,
                      uint8_t vzero[CAIRN_HASH_BYTES], char *err, size_t errlen)
{
	int rc;

	if (!cairn__bundle_no_v(&b->spec))
		return 0;
	rc = cairn_tensor_zero_root((size_t)b->param_count * sizeof(float),
	                            vzero);
	if (rc)
		cairn__seterr(err, errlen, "%s: the zero v's root: %s", name,
		              cairn_strerror(rc));
	return rc;
}

int cairn_bundle_check_checkpoint(struct cairn_bundle *b, uint32_t i, char *err,
                                  size_t errlen)
{
	const size_t bytes = b ? (size_t)b->param_count * sizeof(float) : 0;
	struct cairn_bundle_checkpoint cp;
	/* the addresses of cp's fields, not their values, are taken here */
	/* cppcheck-suppress uninitvar */
	float **t[3] = {&cp.params, &cp.m, &cp.v};
	struct cairn__bundle_cp_span span;
	struct cairn__bundle_src s;
	uint8_t vzero[CAIRN_HASH_BYTES];
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
	rc = vzero_root(b, s.name, vzero, err, errlen);
	if (!rc)
		rc = cairn__bundle_read_tensors(
		    &s, &span, bytes,
		    cairn__bundle_no_v(&b->spec) ? vzero : NULL, t, &cp.state,
		    i, err, errlen);
	if (!rc)
		rc = cairn__bundle_check_record(
		    &b->spec, b->state_roots, i, &cp.state,
		    i || (cairn__bundle_all_zero(cp.m, bytes) &&
		          cairn__bundle_all_zero(cp.v, bytes)),
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
	struct cairn__bundle_cp_span span;
	struct cairn__bundle_src s;
	int rc, step = 0, zero_mv = 1, ntensors;

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
	ntensors = cairn__bundle_no_v(&b->spec) ? 2 : 3;
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
		rc = cairn__bundle_check_record(
		    &b->spec, b->state_roots, i, &rec,
		    i || (cairn__bundle_all_zero(cp->m, bytes) &&
		          cairn__bundle_all_zero(cp->v, bytes)),
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
	rc = vzero_root(b, name, rec.v, err, errlen);
	if (rc)
		goto out;
	for (int k = 0; k < ntensors; k++) {
		rc = cairn__bundle_src_read(&s, span.off[k], tmp, bytes, err,
		                            errlen);
		if (rc)
			goto out;
		if (i == 0 && k > 0)
			zero_mv &= cairn__bundle_all_zero(tmp, bytes);
		rc = cairn_model_write(m, which[k], tmp);
		if (rc)
			goto fail_model;
	}
	/* SGD: v is not in the file; +0, whose root vzero_root gave */
	rc = ntensors < 3 ? cairn_model_zero(m, CAIRN_MODEL_V) : 0;
	if (rc)
		goto fail_model;
	for (int k = 0; k < ntensors && !rc; k++)
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
	rc = cairn__bundle_check_record(&b->spec, b->state_roots, i, &rec,
	                                zero_mv, name, &step, err, errlen);
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
