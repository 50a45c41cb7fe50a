/* Reference interpreter: evaluates the graph of a `netc report --json` file
 * with naive double-precision loops, one function per layer kind, written
 * from the Keras definitions and nothing else (no runtime, no compiler
 * code), so that a bug in the compiler's passes, planner or emitter, or in
 * a runtime kernel, cannot hide in it too. See interp.h. */
#include "interp.h"

#include <cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum LayerKind {
  L_INPUT, L_DENSE, L_CONV, L_DWCONV, L_SEPCONV, L_MAXPOOL, L_AVGPOOL,
  L_GLOBAL_AVGPOOL, L_GLOBAL_MAXPOOL, L_FLATTEN, L_DROPOUT, L_BN, L_ZEROPAD,
  L_CONCAT, L_ADD, L_MULTIPLY, L_RELU, L_RELU6, L_SIGMOID, L_TANH, L_SOFTMAX,
  L_LINEAR, L_LEAKY_RELU, L_PRELU, L_ELU, L_THRESHOLDED_RELU,
} LayerKind;

static const char *const kind_names[] = {
  "input", "dense", "conv", "dwconv", "sepconv", "maxpool", "avgpool",
  "global_avgpool", "global_maxpool", "flatten", "dropout", "bn", "zeropad",
  "concat", "add", "multiply", "relu", "relu6", "sigmoid", "tanh", "softmax",
  "linear", "leaky_relu", "prelu", "elu", "thresholded_relu",
};
#define NUM_KINDS ((int)(sizeof kind_names / sizeof kind_names[0]))

/* Activations, as layers or as the `activation` attribute. */
typedef enum Act {
  ACT_LINEAR, ACT_RELU, ACT_RELU6, ACT_SIGMOID, ACT_TANH, ACT_SOFTMAX,
  ACT_LEAKY_RELU, ACT_ELU, ACT_THRESHOLDED_RELU,
} Act;

typedef struct Layer {
  char *name;
  LayerKind kind;
  int *in;          /* indices of the input layers */
  int nin;
  int rank, shape[3]; /* output shape from the report (no batch) */
  size_t size;      /* product of shape */
  /* attributes (those the kind has) */
  int units, filters, kh, kw, sh, sw, pads[4], groups, multiplier, bias;
  Act act;
  double alpha;     /* act parameter: leaky/elu alpha, thresholded theta */
  double epsilon;
  double rate;      /* dropout */
  int shared_axes;  /* PReLU: bit i set when axis i (1..3) is shared */
  int last_use;     /* index of the last layer reading it */
} Layer;

struct RefNet {
  char *name;
  Layer *layers;
  int n;
  int *inputs, ninputs;
  int *outputs, noutputs;
};

static void fail(char *err, size_t n, const char *fmt, ...) {
  if (!err || !n)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, n, fmt, ap);
  va_end(ap);
}

static char *dup_str(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d)
    memcpy(d, s, n);
  return d;
}

static int find_layer(const RefNet *net, int upto, const char *name) {
  for (int i = 0; i < upto; i++)
    if (strcmp(net->layers[i].name, name) == 0)
      return i;
  return -1;
}

/* Reads [a, b] (or [a, b, c, d] for pads) into out; false when absent. */
static int int_array(const cJSON *attrs, const char *key, int *out, int n) {
  const cJSON *a = cJSON_GetObjectItemCaseSensitive(attrs, key);
  if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != n)
    return 0;
  for (int i = 0; i < n; i++) {
    const cJSON *v = cJSON_GetArrayItem(a, i);
    if (!cJSON_IsNumber(v))
      return 0;
    out[i] = v->valueint;
  }
  return 1;
}

static int get_int(const cJSON *attrs, const char *key, int dflt) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(attrs, key);
  return cJSON_IsNumber(v) ? v->valueint : dflt;
}

static double get_num(const cJSON *attrs, const char *key, double dflt) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(attrs, key);
  return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

static int parse_act(const char *s, Act *act, double *alpha) {
  static const struct { const char *name; Act act; double alpha; } acts[] = {
    {"linear", ACT_LINEAR, 0},   {"relu", ACT_RELU, 0},
    {"relu6", ACT_RELU6, 0},     {"sigmoid", ACT_SIGMOID, 0},
    {"tanh", ACT_TANH, 0},       {"softmax", ACT_SOFTMAX, 0},
    /* keras.activations.leaky_relu: negative_slope 0.2 (the LeakyReLU
     * layer's default is 0.3; the report gives a layer's own alpha). */
    {"leaky_relu", ACT_LEAKY_RELU, 0.2},
    {"elu", ACT_ELU, 1.0},
    /* No Keras activation function of this name: the ThresholdedReLU
     * layer's default theta. */
    {"thresholded_relu", ACT_THRESHOLDED_RELU, 1.0},
  };
  for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++)
    if (strcmp(s, acts[i].name) == 0) {
      *act = acts[i].act;
      *alpha = acts[i].alpha;
      return 1;
    }
  return 0;
}

