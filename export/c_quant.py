"""The layers the C generator writes, with every requantization parameter precomputed exactly as TFLite
Micro computes it at Prepare (in double precision, or float where TFLite rounds in float):

    tensorflow/lite/kernels/internal/quantization_util.cc  QuantizeMultiplier, PreprocessSoftmaxScaling,
                                                           CalculateInputRadius
    tensorflow/lite/kernels/kernel_util.cc                 PopulateConvolutionQuantizationParams,
                                                           CalculateActivationRangeQuantized
    tensorflow/lite/kernels/internal/reference/reduce.h    QuantizedMeanOrSum (the 1/count multiplier)
    tensorflow/lite/micro/kernels/softmax_common.cc        CalculateSoftmaxParams (int8 in, int8 out)
"""

import math
from dataclasses import dataclass
from enum import Enum

import numpy as np

SCALED_DIFF_INTEGER_BITS = 5  # softmax's exp input: Q5.26
INT8_MIN, INT8_MAX = -128, 127


@dataclass(frozen=True)
class Output:
    """What turns int32 accumulators into int8 outputs, per output channel."""

    bias: np.ndarray  # int32 [channels], as in the model
    multiplier: np.ndarray  # int32 [channels], Q0.31
    shift: np.ndarray  # int8 [channels]
    zero_point: int
    activation_min: int
    activation_max: int


@dataclass(frozen=True)
class Dense:
    weights: np.ndarray  # int8 [outputs, inputs]
    input_zero_point: int
    output: Output

    @property
    def macs(self) -> int:
        return self.weights.size


@dataclass(frozen=True)
class Conv:
    """A convolution; a depthwise one is grouped, one input channel per group."""

    weights: np.ndarray  # int8 [out_channels, filter_h, filter_w, input channels per group]
    input_shape: tuple[int, int, int]  # (height, width, channels)
    output_shape: tuple[int, int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]  # before the first row and column; the rest of SAME's padding is after
    input_zero_point: int
    output: Output

    @property
    def macs(self) -> int:
        return int(np.prod(self.output_shape)) * int(np.prod(self.weights.shape[1:]))

    @property
    def is_depthwise(self) -> bool:
        """One input channel per group, and more than one group."""
        return self.weights.shape[3] == 1 and self.input_shape[2] > 1


class PoolKind(Enum):
    MAX = 0
    AVERAGE = 1
    MEAN = 2  # over the whole image: GlobalAveragePooling2D


@dataclass(frozen=True)
class Pool:
    kind: PoolKind
    input_shape: tuple[int, int, int]
    output_shape: tuple[int, int, int]
    filter: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    activation_min: int
    activation_max: int
    # MEAN only: the sum's requantization (its 1/count folded in) and the zero points
    multiplier: int = 0
    shift: int = 0
    input_zero_point: int = 0
    output_zero_point: int = 0

    @property
    def macs(self) -> int:
        return 0


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


def round_away(value: float) -> int:
    """TfLiteRound (std::round): half away from zero."""
    return int(math.copysign(math.floor(abs(value) + 0.5), value))


def quantize_float(scale: float, zero_point: int, value: float) -> int:
    """kernel_util.cc's Quantize: zero_point + round(value / scale), the division in float32."""
    return zero_point + round_away(float(np.float32(value) / np.float32(scale)))


ACTIVATIONS = {0: "NONE", 1: "RELU", 3: "RELU6"}  # schema ActivationFunctionType values supported


def activation_range(activation: int, scale: float, zero_point: int) -> tuple[int, int]:
    """CalculateActivationRangeQuantized for int8 (activation: one of ACTIVATIONS)."""
    if ACTIVATIONS[activation] == "RELU":
        return max(INT8_MIN, quantize_float(scale, zero_point, 0.0)), INT8_MAX
    if ACTIVATIONS[activation] == "RELU6":
        low = max(INT8_MIN, quantize_float(scale, zero_point, 0.0))
        return low, min(INT8_MAX, quantize_float(scale, zero_point, 6.0))
    return INT8_MIN, INT8_MAX


def output_stage(
    bias: np.ndarray,
    input_scale: float,
    filter_scales: np.ndarray,
    output_scale: float,
    output_zero_point: int,
    activation: int,
) -> Output:
    """PopulateConvolutionQuantizationParams: per channel, input * filter / output scale (double)."""
    scales = np.broadcast_to(filter_scales, len(bias))
    pairs = [quantize_multiplier(float(input_scale) * float(s) / float(output_scale)) for s in scales]
    multipliers, shifts = zip(*pairs, strict=True)
    low, high = activation_range(activation, output_scale, output_zero_point)
    return Output(
        bias.astype(np.int32),
        np.array(multipliers, np.int32),
        np.array(shifts, np.int8),
        output_zero_point,
        low,
        high,
    )


def mean_multiplier(input_scale: float, output_scale: float, count: int) -> tuple[int, int]:
    """QuantizedMeanOrSum's multiplier and shift for the mean of `count` values."""
    multiplier, shift = quantize_multiplier(float(input_scale) / float(output_scale))
    extra = min(count.bit_length() - 1, 32, 31 + shift)
    return (multiplier << extra) // count, shift - extra


def softmax_parameters(
    beta: float, input_scale: float, classes: int, output_scale: float, output_zero_point: int
) -> Softmax:
    """PreprocessSoftmaxScaling and CalculateInputRadius for beta and the input scale (double rounding)."""
    real = min(beta * float(input_scale) * (1 << (31 - SCALED_DIFF_INTEGER_BITS)), (1 << 31) - 1.0)
    multiplier, left_shift = quantize_multiplier(real)
    radius = math.floor(
        ((1 << SCALED_DIFF_INTEGER_BITS) - 1) * (1 << (31 - SCALED_DIFF_INTEGER_BITS)) / (1 << left_shift)
    )
    return Softmax(multiplier, left_shift, -radius, classes, output_scale, output_zero_point)
