/* cairn: one training step split over devices (include/cairn/model.h,
 * "micro-batches"; DESIGN.md 2.7).
 *
 * A step with M micro-batches is computed here "as G devices would": the
 * M micro-batches are shared among G separate cpu backends (contiguous
 * runs, uneven when G does not divide M; the backends differ in ISA and
 * thread count), each device runs the forward and backward pass of its
 * own rows with the public ops and computes dW_i, db_i of each of its
 * micro-batches; the host gathers them in micro-batch order (what NCCL
 * would move) and one cairn_sum_n on another backend adds them.  The
 * result must equal cairn_model_forward_backward's gradient with the same
 * M, byte for byte, for every G: the bits do not depend on the device
 * count.  The per-row losses are gathered too, and the loss S / B must
 * match.
 *
 * With M = G = 1 the same code is the hand-assembled step of the old
 * definition (one GEMM over all B rows per weight gradient): cairn_model
 * with M = 1 must equal it, gradient and AdamW step included.
 *
 * Inputs are fresh random numbers each run (seed printed; set
 * CAIRN_TEST_SEED=0x... to replay). */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_util.h"
#include "fake_nccl.h"

#include "cairn/error.h"
#include "cairn/kernels.h"
#include "cairn/log.h"
#include "cairn/model.h"

static uint64_t g_seed;
static uint64_t g_rng;

static uint64_t rnd(void)
{
	return cairn_test_splitmix64(&g_rng);
}

static float rnd_u01(void)
{
	return (float)(rnd() >> 40) * 0x1p-24f;
}

static void *balloc(cairn_backend *be, int64_t floats)
{
	void *p = NULL;
	assert_int_equal(
	    cairn_buf_alloc(be, (size_t)(floats ? floats : 1) * 4, &p), 0);
	return p;
}

#define MAX_L (CAIRN_MLP_MAX_HIDDEN + 1)

/* What a device needs to know: the dims and the parameter layout. */
struct net {
	const cairn_mlp_spec *spec;
	int nl;
	int64_t dim[MAX_L + 1], w_off[MAX_L], b_off[MAX_L], nparams, dmax;
};

static void net_of(cairn_model *m, struct net *n)
{
	const cairn_mlp_spec *s = cairn_model_spec(m);

	n->spec = s;
	n->nl = s->nhidden + 1;
	n->dim[0] = s->input;
	for (int i = 0; i < s->nhidden; i++)
		n->dim[i + 1] = s->hidden[i];
	n->dim[n->nl] = s->classes;
	n->dmax = 0;
	for (int l = 0; l <= n->nl; l++)
		n->dmax = n->dim[l] > n->dmax ? n->dim[l] : n->dmax;
	for (int l = 0; l < n->nl; l++) {
		assert_int_equal(
		    cairn_model_tensor(m, 2 * l, &n->w_off[l], NULL, NULL), 0);
		assert_int_equal(
		    cairn_model_tensor(m, 2 * l + 1, &n->b_off[l], NULL, NULL),
		    0);
	}
	n->nparams = cairn_model_param_count(m);
}

/* One device: micro-batches i0 .. i1-1 (rows i0*k .. i1*k-1) of a batch
 * of B rows.  Public ops only, on be.  Writes the gradient of micro-batch
 * i (in the parameter layout) to grads[i] and the per-row losses of its
 * rows to rowloss[i0*k ..]. */
