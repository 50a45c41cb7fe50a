/* main() of the training test executables: netc_app_main on TEST_MODEL (set
 * by CMake), after applying test-only overrides of its train section from
 * the environment, so that one model covers every optimizer, schedule,
 * loss and checkpoint policy without a descriptor each:
 *   APP_TEST_OPTIMIZER  sgd | adam | rmsprop | adagrad
 *   APP_TEST_SCHEDULE   constant | step | cosine
 *   APP_TEST_LOSS       mse
 *   APP_TEST_CHECKPOINT none | best:METRIC | every:N
 *   APP_TEST_AUGMENT    none
 *   APP_TEST_HASH       another source hash (a model from another .net) */
#include <stdlib.h>
#include <string.h>

#include "netc/app.h"
#include "train_models.h"

int main(int argc, char **argv) {
  NetcModel m = TEST_MODEL;
  NetcTrainConfig t = *m.train;
  const char *v;
  if ((v = getenv("APP_TEST_OPTIMIZER"))) {
    t.optimizer = !strcmp(v, "sgd") ? NETC_OPT_SGD
                  : !strcmp(v, "rmsprop") ? NETC_OPT_RMSPROP
                  : !strcmp(v, "adagrad") ? NETC_OPT_ADAGRAD
                                          : NETC_OPT_ADAM;
  }
  if ((v = getenv("APP_TEST_SCHEDULE"))) {
    t.schedule = !strcmp(v, "cosine") ? NETC_SCHED_COSINE : !strcmp(v, "step") ? NETC_SCHED_STEP
                                                                                : NETC_SCHED_CONSTANT;
    if (t.schedule == NETC_SCHED_STEP && t.nsteps == 0) {
      t.nsteps = 2;
      t.step_epoch[0] = 0;
      t.step_factor[0] = 0.5;
      t.step_epoch[1] = 1;
      t.step_factor[1] = 0.25;
    }
  }
  if ((v = getenv("APP_TEST_LOSS")) && !strcmp(v, "mse")) {
    t.loss = NETC_LOSS_MSE;
    m.train_step = m.input_size == 784 ? test_softmax_step_mse : test_bnnet_step_mse;
  }
  if ((v = getenv("APP_TEST_CHECKPOINT"))) {
    if (!strncmp(v, "best:", 5)) {
      t.checkpoint = NETC_CKPT_BEST;
      t.checkpoint_metric = v + 5;
    } else if (!strncmp(v, "every:", 6)) {
      t.checkpoint = NETC_CKPT_EVERY;
      t.checkpoint_every = atoi(v + 6);
    } else {
      t.checkpoint = NETC_CKPT_NONE;
    }
  }
  if ((v = getenv("APP_TEST_AUGMENT")) && !strcmp(v, "none"))
    t.naugment = 0;
  if ((v = getenv("APP_TEST_HASH")))
    m.source_hash = v;
  m.train = &t;
  return netc_app_main(argc, argv, &m);
}
