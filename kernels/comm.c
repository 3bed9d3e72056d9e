/* cairn: moving bytes between the devices of one rig (comm.h).
 *
 * Ownership: struct cairn__comm owns comms[] (destroyed by
 * cairn__comm_close), the staging buffer and its copy of the backend
 * pointers; the backends themselves are borrowed.  libnccl.so.2, once
 * loaded, stays loaded for the life of the process: NCCL keeps
 * process-wide state, and unloading it under that state is not safe. */
#include <dlfcn.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "comm.h"
#include "cairn/info.h"
#include "cairn/error.h"
#include "cairn/log.h"
#include "cairn/model.h"

/* cairn__comm_wait's pacing: it looks without sleeping for the first
 * COMM_SPIN_NS (a step's tail is short, and a sleep would add to it), then
 * sleeps between looks, COMM_NAP_MIN_NS doubling up to COMM_NAP_MAX_NS;
 * after COMM_TIMEOUT_S with a device still busy it gives up. */
#define COMM_SPIN_NS 200000L
#define COMM_NAP_MIN_NS 10000L
#define COMM_NAP_MAX_NS 100000L
#define COMM_TIMEOUT_S 600.0

struct cairn__comm {
	int n;
	struct cairn_backend *bes[CAIRN_MODEL_MAX_DEVICES];
	int nccl; /* 1: the NCCL transport through api */
	struct cairn__nccl_api api;
	void *comms[CAIRN_MODEL_MAX_DEVICES];   /* ncclComm_t, one per device */
	void *streams[CAIRN_MODEL_MAX_DEVICES]; /* cudaStream_t or NULL */
	void *stage;                            /* host staging; owned */
	size_t stage_bytes;
	int broken; /* the communicators were aborted after a failure */
	int told;   /* a refusal since then was logged */
	/* cairn__comm_wait's look at a stream (a function, not owned;
	 * cairn__backend_stream_query unless a test replaced it) and its
	 * time limit */
	int (*query)(const struct cairn_backend *be);
	double timeout_s;
	char desc[200];
};

/* include/cairn/info.h: ncclGetVersion's code as "major.minor.patch"
 * (NCCL 2.9 on: major * 10000 + minor * 100 + patch; before: * 1000).
 * Defined here, with the transport that loads NCCL and names its version;
 * cairn info prints it too. */
void cairn_info_nccl_version(int v, char *buf, size_t len)
{
	if (!buf || !len)
		return;
	if (v >= 10000)
		snprintf(buf, len, "%d.%d.%d", v / 10000, v % 10000 / 100,
		         v % 100);
	else
		snprintf(buf, len, "%d.%d.%d", v / 1000, v % 1000 / 100,
		         v % 100);
}

static const char *comm_nccl_error(const cairn__comm *c, int r)
{
	const char *s = c->api.error_string ? c->api.error_string(r) : NULL;
	return s ? s : "unknown NCCL error";
}

#ifdef CAIRN_HAVE_NCCL
/* Fills *api from libnccl.so.2; 0, or CAIRN_ENOTSUP with why.  Each
 * symbol goes into its function pointer with memcpy, not a cast ISO C
 * leaves undefined. */
