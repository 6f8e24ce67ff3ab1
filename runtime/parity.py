"""Parity of an exported model with the Keras original, measured on the 10,000 test images.

Used by export (as a gate before publishing) and by `python -m runtime.evaluate` on any machine.
"""

import time
from dataclasses import dataclass

import numpy as np

from runtime.errors import ParityError
from runtime.predictor import Predictor
from runtime.variants import Variant

BATCH = 1000  # images per engine call: large enough to amortise the call, small enough for a device


@dataclass(frozen=True)
class Figures:
    accuracy: float  # share of test images classified correctly
    agreement: float  # share whose top-1 class equals the Keras model's
    max_abs_diff: float  # largest difference from the Keras probabilities
    seconds: float  # to predict the whole test set
    per_class_accuracy: list[float]
    disagreements: np.ndarray  # indices of the images where top-1 differs from Keras

    def summary(self) -> dict:
        """The figures a manifest records."""
        return {
            "accuracy": self.accuracy,
            "agreement": self.agreement,
            "max_abs_diff": self.max_abs_diff,
            "per_class_accuracy": [round(a, 4) for a in self.per_class_accuracy],
        }


def measure(predictor: Predictor, images: np.ndarray, labels: np.ndarray, reference: np.ndarray) -> Figures:
    """Predict every image and compare with the labels and with the Keras probabilities."""
    started = time.perf_counter()
    probabilities = np.concatenate(
        [predictor.predict(images[i : i + BATCH]) for i in range(0, len(images), BATCH)]
    )
    seconds = time.perf_counter() - started
    return compare(probabilities, labels, reference, seconds)


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


def violations(variant: Variant, figures: Figures, keras_accuracy: float) -> list[str]:
    """Every way `figures` breaks the variant's tolerance; empty when it passes."""
    found = []
    if figures.agreement < variant.min_agreement:
        found.append(f"agreement {figures.agreement:.4f} < {variant.min_agreement}")
    if figures.max_abs_diff > variant.max_abs_diff:
        found.append(f"max_abs_diff {figures.max_abs_diff:.2e} > {variant.max_abs_diff:.0e}")
    if keras_accuracy - figures.accuracy > variant.max_accuracy_drop:
        found.append(
            f"accuracy {figures.accuracy:.4f} is more than {variant.max_accuracy_drop} "
            f"below Keras' {keras_accuracy:.4f}"
        )
    return found


def gate(failures: dict[str, list[str]], where: str) -> None:
    """Raise one ParityError listing every failing variant and why (nothing when all passed)."""
    failures = {name: reasons for name, reasons in failures.items() if reasons}
    if failures:
        lines = "; ".join(f"{name}: {', '.join(reasons)}" for name, reasons in failures.items())
        raise ParityError(where, f"outside tolerance: {lines}")
