/* codegen_c.c: the C backend. From the optimized graph and its memory plan
 * it writes <model>.h and <model>.c: a straight run of runtime calls, one
 * per layer, every size a constant but the batch, every tensor at a planned
 * arena offset, with the layer's name, source line, shapes and cost in a
 * comment. It reads only the IR, never the syntax tree.
 *
 * Two weight blocks (see runtime/include/netc/model.h): the parameter block
 * holds the Keras tensors of the original graph, in the order of the
 * weights file; prepare() turns them into the compute block the kernels
 * read (batch norms folded, biases made explicit). */
#define _POSIX_C_SOURCE 200809L
#include "codegen_c.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ parameters */

static void add_param(Gen *gen, const Node *n, const char *suffix, int rank, const int64_t *shape,
                      const char *init, int64_t fan_in, int64_t fan_out, bool trainable) {
  ParamEntry *e;
  gen->params = arena_grow(gen->a, gen->params, &gen->cap_params, gen->nparams + 1, sizeof(ParamEntry));
  e = &gen->params[gen->nparams++];
  e->name = arena_printf(gen->a, "%s.%s", n->name, suffix);
  e->rank = rank;
  e->count = 1;
  for (int i = 0; i < rank; i++) {
    e->shape[i] = shape[i];
    e->count *= shape[i];
  }
  e->offset = gen->param_floats;
  gen->param_floats += e->count;
  e->init = init;
  e->fan_in = fan_in;
  e->fan_out = fan_out;
  e->trainable = trainable;
  e->decay = strstr(suffix, "kernel") != NULL;
  strmap_put(gen->param_index, e->name, e);
}

/* The Keras tensors of one layer, with Keras' names, layouts and initial
 * values (glorot_uniform kernels, zero biases, BN gamma 1 beta 0, mean 0,
 * variance 1; PReLU alpha 0). */
static void layer_params(Gen *gen, const Node *n) {
  const Attrs *a = &n->attr;
  const Shape *in = n->ninputs ? &n->inputs[0]->shape : NULL;
  int64_t kk = a->kernel[0] * a->kernel[1];
  switch (n->op) {
  case OP_CONV: {
    int64_t s[4] = {a->kernel[0], a->kernel[1], in->d[2] / a->groups, a->filters};
    add_param(gen, n, "kernel", 4, s, "NETC_INIT_GLOROT_UNIFORM", kk * s[2], kk * s[3], true);
    break;
  }
  case OP_DWCONV: {
    int64_t s[4] = {a->kernel[0], a->kernel[1], in->d[2], a->multiplier};
    add_param(gen, n, "depthwise_kernel", 4, s, "NETC_INIT_GLOROT_UNIFORM", kk * s[2], kk * s[3], true);
    break;
  }
  case OP_SEPCONV: {
    int64_t s[4] = {a->kernel[0], a->kernel[1], in->d[2], a->multiplier};
    add_param(gen, n, "depthwise_kernel", 4, s, "NETC_INIT_GLOROT_UNIFORM", kk * s[2], kk * s[3], true);
    int64_t pw[4] = {1, 1, in->d[2] * a->multiplier, a->filters};
    add_param(gen, n, "pointwise_kernel", 4, pw, "NETC_INIT_GLOROT_UNIFORM", pw[2], pw[3], true);
    break;
  }
  case OP_DENSE: {
    int64_t s[2] = {in->d[in->rank - 1], a->units};
    add_param(gen, n, "kernel", 2, s, "NETC_INIT_GLOROT_UNIFORM", s[0], s[1], true);
    break;
  }
  case OP_BN: {
    int64_t c[1] = {n->shape.d[n->shape.rank - 1]};
    add_param(gen, n, "gamma", 1, c, "NETC_INIT_ONES", 0, 0, true);
    add_param(gen, n, "beta", 1, c, "NETC_INIT_ZEROS", 0, 0, true);
    add_param(gen, n, "moving_mean", 1, c, "NETC_INIT_ZEROS", 0, 0, false);
    add_param(gen, n, "moving_variance", 1, c, "NETC_INIT_ONES", 0, 0, false);
    return;
  }
  case OP_PRELU: {
    int64_t s[4];
    for (int i = 0; i < n->shape.rank; i++)
      s[i] = a->shared_axes & (1 << (i + 1)) ? 1 : n->shape.d[i];
    add_param(gen, n, "alpha", n->shape.rank, s, "NETC_INIT_ZEROS", 0, 0, true);
    return;
  }
  default:
    return;
  }
  if (a->bias) {
    int64_t b[1] = {n->shape.d[n->shape.rank - 1]};
    add_param(gen, n, "bias", 1, b, "NETC_INIT_ZEROS", 0, 0, true);
  }
}

const ParamEntry *cg_param(Gen *gen, const Node *n, const char *suffix) {
  return strmap_get(gen->param_index, arena_printf(gen->a, "%s.%s", n->name, suffix));
}

/* ------------------------------------------------------------ helpers */

int64_t cg_chans(const Node *n) { return n->shape.d[n->shape.rank - 1]; }
int64_t cg_pixels(const Node *n) { return shape_elems(&n->shape) / cg_chans(n); }

const char *cg_rt_act(Act act) {
  switch (act) {
  case ACT_LINEAR: return "RT_ACT_LINEAR";
  case ACT_RELU: return "RT_ACT_RELU";
  case ACT_RELU6: return "RT_ACT_RELU6";
  case ACT_SIGMOID: return "RT_ACT_SIGMOID";
  case ACT_TANH: return "RT_ACT_TANH";
  case ACT_LEAKY_RELU: return "RT_ACT_LEAKY_RELU";
  case ACT_ELU: return "RT_ACT_ELU";
  case ACT_THRESHOLDED_RELU: return "RT_ACT_THRESHOLDED_RELU";
  case ACT_SOFTMAX: return "RT_ACT_LINEAR";  /* softmax runs after, on whole rows */
  }
  return "RT_ACT_LINEAR";
}

static Act op_act(OpKind op) {
  Act a = ACT_LINEAR;
  op_as_activation(op, &a);
  return a;
}

/* Inference tensors are t<id> at their planned view; training tensors are
 * a<id>, dense, each in its own buffer of the training plan. */
const char *cg_t(Gen *gen, const Node *n) { return arena_printf(gen->a, gen->tp ? "a%d" : "t%d", n->id); }
int64_t cg_cs(Gen *gen, const Node *n) { return gen->tp ? cg_chans(n) : gen->p->view[n->id].cs; }

static const char *epilogue(Gen *gen, const Node *n, int64_t bias_off) {
  const char *bias = bias_off >= 0 ? arena_printf(gen->a, "w + %" PRId64, bias_off) : "NULL";
  const char *res = n->residual ? cg_t(gen, n->residual) : "NULL";
  return arena_printf(gen->a, "{%s, %s, %s, %s, %" PRId64 "}", bias, res, cg_rt_act(n->attr.act),
                      em_float(gen->a, n->attr.act == ACT_LINEAR ? 0 : n->attr.alpha),
                      n->residual ? cg_cs(gen, n->residual) : (int64_t)0);
}

static void softmax_after(Gen *gen, const Node *n) {
  if (n->attr.act != ACT_SOFTMAX)
    return;
  em_line(&gen->e, "const RtEltwise sm = {N, %" PRId64 ", 1, %" PRId64 ", %" PRId64 ", %" PRId64 "};", cg_pixels(n),
          cg_chans(n), cg_cs(gen, n), cg_cs(gen, n));
  em_line(&gen->e, "CHECK(rt_softmax(ctx, %s, %s, &sm));", cg_t(gen, n), cg_t(gen, n));
}

const char *cg_eltwise(Gen *gen, const Node *n, const Node *in) {
  return arena_printf(gen->a, "{N, %" PRId64 ", 1, %" PRId64 ", %" PRId64 ", %" PRId64 "}", cg_pixels(n), cg_chans(n),
                      in ? cg_cs(gen, in) : cg_chans(n), cg_cs(gen, n));
}

/* ------------------------------------------------------------ compute weights */

static int64_t round16(int64_t floats) { return (floats + 15) / 16 * 16; } /* 64-byte aligned */

/* Floats of a [rows, cols] matrix packed for the runtime's register GEMM:
 * columns padded to whole 32-float panels (rtk_gemm_packed_floats). */
static int64_t packed_floats(int64_t rows, int64_t cols) { return rows * ((cols + 31) / 32 * 32); }

static int64_t take(Gen *gen, int64_t floats) {
  int64_t off = gen->compute_floats;
  gen->compute_floats += round16(floats);
  return off;
}

/* An inference separable conv whose depthwise half fits the fused kernel
 * runs as one rt_dwconv2d_pointwise: its pointwise kernel is packed at
 * load, and the depthwise half never reaches memory. Training keeps the
 * two steps (the backward pass reads the depthwise output). */
static bool sepconv_fused(const Gen *gen, const Node *n) { return !gen->tp && pass_sepconv_fuses(n); }

/* Inference convs other than Winograd's and the depthwise-shaped ones
 * (groups == input channels) run on a kernel packed at load. */
