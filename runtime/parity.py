"""Parity of an exported model with the Keras original, measured on the 10,000 test images.

Used by export (as a gate before publishing) and by `python -m runtime.evaluate` on any machine.
"""

import time
from dataclasses import dataclass, replace

import numpy as np

from runtime.errors import ParityError
from runtime.predictor import Predictor

BATCH = 1000  # images per engine call: large enough to amortise the call, small enough for a device


@dataclass(frozen=True)
class Figures:
    accuracy: float  # share of test images classified correctly
    agreement: float  # share whose top-1 class equals the Keras model's
    max_abs_diff: float  # largest difference from the Keras probabilities
    seconds: float  # to predict the whole test set
    per_class_accuracy: list[float]
    disagreements: np.ndarray  # indices of the images where top-1 differs from Keras
    io: tuple[str, str] | None = None  # the model's input and output dtypes, as measured

    def summary(self) -> dict:
        """The figures a manifest records."""
        return {
            "accuracy": self.accuracy,
            "agreement": self.agreement,
            "max_abs_diff": self.max_abs_diff,
            "per_class_accuracy": [round(a, 4) for a in self.per_class_accuracy],
        }


@dataclass(frozen=True)
class TestSet:
    """The test images with their labels, and the Keras model's probabilities on them and figures."""

    images: np.ndarray  # uint8 (N, 28, 28)
    labels: np.ndarray
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
    probabilities: np.ndarray, labels: np.ndarray, reference: np.ndarray, seconds: float = 0.0
) -> Figures:
    top1, keras_top1 = probabilities.argmax(1), reference.argmax(1)
    correct = top1 == labels
    return Figures(
        accuracy=float(correct.mean()),
        agreement=float((top1 == keras_top1).mean()),
        max_abs_diff=float(np.abs(probabilities - reference).max()),
        seconds=seconds,
        per_class_accuracy=[float(correct[labels == c].mean()) for c in range(reference.shape[1])],
        disagreements=np.flatnonzero(top1 != keras_top1),
    )


def gate(outcomes, where: str) -> None:
    """Raise one ParityError listing every failing variant and why (nothing when all passed);
    `outcomes` are (variant, its broken tolerances) pairs."""
    failing = [f"{variant}: {', '.join(reasons)}" for variant, reasons in outcomes if reasons]
    if failing:
        raise ParityError(where, f"parity gate failed, outside tolerance: {'; '.join(failing)}")
