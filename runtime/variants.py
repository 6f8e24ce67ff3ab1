"""The one table of formats and variants: the loader, the engines, the exporters, evaluate, the
benchmarks and the bundle all learn from here what exists. Adding a variant is one entry here plus,
for a new format, one engine module and one exporter module.

Formats of your own: modules named in $FMNIST_FORMATS (comma-separated) are imported with the
`runtime` package and may register() more; every process started with that variable sees them.

Engines and exporters are named as "module:attribute" and imported only when a model of their kind
is loaded or exported, so importing `runtime` stays cheap and a device needs only its own engine.
Tolerances are data on the table: float variants must reproduce Keras, int8 variants may round but
must keep its accuracy.
"""

import importlib
import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Format:
    name: str  # "tflite": also the manifest's "format"
    suffix: str  # of the model file; a bare file is loaded by the first format with its suffix
    engine: str | None  # "module:Class" of the runtime engine; None: needs TensorFlow (Keras)
    module: str  # the Python module the engine (or Keras) imports: what a device must install
    package: str  # the distribution that provides it, as pip knows it
    exporter: str | None = None  # "module:function", export_<fmt>(model, filepath, calibration)
    converter: str | None = None  # the format whose int8 recipes it follows (its converter); default: itself

    @property
    def recipes(self) -> str:
        return self.converter or self.name


@dataclass(frozen=True)
class Variant:
    name: str
    format: str  # a key of FORMATS
    precision: str  # "float32" or "int8"
    filename: str
    min_agreement: float = 0.0  # share of test images whose top-1 class equals Keras'
    max_abs_diff: float = 1.0  # largest allowed difference from the Keras probabilities
    max_accuracy_drop: float = 1.0  # largest allowed fall in accuracy below Keras'


FORMATS: dict[str, Format] = {}
VARIANTS: dict[str, Variant] = {}


def register(*entries: Format | Variant) -> None:
    """Add formats and variants to the table (a variant's format must be there first)."""
    for entry in entries:
        if isinstance(entry, Format):
            FORMATS[entry.name] = entry
        elif entry.format not in FORMATS:
            raise ValueError(f"variant {entry.name!r} names unknown format {entry.format!r}")
        else:
            VARIANTS[entry.name] = entry


FLOAT = dict(min_agreement=0.999, max_abs_diff=1e-4)
INT8 = dict(max_accuracy_drop=0.01)

register(
    Format("keras", ".keras", None, "tensorflow", "tensorflow-cpu"),
    Format(
        "tflite",
        ".tflite",
        "runtime.engines.litert:LiteRTEngine",
        "ai_edge_litert",
        "ai-edge-litert",
        "export.tflite:export_tflite",
    ),
    Format(
        "onnx",
        ".onnx",
        "runtime.engines.ort:OnnxEngine",
        "onnxruntime",
        "onnxruntime",
        "export.onnx:export_onnx",
    ),
    # A bare .tflite file runs in LiteRT (the first format with the suffix); this one through a manifest.
    Format(
        "tflite-micro",
        ".tflite",
        "runtime.engines.micro:MicroEngine",
        "tflite_micro",
        "tflite-micro",
        "export.micro:export_tflite_micro",
        converter="tflite",
    ),
    Format(
        "c",
        ".c",
        "runtime.engines.c:CEngine",
        "ctypes",
        "a C compiler at export (gcc)",
        "export.c:export_c",
        converter="tflite",  # generated from the tflite-int8-micro flatbuffer
    ),
    Variant("keras", "keras", "float32", "model.keras"),
    Variant("tflite-float32", "tflite", "float32", "model_float32.tflite", **FLOAT),
    Variant("tflite-int8", "tflite", "int8", "model_int8.tflite", **INT8),
    Variant("onnx-float32", "onnx", "float32", "model_float32.onnx", **FLOAT),
    Variant("onnx-int8", "onnx", "int8", "model_int8.onnx", **INT8),
    Variant("tflite-int8-micro", "tflite-micro", "int8", "model_int8_micro.tflite", **INT8),
    Variant("c-int8", "c", "int8", "fmnist_model.c", **INT8),
)

# Smallest file, integer-only arithmetic: what a small device runs best.
DEFAULT_VARIANT = "tflite-int8"


def exported() -> list[str]:
    """The variants the runtime runs, in table order (read at call time: the table may grow)."""
    return [name for name, v in VARIANTS.items() if FORMATS[v.format].engine]


def get_variant(name: str) -> Variant:
    """Look a variant up by name, refusing unknown names rather than guessing."""
    try:
        return VARIANTS[name]
    except KeyError:
        raise ValueError(f"unknown variant {name!r}; supported variants are: {', '.join(VARIANTS)}") from None


def format_of(variant: str) -> Format:
    return FORMATS[get_variant(variant).format]


def format_for_suffix(suffix: str) -> Format | None:
    """The format that runs a bare file with this suffix, or None."""
    return next((f for f in FORMATS.values() if f.suffix == suffix and f.engine), None)


def resolve(target: str):
    """Import "module:attribute" and return the attribute."""
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


PLUGINS_ENV = "FMNIST_FORMATS"


def load_plugins() -> None:
    """Import the modules named in $FMNIST_FORMATS (runtime/__init__.py does, once the package and its
    engine base are importable)."""
    for module in filter(None, (m.strip() for m in os.environ.get(PLUGINS_ENV, "").split(","))):
        importlib.import_module(module)
