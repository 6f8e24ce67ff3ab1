"""Read an int8 TFLite Micro flatbuffer into the layers the C generator writes (export/c_quant.py).

Supported: the SUPPORTED ops, in one chain from the image to a final SOFTMAX, int8 activations and
weights, int32 biases; RESHAPE (Flatten) moves no data. Anything else is refused in one line naming the
layer and its op.
"""

import re
from dataclasses import dataclass

import numpy as np

from export import VariantSkipped
from export.c_quant import (
    ACTIVATIONS,
    INT8_MAX,
    INT8_MIN,
    Conv,
    Dense,
    Pool,
    PoolKind,
    Softmax,
    activation_range,
    mean_multiplier,
    output_stage,
    softmax_parameters,
)

SUPPORTED = (
    "CONV_2D, DEPTHWISE_CONV_2D, MAX_POOL_2D, AVERAGE_POOL_2D, MEAN (over height and width), RESHAPE, "
    "FULLY_CONNECTED (activation NONE, RELU or RELU6), then SOFTMAX; all int8"
)
PIXELS = np.arange(256)
PADDING_SAME = 0  # schema Padding: SAME 0, VALID 1


@dataclass(frozen=True)
class Graph:
    layers: list  # Dense, Conv and Pool, in order
    softmax: Softmax
    image: tuple[int, int, int]  # height, width and channels of the input image

    @property
    def inputs(self) -> int:
        """Pixel values per image."""
        return int(np.prod(self.image))


def enum_names(enum) -> dict[int, str]:
    """A flatbuffer schema enum's names by value."""
    return {v: k for k, v in vars(enum).items() if not k.startswith("_")}


class Flatbuffer:
    """A TFLite flatbuffer's one subgraph: its ops by name, its tensors' shapes, quantization, data;
    `layers`: the Keras model's layer names in order, to name the layer an op came from."""

    def __init__(self, data: bytes, layers: list[str] = ()):
        from tflite_micro import runtime

        self.schema = runtime.schema_fb
        self.model = runtime.convert_bytearray_to_object(bytearray(data))
        if len(self.model.subgraphs) != 1:
            raise VariantSkipped(f"{len(self.model.subgraphs)} subgraphs; the C generator supports one")
        self.graph = self.model.subgraphs[0]
        names, codes = enum_names(self.schema.BuiltinOperator), self.model.operatorCodes
        self.ops = [
            (names.get(runtime.get_builtin_code_from_operator_code(codes[op.opcodeIndex]), "?"), op)
            for op in self.graph.operators
        ]
        self.activations = enum_names(self.schema.ActivationFunctionType)
        self.layers = list(layers)

    def scope(self, op) -> str:
        """The name scope of an op's output, as the converter wrote it ('model_1/conv2d_1/Relu;...')."""
        path = self.graph.tensors[op.outputs[0]].name.decode().split(";")[0].split("/")
        return path[1] if len(path) > 2 else path[0]

    def layer_name(self, op) -> str:
        """The Keras layer an op came from. Tracing appends _1, _2... to the layers' names in the scopes
        ('conv2d' becomes 'conv2d_1', 'conv2d_1' 'conv2d_1_2'), so the ops, in order, are matched to
        the layers, in order; without the layers, the scope."""
        layer = 0
        for _, other in self.ops:
            scope = self.scope(other)
            found = next(
                (
                    i
                    for i in range(layer, len(self.layers))
                    if re.fullmatch(rf"{re.escape(self.layers[i])}(_\d+)?", scope)
                ),
                None,
            )
            layer = layer if found is None else found
            if other is op:
                return self.layers[found] if found is not None else scope
        return self.scope(op)

    def shape(self, index: int) -> tuple[int, ...]:
        return tuple(int(d) for d in self.graph.tensors[index].shape)

    def quantization(self, index: int) -> tuple[np.ndarray, int]:
        """(scales, zero point) of an int8 tensor; VariantSkipped for any other."""
        t = self.graph.tensors[index]
        if t.type != self.schema.TensorType.INT8 or t.quantization is None or t.quantization.scale is None:
            raise VariantSkipped(f"tensor {t.name.decode()} is not int8; supported: {SUPPORTED}")
        return np.asarray(t.quantization.scale, np.float32), int(np.asarray(t.quantization.zeroPoint)[0])

    def constant(self, index: int, dtype) -> np.ndarray:
        t = self.graph.tensors[index]
        return np.frombuffer(self.model.buffers[t.buffer].data.tobytes(), dtype).reshape(t.shape)

    def bias(self, op, channels: int) -> np.ndarray:
        has_bias = len(op.inputs) > 2 and op.inputs[2] >= 0
        return self.constant(op.inputs[2], np.int32) if has_bias else np.zeros(channels, np.int32)

    def output_stage(self, op, bias: np.ndarray):
        """The requantization of a weighted op (input scale x filter scale per channel / output scale)."""
        (input_scale, _), (filter_scales, _) = (
            self.quantization(op.inputs[0]),
            self.quantization(op.inputs[1]),
        )
        output_scale, output_zero_point = self.quantization(op.outputs[0])
        activation = op.builtinOptions.fusedActivationFunction
        return output_stage(
            bias, input_scale[0], filter_scales, output_scale[0], output_zero_point, activation
        )


