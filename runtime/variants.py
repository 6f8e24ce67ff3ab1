"""The closed set of model variants, named once and used everywhere (export, runtime, benchmarks).

Tolerances are data on the table: float variants must reproduce Keras, int8 variants may round
but must keep its accuracy.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Variant:
    name: str
    format: str  # "keras", "tflite" or "onnx": decides the engine
    precision: str  # "float32" or "int8"
    filename: str
    min_agreement: float = 0.0  # share of test images whose top-1 class equals Keras'
    max_abs_diff: float = 1.0  # largest allowed difference from the Keras probabilities
    max_accuracy_drop: float = 1.0  # largest allowed fall in accuracy below Keras'


FLOAT = dict(min_agreement=0.999, max_abs_diff=1e-4)
INT8 = dict(max_accuracy_drop=0.01)

VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant("keras", "keras", "float32", "model.keras"),
        Variant("tflite-float32", "tflite", "float32", "model_float32.tflite", **FLOAT),
        Variant("tflite-int8", "tflite", "int8", "model_int8.tflite", **INT8),
        Variant("onnx-float32", "onnx", "float32", "model_float32.onnx", **FLOAT),
        Variant("onnx-int8", "onnx", "int8", "model_int8.onnx", **INT8),
    )
}

EXPORTED = tuple(name for name, v in VARIANTS.items() if v.format != "keras")

# Smallest file, integer-only arithmetic: what a small device runs best.
DEFAULT_VARIANT = "tflite-int8"


def get_variant(name: str) -> Variant:
    """Look a variant up by name, refusing unknown names rather than guessing."""
    try:
        return VARIANTS[name]
    except KeyError:
        raise ValueError(f"unknown variant {name!r}; supported variants are: {', '.join(VARIANTS)}") from None
