/* Gradient-check helpers for the training-kernel tests: central finite
 * differences in double through the reference forwards of
 * tests/reference/ref_train.h, and the comparison of a float kernel's
 * analytic gradient against them. */
#ifndef NETC_TEST_GRADCHECK_H
#define NETC_TEST_GRADCHECK_H

#include <stddef.h>

#include "check.h"

/* Step of the central differences. The losses are O(1)-O(100) sums of
 * smooth (or, away from kinks, piecewise linear) functions of O(1) values
 * computed in double: the truncation error h^2 f'''/6 is ~1e-12 and the
 * rounding error ~1e-16 |L| / h ~ 1e-10 relative, both far below what the
 * comparison resolves. */
#define GC_STEP 1e-6

/* Tolerance on the error |got - want| / max(|want|, GC_FLOOR * max|want|
 * over the tensor). The float kernels sum at most a few hundred products
 * of O(1) values here, so their rounding is ~1e-6 of the terms' size,
 * and the FD gradients are exact to ~1e-9: 1e-3 leaves a margin of 100
 * while an indexing or formula bug (a missed tap, a wrong stride, a
 * gradient not propagated through the batch statistics) is O(0.1-1).
 * Gradients that nearly cancel (batch norm's input gradient sums to zero
 * per channel) have errors set by the size of the tensor's terms, not of
 * the entry: hence the floor relative to the tensor's largest entry. */
#define GC_TOL 1e-3
#define GC_FLOOR 0.1

/* The loss as a function of the double arrays the callback reads. */
typedef double (*GcLoss)(void *arg);

/* want[i] = dL/dx[i] by central differences for indices i < n with
 * (i % cs) < c and i / cs sampled every `every` rows (1: all; NAN
 * elsewhere: not compared). x is perturbed in place and restored. */
void gc_fd(double *want, double *x, size_t n, int cs, int c, long every, GcLoss f, void *arg);

/* Compares an analytic gradient with want (entries that are NAN are not
 * compared); floats at positions with (i % cs) >= c must still hold
 * SENTINEL bit for bit (the kernel must not touch them). Adds `base`
 * (may be NULL) to want first: the contents a gradient was accumulated
 * into. Prints "ok" with the max error or the first mismatches; returns 0
 * or 1. The op's worst error is kept for gc_summary. */
int gc_compare(const char *op, const char *what, const float *got, const double *want, const float *base, size_t n,
               int cs, int c);

/* Prints the worst error seen per op (the first word of `op`). */
void gc_summary(void);

/* malloc'd double copy of n floats. */
double *gc_to_double(const float *x, size_t n);
/* malloc'd n doubles, zeroed. */
double *gc_dbuf(size_t n);
/* sum of r[i] * out[i] over i < n with (i % cs) < c. */
double gc_dot(const double *out, const float *r, size_t n, int cs, int c);
/* malloc'd n floats: random in [lo, hi) at (i % cs) < c, SENTINEL elsewhere. */
float *gc_rand_strided(Rng *rng, size_t n, int cs, int c, float lo, float hi);
/* malloc'd copy of n floats. */
float *gc_copy(const float *x, size_t n);

#endif
