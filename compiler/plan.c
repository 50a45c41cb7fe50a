/* plan.c: the static memory plan. Every tensor gets a place in one arena,
 * decided at compile time, so the emitted code allocates nothing per call
 * and the same offsets serve a CPU heap block, a cudaMalloc block or a
 * microcontroller's static array.
 *
 * 1. Views: a node's output is a buffer of its own, or part of another:
 *    the network's input stays in the caller's buffer, read in place, and
 *    its output is written straight into the caller's (no bytes in the
 *    arena, nothing copied in or out); flatten shares its input's buffer; a concat's inputs are written
 *    straight into their channel slice of the concat buffer when they can
 *    be (the concat is then free); an element-wise op whose input dies
 *    there writes in place.
 * 2. Lifetimes: a buffer lives from its first writer to its last reader
 *    (graph outputs to the end), in graph order.
 * 3. Offsets: buffers by decreasing size, each at the lowest offset that
 *    fits in a gap between buffers whose lifetimes overlap its own (best
 *    fit: the smallest such gap). Or, when that costs at most a quarter
 *    more arena, centered slots (plan_center): the threads of a layer
 *    split its output by rows, the first half to one core at batch 1 on
 *    two; with every buffer centered on one of a few fixed addresses, the
 *    bytes each core writes are the same from layer to layer and from one
 *    call to the next, instead of cache lines that were the other core's
 *    (on the 2-core benchmark machine, whose cores at times exchange lines
 *    at 9 GB/s: mobilenet_mini's stem took 35 us instead of 24). */
#include "netc.h"

#include <stdlib.h>
#include <string.h>

#define ALIGN 64  /* bytes: cache lines, and what SIMD loads like */

typedef struct Root {
  int64_t size;     /* bytes per image */
  int first, last;  /* lifetime, in node ids */
  bool aliased;     /* a flatten reads it under another name: no in-place */
  RootPlace place;  /* the arena, or the caller's input or output buffer */
} Root;

typedef struct Planner {
  Arena *a;
  const Graph *g;
  Plan *p;
  Root *roots;
  int cap_roots;
  int *uses;
} Planner;

static int64_t align_up(int64_t x) { return (x + ALIGN - 1) / ALIGN * ALIGN; }

static int64_t channels(const Node *n) { return n->shape.d[n->shape.rank - 1]; }

static int new_root(Planner *pl, int64_t bytes, int first) {
  pl->roots = arena_grow(pl->a, pl->roots, &pl->cap_roots, pl->p->nroots + 1, sizeof(Root));
  pl->roots[pl->p->nroots] = (Root){align_up(bytes), first, first, false, ROOT_ARENA};
  return pl->p->nroots++;
}

static void touch(Planner *pl, int root, int when) {
  Root *r = &pl->roots[root];
  if (when < r->first)
    r->first = when;
  if (when > r->last)
    r->last = when;
}

static bool is_output(const Graph *g, const Node *n) {
  for (int i = 0; i < g->noutputs; i++)
    if (g->outputs[i] == n)
      return true;
  return false;
}

/* Can this op write its output with a channel stride (into a concat slice)? */
static bool writes_strided(OpKind op) {
  switch (op) {
  case OP_CONV: case OP_DWCONV: case OP_SEPCONV: case OP_DENSE:
  case OP_MAXPOOL: case OP_AVGPOOL: case OP_GLOBAL_AVGPOOL: case OP_GLOBAL_MAXPOOL:
  case OP_BN: case OP_ADD: case OP_MULTIPLY: case OP_ZEROPAD: case OP_PRELU:
  case OP_RELU: case OP_RELU6: case OP_SIGMOID: case OP_TANH: case OP_SOFTMAX:
  case OP_LEAKY_RELU: case OP_ELU: case OP_THRESHOLDED_RELU:
    return true;
  default:
    return false;
  }
}

/* Element-wise ops the kernels allow to run in place (out == in). */
static bool may_run_in_place(OpKind op) {
  switch (op) {
  case OP_BN: case OP_RELU: case OP_RELU6: case OP_SIGMOID: case OP_TANH: case OP_SOFTMAX:
  case OP_LEAKY_RELU: case OP_ELU: case OP_THRESHOLDED_RELU: case OP_PRELU: case OP_ADD: case OP_MULTIPLY:
    return true;
  default:
    return false;
  }
}

