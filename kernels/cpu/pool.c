/* cairn: the cpu backend's thread pool.
 *
 * A fixed set of persistent worker threads (tid 1..n-1); the thread that
 * calls cairn__pool_run is tid 0 and does its share inline, so a pool of one
 * thread is a plain function call.
 *
 * Dispatch is built for many small ops per training step: the caller
 * publishes (fn, arg) and bumps a generation counter; workers spin on it for
 * a short while (a few tens of microseconds) and only then sleep on a
 * condition variable.  The caller wakes sleepers only when there are any, so
 * back-to-back ops cost a cache-line ping-pong, not a syscall.  Completion
 * is a counter the caller spins on (then sleeps on, for long ops).  The
 * sleep paths use the classic Dekker pattern with sequentially consistent
 * atomics: a sleeper registers itself before re-checking the condition, a
 * waker changes the condition before reading the sleeper count.
 *
 * Pinning: each worker is bound with hwloc to one core, round-robin
 * (worker tid goes to core tid % cores).  The caller (tid 0) is not bound:
 * that would change the affinity of the application's own thread and of
 * every thread it creates later (a BLAS, the CUDA runtime).  Instead, when
 * the OS has put it on a worker's core, pool_steer_caller moves it to core
 * 0, which no worker uses.
 *
 * Floating point: each worker enters the exact profile's environment
 * (round to nearest, no flush-to-zero, no denormals-are-zero;
 * cairn__fp_enter in fpenv.h) before it runs anything, whatever its creator
 * had; the caller's share runs under the same control because every op is
 * dispatched inside cairn__fp_enter/leave (backend.c), so the bits never
 * depend on which thread computed them. */
#define _GNU_SOURCE /* pthread_setname_np */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hwloc.h>
#if defined(__x86_64__) || defined(__i386__)
#endif

#include "cairn/error.h"
#include "cairn/log.h"
#include "cpu_impl.h"
#include "fpenv.h"

#define POOL_CACHELINE 64
/* How long an idle worker spins before it sleeps, and how long the caller
 * spins on completion before it sleeps (nanoseconds). */
#define POOL_SPIN_NS 100000L
#define POOL_WAIT_SPIN_NS 200000L

/* Owned by whoever called cairn__pool_create; freed by
 * cairn__pool_destroy (threads joined, then the memory). */
struct cairn_pool {
	/* written by the caller, read by workers */
	_Alignas(POOL_CACHELINE) atomic_uint gen; /* bumped per dispatch */
	cairn_pool_fn fn;
	void *arg;
	atomic_int stop;
	/* written by workers, read by the caller */
	_Alignas(POOL_CACHELINE) atomic_int pending; /* workers still busy */
	/* the sleep paths */
	_Alignas(POOL_CACHELINE) atomic_int sleepers; /* workers in cond wait */
	atomic_int caller_sleeping;
	pthread_mutex_t mu;
	pthread_cond_t wake;     /* workers wait here for a new generation */
	pthread_cond_t finished; /* the caller waits here for pending == 0 */
	/* read-only after create */
	int nthreads;
	int spin;           /* 1 = workers spin before sleeping */
	pthread_t *threads; /* [nthreads]; [0] unused (the caller) */
	int started;        /* workers created so far (for cleanup) */
	/* Steering the caller (pool_steer_caller); NULL when the workers do
	 * not each have a core of their own.  topo and worker_cpus are owned
	 * by the pool; home (core 0's cpuset) by topo. */
	hwloc_topology_t topo;
	hwloc_bitmap_t worker_cpus;
	hwloc_const_cpuset_t home;
	char desc[160];
};

struct pool_worker_arg {
	struct cairn_pool *pool;
	int tid;
};

/* Step i (from 1) of a spin loop: a pause, and after the first few
 * microseconds a sched_yield every 32 steps.  Spinning must yield: when
 * the OS puts the (unpinned) caller on the core of a pinned worker, two
 * threads that only pause would each wait for the other's time slice. */
static inline void pool_relax(unsigned i)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
	if (i >= 256 && (i & 31) == 0)
		sched_yield();
}

/* Monotonic nanoseconds. */
static long long pool_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Waits until pool->gen differs from seen; returns the new generation.
 * Spins first (when the pool may), then sleeps on pool->wake. */
