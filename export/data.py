"""What an export calibrates its int8 variants on and gates every variant on (`ExportData`): the
user's labelled images (`--data`, `--data-test`; export/datasets.py reads them) or Fashion-MNIST's.

    python -m export --model cnn.keras --data photos/                 # split: calibration and gate
    python -m export --model cnn.keras --data train/ --data-test test/
    python -m export --model digits.keras --data digits.npz

Without --data-test the images are split reproducibly (seed SPLIT_SEED) and per class: GATE_SHARE
of each class (at least one image) for the gate, the rest for calibration, so every class is in the
gate. The class names are the data's (sorted folder names, the .npz's `classes`), else --classes,
else "class 0", "class 1"... Every problem is one line naming the file or folder, and comes before
anything is written.

Without --data the gate runs on Fashion-MNIST (its training split calibrates, its 10,000 test images
gate), only for a 28x28 greyscale model; its labels count only if the model's classes are Fashion-
MNIST's ten, and accuracy is otherwise "n/a (no labelled data: --data)": agreement with Keras is
measured and gated instead (runtime/variants.py's Tolerance).
"""

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from export.datasets import Arrays, Folder, labelled
from export.model_source import CheckedModel, ModelSource
from export.recipes import calibration_indices
from runtime.dataset import CLASSES, data_dir, dataset_sha256, load_split
from runtime.errors import DataError, ModelError, Refusals
from runtime.inputs import FASHION_MNIST, ImageInput, Preprocessing
from runtime.predictor import default_classes

SPLIT_SEED = 0
GATE_SHARE = 0.2  # of each class's images, for the gate
NO_DATA = "give your labelled images with --data DIR (one folder per class) or --data file.npz"


@dataclass(frozen=True)
class DataSource:
    """What --data and --data-test name, their layout checked (before TensorFlow is imported)."""

    data: Folder | Arrays
    test: Folder | Arrays | None = None

    @classmethod
    def named(cls, data: Path, test: Path | None = None) -> "DataSource":
        return cls(labelled(data), labelled(test) if test else None)


@dataclass(frozen=True)
class ExportData:
    gate: np.ndarray  # uint8 (N, *image.shape): the images every variant is measured on
    labels: np.ndarray | None  # their classes; None: not the model's classes (no accuracy)
    pool: np.ndarray  # uint8 images calibration draws from, in the order it draws them
    classes: list[str]
    image: ImageInput  # the model's images, an image file prepared for it as its data was
    description: dict  # the manifest's "dataset" (export adds the gate file it writes)
    keeps_gate = True  # the gate's images travel with the models (the user's are nowhere else)

    def calibration(self, count: int) -> np.ndarray:
        """`count` uint8 calibration images (all there are, if fewer): a smaller set is the start of a
        larger one."""
        return self.pool[:count]


@dataclass(frozen=True)
class FashionMnistData(ExportData):
    keeps_gate = False  # every copy of the toolkit reads them from the dataset's own files

    def calibration(self, count: int) -> np.ndarray:
        """As the int8 recipes chose them: never the held-out images the sweep picks by (recipes.py)."""
        return self.pool[calibration_indices(len(self.pool), count)]


def export_data(source: DataSource | None, checked: CheckedModel, model: ModelSource) -> ExportData:
    """The data of this export, every refusal raised before anything is written."""
    return user_data(source, checked, model) if source else fashion_mnist(checked, model)


def fashion_mnist(checked: CheckedModel, model: ModelSource) -> FashionMnistData:
    if checked.image.shape != FASHION_MNIST.shape:
        raise ModelError(
            model.path,
            f"takes {checked.image} images; without --data the gate runs on Fashion-MNIST, which fits "
            f"28x28 greyscale models only: {NO_DATA}",
        )
    folder = data_dir()
    (train, _), (test, test_labels) = load_split("train", folder), load_split("test", folder)
    classes = model.classes or default_classes(checked.count)
    own = classes == list(CLASSES)  # else its labels are not the model's classes
    description = {
        "kind": "fashion-mnist",
        "files": dataset_sha256(folder),
        "labelled": own,
        "calibration": "the training split",
        "gate_images": len(test),
    }
    return FashionMnistData(test, test_labels if own else None, train, classes, checked.image, description)


