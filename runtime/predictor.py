"""Predictor: 28x28 images in, float32 class probabilities out, whatever the engine or precision."""

from pathlib import Path

import numpy as np

from runtime.dataset import scaled
from runtime.engines import CLASS_COUNT, INPUT_SHAPE, Engine

SMALL_BATCH = 64  # images; see operand()


class Predictor:
    """Wraps one engine: scales pixels, quantizes for int8 models, dequantizes their output.

    Safe to share between threads (the engine serialises what must be serialised). The conversions
    are chosen once, here, and each is one or two numpy calls writing straight into the engine's input.
    At batch 1 the int8 model runs in under 2 us, so every 0.1 us of checking shows: a call with the
    dtype and shape of the call before it reuses that call's checks.
    """

    def __init__(self, engine: Engine, variant: str | None, path: Path):
        self.engine, self.variant, self.path = engine, variant, Path(path)
        read, fill_floats = output_reader(engine), float_filler(engine)
        floats = in_range(engine.runner(fill_floats, read))
        # input dtype -> run(images): one dictionary lookup picks the conversion
        self._runs = {np.dtype(np.uint8): engine.runner(pixel_filler(engine, fill_floats), read)}
        self._runs.update((np.dtype(t), floats) for t in (np.float16, np.float32, np.float64, np.longdouble))
        self._last = (None, None, None)  # (dtype, shape, run) of the last call that passed the checks

    def predict(self, images) -> np.ndarray:
        """Probabilities (N, 10) for images (N, 28, 28) or one (28, 28): uint8 0..255 or float 0..1."""
        x = np.asarray(images)
        dtype, shape, run = self._last
        if x.dtype is dtype and x.shape == shape:
            return run(x)
        return self._checked(x)

    def _checked(self, x: np.ndarray) -> np.ndarray:
        """predict for a call unlike the last one: every check, then remember what passed."""
        shape = x.shape
        if len(shape) != 3 or shape[1:] != INPUT_SHAPE:
            if shape != INPUT_SHAPE:
                raise ValueError(f"expected images of shape (N, 28, 28) or (28, 28), got {shape}")
            x = x[np.newaxis]
        run = self._runs.get(x.dtype)
        if run is None:
            raise ValueError(f"expected uint8 (0..255) or float (0..1) images, got {x.dtype}")
        if not len(x):
            return np.zeros((0, CLASS_COUNT), np.float32)
        if x.ndim == len(shape):  # a lone image is added its batch axis on every call
            self._last = (x.dtype, shape, run)
        return run(x)

    def classify(self, images) -> np.ndarray:
        """The top-1 class id of each image."""
        return self.predict(images).argmax(axis=1)

    def __repr__(self) -> str:
        return f"Predictor({self.variant or self.path.name})"


def in_range(run):
    """run(images) for float images, refusing values outside 0..1 (NaN too) before they reach it."""

    def checked(x):
        if not (0 <= x.min() and x.max() <= 1):
            raise ValueError("float images must hold values 0..1 (uint8 pixels divided by 255)")
        return run(x)

    return checked


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
    """fill(images, buffer) for uint8 pixels, giving exactly fill_floats(pixels / 255), cheaper.

    float input: pixels / 255 in float32 (the values used in training). int8 input quantized with
    scale 1/255 (what calibration on 0..1 images gives): each pixel moves by a constant, so a
    wrapping uint8 add writes the int8 bytes. Any other quantization: a 256-entry lookup table.
    """
    if engine.input_quant is None:
        kept = [((), None)]  # (shape, 255 as an operand for it) of the last call

        def scale(x, buffer):
            shape, pixel_max = kept[0]
            if shape != x.shape:
                pixel_max = operand(255, np.float32, x.shape)
                kept[0] = (x.shape, pixel_max)
            buffer[...] = x  # two same-type calls cost less than one mixed-type divide
            np.divide(buffer, pixel_max, buffer)

        return scale
    table = np.empty(256, engine.input_dtype)
    fill_floats(scaled(np.arange(256)), table)
    shift = table.astype(np.int64) - np.arange(256)
    if (shift != shift[0]).any():
        return lambda x, buffer: np.take(table, x, out=buffer)
    step, kept = shift[0] % 256, [(None, None, None)]

    def add(x, buffer):
        # engines reuse buffers, and a view of one costs as much as the add: keep the last one's
        last, as_bytes, steps = kept[0]
        if last is not buffer:
            as_bytes, steps = buffer.view(np.uint8), operand(step, np.uint8, buffer.shape)
            kept[0] = (buffer, as_bytes, steps)
        np.add(x, steps, as_bytes)

    return add


def operand(value, dtype, shape):
    """`value` as the constant operand of a ufunc over arrays of `shape`.

    Given a scalar, a ufunc spends longer choosing its loop (0.2-0.5 us) than computing the 784 values
    of one image, and a broadcast operand costs more; an array of the images' own shape and dtype
    does not. Above SMALL_BATCH images that time is lost in the work, and a full array would only
    add memory traffic.
    """
    return np.full(shape, value, dtype) if shape[0] <= SMALL_BATCH else np.array(value, dtype)


def output_reader(engine: Engine):
    """read(output) -> float32 probabilities in a new array (a copy where the engine reuses `output`).

    int8 outputs go through a 256-entry table holding exactly (q - zero_point) * scale at index
    q mod 256, which take() reaches from int8 codes (negative indices count from the end) and uint8
    codes alike.
    """
    if engine.output_quant is None:
        return np.ndarray.copy if engine.reuses_output else (lambda y: y)
    scale, zero_point = engine.output_quant
    codes = np.arange(256, dtype=np.uint8).view(engine.output_dtype)
    table = (codes.astype(np.float32) - zero_point) * np.float32(scale)
    return table.take  # int8 code q < 0 takes table[q], which is table[q + 256]
