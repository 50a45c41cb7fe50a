/* Reference activation and epilogue, in double. */
#include <math.h>

#include "ref_internal.h"

double ref_act(RtAct act, double alpha, double x) {
  switch (act) {
  case RT_ACT_LINEAR: return x;
  case RT_ACT_RELU: return x > 0 ? x : 0;
  case RT_ACT_RELU6: return x < 0 ? 0 : x > 6 ? 6 : x;
  case RT_ACT_SIGMOID: return 1 / (1 + exp(-x));
  case RT_ACT_TANH: return tanh(x);
  case RT_ACT_LEAKY_RELU: return x > 0 ? x : alpha * x;
  case RT_ACT_ELU: return x > 0 ? x : alpha * (exp(x) - 1);
  case RT_ACT_THRESHOLDED_RELU: return x > alpha ? x : 0;
  }
  return x;
}

float ref_finish(double v, const RtEpilogue *ep, long pixel, int k,
                 int out_cs) {
  if (ep) {
    if (ep->bias)
      v += ep->bias[k];
    if (ep->residual)
      v += ep->residual[pixel * (ep->res_cs ? ep->res_cs : out_cs) + k];
    v = ref_act(ep->act, ep->alpha, v);
  }
  return (float)v;
}
