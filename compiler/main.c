/* main.c: the `netc` command line. Each subcommand parses its flags, runs
 * the pipeline through compile_source and prints or writes what was asked.
 * Exit codes: 0 ok, 1 errors in the model, 2 bad usage (flags, files). */
#define _POSIX_C_SOURCE 200809L
#include "netc.h"
#include "toolchain.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

enum { EXIT_MODEL = 1, EXIT_USAGE = 2 };

static const char usage_main[] =
    "usage: netc [--help] [--version] COMMAND [ARGS]\n"
    "\n"
    "netc compiles convolutional networks described in .net files.\n"
    "\n"
    "commands:\n"
    "  check FILE      parse the model and check every name and shape\n"
    "  report FILE     print parameters, MACs, FLOPs and memory per layer\n"
    "  graph FILE      draw the architecture as Graphviz .dot or .svg\n"
    "  emit FILE       write the network as C source (--target c -o DIR)\n"
    "  build FILE      compile the network into an executable (-o PROGRAM)\n"
    "\n"
    "Run 'netc COMMAND --help' for the options of a command.\n"
    "The language is described in docs/language.md.\n";

static const char usage_check[] =
    "usage: netc check FILE\n"
    "\n"
    "Parses FILE, unfolds its blocks and loops, and checks every shape.\n"
    "Prints nothing and exits 0 when the model is correct; otherwise prints\n"
    "each error as FILE:LINE:COL and exits 1.\n";

static const char usage_report[] =
    "usage: netc report FILE [--json | --markdown] [--batch N] [--train] [-o OUT]\n"
    "\n"
    "Prints a Keras-style summary: one row per layer with its output shape,\n"
    "parameters, MACs and element-wise operations, then totals: parameters\n"
    "(trainable and not), MACs, FLOPs (= 2 x MACs), weight, activation and\n"
    "peak activation memory, and the C backend's compute weights and\n"
    "planned arena.\n"
    "\n"
    "  --json        machine-readable output with stable keys\n"
    "  --markdown    a Markdown table\n"
    "  --batch N     costs for a batch of N images (default 1)\n"
    "  --train       also the training step's memory at the train section's batch\n"
    "  -o OUT        write to OUT instead of standard output\n";

static const char usage_emit[] =
    "usage: netc emit FILE --target c -o DIR [--disable PASS]... [--no-passes]\n"
    "\n"
    "Writes DIR/<network>.c and DIR/<network>.h: the network as C11 that\n"
    "calls the netc runtime, one call per layer, every tensor at an offset of\n"
    "one planned arena. Inference passes (all on by default): remove-dropout,\n"
    "fold-bn, fuse-residual, fuse-activation, fuse-preactivation (a batch\n"
    "norm before a depthwise or Winograd conv applied as the conv reads its\n"
    "input), fuse-pool-dwconv (a max pool before a depthwise conv taken as\n"
    "the conv reads its input), fuse-dw-pointwise (a depthwise conv and the\n"
    "1x1 conv after it as one layer), fuse-shortcut (the strided 1x1\n"
    "shortcut of a pooling unit computed inside that layer),\n"
    "winograd (3x3 stride-1 convolutions by Winograd's F(4x4, 3x3) or\n"
    "F(2x2, 3x3) instead of a GEMM).\n";

static const char usage_build[] =
    "usage: netc build FILE -o PROGRAM [--cc CC] [--cflags FLAGS] [--keep] [-v]\n"
    "                  [--disable PASS]... [--no-passes]\n"
    "\n"
    "Emits the network as C, compiles it with the system C compiler and links\n"
    "it against the netc runtime into PROGRAM, an executable that predicts,\n"
    "evaluates, initializes weights and benchmarks (run 'PROGRAM --help').\n"
    "\n"
    "  --cc CC         the C compiler (default: $CC, else the one that built netc's runtime)\n"
    "  --cflags FLAGS  optimization flags (default: -O3 -march=native)\n"
    "  --keep          keep the emitted sources in PROGRAM.netc/\n"
    "  -v              print the compiler command\n";

static const char usage_graph[] =
    "usage: netc graph FILE -o OUT.dot|OUT.svg\n"
    "\n"
    "Draws the layer graph. A .svg output needs Graphviz's 'dot' program.\n";

static int usage_error(const char *cmd, const char *fmt, const char *arg) {
  fprintf(stderr, "netc%s%s: ", cmd ? " " : "", cmd ? cmd : "");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\nTry 'netc%s%s --help'.\n", cmd ? " " : "", cmd ? cmd : "");
  return EXIT_USAGE;
}

