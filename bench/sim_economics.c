/* cairn-sim-economics: plays many tasks with honest and cheating workers
 * and prints each one's earnings per task, beside the closed form of
 * docs/economics.md.
 *
 * Standalone on purpose (libm only, nothing of libcairn): the model is
 * arithmetic, and a program that needs no dataset, key or backend can run
 * in any test.
 *
 * The model, in units of the task reward R = 1: a task has n segments; a
 * worker of type f fakes each segment with probability f, independently,
 * and computes the rest, so it spends (1 - k/n) K for k faked segments
 * (K: the compute cost of the whole task).  The result is audited with
 * probability a; an audit draws s distinct segments, uniformly, as
 * cairn_audit_challenge does.  If a drawn segment is faked, the result is
 * rejected: no reward, and the stake X is slashed.  Otherwise the worker
 * is paid R.  An honest worker (f = 0) is never rejected: the exact
 * profile leaves no room for false alarms.
 *
 * Each worker type has its own random stream (xoshiro256**, seeded by
 * splitmix64 from the seed and the type's index), so adding a type or
 * changing --tasks does not move the others' draws. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIM_DEFAULT_TASKS 1000000u
#define SIM_DEFAULT_SEED 1u
/* docs/economics.md, "Defaults": s = 1, a = 0.5, X = 3 R.  K = 0.8 R is a
 * worker with a 25 % margin over its compute; the deterrence margin
 * a (R + X) / K is 2 even at K = R. */
#define SIM_DEFAULT_AUDIT_RATE 0.5
#define SIM_DEFAULT_SEGMENTS 1u
#define SIM_DEFAULT_STAKE 3.0
#define SIM_DEFAULT_COST 0.8
/* H / C of the reference job (CAIRN_REF_JOB_INNER_STEPS 500 /
 * CAIRN_REF_JOB_CHECKPOINT_EVERY 20); not included, to stay standalone. */
#define SIM_DEFAULT_NSEG 25u
#define SIM_MAX_NSEG 64u /* one bit per segment in a uint64_t */

/* Two-sided normal quantiles: the 95 % interval that is printed, and the
 * 99.9 % one that --check holds the simulated means to. */
#define SIM_Z95 1.959963984540054
#define SIM_Z999 3.290526731491926

static const double sim_fractions[] = {0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0};
#define SIM_NTYPES (sizeof(sim_fractions) / sizeof(sim_fractions[0]))

struct sim_opts {
	uint64_t tasks, seed;
	double audit_rate, stake, cost;
	uint32_t segments, nseg;
	int json, check;
};

/* One worker type's outcome. */
struct sim_row {
	double f;
	double p_closed; /* a (1 - (1 - f)^s) */
	double e_closed; /* (1 - P) R - (1 - f) K - P X */
	double mean, sd; /* of the simulated profit per task */
	double caught_rate;
	int within; /* mean within the 99.9 % interval of e_closed */
};

/* ---- random numbers ---- */

struct sim_rng {
	uint64_t s[4];
};

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* Stream `stream` of seed: splitmix64 keyed by both, as xoshiro's authors
 * advise for filling its state (never all zero in practice). */
