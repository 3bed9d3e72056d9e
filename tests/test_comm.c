/* cairn: moving bytes between a rig's devices (kernels/comm.h).
 *
 * - Host transport: moves between cpu backends (and within one), every
 *   destination byte equal to its source and the bytes around it
 *   untouched; argument checks.
 * - NCCL transport through tests/fake_nccl.h, an imitation that holds the
 *   calls to NCCL's rules (groups, own communicators, paired sends and
 *   receives of equal counts, every communicator destroyed): the same
 *   moves, the same bytes; a failing ncclGroupEnd is an error that aborts
 *   the communicators; a failing ncclCommInitAll leaves nothing behind;
 *   cairn__comm_wait ends when the (imitated) streams are done, and ends
 *   with an error and aborted communicators when a device fails or NCCL
 *   reports an asynchronous error; and the imitation itself refuses each
 *   call that breaks one of its rules.
 *   test_step runs whole multi-device models through the imitation.
 * - --backend cuda (label gpu; 77 = skipped without a GPU): the real
 *   transport on the GPU: NCCL when libnccl.so.2 loads (a clique of one:
 *   moves within the GPU go through ncclSend/ncclRecv to itself, and
 *   cairn__comm_wait polls the real stream and communicator), else
 *   host memory with the reason; two backends on one GPU are refused
 *   NCCL and moved through host memory.
 *
 * Inputs are fresh random bytes each run (seed printed; set
 * CAIRN_TEST_SEED=0x... to replay). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "test_util.h"
#include "fake_nccl.h"

#include "comm.h"
#include "cairn/error.h"
#include "cairn/kernels.h"
#include "cairn/log.h"

#define NDEV 3
#define GUARD 16 /* bytes either side of a destination that must not change */
#define NMOVES 9

static uint64_t g_rng;
static cairn_backend_kind g_kind = CAIRN_BACKEND_CPU;

struct fixture {
	cairn_backend *be[NDEV];
	int ndev;
	/* per move: source and destination buffers on their devices, and
	 * the host copies the checks compare with */
	struct cairn__move mv[NMOVES];
	void *src[NMOVES], *dst[NMOVES];
	uint8_t *want_src[NMOVES], *want_dst[NMOVES];
	size_t cap[NMOVES]; /* dst buffer bytes: GUARD + bytes + GUARD */
};

static uint8_t rnd_byte(void)
{
	return (uint8_t)(cairn_test_splitmix64(&g_rng) >> 56);
}

static int setup(void **state)
{
	static const cairn_backend_opts opts[NDEV] = {
	    {1, 0, NULL, 0, 0}, {2, 0, "portable", 0, 0}, {1, 0, NULL, 0, 0}};
	struct fixture *f = calloc(1, sizeof *f);

	assert_non_null(f);
	f->ndev = g_kind == CAIRN_BACKEND_CUDA ? 1 : NDEV;
	for (int d = 0; d < f->ndev; d++)
		assert_int_equal(
		    cairn_backend_open(
		        g_kind, g_kind == CAIRN_BACKEND_CUDA ? NULL : &opts[d],
		        &f->be[d]),
		    0);
	for (int d = 0; d < f->ndev && g_kind != CAIRN_BACKEND_CUDA; d++)
		fake_nccl_track(f->be[d]); /* whose each buffer is */
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	for (int i = 0; i < NMOVES; i++) {
		if (f->src[i])
			cairn_buf_free(f->be[f->mv[i].src_dev], f->src[i]);
		if (f->dst[i])
			cairn_buf_free(f->be[f->mv[i].dst_dev], f->dst[i]);
		free(f->want_src[i]);
		free(f->want_dst[i]);
	}
	for (int d = 0; d < f->ndev; d++) {
		if (g_kind != CAIRN_BACKEND_CUDA)
			fake_nccl_untrack(f->be[d]);
		cairn_backend_close(f->be[d]);
	}
	free(f);
	return 0;
}

/* NMOVES moves of random sizes (0, odd, a few MB) between random devices
 * (the same device too), sources and destinations filled with random
 * bytes; want_dst is what the destination must hold afterwards. */
