/* pipeline.c: the order of the inference passes. Dropout goes first (it
 * hides conv -> bn pairs), batch norm folds before residuals and
 * activations are fused (both would block folding), the convolution
 * algorithm is chosen (a property of each layer's shape), a batch norm left
 * before a depthwise or Winograd conv moves into that conv's input, then a
 * max pool before a depthwise conv (the conv pools as it reads), a
 * depthwise conv read only by a 1x1 conv joins it (with all it has taken),
 * the strided 1x1 shortcut added to such a conv becomes more rows of its
 * GEMM, and last dead layers go. */
#include "netc.h"

PassOptions pass_options_all(void) { return (PassOptions){true, true, true, true, true, true, true, true, true}; }

void passes_run_inference(Graph *g, const PassOptions *o) {
  if (o->remove_dropout)
    pass_remove_dropout(g);
  if (o->fold_bn)
    pass_fold_bn(g);
  if (o->fuse_residual)
    pass_fuse_residual(g);
  if (o->fuse_activation)
    pass_fuse_activation(g);
  if (o->winograd)
    pass_select_winograd(g);
  if (o->fuse_preactivation)
    pass_fuse_preactivation(g);
  if (o->fuse_pool_dwconv)
    pass_fuse_pool_dwconv(g);
  if (o->fuse_dw_pointwise)
    pass_fuse_dw_pointwise(g);
  if (o->fuse_dw_pointwise && o->fuse_shortcut)
    pass_fuse_shortcut_conv(g);
  pass_dead_nodes(g);
}
