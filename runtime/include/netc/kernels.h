/* netc runtime CPU inference kernels: the calls that emitted code makes, one
 * per layer.
 *
 * Conventions shared by every function here:
 *  - Activations are NHWC float32 (Keras channels_last), batch leading.
 *    Weights use Keras layouts: conv kernel [kh, kw, cin/groups, cout],
 *    depthwise kernel [kh, kw, cin, multiplier] (output channel
 *    ci*multiplier + m), dense kernel [in, out], bias [cout].
 *  - Argument order: context, outputs, inputs, then a descriptor of sizes.
 *  - Channel strides: every producer writes pixel p, channel k at
 *    out[p*out_cs + k], so it can write straight into its channel slice of a
 *    concat buffer (pass out + channel_offset and the buffer's channel count
 *    as out_cs); channels outside [0, its channel count) are never touched.
 *    Inputs are read at in[p*in_cs + k] likewise. A stride of 0 means
 *    "dense" (the tensor's own channel count).
 *  - The caller owns every buffer. Kernels never allocate, never print,
 *    never exit, and keep no global state; they return RT_OK, or RT_ERR_ARG
 *    for a NULL pointer, inconsistent sizes or a too small workspace (and
 *    then write nothing).
 *  - Outputs must not overlap inputs unless a function says so.
 *  - Threading: OpenMP, ctx->num_threads threads (<= 0: the OpenMP default).
 *    A kernel called alone starts its own team of threads; an emitted
 *    forward() starts one team for all its layers (rt_team_run) and every
 *    thread of it calls every kernel, which does that thread's share.
 *    GEMM work goes through OpenBLAS, which the kernels call from their own
 *    OpenMP threads; so that the two thread pools do not fight, GEMM
 *    kernels set OpenBLAS to one thread (openblas_set_num_threads(1)) the
 *    first time they see it otherwise.
 */
#ifndef NETC_KERNELS_H
#define NETC_KERNELS_H

#include <stddef.h>

/* RtStatus (RT_OK, RT_ERR_ARG, ...) is shared with the file loaders. */
#include "netc/io.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Context and fused epilogue ------------------------------------------ */

/* Per-call execution settings; read only by the kernels. */
typedef struct RtContext {
  int num_threads; /* OpenMP threads to use; <= 0 means the OpenMP default */
  /* When set, an emitted forward() calls it after each layer with the
   * layer's index in NetcModel.layer_names (`model bench --layers`). */
  void (*layer_done)(void *arg, int layer);
  void *layer_arg;
  /* Set only by rt_team_run, in the context it passes on: every thread of
   * the current OpenMP team calls each kernel with the same arguments, and
   * each kernel does the calling thread's share and returns with the team
   * in step (after a barrier). Callers leave it 0. */
  int team;
} RtContext;

/* The instruction set the kernels' clones run with on this CPU: "avx512"
 * (register kernels on 16-float vectors), "avx2" (8-float) or "x86-64"
 * (baseline, 4-float); in a build without clones the one its target has
 * ("native" for 4-float vectors off x86-64). */
const char *rt_kernel_isa(void);

/* OpenBLAS's name for the kernels it picked when it loaded ("SkylakeX",
 * "Haswell", "Prescott", ...). */
const char *rt_blas_coretype(void);

/* The OPENBLAS_CORETYPE under which OpenBLAS would run FMA kernels at least
 * 8 floats wide on this CPU ("SkylakeX" or "Haswell"), or NULL when the
 * kernels it picked already are, or the CPU has no AVX2 and FMA. OpenBLAS
 * picks by CPU model when it loads: a model newer than the library (Debian
 * 12's 0.3.21 on an Emerald Rapids Xeon, model 207) falls back to its SSE3
 * "Prescott" kernels, which ran SGEMM 5x slower there. The variable is read
 * only at load, so a program that wants the hint must set it and start
 * again (the `netc build` programs do). */
const char *rt_blas_better_coretype(void);

/* Runs body(team_ctx, arg) on every thread of one OpenMP team of ctx's
 * threads, team_ctx being *ctx with team set: a forward pass forks and
 * joins once instead of once per layer, and its layers are separated by
 * barriers, which cost a fraction of a fork on the machines measured
 * (docs/backend.md). body must call the same kernels with the same
 * arguments on every thread, and kernels decide their status from their
 * arguments alone, so every thread returns the same status: thread 0's is
 * returned. Inside another parallel region (nested parallelism off) the
 * team is the calling thread alone. */
