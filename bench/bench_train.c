/* cairn: `cairn bench train`, samples per second of the reference job's
 * training step (fmnist-mlp: 784-1024-1024-10, ReLU, AdamW, batch 256).
 *
 * Each timed step does what a worker's step does: draw the step's sample
 * indices (Philox), gather the batch from Fashion-MNIST, upload it, run
 * forward, backward and AdamW, and read the loss back.  Warm-up steps first,
 * then the median step time.  bench/train_vs_pytorch.sh puts the figure
 * beside PyTorch's (bench/train_pytorch.py) on the same machine. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "cairn/dataset.h"
#include "cairn/error.h"
#include "cairn/kernels.h"
#include "cairn/log.h"
#include "cairn/model.h"
#include "cairn/task.h"
#include "cairn/text.h"

#define TRAIN_SEED CAIRN__BENCH_TRAIN_SEED
#define COMMIT_REPS 9
/* Background commits measured (on a GPU only: cairn train's default
 * there; on the CPU it commits where the checkpoint falls). */
#define BG_REPS 5

struct train_args {
	const char *device; /* NULL: CAIRN_DEVICE or auto */
	const char *data;   /* NULL: the Debian package's directory */
	long long threads, batch, micro, steps, warmup, ckpt;
	int json;
	int background; /* --background: also on the CPU */
};

static void train_usage(FILE *f)
{
	fprintf(f,
	        "usage: cairn bench train [OPTIONS]\n\n"
	        "Times the reference job's training step (784-1024-1024-10, "
	        "ReLU, AdamW,\nFashion-MNIST): sampling, gather, upload, "
	        "forward, backward, update.\n\n"
	        "options:\n"
	        "  --device D   auto (default), cpu or gpu\n"
	        "  --threads T  CPU threads (default: one per core)\n"
	        "  --batch B    rows per step (default 256)\n"
	        "  --micro M    micro-batches per step, dividing B (default "
	        "%d)\n"
	        "  --steps S    timed steps, median reported (default 40)\n"
	        "  --warmup W   untimed steps first (default 5)\n"
	        "  --checkpoint-every C\n"
	        "               steps per committed state, for the "
	        "commitment cost\n"
	        "               (default %d, the reference job's)\n"
	        "  --background time background commits too (always on a "
	        "GPU, where\n"
	        "               cairn train commits that way)\n"
	        "  --data DIR   Fashion-MNIST IDX files (default "
	        "/usr/share/datasets/fashion-mnist)\n"
	        "  --json       one JSON object on stdout\n"
	        "  -h, --help   this text\n\n"
	        "bench/train_vs_pytorch.sh runs this beside PyTorch.\n"
	        "exit status: 0 ok, 1 failure, 2 bad usage\n",
	        CAIRN_MODEL_REFERENCE_MICRO, CAIRN_REF_JOB_CHECKPOINT_EVERY);
}

/* 0, 1 after --help, or 2 after printing a usage error. */
static int train_parse(int argc, char **argv, struct train_args *t)
{
	const char *env;

	memset(t, 0, sizeof *t);
	t->batch = 256;
	t->micro = CAIRN_MODEL_REFERENCE_MICRO;
	t->steps = 40;
	t->warmup = 5;
	t->ckpt = CAIRN_REF_JOB_CHECKPOINT_EVERY;
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int rc = 0;

		if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
			train_usage(stdout);
			return 1;
		} else if (!strcmp(o, "--json")) {
			t->json = 1;
			continue;
		} else if (!strcmp(o, "--background")) {
			t->background = 1;
			continue;
		} else if (!strcmp(o, "--device") && v) {
			if (strcmp(v, "auto") && strcmp(v, "cpu") &&
			    strcmp(v, "gpu")) {
				cairn_eprint(
				    "cairn bench train: --device '%s': want "
				    "auto, cpu or gpu\n",
				    v);
				return 2;
			}
			t->device = v;
		} else if (!strcmp(o, "--data") && v) {
			t->data = v;
		} else if (!strcmp(o, "--threads")) {
			rc = cairn__bench_parse_int("train", o, v, 1, 1024,
			                            &t->threads);
		} else if (!strcmp(o, "--batch")) {
			rc = cairn__bench_parse_int("train", o, v, 1, 65536,
			                            &t->batch);
		} else if (!strcmp(o, "--micro")) {
			rc = cairn__bench_parse_int("train", o, v, 1, 65536,
			                            &t->micro);
		} else if (!strcmp(o, "--steps")) {
			rc = cairn__bench_parse_int("train", o, v, 1, 100000,
			                            &t->steps);
		} else if (!strcmp(o, "--checkpoint-every")) {
			rc = cairn__bench_parse_int("train", o, v, 1, 1000000,
			                            &t->ckpt);
		} else if (!strcmp(o, "--warmup")) {
			rc = cairn__bench_parse_int("train", o, v, 0, 100000,
			                            &t->warmup);
		} else {
			cairn_eprint(
			    "cairn bench train: unknown option '%s'%s; see "
			    "'cairn bench train --help'\n",
			    o, v ? "" : " (or a missing value)");
			return 2;
		}
		if (rc)
			return rc;
		i++;
	}
	if (t->batch % t->micro) {
		cairn_eprint(
		    "cairn bench train: --micro %lld does not divide --batch "
		    "%lld; choose a divisor\n",
		    t->micro, t->batch);
		return 2;
	}
	/* a bad CAIRN_DEVICE is refused here, where it came from named,
	 * before any work (the device is opened from it later) */
	if (!t->device && cairn__bench_parse_device("train", NULL, &env))
		return 2;
	return 0;
}

