/* cairn: `cairn train`'s options: the usage text, the parser, and the
 * checks of the options against each other (scheduler/train_impl.h).
 * Nothing here opens a file or a device; --device is only checked for a
 * known name, so a typo is refused before the dataset loads. */
#include <errno.h>
#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/cli.h"
#include "cairn/dataset.h"
#include "cairn/kernels.h"
#include "cairn/model.h"
#include "cairn/outer.h"
#include "cairn/task.h"
#include "cairn/text.h"
#include "train_impl.h"

#define TRAIN_DEFAULT_ROUNDS CAIRN_REF_JOB_ROUNDS
#define TRAIN_DEFAULT_TASKS CAIRN_REF_JOB_TASKS
#define TRAIN_DEFAULT_INNER CAIRN_REF_JOB_INNER_STEPS
#define TRAIN_DEFAULT_CKPT CAIRN_REF_JOB_CHECKPOINT_EVERY
#define TRAIN_DEFAULT_BATCH CAIRN_REF_JOB_BATCH
#define TRAIN_DEFAULT_SEED CAIRN_REF_JOB_SEED

static float train_default_adamw_lr(void)
{
	cairn_adamw_params p;

	cairn_adamw_defaults(&p);
	return p.lr;
}

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: cairn train --job fmnist-mlp [OPTIONS]\n\n"
	    "Runs a whole DiLoCo job in this process: each round's tasks "
	    "(H inner AdamW or\nSGD steps from W_r, with their commitment "
	    "traces), "
	    "the outer Nesterov step,\nand the test accuracy.  The same job "
	    "gives the same final model root on any\nCPU or GPU and any "
	    "thread count.\n\n"
	    "options:\n"
	    "  --job NAME            the job: fmnist-mlp (784-1024-1024-10, "
	    "ReLU)\n"
	    "  --rounds R            outer rounds (default %d)\n"
	    "  --tasks K             tasks per round (default %d)\n"
	    "  --inner-steps H       inner steps per task (default %d)\n"
	    "  --checkpoint-every C  steps between committed states, "
	    "dividing H (default %d)\n"
	    "  --batch B             rows per step (default %d)\n"
	    "  --micro M             micro-batches per step, dividing B "
	    "(default %d)\n"
	    "  --seed S              job seed, decimal or 0x-hex (default "
	    "%d)\n"
	    "  --optimizer O         inner optimizer: adamw (default) or "
	    "sgd\n"
	    "  --lr X                inner learning rate (default: AdamW "
	    "%g, SGD %g)\n"
	    "  --momentum X          SGD's Nesterov momentum, 0 <= X < 1 "
	    "(default 0:\n"
	    "                        plain SGD)\n"
	    "  --outer-lr X          outer Nesterov learning rate (default "
	    "%g)\n"
	    "  --outer-momentum X    outer Nesterov momentum (default %g; "
	    "with --outer-lr 1,\n"
	    "                        0 and --inner-steps 1, SGD is "
	    "synchronous data-parallel)\n"
	    "  --device D            auto (default), cpu, gpu or ref\n"
	    "  --threads T           CPU threads (default: one per core)\n"
	    "  --gpus LIST|all       GPUs that share each step, e.g. 0,1 "
	    "(same bits as one)\n"
	    "  --data DIR            Fashion-MNIST IDX files (default %s)\n"
	    "  --test-samples N      measure accuracy on the first N test "
	    "samples\n"
	    "                        (default: all 10000; 0 skips it)\n"
	    "  --bundle-dir DIR      write one signed result bundle per "
	    "task there\n"
	    "  --key FILE            the worker key that signs the bundles "
	    "(cairn keygen)\n"
	    "  --commits MODE        auto (default: background on a GPU, "
	    "else sync),\n"
	    "                        sync or background: hash checkpoints "
	    "while\n"
	    "                        training goes on (same roots, same "
	    "bundles)\n"
	    "  --json                one JSON object on stdout\n"
	    "  -h, --help            this text\n\n"
	    "exit status: 0 done, 1 failed, 2 bad usage or input, 130/143 "
	    "stopped by SIGINT/SIGTERM\n(the tasks that ran still "
	    "finished, their bundles written)\n",
	    TRAIN_DEFAULT_ROUNDS, TRAIN_DEFAULT_TASKS, TRAIN_DEFAULT_INNER,
	    TRAIN_DEFAULT_CKPT, TRAIN_DEFAULT_BATCH,
	    CAIRN_MODEL_REFERENCE_MICRO, TRAIN_DEFAULT_SEED,
	    (double)train_default_adamw_lr(),
	    (double)CAIRN_OPTIM_SGD_DEFAULT_LR, (double)CAIRN_OUTER_LR,
	    (double)CAIRN_OUTER_MOMENTUM, CAIRN_DATASET_DEFAULT_DIR);
}

static int parse_ll(const char *opt, const char *v, long long lo, long long hi,
                    long long *out)
{
	long long x;
	if (!v) {
		cairn_eprint("cairn train: %s needs a value\n", opt);
		return 2;
	}
	if (cairn_cli_parse_int(v, lo, hi, &x)) {
		cairn_eprint(
		    "cairn train: %s '%s': want a whole number from %lld "
		    "to %lld\n",
		    opt, v, lo, hi);
		return 2;
	}
	*out = x;
	return 0;
}

