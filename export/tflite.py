"""Export to a TFLite flatbuffer: float32, or full-integer int8 (int8 input, output and ops)."""

import tempfile
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from export.common import calibration_batches, serving_function


def export_tflite(model: keras.Model, filepath: Path, calibration: np.ndarray | None = None) -> None:
    """Write `model` to `filepath`; with `calibration` (float32 0..1 images) quantize it to int8."""
    if Path(filepath).suffix != ".tflite":
        raise ValueError(f"export_tflite requires the filepath to end with '.tflite'. Got: {filepath}")
    Path(filepath).write_bytes(tflite_bytes(model, calibration))


def tflite_bytes(model: keras.Model, calibration: np.ndarray | None, batch: int | None = None) -> bytes:
    """The flatbuffer of `model` (int8 with `calibration`), for any batch size or a fixed `batch`."""
    with tempfile.TemporaryDirectory() as saved:
        # Through a SavedModel (Keras' public ExportArchive), whose variables the converter freezes.
        archive = keras.export.ExportArchive()
        archive.track(model)
        archive.add_endpoint("serve", serving_function(model, batch))
        archive.write_out(saved, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(saved)
        if calibration is not None:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.representative_dataset = lambda: ([x] for x in calibration_batches(calibration))
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            converter.inference_input_type = tf.int8
            converter.inference_output_type = tf.int8
        return converter.convert()