/* The tag the benchmark attaches its training set under (model.h): its
 * own loop, no task spec, so no dataset root to name. */
static const uint8_t bench_data_tag[32];

/* Step s's batch (0-based; sample indices of step number s + 1) into
 * slot s % 2: the indices, and the rows and labels unless the model holds
 * the training set (then its backend gathers them). */
static int train_prepare(const cairn_model *m, const cairn_dataset *ds,
                         int64_t b, long long s, uint32_t *idx[2], float *x[2],
                         int32_t *y[2])
{
	char err[8192] = "";
	int rc = cairn_sample_indices(TRAIN_SEED, 0, 0, (uint32_t)(s + 1),
	                              ds->count, b, idx[s % 2]);

	if (!rc && !cairn_model_has_data(m, ds, bench_data_tag))
		rc = cairn_dataset_gather(ds, idx[s % 2], (size_t)b, x[s % 2],
		                          y[s % 2], err, sizeof err);
	if (rc == CAIRN_ERANGE || rc == CAIRN_EINVAL)
		cairn_eprint("cairn bench train: step %lld: %s\n", s + 1,
		             err[0] ? err : cairn_strerror(rc));
	return rc;
}

/* Runs warmup + steps training steps as a task does (attest/task_run.c,
 * run_step, is the pipeline this mirrors; change the two together): each
 * step is begun, the next batch prepared while the device computes it,
 * then the step is ended.  With cm, the first step also collects cm's
 * oldest snapshot while the device computes it, as a task's step after a
 * checkpoint collects the state of the checkpoint before.  times[] gets
 * the timed ones, each from the end of the step before (or the start) to
 * its own end. */
static int train_run(cairn_model *m, const cairn_dataset *ds,
                     const struct train_args *t, double *times,
                     float *last_loss, cairn_committer *cm)
{
	const int64_t b = t->batch, in = 784;
	const long long total = t->warmup + t->steps;
	const int on_device = cairn_model_has_data(m, ds, bench_data_tag);
	float *x[2] = {malloc((size_t)(b * in) * sizeof(float)),
	               malloc((size_t)(b * in) * sizeof(float))};
	int32_t *y[2] = {malloc((size_t)b * sizeof(int32_t)),
	                 malloc((size_t)b * sizeof(int32_t))};
	uint32_t *idx[2] = {malloc((size_t)b * sizeof(uint32_t)),
	                    malloc((size_t)b * sizeof(uint32_t))};
	cairn_optim opt;
	double t_prev;
	int rc = 0;

	if (!x[0] || !x[1] || !y[0] || !y[1] || !idx[0] || !idx[1]) {
		rc = CAIRN_ENOMEM;
		goto out;
	}
	cairn_optim_defaults(&opt);
	t_prev = cairn__bench_now();
	rc = train_prepare(m, ds, b, 0, idx, x, y);
	for (long long s = 0; s < total && !rc; s++) {
		int rc_next = 0;

		opt.adamw.step = s + 1;
		rc = on_device
		         ? cairn_model_step_begin_idx(m, b, (int)t->micro,
		                                      idx[s % 2], &opt)
		         : cairn_model_step_begin(m, b, (int)t->micro, x[s % 2],
		                                  y[s % 2], &opt);
		if (rc)
			break;
		if (s + 1 < total)
			rc_next = train_prepare(m, ds, b, s + 1, idx, x, y);
		if (s == 0 && cm && !rc_next) {
			struct cairn_state st;
			int had = 0;
			rc_next = cairn_committer_collect(cm, &st, &had);
			if (!rc_next && !had)
				rc_next = CAIRN_EINVAL; /* none was pending */
		}
		rc = cairn_model_step_end(m, last_loss);
		if (!rc)
			rc = rc_next;
		{
			double t_end = cairn__bench_now();
			if (!rc && s >= t->warmup)
				times[s - t->warmup] = t_end - t_prev;
			t_prev = t_end;
		}
	}
out:
	for (int i = 0; i < 2; i++) {
		free(x[i]);
		free(y[i]);
		free(idx[i]);
	}
	return rc;
}

