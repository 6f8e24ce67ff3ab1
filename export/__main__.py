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

from export import VariantSkipped
from runtime.dataset import CLASSES, data_dir, dataset_sha256, load_split, scaled
from runtime.engines import open_engine
from runtime.errors import ModelError, ParityError, ToolkitError
from runtime.files import sha256_file
from runtime.parity import compare, gate, measure, violations
from runtime.predictor import Predictor
from runtime.variants import VARIANTS, exported, format_of, resolve

CALIBRATION_IMAGES = 1000  # drawn from the training set; int8 needs at least 500
CALIBRATION_SEED = 0


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

        rng = np.random.default_rng(CALIBRATION_SEED)
        calibration = scaled(train_images[rng.choice(len(train_images), CALIBRATION_IMAGES, replace=False)])
        failures, extras = {}, {}
        for name in exported():
            variant, path = VARIANTS[name], run / VARIANTS[name].filename
            started = time.perf_counter()
            exporter = resolve(format_of(name).exporter)  # export_<fmt>(model, filepath, calibration)
            try:  # an exporter may return extra manifest fields (see extra_fields)
                extra = exporter(model, path, calibration if variant.precision == "int8" else None)
            except VariantSkipped as e:
                log(f"{name:<15} skipped: {e.reason}", flush=True)
                continue
            extras[name] = extra or {}
            engine = open_engine(path, format_of(name), threads=1)  # the variant's engine, not its suffix's
            figures[name] = measure(Predictor(engine, name, path), test_images, test_labels, reference)
            failures[name] = violations(variant, figures[name], keras_accuracy)
            verdict = "FAIL " + ", ".join(failures[name]) if failures[name] else "ok"
            log(f"{name:<15} {path.stat().st_size / 1024:7.1f} KiB  accuracy {figures[name].accuracy:.4f}"
                f"  agreement {figures[name].agreement:.4f}  max_abs_diff {figures[name].max_abs_diff:.1e}"
                f"  ({time.perf_counter() - started:.1f} s)  {verdict}", flush=True)
        published = [name for name in VARIANTS if name in figures and not failures.get(name)]
        for name in set(VARIANTS) - set(published):
            for file in [run / VARIANTS[name].filename, *extras.get(name, {}).get("companions", [])]:
                file.unlink(missing_ok=True)
        fields = {name: extra_fields(folder, extras.get(name, {})) for name in published}
        manifest_path = publish(folder, run, manifest(folder, run, published, figures, trained, data, fields))
        gate(failures, str(manifest_path))
        return manifest_path


def extra_fields(folder: Path, extra: dict) -> dict:
    """An exporter's extra manifest fields, its companion files (written beside the model: a C header,
    a compiled library) described like the model itself, so the checksum covers all that is loaded."""
    companions = [{"path": str(p.relative_to(folder)), "bytes": p.stat().st_size, "sha256": sha256_file(p)}
                  for p in extra.get("companions", [])]
    return {**extra, "companions": companions} if companions else extra


def manifest(folder: Path, run: Path, names: list[str], figures: dict, trained: dict, data: Path,
             fields: dict | None = None) -> dict:
    """The one description of the published set (see ../shared/design.md)."""
    entries = []
    for name in names:
        variant, path = VARIANTS[name], run / VARIANTS[name].filename
        entries.append({
            "variant": name, "path": str(path.relative_to(folder)), "format": variant.format,
            "precision": variant.precision, "bytes": path.stat().st_size, "sha256": sha256_file(path),
            **figures[name].summary(), **(fields or {}).get(name, {}),
        })
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
