"""fmnist-edge runtime: what ships to a device. numpy, Pillow and one engine; never TensorFlow.

import runtime
predictor = runtime.load("artifacts", variant="tflite-int8")
probabilities = predictor.predict(images)  # (N, 28, 28) uint8 -> (N, 10) float32
"""

from runtime.dataset import CLASSES
from runtime.errors import DataError, ImageError, ModelError, ParityError, ToolkitError
from runtime.loader import DEFAULT_THREADS, load
from runtime.predictor import Predictor
from runtime.variants import DEFAULT_VARIANT, VARIANTS, load_plugins

load_plugins()

__all__ = [
    "CLASSES",
    "DEFAULT_THREADS",
    "DEFAULT_VARIANT",
    "VARIANTS",
    "DataError",
    "ImageError",
    "ModelError",
    "ParityError",
    "Predictor",
    "ToolkitError",
    "load",
]
