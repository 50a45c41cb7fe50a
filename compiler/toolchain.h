/* toolchain.h: the runtime's location and the system C compiler, for
 * `netc build` (toolchain.c). Only the driver uses this. */
#ifndef NETC_TOOLCHAIN_H
#define NETC_TOOLCHAIN_H

#include "netc.h"

#include <limits.h>

typedef struct RuntimePaths {
  char include_dir[PATH_MAX];  /* holds netc/model.h */
  char runtime_lib[PATH_MAX];  /* libnetcrt.a */
  char app_lib[PATH_MAX];      /* libnetcapp.a */
} RuntimePaths;

/* Finds the runtime beside this netc: installed (<prefix>/bin/netc with
 * <prefix>/include and <prefix>/lib), else the build tree netc was built
 * in. False when neither is complete. */
bool toolchain_find_runtime(RuntimePaths *rp);

/* The C compiler netc build uses by default: the one that built the
 * runtime, when it still exists, else cc. */
const char *toolchain_default_cc(void);

/* Runs `cc -std=c11 cflags -I<include> sources -o output <runtime libs>`
 * without a shell. Returns the compiler's exit status (127: could not run). */
int toolchain_compile(const char *cc, const char *cflags, const RuntimePaths *rp, const char *const *sources,
                      int nsources, const char *output, bool verbose);

#endif
