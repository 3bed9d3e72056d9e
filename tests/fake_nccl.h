/* cairn tests: a host imitation of the NCCL calls a comm makes
 * (kernels/comm.h, struct cairn__nccl_api), for backends whose memory is
 * host memory (ref, cpu).
 *
 * It holds a comm to NCCL's rules, so that a mistake that would hang or
 * fail on a real rig fails here instead:
 * - ncclSend and ncclRecv only inside ncclGroupStart/End (one thread
 *   drives every device, which NCCL allows only in a group);
 * - the communicator passed is the sending (receiving) device's own, and
 *   the peer is a rank of the clique;
 * - with fake_nccl_reset naming each rank's device: the stream passed is
 *   that device's (cairn__comm_open_api passes the backend for it), and
 *   the buffer lies in an allocation of that device (fake_nccl_track
 *   lists every allocation of a backend);
 * - at the outermost ncclGroupEnd the k-th send from a to b pairs with the
 *   k-th receive on b from a, and the two counts agree; a send or receive
 *   left without its partner is ncclInvalidUsage;
 * - the datatype is ncclInt8 (a comm moves bytes);
 * - every communicator made is destroyed once (fake_nccl.live, .made).
 * fake_nccl.why says which rule a call broke.
 * The bytes move at ncclGroupEnd, as NCCL's would (not before).
 *
 * fake_nccl.fail_group_end > 0 makes that many ncclGroupEnd calls fail
 * with ncclUnhandledCudaError; fake_nccl.async_error[r] is what
 * ncclCommGetAsyncError gives for rank r (ncclSuccess unless set), and
 * ncclCommAbort ends a communicator as a destroy does (.aborted counts).
 * Include after <cmocka.h>; one program uses one imitation (static state). */
#ifndef CAIRN_TEST_FAKE_NCCL_H
#define CAIRN_TEST_FAKE_NCCL_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "backend_impl.h"
#include "comm.h"

#define FAKE_NCCL_MAX_OPS 4096
#define FAKE_NCCL_MAX_RANKS 16
#define FAKE_NCCL_MAX_BES 8
#define FAKE_NCCL_MAX_ALLOCS 4096
#define FAKE_NCCL_BASE ((uintptr_t)0x4e43434c0000u) /* "NCCL" */

struct fake_nccl_op {
	int send; /* 1 send, 0 receive */
	int rank; /* the communicator's rank */
	int peer;
	const void *src; /* send */
	void *dst;       /* receive */
	size_t count;
	int matched;
};

static struct {
	int nranks;
	int live;  /* communicators made and not destroyed */
	int depth; /* group nesting */
	int nops;
	int groups; /* outermost groups ended */
	int moved;  /* send/receive pairs done */
	int fail_group_end;
	int async_error[FAKE_NCCL_MAX_RANKS];
	int async_polls; /* ncclCommGetAsyncError calls */
	int aborted;     /* communicators ended by ncclCommAbort */
	char made[FAKE_NCCL_MAX_RANKS]; /* rank r's communicator lives */
	/* rank r's device (fake_nccl_reset); NULL: not checked */
	const struct cairn_backend *bes[FAKE_NCCL_MAX_RANKS];
	char why[160]; /* the last rule broken, for the test's message */
	struct fake_nccl_op ops[FAKE_NCCL_MAX_OPS];
} fake_nccl;

/* Whose each buffer is: fake_nccl_track(be) wraps be's buf_alloc and
 * buf_free so that every allocation of be is listed with its owner.
 * Apart from fake_nccl, so that a reset keeps it. */
static struct {
	struct {
		struct cairn_backend *be;
		const struct cairn_backend_i *orig;
		struct cairn_backend_i iface;
	} w[FAKE_NCCL_MAX_BES];
	struct {
		const struct cairn_backend *be;
		const char *p;
		size_t bytes;
	} a[FAKE_NCCL_MAX_ALLOCS];
	int na;
} fake_own;

static int fake_own_slot(const struct cairn_backend *be)
{
	for (int i = 0; i < FAKE_NCCL_MAX_BES; i++)
		if (fake_own.w[i].be == be && be->iface == &fake_own.w[i].iface)
			return i;
	fail_msg("fake_nccl: backend %p is not tracked", (const void *)be);
	return -1;
}

static int fake_own_alloc(struct cairn_backend *be, size_t bytes, void **out)
{
	int w = fake_own_slot(be);
	int rc = fake_own.w[w].orig->buf_alloc(be, bytes, out);

	if (rc == 0) {
		if (fake_own.na == FAKE_NCCL_MAX_ALLOCS)
			fail_msg("fake_nccl: more than %d live allocations",
			         FAKE_NCCL_MAX_ALLOCS);
		fake_own.a[fake_own.na].be = be;
		fake_own.a[fake_own.na].p = (const char *)*out;
		fake_own.a[fake_own.na].bytes = bytes;
		fake_own.na++;
	}
	return rc;
}