/* A learning rate (0 < x <= 10) or a momentum (0 <= x < 1, mom) option's
 * value into *out, or 2 after printing why. */
static int parse_rate(const char *opt, const char *v, int mom, float *out)
{
	if (cairn_cli_parse_float(v, mom ? 0.0f : FLT_MIN,
	                          mom ? 0.99999994f : 10.0f, out)) {
		cairn_eprint("cairn train: %s '%s': want %s\n", opt, v,
		             mom ? "a momentum from 0 up to, not including, 1 "
		                   "(e.g. 0.9)"
		                 : "a learning rate above 0, at most 10 (e.g. "
		                   "0.7 or 1e-3)");
		return 2;
	}
	return 0;
}

/* --gpus: "all" (o->ngpus 0), or ordinals separated by commas, each once,
 * into o->gpu; it implies --device gpu.  0, or 2 after printing why. */
static int parse_gpus(struct cairn__train_opts *o)
{
	const char *p = o->gpus;

	o->ngpus = 0;
	while (strcmp(o->gpus, "all")) {
		char *end;
		long g;
		errno = 0;
		g = *p >= '0' && *p <= '9' ? strtol(p, &end, 10)
		                           : -1; /* no sign or space */
		if (g < 0)
			end = (char *)p;
		if (errno || end == p || g < 0 || g > 255 ||
		    (*end && *end != ',') ||
		    o->ngpus == CAIRN_MODEL_MAX_DEVICES) {
			cairn_eprint(
			    "cairn train: --gpus '%s': want GPU ordinals "
			    "such as 0 or 0,1 (at most %d) or all\n",
			    o->gpus, CAIRN_MODEL_MAX_DEVICES);
			return 2;
		}
		for (int i = 0; i < o->ngpus; i++)
			if (o->gpu[i] == (int)g) {
				cairn_eprint(
				    "cairn train: --gpus '%s': GPU %ld is "
				    "named twice\n",
				    o->gpus, g);
				return 2;
			}
		o->gpu[o->ngpus++] = (int)g;
		if (!*end)
			break;
		p = end + 1;
	}
	if (o->device && strcmp(o->device, "gpu")) {
		cairn_eprint("cairn train: --gpus goes with --device gpu, not "
		             "--device %s\n",
		             o->device);
		return 2;
	}
	o->device = "gpu";
	return 0;
}

