/* cairn: the outer step of a DiLoCo round (include/cairn/outer.h has the
 * exact order of operations). */
#include <stdlib.h>

#include "cairn/error.h"
#include "cairn/outer.h"

struct cairn_outer {
	cairn_backend *be; /* borrowed */
	int64_t n;
	float lr, momentum;
	uint32_t added; /* tasks added in this round */
	/* backend buffers of n floats, owned: */
	float *w;   /* W_r */
	float *u;   /* outer momentum */
	float *sum; /* S_k, the running sum of the round's deltas */
	float *d;   /* D_k of the task being added */
};

int cairn_outer_create(cairn_backend *be, int64_t n, float lr, float momentum,
                       const float *w0, cairn_outer **out)
{
	cairn_outer *o;
	int rc;
	size_t bytes;

	if (!out)
		return CAIRN_EINVAL;
	*out = NULL;
	if (!be || n < 1 || !w0 || !(lr > 0.0f) || !(momentum >= 0.0f) ||
	    !(momentum < 1.0f) || (uint64_t)n > SIZE_MAX / sizeof(float))
		return CAIRN_EINVAL;
	o = calloc(1, sizeof *o);
	if (!o)
		return CAIRN_ENOMEM;
	o->be = be;
	o->n = n;
	o->lr = lr;
	o->momentum = momentum;
	bytes = (size_t)n * sizeof(float);
	rc = cairn_buf_alloc(be, bytes, (void **)&o->w);
	if (!rc)
		rc = cairn_buf_alloc(be, bytes, (void **)&o->u);
	if (!rc)
		rc = cairn_buf_alloc(be, bytes, (void **)&o->sum);
	if (!rc)
		rc = cairn_buf_alloc(be, bytes, (void **)&o->d);
	if (!rc)
		rc = cairn_buf_write(be, o->w, w0, bytes);
	/* u = +0: fmaf(u, +0, +0) of a uniform fill is +0 for every element. */
	if (!rc)
		rc = cairn_fill_uniform(be, n, 0, 0, 0, 0.0f, 0.0f, o->u);
	if (rc) {
		cairn_outer_free(o);
		return rc;
	}
	*out = o;
	return 0;
}

void cairn_outer_free(cairn_outer *o)
{
	if (!o)
		return;
	cairn_buf_free(o->be, o->w);
	cairn_buf_free(o->be, o->u);
	cairn_buf_free(o->be, o->sum);
	cairn_buf_free(o->be, o->d);
	free(o);
}

int cairn_outer_add(cairn_outer *o, uint32_t k, const float *task_params)
{
	const float *src[2];
	int rc;

	if (!o || !task_params || k != o->added)
		return CAIRN_EINVAL;
	if (k == 0)
		return (rc = cairn_sub(o->be, o->n, o->w, task_params, o->sum))
		           ? rc
		           : (o->added = 1, 0);
	rc = cairn_sub(o->be, o->n, o->w, task_params, o->d);
	if (rc)
		return rc;
	src[0] = o->sum;
	src[1] = o->d;
	rc = cairn_sum_n(o->be, o->n, 2, src, o->sum);
	if (rc)
		return rc;
	o->added++;
	return 0;
}

int cairn_outer_step(cairn_outer *o)
{
	int rc;
	if (!o || o->added == 0)
		return CAIRN_EINVAL;
	rc = cairn_scale(o->be, o->n, 1.0f / (float)o->added, o->sum, o->sum);
	if (!rc)
		rc = cairn_nesterov(o->be, o->n, o->lr, o->momentum, o->w,
		                    o->sum, o->u);
	if (!rc)
		o->added = 0;
	return rc;
}

const float *cairn_outer_params(const cairn_outer *o)
{
	return o ? o->w : NULL;
}

int cairn_outer_read(cairn_outer *o, float *w, float *u)
{
	size_t bytes;
	int rc = 0;
	if (!o)
		return CAIRN_EINVAL;
	bytes = (size_t)o->n * sizeof(float);
	if (w)
		rc = cairn_buf_read(o->be, w, o->w, bytes);
	if (!rc && u)
		rc = cairn_buf_read(o->be, u, o->u, bytes);
	return rc;
}

int cairn_outer_write(cairn_outer *o, const float *w, const float *u)
{
	size_t bytes;
	int rc;
	if (!o || !w || !u)
		return CAIRN_EINVAL;
	bytes = (size_t)o->n * sizeof(float);
	rc = cairn_buf_write(o->be, o->w, w, bytes);
	if (!rc)
		rc = cairn_buf_write(o->be, o->u, u, bytes);
	if (!rc)
		o->added = 0;
	return rc;
}