RefNet *ref_net_load_file(const char *path, char *err, size_t en) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fail(err, en, "cannot be read");
    return NULL;
  }
  size_t cap = 1 << 16, n = 0;
  char *s = malloc(cap);
  for (size_t got; s && (got = fread(s + n, 1, cap - n - 1, f)) > 0;) {
    n += got;
    if (n + 1 == cap) {
      char *t = realloc(s, cap *= 2);
      if (!t)
        free(s);
      s = t;
    }
  }
  fclose(f);
  if (!s) {
    fail(err, en, "out of memory while reading it");
    return NULL;
  }
  s[n] = 0;
  RefNet *net = ref_net_load(s, err, en);
  free(s);
  return net;
}

void ref_net_free(RefNet *net) {
  if (!net)
    return;
  for (int i = 0; i < net->n; i++) {
    free(net->layers[i].name);
    free(net->layers[i].in);
  }
  free(net->layers);
  free(net->inputs);
  free(net->outputs);
  free(net->name);
  free(net);
}

static int name_list(const RefNet *net, const cJSON *arr, int **out, int *count, char *err, size_t en) {
  int n = cJSON_GetArraySize(arr);
  *out = calloc(n > 0 ? (size_t)n : 1, sizeof(int));
  *count = n;
  for (int i = 0; i < n; i++) {
    const cJSON *v = cJSON_GetArrayItem(arr, i);
    int k = cJSON_IsString(v) ? find_layer(net, net->n, v->valuestring) : -1;
    if (k < 0) {
      fail(err, en, "unknown layer name in inputs/outputs");
      return 0;
    }
    (*out)[i] = k;
  }
  return 1;
}

static int parse_layer(RefNet *net, const cJSON *jl, Layer *l, char *err, size_t en) {
  const cJSON *name = cJSON_GetObjectItemCaseSensitive(jl, "name");
  const cJSON *type = cJSON_GetObjectItemCaseSensitive(jl, "type");
  const cJSON *ins = cJSON_GetObjectItemCaseSensitive(jl, "inputs");
  const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(jl, "attributes");
  const cJSON *shape = cJSON_GetObjectItemCaseSensitive(jl, "output_shape");
  if (!cJSON_IsString(name) || !cJSON_IsString(type) || !cJSON_IsArray(ins) || !cJSON_IsObject(attrs) ||
      !cJSON_IsArray(shape)) {
    fail(err, en, "layer %d: missing name, type, inputs, attributes or output_shape", net->n);
    return 0;
  }
  l->name = dup_str(name->valuestring);
  l->kind = NUM_KINDS;
  for (int k = 0; k < NUM_KINDS; k++)
    if (strcmp(type->valuestring, kind_names[k]) == 0)
      l->kind = (LayerKind)k;
  if (l->kind == NUM_KINDS) {
    fail(err, en, "layer '%s': unknown type '%s'", l->name, type->valuestring);
    return 0;
  }
  l->rank = cJSON_GetArraySize(shape);
  if (l->rank < 1 || l->rank > 3) {
    fail(err, en, "layer '%s': output rank %d", l->name, l->rank);
    return 0;
  }
  l->size = 1;
  for (int i = 0; i < l->rank; i++) {
    const cJSON *v = cJSON_GetArrayItem(shape, i);
    if (!cJSON_IsNumber(v) || v->valueint < 1) {
      fail(err, en, "layer '%s': bad output_shape", l->name);
      return 0;
    }
    l->shape[i] = v->valueint;
    l->size *= (size_t)v->valueint;
  }
  l->nin = cJSON_GetArraySize(ins);
  l->in = calloc(l->nin > 0 ? (size_t)l->nin : 1, sizeof(int));
  for (int i = 0; i < l->nin; i++) {
    const cJSON *v = cJSON_GetArrayItem(ins, i);
    /* graph order: every input precedes its readers */
    int k = cJSON_IsString(v) ? find_layer(net, net->n, v->valuestring) : -1;
    if (k < 0) {
      fail(err, en, "layer '%s': input %d is not an earlier layer", l->name, i);
      return 0;
    }
    l->in[i] = k;
  }
  l->units = get_int(attrs, "units", 0);
  l->filters = get_int(attrs, "filters", 0);
  int win[2] = {1, 1}, st[2] = {1, 1};
  if (!int_array(attrs, "kernel", win, 2))
    int_array(attrs, "pool", win, 2);
  int_array(attrs, "stride", st, 2);
  l->kh = win[0], l->kw = win[1], l->sh = st[0], l->sw = st[1];
  memset(l->pads, 0, sizeof l->pads);
  int_array(attrs, "pads", l->pads, 4);
  l->groups = get_int(attrs, "groups", 1);
  l->multiplier = get_int(attrs, "multiplier", 1);
  const cJSON *bias = cJSON_GetObjectItemCaseSensitive(attrs, "bias");
  l->bias = bias ? cJSON_IsTrue(bias) : 0;
  l->epsilon = get_num(attrs, "epsilon", 0.001);
  l->rate = get_num(attrs, "rate", 0.0);
  l->act = ACT_LINEAR;
  l->alpha = 0;
  const cJSON *act = cJSON_GetObjectItemCaseSensitive(attrs, "activation");
  if (act && (!cJSON_IsString(act) || !parse_act(act->valuestring, &l->act, &l->alpha))) {
    fail(err, en, "layer '%s': unknown activation", l->name);
    return 0;
  }
  switch (l->kind) {
  case L_LEAKY_RELU: l->act = ACT_LEAKY_RELU; l->alpha = get_num(attrs, "alpha", 0.3); break;
  case L_ELU: l->act = ACT_ELU; l->alpha = get_num(attrs, "alpha", 1.0); break;
  case L_THRESHOLDED_RELU: l->act = ACT_THRESHOLDED_RELU; l->alpha = get_num(attrs, "theta", 1.0); break;
  case L_RELU: l->act = ACT_RELU; break;
  case L_RELU6: l->act = ACT_RELU6; break;
  case L_SIGMOID: l->act = ACT_SIGMOID; break;
  case L_TANH: l->act = ACT_TANH; break;
  case L_SOFTMAX: l->act = ACT_SOFTMAX; break;
  case L_LINEAR: l->act = ACT_LINEAR; break;
  default: break;
  }
  l->shared_axes = 0;
  const cJSON *axes = cJSON_GetObjectItemCaseSensitive(attrs, "shared_axes");
  for (int i = 0; axes && i < cJSON_GetArraySize(axes); i++)
    l->shared_axes |= 1 << cJSON_GetArrayItem(axes, i)->valueint;
  const cJSON *axis = cJSON_GetObjectItemCaseSensitive(attrs, "axis");
  if (axis && !(cJSON_IsNumber(axis) && (axis->valueint == -1 || axis->valueint == l->rank))) {
    fail(err, en, "layer '%s': concat axis other than the last", l->name);
    return 0;
  }
  return 1;
}

