/* app_main.c: the entry point of a `netc build` executable. Finds the
 * command, parses its flags against one table (each flag names the commands
 * that take it), prints help, and hands over to app_<command>.c. */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_internal.h"

static const char *const cmd_names[CMD_COUNT_] = {
    [CMD_PREDICT] = "predict", [CMD_EVAL] = "eval", [CMD_INIT] = "init",
    [CMD_BENCH] = "bench",     [CMD_SUMMARY] = "summary", [CMD_TRAIN] = "train",
};

static const char usage_main[] =
    "usage: %s [--help] [--version] COMMAND [ARGS]\n"
    "\n"
    "Runs the network '%s' (compiled by netc %s from %s).\n"
    "\n"
    "commands:\n"
    "  predict   classify a PNG image or the rows of an .npy array\n"
    "  eval      accuracy and loss on a labelled data set (IDX or CIFAR-10)\n"
    "  init      write Keras-default initial weights to a .safetensors file\n"
    "  bench     time the network on random input; compare with SGEMM peak\n"
    "  summary   print the layers, parameters and costs\n"
    "  train     train the network (the .net file's train section, or flags)\n"
    "\n"
    "Run '%s COMMAND --help' for the options of a command.\n"
    "Exit codes: 0 ok, 1 bad data or weights, 2 bad usage.\n";

