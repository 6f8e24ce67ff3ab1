"""Predictor: 28x28 images in, float32 class probabilities out, whatever the engine or precision."""

from pathlib import Path

import numpy as np

from runtime.dataset import scaled
from runtime.engines import CLASS_COUNT, INPUT_SHAPE, Engine

PIXEL_MAX = np.float32(255)


class Predictor:
    """Wraps one engine: scales pixels, quantizes for int8 models, dequantizes their output.

    Safe to share between threads (the engine serialises what must be serialised). The conversions
    are chosen once, here, and each is one numpy call writing straight into the engine's input.
    """

    def __init__(self, engine: Engine, variant: str | None, path: Path):
        self.engine, self.variant, self.path = engine, variant, Path(path)
        read, fill_floats = output_reader(engine), float_filler(engine)
        floats = engine.runner(fill_floats, read)
        # input dtype -> run(images): one dictionary lookup picks the conversion
        self._runs = {np.dtype(np.uint8): engine.runner(pixel_filler(engine, fill_floats), read)}
        self._runs.update((np.dtype(t), floats) for t in (np.float16, np.float32, np.float64, np.longdouble))

    def predict(self, images) -> np.ndarray:
        """Probabilities (N, 10) for images (N, 28, 28) or one (28, 28): uint8 0..255 or float 0..1."""
        x = np.asarray(images)
        shape = x.shape
        if len(shape) != 3 or shape[1:] != INPUT_SHAPE:  # one test on the common path: a batch
            if shape != INPUT_SHAPE:
                raise ValueError(f"expected images of shape (N, 28, 28) or (28, 28), got {shape}")
            x = x[np.newaxis]
        run = self._runs.get(x.dtype)
        if run is None:
            raise ValueError(f"expected uint8 (0..255) or float (0..1) images, got {x.dtype}")
        if not len(x):
            return np.zeros((0, CLASS_COUNT), np.float32)
        if x.dtype.kind == "f" and not (0 <= x.min() and x.max() <= 1):  # NaN fails too
            raise ValueError("float images must hold values 0..1 (uint8 pixels divided by 255)")
        return run(x)

    def classify(self, images) -> np.ndarray:
        """The top-1 class id of each image."""
        return self.predict(images).argmax(axis=1)

    def __repr__(self) -> str:
        return f"Predictor({self.variant or self.path.name})"


def float_filler(engine: Engine):
    """fill(images, buffer) for float 0..1 images: a cast, or the model's own quantization."""
    if engine.input_quant is None:
        return lambda x, buffer: np.copyto(buffer, x, casting="same_kind")
    scale, zero_point = engine.input_quant
    info = np.iinfo(engine.input_dtype)

    def quantize(x, buffer):
        np.copyto(buffer, np.clip(np.round(x / np.float32(scale)) + zero_point, info.min, info.max),
                  casting="unsafe")

    return quantize


def pixel_filler(engine: Engine, fill_floats):
    """fill(images, buffer) for uint8 pixels, giving exactly fill_floats(pixels / 255) in one call.

    float input: pixels / 255 in float32 (the values used in training). int8 input quantized with
    scale 1/255 (what calibration on 0..1 images gives): each pixel moves by a constant, so a
    wrapping uint8 add writes the int8 bytes. Any other quantization: a 256-entry lookup table.
    """
    if engine.input_quant is None:
        def scale(x, buffer):
            np.copyto(buffer, x)  # two same-type calls cost less than one mixed-type divide
            np.divide(buffer, PIXEL_MAX, out=buffer)

        return scale
    table = np.empty(256, engine.input_dtype)
    fill_floats(scaled(np.arange(256)), table)
    shift = table.astype(np.int64) - np.arange(256)
    if (shift != shift[0]).any():
        return lambda x, buffer: np.take(table, x, out=buffer)
    step, last = np.uint8(shift[0] % 256), [(None, None)]

    def add(x, buffer):
        pair = last[0]  # (buffer, its bytes): engines reuse buffers; a view costs as much as the add
        if pair[0] is not buffer:
            pair = last[0] = (buffer, buffer.view(np.uint8))
        np.add(x, step, out=pair[1])

    return add


def output_reader(engine: Engine):
    """read(output) -> float32 probabilities in a new array (a copy where the engine reuses `output`).

    int8 outputs go through a 256-entry table holding exactly (q - zero_point) * scale at index
    q mod 256, which take(mode="wrap") reaches from int8 and uint8 codes alike.
    """
    if engine.output_quant is None:
        return (lambda y: y.copy()) if engine.reuses_output else (lambda y: y)
    scale, zero_point = engine.output_quant
    codes = np.arange(256, dtype=np.uint8).view(engine.output_dtype)
    table = (codes.astype(np.float32) - zero_point) * np.float32(scale)
    return lambda y: table.take(y, mode="wrap")