RefNet *ref_net_load(const char *json, char *err, size_t en) {
  cJSON *root = cJSON_Parse(json);
  if (!root) {
    fail(err, en, "not JSON");
    return NULL;
  }
  RefNet *net = calloc(1, sizeof *net);
  const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
  const cJSON *layers = cJSON_GetObjectItemCaseSensitive(root, "layers");
  if (!net || !cJSON_IsString(model) || !cJSON_IsArray(layers)) {
    fail(err, en, "no 'model' or 'layers'");
    goto bad;
  }
  net->name = dup_str(model->valuestring);
  net->layers = calloc((size_t)cJSON_GetArraySize(layers) + 1, sizeof(Layer));
  const cJSON *jl;
  cJSON_ArrayForEach(jl, layers) {
    Layer *l = &net->layers[net->n];
    int ok = parse_layer(net, jl, l, err, en);
    net->n++; /* so ref_net_free frees what parse_layer allocated */
    if (!ok)
      goto bad;
  }
  if (!name_list(net, cJSON_GetObjectItemCaseSensitive(root, "inputs"), &net->inputs, &net->ninputs, err, en) ||
      !name_list(net, cJSON_GetObjectItemCaseSensitive(root, "outputs"), &net->outputs, &net->noutputs, err, en))
    goto bad;
  for (int i = 0; i < net->n; i++) {
    net->layers[i].last_use = i;
    for (int j = 0; j < net->layers[i].nin; j++)
      net->layers[net->layers[i].in[j]].last_use = i;
  }
  for (int i = 0; i < net->noutputs; i++)
    net->layers[net->outputs[i]].last_use = net->n;
  cJSON_Delete(root);
  return net;
bad:
  cJSON_Delete(root);
  ref_net_free(net);
  return NULL;
}

const char *ref_net_name(const RefNet *net) { return net->name; }
int ref_net_num_inputs(const RefNet *net) { return net->ninputs; }
int ref_net_num_outputs(const RefNet *net) { return net->noutputs; }
size_t ref_net_input_size(const RefNet *net, int i) { return net->layers[net->inputs[i]].size; }
size_t ref_net_output_size(const RefNet *net, int i) { return net->layers[net->outputs[i]].size; }

/* The input's last dimension (channels, or the vector length). */
static int last_dim(const Layer *l) { return l->shape[l->rank - 1]; }

