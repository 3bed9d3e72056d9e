/* cairn: signed result bundles, the lazy reader (attest/bundle_read.c,
 * cairn_bundle_read_lazy; docs/bundle-format.md section 4.1).
 *
 * The fixture (bundle_fixture.h) runs a real task and writes its bundle.
 * The lazy reader gives the same bundle as the full reader once every
 * checkpoint is checked or loaded into a model, refuses every spoiled
 * file the full reader refuses except for a tensor, which checking its
 * checkpoint refuses with the full reader's message, and a file that
 * shrinks or changes after the read is refused when its checkpoint is.
 *
 * Offsets and bits are random each run (seed printed; set
 * CAIRN_TEST_SEED=0x... to replay). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bundle_fixture.h"

/* Flips the low bit of byte at of the file fd, whose byte there is was. */
static void byte_flip(int fd, uint8_t was, size_t at)
{
	uint8_t x = was ^ 1u;
	assert_int_equal(pwrite(fd, &x, 1, (off_t)at), 1);
}

/* ---- lazy reading -------------------------------------------------------- */

/* The offset in f's file of checkpoint i's tensor k (0 params, 1 m, 2 v):
 * found by its first bytes, which differ between checkpoints. */
static size_t tensor_offset(struct fx *f, uint32_t i, int k)
{
	const float *t[3] = {f->good.checkpoints[i].params,
	                     f->good.checkpoints[i].m,
	                     f->good.checkpoints[i].v};
	const size_t bytes = (size_t)f->nparams * sizeof(float);
	size_t from = 0;

	/* m and v are all zero at t = 0: find params, then step over it and
	 * the next field's tag and 3-byte length (50 920 bytes). */
	if (i == 0 && k > 0)
		return tensor_offset(f, 0, 0) + (size_t)k * (bytes + 4);
	for (uint32_t j = 0; j < i; j++)
		from = tensor_offset(f, j, 2) + bytes;
	for (size_t at = from; at + bytes <= f->len; at++)
		if (!memcmp(f->bytes + at, t[k], 256) &&
		    !memcmp(f->bytes + at, t[k], bytes))
			return at;
	fail_msg("tensor %d of checkpoint %u not found", k, i);
	return 0;
}

/* Reads path lazily (which must succeed) into b. */
static void read_lazy_ok(const char *path, struct cairn_bundle *b)
{
	char err[1024] = "";
	int rc = cairn_bundle_read_lazy(path, b, err, sizeof err);

	if (rc)
		print_message("lazy read %s: %s\n", path, err);
	assert_int_equal(rc, 0);
	assert_non_null(b->source);
}

/* A lazy read holds everything but the tensors; checking each checkpoint
 * (on the host) or loading it into a model (hashed on the model's
 * backend) gives the full reader's bundle, and the same bytes back. */