static bool dense_view(const Plan *p, const Node *n) {
  return p->view[n->id].chan_offset == 0 && p->view[n->id].cs == channels(n);
}

/* Concat inputs that will write into the concat's buffer: read by nothing
 * else, made by an op that can write strided, and not an input, an output
 * or a view of another buffer. Decided before any view is made, since the
 * producers come first in graph order. */
static void choose_free_concats(Planner *pl, int *slice_of) {
  const Graph *g = pl->g;
  for (int i = 0; i < g->nnodes; i++)
    slice_of[i] = -1;
  for (int i = 0; i < g->nnodes; i++) {
    const Node *n = g->nodes[i];
    if (n->op != OP_CONCAT || n->shape.rank != 3)
      continue;
    bool all = true;
    for (int j = 0; j < n->ninputs; j++) {
      const Node *in = n->inputs[j];
      bool ok = writes_strided(in->op) && pl->uses[in->id] == 1 && !is_output(g, in) && slice_of[in->id] < 0;
      for (int k = 0; k < j; k++)
        ok &= n->inputs[k] != in;  /* concat(a, a) needs two copies */
      all &= ok;
    }
    if (!all)
      continue;  /* copies, for simplicity, when any input cannot write in place */
    pl->p->concat_free[i] = true;
    for (int j = 0; j < n->ninputs; j++)
      slice_of[n->inputs[j]->id] = i;
  }
}

static void make_views(Planner *pl) {
  const Graph *g = pl->g;
  Plan *p = pl->p;
  int *slice_of = malloc(sizeof(int) * (size_t)g->nnodes);
  NETC_ASSERT(slice_of);
  choose_free_concats(pl, slice_of);
  /* Concat buffers exist before their first slice is written. */
  int *concat_root = malloc(sizeof(int) * (size_t)g->nnodes);
  NETC_ASSERT(concat_root);
  for (int i = 0; i < g->nnodes; i++) {
    concat_root[i] = -1;
    if (p->concat_free[i]) {
      const Node *n = g->nodes[i];
      concat_root[i] = new_root(pl, shape_elems(&n->shape) * 4, n->inputs[0]->id);
    }
  }
  for (int i = 0; i < g->nnodes; i++) {
    const Node *n = g->nodes[i];
    TensorView v = {-1, 0, channels(n)};
    p->scratch[i] = (TensorView){-1, 0, 0};
    if (slice_of[i] >= 0) {
      const Node *cat = g->nodes[slice_of[i]];
      int64_t off = 0;
      for (int j = 0; cat->inputs[j] != n; j++)
        off += channels(cat->inputs[j]);
      v = (TensorView){concat_root[cat->id], off, channels(cat)};
    } else if (p->concat_free[i]) {
      v.root = concat_root[i];
    } else if (n->op == OP_INPUT) {
      /* Read where the caller keeps it: a copy into the arena would cost
       * a pass over the input for nothing (half of a single depthwise
       * layer's time at batch 64). Nothing writes it: in-place reuse and
       * concat slices exclude inputs. */
      v.root = new_root(pl, 0, i);
      pl->roots[v.root].place = ROOT_INPUT;
    } else if (n->op == OP_FLATTEN && dense_view(p, n->inputs[0])) {
      v.root = p->view[n->inputs[0]->id].root;  /* same bytes, another shape */
      pl->roots[v.root].aliased = true;
    } else if (may_run_in_place(n->op)) {
      /* Reuse the first input that dies here and has this node's size. */
      for (int j = 0; j < n->ninputs && v.root < 0; j++) {
        const Node *in = n->inputs[j];
        const Root *r = &pl->roots[p->view[in->id].root];
        bool dies = pl->uses[in->id] == 1;
        for (int k = 0; k < n->ninputs; k++)
          dies &= k == j || n->inputs[k] != in;
        if (dies && in->op != OP_INPUT && dense_view(p, in) && !r->aliased &&
            shape_elems(&in->shape) == shape_elems(&n->shape) && r->size == align_up(shape_elems(&n->shape) * 4)) {
          v.root = p->view[in->id].root;
          p->in_place[i] = true;
        }
      }
    }
    if (v.root < 0)
      v.root = new_root(pl, shape_elems(&n->shape) * 4, i);
    p->view[i] = v;
    touch(pl, v.root, i);
    /* Readers keep their inputs alive. */
    for (int j = 0; j < n->ninputs; j++)
      touch(pl, p->view[n->inputs[j]->id].root, i);
    if (n->residual)
      touch(pl, p->view[n->residual->id].root, i);
    if (n->op == OP_SEPCONV && !pass_sepconv_fuses(n)) {
      /* The depthwise half's output, alive only inside this layer (none
       * when the fused kernel keeps it in its tile). */
      int64_t mid = n->shape.d[0] * n->shape.d[1] * n->inputs[0]->shape.d[2] * n->attr.multiplier;
      p->scratch[i] = (TensorView){new_root(pl, mid * 4, i), 0, n->inputs[0]->shape.d[2] * n->attr.multiplier};
    }
  }
  for (int i = 0; i < g->noutputs; i++)
    touch(pl, p->view[g->outputs[i]->id].root, g->nnodes);
  free(slice_of);
  free(concat_root);
}