static const char *const cmd_usage[CMD_COUNT_] = {
    [CMD_PREDICT] =
        "usage: %s predict --weights W.safetensors INPUT.png|INPUT.npy\n"
        "           [--top K] [--output OUT.npy] [--batch B] [--threads T]\n"
        "\n"
        "Runs the network on one input and prints the K most probable classes\n"
        "with their probabilities (or every output value when the output is\n"
        "not a probability vector).\n"
        "\n"
        "A PNG is converted to the model's channels, resized to its height and\n"
        "width (bilinear), then normalized as the model was trained. An .npy\n"
        "(float32, float64 or uint8) is the network's input as is: the model's\n"
        "input size, or [N, input...] for N inputs, each predicted.\n"
        "\n"
        "  --weights W   the weights (every tensor checked against the model)\n"
        "  --top K       classes to print per input (default 5)\n"
        "  --output OUT  write the raw output [N, output...] as float32 .npy\n"
        "  --batch B     run an .npy's rows B at a time (default 64)\n"
        "  --threads T   threads (default: OMP_NUM_THREADS or every core)\n",
    [CMD_EVAL] =
        "usage: %s eval --weights W.safetensors [--data PATH] [--labels PATH]\n"
        "           [--batch B] [--limit N] [--threads T]\n"
        "\n"
        "Runs the network over a labelled test set and prints count, loss\n"
        "(cross-entropy of the output taken as probabilities, clipped to\n"
        "[1e-7, 1 - 1e-7] as Keras does) and, last, 'accuracy: 0.8671'.\n"
        "\n"
        "PATH is an IDX directory (t10k-images-idx3-ubyte and\n"
        "t10k-labels-idx1-ubyte, plain or .gz), an IDX images file (its labels\n"
        "file found by name, or given with --labels), a CIFAR-10 directory\n"
        "(test_batch.bin) or a CIFAR-10 .bin batch. Without --data: the data\n"
        "set of the model's train section, or Fashion-MNIST in\n"
        "/usr/share/datasets/fashion-mnist for a 28x28x1 (784) input.\n"
        "Images are reshaped (784 <- 28x28x1) or, for an image input of\n"
        "another size, resized, then normalized as the model was trained.\n"
        "\n"
        "  --weights W   the weights\n"
        "  --data PATH   the data set (see above)\n"
        "  --labels L    the IDX labels file, when not found by name\n"
        "  --batch B     images per forward() call (default 32)\n"
        "  --limit N     only the first N images\n"
        "  --threads T   threads (default: OMP_NUM_THREADS or every core)\n",
    [CMD_INIT] =
        "usage: %s init [--seed S] -o W.safetensors\n"
        "\n"
        "Writes Keras' default initial weights: kernels Glorot-uniform\n"
        "U(-l, l) with l = sqrt(6 / (fan_in + fan_out)), biases and means\n"
        "zeros, gammas and variances ones. Each tensor is drawn from its own\n"
        "splitmix64 stream seeded with S ^ FNV-1a-64(tensor name), so the file\n"
        "is the same on every machine. The file is written atomically, with\n"
        "metadata: model, netc_version, seed, init.\n"
        "\n"
        "  --seed S      a 64-bit unsigned seed (default 0)\n"
        "  -o, --output  the .safetensors file to write\n",
    [CMD_BENCH] =
        "usage: %s bench [--weights W] [--batch N] [--threads T] [--runs R]\n"
        "           [--warmup K] [--seed S] [--json] [--layers]\n"
        "\n"
        "Times forward() on random input: K warm-up runs (default 3), then R\n"
        "timed runs (default 20, CLOCK_MONOTONIC). Prints the median latency,\n"
        "min, quartiles and max, images/s, achieved GFLOP/s (2 x MACs per\n"
        "image x batch / median) and that as a fraction of this machine's\n"
        "SGEMM peak, measured here with cblas_sgemm on 1024x1024x1024 (best of\n"
        "5) with the same thread count (OPENBLAS_NUM_THREADS when set and\n"
        "--threads is not given).\n"
        "\n"
        "  --weights W   weights to use (default: random, from --seed)\n"
        "  --batch N     images per run (default 1)\n"
        "  --threads T   threads (default: OMP_NUM_THREADS or every core)\n"
        "  --runs R      timed runs (default 20)\n"
        "  --warmup K    untimed runs first (default 3)\n"
        "  --seed S      seed of the random weights and input (default 0)\n"
        "  --json        one JSON object instead of text\n"
        "  --layers      then R more runs timing each layer: the median time of\n"
        "                every layer forward() runs (after the inference\n"
        "                passes), with its share of their sum\n",
    [CMD_SUMMARY] =
        "usage: %s summary\n"
        "\n"
        "Prints the model's layers, parameters, MACs and memory (netc report).\n",
    [CMD_TRAIN] =
        "usage: %s train [--data PATH] [--epochs N] [--batch B] [--lr X] [--seed S]\n"
        "           [--validation F] [--weights INIT.safetensors | --resume CKPT]\n"
        "           [--out W.safetensors] [--checkpoint-dir DIR] [--log LOG.csv]\n"
        "           [--plot CURVES.svg] [--limit N] [--threads T] [--quiet]\n"
        "\n"
        "Trains the network as its train section says (optimizer, schedule,\n"
        "loss, batch, epochs, validation, augmentation, normalization,\n"
        "checkpoints); the flags override it. Prints a Keras-like line per\n"
        "epoch (loss, acc, val_loss, val_acc), writes the weights to --out and,\n"
        "when the data has a test split, ends with 'test accuracy: 0.8671'.\n"
        "\n"
        "PATH is an IDX directory (train-images-idx3-ubyte and\n"
        "train-labels-idx1-ubyte, plain or .gz; t10k-* is the test split), an\n"
        "IDX images file (labels found by name), a CIFAR-10 directory\n"
        "(data_batch_1..5.bin; test_batch.bin) or .bin batch, or a folder of\n"
        "PNGs with one sub-folder per class (classes in sorted order; a folder\n"
        "holding train/ and test/ has both splits). Default: the train\n"
        "section's data, or Fashion-MNIST in /usr/share/datasets/fashion-mnist\n"
        "for a 28x28x1 (784) input.\n"
        "\n"
        "Every random draw (initial weights, shuffling, augmentation, dropout)\n"
        "derives from the seed, the epoch and the step, so a run resumed from a\n"
        "checkpoint continues exactly as if it had not stopped.\n"
        "\n"
        "  --data PATH          the training data (see above)\n"
        "  --epochs N           total epochs (a resumed run counts those done)\n"
        "  --batch B            images per step (the last batch may be smaller)\n"
        "  --lr X               initial learning rate (the schedule's lr0)\n"
        "  --seed S             64-bit seed (default: the train section's, or 0)\n"
        "  --validation F       hold out the last fraction F of the training set\n"
        "  --validate-on-test   validate on the test split instead (Keras' validation_data)\n"
        "  --weights W          start from these weights (default: Keras init)\n"
        "  --resume CKPT        continue from a checkpoint of this model\n"
        "  --out W              the trained weights (default: MODEL.safetensors)\n"
        "  --checkpoint-dir D   where checkpoints go (default: --out's directory);\n"
        "                       every epoch when the train section names none\n"
        "  --log LOG.csv        epoch,lr,loss,acc,val_loss,val_acc,seconds\n"
        "  --plot CURVES.svg    loss and accuracy curves, rewritten each epoch\n"
        "  --limit N            only the first N images of each split\n"
        "  --threads T          threads (default: OMP_NUM_THREADS or every core)\n"
        "  --quiet              no per-epoch output\n",
};

