/* cairn: `cairn bench hash`, tensor-root throughput.
 *
 * Times cairn_tensor_root_on (the leaves hashed where the bytes live, on
 * the backend's threads or GPU, then the tree on the host) over two
 * tensors: 7,454,760 bytes, the reference model's parameters (1,863,690
 * floats), and 256 MiB.  Beside each, libsodium's crypto_generichash
 * (BLAKE2b-256, one thread, the same bytes from host memory) as the
 * reference: the plain hash that a tensor root does the work of, plus the
 * tree.  Warm-up, then the median of the repeats; the small tensor's root
 * is also checked against cairn_tensor_root on the host.
 *
 * Exit codes: 0 ok, 1 a failure, 2 bad usage. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "bench.h"
#include "cairn/attest.h"
#include "cairn/error.h"
#include "cairn/kernels.h"
#include "cairn/text.h"

#define HASH_MODEL_BYTES 7454760ull /* fmnist-mlp: 1,863,690 floats */
#define HASH_BIG_BYTES (256ull << 20)

struct hash_args {
	const char *device; /* "auto" (cpu, and the gpu when usable), "cpu",
	                     * "gpu" */
	int threads;
	int quick, json;
};

/* One measured tensor on one backend. */
struct hash_result {
	uint64_t bytes;
	int reps;
	double gbps, ref_gbps;
};

static void hash_usage(FILE *f)
{
	fprintf(f, "usage: cairn bench hash [OPTIONS]\n\n"
	           "Tensor-root throughput (cairn_tensor_root_on: BLAKE2b-256 "
	           "leaves of 64 KiB\nhashed on the backend, then the Merkle "
	           "tree) over 7,454,760 bytes (the\nreference model's "
	           "parameters) and 256 MiB, beside libsodium's\n"
	           "crypto_generichash of the same bytes on one thread.\n\n"
	           "options:\n"
	           "  --device D   auto (cpu, and the gpu when usable), cpu "
	           "or gpu;\n"
	           "               default: $CAIRN_DEVICE, else auto\n"
	           "  --threads T  CPU threads (default: one per core)\n"
	           "  --quick      fewer repetitions\n"
	           "  --json       one JSON object on stdout\n"
	           "  -h, --help   this text\n\n"
	           "exit status: 0 ok, 1 failure, 2 bad usage\n");
}

/* 0, 1 after --help, or 2 after printing a usage error. */
static int hash_parse(int argc, char **argv, struct hash_args *h)
{
	memset(h, 0, sizeof *h);
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		long long x;
		int rc;

		if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
			hash_usage(stdout);
			return 1;
		} else if (!strcmp(o, "--json")) {
			h->json = 1;
			continue;
		} else if (!strcmp(o, "--quick")) {
			h->quick = 1;
			continue;
		} else if (!strcmp(o, "--device") && v) {
			if ((rc = cairn__bench_parse_device("hash", v,
			                                    &h->device)))
				return rc;
		} else if (!strcmp(o, "--threads")) {
			if ((rc = cairn__bench_parse_int("hash", o, v, 1, 1024,
			                                 &x)))
				return rc;
			h->threads = (int)x;
		} else {
			cairn_eprint(
			    "cairn bench hash: unknown option '%s'%s; see "
			    "'cairn bench hash --help'\n",
			    o, v ? "" : " (or a missing value)");
			return 2;
		}
		i++;
	}
	/* not given: $CAIRN_DEVICE, else auto */
	if (!h->device)
		return cairn__bench_parse_device("hash", NULL, &h->device);
	return 0;
}

/* Times the tensor root of host[0..r->bytes) copied to be, and libsodium
 * over the host bytes; check = 1 also compares the root with the host's
 * cairn_tensor_root.  r->reps timed runs of each after one warm-up. */
