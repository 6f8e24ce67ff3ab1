"""Classify image files with an exported model, without TensorFlow.

    python -m runtime.predict shirt.png
    python -m runtime.predict photos/ a.jpg --model onnx-float32 --top-k 3 --json --workers 2

Folders are searched recursively for image files (by suffix; the content then decides the format).
Each image is prepared for the model as `runtime.images` describes: framed as Fashion-MNIST for a
model exported on it (--invert and --no-fit tune that), else resized as the model's data was (the
manifest's input; a bare model file other than 28x28 greyscale: resized). Output keeps input order:
one line per image on stdout; a file that cannot be used gets one line "error: path: reason" on
stderr, and with --json also a record {"path": ..., "error": ...} in its place on stdout, so a
program learns every outcome.
Images are read, framed, predicted and printed a chunk at a time: a folder goes at close to
Pillow's decoding speed. Large folders are split among --workers processes (Pillow holds the GIL for
most of a small image, so threads would not help). Exit status: 0 when every image was classified,
1 when any image or the model failed, 2 for a usage error. Imports stay light (numpy, Pillow, one
engine) because a device pays the start-up time on every call.
"""

import argparse
import functools
import json
import multiprocessing
import os
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from runtime import cli
from runtime.engines import open_engine
from runtime.files import read_labels
from runtime.images import read_images
from runtime.inputs import ImageInput
from runtime.listing import CHUNK, plan
from runtime.loader import load, open_artifact
from runtime.manifest import MANIFEST, Artifact, FileRecord
from runtime.predictor import Predictor
from runtime.variants import DEFAULT_ORDER, VARIANTS, format_for, runnable, runnable_suffixes

CORES = len(os.sched_getaffinity(0))
Output = list[tuple[str, str]]  # a chunk's output: (text for stdout, then an error line for stderr)


@dataclass(frozen=True)
class Options:
    """How each image is read and its result shown."""

    top_k: int
    invert: bool | None
    fit: bool
    json: bool


@dataclass(frozen=True)
class Spec:
    """What a worker process needs to classify chunks exactly as this one does: small, picklable."""

    # What this process loaded, with its path and sha256 (hashed once, here). Left out of the hash
    # that keys a worker's classifier: an Artifact's figures are a dict.
    source: Artifact | FileRecord = field(hash=False)
    classes: tuple[str, ...]
    image: ImageInput
    threads: int
    options: Options

    def open(self) -> Predictor:
        """The model in a worker: no checksum and no probe, this process's parent has just done them."""
        if isinstance(self.source, Artifact):
            return open_artifact(self.source, self.threads, list(self.classes), self.image)
        engine = open_engine(self.source.path, format_for(self.source.path), self.threads)
        return Predictor(engine, self.source, list(self.classes), self.image)


def runs() -> tuple[str, str]:
    """What the runtime runs, from the registry: its variants' names, its model files' suffixes."""
    return ", ".join(v.name for v in runnable()), ", ".join(runnable_suffixes())


def model_source(args) -> tuple[Path, str | None]:
    """What --model names, decided once: (the manifest, a variant or None for runtime.load's
    choice) or (a bare model file, None)."""
    variants, suffixes = runs()
    if args.model is None or args.model in VARIANTS:  # the manifest's path, so a missing folder says so
        if args.model is not None and not VARIANTS[args.model].runs:
            raise cli.UsageError(f"--model {args.model} needs TensorFlow; the runtime runs {variants}")
        manifest = args.artifacts if args.artifacts.suffix == ".json" else args.artifacts / MANIFEST
        return manifest, args.model
    if Path(args.model).suffix or Path(args.model).exists():
        return Path(args.model), None
    raise cli.UsageError(
        f"--model {args.model!r} is neither a variant ({variants}) nor a model file ({suffixes})"
    )


class Classifier:
    """Turns a chunk of paths into its output, in order: a line (or JSON record) per image on
    stdout, and an error line on stderr in the place of each image that could not be used."""

    def __init__(self, predictor: Predictor, options: Options):
        self.predictor, self.options = predictor, options
        self.model = {"variant": predictor.name, "model_sha256": predictor.file.sha256[:12]}

    def chunk(self, paths: list[str]) -> Output:
        images, failed = read_images(paths, self.options.invert, self.options.fit, self.predictor.image)
        ranked = iter(self.ranked(self.predictor.predict(images)))
        output, lines = [], []
        for i, path in enumerate(paths):
            if i in failed:
                text, error = self.failure(path, failed[i].reason)
                output.append(("".join(lines), error))
                lines = [text]
            else:
                lines.append(self.result(path, next(ranked)))
        return [*output, ("".join(lines), "")]

    def ranked(self, probabilities: np.ndarray) -> list[list[tuple[int, float]]]:
        """Each image's top-k (class id, probability rounded to 6 places), most likely first."""
        top = np.argsort(-probabilities, axis=1, kind="stable")[:, : self.options.top_k]
        values = np.take_along_axis(probabilities, top, axis=1)
        return [
            [(i, round(p, 6)) for i, p in zip(ids, ps, strict=True)]
            for ids, ps in zip(top.tolist(), values.tolist(), strict=True)
        ]

    def result(self, path: str, top: list[tuple[int, float]]) -> str:
        classes = self.predictor.classes
        if not self.options.json:
            return f"{path}: " + ", ".join(f"{classes[i]} {p:.1%}" for i, p in top) + "\n"
        ranked = [{"class_id": i, "label": classes[i], "probability": p} for i, p in top]
        return json.dumps({"path": path, **ranked[0], "top_k": ranked, **self.model}) + "\n"

    def failure(self, path: str, reason: str) -> tuple[str, str]:
        """(the JSON record on stdout, if asked for; the error line on stderr)."""
        text = json.dumps({"path": path, "error": reason, **self.model}) + "\n" if self.options.json else ""
        return text, f"error: {path}: {reason}\n"


