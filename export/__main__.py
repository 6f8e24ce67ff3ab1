"""Export a Keras classifier to every variant, prove each matches Keras, then publish the set.

    python -m export [--artifacts artifacts]            # the tutorial model `make train` left there
    python -m export --model my.keras [--out artifacts/mine] [--classes labels.txt]

The tutorial's model.keras is checksum-checked against train.json; a model of your own needs none:
any Keras classifier of 28x28 or 28x28x1 greyscale images in [0, 1] (export/model_source.py). Both
are loaded with safe_mode=True. Writes the TFLite and ONNX variants, reference.npz and manifest.json
(last, atomically). A variant outside its tolerance is not published and the exit status is 1; a
model that cannot be exported gets one line saying why, exit status 1, and nothing is published.
"""

import argparse
import re
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from export import VariantSkipped
from export.model_source import CheckedModel, ModelSource, load_checked, named, own, tutorial
from runtime.dataset import data_dir, dataset_sha256, load_split
from runtime.engines import open_engine
from runtime.errors import ModelError, ParityError, ToolkitError, one_line
from runtime.files import sha256_file
from runtime.parity import compare, gate, measure, violations
from runtime.predictor import Predictor, is_probability, softmax
from runtime.variants import VARIANTS, exported, format_of, resolve

# How the converters name an operation they have no kernel for (TFLite; tf2onnx; onnx's checker).
UNSUPPORTED_OP = re.compile(
    r"'tf\.(\w+)' op is neither a custom op nor a flex op"
    r"|Tensorflow op \[[^\]]*: (\w+)\] is not supported|No Op registered for (\w+)"
)


def export_all(folder: Path, source: ModelSource | None = None, log=print) -> Path:
    """Export, check and publish every variant of `source` (default: the tutorial model in `folder`)
    into `folder`; returns the manifest path, or raises ParityError after publishing the rest."""
    from export.publish import ExportLock, new_run_folder, publish

    source = source or tutorial(folder)  # before TensorFlow is imported: a refusal is instant
    data = data_dir()
    checked = load_checked(source)
    with ExportLock(folder):
        run = new_run_folder(folder)
        try:
            figures, failures, recorded = export_into(run, source, checked, data, log)
        except BaseException:  # a converter refused the model, or we were interrupted: no trace left
            shutil.rmtree(run, ignore_errors=True)
            raise
        published = [name for name in VARIANTS if name in figures and not failures.get(name)]
        for name in set(figures) - set(published):
            for file in [run / VARIANTS[name].filename, *recorded.get(name, {}).get("companions", [])]:
                file.unlink(missing_ok=True)
        recorded = {name: described_companions(folder, recorded.get(name, {})) for name in published}
        described = manifest(folder, run, published, figures, recorded, checked, source, data)
        manifest_path = publish(folder, run, described)
    gate(failures, str(manifest_path))
    return manifest_path


def export_into(
    run: Path, source: ModelSource, checked: CheckedModel, data: Path, log
) -> tuple[dict, dict, dict]:
    """Write the Keras copy, its reference outputs and every variant into `run`; each variant's
    figures, broken tolerances and the facts its manifest entry records besides (how it was made,
    what an exporter returns: an arena size, companion files)."""
    from export.int8 import Int8Plan

    (train_images, _), (test_images, test_labels) = load_split("train", data), load_split("test", data)
    shutil.copyfile(source.path, run / VARIANTS["keras"].filename)
    if sha256_file(run / VARIANTS["keras"].filename) != source.sha256:
        raise ModelError(source.path, "changed while it was being exported; export it again")

    started = time.perf_counter()
    reference = checked.model.predict(checked.as_input(test_images), batch_size=1000, verbose=0)
    if not is_probability(reference):
        reference = softmax(reference)  # as the runtime does for a model that gives logits
        log("keras           gives logits: compared as probabilities (their softmax), as the runtime does")
    figures = {"keras": compare(reference, test_labels, reference, time.perf_counter() - started)}
    np.savez_compressed(run / "reference.npz", probabilities=reference, labels=test_labels)
    keras_accuracy = figures["keras"].accuracy
    log(f"keras           reference outputs on {len(test_images)} test images, accuracy {keras_accuracy:.4f}")

    int8 = Int8Plan(run.parent, source.sha256, train_images, checked.image_shape)
    failures, recorded = {}, {}
    for name in exported():
        variant, path = VARIANTS[name], run / VARIANTS[name].filename
        started = time.perf_counter()
        exporter = resolve(format_of(name).exporter)  # export_<fmt>(model, filepath, calibration, ...)
        try:
            extra = exporter(checked.model, path, *int8.arguments(name, exporter))
        except VariantSkipped as e:  # no C compiler here; an op the C generator cannot express
            log(f"{name:<15} skipped: {e.reason}", flush=True)
            continue
        except Exception as e:  # converters raise their own types; each means "this model cannot be"
            raise ModelError(source.path, f"cannot be exported to {name}: {refusal(e)}") from None
        recorded[name] = {**(extra or {}), **int8.recorded.get(name, {})}
        engine = open_engine(path, format_of(name), threads=1)  # the variant's engine, not its suffix's
        figures[name] = measure(
            Predictor(engine, name, path, checked.classes), test_images, test_labels, reference
        )
        failures[name] = violations(variant, figures[name], keras_accuracy)
        failures[name] += int8.hints(name, checked.model, test_images) if failures[name] else []
        verdict = "FAIL " + ", ".join(failures[name]) if failures[name] else "ok"
        log(
            f"{name:<15} {path.stat().st_size / 1024:7.1f} KiB  accuracy {figures[name].accuracy:.4f}"
            f"  agreement {figures[name].agreement:.4f}  max_abs_diff {figures[name].max_abs_diff:.1e}"
            f"  ({time.perf_counter() - started:.1f} s)  {verdict}",
            flush=True,
        )
    return figures, failures, recorded


