/* Plain reference implementations of the runtime kernels: naive loops
 * straight from the layer definitions, accumulating in double, with no
 * tiling, threads or cleverness. The fast kernels (and later any other
 * backend) are tested against these. They share only the descriptor types
 * of netc/kernels.h, none of its code.
 *
 * Same argument order and semantics as the rt_ function of the same name
 * (see netc/kernels.h), including channel strides (0 = dense) and the
 * epilogue. Outputs are written only at the channels an op produces. */
#ifndef NETC_REFERENCE_H
#define NETC_REFERENCE_H

#include "netc/kernels.h"

/* act(x) computed in double. */
double ref_act(RtAct act, double alpha, double x);

void ref_conv2d(float *out, const float *in, const float *kernel,
                const RtEpilogue *ep, const RtConv2d *d);
void ref_dwconv2d(float *out, const float *in, const float *kernel,
                  const RtEpilogue *ep, const RtDwConv2d *d);
void ref_dense(float *out, const float *in, const float *kernel,
               const RtEpilogue *ep, const RtDense *d);
void ref_maxpool2d(float *out, const float *in, const RtPool2d *d);
void ref_avgpool2d(float *out, const float *in, const RtPool2d *d);
void ref_global_avgpool(float *out, const float *in, const RtEltwise *d);
void ref_global_maxpool(float *out, const float *in, const RtEltwise *d);
void ref_batchnorm(float *out, const float *in, const float *gamma,
                   const float *beta, const float *mean, const float *var,
                   float eps, const RtEpilogue *ep, const RtEltwise *d);
void ref_channel_affine(float *out, const float *in, const float *scale,
                        const float *shift, const RtEpilogue *ep,
                        const RtEltwise *d);
void ref_add(float *out, const float *const *ins, int count,
             const RtEpilogue *ep, const RtEltwise *d);
void ref_mul_channel(float *out, const float *in, const float *s, int s_cs,
                     const RtEpilogue *ep, const RtEltwise *d);
void ref_activation(float *out, const float *in, RtAct act, float alpha,
                    const RtEltwise *d);
void ref_softmax(float *out, const float *in, const RtEltwise *d);
void ref_prelu(float *out, const float *in, const float *alpha,
               const RtPRelu *d);
void ref_concat(float *out, const float *const *ins, const int *chans,
                int count, const RtEltwise *d);
void ref_zeropad(float *out, const float *in, const RtPad *d);

#endif /* NETC_REFERENCE_H */
