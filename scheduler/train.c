/* cairn: `cairn train`, a whole job in one process.
 *
 * The scheduler's round loop with its tasks run in place: for each round r,
 * the K tasks of H inner steps each run from W_r (attest/task.c, which
 * commits their traces), the outer step makes W_{r+1} (scheduler/outer.c),
 * and the test split measures the accuracy.  With --bundle-dir each task
 * leaves a signed result bundle (attest/bundle.c), exactly what a worker
 * would return for it.
 *
 * Output: a terminal gets a progress line on stderr (round, task, step,
 * loss, samples/s); the per-round lines go to stdout, or to stderr under
 * --json, where stdout gets one JSON object.
 *
 * Ownership: everything opened here (backend, datasets, model, outer state,
 * identity, bundle) is owned by cairn_cmd_train's frame and released at
 * `out` on every path. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cairn/bundle.h"
#include "cairn/cli.h"
#include "cairn/error.h"
#include "cairn/identity.h"
#include "cairn/kernels.h"
#include "cairn/log.h"
#include "cairn/model.h"
#include "cairn/outer.h"
#include "cairn/task.h"
#include "cairn/text.h"
#include "train_impl.h"

/* SIGINT or SIGTERM, once either came (0 before): the job stops at the
 * running task's next checkpoint and still finishes the tasks that ran.
 * The handler is installed with SA_RESETHAND, so a second signal kills. */
static volatile sig_atomic_t g_stop_signal;

static void on_stop_signal(int sig)
{
	g_stop_signal = sig;
}

static float bits_f32(uint32_t u)
{
	float f;
	memcpy(&f, &u, 4);
	return f;
}

/* What the checkpoint callback needs: progress, and the bundle. */
struct progress {
	int tty;
	int late; /* the task's last roots, collected after another task
	           * ran: no progress line */
	long long round, rounds, task, tasks, inner, batch;
	double t0;                   /* start of this task */
	struct cairn_bundle *bundle; /* NULL without --bundle-dir */
	/* the background committer (NULL: sync commits): a checkpoint
	 * without the model is read from its snapshot */
	cairn_committer *committer;
};

static int on_checkpoint(void *ud, const struct cairn_state *st,
                         const uint8_t root[CAIRN_HASH_BYTES], cairn_model *m)
{
	struct progress *p = ud;
	/* stop the running task; a finished one's late checkpoints go on */
	if (g_stop_signal && !p->late)
		return CAIRN_ECANCELED;
	if (p->tty && !p->late && st->step > 0) {
		double dt = cairn_clock_seconds() - p->t0;
		fprintf(stderr,
		        "\rround %lld/%lld  task %lld/%lld  step %4" PRIu64
		        "/%lld  loss %.4f  %.0f samples/s   ",
		        p->round + 1, p->rounds, p->task + 1, p->tasks,
		        st->step, p->inner, (double)bits_f32(st->loss_bits),
		        dt > 0 ? (double)st->step * (double)p->batch / dt
		               : 0.0);
		fflush(stderr);
	}
	if (p->bundle) {
		struct cairn_bundle_bg bg = {p->bundle, p->committer};
		return cairn_bundle_checkpoint_bg(&bg, st, root, m);
	}
	return 0;
}

/* Where cairn_cmd_train's wall time goes. */
struct train_times {
	double train;    /* running tasks, waits for their roots included */
	double hash;     /* of which commitments (struct cairn_task_trace) */
	double parts[7]; /* t0, records, checkpoints, end, digests, collect,
	                  * deferred */
	double bundle;   /* finishing and writing bundles */
};

/* One task in flight.  With background commits a task's last state may
 * still be hashing when cairn_task_run returns (tr.defer_end): the next
 * task then runs on the other slot's committer, and this one is finished
 * (cairn_task_finish, then its bundle written) after that, so the wait
 * for its last roots hides behind the next task's steps.  Everything
 * here is owned by the slot (slot_free). */