static void make_moves(struct fixture *f)
{
	static const size_t sizes[NMOVES] = {
	    0, 1, 3, 64, 1000, 4096, 65537, (size_t)3 << 20, 77};

	for (int i = 0; i < NMOVES; i++) {
		struct cairn__move *m = &f->mv[i];
		size_t n = sizes[i];
		void *dbuf = NULL;

		m->src_dev =
		    (int)(cairn_test_splitmix64(&g_rng) % (uint64_t)f->ndev);
		m->dst_dev =
		    (int)(cairn_test_splitmix64(&g_rng) % (uint64_t)f->ndev);
		m->bytes = n;
		f->cap[i] = n + 2 * GUARD;
		f->want_src[i] = cairn_test_xmalloc(n);
		f->want_dst[i] = cairn_test_xmalloc(f->cap[i]);
		for (size_t b = 0; b < n; b++)
			f->want_src[i][b] = rnd_byte();
		for (size_t b = 0; b < f->cap[i]; b++)
			f->want_dst[i][b] = rnd_byte();
		assert_int_equal(
		    cairn_buf_alloc(f->be[m->src_dev], n ? n : 1, &f->src[i]),
		    0);
		assert_int_equal(
		    cairn_buf_alloc(f->be[m->dst_dev], f->cap[i], &dbuf), 0);
		f->dst[i] = dbuf;
		assert_int_equal(cairn_buf_write(f->be[m->src_dev], f->src[i],
		                                 f->want_src[i], n),
		                 0);
		assert_int_equal(cairn_buf_write(f->be[m->dst_dev], dbuf,
		                                 f->want_dst[i], f->cap[i]),
		                 0);
		m->src = f->src[i];
		m->dst = (uint8_t *)dbuf + GUARD;
		if (n)
			memcpy(f->want_dst[i] + GUARD, f->want_src[i], n);
	}
}

/* Every destination holds its source's bytes, with its guards intact, and
 * every source is unchanged. */
static void check_moves(struct fixture *f, const char *how)
{
	for (int i = 0; i < NMOVES; i++) {
		const struct cairn__move *m = &f->mv[i];
		uint8_t *got = cairn_test_xmalloc(f->cap[i]);

		assert_int_equal(cairn_buf_read(f->be[m->dst_dev], got,
		                                f->dst[i], f->cap[i]),
		                 0);
		if (memcmp(got, f->want_dst[i], f->cap[i]))
			fail_msg("%s: move %d (%zu bytes, device %d -> %d): "
			         "destination differs",
			         how, i, m->bytes, m->src_dev, m->dst_dev);
		if (m->bytes) {
			assert_int_equal(cairn_buf_read(f->be[m->src_dev], got,
			                                f->src[i], m->bytes),
			                 0);
			if (memcmp(got, f->want_src[i], m->bytes))
				fail_msg("%s: move %d: source changed", how, i);
		}
		free(got);
	}
}

static void test_host_moves(void **state)
{
	struct fixture *f = *state;
	cairn__comm *c = NULL;

	if (g_kind == CAIRN_BACKEND_CUDA)
		skip();
	make_moves(f);
	assert_int_equal(cairn__comm_open(f->be, f->ndev, &c), 0);
	assert_string_equal(cairn__comm_kind(c), "host");
	assert_string_equal(cairn__comm_desc(c), "host memory");
	assert_int_equal(cairn__comm_size(c), f->ndev);
	assert_int_equal(cairn__comm_move(c, f->mv, NMOVES), 0);
	check_moves(f, "host");
	/* An empty batch is nothing to do. */
	assert_int_equal(cairn__comm_move(c, NULL, 0), 0);
	cairn__comm_close(c);
}

