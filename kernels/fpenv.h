/* cairn: the exact profile's floating-point environment on the host.
 *
 * SSE control (MXCSR) 0x1f80: round to nearest even, all exceptions masked,
 * no flush-to-zero, no denormals-are-zero (DESIGN.md 2.6).  A caller may
 * have set FTZ/DAZ (start-up code linked by fast-math builds does); every op
 * runs under the profile's control whatever the caller's, which is restored
 * afterwards.  Pool workers enter it once when they start. */
#ifndef CAIRN_FPENV_H
#define CAIRN_FPENV_H

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h> /* _mm_getcsr, _mm_setcsr: SSE, baseline on x86-64 */
#define CAIRN__MXCSR_EXACT 0x1f80u
#define CAIRN__MXCSR_FLAGS 0x003fu /* sticky exception flags: kept */
#endif

/* Enters the profile's environment; returns what to give cairn__fp_leave. */
static inline unsigned cairn__fp_enter(void)
{
#if defined(__x86_64__) || defined(__i386__)
	unsigned csr = _mm_getcsr();

	if ((csr & ~CAIRN__MXCSR_FLAGS) != CAIRN__MXCSR_EXACT)
		_mm_setcsr((csr & CAIRN__MXCSR_FLAGS) | CAIRN__MXCSR_EXACT);
	return csr;
#else
	return 0; /* other CPUs: IEEE defaults assumed (no FTZ by default) */
#endif
}

/* Restores the environment cairn__fp_enter found. */
static inline void cairn__fp_leave(unsigned csr)
{
#if defined(__x86_64__) || defined(__i386__)
	if ((csr & ~CAIRN__MXCSR_FLAGS) != CAIRN__MXCSR_EXACT)
		_mm_setcsr((_mm_getcsr() & CAIRN__MXCSR_FLAGS) |
		           (csr & ~CAIRN__MXCSR_FLAGS));
#else
	(void)csr;
#endif
}

#endif
