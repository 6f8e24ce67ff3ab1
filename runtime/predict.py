"""Classify image files with an exported model, without TensorFlow.

    python -m runtime.predict shirt.png
    python -m runtime.predict photos/ a.jpg --model onnx-float32 --top-k 3 --json --workers 2

Folders are searched recursively for image files (by suffix; the content then decides the format).
Each image is prepared as `runtime.images` describes. Output keeps input order: one line per image
on stdout; a file that cannot be used gets one line "path: reason" on stderr, and with --json also
a record {"path": ..., "error": ...} in its place on stdout, so a program learns every outcome.
Large folders are split into chunks classified by --workers processes (Pillow holds the GIL for most
of a small image, so threads would not help). Exit status: 0 when every image was classified, 1
when any image or the model failed, 2 for a usage error. Imports stay light (numpy, Pillow, one
engine) because a device pays the start-up time on every call.
"""

import argparse
import json
import multiprocessing
import os
import sys
import warnings
from pathlib import Path

import numpy as np
from PIL import Image

from runtime.cli import positive, silence_stdout
from runtime.errors import ImageError, ToolkitError
from runtime.files import read_labels
from runtime.images import SUFFIXES, read_image
from runtime.loader import DEFAULT_THREADS, is_manifest, load, load_file
from runtime.manifest import MANIFEST
from runtime.predictor import Predictor
from runtime.variants import VARIANTS, runnable