static void fake_own_free(struct cairn_backend *be, void *buf)
{
	int w = fake_own_slot(be);

	for (int i = 0; i < fake_own.na; i++)
		if (fake_own.a[i].p == (const char *)buf &&
		    fake_own.a[i].be == be) {
			fake_own.a[i] = fake_own.a[--fake_own.na];
			break;
		}
	fake_own.w[w].orig->buf_free(be, buf);
}

/* Lists be's allocations from now on (call right after opening it, and
 * fake_nccl_untrack before closing it). */
static void fake_nccl_track(struct cairn_backend *be)
{
	int free_slot = -1;

	for (int i = 0; i < FAKE_NCCL_MAX_BES; i++) {
		if (fake_own.w[i].be == be)
			return; /* already */
		if (!fake_own.w[i].be && free_slot < 0)
			free_slot = i;
	}
	if (free_slot < 0)
		fail_msg("fake_nccl: more than %d tracked backends",
		         FAKE_NCCL_MAX_BES);
	fake_own.w[free_slot].be = be;
	fake_own.w[free_slot].orig = be->iface;
	fake_own.w[free_slot].iface = *be->iface;
	fake_own.w[free_slot].iface.buf_alloc = fake_own_alloc;
	fake_own.w[free_slot].iface.buf_free = fake_own_free;
	be->iface = &fake_own.w[free_slot].iface;
}

/* Gives be its own functions back and forgets its allocations. */
static void fake_nccl_untrack(struct cairn_backend *be)
{
	int w = fake_own_slot(be);

	be->iface = fake_own.w[w].orig;
	memset(&fake_own.w[w], 0, sizeof fake_own.w[w]);
	for (int i = 0; i < fake_own.na;)
		if (fake_own.a[i].be == be)
			fake_own.a[i] = fake_own.a[--fake_own.na];
		else
			i++;
}

/* [p, p + bytes) lies in one allocation of be. */
static int fake_own_has(const struct cairn_backend *be, const void *p,
                        size_t bytes)
{
	const char *q = (const char *)p;

	for (int i = 0; i < fake_own.na; i++)
		if (fake_own.a[i].be == be && q >= fake_own.a[i].p &&
		    (size_t)(q - fake_own.a[i].p) <= fake_own.a[i].bytes &&
		    bytes <=
		        fake_own.a[i].bytes - (size_t)(q - fake_own.a[i].p))
			return 1;
	return 0;
}

/* A fresh imitation whose rank r is device bes[r] (tracked backends). */
static void fake_nccl_reset(struct cairn_backend *const *bes, int n)
{
	memset(&fake_nccl, 0, sizeof fake_nccl);
	for (int r = 0; r < n && r < FAKE_NCCL_MAX_RANKS; r++)
		fake_nccl.bes[r] = bes[r];
}

enum {
	FAKE_NCCL_OK = 0,
	FAKE_NCCL_CUDA = 1,
	FAKE_NCCL_SYSTEM = 2,
	FAKE_NCCL_USAGE = 5,
	FAKE_NCCL_IN_PROGRESS = 7
};

static int fake_nccl_rank(void *comm)
{
	uintptr_t v = (uintptr_t)comm;

	if (v < FAKE_NCCL_BASE ||
	    v >= FAKE_NCCL_BASE + (uintptr_t)fake_nccl.nranks ||
	    !fake_nccl.made[v - FAKE_NCCL_BASE])
		return -1;
	return (int)(v - FAKE_NCCL_BASE);
}

static int fake_nccl_broken(const char *why)
{
	snprintf(fake_nccl.why, sizeof fake_nccl.why, "%s", why);
	return FAKE_NCCL_USAGE;
}

static int fake_nccl_get_version(int *v)
{
	*v = 22105; /* 2.21.5 */
	return FAKE_NCCL_OK;
}

static int fake_nccl_init_all(void **comms, int ndev, const int *devlist)
{
	(void)devlist;
	if (fake_nccl.live) /* one clique at a time, here */
		return fake_nccl_broken("a second clique");
	if (ndev < 1 || ndev > FAKE_NCCL_MAX_RANKS)
		return fake_nccl_broken("clique size");
	fake_nccl.nranks = ndev;
	for (int r = 0; r < ndev; r++) {
		comms[r] = (void *)(FAKE_NCCL_BASE + (uintptr_t)r);
		fake_nccl.made[r] = 1;
	}
	fake_nccl.live = ndev;
	return FAKE_NCCL_OK;
}

static int fake_nccl_destroy(void *comm)
{
	int r = fake_nccl_rank(comm);

	if (r < 0)
		return fake_nccl_broken("destroy of an unknown or destroyed "
		                        "communicator");
	fake_nccl.made[r] = 0;
	fake_nccl.live--;
	return FAKE_NCCL_OK;
}