static int comm_nccl_load(struct cairn__nccl_api *api, char *why,
                          size_t why_len)
{
	static const struct {
		const char *name;
		size_t off;
	} syms[] = {
	    {"ncclGetVersion", offsetof(struct cairn__nccl_api, get_version)},
	    {"ncclCommInitAll",
	     offsetof(struct cairn__nccl_api, comm_init_all)},
	    {"ncclCommDestroy", offsetof(struct cairn__nccl_api, comm_destroy)},
	    {"ncclGroupStart", offsetof(struct cairn__nccl_api, group_start)},
	    {"ncclGroupEnd", offsetof(struct cairn__nccl_api, group_end)},
	    /* ncclSend and ncclRecv: NCCL 2.7 on */
	    {"ncclSend", offsetof(struct cairn__nccl_api, send)},
	    {"ncclRecv", offsetof(struct cairn__nccl_api, recv)},
	    {"ncclGetErrorString",
	     offsetof(struct cairn__nccl_api, error_string)},
	    {"ncclCommGetAsyncError",
	     offsetof(struct cairn__nccl_api, comm_get_async_error)},
	    {"ncclCommAbort", offsetof(struct cairn__nccl_api, comm_abort)},
	};
	void *dl = dlopen("libnccl.so.2", RTLD_NOW | RTLD_LOCAL);

	if (!dl) {
		const char *e = dlerror();
		snprintf(why, why_len,
		         "cannot load libnccl.so.2 (%.80s); install libnccl2 "
		         "to move gradients GPU to GPU",
		         e ? e : "not found");
		return CAIRN_ENOTSUP;
	}
	memset(api, 0, sizeof *api);
	for (size_t i = 0; i < sizeof syms / sizeof syms[0]; i++) {
		void *p = dlsym(dl, syms[i].name);

		if (!p) {
			snprintf(why, why_len,
			         "libnccl.so.2 has no %s (NCCL before 2.7?); "
			         "install a newer libnccl2",
			         syms[i].name);
			dlclose(dl);
			return CAIRN_ENOTSUP;
		}
		memcpy((char *)api + syms[i].off, &p, sizeof p);
	}
	return 0; /* dl stays loaded: see the top of this file */
}
#endif

/* Sets up the NCCL transport on c with c->api; 0, or a code with why. */
static int comm_nccl_init(cairn__comm *c, int need_streams, char *why,
                          size_t why_len)
{
	int dev[CAIRN_MODEL_MAX_DEVICES], v = 0, r;
	char ver[32] = "";

	for (int d = 0; d < c->n; d++) {
		dev[d] = c->bes[d]->device;
		if (cairn__backend_stream(c->bes[d], &c->streams[d])) {
			if (need_streams) {
				snprintf(why, why_len, "device %d is not a GPU",
				         d);
				return CAIRN_ENOTSUP;
			}
			/* the tests' imitation: the backend stands in for
			 * its stream, so that it can tell whose it is */
			c->streams[d] = c->bes[d];
		}
		for (int e = 0; e < d && need_streams; e++)
			if (dev[e] == dev[d]) {
				snprintf(why, why_len,
				         "GPU %d is in the list twice", dev[d]);
				return CAIRN_ENOTSUP;
			}
	}
	if (c->api.get_version && c->api.get_version(&v) == 0 && v > 0)
		cairn_info_nccl_version(v, ver, sizeof ver);
	r = c->api.comm_init_all(c->comms, c->n, dev);
	if (r != 0) {
		memset(c->comms, 0, sizeof c->comms);
		snprintf(why, why_len, "ncclCommInitAll failed: %s",
		         comm_nccl_error(c, r));
		return CAIRN_EDEVICE;
	}
	c->nccl = 1;
	snprintf(c->desc, sizeof c->desc, "NCCL%s%s", ver[0] ? " " : "", ver);
	return 0;
}

static int comm_alloc(struct cairn_backend *const *bes, int n,
                      cairn__comm **out)
{
	cairn__comm *c;

	*out = NULL;
	if (!bes || n < 1 || n > CAIRN_MODEL_MAX_DEVICES)
		return CAIRN_EINVAL;
	for (int d = 0; d < n; d++)
		if (!bes[d])
			return CAIRN_EINVAL;
	c = calloc(1, sizeof *c);
	if (!c)
		return CAIRN_ENOMEM;
	c->n = n;
	memcpy(c->bes, bes, (size_t)n * sizeof *bes);
	c->query = cairn__backend_stream_query;
	c->timeout_s = COMM_TIMEOUT_S;
	snprintf(c->desc, sizeof c->desc, "host memory");
	*out = c;
	return 0;
}