static void device_step(cairn_backend *be, const struct net *n,
                        const float *params, int64_t B, int64_t k, int i0,
                        int i1, const float *x, const int32_t *y, float **grads,
                        float *rowloss)
{
	const int64_t r0 = i0 * k, rows = (i1 - i0) * k, C = n->dim[n->nl];
	const int gelu = n->spec->act == CAIRN_ACT_GELU;
	float *p = balloc(be, n->nparams), *g = balloc(be, n->nparams);
	float *act[MAX_L + 1], *z[MAX_L], *probs = balloc(be, rows * C);
	float *loss = balloc(be, rows), *d[2];
	int32_t *lab = NULL;

	assert_int_equal(cairn_buf_alloc(be, (size_t)rows * 4, (void **)&lab),
	                 0);
	assert_int_equal(cairn_buf_write(be, p, params, (size_t)n->nparams * 4),
	                 0);
	act[0] = balloc(be, rows * n->dim[0]);
	assert_int_equal(cairn_buf_write(be, act[0], x + r0 * n->dim[0],
	                                 (size_t)(rows * n->dim[0]) * 4),
	                 0);
	assert_int_equal(
	    cairn_buf_write(be, lab, y + r0, (size_t)rows * sizeof *y), 0);
	d[0] = balloc(be, rows * n->dmax);
	d[1] = balloc(be, rows * n->dmax);
	/* forward over the device's rows */
	for (int l = 0; l < n->nl; l++) {
		int64_t in = n->dim[l], out = n->dim[l + 1];
		z[l] = balloc(be, rows * out);
		assert_int_equal(cairn_gemm(be, CAIRN_NOTRANS, CAIRN_TRANS,
		                            rows, out, in, act[l], in,
		                            p + n->w_off[l], in, z[l], out, 0),
		                 0);
		assert_int_equal(
		    cairn_bias_add(be, rows, out, z[l], p + n->b_off[l], z[l]),
		    0);
		act[l + 1] = NULL;
		if (l + 1 < n->nl) {
			act[l + 1] = balloc(be, rows * out);
			assert_int_equal(
			    gelu ? cairn_gelu(be, rows * out, z[l], act[l + 1])
			         : cairn_relu(be, rows * out, z[l], act[l + 1]),
			    0);
		}
	}
	assert_int_equal(
	    cairn_xent_fwd(be, rows, C, z[n->nl - 1], lab, probs, loss), 0);
	assert_int_equal(
	    cairn_buf_read(be, rowloss + r0, loss, (size_t)rows * 4), 0);
	/* backward: dlogits with the scale of the whole batch, 1/B */
	assert_int_equal(
	    cairn_xent_bwd(be, rows, C, probs, lab, 1.0f / (float)B, d[0]), 0);
	for (int l = n->nl - 1, cur = 0; l >= 0; l--, cur = 1 - cur) {
		int64_t in = n->dim[l], out = n->dim[l + 1];
		const float *dz = d[cur];
		for (int i = i0; i < i1; i++) {
			int64_t o = (i - i0) * k;
			assert_int_equal(
			    cairn_gemm(be, CAIRN_TRANS, CAIRN_NOTRANS, out, in,
			               k, dz + o * out, out, act[l] + o * in,
			               in, g + n->w_off[l], in, 0),
			    0);
			assert_int_equal(cairn_bias_grad(be, k, out,
			                                 dz + o * out,
			                                 g + n->b_off[l]),
			                 0);
			assert_int_equal(
			    cairn_buf_read(be, grads[i] + n->w_off[l],
			                   g + n->w_off[l],
			                   (size_t)(out * in + out) * 4),
			    0);
		}
		if (l == 0)
			break;
		assert_int_equal(
		    cairn_gemm(be, CAIRN_NOTRANS, CAIRN_NOTRANS, rows, in, out,
		               dz, out, p + n->w_off[l], in, d[1 - cur], in, 0),
		    0);
		assert_int_equal(gelu ? cairn_gelu_bwd(be, rows * in, z[l - 1],
		                                       d[1 - cur], d[1 - cur])
		                      : cairn_relu_bwd(be, rows * in, z[l - 1],
		                                       d[1 - cur], d[1 - cur]),
		                 0);
	}
	for (int l = 0; l < n->nl; l++) {
		cairn_buf_free(be, z[l]);
		cairn_buf_free(be, act[l]);
	}
	cairn_buf_free(be, p);
	cairn_buf_free(be, g);
	cairn_buf_free(be, probs);
	cairn_buf_free(be, loss);
	cairn_buf_free(be, d[0]);
	cairn_buf_free(be, d[1]);
	cairn_buf_free(be, lab);
}

/* The gradient and loss of one step of M micro-batches on G devices:
 * devices[0..G-1] compute, sum_be adds. */
