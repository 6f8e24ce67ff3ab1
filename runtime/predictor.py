"""Predictor: 28x28 images in, float32 class probabilities out, whatever the engine or precision."""

import numpy as np

from runtime.dataset import CLASSES, scaled
from runtime.engines import IMAGE, Engine
from runtime.errors import ModelError, one_line
from runtime.manifest import Artifact, FileRecord

SUM_TOLERANCE = 1e-3  # how far from 1 a row of probabilities may sum, plus 8-bit rounding:
ROUNDING = 1 / 512  # half a step of an 8-bit softmax (scale 1/256) per class, inside a graph or out
PROBES = np.array([np.zeros(IMAGE), np.full(IMAGE, 255)], np.uint8)  # what decides logits or not


class Predictor:
    """Wraps one engine: validate, convert pixels to the model's input, run, convert the output back.

    Safe to share between threads (the engine serialises what must be serialised). uint8 pixels go
    through one 256-entry table holding the model input for each pixel value (pixels / 255, quantized
    for an int8 or int16 input), so every quantization is the same one lookup; an 8-bit output goes
    back through a 256-entry table too, a 16-bit one by arithmetic (to_scores). A model that returns logits
    (found at load: its output on a probe image is not a probability vector) gets a softmax.

    `source` is what it runs: a manifest's verified Artifact (then `artifact` and `variant` say which),
    or a bare file's record; either way `file` holds its path and sha256, computed once.
    """

    def __init__(self, engine: Engine, source: Artifact | FileRecord, classes: list[str] | None = None):
        self.engine = engine
        self.artifact = source if isinstance(source, Artifact) else None
        self.variant = self.artifact.variant if self.artifact else None
        self.file = self.artifact.file if self.artifact else source
        self.path = self.file.path
        self.name = self.variant.name if self.variant else self.path.name
        self.pixels = to_input(engine, scaled(np.arange(256)))
        self.scores = score_table(engine)
        if classes is not None and len(classes) != engine.classes:
            raise ModelError(
                self.path, f"gives {engine.classes} class scores, but {len(classes)} class names were given"
            )
        self.classes = list(classes or default_classes(engine.classes))
        self.logits = False
        try:
            scores = self.predict(PROBES)
        except Exception as e:  # the engines raise their own types when a model's graph is inconsistent
            raise ModelError(self.path, f"loads but fails to run ({one_line(e)})") from None
        if scores.shape != (len(PROBES), engine.classes):
            raise ModelError(
                self.path, f"gives {scores.shape[-1]} scores per image, not {engine.classes} as it declares"
            )
        self.logits = not is_probability(scores)

    def predict(self, images) -> np.ndarray:
        """Probabilities (N, classes) for images (N, 28, 28) or one (28, 28): uint8 0..255 or float 0..1."""
        x = np.asarray(images)
        if x.shape == IMAGE:
            x = x[np.newaxis]
        elif x.ndim != 3 or x.shape[1:] != IMAGE:
            raise ValueError(f"expected images of shape (N, 28, 28) or (28, 28), got {x.shape}")
        if x.dtype == np.uint8:
            x = self.pixels.take(x)
        elif x.dtype.kind == "f":
            if not (0 <= x.min(initial=0) and x.max(initial=0) <= 1):  # NaN fails both
                raise ValueError("float images must hold values 0..1 (uint8 pixels divided by 255)")
            x = to_input(self.engine, x)
        else:
            raise ValueError(f"expected uint8 (0..255) or float (0..1) images, got {x.dtype}")
        if not len(x):
            return np.zeros((0, self.engine.classes), np.float32)
        y = self.engine.run(to_layout(self.engine, x))
        y = self.scores.take(y) if self.scores is not None else to_scores(self.engine, y)
        return softmax(y) if self.logits else y

    def classify(self, images) -> np.ndarray:
        """The top-1 class id of each image."""
        return self.predict(images).argmax(axis=1)

    def __repr__(self) -> str:
        return f"Predictor({self.name})"


def to_input(engine: Engine, x: np.ndarray) -> np.ndarray:
    """Float 0..1 values as the engine's input: a cast, or the model's own quantization."""
    if engine.input_quant is None:
        return x.astype(engine.input_dtype, copy=False)
    scale, zero_point = engine.input_quant
    info = np.iinfo(engine.input_dtype)
    return np.clip(np.round(x / np.float32(scale)) + zero_point, info.min, info.max).astype(
        engine.input_dtype
    )


def to_layout(engine: Engine, x: np.ndarray) -> np.ndarray:
    """(N, 28, 28) images in the engine's layout: as they are, channels last (N, 28, 28, 1), or RGB
    (N, 28, 28, 3) as MediaPipe requires, the grey image in each channel."""
    if engine.input_shape == IMAGE:
        return x
    x = x.reshape(len(x), *IMAGE, 1)
    return x.repeat(3, axis=-1) if engine.input_shape[-1] == 3 else x


def score_table(engine: Engine) -> np.ndarray | None:
    """For an int8/uint8 output, the float32 value of each of its 256 codes at index code mod 256
    (take() reaches it from int8 codes too: negative indices count from the end); else None."""
    if engine.output_quant is None or engine.output_dtype.itemsize != 1:
        return None
    scale, zero_point = engine.output_quant
    codes = np.arange(256, dtype=np.uint8).view(engine.output_dtype)
    return (codes.astype(np.float32) - zero_point) * np.float32(scale)


def to_scores(engine: Engine, y: np.ndarray) -> np.ndarray:
    """A float output as float32; a 16-bit one (int16x8) dequantized plainly, (code - zero_point) *
    scale: a table of its 65,536 codes would cost more to read than the arithmetic on ten scores."""
    if engine.output_quant is None:
        return y.astype(np.float32, copy=False)
    scale, zero_point = engine.output_quant
    return (y.astype(np.float32) - np.float32(zero_point)) * np.float32(scale)


def is_probability(rows: np.ndarray) -> bool:
    """Every row non-negative and summing to 1, within 8-bit rounding."""
    tolerance = SUM_TOLERANCE + rows.shape[1] * ROUNDING
    return bool(
        np.isfinite(rows).all() and rows.min() >= 0 and (abs(rows.sum(axis=1) - 1) <= tolerance).all()
    )


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (shifted / shifted.sum(axis=1, keepdims=True)).astype(np.float32)


def default_classes(count: int) -> list[str]:
    """Fashion-MNIST's names for ten outputs, `class 0..N-1` otherwise."""
    return list(CLASSES) if count == len(CLASSES) else [f"class {i}" for i in range(count)]
