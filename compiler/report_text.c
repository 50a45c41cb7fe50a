/* report_text.c: the Keras-style summary, as a text table or as Markdown.
 * Column widths follow the content, so long layer names never break the
 * layout; the output is byte-identical run to run. */
#include "netc.h"

#include <stdlib.h>
#include <string.h>

enum { NCOLS = 6 };
static const char *const headers[NCOLS] = {"Layer (type)", "Output Shape", "Param #", "MACs",
                                           "Element-wise", "Connected to"};
static const bool right_align[NCOLS] = {false, false, true, true, true, false};

typedef struct Row {
  char *cell[NCOLS];
} Row;

static char *inputs_list(Arena *a, const Node *n) {
  if (n->ninputs == 0)
    return "";
  size_t len = 0;
  for (int i = 0; i < n->ninputs; i++)
    len += strlen(n->inputs[i]->name) + 2;
  char *s = arena_alloc(a, len + 1);
  for (int i = 0; i < n->ninputs; i++) {
    if (i)
      strcat(s, ", ");
    strcat(s, n->inputs[i]->name);
  }
  return s;
}

static const char *type_label(Arena *a, const Node *n) {
  /* Keras prints Activation for these; the function tells them apart. */
  if (n->op == OP_SIGMOID || n->op == OP_TANH || n->op == OP_LINEAR)
    return arena_printf(a, "Activation %s", op_name(n->op));
  if (op_category(n->op) == CAT_MAC && n->attr.act != ACT_LINEAR)
    return arena_printf(a, "%s +%s", op_keras_type(n->op), act_name(n->attr.act));
  return op_keras_type(n->op);
}

static Row make_row(Arena *a, const Node *n) {
  char num[32], shape[64];
  Row r;
  r.cell[0] = arena_printf(a, "%s (%s)", n->name, type_label(a, n));
  r.cell[1] = arena_strdup(a, shape_str(&n->shape, shape, sizeof shape));
  r.cell[2] = arena_strdup(a, fmt_thousands(n->params, num, sizeof num));
  r.cell[3] = arena_strdup(a, fmt_thousands(n->macs, num, sizeof num));
  r.cell[4] = arena_strdup(a, fmt_thousands(n->eltwise, num, sizeof num));
  r.cell[5] = inputs_list(a, n);
  return r;
}

static void rule(FILE *out, int width, char c) {
  for (int i = 0; i < width; i++)
    fputc(c, out);
  fputc('\n', out);
}

static void print_cells(FILE *out, char *const cell[NCOLS], const int *w) {
  /* Built in memory first so that trailing spaces (an empty last column)
   * can be dropped: they would make golden files fragile. */
  size_t cap = 64, len = 0;
  for (int c = 0; c < NCOLS; c++)
    cap += strlen(cell[c]) + (size_t)w[c] + 2;
  char *line = malloc(cap);
  NETC_ASSERT(line);
  for (int c = 0; c < NCOLS; c++) {
    bool last = c == NCOLS - 1;
    if (right_align[c])
      len += (size_t)snprintf(line + len, cap - len, "%*s", w[c], cell[c]);
    else if (!last)
      len += (size_t)snprintf(line + len, cap - len, "%-*s", w[c], cell[c]);
    else
      len += (size_t)snprintf(line + len, cap - len, "%s", cell[c]);
    if (!last)
      len += (size_t)snprintf(line + len, cap - len, "  ");
  }
  while (len > 0 && line[len - 1] == ' ')
    len--;
  fprintf(out, "%.*s\n", (int)len, line);
  free(line);
}