RtStatus rt_team_run(const RtContext *ctx,
                     RtStatus (*body)(const RtContext *ctx, void *arg),
                     void *arg);

/* Reports a finished layer to ctx->layer_done, if set: once, from thread 0,
 * when ctx is a team's, and the team waits for it. */
void rt_layer_done(const RtContext *ctx, int layer);

/* Element-wise activations (Keras names). */
typedef enum RtAct {
  RT_ACT_LINEAR,           /* x */
  RT_ACT_RELU,             /* max(x, 0) */
  RT_ACT_RELU6,            /* min(max(x, 0), 6) */
  RT_ACT_SIGMOID,          /* 1 / (1 + exp(-x)) */
  RT_ACT_TANH,             /* tanh(x) */
  RT_ACT_LEAKY_RELU,       /* x > 0 ? x : alpha * x */
  RT_ACT_ELU,              /* x > 0 ? x : alpha * (exp(x) - 1) */
  RT_ACT_THRESHOLDED_RELU, /* x > alpha ? x : 0 (alpha is Keras' theta) */
} RtAct;

/* What a producer (conv, dwconv, dense, add, batchnorm, ...) applies to each
 * output value before storing it, in this order: + bias[k] (per output
 * channel), + residual (read like the output: residual[p*res_cs + k]), then
 * act. A NULL RtEpilogue pointer, or a zeroed struct, means none of them. */
typedef struct RtEpilogue {
  const float *bias;     /* [cout] or NULL */
  const float *residual; /* same shape as the output, or NULL */
  RtAct act;
  float alpha;           /* LEAKY_RELU / ELU alpha, THRESHOLDED_RELU theta */
  int res_cs;            /* residual channel stride; 0: the output's out_cs */
} RtEpilogue;

/* Applies act to one value (the scalar definition every kernel follows). */
float rt_act_apply(RtAct act, float alpha, float x);

/* ---- Convolution ---------------------------------------------------------- */

/* out[n, oh, ow, oc] = conv(in[n, h, w, c], kernel[kh, kw, c/groups, oc]).
 * Input row oy*sh - pad_top + ky, column ox*sw - pad_left + kx; positions
 * outside the input read as zero, so bottom/right padding is whatever oh/ow
 * imply (TensorFlow 'same' puts the extra row/column there). */
typedef struct RtConv2d {
  int n, h, w, c, in_cs;
  int oh, ow, oc, out_cs;
  int kh, kw, sh, sw, pad_top, pad_left;
  int groups; /* divides c and oc; 0 means 1 */
} RtConv2d;

/* Floats of workspace rt_conv2d wants for d (0 when its path needs none).
 * Independent of the thread count, and bounded (about 8 MiB unless one
 * output row alone needs more), so it can be planned at compile time. */
size_t rt_conv2d_workspace_floats(const RtConv2d *d);

/* The smallest workspace rt_conv2d accepts for d (one im2col row). A
 * workspace between this and rt_conv2d_workspace_floats() works, with
 * smaller tiles. */
size_t rt_conv2d_workspace_min_floats(const RtConv2d *d);

/* Paths: groups == c (a depthwise conv) -> the depthwise kernel; 1x1,
 * stride 1, unpadded -> GEMM straight on the input; otherwise im2col tiles
 * in ws and one GEMM per tile and group. ws holds ws_floats floats
 * (may be NULL when rt_conv2d_workspace_floats() is 0). */
RtStatus rt_conv2d(const RtContext *ctx, float *out, const float *in,
                   const float *kernel, const RtEpilogue *ep, const RtConv2d *d,
                   float *ws, size_t ws_floats);

/* The same convolution by Winograd's F(tile x tile, 3x3), tile 2 or 4,
 * for kh = kw = 3, stride 1, groups <= 1 (any padding, sizes and channel
 * strides): 2.25x (tile 2) or 4x (tile 4) fewer multiplications, in 16 or
 * 36 GEMMs over transformed input blocks. u is the transformed kernel that
 * rt_winograd_kernel() makes from the Keras kernel [3, 3, c, oc]
 * (rt_winograd_kernel_floats() floats) for the same tile; the result
 * equals rt_conv2d's up to float rounding (about 10x more of it at tile
 * 4). fly may be NULL, or for oc a multiple of 16 the same kernel as
 * rt_winograd_fly_kernel() lays it out (rt_winograd_fly_kernel_floats()
 * floats, either tile): then on a few blocks (small maps at batch 1, or 2
 * at tile 2, where the GEMMs would wait on reading u from memory) and
 * where rt_kernel_isa() is "avx512", the call reads fly instead, 9 floats
 * a channel pair instead of 16 or 36, and transforms it in registers. The
 * workspace is required and follows the rules of rt_conv2d's (planned
 * size independent of the thread count; any size from the minimum up
 * works). */