static void simulate(cairn_backend **devices, int G, cairn_backend *sum_be,
                     const struct net *n, const float *params, int64_t B, int M,
                     const float *x, const int32_t *y, float *grad, float *loss)
{
	int64_t k = B / M;
	float **host = cairn_test_xmalloc((size_t)M * sizeof *host);
	const float **src = cairn_test_xmalloc((size_t)M * sizeof *src);
	float *rowloss = cairn_test_xmalloc((size_t)B * sizeof *rowloss), *dst,
	      *sum, s;

	for (int i = 0; i < M; i++)
		host[i] =
		    cairn_test_xmalloc((size_t)n->nparams * sizeof(float));
	for (int d = 0; d < G; d++)
		device_step(devices[d], n, params, B, k, d * M / G,
		            (d + 1) * M / G, x, y, host, rowloss);
	/* gather in micro-batch order, then one fixed-order sum */
	for (int i = 0; i < M; i++) {
		float *b = balloc(sum_be, n->nparams);
		assert_int_equal(
		    cairn_buf_write(sum_be, b, host[i], (size_t)n->nparams * 4),
		    0);
		src[i] = b;
	}
	dst = balloc(sum_be, n->nparams);
	assert_int_equal(cairn_sum_n(sum_be, n->nparams, M, src, dst), 0);
	assert_int_equal(
	    cairn_buf_read(sum_be, grad, dst, (size_t)n->nparams * 4), 0);
	/* the loss: one chain over the B per-row losses, then / B */
	sum = balloc(sum_be, B + 1);
	assert_int_equal(
	    cairn_buf_write(sum_be, sum + 1, rowloss, (size_t)B * 4), 0);
	assert_int_equal(cairn_sum(sum_be, B, sum + 1, sum), 0);
	assert_int_equal(cairn_buf_read(sum_be, &s, sum, 4), 0);
	*loss = s / (float)B;
	for (int i = 0; i < M; i++) {
		cairn_buf_free(sum_be, (void *)src[i]);
		free(host[i]);
	}
	cairn_buf_free(sum_be, dst);
	cairn_buf_free(sum_be, sum);
	free(host);
	free(src);
	free(rowloss);
}

static void fail_diff(const char *what, const float *want, const float *got,
                      int64_t n)
{
	for (int64_t e = 0; e < n; e++) {
		uint32_t a, b;
		memcpy(&a, &want[e], 4);
		memcpy(&b, &got[e], 4);
		if (a != b)
			fail_msg("%s: [%" PRId64 "] 0x%08" PRIx32
			         " (devices) vs 0x%08" PRIx32
			         " (model) (seed 0x%" PRIx64 ")",
			         what, e, a, b, g_seed);
	}
}

/* For each M in ms: the model's gradient with M micro-batches against the
 * simulation on G = 1..4 devices (G <= M); and the gradients of the
 * first and last M differ (the split is part of the definition). */
