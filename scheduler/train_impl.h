/* cairn: `cairn train` internals shared by its two sources: the options
 * (scheduler/train_opts.c parses them) and the job (scheduler/train.c
 * runs it). */
#ifndef CAIRN_TRAIN_IMPL_H
#define CAIRN_TRAIN_IMPL_H

#include <stdint.h>

#include "cairn/model.h"

/* The command line, checked.  The strings point into argv. */
struct cairn__train_opts {
	const char *job, *device, *data, *bundle_dir, *key, *gpus;
	const char *commits; /* "auto", "sync" or "background" */
	int gpu[CAIRN_MODEL_MAX_DEVICES], ngpus; /* --gpus; 0 with "all" */
	long long rounds, tasks, inner, ckpt, batch, micro, threads;
	long long test_samples; /* -1: the whole test split */
	uint64_t seed;
	uint32_t optimizer;        /* CAIRN_OPTIM_ADAMW or CAIRN_OPTIM_SGD */
	float lr, momentum;        /* the inner optimizer's; lr 0: default */
	float outer_lr, outer_mom; /* the outer Nesterov step's */
	int json;
};

/* Parses `cairn train`'s argv (argv[0] is "train") into *o, defaults
 * filled in, and checks the options against each other.  0, 1 after
 * --help (printed), 2 after a usage error (printed, naming the option and
 * its value). */
int cairn__train_parse(int argc, char **argv, struct cairn__train_opts *o);

#endif
