"""Classify image files with an exported model, without TensorFlow.

    python -m runtime.predict shirt.png
    python -m runtime.predict photos/ a.jpg --model onnx-float32 --top-k 3 --json

Folders are searched recursively for image files (by suffix; the content then decides the format).
Each image is prepared as `runtime.images` describes. Output: one line per image on stdout (JSON
Lines with --json); a file that cannot be read gets one line "path: reason" on stderr and the other
images are still classified. Exit status: 0 when every image was classified, 1 when any image or
the model failed, 2 for a usage error. Imports stay light (numpy, Pillow, one engine) because a
device pays the start-up time on every call.
"""

import argparse
import json
import os
import sys
import warnings
from pathlib import Path

import numpy as np
from PIL import Image

from runtime.cli import positive, silence_stdout
from runtime.dataset import CLASSES
from runtime.errors import ImageError, ToolkitError
from runtime.images import SUFFIXES, read_image
from runtime.loader import DEFAULT_THREADS, load
from runtime.manifest import MANIFEST
from runtime.variants import DEFAULT_VARIANT, EXPORTED, VARIANTS

BATCH = 256  # images classified per engine call: fast for folders, bounded memory


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m runtime.predict", description="Classify Fashion-MNIST-style images.")
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="image files or folders (recursive)")
    parser.add_argument("--model", metavar="MODEL",
                        help=f"a variant in the manifest ({', '.join(EXPORTED)}; default {DEFAULT_VARIANT}, "
                             "the smallest and integer-only) or a .tflite/.onnx file")
    parser.add_argument("--artifacts", default="artifacts", type=Path,
                        help="folder holding manifest.json, or the manifest (default: artifacts)")
    parser.add_argument("--top-k", type=positive, default=1, metavar="K",
                        help=f"show the K most likely classes (1..{len(CLASSES)}, default 1)")
    parser.add_argument("--json", action="store_true", help="one JSON object per image (JSON Lines)")
    parser.add_argument("--invert", action=argparse.BooleanOptionalAction,
                        help="the object is darker (--invert) or lighter (--no-invert) than its background "
                             "(default: either, by colour distance)")
    parser.add_argument("--no-fit", dest="fit", action="store_false",
                        help="resize the whole image to 28x28 instead of trimming to the object")
    parser.add_argument("--threads", type=positive, default=DEFAULT_THREADS,
                        help=f"engine threads (default {DEFAULT_THREADS}: best for one image at a time)")
    args = parser.parse_args(argv)
    if args.top_k > len(CLASSES):
        parser.error(f"--top-k must be at most {len(CLASSES)}, got {args.top_k}")
    # --model is a variant name, else a file (or a manifest or artifacts folder) for runtime.load
    if args.model is None or args.model in VARIANTS:  # the manifest's path, so a missing folder says so
        manifest = args.artifacts if args.artifacts.suffix == ".json" else args.artifacts / MANIFEST
        args.source, args.variant = manifest, args.model
    elif Path(args.model).suffix or Path(args.model).exists():
        args.source, args.variant = Path(args.model), None
    else:
        parser.error(f"--model {args.model!r} is neither a variant ({', '.join(EXPORTED)}) "
                     "nor a model file (.tflite, .onnx)")
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


def describe(path: Path, probabilities: np.ndarray, top_k: int, as_json: bool) -> str:
    """One output line for one image."""
    top = np.argsort(-probabilities, kind="stable")[:top_k]
    if not as_json:
        return f"{path}: " + ", ".join(f"{CLASSES[i]} {probabilities[i]:.1%}" for i in top)
    ranked = [{"class_id": int(i), "label": CLASSES[i], "probability": round(float(probabilities[i]), 6)}
              for i in top]
    return json.dumps({"path": str(path), **ranked[0], "top_k": ranked})


def classify(predictor, paths, args) -> bool:
    """Print a line per image; True when every image was classified."""
    ok, batch, names = True, [], []

    def flush():
        if batch:
            for name, p in zip(names, predictor.predict(np.stack(batch)), strict=True):
                print(describe(name, p, args.top_k, args.json), flush=False)
            sys.stdout.flush()
            batch.clear()
            names.clear()

    for path in paths:
        try:
            if isinstance(path, ImageError):
                raise path
            batch.append(read_image(path, args.invert, args.fit))
            names.append(path)
        except ImageError as e:
            print(e, file=sys.stderr, flush=True)
            ok = False
        if len(batch) == BATCH:
            flush()
    flush()
    return ok


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # stderr carries one line per problem: Pillow's warnings (corrupt EXIF...) are not the user's
    # business, and a possible decompression bomb is refused as an error, not warned about.
    warnings.filterwarnings("ignore", module=r"PIL\.")
    warnings.simplefilter("error", Image.DecompressionBombWarning)
    try:
        predictor = load(args.source, variant=args.variant, threads=args.threads)
        return 0 if classify(predictor, image_paths(args.images), args) else 1
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
