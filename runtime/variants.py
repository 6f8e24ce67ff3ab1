"""The registry of formats and variants: the objects every other module asks, never a name.

A `Format` owns everything about one kind of model file: its suffix, how its first bytes look, the
engine that runs it, the exporter that writes it (one signature for all) and the pip package a
device installs for it. A `Variant` is one published model of a format: its precision, file name
and tolerances. A name is for the command line and the manifest; inside, pass the object.

Formats of your own: modules named in $FMNIST_FORMATS (comma-separated) are imported with the
`runtime` package and call `register(...)`; every process started with that variable sees them.

Engines and exporters are named as "module:attribute" and imported only when a model of their kind
is loaded or exported, so importing `runtime` stays cheap and a device needs only its own engine.
"""

import importlib
import os
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from runtime.errors import ModelError
from runtime.sniff import read_head, recognise


class Precision(StrEnum):
    """How a variant holds Keras' numbers: its weights, and the arithmetic it runs."""

    FLOAT32 = "float32"
    FLOAT16 = "float16"
    DYNAMIC = "dynamic"
    INT8 = "int8"
    INT16X8 = "int16x8"

    @property
    def calibrated(self) -> bool:
        """Its exporter needs calibration images (and follows its format's int8 recipe)."""
        return self in (Precision.INT8, Precision.INT16X8)

    @property
    def activation_bits(self) -> int:
        """Of the tensors between layers: 32 for float ones, else the integer width."""
        return {Precision.INT8: 8, Precision.INT16X8: 16}.get(self, 32)

    @property
    def means(self) -> str:
        """What a person reads beside the name."""
        return {
            Precision.FLOAT32: "float32 weights and arithmetic",
            Precision.FLOAT16: "float16 weights (half the bytes), float32 arithmetic",
            Precision.DYNAMIC: "int8 weights, float activations quantized to int8 per call",
            Precision.INT8: "int8 weights and activations",
            Precision.INT16X8: "int16 activations, int8 weights, integer-only",
        }[self]


@dataclass(frozen=True)
class Signature:
    """What a file of a format starts with: a pattern of its first bytes and how a person says it."""

    pattern: bytes  # a regular expression matched at the file's first byte
    says: str  # e.g. "a 'TFL3' identifier at byte 4"

    def matches(self, head: bytes) -> bool:
        return re.match(self.pattern, head, re.DOTALL) is not None


@dataclass(frozen=True)
class Format:
    """One kind of model file and everything that handles it.

    The exporter is `export_<fmt>(model, filepath, calibration, recipe) -> dict | None`: calibration
    images (float32, as the model takes them: its shape and range) and an int8 recipe for a quantized
    variant, None and None for a float one;
    it returns what the manifest entry records besides (an arena size, companion files)."""

    name: str  # also the manifest's "format"
    suffix: str  # of the model file; a bare file is run by the first runnable format with its suffix
    signature: Signature
    engine: str | None  # "module:Class" of the runtime engine; None: needs TensorFlow (Keras)
    module: str  # the module the engine imports: what a device must install
    package: str  # the distribution that provides it, as pip knows it
    exporter: str | None = None  # "module:function"
    converter: str | None = None  # the format whose int8 recipes it follows; default: itself
    bundle: str | None = None  # `make bundle ENGINE=` name of the device bundle that carries it; None: none
    # "module:function"(filepath, card) writing into the exported file what the runtime it is made for
    # reads of the model besides the graph (class names, normalization, name, version); None: nothing
    metadata: str | None = None
    # Another runtime the files are made for (a Format of its own, registered by none): export runs
    # every test image in it too, and its answers must be our engine's (export/made_for.py)
    made_for: "Format | None" = None

    @property
    def runs(self) -> bool:
        """The runtime runs it (Keras needs TensorFlow)."""
        return self.engine is not None

    @property
    def recipes(self) -> str:
        return self.converter or self.name

    def content_problem(self, head: bytes) -> str | None:
        """Why a file starting with `head` cannot be of this format, or None if it may be."""
        if self.signature.matches(head):
            return None
        what = recognise(head)
        if what:
            return f"{what}, not a model" if "model" not in what else what
        other = next(
            (f for f in FORMATS.values() if f.suffix != self.suffix and f.signature.matches(head)), None
        )
        if other:
            return f"a {other.suffix} model named {self.suffix}; rename it to {other.suffix}"
        return f"not a {self.suffix} model (no {self.signature.says})"

    def check(self, path: Path) -> None:
        """Refuse a file whose first bytes say it is not of this format (read before any engine)."""
        try:
            head = read_head(path)
        except OSError as e:
            raise ModelError(path, f"cannot read it ({e.strerror})") from None
        if 0 < len(head) < MIN_BYTES:
            raise ModelError(path, f"only {len(head)} bytes, too small to be a model")
        problem = self.content_problem(head)
        if problem:
            raise ModelError(path, problem)

    def engine_class(self):
        return resolve(self.engine)

    def export(self, model, filepath: Path, calibration, recipe) -> dict | None:
        return resolve(self.exporter)(model, filepath, calibration, recipe)

    def describe(self, filepath: Path, card) -> None:
        """Write the model's card (export/model_source.py: name, version, class names) into the
        exported file, for a format whose runtime reads it from there."""
        if self.metadata:
            resolve(self.metadata)(filepath, card)