int ref_net_fan_in(const RefNet *net, const char *name) {
  for (int i = 0; i < net->n; i++) {
    const Layer *l = &net->layers[i];
    size_t len = strlen(l->name);
    if (strncmp(name, l->name, len) != 0 || name[len] != '.' || l->nin < 1)
      continue;
    const char *what = name + len + 1;
    const Layer *in = &net->layers[l->in[0]];
    int c = last_dim(in);
    if (l->kind == L_DENSE && strcmp(what, "kernel") == 0)
      return c;
    if (l->kind == L_CONV && strcmp(what, "kernel") == 0)
      return l->kh * l->kw * c / (l->groups > 0 ? l->groups : 1);
    if ((l->kind == L_DWCONV || l->kind == L_SEPCONV) && strcmp(what, "depthwise_kernel") == 0)
      return l->kh * l->kw;
    if (l->kind == L_SEPCONV && strcmp(what, "pointwise_kernel") == 0)
      return c * l->multiplier;
  }
  return 0;
}

/* ---- Evaluation ------------------------------------------------------------ */

typedef struct Run {
  const RefNet *net;
  RefParamFn fn;
  void *user;
  char *err;
  size_t en;
} Run;

/* Fetches `<layer>.<what>` and checks its shape against want[0 .. rank). */
static const float *param(Run *r, const Layer *l, const char *what, int rank, const int *want) {
  char name[512];
  snprintf(name, sizeof name, "%s.%s", l->name, what);
  int got_rank = 0, got[4] = {0, 0, 0, 0};
  const float *p = r->fn(r->user, name, &got_rank, got);
  if (!p) {
    fail(r->err, r->en, "tensor '%s' is missing", name);
    return NULL;
  }
  int same = got_rank == rank;
  for (int i = 0; same && i < rank; i++)
    same = got[i] == want[i];
  if (!same) {
    fail(r->err, r->en, "tensor '%s': shape rank %d [%d, %d, %d, %d], want rank %d [%d, %d, %d, %d]", name,
         got_rank, got[0], got[1], got[2], got[3], rank, want[0], rank > 1 ? want[1] : 0,
         rank > 2 ? want[2] : 0, rank > 3 ? want[3] : 0);
    return NULL;
  }
  return p;
}

static double act_apply(Act act, double alpha, double x) {
  switch (act) {
  case ACT_LINEAR: return x;
  case ACT_RELU: return x > 0 ? x : 0;
  case ACT_RELU6: return x < 0 ? 0 : x > 6 ? 6 : x;
  case ACT_SIGMOID: return 1 / (1 + exp(-x));
  case ACT_TANH: return tanh(x);
  case ACT_LEAKY_RELU: return x > 0 ? x : alpha * x;
  case ACT_ELU: return x > 0 ? x : alpha * (exp(x) - 1);
  case ACT_THRESHOLDED_RELU: return x > alpha ? x : 0;
  case ACT_SOFTMAX: break; /* over a row: see act_rows */
  }
  return x;
}

/* Applies act to n values, as rows of c for softmax (the last axis). */
static void act_rows(double *v, size_t n, int c, Act act, double alpha) {
  if (act != ACT_SOFTMAX) {
    for (size_t i = 0; i < n; i++)
      v[i] = act_apply(act, alpha, v[i]);
    return;
  }
  for (size_t r = 0; r < n / (size_t)c; r++) {
    double *row = v + r * (size_t)c, mx = row[0], sum = 0;
    for (int k = 1; k < c; k++)
      mx = row[k] > mx ? row[k] : mx;
    for (int k = 0; k < c; k++)
      sum += row[k] = exp(row[k] - mx);
    for (int k = 0; k < c; k++)
      row[k] /= sum;
  }
}

/* out[oy, ox, f] = sum over ky, kx, ci of in[oy*sh - top + ky, ox*sw - left
 * + kx, g*cg + ci] * kernel[ky, kx, ci, f] for f in group g (zero outside
 * the input). Keras Conv2D with groups. */
static void conv_loops(double *out, const double *in, int H, int W, int C, int OH, int OW, int F, int kh,
                       int kw, int sh, int sw, int top, int left, int groups, const float *kernel) {
  int cg = C / groups, fg = F / groups;
  for (int oy = 0; oy < OH; oy++)
    for (int ox = 0; ox < OW; ox++) {
      double *acc = out + ((size_t)oy * OW + ox) * F;
      for (int f = 0; f < F; f++)
        acc[f] = 0;
      for (int ky = 0; ky < kh; ky++) {
        int iy = oy * sh - top + ky;
        if (iy < 0 || iy >= H)
          continue;
        for (int kx = 0; kx < kw; kx++) {
          int ix = ox * sw - left + kx;
          if (ix < 0 || ix >= W)
            continue;
          const double *px = in + ((size_t)iy * W + ix) * C;
          for (int g = 0; g < groups; g++)
            for (int ci = 0; ci < cg; ci++) {
              double x = px[g * cg + ci];
              const float *wr = kernel + (((size_t)ky * kw + kx) * cg + ci) * F + (size_t)g * fg;
              for (int f = 0; f < fg; f++)
                acc[g * fg + f] += x * wr[f];
            }
        }
      }
    }
}