typedef struct Options {
  const char *file;
  const char *out;
  bool json, markdown;
  int batch;
  const char *target;
  PassOptions passes;
  const char *cc, *cflags;
  bool keep;      /* build: keep the emitted sources */
  bool verbose;
  bool train;     /* report: the training step's memory too */
} Options;

static bool parse_batch(const char *s, int *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end || v < 1 || v > 1000000)
    return false;
  *out = (int)v;
  return true;
}

/* Parses `FILE [flags]` for one command; `allowed` lists its flags. */
static int parse_options(const char *cmd, int argc, char **argv, const char *const *allowed, int nallowed,
                         const char *usage, Options *o) {
  *o = (Options){.batch = 1, .target = "c", .passes = pass_options_all()};
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      fputs(usage, stdout);
      return -1;
    }
    if (a[0] == '-' && a[1] != '\0') {
      bool known = false;
      for (int k = 0; k < nallowed; k++)
        known |= strcmp(a, allowed[k]) == 0;
      if (!known) {
        const char *hint = suggest_closest(a, allowed, nallowed);
        if (hint) {
          fprintf(stderr, "netc %s: unknown option '%s'; did you mean '%s'?\n", cmd, a, hint);
          fprintf(stderr, "Try 'netc %s --help'.\n", cmd);
          return EXIT_USAGE;
        }
        return usage_error(cmd, "unknown option '%s'", a);
      }
      if (strcmp(a, "--json") == 0)
        o->json = true;
      else if (strcmp(a, "--markdown") == 0)
        o->markdown = true;
      else if (strcmp(a, "--keep") == 0)
        o->keep = true;
      else if (strcmp(a, "-v") == 0)
        o->verbose = true;
      else if (strcmp(a, "--train") == 0)
        o->train = true;
      else if (strcmp(a, "--no-passes") == 0)
        o->passes = (PassOptions){0};
      else {
        if (i + 1 >= argc)
          return usage_error(cmd, "option '%s' needs a value", a);
        const char *v = argv[++i];
        if (strcmp(a, "-o") == 0)
          o->out = v;
        else if (strcmp(a, "--target") == 0)
          o->target = v;
        else if (strcmp(a, "--cc") == 0)
          o->cc = v;
        else if (strcmp(a, "--cflags") == 0)
          o->cflags = v;
        else if (strcmp(a, "--disable") == 0) {
          if (strcmp(v, "remove-dropout") == 0)
            o->passes.remove_dropout = false;
          else if (strcmp(v, "fold-bn") == 0)
            o->passes.fold_bn = false;
          else if (strcmp(v, "fuse-residual") == 0)
            o->passes.fuse_residual = false;
          else if (strcmp(v, "fuse-activation") == 0)
            o->passes.fuse_activation = false;
          else if (strcmp(v, "fuse-preactivation") == 0)
            o->passes.fuse_preactivation = false;
          else if (strcmp(v, "fuse-pool-dwconv") == 0)
            o->passes.fuse_pool_dwconv = false;
          else if (strcmp(v, "fuse-dw-pointwise") == 0)
            o->passes.fuse_dw_pointwise = false;
          else if (strcmp(v, "fuse-shortcut") == 0)
            o->passes.fuse_shortcut = false;
          else if (strcmp(v, "winograd") == 0)
            o->passes.winograd = false;
          else
            return usage_error(cmd,
                               "unknown pass '%s' (remove-dropout, fold-bn, fuse-residual, fuse-activation, "
                               "fuse-preactivation, fuse-pool-dwconv, fuse-dw-pointwise, fuse-shortcut, winograd)",
                               v);
        } else if (!parse_batch(v, &o->batch))
          return usage_error(cmd, "--batch needs a whole number from 1 to 1000000, not '%s'", v);
      }
      continue;
    }
    if (o->file)
      return usage_error(cmd, "one model file at a time; '%s' is a second one", a);
    o->file = a;
  }
  if (!o->file)
    return usage_error(cmd, "%s", "no model file given");
  if (o->json && o->markdown)
    return usage_error(cmd, "%s", "--json and --markdown exclude each other");
  return 0;
}

/* Compiles o->file, printing diagnostics to stderr. NULL with *rc set when
 * the file cannot be read or the model has errors. */
