/* cairn: internals shared by attest/bundle.c (collecting and writing) and
 * the reader: attest/bundle_read.c (the API), attest/bundle_walk.c (the
 * bytes and the encoding) and attest/bundle_check.c (the checks); not a
 * public header. */
#ifndef CAIRN_BUNDLE_IMPL_H
#define CAIRN_BUNDLE_IMPL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cairn/attest.h"
#include "cairn/bundle.h"
#include "cairn/task.h"

/* Tensors go to and from the file as the host's float bytes. */
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "attest/bundle*.c store floats as host bytes: little-endian hosts only"
#endif

/* Bytes of one read(), write() or pread() call: below Linux's 2^31 - 4096
 * cap. */
#define CAIRN__BUNDLE_IO_CHUNK ((size_t)1 << 30)

/* Floats in each tensor of spec's model (the spec is checked). */
static inline int64_t cairn__bundle_param_count(const struct cairn_task_spec *s)
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

/* 1 when spec's bundle leaves v out of its checkpoints: with SGD, v is
 * +0 in every state, and the reader supplies param_count zero floats
 * (docs/bundle-format.md section 2.1). */
static inline int cairn__bundle_no_v(const struct cairn_task_spec *s)
{
	return s->opt.kind == CAIRN_OPTIM_SGD;
}

/* 1 when the state record st (at step t, 1 <= t <= H) holds the samples
 * digest and loss bits of step t's record in the step log steps ([H][36]);
 * 0 when not, or for a step outside 1..H. */
static inline int cairn__bundle_step_agrees(const uint8_t *steps, uint32_t H,
                                            const struct cairn_state *st)
{
	uint8_t rec[CAIRN_STEP_RECORD_BYTES];
	if (st->step == 0 || st->step > H ||
	    cairn_step_record(st->samples, st->loss_bits, rec))
		return 0;
	return memcmp(steps + (size_t)(st->step - 1) * CAIRN_STEP_RECORD_BYTES,
	              rec, sizeof rec) == 0;
}

/* cairn_bundle_spool's file (bundle.c): unmapped and closed here, and
 * b->spool NULL; the checkpoints' tensors pointed into it. */
void cairn__bundle_spool_free(struct cairn_bundle *b);

/* 1 when all len bytes are zero (+0.0f in every float). */
static inline int cairn__bundle_all_zero(const void *p, size_t len)
{
	const uint8_t *q = p;
	uint8_t acc = 0;

	for (size_t i = 0; i < len; i++)
		acc |= q[i];
	return acc == 0;
}

/* Where a lazily read bundle's tensors are (cairn_bundle_read_lazy):
 * made by cairn__bundle_check_lazy, freed with the bundle (bundle_read.c). */
struct cairn_bundle_source {
	int fd;
	uint64_t len;  /* the size fstat gave */
	char *name;    /* "bundle PATH", for messages */
	uint64_t *off; /* [nstates - 1][3]: params, m, v */
};

/* ---- reading: the bytes (bundle_walk.c) ---------------------------------- */

/* A bundle's bytes: a buffer (cairn_bundle_decode), or a regular file that
 * is read with pread where the checks need it (cairn_bundle_read). */
struct cairn__bundle_src {
	const uint8_t *buf; /* the bytes; NULL: read them from fd */
	int fd;
	uint64_t len;
	const char *name; /* "bundle PATH", or the caller's label */
};

/* Copies the n bytes at off (inside the len bytes) into out. */
int cairn__bundle_src_read(const struct cairn__bundle_src *s, uint64_t off,
                           void *out, size_t n, char *err, size_t errlen);

/* Steps 1 to 3: opens the regular file at path (at most max bytes, from
 * fstat; nothing is read) into s->fd and s->len. */
int cairn__bundle_src_open(struct cairn__bundle_src *s, const char *path,
                           uint64_t max, char *err, size_t errlen);

/* ---- reading: the encoding (bundle_walk.c) ------------------------------- */

/* A checkpoint as the walk found it: its small fields (0 when left out)
 * and where its tensors lie. */
