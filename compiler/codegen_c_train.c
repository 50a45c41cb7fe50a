/* codegen_c_train.c: the training step in C. The forward half reuses the
 * inference emitter in training mode (batch statistics, dropout masks, the
 * Keras tensors read directly); the loss and the backward half follow the
 * backward graph that autodiff.c built: one gradient step per layer, in
 * reverse order, each a call into runtime/include/netc/train_kernels.h. */
#include "codegen_c.h"

#include <inttypes.h>
#include <string.h>

static const char *g_of(Gen *gen, const Node *n) { return arena_printf(gen->a, "g%d", n->id); }

/* The input gradient pointer a step writes, or NULL when none is needed. */
static const char *din(Gen *gen, const Node *n, int slot) {
  const Node *in = n->inputs[slot];
  return gen->tp->needs_grad[in->id] ? g_of(gen, in) : "NULL";
}

static int acc(Gen *gen, const Node *n, int slot) { return gen->tp->accumulate[n->id][slot] ? 1 : 0; }

static const char *dense_eltwise(Gen *gen, const Node *n) {
  return arena_printf(gen->a, "{N, %" PRId64 ", 1, %" PRId64 ", %" PRId64 ", %" PRId64 "}", cg_pixels(n),
                      cg_chans(n), cg_chans(n), cg_chans(n));
}

static const char *grad_of_param(Gen *gen, const Node *n, const char *suffix) {
  const ParamEntry *p = cg_param(gen, n, suffix);
  return p ? arena_printf(gen->a, "gw + %" PRId64, p->offset) : "NULL";
}

static void emit_dw_desc(Gen *gen, const char *var, const Node *n, const Node *in, int64_t out_cs) {
  const Attrs *a = &n->attr;
  em_line(&gen->e,
          "const RtDwConv2d %s = {N, %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64
          ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64
          "};",
          var, in->shape.d[0], in->shape.d[1], in->shape.d[2], in->shape.d[2], n->shape.d[0], n->shape.d[1], out_cs,
          a->kernel[0], a->kernel[1], a->stride[0], a->stride[1], a->pad[0], a->pad[2], a->multiplier);
}

static void emit_pool_desc(Gen *gen, const Node *n, const Node *in) {
  const Attrs *a = &n->attr;
  em_line(&gen->e,
          "const RtPool2d d = {N, %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64
          ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 "};",
          in->shape.d[0], in->shape.d[1], in->shape.d[2], in->shape.d[2], n->shape.d[0], n->shape.d[1],
          n->shape.d[2], a->kernel[0], a->kernel[1], a->stride[0], a->stride[1], a->pad[0], a->pad[2]);
}

/* The fused activation's gradient, in place, before the layer's own. The
 * loss already gave the softmax's input gradient for the output. */
static void activation_first(Gen *gen, const Node *n) {
  Act act = n->attr.act;
  if (act == ACT_LINEAR || (act == ACT_SOFTMAX && n == gen->tp->out))
    return;
  NETC_ASSERT(act != ACT_SOFTMAX);  /* autodiff refuses it elsewhere */
  em_line(&gen->e, "const RtEltwise de = %s;", dense_eltwise(gen, n));
  em_line(&gen->e, "CHECK(rt_activation_backward(ctx, %s, %s, %s, %s, %s, 0, &de));", g_of(gen, n), g_of(gen, n),
          cg_t(gen, n), cg_rt_act(act), em_float(gen->a, n->attr.alpha));
}