static Compilation *compile_file(const char *cmd, const Options *o, int *rc) {
  struct stat st;
  if (stat(o->file, &st) == 0 && S_ISDIR(st.st_mode)) {
    fprintf(stderr, "netc %s: %s: is a directory, not a model file\n", cmd, o->file);
    *rc = EXIT_USAGE;
    return NULL;
  }
  size_t len;
  char *text = read_file(o->file, &len);
  if (!text) {
    fprintf(stderr, "netc %s: cannot read %s: %s\n", cmd, o->file, strerror(errno));
    *rc = EXIT_USAGE;
    return NULL;
  }
  bool ok;
  Compilation *c = compile_source(o->file, text, len, stderr, o->batch, &ok);
  if (!ok) {
    if (c->diag.errors)
      fprintf(stderr, "%d error%s generated.\n", c->diag.errors, c->diag.errors == 1 ? "" : "s");
    compilation_free(c);
    free(text);
    *rc = EXIT_MODEL;
    return NULL;
  }
  free(text);
  *rc = 0;
  return c;
}

/* Writes through a temporary file and rename, so an interrupted run never
 * leaves a half-written report where a good one was. */
typedef void (*WriteFn)(FILE *out, const void *ctx);

static int write_output(const char *cmd, const char *path, WriteFn fn, const void *ctx) {
  if (!path) {
    fn(stdout, ctx);
    return fflush(stdout) == 0 ? 0 : EXIT_USAGE;
  }
  size_t n = strlen(path);
  char *tmp = malloc(n + 16);
  NETC_ASSERT(tmp);
  snprintf(tmp, n + 16, "%s.tmp.XXXXXX", path);
  int fd = mkstemp(tmp);
  if (fd < 0) {
    fprintf(stderr, "netc %s: cannot write %s: %s\n", cmd, path, strerror(errno));
    free(tmp);
    return EXIT_USAGE;
  }
  FILE *f = fdopen(fd, "w");
  NETC_ASSERT(f);
  fn(f, ctx);
  bool ok = fflush(f) == 0 && fsync(fd) == 0;
  ok &= fclose(f) == 0;
  if (!ok || rename(tmp, path) != 0) {
    fprintf(stderr, "netc %s: cannot write %s: %s\n", cmd, path, strerror(errno));
    unlink(tmp);
    free(tmp);
    return EXIT_USAGE;
  }
  free(tmp);
  return 0;
}

/* Emits the C backend's files for c into dir. */
static bool emit_c(Compilation *c, const Options *o, const char *dir) {
  if (c->graph->ninputs != 1) {
    fprintf(stderr, "netc: the C backend takes networks with one input; '%s' has %d\n", c->graph->name,
            c->graph->ninputs);
    return false;
  }
  Graph *g;
  Plan *p = compile_inference_plan(c, &o->passes, &g);
  /* The training step, when the model can be trained: a network without a
   * train section that cannot (no softmax for the default loss) is still
   * emitted for inference, quietly. */
  TrainSettings ts;
  train_settings(&c->train, &ts);
  Diag quiet;
  diag_init(&quiet, NULL);
  TrainPlan *tp = autodiff(c->arena, c->train.present ? &c->diag : &quiet, c->graph, (LossKind)ts.loss);
  if (!tp && c->train.present) {
    fprintf(stderr, "%d error%s generated.\n", c->diag.errors, c->diag.errors == 1 ? "" : "s");
    return false;
  }
  CodegenOptions co = {o->file, cg_c_identifier(c->arena, c->graph->name), tp, &ts, o->passes.winograd};
  return cg_c_write(c, g, p, dir, &co);
}

typedef struct ReportCtx {
  const Compilation *c;
  const Options *o;
} ReportCtx;

static void write_report(FILE *out, const void *p) {
  const ReportCtx *r = p;
  if (r->o->json) {
    char *s = report_json(r->c);
    fprintf(out, "%s\n", s);
    free(s);
  } else {
    report_table(out, r->c, r->o->markdown ? REPORT_MARKDOWN : REPORT_TEXT);
  }
}

static void write_dot(FILE *out, const void *p) { graph_write_dot(out, p); }

static int cmd_check(int argc, char **argv) {
  Options o;
  int rc = parse_options("check", argc, argv, NULL, 0, usage_check, &o);
  if (rc)
    return rc < 0 ? 0 : rc;
  Compilation *c = compile_file("check", &o, &rc);
  compilation_free(c);
  return rc;
}