int cairn__comm_open(struct cairn_backend *const *bes, int n, cairn__comm **out)
{
	char why[160] = "";
	const char *env = getenv("CAIRN_NCCL");
	cairn__comm *c = NULL;
	int all_cuda = 1;
	int rc;

	if (out)
		*out = NULL;
	rc = comm_alloc(bes, n, &c);
	if (rc || !out) {
		cairn__comm_close(c);
		return rc ? rc : CAIRN_EINVAL;
	}
	for (int d = 0; d < n; d++)
		all_cuda &= bes[d]->kind == CAIRN_BACKEND_CUDA;
	if (!all_cuda)
		goto out; /* CPU backends (the tests): host memory, quietly */
	if (env && !strcmp(env, "0")) {
		snprintf(why, sizeof why, "CAIRN_NCCL=0");
		goto out;
	}
#ifdef CAIRN_HAVE_NCCL
	if (comm_nccl_load(&c->api, why, sizeof why) == 0)
		(void)comm_nccl_init(c, 1, why, sizeof why);
#else
	snprintf(why, sizeof why, "this cairn was built without NCCL");
#endif
out:
	if (!c->nccl && why[0])
		snprintf(c->desc, sizeof c->desc, "host memory (NCCL: %.150s)",
		         why);
	/* The line goes into JSON as it is: no quote, backslash or control
	 * character from a library's message. */
	for (char *p = c->desc; *p; p++)
		if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20 ||
		    (unsigned char)*p > 0x7e)
			*p = '\'';
	*out = c;
	return 0;
}

int cairn__comm_open_api(struct cairn_backend *const *bes, int n,
                         const struct cairn__nccl_api *api, cairn__comm **out)
{
	char why[160] = "";
	cairn__comm *c = NULL;
	int rc;

	if (out)
		*out = NULL;
	if (!out || !api || !api->comm_init_all || !api->group_start ||
	    !api->group_end || !api->send || !api->recv ||
	    !api->comm_get_async_error || !api->comm_abort)
		return CAIRN_EINVAL;
	rc = comm_alloc(bes, n, &c);
	if (rc)
		return rc;
	c->api = *api;
	rc = comm_nccl_init(c, 0, why, sizeof why);
	if (rc) {
		cairn_error("comm: %s", why);
		cairn__comm_close(c);
		return rc;
	}
	*out = c;
	return 0;
}

/* A move or wait after the abort: CAIRN_EDEVICE, said once (the failure
 * itself was logged when it happened). */
static int comm_refuse_broken(cairn__comm *c)
{
	if (!c->told)
		cairn_error("comm: the rig's NCCL communicators were aborted "
		            "after an earlier failure; start the task again");
	c->told = 1;
	return CAIRN_EDEVICE;
}

/* After a failure: aborts every communicator (ncclCommAbort ends the
 * transfers still pending on the other devices, which would otherwise wait
 * for their peer forever) and marks c broken.  The comm keeps nothing that
 * close would destroy. */
static void comm_abort_all(cairn__comm *c)
{
	for (int d = 0; d < c->n; d++) {
		if (!c->comms[d])
			continue;
		int r = c->api.comm_abort(c->comms[d]);

		if (r != 0)
			cairn_warn("comm: ncclCommAbort on device %d: %s", d,
			           comm_nccl_error(c, r));
		c->comms[d] = NULL;
	}
	c->broken = 1;
}

/* One group of send/recv pairs.  Within a group NCCL pairs the k-th send
 * from a to b with the k-th receive on b from a, so each move's send and
 * receive are issued together, in the caller's order. */
static int comm_move_group(cairn__comm *c, const struct cairn__move *mv, int n)
{
	int r = c->api.group_start(), r2;

	for (int i = 0; i < n && r == 0; i++) {
		const struct cairn__move *m = &mv[i];

		if (m->bytes == 0)
			continue;
		r = c->api.send(m->src, m->bytes, CAIRN__NCCL_INT8, m->dst_dev,
		                c->comms[m->src_dev], c->streams[m->src_dev]);
		if (r == 0)
			r = c->api.recv(m->dst, m->bytes, CAIRN__NCCL_INT8,
			                m->src_dev, c->comms[m->dst_dev],
			                c->streams[m->dst_dev]);
	}
	r2 = c->api.group_end(); /* closes the group whatever happened */
	return r ? r : r2;
}

