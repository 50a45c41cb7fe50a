/* A reference interpreter of whole networks, independent of the compiler
 * and of the runtime: it reads the graph from the JSON of
 * `netc report --json` (layers in graph order, their attributes and output
 * shapes) and evaluates the ORIGINAL graph, before any inference pass:
 * dropout is the identity, batch norm uses its four tensors, a layer's
 * `activation` is applied after its bias, softmax runs over the last axis.
 * Every op is a plain loop straight from the Keras definition, computed and
 * stored in double. Parameters are looked up by their Keras names
 * (`conv_1.kernel`, `bn.moving_mean`, ...) in Keras layouts.
 *
 * Semantics chosen where Keras leaves a choice to the caller (see interp.c):
 * padded positions never win a max and are not counted by an average (the
 * TensorFlow 'same' rule, applied to explicit padding too); an `activation
 * = leaky_relu` attribute uses Keras' activation default alpha 0.2, `elu`
 * alpha 1.0, `thresholded_relu` theta 1.0. */
#ifndef NETC_INTERP_H
#define NETC_INTERP_H

#include <stddef.h>
#include <stdint.h>

typedef struct RefNet RefNet;

/* Returns the floats of Keras tensor `name` and fills *rank and shape[0 ..
 * rank) with its Keras shape, or returns NULL when there is no such tensor.
 * The interpreter checks the shape against what the layer needs. */
typedef const float *(*RefParamFn)(void *user, const char *name, int *rank, int shape[4]);

/* Parses the report JSON (NUL-terminated text). Returns a net the caller
 * frees with ref_net_free, or NULL with a message in err. */
RefNet *ref_net_load(const char *json, char *err, size_t err_size);
/* The same from a report file (`netc report --json`); err says when the
 * file cannot be read (the caller names the file). */
RefNet *ref_net_load_file(const char *path, char *err, size_t err_size);
void ref_net_free(RefNet *net);

const char *ref_net_name(const RefNet *net);
int ref_net_num_inputs(const RefNet *net);
int ref_net_num_outputs(const RefNet *net);
size_t ref_net_input_size(const RefNet *net, int i);  /* floats per image */
size_t ref_net_output_size(const RefNet *net, int i); /* floats per image */

/* The real fan-in of the layer a kernel-like tensor belongs to (inputs
 * summed into one output value: kh*kw*cin/groups for a conv, kh*kw for a
 * depthwise kernel, the input width for a dense), or 0 when `name` is not
 * a kernel of this net. For test harnesses that scale random weights so
 * that activations stay of order 1. */
int ref_net_fan_in(const RefNet *net, const char *name);

/* Runs `batch` images: inputs[i] holds [batch, input_size(i)] floats,
 * outputs[i] receives [batch, output_size(i)] values in double. Returns 0, or -1 with a
 * message in err (a missing tensor, a tensor of the wrong shape, an output
 * shape that disagrees with the report's, an unknown layer type). */
int ref_net_run(const RefNet *net, RefParamFn params, void *user,
                const float *const *inputs, double *const *outputs, int batch,
                char *err, size_t err_size);

/* The same in training mode, as netc's training step computes it: batch
 * norm with the batch's statistics (and its fused activation), dropout
 * with netc's masks for the step's `seed`. For whole-network gradient
 * checks in double precision. */
int ref_net_run_train(const RefNet *net, RefParamFn params, void *user, const float *const *inputs,
                      double *const *outputs, int batch, uint64_t seed, char *err, size_t err_size);

#endif /* NETC_INTERP_H */