static bool conv_packed(const Node *n) {
  return n->op == OP_CONV && !n->winograd_tile && !(n->attr.groups > 1 && n->inputs[0]->shape.d[2] == n->attr.groups);
}

/* Emits the fold of batch norm bn into a scale (at w + s) and a shift (at
 * w + sh) per channel, c channels. */
static void emit_bn_fold(Gen *gen, const Node *bn, int64_t s, int64_t sh, int64_t c) {
  em_line(&gen->e, "rt_bn_fold(w + %" PRId64 ", w + %" PRId64 ", p + %" PRId64 ", p + %" PRId64 ", p + %" PRId64
                   ", p + %" PRId64 ", %s, %" PRId64 ");",
          s, sh, cg_param(gen, bn, "gamma")->offset, cg_param(gen, bn, "beta")->offset,
          cg_param(gen, bn, "moving_mean")->offset, cg_param(gen, bn, "moving_variance")->offset,
          em_float(gen->a, bn->attr.epsilon), c);
}

/* Lays out the compute block and writes prepare(). */
/* The kernel (k), bias, a folded batch norm and a pre-activation of
 * layer n into the compute block, their offsets into *kernel, *bias and
 * *preact (-1: none). stage >= 0: the kernel and the fold's scale and
 * shift go to the staging area at that offset instead, for a layer whose
 * forward reads only a copy made from them (stage_floats). */
static void prepare_layer(Gen *gen, const Node *n, const ParamEntry *k, int64_t *kernel, int64_t *bias,
                          int64_t *preact, int64_t stage) {
  Emitter *e = &gen->e;
  const char *name = em_comment_text(gen->a, n->name);
  int64_t oc = cg_chans(n);
  const ParamEntry *b = cg_param(gen, n, "bias");
  *kernel = stage >= 0 ? stage : take(gen, k->count);
  *bias = take(gen, oc);
  *preact = -1;
  em_line(e, "/* %s (%s) */", name, op_keras_type(n->op));
  em_line(e, "memcpy(w + %" PRId64 ", p + %" PRId64 ", %" PRId64 " * sizeof(float));", *kernel, k->offset, k->count);
  if (b)
    em_line(e, "memcpy(w + %" PRId64 ", p + %" PRId64 ", %" PRId64 " * sizeof(float));", *bias, b->offset, oc);
  else
    em_line(e, "memset(w + %" PRId64 ", 0, %" PRId64 " * sizeof(float));  /* no bias: zeros */", *bias, oc);
  if (n->bn_folded) {
    const Node *bn = n->bn_folded;
    int64_t s = stage >= 0 ? stage + round16(k->count) : take(gen, oc);
    int64_t sh = stage >= 0 ? s + round16(oc) : take(gen, oc);
    em_line(e, "/* %s folded in: kernel and bias scaled per output channel */", em_comment_text(gen->a, bn->name));
    emit_bn_fold(gen, bn, s, sh, oc);
    em_line(e,
            "rt_fold_affine(w + %" PRId64 ", w + %" PRId64 ", w + %" PRId64 ", w + %" PRId64 ", %" PRId64
            ", %" PRId64 ");",
            *kernel, *bias, s, sh, k->count / oc, oc);
  }
  if (n->preact) {
    const Node *bn = n->preact;
    int64_t cin = cg_chans(bn);
    *preact = take(gen, 2 * cin);
    em_line(e, "/* %s, applied to %s's input as it reads it: a scale and shift per input channel */",
            em_comment_text(gen->a, bn->name), name);
    emit_bn_fold(gen, bn, *preact, *preact + cin, cin);
  }
}

/* Winograd layers whose maps are a few blocks (small maps at batch 1, or
 * 2 for F(2x2)) read their kernel there, 9 floats a channel pair instead
 * of the transformed copy's 16 or 36: rt_conv2d_winograd's `fly`, a second
 * copy that prepare() makes with rt_winograd_fly_kernel. Mirrors
 * conv_winograd.c's FLY_MAX_BLOCKS, FLY4_MAX_BLOCKS and RTK_FLY_LANES: the
 * copy is made where one image's blocks are that few. */
enum { WINOGRAD_FLY_MAX_BLOCKS = 8, WINOGRAD_FLY4_MAX_BLOCKS = 4, WINOGRAD_FLY_CHANNELS = 16 };

static bool winograd_fly(const Node *n) {
  int64_t t = n->winograd_tile;
  if (n->op != OP_CONV || !t || cg_chans(n) % WINOGRAD_FLY_CHANNELS)
    return false;
  int64_t blocks = ((n->shape.d[0] + t - 1) / t) * ((n->shape.d[1] + t - 1) / t);
  return blocks <= (t == 2 ? WINOGRAD_FLY_MAX_BLOCKS : WINOGRAD_FLY4_MAX_BLOCKS);
}

/* Layers whose forward reads only a packed or transformed copy of their
 * kernel: the kernel itself (folded) is needed only while prepare() makes
 * that copy, so all of them share one staging area instead of keeping a
 * block each (17.5 of resnet_mini's 57.8 MB). */
static bool kernel_staged(const Gen *gen, const Node *n) {
  return (n->op == OP_CONV && (n->winograd_tile || conv_packed(n))) || sepconv_fused(gen, n);
}

/* Floats of the staging area: the largest staged kernel, with room for
 * its batch norm's scale and shift. */
static int64_t stage_floats(Gen *gen) {
  int64_t most = 0;
  for (int i = 0; i < gen->g->nnodes; i++) {
    const Node *n = gen->g->nodes[i];
    if (!kernel_staged(gen, n))
      continue;
    const ParamEntry *k = cg_param(gen, n, n->op == OP_SEPCONV ? "pointwise_kernel" : "kernel");
    int64_t f = round16(k->count);
    if (n->shortcut) /* its kernel right after n's, then its batch norm's scale and shift */
      f += round16(cg_param(gen, n->shortcut, "kernel")->count);
    if (n->bn_folded || n->shortcut)
      f += 2 * round16(cg_chans(n));
    most = f > most ? f : most;
  }
  return most;
}

static void emit_prepare(Gen *gen, const char *id) {
  Emitter *e = &gen->e;
  em_open(e, "void %s_prepare(float *w, const float *p) {", id);
  int64_t staged = stage_floats(gen);
  int64_t stage = staged ? take(gen, staged) : -1;
  if (staged)
    em_line(e, "/* w[%" PRId64 ", %" PRId64 "): staging for the kernels only their copies below are made from */",
            stage, stage + staged);
  for (int i = 0; i < gen->g->nnodes; i++) {
    const Node *n = gen->g->nodes[i];
    const char *name = em_comment_text(gen->a, n->name);
    const ParamEntry *k = NULL;
    int64_t oc = cg_chans(n);
    switch (n->op) {
    case OP_CONV:
    case OP_DENSE: k = cg_param(gen, n, "kernel"); break;
    case OP_DWCONV: k = cg_param(gen, n, "depthwise_kernel"); break;
    case OP_SEPCONV: k = cg_param(gen, n, "pointwise_kernel"); break;
    case OP_BN: {
      int64_t s = take(gen, oc), sh = take(gen, oc);
      gen->w_extra[i] = s;
      gen->w_extra2[i] = sh;
      em_line(e, "/* %s: batch norm as a per-channel scale and shift */", name);
      emit_bn_fold(gen, n, s, sh, oc);
      continue;
    }
    case OP_AVGPOOL:
      if (n->preact) { /* fuse_preactivation.c */
        int64_t cin = cg_chans(n->preact);
        gen->w_preact[i] = take(gen, 2 * cin);
        em_line(e, "/* %s, applied to %s's input as it reads it: a scale and shift per channel */",
                em_comment_text(gen->a, n->preact->name), name);
        emit_bn_fold(gen, n->preact, gen->w_preact[i], gen->w_preact[i] + cin, cin);
      }
      continue;
    case OP_PRELU: {
      const ParamEntry *al = cg_param(gen, n, "alpha");
      gen->w_extra[i] = take(gen, al->count);
      em_line(e, "memcpy(w + %" PRId64 ", p + %" PRId64 ", %" PRId64 " * sizeof(float));  /* %s.alpha */",
              gen->w_extra[i], al->offset, al->count, name);
      continue;
    }
    default:
      continue;
    }
    prepare_layer(gen, n, k, &gen->w_kernel[i], &gen->w_bias[i], &gen->w_preact[i],
                  kernel_staged(gen, n) ? stage : -1);
    if (n->op == OP_SEPCONV) {
      const ParamEntry *dk = cg_param(gen, n, "depthwise_kernel");
      gen->w_extra[i] = take(gen, dk->count);
      em_line(e, "memcpy(w + %" PRId64 ", p + %" PRId64 ", %" PRId64 " * sizeof(float));", gen->w_extra[i],
              dk->offset, dk->count);
      if (sepconv_fused(gen, n)) {
        int64_t rows = k->count / oc;
        gen->w_extra2[i] = take(gen, packed_floats(rows, oc));
        em_line(e, "/* %s: the pointwise kernel packed for the runtime's GEMM */", name);
        em_line(e, "rt_conv2d_pack_kernel(w + %" PRId64 ", w + %" PRId64 ", %" PRId64 ", %" PRId64 ", 1);",
                gen->w_extra2[i], gen->w_kernel[i], rows, oc);
      }
    }
    if (n->dw_before) {
      const Node *dw = n->dw_before;
      prepare_layer(gen, dw, cg_param(gen, dw, "depthwise_kernel"), &gen->w_dw_kernel[i], &gen->w_dw_bias[i],
                    &gen->w_dw_preact[i], -1);
    }
    int64_t shortcut_rows = 0;
    if (n->shortcut) { /* fuse_shortcut_conv.c: its kernel rows below n's, packed as one */
      const Node *r = n->shortcut;
      const ParamEntry *rk = cg_param(gen, r, "kernel");
      int64_t r_kernel, r_bias, r_preact;
      NETC_ASSERT(kernel_staged(gen, n));
      prepare_layer(gen, r, rk, &r_kernel, &r_bias, &r_preact, gen->w_kernel[i] + k->count);
      em_line(e, "for (int j = 0; j < %" PRId64 "; j++)  /* %s adds its bias to %s's */", oc,
              em_comment_text(gen->a, r->name), name);
      em_line(e, "  w[%" PRId64 " + j] += w[%" PRId64 " + j];", gen->w_bias[i], r_bias);
      shortcut_rows = rk->count / oc;
    }
    /* The sizes below mirror rt_winograd_kernel_floats and
     * rt_conv2d_packed_kernel_floats (packed_floats). */
    if (n->winograd_tile) {
      int64_t cin = k->count / (9 * oc), t = n->winograd_tile;
      gen->w_extra[i] = take(gen, (t + 2) * (t + 2) * packed_floats(cin, oc));
      em_line(e, "/* %s: the kernel transformed for Winograd's F(%" PRId64 "x%" PRId64 ", 3x3) */", name, t, t);
      em_line(e, "rt_winograd_kernel(w + %" PRId64 ", w + %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ");",
              gen->w_extra[i], gen->w_kernel[i], cin, oc, t);
      if (winograd_fly(n)) { /* mirrors rt_winograd_fly_kernel_floats */
        gen->w_extra2[i] = take(gen, 9 * cin * oc);
        gen->fly_floats += round16(9 * cin * oc);
        em_line(e, "/* %s: the kernel laid out for Winograd from the kernel on a few blocks */", name);
        em_line(e, "rt_winograd_fly_kernel(w + %" PRId64 ", w + %" PRId64 ", %" PRId64 ", %" PRId64 ");",
                gen->w_extra2[i], gen->w_kernel[i], cin, oc);
      }
    } else if (conv_packed(n)) {
      int64_t groups = n->attr.groups, rows = k->count / oc + shortcut_rows, ocg = oc / groups;
      gen->w_extra[i] = take(gen, groups * packed_floats(rows, ocg));
      em_line(e, "/* %s: the kernel packed for the runtime's GEMM */", name);
      em_line(e, "rt_conv2d_pack_kernel(w + %" PRId64 ", w + %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ");",
              gen->w_extra[i], gen->w_kernel[i], rows, oc, groups);
    }
  }
  em_close(e, "}");
}