static int fake_nccl_get_async_error(void *comm, int *err)
{
	int r = fake_nccl_rank(comm);

	if (r < 0)
		return fake_nccl_broken("async error of an unknown or ended "
		                        "communicator");
	fake_nccl.async_polls++;
	*err = fake_nccl.async_error[r];
	return FAKE_NCCL_OK;
}

static int fake_nccl_abort(void *comm)
{
	int r = fake_nccl_destroy(comm);

	if (r == FAKE_NCCL_OK)
		fake_nccl.aborted++;
	return r;
}

static int fake_nccl_group_start(void)
{
	fake_nccl.depth++;
	return FAKE_NCCL_OK;
}

static int fake_nccl_record(int send, const void *src, void *dst, size_t count,
                            int type, int peer, void *comm, void *stream)
{
	struct fake_nccl_op *op;
	const struct cairn_backend *own;
	int rank = fake_nccl_rank(comm);

	if (fake_nccl.depth == 0)
		return fake_nccl_broken("send/recv outside a group");
	if (rank < 0)
		return fake_nccl_broken("unknown communicator");
	if (peer < 0 || peer >= fake_nccl.nranks)
		return fake_nccl_broken("peer out of range");
	if (type != CAIRN__NCCL_INT8)
		return fake_nccl_broken("datatype is not ncclInt8");
	own = fake_nccl.bes[rank];
	if (own && stream != (const void *)own)
		return fake_nccl_broken("stream of another device");
	if (own && !fake_own_has(own, send ? src : dst, count))
		return fake_nccl_broken(send ? "send buffer not on the "
		                               "communicator's device"
		                             : "receive buffer not on the "
		                               "communicator's device");
	if (fake_nccl.nops == FAKE_NCCL_MAX_OPS)
		return fake_nccl_broken("too many operations in a group");
	op = &fake_nccl.ops[fake_nccl.nops++];
	memset(op, 0, sizeof *op);
	op->send = send;
	op->rank = rank;
	op->peer = peer;
	op->src = src;
	op->dst = dst;
	op->count = count;
	return FAKE_NCCL_OK;
}

static int fake_nccl_send(const void *buf, size_t count, int type, int peer,
                          void *comm, void *stream)
{
	return fake_nccl_record(1, buf, NULL, count, type, peer, comm, stream);
}

static int fake_nccl_recv(void *buf, size_t count, int type, int peer,
                          void *comm, void *stream)
{
	return fake_nccl_record(0, NULL, buf, count, type, peer, comm, stream);
}

/* Pairs the group's sends and receives in order per (from, to). */
static int fake_nccl_group_end(void)
{
	int rc = FAKE_NCCL_OK;

	if (fake_nccl.depth == 0)
		return fake_nccl_broken("group end without a start");
	if (--fake_nccl.depth)
		return FAKE_NCCL_OK;
	fake_nccl.groups++;
	if (fake_nccl.fail_group_end > 0) {
		fake_nccl.fail_group_end--;
		fake_nccl.nops = 0;
		return FAKE_NCCL_CUDA;
	}
	for (int i = 0; i < fake_nccl.nops; i++) {
		struct fake_nccl_op *s = &fake_nccl.ops[i], *r = NULL;

		if (!s->send)
			continue;
		for (int j = 0; j < fake_nccl.nops && !r; j++) {
			struct fake_nccl_op *o = &fake_nccl.ops[j];
			if (!o->send && !o->matched && o->rank == s->peer &&
			    o->peer == s->rank)
				r = o;
		}
		if (!r || r->count != s->count) {
			rc = fake_nccl_broken(
			    r ? "send and receive counts differ"
			      : "a send without its receive");
			break;
		}
		r->matched = s->matched = 1;
		if (s->count)
			memmove(r->dst, s->src, s->count);
		fake_nccl.moved++;
	}
	for (int i = 0; i < fake_nccl.nops && rc == FAKE_NCCL_OK; i++)
		if (!fake_nccl.ops[i].matched)
			rc = fake_nccl_broken("a receive without its send");
	fake_nccl.nops = 0;
	return rc;
}

static const char *fake_nccl_error_string(int r)
{
	return r == FAKE_NCCL_CUDA     ? "unhandled cuda error (imitation)"
	       : r == FAKE_NCCL_SYSTEM ? "unhandled system error (imitation)"
	       : r == FAKE_NCCL_USAGE  ? "invalid usage (imitation)"
	                               : "fake NCCL error";
}

static const struct cairn__nccl_api fake_nccl_api = {
    .get_version = fake_nccl_get_version,
    .comm_init_all = fake_nccl_init_all,
    .comm_destroy = fake_nccl_destroy,
    .group_start = fake_nccl_group_start,
    .group_end = fake_nccl_group_end,
    .send = fake_nccl_send,
    .recv = fake_nccl_recv,
    .error_string = fake_nccl_error_string,
    .comm_get_async_error = fake_nccl_get_async_error,
    .comm_abort = fake_nccl_abort,
};

#endif
