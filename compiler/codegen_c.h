/* codegen_c.h: what the C backend's two files share: codegen_c.c (the
 * inference forward, prepare(), the descriptor) and codegen_c_train.c (the
 * training step). */
#ifndef NETC_CODEGEN_C_H
#define NETC_CODEGEN_C_H

#include "emit.h"

typedef struct ParamEntry {
  const char *name;      /* "conv_1.kernel" */
  int rank;
  int64_t shape[4];
  int64_t offset, count; /* floats */
  const char *init;      /* NETC_INIT_... */
  int64_t fan_in, fan_out;
  bool trainable;
  bool decay;            /* weight decay applies: kernels only */
} ParamEntry;

typedef struct Gen {
  Arena *a;
  const Compilation *c;
  const Graph *g;     /* optimized */
  const Plan *p;
  Emitter e;
  ParamEntry *params;
  int nparams, cap_params;
  int64_t param_floats;
  StrMap *param_index;  /* name -> ParamEntry* */
  int64_t compute_floats;
  int64_t fly_floats;   /* of those, the Winograd kernels only batch 1 (and 2) read */
  int64_t *w_kernel, *w_bias, *w_extra, *w_extra2;  /* weight offsets per node id */
  int64_t *w_preact;    /* per node id: the scale (then shift) of its input's pre-activation */
  int64_t *w_dw_kernel, *w_dw_bias, *w_dw_preact;  /* per node id: its dw_before's weights */
  int forward_layers;   /* layers of the inference forward(), for the descriptor */
  /* The training step reads the Keras tensors (`p`) instead of the compute
   * block (`w`), and its tensors from the training plan. */
  const TrainPlan *tp;
  const char *weights;  /* "w" or "p" */
  bool train_winograd;  /* CodegenOptions.train_winograd */
} Gen;

/* The Winograd tile of the conv n (0: a GEMM): the pass's mark at
 * inference, the pass's rule in the training step. */
int cg_conv_winograd(const Gen *gen, const Node *n);


const ParamEntry *cg_param(Gen *gen, const Node *n, const char *suffix);
int64_t cg_chans(const Node *n);
int64_t cg_pixels(const Node *n);
const char *cg_rt_act(Act act);
/* The C expression of a node's output tensor, and its channel stride. */
const char *cg_t(Gen *gen, const Node *n);
int64_t cg_cs(Gen *gen, const Node *n);
const char *cg_eltwise(Gen *gen, const Node *n, const Node *in);
void cg_conv_desc(Gen *gen, const char *var, const Node *n, const Node *in);
/* `const RtPRelu d = ...;` for a prelu layer. */
void cg_prelu_desc(Gen *gen, const Node *n);
const char *cg_comment_line(Gen *gen, const Node *n);
/* One layer's forward call(s), inside a block the caller opened. */
void cg_emit_node(Gen *gen, const Node *n);

/* codegen_c_train.c: the training step and its workspace function. */
void cg_emit_training(Gen *gen, const char *id);

#endif
