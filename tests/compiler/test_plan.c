/* test_plan.c: the memory plan of every dsl-example is sound: two buffers
 * whose lifetimes overlap never overlap in the arena, every offset is
 * aligned, the arena is no larger than the naive sum, the input stays in
 * the caller's buffer, and concat and in-place reuse happen where the
 * design says. */
#define _POSIX_C_SOURCE 200809L
#include "netc.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static int failures;

/* Lifetimes recomputed here, independently of plan.c: a buffer is busy from
 * the first node writing any view of it to the last node reading one. */
static void check_plan(const char *name, const Graph *g, const Plan *p) {
  int n = g->nnodes, r = p->nroots;
  int *first = malloc(sizeof(int) * (size_t)r), *last = malloc(sizeof(int) * (size_t)r);
  for (int i = 0; i < r; i++) {
    first[i] = n + 1;
    last[i] = -1;
  }
#define USE(root, when)                                                        \
  do {                                                                         \
    if ((when) < first[root]) first[root] = (when);                            \
    if ((when) > last[root]) last[root] = (when);                              \
  } while (0)
  for (int i = 0; i < n; i++) {
    const Node *nd = g->nodes[i];
    USE(p->view[i].root, i);
    if (p->scratch[i].root >= 0)
      USE(p->scratch[i].root, i);
    for (int j = 0; j < nd->ninputs; j++)
      USE(p->view[nd->inputs[j]->id].root, i);
    if (nd->residual)
      USE(p->view[nd->residual->id].root, i);
  }
  for (int i = 0; i < g->noutputs; i++)
    USE(p->view[g->outputs[i]->id].root, n);
  /* The input is read in place: no bytes in the arena, and no view of it
   * but its own and a flatten's (nothing else may write there). The
   * output's buffer, when it holds just the output, is the caller's. */
  for (int i = 0; i < n; i++) {
    const Node *nd = g->nodes[i];
    RootPlace place = p->root_place[p->view[i].root];
    bool input = nd->op == OP_INPUT ||
                 (nd->op == OP_FLATTEN && p->root_place[p->view[nd->inputs[0]->id].root] == ROOT_INPUT);
    if ((place == ROOT_INPUT) != input || (place != ROOT_ARENA && p->root_size[p->view[i].root] != 0)) {
      fprintf(stderr, "FAIL %s: %s %s the caller's input buffer\n", name, nd->name, input ? "is not in" : "is in");
      failures++;
    }
  }
  if (g->noutputs == 1) {
    const Node *o = g->outputs[0];
    const TensorView *v = &p->view[o->id];
    bool whole = v->chan_offset == 0 && v->cs == o->shape.d[o->shape.rank - 1] &&
                 p->root_place[v->root] != ROOT_INPUT;
    if (whole != (p->root_place[v->root] == ROOT_OUTPUT)) {
      fprintf(stderr, "FAIL %s: output %s %s the caller's output buffer\n", name, o->name, whole ? "is not in" : "is in");
      failures++;
    }
  }
  for (int a = 0; a < r; a++) {
    if (p->root_offset[a] % 64) {
      fprintf(stderr, "FAIL %s: buffer %d at unaligned offset %" PRId64 "\n", name, a, p->root_offset[a]);
      failures++;
    }
    for (int b = a + 1; b < r; b++) {
      bool live_together = first[a] <= last[b] && first[b] <= last[a];
      bool share_bytes = p->root_offset[a] < p->root_offset[b] + p->root_size[b] &&
                         p->root_offset[b] < p->root_offset[a] + p->root_size[a];
      if (live_together && share_bytes) {
        fprintf(stderr, "FAIL %s: buffers %d and %d are alive together and overlap\n", name, a, b);
        failures++;
      }
    }
  }
  if (p->arena_bytes > p->naive_bytes) {
    fprintf(stderr, "FAIL %s: arena %" PRId64 " > naive %" PRId64 "\n", name, p->arena_bytes, p->naive_bytes);
    failures++;
  }
  free(first);
  free(last);
}

static Compilation *compile_text(const char *path, const char *text, size_t len) {
  bool ok;
  Compilation *c = compile_source(path, text, len, stderr, 1, &ok);
  if (!ok) {
    fprintf(stderr, "FAIL: %s does not compile\n", path);
    failures++;
    compilation_free(c);
    return NULL;
  }
  return c;
}