/* Depthwise: out[oy, ox, c*M + m] = sum of in[.., .., c] * kernel[ky, kx, c, m]. */
static void dwconv_loops(double *out, const double *in, int H, int W, int C, int OH, int OW, int M, int kh,
                         int kw, int sh, int sw, int top, int left, const float *kernel) {
  for (int oy = 0; oy < OH; oy++)
    for (int ox = 0; ox < OW; ox++)
      for (int c = 0; c < C; c++)
        for (int m = 0; m < M; m++) {
          double acc = 0;
          for (int ky = 0; ky < kh; ky++) {
            int iy = oy * sh - top + ky;
            for (int kx = 0; kx < kw; kx++) {
              int ix = ox * sw - left + kx;
              if (iy < 0 || iy >= H || ix < 0 || ix >= W)
                continue;
              acc += in[((size_t)iy * W + ix) * C + c] * kernel[(((size_t)ky * kw + kx) * C + c) * M + m];
            }
          }
          out[((size_t)oy * OW + ox) * C * M + (size_t)c * M + m] = acc;
        }
}

static int window_shape_ok(Run *r, const Layer *l, const Layer *in, int oc) {
  int H = in->shape[0], W = in->shape[1];
  int oh = (H + l->pads[0] + l->pads[1] - l->kh) / l->sh + 1;
  int ow = (W + l->pads[2] + l->pads[3] - l->kw) / l->sw + 1;
  if (in->rank != 3 || l->rank != 3 || l->shape[0] != oh || l->shape[1] != ow || l->shape[2] != oc) {
    fail(r->err, r->en, "layer '%s': report's output shape %dx%dx%d, the window arithmetic gives %dx%dx%d",
         l->name, l->shape[0], l->shape[1], l->shape[2], oh, ow, oc);
    return 0;
  }
  return 1;
}

static int shape_is(Run *r, const Layer *l, size_t size) {
  if (l->size != size) {
    fail(r->err, r->en, "layer '%s': report's output size %zu, its inputs give %zu", l->name, l->size, size);
    return 0;
  }
  return 1;
}