MIN_BYTES = 16  # smaller than any real model's header


@dataclass(frozen=True)
class Tolerance:
    """How close to Keras a variant must stay on the test set (parity is a gate, not a print)."""

    min_agreement: float = 0.0  # share of test images whose top-1 class equals Keras'
    max_abs_diff: float = 1.0  # largest allowed difference from the Keras probabilities
    max_accuracy_drop: float = 1.0  # largest allowed fall in accuracy below Keras'
    integer_io: str | None = None  # the dtype input and output must both have (an integer-only model)

    def violations(self, figures, keras_accuracy: float | None) -> list[str]:
        """Every way `figures` (accuracy, agreement, max_abs_diff; io, the model's input and output
        dtypes) breaks the tolerance; empty when they pass. Without labels (accuracy None) the accuracy
        drop is bounded by agreement instead: a variant that agrees with Keras on all but a share d of
        the images is within d of Keras' accuracy on any labels."""
        found = []
        if self.integer_io and tuple(figures.io or ()) != (self.integer_io, self.integer_io):
            found.append(
                f"input and output are {' and '.join(figures.io or ('unknown',))}, not {self.integer_io}"
            )
        min_agreement = self.min_agreement
        if figures.accuracy is None:
            min_agreement = max(min_agreement, 1 - self.max_accuracy_drop)
        if figures.agreement < min_agreement:
            found.append(f"agreement {figures.agreement:.4f} < {min_agreement:g}")
        if figures.max_abs_diff > self.max_abs_diff:
            found.append(f"max_abs_diff {figures.max_abs_diff:.2e} > {self.max_abs_diff:.0e}")
        if figures.accuracy is not None and keras_accuracy - figures.accuracy > self.max_accuracy_drop:
            found.append(
                f"accuracy {figures.accuracy:.4f} is more than {self.max_accuracy_drop} "
                f"below Keras' {keras_accuracy:.4f}"
            )
        return found


FLOAT = Tolerance(min_agreement=0.999, max_abs_diff=1e-4)  # float variants reproduce Keras
QUANTIZED = Tolerance(max_accuracy_drop=0.01)  # quantized ones may round, but keep its accuracy
# float16 weights: Keras within their rounding (the tutorial model 9.7e-4 from it, a small CNN 2.1e-3)
HALF = Tolerance(min_agreement=0.999, max_abs_diff=1e-2)
# int16x8: integer-only, and closer to Keras than int8 is asked to be (the tutorial model agrees on
# 99.60%, int8 99.00%; a small CNN 98.6%, int8 98.2%)
INTEGER16 = Tolerance(min_agreement=0.98, max_accuracy_drop=0.01, integer_io="int16")