static void sim_rng_seed(struct sim_rng *r, uint64_t seed, uint64_t stream)
{
	uint64_t x = seed ^ splitmix64(&stream);

	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* xoshiro256** (Blackman and Vigna). */
static uint64_t sim_rng_next(struct sim_rng *r)
{
	uint64_t *s = r->s;
	uint64_t out = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

/* Uniform in [0, 1), 53 bits: u < p is true with probability p exactly
 * for p = 0 and p = 1, the honest and the all-fake workers. */
static double sim_rng_unit(struct sim_rng *r)
{
	return (double)(sim_rng_next(r) >> 11) * 0x1p-53;
}

/* Uniform in [0, n), n > 0: draws in the last, partial run of n values
 * below 2^64 are rejected so that every value is equally likely (the rule
 * cairn_audit_challenge follows). */
static uint32_t sim_rng_below(struct sim_rng *r, uint32_t n)
{
	uint64_t skip = (0 - (uint64_t)n) % n; /* 2^64 mod n */
	uint64_t x;

	do
		x = sim_rng_next(r);
	while (x < skip);
	return (uint32_t)(x % n);
}

/* ---- the model ---- */

/* P(caught) for a worker that fakes a fraction f of segments:
 * a (1 - (1 - f)^s).  The s drawn segments are distinct, and each is
 * faked with probability f independently of the draw, so the chance that
 * none is faked is (1 - f)^s exactly. */
static double sim_p_caught(const struct sim_opts *o, double f)
{
	return o->audit_rate * (1.0 - pow(1.0 - f, (double)o->segments));
}

/* The expected profit per task (R = 1): paid R unless caught, slashed X
 * when caught, and the compute of the segments not faked in any case. */
static double sim_expected(const struct sim_opts *o, double f)
{
	double p = sim_p_caught(o, f);

	return (1.0 - p) * 1.0 - (1.0 - f) * o->cost - p * o->stake;
}

/* Plays o->tasks tasks of a worker of type f on stream `stream`; fills
 * row's simulated fields (Welford's mean and variance, which keep their
 * precision over 10^6 and more tasks). */
static void sim_play(const struct sim_opts *o, double f, uint64_t stream,
                     struct sim_row *row)
{
	struct sim_rng r;
	double mean = 0, m2 = 0;
	uint64_t caught_n = 0;

	sim_rng_seed(&r, o->seed, stream);
	for (uint64_t t = 0; t < o->tasks; t++) {
		uint64_t faked = 0, drawn = 0;
		uint32_t k = 0;
		int caught = 0;
		int audited = sim_rng_unit(&r) < o->audit_rate;
		double profit, d;

		for (uint32_t j = 0; j < o->nseg; j++) {
			if (sim_rng_unit(&r) < f) {
				faked |= UINT64_C(1) << j;
				k++;
			}
		}
		/* Distinct segments, as cairn_audit_challenge draws them:
		 * a repeat is drawn again. */
		for (uint32_t i = 0; audited && i < o->segments;) {
			uint64_t bit = UINT64_C(1)
			               << sim_rng_below(&r, o->nseg);

			if (drawn & bit)
				continue;
			drawn |= bit;
			i++;
		}
		caught = (faked & drawn) != 0;
		caught_n += (uint64_t)caught;
		profit = (caught ? -o->stake : 1.0) -
		         (1.0 - (double)k / o->nseg) * o->cost;
		d = profit - mean;
		mean += d / (double)(t + 1);
		m2 += d * (profit - mean);
	}
	row->mean = mean;
	row->sd = o->tasks > 1 ? sqrt(m2 / (double)(o->tasks - 1)) : 0;
	row->caught_rate = (double)caught_n / (double)o->tasks;
}

/* The half-width of the z interval of row's mean.  A worker whose profit
 * never varies (honest) has sd 0: the tolerance then is the rounding of
 * the running mean, far below anything printed. */
static double sim_halfwidth(const struct sim_opts *o, const struct sim_row *row,
                            double z)
{
	return z * row->sd / sqrt((double)o->tasks) + 1e-9;
}

/* ---- output ---- */

/* Whether a mean profit is a loss, in words; within rounding of zero
 * (an honest worker whose cost is the reward) it is "even". */
static const char *sim_sign_word(double mean)
{
	if (fabs(mean) <= 1e-9)
		return "even";
	return mean < 0 ? "loses" : "earns";
}

static void sim_print_table(const struct sim_opts *o,
                            const struct sim_row *rows, size_t n)
{
	double honest = rows[0].mean;

	printf("cairn-sim-economics: %" PRIu64 " tasks per worker type, "
	       "seed 0x%" PRIx64 "\n",
	       o->tasks, o->seed);
	printf("task: n = %" PRIu32 " segments; audits: s = %" PRIu32
	       " segment(s), rate a = %g; audit cost a*s/n = %.2f %% of the "
	       "task's compute\n",
	       o->nseg, o->segments, o->audit_rate,
	       100.0 * o->audit_rate * o->segments / o->nseg);
	printf("money per task, in rewards: R = 1, compute K = %g, stake X = "
	       "%g; deterrence margin a(R+X)/K = %.2f (cheating loses "
	       "against honest work for every f when > 1)\n\n",
	       o->cost, o->stake, o->audit_rate * (1.0 + o->stake) / o->cost);
	printf("| worker | f | P(caught) closed | caught (sim) | E closed | "
	       "mean (sim) | 95 %% interval | sim - honest | absolute |\n");
	printf("| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
	for (size_t i = 0; i < n; i++) {
		const struct sim_row *w = &rows[i];
		double h = sim_halfwidth(o, w, SIM_Z95);

		printf("| %s | %g | %.5f | %.5f | %+.4f | %+.4f | "
		       "[%+.4f, %+.4f] | %+.4f | %s |\n",
		       i ? "cheat" : "honest", w->f, w->p_closed,
		       w->caught_rate, w->e_closed, w->mean, w->mean - h,
		       w->mean + h, w->mean - honest, sim_sign_word(w->mean));
	}
}

static void sim_print_json(const struct sim_opts *o, const struct sim_row *rows,
                           size_t n, int rel_closed, int rel_sim, int agree)
{
	printf("{\"tasks\":%" PRIu64 ",\"seed\":%" PRIu64 ",\"nseg\":%" PRIu32
	       ",\"segments\":%" PRIu32 ",\"audit_rate\":%.17g,"
	       "\"reward\":1,\"cost\":%.17g,\"stake\":%.17g,"
	       "\"audit_cost\":%.17g,\"margin\":%.17g,\"workers\":[",
	       o->tasks, o->seed, o->nseg, o->segments, o->audit_rate, o->cost,
	       o->stake, o->audit_rate * o->segments / o->nseg,
	       o->audit_rate * (1.0 + o->stake) / o->cost);
	for (size_t i = 0; i < n; i++) {
		const struct sim_row *w = &rows[i];
		double h = sim_halfwidth(o, w, SIM_Z95);

		printf(
		    "%s{\"f\":%.17g,\"p_caught\":%.17g,\"caught_rate\":%.17g,"
		    "\"expected\":%.17g,\"mean\":%.17g,\"sd\":%.17g,"
		    "\"ci95\":[%.17g,%.17g],\"within_999\":%s,"
		    "\"loses_vs_honest\":%s,\"loses_absolute\":%s}",
		    i ? "," : "", w->f, w->p_closed, w->caught_rate,
		    w->e_closed, w->mean, w->sd, w->mean - h, w->mean + h,
		    w->within ? "true" : "false",
		    i ? (w->mean < rows[0].mean ? "true" : "false") : "null",
		    w->mean < 0 ? "true" : "false");
	}
	printf("],\"cheating_loses_vs_honest\":{\"closed\":%s,\"sim\":%s},"
	       "\"sim_agrees_with_closed\":%s}\n",
	       rel_closed ? "true" : "false", rel_sim ? "true" : "false",
	       agree ? "true" : "false");
}

/* ---- command line ---- */

static void sim_usage(FILE *f)
{
	fprintf(f,
	        "usage: cairn-sim-economics [--tasks N] [--seed S] "
	        "[--audit-rate A]\n"
	        "                           [--segments S] [--stake X] "
	        "[--cost K] [--nseg N]\n"
	        "                           [--json] [--check]\n\n"
	        "Plays N tasks per worker type (honest, and cheaters faking "
	        "a fraction\nf = 0.01 .. 1 of segments) and prints each "
	        "one's profit per task, in\nunits of the task reward, beside "
	        "the closed form of docs/economics.md.\n\n"
	        "options:\n"
	        "  --tasks N       tasks per worker type (default %u)\n"
	        "  --seed S        decimal or 0x-hex (default %u)\n"
	        "  --audit-rate A  probability that a result is audited, "
	        "0..1 (default %g)\n"
	        "  --segments S    segments drawn per audit, 1..n (default "
	        "%u)\n"
	        "  --stake X       stake slashed on proof of fraud, in "
	        "rewards (default %g)\n"
	        "  --cost K        compute cost of a task, in rewards "
	        "(default %g)\n"
	        "  --nseg N        segments per task, H/C, 1..%u (default "
	        "%u)\n"
	        "  --json          one JSON object on stdout\n"
	        "  --check         exit 1 unless every simulated mean lies "
	        "in the 99.9 %%\n"
	        "                  interval around its closed form and "
	        "every cheater earns\n"
	        "                  less than honest work (closed form and "
	        "simulated)\n"
	        "  -h, --help      this text\n",
	        SIM_DEFAULT_TASKS, SIM_DEFAULT_SEED, SIM_DEFAULT_AUDIT_RATE,
	        SIM_DEFAULT_SEGMENTS, SIM_DEFAULT_STAKE, SIM_DEFAULT_COST,
	        SIM_MAX_NSEG, SIM_DEFAULT_NSEG);
}

/* v as it may reach a terminal: bytes outside printable ASCII as \xNN,
 * cut to fit out[64] (this program stands alone, without cairn_eprint). */
static const char *sim_arg(const char *v, char out[64])
{
	size_t n = 0;

	for (; *v && n + 5 < 64; v++) {
		unsigned char c = (unsigned char)*v;
		if (c >= 0x20 && c < 0x7f && c != '\\')
			out[n++] = (char)c;
		else
			n += (size_t)snprintf(out + n, 64 - n, "\\x%02x", c);
	}
	out[n] = '\0';
	return out;
}

static int sim_parse_u64(const char *opt, const char *v, uint64_t lo,
                         uint64_t hi, uint64_t *out)
{
	char *end;
	unsigned long long x;

	if (!v) {
		fprintf(stderr, "cairn-sim-economics: %s needs a value\n", opt);
		return -1;
	}
	errno = 0;
	x = strtoull(v, &end, 0);
	if (errno || end == v || *end || v[0] == '-' || x < lo || x > hi) {
		char q[64];
		fprintf(stderr,
		        "cairn-sim-economics: %s %s: want an integer in "
		        "%" PRIu64 "..%" PRIu64 "\n",
		        opt, sim_arg(v, q), lo, hi);
		return -1;
	}
	*out = x;
	return 0;
}

static int sim_parse_double(const char *opt, const char *v, double lo,
                            double hi, double *out)
{
	char *end;
	double x;

	if (!v) {
		fprintf(stderr, "cairn-sim-economics: %s needs a value\n", opt);
		return -1;
	}
	errno = 0;
	x = strtod(v, &end);
	if (errno || end == v || *end || !(x >= lo && x <= hi)) {
		char q[64];
		fprintf(stderr,
		        "cairn-sim-economics: %s %s: want a number in "
		        "%g..%g\n",
		        opt, sim_arg(v, q), lo, hi);
		return -1;
	}
	*out = x;
	return 0;
}

/* 0, 1 for --help (printed), -1 on a bad argument (said on stderr). */
static int sim_parse(int argc, char **argv, struct sim_opts *o)
{
	uint64_t u;
	int rc = 0;

	*o = (struct sim_opts){
	    .tasks = SIM_DEFAULT_TASKS,
	    .seed = SIM_DEFAULT_SEED,
	    .audit_rate = SIM_DEFAULT_AUDIT_RATE,
	    .stake = SIM_DEFAULT_STAKE,
	    .cost = SIM_DEFAULT_COST,
	    .segments = SIM_DEFAULT_SEGMENTS,
	    .nseg = SIM_DEFAULT_NSEG,
	};
	for (int i = 1; i < argc && !rc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			sim_usage(stdout);
			return 1;
		} else if (!strcmp(a, "--json")) {
			o->json = 1;
		} else if (!strcmp(a, "--check")) {
			o->check = 1;
		} else if (!strcmp(a, "--tasks")) {
			rc = sim_parse_u64(a, v, 2, UINT64_C(1) << 40,
			                   &o->tasks);
			i++;
		} else if (!strcmp(a, "--seed")) {
			rc = sim_parse_u64(a, v, 0, UINT64_MAX, &o->seed);
			i++;
		} else if (!strcmp(a, "--audit-rate")) {
			rc = sim_parse_double(a, v, 0, 1, &o->audit_rate);
			i++;
		} else if (!strcmp(a, "--stake")) {
			rc = sim_parse_double(a, v, 0, 1e9, &o->stake);
			i++;
		} else if (!strcmp(a, "--cost")) {
			rc = sim_parse_double(a, v, 0, 1e9, &o->cost);
			i++;
		} else if (!strcmp(a, "--segments")) {
			rc = sim_parse_u64(a, v, 1, SIM_MAX_NSEG, &u);
			o->segments = (uint32_t)u;
			i++;
		} else if (!strcmp(a, "--nseg")) {
			rc = sim_parse_u64(a, v, 1, SIM_MAX_NSEG, &u);
			o->nseg = (uint32_t)u;
			i++;
		} else {
			char q[64];
			fprintf(stderr,
			        "cairn-sim-economics: unknown argument %s "
			        "(--help lists them)\n",
			        sim_arg(a, q));
			rc = -1;
		}
	}
	if (!rc && o->segments > o->nseg) {
		fprintf(stderr,
		        "cairn-sim-economics: --segments %" PRIu32
		        " is more than the task's %" PRIu32
		        " segments (--nseg); an audit draws distinct "
		        "segments\n",
		        o->segments, o->nseg);
		rc = -1;
	}
	return rc;
}

/* Exit status: 0, 1 when --check fails, 2 for bad arguments. */
int main(int argc, char **argv)
{
	struct sim_opts o;
	struct sim_row rows[SIM_NTYPES];
	int rel_closed = 1, rel_sim = 1, agree = 1, abs_all = 1;
	int rc = sim_parse(argc, argv, &o);

	if (rc)
		return rc > 0 ? 0 : 2;
	for (size_t i = 0; i < SIM_NTYPES; i++) {
		struct sim_row *w = &rows[i];

		w->f = sim_fractions[i];
		w->p_closed = sim_p_caught(&o, w->f);
		w->e_closed = sim_expected(&o, w->f);
		sim_play(&o, w->f, i, w);
		w->within = fabs(w->mean - w->e_closed) <=
		            sim_halfwidth(&o, w, SIM_Z999);
		agree &= w->within;
		if (i) {
			rel_closed &= w->e_closed < rows[0].e_closed;
			rel_sim &= w->mean < rows[0].mean;
			abs_all &= w->mean < 0;
		}
	}

	if (o.json) {
		sim_print_json(&o, rows, SIM_NTYPES, rel_closed, rel_sim,
		               agree);
	} else {
		sim_print_table(&o, rows, SIM_NTYPES);
		printf("\nsimulated means %s the closed form (99.9 %% "
		       "intervals)\n",
		       agree ? "agree with" : "DISAGREE with");
		printf("verdict: %s cheating strategy loses money relative to "
		       "honest work (closed form: %s; simulated: %s); in "
		       "absolute terms %s:",
		       rel_closed && rel_sim ? "every" : "NOT every",
		       rel_closed ? "yes" : "no", rel_sim ? "yes" : "no",
		       abs_all ? "every cheater loses money"
		               : "not every cheater loses money");
		for (size_t i = 1; i < SIM_NTYPES; i++)
			printf("%s f=%g %s", i > 1 ? "," : "", rows[i].f,
			       sim_sign_word(rows[i].mean));
		printf("\n");
	}

	if (o.check && (!agree || !rel_closed || !rel_sim)) {
		for (size_t i = 0; i < SIM_NTYPES; i++) {
			const struct sim_row *w = &rows[i];

			if (!w->within)
				fprintf(stderr,
				        "cairn-sim-economics: check: f = %g: "
				        "simulated mean %.6f is outside the "
				        "99.9 %% interval %.6f +- %.6f of the "
				        "closed form\n",
				        w->f, w->mean, w->e_closed,
				        sim_halfwidth(&o, w, SIM_Z999));
			if (i && !(w->e_closed < rows[0].e_closed &&
			           w->mean < rows[0].mean))
				fprintf(stderr,
				        "cairn-sim-economics: check: f = %g "
				        "earns %.6f (closed %.6f), not less "
				        "than honest work's %.6f: raise the "
				        "stake or the audit rate\n",
				        w->f, w->mean, w->e_closed,
				        rows[0].e_closed);
		}
		return 1;
	}
	return 0;
}
