/* netc/train_kernels.h: the kernels of a training step: forward ops in
 * training mode, the gradient of every op, the losses and the optimizers.
 * Emitted training code calls them; same conventions as kernels.h
 * (context, outputs, inputs, descriptor; NHWC float32; Keras layouts; no
 * allocation, no printing, no global state; RT_OK or RT_ERR_ARG).
 *
 * Gradients: every `d*` output is a gradient with respect to the named
 * tensor. Parameter gradients (dkernel, dbias, dgamma, dbeta, dalpha) are
 * always overwritten. Input gradients (din) are overwritten when
 * `accumulate` is 0 and added to when it is 1, because a tensor read by
 * several layers receives the sum of their gradients. din may be NULL when
 * the input needs no gradient (the network's input). Strides (in_cs,
 * out_cs) are those of the forward descriptor; gradient tensors of
 * activations are laid out like the activations they belong to (dout like
 * out, din like in). */
#ifndef NETC_TRAIN_KERNELS_H
#define NETC_TRAIN_KERNELS_H

#include <stdint.h>

#include "netc/kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Layers with weights ------------------------------------------------- */

/* Workspace for rt_conv2d_backward (col2im / im2col tiles), bounded like
 * the forward's. */
size_t rt_conv2d_backward_workspace_floats(const RtConv2d *d);

/* dout is the gradient at the convolution's output *before* its epilogue's
 * activation (the caller applies rt_activation_backward first); dbias may
 * be NULL for a layer without bias. Grouped and depthwise-shaped
 * (groups == c) convolutions included. */
RtStatus rt_conv2d_backward(const RtContext *ctx, float *din, float *dkernel, float *dbias, const float *dout,
                            const float *in, const float *kernel, int accumulate, const RtConv2d *d, float *ws,
                            size_t ws_floats);

RtStatus rt_dwconv2d_backward(const RtContext *ctx, float *din, float *dkernel, float *dbias, const float *dout,
                              const float *in, const float *kernel, int accumulate, const RtDwConv2d *d);

RtStatus rt_dense_backward(const RtContext *ctx, float *din, float *dkernel, float *dbias, const float *dout,
                           const float *in, const float *kernel, int accumulate, const RtDense *d);

/* ---- Pooling -------------------------------------------------------------- */

/* The max's position is found again from `in` (ties: the first in window
 * order, as the forward keeps the first maximum). */
RtStatus rt_maxpool2d_backward(const RtContext *ctx, float *din, const float *dout, const float *in,
                               int accumulate, const RtPool2d *d);
RtStatus rt_avgpool2d_backward(const RtContext *ctx, float *din, const float *dout, int accumulate,
                               const RtPool2d *d);
RtStatus rt_global_avgpool_backward(const RtContext *ctx, float *din, const float *dout, int accumulate,
                                    const RtEltwise *d);
RtStatus rt_global_maxpool_backward(const RtContext *ctx, float *din, const float *dout, const float *in,
                                    int accumulate, const RtEltwise *d);

/* ---- Batch norm ------------------------------------------------------------ */

/* Training-mode batch norm over n*h*w values per channel: normalizes with
 * the batch's mean and biased variance, saves mean and 1/sqrt(var + eps)
 * for the backward pass, and updates the moving statistics as Keras does:
 * moving = moving * momentum + batch * (1 - momentum), with the unbiased
 * variance. The epilogue (activation, residual) applies after. */
RtStatus rt_batchnorm_train(const RtContext *ctx, float *out, float *save_mean, float *save_invstd,
                            float *moving_mean, float *moving_var, const float *in, const float *gamma,
                            const float *beta, float momentum, float eps, const RtEpilogue *ep, const RtEltwise *d);

/* dout before the epilogue's activation. */
RtStatus rt_batchnorm_backward(const RtContext *ctx, float *din, float *dgamma, float *dbeta, const float *dout,
                               const float *in, const float *gamma, const float *save_mean,
                               const float *save_invstd, int accumulate, const RtEltwise *d);

/* ---- Element-wise ----------------------------------------------------------- */

/* din = dout * act'(x), computed from the activation's output y = act(x)
 * (every RtAct is invertible enough for that: relu y > 0, relu6 0 < y < 6,
 * sigmoid y(1-y), tanh 1-y^2, leaky y > 0 ? 1 : alpha, elu y > 0 ? 1 :
 * y + alpha, thresholded y > theta). din may equal dout when accumulate is
 * 0. Strides: dout/out read with d->out_cs, din written with d->in_cs. */