/* The sum of n step times. */
static double times_sum(const double *t, long long n)
{
	double sum = 0.0;
	for (long long k = 0; k < n; k++)
		sum += t[k];
	return sum;
}

int cairn__bench_train_cmd(int argc, char **argv)
{
	struct train_args t;
	cairn_backend_opts opts;
	cairn_backend *be = NULL;
	cairn_dataset *ds = NULL;
	cairn_model *m = NULL;
	cairn_mlp_spec spec;
	double *times = NULL, med, commit = 0.0,
	       bg = -1.0;      /* bg: not measured */
	double bg_steps = 0.0; /* the C steps beside the hashing, over alone */
	int on_device = 0;     /* the training set on the device */
	float loss = 0.0f;
	char err[8192];
	int rc, ex = 1;

	rc = train_parse(argc, argv, &t);
	if (rc)
		return rc == 1 ? 0 : 2;
	memset(&opts, 0, sizeof opts);
	opts.threads = (int)t.threads;
	rc = cairn_backend_open_auto(t.device, &opts, &be);
	if (rc) {
		cairn_eprint("cairn bench train: cannot open the %s device: "
		             "%s\n",
		             cairn__bench_device_name(t.device),
		             cairn_strerror(rc));
		return rc == CAIRN_EINVAL ? 2 : 1;
	}
	if (cairn_backend_get_kind(be) == CAIRN_BACKEND_REF) {
		cairn_eprint("cairn bench train: the ref backend is the "
		             "scalar oracle, far too slow to benchmark; use "
		             "cpu or gpu\n");
		ex = 2;
		goto out;
	}
	rc = cairn_dataset_open(t.data, "train", &ds, err, sizeof err);
	if (rc) { /* bad input: the usage code, as cairn train gives */
		cairn_eprint("cairn bench train: %s\n", err);
		ex = 2;
		goto out;
	}
	cairn_mlp_spec_reference(&spec);
	times = malloc((size_t)t.steps * sizeof *times);
	if (!times) {
		rc = CAIRN_ENOMEM;
		goto fail;
	}
	if ((rc = cairn_model_create(be, &spec, t.batch, (int)t.micro, &m)) ||
	    (rc = cairn_model_init(m, TRAIN_SEED)))
		goto fail;
	/* as cairn train does: on a GPU the training set goes there once */
	on_device = cairn_model_use_device_data(m, ds, bench_data_tag);
	if ((rc = train_run(m, ds, &t, times, &loss, NULL)))
		goto fail;
	med = cairn__bench_median(times, (int)t.steps);
	/* The commitment of one checkpoint: the tensor roots of the
	 * parameters, m and v where they live, and the state root.  Its cost
	 * spread over C steps is the commitment overhead of training. */
	{
		double ct[COMMIT_REPS];
		uint8_t sd[CAIRN_HASH_BYTES];
		struct cairn_state st;
		rc = cairn_samples_digest(NULL, 0, sd);
		for (int i = 0; i < COMMIT_REPS + 1 && !rc; i++) {
			double t0 = cairn__bench_now();
			rc = cairn_task_commit_state(m, 0u, 1, sd, loss, &st);
			if (i)
				ct[i - 1] = cairn__bench_now() - t0;
		}
		if (rc)
			goto fail;
		commit = cairn__bench_median(ct, COMMIT_REPS);
	}
	/* The same checkpoint committed in the background (task.h), as
	 * cairn train does: what training waits for at the checkpoint is
	 * the snapshot (on the CPU, which hashes synchronously, the whole
	 * commit); the collect of the checkpoint before runs in the first of
	 * the C steps, while the device computes it, so what it costs the
	 * device shows in those steps' time, with the hashing's. */
	if (cairn_backend_get_kind(be) == CAIRN_BACKEND_CUDA || t.background) {
		double bt[BG_REPS], bs[BG_REPS], bp[BG_REPS], *st_times = NULL;
		struct train_args tc = t;
		cairn_committer *cm = NULL;
		uint8_t sd[CAIRN_HASH_BYTES];
		struct cairn_state st;
		float l2 = 0.0f;
		uint32_t lb;
		int had;

		tc.warmup = 0;
		tc.steps = t.ckpt;
		memcpy(&lb, &loss, sizeof lb);
		st_times = malloc((size_t)t.ckpt * sizeof *st_times);
		rc =
		    st_times ? cairn_samples_digest(NULL, 0, sd) : CAIRN_ENOMEM;
		if (!rc)
			rc = cairn_committer_open(
			    be, cairn_model_param_count(m), &cm);
		for (int i = 0; i < BG_REPS + 1 && !rc; i++) {
			double t0 = cairn__bench_now(), w;
			rc = cairn_committer_start(cm, m, 0u, 1, sd, lb);
			w = cairn__bench_now() - t0;
			/* from the second on, the snapshot before is pending
			 * too: the first step collects it */
			if (!rc)
				rc = train_run(m, ds, &tc, st_times, &l2,
				               i ? cm : NULL);
			if (i) {
				bt[i - 1] = w;
				bs[i - 1] = times_sum(st_times, t.ckpt);
			}
			/* the same C steps with nothing hashing: the
			 * baseline, each first step's batch included */
			if (!rc)
				rc = train_run(m, ds, &tc, st_times, &l2, NULL);
			if (!rc && i)
				bp[i - 1] = times_sum(st_times, t.ckpt);
		}
		if (!rc) /* the last snapshot */
			rc = cairn_committer_collect(cm, &st, &had);
		if (!rc && !had)
			rc = CAIRN_EINVAL;
		cairn_committer_close(cm);
		free(st_times);
		if (rc)
			goto fail;
		bg = cairn__bench_median(bt, BG_REPS);
		/* What the hashing costs the steps beside it, on the device:
		 * the C steps' time over that of the same C steps alone. */
		bg_steps = cairn__bench_median(bs, BG_REPS) -
		           cairn__bench_median(bp, BG_REPS);
	}
	if (t.json) {
		printf("{\"suite\":\"train\",\"job\":\"fmnist-mlp\","
		       "\"device\":\"%s\",\"device_desc\":\"%s\","
		       "\"threads\":%d,\"batch\":%lld,\"micro\":%lld,"
		       "\"steps\":%lld,"
		       "\"step_seconds_median\":%.6g,"
		       "\"samples_per_second\":%.1f,\"last_loss\":%.6g,"
		       "\"commit_seconds_median\":%.6g,"
		       "\"checkpoint_every\":%lld,"
		       "\"commitment_fraction\":%.5f,\"data_on_device\":%s,",
		       cairn_backend_name(be), cairn_backend_describe(be),
		       cairn_backend_threads(be), t.batch, t.micro, t.steps,
		       med, (double)t.batch / med, (double)loss, commit, t.ckpt,
		       commit / ((double)t.ckpt * med),
		       on_device ? "true" : "false");
		if (bg >= 0)
			printf("\"background_commit_seconds_median\":%.6g,"
			       "\"background_commitment_fraction\":%.5f,"
			       "\"background_step_slowdown_seconds\":%.6g,"
			       "\"background_total_fraction\":%.5f}\n",
			       bg, bg / ((double)t.ckpt * med), bg_steps,
			       (bg + bg_steps) / ((double)t.ckpt * med));
		else
			printf("\"background_commit_seconds_median\":null,"
			       "\"background_commitment_fraction\":null,"
			       "\"background_step_slowdown_seconds\":null,"
			       "\"background_total_fraction\":null}\n");
	} else {
		printf(
		    "cairn bench train: fmnist-mlp step, batch %lld in %lld "
		    "micro-batches\n"
		    "  device     %s (%s)%s\n"
		    "  steps      %lld timed after %lld warm-up, median "
		    "reported\n"
		    "  step       %.2f ms\n"
		    "  rate       %.0f samples/s\n"
		    "  last loss  %.4f\n"
		    "  commit     %.2f ms a checkpoint (params, m, v "
		    "roots), median of %d\n"
		    "  overhead   %.2f%% of training with a checkpoint every "
		    "%lld steps\n",
		    t.batch, t.micro, cairn_backend_name(be),
		    cairn_backend_describe(be),
		    on_device ? ", training set on the device" : "", t.steps,
		    t.warmup, med * 1e3, (double)t.batch / med, (double)loss,
		    commit * 1e3, COMMIT_REPS,
		    100.0 * commit / ((double)t.ckpt * med), t.ckpt);
		if (bg >= 0)
			printf("  background %.3f ms a checkpoint of waiting "
			       "(the snapshot), median of %d: %.2f%% of "
			       "training\n"
			       "             %+.3f ms on the %lld steps beside "
			       "the hashing and the collect before: %.2f%% in "
			       "all\n",
			       bg * 1e3, BG_REPS,
			       100.0 * bg / ((double)t.ckpt * med),
			       bg_steps * 1e3, t.ckpt,
			       100.0 * (bg + bg_steps) /
			           ((double)t.ckpt * med));
	}
	ex = 0;
	goto out;
fail:
	cairn_eprint("cairn bench train: %s\n", cairn_strerror(rc));
out:
	cairn_model_free(m);
	cairn_dataset_close(ds);
	cairn_backend_close(be);
	free(times);
	return ex;
}