struct task_slot {
	struct cairn_task_spec spec; /* the task's */
	struct cairn_task_trace tr;  /* its buffers: state_roots, losses,
	                              * steps */
	struct cairn_bundle bundle;  /* with --bundle-dir */
	struct progress prog;
	cairn_committer *committer; /* NULL: sync commits */
	int busy;                   /* run, not yet finished */
};

static void slot_free(struct task_slot *sl)
{
	cairn_bundle_free(&sl->bundle);
	cairn_committer_close(sl->committer);
	free(sl->tr.state_roots);
	free(sl->tr.losses);
	free(sl->tr.steps);
	memset(sl, 0, sizeof *sl);
}

/* The path of spec's bundle under o->bundle_dir into path[PATH_MAX].  0, or
 * the exit status after printing why. */
static int bundle_path(const struct cairn_task_spec *spec,
                       const struct cairn__train_opts *o, char path[PATH_MAX])
{
	char name[256];
	int rc = cairn_bundle_filename(spec, name, sizeof name);

	if (rc) {
		cairn_eprint("cairn train: round %" PRIu32 " task %" PRIu32
		             ": its bundle's name: %s\n",
		             spec->round, spec->task, cairn_strerror(rc));
		return 1;
	}
	if ((size_t)snprintf(path, PATH_MAX, "%s/%s", o->bundle_dir, name) >=
	    PATH_MAX) {
		cairn_eprint(
		    "cairn train: --bundle-dir %s is too long a path\n",
		    o->bundle_dir);
		return 2;
	}
	return 0;
}

/* Finishes the slot's task when one is run and not finished: its last
 * roots (when pending), its timings into tm, and with --bundle-dir its
 * bundle signed and written.  0, or the exit status after printing why
 * (1 failure, 2 bad usage). */
static int slot_finish(struct task_slot *sl, const struct cairn__train_opts *o,
                       const struct cairn_identity *id, const char *devname,
                       struct train_times *tm)
{
	char err[8192], path[PATH_MAX];
	double t0;
	int rc = 0;

	if (!sl->busy)
		return 0;
	sl->busy = 0;
	if (sl->tr.pending) {
		t0 = cairn_clock_seconds();
		sl->prog.late = 1;
		rc = cairn_task_finish(&sl->tr, &sl->spec, on_checkpoint,
		                       &sl->prog, err, sizeof err);
		tm->train += cairn_clock_seconds() - t0;
		if (rc) {
			cairn_eprint("cairn train: round %" PRIu32
			             " task %" PRIu32 ": %s\n",
			             sl->spec.round, sl->spec.task, err);
			return 1;
		}
	}
	tm->hash += sl->tr.hash_seconds;
	tm->parts[0] += sl->tr.commit.t0_seconds;
	tm->parts[1] += sl->tr.commit.records_seconds;
	tm->parts[2] += sl->tr.commit.checkpoint_seconds;
	tm->parts[3] += sl->tr.commit.end_seconds;
	tm->parts[4] += sl->tr.commit.digest_seconds;
	tm->parts[5] += sl->tr.commit.collect_seconds;
	tm->parts[6] += sl->tr.commit.deferred_seconds;
	if (!o->bundle_dir)
		return 0;
	t0 = cairn_clock_seconds();
	rc = cairn_bundle_finish(&sl->bundle, &sl->tr, id, devname);
	if (rc) {
		cairn_eprint("cairn train: round %" PRIu32 " task %" PRIu32
		             ": its bundle: %s\n",
		             sl->spec.round, sl->spec.task, cairn_strerror(rc));
		return 1;
	}
	rc = bundle_path(&sl->spec, o, path);
	if (rc)
		return rc;
	rc = cairn_bundle_write(&sl->bundle, path, err, sizeof err);
	cairn_bundle_free(&sl->bundle);
	tm->bundle += cairn_clock_seconds() - t0;
	if (rc) {
		cairn_eprint("cairn train: %s\n", err);
		return 1;
	}
	return 0;
}

