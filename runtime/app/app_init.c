/* app_init.c: `init`, Keras' default initial weights written to a
 * safetensors file (atomically, through the runtime's writer). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "app_internal.h"

int app_cmd_init(const AppArgs *a, const NetcModel *m) {
  AppNet net;
  int rc = app_net_new(a, m, &net);
  if (rc)
    return rc;
  rc = app_net_random_weights(a, &net, a->seed);
  RtError err = {{0}};
  RtStWriter *w = NULL;
  if (!rc && rt_stw_new(&w, &err) != RT_OK)
    rc = app_fail(a, APP_EXIT_DATA, "%s", err.msg);
  for (int i = 0; !rc && i < m->num_params; i++) {
    const NetcParam *p = &m->params[i];
    int64_t shape[4];
    for (int k = 0; k < p->rank; k++)
      shape[k] = p->shape[k];
    if (rt_stw_add_f32(w, p->name, p->rank, shape, net.params + p->offset, &err) != RT_OK)
      rc = app_fail(a, APP_EXIT_DATA, "%s: tensor '%s': %s", a->output, p->name, err.msg);
  }
  /* Standardization statistics the model does not hold itself: identity. */
  int tensors = m->num_params;
  if (!rc && m->normalize == NETC_NORM_STANDARDIZE && net.norm_owned) {
    tensors += 2;
    int64_t shape[3];
    for (int k = 0; k < m->input_rank && k < 3; k++)
      shape[k] = m->input_shape[k];
    if (rt_stw_add_f32(w, APP_NORM_MEAN, m->input_rank, shape, net.norm_mean, &err) != RT_OK ||
        rt_stw_add_f32(w, APP_NORM_STD, m->input_rank, shape, net.norm_std, &err) != RT_OK)
      rc = app_fail(a, APP_EXIT_DATA, "%s: %s", a->output, err.msg);
  }
  char seed[32];
  snprintf(seed, sizeof seed, "%" PRIu64, a->seed);
  if (!rc && (rt_stw_set_metadata(w, "model", m->name ? m->name : "", &err) != RT_OK ||
              rt_stw_set_metadata(w, "netc_version", m->netc_version ? m->netc_version : "", &err) != RT_OK ||
              rt_stw_set_metadata(w, "seed", seed, &err) != RT_OK ||
              rt_stw_set_metadata(w, "init", "keras-default splitmix64 seed^fnv1a64(name)", &err) != RT_OK))
    rc = app_fail(a, APP_EXIT_DATA, "%s", err.msg);
  if (!rc && rt_stw_write(w, a->output, &err) != RT_OK)
    rc = app_fail(a, APP_EXIT_DATA, "%s", err.msg);
  if (!rc)
    printf("%s: %d tensors, %lld parameters (seed %s)\n", a->output, tensors,
           (long long)m->total_params, seed);
  rt_stw_free(w);
  app_net_free(&net);
  return rc;
}
