/* app_blas.c: starting the program again under OpenBLAS kernels that fit
 * the CPU, where the ones OpenBLAS picked at load do not. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <unistd.h>

#include "app_internal.h"

void app_blas_restart(char **argv) {
  /* OPENBLAS_CORETYPE set by the user, even empty, is theirs to keep; set
   * by us, it also stops a second restart. */
  if (!argv || !argv[0] || getenv("OPENBLAS_CORETYPE"))
    return;
  const char *better = rt_blas_better_coretype();
  if (!better || setenv("OPENBLAS_CORETYPE", better, 1) != 0)
    return;
  execv("/proc/self/exe", argv);
  unsetenv("OPENBLAS_CORETYPE"); /* no /proc (or no exec): run on as we are */
}
