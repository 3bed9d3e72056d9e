/* cairn: the outer step of a DiLoCo round (DESIGN.md section 4).
 *
 * Round r starts from the global parameters W_r; its K tasks return their
 * final parameters W_r^k.  The scheduler takes them in task order k = 0,
 * 1, ..., K-1 and computes, on one backend, with the op set's fixed
 * orders:
 *     D_k  = W_r - W_r^k                    (cairn_sub)
 *     S    = (...((D_0 + D_1) + D_2) ...) + D_{K-1}
 *                                           (cairn_sum_n's order, kept as a
 *                                            running sum: S_0 = D_0,
 *                                            S_k = sum_n(S_{k-1}, D_k))
 *     G    = S * (1.0f / (float)K)          (cairn_scale; 1/K is the
 *                                            correctly rounded float,
 *                                            exact when K is a power of 2)
 *     W_{r+1}, u = nesterov(W_r, G, u; lr, momentum)
 *                                           (cairn_nesterov: u = mu u + G,
 *                                            W -= lr (mu u + G))
 * with the momentum u starting at +0 in round 0 and carried across rounds.
 * H = 1 steps of plain SGD inside and lr 1, momentum 0 outside is ordinary
 * synchronous data-parallel training.
 *
 * Ownership: the outer state owns its backend buffers (W, u, S, D); the
 * backend is borrowed and must outlive it.  Functions return 0 or a
 * negative CAIRN_E* code. */
#ifndef CAIRN_OUTER_H
#define CAIRN_OUTER_H

#include <stdint.h>

#include "cairn/kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The reference job's outer optimizer: the DiLoCo paper's values. */
#define CAIRN_OUTER_LR 0.7f
#define CAIRN_OUTER_MOMENTUM 0.9f

typedef struct cairn_outer cairn_outer;

/* W_0 from host memory (n floats); u = +0. */
int cairn_outer_create(cairn_backend *be, int64_t n, float lr, float momentum,
                       const float *w0, cairn_outer **out);
void cairn_outer_free(cairn_outer *o);

/* Adds task k's final parameters (backend memory of o's backend, n
 * floats) to the round's sum.  Tasks must come in order: k is the number
 * added so far in this round (CAIRN_EINVAL otherwise). */
int cairn_outer_add(cairn_outer *o, uint32_t k, const float *task_params);
/* Applies the outer step with the K = tasks added this round (>= 1, else
 * CAIRN_EINVAL) and starts the next round. */
int cairn_outer_step(cairn_outer *o);

/* The current global parameters W (backend memory, n floats; valid until
 * the next cairn_outer_step or cairn_outer_free). */
const float *cairn_outer_params(const cairn_outer *o);
/* Copies W or the momentum u to host memory (n floats). */
int cairn_outer_read(cairn_outer *o, float *w, float *u);
/* Restores W and u from host memory (a job resumed from its store). */
int cairn_outer_write(cairn_outer *o, const float *w, const float *u);

#ifdef __cplusplus
}
#endif
#endif
