"""Export to a TFLite flatbuffer: float32; float16 weights; dynamic range (int8 weights, float
activations); full-integer int8 (int8 input, output and ops) or int16x8 (int16 activations, int8
weights; int16 input and output).

How a quantized model is made (its precision; how many calibration images) is a QuantRecipe; the
weights are per-channel (the converter's public options have no per-tensor switch).
"""

import tempfile
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from export.common import CALIBRATION_BATCH, calibration_batches, serving_function
from export.recipes import BASELINES, QuantRecipe
from runtime.variants import Precision

# Per calibrated precision: the converter's op set, and the type of the model's input and output.
INTEGER = {
    Precision.INT8: (tf.lite.OpsSet.TFLITE_BUILTINS_INT8, tf.int8),
    Precision.INT16X8: (tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8, tf.int16),
}


def export_tflite(
    model: keras.Model,
    filepath: Path,
    calibration: np.ndarray | None = None,
    recipe: QuantRecipe | None = None,
) -> None:
    """Write `model` to `filepath`, quantized as `recipe` says (float32 without one); a calibrated
    precision needs `calibration` (float32 0..1 images; alone, the baseline's int8)."""
    if Path(filepath).suffix != ".tflite":
        raise ValueError(f"export_tflite requires the filepath to end with '.tflite'. Got: {filepath}")
    Path(filepath).write_bytes(tflite_bytes(model, calibration, recipe))


def tflite_bytes(
    model: keras.Model,
    calibration: np.ndarray | None,
    recipe: QuantRecipe | None = None,
    batch: int | None = None,
) -> bytes:
    """The flatbuffer of `model` (quantized by `recipe`, calibrated on `calibration`), for any batch
    size or a fixed `batch`."""
    with tempfile.TemporaryDirectory() as saved:
        write_saved_model(model, Path(saved), batch)
        converter = tf.lite.TFLiteConverter.from_saved_model(saved)
        if recipe is not None or calibration is not None:
            quantized_converter(
                converter, calibration, recipe or BASELINES["tflite"], batch or CALIBRATION_BATCH
            )
        return converter.convert()


def write_saved_model(model: keras.Model, folder: Path, batch: int | None = None) -> None:
    """Through a SavedModel (Keras' public ExportArchive), whose variables the converter freezes."""
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", serving_function(model, batch))
    archive.write_out(str(folder), verbose=False)


def quantized_converter(
    converter: tf.lite.TFLiteConverter,
    calibration: np.ndarray | None,
    recipe: QuantRecipe,
    batch: int = CALIBRATION_BATCH,
) -> tf.lite.TFLiteConverter:
    """Set `converter` up for `recipe`'s precision (public options only). Without calibration the
    converter quantizes the weights alone: to int8 (dynamic range), or to float16."""
    if recipe.precision.calibrated:
        return integer_converter(converter, calibration, recipe, batch)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if recipe.precision is Precision.FLOAT16:
        converter.target_spec.supported_types = [tf.float16]
    return converter


def integer_converter(
    converter: tf.lite.TFLiteConverter,
    calibration: np.ndarray,
    recipe: QuantRecipe,
    batch: int = CALIBRATION_BATCH,
) -> tf.lite.TFLiteConverter:
    """Set `converter` up for a full-integer model as `recipe` says (int8, or int16x8), calibrating
    in batches of `batch` images."""
    ops, io_type = INTEGER[recipe.precision]
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([x] for x in calibration_batches(calibration, batch))
    converter.target_spec.supported_ops = [ops]
    converter.inference_input_type = io_type
    converter.inference_output_type = io_type
    return converter


def convert_int8(saved: Path, filepath: Path, calibration: np.ndarray, recipe: QuantRecipe) -> None:
    """Convert the SavedModel at `saved` to an int8 `filepath` (the sweep converts one SavedModel
    many times)."""
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved))
    Path(filepath).write_bytes(integer_converter(converter, calibration, recipe).convert())
