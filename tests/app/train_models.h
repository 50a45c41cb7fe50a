/* Hand-written NetcModels with training entry points, standing in for what
 * `netc emit` will generate, so that `train` can be tested before the
 * emitter writes train_step():
 *   netc_test_softmax  784 -> dense(10, softmax): softmax regression,
 *                      adam, checkpoint every epoch, scale
 *   netc_test_bnnet    8x8x1 -> a batch-norm-like centring with a moving
 *                      mean (non-trainable, updated by train_step) ->
 *                      dropout(0.25) -> dense(3, softmax); sgd with
 *                      nesterov momentum, weight decay, a step schedule,
 *                      augmentation, standardize, validation 0.25,
 *                      checkpoint best(val_acc)
 * Both train_steps are plain loops (deterministic whatever the threads).
 * The _mse variants of the steps use the mean squared error instead. */
#ifndef NETC_TEST_TRAIN_MODELS_H
#define NETC_TEST_TRAIN_MODELS_H

#include "netc/model.h"

extern const NetcModel netc_test_softmax;
extern const NetcModel netc_test_bnnet;

RtStatus test_softmax_step_mse(const RtContext *ctx, float *params, float *grads, void *arena, float *ws,
                               size_t ws_floats, const float *input, const void *targets, int batch, uint64_t seed,
                               double *loss_sum, int *correct);
RtStatus test_bnnet_step_mse(const RtContext *ctx, float *params, float *grads, void *arena, float *ws,
                             size_t ws_floats, const float *input, const void *targets, int batch, uint64_t seed,
                             double *loss_sum, int *correct);

/* The model called name ("softmax", "bnnet"), or NULL. */
const NetcModel *test_train_model_by_name(const char *name);

#endif