enum { FK_STR, FK_INT, FK_U64, FK_BOOL, FK_DOUBLE };
#define C_(c) (1u << (c))
#define C_RUN_ (C_(CMD_PREDICT) | C_(CMD_EVAL) | C_(CMD_BENCH))
#define C_T_ C_(CMD_TRAIN)

/* One flag: its names, value kind and range, where it goes, who takes it. */
typedef struct FlagSpec {
  const char *name, *alias;
  int kind;
  size_t off;
  long long min, max;
  unsigned cmds;
} FlagSpec;

static const FlagSpec flag_specs[] = {
    {"--weights", NULL, FK_STR, offsetof(AppArgs, weights), 0, 0, C_RUN_ | C_T_},
    {"--output", "-o", FK_STR, offsetof(AppArgs, output), 0, 0, C_(CMD_PREDICT) | C_(CMD_INIT) | C_T_},
    {"--out", NULL, FK_STR, offsetof(AppArgs, output), 0, 0, C_T_},
    {"--data", NULL, FK_STR, offsetof(AppArgs, data), 0, 0, C_(CMD_EVAL) | C_T_},
    {"--labels", NULL, FK_STR, offsetof(AppArgs, labels), 0, 0, C_(CMD_EVAL)},
    {"--top", NULL, FK_INT, offsetof(AppArgs, top), 1, 1000000000, C_(CMD_PREDICT)},
    {"--batch", NULL, FK_INT, offsetof(AppArgs, batch), 1, APP_MAX_BATCH, C_RUN_ | C_T_},
    {"--limit", NULL, FK_INT, offsetof(AppArgs, limit), 1, 2000000000, C_(CMD_EVAL) | C_T_},
    {"--threads", NULL, FK_INT, offsetof(AppArgs, threads), 1, 4096,
     C_RUN_ | C_(CMD_INIT) | C_(CMD_SUMMARY) | C_T_},
    {"--runs", NULL, FK_INT, offsetof(AppArgs, runs), 1, 1000000, C_(CMD_BENCH)},
    {"--warmup", NULL, FK_INT, offsetof(AppArgs, warmup), 0, 1000000, C_(CMD_BENCH)},
    {"--seed", NULL, FK_U64, offsetof(AppArgs, seed), 0, 0, C_(CMD_INIT) | C_(CMD_BENCH) | C_T_},
    {"--json", NULL, FK_BOOL, offsetof(AppArgs, json), 0, 0, C_(CMD_BENCH)},
    {"--layers", NULL, FK_BOOL, offsetof(AppArgs, layers), 0, 0, C_(CMD_BENCH)},
    {"--epochs", NULL, FK_INT, offsetof(AppArgs, epochs), 1, 1000000, C_T_},
    {"--lr", NULL, FK_DOUBLE, offsetof(AppArgs, lr), 0, 0, C_T_},
    {"--validation", NULL, FK_DOUBLE, offsetof(AppArgs, validation), 0, 0, C_T_},
    {"--validate-on-test", NULL, FK_BOOL, offsetof(AppArgs, validate_on_test), 0, 0, C_T_},
    {"--resume", NULL, FK_STR, offsetof(AppArgs, resume), 0, 0, C_T_},
    {"--checkpoint-dir", NULL, FK_STR, offsetof(AppArgs, checkpoint_dir), 0, 0, C_T_},
    {"--log", NULL, FK_STR, offsetof(AppArgs, log), 0, 0, C_T_},
    {"--plot", NULL, FK_STR, offsetof(AppArgs, plot), 0, 0, C_T_},
    {"--quiet", "-q", FK_BOOL, offsetof(AppArgs, quiet), 0, 0, C_T_},
};