static void test_args(void **state)
{
	struct fixture *f = *state;
	struct cairn_backend *none[2] = {f->be[0], NULL};
	struct cairn__nccl_api half = fake_nccl_api;
	struct cairn__move bad;
	cairn__comm *c = (cairn__comm *)&bad;
	uint8_t a[8] = {0}, b[8] = {0};

	assert_int_equal(cairn__comm_open(f->be, 0, &c), CAIRN_EINVAL);
	assert_null(c);
	assert_int_equal(
	    cairn__comm_open(f->be, CAIRN_MODEL_MAX_DEVICES + 1, &c),
	    CAIRN_EINVAL);
	assert_int_equal(cairn__comm_open(none, 2, &c), CAIRN_EINVAL);
	assert_int_equal(cairn__comm_open(NULL, 1, &c), CAIRN_EINVAL);
	assert_int_equal(cairn__comm_open(f->be, 1, NULL), CAIRN_EINVAL);
	half.recv = NULL;
	assert_int_equal(cairn__comm_open_api(f->be, 1, &half, &c),
	                 CAIRN_EINVAL);
	assert_int_equal(cairn__comm_open_api(f->be, 1, NULL, &c),
	                 CAIRN_EINVAL);

	assert_int_equal(cairn__comm_open(f->be, 1, &c), 0);
	bad = (struct cairn__move){0, 1, a, b, sizeof a}; /* device 1 of 1 */
	assert_int_equal(cairn__comm_move(c, &bad, 1), CAIRN_EINVAL);
	bad = (struct cairn__move){-1, 0, a, b, sizeof a};
	assert_int_equal(cairn__comm_move(c, &bad, 1), CAIRN_EINVAL);
	bad = (struct cairn__move){0, 0, NULL, b, sizeof a};
	assert_int_equal(cairn__comm_move(c, &bad, 1), CAIRN_EINVAL);
	assert_int_equal(cairn__comm_move(c, NULL, 1), CAIRN_EINVAL);
	assert_int_equal(cairn__comm_move(c, &bad, -1), CAIRN_EINVAL);
	assert_int_equal(cairn__comm_move(NULL, &bad, 0), CAIRN_EINVAL);
	cairn__comm_close(c);
	cairn__comm_close(NULL);
	assert_string_equal(cairn__comm_kind(NULL), "host");
}

static void test_fake_nccl_moves(void **state)
{
	struct fixture *f = *state;
	cairn__comm *c = NULL;
	int nonzero = 0;

	if (g_kind == CAIRN_BACKEND_CUDA)
		skip();
	fake_nccl_reset(f->be, f->ndev);
	make_moves(f);
	for (int i = 0; i < NMOVES; i++)
		nonzero += f->mv[i].bytes != 0;
	assert_int_equal(
	    cairn__comm_open_api(f->be, f->ndev, &fake_nccl_api, &c), 0);
	assert_string_equal(cairn__comm_kind(c), "nccl");
	assert_string_equal(cairn__comm_desc(c), "NCCL 2.21.5");
	assert_int_equal(fake_nccl.live, f->ndev);
	if (cairn__comm_move(c, f->mv, NMOVES))
		fail_msg("fake NCCL: %s", fake_nccl.why);
	check_moves(f, "fake NCCL");
	assert_int_equal(fake_nccl.groups, 1); /* one group for the batch */
	assert_int_equal(fake_nccl.moved, nonzero);
	cairn__comm_close(c);
	assert_int_equal(fake_nccl.live, 0);
	assert_int_equal(fake_nccl.depth, 0);
}

static void test_fake_nccl_failures(void **state)
{
	struct fixture *f = *state;
	cairn__comm *c = NULL, *c2 = NULL;

	if (g_kind == CAIRN_BACKEND_CUDA)
		skip();
	fake_nccl_reset(f->be, f->ndev);
	make_moves(f);
	assert_int_equal(
	    cairn__comm_open_api(f->be, f->ndev, &fake_nccl_api, &c), 0);
	/* A second clique while one lives: the imitation's init fails, and
	 * the open fails with nothing left behind. */
	assert_int_equal(
	    cairn__comm_open_api(f->be, f->ndev, &fake_nccl_api, &c2),
	    CAIRN_EDEVICE);
	assert_null(c2);
	assert_int_equal(fake_nccl.live, f->ndev);
	fake_nccl.why[0] = '\0'; /* that rule was meant to be broken */
	/* ncclGroupEnd fails: an error, the group closed, nothing moved, and
	 * every communicator aborted (on a rig a send may be left queued
	 * without its receive); the comm refuses to go on. */
	fake_nccl.fail_group_end = 1;
	assert_int_equal(cairn__comm_move(c, f->mv, NMOVES), CAIRN_EDEVICE);
	assert_int_equal(fake_nccl.depth, 0);
	assert_int_equal(fake_nccl.moved, 0);
	assert_int_equal(fake_nccl.aborted, f->ndev);
	assert_int_equal(fake_nccl.live, 0);
	assert_true(cairn__comm_broken(c));
	assert_int_equal(cairn__comm_move(c, f->mv, NMOVES), CAIRN_EDEVICE);
	assert_int_equal(cairn__comm_wait(c), CAIRN_EDEVICE);
	assert_int_equal(fake_nccl.groups, 1); /* the refusals queue nothing */
	cairn__comm_close(c);                  /* destroys nothing more */
	assert_int_equal(fake_nccl.live, 0);
	assert_string_equal(fake_nccl.why, "");
}

