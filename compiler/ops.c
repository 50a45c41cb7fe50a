/* ops.c: the op table (ops.def) and each op's argument schema and Keras
 * defaults. The language's layer keywords come from here and nowhere else. */
#include "netc.h"

#include <string.h>

static const struct {
  const char *dsl, *keras;
  OpCategory cat;
} op_table[OP_COUNT] = {
#define OP(id, dsl, keras, cat) [OP_##id] = {dsl, keras, cat},
#include "ops.def"
#undef OP
};

const char *op_name(OpKind op) { return op_table[op].dsl; }
const char *op_keras_type(OpKind op) { return op_table[op].keras; }
OpCategory op_category(OpKind op) { return op_table[op].cat; }

bool op_lookup(const char *name, OpKind *out) {
  for (int i = 0; i < OP_COUNT; i++) {
    /* `input` names graph inputs; it is not a layer one can call. */
    if (i != OP_INPUT && strcmp(op_table[i].dsl, name) == 0) {
      *out = (OpKind)i;
      return true;
    }
  }
  return false;
}

int op_all_names(const char **out, int cap) {
  int n = 0;
  for (int i = 0; i < OP_COUNT && n < cap; i++)
    if (i != OP_INPUT)
      out[n++] = op_table[i].dsl;
  return n;
}

bool op_is_variadic(OpKind op) {
  return op == OP_ADD || op == OP_MULTIPLY || op == OP_CONCAT;
}

bool op_as_activation(OpKind op, Act *out) {
  switch (op) {
  case OP_LINEAR: *out = ACT_LINEAR; return true;
  case OP_RELU: *out = ACT_RELU; return true;
  case OP_RELU6: *out = ACT_RELU6; return true;
  case OP_SIGMOID: *out = ACT_SIGMOID; return true;
  case OP_TANH: *out = ACT_TANH; return true;
  case OP_SOFTMAX: *out = ACT_SOFTMAX; return true;
  case OP_LEAKY_RELU: *out = ACT_LEAKY_RELU; return true;
  case OP_ELU: *out = ACT_ELU; return true;
  case OP_THRESHOLDED_RELU: *out = ACT_THRESHOLDED_RELU; return true;
  default: return false;
  }
}

const char *act_name(Act a) {
  switch (a) {
  case ACT_LINEAR: return "linear";
  case ACT_RELU: return "relu";
  case ACT_RELU6: return "relu6";
  case ACT_SIGMOID: return "sigmoid";
  case ACT_TANH: return "tanh";
  case ACT_SOFTMAX: return "softmax";
  case ACT_LEAKY_RELU: return "leaky_relu";
  case ACT_ELU: return "elu";
  case ACT_THRESHOLDED_RELU: return "thresholded_relu";
  }
  return "?";
}

#define ARGS(...) static const ArgSpec __VA_ARGS__
ARGS(dense_args[] = {{"units", F_UNITS, true}, {"activation", F_ACTIVATION, false},
                     {"bias", F_BIAS, false}, {"name", F_NAME, false}});
ARGS(conv_args[] = {{"filters", F_FILTERS, true}, {"kernel", F_KERNEL, true},
                    {"stride", F_STRIDE, false}, {"pad", F_PAD, false},
                    {"groups", F_GROUPS, false}, {"bias", F_BIAS, false},
                    {"activation", F_ACTIVATION, false}, {"name", F_NAME, false}});
ARGS(dwconv_args[] = {{"kernel", F_KERNEL, true}, {"stride", F_STRIDE, false},
                      {"multiplier", F_MULTIPLIER, false}, {"pad", F_PAD, false},
                      {"bias", F_BIAS, false}, {"activation", F_ACTIVATION, false},
                      {"name", F_NAME, false}});
ARGS(sepconv_args[] = {{"filters", F_FILTERS, true}, {"kernel", F_KERNEL, true},
                       {"stride", F_STRIDE, false}, {"multiplier", F_MULTIPLIER, false},
                       {"pad", F_PAD, false}, {"bias", F_BIAS, false},
                       {"activation", F_ACTIVATION, false}, {"name", F_NAME, false}});
ARGS(pool_args[] = {{"pool", F_KERNEL, false}, {"stride", F_STRIDE, false},
                    {"pad", F_PAD, false}, {"name", F_NAME, false}});
ARGS(name_only[] = {{"name", F_NAME, false}});
ARGS(dropout_args[] = {{"rate", F_RATE, true}, {"name", F_NAME, false}});
ARGS(bn_args[] = {{"momentum", F_MOMENTUM, false}, {"epsilon", F_EPSILON, false},
                  {"name", F_NAME, false}});
ARGS(zeropad_args[] = {{"pad", F_PAD, false}, {"name", F_NAME, false}});
ARGS(alpha_args[] = {{"alpha", F_ALPHA, false}, {"name", F_NAME, false}});
ARGS(theta_args[] = {{"theta", F_THETA, false}, {"name", F_NAME, false}});
ARGS(prelu_args[] = {{"shared_axes", F_SHARED_AXES, false}, {"name", F_NAME, false}});
#undef ARGS

#define RET(arr) (*n = (int)(sizeof arr / sizeof arr[0]), arr)
const ArgSpec *op_args(OpKind op, int *n) {
  switch (op) {
  case OP_DENSE: return RET(dense_args);
  case OP_CONV: return RET(conv_args);
  case OP_DWCONV: return RET(dwconv_args);
  case OP_SEPCONV: return RET(sepconv_args);
  case OP_MAXPOOL:
  case OP_AVGPOOL: return RET(pool_args);
  case OP_DROPOUT: return RET(dropout_args);
  case OP_BN: return RET(bn_args);
  case OP_ZEROPAD: return RET(zeropad_args);
  case OP_LEAKY_RELU:
  case OP_ELU: return RET(alpha_args);
  case OP_THRESHOLDED_RELU: return RET(theta_args);
  case OP_PRELU: return RET(prelu_args);
  case OP_INPUT:
  case OP_GLOBAL_AVGPOOL:
  case OP_GLOBAL_MAXPOOL:
  case OP_FLATTEN:
  case OP_CONCAT:
  case OP_ADD:
  case OP_MULTIPLY:
  case OP_RELU:
  case OP_RELU6:
  case OP_SIGMOID:
  case OP_TANH:
  case OP_SOFTMAX:
  case OP_LINEAR: return RET(name_only);
  case OP_COUNT: break;
  }
  NETC_ASSERT(!"op without argument schema");
}
#undef RET

void op_default_attrs(OpKind op, Attrs *a) {
  memset(a, 0, sizeof *a);
  a->kernel[0] = a->kernel[1] = 1;
  a->stride[0] = a->stride[1] = 1;
  a->pad_mode = PAD_VALID;
  a->groups = 1;
  a->multiplier = 1;
  a->bias = true;
  a->act = ACT_LINEAR;
  a->momentum = 0.99;
  a->epsilon = 1e-3;
  switch (op) {
  case OP_MAXPOOL:
  case OP_AVGPOOL:
    a->kernel[0] = a->kernel[1] = 2;
    a->stride[0] = a->stride[1] = 0;  /* 0: same as the pool size */
    break;
  case OP_ZEROPAD:
    a->pad_mode = PAD_EXPLICIT;
    a->pad[0] = a->pad[1] = a->pad[2] = a->pad[3] = 1;
    break;
  case OP_LEAKY_RELU: a->alpha = 0.3; break;
  case OP_ELU: a->alpha = 1.0; break;
  case OP_THRESHOLDED_RELU: a->alpha = 1.0; break;
  default: break;
  }
}