def described_companions(folder: Path, recorded: dict) -> dict:
    """A variant's recorded facts with its companion files (written beside the model: a C header, a
    compiled library) described like the model itself, so the checksum covers all that is loaded."""
    companions = [
        {"path": str(p.relative_to(folder)), "bytes": p.stat().st_size, "sha256": sha256_file(p)}
        for p in recorded.get("companions", [])
    ]
    return {**recorded, "companions": companions} if companions else recorded


def refusal(error: Exception) -> str:
    """A converter's error as one line: the operations it has no kernel for, when it names them."""
    ops = sorted({op for match in UNSUPPORTED_OP.findall(str(error)) for op in match if op})
    return f"the converter does not support {', '.join(ops)}" if ops else one_line(error)


def manifest(
    folder: Path,
    run: Path,
    names: list[str],
    figures: dict,
    recorded: dict[str, dict],
    checked: CheckedModel,
    source: ModelSource,
    data: Path,
) -> dict:
    """The one description of the published set (see ../shared/design.md); `recorded` adds facts to a
    variant's entry (an int8 variant's "quantization": how it was made)."""
    entries = []
    for name in names:
        variant, path = VARIANTS[name], run / VARIANTS[name].filename
        entries.append(
            {
                "variant": name,
                "path": str(path.relative_to(folder)),
                "format": variant.format,
                "precision": variant.precision,
                "bytes": path.stat().st_size,
                "sha256": sha256_file(path),
                **figures[name].summary(),
                **recorded.get(name, {}),
            }
        )
    return {
        "classes": checked.classes,
        "input": {
            "shape": [None, *checked.image_shape],
            "dtype": "float32",
            "scaling": "pixels / 255",
            "layout": "greyscale, light object on a black background",
        },
        "artifacts": entries,
        "reference": str((run / "reference.npz").relative_to(folder)),
        "reference_sha256": sha256_file(run / "reference.npz"),
        "dataset": dataset_sha256(data),
        **source.origin,  # "train" (the tutorial's figures) or "source" (a model of the user's own)
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m export", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--artifacts",
        type=Path,
        default=Path("artifacts"),
        metavar="DIR",
        help="folder holding the tutorial's model.keras and train.json (python -m train), "
        "where the export is published unless --out says otherwise (default: "
        "artifacts)",
    )
    parser.add_argument(
        "--model",
        type=Path,
        metavar="FILE",
        help="a Keras classifier of your own (.keras) to export instead, no train.json "
        "needed: one input of 28x28 or 28x28x1 greyscale in [0, 1], one row of class "
        "scores out (default: the tutorial's DIR/model.keras)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="folder to publish the variants and manifest.json in (default: --artifacts)",
    )
    parser.add_argument(
        "--classes",
        type=Path,
        metavar="LABELS",
        help="text file with one class name per line, in output order (default: the "
        "Fashion-MNIST names for 10 outputs, else 'class 0', 'class 1', ...)",
    )
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        source = own(args.model) if args.model else tutorial(args.artifacts)
        if args.classes:
            source = named(source, args.classes)
        path = export_all(args.out or args.artifacts, source)
    except ParityError as e:
        print(f"error: parity gate failed: {e}", file=sys.stderr)
        return 1
    except (ToolkitError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"published {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