static void emit_backward(Gen *gen, const Node *n) {
  Emitter *e = &gen->e;
  const Attrs *a = &n->attr;
  const Node *in = n->ninputs ? n->inputs[0] : NULL;
  const char *g = g_of(gen, n);
  switch (n->op) {
  case OP_INPUT:
    return;
  case OP_DENSE: {
    activation_first(gen, n);
    int64_t cin = in->shape.d[in->shape.rank - 1];
    em_line(e, "const RtDense d = {N * %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 "};",
            cg_pixels(n), cin, a->units, cin, a->units);
    em_line(e, "CHECK(rt_dense_backward(ctx, %s, %s, %s, %s, %s, w + %" PRId64 ", %d, &d));", din(gen, n, 0),
            grad_of_param(gen, n, "kernel"), grad_of_param(gen, n, "bias"), g, cg_t(gen, in),
            cg_param(gen, n, "kernel")->offset, acc(gen, n, 0));
    return;
  }
  case OP_CONV:
    activation_first(gen, n);
    cg_conv_desc(gen, "d", n, in);
    if (cg_conv_winograd(gen, n))
      em_line(e, "CHECK(rt_conv2d_backward_winograd(ctx, %s, %s, %s, %s, %s, w + %" PRId64 ", %d, &d, %d, ws, "
                 "ws_floats));",
              din(gen, n, 0), grad_of_param(gen, n, "kernel"), grad_of_param(gen, n, "bias"), g, cg_t(gen, in),
              cg_param(gen, n, "kernel")->offset, acc(gen, n, 0), cg_conv_winograd(gen, n));
    else
      em_line(e, "CHECK(rt_conv2d_backward(ctx, %s, %s, %s, %s, %s, w + %" PRId64 ", %d, &d, ws, ws_floats));",
              din(gen, n, 0), grad_of_param(gen, n, "kernel"), grad_of_param(gen, n, "bias"), g, cg_t(gen, in),
              cg_param(gen, n, "kernel")->offset, acc(gen, n, 0));
    return;
  case OP_DWCONV:
    activation_first(gen, n);
    emit_dw_desc(gen, "d", n, in, cg_chans(n));
    em_line(e, "CHECK(rt_dwconv2d_backward(ctx, %s, %s, %s, %s, %s, w + %" PRId64 ", %d, &d));", din(gen, n, 0),
            grad_of_param(gen, n, "depthwise_kernel"), grad_of_param(gen, n, "bias"), g, cg_t(gen, in),
            cg_param(gen, n, "depthwise_kernel")->offset, acc(gen, n, 0));
    return;
  case OP_SEPCONV: {
    activation_first(gen, n);
    int64_t mid = in->shape.d[2] * a->multiplier;
    em_line(e, "float *mid = (float *)(arena + (size_t)N * %" PRId64 ");", gen->tp->save[n->id]);
    em_line(e, "float *gmid = (float *)(arena + (size_t)N * %" PRId64 ");", gen->tp->save_grad[n->id]);
    em_line(e,
            "const RtConv2d pw = {N, %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64
            ", %" PRId64 ", %" PRId64 ", 1, 1, 1, 1, 0, 0, 1};",
            n->shape.d[0], n->shape.d[1], mid, mid, n->shape.d[0], n->shape.d[1], cg_chans(n), cg_chans(n));
    em_line(e, "CHECK(rt_conv2d_backward(ctx, gmid, %s, %s, %s, mid, w + %" PRId64 ", 0, &pw, ws, ws_floats));",
            grad_of_param(gen, n, "pointwise_kernel"), grad_of_param(gen, n, "bias"), g,
            cg_param(gen, n, "pointwise_kernel")->offset);
    emit_dw_desc(gen, "dw", n, in, mid);
    em_line(e, "CHECK(rt_dwconv2d_backward(ctx, %s, %s, NULL, gmid, %s, w + %" PRId64 ", %d, &dw));", din(gen, n, 0),
            grad_of_param(gen, n, "depthwise_kernel"), cg_t(gen, in), cg_param(gen, n, "depthwise_kernel")->offset,
            acc(gen, n, 0));
    return;
  }
  case OP_MAXPOOL:
    emit_pool_desc(gen, n, in);
    em_line(e, "CHECK(rt_maxpool2d_backward(ctx, %s, %s, %s, %d, &d));", din(gen, n, 0), g, cg_t(gen, in),
            acc(gen, n, 0));
    return;
  case OP_AVGPOOL:
    emit_pool_desc(gen, n, in);
    em_line(e, "CHECK(rt_avgpool2d_backward(ctx, %s, %s, %d, &d));", din(gen, n, 0), g, acc(gen, n, 0));
    return;
  case OP_GLOBAL_AVGPOOL:
  case OP_GLOBAL_MAXPOOL:
    em_line(e, "const RtEltwise d = {N, %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 "};",
            in->shape.d[0], in->shape.d[1], in->shape.d[2], in->shape.d[2], cg_chans(n));
    if (n->op == OP_GLOBAL_AVGPOOL)
      em_line(e, "CHECK(rt_global_avgpool_backward(ctx, %s, %s, %d, &d));", din(gen, n, 0), g, acc(gen, n, 0));
    else
      em_line(e, "CHECK(rt_global_maxpool_backward(ctx, %s, %s, %s, %d, &d));", din(gen, n, 0), g, cg_t(gen, in),
              acc(gen, n, 0));
    return;
  case OP_FLATTEN:
  case OP_LINEAR:
    em_line(e, "const RtEltwise d = {N, 1, 1, %" PRId64 ", %" PRId64 ", %" PRId64 "};", shape_elems(&n->shape),
            shape_elems(&n->shape), shape_elems(&n->shape));
    em_line(e, "CHECK(rt_accumulate(ctx, %s, %s, %d, &d));", din(gen, n, 0), g, acc(gen, n, 0));
    return;
  case OP_DROPOUT:
    em_line(e, "const RtEltwise d = %s;", dense_eltwise(gen, n));
    em_line(e, "const uint8_t *mask = (const uint8_t *)(arena + (size_t)N * %" PRId64 ");", gen->tp->save[n->id]);
    em_line(e, "CHECK(rt_dropout_backward(ctx, %s, %s, mask, %s, %d, &d));", din(gen, n, 0), g,
            em_float(gen->a, a->rate), acc(gen, n, 0));
    return;
  case OP_BN: {
    activation_first(gen, n);
    em_line(e, "const RtEltwise d = %s;", dense_eltwise(gen, n));
    em_line(e, "const float *save = (const float *)(arena + (size_t)N * %" PRId64 ");", gen->tp->save[n->id]);
    em_line(e, "CHECK(rt_batchnorm_backward(ctx, %s, %s, %s, %s, %s, w + %" PRId64 ", save, save + %" PRId64
               ", %d, &d));",
            din(gen, n, 0), grad_of_param(gen, n, "gamma"), grad_of_param(gen, n, "beta"), g, cg_t(gen, in),
            cg_param(gen, n, "gamma")->offset, cg_chans(n), acc(gen, n, 0));
    return;
  }
  case OP_ZEROPAD:
    em_line(e,
            "const RtPad d = {N, %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64
            ", %" PRId64 ", %" PRId64 ", %" PRId64 "};",
            in->shape.d[0], in->shape.d[1], in->shape.d[2], in->shape.d[2], cg_chans(n), a->pad[0], a->pad[1],
            a->pad[2], a->pad[3]);
    em_line(e, "CHECK(rt_zeropad_backward(ctx, %s, %s, %d, &d));", din(gen, n, 0), g, acc(gen, n, 0));
    return;
  case OP_CONCAT: {
    int64_t off = 0;
    for (int j = 0; j < n->ninputs; j++) {
      const Node *x = n->inputs[j];
      if (gen->tp->needs_grad[x->id]) {
        em_open(e, "{");
        em_line(e, "const RtEltwise d = {N, %" PRId64 ", 1, %" PRId64 ", %" PRId64 ", %" PRId64 "};", cg_pixels(x),
                cg_chans(x), cg_chans(n), cg_chans(x));
        em_line(e, "CHECK(rt_accumulate(ctx, %s, %s + %" PRId64 ", %d, &d));", g_of(gen, x), g, off, acc(gen, n, j));
        em_close(e, "}");
      }
      off += cg_chans(x);
    }
    return;
  }
  case OP_ADD:
    activation_first(gen, n);
    em_line(e, "const RtEltwise d = %s;", dense_eltwise(gen, n));
    for (int j = 0; j < n->ninputs; j++)
      if (gen->tp->needs_grad[n->inputs[j]->id])
        em_line(e, "CHECK(rt_accumulate(ctx, %s, %s, %d, &d));", g_of(gen, n->inputs[j]), g, acc(gen, n, j));
    return;
  case OP_MULTIPLY: {
    activation_first(gen, n);
    int bi = 0, si = 1;
    if (shape_elems(&n->inputs[1]->shape) > shape_elems(&n->inputs[0]->shape)) {
      bi = 1;
      si = 0;
    }
    const Node *big = n->inputs[bi], *small = n->inputs[si];
    if (shape_elems(&small->shape) == shape_elems(&big->shape))
      em_line(e, "const RtEltwise d = {N * %" PRId64 ", 1, 1, %" PRId64 ", %" PRId64 ", %" PRId64 "};", cg_pixels(n),
              cg_chans(n), cg_chans(n), cg_chans(n));
    else
      em_line(e, "const RtEltwise d = %s;", dense_eltwise(gen, n));
    if (gen->tp->needs_grad[big->id])
      em_line(e, "CHECK(rt_mul_channel_backward(ctx, %s, NULL, %s, %s, %s, %" PRId64 ", %d, &d));", g_of(gen, big), g,
              cg_t(gen, big), cg_t(gen, small), cg_chans(small), acc(gen, n, bi));
    if (gen->tp->needs_grad[small->id])
      em_line(e, "CHECK(rt_mul_channel_backward(ctx, NULL, %s, %s, %s, %s, %" PRId64 ", %d, &d));", g_of(gen, small),
              g, cg_t(gen, big), cg_t(gen, small), cg_chans(small), acc(gen, n, si));
    return;
  }
  case OP_SOFTMAX:
    em_line(e, "const RtEltwise d = %s;", dense_eltwise(gen, n));
    if (n == gen->tp->out && gen->tp->loss == LOSS_CROSS_ENTROPY)
      em_line(e, "CHECK(rt_accumulate(ctx, %s, %s, %d, &d));  /* the loss gave the softmax's input gradient */",
              din(gen, n, 0), g, acc(gen, n, 0));
    else
      em_line(e, "CHECK(rt_softmax_backward(ctx, %s, %s, %s, %d, &d));", din(gen, n, 0), g, cg_t(gen, n),
              acc(gen, n, 0));
    return;
  case OP_PRELU: {
    const ParamEntry *al = cg_param(gen, n, "alpha");
    cg_prelu_desc(gen, n);
    em_line(e, "CHECK(rt_prelu_backward(ctx, %s, gw + %" PRId64 ", %s, %s, w + %" PRId64 ", %d, &d));",
            din(gen, n, 0), al->offset, g, cg_t(gen, in), al->offset, acc(gen, n, 0));
    return;
  }
  case OP_RELU:
  case OP_RELU6:
  case OP_SIGMOID:
  case OP_TANH:
  case OP_LEAKY_RELU:
  case OP_ELU:
  case OP_THRESHOLDED_RELU: {
    Act act = ACT_LINEAR;
    op_as_activation(n->op, &act);
    em_line(e, "const RtEltwise d = %s;", dense_eltwise(gen, n));
    em_line(e, "CHECK(rt_activation_backward(ctx, %s, %s, %s, %s, %s, %d, &d));", din(gen, n, 0), g, cg_t(gen, n),
            cg_rt_act(act), em_float(gen->a, n->op == OP_LEAKY_RELU || n->op == OP_ELU || n->op == OP_THRESHOLDED_RELU
                                                 ? a->alpha
                                                 : 0),
            acc(gen, n, 0));
    return;
  }
  case OP_COUNT:
    break;
  }
  NETC_ASSERT(!"op without a gradient step");
}

