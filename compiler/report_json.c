/* report_json.c: the report as JSON, with stable keys (docs/report.md):
 * enough for another tool to rebuild the graph from the JSON alone. */
#include "netc.h"

#include <cjson/cJSON.h>
#include <string.h>

static cJSON *int_array(const int64_t *v, int n) {
  cJSON *arr = cJSON_CreateArray();
  for (int i = 0; i < n; i++)
    cJSON_AddItemToArray(arr, cJSON_CreateNumber((double)v[i]));
  return arr;
}

static const char *pad_name(PadMode m) {
  switch (m) {
  case PAD_VALID: return "valid";
  case PAD_SAME: return "same";
  case PAD_EXPLICIT: return "explicit";
  }
  return "?";
}

static void add_window(cJSON *attrs, const Attrs *a, const char *kernel_key) {
  cJSON_AddItemToObject(attrs, kernel_key, int_array(a->kernel, 2));
  cJSON_AddItemToObject(attrs, "stride", int_array(a->stride, 2));
  cJSON_AddStringToObject(attrs, "padding", pad_name(a->pad_mode));
  /* Resolved padding, top, bottom, left, right: 'same' spelled out. */
  cJSON_AddItemToObject(attrs, "pads", int_array(a->pad, 4));
}

static cJSON *attributes(const Node *n) {
  const Attrs *a = &n->attr;
  cJSON *o = cJSON_CreateObject();
  switch (n->op) {
  case OP_DENSE:
    cJSON_AddNumberToObject(o, "units", (double)a->units);
    cJSON_AddBoolToObject(o, "bias", a->bias);
    cJSON_AddStringToObject(o, "activation", act_name(a->act));
    break;
  case OP_CONV:
    cJSON_AddNumberToObject(o, "filters", (double)a->filters);
    add_window(o, a, "kernel");
    cJSON_AddNumberToObject(o, "groups", (double)a->groups);
    cJSON_AddBoolToObject(o, "bias", a->bias);
    cJSON_AddStringToObject(o, "activation", act_name(a->act));
    break;
  case OP_DWCONV:
  case OP_SEPCONV:
    if (n->op == OP_SEPCONV)
      cJSON_AddNumberToObject(o, "filters", (double)a->filters);
    add_window(o, a, "kernel");
    cJSON_AddNumberToObject(o, "multiplier", (double)a->multiplier);
    cJSON_AddBoolToObject(o, "bias", a->bias);
    cJSON_AddStringToObject(o, "activation", act_name(a->act));
    break;
  case OP_MAXPOOL:
  case OP_AVGPOOL:
    add_window(o, a, "pool");
    break;
  case OP_ZEROPAD:
    cJSON_AddItemToObject(o, "pads", int_array(a->pad, 4));
    break;
  case OP_DROPOUT:
    cJSON_AddNumberToObject(o, "rate", a->rate);
    break;
  case OP_BN:
    cJSON_AddNumberToObject(o, "momentum", a->momentum);
    cJSON_AddNumberToObject(o, "epsilon", a->epsilon);
    break;
  case OP_LEAKY_RELU:
  case OP_ELU:
    cJSON_AddNumberToObject(o, "alpha", a->alpha);
    break;
  case OP_THRESHOLDED_RELU:
    cJSON_AddNumberToObject(o, "theta", a->alpha);
    break;
  case OP_PRELU: {
    cJSON *axes = cJSON_CreateArray();
    for (int i = 1; i <= 3; i++)
      if (a->shared_axes & (1 << i))
        cJSON_AddItemToArray(axes, cJSON_CreateNumber(i));
    cJSON_AddItemToObject(o, "shared_axes", axes);
    break;
  }
  case OP_CONCAT:
    cJSON_AddNumberToObject(o, "axis", -1);
    break;
  case OP_INPUT:
  case OP_GLOBAL_AVGPOOL:
  case OP_GLOBAL_MAXPOOL:
  case OP_FLATTEN:
  case OP_ADD:
  case OP_MULTIPLY:
  case OP_RELU:
  case OP_RELU6:
  case OP_SIGMOID:
  case OP_TANH:
  case OP_SOFTMAX:
  case OP_LINEAR:
  case OP_COUNT:
    break;
  }
  return o;
}

