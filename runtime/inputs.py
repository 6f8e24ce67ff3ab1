"""What images a model takes: the manifest's `input`, the one description the runtime reads.

    image = ImageInput(32, 32, 3, Range.BYTE, Preprocessing.RESIZE)
    image.shape          # (32, 32, 3): one image as Predictor.predict takes it ((H, W) for greyscale)
    image.values(pixels)  # uint8 pixels -> float32 model input in its range (0..1 or 0..255)

A model takes images of H x W pixels (8 to 512 a side), greyscale or RGB, as values 0..1 (pixels /
255) or 0..255 (a model that starts with a Rescaling layer). A file is prepared for it as its data
was: Fashion-MNIST's framing for a model exported on Fashion-MNIST (runtime/framing.py), else the
bilinear resize of Keras' image_dataset_from_directory (runtime/resizing.py).
"""

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from runtime.dataset import scaled
from runtime.errors import ModelError

MIN_EDGE, MAX_EDGE = 8, 512  # pixels a side a model's images may have
CHANNELS = {1: "greyscale", 3: "rgb"}


class Range(StrEnum):
    """The values a model takes for black to white."""

    UNIT = "0-1"  # pixels / 255
    BYTE = "0-255"  # the pixels themselves (the model rescales them: a Rescaling layer first)

    @property
    def white(self) -> float:
        return 1.0 if self is Range.UNIT else 255.0


class Preprocessing(StrEnum):
    """How an image file becomes the model's input: as its training data was made."""

    FASHION_MNIST = "fashion-mnist"  # the object found, trimmed, fitted and centred on black (framing.py)
    RESIZE = "resize"  # the whole image, bilinear, aspect ratio not kept (image_dataset_from_directory)


@dataclass(frozen=True)
class ImageInput:
    height: int
    width: int
    channels: int  # 1 (greyscale) or 3 (RGB)
    range: Range = Range.UNIT
    preprocessing: Preprocessing = Preprocessing.RESIZE

    @classmethod
    def of_shape(cls, shape: tuple[int, ...], range: Range = Range.UNIT, preprocessing=None) -> "ImageInput":
        """For a model's per-image input shape (H, W), (H, W, 1) or (H, W, 3); a 28x28 greyscale one is
        framed as Fashion-MNIST unless `preprocessing` says otherwise."""
        height, width, channels = (*shape, 1)[:3]
        fashion = (height, width, channels) == (28, 28, 1)
        preprocessing = preprocessing or (Preprocessing.FASHION_MNIST if fashion else Preprocessing.RESIZE)
        return cls(int(height), int(width), int(channels), Range(range), Preprocessing(preprocessing))

    @property
    def shape(self) -> tuple[int, ...]:
        """One image as Predictor.predict takes it: (H, W) greyscale, (H, W, 3) RGB."""
        return (self.height, self.width) if self.channels == 1 else (self.height, self.width, 3)

    @property
    def colour(self) -> str:
        return CHANNELS[self.channels]

    @property
    def framed(self) -> bool:
        """Files are framed as Fashion-MNIST (so --invert and --no-fit apply)."""
        return self.preprocessing is Preprocessing.FASHION_MNIST

    def values(self, pixels: np.ndarray) -> np.ndarray:
        """uint8 pixels as the model's float32 input values (0..1 or 0..255)."""
        return scaled(pixels) if self.range is Range.UNIT else pixels.astype(np.float32)

    def __str__(self) -> str:
        return f"{self.height}x{self.width} {self.colour}"

    def as_json(self, model_shape: tuple[int, ...], range_from: str) -> dict:
        """The manifest's `input`: the model's own input shape (batch first) and how images become it."""
        return {
            "shape": [None, *model_shape],
            "dtype": "float32",
            "range": str(self.range),
            "range_from": range_from,
            "colour": self.colour,
            "preprocessing": str(self.preprocessing),
        }

    @classmethod
    def from_json(cls, data, path) -> "ImageInput":
        """The manifest's `input`; ModelError naming the manifest when it is not one."""
        try:
            shape = tuple(data["shape"][1:])
            # a manifest from before `range` and `preprocessing` were written took pixels / 255
            image = cls.of_shape(shape, Range(data.get("range", Range.UNIT)), data.get("preprocessing"))
        except (TypeError, KeyError, ValueError) as e:
            raise ModelError(
                path,
                f"damaged manifest: 'input' must give shape, range and preprocessing ({e}); "
                "re-run `make export`",
            ) from None
        problem = shape_problem(shape)
        if problem or image.colour != data.get("colour", image.colour):
            raise ModelError(path, f"damaged manifest: 'input' {problem or 'colour does not fit its shape'}")
        return image


FASHION_MNIST = ImageInput(28, 28, 1, Range.UNIT, Preprocessing.FASHION_MNIST)


def shape_problem(shape: tuple) -> str | None:
    """Why a model's per-image input shape is not one the toolkit takes, or None."""
    dims = [int(d) if isinstance(d, int | np.integer) else None for d in shape]
    if len(dims) not in (2, 3) or (len(dims) == 3 and dims[2] not in CHANNELS):
        return "a classifier here takes images (H, W), (H, W, 1) greyscale or (H, W, 3) RGB"
    if not all(d is not None and MIN_EDGE <= d <= MAX_EDGE for d in dims[:2]):
        return f"images of {MIN_EDGE} to {MAX_EDGE} pixels a side (height and width) are supported"
    return None
