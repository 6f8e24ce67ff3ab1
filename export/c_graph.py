"""Read an int8 TFLite Micro flatbuffer into the layers the C generator writes, with every requantization
parameter precomputed exactly as TFLite Micro computes it at Prepare (in double precision):

    tensorflow/lite/kernels/internal/quantization_util.cc  QuantizeMultiplier, PreprocessSoftmaxScaling,
                                                           CalculateInputRadius
    tensorflow/lite/kernels/kernel_util.cc                 PopulateConvolutionQuantizationParams,
                                                           CalculateActivationRangeQuantized
    tensorflow/lite/micro/kernels/softmax_common.cc        CalculateSoftmaxParams (int8 in, int8 out)

Supported: [RESHAPE] FULLY_CONNECTED... SOFTMAX, int8 activations whose fully connected inputs have zero
point -128 (pixels, ReLU outputs) and come in multiples of 4, int8 weights, int32 biases. Anything else
is refused in one line.
"""

import math
from dataclasses import dataclass

import numpy as np

from export import VariantSkipped

SUPPORTED = "RESHAPE (first), FULLY_CONNECTED (NONE or RELU), SOFTMAX (last), all int8"
SCALED_DIFF_INTEGER_BITS = 5  # softmax's exp input: Q5.26
PIXELS = np.arange(256)


@dataclass(frozen=True)
class Dense:
    weights: np.ndarray  # int8 [outputs, inputs]
    bias: np.ndarray  # int32 [outputs]
    multiplier: np.ndarray  # int32 [outputs]
    shift: np.ndarray  # int8 [outputs]
    output_zero_point: int
    activation_min: int
    activation_max: int


@dataclass(frozen=True)
class Softmax:
    input_multiplier: int
    input_left_shift: int
    diff_min: int
    classes: int
    output_scale: float
    output_zero_point: int


def quantize_multiplier(real: float) -> tuple[int, int]:
    """QuantizeMultiplier: real = multiplier * 2^(shift - 31), multiplier a Q0.31 in [2^30, 2^31)."""
    if real == 0:
        return 0, 0
    fraction, shift = math.frexp(real)
    fixed = math.floor(fraction * (1 << 31) + 0.5)  # TfLiteRound: half away from zero (fraction > 0)
    if fixed == 1 << 31:
        fixed, shift = fixed // 2, shift + 1
    if shift < -31:
        fixed, shift = 0, 0
    return fixed, shift