/* cairn__comm_wait's imitation of the devices' streams: device d is busy
 * for g_busy[d] looks (-1: for ever), then done, or failed when
 * g_fail_at[d] > 0 and that many looks have passed. */
static const struct fixture *g_f;
static long g_busy[NDEV], g_fail_at[NDEV], g_looks[NDEV];
static double g_t0; /* when fake_streams set them */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int fake_query(const struct cairn_backend *be)
{
	for (int d = 0; d < g_f->ndev; d++) {
		if (g_f->be[d] != be)
			continue;
		g_looks[d]++;
		if (now_s() - g_t0 > 10.0) /* the wait should have ended */
			fail_msg("device %d looked at %ld times in 10 s", d,
			         g_looks[d]);
		if (g_fail_at[d] > 0 && g_looks[d] >= g_fail_at[d])
			return CAIRN_EDEVICE;
		return g_busy[d] < 0 || g_looks[d] <= g_busy[d] ? 1 : 0;
	}
	fail_msg("fake_query: a backend not in the comm");
	return CAIRN_EINVAL;
}

static void fake_streams(const struct fixture *f, long b0, long b1, long b2,
                         long fail1)
{
	g_f = f;
	g_busy[0] = b0;
	g_busy[1] = b1;
	g_busy[2] = b2;
	memset(g_fail_at, 0, sizeof g_fail_at);
	memset(g_looks, 0, sizeof g_looks);
	g_fail_at[1] = fail1;
	g_t0 = now_s();
}

/* A fresh imitated clique on f's devices, its streams imitated. */
static cairn__comm *fake_comm(struct fixture *f)
{
	cairn__comm *c = NULL;

	fake_nccl_reset(f->be, f->ndev);
	assert_int_equal(
	    cairn__comm_open_api(f->be, f->ndev, &fake_nccl_api, &c), 0);
	cairn__comm_set_query(c, fake_query);
	return c;
}

/* c gave up: every communicator aborted, nothing live, c refuses to go
 * on, and closing it breaks no rule of the imitation. */
static void check_aborted(struct fixture *f, cairn__comm *c)
{
	assert_int_equal(fake_nccl.aborted, f->ndev);
	assert_int_equal(fake_nccl.live, 0);
	assert_true(cairn__comm_broken(c));
	assert_int_equal(cairn__comm_wait(c), CAIRN_EDEVICE);
	assert_int_equal(cairn__comm_move(c, f->mv, 0), CAIRN_EDEVICE);
	cairn__comm_close(c);
	assert_string_equal(fake_nccl.why, "");
}

/* A wait ends when every stream is done, and ends with an error, the
 * communicators aborted, when a device fails or NCCL reports an
 * asynchronous error: never a wait for ever on a dead peer. */