/* ------------------------------------------------------------ forward */

static void conv_desc(Gen *gen, const char *var, const Node *n, const Node *in, int64_t in_c, int64_t in_cs,
                      int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t pt, int64_t pl, int64_t groups);

void cg_prelu_desc(Gen *gen, const Node *n) {
  const ParamEntry *al = cg_param(gen, n, "alpha");
  /* Slopes [h, w, c], an axis of size 1 where Keras shares it. */
  int64_t h = 1, w = 1, ah = 1, aw = 1, ac = al->shape[al->rank - 1];
  if (n->shape.rank == 3) {
    h = n->shape.d[0];
    w = n->shape.d[1];
    ah = al->shape[0];
    aw = al->shape[1];
  } else if (n->shape.rank == 2) {
    h = n->shape.d[0];
    ah = al->shape[0];
  }
  em_line(&gen->e,
          "const RtPRelu d = {N, %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64
          ", %" PRId64 ", %" PRId64 "};",
          h, w, cg_chans(n), cg_cs(gen, n->inputs[0]), cg_cs(gen, n), ah, aw, ac);
}

void cg_conv_desc(Gen *gen, const char *var, const Node *n, const Node *in) {
  const Attrs *a = &n->attr;
  conv_desc(gen, var, n, in, in->shape.d[2], cg_cs(gen, in), a->kernel[0], a->kernel[1], a->stride[0], a->stride[1],
            a->pad[0], a->pad[2], a->groups);
}

static void conv_desc(Gen *gen, const char *var, const Node *n, const Node *in, int64_t in_c, int64_t in_cs,
                      int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t pt, int64_t pl, int64_t groups) {
  em_line(&gen->e,
          "const RtConv2d %s = {N, %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64
          ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64
          ", %" PRId64 "};",
          var, in->shape.d[0], in->shape.d[1], in_c, in_cs, n->shape.d[0], n->shape.d[1], cg_chans(n), cg_cs(gen, n), kh,
          kw, sh, sw, pt, pl, groups);
}

int cg_conv_winograd(const Gen *gen, const Node *n) {
  if (gen->tp)
    return gen->train_winograd ? pass_winograd_tile(n) : 0;
  return n->winograd_tile;
}

/* `const RtDwConv2d d` of depthwise conv n reading in, its output's
 * channel stride out_cs. Through a max pool (pool_before) the conv sees
 * the pooled map's size, in the channel stride of the pool's input. */
static void dw_desc(Gen *gen, const Node *n, const Node *in, int64_t out_cs) {
  const Attrs *a = &n->attr;
  int64_t in_cs = cg_cs(gen, in);
  if (n->pool_before)
    in = n->pool_before;
  em_line(&gen->e,
          "const RtDwConv2d d = {N, %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64
          ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64
          "};",
          in->shape.d[0], in->shape.d[1], in->shape.d[2], in_cs, n->shape.d[0], n->shape.d[1], out_cs,
          a->kernel[0], a->kernel[1], a->stride[0], a->stride[1], a->pad[0], a->pad[2], a->multiplier);
}

/* `const RtPreact pre` of layer n (a depthwise or Winograd conv, an
 * average pool): its max pool
 * (pool_before, depthwise only) and its batch norm (preact, the scale and
 * shift at w + off). */
static void preact_desc(Gen *gen, const Node *n, int64_t off) {
  const Node *bn = n->preact, *pool = n->pool_before;
  const char *map = "NULL, NULL, RT_ACT_LINEAR, 0.0f";
  if (bn)
    map = arena_printf(gen->a, "w + %" PRId64 ", w + %" PRId64 ", %s, %s", off, off + cg_chans(bn),
                       cg_rt_act(bn->attr.act), em_float(gen->a, bn->attr.act == ACT_LINEAR ? 0 : bn->attr.alpha));
  const Node *src = pool ? pool->inputs[0] : NULL;
  em_line(&gen->e, "const RtPreact pre = {%s, %" PRId64 ", %" PRId64 ", %" PRId64 "};", map,
          pool ? pool->attr.kernel[0] : (int64_t)0, src ? src->shape.d[0] : (int64_t)0,
          src ? src->shape.d[1] : (int64_t)0);
}

/* The call of rt_dwconv2d_pointwise for layer n, after `d` and `dw_ep`
 * (and `pre` when has_pre): depthwise kernel and packed pointwise kernel
 * at w + dw_kernel and w + packed, n's own epilogue; with n's shortcut
 * conv (fuse_shortcut_conv.c), rt_dwconv2d_pointwise_shortcut. */
static void emit_dw_pointwise_call(Gen *gen, const Node *n, const char *out, const char *src, int64_t dw_kernel,
                                   bool has_pre, int64_t packed) {
  const Node *r = n->shortcut;
  em_line(&gen->e, "const RtEpilogue ep = %s;", epilogue(gen, n, gen->w_bias[n->id]));
  if (r) {
    const Node *x = r->inputs[0];
    em_line(&gen->e,
            "const RtShortcut sc = {%s, %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64
            "};  /* %s */",
            cg_t(gen, x), x->shape.d[0], x->shape.d[1], x->shape.d[2], cg_cs(gen, x), r->attr.stride[0],
            r->attr.stride[1], em_comment_text(gen->a, r->name));
  }
  em_line(&gen->e,
          "CHECK(rt_dwconv2d_pointwise%s(ctx, %s, %s, w + %" PRId64 ", %s, &dw_ep, &d, %sw + %" PRId64 ", &ep, %" PRId64
          ", %" PRId64 "));",
          r ? "_shortcut" : "", out, src, dw_kernel, has_pre ? "&pre" : "NULL", r ? "&sc, " : "", packed, cg_chans(n),
          cg_cs(gen, n));
  softmax_after(gen, n);
}

/* A 1x1 conv with its depthwise conv before it (fuse_dw_pointwise.c). */
static void emit_dw_pointwise(Gen *gen, const Node *n, const char *out, const char *src) {
  const Node *dw = n->dw_before;
  bool has_pre = dw->preact || dw->pool_before;
  dw_desc(gen, dw, n->inputs[0], cg_chans(dw)); /* its output: the kernel's dense tile */
  em_line(&gen->e, "const RtEpilogue dw_ep = %s;", epilogue(gen, dw, gen->w_dw_bias[n->id]));
  if (has_pre)
    preact_desc(gen, dw, gen->w_dw_preact[n->id]);
  emit_dw_pointwise_call(gen, n, out, src, gen->w_dw_kernel[n->id], has_pre, gen->w_extra[n->id]);
}