size_t rt_winograd_kernel_floats(int c, int oc, int tile);
RtStatus rt_winograd_kernel(float *u, const float *kernel, int c, int oc,
                            int tile);
size_t rt_winograd_fly_kernel_floats(int c, int oc);
RtStatus rt_winograd_fly_kernel(float *fly, const float *kernel, int c,
                                int oc);
size_t rt_conv2d_winograd_workspace_floats(const RtConv2d *d, int tile);
size_t rt_conv2d_winograd_workspace_min_floats(const RtConv2d *d, int tile);
RtStatus rt_conv2d_winograd(const RtContext *ctx, float *out, const float *in,
                            const float *u, const float *fly,
                            const RtEpilogue *ep, const RtConv2d *d, int tile,
                            float *ws, size_t ws_floats);

/* rt_conv2d_winograd of pre(in) (RtPreact, below; pre->pool must be 0 or
 * 1, pre may be NULL): the map applied in the input transform, each
 * pixel's channels once per block that reads it, so that a batch norm and
 * ReLU before a Winograd conv need no pass over memory of their own. */
typedef struct RtPreact RtPreact;
RtStatus rt_conv2d_winograd_preact(const RtContext *ctx, float *out,
                                   const float *in, const float *u,
                                   const float *fly, const RtPreact *pre,
                                   const RtEpilogue *ep, const RtConv2d *d,
                                   int tile, float *ws, size_t ws_floats);

/* rt_conv2d with the kernel packed once, at load, for netc's own register
 * GEMM (no OpenBLAS call, no repacking per call): same paths, workspace
 * and results up to float rounding. Any conv but a depthwise-shaped one
 * (groups == c, which rt_conv2d hands to rt_dwconv2d). The kernel
 * [kh, kw, c/groups, oc] is packed as k = kh*kw*c/groups rows of oc. */
size_t rt_conv2d_packed_kernel_floats(int k, int oc, int groups);
RtStatus rt_conv2d_pack_kernel(float *packed, const float *kernel, int k,
                               int oc, int groups);
RtStatus rt_conv2d_packed(const RtContext *ctx, float *out, const float *in,
                          const float *packed, const RtEpilogue *ep,
                          const RtConv2d *d, float *ws, size_t ws_floats);

/* out[n, oh, ow, c*multiplier] = depthwise conv of in[n, h, w, c] with
 * kernel[kh, kw, c, multiplier]; padding as in RtConv2d. */
typedef struct RtDwConv2d {
  int n, h, w, c, in_cs;
  int oh, ow, out_cs;
  int kh, kw, sh, sw, pad_top, pad_left;
  int multiplier; /* 0 means 1 */
} RtDwConv2d;

RtStatus rt_dwconv2d(const RtContext *ctx, float *out, const float *in,
                     const float *kernel, const RtEpilogue *ep,
                     const RtDwConv2d *d);

/* A per-channel map a kernel applies to its input as it reads it:
 * x -> act(x * scale[c] + shift[c]) (NULL scale: 1, NULL shift: 0). The
 * book's pre-activation, a batch norm and ReLU before a conv, folded into
 * the conv's input instead of a pass of its own. Padding is not mapped: it
 * reads as zero, as the padding of the mapped tensor would.
 *
 * pool > 1: before the map, the input is read through a pool x pool max
 * pool of stride pool without padding (Keras MaxPooling2D(pool)): `in`
 * is then the map before that pool, src_h x src_w pixels, and the
 * kernel's h and w are the pooled size, (src - pool) / pool + 1. */
typedef struct RtPreact {
  const float *scale, *shift;
  RtAct act;
  float alpha;
  int pool, src_h, src_w;
} RtPreact;

/* rt_dwconv2d of pre(in) (pre may be NULL: rt_dwconv2d). */
RtStatus rt_dwconv2d_preact(const RtContext *ctx, float *out, const float *in,
                            const float *kernel, const RtPreact *pre,
                            const RtEpilogue *ep, const RtDwConv2d *d);

