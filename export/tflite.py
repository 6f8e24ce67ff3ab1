"""Export to a TFLite flatbuffer: float32, or full-integer int8 (int8 input, output and ops).

How int8 is made (how many calibration images) is a QuantRecipe; the weights are per-channel (the
converter's public options have no per-tensor switch).
"""

import tempfile
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from export.common import CALIBRATION_BATCH, calibration_batches, serving_function
from export.recipes import BASELINES, QuantRecipe


def export_tflite(
    model: keras.Model,
    filepath: Path,
    calibration: np.ndarray | None = None,
    recipe: QuantRecipe | None = None,
) -> None:
    """Write `model` to `filepath`; with `calibration` (float32 0..1 images) quantize it to int8 by
    `recipe` (default: the baseline's)."""
    if Path(filepath).suffix != ".tflite":
        raise ValueError(f"export_tflite requires the filepath to end with '.tflite'. Got: {filepath}")
    Path(filepath).write_bytes(tflite_bytes(model, calibration, recipe))


def tflite_bytes(
    model: keras.Model,
    calibration: np.ndarray | None,
    recipe: QuantRecipe | None = None,
    batch: int | None = None,
) -> bytes:
    """The flatbuffer of `model` (int8 with `calibration`, by `recipe`), for any batch size or a
    fixed `batch`."""
    with tempfile.TemporaryDirectory() as saved:
        write_saved_model(model, Path(saved), batch)
        converter = tf.lite.TFLiteConverter.from_saved_model(saved)
        if calibration is not None:
            int8_converter(converter, calibration, recipe or BASELINES["tflite"], batch or CALIBRATION_BATCH)
        return converter.convert()


def write_saved_model(model: keras.Model, folder: Path, batch: int | None = None) -> None:
    """Through a SavedModel (Keras' public ExportArchive), whose variables the converter freezes."""
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", serving_function(model, batch))
    archive.write_out(str(folder), verbose=False)


def int8_converter(
    converter: tf.lite.TFLiteConverter,
    calibration: np.ndarray,
    recipe: QuantRecipe,
    batch: int = CALIBRATION_BATCH,
) -> tf.lite.TFLiteConverter:
    """Set `converter` up for full-integer int8 as `recipe` says (public options only), calibrating
    in batches of `batch` images."""
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([x] for x in calibration_batches(calibration, batch))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    return converter


def convert_int8(saved: Path, filepath: Path, calibration: np.ndarray, recipe: QuantRecipe) -> None:
    """Convert the SavedModel at `saved` to an int8 `filepath` (the sweep converts one SavedModel
    many times)."""
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved))
    Path(filepath).write_bytes(int8_converter(converter, calibration, recipe).convert())
