"""Write the generated C model: fmnist_model.h (the API, the output's quantization, the scratch size) and
fmnist_model.c (the kernels its layers need, their weights as const arrays with the requantization
precomputed, then fmnist_predict).

    int fmnist_predict(const uint8_t pixels[784], int8_t scores[10]);  /* returns the top class */

(784 = 28x28 greyscale for the tutorial; FMNIST_INPUTS = height x width x channels in general.)

Dependency-free C99: <stdint.h> and <string.h> only (and the compiler's <arm_acle.h> or <arm_mve.h> on
cores that have them), no malloc, no floating point at run time. The layers' outputs live in one stack
array, the scratch: each layer reads one end of it and writes the other, so it holds the largest pair
of consecutive outputs (FMNIST_SCRATCH_BYTES). The function keeps no state: it is reentrant.
"""

from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from export.c_graph import Graph
from export.c_layout import CHUNK, blocked, folded_bias, grouped, is_sparse, mask_words
from export.c_quant import Conv, Dense, Output, Pool

KERNELS = Path(__file__).parent
PER_LINE = 24  # numbers per line of an array
ALIGN = 4  # bytes: every layer output starts word-aligned in the scratch


@dataclass(frozen=True)
class Written:
    """A layer as C: its data and struct, the kernel files it needs and the function that runs it."""

    data: str
    kernels: tuple[str, ...]  # c_dense.c, ...
    function: str  # dense_layer, ...
    outputs: int  # bytes it writes
    workspace: int = 0  # bytes of scratch it needs besides (a convolution's window, sums)


def header(graph: Graph, scratch: int) -> str:
    classes, softmax = graph.softmax.classes, graph.softmax
    return f"""/* fmnist_model.h: the fmnist-edge classifier in dependency-free C99 (by `make export`).
 * score in [0, 1] = (scores[c] - FMNIST_OUTPUT_ZERO_POINT) * FMNIST_OUTPUT_SCALE */
#ifndef FMNIST_MODEL_H
#define FMNIST_MODEL_H

#include <stdint.h>

#define FMNIST_HEIGHT {graph.image[0]}
#define FMNIST_WIDTH {graph.image[1]}
#define FMNIST_CHANNELS {graph.image[2]} /* 1: greyscale, 3: RGB (interleaved) */
#define FMNIST_INPUTS {graph.inputs}
#define FMNIST_CLASSES {classes}
#define FMNIST_OUTPUT_SCALE {softmax.output_scale!r}f
#define FMNIST_OUTPUT_ZERO_POINT ({softmax.output_zero_point})
#define FMNIST_SCRATCH_BYTES {scratch} /* on the stack during fmnist_predict, with its locals */

#ifdef __cplusplus
extern "C" {{
#endif

/* Classify one {graph.image[0]}x{graph.image[1]} image of raw 0..255 pixels (row-major, channels
 * interleaved); writes the {classes} int8 scores and returns the top class. Reentrant: no static
 * state, no allocation. */
int fmnist_predict(const uint8_t pixels[{graph.inputs}], int8_t scores[{classes}]);

#ifdef __cplusplus
}}
#endif

#endif
"""


def array(c_type: str, name: str, values: np.ndarray, aligned: bool = False) -> str:
    flat = [str(int(v)) for v in np.asarray(values).ravel()]
    lines = ",\n    ".join(", ".join(flat[i : i + PER_LINE]) for i in range(0, len(flat), PER_LINE))
    attribute = "FMNIST_ALIGNED " if aligned else ""
    return f"static const {c_type} {attribute}{name}[{len(flat)}] = {{\n    {lines}\n}};\n"