/* Evaluates layer l of one image into out (l->size doubles). */
static int eval(Run *r, const Layer *l, double *out, double *const *vals) {
  const RefNet *net = r->net;
  const Layer *in = l->nin > 0 ? &net->layers[l->in[0]] : NULL;
  const double *x = l->nin > 0 ? vals[l->in[0]] : NULL;
  int C = in ? last_dim(in) : 0;
  switch (l->kind) {
  case L_INPUT:
    return 1; /* filled by the caller */
  case L_DENSE: {
    int U = l->units;
    size_t rows = in->size / (size_t)C;
    if (!shape_is(r, l, rows * (size_t)U))
      return 0;
    const float *k = param(r, l, "kernel", 2, (int[]){C, U});
    const float *b = l->bias ? param(r, l, "bias", 1, (int[]){U}) : NULL;
    if (!k || (l->bias && !b))
      return 0;
    for (size_t p = 0; p < rows; p++)
      for (int u = 0; u < U; u++) {
        double acc = 0;
        for (int i = 0; i < C; i++)
          acc += x[p * C + i] * k[(size_t)i * U + u];
        out[p * U + u] = acc + (b ? b[u] : 0);
      }
    break;
  }
  case L_CONV: {
    int F = l->filters, G = l->groups > 0 ? l->groups : 1;
    if (!window_shape_ok(r, l, in, F))
      return 0;
    if (C % G || F % G) {
      fail(r->err, r->en, "layer '%s': groups %d do not divide %d and %d", l->name, G, C, F);
      return 0;
    }
    const float *k = param(r, l, "kernel", 4, (int[]){l->kh, l->kw, C / G, F});
    const float *b = l->bias ? param(r, l, "bias", 1, (int[]){F}) : NULL;
    if (!k || (l->bias && !b))
      return 0;
    conv_loops(out, x, in->shape[0], in->shape[1], C, l->shape[0], l->shape[1], F, l->kh, l->kw, l->sh, l->sw,
               l->pads[0], l->pads[2], G, k);
    for (size_t i = 0; b && i < l->size; i++)
      out[i] += b[i % (size_t)F];
    break;
  }
  case L_DWCONV: {
    int M = l->multiplier;
    if (!window_shape_ok(r, l, in, C * M))
      return 0;
    const float *k = param(r, l, "depthwise_kernel", 4, (int[]){l->kh, l->kw, C, M});
    const float *b = l->bias ? param(r, l, "bias", 1, (int[]){C * M}) : NULL;
    if (!k || (l->bias && !b))
      return 0;
    dwconv_loops(out, x, in->shape[0], in->shape[1], C, l->shape[0], l->shape[1], M, l->kh, l->kw, l->sh, l->sw,
                 l->pads[0], l->pads[2], k);
    for (size_t i = 0; b && i < l->size; i++)
      out[i] += b[i % (size_t)(C * M)];
    break;
  }
  case L_SEPCONV: {
    /* Keras SeparableConv2D: depthwise (no bias), then a 1x1 pointwise
     * convolution, then the bias. */
    int M = l->multiplier, F = l->filters;
    if (!window_shape_ok(r, l, in, F))
      return 0;
    const float *dk = param(r, l, "depthwise_kernel", 4, (int[]){l->kh, l->kw, C, M});
    const float *pk = param(r, l, "pointwise_kernel", 4, (int[]){1, 1, C * M, F});
    const float *b = l->bias ? param(r, l, "bias", 1, (int[]){F}) : NULL;
    if (!dk || !pk || (l->bias && !b))
      return 0;
    size_t pix = (size_t)l->shape[0] * l->shape[1];
    double *mid = malloc(pix * (size_t)C * M * sizeof(double));
    if (!mid) {
      fail(r->err, r->en, "out of memory");
      return 0;
    }
    dwconv_loops(mid, x, in->shape[0], in->shape[1], C, l->shape[0], l->shape[1], M, l->kh, l->kw, l->sh, l->sw,
                 l->pads[0], l->pads[2], dk);
    conv_loops(out, mid, l->shape[0], l->shape[1], C * M, l->shape[0], l->shape[1], F, 1, 1, 1, 1, 0, 0, 1, pk);
    free(mid);
    for (size_t i = 0; b && i < l->size; i++)
      out[i] += b[i % (size_t)F];
    break;
  }
  case L_MAXPOOL:
  case L_AVGPOOL: {
    if (!window_shape_ok(r, l, in, C))
      return 0;
    int H = in->shape[0], W = in->shape[1];
    for (int oy = 0; oy < l->shape[0]; oy++)
      for (int ox = 0; ox < l->shape[1]; ox++)
        for (int c = 0; c < C; c++) {
          double best = -INFINITY, sum = 0;
          int count = 0;
          for (int ky = 0; ky < l->kh; ky++)
            for (int kx = 0; kx < l->kw; kx++) {
              int iy = oy * l->sh - l->pads[0] + ky, ix = ox * l->sw - l->pads[2] + kx;
              if (iy < 0 || iy >= H || ix < 0 || ix >= W)
                continue; /* padding: never the max, not counted */
              double v = x[((size_t)iy * W + ix) * C + c];
              best = v > best ? v : best;
              sum += v;
              count++;
            }
          out[((size_t)oy * l->shape[1] + ox) * C + c] = l->kind == L_MAXPOOL ? best : sum / count;
        }
    break;
  }
  case L_GLOBAL_AVGPOOL:
  case L_GLOBAL_MAXPOOL: {
    size_t pix = in->size / (size_t)C;
    if (!shape_is(r, l, (size_t)C))
      return 0;
    for (int c = 0; c < C; c++) {
      double sum = 0, best = -INFINITY;
      for (size_t p = 0; p < pix; p++) {
        double v = x[p * C + c];
        sum += v;
        best = v > best ? v : best;
      }
      out[c] = l->kind == L_GLOBAL_AVGPOOL ? sum / (double)pix : best;
    }
    break;
  }
  case L_FLATTEN: /* NHWC order is already the flattened order */
  case L_DROPOUT: /* the identity at inference */
    if (!shape_is(r, l, in->size))
      return 0;
    memcpy(out, x, l->size * sizeof(double));
    break;
  case L_BN: {
    if (!shape_is(r, l, in->size))
      return 0;
    const int c1[1] = {C};
    const float *g = param(r, l, "gamma", 1, c1), *be = param(r, l, "beta", 1, c1);
    const float *mu = param(r, l, "moving_mean", 1, c1), *var = param(r, l, "moving_variance", 1, c1);
    if (!g || !be || !mu || !var)
      return 0;
    for (size_t i = 0; i < l->size; i++) {
      int c = (int)(i % (size_t)C);
      out[i] = (x[i] - mu[c]) / sqrt((double)var[c] + l->epsilon) * g[c] + be[c];
    }
    break;
  }
  case L_ZEROPAD: {
    int H = in->shape[0], W = in->shape[1], OW = W + l->pads[2] + l->pads[3];
    if (in->rank != 3 || !shape_is(r, l, (size_t)(H + l->pads[0] + l->pads[1]) * OW * C))
      return 0;
    memset(out, 0, l->size * sizeof(double));
    for (int y = 0; y < H; y++)
      for (int xx = 0; xx < W; xx++)
        for (int c = 0; c < C; c++)
          out[((size_t)(y + l->pads[0]) * OW + xx + l->pads[2]) * C + c] = x[((size_t)y * W + xx) * C + c];
    break;
  }
  case L_CONCAT: {
    int total = 0;
    for (int j = 0; j < l->nin; j++)
      total += last_dim(&net->layers[l->in[j]]);
    size_t pix = in->size / (size_t)C;
    if (!shape_is(r, l, pix * (size_t)total))
      return 0;
    int off = 0;
    for (int j = 0; j < l->nin; j++) {
      const Layer *lj = &net->layers[l->in[j]];
      int cj = last_dim(lj);
      if (lj->size != pix * (size_t)cj) {
        fail(r->err, r->en, "layer '%s': concat of inputs with different pixel counts", l->name);
        return 0;
      }
      for (size_t p = 0; p < pix; p++)
        for (int c = 0; c < cj; c++)
          out[p * total + off + c] = vals[l->in[j]][p * cj + c];
      off += cj;
    }
    break;
  }
  case L_ADD:
  case L_MULTIPLY: {
    /* Add: same shapes. Multiply: same shapes, or a C (or 1x1xC) operand
     * broadcast over every pixel of the HxWxC one. */
    int oc = last_dim(l);
    for (size_t i = 0; i < l->size; i++)
      out[i] = l->kind == L_ADD ? 0 : 1;
    for (int j = 0; j < l->nin; j++) {
      const Layer *lj = &net->layers[l->in[j]];
      const double *v = vals[l->in[j]];
      int bcast = lj->size != l->size;
      if (bcast && !(l->kind == L_MULTIPLY && lj->size == (size_t)oc && last_dim(lj) == oc)) {
        fail(r->err, r->en, "layer '%s': operand %d has %zu values, the output %zu", l->name, j, lj->size,
             l->size);
        return 0;
      }
      for (size_t i = 0; i < l->size; i++) {
        double o = bcast ? v[i % (size_t)oc] : v[i];
        out[i] = l->kind == L_ADD ? out[i] + o : out[i] * o;
      }
    }
    return 1;
  }
  case L_PRELU: {
    /* alpha has the input's shape with each shared axis (1..rank) set to 1 */
    if (!shape_is(r, l, in->size))
      return 0;
    int ash[3] = {1, 1, 1};
    for (int a = 0; a < in->rank; a++)
      ash[a] = (l->shared_axes & (1 << (a + 1))) ? 1 : in->shape[a];
    const float *al = param(r, l, "alpha", in->rank, ash);
    if (!al)
      return 0;
    int d0 = in->shape[0], d1 = in->rank > 1 ? in->shape[1] : 1, d2 = in->rank > 2 ? in->shape[2] : 1;
    int a1 = in->rank > 1 ? ash[1] : 1, a2 = in->rank > 2 ? ash[2] : 1;
    for (int i0 = 0; i0 < d0; i0++)
      for (int i1 = 0; i1 < d1; i1++)
        for (int i2 = 0; i2 < d2; i2++) {
          size_t i = ((size_t)i0 * d1 + i1) * d2 + i2;
          size_t ai = ((size_t)(ash[0] == 1 ? 0 : i0) * a1 + (a1 == 1 ? 0 : i1)) * a2 + (a2 == 1 ? 0 : i2);
          out[i] = x[i] > 0 ? x[i] : al[ai] * x[i];
        }
    return 1;
  }
  case L_RELU: case L_RELU6: case L_SIGMOID: case L_TANH: case L_SOFTMAX: case L_LINEAR:
  case L_LEAKY_RELU: case L_ELU: case L_THRESHOLDED_RELU:
    if (!shape_is(r, l, in->size))
      return 0;
    memcpy(out, x, l->size * sizeof(double));
    break;
  }
  act_rows(out, l->size, last_dim(l), l->act, l->alpha);
  return 1;
}

