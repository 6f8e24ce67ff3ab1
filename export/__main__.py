"""Export the trained model to every variant, prove each matches Keras, then publish the set.

    python -m export [--artifacts artifacts]

Reads ARTIFACTS/model.keras (checksum-checked against train.json, loaded with safe_mode=True) and
writes the TFLite and ONNX variants, reference.npz and manifest.json (last, atomically). A variant
outside its tolerance is not published and the exit status is 1.
"""

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from runtime.dataset import CLASSES, data_dir, dataset_sha256, load_split, scaled
from runtime.errors import ModelError, ParityError, ToolkitError
from runtime.files import sha256_file
from runtime.loader import load_file
from runtime.parity import compare, gate, measure, violations
from runtime.variants import VARIANTS, exported, format_of, resolve


def read_trained(folder: Path) -> dict:
    """train.json, after checking that model.keras is the very file it describes."""
    figures_path, model_path = folder / "train.json", folder / "model.keras"
    try:
        figures = json.loads(figures_path.read_text())
    except FileNotFoundError:
        raise ModelError(figures_path, "missing; run `make train` first") from None
    except (OSError, ValueError) as e:
        raise ModelError(figures_path, f"unreadable ({e})") from None
    if not model_path.is_file() or sha256_file(model_path) != figures.get("model_sha256"):
        raise ModelError(model_path, "missing or does not match train.json; run `make train` again")
    return figures


def load_keras(path: Path):
    """The Keras model, in safe mode: a model file carrying Python code is refused, never run."""
    import keras

    try:
        return keras.saving.load_model(path, safe_mode=True)
    except Exception as e:  # safe mode's ValueError, TypeError, OSError...: all mean "cannot trust it"
        raise ModelError(path, f"Keras cannot load it safely: {str(e).splitlines()[0]}") from None


def export_all(folder: Path, log=print) -> Path:
    """Export, check and publish every variant; returns the manifest path or raises ParityError."""
    from export.int8 import Int8Plan
    from export.publish import ExportLock, new_run_folder, publish

    with ExportLock(folder):
        trained = read_trained(folder)  # before TensorFlow is imported: a refusal is instant
        data = data_dir()
        (train_images, _), (test_images, test_labels) = load_split("train", data), load_split("test", data)
        model = load_keras(folder / "model.keras")
        run = new_run_folder(folder)
        shutil.copyfile(folder / "model.keras", run / VARIANTS["keras"].filename)

        started = time.perf_counter()
        reference = model.predict(scaled(test_images), batch_size=1000, verbose=0)
        figures = {"keras": compare(reference, test_labels, reference, time.perf_counter() - started)}
        np.savez_compressed(run / "reference.npz", probabilities=reference, labels=test_labels)
        keras_accuracy = figures["keras"].accuracy
        log(f"keras           reference outputs on {len(test_images)} test images, "
            f"accuracy {keras_accuracy:.4f}")

        int8 = Int8Plan(folder, trained["model_sha256"], train_images)
        failures = {}
        for name in exported():
            variant, path = VARIANTS[name], run / VARIANTS[name].filename
            started = time.perf_counter()
            exporter = resolve(format_of(name).exporter)  # export_<fmt>(model, filepath, calibration, ...)
            exporter(model, path, *int8.arguments(name, exporter))
            figures[name] = measure(load_file(path, isolate=False), test_images, test_labels, reference)
            failures[name] = violations(variant, figures[name], keras_accuracy)
            failures[name] += int8.hints(name, model, test_images) if failures[name] else []
            verdict = "FAIL " + ", ".join(failures[name]) if failures[name] else "ok"
            log(f"{name:<15} {path.stat().st_size / 1024:7.1f} KiB  accuracy {figures[name].accuracy:.4f}"
                f"  agreement {figures[name].agreement:.4f}  max_abs_diff {figures[name].max_abs_diff:.1e}"
                f"  ({time.perf_counter() - started:.1f} s)  {verdict}", flush=True)
        published = [name for name in VARIANTS if not failures.get(name)]
        for name in set(VARIANTS) - set(published):
            (run / VARIANTS[name].filename).unlink()
        described = manifest(folder, run, published, figures, trained, data, int8.recorded)
        manifest_path = publish(folder, run, described)
        gate(failures, str(manifest_path))
        return manifest_path


def manifest(folder: Path, run: Path, names: list[str], figures: dict, trained: dict, data: Path,
             quantization: dict[str, dict] | None = None) -> dict:
    """The one description of the published set (see ../shared/design.md); an int8 entry made by a
    recipe records it as "quantization"."""
    entries = []
    for name in names:
        variant, path = VARIANTS[name], run / VARIANTS[name].filename
        entries.append({
            "variant": name, "path": str(path.relative_to(folder)), "format": variant.format,
            "precision": variant.precision, "bytes": path.stat().st_size, "sha256": sha256_file(path),
            **figures[name].summary(),
        })
        if name in (quantization or {}):
            entries[-1]["quantization"] = quantization[name]
    return {
        "classes": list(CLASSES),
        "input": {"shape": [None, 28, 28], "dtype": "float32", "scaling": "pixels / 255",
                  "layout": "greyscale, light object on a black background"},
        "artifacts": entries,
        "reference": str((run / "reference.npz").relative_to(folder)),
        "reference_sha256": sha256_file(run / "reference.npz"),
        "dataset": dataset_sha256(data),
        "train": {k: trained[k] for k in ("epochs", "batch_size", "seed", "seconds", "accuracy")},
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m export", description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", type=Path, default=Path("artifacts"), help="artifacts folder")
    args = parser.parse_args(argv)
    try:
        path = export_all(args.artifacts)
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
