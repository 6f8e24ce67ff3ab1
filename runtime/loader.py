"""`load(source)`: from an artifacts folder, a manifest or a single model file to a Predictor.

A model named by a manifest is trusted once its sha256 matches (checked before an engine reads a
byte), so it loads directly. A bare file has no such guarantee: its first bytes are checked and it
is loaded once in a child process first (runtime/probe.py), so a file that crashes an engine's
native code gives a ModelError instead of killing the caller.
"""

import os
from pathlib import Path

from runtime.engines import open_engine
from runtime.errors import ModelError
from runtime.manifest import MANIFEST, Manifest
from runtime.predictor import Predictor
from runtime.probe import check_content, probe
from runtime.variants import DEFAULT_VARIANT, FORMATS, exported, format_for_suffix, format_of

# One thread is the fastest and steadiest for one image at a time, the common case on a device.
DEFAULT_THREADS = 1


def load(
    source: str | Path,
    variant: str | None = None,
    threads: int | None = None,
    classes: list[str] | None = None,
) -> Predictor:
    """A Predictor for `source`: an artifacts folder, a `manifest.json`, or a bare model file.

    With a manifest, `variant` picks the model (default: tflite-int8) and its checksum is checked
    before the engine reads it; the class names come from the manifest. A bare file is checked in a
    child process first (see above); `classes` names its outputs.
    """
    source = Path(source)
    threads = threads or DEFAULT_THREADS
    if source.is_dir() or source.suffix == ".json":
        manifest = Manifest(source / MANIFEST if source.is_dir() else source)
        name = variant or DEFAULT_VARIANT
        fmt = format_of(name)
        if not fmt.engine:
            runs = [n for n in manifest.entries if n in exported()]
            raise ModelError(
                source, f"variant {name!r} needs {fmt.module}; the runtime runs {', '.join(runs)}"
            )
        path = manifest.verified(name)
        return Predictor(open_engine(path, fmt, threads), name, path, classes or manifest.classes)
    return load_file(source, threads, classes=classes)


def load_file(
    path: Path, threads: int | None = None, isolate: bool = True, classes: list[str] | None = None
) -> Predictor:
    """A Predictor for one bare model file, chosen by its suffix and checked by its content.

    `isolate=False` skips the child-process check: only for files this toolkit has just written.
    """
    path = Path(path)
    if not os.path.lexists(path):
        raise ModelError(path, "no such file or folder")
    fmt = format_for_suffix(path.suffix)
    if fmt is None:
        needs = [f for f in FORMATS.values() if f.suffix == path.suffix]
        if needs:
            raise ModelError(
                path, f"this model needs {needs[0].module}; the runtime runs its exports (make export)"
            )
        runs = sorted({f.suffix for f in FORMATS.values() if f.engine})
        raise ModelError(
            path,
            f"unsupported model type {path.suffix or '(no suffix)'!r}; expected "
            f"{', '.join(runs)}, a manifest.json or an artifacts folder",
        )
    if not path.is_file():
        raise ModelError(path, "not a regular file")
    threads = threads or DEFAULT_THREADS
    if isolate:
        check_content(path)
        probe(path, threads)
    return Predictor(open_engine(path, fmt, threads), None, path, classes)