static void check_devices(const cairn_mlp_spec *spec, int64_t B, const int *ms,
                          int nms)
{
	enum { GMAX = 4 };
	cairn_backend *dev[GMAX], *main_be = NULL;
	cairn_backend_opts o2 = {2, 0, NULL, 0, 0};
	cairn_model *m = NULL;
	struct net n;
	float *x =
	    cairn_test_xmalloc((size_t)(B * spec->input) * sizeof(float));
	int32_t *y = cairn_test_xmalloc((size_t)B * sizeof *y);
	float *params, *want, *got, *first, loss, sim_loss;
	int maxm = 1;

	for (int j = 0; j < nms; j++)
		maxm = ms[j] > maxm ? ms[j] : maxm;
	/* devices: portable and auto ISA, 1 and 2 threads */
	for (int d = 0; d < GMAX; d++) {
		cairn_backend_opts o = {1 + d % 2, 0, d % 2 ? "portable" : NULL,
		                        1, 0};
		assert_int_equal(
		    cairn_backend_open(CAIRN_BACKEND_CPU, &o, &dev[d]), 0);
	}
	assert_int_equal(cairn_backend_open(CAIRN_BACKEND_CPU, &o2, &main_be),
	                 0);
	for (int64_t i = 0; i < B * spec->input; i++)
		x[i] = rnd_u01();
	for (int64_t r = 0; r < B; r++)
		y[r] = (int32_t)(rnd() % (uint64_t)spec->classes);
	assert_int_equal(cairn_model_create(main_be, spec, B, maxm, &m), 0);
	assert_int_equal(cairn_model_init(m, rnd()), 0);
	net_of(m, &n);
	params = cairn_test_xmalloc((size_t)n.nparams * sizeof(float));
	want = cairn_test_xmalloc((size_t)n.nparams * sizeof(float));
	got = cairn_test_xmalloc((size_t)n.nparams * sizeof(float));
	first = cairn_test_xmalloc((size_t)n.nparams * sizeof(float));
	assert_int_equal(cairn_model_read(m, CAIRN_MODEL_PARAMS, params), 0);
	for (int j = 0; j < nms; j++) {
		int M = ms[j];
		assert_int_equal(
		    cairn_model_forward_backward(m, B, M, x, y, &loss), 0);
		assert_int_equal(cairn_model_read(m, CAIRN_MODEL_GRADS, got),
		                 0);
		if (j == 0)
			memcpy(first, got, (size_t)n.nparams * sizeof(float));
		for (int G = 1; G <= GMAX && G <= M; G++) {
			char what[96];
			simulate(dev, G, dev[(G + 1) % GMAX], &n, params, B, M,
			         x, y, want, &sim_loss);
			snprintf(what, sizeof what,
			         "%" PRId64 " params, B=%" PRId64
			         " M=%d on G=%d devices",
			         n.nparams, B, M, G);
			if (memcmp(&loss, &sim_loss, 4))
				fail_msg("%s: loss %.9g vs %.9g (model)", what,
				         (double)sim_loss, (double)loss);
			if (memcmp(want, got, (size_t)n.nparams * 4))
				fail_diff(what, want, got, n.nparams);
		}
		printf("  %" PRId64 " params, B=%" PRId64
		       " M=%d: model == G devices for G = 1..%d\n",
		       n.nparams, B, M, M < GMAX ? M : GMAX);
	}
	assert_memory_not_equal(first, got, (size_t)n.nparams * 4);
	fflush(stdout);
	free(params);
	free(want);
	free(got);
	free(first);
	free(x);
	free(y);
	cairn_model_free(m);
	for (int d = 0; d < GMAX; d++)
		cairn_backend_close(dev[d]);
	cairn_backend_close(main_be);
}

static void test_devices(void **state)
{
	static const int64_t h1[] = {40, 30}, h2[] = {64, 32};
	static const int ms1[] = {1, 2, 3, 4, 8, 24}, ms2[] = {1, 4, 8};
	cairn_mlp_spec a = cairn_test_mlp(50, 2, h1, 7, CAIRN_ACT_GELU);
	cairn_mlp_spec b = cairn_test_mlp(784, 2, h2, 10, CAIRN_ACT_RELU);

	(void)state;
	check_devices(&a, 24, ms1, 6);
	check_devices(&b, 64, ms2, 3);
}

/* M = 1 is the definition before micro-batches: the gradient of one GEMM
 * over all B rows per weight (the G = 1 device computes exactly that),
 * and a step is that gradient through one cairn_adamw. */