static int hash_one(cairn_backend *be, const uint8_t *host, int check,
                    struct hash_result *r)
{
	uint8_t root[CAIRN_HASH_BYTES], want[CAIRN_HASH_BYTES];
	double *t = malloc((size_t)r->reps * sizeof *t);
	double *tr = malloc((size_t)r->reps * sizeof *tr);
	void *dev = NULL;
	int rc;

	if (!t || !tr) {
		rc = CAIRN_ENOMEM;
		goto out;
	}
	if ((rc = cairn_buf_alloc(be, (size_t)r->bytes, &dev)) ||
	    (rc = cairn_buf_write(be, dev, host, (size_t)r->bytes)))
		goto out;
	for (int i = -1; i < r->reps; i++) { /* i = -1: warm-up */
		double t0 = cairn__bench_now();
		if ((rc =
		         cairn_tensor_root_on(be, dev, (size_t)r->bytes, root)))
			goto out;
		if (i >= 0)
			t[i] = cairn__bench_now() - t0;
	}
	for (int i = -1; i < r->reps; i++) {
		double t0 = cairn__bench_now();
		if (crypto_generichash(want, sizeof want, host, r->bytes, NULL,
		                       0)) {
			rc = CAIRN_ECRYPTO;
			goto out;
		}
		if (i >= 0)
			tr[i] = cairn__bench_now() - t0;
	}
	if (check) {
		if ((rc = cairn_tensor_root(host, (size_t)r->bytes, want)))
			goto out;
		if (!cairn_hash_equal(root, want)) {
			cairn_eprint(
			    "cairn bench hash: the tensor root of %llu bytes "
			    "on %s differs from the host's: this is a bug "
			    "in cairn, please report it\n",
			    (unsigned long long)r->bytes,
			    cairn_backend_name(be));
			rc = CAIRN_EMISMATCH;
			goto out;
		}
	}
	r->gbps = (double)r->bytes / cairn__bench_median(t, r->reps) / 1e9;
	r->ref_gbps = (double)r->bytes / cairn__bench_median(tr, r->reps) / 1e9;
out:
	if (dev)
		cairn_buf_free(be, dev);
	free(t);
	free(tr);
	return rc;
}

/* Both tensors on be: res[0] the model's, res[1] 256 MiB. */
static int hash_backend(cairn_backend *be, const uint8_t *host, int quick,
                        struct hash_result res[2])
{
	int rc;

	res[0].bytes = HASH_MODEL_BYTES;
	res[0].reps = quick ? 5 : 21;
	res[1].bytes = HASH_BIG_BYTES;
	res[1].reps = quick ? 2 : 5;
	rc = hash_one(be, host, 1, &res[0]);
	return rc ? rc : hash_one(be, host, 0, &res[1]);
}

/* Prints the rows of one backend: JSON rows (first: no comma before) or
 * lines of text. */
static void hash_print(int json, int first, const char *desc,
                       const struct hash_result res[2])
{
	static const char *const ref =
	    "libsodium crypto_generichash (BLAKE2b-256), 1 thread";
	char name[96];

	for (int i = 0; i < 2; i++) {
		snprintf(name, sizeof name, "tensor root, %llu bytes%s",
		         (unsigned long long)res[i].bytes,
		         i ? "" : " (reference model's parameters)");
		if (json) {
			if (!first || i)
				printf(",");
			cairn__bench_json_row(stdout, "hash", name, desc,
			                      res[i].gbps, "GB/s", ref,
			                      res[i].ref_gbps);
			continue;
		}
		printf("  %s, median of %d\n", name, res[i].reps);
		printf("    %-10s %8.3f GB/s\n", "cairn", res[i].gbps);
		printf("    %-10s %8.3f GB/s  %s\n", "reference",
		       res[i].ref_gbps, ref);
		printf("    %-10s %8.3f  (cairn / reference)\n", "ratio",
		       res[i].gbps / res[i].ref_gbps);
	}
}