static int cmd_report(int argc, char **argv) {
  static const char *const flags[] = {"--json", "--markdown", "--batch", "-o", "--train"};
  Options o;
  int rc = parse_options("report", argc, argv, flags, 5, usage_report, &o);
  if (rc)
    return rc < 0 ? 0 : rc;
  Compilation *c = compile_file("report", &o, &rc);
  if (!c)
    return rc;
  c->show_train = o.train;
  ReportCtx r = {c, &o};
  rc = write_output("report", o.out, write_report, &r);
  compilation_free(c);
  return rc;
}

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Runs `dot -Tsvg -o svg dotfile` without a shell, so no file name is ever
 * interpreted as a command. */
static int run_dot(const char *dotfile, const char *svg) {
  pid_t pid = fork();
  if (pid < 0)
    return -1;
  if (pid == 0) {
    execlp("dot", "dot", "-Tsvg", "-o", svg, dotfile, (char *)NULL);
    _exit(127);
  }
  int status;
  if (waitpid(pid, &status, 0) < 0)
    return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* mkdir -p: creates dir and any missing parents. */
static bool make_dirs(const char *dir) {
  char *p = strdup(dir);
  NETC_ASSERT(p);
  bool ok = true;
  for (char *s = p + 1; ok; s++) {
    if (*s == '/' || *s == '\0') {
      char save = *s;
      *s = '\0';
      ok = mkdir(p, 0777) == 0 || errno == EEXIST;
      *s = save;
      if (!save)
        break;
    }
  }
  free(p);
  return ok;
}

static int cmd_emit(int argc, char **argv) {
  static const char *const flags[] = {"-o", "--target", "--disable", "--no-passes"};
  Options o;
  int rc = parse_options("emit", argc, argv, flags, 4, usage_emit, &o);
  if (rc)
    return rc < 0 ? 0 : rc;
  if (strcmp(o.target, "c") != 0)
    return usage_error("emit", "unknown target '%s' (the C backend is 'c')", o.target);
  if (!o.out)
    return usage_error("emit", "%s", "no output directory given: -o DIR");
  if (!make_dirs(o.out)) {
    fprintf(stderr, "netc emit: cannot create %s: %s\n", o.out, strerror(errno));
    return EXIT_USAGE;
  }
  Compilation *c = compile_file("emit", &o, &rc);
  if (!c)
    return rc;
  rc = emit_c(c, &o, o.out) ? 0 : EXIT_USAGE;
  compilation_free(c);
  return rc;
}

static bool write_main(const char *dir, const char *id) {
  size_t n = strlen(dir) + 16;
  char *path = malloc(n);
  NETC_ASSERT(path);
  snprintf(path, n, "%s/main.c", dir);
  FILE *f = fopen(path, "w");
  if (!f) {
    fprintf(stderr, "netc build: cannot write %s: %s\n", path, strerror(errno));
    free(path);
    return false;
  }
  fprintf(f, "/* Generated by netc %s: the executable's entry point; do not edit. */\n", NETC_VERSION);
  fprintf(f, "#include \"%s.h\"\n#include \"netc/app.h\"\n\n", id);
  fprintf(f, "int main(int argc, char **argv) { return netc_app_main(argc, argv, &netc_model_%s); }\n", id);
  bool ok = fclose(f) == 0;
  free(path);
  return ok;
}

static void remove_tree(const char *dir, const char *id) {
  const char *files[] = {"main.c", "%s.c", "%s.h"};
  for (int i = 0; i < 3; i++) {
    char name[64], path[PATH_MAX];
    snprintf(name, sizeof name, files[i], id);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    unlink(path);
  }
  rmdir(dir);
}

static int cmd_build(int argc, char **argv) {
  static const char *const flags[] = {"-o", "--cc", "--cflags", "--keep", "-v", "--disable", "--no-passes"};
  Options o;
  int rc = parse_options("build", argc, argv, flags, 7, usage_build, &o);
  if (rc)
    return rc < 0 ? 0 : rc;
  if (!o.out)
    return usage_error("build", "%s", "no output given: -o PROGRAM");
  RuntimePaths rp;
  if (!toolchain_find_runtime(&rp)) {
    fprintf(stderr, "netc build: cannot find the netc runtime (netc/model.h, libnetcrt.a, libnetcapp.a) "
                    "installed beside this netc or in its build tree\n");
    return EXIT_USAGE;
  }
  Compilation *c = compile_file("build", &o, &rc);
  if (!c)
    return rc;
  const char *id = cg_c_identifier(c->arena, c->graph->name);
  char dir[PATH_MAX];
  if (o.keep) {
    snprintf(dir, sizeof dir, "%s.netc", o.out);
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
      fprintf(stderr, "netc build: cannot create %s: %s\n", dir, strerror(errno));
      compilation_free(c);
      return EXIT_USAGE;
    }
  } else {
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/netc-build-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
      fprintf(stderr, "netc build: cannot create a temporary directory: %s\n", strerror(errno));
      compilation_free(c);
      return EXIT_USAGE;
    }
  }
  rc = EXIT_USAGE;
  if (emit_c(c, &o, dir) && write_main(dir, id)) {
    char model_c[PATH_MAX + 64], main_c[PATH_MAX + 16], tmp_out[PATH_MAX + 16];
    snprintf(model_c, sizeof model_c, "%s/%s.c", dir, id);
    snprintf(main_c, sizeof main_c, "%s/main.c", dir);
    snprintf(tmp_out, sizeof tmp_out, "%s.tmp%ld", o.out, (long)getpid());
    const char *sources[] = {model_c, main_c};
    const char *cc = o.cc ? o.cc : getenv("CC") && *getenv("CC") ? getenv("CC") : toolchain_default_cc();
    int st = toolchain_compile(cc, o.cflags ? o.cflags : "-O3 -march=native", &rp, sources, 2, tmp_out, o.verbose);
    /* Linked to a temporary name and renamed: a failed build never leaves
     * a half-written program where a working one was. */
    if (st == 0 && rename(tmp_out, o.out) == 0) {
      rc = 0;
    } else {
      unlink(tmp_out);
      fprintf(stderr, "netc build: the C compiler failed (exit %d)%s\n", st,
              st == 127 ? "" : "; rerun with -v to see the command");
      rc = st == 127 ? EXIT_USAGE : EXIT_MODEL;
    }
  }
  if (!o.keep)
    remove_tree(dir, id);
  compilation_free(c);
  return rc;
}