static void test_one_micro_batch(void **state)
{
	enum { B = 20 };
	static const int64_t hid[] = {24, 16};
	cairn_mlp_spec spec = cairn_test_mlp(30, 2, hid, 5, CAIRN_ACT_RELU);
	cairn_backend *be = NULL;
	cairn_backend_opts o = {2, 0, NULL, 0, 0};
	cairn_model *m = NULL;
	cairn_optim opt;
	struct net n;
	float x[B * 30], loss, sim_loss, *params, *grad, *want, *got;
	float *bp, *bg, *bm, *bv;
	int32_t y[B];

	(void)state;
	for (int i = 0; i < B * 30; i++)
		x[i] = rnd_u01();
	for (int r = 0; r < B; r++)
		y[r] = (int32_t)(rnd() % 5);
	assert_int_equal(cairn_backend_open(CAIRN_BACKEND_CPU, &o, &be), 0);
	assert_int_equal(cairn_model_create(be, &spec, B, 1, &m), 0);
	assert_int_equal(cairn_model_init(m, rnd()), 0);
	net_of(m, &n);
	params = cairn_test_xmalloc((size_t)n.nparams * 4);
	grad = cairn_test_xmalloc((size_t)n.nparams * 4);
	want = cairn_test_xmalloc((size_t)n.nparams * 4);
	got = cairn_test_xmalloc((size_t)n.nparams * 4);
	assert_int_equal(cairn_model_read(m, CAIRN_MODEL_PARAMS, params), 0);
	simulate(&be, 1, be, &n, params, B, 1, x, y, grad, &sim_loss);
	/* the hand-assembled step: AdamW from zero moments */
	cairn_optim_defaults(&opt);
	bp = balloc(be, n.nparams);
	bg = balloc(be, n.nparams);
	bm = balloc(be, n.nparams);
	bv = balloc(be, n.nparams);
	assert_int_equal(cairn_buf_write(be, bp, params, (size_t)n.nparams * 4),
	                 0);
	assert_int_equal(cairn_buf_write(be, bg, grad, (size_t)n.nparams * 4),
	                 0);
	assert_int_equal(cairn_fill_uniform(be, n.nparams, 0, 0, 0, 0, 0, bm),
	                 0);
	assert_int_equal(cairn_fill_uniform(be, n.nparams, 0, 0, 0, 0, 0, bv),
	                 0);
	assert_int_equal(cairn_adamw(be, n.nparams, &opt.adamw, bp, bg, bm, bv),
	                 0);
	assert_int_equal(cairn_buf_read(be, want, bp, (size_t)n.nparams * 4),
	                 0);
	/* the model's step with M = 1 */
	assert_int_equal(cairn_model_step(m, B, 1, x, y, &opt, &loss), 0);
	assert_memory_equal(&loss, &sim_loss, 4);
	assert_int_equal(cairn_model_read(m, CAIRN_MODEL_GRADS, got), 0);
	if (memcmp(grad, got, (size_t)n.nparams * 4))
		fail_diff("gradient, M = 1", grad, got, n.nparams);
	assert_int_equal(cairn_model_read(m, CAIRN_MODEL_PARAMS, got), 0);
	if (memcmp(want, got, (size_t)n.nparams * 4))
		fail_diff("parameters after a step, M = 1", want, got,
		          n.nparams);
	cairn_buf_free(be, bp);
	cairn_buf_free(be, bg);
	cairn_buf_free(be, bm);
	cairn_buf_free(be, bv);
	free(params);
	free(grad);
	free(want);
	free(got);
	cairn_model_free(m);
	cairn_backend_close(be);
}

/* ---- cairn_model_create_multi: the library's own shared step ---------- */

/* Steps of a model on G = 2..5 cpu backends (other ISAs and thread
 * counts; G may exceed M, leaving devices idle) against the same steps on
 * one backend: parameters, m, v, gradient and loss equal, bit for bit,
 * after every step.  Also evaluation and writes through the replicas. */
/* The rig's wait, imitated (cairn__comm_set_query): g_q_dev is busy for
 * g_q_busy looks (-1: for ever), the other devices are done. */
static const cairn_backend *g_q_dev;
static long g_q_busy, g_q_looks;

static int step_query(const struct cairn_backend *be)
{
	if (be != g_q_dev)
		return 0;
	if (++g_q_looks > 2000000)
		fail_msg("the rig's wait did not end");
	return g_q_busy < 0 || g_q_looks <= g_q_busy ? 1 : 0;
}

