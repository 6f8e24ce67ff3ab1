"""Export to ONNX (opset 17, dynamic batch): float32; float16 weights (export/float16.py); dynamic
range (int8 weights, activations quantized per call) or int8 with onnxruntime's quantizers.

How a quantized model is made (its precision; calibration, per-channel, QDQ or QOperator, a float
head) is a QuantRecipe.
"""

import contextlib
import io
import tempfile
from pathlib import Path

import keras
import numpy as np
import onnx
import tf2onnx
from onnxruntime import quantization

from export.common import INPUT_NAME, calibration_batches, serving_function
from export.float16 import float16_weights
from export.recipes import BASELINES, Method, QuantFormat, QuantRecipe
from runtime.variants import Precision

OPSET = 17
METHODS = {
    Method.MINMAX: quantization.CalibrationMethod.MinMax,
    Method.ENTROPY: quantization.CalibrationMethod.Entropy,
    Method.PERCENTILE: quantization.CalibrationMethod.Percentile,
}
FORMATS = {
    QuantFormat.QDQ: quantization.QuantFormat.QDQ,
    QuantFormat.QOPERATOR: quantization.QuantFormat.QOperator,
}


class CalibrationReader(quantization.CalibrationDataReader):
    def __init__(self, calibration: np.ndarray):
        self.feeds = ({INPUT_NAME: x} for x in calibration_batches(calibration))

    def get_next(self):
        return next(self.feeds, None)


def export_onnx(
    model: keras.Model,
    filepath: Path,
    calibration: np.ndarray | None = None,
    recipe: QuantRecipe | None = None,
) -> None:
    """Write `model` to `filepath`, quantized as `recipe` says (float32 without one); int8 needs
    `calibration` (float32 0..1 images; alone, the baseline's recipe: MinMax, per-tensor QDQ)."""
    if Path(filepath).suffix != ".onnx":
        raise ValueError(f"export_onnx requires the filepath to end with '.onnx'. Got: {filepath}")
    if recipe is None and calibration is None:
        onnx.save(float_proto(model), filepath)
        return
    recipe = recipe or BASELINES["onnx"]
    if recipe.precision is Precision.FLOAT16:
        onnx.save(float16_weights(float_proto(model)), filepath)
        return
    with tempfile.TemporaryDirectory() as tmp:
        if recipe.precision is Precision.DYNAMIC:
            quantize_dynamic(model, Path(tmp), filepath)
        else:
            quantize_onnx(fused_float(model, Path(tmp)), filepath, calibration, recipe)


def quantize_dynamic(model: keras.Model, folder: Path, filepath: Path) -> None:
    """int8 weights; each call's activations quantized with one scale for the whole batch, so the
    model has a fixed batch of 1: an image's answer is then its own (at batch 1,000, 14 of 10,000
    test images changed class with their batch-mates)."""
    float_path = folder / "float32.onnx"
    onnx.save(float_proto(model, batch=1), float_path)
    quantization.quantize_dynamic(float_path, filepath, weight_type=quantization.QuantType.QInt8)
    onnx.checker.check_model(onnx.load(filepath), full_check=True)


def float_proto(model: keras.Model, batch: int | None = None) -> onnx.ModelProto:
    """The float32 graph, for any batch size or a fixed `batch`."""
    function = serving_function(model, batch)
    proto, _ = tf2onnx.convert.from_function(function, input_signature=function.input_signature, opset=OPSET)
    onnx.checker.check_model(proto, full_check=True)
    return proto


def fused_float(model: keras.Model, folder: Path) -> Path:
    """The float model with MatMul+Add fused to Gemm, in `folder`: what every int8 recipe starts from.

    Fused first, so onnxruntime runs each layer as one QGemm instead of a QLinearMatMul and a
    QLinearAdd: 6 nodes instead of 8, ~10% faster at batch 1 and ~1.6x at batch 1,024 here.
    (Symbolic shape inference needs sympy; the shapes here are static.)
    """
    float_path, fused_path = folder / "float32.onnx", folder / "fused.onnx"
    onnx.save(float_proto(model), float_path)
    quantization.quant_pre_process(float_path, fused_path, skip_symbolic_shape=True)
    return fused_path


def quantize_onnx(fused: Path, filepath: Path, calibration: np.ndarray, recipe: QuantRecipe) -> None:
    """Quantize the fused float model at `fused` to `filepath` as `recipe` says."""
    with contextlib.redirect_stdout(io.StringIO()):  # the calibrators print their progress
        quantization.quantize_static(
            fused,
            filepath,
            CalibrationReader(calibration),
            quant_format=FORMATS[recipe.format],
            activation_type=quantization.QuantType.QUInt8,  # u8 activations x s8 weights: x86's fast path
            weight_type=quantization.QuantType.QInt8,
            per_channel=recipe.per_channel,
            reduce_range=recipe.reduce_range,
            calibrate_method=METHODS[recipe.method],
            nodes_to_exclude=head_nodes(onnx.load(fused)) if recipe.float_head else None,
        )
    onnx.checker.check_model(onnx.load(filepath), full_check=True)


def head_nodes(model: onnx.ModelProto) -> list[str]:
    """The node giving the graph's output and, when that is a Softmax, the node giving its input
    (the logits): kept float, the logits are not squeezed into 256 steps over their whole range."""
    producers = {output: node for node in model.graph.node for output in node.output}
    last = producers[model.graph.output[0].name]
    head = [last]
    if last.op_type == "Softmax" and last.input[0] in producers:
        head.append(producers[last.input[0]])
    return [node.name for node in head]
