/* netc.h: the compiler's one internal header.
 *
 * The pipeline is linear, one phase per file:
 *   lexer.l -> parser.y -> (ast.c) -> elaborate.c -> shape.c -> cost.c
 *   -> report_*.c / graph_dot.c, strung together by driver.c and main.c.
 * Each section below lists the API of one source file. Everything a
 * compilation allocates lives in its Arena and dies with it, so the compiler
 * can run many times in one process (the fuzzer does) without leaking. */
#ifndef NETC_H
#define NETC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define NETC_VERSION "0.1.0"

/* Internal consistency checks: a failure is a compiler bug, not a user error,
 * so it names the source line and exits with its own code (70, EX_SOFTWARE). */
#define NETC_ASSERT(cond)                                                      \
  ((cond) ? (void)0 : netc_internal_error(__FILE__, __LINE__, #cond))
_Noreturn void netc_internal_error(const char *file, int line, const char *what);

/* ---------------------------------------------------------------- arena.c */
/* A bump allocator: every allocation of a compilation comes from one Arena
 * and is released at once by arena_free. Out of memory is fatal. */
typedef struct Arena Arena;
Arena *arena_new(void);
void arena_free(Arena *a);
void *arena_alloc(Arena *a, size_t size);            /* zeroed */
char *arena_strndup(Arena *a, const char *s, size_t n);
char *arena_strdup(Arena *a, const char *s);
char *arena_printf(Arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Grows an arena array of `*cap` elements of `elem` bytes to hold `need`. */
void *arena_grow(Arena *a, void *ptr, int *cap, int need, size_t elem);

/* A string-keyed hash map owned by an arena (scopes, name sets). */
typedef struct StrMap StrMap;
StrMap *strmap_new(Arena *a);
void *strmap_get(const StrMap *m, const char *key);
void strmap_put(StrMap *m, const char *key, void *value); /* key not copied */
int strmap_count(const StrMap *m);
/* Visits entries in insertion order. */
void strmap_each(const StrMap *m, void (*fn)(const char *key, void *value, void *ctx), void *ctx);

/* ----------------------------------------------------------------- diag.c */
/* A place in the source: byte offsets into one file. Line and column are
 * computed only when a message is printed. */
typedef struct SrcLoc {
  int file;        /* index into Diag.files; -1: no location */
  uint32_t begin;  /* first byte */
  uint32_t end;    /* one past the last byte (end >= begin) */
} SrcLoc;

#define NO_LOC ((SrcLoc){-1, 0, 0})

typedef struct SrcFile {
  const char *name;
  const char *text;
  size_t len;
} SrcFile;

typedef struct Diag {
  SrcFile files[8];
  int nfiles;
  int errors;
  int warnings;
  int max_errors;  /* after this many errors, stop() is true */
  bool color;
  FILE *out;
} Diag;

void diag_init(Diag *d, FILE *out);
int diag_add_file(Diag *d, const char *name, const char *text, size_t len);
void diag_error(Diag *d, SrcLoc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void diag_warning(Diag *d, SrcLoc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void diag_note(Diag *d, SrcLoc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
bool diag_stop(const Diag *d);     /* too many errors: give up */
void diag_line_col(const Diag *d, SrcLoc loc, int *line, int *col);
SrcLoc loc_span(SrcLoc a, SrcLoc b);  /* from the start of a to the end of b */

/* Closest candidate to `name` by edit distance, or NULL when none is close. */
const char *suggest_closest(const char *name, const char *const *cands, int n);

/* ------------------------------------------------------------------ ast.c */
typedef enum AstKind {
  AST_INT,      /* ival */
  AST_REAL,     /* rval */
  AST_BOOL,     /* ival */
  AST_STR,      /* str */
  AST_SHAPE,    /* 32x32x3: kids are AST_INT */
  AST_LIST,     /* [a, b]: kids */
  AST_MAP,      /* [k: v, ...]: kids alternate key, value */
  AST_IDENT,    /* str */
  AST_CALL,     /* str(kids...); kids may be AST_NAMED; piped: a -> f */
  AST_NAMED,    /* str = lhs, inside a call */
  AST_BINOP,    /* lhs op rhs */
  AST_UNOP,     /* op lhs */
  AST_INDEX,    /* lhs[rhs] */
  AST_ASSIGN,   /* str = lhs */
  AST_IF,       /* if lhs { body } else { els } */
  AST_FOR,      /* for str in lhs { body } */
  AST_REPEAT,   /* repeat lhs { body } */
  AST_RETURN,   /* return kids... */
} AstKind;

typedef enum BinOp {
  OPR_ADD, OPR_SUB, OPR_MUL, OPR_DIV, OPR_FLOORDIV, OPR_MOD,
  OPR_EQ, OPR_NE, OPR_LT, OPR_LE, OPR_GT, OPR_GE, OPR_AND, OPR_OR,
  OPR_NEG, OPR_NOT,
} BinOp;

typedef struct Ast Ast;
typedef struct AstList {
  Ast **items;
  int len, cap;
} AstList;

struct Ast {
  AstKind kind;
  SrcLoc loc;
  int64_t ival;
  double rval;
  const char *str;
  SrcLoc str_loc;   /* where `str` is written (callee, name, loop variable) */
  BinOp op;
  bool piped;       /* AST_CALL written as `a -> f(...)` */
  Ast *lhs, *rhs;
  AstList kids;
  AstList body, els;
};

typedef struct Param {
  const char *name;
  SrcLoc loc;
  Ast *deflt;    /* `name = expr` */
  Ast *shape;    /* `name: SHAPE` (network inputs) */
} Param;

typedef struct BlockDef {
  const char *name;
  SrcLoc loc;       /* the name in the definition */
  Param *params;
  int nparams, cap_params;
  AstList body;
  bool is_network;
} BlockDef;

typedef struct TrainItem {
  const char *key;
  SrcLoc loc;
  Ast *value;
} TrainItem;

typedef struct Program {
  BlockDef **blocks;   /* every block, the network included */
  int nblocks, cap_blocks;
  BlockDef *network;
  TrainItem *train;
  int ntrain, cap_train;
  bool has_train;
  SrcLoc train_loc;
} Program;

Ast *ast_new(Arena *a, AstKind kind, SrcLoc loc);
void ast_push(Arena *a, AstList *l, Ast *node);
void ast_prepend(Arena *a, AstList *l, Ast *node);

/* ---------------------------------------------------------- parse (parser.y) */
/* Parses one file into `prog`; returns false after reporting syntax errors. */
bool parse_program(Arena *a, Diag *d, int file, Program *prog);

/* ------------------------------------------------------------------ ops.def */
typedef enum OpKind {
#define OP(id, dsl, keras, cat) OP_##id,
#include "ops.def"
#undef OP
  OP_COUNT
} OpKind;

typedef enum OpCategory {
  CAT_INPUT,    /* graph input */
  CAT_MAC,      /* dense and convolutions: MACs */
  CAT_ACT,      /* element-wise activations */
  CAT_POOL,     /* pooling */
  CAT_MERGE,    /* add, multiply, concat: several tensors in */
  CAT_SHAPE,    /* flatten, zeropad, dropout, bn: no MACs */
} OpCategory;

typedef enum Act {
  ACT_LINEAR, ACT_RELU, ACT_RELU6, ACT_SIGMOID, ACT_TANH, ACT_SOFTMAX,
  ACT_LEAKY_RELU, ACT_ELU, ACT_THRESHOLDED_RELU,
} Act;

typedef enum PadMode { PAD_VALID, PAD_SAME, PAD_EXPLICIT } PadMode;

typedef struct Attrs Attrs;

/* What an argument of a layer sets; each implies the argument's type. */
typedef enum AttrField {
  F_UNITS, F_FILTERS, F_KERNEL, F_STRIDE, F_PAD, F_GROUPS, F_MULTIPLIER,
  F_BIAS, F_ACTIVATION, F_ALPHA, F_THETA, F_RATE, F_MOMENTUM, F_EPSILON,
  F_SHARED_AXES, F_NAME,
} AttrField;

typedef struct ArgSpec {
  const char *name;   /* keyword */
  AttrField field;
  bool required;
} ArgSpec;

const char *op_name(OpKind op);        /* DSL name: "conv" */
const char *op_keras_type(OpKind op);  /* "Conv2D" */
OpCategory op_category(OpKind op);
bool op_lookup(const char *name, OpKind *out);
/* The activation an op computes when used as `activation = op`, if any. */
bool op_as_activation(OpKind op, Act *out);
const char *act_name(Act a);
/* The arguments after the input tensor(s), in positional order. */
const ArgSpec *op_args(OpKind op, int *n);
/* Keras defaults of every attribute the op reads. */
void op_default_attrs(OpKind op, Attrs *a);
/* Ops taking several tensors: add, multiply, concat. */
bool op_is_variadic(OpKind op);
/* All DSL op names, for suggestions; returns the count. */
int op_all_names(const char **out, int cap);

/* ---------------------------------------------------------------- graph.c */
#define MAX_RANK 4

typedef struct Shape {
  int rank;             /* without the batch dimension */
  int64_t d[MAX_RANK];  /* NHWC order: HxWxC or C */
} Shape;

/* Layer attributes: every op reads the fields its schema names. */
struct Attrs {
  int64_t units;          /* dense */
  int64_t filters;        /* conv, sepconv */
  int64_t kernel[2];      /* conv family, pooling window */
  int64_t stride[2];
  PadMode pad_mode;
  int64_t pad[4];         /* top, bottom, left, right: resolved by shape.c */
  int64_t groups;
  int64_t multiplier;     /* dwconv, sepconv */
  bool bias;
  Act act;                /* fused activation of conv/dense (Keras `activation=`) */
  double alpha;           /* leaky_relu, elu; theta of thresholded_relu */
  double rate;            /* dropout */
  double momentum, epsilon;  /* bn */
  int shared_axes;        /* prelu: bit i set = axis i (1-based, Keras) shared */
};

/* A block-call frame, for "in block 'unit' called from here" notes. */
typedef struct CallFrame {
  const BlockDef *block;
  SrcLoc call;
  const struct CallFrame *parent;
  int depth;
} CallFrame;

typedef struct Node {
  int id;                 /* index in Graph.nodes; topological order */
  OpKind op;
  const char *name;
  bool user_named;
  SrcLoc loc;             /* the call that made the layer */
  const CallFrame *frame; /* block calls active when it was made */
  struct Node **inputs;
  int ninputs;
  Attrs attr;
  Shape shape;            /* output shape, set by shape.c */
  /* Set by cost.c. */
  int64_t params, trainable, macs, eltwise;
  /* Set by the inference passes (passes/). */
  const struct Node *bn_folded;  /* a batch norm folded into this layer's weights */
  const struct Node *preact;     /* dwconv, Winograd conv: a batch norm (and its activation) applied to its input as it reads it */
  const struct Node *dw_before;  /* 1x1 conv: a depthwise conv run first, row by row, on this conv's input */
  const struct Node *pool_before; /* dwconv: a max pool its input is read through (before preact) */
  const struct Node *shortcut;   /* 1x1 conv with dw_before: a 1x1 conv of its input it adds, as more GEMM rows */
  struct Node *residual;         /* a tensor added in this layer's epilogue */
  int winograd_tile;             /* conv: 2 or 4 for Winograd's F(2x2)/F(4x4, 3x3); 0: a GEMM */
  bool dead;                     /* removed; dropped by graph_compact */
} Node;

typedef struct Graph {
  const char *name;
  Node **nodes;
  int nnodes, cap_nodes;
  Node **inputs;
  int ninputs;
  Node **outputs;
  int noutputs;
  StrMap *names;          /* name -> Node*, for uniqueness */
  StrMap *name_counters;  /* op name -> next Keras-style suffix */
} Graph;

Graph *graph_new(Arena *a, const char *name);
/* Adds a node (inputs already in the graph) and gives it a unique name:
 * `name` when given, else a Keras-style one (conv, conv_1, ...). Returns
 * NULL, having reported the error, when a user name is taken. */
Node *graph_add(Arena *a, Graph *g, Diag *d, OpKind op, Node **inputs, int ninputs,
                const char *name, SrcLoc loc, const CallFrame *frame);
/* Removes nodes no output depends on, warning about each layer dropped. */
void graph_prune_unused(Graph *g, Diag *d);
/* Number of later nodes reading each node; `uses` has g->nnodes entries. */
void graph_count_uses(const Graph *g, int *uses);
/* A deep copy (nodes and edges) for passes to transform, leaving the
 * original intact for reports and the weight-file layout. */
Graph *graph_clone(Arena *a, const Graph *g);
/* Makes every reader of `old` (and the graph's outputs) read `new` instead. */
void graph_replace_uses(Graph *g, Node *old, Node *new_node);
/* Drops nodes marked dead and renumbers the rest, keeping their order. */
void graph_compact(Graph *g);
int64_t shape_elems(const Shape *s);
/* "32x32x3" into buf; returns buf. */
char *shape_str(const Shape *s, char *buf, size_t size);

/* ---------------------------------------------------------------- shape.c */
/* Infers the output shape of `n` from its inputs and attributes; reports an
 * error with notes on where the operands came from and returns false when
 * they do not fit. */
bool shape_infer_node(Diag *d, Node *n);
/* Reports where a node's value came from (layer name, type, block calls). */
void shape_note_origin(Diag *d, const Node *n);

/* ----------------------------------------------------------------- cost.c */
typedef struct Totals {
  int64_t params, trainable, non_trainable;
  int64_t macs, eltwise;
  int64_t weight_bytes;
  int64_t activation_bytes;       /* every layer output, at `batch` */
  int64_t peak_activation_bytes;  /* live tensors at the worst step, at `batch` */
  int64_t planned_arena_bytes;    /* the C backend's arena after passes, at `batch` */
  int64_t naive_arena_bytes;      /* every tensor in a buffer of its own, at `batch` */
  int64_t compute_weight_bytes;   /* the C backend's weights as prepare() lays them out */
  int64_t batch_chunk;            /* images the C backend's forward() runs at once */
  /* Training at the train section's batch size (train_batch 0: the model
   * cannot be trained, e.g. no softmax for cross-entropy). */
  int train_batch;
  int64_t train_arena_bytes;      /* activations kept for backward, their gradients */
  int64_t train_grad_bytes;       /* parameter gradients */
  int64_t train_state_bytes;      /* optimizer state */
  int batch;
} Totals;

/* Fills params/macs/eltwise of every node for one image, and the totals. */
void cost_graph(Graph *g, int batch, Totals *t);

/* ----------------------------------------------------------- train_config.c */
typedef struct TrainConfig {
  bool present;
  StrMap *items;   /* key -> Value* */
} TrainConfig;

/* --------------------------------------------------------------- value.c */
typedef enum ValKind {
  V_ERROR,   /* an error was reported already; silences cascades */
  V_NONE,
  V_INT, V_REAL, V_BOOL, V_STR,
  V_LIST,    /* items */
  V_MAP,     /* items: key, value, key, value... */
  V_TENSOR,  /* node */
  V_SYM,     /* a bare word such as `same` or `standardize` */
  V_OP,      /* a layer used as a value: `activation = relu` */
  V_CALL,    /* a configuration call in `train`: adam(lr = 0.001) */
} ValKind;

typedef struct Value Value;
struct Value {
  ValKind kind;
  SrcLoc loc;          /* the expression that produced it */
  int64_t i;           /* V_INT, V_BOOL */
  double r;            /* V_REAL */
  const char *s;       /* V_STR, V_SYM, V_CALL name */
  OpKind op;           /* V_OP */
  Node *node;          /* V_TENSOR */
  Value **items;       /* V_LIST, V_MAP, V_CALL positional args */
  int nitems;
  const char **keys;   /* V_CALL named args */
  Value **kvals;
  int nkeys;
};

const char *value_kind_name(ValKind k);
/* A short rendering for messages: 3, 0.25, "s", [1, 2], tensor 32x32x3. */
char *value_str(Arena *a, const Value *v);
/* With its kind: integer 3, string "a", tensor 32x32x3. */
char *value_describe(Arena *a, const Value *v);

/* ---------------------------------------------------------- elaborate.c */
typedef struct ElabLimits {
  int64_t max_nodes;       /* layers in the graph */
  int64_t max_steps;       /* statements and expressions evaluated */
  int max_depth;           /* nested evaluation (blocks, expressions) */
} ElabLimits;

/* Runs the network definition, building `g`; fills `train` from the train
 * section. Returns false when errors were reported. */
bool elaborate(Arena *a, Diag *d, const Program *prog, const ElabLimits *lim,
               Graph **g, TrainConfig *train);

/* The train section's settings with Keras' defaults filled in (the fields
 * mirror NetcTrainConfig in runtime/include/netc/model.h). */
typedef struct TrainSettings {
  const char *optimizer;        /* "sgd", "adam", "rmsprop", "adagrad" */
  double lr, momentum, beta1, beta2, rho, epsilon, weight_decay;
  bool nesterov;
  const char *schedule;         /* "constant", "step", "cosine" */
  int nsteps;
  int step_epoch[16];
  double step_factor[16];
  int cosine_epochs;
  int loss;                     /* LossKind */
  int batch, epochs;
  double validation;
  bool validate_on_test;
  bool shuffle;
  int64_t seed;
  int naugment;
  const char *augment[8];       /* "hflip", "shift", "rotate" */
  double augment_amount[8];
  const char *checkpoint;       /* "none", "best", "every" */
  const char *checkpoint_metric;
  int checkpoint_every;
} TrainSettings;
void train_settings(const TrainConfig *t, TrainSettings *out);

/* Validates the train section against its schema (train_config.c). */
bool train_config_check(Arena *a, Diag *d, const Program *prog, const TrainConfig *t);

/* ---------------------------------------------------------------- driver.c */
typedef struct Compilation {
  Arena *arena;
  Diag diag;
  Program prog;
  Graph *graph;        /* NULL when elaboration failed */
  TrainConfig train;
  Totals totals;
  const char *path;
  bool show_train;     /* reports include the training memory (report --train) */
} Compilation;

/* Parses, elaborates, checks and costs `text`. Diagnostics go to `diag_out`
 * (NULL: discarded). Always returns a Compilation (free it with
 * compilation_free); `ok` says whether it is error-free. */
Compilation *compile_source(const char *path, const char *text, size_t len,
                            FILE *diag_out, int batch, bool *ok);
void compilation_free(Compilation *c);
/* Reads a whole file; NULL with errno set when it cannot. Caller frees. */
char *read_file(const char *path, size_t *len);

/* ------------------------------------------------------ report_text.c */
typedef enum ReportFormat { REPORT_TEXT, REPORT_MARKDOWN } ReportFormat;
void report_table(FILE *out, const Compilation *c, ReportFormat fmt);

/* ------------------------------------------------------ report_json.c */
/* Returns a malloc'd JSON document (caller frees). */
char *report_json(const Compilation *c);

/* --------------------------------------------------------- graph_dot.c */
void graph_write_dot(FILE *out, const Compilation *c);

/* ------------------------------------------------------------ passes/ */
/* Graph-to-graph transformations for inference, one file each. Each returns
 * the number of changes it made; none prints or emits code. */
int pass_remove_dropout(Graph *g);   /* dropout and linear are identities */
int pass_fold_bn(Graph *g);          /* BN after conv/dense into its weights */
int pass_fuse_residual(Graph *g);    /* add(x, conv(...)) into the conv's epilogue */
int pass_fuse_activation(Graph *g);  /* activation into its producer's epilogue */
int pass_dead_nodes(Graph *g);       /* layers no output depends on */
int pass_fuse_preactivation(Graph *g); /* bn -> act -> dwconv or Winograd conv: the conv maps its input */
int pass_fuse_pool_dwconv(Graph *g);   /* maxpool -> dwconv: the dwconv pools as it reads */
int pass_fuse_dw_pointwise(Graph *g);  /* dwconv -> 1x1 conv: one layer, no tensor between */
int pass_fuse_shortcut_conv(Graph *g); /* the strided 1x1 shortcut added to a fused 1x1 conv: more K of its GEMM */
/* Whether rt_dwconv2d_pointwise takes a depthwise conv of these
 * attributes with ow output columns of c channels (its tile and buffers);
 * a separable conv's two halves run through it when it does. */
bool pass_dw_tile_fits(const Attrs *a, int64_t ow, int64_t c);
/* A separable conv that runs as one rt_dwconv2d_pointwise at inference
 * (no scratch for its depthwise half). */
bool pass_sepconv_fuses(const Node *n);
int pass_select_winograd(Graph *g);  /* 3x3 stride-1 convs run by Winograd */
/* The Winograd tile that pays for this conv, 2 or 4, or 0 for none (the
 * pass's rule; the training step, which runs on the graph as written, asks
 * it directly). */
int pass_winograd_tile(const Node *n);

typedef struct PassOptions {
  bool remove_dropout, fold_bn, fuse_residual, fuse_activation, fuse_preactivation, fuse_pool_dwconv,
      fuse_dw_pointwise, fuse_shortcut, winograd;
} PassOptions;
/* All passes on. */
PassOptions pass_options_all(void);
/* Runs the enabled inference passes in order, then dead-node removal. */
void passes_run_inference(Graph *g, const PassOptions *o);

/* ------------------------------------------------------------ plan.c */
/* Where each tensor lives in the one activation arena. Offsets and sizes are
 * per image; at batch N every one of them is multiplied by N, which keeps
 * the plan valid (every tensor scales with N) and 64-byte aligned. */
typedef struct TensorView {
  int root;            /* buffer id */
  int64_t chan_offset; /* first channel, inside a concat buffer */
  int64_t cs;          /* channel stride: the channels of a pixel row */
} TensorView;

/* Where a buffer lives: the arena, or the caller's input (read in place)
 * or output buffer (written in place); those take no arena bytes. */
typedef enum RootPlace { ROOT_ARENA, ROOT_INPUT, ROOT_OUTPUT } RootPlace;

typedef struct Plan {
  TensorView *view;      /* per node id: where its output is */
  TensorView *scratch;   /* per node id: scratch buffer (sepconv), root -1 if none */
  bool *concat_free;     /* per concat node: inputs were written in place */
  bool *in_place;        /* per node: output shares an input's buffer */
  int nroots;
  int64_t *root_offset;  /* bytes per image */
  int64_t *root_size;
  RootPlace *root_place; /* per root (size 0 unless ROOT_ARENA) */
  int64_t arena_bytes;   /* per image */
  int64_t naive_bytes;   /* every tensor in a buffer of its own */
} Plan;

/* The packing at the heart of every plan: n buffers of size[i] bytes (64
 * aligned) alive from step first[i] to last[i] get offsets such that no two
 * alive together overlap (largest first, best fit). Returns the arena size. */
int64_t plan_pack(const int64_t *size, const int *first, const int *last, int n, int64_t *offset);
/* Plans the graph (after the inference passes); allocates from `a`. */
Plan *plan_memory(Arena *a, const Graph *g);
/* (driver.c) The inference graph: a copy of c->graph after the enabled passes, and its
 * memory plan. */
Plan *compile_inference_plan(Compilation *c, const PassOptions *o, Graph **g);

/* ------------------------------------------------------------ autodiff.c */
/* The backward graph of a training step, built from the forward graph:
 * which tensors need a gradient, in which order the gradient steps run (the
 * forward order reversed), whether each step adds into an input's gradient
 * or writes it first (a tensor read by several layers receives the sum),
 * and the one arena holding every tensor of the step, planned like the
 * inference arena with lifetimes over the whole step: forward (steps 0 to
 * n-1), loss (n), backward (n+1 to 2n). */
typedef enum LossKind { LOSS_CROSS_ENTROPY, LOSS_MSE } LossKind;

typedef struct TrainPlan {
  const Graph *g;
  LossKind loss;
  const Node *out;          /* the loss is taken on this node's output */
  bool *needs_grad;         /* per node: the gradient at its output is needed */
  bool **accumulate;        /* [node][input slot]: add into the input's gradient */
  /* Byte offsets per image in the training arena (-1: none). */
  int64_t *act;             /* forward output, kept for backward */
  int64_t *grad;            /* gradient at the output */
  int64_t *save;            /* bn: mean and 1/std; dropout: mask; sepconv: depthwise output */
  int64_t *save_grad;       /* sepconv: gradient of the depthwise output */
  int64_t arena_bytes;
} TrainPlan;

/* Builds the backward graph of `g` (the graph as written: no inference
 * passes). Reports and returns NULL when the loss cannot be taken, e.g.
 * cross-entropy on an output that is not a softmax. */
TrainPlan *autodiff(Arena *a, Diag *d, const Graph *g, LossKind loss);

/* ------------------------------------------------------------ codegen_c.c */
typedef struct CodegenOptions {
  const char *source;   /* the .net path, for banners */
  const char *model_id; /* C identifier stem, e.g. "mnist_mlp" */
  const TrainPlan *train;          /* NULL: no training step */
  const TrainSettings *settings;   /* the train section, defaults filled */
  bool train_winograd;             /* the training step's 3x3 convs by Winograd */
} CodegenOptions;

/* Writes DIR/<model_id>.h and DIR/<model_id>.c; false (with a message on
 * stderr) when a file cannot be written. */
bool cg_c_write(const Compilation *c, const Graph *g, const Plan *p, const char *dir,
                const CodegenOptions *o);
/* Floats of the compute weights the emitted prepare() lays out for graph g
 * (kernels and biases, folded, packed and Winograd-transformed), and the
 * images the emitted forward() runs at once (BATCH_CHUNK). */
void cg_c_sizes(const Compilation *c, const Graph *g, const Plan *p, int64_t *compute_floats,
                int64_t *chunk);
/* A C identifier made from any string: [A-Za-z0-9_], not starting with a
 * digit, never empty. */
char *cg_c_identifier(Arena *a, const char *s);

/* ------------------------------------------------------------ format.c */
/* 1234567 -> "1,234,567" into buf. */
char *fmt_thousands(int64_t v, char *buf, size_t size);
/* 1536 -> "1.50 KiB". */
char *fmt_bytes(int64_t v, char *buf, size_t size);

#endif