@dataclass(frozen=True)
class Variant:
    name: str  # for the command line and the manifest
    format: Format
    precision: Precision
    filename: str
    tolerance: Tolerance = Tolerance()

    @property
    def runs(self) -> bool:
        return self.format.runs

    @property
    def quantized(self) -> bool:
        """Rounds Keras' numbers (a per-class table shows its change from Keras)."""
        return self.precision is not Precision.FLOAT32

    def __str__(self) -> str:
        return self.name


FORMATS: dict[str, Format] = {}
VARIANTS: dict[str, Variant] = {}


def register(*entries: Format | Variant) -> None:
    """Add formats and variants (a variant after its format); a name is taken once."""
    for entry in entries:
        table = FORMATS if isinstance(entry, Format) else VARIANTS
        if entry.name in table and table[entry.name] != entry:
            raise ValueError(f"{type(entry).__name__.lower()} {entry.name!r} is registered already")
        if isinstance(entry, Variant) and FORMATS.get(entry.format.name) != entry.format:
            raise ValueError(f"variant {entry.name!r}: register its format {entry.format.name!r} first")
        table[entry.name] = entry


def named(name: str) -> Variant:
    """The variant called `name`, refusing unknown names rather than guessing."""
    try:
        return VARIANTS[name]
    except KeyError:
        raise ValueError(f"unknown variant {name!r}; the variants are: {', '.join(VARIANTS)}") from None


def variants() -> list[Variant]:
    """Every variant, in registration order (Keras first)."""
    return list(VARIANTS.values())


def runnable() -> list[Variant]:
    """The variants the runtime runs, in registration order (read at call time: the table may grow)."""
    return [v for v in VARIANTS.values() if v.runs]


def format_for(path: Path) -> Format | None:
    """The format that runs a bare file with this suffix, or None."""
    return next((f for f in FORMATS.values() if f.suffix == Path(path).suffix and f.runs), None)


def runnable_suffixes() -> list[str]:
    return sorted({f.suffix for f in FORMATS.values() if f.runs})


def resolve(target: str):
    """Import "module:attribute" and return the attribute."""
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


TFLITE = Signature(rb".{4}TFL3", "'TFL3' identifier at byte 4")
KERAS = Format(
    "keras", ".keras", Signature(rb"PK\x03\x04", "zip header"), None, "tensorflow", "tensorflow-cpu"
)
TFLITE_FORMAT = Format(
    "tflite", ".tflite", TFLITE, "runtime.engines.litert:LiteRTEngine", "ai_edge_litert", "ai-edge-litert",
    "export.tflite:export_tflite", bundle="litert",
)  # fmt: skip
ONNX = Format(
    "onnx", ".onnx",
    Signature(rb"[\x08\x12\x1a\x22\x28\x32\x3a\x42]", "protobuf field of an ONNX ModelProto first"),
    "runtime.engines.ort:OnnxEngine", "onnxruntime", "onnxruntime", "export.onnx:export_onnx",
    bundle="onnxruntime",
)  # fmt: skip
# A bare .tflite file runs in LiteRT (the first format with the suffix); this one through a manifest.
# Neither it nor C goes into a Linux bundle: they are proved on the host for a microcontroller.
TFLITE_MICRO = Format(
    "tflite-micro", ".tflite", TFLITE, "runtime.engines.micro:MicroEngine", "tflite_micro", "tflite-micro",
    "export.micro:export_tflite_micro", converter="tflite",
)  # fmt: skip
C = Format(
    "c", ".c", Signature(rb"[\t\n\r\x20-\x7e]+\Z", "C source text"),
    "runtime.engines.c:CEngine", "ctypes", "a C compiler at export (gcc)", "export.c:export_c",
    converter="tflite",  # generated from the tflite-int8-micro flatbuffer
)  # fmt: skip
# MediaPipe Tasks' ImageClassifier (Android, iOS, Web, Python) takes a .tflite of RGB input with its
# labels and normalization in the file's metadata: a LiteRT file, gated in LiteRT, then run in
# MediaPipe itself (MEDIAPIPE_TASKS: the same files in its classifier; no variant of its own).
MEDIAPIPE_TASKS = Format(
    "mediapipe-tasks", ".tflite", TFLITE, "runtime.engines.mediapipe:MediaPipeEngine", "mediapipe",
    "mediapipe",
)  # fmt: skip
MEDIAPIPE = Format(
    "mediapipe", ".tflite", TFLITE, "runtime.engines.litert:LiteRTEngine", "ai_edge_litert", "ai-edge-litert",
    "export.mediapipe:export_mediapipe", converter="tflite", metadata="export.mediapipe:write_metadata",
    made_for=MEDIAPIPE_TASKS,
)  # fmt: skip