void cg_emit_node(Gen *gen, const Node *n) {
  Emitter *e = &gen->e;
  const Attrs *a = &n->attr;
  const Node *in = n->ninputs ? n->inputs[0] : NULL;
  const char *out = cg_t(gen, n);
  const char *src = in ? cg_t(gen, in) : NULL;
  switch (n->op) {
  case OP_INPUT:
    if (gen->tp)
      em_line(e, "memcpy(%s, input, (size_t)N * %" PRId64 " * sizeof(float));", out, shape_elems(&n->shape));
    else
      em_line(e, "/* read in place from the caller's buffer */");
    return;
  case OP_CONV:
    if (n->dw_before) {
      emit_dw_pointwise(gen, n, out, src);
      return;
    }
    conv_desc(gen, "d", n, in, in->shape.d[2], cg_cs(gen, in), a->kernel[0], a->kernel[1], a->stride[0], a->stride[1],
              a->pad[0], a->pad[2], a->groups);
    em_line(e, "const RtEpilogue ep = %s;", epilogue(gen, n, gen->w_bias[n->id]));
    if (gen->tp && cg_conv_winograd(gen, n))  /* the kernel transformed in the call */
      em_line(e, "CHECK(rt_conv2d_winograd_train(ctx, %s, %s, w + %" PRId64 ", &ep, &d, %d, ws, ws_floats));", out,
              src, gen->w_kernel[n->id], cg_conv_winograd(gen, n));
    else if (n->winograd_tile) {
      const char *fly = winograd_fly(n) ? arena_printf(gen->a, "w + %" PRId64, gen->w_extra2[n->id]) : "NULL";
      if (n->preact) {
        preact_desc(gen, n, gen->w_preact[n->id]);
        em_line(e, "CHECK(rt_conv2d_winograd_preact(ctx, %s, %s, w + %" PRId64 ", %s, &pre, &ep, &d, %d, ws, ws_floats));",
                out, src, gen->w_extra[n->id], fly, n->winograd_tile);
      } else
        em_line(e, "CHECK(rt_conv2d_winograd(ctx, %s, %s, w + %" PRId64 ", %s, &ep, &d, %d, ws, ws_floats));", out, src,
                gen->w_extra[n->id], fly, n->winograd_tile);
    }
    else if (!gen->tp && conv_packed(n))
      em_line(e, "CHECK(rt_conv2d_packed(ctx, %s, %s, w + %" PRId64 ", &ep, &d, ws, ws_floats));", out, src,
              gen->w_extra[n->id]);
    else
      em_line(e, "CHECK(rt_conv2d(ctx, %s, %s, w + %" PRId64 ", &ep, &d, ws, ws_floats));", out, src,
              gen->w_kernel[n->id]);
    softmax_after(gen, n);
    return;
  case OP_DWCONV:
    dw_desc(gen, n, in, cg_cs(gen, n));
    em_line(e, "const RtEpilogue ep = %s;", epilogue(gen, n, gen->w_bias[n->id]));
    if (n->preact || n->pool_before) {
      preact_desc(gen, n, gen->w_preact[n->id]);
      em_line(e, "CHECK(rt_dwconv2d_preact(ctx, %s, %s, w + %" PRId64 ", &pre, &ep, &d));", out, src,
              gen->w_kernel[n->id]);
    } else {
      em_line(e, "CHECK(rt_dwconv2d(ctx, %s, %s, w + %" PRId64 ", &ep, &d));", out, src, gen->w_kernel[n->id]);
    }
    softmax_after(gen, n);
    return;
  case OP_SEPCONV: {
    const TensorView *sv = gen->tp ? NULL : &gen->p->scratch[n->id];
    int64_t mid = in->shape.d[2] * a->multiplier;
    if (sepconv_fused(gen, n)) {
      dw_desc(gen, n, in, mid);
      em_line(e, "const RtEpilogue dw_ep = {NULL, NULL, RT_ACT_LINEAR, 0.0f, 0};");
      emit_dw_pointwise_call(gen, n, out, src, gen->w_extra[n->id], false, gen->w_extra2[n->id]);
      return;
    }
    em_line(e, "float *mid = (float *)(arena + (size_t)N * %" PRId64 ");  /* depthwise half */",
            gen->tp ? gen->tp->save[n->id] : gen->p->root_offset[sv->root]);
    em_line(e,
            "const RtDwConv2d dw = {N, %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64
            ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64
            "};",
            in->shape.d[0], in->shape.d[1], in->shape.d[2], cg_cs(gen, in), n->shape.d[0], n->shape.d[1], mid,
            a->kernel[0], a->kernel[1], a->stride[0], a->stride[1], a->pad[0], a->pad[2], a->multiplier);
    em_line(e, "CHECK(rt_dwconv2d(ctx, mid, %s, w + %" PRId64 ", NULL, &dw));", src, gen->w_extra[n->id]);
    em_line(&gen->e,
            "const RtConv2d pw = {N, %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64
            ", %" PRId64 ", %" PRId64 ", 1, 1, 1, 1, 0, 0, 1};",
            n->shape.d[0], n->shape.d[1], mid, mid, n->shape.d[0], n->shape.d[1], cg_chans(n), cg_cs(gen, n));
    em_line(e, "const RtEpilogue ep = %s;", epilogue(gen, n, gen->w_bias[n->id]));
    em_line(e, "CHECK(rt_conv2d(ctx, %s, mid, w + %" PRId64 ", &ep, &pw, ws, ws_floats));", out,
            gen->w_kernel[n->id]);
    softmax_after(gen, n);
    return;
  }
  case OP_DENSE: {
    int64_t cin = in->shape.d[in->shape.rank - 1];
    em_line(e, "const RtDense d = {N * %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 "};",
            cg_pixels(n), cin, a->units, cg_cs(gen, in), cg_cs(gen, n));
    em_line(e, "const RtEpilogue ep = %s;", epilogue(gen, n, gen->w_bias[n->id]));
    em_line(e, "CHECK(rt_dense(ctx, %s, %s, w + %" PRId64 ", &ep, &d));", out, src, gen->w_kernel[n->id]);
    softmax_after(gen, n);
    return;
  }
  case OP_MAXPOOL:
  case OP_AVGPOOL:
    em_line(e,
            "const RtPool2d d = {N, %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64
            ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 "};",
            in->shape.d[0], in->shape.d[1], in->shape.d[2], cg_cs(gen, in), n->shape.d[0], n->shape.d[1], cg_cs(gen, n),
            a->kernel[0], a->kernel[1], a->stride[0], a->stride[1], a->pad[0], a->pad[2]);
    if (n->preact) {
      preact_desc(gen, n, gen->w_preact[n->id]);
      em_line(e, "CHECK(rt_avgpool2d_preact(ctx, %s, %s, &pre, &d));", out, src);
    } else {
      em_line(e, "CHECK(rt_%s2d(ctx, %s, %s, &d));", n->op == OP_MAXPOOL ? "maxpool" : "avgpool", out, src);
    }
    return;
  case OP_GLOBAL_AVGPOOL:
  case OP_GLOBAL_MAXPOOL:
    em_line(e, "const RtEltwise d = {N, %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 "};",
            in->shape.d[0], in->shape.d[1], in->shape.d[2], cg_cs(gen, in), cg_cs(gen, n));
    em_line(e, "CHECK(rt_%s(ctx, %s, %s, &d));", n->op == OP_GLOBAL_AVGPOOL ? "global_avgpool" : "global_maxpool",
            out, src);
    return;
  case OP_FLATTEN:
  case OP_DROPOUT:
  case OP_LINEAR:
    if (gen->tp && n->op == OP_DROPOUT) {
      em_line(e, "const RtEltwise d = %s;", cg_eltwise(gen, n, in));
      em_line(e, "uint8_t *mask = (uint8_t *)(arena + (size_t)N * %" PRId64 ");", gen->tp->save[n->id]);
      em_line(e, "CHECK(rt_dropout_train(ctx, %s, mask, %s, %s, seed ^ %dull, &d));", out, src,
              em_float(gen->a, a->rate), n->id * 7919 + 1);
      return;
    }
    if (!gen->tp && gen->p->view[n->id].root == gen->p->view[in->id].root && n->op == OP_FLATTEN) {
      em_line(e, "/* a view of %s's buffer: nothing to do */", em_comment_text(gen->a, in->name));
      return;
    }
    /* A copy, pixel by pixel, when the input is strided or passes are off. */
    em_line(e, "const RtEltwise d = {N, %" PRId64 ", 1, %" PRId64 ", %" PRId64 ", %" PRId64 "};", cg_pixels(in),
            cg_chans(in), cg_cs(gen, in), n->op == OP_FLATTEN ? cg_chans(in) : cg_cs(gen, n));
    em_line(e, "CHECK(rt_copy(ctx, %s, %s, &d));", out, src);
    return;
  case OP_BN:
    if (gen->tp) {
      /* Batch statistics; the moving averages are updated in place. */
      int64_t c = cg_chans(n);
      em_line(e, "const RtEltwise d = %s;", cg_eltwise(gen, n, in));
      em_line(e, "const RtEpilogue ep = %s;", epilogue(gen, n, -1));
      em_line(e, "float *save = (float *)(arena + (size_t)N * %" PRId64 ");", gen->tp->save[n->id]);
      em_line(e, "CHECK(rt_batchnorm_train(ctx, %s, save, save + %" PRId64 ", w + %" PRId64 ", w + %" PRId64
                 ", %s, w + %" PRId64 ", w + %" PRId64 ", %s, %s, &ep, &d));",
              out, c, cg_param(gen, n, "moving_mean")->offset, cg_param(gen, n, "moving_variance")->offset, src,
              cg_param(gen, n, "gamma")->offset, cg_param(gen, n, "beta")->offset,
              em_float(gen->a, n->attr.momentum), em_float(gen->a, n->attr.epsilon));
      return;
    }
    em_line(e, "const RtEltwise d = %s;", cg_eltwise(gen, n, in));
    em_line(e, "const RtEpilogue ep = %s;", epilogue(gen, n, -1));
    em_line(e, "CHECK(rt_channel_affine(ctx, %s, %s, w + %" PRId64 ", w + %" PRId64 ", &ep, &d));", out, src,
            gen->w_extra[n->id], gen->w_extra2[n->id]);
    return;
  case OP_ZEROPAD:
    em_line(e,
            "const RtPad d = {N, %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64
            ", %" PRId64 ", %" PRId64 ", %" PRId64 "};",
            in->shape.d[0], in->shape.d[1], in->shape.d[2], cg_cs(gen, in), cg_cs(gen, n), a->pad[0], a->pad[1], a->pad[2],
            a->pad[3]);
    em_line(e, "CHECK(rt_zeropad(ctx, %s, %s, &d));", out, src);
    return;
  case OP_CONCAT: {
    if (!gen->tp && gen->p->concat_free[n->id]) {  /* training copies: no views */
      em_line(e, "/* free: its inputs were written into their channel slices */");
      return;
    }
    char *list = "", *ch = "";
    for (int j = 0; j < n->ninputs; j++) {
      list = arena_printf(gen->a, "%s%s%s", list, j ? ", " : "", cg_t(gen, n->inputs[j]));
      ch = arena_printf(gen->a, "%s%s%" PRId64, ch, j ? ", " : "", cg_chans(n->inputs[j]));
    }
    em_line(e, "const float *const ins[] = {%s};", list);
    em_line(e, "const int chans[] = {%s};", ch);
    em_line(e, "const RtEltwise d = %s;", cg_eltwise(gen, n, NULL));
    em_line(e, "CHECK(rt_concat(ctx, %s, ins, chans, %d, &d));", out, n->ninputs);
    return;
  }
  case OP_ADD: {
    char *list = "";
    for (int j = 0; j < n->ninputs; j++)
      list = arena_printf(gen->a, "%s%s%s", list, j ? ", " : "", cg_t(gen, n->inputs[j]));
    em_line(e, "const float *const ins[] = {%s};", list);
    em_line(e, "const RtEltwise d = %s;", cg_eltwise(gen, n, in));
    em_line(e, "const RtEpilogue ep = %s;", epilogue(gen, n, -1));
    em_line(e, "CHECK(rt_add(ctx, %s, ins, %d, &ep, &d));", out, n->ninputs);
    softmax_after(gen, n);
    return;
  }
  case OP_MULTIPLY: {
    /* The full-size operand, then the per-channel one (if any). */
    const Node *big = n->inputs[0], *small = n->inputs[1];
    if (shape_elems(&small->shape) > shape_elems(&big->shape)) {
      big = n->inputs[1];
      small = n->inputs[0];
    }
    NETC_ASSERT(n->ninputs == 2);
    if (shape_elems(&small->shape) == shape_elems(&big->shape)) {
      /* Equal shapes: every pixel is its own "image" scaled by the other
       * tensor's matching pixel. */
      em_line(e, "const RtEltwise d = {N * %" PRId64 ", 1, 1, %" PRId64 ", %" PRId64 ", %" PRId64 "};", cg_pixels(n),
              cg_chans(n), cg_cs(gen, big), cg_cs(gen, n));
    } else {
      em_line(e, "const RtEltwise d = %s;", cg_eltwise(gen, n, big));
    }
    em_line(e, "const RtEpilogue ep = %s;", epilogue(gen, n, -1));
    em_line(e, "CHECK(rt_mul_channel(ctx, %s, %s, %s, %" PRId64 ", &ep, &d));", out, cg_t(gen, big), cg_t(gen, small),
            cg_cs(gen, small));
    softmax_after(gen, n);
    return;
  }
  case OP_SOFTMAX:
    em_line(e, "const RtEltwise d = %s;", cg_eltwise(gen, n, in));
    em_line(e, "CHECK(rt_softmax(ctx, %s, %s, &d));", out, src);
    return;
  case OP_PRELU: {
    cg_prelu_desc(gen, n);
    em_line(e, "CHECK(rt_prelu(ctx, %s, %s, w + %" PRId64 ", &d));", out, src, gen->w_extra[n->id]);
    return;
  }
  case OP_RELU:
  case OP_RELU6:
  case OP_SIGMOID:
  case OP_TANH:
  case OP_LEAKY_RELU:
  case OP_ELU:
  case OP_THRESHOLDED_RELU:
    em_line(e, "const RtEltwise d = %s;", cg_eltwise(gen, n, in));
    em_line(e, "CHECK(rt_activation(ctx, %s, %s, %s, %s, &d));", out, src, cg_rt_act(op_act(n->op)),
            em_float(gen->a, n->op == OP_LEAKY_RELU || n->op == OP_ELU || n->op == OP_THRESHOLDED_RELU ? a->alpha : 0));
    return;
  case OP_COUNT:
    break;
  }
  NETC_ASSERT(!"op without C emission");
}

