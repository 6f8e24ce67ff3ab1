"""The Keras model to export and where it came from, checked before anything is written.

Two sources: the tutorial's ARTIFACTS/model.keras, whose sha256 must be the one train.json records
(`make train`), and a model of your own (`python -m export --model my.keras`): any image classifier
with one input of (H, W), (H, W, 1) or (H, W, 3) images, 8 to 512 pixels a side, and one row of
class scores out. Its input range is read from the model (a Rescaling layer first: it takes 0..255
pixels), else given (--input-range), else 0..1. Either is loaded with safe_mode=True, so a file
carrying Python code (a Lambda layer) is refused, never run.
"""

import json
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from runtime.engines import check_io
from runtime.errors import ModelError
from runtime.files import read_labels, sha256_file
from runtime.inputs import ImageInput, Range

KERAS_SUFFIXES = (".keras", ".h5")  # what keras.saving.load_model reads
TRAIN_FIGURES = ("epochs", "batch_size", "seed", "seconds", "accuracy")  # train.json -> manifest


@dataclass(frozen=True)
class ModelSource:
    path: Path  # the .keras file
    sha256: str
    origin: dict  # what the manifest says of it: {"train": {...}} or {"source": {...}}
    classes: list[str] | None = None  # from the labels file; None: named after their count
    labels: Path | None = None  # that file


@dataclass(frozen=True)
class CheckedModel:
    model: object  # a keras.Model (Keras is imported only once the cheap checks have passed)
    image_shape: tuple[int, ...]  # one image as the model takes it: (H, W), (H, W, 1) or (H, W, 3)
    image: ImageInput  # its images: size, colour, range (the preprocessing follows from the data)
    range_from: str  # where the range was read: the Rescaling layer, --input-range, or the default
    count: int  # class scores it gives

    def as_input(self, images: np.ndarray) -> np.ndarray:
        """uint8 images (N, *image.shape) as the model takes them: float32 of its shape and range."""
        return self.image.values(images).reshape(len(images), *self.image_shape)


@dataclass(frozen=True)
class ModelCard:
    """What an exported file may say of the model it holds (MediaPipe's metadata does)."""

    name: str  # the Keras model's own name
    version: str  # the first 12 hex digits of the Keras file's sha256: which model it is
    classes: list[str]
    image: ImageInput  # the images it takes, prepared as its data was


def tutorial(folder: Path) -> ModelSource:
    """FOLDER/model.keras, after checking that it is the very file train.json describes."""
    figures_path, model_path = folder / "train.json", folder / "model.keras"
    try:
        figures = json.loads(figures_path.read_text())
    except FileNotFoundError:
        raise ModelError(
            figures_path, "missing; run `make train` first, or export a model of your own with --model"
        ) from None
    except (OSError, ValueError) as e:
        raise ModelError(figures_path, f"unreadable ({e})") from None
    digest = sha256_file(model_path) if model_path.is_file() else None
    if digest is None or digest != figures.get("model_sha256"):
        raise ModelError(model_path, "missing or does not match train.json; run `make train` again")
    return ModelSource(model_path, digest, {"train": {k: figures[k] for k in TRAIN_FIGURES}})


def own(path: Path) -> ModelSource:
    """A Keras file of the user's own."""
    if not path.exists():
        raise ModelError(path, "no such file")
    if not path.is_file() or path.suffix not in KERAS_SUFFIXES:
        raise ModelError(path, "not a Keras model file (expected my.keras, as model.save('my.keras') writes)")
    try:
        digest = sha256_file(path)
        if path.suffix == ".keras" and not zipfile.is_zipfile(path):  # Keras would say "File not found"
            raise ModelError(path, "not a Keras model file: a .keras file is a zip archive, this is not")
    except OSError as e:
        raise ModelError(path, f"cannot read it ({e.strerror})") from None
    origin = {"source": {"kind": "user", "model": str(path.resolve()), "sha256": digest}}
    return ModelSource(path, digest, origin)


def named(source: ModelSource, labels: Path) -> ModelSource:
    """`source` with its class names read from `labels`, one per line in output order."""
    return replace(source, classes=read_labels(labels), labels=labels)


def load_checked(source: ModelSource, input_range: Range | None = None) -> CheckedModel:
    """The model, loaded safely, with the images it takes; a ModelError naming the model when it is
    no image classifier, its class names do not fit, or `input_range` contradicts its Rescaling layer."""
    model = load_keras(source.path)
    image_shape, count = check_io(
        source.path, model.inputs, model.outputs, tuple(model.inputs[0].shape), tuple(model.outputs[0].shape)
    )
    if source.classes is not None and len(source.classes) != count:
        raise ModelError(
            source.path,
            f"gives {count} class scores, but {source.labels} names {len(source.classes)} classes",
        )
    rescaling = first_rescaling(model)
    if rescaling and input_range is Range.UNIT:
        raise ModelError(
            source.path,
            f"starts with a Rescaling layer ({rescaling}), so it takes 0..255 pixels, "
            f"not the {input_range} that --input-range says",
        )
    image_range = Range.BYTE if rescaling else input_range or Range.UNIT
    range_from = (
        f"the model's Rescaling layer {rescaling}"
        if rescaling
        else "--input-range"
        if input_range
        else "the default (no Rescaling layer first, no --input-range)"
    )
    return CheckedModel(model, image_shape, ImageInput.of_shape(image_shape, image_range), range_from, count)


def first_rescaling(model) -> str | None:
    """The name of the Rescaling layer the model starts with (it then takes pixels 0..255), or None."""
    import keras

    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    return layers[0].name if layers and isinstance(layers[0], keras.layers.Rescaling) else None


def load_keras(path: Path):
    """The Keras model, in safe mode: a model file carrying Python code is refused, never run."""
    import keras

    try:
        return keras.saving.load_model(path, safe_mode=True)
    except Exception as e:  # safe mode's ValueError, TypeError, OSError...: all mean "cannot trust it"
        # Its first sentence: the rest offers ways out (safe_mode=False) this tool rightly does not.
        reason = (str(e).strip().splitlines() or [type(e).__name__])[0].split(". ")[0]
        raise ModelError(path, f"Keras cannot load it safely: {reason}") from None