TFLITE_INT8 = Variant("tflite-int8", TFLITE_FORMAT, Precision.INT8, "model_int8.tflite", QUANTIZED)
TFLITE_FLOAT32 = Variant("tflite-float32", TFLITE_FORMAT, Precision.FLOAT32, "model_float32.tflite", FLOAT)
ONNX_INT8 = Variant("onnx-int8", ONNX, Precision.INT8, "model_int8.onnx", QUANTIZED)
ONNX_FLOAT32 = Variant("onnx-float32", ONNX, Precision.FLOAT32, "model_float32.onnx", FLOAT)
KERAS_MODEL = Variant("keras", KERAS, Precision.FLOAT32, "model.keras")
register(
    KERAS,
    TFLITE_FORMAT,
    ONNX,
    TFLITE_MICRO,
    C,
    MEDIAPIPE,
    KERAS_MODEL,
    TFLITE_FLOAT32,
    TFLITE_INT8,
    ONNX_FLOAT32,
    ONNX_INT8,
    Variant("tflite-int8-micro", TFLITE_MICRO, Precision.INT8, "model_int8_micro.tflite", QUANTIZED),
    Variant("c-int8", C, Precision.INT8, "fmnist_model.c", QUANTIZED),
    Variant("mediapipe-float32", MEDIAPIPE, Precision.FLOAT32, "model_float32_mediapipe.tflite", FLOAT),
    Variant("mediapipe-int8", MEDIAPIPE, Precision.INT8, "model_int8_mediapipe.tflite", QUANTIZED),
)

# The precisions the converters offer besides (issue 18): smaller or integer-only, each held to its own
# tolerance. The int16x8 ones run integer-only on microcontrollers and NPUs (LiteRT has no fast kernel).
register(
    Variant("tflite-float16", TFLITE_FORMAT, Precision.FLOAT16, "model_float16.tflite", HALF),
    Variant("tflite-dynamic", TFLITE_FORMAT, Precision.DYNAMIC, "model_dynamic.tflite", QUANTIZED),
    Variant("tflite-int16x8", TFLITE_FORMAT, Precision.INT16X8, "model_int16x8.tflite", INTEGER16),
    Variant("onnx-float16", ONNX, Precision.FLOAT16, "model_float16.onnx", HALF),
    Variant("onnx-dynamic", ONNX, Precision.DYNAMIC, "model_dynamic.onnx", QUANTIZED),
    Variant("tflite-int16x8-micro", TFLITE_MICRO, Precision.INT16X8, "model_int16x8_micro.tflite", INTEGER16),
)

# What runs when none is asked for: the first of these that was published and whose engine is here.
# tflite-int8 first: the smallest file, integer-only arithmetic, the fastest at batch 1.
DEFAULT_ORDER = (TFLITE_INT8, ONNX_INT8, TFLITE_FLOAT32, ONNX_FLOAT32)

PLUGINS_ENV = "FMNIST_FORMATS"


def load_plugins() -> None:
    """Import the modules named in $FMNIST_FORMATS (runtime/__init__.py does, once the package and its
    engine base are importable)."""
    for module in filter(None, (m.strip() for m in os.environ.get(PLUGINS_ENV, "").split(","))):
        importlib.import_module(module)
