/* Helpers shared by the reference files. */
#ifndef NETC_REF_INTERNAL_H
#define NETC_REF_INTERNAL_H

#include "reference.h"

/* v + bias[k] + residual at (pixel, k), then the activation. */
float ref_finish(double v, const RtEpilogue *ep, long pixel, int k,
                 int out_cs);

static inline int ref_cs(int cs, int c) { return cs ? cs : c; }

#endif