static void check_file(const char *path) {
  size_t len;
  char *text = read_file(path, &len);
  if (!text)
    return;
  Compilation *c = compile_text(path, text, len);
  if (c) {
    PassOptions variants[2] = {pass_options_all(), {0}};
    for (int v = 0; v < 2; v++) {
      Graph *g;
      Plan *p = compile_inference_plan(c, &variants[v], &g);
      check_plan(path, g, p);
      if (v == 0)
        printf("ok: %-36s arena %9" PRId64 " bytes/image, naive %9" PRId64 "\n", path, p->arena_bytes,
               p->naive_bytes);
    }
  }
  compilation_free(c);
  free(text);
}

static void check_specifics(void) {
  /* DenseNet-style: both convs write into the concat buffer, which costs
   * nothing; the relu after the bn runs in place. */
  const char *src = "network m(input: 8x8x4) {\n"
                    "  a = input -> conv(4, 3, pad = same)\n"
                    "  b = input -> conv(6, 1)\n"
                    "  return concat(a, b) -> bn -> relu6 -> global_avgpool\n}\n";
  Compilation *c = compile_text("spec.net", src, strlen(src));
  if (!c)
    return;
  Graph *g;
  PassOptions o = pass_options_all();
  o.fuse_activation = false;  /* keep the relu6 a layer of its own */
  Plan *p = compile_inference_plan(c, &o, &g);
  const Node *cat = NULL, *act = NULL;
  for (int i = 0; i < g->nnodes; i++) {
    if (g->nodes[i]->op == OP_CONCAT)
      cat = g->nodes[i];
    if (g->nodes[i]->op == OP_RELU6)
      act = g->nodes[i];
  }
  if (!cat || !p->concat_free[cat->id]) {
    fprintf(stderr, "FAIL: the concat is not free\n");
    failures++;
  } else if (p->view[cat->inputs[1]->id].chan_offset != 4 || p->view[cat->inputs[1]->id].cs != 10) {
    fprintf(stderr, "FAIL: the second conv does not write channels 4..9 of 10\n");
    failures++;
  }
  if (!act || !p->in_place[act->id]) {
    fprintf(stderr, "FAIL: the relu6 does not run in place\n");
    failures++;
  }
  check_plan("spec.net", g, p);
  compilation_free(c);

  /* A chain of shrinking layers: centered slots cost nothing here (two
   * slots of the largest buffer, as best fit), so every arena buffer is
   * centered on one of the two slot centers. */
  const char *chain = "network m(input: 16x16x8) {\n"
                      "  x = input -> conv(16, 3, pad = same) -> conv(16, 3, pad = same)\n"
                      "  x = x -> conv(32, 3, stride = 2, pad = same) -> conv(32, 3, pad = same)\n"
                      "  return x -> conv(8, 1) -> global_avgpool\n}\n";
  c = compile_text("chain.net", chain, strlen(chain));
  if (!c)
    return;
  p = compile_inference_plan(c, &o, &g);
  int64_t most = 0;
  for (int r = 0; r < p->nroots; r++)
    most = p->root_size[r] > most ? p->root_size[r] : most;
  if (p->arena_bytes != 2 * most) {
    fprintf(stderr, "FAIL: chain.net arena %" PRId64 " bytes, want two slots of %" PRId64 "\n", p->arena_bytes, most);
    failures++;
  }
  for (int r = 0; r < p->nroots; r++) {
    if (p->root_place[r] != ROOT_ARENA || p->root_size[r] == 0)
      continue;
    int64_t mid = p->root_offset[r] + p->root_size[r] / 2, center = mid / most * most + most / 2;
    if (mid - center > 32 || center - mid > 32) {
      fprintf(stderr, "FAIL: chain.net buffer %d (%" PRId64 " bytes at %" PRId64 ") is not centered in its slot\n", r,
              p->root_size[r], p->root_offset[r]);
      failures++;
    }
  }
  check_plan("chain.net", g, p);
  compilation_free(c);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: test_plan DSL_EXAMPLES_DIR\n");
    return 2;
  }
  DIR *d = opendir(argv[1]);
  if (!d) {
    perror(argv[1]);
    return 1;
  }
  for (struct dirent *e; (e = readdir(d));) {
    size_t l = strlen(e->d_name);
    if (l > 4 && strcmp(e->d_name + l - 4, ".net") == 0) {
      char path[4096];
      snprintf(path, sizeof path, "%s/%s", argv[1], e->d_name);
      check_file(path);
    }
  }
  closedir(d);
  check_specifics();
  if (failures)
    fprintf(stderr, "%d failure(s)\n", failures);
  return failures ? 1 : 0;
}