RtStatus rt_activation_backward(const RtContext *ctx, float *din, const float *dout, const float *out, RtAct act,
                                float alpha, int accumulate, const RtEltwise *d);

/* Softmax alone (not fused with the loss): din = y * (dout - sum(dout * y)). */
RtStatus rt_softmax_backward(const RtContext *ctx, float *din, const float *dout, const float *out,
                             int accumulate, const RtEltwise *d);

RtStatus rt_prelu_backward(const RtContext *ctx, float *din, float *dalpha, const float *dout, const float *in,
                           const float *alpha, int accumulate, const RtPRelu *d);

/* dst = src (accumulate 0) or dst += src (1), with strides: the gradient of
 * add (each input), concat (a channel slice: src = dout + offset read with
 * in_cs = the concat's channels), flatten and dropout at rate 0. */
RtStatus rt_accumulate(const RtContext *ctx, float *dst, const float *src, int accumulate, const RtEltwise *d);

/* Gradients of out = in * s (s per channel [n, c] with row stride s_cs, or
 * per element when d has h = w = 1 and n = pixels): din = dout * s,
 * ds = sum over the pixels of dout * in. Either output may be NULL. */
RtStatus rt_mul_channel_backward(const RtContext *ctx, float *din, float *ds, const float *dout, const float *in,
                                 const float *s, int s_cs, int accumulate, const RtEltwise *d);

/* Zero padding's gradient: the interior of dout. */
RtStatus rt_zeropad_backward(const RtContext *ctx, float *din, const float *dout, int accumulate, const RtPad *d);

/* ---- Dropout ------------------------------------------------------------------ */

/* Inverted dropout (Keras): out = in * keep / (1 - rate), keep drawn per
 * element from a counter-based generator of (seed, element index), so the
 * mask is the same whatever the thread count. mask (n*h*w*c bytes) keeps
 * the draws for the backward pass. */
RtStatus rt_dropout_train(const RtContext *ctx, float *out, uint8_t *mask, const float *in, float rate,
                          uint64_t seed, const RtEltwise *d);
RtStatus rt_dropout_backward(const RtContext *ctx, float *din, const float *dout, const uint8_t *mask, float rate,
                             int accumulate, const RtEltwise *d);

/* ---- Losses ------------------------------------------------------------------ */

/* Cross-entropy of softmax probabilities `probs` [n, classes] against
 * integer labels: returns the summed loss (double) and the number of rows
 * whose arg-max is the label; writes dlogits = (probs - onehot) / n, the
 * gradient at the softmax's *input* (the fused softmax + cross-entropy).
 * Probabilities are clamped to [1e-7, 1] inside the log, as Keras does. */
RtStatus rt_softmax_xent(const RtContext *ctx, float *dlogits, double *loss_sum, int *correct, const float *probs,
                         const int32_t *labels, int n, int classes);

/* Mean squared error against targets [n, size]: loss_sum = sum over rows of
 * the row mean of (out - target)^2; dout = 2 (out - target) / (n * size). */
RtStatus rt_mse(const RtContext *ctx, float *dout, double *loss_sum, const float *out, const float *target, int n,
                int size);

/* ---- Optimizers (one tensor at a time) ----------------------------------------- */

/* Each updates w[0..count) in place from its gradient g, with L2 weight
 * decay `wd` added to the gradient as Keras' l2(wd) regularizer does
 * (g + 2 * wd * w; 0 for biases and batch norm). State buffers start at 0. */
void rt_sgd_step(float *w, float *velocity, const float *g, size_t count, float lr, float momentum, int nesterov,
                 float wd);
/* Keras Adam: t is the step number from 1 (bias correction). */
void rt_adam_step(float *w, float *m, float *v, const float *g, size_t count, float lr, float beta1, float beta2,
                  float eps, float wd, int64_t t);
void rt_rmsprop_step(float *w, float *ms, const float *g, size_t count, float lr, float rho, float eps, float wd);
void rt_adagrad_step(float *w, float *acc, const float *g, size_t count, float lr, float eps, float wd);

#ifdef __cplusplus
}
#endif

#endif /* NETC_TRAIN_KERNELS_H */
