"""`load(source)`: from an artifacts folder, a manifest or a single model file to a Predictor."""

import os
from pathlib import Path

from runtime.engines import ENGINES
from runtime.errors import ModelError
from runtime.manifest import MANIFEST, Manifest
from runtime.predictor import Predictor
from runtime.variants import DEFAULT_VARIANT, get_variant

# One thread is the fastest and steadiest for one image at a time, the common case on a device.
DEFAULT_THREADS = 1
SUFFIXES = {"tflite": ".tflite", "onnx": ".onnx"}


def load(source: str | Path, variant: str | None = None, threads: int | None = None) -> Predictor:
    """A Predictor for `source`: an artifacts folder, a `manifest.json`, or a `.tflite`/`.onnx` file.

    With a manifest, `variant` picks the model (default: tflite-int8) and its checksum is checked
    before the engine reads it.
    """
    source = Path(source)
    threads = threads or DEFAULT_THREADS
    if source.is_dir() or source.suffix == ".json":
        manifest = Manifest(source / MANIFEST if source.is_dir() else source)
        name = variant or DEFAULT_VARIANT
        spec = get_variant(name)
        if spec.format not in SUFFIXES:
            raise ModelError(source, f"variant {name!r} needs TensorFlow; the runtime runs "
                                     f"{', '.join(n for n in manifest.entries if n != 'keras')}")
        return Predictor(ENGINES[SUFFIXES[spec.format]](manifest.verified(name), threads), name, source)
    return load_file(source, threads)


def load_file(path: Path, threads: int | None = None) -> Predictor:
    """A Predictor for one bare model file, chosen by its suffix and checked by its content."""
    path = Path(path)
    if path.suffix == ".keras":
        raise ModelError(path, "a Keras model needs TensorFlow; the runtime runs its .tflite and .onnx "
                               "exports (make export)")
    if path.suffix not in ENGINES:
        raise ModelError(path, f"unsupported model type {path.suffix or '(no suffix)'!r}; "
                               "expected .tflite, .onnx, a manifest.json or an artifacts folder")
    if not path.is_file():
        raise ModelError(path, "no such file" if not os.path.lexists(path) else "not a regular file")
    return Predictor(ENGINES[path.suffix](path, threads or DEFAULT_THREADS), None, path)