/* Groups of at most COMM_GROUP_MOVES moves (NCCL 2.9 to 2.11 allowed
 * 2048 operations in a group; a move is two).  A move's send and receive
 * share a group, so the pairs, and the bytes, are the same. */
#define COMM_GROUP_MOVES 1000
static int comm_move_nccl(cairn__comm *c, const struct cairn__move *mv, int n)
{
	for (int i = 0; i < n; i += COMM_GROUP_MOVES) {
		int k = n - i < COMM_GROUP_MOVES ? n - i : COMM_GROUP_MOVES;
		int r = comm_move_group(c, mv + i, k);

		if (r != 0) {
			/* A send may be queued without its receive: only an
			 * abort keeps its stream from waiting forever. */
			cairn_error(
			    "comm: moving %d buffer(s) between GPUs with "
			    "NCCL failed: %s; the rig's communicators were "
			    "aborted and this task fails; set CAIRN_NCCL=0 "
			    "to move them through host memory instead",
			    k, comm_nccl_error(c, r));
			comm_abort_all(c);
			return CAIRN_EDEVICE;
		}
	}
	return 0;
}

static int comm_move_host(cairn__comm *c, const struct cairn__move *mv, int n)
{
	int rc = 0;

	for (int i = 0; i < n && !rc; i++) {
		const struct cairn__move *m = &mv[i];
		struct cairn_backend *src = c->bes[m->src_dev];

		if (m->bytes == 0)
			continue;
		if (m->src_dev == m->dst_dev) {
			rc = cairn_buf_copy(src, m->dst, m->src, m->bytes);
			continue;
		}
		if (m->bytes > c->stage_bytes) {
			void *p = realloc(c->stage, m->bytes);

			if (!p)
				return CAIRN_ENOMEM;
			c->stage = p;
			c->stage_bytes = m->bytes;
		}
		rc = cairn_buf_read(src, c->stage, m->src, m->bytes);
		if (!rc)
			rc = cairn_buf_write(c->bes[m->dst_dev], m->dst,
			                     c->stage, m->bytes);
	}
	return rc;
}

int cairn__comm_move(cairn__comm *c, const struct cairn__move *mv, int n)
{
	if (!c || n < 0 || (n && !mv))
		return CAIRN_EINVAL;
	for (int i = 0; i < n; i++)
		if (mv[i].src_dev < 0 || mv[i].src_dev >= c->n ||
		    mv[i].dst_dev < 0 || mv[i].dst_dev >= c->n ||
		    (mv[i].bytes && (!mv[i].src || !mv[i].dst)))
			return CAIRN_EINVAL;
	if (c->broken)
		return comm_refuse_broken(c);
	if (n == 0)
		return 0;
	return c->nccl ? comm_move_nccl(c, mv, n) : comm_move_host(c, mv, n);
}

static double comm_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Sleeps ns nanoseconds (less if a signal comes: the caller looks again). */
static void comm_nap(long ns)
{
	struct timespec ts = {0, ns};

	(void)nanosleep(&ts, NULL);
}

/* One look at every device: 0 all done, 1 some busy (busy[d] says which),
 * CAIRN_EDEVICE after a failure (logged, communicators aborted). */