/* A depthwise conv (multiplier 1, through pre, may be NULL; dw_ep without
 * a residual) and then a 1x1 stride-1 conv to oc channels (pw_packed, as
 * rt_conv2d_pack_kernel packs a [1, 1, c, oc] kernel; pw_ep), into out
 * (channel stride out_cs, 0: oc). The depthwise output never reaches
 * memory: each run of rows goes through a 64 KiB tile on the stack.
 * RT_ERR_ARG also where one output row of the depthwise conv
 * (ow * c floats) exceeds 16384 floats or its kernel 8x8. */
RtStatus rt_dwconv2d_pointwise(const RtContext *ctx, float *out,
                               const float *in, const float *dw_kernel,
                               const RtPreact *pre, const RtEpilogue *dw_ep,
                               const RtDwConv2d *d, const float *pw_packed,
                               const RtEpilogue *pw_ep, int oc, int out_cs);

/* A 1x1 convolution of stride (sh, sw) taken into rt_dwconv2d_pointwise's
 * GEMM as extra K (the strided shortcut of a residual unit that pools):
 * output pixel (b, y, x) also reads in[b, y * sh, x * sw, 0..c) (h x w
 * pixels of in_cs floats). Its kernel [c, oc] is packed below the
 * pointwise kernel's rows ([dw channels + c, oc], rt_conv2d_pack_kernel)
 * and its bias added into pw_ep's. */
typedef struct RtShortcut {
  const float *in;
  int h, w, c, in_cs, sh, sw;
} RtShortcut;

/* rt_dwconv2d_pointwise plus a shortcut conv (sc may be NULL: none); its
 * tile then holds dw channels + sc->c floats a pixel, within the same
 * 16384. */
RtStatus rt_dwconv2d_pointwise_shortcut(
    const RtContext *ctx, float *out, const float *in, const float *dw_kernel,
    const RtPreact *pre, const RtEpilogue *dw_ep, const RtDwConv2d *d,
    const RtShortcut *sc, const float *pw_packed, const RtEpilogue *pw_ep,
    int oc, int out_cs);

/* ---- Dense ---------------------------------------------------------------- */

/* out[rows, out_features] = in[rows, in_features] x kernel[in, out]. rows is
 * the batch, or batch*h*w for a dense applied to the last axis of HxWxC.
 * in_cs / out_cs are the row strides. */
typedef struct RtDense {
  int rows, in, out;
  int in_cs, out_cs;
} RtDense;

RtStatus rt_dense(const RtContext *ctx, float *out, const float *in,
                  const float *kernel, const RtEpilogue *ep, const RtDense *d);

/* ---- Pooling -------------------------------------------------------------- */

/* Windows as in RtConv2d. Padded positions never win a max and are not
 * counted by an average (Keras/TensorFlow 'same' semantics). */
typedef struct RtPool2d {
  int n, h, w, c, in_cs;
  int oh, ow, out_cs;
  int kh, kw, sh, sw, pad_top, pad_left;
} RtPool2d;

RtStatus rt_maxpool2d(const RtContext *ctx, float *out, const float *in,
                      const RtPool2d *d);
RtStatus rt_avgpool2d(const RtContext *ctx, float *out, const float *in,
                      const RtPool2d *d);

/* rt_avgpool2d of pre(in): the batch norm and activation before the pool
 * (RtPreact; pre->pool must be 0 or 1) applied to each value as it is
 * read; padded positions stay out of the average. */
RtStatus rt_avgpool2d_preact(const RtContext *ctx, float *out, const float *in,
                             const RtPreact *pre, const RtPool2d *d);

/* ---- Per-pixel and element-wise ops ------------------------------------- */

/* A tensor [n, h, w, c] read with in_cs and written with out_cs (a vector
 * [n, c] is h = w = 1). */
typedef struct RtEltwise {
  int n, h, w, c, in_cs, out_cs;
} RtEltwise;

/* Global pooling: out[n, c] (row stride out_cs) over each image's h*w. */
RtStatus rt_global_avgpool(const RtContext *ctx, float *out, const float *in,
                           const RtEltwise *d);
RtStatus rt_global_maxpool(const RtContext *ctx, float *out, const float *in,
                           const RtEltwise *d);