def write(output: Output) -> bool:
    """Write a chunk's output: its stdout text at once, flushed before each error line so that a
    combined log keeps the order; True when it holds no error."""
    for text, error in output:
        sys.stdout.write(text)
        if error:
            sys.stdout.flush()
            sys.stderr.write(error)
            sys.stderr.flush()
    sys.stdout.flush()
    return not any(error for _, error in output)


@functools.cache
def opened(spec: Spec) -> Classifier:
    """A worker process's classifier, made on its first chunk."""
    return Classifier(spec.open(), spec.options)


def work(task: tuple[Spec, list[str]]) -> Output:
    """A worker process's chunk, rendered there: text pickles back cheaper than records."""
    spec, paths = task
    return opened(spec).chunk(paths)


def classify(args) -> int:
    """Print a record per input, in input order; the exit status."""
    source, variant = model_source(args)
    classes = read_labels(args.classes) if args.classes else None
    steps = plan(args.images)
    chunks = [step for step in steps if isinstance(step, list)]
    workers = min(args.workers, len(chunks))
    # The pool is forked before this process loads an engine: engines' thread pools do not survive fork.
    pool = multiprocessing.get_context("fork").Pool(workers) if workers > 1 else None
    try:
        predictor = load(source, variant, args.threads, classes)
        if args.top_k > len(predictor.classes):
            raise cli.UsageError(
                f"--top-k {args.top_k} is more than the model's {len(predictor.classes)} classes"
            )
        if predictor.artifact and variant is None and predictor.variant != DEFAULT_ORDER[0]:
            print(
                f"note: {DEFAULT_ORDER[0]} is not published here; running {predictor.name}", file=sys.stderr
            )
        if not predictor.image.framed and (args.invert is not None or not args.fit):
            raise cli.UsageError(
                f"--invert and --no-fit tune the framing of Fashion-MNIST models; {predictor.name} takes "
                f"{predictor.image} images resized whole, as its data was"
            )
        if predictor.logits:
            print(
                f"note: {predictor.path.name} returns logits; probabilities are their softmax",
                file=sys.stderr,
            )
        options = Options(args.top_k, args.invert, args.fit, args.json)
        source = predictor.artifact or predictor.file
        spec = Spec(source, tuple(predictor.classes), predictor.image, args.threads, options)
        classifier = Classifier(predictor, options)
        outputs = (
            pool.imap(work, [(spec, chunk) for chunk in chunks]) if pool else map(classifier.chunk, chunks)
        )
        ok = True
        for step in steps:
            ok &= write(
                next(outputs) if isinstance(step, list) else [classifier.failure(step.path, step.reason)]
            )
        return 0 if ok else 1
    finally:
        if pool is not None:
            pool.terminate()


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser("python -m runtime.predict", __doc__, cli.ARTIFACTS, cli.JSON, cli.THREADS)
    variants, suffixes = runs()
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="image files or folders (recursive)")
    parser.add_argument(
        "--model",
        metavar="MODEL",
        help=f"a variant in the manifest ({variants}; default: the first published of "
        f"{', '.join(v.name for v in DEFAULT_ORDER)}) or a model file ({suffixes})",
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
        "--top-k",
        type=cli.positive,
        default=1,
        metavar="K",
        help="show the K most likely classes (default 1)",
    )
    parser.add_argument(
        "--invert",
        action=argparse.BooleanOptionalAction,
        help="the object is darker (--invert) or lighter (--no-invert) than its background "
        "(default: either, by colour distance; Fashion-MNIST models)",
    )
    parser.add_argument(
        "--no-fit",
        dest="fit",
        action="store_false",
        help="resize the whole image to 28x28 instead of trimming to the object (Fashion-MNIST models)",
    )
    parser.add_argument(
        "--workers",
        type=cli.positive,
        default=CORES,
        metavar="N",
        help=f"processes for more than {CHUNK} images (default: the {CORES} cores here)",
    )
    # stderr carries one line per problem: Pillow's warnings (corrupt EXIF...) are not the user's
    # business, and a possible decompression bomb is refused as an error, not warned about.
    warnings.filterwarnings("ignore", module=r"PIL\.")
    warnings.simplefilter("error", Image.DecompressionBombWarning)
    return cli.run(classify, parser, argv)


if __name__ == "__main__":
    sys.exit(main())