static void check_multi(const cairn_mlp_spec *spec, int64_t B, int M)
{
	static const struct {
		int threads;
		const char *isa;
	} dev[5] = {
	    {1, NULL}, {2, "portable"}, {3, NULL}, {1, "portable"}, {2, NULL}};
	cairn_backend *one = NULL, *bes[5] = {0};
	cairn_model *ref = NULL;
	float *x, *want, *got;
	int32_t *y;
	int64_t n;

	assert_int_equal(cairn_backend_open(CAIRN_BACKEND_CPU, NULL, &one), 0);
	for (int d = 0; d < 5; d++) {
		cairn_backend_opts o = {dev[d].threads, 0, dev[d].isa, 0, 0};
		assert_int_equal(
		    cairn_backend_open(CAIRN_BACKEND_CPU, &o, &bes[d]), 0);
		fake_nccl_track(bes[d]); /* whose each buffer is */
	}
	x = malloc((size_t)(B * spec->input) * sizeof *x);
	y = malloc((size_t)B * sizeof *y);
	assert_true(x && y);
	assert_int_equal(cairn_model_create(one, spec, B, M, &ref), 0);
	n = cairn_model_param_count(ref);
	want = malloc((size_t)n * sizeof *want);
	got = malloc((size_t)n * sizeof *got);
	assert_true(want && got);

	for (int run = 0; run < 8; run++) {
		/* G = 2..5, with the host transport and with the NCCL one
		 * (tests/fake_nccl.h: NCCL's rules, the bytes by memmove) */
		const int g = 2 + run / 2, nccl = run % 2;
		cairn_model *mm = NULL;
		cairn__comm *cm = NULL; /* the imitated NCCL comm; mm's */
		uint64_t seed = rnd();
		assert_int_equal(
		    cairn_model_create_multi(bes, g, spec, B, M, &mm), 0);
		assert_int_equal(cairn_model_devices(mm), g);
		assert_string_equal(cairn_model_transport(mm), "host memory");
		if (nccl) {
			fake_nccl_reset(bes, g);
			assert_int_equal(
			    cairn__comm_open_api(bes, g, &fake_nccl_api, &cm),
			    0);
			assert_int_equal(cairn__model_set_comm(mm, cm), 0);
			assert_string_equal(cairn_model_transport(mm),
			                    "NCCL 2.21.5");
		}
		assert_int_equal(cairn_model_init(ref, seed), 0);
		assert_int_equal(cairn_model_init(mm, seed), 0);
		for (int t = 1; t <= 3; t++) {
			cairn_optim opt;
			float l1, l2;
			cairn_optim_defaults(&opt);
			opt.adamw.lr = 1e-2f;
			opt.adamw.step = t;
			for (int64_t e = 0; e < B * spec->input; e++)
				x[e] = rnd_u01() * 2.0f - 1.0f;
			for (int64_t r = 0; r < B; r++)
				y[r] =
				    (int32_t)(rnd() % (uint64_t)spec->classes);
			assert_int_equal(
			    cairn_model_step(ref, B, M, x, y, &opt, &l1), 0);
			if (cairn_model_step(mm, B, M, x, y, &opt, &l2))
				fail_msg("G=%d M=%d %s step %d failed%s%s", g,
				         M, nccl ? "nccl" : "host", t,
				         nccl ? ": " : "",
				         nccl ? fake_nccl.why : "");
			if (memcmp(&l1, &l2, 4))
				fail_msg("G=%d M=%d %s step %d: loss %a vs %a",
				         g, M, nccl ? "nccl" : "host", t,
				         (double)l2, (double)l1);
			for (int b = 0; b < CAIRN_MODEL_NBUFS; b++) {
				char what[64];
				assert_int_equal(
				    cairn_model_read(ref, (cairn_model_buf)b,
				                     want),
				    0);
				assert_int_equal(
				    cairn_model_read(mm, (cairn_model_buf)b,
				                     got),
				    0);
				snprintf(what, sizeof what,
				         "G=%d M=%d %s step %d buffer %d", g, M,
				         nccl ? "nccl" : "host", t, b);
				fail_diff(what, want, got, n);
			}
		}
		/* Replicas stay equal: a write reaches all of them, and a
		 * step after it still matches. */
		{
			int64_t c1 = 0, c2 = 0;
			assert_int_equal(
			    cairn_model_evaluate(ref, B, x, y, &c1), 0);
			assert_int_equal(cairn_model_evaluate(mm, B, x, y, &c2),
			                 0);
			assert_int_equal(c1, c2);
		}
		/* A step ends by waiting through the comm: with the last
		 * device busy for 5 looks it looks 6 times.  Then a failure:
		 * NCCL reports an error on the last device (even g), or it
		 * stays busy past the time limit (odd g): the step fails,
		 * the communicators are aborted, and every later step fails
		 * without queuing anything. */
		if (nccl) {
			cairn_optim opt;
			float l;
			cairn_optim_defaults(&opt);
			opt.adamw.step = 4;
			g_q_dev = bes[g - 1];
			g_q_busy = 5;
			g_q_looks = 0;
			cairn__comm_set_query(cm, step_query);
			assert_int_equal(
			    cairn_model_step(mm, B, M, x, y, &opt, &l), 0);
			assert_int_equal(g_q_looks, 6);
			opt.adamw.step = 5;
			if (g % 2 == 0) {
				fake_nccl.async_error[g - 1] = FAKE_NCCL_SYSTEM;
			} else {
				g_q_busy = -1;
				cairn__comm_set_timeout(cm, 0.02);
			}
			assert_int_equal(
			    cairn_model_step(mm, B, M, x, y, &opt, &l),
			    g % 2 ? CAIRN_ETIMEDOUT : CAIRN_EDEVICE);
			assert_int_equal(fake_nccl.aborted, g);
			opt.adamw.step = 6;
			assert_int_equal(
			    cairn_model_step(mm, B, M, x, y, &opt, &l),
			    CAIRN_EDEVICE);
		}
		cairn_model_free(mm);
		if (nccl) {
			/* two groups a step: to device 0 and back (the step
			 * after the abort queues none) */
			assert_int_equal(fake_nccl.groups, 2 * 5);
			assert_int_equal(fake_nccl.live, 0);
			assert_string_equal(fake_nccl.why, "");
		}
	}
	printf("  %" PRId64 " rows in %d micro-batches on 2..5 devices, "
	       "host and (imitated) NCCL transports: equal to one device\n",
	       B, M);
	cairn_model_free(ref);
	for (int d = 0; d < 5; d++) {
		fake_nccl_untrack(bes[d]);
		cairn_backend_close(bes[d]);
	}
	cairn_backend_close(one);
	free(x);
	free(y);
	free(want);
	free(got);
}