static unsigned pool_wait_gen(struct cairn_pool *pool, unsigned seen)
{
	unsigned g;

	if (pool->spin) {
		long long t0 = pool_now_ns();
		for (unsigned i = 1;; i++) {
			g = atomic_load_explicit(&pool->gen,
			                         memory_order_acquire);
			if (g != seen)
				return g;
			pool_relax(i);
			if ((i & 255) == 0 && pool_now_ns() - t0 > POOL_SPIN_NS)
				break;
		}
	}
	pthread_mutex_lock(&pool->mu);
	atomic_fetch_add(&pool->sleepers, 1);
	while ((g = atomic_load(&pool->gen)) == seen)
		pthread_cond_wait(&pool->wake, &pool->mu);
	atomic_fetch_sub(&pool->sleepers, 1);
	pthread_mutex_unlock(&pool->mu);
	return g;
}

/* The body of worker tid: wait for a generation, run, report, repeat. */
static void *pool_worker_main(void *p)
{
	struct pool_worker_arg wa = *(struct pool_worker_arg *)p;
	struct cairn_pool *pool = wa.pool;
	unsigned seen = 0;

	free(p);
	(void)
	    cairn__fp_enter(); /* the exact profile: RN, no FTZ/DAZ; for good */
	for (;;) {
		seen = pool_wait_gen(pool, seen);
		if (atomic_load_explicit(&pool->stop, memory_order_acquire))
			break;
		pool->fn(pool->arg, wa.tid, pool->nthreads);
		if (atomic_fetch_sub(&pool->pending, 1) == 1 &&
		    atomic_load(&pool->caller_sleeping)) {
			pthread_mutex_lock(&pool->mu);
			pthread_cond_signal(&pool->finished);
			pthread_mutex_unlock(&pool->mu);
		}
	}
	return NULL;
}

/* Publishes a new generation and wakes sleeping workers. */
static void pool_kick(struct cairn_pool *pool)
{
	atomic_fetch_add(&pool->gen, 1);
	if (atomic_load(&pool->sleepers) > 0) {
		pthread_mutex_lock(&pool->mu);
		pthread_cond_broadcast(&pool->wake);
		pthread_mutex_unlock(&pool->mu);
	}
}

/* Binds every worker to a core, round-robin (worker t to core t % cores);
 * the caller stays unbound.  When every worker has a core of its own, the
 * pool keeps the topology, the workers' cpus and core 0 (where no worker
 * is) for pool_steer_caller.  Writes what happened into pool->desc; a
 * failure is logged once. */
static void pool_pin(struct cairn_pool *pool)
{
	hwloc_topology_t topo = NULL;
	hwloc_bitmap_t workers = NULL;
	hwloc_obj_t core0;
	int ncores = 0, failed = 0, used = 0;
	char why[96] = "";

	if (pool->nthreads < 2) {
		snprintf(pool->desc, sizeof pool->desc,
		         "not pinned: one thread, the caller's");
		return;
	}
	if (hwloc_topology_init(&topo) != 0 || hwloc_topology_load(topo) != 0) {
		snprintf(why, sizeof why, "hwloc topology failed: %s",
		         strerror(errno));
		goto out;
	}
	ncores = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
	workers = hwloc_bitmap_alloc();
	if (ncores <= 0 || !workers) {
		snprintf(why, sizeof why, "hwloc found no cores");
		goto out;
	}
	for (int t = 1; t < pool->nthreads; t++) {
		hwloc_obj_t core = hwloc_get_obj_by_type(
		    topo, HWLOC_OBJ_CORE, (unsigned)(t % ncores));
		if (!core || !core->cpuset ||
		    hwloc_set_thread_cpubind(topo, pool->threads[t],
		                             core->cpuset, 0) != 0) {
			if (!failed)
				snprintf(
				    why, sizeof why,
				    "hwloc_set_thread_cpubind to core %d: %s",
				    t % ncores, strerror(errno));
			failed++;
			continue;
		}
		hwloc_bitmap_or(workers, workers, core->cpuset);
		used++;
	}
	if (failed && used == 0)
		goto out;
	core0 = hwloc_get_obj_by_type(topo, HWLOC_OBJ_CORE, 0);
	if (!failed && pool->nthreads <= ncores && core0 && core0->cpuset &&
	    !hwloc_bitmap_intersects(core0->cpuset, workers)) {
		pool->topo = topo;
		pool->worker_cpus = workers;
		pool->home = core0->cpuset; /* owned by topo */
		topo = NULL;
		workers = NULL;
	}
	snprintf(pool->desc, sizeof pool->desc,
	         "%d worker%s pinned round-robin to %d core%s%s; caller %s",
	         used, used == 1 ? "" : "s", ncores, ncores == 1 ? "" : "s",
	         failed ? " (others failed)" : "",
	         pool->home ? "kept off their cores" : "unpinned");
	if (failed)
		cairn_warn("cpu pool: could not pin %d of %d worker threads "
		           "(%s); running with them unpinned",
		           failed, pool->nthreads - 1, why);
out:
	if (why[0] && used == 0) {
		snprintf(pool->desc, sizeof pool->desc, "not pinned: %s", why);
		cairn_warn("cpu pool: threads not pinned (%s); running "
		           "unpinned",
		           why);
	}
	if (workers)
		hwloc_bitmap_free(workers);
	if (topo)
		hwloc_topology_destroy(topo);
}