RUNNABLE = ", ".join(v.name for v in runnable())
CHUNK = 250  # images per engine call and per worker task: fast for folders, bounded memory
CORES = len(os.sched_getaffinity(0))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m runtime.predict", description="Classify Fashion-MNIST-style images."
    )
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="image files or folders (recursive)")
    parser.add_argument(
        "--model",
        metavar="MODEL",
        help=f"a variant in the manifest ({RUNNABLE}; default: the first published of "
        "tflite-int8, onnx-int8, tflite-float32, onnx-float32) or a model file (.tflite, .onnx)",
    )
    parser.add_argument(
        "--artifacts",
        default="artifacts",
        type=Path,
        help="folder holding manifest.json, or the manifest (default: artifacts)",
    )
    parser.add_argument(
        "--classes",
        type=Path,
        metavar="LABELS",
        help="a text file with one class name per line, for a model file's outputs "
        "(default: the manifest's names; for a bare file with 10 outputs the "
        "Fashion-MNIST names, else 'class 0'...)",
    )
    parser.add_argument(
        "--top-k", type=positive, default=1, metavar="K", help="show the K most likely classes (default 1)"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per input (JSON Lines)")
    parser.add_argument(
        "--invert",
        action=argparse.BooleanOptionalAction,
        help="the object is darker (--invert) or lighter (--no-invert) than its background "
        "(default: either, by colour distance)",
    )
    parser.add_argument(
        "--no-fit",
        dest="fit",
        action="store_false",
        help="resize the whole image to 28x28 instead of trimming to the object",
    )
    parser.add_argument(
        "--threads",
        type=positive,
        default=DEFAULT_THREADS,
        help=f"engine threads per process (default {DEFAULT_THREADS}: best for one image at a time)",
    )
    parser.add_argument(
        "--workers",
        type=positive,
        default=CORES,
        help=f"processes for more than {CHUNK} images (default: the {CORES} cores here)",
    )
    args = parser.parse_args(argv)
    # --model is a variant name, else a file (or a manifest or artifacts folder) for runtime.load
    if args.model is None or args.model in VARIANTS:  # the manifest's path, so a missing folder says so
        manifest = args.artifacts if args.artifacts.suffix == ".json" else args.artifacts / MANIFEST
        args.source, args.variant = manifest, args.model
    elif Path(args.model).suffix or Path(args.model).exists():
        args.source, args.variant = Path(args.model), None
    else:
        parser.error(
            f"--model {args.model!r} is neither a variant ({RUNNABLE}) nor a model file (.tflite, .onnx)"
        )
    if args.variant is not None and not VARIANTS[args.variant].runs:
        parser.error(f"--model {args.variant} needs TensorFlow; the runtime runs {RUNNABLE}")
    return args


def image_paths(sources: list[str]):
    """Each image path in command-line order, folders expanded (sorted); ImageError for a folder
    with no images or one that cannot be listed."""
    for source in map(Path, sources):
        if not source.is_dir():
            yield source
            continue
        errors, found = [], 0
        for folder, dirs, files in os.walk(source, onerror=errors.append):
            dirs.sort()
            for name in sorted(files):
                if not name.startswith(".") and name.lower().endswith(SUFFIXES):
                    found += 1
                    yield Path(folder, name)
        for e in errors:
            yield ImageError(e.filename, f"cannot list it ({e.strerror})")
        if not found and not errors:
            yield ImageError(source, f"no images in this folder or below (looked for {' '.join(SUFFIXES)})")


class Classifier:
    """Turns a chunk of paths into one record per path, in order: a result or an error."""

    def __init__(self, predictor: Predictor, top_k: int, invert: bool | None = None, fit: bool = True):
        self.predictor, self.top_k, self.invert, self.fit = predictor, top_k, invert, fit
        self.model = {
            "variant": predictor.name,
            "model_sha256": predictor.file.sha256[:12],
        }

    def records(self, paths: list) -> list[dict]:
        records, images = [], []
        for path in paths:
            try:
                if isinstance(path, ImageError):
                    raise path
                images.append(read_image(path, self.invert, self.fit))
                records.append({"path": str(path)})
            except ImageError as e:
                records.append({"path": str(e.path), "error": e.reason})
        classified = [r for r in records if "error" not in r]
        if images:
            for record, p in zip(classified, self.predictor.predict(np.stack(images)), strict=True):
                record.update(self.ranked(p))
        return [{**record, **self.model} for record in records]

    def ranked(self, probabilities: np.ndarray) -> dict:
        classes = self.predictor.classes
        top = [
            {"class_id": int(i), "label": classes[i], "probability": round(float(probabilities[i]), 6)}
            for i in np.argsort(-probabilities, kind="stable")[: self.top_k]
        ]
        return {**top[0], "top_k": top}


def render(record: dict, as_json: bool) -> tuple[str | None, str | None]:
    """One record as (its stdout line, its stderr line): an error is "path: reason" on stderr, and with
    --json also a record on stdout."""
    error = f"{record['path']}: {record['error']}" if "error" in record else None
    if as_json:
        return json.dumps(record), error
    if error:
        return None, error
    return f"{record['path']}: " + ", ".join(
        f"{k['label']} {k['probability']:.1%}" for k in record["top_k"]
    ), None


def show(lines: list[tuple[str | None, str | None]]) -> bool:
    """Print rendered records in order (stdout flushed before each stderr line, so a combined log keeps
    the order); True when none is an error."""
    ok = True
    for out, error in lines:
        if error:
            sys.stdout.flush()
            print(error, file=sys.stderr, flush=True)
            ok = False
        if out:
            print(out)
    sys.stdout.flush()
    return ok


_worker: Classifier | None = None  # each worker process's own, loaded on its first chunk


def work(task: tuple) -> list[tuple[str | None, str | None]]:
    """A worker process's chunk, rendered there: lines pickle back cheaper than records."""
    global _worker
    source, variant, threads, classes, options, as_json, chunk = task
    if _worker is None:  # a bare file was already checked in a child process by the parent
        predictor = (
            load(source, variant, threads, classes)
            if is_manifest(source)
            else load_file(source, threads, False, classes)
        )
        _worker = Classifier(predictor, *options)
    return [render(record, as_json) for record in _worker.records(chunk)]


def classify(args, classes: list[str] | None) -> int:
    """Print a record per input, in input order; the exit status."""
    paths = list(image_paths(args.images))
    chunks = [paths[i : i + CHUNK] for i in range(0, len(paths), CHUNK)]
    workers = min(args.workers, len(chunks))
    # The pool is forked before this process loads an engine: engines' thread pools do not survive fork.
    pool = multiprocessing.get_context("fork").Pool(workers) if workers > 1 else None

    def submitted(source, variant):
        options = (args.top_k, args.invert, args.fit)
        return pool.imap(
            work, [(source, variant, args.threads, classes, options, args.json, chunk) for chunk in chunks]
        )

    try:
        # A manifest's model is checksum-checked, not probed: the workers may start on it at once,
        # while this process loads its own copy to check the options and say what it found.
        batches = submitted(args.source, args.variant) if pool and is_manifest(args.source) else None
        predictor = load(args.source, args.variant, args.threads, classes)
        if args.top_k > len(predictor.classes):
            print(
                f"error: --top-k {args.top_k} is more than the model's {len(predictor.classes)} classes",
                file=sys.stderr,
            )
            return 2
        options = (args.top_k, args.invert, args.fit)
        classifier = Classifier(predictor, *options)
        if predictor.logits:
            print(
                f"note: {classifier.predictor.path.name} returns logits; probabilities are their softmax",
                file=sys.stderr,
            )
        if pool is None:
            batches = (
                [render(record, args.json) for record in classifier.records(chunk)] for chunk in chunks
            )
        elif batches is None:  # a bare file, now that the probe passed
            batches = submitted(predictor.path, None)
        ok = True
        for lines in batches:
            ok &= show(lines)
        return 0 if ok else 1
    finally:
        if pool is not None:
            pool.terminate()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # stderr carries one line per problem: Pillow's warnings (corrupt EXIF...) are not the user's
    # business, and a possible decompression bomb is refused as an error, not warned about.
    warnings.filterwarnings("ignore", module=r"PIL\.")
    warnings.simplefilter("error", Image.DecompressionBombWarning)
    try:
        classes = read_labels(args.classes) if args.classes else None
        return classify(args, classes)
    except ToolkitError as e:
        print(e, file=sys.stderr)
        return 1
    except BrokenPipeError:
        silence_stdout()
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