/* The MACs layer n runs for one image: its own and those of the layers
 * fused into it that multiply (a depthwise conv run first, a shortcut conv
 * in its GEMM). Folded batch norms, pre-activations, pools and residual
 * adds are element-wise: the report counts no MACs for them. */
static int64_t layer_macs_per_image(const Gen *gen, const Node *n) {
  int64_t macs = n->macs;
  if (n->dw_before)
    macs += n->dw_before->macs;
  if (n->shortcut)
    macs += n->shortcut->macs;
  return macs / gen->c->totals.batch;
}

const char *cg_comment_line(Gen *gen, const Node *n) {
  int line, col;
  diag_line_col(&gen->c->diag, n->loc, &line, &col);
  char shape[64], macs[32];
  const char *ins = "";
  for (int j = 0; j < n->ninputs; j++) {
    char s[64];
    ins = arena_printf(gen->a, "%s%s%s", ins, j ? " + " : "", shape_str(&n->inputs[j]->shape, s, sizeof s));
  }
  const char *extra = "";
  const Node *dw = n->dw_before ? n->dw_before : n->op == OP_DWCONV ? n : NULL;
  if (n->dw_before)
    extra = arena_printf(gen->a, "%s, %s first", extra, dw->name);
  if (dw && dw->pool_before)
    extra = arena_printf(gen->a, "%s, %s as it reads", extra, dw->pool_before->name);
  if (n->dw_before && dw->preact)
    extra = arena_printf(gen->a, "%s, %s before it", extra, dw->preact->name);
  if (n->preact)
    extra = arena_printf(gen->a, ", %s%s%s before", n->preact->name, n->preact->attr.act == ACT_LINEAR ? "" : " and ",
                         n->preact->attr.act == ACT_LINEAR ? "" : act_name(n->preact->attr.act));
  if (n->bn_folded)
    extra = arena_printf(gen->a, "%s, %s folded", extra, n->bn_folded->name);
  if (n->residual)
    extra = arena_printf(gen->a, "%s, + %s", extra, n->residual->name);
  if (n->shortcut)
    extra = arena_printf(gen->a, "%s, + %s in its GEMM", extra, n->shortcut->name);
  if (n->attr.act != ACT_LINEAR)
    extra = arena_printf(gen->a, "%s, %s", extra, act_name(n->attr.act));
  if (n->winograd_tile)
    extra = arena_printf(gen->a, "%s, Winograd F(%dx%d)", extra, n->winograd_tile, n->winograd_tile);
  if (!gen->tp && gen->p->in_place[n->id])
    extra = arena_printf(gen->a, "%s, in place", extra);
  return em_comment_text(gen->a, arena_printf(gen->a, "%s (%s%s), line %d: %s%s%s, %s MACs", n->name,
                                              op_keras_type(n->op), extra, line, ins, *ins ? " -> " : "",
                                              shape_str(&n->shape, shape, sizeof shape),
                                              fmt_thousands(layer_macs_per_image(gen, n) * gen->c->totals.batch,
                                                            macs, sizeof macs)));
}

/* forward() runs its layers on one team of threads (rt_team_run): every
 * thread calls every kernel, each kernel does the calling thread's share and
 * returns with the team in step, so layers are separated by barriers rather
 * than each forking and joining threads of its own. */