static void vreport(const AppArgs *a, const char *kind, const char *fmt, va_list ap) {
  fprintf(stderr, "%s%s%s: %s: ", a->prog, a->cmd_name ? " " : "", a->cmd_name ? a->cmd_name : "",
          kind);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
}

int app_fail(const AppArgs *a, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vreport(a, "error", fmt, ap);
  va_end(ap);
  return code;
}

void app_warn(const AppArgs *a, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vreport(a, "warning", fmt, ap);
  va_end(ap);
}

static int usage_error(const AppArgs *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int usage_error(const AppArgs *a, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vreport(a, "error", fmt, ap);
  va_end(ap);
  fprintf(stderr, "Try '%s%s%s --help'.\n", a->prog, a->cmd_name ? " " : "",
          a->cmd_name ? a->cmd_name : "");
  return APP_EXIT_USAGE;
}

/* Sets one flag's value; an exit code. */
static int set_flag(AppArgs *a, const FlagSpec *f, const char *shown, const char *v) {
  char *field = (char *)a + f->off;
  char *end;
  switch (f->kind) {
  case FK_STR:
    if (!*v)
      return usage_error(a, "%s: empty value", shown);
    *(const char **)(void *)field = v;
    return APP_EXIT_OK;
  case FK_INT: {
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || end == v || *end || x < f->min || x > f->max)
      return usage_error(a, "%s: '%s' is not an integer from %lld to %lld", shown, v, f->min,
                         f->max);
    *(int *)(void *)field = (int)x;
    return APP_EXIT_OK;
  }
  case FK_U64: {
    errno = 0;
    unsigned long long x = strtoull(v, &end, 0);
    if (errno || end == v || *end || *v == '-')
      return usage_error(a, "%s: '%s' is not an unsigned 64-bit integer", shown, v);
    *(uint64_t *)(void *)field = (uint64_t)x;
    a->seed_given = true;
    return APP_EXIT_OK;
  }
  case FK_BOOL:
    *(bool *)(void *)field = true;
    return APP_EXIT_OK;
  case FK_DOUBLE: {
    /* --lr: a positive number; --validation: a fraction in [0, 1). */
    bool is_lr = f->off == offsetof(AppArgs, lr);
    errno = 0;
    double x = strtod(v, &end);
    if (errno || end == v || *end || !isfinite(x) || (is_lr ? !(x > 0) : !(x >= 0 && x < 1)))
      return usage_error(a, is_lr ? "%s: '%s' is not a positive number"
                                  : "%s: '%s' is not a fraction from 0 (included) to 1 (excluded)",
                         shown, v);
    *(double *)(void *)field = x;
    return APP_EXIT_OK;
  }
  }
  return APP_EXIT_USAGE;
}

/* Parses argv[2..] for a->cmd. Returns an exit code, or -1 after --help. */
static int parse_flags(AppArgs *a, int argc, char **argv) {
  for (int i = 2; i < argc; i++) {
    const char *s = argv[i];
    if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
      printf(cmd_usage[a->cmd], a->prog);
      return -1;
    }
    if (s[0] != '-' || !s[1]) {
      if (a->cmd != CMD_PREDICT)
        return usage_error(a, "unexpected argument '%s'", s);
      if (a->input)
        return usage_error(a, "one INPUT only ('%s' and '%s')", a->input, s);
      a->input = s;
      continue;
    }
    const char *eq = strchr(s, '=');
    size_t len = eq ? (size_t)(eq - s) : strlen(s);
    const FlagSpec *f = NULL;
    for (size_t k = 0; k < sizeof flag_specs / sizeof flag_specs[0]; k++) {
      const FlagSpec *c = &flag_specs[k];
      if ((strlen(c->name) == len && !strncmp(c->name, s, len)) ||
          (c->alias && strlen(c->alias) == len && !strncmp(c->alias, s, len))) {
        f = c;
        break;
      }
    }
    if (!f || !(f->cmds & C_(a->cmd)))
      return usage_error(a, "unknown option '%.*s'", (int)len, s);
    const char *v;
    if (f->kind == FK_BOOL) {
      if (eq)
        return usage_error(a, "%s takes no value", f->name);
      v = "";
    } else if (eq) {
      v = eq + 1;
    } else {
      if (i + 1 >= argc)
        return usage_error(a, "%s needs a value", s);
      v = argv[++i];
    }
    int rc = set_flag(a, f, f->name, v);
    if (rc)
      return rc;
  }
  switch (a->cmd) {
  case CMD_PREDICT:
    if (!a->weights)
      return usage_error(a, "--weights is required");
    if (!a->input)
      return usage_error(a, "an INPUT (.png or .npy) is required");
    break;
  case CMD_EVAL:
    if (!a->weights)
      return usage_error(a, "--weights is required");
    break;
  case CMD_INIT:
    if (!a->output)
      return usage_error(a, "-o W.safetensors is required");
    break;
  case CMD_TRAIN:
    if (a->weights && a->resume)
      return usage_error(a, "--weights and --resume exclude each other (a checkpoint holds the weights)");
    break;
  case CMD_BENCH:
  case CMD_SUMMARY:
  case CMD_COUNT_:
    break;
  }
  return APP_EXIT_OK;
}

