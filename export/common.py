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
    """model(x) traced for float32 images of shape [batch, 28, 28], any batch size unless `batch`.

    Converters are given this rather than the Keras model: tf2onnx's Keras path fails on Keras 3.
    A fixed batch (a microcontroller's 1) spares the graph the ops that handle a dynamic one.
    """
    spec = tf.TensorSpec([batch, 28, 28], tf.float32, name=INPUT_NAME)
    return tf.function(lambda image: model(image, training=False), input_signature=[spec])


def calibration_batches(calibration: np.ndarray):
    """One float32 image at a time, as both quantizers expect."""
    for image in calibration.astype(np.float32):
        yield image[np.newaxis]