/* Moves the calling thread off the workers' cores when the OS has put it
 * on one: a pinned worker and the caller sharing a core take turns while
 * another core idles, and the OS's balancer is slow to part them (a
 * running thread looks cache-hot).  The caller is bound to core 0 just
 * long enough to migrate, then gets its own binding back, so it is not
 * left pinned (threads it creates later inherit its binding).  Costs one
 * sched_getcpu per run, and a few syscalls when it acts. */
static void pool_steer_caller(struct cairn_pool *pool)
{
	hwloc_bitmap_t mine;
	int cpu;

	if (!pool->home)
		return;
	cpu = sched_getcpu();
	if (cpu < 0 || !hwloc_bitmap_isset(pool->worker_cpus, (unsigned)cpu))
		return;
	mine = hwloc_bitmap_alloc();
	if (!mine)
		return;
	if (hwloc_get_cpubind(pool->topo, mine, HWLOC_CPUBIND_THREAD) == 0 &&
	    hwloc_set_cpubind(pool->topo, pool->home, HWLOC_CPUBIND_THREAD) ==
	        0)
		hwloc_set_cpubind(pool->topo, mine, HWLOC_CPUBIND_THREAD);
	hwloc_bitmap_free(mine);
}

/* Creates a pool of nthreads (>= 1) threads.  On success *out is owned by
 * the caller, freed by cairn__pool_destroy.  On failure nothing is left
 * behind.  Returns 0, CAIRN_EINVAL or CAIRN_ENOMEM. */