int cairn__train_parse(int argc, char **argv, struct cairn__train_opts *o)
{
	memset(o, 0, sizeof *o);
	o->rounds = TRAIN_DEFAULT_ROUNDS;
	o->tasks = TRAIN_DEFAULT_TASKS;
	o->inner = TRAIN_DEFAULT_INNER;
	o->ckpt = TRAIN_DEFAULT_CKPT;
	o->batch = TRAIN_DEFAULT_BATCH;
	o->micro = CAIRN_MODEL_REFERENCE_MICRO;
	o->seed = TRAIN_DEFAULT_SEED;
	o->test_samples = -1;
	o->optimizer = CAIRN_OPTIM_ADAMW;
	o->momentum = -1.0f; /* not given */
	o->outer_lr = CAIRN_OUTER_LR;
	o->outer_mom = CAIRN_OUTER_MOMENTUM;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int rc = 0;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 1;
		} else if (!strcmp(a, "--json")) {
			o->json = 1;
			continue;
		}
		if (!v) {
			cairn_eprint(
			    "cairn train: unknown option '%s' or a missing "
			    "value; see 'cairn train --help'\n",
			    a);
			return 2;
		}
		if (!*v) {
			cairn_eprint("cairn train: %s '': an empty value; see "
			             "'cairn train --help'\n",
			             a);
			return 2;
		}
		if (!strcmp(a, "--job")) {
			o->job = v;
		} else if (!strcmp(a, "--device")) {
			o->device = v;
		} else if (!strcmp(a, "--data")) {
			o->data = v;
		} else if (!strcmp(a, "--bundle-dir")) {
			o->bundle_dir = v;
		} else if (!strcmp(a, "--key")) {
			o->key = v;
		} else if (!strcmp(a, "--commits")) {
			if (strcmp(v, "auto") && strcmp(v, "sync") &&
			    strcmp(v, "background")) {
				cairn_eprint(
				    "cairn train: --commits %s: use auto, "
				    "sync or background\n",
				    v);
				return 2;
			}
			o->commits = v;
		} else if (!strcmp(a, "--optimizer")) {
			if (!strcmp(v, "adamw")) {
				o->optimizer = CAIRN_OPTIM_ADAMW;
			} else if (!strcmp(v, "sgd")) {
				o->optimizer = CAIRN_OPTIM_SGD;
			} else {
				cairn_eprint("cairn train: --optimizer %s: use "
				             "adamw or sgd\n",
				             v);
				return 2;
			}
		} else if (!strcmp(a, "--lr")) {
			rc = parse_rate(a, v, 0, &o->lr);
		} else if (!strcmp(a, "--momentum")) {
			rc = parse_rate(a, v, 1, &o->momentum);
		} else if (!strcmp(a, "--outer-lr")) {
			rc = parse_rate(a, v, 0, &o->outer_lr);
		} else if (!strcmp(a, "--outer-momentum")) {
			rc = parse_rate(a, v, 1, &o->outer_mom);
		} else if (!strcmp(a, "--gpus")) {
			o->gpus = v;
		} else if (!strcmp(a, "--rounds")) {
			rc = parse_ll(a, v, 1, 100000, &o->rounds);
		} else if (!strcmp(a, "--tasks")) {
			rc = parse_ll(a, v, 1, 4096, &o->tasks);
		} else if (!strcmp(a, "--inner-steps")) {
			rc = parse_ll(a, v, 1, CAIRN_TASK_MAX_STEPS, &o->inner);
		} else if (!strcmp(a, "--checkpoint-every")) {
			rc = parse_ll(a, v, 1, CAIRN_TASK_MAX_STEPS, &o->ckpt);
		} else if (!strcmp(a, "--batch")) {
			rc = parse_ll(a, v, 1, CAIRN_TASK_MAX_BATCH, &o->batch);
		} else if (!strcmp(a, "--micro")) {
			rc = parse_ll(a, v, 1, CAIRN_TASK_MAX_BATCH, &o->micro);
		} else if (!strcmp(a, "--test-samples")) {
			rc = parse_ll(a, v, 0, CAIRN_DATASET_MAX_COUNT,
			              &o->test_samples);
		} else if (!strcmp(a, "--threads")) {
			rc = parse_ll(a, v, 1, 1024, &o->threads);
		} else if (!strcmp(a, "--seed")) {
			unsigned long long s;
			if (!cairn_cli_parse_u64(v, &s)) {
				o->seed = (uint64_t)s;
			} else {
				cairn_eprint(
				    "cairn train: --seed '%s': want an "
				    "unsigned 64-bit number (decimal or "
				    "0x-hex)\n",
				    v);
				return 2;
			}
		} else {
			cairn_eprint(
			    "cairn train: unknown option '%s'; see 'cairn "
			    "train --help'\n",
			    a);
			return 2;
		}
		if (rc)
			return rc;
		i++;
	}
	if (!o->job) {
		cairn_eprint("cairn train: --job is required; the job this "
		             "version knows is fmnist-mlp\n");
		return 2;
	}
	if (strcmp(o->job, "fmnist-mlp")) {
		cairn_eprint(
		    "cairn train: unknown job '%s'; the job this version "
		    "knows is fmnist-mlp\n",
		    o->job);
		return 2;
	}
	if (o->momentum >= 0.0f && o->optimizer != CAIRN_OPTIM_SGD) {
		cairn_eprint("cairn train: --momentum %g is SGD's; AdamW's "
		             "betas are fixed (add --optimizer sgd, or drop "
		             "--momentum)\n",
		             (double)o->momentum);
		return 2;
	}
	if (o->momentum < 0.0f)
		o->momentum = 0.0f;
	if (o->lr == 0.0f)
		o->lr = o->optimizer == CAIRN_OPTIM_SGD
		            ? CAIRN_OPTIM_SGD_DEFAULT_LR
		            : train_default_adamw_lr();
	if (o->inner % o->ckpt) {
		cairn_eprint(
		    "cairn train: --checkpoint-every %lld does not divide "
		    "--inner-steps %lld; choose a divisor\n",
		    o->ckpt, o->inner);
		return 2;
	}
	if (o->inner / o->ckpt + 1 > CAIRN_TASK_MAX_STATES) {
		cairn_eprint(
		    "cairn train: %lld checkpoints per task; at most %d "
		    "(raise --checkpoint-every)\n",
		    o->inner / o->ckpt, CAIRN_TASK_MAX_STATES - 1);
		return 2;
	}
	if (o->batch % o->micro) {
		cairn_eprint(
		    "cairn train: --micro %lld does not divide --batch "
		    "%lld; choose a divisor\n",
		    o->micro, o->batch);
		return 2;
	}
	if (o->bundle_dir && !o->key) {
		cairn_eprint(
		    "cairn train: --bundle-dir needs --key FILE, the worker "
		    "key that signs the bundles (make one with 'cairn "
		    "keygen --out FILE')\n");
		return 2;
	}
	if (o->device && !cairn_backend_device_known(o->device)) {
		cairn_eprint(
		    "cairn train: --device '%s': want auto, cpu, gpu or "
		    "ref\n",
		    o->device);
		return 2;
	}
	if (cairn_cli_check_env_device("cairn train", o->device))
		return 2;
	if (o->key && !o->bundle_dir) {
		cairn_eprint("cairn train: --key %s signs bundles, and without "
		             "--bundle-dir DIR none are written; give both, or "
		             "neither\n",
		             o->key);
		return 2;
	}
	if (o->gpus && parse_gpus(o))
		return 2;
	return 0;
}