def user_data(source: DataSource, checked: CheckedModel, model: ModelSource) -> ExportData:
    classes = class_names(source, checked.count, model)
    image = replace(checked.image, preprocessing=Preprocessing.RESIZE)
    images, labels = source.data.read(image)
    check_labels(source.data, labels, classes)
    if source.test is None:
        calibration, gate = split(labels, classes, source.data)
        pool, gate_images, gate_labels = images[calibration], images[gate], labels[gate]
    else:
        pool = images[np.random.default_rng(SPLIT_SEED).permutation(len(images))]
        gate_images, gate_labels = source.test.read(image)
        check_labels(source.test, gate_labels, classes)
        absent = [name for c, name in enumerate(classes) if not (gate_labels == c).any()]
        if absent:
            raise DataError(
                source.test.path, f"has no image of {', '.join(absent)}; the gate needs each class"
            )
    description = {
        **described(source.data),
        "test": described(source.test) if source.test else None,
        "split": None if source.test else {"seed": SPLIT_SEED, "gate_share": GATE_SHARE, "per": "class"},
        "calibration_images": len(pool),
        "gate_images": len(gate_images),
        "labelled": True,
    }
    return ExportData(gate_images, gate_labels, pool, classes, image, description)


def described(data: Folder | Arrays) -> dict:
    """What the manifest records of one source: which files, and their digest."""
    return {
        "kind": data.kind,
        "path": str(data.path.resolve()),
        "sha256": data.sha256,
        "images": len(data.labels),
    }


def class_names(source: DataSource, count: int, model: ModelSource) -> list[str]:
    """The data's class names (which --classes may repeat, never contradict), else --classes, else
    'class 0'...; DataError when there are not as many as the model's class scores."""
    names = source.data.classes
    test = source.test.classes if source.test else None
    if names and test and test != names:
        raise DataError(
            source.test.path,
            f"its classes ({', '.join(test)}) are not those of {source.data.path} ({', '.join(names)})",
        )
    names, where = (names, source.data.path) if names else (test, source.test and source.test.path)
    if names and len(names) != count:
        raise DataError(
            where,
            f"holds {len(names)} classes ({', '.join(names)}), but {model.path} gives {count} class scores",
        )
    if names and model.classes and model.classes != names:
        raise ModelError(
            model.labels,
            f"names the classes {', '.join(model.classes)}, but {where}'s are {', '.join(names)} "
            "(with --data, the data names them)",
        )
    return names or model.classes or [f"class {i}" for i in range(count)]


def check_labels(data: Folder | Arrays, labels: np.ndarray, classes: list[str]) -> None:
    if labels.max() >= len(classes):
        raise DataError(
            data.path,
            f"holds label {labels.max()}, but the model gives {len(classes)} class scores "
            f"(labels 0..{len(classes) - 1})",
        )


def split(labels: np.ndarray, classes: list[str], data: Folder | Arrays) -> tuple[np.ndarray, np.ndarray]:
    """(calibration, gate) indices: GATE_SHARE of each class (at least one image) for the gate, in
    order; the rest, shuffled, for calibration. Refusals for each class too small to split."""
    order = np.random.default_rng(SPLIT_SEED).permutation(len(labels))
    gate, problems = [], []
    for c, name in enumerate(classes):
        members = order[labels[order] == c]
        if len(members) < 2:
            where = data.path / name if isinstance(data, Folder) else data.path
            problems.append(
                DataError(
                    where,
                    f"{len(members)} image{'s' * (len(members) != 1)} of class {name!r}: too few to split "
                    "into calibration and gate (one each at least); add images or give --data-test",
                )
            )
        gate += list(members[: max(1, round(len(members) * GATE_SHARE))])
    if problems:
        raise Refusals(problems, data.path)
    gate = np.sort(np.array(gate, np.int64))
    return order[~np.isin(order, gate)], gate