static void test_fake_nccl_wait(void **state)
{
	struct fixture *f = *state;
	cairn__comm *c = NULL;

	if (g_kind == CAIRN_BACKEND_CUDA)
		skip();
	/* host transport: nothing to wait for */
	assert_int_equal(cairn__comm_open(f->be, f->ndev, &c), 0);
	assert_int_equal(cairn__comm_wait(c), 0);
	cairn__comm_close(c);
	assert_int_equal(cairn__comm_wait(NULL), CAIRN_EINVAL);

	fake_nccl_reset(f->be, f->ndev);
	assert_int_equal(
	    cairn__comm_open_api(f->be, f->ndev, &fake_nccl_api, &c), 0);
	/* backends without streams (cpu): done at once, errors looked at */
	assert_int_equal(cairn__comm_wait(c), 0);
	assert_int_equal(fake_nccl.async_polls, f->ndev);
	cairn__comm_close(c);
	/* busy streams: the wait lasts until the last is done, every
	 * device looked at each time */
	c = fake_comm(f);
	fake_streams(f, 3, 1010, 0, 0);
	assert_int_equal(cairn__comm_wait(c), 0);
	assert_int_equal(g_looks[1], 1011);
	assert_int_equal(g_looks[0], 1011); /* every device, every look */
	/* ncclInProgress is not an error */
	fake_nccl.async_error[2] = FAKE_NCCL_IN_PROGRESS;
	fake_streams(f, 2, 0, 0, 0);
	assert_int_equal(cairn__comm_wait(c), 0);
	assert_int_equal(fake_nccl.aborted, 0);
	/* device 1 fails while device 0 waits for it for ever */
	fake_streams(f, -1, -1, 0, 5);
	assert_int_equal(cairn__comm_wait(c), CAIRN_EDEVICE);
	assert_int_equal(g_looks[1], 5);
	check_aborted(f, c);

	/* device 2 busy past the time limit, with no error: the wait gives
	 * up, names it and aborts */
	c = fake_comm(f);
	cairn__comm_set_timeout(c, 0.01);
	fake_streams(f, 0, 0, -1, 0);
	{
		double t = now_s();
		assert_int_equal(cairn__comm_wait(c), CAIRN_ETIMEDOUT);
		assert_true(now_s() - t >= 0.01);
	}
	check_aborted(f, c);

	/* NCCL's asynchronous error on device 2, streams busy for ever */
	c = fake_comm(f);
	fake_streams(f, -1, -1, -1, 0);
	fake_nccl.async_error[2] = FAKE_NCCL_SYSTEM;
	assert_int_equal(cairn__comm_wait(c), CAIRN_EDEVICE);
	cairn__comm_set_query(c, NULL); /* back to the backends' */
	check_aborted(f, c);
}

/* The imitation itself refuses what NCCL would: otherwise the tests above
 * could pass on calls a real rig rejects. */