int ref_net_run(const RefNet *net, RefParamFn fn, void *user, const float *const *inputs, double *const *outputs,
                int batch, char *err, size_t en) {
  Run r = {net, fn, user, err, en};
  double **vals = calloc((size_t)net->n, sizeof(double *));
  int ok = vals != NULL;
  for (int b = 0; ok && b < batch; b++) {
    for (int i = 0; ok && i < net->n; i++) {
      const Layer *l = &net->layers[i];
      vals[i] = malloc(l->size * sizeof(double));
      if (!vals[i]) {
        fail(err, en, "out of memory");
        ok = 0;
        break;
      }
      for (int k = 0; k < net->ninputs; k++)
        if (net->inputs[k] == i)
          for (size_t j = 0; j < l->size; j++)
            vals[i][j] = inputs[k][(size_t)b * l->size + j];
      ok = eval(&r, l, vals[i], vals);
      /* free the inputs this layer was the last reader of */
      for (int j = 0; j < l->nin; j++)
        if (net->layers[l->in[j]].last_use == i) {
          free(vals[l->in[j]]);
          vals[l->in[j]] = NULL;
        }
      if (ok && l->last_use == i) { /* read by nobody */
        free(vals[i]);
        vals[i] = NULL;
      }
    }
    for (int k = 0; ok && k < net->noutputs; k++) {
      const Layer *l = &net->layers[net->outputs[k]];
      for (size_t j = 0; j < l->size; j++)
        outputs[k][(size_t)b * l->size + j] = vals[net->outputs[k]][j];
    }
    for (int i = 0; i < net->n; i++) {
      free(vals[i]);
      vals[i] = NULL;
    }
  }
  free(vals);
  return ok ? 0 : -1;
}