static void test_lazy_roundtrip(void **state)
{
	struct fx *f = *state;
	const size_t bytes = (size_t)f->nparams * sizeof(float);
	struct cairn_bundle b, full;
	struct cairn_state st;
	cairn_model *m = NULL;
	float *host = cairn_test_xmalloc(bytes);
	char err[1024] = "";
	uint8_t *again;
	size_t len;

	assert_int_equal(cairn_bundle_read(f->path, &full, err, sizeof err), 0);
	assert_null(full.source);
	read_lazy_ok(f->path, &b);
	assert_int_equal(b.nstates, full.nstates);
	assert_int_equal(b.ncheckpoints, full.ncheckpoints);
	assert_memory_equal(b.state_roots, full.state_roots,
	                    (size_t)b.nstates * CAIRN_HASH_BYTES);
	assert_state_equal(&b.final_state, &full.final_state);
	assert_memory_equal(b.signature, full.signature, CAIRN_SIGNATURE_BYTES);
	for (uint32_t i = 0; i < b.ncheckpoints; i++) {
		const struct cairn_state *a = &b.checkpoints[i].state;
		assert_null(b.checkpoints[i].params);
		assert_null(b.checkpoints[i].m);
		assert_null(b.checkpoints[i].v);
		assert_int_equal(a->step, full.checkpoints[i].state.step);
		assert_memory_equal(a->samples,
		                    full.checkpoints[i].state.samples,
		                    CAIRN_HASH_BYTES);
		assert_int_equal(a->loss_bits,
		                 full.checkpoints[i].state.loss_bits);
	}
	/* Not complete until every checkpoint is checked. */
	assert_int_equal(write_as_rc(f, &b, "lazy.cairn"), CAIRN_EINVAL);

	/* Into a model: the record and the tensors of the full read. */
	assert_int_equal(
	    cairn_model_create(f->be, &f->spec.model, BATCH, MICRO, &m), 0);
	for (uint32_t i = 0; i < b.ncheckpoints; i++) {
		assert_int_equal(cairn_bundle_load_checkpoint(&b, i, m, &st,
		                                              err, sizeof err),
		                 0);
		assert_state_equal(&st, &full.checkpoints[i].state);
		assert_int_equal(cairn_model_read(m, CAIRN_MODEL_PARAMS, host),
		                 0);
		assert_memory_equal(host, full.checkpoints[i].params, bytes);
		assert_int_equal(cairn_model_read(m, CAIRN_MODEL_V, host), 0);
		assert_memory_equal(host, full.checkpoints[i].v, bytes);
		assert_null(b.checkpoints[i].params); /* b is only read */
	}
	/* Into the bundle, on the host; again is a no-op. */
	for (uint32_t i = 0; i < b.ncheckpoints; i++) {
		assert_int_equal(
		    cairn_bundle_check_checkpoint(&b, i, err, sizeof err), 0);
		assert_int_equal(
		    cairn_bundle_check_checkpoint(&b, i, err, sizeof err), 0);
	}
	assert_bundle_equal(&b, &full);
	/* Held tensors load too. */
	assert_int_equal(
	    cairn_bundle_load_checkpoint(&b, 1, m, &st, err, sizeof err), 0);
	assert_state_equal(&st, &full.checkpoints[1].state);
	/* And it writes the same bytes. */
	assert_int_equal(write_as_rc(f, &b, "lazy.cairn"), 0);
	snprintf(err, sizeof err, "%s/lazy.cairn", f->dir);
	assert_int_equal(read_whole(err, &again, &len), 0);
	assert_int_equal(len, f->len);
	assert_memory_equal(again, f->bytes, len);
	free(again);
	unlink(err);

	/* Bad arguments. */
	assert_int_equal(
	    cairn_bundle_check_checkpoint(&b, b.ncheckpoints, err, sizeof err),
	    CAIRN_EINVAL);
	assert_int_equal(
	    cairn_bundle_check_checkpoint(NULL, 0, err, sizeof err),
	    CAIRN_EINVAL);
	assert_int_equal(
	    cairn_bundle_load_checkpoint(&b, 0, NULL, NULL, err, sizeof err),
	    CAIRN_EINVAL);
	/* A collected bundle holds its tensors: nothing to check. */
	assert_int_equal(
	    cairn_bundle_check_checkpoint(&f->good, 0, err, sizeof err), 0);
	cairn_bundle_free(&b);
	assert_true(bundle_zeroed(&b));
	cairn_bundle_free(&full);
	cairn_model_free(m);
	free(host);
}

/* A tampered tensor passes the lazy read; checking its checkpoint, on the
 * host or in a model, refuses it with the full reader's message, and the
 * other checkpoints still check. */
static void test_lazy_tampered(void **state)
{
	struct fx *f = *state;
	struct cairn_bundle b;
	cairn_model *m = NULL;
	char path[512], err[1024] = "", full_err[1024] = "";
	uint8_t *bytes = cairn_test_xmalloc(f->len);

	assert_int_equal(
	    cairn_model_create(f->be, &f->spec.model, BATCH, MICRO, &m), 0);
	snprintf(path, sizeof path, "%s/lazy-tampered.cairn", f->dir);
	for (uint32_t i = 0; i < f->good.ncheckpoints; i++) {
		for (int k = 0; k < 3; k++) {
			size_t at = tensor_offset(f, i, k) +
			            (size_t)(rnd(f) % ((size_t)f->nparams * 4));
			memcpy(bytes, f->bytes, f->len);
			bytes[at] ^= (uint8_t)(1u << (rnd(f) % 8));
			write_whole(path, bytes, f->len);
			/* The full reader refuses it. */
			assert_int_equal(cairn_bundle_read(path, &b, full_err,
			                                   sizeof full_err),
			                 CAIRN_ECRYPTO);
			read_lazy_ok(path, &b);
			for (uint32_t j = 0; j < b.ncheckpoints; j++) {
				int rc = cairn_bundle_check_checkpoint(
				    &b, j, err, sizeof err);
				if (j != i) {
					assert_int_equal(rc, 0);
					continue;
				}
				assert_int_equal(rc, CAIRN_ECRYPTO);
				assert_string_equal(err, full_err);
				assert_null(b.checkpoints[j].params);
				err[0] = '\0';
				assert_int_equal(
				    cairn_bundle_load_checkpoint(
				        &b, j, m, NULL, err, sizeof err),
				    CAIRN_ECRYPTO);
				assert_string_equal(err, full_err);
			}
			cairn_bundle_free(&b);
		}
	}
	print_message("lazy: a flip in each tensor of each checkpoint: read, "
	              "then refused when checked: %s\n",
	              full_err);
	assert_non_null(strstr(full_err, path));
	unlink(path);
	free(bytes);
	cairn_model_free(m);
}

