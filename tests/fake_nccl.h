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
 * - at the outermost ncclGroupEnd the k-th send from a to b pairs with the
 *   k-th receive on b from a, and the two counts agree; a send or receive
 *   left without its partner is ncclInvalidUsage;
 * - the datatype is ncclInt8 (a comm moves bytes);
 * - every communicator made is destroyed once (fake_nccl.live).
 * The bytes move at ncclGroupEnd, as NCCL's would (not before).
 *
 * fake_nccl.fail_group_end > 0 makes that many ncclGroupEnd calls fail
 * with ncclUnhandledCudaError.  Include after <cmocka.h>; one program uses
 * one imitation (static state). */
#ifndef CAIRN_TEST_FAKE_NCCL_H
#define CAIRN_TEST_FAKE_NCCL_H

#include <stdint.h>
#include <string.h>

#include "comm.h"

#define FAKE_NCCL_MAX_OPS 4096
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
	struct fake_nccl_op ops[FAKE_NCCL_MAX_OPS];
} fake_nccl;

enum { FAKE_NCCL_OK = 0, FAKE_NCCL_CUDA = 1, FAKE_NCCL_USAGE = 5 };

static int fake_nccl_rank(void *comm)
{
	uintptr_t v = (uintptr_t)comm;

	if (v < FAKE_NCCL_BASE ||
	    v >= FAKE_NCCL_BASE + (uintptr_t)fake_nccl.nranks)
		return -1;
	return (int)(v - FAKE_NCCL_BASE);
}

static int fake_nccl_get_version(int *v)
{
	*v = 22105; /* 2.21.5 */
	return FAKE_NCCL_OK;
}

static int fake_nccl_init_all(void **comms, int ndev, const int *devlist)
{
	(void)devlist;
	if (fake_nccl.live)
		return FAKE_NCCL_USAGE; /* one clique at a time, here */
	fake_nccl.nranks = ndev;
	for (int r = 0; r < ndev; r++)
		comms[r] = (void *)(FAKE_NCCL_BASE + (uintptr_t)r);
	fake_nccl.live = ndev;
	return FAKE_NCCL_OK;
}

static int fake_nccl_destroy(void *comm)
{
	if (fake_nccl_rank(comm) < 0 || fake_nccl.live <= 0)
		return FAKE_NCCL_USAGE;
	fake_nccl.live--;
	return FAKE_NCCL_OK;
}

static int fake_nccl_group_start(void)
{
	fake_nccl.depth++;
	return FAKE_NCCL_OK;
}

static int fake_nccl_record(int send, const void *src, void *dst, size_t count,
                            int type, int peer, void *comm)
{
	struct fake_nccl_op *op;
	int rank = fake_nccl_rank(comm);

	if (fake_nccl.depth == 0 || rank < 0 || peer < 0 ||
	    peer >= fake_nccl.nranks || type != CAIRN__NCCL_INT8 ||
	    fake_nccl.nops == FAKE_NCCL_MAX_OPS)
		return FAKE_NCCL_USAGE;
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
	(void)stream;
	return fake_nccl_record(1, buf, NULL, count, type, peer, comm);
}

static int fake_nccl_recv(void *buf, size_t count, int type, int peer,
                          void *comm, void *stream)
{
	(void)stream;
	return fake_nccl_record(0, NULL, buf, count, type, peer, comm);
}

/* Pairs the group's sends and receives in order per (from, to). */
static int fake_nccl_group_end(void)
{
	int rc = FAKE_NCCL_OK;

	if (fake_nccl.depth == 0)
		return FAKE_NCCL_USAGE;
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
			rc = FAKE_NCCL_USAGE;
			break;
		}
		r->matched = s->matched = 1;
		if (s->count)
			memmove(r->dst, s->src, s->count);
		fake_nccl.moved++;
	}
	for (int i = 0; i < fake_nccl.nops && rc == FAKE_NCCL_OK; i++)
		if (!fake_nccl.ops[i].matched)
			rc = FAKE_NCCL_USAGE;
	fake_nccl.nops = 0;
	return rc;
}

static const char *fake_nccl_error_string(int r)
{
	return r == FAKE_NCCL_CUDA    ? "unhandled cuda error (imitation)"
	       : r == FAKE_NCCL_USAGE ? "invalid usage (imitation)"
	                              : "fake NCCL error";
}

static const struct cairn__nccl_api fake_nccl_api = {
    fake_nccl_get_version, fake_nccl_init_all,     fake_nccl_destroy,
    fake_nccl_group_start, fake_nccl_group_end,    fake_nccl_send,
    fake_nccl_recv,        fake_nccl_error_string,
};

#endif