def read(data: bytes) -> tuple[list[Dense], Softmax]:
    """The model's dense layers and final softmax, or VariantSkipped naming what is not supported."""
    from tflite_micro import runtime

    schema = runtime.schema_fb
    model = runtime.convert_bytearray_to_object(bytearray(data))
    if len(model.subgraphs) != 1:
        raise VariantSkipped(f"{len(model.subgraphs)} subgraphs; the C generator supports one: {SUPPORTED}")
    graph = model.subgraphs[0]
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    ops = [
        names.get(runtime.get_builtin_code_from_operator_code(model.operatorCodes[op.opcodeIndex]), "?")
        for op in graph.operators
    ]
    if ops[:1] == ["RESHAPE"]:
        ops, operators = ops[1:], graph.operators[1:]
    else:
        operators = graph.operators
    shape_ok = ops and ops[-1] == "SOFTMAX" and set(ops[:-1]) == {"FULLY_CONNECTED"}
    if not shape_ok:
        unexpected = next((o for o in ops if o not in ("FULLY_CONNECTED", "SOFTMAX")), "the order of ops")
        raise VariantSkipped(
            f"op {unexpected} ({' > '.join(ops)}) cannot be generated; supported: {SUPPORTED}"
        )

    def tensor(index):
        t = graph.tensors[index]
        if t.quantization is None or t.quantization.scale is None:
            raise VariantSkipped(f"tensor {t.name.decode()} is not quantized; supported: {SUPPORTED}")
        return t, np.asarray(t.quantization.scale, np.float32), np.asarray(t.quantization.zeroPoint)

    def constant(index, dtype):
        t = graph.tensors[index]
        return np.frombuffer(model.buffers[t.buffer].data.tobytes(), dtype).reshape(t.shape)

    check_input(tensor(graph.inputs[0]))
    layers = []
    for op in operators[:-1]:
        (source, input_scale, input_zp), (_, filter_scale, _) = tensor(op.inputs[0]), tensor(op.inputs[1])
        _, output_scale, output_zp = tensor(op.outputs[0])
        if len(op.inputs) < 3 or op.inputs[2] < 0:
            raise VariantSkipped(f"FULLY_CONNECTED without a bias; supported: {SUPPORTED}")
        if int(input_zp[0]) != -128 or source.type != schema.TensorType.INT8:
            raise VariantSkipped(
                f"FULLY_CONNECTED input zero point {int(input_zp[0])}; supported: -128 "
                "(non-negative activations: pixels, ReLU outputs)"
            )
        activation = op.builtinOptions.fusedActivationFunction
        if activation not in (schema.ActivationFunctionType.NONE, schema.ActivationFunctionType.RELU):
            raise VariantSkipped(f"FULLY_CONNECTED activation {activation}; supported: {SUPPORTED}")
        weights = constant(op.inputs[1], np.int8)
        if weights.shape[1] % 4:
            raise VariantSkipped(
                f"FULLY_CONNECTED with {weights.shape[1]} inputs; supported: a multiple of 4"
            )
        scales = np.broadcast_to(filter_scale, len(weights))
        pairs = [
            quantize_multiplier(float(input_scale[0]) * float(s) / float(output_scale[0])) for s in scales
        ]
        zp = int(output_zp[0])
        multipliers, shifts = zip(*pairs, strict=True)
        layers.append(
            Dense(
                weights,
                constant(op.inputs[2], np.int32),
                np.array(multipliers, np.int32),
                np.array(shifts, np.int8),
                zp,
                zp if activation == schema.ActivationFunctionType.RELU else -128,
                127,
            )
        )
    return layers, softmax(operators[-1], tensor, len(layers[-1].bias))


def check_input(described) -> None:
    """The model's int8 input must be pixels / 255 quantized so that q + 128 is the pixel itself."""
    _, scale, zp = described
    q = np.clip(np.round(PIXELS.astype(np.float32) / 255 / scale[0]) + zp[0], -128, 127)
    if not np.array_equal(q + 128, PIXELS):
        raise VariantSkipped(
            f"input quantization (scale {scale[0]:.6g}, zero point {zp[0]}) is not "
            "pixels - 128; supported: scale 1/255, zero point -128"
        )


def softmax(op, tensor, classes: int) -> Softmax:
    """PreprocessSoftmaxScaling and CalculateInputRadius for beta and the input scale (double rounding)."""
    _, input_scale, _ = tensor(op.inputs[0])
    _, output_scale, output_zp = tensor(op.outputs[0])
    if (float(output_scale[0]), int(output_zp[0])) != (1 / 256, -128):
        raise VariantSkipped(
            f"SOFTMAX output scale {output_scale[0]:.6g}, zero point {output_zp[0]}; "
            "supported: 1/256, -128 (as TFLite Micro requires)"
        )
    real = min(
        op.builtinOptions.beta * float(input_scale[0]) * (1 << (31 - SCALED_DIFF_INTEGER_BITS)),
        (1 << 31) - 1.0,
    )
    multiplier, left_shift = quantize_multiplier(real)
    radius = math.floor(
        ((1 << SCALED_DIFF_INTEGER_BITS) - 1) * (1 << (31 - SCALED_DIFF_INTEGER_BITS)) / (1 << left_shift)
    )
    return Softmax(multiplier, left_shift, -radius, classes, float(output_scale[0]), int(output_zp[0]))