static void emit_workspace(Gen *gen, const char *id) {
  Emitter *e = &gen->e;
  em_open(e, "size_t %s_train_workspace_floats(int N) {", id);
  em_line(e, "size_t most = 0, f;");
  for (int i = 0; i < gen->g->nnodes; i++) {
    const Node *n = gen->g->nodes[i];
    if (n->op != OP_CONV && n->op != OP_SEPCONV)
      continue;
    em_open(e, "{  /* %s */", em_comment_text(gen->a, n->name));
    int tile = n->op == OP_CONV ? cg_conv_winograd(gen, n) : 0;
    if (n->op == OP_CONV) {
      cg_conv_desc(gen, "d", n, n->inputs[0]);
      if (tile)
        em_line(e, "f = rt_conv2d_winograd_train_workspace_floats(&d, %d);", tile);
      else
        em_line(e, "f = rt_conv2d_workspace_floats(&d);");
      em_line(e, "most = f > most ? f : most;");
    } else {
      int64_t mid = n->inputs[0]->shape.d[2] * n->attr.multiplier;
      em_line(e,
              "const RtConv2d d = {N, %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64
              ", %" PRId64 ", %" PRId64 ", 1, 1, 1, 1, 0, 0, 1};",
              n->shape.d[0], n->shape.d[1], mid, mid, n->shape.d[0], n->shape.d[1], cg_chans(n), cg_chans(n));
    }
    if (tile)
      em_line(e, "f = rt_conv2d_backward_winograd_workspace_floats(&d, %d);", tile);
    else
      em_line(e, "f = rt_conv2d_backward_workspace_floats(&d);");
    em_line(e, "most = f > most ? f : most;");
    em_close(e, "}");
  }
  em_line(e, "(void)N;");
  em_line(e, "(void)f;");
  em_line(e, "return most;");
  em_close(e, "}");
}

