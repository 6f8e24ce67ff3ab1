"""Where an int8 variant loses precision: each layer's int8 output against the float model's.

`make quant-report` (export/sweep.py) writes these tables (layers.md) and their chart (layers.png)
for the chosen and the baseline recipe; export asks for the worst layer when the gate refuses an
int8 variant. ONNX through onnxruntime's `qdq_loss_debug`: every tensor of the int8 model against the
float model's, so a layer's difference includes what it inherits (SQNR: signal over quantization
noise in dB; 6 dB is one bit). TFLite through TensorFlow's QuantizationDebugger: each quantized op
against the float op given the same input, that layer's own error. The worst layer is the quantized
output farthest from float (largest difference on an image, averaged over the images).
"""

import csv
import io
import math
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import onnx
from onnxruntime.quantization import qdq_loss_debug

from export.onnx import CalibrationReader, fused_float, quantize_onnx
from export.recipes import QuantRecipe

DEBUG_IMAGES = 500  # test images the layers are compared on
FLOAT = "(float)"  # marks a layer a recipe left unquantized: its difference comes from the layers before


@dataclass(frozen=True)
class LayerError:
    layer: str  # the tensor's name in the model
    op: str  # the operator that gives it ("weight" for a weight tensor)
    max_abs_diff: float  # largest difference from float on one image, averaged over the images
    rmse: float  # root mean square difference from float
    sqnr_db: float | None = None  # ONNX: signal over quantization noise against the float model


def worst(layers: list[LayerError]) -> LayerError:
    """The quantized output with the largest difference from float (weights show through their outputs)."""
    return max(outputs(layers), key=lambda layer: layer.max_abs_diff)


def outputs(layers: list[LayerError], quantized_only: bool = True) -> list[LayerError]:
    return [layer for layer in layers if layer.op != "weight" and not (quantized_only and FLOAT in layer.op)]


def hint(layers: list[LayerError]) -> str:
    """The parity gate's pointer: the worst layer, in one phrase."""
    layer = worst(layers)
    return f"worst layer {layer.layer} ({layer.op}, max abs diff {layer.max_abs_diff:.3g}; make quant-report)"


def onnx_layers(model, recipe: QuantRecipe, calibration: np.ndarray, images: np.ndarray) -> list[LayerError]:
    """Quantize `model` by `recipe`, then compare every quantized tensor with the float model's."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        fused, quantized = fused_float(model, tmp), tmp / "int8.onnx"
        quantize_onnx(fused, quantized, calibration, recipe)
        activations = {}
        for name, path in (("float", fused), ("int8", quantized)):
            augmented = tmp / f"{name}-augmented.onnx"
            qdq_loss_debug.modify_model_output_intermediate_tensors(path, augmented)
            activations[name] = qdq_loss_debug.collect_activations(str(augmented), CalibrationReader(images))
        matched = qdq_loss_debug.create_activation_matching(activations["int8"], activations["float"])
        weights = qdq_loss_debug.create_weight_matching(str(fused), str(quantized))
        producers = {out: node.op_type for node in onnx.load(fused).graph.node for out in node.output}
    activation_sqnr = qdq_loss_debug.compute_activation_error(matched)
    weight_sqnr = qdq_loss_debug.compute_weight_error(weights)
    layers = []
    for tensor, op in producers.items():  # graph order
        if tensor in matched:
            int8, float_ = (np.concatenate(matched[tensor][k]) for k in ("post_qdq", "float"))
            sqnr = activation_sqnr[tensor]["xmodel_err"]
        elif tensor in activations["int8"] and tensor in activations["float"]:  # a layer left float
            int8, float_ = (np.concatenate(activations[k][tensor]) for k in ("int8", "float"))
            sqnr = qdq_loss_debug.compute_signal_to_quantization_noice_ratio(float_, int8)
            op = f"{op} {FLOAT}"
        else:
            continue
        layers.append(LayerError(tensor, op, per_image_max(int8, float_), rmse(int8, float_), float(sqnr)))
    for tensor, match in weights.items():
        w, deq = match["float"], match["dequantized"]
        layers.append(
            LayerError(
                tensor, "weight", float(np.abs(w - deq).max()), rmse(deq, w), float(weight_sqnr[tensor])
            )
        )
    return layers


def rmse(value: np.ndarray, reference: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(value - reference, dtype=np.float64))))


def per_image_max(value: np.ndarray, reference: np.ndarray) -> float:
    diff = np.abs(value - reference).reshape(len(value), -1)
    return float(diff.max(axis=1).mean())


def tflite_layers(
    model, recipe: QuantRecipe, calibration: np.ndarray, images: np.ndarray
) -> list[LayerError]:
    """Run TensorFlow's QuantizationDebugger on the int8 conversion `recipe` makes of `model`: its
    per-op statistics (each averaged over the images)."""
    import tensorflow as tf

    from export.tflite import integer_converter, write_saved_model

    with tempfile.TemporaryDirectory() as saved:
        write_saved_model(model, Path(saved))
        converter = integer_converter(tf.lite.TFLiteConverter.from_saved_model(saved), calibration, recipe)
        debugger = tf.lite.experimental.QuantizationDebugger(
            converter=converter, debug_dataset=lambda: ([image[np.newaxis]] for image in images)
        )
        debugger.run()
        text = io.StringIO()
        debugger.layer_statistics_dump(text)  # one CSV row per op: op_name, tensor_name, the statistics
    return [
        LayerError(
            row["tensor_name"],
            row["op_name"],
            float(row["max_abs_error"]),
            math.sqrt(float(row["mean_squared_error"])),
        )
        for row in csv.DictReader(io.StringIO(text.getvalue()))
    ]


ENGINES = {"onnx": onnx_layers, "tflite": tflite_layers}


def layer_report(model, recipe: QuantRecipe, calibration: np.ndarray, images: np.ndarray) -> list[LayerError]:
    return ENGINES[recipe.engine](model, recipe, calibration, images[:DEBUG_IMAGES])


def table(engine: str, recipe: QuantRecipe, layers: list[LayerError]) -> str:
    """A Markdown table, worst layer first."""
    lines = [
        f"### {engine}-int8 ({recipe.label()}): worst layer `{worst(layers).layer}`",
        "",
        "| layer | op | max abs diff | rmse | SQNR dB |",
        "|:--|:--|--:|--:|--:|",
    ]
    for layer in sorted(layers, key=lambda layer: -layer.max_abs_diff):
        sqnr = "-" if layer.sqnr_db is None else f"{layer.sqnr_db:.1f}"
        lines.append(
            f"| `{layer.layer}` | {layer.op} | {layer.max_abs_diff:.3g} | {layer.rmse:.3g} | {sqnr} |"
        )
    return "\n".join(lines)


def rows(layers: list[LayerError]) -> list[dict]:
    """As JSON (an exact match has an infinite SQNR: null)."""
    return [
        {k: (None if isinstance(v, float) and math.isinf(v) else v) for k, v in asdict(layer).items()}
        for layer in layers
    ]