char *report_json(const Compilation *c) {
  const Graph *g = c->graph;
  const Totals *t = &c->totals;
  cJSON *root = cJSON_CreateObject();
  cJSON_AddStringToObject(root, "netc_version", NETC_VERSION);
  cJSON_AddStringToObject(root, "model", g->name);
  cJSON_AddStringToObject(root, "source", c->path);
  cJSON_AddNumberToObject(root, "batch", t->batch);
  cJSON_AddStringToObject(root, "dtype", "float32");
  cJSON *ins = cJSON_AddArrayToObject(root, "inputs");
  for (int i = 0; i < g->ninputs; i++)
    cJSON_AddItemToArray(ins, cJSON_CreateString(g->inputs[i]->name));
  cJSON *outs = cJSON_AddArrayToObject(root, "outputs");
  for (int i = 0; i < g->noutputs; i++)
    cJSON_AddItemToArray(outs, cJSON_CreateString(g->outputs[i]->name));
  cJSON *layers = cJSON_AddArrayToObject(root, "layers");
  for (int i = 0; i < g->nnodes; i++) {
    const Node *n = g->nodes[i];
    cJSON *l = cJSON_CreateObject();
    cJSON_AddStringToObject(l, "name", n->name);
    cJSON_AddStringToObject(l, "type", op_name(n->op));
    cJSON_AddStringToObject(l, "keras_type", op_keras_type(n->op));
    cJSON *li = cJSON_AddArrayToObject(l, "inputs");
    for (int j = 0; j < n->ninputs; j++)
      cJSON_AddItemToArray(li, cJSON_CreateString(n->inputs[j]->name));
    cJSON_AddItemToObject(l, "attributes", attributes(n));
    cJSON_AddItemToObject(l, "output_shape", int_array(n->shape.d, n->shape.rank));
    cJSON_AddNumberToObject(l, "params", (double)n->params);
    cJSON_AddNumberToObject(l, "trainable_params", (double)n->trainable);
    cJSON_AddNumberToObject(l, "macs", (double)n->macs);
    cJSON_AddNumberToObject(l, "elementwise", (double)n->eltwise);
    int line, col;
    diag_line_col(&c->diag, n->loc, &line, &col);
    cJSON *src = cJSON_AddObjectToObject(l, "source");
    cJSON_AddNumberToObject(src, "line", line);
    cJSON_AddNumberToObject(src, "column", col);
    cJSON_AddItemToArray(layers, l);
  }
  cJSON *p = cJSON_AddObjectToObject(root, "params");
  cJSON_AddNumberToObject(p, "total", (double)t->params);
  cJSON_AddNumberToObject(p, "trainable", (double)t->trainable);
  cJSON_AddNumberToObject(p, "non_trainable", (double)t->non_trainable);
  cJSON_AddNumberToObject(root, "macs", (double)t->macs);
  cJSON_AddNumberToObject(root, "flops", 2.0 * (double)t->macs);
  cJSON_AddNumberToObject(root, "elementwise", (double)t->eltwise);
  cJSON *m = cJSON_AddObjectToObject(root, "memory");
  cJSON_AddNumberToObject(m, "weight_bytes", (double)t->weight_bytes);
  cJSON_AddNumberToObject(m, "compute_weight_bytes", (double)t->compute_weight_bytes);
  cJSON_AddNumberToObject(m, "activation_bytes", (double)t->activation_bytes);
  cJSON_AddNumberToObject(m, "peak_activation_bytes", (double)t->peak_activation_bytes);
  cJSON_AddNumberToObject(m, "planned_arena_bytes", (double)t->planned_arena_bytes);
  cJSON_AddNumberToObject(m, "naive_arena_bytes", (double)t->naive_arena_bytes);
  cJSON_AddNumberToObject(m, "batch_chunk", (double)t->batch_chunk);
  if (c->show_train && t->train_batch) {
    cJSON *tr = cJSON_AddObjectToObject(root, "training");
    cJSON_AddNumberToObject(tr, "batch", t->train_batch);
    cJSON_AddNumberToObject(tr, "arena_bytes", (double)t->train_arena_bytes);
    cJSON_AddNumberToObject(tr, "gradient_bytes", (double)t->train_grad_bytes);
    cJSON_AddNumberToObject(tr, "optimizer_state_bytes", (double)t->train_state_bytes);
  }
  char *s = cJSON_Print(root);
  cJSON_Delete(root);
  return s;
}