static void test_model_multi(void **state)
{
	static const int64_t h1[] = {40, 30}, h2[] = {64};
	cairn_mlp_spec a = cairn_test_mlp(50, 2, h1, 7, CAIRN_ACT_GELU);
	cairn_mlp_spec b = cairn_test_mlp(784, 1, h2, 10, CAIRN_ACT_RELU);
	cairn_backend *be = NULL;
	cairn_model *m = NULL;
	(void)state;

	check_multi(&a, 24, 4);
	check_multi(&a, 24, 3); /* uneven shares; G = 4, 5 leave devices idle */
	check_multi(&b, 32, 8);
	/* Argument checks. */
	assert_int_equal(cairn_backend_open(CAIRN_BACKEND_CPU, NULL, &be), 0);
	{
		cairn_backend *two[2] = {be, NULL};
		cairn__comm *c = NULL;
		assert_int_equal(cairn_model_create_multi(two, 2, &a, 8, 2, &m),
		                 CAIRN_EINVAL);
		assert_null(m);
		assert_int_equal(cairn_model_create_multi(two, 0, &a, 8, 2, &m),
		                 CAIRN_EINVAL);
		assert_int_equal(cairn_model_create_multi(two, 1, &a, 8, 2, &m),
		                 0);
		assert_int_equal(cairn_model_devices(m), 1);
		assert_string_equal(cairn_model_transport(m), "");
		/* no training set on the backend for a shared step */
		{
			cairn_backend *pair[2] = {be, be};
			cairn_model *mm = NULL;
			uint8_t img[CAIRN_DATASET_PIXELS] = {0}, lab[1] = {0};
			cairn_dataset ds = {1, img, lab};
			assert_int_equal(
			    cairn_model_create_multi(pair, 2, &b, 8, 2, &mm),
			    0);
			uint8_t root[32] = {0};
			assert_int_equal(cairn_model_attach_data(mm, &ds, root),
			                 CAIRN_ENOTSUP);
			cairn_model_free(mm);
		}
		/* no transport to replace on one device */
		assert_int_equal(cairn__comm_open(two, 1, &c), 0);
		assert_int_equal(cairn__model_set_comm(m, c), CAIRN_EINVAL);
		cairn__comm_close(c);
		cairn_model_free(m);
	}
	cairn_backend_close(be);
}

