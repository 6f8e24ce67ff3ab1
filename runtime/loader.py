"""`load(source)`: from an artifacts folder, a manifest or a single model file to a Predictor that
carries the verified record of what it runs (`predictor.artifact`: variant, file, sha256, figures).

A model named by a manifest is trusted once its sha256 matches (checked before an engine reads a
byte), so it loads directly. A bare file has no such guarantee: its first bytes are checked and it
is loaded once in a child process first (runtime/probe.py), so a file that crashes an engine's
native code gives a ModelError instead of killing the caller.
"""

import os
from pathlib import Path

from runtime.engines import open_engine
from runtime.errors import ModelError
from runtime.inputs import ImageInput
from runtime.manifest import MANIFEST, Artifact, FileRecord, Manifest
from runtime.predictor import Predictor
from runtime.probe import probe
from runtime.variants import FORMATS, Variant, format_for, named, runnable_suffixes

# One thread is the fastest and steadiest for one image at a time, the common case on a device.
DEFAULT_THREADS = 1


def is_manifest(source: Path) -> bool:
    """An artifacts folder or a manifest file, rather than a bare model file."""
    return Path(source).is_dir() or Path(source).suffix == ".json"


def load(
    source: str | Path,
    variant: str | Variant | None = None,
    threads: int | None = None,
    classes: list[str] | None = None,
) -> Predictor:
    """A Predictor for `source`: an artifacts folder, a `manifest.json`, or a bare model file.

    With a manifest, `variant` picks the model (default: the manifest's best published one, see
    Manifest.default) and its checksum is checked before the engine reads it; the class names come
    from the manifest. A bare file is checked in a child process first (see above); `classes` names
    its outputs.
    """
    source = Path(source)
    if not is_manifest(source):
        return load_file(source, threads, classes=classes)
    manifest = Manifest(source / MANIFEST if source.is_dir() else source)
    if variant is None:
        artifact = manifest.default()
    else:
        chosen = named(variant) if isinstance(variant, str) else variant
        if not chosen.runs:
            runs = ", ".join(a.variant.name for a in manifest.runnable())
            raise ModelError(
                source, f"variant {chosen} needs {chosen.format.module}; the runtime runs {runs}"
            )
        artifact = manifest.artifact(chosen)
    return open_artifact(artifact.verify(), threads, classes or manifest.classes, manifest.input)


def open_artifact(
    artifact: Artifact,
    threads: int | None,
    classes: list[str] | None = None,
    image: ImageInput | None = None,
) -> Predictor:
    """A Predictor for an artifact this process trusts (verified, or just written by export), taking
    the images its manifest describes (`image`)."""
    engine = open_engine(artifact.path, artifact.format, threads or DEFAULT_THREADS)
    return Predictor(engine, artifact, classes, image)


def load_file(
    path: Path, threads: int | None = None, isolate: bool = True, classes: list[str] | None = None
) -> Predictor:
    """A Predictor for one bare model file, chosen by its suffix and checked by its content.

    `isolate=False` skips the child-process check: only for files this process has checked already.
    """
    path = Path(path)
    if not os.path.lexists(path):
        raise ModelError(path, "no such file or folder")
    fmt = format_for(path)
    if fmt is None:
        needs = [f for f in FORMATS.values() if f.suffix == path.suffix]
        if needs:
            raise ModelError(
                path, f"this model needs {needs[0].module}; the runtime runs its exports (make export)"
            )
        raise ModelError(
            path,
            f"unsupported model type {path.suffix or '(no suffix)'!r}; expected "
            f"{', '.join(runnable_suffixes())}, a manifest.json or an artifacts folder",
        )
    if not path.is_file():
        raise ModelError(path, "not a regular file")
    threads = threads or DEFAULT_THREADS
    if isolate:
        fmt.check(path)
        probe(path, threads)
    return Predictor(open_engine(path, fmt, threads), FileRecord.of(path), classes)