static void print_totals(FILE *out, const Compilation *c, bool md) {
  const Totals *t = &c->totals;
  char a[32], b[32], c2[32];
  const char *item = md ? "- " : "";
#define LINE(label, ...) do { fprintf(out, "%s%s: ", item, label); fprintf(out, __VA_ARGS__); fputc('\n', out); } while (0)
  LINE("Total params", "%s (%s)", fmt_thousands(t->params, a, sizeof a), fmt_bytes(t->params * 4, b, sizeof b));
  LINE("Trainable params", "%s (%s)", fmt_thousands(t->trainable, a, sizeof a),
       fmt_bytes(t->trainable * 4, b, sizeof b));
  LINE("Non-trainable params", "%s (%s)", fmt_thousands(t->non_trainable, a, sizeof a),
       fmt_bytes(t->non_trainable * 4, b, sizeof b));
  LINE("MACs", "%s", fmt_thousands(t->macs, a, sizeof a));
  LINE("FLOPs", "%s (2 x MACs)", fmt_thousands(t->macs > INT64_MAX / 2 ? INT64_MAX : 2 * t->macs, a, sizeof a));
  LINE("Element-wise ops", "%s", fmt_thousands(t->eltwise, a, sizeof a));
  LINE("Weight memory", "%s bytes (%s, float32)", fmt_thousands(t->weight_bytes, a, sizeof a),
       fmt_bytes(t->weight_bytes, b, sizeof b));
  LINE("Compute weights", "%s bytes (%s, C backend after passes: folded, packed, Winograd-transformed)",
       fmt_thousands(t->compute_weight_bytes, a, sizeof a), fmt_bytes(t->compute_weight_bytes, b, sizeof b));
  LINE("Activation memory", "%s bytes (%s, every layer output)", fmt_thousands(t->activation_bytes, a, sizeof a),
       fmt_bytes(t->activation_bytes, b, sizeof b));
  LINE("Peak activation memory", "%s bytes (%s, live tensors, inference)",
       fmt_thousands(t->peak_activation_bytes, a, sizeof a), fmt_bytes(t->peak_activation_bytes, b, sizeof b));
  LINE("Planned arena", "%s bytes (%s, C backend after passes; %s bytes without reuse)",
       fmt_thousands(t->planned_arena_bytes, a, sizeof a), fmt_bytes(t->planned_arena_bytes, b, sizeof b),
       fmt_thousands(t->naive_arena_bytes, c2, sizeof c2));
  LINE("Batch chunk", "%s images (C backend: forward() runs larger batches in chunks of this many)",
       fmt_thousands(t->batch_chunk, a, sizeof a));
  if (c->show_train && t->train_batch) {
    int64_t all = t->train_arena_bytes + t->train_grad_bytes + t->train_state_bytes + t->weight_bytes;
    LINE("Training arena", "%s bytes (%s at batch %d: activations kept for backward and their gradients)",
         fmt_thousands(t->train_arena_bytes, a, sizeof a), fmt_bytes(t->train_arena_bytes, b, sizeof b),
         t->train_batch);
    LINE("Training weights", "%s bytes (%s: weights, their gradients and the optimizer's state)",
         fmt_thousands(all - t->train_arena_bytes, a, sizeof a), fmt_bytes(all - t->train_arena_bytes, b, sizeof b));
    LINE("Training total", "%s bytes (%s)", fmt_thousands(all, a, sizeof a), fmt_bytes(all, b, sizeof b));
  } else if (c->show_train) {
    LINE("Training", "%s", "not available: the loss cannot be taken on this network's output");
  }
#undef LINE
}

static void print_markdown(FILE *out, const Compilation *c, Arena *a) {
  const Graph *g = c->graph;
  fprintf(out, "## Model `%s` (%s)\n\n", g->name, c->path);
  fprintf(out, "Batch %d, float32. MACs are the multiply-accumulates of dense and convolution layers; "
               "FLOPs = 2 x MACs. Element-wise ops are those MACs leave out (bias, batch norm, activations, "
               "pooling, merges, softmax).\n\n",
          c->totals.batch);
  fprintf(out, "| Layer | Type | Output shape | Params | MACs | Element-wise | Inputs |\n");
  fprintf(out, "|---|---|---|--:|--:|--:|---|\n");
  for (int i = 0; i < g->nnodes; i++) {
    const Node *n = g->nodes[i];
    Row r = make_row(a, n);
    fprintf(out, "| `%s` | %s | %s | %s | %s | %s | %s |\n", n->name, type_label(a, n), r.cell[1], r.cell[2],
            r.cell[3], r.cell[4], r.cell[5]);
  }
  fputc('\n', out);
  print_totals(out, c, true);
}

void report_table(FILE *out, const Compilation *c, ReportFormat fmt) {
  Arena *a = arena_new();
  const Graph *g = c->graph;
  if (fmt == REPORT_MARKDOWN) {
    print_markdown(out, c, a);
    arena_free(a);
    return;
  }
  Row *rows = arena_alloc(a, sizeof(Row) * (size_t)(g->nnodes + 1));
  int w[NCOLS];
  for (int col = 0; col < NCOLS; col++)
    w[col] = (int)strlen(headers[col]);
  for (int i = 0; i < g->nnodes; i++) {
    rows[i] = make_row(a, g->nodes[i]);
    for (int col = 0; col < NCOLS; col++) {
      int len = (int)strlen(rows[i].cell[col]);
      if (len > w[col])
        w[col] = len;
    }
  }
  int width = 0;
  for (int col = 0; col < NCOLS; col++)
    width += w[col] + (col ? 2 : 0);
  fprintf(out, "Model: \"%s\" (%s)\n", g->name, c->path);
  fprintf(out, "Batch %d, float32. MACs: multiply-accumulates of dense and convolution layers; FLOPs = 2 x MACs.\n",
          c->totals.batch);
  fprintf(out, "Element-wise: the operations MACs leave out (bias, batch norm, activations, pooling, merges, softmax).\n");
  rule(out, width, '_');
  print_cells(out, (char **)headers, w);
  rule(out, width, '=');
  for (int i = 0; i < g->nnodes; i++)
    print_cells(out, rows[i].cell, w);
  rule(out, width, '=');
  print_totals(out, c, false);
  rule(out, width, '_');
  arena_free(a);
}
