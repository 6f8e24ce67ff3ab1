"""fmnist-edge runtime: what ships to a device. numpy, Pillow and one engine; never TensorFlow.

import runtime
predictor = runtime.load("artifacts", variant="tflite-int8")
probabilities = predictor.predict(images)  # (N, 28, 28) uint8 -> (N, 10) float32
predictor.artifact                          # the manifest's verified record: file, sha256, figures
"""

from runtime.dataset import CLASSES
from runtime.errors import DataError, ImageError, ModelError, ParityError, ToolkitError
from runtime.loader import DEFAULT_THREADS, load
from runtime.predictor import Predictor
from runtime.variants import Format, Variant, load_plugins, register, variants

load_plugins()

__all__ = [
    "CLASSES",
    "DEFAULT_THREADS",
    "DataError",
    "Format",
    "ImageError",
    "ModelError",
    "ParityError",
    "Predictor",
    "ToolkitError",
    "Variant",
    "load",
    "register",
    "variants",
]
