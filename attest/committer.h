/* cairn: the background committer's internals, used by task.c
 * (committer.c; the public half is in include/cairn/task.h). */
#ifndef CAIRN_ATTEST_COMMITTER_H
#define CAIRN_ATTEST_COMMITTER_H

#include <stdint.h>

#include "cairn/task.h"

/* Snapshots the state m holds after step t (waiting for m's backend
 * first) and queues its hashing; samples and loss_bits are kept for the
 * state record.  CAIRN_EINVAL when a snapshot is still pending (collect
 * it first) or m does not fit the committer. */
int cairn__committer_start(cairn_committer *c, cairn_model *m, uint64_t t,
			   const uint8_t samples[CAIRN_HASH_BYTES],
			   uint32_t loss_bits);

/* Waits for the pending snapshot's hashes and fills *st (roots, step,
 * samples, loss) with *had = 1; with nothing pending, *had = 0. */
int cairn__committer_collect(cairn_committer *c, struct cairn_state *st,
			     int *had);

/* 0 when c can commit m's states (its parameter count, backend kind and
 * device), else CAIRN_EINVAL. */
int cairn__committer_fits(const cairn_committer *c, cairn_model *m);

/* Forgets a pending snapshot (after an error), once its work is done. */
void cairn__committer_drop(cairn_committer *c);

#endif