def read(data: bytes, layers: list[str] = ()) -> Graph:
    """The model's layers and final softmax, or VariantSkipped naming the first layer not supported
    (`layers`: the Keras model's layer names in order)."""
    model = Flatbuffer(data, layers)
    *body, (last, last_op) = model.ops
    if last != "SOFTMAX":
        raise VariantSkipped(
            f"layer {model.layer_name(last_op)} (op {last}) is last; the C generator needs SOFTMAX there"
        )
    check_input(model.quantization(model.graph.inputs[0]))
    layers = []
    for name, op in body:
        activation = getattr(op.builtinOptions, "fusedActivationFunction", 0)
        if name not in READERS or activation not in ACTIVATIONS:
            fused = model.activations.get(activation, "?")
            what = f"op {name}" if name not in READERS else f"op {name} with activation {fused}"
            raise VariantSkipped(
                f"layer {model.layer_name(op)} ({what}) cannot be written in C; supported: {SUPPORTED}"
            )
        if READERS[name] is not None:
            layers.append(READERS[name](model, op))
    if not layers:
        raise VariantSkipped(f"no layer before SOFTMAX; supported: {SUPPORTED}")
    (input_scale, _), (output_scale, output_zero_point) = (
        model.quantization(last_op.inputs[0]),
        model.quantization(last_op.outputs[0]),
    )
    if (float(output_scale[0]), output_zero_point) != (1 / 256, -128):
        raise VariantSkipped(
            f"SOFTMAX output scale {output_scale[0]:.6g}, zero point {output_zero_point}; "
            "supported: 1/256, -128 (as TFLite Micro requires)"
        )
    classes = model.shape(last_op.outputs[0])[-1]
    softmax = softmax_parameters(
        last_op.builtinOptions.beta, input_scale[0], classes, float(output_scale[0]), output_zero_point
    )
    height, width, *channels = model.shape(model.graph.inputs[0])[1:]
    return Graph(layers, softmax, (height, width, *(channels or [1])))


def check_input(quantization) -> None:
    """The model's int8 input must be its input value of each pixel (pixels / 255 for inputs 0..1,
    the pixels for 0..255) quantized so that q + 128 is the pixel itself: the C function takes pixels."""
    scale, zero_point = quantization
    for white in (1, 255):
        values = PIXELS.astype(np.float32) * np.float32(white / 255)
        q = np.clip(np.round(values / scale[0]) + zero_point, -128, 127)
        if np.array_equal(q + 128, PIXELS):
            return
    raise VariantSkipped(
        f"input quantization (scale {scale[0]:.6g}, zero point {zero_point}) is not pixels - 128; "
        "supported: zero point -128 and scale 1/255 (inputs 0..1) or 1 (0..255), as calibration on "
        "images holding black and white gives"
    )


def image(shape: tuple[int, ...]) -> tuple[int, int, int]:
    """(height, width, channels) of a [1, h, w, c] tensor."""
    return shape[1], shape[2], shape[3]


