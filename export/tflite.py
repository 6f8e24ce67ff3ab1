"""Export to a TFLite flatbuffer: float32, or full-integer int8 (int8 input, output and ops)."""

from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

from export.common import calibration_batches, serving_function


def export_tflite(model: keras.Model, filepath: Path, calibration: np.ndarray | None = None) -> None:
    """Write `model` to `filepath`; with `calibration` (float32 0..1 images) quantize it to int8."""
    if Path(filepath).suffix != ".tflite":
        raise ValueError(f"export_tflite requires the filepath to end with '.tflite'. Got: {filepath}")
    # Weights frozen into constants: Keras 3 variables would otherwise stay READ_VARIABLE ops.
    frozen = convert_variables_to_constants_v2(serving_function(model).get_concrete_function())
    converter = tf.lite.TFLiteConverter.from_concrete_functions([frozen])
    if calibration is not None:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([x] for x in calibration_batches(calibration))
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    Path(filepath).write_bytes(converter.convert())
