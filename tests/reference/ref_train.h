/* Double-precision reference forwards of the ops that have training
 * kernels (netc/train_kernels.h), for gradient checks by central finite
 * differences: every tensor is double, so a difference quotient with a
 * step of 1e-6 is accurate to ~1e-9 and checks the float kernels'
 * analytic gradients. Naive loops straight from the layer definitions;
 * they share only the descriptor types with the runtime.
 *
 * Layouts and strides as in netc/kernels.h (in read with in_cs, out
 * written with out_cs, 0 = dense); only the channels an op produces are
 * written. bias arguments may be NULL. */
#ifndef NETC_REF_TRAIN_H
#define NETC_REF_TRAIN_H

#include <stdint.h>

#include "netc/kernels.h"

void ref_train_conv2d(double *out, const double *in, const double *kernel, const double *bias, const RtConv2d *d);
void ref_train_dwconv2d(double *out, const double *in, const double *kernel, const double *bias,
                        const RtDwConv2d *d);
void ref_train_dense(double *out, const double *in, const double *kernel, const double *bias, const RtDense *d);
void ref_train_maxpool2d(double *out, const double *in, const RtPool2d *d);
void ref_train_avgpool2d(double *out, const double *in, const RtPool2d *d);
void ref_train_global_avgpool(double *out, const double *in, const RtEltwise *d);
void ref_train_global_maxpool(double *out, const double *in, const RtEltwise *d);

/* Training-mode batch norm: batch mean and biased variance per channel
 * (written to mean and var when not NULL), out = (in - mean) /
 * sqrt(var + eps) * gamma + beta. gamma/beta may be NULL. */
void ref_train_batchnorm(double *out, double *mean, double *var, const double *in, const double *gamma,
                         const double *beta, double eps, const RtEltwise *d);

void ref_train_activation(double *out, const double *in, RtAct act, double alpha, const RtEltwise *d);
void ref_train_softmax(double *out, const double *in, const RtEltwise *d);
void ref_train_prelu(double *out, const double *in, const double *alpha, const RtPRelu *d);
/* out = in * s[b*s_cs + k] (s_cs 0: c). */
void ref_train_mul_channel(double *out, const double *in, const double *s, int s_cs, const RtEltwise *d);
void ref_train_zeropad(double *out, const double *in, const RtPad *d);
/* out = in * mask / (1 - rate), mask dense [n*h*w*c]. */
void ref_train_dropout(double *out, const double *in, const uint8_t *mask, double rate, const RtEltwise *d);

/* Mean over the n rows of -log(softmax(logits)[label]). */
double ref_train_softmax_xent(const double *logits, const int32_t *labels, int n, int classes);
/* Sum over the n rows of mean((out - target)^2). */
double ref_train_mse(const double *out, const double *target, int n, int size);

#endif