def output_arrays(name: str, output: Output, bias: str | None = None) -> tuple[str, str]:
    """The requantization arrays and the fields of a struct output; `bias`: the C of {name}_bias when it
    is not the model's own."""
    parts = [
        bias or array("int32_t", f"{name}_bias", output.bias),
        array("int32_t", f"{name}_multiplier", output.multiplier),
        array("int8_t", f"{name}_shift", output.shift),
    ]
    fields = (
        f"{{{name}_bias, {name}_multiplier, {name}_shift, {output.zero_point}, "
        f"{output.activation_min}, {output.activation_max}}}"
    )
    return "".join(parts), fields


def rows(
    name: str, weights: np.ndarray, laid_out: np.ndarray, input_zero_point: int, output: Output
) -> tuple[str, str]:
    """Weights (`laid_out` for c_dense.c's rows) with their bias, the input offset folded in (two ways:
    the Helium kernel multiplies u - 128, the others u), and the struct output fields."""
    signed, unsigned = (
        array("int32_t", f"{name}_bias", folded_bias(output.bias, weights, input_zero_point + offset))
        for offset in (0, 128)
    )
    bias = f"#if FMNIST_MVE /* its kernel multiplies u - 128 */\n{signed}#else\n{unsigned}#endif\n"
    data, fields = output_arrays(name, output, bias)
    return array("int8_t", f"{name}_weights", laid_out, aligned=True) + data, fields


def dense(name: str, layer: Dense, sparse: bool = True) -> Written:
    """A fully connected layer; its weights as a bitmask and the non-zero ones when that is smaller
    (and `sparse`)."""
    outputs, inputs = layer.weights.shape
    if sparse and is_sparse(layer.weights):
        bias = folded_bias(layer.output.bias, layer.weights, layer.input_zero_point + 128)
        data, fields = output_arrays(name, layer.output, array("int32_t", f"{name}_bias", bias))
        data = (
            array("uint32_t", f"{name}_mask", mask_words(layer.weights))
            + array("int8_t", f"{name}_values", layer.weights[layer.weights != 0])
            + data
        )
        struct = f"struct sparse_dense {name} = {{{inputs}, {outputs}, {name}_mask, {name}_values, {fields}}}"
        return Written(f"{data}static const {struct};\n", ("c_sparse.c",), "sparse_dense_layer", outputs)
    data, fields = rows(name, layer.weights, blocked(layer.weights), layer.input_zero_point, layer.output)
    struct = f"struct dense {name} = {{{inputs}, {outputs}, {name}_weights, {fields}}}"
    return Written(f"{data}static const {struct};\n", ("c_dense.c",), "dense_layer", outputs)


def geometry(layer: Conv) -> str:
    """The fields struct conv and struct depthwise begin with: shapes, filter, stride, padding."""
    numbers = [
        *layer.input_shape,
        *layer.output_shape,
        *layer.weights.shape[1:3],
        *layer.stride,
        *layer.padding,
    ]
    return ", ".join(map(str, numbers))


def depthwise(name: str, layer: Conv) -> Written:
    data, fields = output_arrays(name, layer.output)
    weights = array("int8_t", f"{name}_weights", layer.weights.transpose(1, 2, 0, 3))  # [h][w][channels]
    zero = layer.input_zero_point + 128
    struct = f"struct depthwise {name} = {{{geometry(layer)}, {zero}, {name}_weights, {fields}}}"
    outputs = int(np.prod(layer.output_shape))
    sums = 4 * layer.output_shape[2]
    return Written(
        f"{weights}{data}static const {struct};\n", ("c_depthwise.c",), "depthwise_layer", outputs, sums
    )


