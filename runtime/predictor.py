"""Predictor: images in, float32 class probabilities out, whatever the engine, precision or image size."""

import numpy as np

from runtime.dataset import CLASSES
from runtime.engines import Engine
from runtime.errors import ModelError, one_line
from runtime.inputs import ImageInput, Range
from runtime.manifest import Artifact, FileRecord

SUM_TOLERANCE = 1e-3  # how far from 1 a row of probabilities may sum, plus 8-bit rounding:
ROUNDING = 1 / 512  # half a step of an 8-bit softmax (scale 1/256) per class, inside a graph or out


class Predictor:
    """Wraps one engine: validate, convert pixels to the model's input, run, convert the output back.

    Safe to share between threads (the engine serialises what must be serialised). uint8 pixels go
    through one 256-entry table holding the model input for each pixel value (in the model's range,
    quantized for an int8 or int16 input; the pixels themselves for an engine that takes them), so
    every quantization is the same one lookup; an 8-bit output goes back through a 256-entry table
    too, a 16-bit one by arithmetic (to_scores). A model that returns logits (found at load: its
    output on a probe image is not a probability vector) gets a softmax.

    `source` is what it runs: a manifest's verified Artifact (then `artifact` and `variant` say which),
    or a bare file's record; either way `file` holds its path and sha256, computed once. `image` says
    what images it takes (the manifest's input); a bare file's is read from its input shape, 0..1.
    """

    def __init__(
        self,
        engine: Engine,
        source: Artifact | FileRecord,
        classes: list[str] | None = None,
        image: ImageInput | None = None,
    ):
        self.engine = engine
        self.artifact = source if isinstance(source, Artifact) else None
        self.variant = self.artifact.variant if self.artifact else None
        self.file = self.artifact.file if self.artifact else source
        self.path = self.file.path
        self.name = self.variant.name if self.variant else self.path.name
        self.image = image or ImageInput.of_shape(engine.input_shape)
        check_layout(self.path, engine, self.image)
        self.pixels = pixel_table(engine, self.image)
        self.scores = score_table(engine)
        if classes is not None and len(classes) != engine.classes:
            raise ModelError(
                self.path, f"gives {engine.classes} class scores, but {len(classes)} class names were given"
            )
        self.classes = list(classes or default_classes(engine.classes))
        self.logits = False
        probes = self.probes()
        try:
            scores = self.predict(probes)
        except Exception as e:  # the engines raise their own types when a model's graph is inconsistent
            raise ModelError(self.path, f"loads but fails to run ({one_line(e)})") from None
        if scores.shape != (len(probes), engine.classes):
            raise ModelError(
                self.path, f"gives {scores.shape[-1]} scores per image, not {engine.classes} as it declares"
            )
        self.logits = not is_probability(scores)

    def probes(self) -> np.ndarray:
        """A black and a white image: what decides whether the model gives logits."""
        return np.stack([np.zeros(self.image.shape, np.uint8), np.full(self.image.shape, 255, np.uint8)])

    def predict(self, images) -> np.ndarray:
        """Probabilities (N, classes) for images (N, *image.shape) or one image.shape: uint8 0..255 or
        float 0..1 (pixels / 255, whatever the model's range); greyscale ones may be (N, H, W, 1)."""
        x = np.asarray(images)
        shape = self.image.shape
        if x.shape == shape:
            x = x[np.newaxis]
        elif x.shape[1:] == (*shape, 1) and self.image.channels == 1:
            x = x.reshape(x.shape[:-1])
        elif x.shape[1:] != shape:
            one = "x".join(map(str, shape))
            raise ValueError(
                f"expected images of shape (N, {', '.join(map(str, shape))}) or {shape} "
                f"({one} {self.image.colour}), got {x.shape}"
            )
        if x.dtype == np.uint8:
            x = self.pixels.take(x)
        elif x.dtype.kind == "f":
            if not (0 <= x.min(initial=0) and x.max(initial=0) <= 1):  # NaN fails both
                raise ValueError("float images must hold values 0..1 (uint8 pixels divided by 255)")
            x = from_floats(self.engine, x, self.image)
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


def check_layout(path, engine: Engine, image: ImageInput) -> None:
    """ModelError unless the engine takes `image`'s images: the same size, and its channels or RGB
    (a greyscale image is then given in each channel)."""
    height, width, channels = (*engine.input_shape, 1)[:3]
    if (height, width) != (image.height, image.width) or channels not in (image.channels, 3):
        raise ModelError(
            path, f"takes {height}x{width}x{channels} images, not the {image} images its manifest describes"
        )


def to_layout(engine: Engine, x: np.ndarray) -> np.ndarray:
    """Images (N, *image.shape) in the engine's layout: reshaped to its channels, or a greyscale image
    in each of an RGB model's three channels."""
    if x.shape[1:] == engine.input_shape:
        return x
    x = x.reshape(len(x), *engine.input_shape[:2], -1)
    if x.shape[-1] == 1 and engine.input_shape[2:] == (3,):
        x = x.repeat(3, axis=-1)
    return x.reshape(len(x), *engine.input_shape)


def pixel_table(engine: Engine, image: ImageInput) -> np.ndarray:
    """The engine's input for each pixel value 0..255: the pixels themselves for an engine that takes
    them, else the model's input value for each (its range), cast or quantized as the model is."""
    pixels = np.arange(256)
    return pixels.astype(np.uint8) if engine.takes_pixels else to_input(engine, image.values(pixels))


def from_floats(engine: Engine, x: np.ndarray, image: ImageInput) -> np.ndarray:
    """Float images 0..1 (pixels / 255) as the engine's input, as pixel_table makes pixels."""
    if engine.takes_pixels:
        return np.rint(x * np.float32(255)).astype(np.uint8)
    return to_input(engine, x if image.range is Range.UNIT else x * np.float32(image.range.white))


def to_input(engine: Engine, x: np.ndarray) -> np.ndarray:
    """Model input values (float, the model's range) as the engine's input: a cast, or the model's own
    quantization."""
    if engine.input_quant is None:
        return x.astype(engine.input_dtype, copy=False)
    scale, zero_point = engine.input_quant
    info = np.iinfo(engine.input_dtype)
    return np.clip(np.round(x / np.float32(scale)) + zero_point, info.min, info.max).astype(
        engine.input_dtype
    )


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
