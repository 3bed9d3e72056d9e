/* cairn: moving bytes between the devices of one rig (internal to kernels/).
 *
 * A model on several backends (cairn_model_create_multi) moves each step's
 * micro-batch gradients and row losses to device 0 and the summed gradient
 * back (DESIGN.md 2.7: NCCL moves bytes, a fixed-order kernel adds them).
 * A comm does those moves, one batch at a time, with one of two transports:
 *
 * - "nccl": every backend is CUDA, on distinct GPUs, and libnccl.so.2 loads
 *   (dlopen, never a link dependency: a rig without NCCL still starts).
 *   One communicator per GPU from ncclCommInitAll; a batch of moves is one
 *   NCCL group of ncclSend/ncclRecv pairs, each on its backend's stream, so
 *   the moves are ordered with the ops before and after them on each GPU
 *   and the host does not wait.  While transfers may be pending the host
 *   waits for a rig's streams with cairn__comm_wait, not with a stream
 *   synchronize: a GPU that fails mid-transfer leaves its peers' NCCL
 *   kernels waiting for bytes that never come, and only an abort of the
 *   communicators frees them.  (The model takes care of this: the CUDA
 *   sum_n takes up to 64 sources by value, and model_rig.c has a longer
 *   list copied before the first transfer, so no op between a step's
 *   moves and its wait synchronizes a stream; a step that fails after
 *   its moves, and cairn_model_free, wait first.)
 * - "host": anything else.  Each move is a read from its source backend
 *   into a host staging buffer and a write to its destination (both done
 *   when they return).
 *
 * Both move the same bytes, so the model's bits do not depend on which one
 * ran.  CAIRN_NCCL=0 in the environment asks for "host" (for comparing the
 * two on a rig).
 *
 * Ownership: the comm owns its staging buffer, its communicators and its
 * copy of the backend list; the backends are borrowed and must outlive it. */
#ifndef CAIRN_COMM_H
#define CAIRN_COMM_H

#include <stddef.h>

#include "backend_impl.h"
#include "cairn/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One move: bytes from src on device src_dev to dst on device dst_dev
 * (indices into the comm's backend list; the same device is allowed: a
 * copy, or NCCL's send to self). */
struct cairn__move {
	int src_dev, dst_dev;
	const void *src;
	void *dst;
	size_t bytes;
};

/* The part of NCCL's API a comm uses, with NCCL's types reduced to what
 * the ABI passes (ncclResult_t and ncclDataType_t are C enums, ncclComm_t
 * and cudaStream_t pointers).  Filled from libnccl.so.2 with dlsym; the
 * tests fill it with a host imitation to check the calls a comm makes. */
struct cairn__nccl_api {
	int (*get_version)(int *version);
	int (*comm_init_all)(void **comms, int ndev, const int *devlist);
	int (*comm_destroy)(void *comm);
	int (*group_start)(void);
	int (*group_end)(void);
	int (*send)(const void *buf, size_t count, int datatype, int peer,
	            void *comm, void *stream);
	int (*recv)(void *buf, size_t count, int datatype, int peer, void *comm,
	            void *stream);
	const char *(*error_string)(int result);
	/* ncclCommGetAsyncError and ncclCommAbort (NCCL 2.4 on) */
	int (*comm_get_async_error)(void *comm, int *async_error);
	int (*comm_abort)(void *comm);
};

/* ncclInt8: a move is a count of bytes. */
#define CAIRN__NCCL_INT8 0
/* ncclInProgress (NCCL 2.14 on): an asynchronous error that is not one */
#define CAIRN__NCCL_IN_PROGRESS 7

typedef struct cairn__comm cairn__comm;

/* A comm between bes[0..n-1] (n >= 1).  NCCL when the rules above allow
 * it, else host; *out says which (cairn__comm_desc).  Fails only for bad
 * arguments or memory: a missing or failing NCCL means host, and the
 * description says why. */
int cairn__comm_open(struct cairn_backend *const *bes, int n,
                     cairn__comm **out);
/* The same with api standing in for libnccl.so.2 (the tests): the NCCL
 * transport on any backends; for a backend without a stream the backend
 * pointer itself is passed as the stream (so that an imitation can check
 * that each call names its own device's). */
int cairn__comm_open_api(struct cairn_backend *const *bes, int n,
                         const struct cairn__nccl_api *api, cairn__comm **out);
/* Does mv[0..n-1], in the order given between any two devices.  NCCL:
 * queued on the backends' streams (the next op on a destination's stream
 * sees the bytes); host: done when it returns.  The moves must not
 * overlap one another's destinations. */
int cairn__comm_move(cairn__comm *c, const struct cairn__move *mv, int n);
/* Waits until every device's stream has done the work queued on it (NCCL;
 * host: 0 at once).  It polls (spinning for 200 us, then sleeping up to
 * 100 us between looks), so that a failure anywhere ends the wait: a CUDA
 * error on a device's stream, or an asynchronous NCCL error on a
 * communicator, aborts every communicator of the comm (which frees the
 * peers' pending transfers), logs which device failed and how, and gives
 * CAIRN_EDEVICE.  A device still busy 600 s after the wait began does
 * the same with CAIRN_ETIMEDOUT.  From then on every move and wait on c
 * gives CAIRN_EDEVICE.  A failed ncclGroupEnd in cairn__comm_move aborts
 * in the same way. */
int cairn__comm_wait(cairn__comm *c);
/* 1 once c has aborted its communicators after a failure. */
int cairn__comm_broken(const cairn__comm *c);
/* "nccl" or "host". */
const char *cairn__comm_kind(const cairn__comm *c);
/* A line for people: "NCCL 2.18.3", or "host memory (NCCL: why not)". */
const char *cairn__comm_desc(const cairn__comm *c);
/* NULL is a no-op. */
void cairn__comm_close(cairn__comm *c);

/* For the tests: model m (on c's n devices, from cairn_model_create_multi)
 * moves its bytes with c from now on; m takes c and closes the comm it
 * had.  CAIRN_EINVAL (and c still the caller's) for a model on one device
 * or a comm of another size. */
int cairn__model_set_comm(cairn_model *m, cairn__comm *c);
/* The number of devices of c. */
int cairn__comm_size(const cairn__comm *c);

/* The backend's stream (a cudaStream_t) for NCCL; CAIRN_ENOTSUP for a
 * backend that has none.  Defined by the CUDA backend, else backend.c. */
int cairn__backend_stream(const struct cairn_backend *be, void **out);
/* Whether the backend's stream has work left, without waiting: 0 done, 1
 * busy, CAIRN_ENOTSUP for a backend without a stream (its ops are done
 * when they return), CAIRN_EDEVICE for an error on the stream (logged).
 * Defined like cairn__backend_stream. */
int cairn__backend_stream_query(const struct cairn_backend *be);
/* For the tests: c asks query, not cairn__backend_stream_query, whether a
 * device's stream is busy (NULL: back to that). */
void cairn__comm_set_query(cairn__comm *c,
                           int (*query)(const struct cairn_backend *be));
/* For the tests: cairn__comm_wait's time limit (<= 0: the default). */
void cairn__comm_set_timeout(cairn__comm *c, double seconds);

#ifdef __cplusplus
}
#endif
#endif
