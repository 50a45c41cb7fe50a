/* main() of a training-test executable, as `netc build` emits it: the
 * emitted model TRAIN_MODEL (set by CMake) behind the netcapp command line. */
#include TRAIN_HEADER
#include "netc/app.h"

int main(int argc, char **argv) {
  return netc_app_main(argc, argv, &TRAIN_MODEL);
}