struct cairn__bundle_cp_span {
	uint64_t step;
	uint32_t loss_bits;
	uint64_t samples_len;
	uint8_t samples[CAIRN_HASH_BYTES]; /* when samples_len is 32 */
	uint64_t off[3], len[3];           /* params, m, v */
};

/* Where the fields of a bundle lie: what the walk found.  Entries of the
 * repeated fields past CAIRN_TASK_MAX_STATES are counted, not kept (no
 * task has that many). */
struct cairn__bundle_layout {
	uint32_t format;
	uint64_t off[9], len[9]; /* fields 2, 3, 4, 6 and 8, by number */
	uint64_t nroots, ncps;   /* entries of fields 5 and 7 */
	uint64_t (*roots)[2];    /* offset, length */
	struct cairn__bundle_cp_span *cps;
	struct cairn__bundle_cp_span spare; /* checkpoints past the kept ones */
};

/* Steps 6 to 8, on an input s that is not empty (step 5, the caller's):
 * the whole input is the canonical encoding of a cairn.Bundle, whose
 * fields L notes (L->roots and L->cps hold CAIRN_TASK_MAX_STATES entries
 * each, the caller's; the rest of L starts zeroed).  Tensors are skipped,
 * not read. */
int cairn__bundle_walk(const struct cairn__bundle_src *s,
                       struct cairn__bundle_layout *L, char *err,
                       size_t errlen);

/* ---- reading: the checks (bundle_check.c) -------------------------------- */

/* Steps 9 to 15 on the walked bytes: the format, spec, result and
 * signature into nb, and the result's claims.  *step is set to a failed
 * step that refuses the bundle (12, 14, 15). */
int cairn__bundle_check_result(const struct cairn__bundle_src *s,
                               const struct cairn__bundle_layout *L,
                               struct cairn_bundle *nb, int *step, char *err,
                               size_t errlen);

/* Steps 16 to 26, after cairn__bundle_check_result: the state roots, the
 * final state and the step log into nb (which then owns them and an empty
 * checkpoint array), then every checkpoint's step, lengths, samples and
 * loss.  *step is set to a failed step that refuses the bundle (17, 19,
 * 20, 22, 23, 26; *bad to the checkpoint of 26). */
int cairn__bundle_check_trace(const struct cairn__bundle_src *s,
                              const struct cairn__bundle_layout *L,
                              struct cairn_bundle *nb, int *step, uint32_t *bad,
                              char *err, size_t errlen);

/* Steps 27 and 28 for every checkpoint, in order: reads its tensors into
 * nb's arrays and checks them. */
int cairn__bundle_check_all(const struct cairn__bundle_src *s,
                            const struct cairn__bundle_layout *L,
                            struct cairn_bundle *nb, int *step, uint32_t *bad,
                            char *err, size_t errlen);

/* The lazy reader's step 28: state root 0 is the task's start; and the
 * source a lazily read bundle keeps (s's descriptor and name move to it). */
int cairn__bundle_check_lazy(struct cairn__bundle_src *s, char **name,
                             const struct cairn__bundle_layout *L,
                             struct cairn_bundle *nb, int *step, char *err,
                             size_t errlen);

/* Steps 27 and 28 for checkpoint i, whose record st holds its tensors'
 * roots: its state root must be trace entry i, and checkpoint 0 must be
 * the task's start (zero_mv: its m and v are all zero bytes).  *step is
 * set to the step that failed. */
int cairn__bundle_check_record(const struct cairn_task_spec *spec,
                               const uint8_t *state_roots, uint32_t i,
                               const struct cairn_state *st, int zero_mv,
                               const char *name, int *step, char *err,
                               size_t errlen);

/* Reads checkpoint cp's three tensors (bytes each) from s into new arrays
 * (*t[k], the caller's to free) and hashes them into st on the host.
 * With vzero (an SGD bundle: cairn__bundle_no_v), v is not in the file:
 * *t[2] is bytes zero bytes and its root vzero, the zero tensor's. */
int cairn__bundle_read_tensors(const struct cairn__bundle_src *s,
                               const struct cairn__bundle_cp_span *cp,
                               size_t bytes, const uint8_t *vzero, float **t[3],
                               struct cairn_state *st, uint32_t i, char *err,
                               size_t errlen);

#endif