/* A fraction as JSON: "%.4f", or null when not measured (< 0). */
static const char *json_frac(double x, char buf[32])
{
	if (x < 0)
		return "null";
	snprintf(buf, 32, "%.4f", x);
	return buf;
}

/* Per-round figures kept for the JSON. */
struct round_out {
	double loss;     /* mean of the round's K * H inner losses */
	double accuracy; /* test accuracy of W_{r+1} */
	char root[CAIRN_HASH_HEX_BYTES];
};

int cairn_cmd_train(int argc, char **argv)
{
	struct cairn__train_opts o;
	cairn_backend_opts bo;
	cairn_backend *be = NULL; /* device 0; with --gpus, gpus[0] */
	cairn_backend *gpus[CAIRN_MODEL_MAX_DEVICES] = {0};
	int nopen = 0;
	int data_on_device = 0; /* the training set on the GPU */
	cairn_dataset *train = NULL, *test = NULL;
	cairn_dataset test_view;
	cairn_model *m = NULL;
	cairn_outer *outer = NULL;
	struct cairn_identity id;
	int have_id = 0;
	struct cairn_task_spec spec;
	/* two with background commits (struct task_slot), else one */
	struct task_slot slots[2];
	int nslots = 1, cur = 0;
	cairn_committer *committer = NULL; /* slots[0]'s, once there */
	struct round_out *rounds = NULL;
	struct train_times tm;
	uint8_t ds_root[CAIRN_HASH_BYTES], final_root[CAIRN_HASH_BYTES];
	char hex[CAIRN_HASH_HEX_BYTES], err[8192];
	float *w = NULL;
	FILE *lines;
	double t_eval = 0.0;
	double t_start = cairn_clock_seconds();
	struct sigaction old_int, old_term; /* restored at out */
	int have_sig = 0;
	int64_t n, correct = 0;
	int rc, ex = 1;

	memset(slots, 0, sizeof slots);
	memset(&tm, 0, sizeof tm);
	memset(&id, 0, sizeof id);
	rc = cairn__train_parse(argc, argv, &o);
	if (rc)
		return rc == 1 ? 0 : 2;
	lines = o.json ? stderr : stdout;

	/* Everything that can be wrong with the input, before any work. */
	if (o.bundle_dir) {
		struct stat sb;
		if (stat(o.bundle_dir, &sb) || !S_ISDIR(sb.st_mode)) {
			cairn_eprint("cairn train: --bundle-dir %s is not a "
			             "directory; create it first\n",
			             o.bundle_dir);
			return 2;
		}
		if (access(o.bundle_dir, W_OK | X_OK)) {
			cairn_eprint("cairn train: --bundle-dir %s: cannot "
			             "write there (%s); choose a directory "
			             "this user can write\n",
			             o.bundle_dir, strerror(errno));
			return 2;
		}
		rc = cairn_identity_load(&id, o.key, err, sizeof err);
		if (rc) {
			cairn_eprint("cairn train: %s\n", err);
			return 2;
		}
		have_id = 1;
	}
	rc = cairn_dataset_open(o.data, "train", &train, err, sizeof err);
	if (!rc && o.test_samples != 0) /* 0: no accuracy, no test split */
		rc = cairn_dataset_open(o.data, "test", &test, err, sizeof err);
	if (rc) {
		cairn_eprint("cairn train: %s\n", err);
		ex = 2;
		goto out;
	}
	rc = cairn_dataset_root(train, ds_root);
	if (rc)
		goto fail;
	/* The first N test samples: a view of the split (pointers borrowed);
	 * none without it. */
	memset(&test_view, 0, sizeof test_view);
	if (test)
		test_view = *test;
	if (test && o.test_samples >= 0 &&
	    o.test_samples < (long long)test->count)
		test_view.count = (uint32_t)o.test_samples;

	memset(&bo, 0, sizeof bo);
	bo.threads = (int)o.threads;
	if (o.gpus) {
		/* Every GPU named (or all usable ones), device 0 first. */
		char why[256] = "";
		int usable = cairn_cuda_probe(why, sizeof why);
		if (!strcmp(o.gpus, "all")) {
			int k = usable < CAIRN_MODEL_MAX_DEVICES
			            ? usable
			            : CAIRN_MODEL_MAX_DEVICES;
			for (int i = 0; i < k; i++)
				o.gpu[i] = i;
			o.ngpus = k > 0 ? k : 0;
		}
		if (usable <= 0) {
			cairn_eprint(
			    "cairn train: --gpus %s: no usable GPU (%s); "
			    "leave out --gpus to train on the CPU\n",
			    o.gpus, why);
			goto out;
		}
		for (int i = 0; i < o.ngpus; i++) {
			bo.device = o.gpu[i];
			rc = cairn_backend_open(CAIRN_BACKEND_CUDA, &bo,
			                        &gpus[i]);
			if (rc) {
				cairn_eprint(
				    "cairn train: --gpus %s: cannot open GPU "
				    "%d (%d usable): %s\n",
				    o.gpus, o.gpu[i], usable,
				    cairn_strerror(rc));
				goto out;
			}
			nopen = i + 1;
		}
		be = gpus[0];
	} else {
		rc = cairn_backend_open_auto(o.device, &bo, &be);
		if (rc) {
			cairn_eprint(
			    "cairn train: cannot open the %s device: %s\n",
			    o.device ? o.device : "default",
			    cairn_strerror(rc));
			ex = rc == CAIRN_EINVAL ? 2 : 1;
			goto out;
		}
	}

	/* The spec's constant part; round, task and W_r change below. */
	memset(&spec, 0, sizeof spec);
	strcpy(spec.profile, CAIRN_PROFILE_EXACT);
	strcpy(spec.job, o.job);
	spec.seed = o.seed;
	spec.tasks = (uint32_t)o.tasks;
	cairn_mlp_spec_reference(&spec.model);
	if (o.optimizer == CAIRN_OPTIM_SGD) {
		cairn_optim_sgd(&spec.opt, o.lr);
		spec.opt.sgd.momentum = o.momentum;
	} else {
		cairn_optim_defaults(&spec.opt);
		spec.opt.adamw.lr = o.lr;
		spec.opt.adamw.step = 0;
	}
	memcpy(spec.dataset_root, ds_root, sizeof ds_root);
	spec.dataset_count = train->count;
	spec.batch = (uint32_t)o.batch;
	spec.micro = (uint32_t)o.micro;
	spec.inner_steps = (uint32_t)o.inner;
	spec.checkpoint_every = (uint32_t)o.ckpt;
	if (o.rounds > CAIRN_SAMPLE_ROUND_LIMIT)
		o.rounds = CAIRN_SAMPLE_ROUND_LIMIT;
	if (cairn_task_spec_check(&spec, err, sizeof err)) {
		cairn_eprint("cairn train: %s\n", err);
		ex = 2;
		goto out;
	}

	if (o.gpus)
		rc = cairn_model_create_multi(gpus, nopen, &spec.model,
		                              (int64_t)o.batch, (int)o.micro,
		                              &m);
	else
		rc = cairn_model_create(be, &spec.model, (int64_t)o.batch,
		                        (int)o.micro, &m);
	if (rc)
		goto fail;
	n = cairn_model_param_count(m);
	/* Background commits (task.h): on a GPU they hide the hashing
	 * behind training; a bundle reads those checkpoints' tensors from
	 * the committer's snapshot. */
	if (o.commits ? !strcmp(o.commits, "background")
	              : cairn_backend_get_kind(cairn_model_backend(m)) ==
	                    CAIRN_BACKEND_CUDA) {
		/* two: the next task's states hash on the second while the
		 * last state of the one before is still hashing on the
		 * first */
		rc = cairn_committer_open(cairn_model_backend(m), n,
		                          &slots[0].committer);
		if (!rc)
			rc = cairn_committer_open(cairn_model_backend(m), n,
			                          &slots[1].committer);
		if (rc) {
			cairn_committer_close(slots[0].committer);
			cairn_committer_close(slots[1].committer);
			slots[0].committer = slots[1].committer = NULL;
		} else {
			nslots = 2;
			committer = slots[0].committer;
		}
		if (rc && o.commits) { /* asked for: an error */
			cairn_eprint("cairn train: --commits background: the "
			             "background committer: %s\n",
			             cairn_strerror(rc));
			goto fail;
		}
		if (rc) /* auto: the same roots, synchronously */
			cairn_warn("background commits unavailable (%s): "
			           "committing each checkpoint where it falls",
			           cairn_strerror(rc));
		rc = 0;
	}
	data_on_device = cairn_model_use_device_data(m, train, ds_root);
	w = malloc((size_t)n * sizeof *w);
	rounds = calloc((size_t)o.rounds, sizeof *rounds);
	if (!w || !rounds) {
		rc = CAIRN_ENOMEM;
		goto fail;
	}
	for (int i = 0; i < nslots; i++) {
		struct task_slot *sl = &slots[i];
		sl->tr.committer = sl->committer;
		sl->tr.defer_end = sl->committer != NULL;
		sl->tr.state_roots = malloc(
		    (size_t)cairn_task_state_count(&spec) * CAIRN_HASH_BYTES);
		sl->tr.losses = malloc((size_t)o.inner * sizeof(float));
		sl->tr.steps =
		    malloc((size_t)o.inner * CAIRN_STEP_RECORD_BYTES);
		if (!sl->tr.state_roots || !sl->tr.losses || !sl->tr.steps) {
			rc = CAIRN_ENOMEM;
			goto fail;
		}
		sl->prog.tty = isatty(2);
		sl->prog.rounds = o.rounds;
		sl->prog.tasks = o.tasks;
		sl->prog.inner = o.inner;
		sl->prog.batch = o.batch;
		sl->prog.committer = sl->committer;
	}
	rc = cairn_model_init(m, o.seed);
	if (!rc)
		rc = cairn_model_read(m, CAIRN_MODEL_PARAMS, w);
	if (!rc)
		rc = cairn_outer_create(be, n, o.outer_lr, o.outer_mom, w,
		                        &outer);
	if (rc)
		goto fail;

	fprintf(lines,
	        "cairn train: %s on %s%s (%s), %lld round(s) x %lld task(s) x "
	        "%lld steps of %lld\n",
	        o.job, cairn_backend_name(be),
	        nopen > 1 ? " (each step shared by the GPUs named)" : "",
	        cairn_backend_describe(be), o.rounds, o.tasks, o.inner,
	        o.batch);
	if (o.optimizer == CAIRN_OPTIM_SGD && o.momentum > 0.0f)
		fprintf(lines,
		        "cairn train: inner SGD lr %g with Nesterov momentum "
		        "%g, outer Nesterov lr %g momentum %g\n",
		        (double)o.lr, (double)o.momentum, (double)o.outer_lr,
		        (double)o.outer_mom);
	else
		fprintf(lines,
		        "cairn train: inner %s lr %g, outer Nesterov lr %g "
		        "momentum %g\n",
		        o.optimizer == CAIRN_OPTIM_SGD ? "SGD" : "AdamW",
		        (double)o.lr, (double)o.outer_lr, (double)o.outer_mom);
	if (nopen > 1)
		fprintf(lines,
		        "cairn train: gradients move between the %d GPUs "
		        "with %s\n",
		        nopen, cairn_model_transport(m));

	/* w holds W_r on the host through the loop: W_0 here, then each
	 * round's outer step reads W_{r+1} back and roots it once, for the
	 * round's line and as the next round's spec. */
	rc = cairn_tensor_root(w, (size_t)n * sizeof *w, spec.params_root);
	if (rc)
		goto fail;
	{ /* from here a Ctrl-C stops at a checkpoint and keeps what ran */
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_stop_signal;
		sigemptyset(&sa.sa_mask);
		sa.sa_flags = SA_RESETHAND;
		g_stop_signal = 0;
		have_sig = !sigaction(SIGINT, &sa, &old_int) &&
		           !sigaction(SIGTERM, &sa, &old_term);
	}
	for (long long r = 0; r < o.rounds; r++) {
		double loss_sum = 0.0, t0;
		spec.round = (uint32_t)r;
		for (long long k = 0; k < o.tasks; k++) {
			/* the slot's last task (nslots back) first */
			struct task_slot *sl = &slots[cur];
			ex = slot_finish(sl, &o, &id, cairn_backend_name(be),
			                 &tm);
			if (ex)
				goto out;
			ex = 1;
			if (g_stop_signal)
				goto out; /* no new task once asked to stop */
			spec.task = (uint32_t)k;
			sl->spec = spec;
			sl->prog.round = r;
			sl->prog.task = k;
			sl->prog.late = 0;
			sl->prog.bundle = NULL;
			if (o.bundle_dir) {
				/* a bundle that could not be written is
				 * refused before its task runs, not after */
				char path[PATH_MAX];
				/* with two slots, the other's task (the
				 * one before) writes its bundle first */
				const struct task_slot *prev =
				    &slots[(cur + 1) % nslots];
				ex = bundle_path(&spec, &o, path);
				if (ex)
					goto out;
				ex = 1;
				if (cairn_bundle_path_check(path, err,
				                            sizeof err)) {
					cairn_eprint("cairn train: %s\n", err);
					goto out;
				}
				/* the checkpoints wait in a file under the
				 * bundle directory, not in memory */
				rc = cairn_bundle_begin(&sl->bundle, &spec);
				if (rc)
					goto fail;
				rc = cairn_bundle_spool(
				    &sl->bundle, o.bundle_dir,
				    prev != sl && prev->busy
				        ? cairn_bundle_file_bytes(&prev->bundle)
				        : 0,
				    err, sizeof err);
				if (rc) {
					cairn_eprint(
					    "cairn train: --bundle-dir: "
					    "%s\n",
					    err);
					goto out;
				}
				sl->prog.bundle = &sl->bundle;
			}
			t0 = cairn_clock_seconds();
			sl->prog.t0 = t0;
			rc = cairn_task_run(m, &spec, train, ds_root, w,
			                    &sl->tr, on_checkpoint, &sl->prog,
			                    err, sizeof err);
			tm.train += cairn_clock_seconds() - t0;
			if (rc) {
				if (sl->prog.tty)
					fputc('\n', stderr);
				if (rc != CAIRN_ECANCELED || !g_stop_signal)
					cairn_eprint(
					    "cairn train: round %lld task "
					    "%lld: %s\n",
					    r, k, err);
				goto out;
			}
			sl->busy = 1;
			for (long long t = 0; t < o.inner; t++)
				loss_sum += (double)sl->tr.losses[t];
			rc = cairn_outer_add(
			    outer, (uint32_t)k,
			    cairn_model_buffer(m, CAIRN_MODEL_PARAMS));
			if (rc)
				goto fail;
			if (!sl->tr.pending) { /* sync: done now */
				ex = slot_finish(sl, &o, &id,
				                 cairn_backend_name(be), &tm);
				if (ex)
					goto out;
				ex = 1;
			}
			cur = (cur + 1) % nslots;
		}
		rc = cairn_outer_step(outer);
		if (!rc)
			rc = cairn_outer_read(outer, w, NULL);
		if (!rc)
			rc = cairn_tensor_root(w, (size_t)n * sizeof *w,
			                       final_root);
		if (rc)
			goto fail;
		memcpy(spec.params_root, final_root, sizeof final_root);
		rounds[r].accuracy = -1.0; /* not measured */
		if (test_view.count) {
			t0 = cairn_clock_seconds();
			rc = cairn_model_write(m, CAIRN_MODEL_PARAMS, w);
			if (!rc)
				rc = cairn_model_evaluate_dataset(m, &test_view,
				                                  &correct);
			t_eval += cairn_clock_seconds() - t0;
			if (rc)
				goto fail;
			rounds[r].accuracy =
			    (double)correct / (double)test_view.count;
		}
		rounds[r].loss = loss_sum / (double)(o.tasks * o.inner);
		cairn_hash_to_hex(final_root, rounds[r].root);
		if (slots[0].prog.tty)
			fputc('\n', stderr);
		{
			char acc[32] = "not measured";
			if (rounds[r].accuracy >= 0)
				snprintf(acc, sizeof acc, "%.2f%%",
				         100.0 * rounds[r].accuracy);
			fprintf(
			    lines,
			    "round %lld/%lld  loss %.4f  test accuracy %s  "
			    "%.0f samples/s  W_%lld %.16s\n",
			    r + 1, o.rounds, rounds[r].loss, acc,
			    (double)((r + 1) * o.tasks * o.inner * o.batch) /
			        tm.train,
			    r + 1, rounds[r].root);
		}
		fflush(lines);
	}
	/* the tasks still in flight, the older first */
	for (int i = 0; i < nslots; i++) {
		ex = slot_finish(&slots[(cur + i) % nslots], &o, &id,
		                 cairn_backend_name(be), &tm);
		if (ex)
			goto out;
	}
	ex = 1;

	cairn_hash_to_hex(final_root, hex);
	{
		double sps =
		    (double)(o.rounds * o.tasks * o.inner * o.batch) / tm.train;
		double acc = rounds[o.rounds - 1].accuracy;
		/* on a GPU the digests and deferred collects run while the
		 * device computes a step: not counted (cairn_task_run) */
		const char *counted =
		    cairn_backend_get_kind(be) == CAIRN_BACKEND_CUDA ? "false"
		                                                     : "true";
		char jb[32], mom[32];
		if (o.json) {
			/* SGD's momentum; AdamW has betas, not this */
			snprintf(mom, sizeof mom, "%.9g", (double)o.momentum);
			printf("{\"job\":\"%s\",\"profile\":\"%s\","
			       "\"device\":\"%s\",\"device_desc\":\"%s\","
			       "\"threads\":%d,\"seed\":%" PRIu64 ","
			       "\"rounds\":%lld,\"tasks\":%lld,"
			       "\"inner_steps\":%lld,\"checkpoint_every\":%lld,"
			       "\"batch\":%lld,\"micro\":%lld,"
			       "\"devices\":%d,\"transport\":\"%s\","
			       "\"optimizer\":\"%s\",\"lr\":%.9g,"
			       "\"momentum\":%s,\"outer_lr\":%.9g,"
			       "\"outer_momentum\":%.9g,",
			       o.job, CAIRN_PROFILE_EXACT,
			       cairn_backend_name(be),
			       cairn_backend_describe(be),
			       cairn_backend_threads(be), o.seed, o.rounds,
			       o.tasks, o.inner, o.ckpt, o.batch, o.micro,
			       cairn_model_devices(m), cairn_model_transport(m),
			       cairn_optim_name(o.optimizer), (double)o.lr,
			       o.optimizer == CAIRN_OPTIM_SGD ? mom : "null",
			       (double)o.outer_lr, (double)o.outer_mom);
			cairn_hash_to_hex(ds_root, hex);
			printf("\"dataset_root\":\"%s\",", hex);
			cairn_hash_to_hex(final_root, hex);
			printf("\"final_model_root\":\"%s\","
			       "\"test_accuracy\":%s,"
			       "\"test_samples\":%u,"
			       "\"samples_per_second\":%.1f,"
			       "\"train_seconds\":%.3f,"
			       "\"commitment_seconds\":%.3f,"
			       "\"commitment_fraction\":%.4f,"
			       "\"commitment_parts\":{\"t0\":%.4f,"
			       "\"records\":%.4f,\"checkpoints\":%.4f,"
			       "\"end\":%.4f,\"digests\":%.4f,"
			       "\"collect\":%.4f,\"deferred\":%.4f,"
			       "\"digests_counted\":%s,"
			       "\"deferred_counted\":%s},"
			       "\"commits\":\"%s\","
			       "\"data_on_device\":%s,"
			       "\"bundle_seconds\":%.3f,"
			       "\"eval_seconds\":%.3f,"
			       "\"wall_seconds\":%.3f,\"per_round\":[",
			       hex, json_frac(acc, jb), test_view.count, sps,
			       tm.train, tm.hash,
			       tm.train > 0 ? tm.hash / tm.train : 0.0,
			       tm.parts[0], tm.parts[1], tm.parts[2],
			       tm.parts[3], tm.parts[4], tm.parts[5],
			       tm.parts[6], counted, counted,
			       committer ? "background" : "sync",
			       data_on_device ? "true" : "false", tm.bundle,
			       t_eval, cairn_clock_seconds() - t_start);
			for (long long r = 0; r < o.rounds; r++)
				printf("%s{\"round\":%lld,\"loss\":%.6f,"
				       "\"test_accuracy\":%s,"
				       "\"model_root\":\"%s\"}",
				       r ? "," : "", r, rounds[r].loss,
				       json_frac(rounds[r].accuracy, jb),
				       rounds[r].root);
			printf("]}\n");
		} else {
			if (acc >= 0)
				printf("test accuracy    %.2f%% (%u test "
				       "samples)\n",
				       100.0 * acc, test_view.count);
			printf(
			    "final model root %s\n"
			    "samples/s        %.0f (training %.1f s, of which "
			    "commitments %.2f s = %.2f%%%s)\n",
			    hex, sps, tm.train, tm.hash,
			    tm.train > 0 ? 100.0 * tm.hash / tm.train : 0.0,
			    committer ? ", in the background" : "");
		}
	}
	ex = 0;
	goto out;
fail:
	cairn_eprint("cairn train: %s\n", cairn_strerror(rc));
out:
	/* A failed job still finishes the tasks that ran (their bundles
	 * written), the older first: nothing done is lost. */
	if (ex) {
		int first = nslots == 2 && slots[1].busy &&
		            (!slots[0].busy ||
		             slots[1].spec.round < slots[0].spec.round ||
		             (slots[1].spec.round == slots[0].spec.round &&
		              slots[1].spec.task < slots[0].spec.task));
		for (int i = 0; i < nslots; i++)
			if (slots[(first + i) % nslots].busy)
				(void)slot_finish(&slots[(first + i) % nslots],
				                  &o, &id,
				                  cairn_backend_name(be), &tm);
	}
	if (have_sig) {
		if (ex && g_stop_signal) {
			cairn_eprint(
			    "cairn train: stopped by %s; the tasks that "
			    "ran were finished%s, the one running was "
			    "dropped\n",
			    g_stop_signal == SIGINT ? "SIGINT" : "SIGTERM",
			    o.bundle_dir ? " and their bundles written" : "");
			ex = 128 + g_stop_signal;
		}
		(void)sigaction(SIGINT, &old_int, NULL);
		(void)sigaction(SIGTERM, &old_term, NULL);
	}
	for (int i = 0; i < 2; i++)
		slot_free(&slots[i]);
	if (have_id)
		cairn_identity_wipe(&id);
	cairn_outer_free(outer);
	cairn_model_free(m);
	if (nopen)
		for (int i = 0; i < nopen; i++)
			cairn_backend_close(gpus[i]);
	else
		cairn_backend_close(be);
	cairn_dataset_close(train);
	cairn_dataset_close(test);
	free(w);
	free(rounds);
	return ex;
}