/* Precomputes batch-norm inference as a per-channel affine map:
 * scale = gamma / sqrt(var + eps), shift = beta - mean * scale. gamma or
 * beta may be NULL (Keras scale=False / center=False: 1 and 0). No threads,
 * so no context: the compiler may call it at build time to fold a batch
 * norm into the preceding producer (see rt_fold_affine). */
void rt_bn_fold(float *scale, float *shift, const float *gamma,
                const float *beta, const float *mean, const float *var,
                float eps, int c);

/* Folds a per-output-channel affine map y*scale + shift into a producer's
 * weights: kernel[r, k] *= scale[k] for r < rows, bias[k] = bias[k]*scale[k]
 * + shift[k]. Works for every Keras layout here because the output channel
 * is the fastest-moving index: conv rows = kh*kw*cin/groups, depthwise rows
 * = kh*kw with oc = c*multiplier, dense rows = in. bias must exist (zeros
 * for a layer without one). */
void rt_fold_affine(float *kernel, float *bias, const float *scale,
                    const float *shift, size_t rows, int oc);

/* out = epilogue(in * scale[k] + shift[k]) (a folded batch norm; either
 * pointer may be NULL). out may equal in. */
RtStatus rt_channel_affine(const RtContext *ctx, float *out, const float *in,
                           const float *scale, const float *shift,
                           const RtEpilogue *ep, const RtEltwise *d);

/* out = epilogue((in - mean) / sqrt(var + eps) * gamma + beta); gamma or beta
 * may be NULL. out may equal in. */
RtStatus rt_batchnorm(const RtContext *ctx, float *out, const float *in,
                      const float *gamma, const float *beta, const float *mean,
                      const float *var, float eps, const RtEpilogue *ep,
                      const RtEltwise *d);

/* out = epilogue(ins[0] + ... + ins[count-1]), every input read with in_cs.
 * out may equal one of the inputs. */
RtStatus rt_add(const RtContext *ctx, float *out, const float *const *ins,
                int count, const RtEpilogue *ep, const RtEltwise *d);

/* out[b, y, x, k] = epilogue(in[b, y, x, k] * s[b*s_cs + k]) (Keras
 * Multiply of HxWxC by C, as in squeeze-excitation). s_cs is the row stride
 * of s (0: c). out may equal in. */
RtStatus rt_mul_channel(const RtContext *ctx, float *out, const float *in,
                        const float *s, int s_cs, const RtEpilogue *ep,
                        const RtEltwise *d);

/* In place or not (out may equal in): out = act(in). */
RtStatus rt_activation(const RtContext *ctx, float *out, const float *in,
                       RtAct act, float alpha, const RtEltwise *d);

/* Softmax over the last axis, numerically stable (max subtracted). Rows are
 * the n*h*w pixels. out may equal in. */
RtStatus rt_softmax(const RtContext *ctx, float *out, const float *in,
                    const RtEltwise *d);

/* Keras PReLU: out = x > 0 ? x : alpha * x, alpha of shape
 * [alpha_h, alpha_w, alpha_c], each either the tensor's size or 1 (a shared
 * axis). out may equal in. */
typedef struct RtPRelu {
  int n, h, w, c, in_cs, out_cs;
  int alpha_h, alpha_w, alpha_c;
} RtPRelu;

RtStatus rt_prelu(const RtContext *ctx, float *out, const float *in,
                  const float *alpha, const RtPRelu *d);

/* Copies in[n, h, w, c] (stride in_cs) to out (stride out_cs): the concat
 * fallback when a producer cannot write into its slice, one call per input
 * with out advanced by the channel offset. */
RtStatus rt_copy(const RtContext *ctx, float *out, const float *in,
                 const RtEltwise *d);

/* Concatenates count inputs along channels: input i is [n, h, w, chans[i]]
 * (dense) and lands at channel offset chans[0] + ... + chans[i-1] of out
 * (stride out_cs, >= the sum). d->c and d->in_cs are ignored. */
RtStatus rt_concat(const RtContext *ctx, float *out, const float *const *ins,
                   const int *chans, int count, const RtEltwise *d);

/* Zero padding (Keras ZeroPadding2D): out[n, top+h+bottom, left+w+right, c]. */
typedef struct RtPad {
  int n, h, w, c, in_cs, out_cs;
  int top, bottom, left, right;
} RtPad;

RtStatus rt_zeropad(const RtContext *ctx, float *out, const float *in,
                    const RtPad *d);

#ifdef __cplusplus
}
#endif

#endif /* NETC_KERNELS_H */
