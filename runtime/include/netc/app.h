/* netc/app.h: the command line of a `netc build` executable.
 *
 * The C that netc emits for a network fills a NetcModel (netc/model.h); the
 * executable's main() is one line,
 *
 *     int main(int argc, char **argv) {
 *       return netc_app_main(argc, argv, &netc_model_lenet);
 *     }
 *
 * and this library (netcapp, linked with the runtime netcrt) does the rest:
 * `predict`, `eval`, `init`, `bench`, `summary`, each with `--help`.
 *
 * Exit codes: 0 success; 1 bad data or weights (a missing or misshapen
 * tensor, an unreadable image, a failed kernel); 2 bad usage (unknown
 * flag, bad flag value, missing argument); 3 an inconsistent NetcModel
 * descriptor (a bug in the emitted code, not in the user's files).
 *
 * Messages go to stderr as `PROG COMMAND: error: FILE: PLACE: PROBLEM`;
 * results go to stdout. The library keeps no global mutable state, never
 * calls exit(), and frees what it allocates before returning, so a program
 * (or a test) may call netc_app_main several times, with several models.
 */
#ifndef NETC_APP_H
#define NETC_APP_H

#include "netc/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Runs the command named by argv[1] on model; argv[0] names the program in
 * messages. model is only read. Returns the process exit code. */
int netc_app_main(int argc, char **argv, const NetcModel *model);

#ifdef __cplusplus
}
#endif

#endif /* NETC_APP_H */