static int comm_poll(cairn__comm *c, char *busy)
{
	int any = 0;

	for (int d = 0; d < c->n; d++) {
		int q = c->query(c->bes[d]), e = 0, r;

		busy[d] = q == 1;
		any |= busy[d];
		if (q != 0 && q != 1 && q != CAIRN_ENOTSUP) {
			cairn_error(
			    "comm: device %d (%s) reported an error "
			    "during a step the rig's GPUs share; the "
			    "NCCL communicators were aborted and this "
			    "task fails; look for the GPU's Xid errors "
			    "in the kernel's messages (dmesg) and check "
			    "it with nvidia-smi before starting again",
			    d, cairn_backend_describe(c->bes[d]));
			comm_abort_all(c);
			return CAIRN_EDEVICE;
		}
		r = c->api.comm_get_async_error(c->comms[d], &e);
		if (r != 0 || (e != 0 && e != CAIRN__NCCL_IN_PROGRESS)) {
			cairn_error("comm: NCCL reported an error on device "
			            "%d (%s): %s; the communicators were "
			            "aborted and this task fails; set "
			            "CAIRN_NCCL=0 to move gradients through "
			            "host memory instead",
			            d, cairn_backend_describe(c->bes[d]),
			            comm_nccl_error(c, r ? r : e));
			comm_abort_all(c);
			return CAIRN_EDEVICE;
		}
	}
	return any;
}

/* A device still busy after the time limit: names them, aborts. */
static int comm_timed_out(cairn__comm *c, const char *busy)
{
	char list[96] = "";
	size_t len = 0;

	for (int d = 0; d < c->n && len + 8 < sizeof list; d++)
		if (busy[d])
			len += (size_t)snprintf(list + len, sizeof list - len,
			                        "%s%d", len ? ", " : "", d);
	cairn_error("comm: device(s) %s still busy after %g s of a step "
	            "the rig's GPUs share, with no error reported; the NCCL "
	            "communicators were aborted and this task fails; check "
	            "the GPUs with nvidia-smi, or set CAIRN_NCCL=0 to move "
	            "gradients through host memory",
	            list, c->timeout_s);
	comm_abort_all(c);
	return CAIRN_ETIMEDOUT;
}

int cairn__comm_wait(cairn__comm *c)
{
	char busy[CAIRN_MODEL_MAX_DEVICES];
	double t0, now;
	long nap = COMM_NAP_MIN_NS;

	if (!c)
		return CAIRN_EINVAL;
	if (c->broken)
		return comm_refuse_broken(c);
	if (!c->nccl)
		return 0; /* host moves are done when they return */
	t0 = comm_now();
	for (;;) {
		int rc = comm_poll(c, busy);

		if (rc <= 0)
			return rc;
		now = comm_now();
		if (now - t0 > c->timeout_s)
			return comm_timed_out(c, busy);
		if (now - t0 > 1e-9 * (double)COMM_SPIN_NS) {
			comm_nap(nap);
			nap = nap * 2 < COMM_NAP_MAX_NS ? nap * 2
			                                : COMM_NAP_MAX_NS;
		}
	}
}

int cairn__comm_broken(const cairn__comm *c)
{
	return c ? c->broken : 0;
}

void cairn__comm_set_query(cairn__comm *c,
                           int (*query)(const struct cairn_backend *be))
{
	if (c)
		c->query = query ? query : cairn__backend_stream_query;
}

void cairn__comm_set_timeout(cairn__comm *c, double seconds)
{
	if (c)
		c->timeout_s = seconds > 0.0 ? seconds : COMM_TIMEOUT_S;
}

int cairn__comm_size(const cairn__comm *c)
{
	return c ? c->n : 0;
}

const char *cairn__comm_kind(const cairn__comm *c)
{
	return c && c->nccl ? "nccl" : "host";
}

const char *cairn__comm_desc(const cairn__comm *c)
{
	return c ? c->desc : "";
}

void cairn__comm_close(cairn__comm *c)
{
	if (!c)
		return;
	for (int d = 0; d < c->n && c->nccl; d++) /* none once aborted */
		if (c->comms[d] && c->api.comm_destroy) {
			int r = c->api.comm_destroy(c->comms[d]);

			if (r != 0)
				cairn_warn(
				    "comm: ncclCommDestroy on device %d: "
				    "%s",
				    d, comm_nccl_error(c, r));
		}
	free(c->stage);
	free(c);
}
