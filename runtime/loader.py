"""`load(source)`: from an artifacts folder, a manifest or a single model file to a Predictor.

A model named by a manifest is trusted once its sha256 matches (checked before an engine reads a
byte), so it loads directly. A bare file has no such guarantee: its first bytes are checked and it
is loaded once in a child process first (runtime/probe.py), so a file that crashes an engine's
native code gives a ModelError instead of killing the caller.
"""

import os
from pathlib import Path

from runtime.engines import ENGINES
from runtime.errors import ModelError
from runtime.manifest import MANIFEST, Manifest
from runtime.predictor import Predictor
from runtime.probe import check_content, probe
from runtime.variants import DEFAULT_VARIANT, get_variant

# One thread is the fastest and steadiest for one image at a time, the common case on a device.
DEFAULT_THREADS = 1
SUFFIXES = {"tflite": ".tflite", "onnx": ".onnx"}


def load(source: str | Path, variant: str | None = None, threads: int | None = None) -> Predictor:
    """A Predictor for `source`: an artifacts folder, a `manifest.json`, or a `.tflite`/`.onnx` file.

    With a manifest, `variant` picks the model (default: tflite-int8) and its checksum is checked
    before the engine reads it. A bare file is checked in a child process first (see above).
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
        return open_predictor(manifest.verified(name), threads, name)
    return load_file(source, threads)


def load_file(path: Path, threads: int | None = None, isolate: bool = True) -> Predictor:
    """A Predictor for one bare model file, chosen by its suffix and checked by its content.

    `isolate=False` skips the child-process check: only for files this toolkit has just written.
    """
    path = Path(path)
    if not os.path.lexists(path):
        raise ModelError(path, "no such file or folder")
    if path.suffix == ".keras":
        raise ModelError(path, "a Keras model needs TensorFlow; the runtime runs its .tflite and .onnx "
                               "exports (make export)")
    if path.suffix not in ENGINES:
        raise ModelError(path, f"unsupported model type {path.suffix or '(no suffix)'!r}; "
                               "expected .tflite, .onnx, a manifest.json or an artifacts folder")
    if not path.is_file():
        raise ModelError(path, "not a regular file")
    threads = threads or DEFAULT_THREADS
    if isolate:
        check_content(path)
        probe(path, threads)
    return open_predictor(path, threads)


def open_predictor(path: Path, threads: int, variant: str | None = None) -> Predictor:
    """The engine for `path` in this process; whatever an engine raises becomes a ModelError."""
    try:
        engine = ENGINES[path.suffix](path, threads)
    except ModelError:
        raise
    except OSError as e:  # e.g. the file vanished: a concurrent export removed a superseded set
        raise ModelError(path, f"cannot read it ({e.strerror or e})") from None
    except Exception as e:  # engines raise unrelated types (UnicodeDecodeError on a damaged name...)
        raise ModelError(path, f"cannot load it ({describe(e)})") from None
    return Predictor(engine, variant, path)


def describe(error: Exception) -> str:
    """An engine's exception in one line: its type and the first line of its message."""
    return f"{type(error).__name__}: {(str(error).splitlines() or [''])[0]}"