static void emit_forward(Gen *gen, const char *id) {
  Emitter *e = &gen->e;
  const Graph *g = gen->g;
  em_line(e, "/* forward()'s arguments, for the threads of its team. */");
  em_open(e, "typedef struct ForwardArgs {");
  em_line(e, "const float *w;");
  em_line(e, "void *arena;");
  em_line(e, "float *ws;");
  em_line(e, "size_t ws_floats;");
  em_line(e, "const float *input;");
  em_line(e, "float *output;");
  em_line(e, "int N;");
  em_close(e, "} ForwardArgs;");
  em_blank(e);
  em_line(e, "/* The layers, one call each, on one thread of the team: ctx is the team's. */");
  em_open(e, "static RtStatus forward_layers(const RtContext *ctx, void *args) {");
  em_line(e, "const ForwardArgs *a = args;");
  em_line(e, "const float *const w = a->w;");
  em_line(e, "char *const arena = a->arena;");
  em_line(e, "float *const ws = a->ws;");
  em_line(e, "const size_t ws_floats = a->ws_floats;");
  em_line(e, "const float *const input = a->input;");
  em_line(e, "float *const output = a->output;");
  em_line(e, "const int N = a->N;");
  for (int i = 0; i < g->nnodes; i++) {
    const Node *n = g->nodes[i];
    const TensorView *v = &gen->p->view[i];
    char s[64];
    RootPlace place = gen->p->root_place[v->root];
    if (place != ROOT_ARENA) /* the caller's buffers, used in place */
      em_line(e, "%s *const t%d = %s + %" PRId64 ";  /* %s %s */", place == ROOT_INPUT ? "const float" : "float", i,
              place == ROOT_INPUT ? "input" : "output", v->chan_offset, em_comment_text(gen->a, n->name),
              shape_str(&n->shape, s, sizeof s));
    else
      em_line(e, "float *const t%d = (float *)(arena + (size_t)N * %" PRId64 ") + %" PRId64 ";  /* %s %s */",
              i, gen->p->root_offset[v->root], v->chan_offset, em_comment_text(gen->a, n->name),
              shape_str(&n->shape, s, sizeof s));
  }
  /* Only convolutions use the workspace, and not every network reads
   * input and output through views. */
  em_line(e, "(void)ws;");
  em_line(e, "(void)ws_floats;");
  em_line(e, "(void)input;");
  em_line(e, "(void)output;");
  for (int i = 0; i < g->nnodes; i++) {
    const Node *n = g->nodes[i];
    em_blank(e);
    em_line(e, "/* %s */", cg_comment_line(gen, n));
    em_open(e, "{");
    cg_emit_node(gen, n);
    em_close(e, "}");
    em_line(e, "if (ctx->layer_done)");
    em_line(e, "  rt_layer_done(ctx, %d);", i);
  }
  const Node *o = g->outputs[0];
  if (gen->p->root_place[gen->p->view[o->id].root] != ROOT_OUTPUT) {
    em_blank(e);
    em_line(e, "/* the output, computed where the plan put it */");
    em_open(e, "{");
    em_line(e, "const RtEltwise d = {N, 1, 1, %" PRId64 ", 0, 0};", shape_elems(&o->shape));
    em_line(e, "CHECK(rt_copy(ctx, output, %s, &d));", cg_t(gen, o));
    em_close(e, "}");
  }
  em_line(e, "return RT_OK;");
  em_close(e, "}");
  em_blank(e);
  const Node *in = g->inputs[0], *out = g->outputs[0];
  em_line(e, "/* The network on ctx's threads: batches of more than BATCH_CHUNK images in");
  em_line(e, " * even chunks of at most that many, whose tensors stay in cache from layer to");
  em_line(e, " * layer instead of streaming through memory. */");
  em_open(e, "RtStatus %s_forward(const RtContext *ctx, const float *w, void *arena_, float *ws, size_t ws_floats,", id);
  em_line(e, "const float *input, float *output, int N) {");
  em_open(e, "if (N <= BATCH_CHUNK) {");
  em_line(e, "ForwardArgs a = {w, arena_, ws, ws_floats, input, output, N};");
  em_line(e, "return rt_team_run(ctx, forward_layers, &a);");
  em_close(e, "}");
  em_line(e, "int chunks = (N + BATCH_CHUNK - 1) / BATCH_CHUNK, per = (N + chunks - 1) / chunks;");
  em_open(e, "for (int n0 = 0; n0 < N; n0 += per) {");
  em_line(e, "ForwardArgs a = {w, arena_, ws, ws_floats, input + (size_t)n0 * %" PRId64 ", output + (size_t)n0 * %" PRId64
             ", N - n0 < per ? N - n0 : per};",
          shape_elems(&in->shape), shape_elems(&out->shape));
  em_line(e, "RtStatus s = rt_team_run(ctx, forward_layers, &a);");
  em_line(e, "if (s != RT_OK)");
  em_line(e, "  return s;");
  em_close(e, "}");
  em_line(e, "return RT_OK;");
  em_close(e, "}");
}

/* Images forward() runs at once: a chunk's activations (the planned arena
 * per image) should fit the cores' L2 caches, MIN_CHUNK images or more,
 * and no fewer than make the activations a third as large as the compute
 * weights, which every chunk reads again (all but the Winograd copies that
 * only batches of 1 or 2 read: winograd_fly). Measured at batch 64 on two Zen
 * 4 cores, paired against the whole batch at once:
 *   mobilenet_mini (256 KiB of arena, 1.4 MB of weights), chunks of 8:
 *     18% faster (1.3x to 2x while the machine's memory was busy);
 *   mnist_cnn (392 KiB, 5.7 MB), 8: 11% faster;
 *   cifar_bn_cnn (512 KiB, 33 MB), 22: 7%; 32: 5%;
 *   resnet_mini (384 KiB, 43 MB), 32: 8%; 22: 2%; 8: 10% slower. */
enum { CHUNK_CACHE_BYTES = 2 << 20, MIN_CHUNK = 8, WEIGHTS_PER_ACTIVATION = 3 };

static int64_t batch_chunk(const Gen *gen) {
  int64_t arena = gen->p->arena_bytes > 0 ? gen->p->arena_bytes : 1;
  int64_t chunk = CHUNK_CACHE_BYTES / arena;
  int64_t per_chunk = arena * WEIGHTS_PER_ACTIVATION;
  int64_t read = gen->compute_floats - gen->fly_floats; /* by every chunk */
  int64_t by_weights = (read * 4 + per_chunk - 1) / per_chunk;
  if (chunk < by_weights)
    chunk = by_weights;
  return chunk < MIN_CHUNK ? MIN_CHUNK : chunk;
}

/* The names of forward()'s layers, for RtContext.layer_done's indices. */
static void emit_layer_names(Gen *gen) {
  Emitter *e = &gen->e;
  em_line(e, "/* The layers of forward() after the passes, in order. */");
  em_open(e, "static const char *const layer_names[] = {");
  for (int i = 0; i < gen->g->nnodes; i++)
    em_line(e, "%s,", em_string_literal(gen->a, gen->g->nodes[i]->name));
  em_close(e, "};");
  em_blank(e);
  em_line(e, "/* Their MACs per image, with those of the layers fused into them. */");
  em_open(e, "static const int64_t layer_macs[] = {");
  for (int i = 0; i < gen->g->nnodes; i++)
    em_line(e, "%" PRId64 ",", layer_macs_per_image(gen, gen->g->nodes[i]));
  em_close(e, "};");
  gen->forward_layers = gen->g->nnodes;
}

static void emit_workspace(Gen *gen, const char *id) {
  Emitter *e = &gen->e;
  em_open(e, "size_t %s_workspace_floats(int N) {", id);
  em_line(e, "size_t most = 0;");
  for (int i = 0; i < gen->g->nnodes; i++) {
    const Node *n = gen->g->nodes[i];
    const Attrs *a = &n->attr;
    const Node *in = n->ninputs ? n->inputs[0] : NULL;
    if (n->op != OP_CONV || n->dw_before) /* rt_dwconv2d_pointwise needs none */
      continue;
    em_open(e, "{  /* %s */", em_comment_text(gen->a, n->name));
    conv_desc(gen, "d", n, in, in->shape.d[2], cg_cs(gen, in), a->kernel[0], a->kernel[1], a->stride[0], a->stride[1],
              a->pad[0], a->pad[2], a->groups);
    if (n->winograd_tile)
      em_line(e, "size_t f = rt_conv2d_winograd_workspace_floats(&d, %d);", n->winograd_tile);
    else
      em_line(e, "size_t f = rt_conv2d_workspace_floats(&d);");
    em_line(e, "if (f > most)");
    em_line(e, "  most = f;");
    em_close(e, "}");
  }
  em_line(e, "(void)N;");
  em_line(e, "return most;");
  em_close(e, "}");
}

/* ------------------------------------------------------------ files */

static char *summary_text(const Compilation *c) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  NETC_ASSERT(f);
  report_table(f, c, REPORT_TEXT);
  fclose(f);
  return buf;
}

/* FNV-1a 64 of the .net text: checkpoints carry it, so that a checkpoint
 * of another model is refused. */
