/* Hand-written NetcModel descriptors standing in for what `netc emit`
 * will generate, so that netcapp can be tested before the emitter exists:
 *   netc_test_dense   784 -> dense(10, softmax); Fashion-MNIST, scale
 *   netc_test_conv    8x8x3 -> conv(4, 3, same) -> bn -> relu -> global
 *                     avgpool -> dense(3, softmax); symmetric
 *   netc_test_linear  4 -> dense(3) (no softmax); standardize */
#ifndef NETC_TEST_APP_MODELS_H
#define NETC_TEST_APP_MODELS_H

#include "netc/model.h"

extern const NetcModel netc_test_dense;
extern const NetcModel netc_test_conv;
extern const NetcModel netc_test_linear;

/* The model called name ("dense", "conv", "linear"), or NULL. */
const NetcModel *test_model_by_name(const char *name);

#endif