/* The lazy reader refuses what the full reader refuses, but for a
 * checkpoint's record (tensors, samples, loss bits): truncation anywhere,
 * every bit flip in a tensor when its checkpoint is checked, and every
 * other flip either when read or when its checkpoint is checked. */
static void test_lazy_refuses(void **state)
{
	struct fx *f = *state;
	const size_t bytes = (size_t)f->nparams * sizeof(float);
	struct cairn_bundle b;
	char path[512], err[1024];
	size_t at;
	int fd, at_read = 0, at_check = 0;

	snprintf(path, sizeof path, "%s/lazy-spoiled.cairn", f->dir);
	write_whole(path, f->bytes, f->len);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	for (size_t i = 0; i < 768 + 500; i++) {
		int rc, in_tensor = 0;
		uint8_t byte;

		at = i < 768 ? i : (size_t)(rnd(f) % f->len);
		byte = f->bytes[at] ^ (uint8_t)(1u << (rnd(f) % 8));
		assert_int_equal(pwrite(fd, &byte, 1, (off_t)at), 1);
		for (uint32_t j = 0; j < f->good.ncheckpoints; j++)
			for (int k = 0; k < 3; k++) {
				size_t t = tensor_offset(f, j, k);
				in_tensor |= at >= t && at < t + bytes;
			}
		memset(&b, 0xa5, sizeof b);
		rc = cairn_bundle_read_lazy(path, &b, err, sizeof err);
		if (rc) {
			assert_false(in_tensor);
			assert_true(rc == CAIRN_EFORMAT ||
			            rc == CAIRN_ECRYPTO ||
			            rc == CAIRN_EMISMATCH);
			assert_non_null(strstr(err, path));
			assert_true(bundle_zeroed(&b));
			at_read++;
		} else {
			for (uint32_t j = 0; !rc && j < b.ncheckpoints; j++)
				rc = cairn_bundle_check_checkpoint(&b, j, err,
				                                   sizeof err);
			assert_int_equal(rc, CAIRN_ECRYPTO);
			cairn_bundle_free(&b);
			at_check++;
		}
		assert_int_equal(pwrite(fd, f->bytes + at, 1, (off_t)at), 1);
	}
	print_message("lazy bit flips: %d refused when read, %d when their "
	              "checkpoint was checked\n",
	              at_read, at_check);
	/* Truncation: refused when read, at every offset tried. */
	for (size_t i = 0; i < 512 + 100; i++) {
		at = i < 512 ? i : (size_t)(rnd(f) % f->len);
		assert_int_equal(ftruncate(fd, (off_t)at), 0);
		memset(&b, 0xa5, sizeof b);
		assert_int_equal(
		    cairn_bundle_read_lazy(path, &b, err, sizeof err),
		    CAIRN_EFORMAT);
		assert_true(bundle_zeroed(&b));
	}
	/* A file that shrinks or changes after the lazy read: the checkpoint
	 * read later is EIO, or refused by its hash. */
	assert_int_equal(ftruncate(fd, 0), 0);
	assert_int_equal(pwrite(fd, f->bytes, f->len, 0), (ssize_t)f->len);
	read_lazy_ok(path, &b);
	at = tensor_offset(f, 1, 2) + 8;
	byte_flip(fd, f->bytes[at], at);
	assert_int_equal(cairn_bundle_check_checkpoint(&b, 1, err, sizeof err),
	                 CAIRN_ECRYPTO);
	assert_int_equal(cairn_bundle_check_checkpoint(&b, 0, err, sizeof err),
	                 0);
	/* (cut inside checkpoint 1's v: the step log after it goes too) */
	assert_int_equal(ftruncate(fd, (off_t)(at + 8)), 0);
	assert_int_equal(cairn_bundle_check_checkpoint(&b, 1, err, sizeof err),
	                 CAIRN_EIO);
	assert_non_null(strstr(err, "shrank"));
	assert_null(b.checkpoints[1].params);
	cairn_bundle_free(&b);
	close(fd);
	unlink(path);
}

/* The fixture (bundle_fixture.h), its seed printed under this program's
 * name. */
static int setup(void **state)
{
	return bundle_fx_setup(state, "test_bundle_read");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lazy_roundtrip),
	    cmocka_unit_test(test_lazy_tampered),
	    cmocka_unit_test(test_lazy_refuses),
	};
	return cmocka_run_group_tests(tests, setup, bundle_fx_teardown);
}
