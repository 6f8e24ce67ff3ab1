"""A format added through the registry alone: the Keras model's Dense weights in an `.npz`, run by
numpy. Importing this module registers it (FMNIST_FORMATS=tests.fake_format does so in every
process); nothing else in the tree knows it exists.
"""

from pathlib import Path

import numpy as np

from runtime.engines import Engine
from runtime.variants import FLOAT, Format, Precision, Signature, Variant, register


def export_npz(model, filepath: Path, calibration, recipe) -> None:
    """The Dense layers' kernels and biases, in order (a float format: no calibration, no recipe)."""
    np.savez(filepath, **{f"w{i}": w for i, w in enumerate(model.get_weights())})


class NumpyEngine(Engine):
    """Dense layers in numpy: relu between them, softmax at the end."""

    def __init__(self, path: Path, threads: int):
        with np.load(path) as npz:
            self.layers = [(npz[f"w{i}"], npz[f"w{i + 1}"]) for i in range(0, len(npz.files), 2)]
        self.input_dtype = self.output_dtype = np.dtype(np.float32)
        self.input_shape = (28, 28)  # the tutorial's images: the weights say 784 inputs, not their layout
        self.classes = self.layers[-1][1].shape[0]

    def call(self, x: np.ndarray) -> np.ndarray:
        h = x.reshape(len(x), -1)
        for i, (kernel, bias) in enumerate(self.layers):
            h = h @ kernel + bias
            if i < len(self.layers) - 1:
                h = np.maximum(h, 0)
        e = np.exp(h - h.max(axis=1, keepdims=True))
        return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


NPZ = Format(
    "npz",
    ".npz",
    Signature(rb"PK\x03\x04", "zip header"),  # an .npz is a zip of .npy files
    engine=f"{__name__}:NumpyEngine",
    module="numpy",
    package="numpy",
    exporter=f"{__name__}:export_npz",
)
register(NPZ, Variant("npz-float32", NPZ, Precision.FLOAT32, "model_float32.npz", FLOAT))