static const char *source_hash(const Compilation *c) {
  uint64_t h = 14695981039346656037ull;
  const SrcFile *f = &c->diag.files[0];
  for (size_t i = 0; i < f->len; i++)
    h = (h ^ (unsigned char)f->text[i]) * 1099511628211ull;
  return arena_printf(c->arena, "%016" PRIx64, h);
}

static void emit_train_config(Gen *gen, const TrainSettings *t) {
  Emitter *e = &gen->e;
  char *upper_opt = arena_strdup(gen->a, t->optimizer), *upper_sched = arena_strdup(gen->a, t->schedule);
  char *upper_ck = arena_strdup(gen->a, t->checkpoint);
  for (char *q = upper_opt; *q; q++)
    *q = (char)(*q - 'a' + 'A');
  for (char *q = upper_sched; *q; q++)
    *q = (char)(*q - 'a' + 'A');
  for (char *q = upper_ck; *q; q++)
    *q = (char)(*q - 'a' + 'A');
  em_line(e, "/* The train section, Keras' defaults where it is silent. */");
  em_open(e, "static const NetcTrainConfig train_config = {");
  em_line(e, ".optimizer = NETC_OPT_%s,", upper_opt);
  em_line(e, ".lr = %.9g,", t->lr);
  em_line(e, ".momentum = %.9g,", t->momentum);
  em_line(e, ".nesterov = %d,", t->nesterov);
  em_line(e, ".beta1 = %.9g,", t->beta1);
  em_line(e, ".beta2 = %.9g,", t->beta2);
  em_line(e, ".rho = %.9g,", t->rho);
  em_line(e, ".epsilon = %.9g,", t->epsilon);
  em_line(e, ".weight_decay = %.9g,", t->weight_decay);
  em_line(e, ".schedule = NETC_SCHED_%s,", upper_sched);
  em_line(e, ".nsteps = %d,", t->nsteps);
  if (t->nsteps) {
    char *ep = "", *fa = "";
    for (int i = 0; i < t->nsteps; i++) {
      ep = arena_printf(gen->a, "%s%s%d", ep, i ? ", " : "", t->step_epoch[i]);
      fa = arena_printf(gen->a, "%s%s%.9g", fa, i ? ", " : "", t->step_factor[i]);
    }
    em_line(e, ".step_epoch = {%s},", ep);
    em_line(e, ".step_factor = {%s},", fa);
  }
  em_line(e, ".cosine_epochs = %d,", t->cosine_epochs);
  em_line(e, ".loss = %s,", t->loss == LOSS_MSE ? "NETC_LOSS_MSE" : "NETC_LOSS_CROSS_ENTROPY");
  em_line(e, ".batch = %d,", t->batch);
  em_line(e, ".epochs = %d,", t->epochs);
  em_line(e, ".validation = %.9g,", t->validation);
  if (t->validate_on_test)
    em_line(e, ".validate_on_test = 1,");
  em_line(e, ".shuffle = %d,", t->shuffle);
  em_line(e, ".seed = %" PRId64 "u,", t->seed);
  em_line(e, ".naugment = %d,", t->naugment);
  if (t->naugment) {
    char *list = "";
    for (int i = 0; i < t->naugment; i++) {
      char *up = arena_strdup(gen->a, t->augment[i]);
      for (char *q = up; *q; q++)
        *q = (char)(*q - 'a' + 'A');
      list = arena_printf(gen->a, "%s%s{NETC_AUG_%s, %.9g}", list, i ? ", " : "", up, t->augment_amount[i]);
    }
    em_line(e, ".augment = {%s},", list);
  }
  em_line(e, ".checkpoint = NETC_CKPT_%s,", upper_ck);
  em_line(e, ".checkpoint_metric = %s,", em_string_literal(gen->a, t->checkpoint_metric));
  em_line(e, ".checkpoint_every = %d,", t->checkpoint_every);
  em_close(e, "};");
  em_blank(e);
}

static void emit_descriptor(Gen *gen, const char *id) {
  Emitter *e = &gen->e;
  const Graph *g = gen->c->graph;
  const Node *in = g->inputs[0], *out = g->outputs[0];
  const char *norm = "NETC_NORM_SCALE", *data = "NETC_DATA_NONE", *path = "NULL", *path2 = "NULL";
  const Value *v = gen->c->train.items ? strmap_get(gen->c->train.items, "normalize") : NULL;
  if (v && v->kind == V_SYM)
    norm = strcmp(v->s, "none") == 0        ? "NETC_NORM_NONE"
           : strcmp(v->s, "symmetric") == 0 ? "NETC_NORM_SYMMETRIC"
           : strcmp(v->s, "standardize") == 0 ? "NETC_NORM_STANDARDIZE"
                                             : "NETC_NORM_SCALE";
  v = gen->c->train.items ? strmap_get(gen->c->train.items, "data") : NULL;
  if (v && v->kind == V_CALL) {
    static const char *const names[][2] = {{"mnist", "NETC_DATA_MNIST"}, {"fashion_mnist", "NETC_DATA_FASHION_MNIST"},
                                           {"cifar10", "NETC_DATA_CIFAR10"}, {"idx", "NETC_DATA_IDX"},
                                           {"folder", "NETC_DATA_FOLDER"}};
    for (int i = 0; i < 5; i++)
      if (strcmp(v->s, names[i][0]) == 0)
        data = names[i][1];
    if (v->nitems > 0 && v->items[0]->kind == V_STR)
      path = em_string_literal(gen->a, v->items[0]->s);
    if (v->nitems > 1 && v->items[1]->kind == V_STR)
      path2 = em_string_literal(gen->a, v->items[1]->s);
  }
  char *summary = summary_text(gen->c);
  em_line(e, "static const char summary[] =");
  for (char *line = summary, *nl; *line; line = nl + 1) {
    nl = strchr(line, '\n');
    if (!nl)
      nl = line + strlen(line);
    char save = *nl;
    *nl = '\0';
    em_line(e, "    %s \"\\n\"", em_string_literal(gen->a, line));
    *nl = save;
    if (!save)
      break;
  }
  em_line(e, "    ;");
  free(summary);
  em_blank(e);
  em_open(e, "const NetcModel netc_model_%s = {", id);
  em_line(e, ".name = %s,", em_string_literal(gen->a, g->name));
  em_line(e, ".source = %s,", em_string_literal(gen->a, gen->c->path));
  em_line(e, ".netc_version = \"%s\",", NETC_VERSION);
  em_line(e, ".input_rank = %d,", in->shape.rank);
  em_line(e, ".input_shape = {%" PRId64 ", %" PRId64 ", %" PRId64 "},", in->shape.d[0],
          in->shape.rank > 1 ? in->shape.d[1] : 0, in->shape.rank > 2 ? in->shape.d[2] : 0);
  em_line(e, ".output_rank = %d,", out->shape.rank);
  em_line(e, ".output_shape = {%" PRId64 ", %" PRId64 ", %" PRId64 "},", out->shape.d[0],
          out->shape.rank > 1 ? out->shape.d[1] : 0, out->shape.rank > 2 ? out->shape.d[2] : 0);
  em_line(e, ".input_size = %" PRId64 ",", shape_elems(&in->shape));
  em_line(e, ".output_size = %" PRId64 ",", shape_elems(&out->shape));
  em_line(e, ".params = params,");
  em_line(e, ".num_params = %d,", gen->nparams);
  em_line(e, ".param_floats = %" PRId64 ",", gen->param_floats);
  em_line(e, ".compute_floats = %" PRId64 ",", gen->compute_floats);
  em_line(e, ".total_params = %" PRId64 ",", gen->c->totals.params);
  em_line(e, ".trainable_params = %" PRId64 ",", gen->c->totals.trainable);
  em_line(e, ".macs_per_image = %" PRId64 ",", gen->c->totals.macs / gen->c->totals.batch);
  em_line(e, ".arena_bytes_per_image = %" PRId64 ",", gen->p->arena_bytes);
  em_line(e, ".naive_bytes_per_image = %" PRId64 ",", gen->p->naive_bytes);
  em_line(e, ".prepare = %s_prepare,", id);
  em_line(e, ".workspace_floats = %s_workspace_floats,", id);
  em_line(e, ".forward = %s_forward,", id);
  em_line(e, ".summary = summary,");
  em_line(e, ".layer_names = layer_names,");
  em_line(e, ".layer_macs = layer_macs,");
  em_line(e, ".batch_chunk = BATCH_CHUNK,");
  em_line(e, ".num_layers = %d,", gen->forward_layers);
  em_line(e, ".normalize = %s,", norm);
  em_line(e, ".data = %s,", data);
  em_line(e, ".data_path = %s,", path);
  em_line(e, ".data_path2 = %s,", path2);
  if (gen->tp) {
    em_line(e, ".train = &train_config,");
    em_line(e, ".train_arena_bytes_per_image = %" PRId64 ",", gen->tp->arena_bytes);
    em_line(e, ".train_workspace_floats = %s_train_workspace_floats,", id);
    em_line(e, ".train_step = %s_train_step,", id);
  }
  em_line(e, ".source_hash = \"%s\",", source_hash(gen->c));
  em_close(e, "};");
}