int cairn__pool_create(int nthreads, int pin, struct cairn_pool **out)
{
	struct cairn_pool *pool = NULL;
	sigset_t all, old;
	long ncpu;
	int rc = 0, sigs_blocked = 0;
	size_t size;

	if (!out || nthreads < 1 || nthreads > 4096)
		return CAIRN_EINVAL;
	*out = NULL;
	size = (sizeof *pool + POOL_CACHELINE - 1) / POOL_CACHELINE *
	       POOL_CACHELINE;
	pool = aligned_alloc(POOL_CACHELINE, size);
	if (!pool)
		return CAIRN_ENOMEM;
	memset(pool, 0, size);
	atomic_init(&pool->gen, 0);
	atomic_init(&pool->stop, 0);
	atomic_init(&pool->pending, 0);
	atomic_init(&pool->sleepers, 0);
	atomic_init(&pool->caller_sleeping, 0);
	pool->nthreads = nthreads;
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	/* Spinning only helps when every thread has a cpu of its own. */
	pool->spin = ncpu <= 0 || nthreads <= ncpu;
	pool->threads = calloc((size_t)nthreads, sizeof *pool->threads);
	if (!pool->threads) {
		free(pool);
		return CAIRN_ENOMEM;
	}
	pthread_mutex_init(&pool->mu, NULL);
	pthread_cond_init(&pool->wake, NULL);
	pthread_cond_init(&pool->finished, NULL);

	/* Workers take no signals: they belong to the application. */
	sigfillset(&all);
	if (pthread_sigmask(SIG_SETMASK, &all, &old) == 0)
		sigs_blocked = 1;
	for (int t = 1; t < nthreads; t++) {
		struct pool_worker_arg *wa = malloc(sizeof *wa);
		char name[16];
		int err;

		if (!wa) {
			rc = CAIRN_ENOMEM;
			break;
		}
		wa->pool = pool;
		wa->tid = t;
		err = pthread_create(&pool->threads[t], NULL, pool_worker_main,
		                     wa);
		if (err) {
			free(wa);
			cairn_error("cpu pool: cannot start thread %d of %d: "
			            "%s; try fewer threads",
			            t + 1, nthreads, strerror(err));
			rc = err == EAGAIN ? CAIRN_ENOMEM : CAIRN_EINTERNAL;
			break;
		}
		snprintf(name, sizeof name, "cairn-cpu-%d", t);
		pthread_setname_np(pool->threads[t], name);
		pool->started = t;
	}
	if (sigs_blocked)
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		cairn__pool_destroy(pool);
		return rc;
	}
	if (pin)
		pool_pin(pool);
	else
		snprintf(pool->desc, sizeof pool->desc,
		         "not pinned: pinning turned off");
	*out = pool;
	return 0;
}

/* Stops and joins the workers, then frees the pool.  NULL is a no-op. */
void cairn__pool_destroy(struct cairn_pool *pool)
{
	if (!pool)
		return;
	if (pool->started > 0) {
		atomic_store(&pool->stop, 1);
		pool_kick(pool);
		/* pool_kick may race with a worker just going to sleep; the
		 * broadcast under the mutex below settles it. */
		pthread_mutex_lock(&pool->mu);
		pthread_cond_broadcast(&pool->wake);
		pthread_mutex_unlock(&pool->mu);
		for (int t = 1; t <= pool->started; t++)
			pthread_join(pool->threads[t], NULL);
	}
	if (pool->worker_cpus)
		hwloc_bitmap_free(pool->worker_cpus);
	if (pool->topo)
		hwloc_topology_destroy(pool->topo);
	pthread_cond_destroy(&pool->finished);
	pthread_cond_destroy(&pool->wake);
	pthread_mutex_destroy(&pool->mu);
	free(pool->threads);
	free(pool);
}

/* Runs fn(arg, tid, n) on every thread, tid 0 on the caller; returns when
 * all have returned.  Not reentrant. */
void cairn__pool_run(struct cairn_pool *pool, cairn_pool_fn fn, void *arg)
{
	long long t0;
	int n = pool->nthreads;

	if (n == 1) {
		fn(arg, 0, 1);
		return;
	}
	pool_steer_caller(pool);
	pool->fn = fn;
	pool->arg = arg;
	atomic_store_explicit(&pool->pending, n - 1, memory_order_relaxed);
	pool_kick(pool); /* seq_cst: publishes fn, arg and pending */
	fn(arg, 0, n);

	/* Wait for the workers: spin (yielding), then sleep. */
	t0 = pool_now_ns();
	for (unsigned i = 1;
	     atomic_load_explicit(&pool->pending, memory_order_acquire); i++) {
		pool_relax(i);
		if ((i & 255) == 0 && pool_now_ns() - t0 > POOL_WAIT_SPIN_NS)
			break;
	}
	if (atomic_load(&pool->pending)) {
		pthread_mutex_lock(&pool->mu);
		atomic_store(&pool->caller_sleeping, 1);
		while (atomic_load(&pool->pending))
			pthread_cond_wait(&pool->finished, &pool->mu);
		atomic_store(&pool->caller_sleeping, 0);
		pthread_mutex_unlock(&pool->mu);
	}
}

/* Threads the pool computes with, the caller included. */
int cairn__pool_threads(const struct cairn_pool *pool)
{
	return pool ? pool->nthreads : 1;
}

/* One line about pinning; storage lives in the pool. */
const char *cairn__pool_describe(const struct cairn_pool *pool)
{
	return pool ? pool->desc : "no pool";
}
