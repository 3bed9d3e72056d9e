/* cairn tests: the random inputs every test program shares.
 *
 * A run's seed comes from CAIRN_TEST_SEED (decimal or 0x-hex) when set, else
 * from /dev/urandom (else the clock).  It is printed first, so that any run,
 * failed or not, can be replayed exactly. */
#ifndef CAIRN_TEST_UTIL_H
#define CAIRN_TEST_UTIL_H

/* Include after <cmocka.h>: the helpers below fail the running test. */

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cairn/kernels.h"
#include "cairn/model.h"

/* splitmix64: the next value of the generator whose state is *s. */
static inline uint64_t cairn_test_splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* The run's seed, printed as "PROG: seed 0x... (CAIRN_TEST_SEED=0x... to
 * replay)". */
static inline uint64_t cairn_test_seed(const char *prog)
{
	const char *env = getenv("CAIRN_TEST_SEED");
	uint64_t seed = 0;

	if (env && *env) {
		seed = strtoull(env, NULL, 0);
	} else {
		FILE *f = fopen("/dev/urandom", "rb");
		if (!f || fread(&seed, sizeof seed, 1, f) != 1)
			seed = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ull;
		if (f)
			fclose(f);
	}
	printf("%s: seed 0x%016" PRIx64 " (CAIRN_TEST_SEED=0x%016" PRIx64
	       " to replay)\n",
	       prog, seed, seed);
	fflush(stdout);
	return seed;
}

/* malloc that fails the running test instead of returning NULL. */
static inline void *cairn_test_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	assert_non_null(p);
	return p;
}

/* The whole of fp, from its start, NUL-terminated (caller frees); its
 * length in *len when len is not NULL.  fp is closed. */
static inline char *cairn_test_read_stream(FILE *fp, size_t *len)
{
	char *buf;
	long l;

	assert_non_null(fp);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	l = ftell(fp);
	assert_true(l >= 0);
	rewind(fp);
	buf = cairn_test_xmalloc((size_t)l + 1);
	assert_int_equal(fread(buf, 1, (size_t)l, fp), (size_t)l);
	buf[l] = '\0';
	fclose(fp);
	if (len)
		*len = (size_t)l;
	return buf;
}

/* An MLP spec: in -> hidden[0..nh) -> classes, with act between. */
static inline cairn_mlp_spec cairn_test_mlp(int64_t in, int nh,
                                            const int64_t *hidden,
                                            int64_t classes, cairn_act act)
{
	cairn_mlp_spec s;

	memset(&s, 0, sizeof s);
	s.input = in;
	s.nhidden = nh;
	for (int i = 0; i < nh; i++)
		s.hidden[i] = hidden[i];
	s.classes = classes;
	s.act = act;
	return s;
}

/* One backend configuration a test compares against ref. */
struct cairn_test_config {
	cairn_backend *be;
	char name[96]; /* "cpu (avx2+fma, 2 threads, ...)" for messages */
};

/* Opens kind with threads and isa into c; the caller closes c->be. */
static inline int cairn_test_config_open(struct cairn_test_config *c,
                                         cairn_backend_kind kind, int threads,
                                         const char *isa)
{
	cairn_backend_opts o = {threads, 0, isa, 0, 0};
	int rc = cairn_backend_open(kind, &o, &c->be);

	if (rc)
		return rc;
	snprintf(c->name, sizeof c->name, "%s (%s)", cairn_backend_name(c->be),
	         cairn_backend_describe(c->be));
	return 0;
}

#ifdef CAIRN_TEST_EMU
#include "emu/backend_emu.h"

/* The cuda backend's kernels run on the host (tests/emu) as a
 * configuration; its name is the backend's description. */
static inline int cairn_test_emu_config_open(struct cairn_test_config *c)
{
	int rc = cairn_test_emu_backend_open(&c->be);

	if (rc)
		return rc;
	snprintf(c->name, sizeof c->name, "%s", cairn_backend_describe(c->be));
	return 0;
}
#endif

#endif