static int cmd_summary(const NetcModel *m) {
  if (m->summary && *m->summary) {
    fputs(m->summary, stdout);
    size_t n = strlen(m->summary);
    if (m->summary[n - 1] != '\n')
      putchar('\n');
  } else {
    printf("%s: %lld parameters (%lld trainable), %lld MACs per image\n", m->name ? m->name : "model",
           (long long)m->total_params, (long long)m->trainable_params, (long long)m->macs_per_image);
  }
  return APP_EXIT_OK;
}

int netc_app_main(int argc, char **argv, const NetcModel *model) {
  AppArgs a = {0};
  const char *p = argc > 0 && argv[0] && *argv[0] ? argv[0] : "model";
  const char *slash = strrchr(p, '/');
  a.prog = slash ? slash + 1 : p;
  a.top = 5;
  a.warmup = -1;
  a.validation = -1;
  if (!model)
    return app_fail(&a, APP_EXIT_INTERNAL, "no model descriptor");
  app_blas_restart(argv);
  const char *name = model->name ? model->name : "?";
  if (argc < 2) {
    fprintf(stderr, usage_main, a.prog, name, model->netc_version ? model->netc_version : "?",
            model->source ? model->source : "?", a.prog);
    return APP_EXIT_USAGE;
  }
  const char *c = argv[1];
  if (!strcmp(c, "--help") || !strcmp(c, "-h") || !strcmp(c, "help")) {
    printf(usage_main, a.prog, name, model->netc_version ? model->netc_version : "?",
           model->source ? model->source : "?", a.prog);
    return APP_EXIT_OK;
  }
  if (!strcmp(c, "--version")) {
    printf("%s: network '%s' compiled by netc %s from %s\n", a.prog, name,
           model->netc_version ? model->netc_version : "?", model->source ? model->source : "?");
    return APP_EXIT_OK;
  }
  int cmd = -1;
  for (int k = 0; k < CMD_COUNT_; k++)
    if (!strcmp(c, cmd_names[k]))
      cmd = k;
  if (cmd < 0)
    return usage_error(&a, "unknown command '%s' (predict, eval, init, bench, summary, train)", c);
  a.cmd = (AppCmd)cmd;
  a.cmd_name = cmd_names[cmd];
  int rc = parse_flags(&a, argc, argv);
  if (rc)
    return rc < 0 ? APP_EXIT_OK : rc;
  rc = app_check_model(&a, model);
  if (rc)
    return rc;
  switch (a.cmd) {
  case CMD_PREDICT: return app_cmd_predict(&a, model);
  case CMD_EVAL: return app_cmd_eval(&a, model);
  case CMD_INIT: return app_cmd_init(&a, model);
  case CMD_BENCH: return app_cmd_bench(&a, model);
  case CMD_SUMMARY: return cmd_summary(model);
  case CMD_TRAIN: return app_cmd_train(&a, model);
  case CMD_COUNT_: break;
  }
  return APP_EXIT_USAGE;
}
