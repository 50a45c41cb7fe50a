/* driver.c: strings the phases together for one source text. The CLI, the
 * tests and the fuzzer all compile through compile_source. */
#include "netc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Far beyond any real network, small enough that hostile input stays fast
 * and within the stack. */
static const ElabLimits default_limits = {
    .max_nodes = 100000,
    .max_steps = 5000000,
    .max_depth = 2000,
};

/* The training step's memory at the train section's batch size, when the
 * model can be trained (quietly nothing otherwise). */
static void train_memory(Compilation *c) {
  TrainSettings ts;
  train_settings(&c->train, &ts);
  Diag quiet;
  diag_init(&quiet, NULL);
  TrainPlan *tp = autodiff(c->arena, &quiet, c->graph, (LossKind)ts.loss);
  if (!tp)
    return;
  Totals *t = &c->totals;
  t->train_batch = ts.batch;
  t->train_arena_bytes = tp->arena_bytes * ts.batch;
  t->train_grad_bytes = t->params * 4;
  int state = strcmp(ts.optimizer, "adam") == 0 ? 2 : strcmp(ts.optimizer, "sgd") == 0 ? ts.momentum > 0 : 1;
  t->train_state_bytes = t->trainable * 4 * state;
}

Compilation *compile_source(const char *path, const char *text, size_t len, FILE *diag_out, int batch,
                            bool *ok) {
  Compilation *c = calloc(1, sizeof *c);
  NETC_ASSERT(c);
  c->arena = arena_new();
  c->path = arena_strdup(c->arena, path);
  diag_init(&c->diag, diag_out);
  *ok = false;
  if (len > UINT32_MAX - 1) {
    diag_error(&c->diag, NO_LOC, "%s: file too large (%zu bytes)", path, len);
    return c;
  }
  /* The compilation keeps its own copy: reports quote source positions. */
  int file = diag_add_file(&c->diag, c->path, arena_strndup(c->arena, text, len), len);
  if (!parse_program(c->arena, &c->diag, file, &c->prog))
    return c;
  if (!elaborate(c->arena, &c->diag, &c->prog, &default_limits, &c->graph, &c->train)) {
    c->graph = NULL;
    return c;
  }
  if (!train_config_check(c->arena, &c->diag, &c->prog, &c->train))
    return c;
  cost_graph(c->graph, batch, &c->totals);
  PassOptions all = pass_options_all();
  Graph *g;
  Plan *p = compile_inference_plan(c, &all, &g);
  c->totals.planned_arena_bytes = p->arena_bytes * batch;
  c->totals.naive_arena_bytes = p->naive_bytes * batch;
  int64_t compute_floats;
  cg_c_sizes(c, g, p, &compute_floats, &c->totals.batch_chunk);
  c->totals.compute_weight_bytes = compute_floats * 4;
  train_memory(c);
  *ok = c->diag.errors == 0;
  return c;
}

Plan *compile_inference_plan(Compilation *c, const PassOptions *o, Graph **g) {
  *g = graph_clone(c->arena, c->graph);
  passes_run_inference(*g, o);
  return plan_memory(c->arena, *g);
}

void compilation_free(Compilation *c) {
  if (!c)
    return;
  arena_free(c->arena);
  free(c);
}

char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap + 1);
  for (;;) {
    if (!buf) {
      fclose(f);
      errno = ENOMEM;
      return NULL;
    }
    n += fread(buf + n, 1, cap - n, f);
    if (n < cap)
      break;
    cap *= 2;
    char *nb = realloc(buf, cap + 1);
    if (!nb)
      free(buf);
    buf = nb;
  }
  int err = ferror(f) ? EIO : 0;
  fclose(f);
  if (err) {
    free(buf);
    errno = err;
    return NULL;
  }
  buf[n] = '\0';
  *len = n;
  return buf;
}
