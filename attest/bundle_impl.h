/* cairn: internals shared by attest/bundle.c (collecting and writing) and
 * attest/bundle_read.c (reading); not a public header. */
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

#endif
