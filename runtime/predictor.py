"""Predictor: 28x28 images in, float32 class probabilities out, whatever the engine or precision."""

from pathlib import Path

import numpy as np

from runtime.engines import INPUT_SHAPE, Engine


class Predictor:
    """Wraps one engine: scales pixels, quantizes for int8 models, dequantizes their output.

    Safe to share between threads (the engine serialises what must be serialised).
    """

    def __init__(self, engine: Engine, variant: str | None, path: Path):
        self.engine, self.variant, self.path = engine, variant, Path(path)
        # uint8 pixels go through a 256-entry table: scaling (and quantizing) in one lookup, with
        # exactly the values of `pixels.astype(float32) / 255` used in training.
        self._from_uint8 = self._to_input(np.arange(256, dtype=np.float32) / np.float32(255))

    def _to_input(self, x: np.ndarray) -> np.ndarray:
        """float32 0..1 to the engine's input tensor."""
        if self.engine.input_quant is None:
            return x.astype(np.float32, copy=False)
        scale, zero_point = self.engine.input_quant
        info = np.iinfo(self.engine.input_dtype)
        q = np.round(x / np.float32(scale)) + zero_point
        return np.clip(q, info.min, info.max).astype(self.engine.input_dtype)

    def predict(self, images) -> np.ndarray:
        """Probabilities (N, 10) for images (N, 28, 28) or one (28, 28): uint8 0..255 or float 0..1."""
        x = np.asarray(images)
        if x.shape[-2:] != INPUT_SHAPE or x.ndim not in (2, 3):
            raise ValueError(f"expected images of shape (N, 28, 28) or (28, 28), got {x.shape}")
        if x.ndim == 2:
            x = x[np.newaxis]
        if x.dtype == np.uint8:
            x = self._from_uint8[x]
        elif x.dtype.kind == "f":
            x = self._to_input(x)
        else:
            raise ValueError(f"expected uint8 (0..255) or float (0..1) images, got {x.dtype}")
        if len(x) == 0:
            return np.zeros((0, 10), np.float32)
        y = self.engine.run(x)
        if self.engine.output_quant is not None:
            scale, zero_point = self.engine.output_quant
            y = (y.astype(np.float32) - zero_point) * np.float32(scale)
        return y

    def classify(self, images) -> np.ndarray:
        """The top-1 class id of each image."""
        return self.predict(images).argmax(axis=1)

    def __repr__(self) -> str:
        return f"Predictor({self.variant or self.path.name})"
