/* What `netc build` will emit as main(): one line. TEST_MODEL names one of
 * the models of app_models.h (set by CMake per executable). */
#include "app_models.h"
#include "netc/app.h"

int main(int argc, char **argv) {
  return netc_app_main(argc, argv, &TEST_MODEL);
}