static void test_fake_nccl_rules(void **state)
{
	struct fixture *f = *state;
	void *comms[NDEV] = {0};
	int devs[NDEV] = {0, 1, 2};
	void *s0 = f->be[0], *s1 = f->be[1];
	char *b0 = NULL, *b1 = NULL;
	char host[8] = "abcdefg";

	if (g_kind == CAIRN_BACKEND_CUDA)
		skip();
	fake_nccl_reset(f->be, f->ndev);
	assert_int_equal(cairn_buf_alloc(f->be[0], 64, (void **)&b0), 0);
	assert_int_equal(cairn_buf_alloc(f->be[1], 64, (void **)&b1), 0);
	assert_int_equal(cairn_buf_write(f->be[0], b0, host, 8), 0);
	assert_int_equal(fake_nccl_init_all(comms, NDEV, devs), 0);
	/* outside a group */
	assert_int_equal(fake_nccl_send(b0, 8, 0, 1, comms[0], s0), 5);
	/* a right pair moves the bytes at the group's end */
	assert_int_equal(fake_nccl_group_start(), 0);
	assert_int_equal(fake_nccl_send(b0, 8, 0, 1, comms[0], s0), 0);
	assert_int_equal(fake_nccl_recv(b1, 8, 0, 0, comms[1], s1), 0);
	assert_int_equal(fake_nccl_group_end(), 0);
	assert_memory_equal(b1, host, 8);
	/* each call that breaks a rule */
	assert_int_equal(fake_nccl_group_start(), 0);
	assert_int_equal(fake_nccl_send(b0, 8, 7, 1, comms[0], s0), 5);
	assert_int_equal(fake_nccl_send(b0, 8, 0, 1, comms[0], s1), 5);
	assert_int_equal(fake_nccl_send(b1, 8, 0, 1, comms[0], s0), 5);
	assert_int_equal(fake_nccl_send(b0, 65, 0, 1, comms[0], s0), 5);
	assert_int_equal(fake_nccl_send(host, 8, 0, 1, comms[0], s0), 5);
	assert_int_equal(fake_nccl_send(b0, 8, 0, NDEV, comms[0], s0), 5);
	assert_int_equal(fake_nccl_group_end(), 0); /* nothing recorded */
	/* unpaired, and counts that differ */
	assert_int_equal(fake_nccl_group_start(), 0);
	assert_int_equal(fake_nccl_send(b0, 8, 0, 1, comms[0], s0), 0);
	assert_int_equal(fake_nccl_group_end(), 5);
	assert_int_equal(fake_nccl_group_start(), 0);
	assert_int_equal(fake_nccl_send(b0, 8, 0, 1, comms[0], s0), 0);
	assert_int_equal(fake_nccl_recv(b1, 4, 0, 0, comms[1], s1), 0);
	assert_int_equal(fake_nccl_group_end(), 5);
	assert_int_equal(fake_nccl_group_end(), 5); /* no group open */
	/* every communicator destroyed once */
	for (int r = 0; r < NDEV; r++)
		assert_int_equal(fake_nccl_destroy(comms[r]), 0);
	assert_int_equal(fake_nccl_destroy(comms[0]), 5);
	assert_int_equal(fake_nccl.live, 0);
	cairn_buf_free(f->be[0], b0);
	cairn_buf_free(f->be[1], b1);
}

/* --backend cuda: the transport cairn__comm_open picks on this GPU. */
static void test_cuda(void **state)
{
	struct fixture *f = *state;
	cairn_backend *two[2] = {NULL, NULL};
	cairn__comm *c = NULL;

	if (g_kind != CAIRN_BACKEND_CUDA)
		skip();
	make_moves(f); /* all on device 0 of a clique of one */
	assert_int_equal(cairn__comm_open(f->be, 1, &c), 0);
	printf("  transport on %s: %s\n", cairn_backend_describe(f->be[0]),
	       cairn__comm_desc(c));
	assert_int_equal(cairn__comm_move(c, f->mv, NMOVES), 0);
	/* the rig's wait: cudaStreamQuery on the real stream and, with
	 * NCCL, ncclCommGetAsyncError on the real communicator */
	assert_int_equal(cairn__comm_wait(c), 0);
	assert_false(cairn__comm_broken(c));
	check_moves(f, cairn__comm_desc(c));
	cairn__comm_close(c);

	/* Two backends on one GPU: NCCL takes distinct GPUs only. */
	assert_int_equal(cairn_backend_open(CAIRN_BACKEND_CUDA, NULL, &two[1]),
	                 0);
	two[0] = f->be[0];
	assert_int_equal(cairn__comm_open(two, 2, &c), 0);
	assert_string_equal(cairn__comm_kind(c), "host");
	assert_non_null(strstr(cairn__comm_desc(c), "host memory (NCCL: "));
	cairn__comm_close(c);
	cairn_backend_close(two[1]);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_host_moves, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_args, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fake_nccl_moves, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_fake_nccl_failures, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_fake_nccl_wait, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_fake_nccl_rules, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_cuda, setup, teardown),
	};

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--backend") && i + 1 < argc &&
		    !strcmp(argv[i + 1], "cuda")) {
			char why[256] = "";
			if (cairn_cuda_probe(why, sizeof why) <= 0) {
				printf(
				    "test_comm --backend cuda: skipped: %s\n",
				    why);
				return 77;
			}
			g_kind = CAIRN_BACKEND_CUDA;
			i++;
		} else {
			fprintf(stderr,
			        "test_comm: unknown argument '%s' (want "
			        "--backend cuda)\n",
			        argv[i]);
			return 2;
		}
	}
	cairn_log_set_level(CAIRN_LOG_ERROR + 1);
	g_rng = cairn_test_seed("test_comm");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
