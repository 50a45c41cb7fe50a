/* Test helpers for the kernel tests: a seeded random generator, buffers
 * with sentinel-filled margins, and the comparison against the reference
 * that prints the max error and the first mismatches. */
#ifndef NETC_TEST_CHECK_H
#define NETC_TEST_CHECK_H

#include <stddef.h>

#include "netc/kernels.h"

/* Tolerance of every comparison: error = |got - want| / max(|want|, 1).
 * The reference sums in double and the kernels in float, in another order
 * (GEMM blocking, vector lanes); for sums of a few thousand O(1) terms the
 * float rounding stays below ~1e-5, while any indexing or epilogue bug is
 * O(0.1). Relative error alone would be meaningless for outputs that
 * cancel to near zero, whose error is set by the size of the terms, not of
 * the result: hence the floor of 1 (all test data is O(1)). */
#define CHECK_TOL 1e-4

/* Value every buffer is filled with before a kernel runs: a kernel must
 * leave untouched any float it does not own (channels outside its slice of
 * a concat buffer), so after the run these must still hold it exactly. */
#define SENTINEL 1234.5f

typedef struct Rng {
  unsigned long long s;
} Rng;

void rng_seed(Rng *r, unsigned long long seed);
float rng_uniform(Rng *r, float lo, float hi);
/* malloc'd n floats uniform in [lo, hi); the caller frees. */
float *rand_buf(Rng *r, size_t n, float lo, float hi);
/* malloc'd n floats, all SENTINEL; the caller frees. */
float *sentinel_buf(size_t n);

/* Compares two whole buffers of n floats. Floats equal to SENTINEL in want
 * must be bit-identical in got (untouched); the others must be within
 * CHECK_TOL. Prints "ok" with the max error, or the max error and the
 * first mismatches (index, pixel, channel, got, want) for a row stride of
 * cs; returns 0 on success, 1 on failure. */
int check_close(const char *what, const float *got, const float *want,
                size_t n, int cs);

/* Expects an exact status; prints and returns 1 otherwise. */
int check_status(const char *what, RtStatus got, RtStatus want);

/* The name of an activation, for messages. */
const char *act_name(RtAct act);

/* Output size and top/left padding the way Keras/TensorFlow compute them:
 * pad < 0 means 'valid', 0 'same', > 0 explicit symmetric padding p-1
 * (PAD_EXPLICIT(p)). */
#define PAD_VALID (-1)
#define PAD_SAME 0
#define PAD_EXPLICIT(p) ((p) + 1)
void out_size(int in, int k, int s, int pad, int *out, int *pad_before);

#endif
