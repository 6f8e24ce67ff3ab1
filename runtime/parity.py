"""Parity of an exported model with the Keras original, measured on the gate's images: the user's
(`export --data`) or Fashion-MNIST's 10,000 test images.

Used by export (as a gate before publishing) and by `python -m runtime.evaluate` on any machine.
Accuracy needs labels of the model's own classes: without them (a model of other classes measured
on Fashion-MNIST) it is None, shown as NO_LABELS, and agreement with Keras is what is measured.
"""

import time
from dataclasses import dataclass, replace

import numpy as np

from runtime.errors import ParityError
from runtime.predictor import Predictor

BATCH = 1000  # images per engine call: large enough to amortise the call, small enough for a device
NO_LABELS = "n/a (no labelled data: --data)"  # accuracy where the images have no labels of its classes


def shown(accuracy, digits: int = 4) -> str:
    """An accuracy as a person reads it: a number, or NO_LABELS (None, or NO_LABELS from a manifest)."""
    return f"{accuracy:.{digits}f}" if isinstance(accuracy, float | int) else NO_LABELS


@dataclass(frozen=True)
class Figures:
    accuracy: float | None  # share of test images classified correctly; None: no labels
    agreement: float  # share whose top-1 class equals the Keras model's
    max_abs_diff: float  # largest difference from the Keras probabilities
    seconds: float  # to predict the whole test set
    per_class_accuracy: list[float] | None
    disagreements: np.ndarray  # indices of the images where top-1 differs from Keras
    io: tuple[str, str] | None = None  # the model's input and output dtypes, as measured

    def summary(self) -> dict:
        """The figures a manifest records (without labels, accuracy says so and per class is left out)."""
        if self.accuracy is None:
            return {"accuracy": NO_LABELS, "agreement": self.agreement, "max_abs_diff": self.max_abs_diff}
        return {
            "accuracy": self.accuracy,
            "agreement": self.agreement,
            "max_abs_diff": self.max_abs_diff,
            "per_class_accuracy": [round(a, 4) for a in self.per_class_accuracy],
        }


@dataclass(frozen=True)
class TestSet:
    """The gate's images with their labels (None: not of the model's classes), and the Keras model's
    probabilities on them and figures."""

    images: np.ndarray  # uint8 (N, *image.shape)
    labels: np.ndarray | None
    reference: np.ndarray
    keras: Figures

    def measure(self, predictor: Predictor) -> Figures:
        return measure(predictor, self.images, self.labels, self.reference)


def measure(predictor: Predictor, images: np.ndarray, labels: np.ndarray, reference: np.ndarray) -> Figures:
    """Predict every image and compare with the labels and with the Keras probabilities."""
    started = time.perf_counter()
    probabilities = np.concatenate(
        [predictor.predict(images[i : i + BATCH]) for i in range(0, len(images), BATCH)]
    )
    seconds = time.perf_counter() - started
    return replace(compare(probabilities, labels, reference, seconds), io=io_dtypes(predictor))


def io_dtypes(predictor: Predictor) -> tuple[str, str]:
    """The names of the model's input and output dtypes ('int16', 'float32', ...)."""
    return predictor.engine.input_dtype.name, predictor.engine.output_dtype.name


def compare(
    probabilities: np.ndarray, labels: np.ndarray | None, reference: np.ndarray, seconds: float = 0.0
) -> Figures:
    top1, keras_top1 = probabilities.argmax(1), reference.argmax(1)
    correct = None if labels is None else top1 == labels
    return Figures(
        accuracy=None if correct is None else float(correct.mean()),
        agreement=float((top1 == keras_top1).mean()),
        max_abs_diff=float(np.abs(probabilities - reference).max()),
        seconds=seconds,
        per_class_accuracy=None if correct is None else per_class(correct, labels, reference.shape[1]),
        disagreements=np.flatnonzero(top1 != keras_top1),
    )


def per_class(correct: np.ndarray, labels: np.ndarray, classes: int) -> list[float]:
    """The share correct of each class's images (0 for a class the images do not hold)."""
    counts = np.bincount(labels, minlength=classes)
    right = np.bincount(labels, weights=correct, minlength=classes)
    return [float(r / n) if n else 0.0 for r, n in zip(right, counts, strict=True)]


def gate(outcomes, where: str) -> None:
    """Raise one ParityError listing every failing variant and why (nothing when all passed);
    `outcomes` are (variant, its broken tolerances) pairs."""
    failing = [f"{variant}: {', '.join(reasons)}" for variant, reasons in outcomes if reasons]
    if failing:
        raise ParityError(where, f"parity gate failed, outside tolerance: {'; '.join(failing)}")
