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
 * the input needs no gradient (the network's input); the weight layers
 * also take NULL for a parameter gradient nobody wants (a frozen layer).
 * Strides (in_cs, out_cs) are those of the forward descriptor; gradient
 * tensors of activations are laid out like the activations they belong to
 * (dout like out, din like in). `accumulate` must be 0 or 1.
 *
 * Determinism: for a given ctx->num_threads every result is the same bit
 * for bit from run to run. Parallel splits depend only on the sizes and
 * the thread count, and parameter gradients are either summed by one
 * thread per entry or from per-thread partial sums added in thread order.
 * Per-channel sums (bias, batch-norm statistics) run in double. */
#ifndef NETC_TRAIN_KERNELS_H
#define NETC_TRAIN_KERNELS_H

#include <stdint.h>

#include "netc/kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Layers with weights ------------------------------------------------- */

/* Floats of workspace rt_conv2d_backward wants for d: one tile of the
 * im2col matrix, which the column gradient then reuses (about 8 MiB at
 * most, unless one row alone needs more; 0 for the 1x1 stride-1 unpadded
 * and the depthwise-shaped convs, which need none). Any workspace of at
 * least kh*kw*c/groups floats works, with smaller tiles. */
size_t rt_conv2d_backward_workspace_floats(const RtConv2d *d);

/* dout is the gradient at the convolution's output *before* its epilogue's
 * activation (the caller applies rt_activation_backward first); dbias may
 * be NULL for a layer without bias. Grouped and depthwise-shaped
 * (groups == c, handed to rt_dwconv2d_backward) convolutions included.
 * Kernel gradient: per group, im2col^T x dout summed tile by tile; input
 * gradient: dout x kernel^T into the tile, then col2im. */
RtStatus rt_conv2d_backward(const RtContext *ctx, float *din, float *dkernel, float *dbias, const float *dout,
                            const float *in, const float *kernel, int accumulate, const RtConv2d *d, float *ws,
                            size_t ws_floats);

/* Training by Winograd's F(tile x tile, 3x3) (see rt_conv2d_winograd): the weights
 * change every step, so these transform the Keras kernel into the front of
 * the workspace on every call (a small cost next to the convolution at
 * training batch sizes). rt_conv2d_winograd_train is the forward;
 * rt_conv2d_backward_winograd computes din as the Winograd convolution of
 * dout with the kernel turned by 180 degrees and transposed, and dkernel
 * and dbias as rt_conv2d_backward does. Shapes Winograd does not take, and
 * accumulate = 1 (din += ...), go through rt_conv2d_backward, so any conv
 * may be passed. */
size_t rt_conv2d_winograd_train_workspace_floats(const RtConv2d *d, int tile);
RtStatus rt_conv2d_winograd_train(const RtContext *ctx, float *out, const float *in, const float *kernel,
                                  const RtEpilogue *ep, const RtConv2d *d, int tile, float *ws, size_t ws_floats);
size_t rt_conv2d_backward_winograd_workspace_floats(const RtConv2d *d, int tile);
RtStatus rt_conv2d_backward_winograd(const RtContext *ctx, float *din, float *dkernel, float *dbias,
                                     const float *dout, const float *in, const float *kernel, int accumulate,
                                     const RtConv2d *d, int tile, float *ws, size_t ws_floats);

/* Direct loops, threads split by channels; the kernel and bias gradients
 * are summed in double. */
RtStatus rt_dwconv2d_backward(const RtContext *ctx, float *din, float *dkernel, float *dbias, const float *dout,
                              const float *in, const float *kernel, int accumulate, const RtDwConv2d *d);

/* din = dout x kernel^T, dkernel = in^T x dout, dbias = column sums. */
RtStatus rt_dense_backward(const RtContext *ctx, float *din, float *dkernel, float *dbias, const float *dout,
                           const float *in, const float *kernel, int accumulate, const RtDense *d);

/* ---- Pooling -------------------------------------------------------------- */

/* The max's position is found again from `in` (ties: the first in window
 * order, as the forward keeps the first maximum). din is required here
 * (these ops have no parameters). */
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
 * moving = moving * momentum + batch * (1 - momentum) (Keras' default
 * momentum is 0.99, eps 1e-3), with the unbiased variance var * N/(N-1)
 * (N = n*h*w; 1 when N is 1). That is what tf.keras does for 4-D inputs:
 * its fused batch norm (TensorFlow's FusedBatchNorm, which returns the
 * Bessel-corrected batch variance) feeds the moving variance, and Keras'
 * _maybe_add_or_remove_bessels_correction is a no-op because
 * _bessels_correction_test_only is True. For 2-D inputs (a batch norm
 * after a dense layer) Keras takes the non-fused path, tf.nn.moments, whose
 * variance is biased; this kernel does not reproduce that (the difference
 * is a factor N/(N-1) on the batch's share, 1/(batch-1)). gamma and beta
 * may be NULL (scale=False, center=False), moving_mean and moving_var too
 * (no update). The epilogue (bias, residual, activation) applies after.
 * out must not be in (the backward pass reads in). */
RtStatus rt_batchnorm_train(const RtContext *ctx, float *out, float *save_mean, float *save_invstd,
                            float *moving_mean, float *moving_var, const float *in, const float *gamma,
                            const float *beta, float momentum, float eps, const RtEpilogue *ep, const RtEltwise *d);

/* dout before the epilogue's activation. din = gamma * invstd * (dout -
 * mean(dout) - xhat * mean(dout * xhat)), xhat = (in - mean) * invstd: the
 * gradient through the batch statistics. gamma may be NULL (1); dgamma and
 * dbeta may be NULL. */
RtStatus rt_batchnorm_backward(const RtContext *ctx, float *din, float *dgamma, float *dbeta, const float *dout,
                               const float *in, const float *gamma, const float *save_mean,
                               const float *save_invstd, int accumulate, const RtEltwise *d);

/* ---- Element-wise ----------------------------------------------------------- */

/* din = dout * act'(x), computed from the activation's output y = act(x)
 * (every RtAct is invertible enough for that: relu y > 0, relu6 0 < y < 6,
 * sigmoid y(1-y), tanh 1-y^2, leaky y > 0 ? 1 : alpha, elu y > 0 ? 1 :
 * y + alpha, thresholded y > theta, which needs theta >= 0 as Keras
 * requires). din may equal dout when accumulate is 0 and the strides
 * agree. Strides: dout/out read with d->out_cs, din written with
 * d->in_cs. The derivative at a kink is that of the side the forward's
 * test picks: relu'(0) = 0, relu6'(6) = 0, leaky'(0) = alpha. */
RtStatus rt_activation_backward(const RtContext *ctx, float *din, const float *dout, const float *out, RtAct act,
                                float alpha, int accumulate, const RtEltwise *d);

/* Softmax alone (not fused with the loss): din = y * (dout - sum(dout * y)). */
RtStatus rt_softmax_backward(const RtContext *ctx, float *din, const float *dout, const float *out,
                             int accumulate, const RtEltwise *d);

/* din = dout * (in > 0 ? 1 : alpha); dalpha (shape [alpha_h, alpha_w,
 * alpha_c]) sums dout * in over the pixels where in <= 0, over the batch
 * and the shared axes. Either output may be NULL. */
RtStatus rt_prelu_backward(const RtContext *ctx, float *din, float *dalpha, const float *dout, const float *in,
                           const float *alpha, int accumulate, const RtPRelu *d);

/* dst = src (accumulate 0) or dst += src (1), src read with in_cs and dst
 * written with out_cs: the gradient of add (each input), concat (a channel
 * slice: src = dout + offset read with in_cs = the concat's channels),
 * flatten and dropout at rate 0. dst may equal src when accumulate is 0. */
RtStatus rt_accumulate(const RtContext *ctx, float *dst, const float *src, int accumulate, const RtEltwise *d);

/* Gradients of out = in * s (s per channel [n, c] with row stride s_cs, or
 * per element when d has h = w = 1 and n = pixels): din = dout * s,
 * ds = sum over each image's pixels of dout * in (written with s_cs).
 * Either output may be NULL; `accumulate` applies to both, since s is an
 * activation too (the squeeze-excitation gate). */
RtStatus rt_mul_channel_backward(const RtContext *ctx, float *din, float *ds, const float *dout, const float *in,
                                 const float *s, int s_cs, int accumulate, const RtEltwise *d);

/* Zero padding's gradient: the interior of dout. */
/* din like in (in_cs), dout like out (out_cs). */
RtStatus rt_zeropad_backward(const RtContext *ctx, float *din, const float *dout, int accumulate, const RtPad *d);

/* ---- Dropout ------------------------------------------------------------------ */

/* Inverted dropout (Keras): out = (in * (1 / (1 - rate))) * keep, keep
 * drawn per element from a counter-based generator of (seed, element
 * index), so the mask is the same whatever the thread count: element
 * i = pixel * c + channel takes z, the i-th output of SplitMix64 seeded
 * with seed (z = mix(seed + (i + 1) * 0x9E3779B97F4A7C15)), and is kept
 * when (z >> 40) / 2^24 >= rate. mask (n*h*w*c bytes, dense, 1 = kept)
 * keeps the draws for the backward pass. 0 <= rate < 1; the caller varies
 * the seed per step and per layer. */
RtStatus rt_dropout_train(const RtContext *ctx, float *out, uint8_t *mask, const float *in, float rate,
                          uint64_t seed, const RtEltwise *d);
/* din = (dout * (1 / (1 - rate))) * mask. */
RtStatus rt_dropout_backward(const RtContext *ctx, float *din, const float *dout, const uint8_t *mask, float rate,
                             int accumulate, const RtEltwise *d);

/* ---- Losses ------------------------------------------------------------------ */

/* Cross-entropy of softmax probabilities `probs` [n, classes] against
 * integer labels: returns the summed loss (double) and the number of rows
 * whose arg-max is the label; writes dlogits = (probs - onehot) / n, the
 * gradient at the softmax's *input* (the fused softmax + cross-entropy).
 * Probabilities are clamped to [1e-7, 1 - 1e-7] (float) inside the log, as
 * Keras does (backend.epsilon()); the gradient is not clamped. The arg-max
 * is the first maximum. A label outside [0, classes) is RT_ERR_ARG.
 * dlogits, loss_sum and correct may each be NULL. */
RtStatus rt_softmax_xent(const RtContext *ctx, float *dlogits, double *loss_sum, int *correct, const float *probs,
                         const int32_t *labels, int n, int classes);

/* Mean squared error against targets [n, size]: loss_sum = sum over rows of
 * the row mean of (out - target)^2; dout = 2 (out - target) / (n * size),
 * the gradient of the batch's mean loss. dout and loss_sum may be NULL. */
RtStatus rt_mse(const RtContext *ctx, float *dout, double *loss_sum, const float *out, const float *target, int n,
                int size);

/* ---- Optimizers (one tensor at a time) ----------------------------------------- */

/* Each updates w[0..count) in place from its gradient g, with L2 weight
 * decay `wd` added to the gradient as Keras' l2(wd) regularizer does
 * (g + 2 * wd * w; 0 for biases and batch norm). State buffers start at 0
 * except Adagrad's (below). The updates follow TensorFlow's kernels, in
 * float; single-threaded, deterministic.
 *
 * SGD (Keras defaults lr 0.01, momentum 0): v = momentum * v - lr * g;
 * w += v, or with nesterov w += momentum * v - lr * g (the new v). With
 * momentum 0, w -= lr * g and velocity may be NULL. */
void rt_sgd_step(float *w, float *velocity, const float *g, size_t count, float lr, float momentum, int nesterov,
                 float wd);
/* Keras Adam (defaults lr 0.001, beta1 0.9, beta2 0.999, eps 1e-7): t is
 * the step number from 1 (bias correction); m += (g - m) * (1 - beta1),
 * v += (g^2 - v) * (1 - beta2), w -= lr_t * m / (sqrt(v) + eps) with
 * lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t). */
void rt_adam_step(float *w, float *m, float *v, const float *g, size_t count, float lr, float beta1, float beta2,
                  float eps, float wd, int64_t t);
/* Keras RMSprop without momentum, not centered (defaults lr 0.001, rho 0.9,
 * eps 1e-7): ms = rho * ms + (1 - rho) * g^2; w -= lr * g / (sqrt(ms) +
 * eps). */
void rt_rmsprop_step(float *w, float *ms, const float *g, size_t count, float lr, float rho, float eps, float wd);
/* Keras Adagrad (defaults lr 0.001, eps 1e-7): acc += g^2; w -= lr * g /
 * (sqrt(acc) + eps). Keras starts acc at initial_accumulator_value = 0.1,
 * not 0: the caller fills acc with 0.1 before the first step. */
void rt_adagrad_step(float *w, float *acc, const float *g, size_t count, float lr, float eps, float wd);

#ifdef __cplusplus
}
#endif

#endif /* NETC_TRAIN_KERNELS_H */