int cairn__bench_hash_cmd(int argc, char **argv)
{
	struct hash_args h;
	struct hash_result cpu[2], gpu[2];
	cairn_backend_opts opts;
	cairn_backend *be = NULL;
	uint8_t *host = NULL;
	char cpu_desc[192] = "", gpu_desc[192] = "", gpu_why[160] = "";
	int rc, ex = 1, want_cpu, want_gpu, have_cpu = 0, have_gpu = 0;

	rc = hash_parse(argc, argv, &h);
	if (rc)
		return rc == 1 ? 0 : 2;
	if (sodium_init() < 0) {
		cairn_eprint("cairn bench hash: libsodium failed to "
		             "initialise\n");
		return 1;
	}
	memset(cpu, 0, sizeof cpu);
	memset(gpu, 0, sizeof gpu);
	memset(&opts, 0, sizeof opts);
	opts.threads = h.threads;
	want_cpu = strcmp(h.device, "gpu") != 0;
	want_gpu = strcmp(h.device, "cpu") != 0;
	host = malloc(HASH_BIG_BYTES);
	if (!host) {
		cairn_eprint("cairn bench hash: out of memory (%llu "
		             "bytes for the test tensor)\n",
		             HASH_BIG_BYTES);
		return 1;
	}
	/* random-looking bytes; the speed of BLAKE2b does not depend on them */
	randombytes_buf_deterministic(
	    host, HASH_BIG_BYTES,
	    (const unsigned char *)"cairn bench hash: test tensor!!!");
	if (want_cpu) {
		rc = cairn_backend_open(CAIRN_BACKEND_CPU, &opts, &be);
		if (!rc) {
			snprintf(cpu_desc, sizeof cpu_desc, "cpu: %s",
			         cairn_backend_describe(be));
			rc = hash_backend(be, host, h.quick, cpu);
		}
		cairn_backend_close(be);
		be = NULL;
		if (rc) {
			cairn_eprint("cairn bench hash: cpu: %s\n",
			             cairn_strerror(rc));
			goto out;
		}
		have_cpu = 1;
	}
	if (want_gpu) {
		rc = cairn_backend_open(CAIRN_BACKEND_CUDA, &opts, &be);
		if (rc) {
			char why[sizeof gpu_why] = "";
			cairn_cuda_probe(why, sizeof why);
			snprintf(gpu_why, sizeof gpu_why, "%s",
			         why[0] ? why : cairn_strerror(rc));
		} else {
			snprintf(gpu_desc, sizeof gpu_desc, "gpu: %s",
			         cairn_backend_describe(be));
			rc = hash_backend(be, host, h.quick, gpu);
			if (rc)
				snprintf(gpu_why, sizeof gpu_why, "%s",
				         cairn_strerror(rc));
		}
		cairn_backend_close(be);
		be = NULL;
		have_gpu = rc == 0;
		if (rc && !strcmp(h.device, "gpu")) {
			cairn_eprint("cairn bench hash: --device gpu: %s; use "
			             "--device cpu\n",
			             gpu_why);
			goto out;
		}
	}
	if (h.json) {
		printf("{\"suite\":\"hash\",\"results\":[");
		if (have_cpu)
			hash_print(1, 1, cpu_desc, cpu);
		if (have_gpu)
			hash_print(1, !have_cpu, gpu_desc, gpu);
		printf("]");
		if (want_gpu && !have_gpu) {
			printf(",\"gpu_skipped\":");
			cairn__bench_json_str(stdout, gpu_why);
		}
		printf("}\n");
	} else {
		printf("cairn bench hash: tensor roots (BLAKE2b-256, 64 KiB "
		       "leaves)\n");
		if (have_cpu) {
			printf("  %s\n", cpu_desc);
			hash_print(0, 1, cpu_desc, cpu);
		}
		if (have_gpu) {
			printf("  %s\n", gpu_desc);
			hash_print(0, 1, gpu_desc, gpu);
		} else if (want_gpu) {
			printf("  gpu: not measured: %s\n", gpu_why);
		}
	}
	ex = 0;
out:
	free(host);
	return ex;
}