/* The network's output is written where the caller wants it, when its
 * buffer holds exactly the output: the copy out would cost a pass over it
 * (as long as the layer itself for a single wide conv at batch 64). */
static void place_output(Planner *pl) {
  const Graph *g = pl->g;
  const Plan *p = pl->p;
  if (g->noutputs != 1)
    return;
  const Node *o = g->outputs[0];
  Root *r = &pl->roots[p->view[o->id].root];
  if (r->place == ROOT_ARENA && dense_view(p, o) && r->size == align_up(shape_elems(&o->shape) * 4)) {
    r->place = ROOT_OUTPUT;
    r->size = 0;
  }
}

typedef struct Span {
  int64_t begin, end;
} Span;

static int cmp_span(const void *x, const void *y) {
  const Span *a = x, *b = y;
  return (a->begin > b->begin) - (a->begin < b->begin);
}

int64_t plan_pack(const int64_t *size, const int *first, const int *last, int n, int64_t *offset) {
  int *order = malloc(sizeof(int) * (size_t)(n ? n : 1));
  Span *busy = malloc(sizeof(Span) * (size_t)(n ? n : 1));
  bool *placed = calloc((size_t)(n ? n : 1), sizeof(bool));
  NETC_ASSERT(order && busy && placed);
  for (int i = 0; i < n; i++)
    order[i] = i;
  /* Largest first; ties by first use, then id, so the plan is deterministic. */
  for (int i = 1; i < n; i++) {
    int x = order[i], j = i - 1;
    while (j >= 0) {
      int y = order[j];
      bool after = size[y] < size[x] || (size[y] == size[x] && (first[y] > first[x] || (first[y] == first[x] && y > x)));
      if (!after)
        break;
      order[j + 1] = y;
      j--;
    }
    order[j + 1] = x;
  }
  int64_t total = 0;
  for (int k = 0; k < n; k++) {
    int r = order[k];
    int nb = 0;
    for (int q = 0; q < n; q++)
      if (placed[q] && first[q] <= last[r] && first[r] <= last[q])
        busy[nb++] = (Span){offset[q], offset[q] + size[q]};
    qsort(busy, (size_t)nb, sizeof(Span), cmp_span);
    /* Best fit: the smallest gap that holds it; else after the last. */
    int64_t best = -1, best_gap = INT64_MAX, cursor = 0;
    for (int q = 0; q <= nb; q++) {
      int64_t gap_end = q < nb ? busy[q].begin : INT64_MAX;
      if (gap_end - cursor >= size[r] && (best < 0 || gap_end - cursor < best_gap)) {
        best = cursor;
        best_gap = gap_end - cursor;
      }
      if (q < nb && busy[q].end > cursor)
        cursor = busy[q].end;
    }
    offset[r] = best;
    placed[r] = true;
    if (best + size[r] > total)
      total = best + size[r];
  }
  free(order);
  free(busy);
  free(placed);
  return total;
}

