/* cairn: evaluation (the argmax of the logits, counted against the
 * labels) and the step sampler (Philox-drawn sample indices, DESIGN.md
 * 2.5 and 4), over the model of model.c (include/cairn/model.h).  The
 * host buffers here are the call's own, freed before it returns; the
 * model's are borrowed. */
#include <stdint.h>
#include <stdlib.h>

#include "model_impl.h"
#include "cairn/dataset.h"
#include "cairn/error.h"
#include "cairn/model.h"
#include "philox.h"

/* ---- evaluation ----------------------------------------------------- */

int cairn_model_predict(cairn_model *m, int64_t batch, const float *x,
                        int32_t *pred)
{
	int64_t c;
	int rc;

	if (!m || !pred)
		return CAIRN_EINVAL;
	c = m->spec.classes;
	rc = cairn__model_upload(m, batch, x, NULL);
	if (!rc)
		rc = cairn__model_forward(m, batch);
	if (!rc)
		rc = cairn_buf_read(m->be, m->host_logits,
		                    m->ws + m->z_off[m->nlayers - 1],
		                    (size_t)(batch * c) * sizeof(float));
	for (int64_t r = 0; r < batch && !rc; r++) {
		const float *row = m->host_logits + r * c;
		int64_t best = 0;

		for (int64_t j = 1; j < c; j++)
			if (row[j] > row[best])
				best = j;
		pred[r] = (int32_t)best;
	}
	return rc;
}

int cairn_model_evaluate(cairn_model *m, int64_t n, const float *x,
                         const int32_t *y, int64_t *correct)
{
	int32_t *pred = NULL;
	int64_t ok = 0;
	int rc = 0;

	if (!m || n < 0 || (n > 0 && (!x || !y)) || !correct)
		return CAIRN_EINVAL;
	pred = malloc((size_t)m->max_batch * sizeof *pred);
	if (!pred)
		return CAIRN_ENOMEM;
	for (int64_t r0 = 0; r0 < n && !rc; r0 += m->max_batch) {
		int64_t b = n - r0 < m->max_batch ? n - r0 : m->max_batch;

		rc = cairn_model_predict(m, b, x + r0 * m->dim[0], pred);
		for (int64_t r = 0; r < b && !rc; r++)
			ok += pred[r] == y[r0 + r];
	}
	if (!rc)
		*correct = ok;
	free(pred);
	return rc;
}

int cairn_model_evaluate_dataset(cairn_model *m, const cairn_dataset *ds,
                                 int64_t *correct)
{
	float *x = NULL;
	int32_t *y = NULL, *pred = NULL;
	uint32_t *idx = NULL;
	int64_t ok = 0, bmax;
	int rc = 0;

	if (!m || !ds || !correct || m->dim[0] != CAIRN_DATASET_PIXELS)
		return CAIRN_EINVAL;
	bmax = m->max_batch;
	x = malloc((size_t)(bmax * CAIRN_DATASET_PIXELS) * sizeof *x);
	y = malloc((size_t)bmax * sizeof *y);
	pred = malloc((size_t)bmax * sizeof *pred);
	idx = malloc((size_t)bmax * sizeof *idx);
	if (!x || !y || !pred || !idx) {
		rc = CAIRN_ENOMEM;
		goto out;
	}
	for (int64_t r0 = 0; r0 < ds->count && !rc; r0 += bmax) {
		int64_t b = ds->count - r0 < bmax ? ds->count - r0 : bmax;

		for (int64_t r = 0; r < b; r++)
			idx[r] = (uint32_t)(r0 + r);
		rc = cairn_dataset_gather(ds, idx, (size_t)b, x, y, NULL, 0);
		if (!rc)
			rc = cairn_model_predict(m, b, x, pred);
		for (int64_t r = 0; r < b && !rc; r++)
			ok += pred[r] == y[r];
	}
	if (!rc)
		*correct = ok;
out:
	free(x);
	free(y);
	free(pred);
	free(idx);
	return rc;
}

/* ---- sampling ----------------------------------------------------------- */

int cairn_sample_indices(uint64_t seed, uint32_t round, uint32_t task,
                         uint32_t step, uint32_t n, int64_t batch,
                         uint32_t *idx)
{
	uint64_t stream = ((uint64_t)round << 32) | task;
	uint32_t w[4];

	if (n < 1 || batch < 0 || batch > (int64_t)UINT32_MAX ||
	    (batch > 0 && !idx))
		return CAIRN_EINVAL;
	if (round >= CAIRN_SAMPLE_ROUND_LIMIT)
		return CAIRN_ERANGE;
	for (int64_t e = 0; e < batch; e++) {
		if (e % 4 == 0)
			cairn_philox_block(
			    seed, stream,
			    ((uint64_t)step << 32) | (uint64_t)(e / 4), w);
		idx[e] = (uint32_t)(((uint64_t)w[e % 4] * n) >> 32);
	}
	return 0;
}
