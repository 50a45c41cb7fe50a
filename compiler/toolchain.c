/* toolchain.c: what `netc build` needs from the system: where the runtime
 * is (next to the netc executable, installed or in its build tree), and
 * running the C compiler on the emitted sources. */
#define _XOPEN_SOURCE 700
#include "toolchain.h"

#include "netc_config.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static bool exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

bool toolchain_find_runtime(RuntimePaths *rp) {
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0)
    return false;
  exe[n] = '\0';
  char *dir = dirname(exe);
  /* Installed: <prefix>/bin/netc, <prefix>/include/netc, <prefix>/lib. */
  snprintf(rp->include_dir, sizeof rp->include_dir, "%s/%s", dir, NETC_INSTALL_INCLUDE_REL);
  snprintf(rp->runtime_lib, sizeof rp->runtime_lib, "%s/%s/libnetcrt.a", dir, NETC_INSTALL_LIB_REL);
  snprintf(rp->app_lib, sizeof rp->app_lib, "%s/%s/libnetcapp.a", dir, NETC_INSTALL_LIB_REL);
  char model_h[PATH_MAX + 32];
  snprintf(model_h, sizeof model_h, "%s/netc/model.h", rp->include_dir);
  if (exists(model_h) && exists(rp->runtime_lib) && exists(rp->app_lib))
    return true;
  /* The build tree this netc was built in. */
  char real_dir[PATH_MAX], build_bin[PATH_MAX];
  if (realpath(dir, real_dir) && realpath(NETC_BUILD_BIN_DIR, build_bin) && strcmp(real_dir, build_bin) == 0) {
    snprintf(rp->include_dir, sizeof rp->include_dir, "%s", NETC_SOURCE_INCLUDE_DIR);
    snprintf(rp->runtime_lib, sizeof rp->runtime_lib, "%s", NETC_BUILD_RUNTIME_LIB);
    snprintf(rp->app_lib, sizeof rp->app_lib, "%s", NETC_BUILD_APP_LIB);
    return exists(rp->runtime_lib) && exists(rp->app_lib);
  }
  return false;
}

const char *toolchain_default_cc(void) {
  return access(NETC_DEFAULT_CC, X_OK) == 0 ? NETC_DEFAULT_CC : "cc";
}

/* Splits a flag string at spaces (no quoting: flags with spaces inside are
 * not supported) and appends the words to argv. */
static int split_words(char *s, const char **argv, int at, int cap) {
  for (char *tok = strtok(s, " \t"); tok && at < cap - 1; tok = strtok(NULL, " \t"))
    argv[at++] = tok;
  return at;
}

int toolchain_compile(const char *cc, const char *cflags, const RuntimePaths *rp, const char *const *sources,
                      int nsources, const char *output, bool verbose) {
  const char *argv[256];
  int n = 0;
  char *cc_copy = strdup(cc), *flags_copy = strdup(cflags), *link_copy = strdup(NETC_RUNTIME_LINK_FLAGS);
  char include[PATH_MAX + 8];
  NETC_ASSERT(cc_copy && flags_copy && link_copy);
  n = split_words(cc_copy, argv, n, 256);
  argv[n++] = "-std=c11";
  n = split_words(flags_copy, argv, n, 256);
  snprintf(include, sizeof include, "-I%s", rp->include_dir);
  argv[n++] = include;
  for (int i = 0; i < nsources && n < 200; i++)
    argv[n++] = sources[i];
  argv[n++] = "-o";
  argv[n++] = output;
  argv[n++] = rp->app_lib;
  argv[n++] = rp->runtime_lib;
  n = split_words(link_copy, argv, n, 256);
  argv[n] = NULL;
  if (verbose) {
    for (int i = 0; i < n; i++)
      fprintf(stderr, "%s%s", i ? " " : "", argv[i]);
    fputc('\n', stderr);
  }
  int status = -1;
  pid_t pid = fork();
  if (pid == 0) {
    execvp(argv[0], (char *const *)argv);
    fprintf(stderr, "netc build: cannot run the C compiler '%s': %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status))
    status = WEXITSTATUS(status);
  else
    status = -1;
  free(cc_copy);
  free(flags_copy);
  free(link_copy);
  return status;
}
