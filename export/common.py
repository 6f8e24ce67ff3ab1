"""What every exporter shares: one traced serving function with a dynamic batch dimension."""

import logging
import warnings

# Converters log advice meant for their own developers; the export prints its own progress.
logging.getLogger().setLevel(logging.ERROR)
warnings.filterwarnings("ignore", category=UserWarning, module="tensorflow")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

INPUT_NAME = "image"


def serving_function(model: keras.Model, batch: int | None = None) -> tf.types.experimental.ConcreteFunction:
    """model(x) traced for float32 images of the model's own shape ([batch, 28, 28] or
    [batch, 28, 28, 1]), any batch size unless `batch`.

    Converters are given this rather than the Keras model: tf2onnx's Keras path fails on Keras 3.
    A fixed batch (a microcontroller's 1) spares the graph the ops that handle a dynamic one.
    """
    spec = tf.TensorSpec([batch, *model.inputs[0].shape[1:]], tf.float32, name=INPUT_NAME)
    return tf.function(lambda image: model(image, training=False), input_signature=[spec])


CALIBRATION_BATCH = 100


def calibration_batches(calibration: np.ndarray, size: int = CALIBRATION_BATCH):
    """float32 batches of up to `size` images: both quantizers take any batch of a dynamic-batch model,
    and the ranges are those of single images, while 5,000 images one at a time would take seconds;
    a fixed-batch model (batch 1 for a microcontroller) takes its own size."""
    calibration = calibration.astype(np.float32)
    for start in range(0, len(calibration), size):
        yield calibration[start : start + size]
