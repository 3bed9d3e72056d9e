/* cairn: the independent STREAM triad loop that `cairn bench stream` puts
 * beside its own (bench_stream.c).
 *
 * This file shares no code with cairn's triad: it is the textbook loop of
 * McCalpin's STREAM (a[j] = b[j] + scalar * c[j], float64), compiled on
 * its own with -O2 whatever the build type (CMakeLists.txt sets the
 * property), and called on each thread's slice in the same process, so
 * that the two figures differ only by the loop.  (GCC 12 at -O2 keeps
 * this loop scalar; cairn's, unrolled by four, becomes SSE2 pairs.) */
#include <stddef.h>

#include "bench.h"

void cairn__stream_ref_triad(double *a, const double *b, const double *c,
                             double scalar, size_t n)
{
	size_t j;

	for (j = 0; j < n; j++)
		a[j] = b[j] + scalar * c[j];
}