def same_padding(model: Flatbuffer, op, in_shape, out_shape, filter_hw) -> tuple[int, int]:
    """ComputePaddingHeightWidth: half the total padding before (SAME), none for VALID."""
    if op.builtinOptions.padding != PADDING_SAME:
        return 0, 0
    stride = (op.builtinOptions.strideH, op.builtinOptions.strideW)
    return tuple(
        max((out - 1) * s + f - size, 0) // 2
        for out, s, f, size in zip(out_shape[:2], stride, filter_hw, in_shape[:2], strict=True)
    )


def dense(model: Flatbuffer, op) -> Dense:
    weights = model.constant(op.inputs[1], np.int8)
    _, input_zero_point = model.quantization(op.inputs[0])
    return Dense(weights, input_zero_point, model.output_stage(op, model.bias(op, len(weights))))


def conv(model: Flatbuffer, op, depthwise: bool = False) -> Conv:
    options = op.builtinOptions
    if (options.dilationHFactor, options.dilationWFactor) != (1, 1):
        raise VariantSkipped(
            f"layer {model.layer_name(op)}: dilated convolution cannot be written in C; supported: dilation 1"
        )
    weights = model.constant(op.inputs[1], np.int8)
    if depthwise:  # [1, h, w, channels] -> [channels, h, w, 1]: a group per input channel
        weights = np.ascontiguousarray(weights.transpose(3, 1, 2, 0))
    in_shape, out_shape = image(model.shape(op.inputs[0])), image(model.shape(op.outputs[0]))
    _, input_zero_point = model.quantization(op.inputs[0])
    return Conv(
        weights,
        in_shape,
        out_shape,
        (options.strideH, options.strideW),
        same_padding(model, op, in_shape, out_shape, weights.shape[1:3]),
        input_zero_point,
        model.output_stage(op, model.bias(op, len(weights))),
    )


def pool(model: Flatbuffer, op, kind: PoolKind) -> Pool:
    options = op.builtinOptions
    (in_scale, in_zero), (out_scale, out_zero) = (
        model.quantization(op.inputs[0]),
        model.quantization(op.outputs[0]),
    )
    if (float(in_scale[0]), in_zero) != (float(out_scale[0]), out_zero):
        raise VariantSkipped(f"layer {model.layer_name(op)}: {kind.name} pooling that requantizes")
    in_shape, out_shape = image(model.shape(op.inputs[0])), image(model.shape(op.outputs[0]))
    filter_hw = (options.filterHeight, options.filterWidth)
    low, high = activation_range(options.fusedActivationFunction, out_scale[0], out_zero)
    return Pool(
        kind,
        in_shape,
        out_shape,
        filter_hw,
        (options.strideH, options.strideW),
        same_padding(model, op, in_shape, out_shape, filter_hw),
        low,
        high,
    )


def mean(model: Flatbuffer, op) -> Pool:
    in_shape = model.shape(op.inputs[0])
    axes = sorted(int(a) for a in model.constant(op.inputs[1], np.int32).ravel())
    if len(in_shape) != 4 or axes != [1, 2]:
        raise VariantSkipped(
            f"layer {model.layer_name(op)}: MEAN over axes {axes}; supported: height and width (1, 2)"
        )
    (in_scale, in_zero), (out_scale, out_zero) = (
        model.quantization(op.inputs[0]),
        model.quantization(op.outputs[0]),
    )
    height, width, channels = image(in_shape)
    multiplier, shift = mean_multiplier(in_scale[0], out_scale[0], height * width)
    return Pool(
        PoolKind.MEAN,
        (height, width, channels),
        (1, 1, channels),
        (height, width),
        (1, 1),
        (0, 0),
        INT8_MIN,
        INT8_MAX,
        multiplier,
        shift,
        in_zero,
        out_zero,
    )


READERS = {  # op name -> reader; None: an op that moves no data
    "RESHAPE": None,
    "FULLY_CONNECTED": dense,
    "CONV_2D": conv,
    "DEPTHWISE_CONV_2D": lambda model, op: conv(model, op, depthwise=True),
    "MAX_POOL_2D": lambda model, op: pool(model, op, PoolKind.MAX),
    "AVERAGE_POOL_2D": lambda model, op: pool(model, op, PoolKind.AVERAGE),
    "MEAN": mean,
}