static int cmd_graph(int argc, char **argv) {
  static const char *const flags[] = {"-o"};
  Options o;
  int rc = parse_options("graph", argc, argv, flags, 1, usage_graph, &o);
  if (rc)
    return rc < 0 ? 0 : rc;
  if (!o.out)
    return usage_error("graph", "%s", "no output given: -o OUT.dot or -o OUT.svg");
  bool svg = ends_with(o.out, ".svg");
  if (!svg && !ends_with(o.out, ".dot"))
    return usage_error("graph", "the output must end in .dot or .svg, not '%s'", o.out);
  Compilation *c = compile_file("graph", &o, &rc);
  if (!c)
    return rc;
  if (!svg) {
    rc = write_output("graph", o.out, write_dot, c);
  } else {
    size_t n = strlen(o.out);
    char *dot = malloc(n + 8);
    NETC_ASSERT(dot);
    snprintf(dot, n + 8, "%.*s.dot", (int)(n - 4), o.out);
    rc = write_output("graph", dot, write_dot, c);
    if (rc == 0) {
      int st = run_dot(dot, o.out);
      if (st == 127) {
        fprintf(stderr, "netc graph: Graphviz's 'dot' is not installed (apt-get install graphviz); "
                        "wrote %s instead\n", dot);
        rc = EXIT_USAGE;
      } else if (st != 0) {
        fprintf(stderr, "netc graph: 'dot' failed on %s\n", dot);
        rc = EXIT_USAGE;
      }
    }
    free(dot);
  }
  compilation_free(c);
  return rc;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fputs(usage_main, stderr);
    return EXIT_USAGE;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
    fputs(usage_main, stdout);
    return 0;
  }
  if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
    printf("netc %s\n", NETC_VERSION);
    return 0;
  }
  static const char *const cmds[] = {"check", "report", "graph", "emit", "build"};
  if (strcmp(cmd, "check") == 0)
    return cmd_check(argc - 2, argv + 2);
  if (strcmp(cmd, "report") == 0)
    return cmd_report(argc - 2, argv + 2);
  if (strcmp(cmd, "graph") == 0)
    return cmd_graph(argc - 2, argv + 2);
  if (strcmp(cmd, "emit") == 0)
    return cmd_emit(argc - 2, argv + 2);
  if (strcmp(cmd, "build") == 0)
    return cmd_build(argc - 2, argv + 2);
  const char *hint = suggest_closest(cmd, cmds, 5);
  if (hint) {
    fprintf(stderr, "netc: unknown command '%s'; did you mean '%s'?\n", cmd, hint);
    return EXIT_USAGE;
  }
  return usage_error(NULL, "unknown command '%s'", cmd);
}