void cg_emit_training(Gen *gen, const char *id) {
  Emitter *e = &gen->e;
  const Graph *g = gen->g;
  const TrainPlan *tp = gen->tp;
  /* The training step reads the Keras tensors as they are. */
  for (int i = 0; i < g->nnodes; i++) {
    const Node *n = g->nodes[i];
    const ParamEntry *k = cg_param(gen, n, n->op == OP_SEPCONV ? "pointwise_kernel"
                                           : n->op == OP_DWCONV ? "depthwise_kernel"
                                                                : "kernel");
    const ParamEntry *b = cg_param(gen, n, "bias");
    gen->w_kernel[i] = k ? k->offset : -1;
    gen->w_bias[i] = b ? b->offset : -1;
    gen->w_extra[i] = -1;
    if (n->op == OP_SEPCONV)
      gen->w_extra[i] = cg_param(gen, n, "depthwise_kernel")->offset;
    if (n->op == OP_PRELU)
      gen->w_extra[i] = cg_param(gen, n, "alpha")->offset;
  }
  em_line(e, "/* Scratch of the training step at batch N: forward and backward im2col tiles. */");
  emit_workspace(gen, id);
  em_blank(e);
  em_line(e, "/* One training step: forward in training mode, the loss, every gradient. */");
  em_open(e, "RtStatus %s_train_step(const RtContext *ctx, float *w, float *gw, void *arena_, float *ws,", id);
  em_line(e, "size_t ws_floats, const float *input, const void *targets, int N, uint64_t seed,");
  em_line(e, "double *loss_sum, int *correct) {");
  em_line(e, "char *arena = arena_;");
  for (int i = 0; i < g->nnodes; i++) {
    const Node *n = g->nodes[i];
    char s[64];
    em_line(e, "float *const a%d = (float *)(arena + (size_t)N * %" PRId64 ");  /* %s %s */", i, tp->act[i],
            em_comment_text(gen->a, n->name), shape_str(&n->shape, s, sizeof s));
    if (tp->needs_grad[i])
      em_line(e, "float *const g%d = (float *)(arena + (size_t)N * %" PRId64 ");  /* its gradient */", i,
              tp->grad[i]);
  }
  em_line(e, "(void)ws;");
  em_line(e, "(void)ws_floats;");
  em_line(e, "(void)seed;");
  em_line(e, "memset(gw, 0, %" PRId64 " * sizeof(float));  /* moving statistics get no gradient */",
          gen->param_floats);
  for (int i = 0; i < g->nnodes; i++) {
    const Node *n = g->nodes[i];
    em_blank(e);
    em_line(e, "/* %s */", cg_comment_line(gen, n));
    em_open(e, "{");
    cg_emit_node(gen, n);
    em_close(e, "}");
  }
  em_blank(e);
  const Node *out = tp->out;
  if (tp->loss == LOSS_CROSS_ENTROPY) {
    em_line(e, "/* loss: cross-entropy of the softmax, fused: g%d is the softmax's input gradient */", out->id);
    em_line(e, "CHECK(rt_softmax_xent(ctx, g%d, loss_sum, correct, a%d, (const int32_t *)targets, N, %" PRId64 "));",
            out->id, out->id, shape_elems(&out->shape));
  } else {
    em_line(e, "/* loss: mean squared error */");
    em_line(e, "CHECK(rt_mse(ctx, g%d, loss_sum, a%d, (const float *)targets, N, %" PRId64 "));", out->id, out->id,
            shape_elems(&out->shape));
    em_line(e, "*correct = 0;");
  }
  for (int i = g->nnodes - 1; i >= 0; i--) {
    const Node *n = g->nodes[i];
    if (!tp->needs_grad[i])
      continue;
    em_blank(e);
    em_line(e, "/* gradient of %s */", em_comment_text(gen->a, n->name));
    em_open(e, "{");
    emit_backward(gen, n);
    em_close(e, "}");
  }
  em_line(e, "return RT_OK;");
  em_close(e, "}");
}