/* Slots of the largest buffer's size, each buffer centered in one that no
 * buffer alive at the same time holds: interval partitioning, buffers in
 * order of first use, each to the lowest free slot. Returns the arena
 * size (slots x the largest buffer). */
static int64_t plan_center(const int64_t *size, const int *first, const int *last, int n, int64_t *offset) {
  int *order = malloc(sizeof(int) * (size_t)(n ? n : 1)), *slot = malloc(sizeof(int) * (size_t)(n ? n : 1));
  NETC_ASSERT(order && slot);
  int64_t most = 0;
  for (int i = 0; i < n; i++) {
    order[i] = i;
    most = size[i] > most ? size[i] : most;
  }
  for (int i = 1; i < n; i++) { /* by first use, then id */
    int x = order[i], j = i - 1;
    while (j >= 0 && (first[order[j]] > first[x] || (first[order[j]] == first[x] && order[j] > x))) {
      order[j + 1] = order[j];
      j--;
    }
    order[j + 1] = x;
  }
  int nslots = 0;
  for (int k = 0; k < n; k++) {
    int r = order[k], s = 0;
    if (size[r] == 0) { /* the caller's buffers: no arena bytes */
      slot[r] = -1;
      offset[r] = 0;
      continue;
    }
    for (;; s++) {
      bool free_ = true;
      for (int q = 0; q < k && free_; q++) {
        int o = order[q];
        free_ = !(slot[o] == s && first[o] <= last[r] && first[r] <= last[o]);
      }
      if (free_)
        break;
    }
    slot[r] = s;
    nslots = s + 1 > nslots ? s + 1 : nslots;
    offset[r] = s * most + (most - size[r]) / 2 / ALIGN * ALIGN;
  }
  free(order);
  free(slot);
  return nslots * most;
}

static void assign_offsets(Planner *pl) {
  Plan *p = pl->p;
  int n = p->nroots;
  int *first = calloc((size_t)(n ? n : 1), sizeof(int)), *last = calloc((size_t)(n ? n : 1), sizeof(int));
  NETC_ASSERT(first && last);
  for (int i = 0; i < n; i++) {
    p->root_place[i] = pl->roots[i].place;
    p->root_size[i] = pl->roots[i].size;
    first[i] = pl->roots[i].first;
    last[i] = pl->roots[i].last;
  }
  p->arena_bytes = plan_pack(p->root_size, first, last, n, p->root_offset);
  int64_t *centered = malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
  NETC_ASSERT(centered);
  int64_t centered_bytes = plan_center(p->root_size, first, last, n, centered);
  if (centered_bytes <= p->arena_bytes + p->arena_bytes / 4) {
    memcpy(p->root_offset, centered, sizeof(int64_t) * (size_t)n);
    p->arena_bytes = centered_bytes;
  }
  free(centered);
  free(first);
  free(last);
}

Plan *plan_memory(Arena *a, const Graph *g) {
  Plan *p = arena_alloc(a, sizeof *p);
  int n = g->nnodes ? g->nnodes : 1;
  p->view = arena_alloc(a, sizeof(TensorView) * (size_t)n);
  p->scratch = arena_alloc(a, sizeof(TensorView) * (size_t)n);
  p->concat_free = arena_alloc(a, sizeof(bool) * (size_t)n);
  p->in_place = arena_alloc(a, sizeof(bool) * (size_t)n);
  Planner pl = {.a = a, .g = g, .p = p};
  pl.uses = malloc(sizeof(int) * (size_t)n);
  NETC_ASSERT(pl.uses);
  graph_count_uses(g, pl.uses);
  make_views(&pl);
  p->root_offset = arena_alloc(a, sizeof(int64_t) * (size_t)(p->nroots ? p->nroots : 1));
  p->root_size = arena_alloc(a, sizeof(int64_t) * (size_t)(p->nroots ? p->nroots : 1));
  p->root_place = arena_alloc(a, sizeof(RootPlace) * (size_t)(p->nroots ? p->nroots : 1));
  place_output(&pl);
  assign_offsets(&pl);
  p->naive_bytes = 0;
  for (int i = 0; i < g->nnodes; i++)
    p->naive_bytes += align_up(shape_elems(&g->nodes[i]->shape) * 4);
  free(pl.uses);
  return p;
}