/* Device 1's ops, with its AdamW failing while g_fail_adamw is set (a
 * device that fails after the step's moves were queued). */
static int (*g_orig_op_run)(struct cairn_backend *, const struct cairn_op *);
static int g_fail_adamw;

static int failing_op_run(struct cairn_backend *be, const struct cairn_op *op)
{
	if (g_fail_adamw && op->kind == CAIRN_OP_ADAMW && op->u.adamw.n > 0)
		return CAIRN_EDEVICE;
	return g_orig_op_run(be, op);
}

/* A rig's step that fails after its moves were queued waits through the
 * comm before it returns, and freeing a rig waits too (transfers may be
 * pending, and freeing synchronizes the streams). */
static void test_rig_waits(void **state)
{
	static const int64_t h[] = {16};
	cairn_mlp_spec spec = cairn_test_mlp(20, 1, h, 5, CAIRN_ACT_RELU);
	cairn_backend *bes[2] = {NULL, NULL};
	cairn_model *mm = NULL;
	cairn__comm *c = NULL;
	cairn_optim opt;
	float x[8 * 20], l;
	int32_t y[8];
	struct cairn_backend_i *iface;
	(void)state;

	for (int d = 0; d < 2; d++) {
		assert_int_equal(
		    cairn_backend_open(CAIRN_BACKEND_CPU, NULL, &bes[d]), 0);
		fake_nccl_track(bes[d]);
	}
	/* device 1's table is the imitation's own copy (fake_nccl_track) */
	iface = (struct cairn_backend_i *)bes[1]->iface;
	g_orig_op_run = iface->op_run;
	iface->op_run = failing_op_run;
	for (int e = 0; e < 8 * 20; e++)
		x[e] = rnd_u01() - 0.5f;
	for (int r = 0; r < 8; r++)
		y[r] = (int32_t)(rnd() % 5);
	cairn_optim_defaults(&opt);
	opt.adamw.step = 1;
	assert_int_equal(cairn_model_create_multi(bes, 2, &spec, 8, 2, &mm), 0);
	fake_nccl_reset(bes, 2);
	assert_int_equal(cairn__comm_open_api(bes, 2, &fake_nccl_api, &c), 0);
	assert_int_equal(cairn__model_set_comm(mm, c), 0);
	assert_int_equal(cairn_model_init(mm, rnd()), 0);
	g_q_dev = bes[1];
	g_q_busy = 3;
	g_q_looks = 0;
	cairn__comm_set_query(c, step_query);
	g_fail_adamw = 1;
	assert_int_equal(cairn_model_step(mm, 8, 2, x, y, &opt, &l),
	                 CAIRN_EDEVICE);
	g_fail_adamw = 0;
	assert_int_equal(g_q_looks, 4); /* the failed step waited */
	g_q_busy = 6;
	cairn_model_free(mm);
	assert_int_equal(g_q_looks, 7); /* so did the free */
	assert_int_equal(fake_nccl.live, 0);
	assert_int_equal(fake_nccl.aborted, 0);
	iface->op_run = g_orig_op_run;
	for (int d = 0; d < 2; d++) {
		fake_nccl_untrack(bes[d]);
		cairn_backend_close(bes[d]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_one_micro_batch),
	    cmocka_unit_test(test_devices),
	    cmocka_unit_test(test_rig_waits),
	    cmocka_unit_test(test_model_multi),
	};

	cairn_log_set_level(CAIRN_LOG_WARN);
	g_seed = cairn_test_seed("test_step");
	g_rng = g_seed;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
