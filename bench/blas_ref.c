/* cairn: OpenBLAS as the bench's CPU reference, loaded at run time.
 *
 * The binary never links a BLAS (DESIGN.md section 3: it must start on any
 * x86-64 Linux); `cairn bench` dlopens OpenBLAS when it is there and prints
 * no reference figure when it is not.  The few entry points used are
 * declared in bench.h (no cblas.h). */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "cairn/error.h"

/* dlsym returns an object pointer; copy it into a function pointer of the
 * same size without a cast that ISO C does not define. */
static void *blas_sym(void *handle, const char *name, void *fnptr, size_t size)
{
	void *p = dlsym(handle, name);

	if (p && size == sizeof p)
		memcpy(fnptr, &p, sizeof p);
	return p;
}

/* Opens OpenBLAS: libopenblas.so.0, then libopenblas.so.  On success *b
 * owns the handle (cairn_blas_close releases it).  On failure *b is zeroed
 * and why says what was missing. */
int cairn_blas_open(struct cairn_blas *b, char *why, size_t len)
{
	static const char *const names[] = {"libopenblas.so.0",
	                                    "libopenblas.so"};
	cairn_blas_get_config_fn get_config = NULL;
	const char *err = "not found";
	void *h = NULL;

	if (why && len)
		why[0] = '\0';
	if (!b)
		return CAIRN_EINVAL;
	memset(b, 0, sizeof *b);
	for (size_t i = 0; i < sizeof names / sizeof names[0] && !h; i++) {
		h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
		if (!h && i == 0) {
			const char *e = dlerror();
			err = e ? e : "not found";
		}
	}
	if (!h) {
		if (why && len)
			snprintf(why, len,
			         "OpenBLAS not loaded (%s); install "
			         "libopenblas0-pthread for a reference figure",
			         err);
		return CAIRN_ENOENT;
	}
	if (!blas_sym(h, "cblas_sgemm", &b->sgemm, sizeof b->sgemm)) {
		if (why && len)
			snprintf(why, len,
			         "the OpenBLAS found has no cblas_sgemm");
		dlclose(h);
		memset(b, 0, sizeof *b);
		return CAIRN_ENOENT;
	}
	blas_sym(h, "openblas_set_num_threads", &b->set_threads,
	         sizeof b->set_threads);
	blas_sym(h, "openblas_get_config", &get_config, sizeof get_config);
	b->handle = h;
	if (get_config && get_config())
		snprintf(b->name, sizeof b->name, "%s", get_config());
	else
		snprintf(b->name, sizeof b->name, "OpenBLAS");
	/* openblas_get_config says "OpenBLAS 0.3.21 ..." already; trim the
	 * trailing space it ends with. */
	for (size_t n = strlen(b->name); n > 0 && b->name[n - 1] == ' '; n--)
		b->name[n - 1] = '\0';
	return 0;
}

/* Releases the library; safe on a zeroed or already closed struct. */
void cairn_blas_close(struct cairn_blas *b)
{
	if (!b)
		return;
	if (b->handle)
		dlclose(b->handle);
	memset(b, 0, sizeof *b);
}