/* ---- Training mode ---------------------------------------------------------- */

/* The mask draw of netc's dropout (runtime/kernels/train_eltwise.c): the
 * mask is a choice of the emitted program, not a computation under test,
 * so the reference draws the same one. */
static uint64_t splitmix64_at(uint64_t seed, uint64_t i) {
  uint64_t z = seed + (i + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

int ref_net_run_train(const RefNet *net, RefParamFn fn, void *user, const float *const *inputs,
                      double *const *outputs, int batch, uint64_t seed, char *err, size_t en) {
  Run r = {net, fn, user, err, en};
  /* Layer by layer over the whole batch (batch norm needs it), every
   * layer's output kept: the nets checked this way are small. */
  double **all = calloc((size_t)net->n, sizeof(double *));
  double **img = calloc((size_t)net->n, sizeof(double *));
  int ok = all && img;
  for (int i = 0; ok && i < net->n; i++) {
    const Layer *l = &net->layers[i];
    const Layer *in = l->nin > 0 ? &net->layers[l->in[0]] : NULL;
    all[i] = malloc((size_t)batch * l->size * sizeof(double));
    if (!all[i]) {
      fail(err, en, "out of memory");
      ok = 0;
      break;
    }
    double *out = all[i];
    if (l->kind == L_INPUT) {
      for (int k = 0; k < net->ninputs; k++)
        if (net->inputs[k] == i)
          for (size_t j = 0; j < (size_t)batch * l->size; j++)
            out[j] = inputs[k][j];
    } else if (l->kind == L_BN) {
      /* Batch statistics over every pixel of the batch (biased variance,
       * as Keras normalizes). */
      int C = last_dim(in);
      const int c1[1] = {C};
      const float *g = param(&r, l, "gamma", 1, c1), *be = param(&r, l, "beta", 1, c1);
      if (!g || !be || in->size != l->size) {
        ok = ok && g && be;
        if (ok)
          fail(err, en, "layer '%s': batch norm changes the shape", l->name);
        ok = 0;
        break;
      }
      const double *x = all[l->in[0]];
      size_t total = (size_t)batch * l->size, pix = total / (size_t)C;
      for (int c = 0; c < C; c++) {
        double mean = 0, var = 0;
        for (size_t p = 0; p < pix; p++)
          mean += x[p * C + c];
        mean /= (double)pix;
        for (size_t p = 0; p < pix; p++)
          var += (x[p * C + c] - mean) * (x[p * C + c] - mean);
        var /= (double)pix;
        for (size_t p = 0; p < pix; p++)
          out[p * C + c] = (x[p * C + c] - mean) / sqrt(var + l->epsilon) * g[c] + be[c];
      }
      for (size_t j = 0; j < total; j++) /* its fused activation, as eval's */
        out[j] = act_apply(l->act, l->alpha, out[j]);
    } else if (l->kind == L_DROPOUT) {
      /* netc's seed for this layer: the step's seed ^ (id * 7919 + 1),
       * the id being the layer's index in the graph as written. */
      uint64_t s = seed ^ (uint64_t)(i * 7919 + 1);
      const double *x = all[l->in[0]];
      double scale = 1.0 / (1.0 - (double)(float)l->rate);
      for (size_t j = 0; j < (size_t)batch * l->size; j++) {
        int keep = (double)(splitmix64_at(s, j) >> 40) * 0x1p-24 >= (double)(float)l->rate;
        out[j] = keep ? x[j] * scale : 0.0;
      }
    } else {
      for (int b = 0; ok && b < batch; b++) {
        for (int j = 0; j < l->nin; j++)
          img[l->in[j]] = all[l->in[j]] + (size_t)b * net->layers[l->in[j]].size;
        ok = eval(&r, l, out + (size_t)b * l->size, img);
      }
    }
  }
  for (int k = 0; ok && k < net->noutputs; k++) {
    const Layer *l = &net->layers[net->outputs[k]];
    memcpy(outputs[k], all[net->outputs[k]], (size_t)batch * l->size * sizeof(double));
  }
  for (int i = 0; all && i < net->n; i++)
    free(all[i]);
  free(all);
  free(img);
  return ok ? 0 : -1;
}
