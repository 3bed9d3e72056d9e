/* cairn: the background committer's internals, used by task_run.c
 * (committer.c; the public half is in include/cairn/task.h). */
#ifndef CAIRN_ATTEST_COMMITTER_H
#define CAIRN_ATTEST_COMMITTER_H

#include <stdint.h>

#include "cairn/task.h"

/* 0 when c can commit m's states (its parameter count, backend kind and
 * device), else CAIRN_EINVAL. */
int cairn__committer_fits(const cairn_committer *c, cairn_model *m);

/* The parameter count c was opened for (0 for NULL). */
int64_t cairn__committer_nparams(const cairn_committer *c);

/* The state last collected while its snapshot is readable
 * (cairn_committer_read), else NULL. */
const struct cairn_state *cairn__committer_collected(const cairn_committer *c);

/* How many snapshots are started and not yet collected: 0, 1 or 2 (0 for
 * NULL). */
int cairn__committer_pending(const cairn_committer *c);

/* Forgets the pending snapshots (after an error), once their work is done,
 * and any readable one. */
void cairn__committer_drop(cairn_committer *c);

#endif
