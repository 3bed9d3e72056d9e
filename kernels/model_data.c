/* cairn: a training set on the model's backend (cairn_model_attach_data;
 * include/cairn/model.h, "a training set on the device").
 *
 * Ownership: the model owns the copies (freed with it); the dataset and
 * its root stay the caller's, and are compared, never dereferenced. */
#include <stdlib.h>
#include <string.h>

#include "model_impl.h"
#include "cairn/error.h"
#include "cairn/log.h"

int cairn_model_attach_data(cairn_model *m, const cairn_dataset *ds,
                            const uint8_t root[32])
{
	const size_t px = (size_t)CAIRN_DATASET_PIXELS;
	int rc;

	if (!m || !ds || !root || !ds->count || !ds->images || !ds->labels ||
	    m->pending || m->dim[0] != CAIRN_DATASET_PIXELS)
		return CAIRN_EINVAL;
	if (m->nrep > 1)
		return CAIRN_ENOTSUP; /* each step's rows come from the host */
	for (uint32_t r = 0; r < ds->count; r++)
		if (ds->labels[r] >= m->spec.classes)
			return CAIRN_ERANGE;
	if (m->d_images)
		cairn_buf_free(m->be, m->d_images);
	if (m->d_labels)
		cairn_buf_free(m->be, m->d_labels);
	m->d_images = m->d_labels = NULL;
	m->d_src = NULL;
	rc = cairn_buf_alloc(m->be, (size_t)ds->count * px,
	                     (void **)&m->d_images);
	if (!rc)
		rc = cairn_buf_alloc(m->be, ds->count, (void **)&m->d_labels);
	if (!rc)
		rc = cairn_buf_write(m->be, m->d_images, ds->images,
		                     (size_t)ds->count * px);
	if (!rc)
		rc = cairn_buf_write(m->be, m->d_labels, ds->labels, ds->count);
	if (rc) {
		if (m->d_images)
			cairn_buf_free(m->be, m->d_images);
		if (m->d_labels)
			cairn_buf_free(m->be, m->d_labels);
		m->d_images = m->d_labels = NULL;
		return rc;
	}
	m->d_count = ds->count;
	m->d_src = ds;
	m->d_src_images = ds->images;
	m->d_src_labels = ds->labels;
	memcpy(m->d_root, root, sizeof m->d_root);
	return 0;
}

int cairn_model_use_device_data(cairn_model *m, const cairn_dataset *ds,
                                const uint8_t root[32])
{
	const char *env = getenv("CAIRN_DEVICE_DATA");
	int rc;

	if (!m || !ds || m->nrep > 1 ||
	    cairn_backend_get_kind(m->be) != CAIRN_BACKEND_CUDA ||
	    (env && !strcmp(env, "0")))
		return 0;
	if (cairn_model_has_data(m, ds, root))
		return 1;
	rc = cairn_model_attach_data(m, ds, root);
	if (rc) {
		cairn_warn("the training set stays on the host (%s): each step "
		           "uploads its batch (the same bits); set "
		           "CAIRN_DEVICE_DATA=0 to skip trying",
		           cairn_strerror(rc));
		return 0;
	}
	return 1;
}

int cairn_model_has_data(const cairn_model *m, const cairn_dataset *ds,
                         const uint8_t root[32])
{
	return m && ds && root && m->d_images && m->d_src == ds &&
	       m->d_src_images == ds->images && m->d_src_labels == ds->labels &&
	       m->d_count == ds->count &&
	       !memcmp(m->d_root, root, sizeof m->d_root);
}