static void emit_params(Gen *gen) {
  Emitter *e = &gen->e;
  em_line(e, "/* The Keras tensors of the weights file: name, rank, shape, offset and");
  em_line(e, " * size in the parameter block, initializer, fans, trainable, weight decay. */");
  em_open(e, "static const NetcParam params[] = {");
  for (int i = 0; i < gen->nparams; i++) {
    const ParamEntry *p = &gen->params[i];
    char shape[96] = "";
    size_t len = 0;
    for (int k = 0; k < 4; k++)
      len += (size_t)snprintf(shape + len, sizeof shape - len, "%s%" PRId64, k ? ", " : "", k < p->rank ? p->shape[k] : 0);
    em_line(e, "{%s, %d, {%s}, %" PRId64 ", %" PRId64 ", %s, %" PRId64 ", %" PRId64 ", %d, %d},",
            em_string_literal(gen->a, p->name), p->rank, shape, p->offset, p->count, p->init, p->fan_in, p->fan_out,
            p->trainable, p->decay);
  }
  if (gen->nparams == 0)
    em_line(e, "{\"\", 0, {0, 0, 0, 0}, 0, 0, NETC_INIT_ZEROS, 0, 0, 0, 0},  /* no parameters */");
  em_close(e, "};");
}

static FILE *open_out(const char *dir, const char *name, char **path) {
  *path = malloc(strlen(dir) + strlen(name) + 2);
  NETC_ASSERT(*path);
  sprintf(*path, "%s/%s", dir, name);
  FILE *f = fopen(*path, "w");
  if (!f)
    fprintf(stderr, "netc emit: cannot write %s: %s\n", *path, strerror(errno));
  return f;
}

char *cg_c_identifier(Arena *a, const char *s) {
  size_t n = strlen(s);
  char *out = arena_alloc(a, n + 3), *p = out;
  if (n == 0 || (s[0] >= '0' && s[0] <= '9'))
    *p++ = 'm';
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    *p++ = ok ? c : '_';
  }
  *p = '\0';
  return out;
}

/* A generator for graph g (after the passes, planned by p) of compilation
 * c: its parameter table and no weight placed yet. */
static Gen gen_new(const Compilation *c, const Graph *g, const Plan *p, bool train_winograd) {
  Gen gen = {.a = c->arena, .c = c, .g = g, .p = p, .train_winograd = train_winograd};
  gen.param_index = strmap_new(gen.a);
  for (int i = 0; i < c->graph->nnodes; i++)
    layer_params(&gen, c->graph->nodes[i]);
  /* Indexed by node id in the optimized graph and, for training, in the
   * graph as written, which has at least as many nodes. */
  int n = c->graph->nnodes > g->nnodes ? c->graph->nnodes : g->nnodes;
  n = n ? n : 1;
  int64_t **slots[] = {&gen.w_kernel, &gen.w_bias, &gen.w_extra, &gen.w_extra2,
                       &gen.w_preact, &gen.w_dw_kernel, &gen.w_dw_bias, &gen.w_dw_preact};
  for (size_t s = 0; s < sizeof slots / sizeof slots[0]; s++) {
    *slots[s] = arena_alloc(gen.a, sizeof(int64_t) * (size_t)n);
    for (int i = 0; i < n; i++)
      (*slots[s])[i] = -1;
  }
  return gen;
}

void cg_c_sizes(const Compilation *c, const Graph *g, const Plan *p, int64_t *compute_floats,
                int64_t *chunk) {
  Gen gen = gen_new(c, g, p, false);
  gen.e = (Emitter){NULL, 0}; /* lay the block out, write nothing */
  emit_prepare(&gen, "m");
  *compute_floats = gen.compute_floats;
  *chunk = batch_chunk(&gen);
}

bool cg_c_write(const Compilation *c, const Graph *g, const Plan *p, const char *dir, const CodegenOptions *o) {
  Gen gen = gen_new(c, g, p, o->train_winograd);
  const char *id = o->model_id;
  char *upper = arena_strdup(gen.a, id);
  for (char *q = upper; *q; q++)
    if (*q >= 'a' && *q <= 'z')
      *q = (char)(*q - 'a' + 'A');
  const char *banner = arena_printf(gen.a, "/* Generated by netc %s from %s; do not edit. */", NETC_VERSION,
                                    em_comment_text(gen.a, o->source));

  /* The .c file first: laying out the compute block fixes its size. */
  char *cpath, *hpath;
  FILE *f = open_out(dir, arena_printf(gen.a, "%s.c", id), &cpath);
  if (!f) {
    free(cpath);
    return false;
  }
  gen.e = (Emitter){f, 0};
  Emitter *e = &gen.e;
  em_line(e, "%s", banner);
  em_line(e, "/* Network '%s': %d layers after inference passes; arena %" PRId64 " bytes per image",
          em_comment_text(gen.a, g->name), g->nnodes, p->arena_bytes);
  em_line(e, " * (every tensor in its own buffer: %" PRId64 " bytes). */", p->naive_bytes);
  em_line(e, "#include \"%s.h\"", id);
  em_blank(e);
  em_line(e, "#include <string.h>");
  if (o->train)
    em_line(e, "#include \"netc/train_kernels.h\"");
  em_blank(e);
  em_line(e, "/* Returns the first kernel error to the caller. */");
  em_line(e, "#define CHECK(call)                \\");
  em_line(e, "  do {                             \\");
  em_line(e, "    RtStatus st_ = (call);         \\");
  em_line(e, "    if (st_ != RT_OK)              \\");
  em_line(e, "      return st_;                  \\");
  em_line(e, "  } while (0)");
  em_blank(e);
  emit_params(&gen);
  em_blank(e);
  em_line(e, "/* Makes the compute weights from the Keras tensors (once, at load). */");
  emit_prepare(&gen, id);
  em_blank(&gen.e);
  em_line(&gen.e, "/* Scratch the convolutions need at batch N (im2col tiles, Winograd blocks). */");
  emit_workspace(&gen, id);
  em_blank(&gen.e);
  em_line(&gen.e, "enum { BATCH_CHUNK = %" PRId64 " };  /* images per forward_layers() call: batch_chunk() */",
          batch_chunk(&gen));
  em_blank(&gen.e);
  emit_forward(&gen, id);
  em_blank(&gen.e);
  emit_layer_names(&gen);
  em_blank(&gen.e);
  if (o->train) {
    /* Training works on the graph as written, not the optimized one. */
    gen.tp = o->train;
    gen.g = c->graph;
    cg_emit_training(&gen, id);
    em_blank(&gen.e);
    emit_train_config(&gen, o->settings);
  }
  emit_descriptor(&gen, id);
  bool ok = fflush(f) == 0 && !ferror(f);
  ok &= fclose(f) == 0;
  if (!ok)
    fprintf(stderr, "netc emit: cannot write %s\n", cpath);
  free(cpath);

  f = open_out(dir, arena_printf(gen.a, "%s.h", id), &hpath);
  if (!f) {
    free(hpath);
    return false;
  }
  gen.e = (Emitter){f, 0};
  em_line(e, "%s", banner);
  em_line(e, "#ifndef NETC_MODEL_%s_H", upper);
  em_line(e, "#define NETC_MODEL_%s_H", upper);
  em_blank(e);
  em_line(e, "#include \"netc/model.h\"");
  em_blank(e);
  em_line(e, "/* Sizes: arena bytes per image (times the batch), weight blocks in floats. */");
  em_line(e, "#define %s_ARENA_BYTES_PER_IMAGE %" PRId64, upper, p->arena_bytes);
  em_line(e, "#define %s_PARAM_FLOATS %" PRId64, upper, gen.param_floats);
  em_line(e, "#define %s_COMPUTE_FLOATS %" PRId64, upper, gen.compute_floats);
  em_line(e, "#define %s_INPUT_FLOATS %" PRId64, upper, shape_elems(&c->graph->inputs[0]->shape));
  em_line(e, "#define %s_OUTPUT_FLOATS %" PRId64, upper, shape_elems(&c->graph->outputs[0]->shape));
  em_blank(e);
  em_line(e, "void %s_prepare(float *w, const float *p);", id);
  em_line(e, "size_t %s_workspace_floats(int N);", id);
  em_line(e, "RtStatus %s_forward(const RtContext *ctx, const float *w, void *arena, float *ws, size_t ws_floats,",
          id);
  em_line(e, "                    const float *input, float *output, int N);");
  if (o->train) {
    em_line(e, "size_t %s_train_workspace_floats(int N);", id);
    em_line(e, "RtStatus %s_train_step(const RtContext *ctx, float *w, float *gw, void *arena, float *ws,", id);
    em_line(e, "                       size_t ws_floats, const float *input, const void *targets, int N,");
    em_line(e, "                       uint64_t seed, double *loss_sum, int *correct);");
    em_line(e, "#define %s_TRAIN_ARENA_BYTES_PER_IMAGE %" PRId64, upper, o->train->arena_bytes);
  }
  em_blank(e);
  em_line(e, "extern const NetcModel netc_model_%s;", id);
  em_blank(e);
  em_line(e, "#endif");
  ok &= fflush(f) == 0 && !ferror(f);
  ok &= fclose(f) == 0;
  free(hpath);
  return ok;
}