def conv(name: str, layer: Conv) -> Written:
    if layer.is_depthwise:
        return depthwise(name, layer)
    group_channels = layer.weights.shape[3]
    groups = layer.input_shape[2] // group_channels
    laid_out = grouped(layer.weights, groups)
    data, fields = rows(name, layer.weights, laid_out, layer.input_zero_point, layer.output)
    zero = layer.input_zero_point + 128
    struct = f"struct conv {name} = {{{geometry(layer)}, {group_channels}, {zero}, {name}_weights, {fields}}}"
    column = -(-int(np.prod(layer.weights.shape[1:])) // CHUNK) * CHUNK  # padded as the filters are
    outputs = int(np.prod(layer.output_shape))
    return Written(
        f"{data}static const {struct};\n", ("c_dense.c", "c_conv.c"), "conv_layer", outputs, column
    )


def pool(name: str, layer: Pool) -> Written:
    numbers = [
        f"POOL_{layer.kind.name}",
        *layer.input_shape,
        *layer.output_shape[:2],
        *layer.filter,
        *layer.stride,
        *layer.padding,
        layer.activation_min,
        layer.activation_max,
        layer.multiplier,
        layer.shift,
        layer.input_zero_point,
        layer.output_zero_point,
    ]
    struct = f"static const struct pool {name} = {{{', '.join(map(str, numbers))}}};\n"
    outputs = int(np.prod(layer.output_shape))
    return Written(struct, ("c_pool.c",), "pool_layer", outputs, 4 * layer.input_shape[2])


WRITERS = {Dense: dense, Conv: conv, Pool: pool}


def aligned(size: int) -> int:
    return -(-size // ALIGN) * ALIGN


def scratch_bytes(written: list[Written]) -> tuple[int, int]:
    """The scratch for the layers' outputs (each shares it with its input's: the largest consecutive
    pair) and for a convolution's window (the largest)."""
    sizes = [aligned(w.outputs) for w in written]
    outputs = max([sizes[0], *(a + b for a, b in zip(sizes, sizes[1:], strict=False))])
    return outputs, aligned(max(w.workspace for w in written))


def predict(graph: Graph, written: list[Written], outputs: int, workspace: int) -> str:
    """fmnist_predict: outputs alternate between the scratch's two ends (layer 0 at its start)."""
    lines = [
        f"int fmnist_predict(const uint8_t pixels[{graph.inputs}], int8_t scores[{graph.softmax.classes}])",
        "{",
        f"    uint32_t words[{(outputs + workspace) // 4}]; /* FMNIST_SCRATCH_BYTES, word-aligned */",
        "    uint8_t *scratch = (uint8_t *)words;",
    ]
    source = "pixels"
    for i, layer in enumerate(written):
        target = "scratch" if i % 2 == 0 else f"scratch + {outputs - aligned(layer.outputs)}"
        extra = f", scratch + {outputs}" if layer.workspace else ""
        lines.append(f"    {layer.function}(&layer{i}, {source}, {target}{extra});")
        source = target
    lines += [f"    softmax_layer(&softmax, {source}, scores);", "    return top_class(scores);", "}"]
    return "\n".join(lines) + "\n"


def source(graph: Graph, origin: str, sparse: bool = True) -> tuple[str, int]:
    """fmnist_model.c and its scratch size in bytes; `sparse`: False keeps every weight (to compare)."""
    writers = {**WRITERS, Dense: partial(dense, sparse=sparse)}
    written = [writers[type(layer)](f"layer{i}", layer) for i, layer in enumerate(graph.layers)]
    outputs, workspace = scratch_bytes(written)
    kernels = dict.fromkeys(["c_kernel.c", *(kernel for w in written for kernel in w.kernels)])
    softmax = graph.softmax
    parts = [
        f"/* fmnist_model.c: generated by `make export` from {origin}; do not edit.\n"
        f" * Its scores are byte-identical to TensorFlow Lite Micro's on that model (tested on the\n"
        f" * 10,000 test images); the kernels below cite the reference sources they follow. */\n"
        f'#include <stdint.h>\n#include <string.h>\n\n#include "fmnist_model.h"\n',
        *((KERNELS / kernel).read_text() for kernel in kernels),
        "/* ---- the model ---- */\n",
        *(w.data for w in written),
        f"static const struct softmax softmax = {{{softmax.input_multiplier}, "
        f"{softmax.input_left_shift}, {softmax.diff_min}}};\n",
        predict(graph, written, outputs, workspace),
    ]
    return "\n".join(parts), outputs + workspace
