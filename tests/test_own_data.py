"""`python -m export --model M --data D`: a classifier of the user's own calibrated and gated on the
user's labelled images, here scikit-learn's bundled handwritten digits (1,797 real 8x8 greyscale
images, no download), given as an .npz and as a folder of PNG files. Every variant is published,
accuracy is measured against the digits' own labels, and evaluate and predict work on it.

    pytest tests/test_own_data.py

The model is a small dense one trained for seconds on the images export keeps for calibration, so
the gate's accuracy is on images it never saw.
"""

import json
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

import runtime
from export.data import GATE_SHARE, SPLIT_SEED, split
from export.datasets import Arrays
from runtime.files import sha256_file
from runtime.manifest import MANIFEST, Manifest
from runtime.parity import Figures
from runtime.testset import read_test_set
from runtime.variants import VARIANTS
from tests.conftest import RUNNABLE, manifest_entries, run_cli

CLASSES = [str(d) for d in range(10)]


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """digits.npz (x uint8 0..255, y, classes) and the same images as a folder of PNGs per class, in
    the same order (by class, then as scikit-learn gives them), so both are split alike."""
    from sklearn.datasets import load_digits

    folder = tmp_path_factory.mktemp("digits")
    loaded = load_digits()
    order = np.argsort(loaded.target, kind="stable")
    x, y = np.rint(loaded.images[order] * 255 / 16).astype(np.uint8), loaded.target[order]
    np.savez(folder / "digits.npz", x=x, y=y, classes=np.array(CLASSES))
    for i, (image, label) in enumerate(zip(x, y, strict=True)):
        (folder / "png" / str(label)).mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(folder / "png" / str(label) / f"{i:04d}.png")
    return folder


@pytest.fixture(scope="module")
def model(keras, digits):
    """Flatten -> Dense(32, relu) -> Dense(10, softmax), trained on the .npz's calibration split."""
    arrays = Arrays(digits / "digits.npz")
    calibration, _ = split(arrays.y, CLASSES, arrays)
    keras.utils.set_random_seed(0)
    layers = keras.layers
    net = keras.Sequential(
        [
            keras.Input((8, 8)),
            layers.Flatten(),
            layers.Dense(32, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    )
    net.compile("adam", "sparse_categorical_crossentropy")
    net.fit(
        arrays.x[calibration] / np.float32(255), arrays.y[calibration], epochs=30, batch_size=32, verbose=0
    )
    net.save(digits / "digits.keras")
    return digits / "digits.keras"


def exported(model, data, out):
    result = run_cli("export", "--model", model, "--data", data, "--out", out)
    print(result.stdout)  # the variant table, shown with -s
    return out


@pytest.fixture(scope="module")
def npz_export(model, digits, tmp_path_factory):
    return exported(model, digits / "digits.npz", tmp_path_factory.mktemp("npz") / "artifacts")


@pytest.fixture(scope="module")
def folder_export(model, digits, tmp_path_factory):
    return exported(model, digits / "png", tmp_path_factory.mktemp("folder") / "artifacts")


def assert_every_variant_passed_on_the_digits(out):
    manifest = json.loads((out / MANIFEST).read_text())
    assert [e["variant"] for e in manifest["artifacts"]] == ["keras", *RUNNABLE]  # every variant, c-int8 too
    keras_accuracy = manifest["artifacts"][0]["accuracy"]
    assert keras_accuracy > 0.9
    for entry in manifest["artifacts"][1:]:
        figures = Figures(entry["accuracy"], entry["agreement"], entry["max_abs_diff"], 0, None, np.arange(0))
        recorded = replace(VARIANTS[entry["variant"]].tolerance, integer_io=None)  # dtypes: not recorded
        assert recorded.violations(figures, keras_accuracy) == [], entry
        assert len(entry["per_class_accuracy"]) == 10
    assert manifest["classes"] == CLASSES
    assert manifest["input"] | {"range_from": None} == {
        "shape": [None, 8, 8],
        "dtype": "float32",
        "range": "0-1",
        "range_from": None,
        "colour": "greyscale",
        "preprocessing": "resize",
    }
    return manifest


def test_digits_as_an_npz_pass_the_gate_in_every_variant(npz_export, digits):
    manifest = assert_every_variant_passed_on_the_digits(npz_export)
    dataset = manifest["dataset"]
    assert dataset["kind"] == "npz" and dataset["sha256"] == sha256_file(digits / "digits.npz")
    assert dataset["split"] == {"seed": SPLIT_SEED, "gate_share": GATE_SHARE, "per": "class"}
    arrays = Arrays(digits / "digits.npz")
    _, gate = split(arrays.y, CLASSES, arrays)
    test = read_test_set(Manifest(npz_export / MANIFEST))  # the gate's images, kept beside reference.npz
    assert np.array_equal(test.images, arrays.x[gate]) and np.array_equal(test.labels, arrays.y[gate])
    assert dataset["gate_images"] == len(gate) and dataset["calibration_images"] == 1797 - len(gate)
    entries = manifest_entries(npz_export)
    assert entries["tflite-int8"]["quantization"]["images"] == 100  # the recipe's, from the calibration split
    header = Manifest(npz_export / MANIFEST).artifact("c-int8").companions[0].path.read_text()
    assert (
        "#define FMNIST_HEIGHT 8\n#define FMNIST_WIDTH 8\n" in header
        and "#define FMNIST_INPUTS 64\n" in header
    )


def test_digits_as_a_folder_of_pngs_pass_and_evaluate_rechecks_them(folder_export, npz_export):
    manifest = assert_every_variant_passed_on_the_digits(folder_export)
    assert manifest["dataset"]["kind"] == "folder" and manifest["dataset"]["images"] == 1797
    from_files, from_arrays = (read_test_set(Manifest(out / MANIFEST)) for out in (folder_export, npz_export))
    assert np.array_equal(from_files.images, from_arrays.images)  # the same split, the same pixels
    assert (
        manifest_entries(folder_export)["keras"]["accuracy"]
        == manifest_entries(npz_export)["keras"]["accuracy"]
    )
    evaluated = json.loads(run_cli("runtime.evaluate", "--artifacts", folder_export, "--json").stdout)
    entries = manifest_entries(folder_export)
    assert evaluated["ok"] and [row["variant"] for row in evaluated["variants"]] == RUNNABLE
    for row in evaluated["variants"]:
        assert row["accuracy"] == entries[row["variant"]]["accuracy"]
    assert evaluated["test_images"] == manifest["dataset"]["gate_images"]


def test_predict_gives_a_digit_file_the_class_of_its_pixels(folder_export, digits):
    files = sorted((digits / "png").rglob("*.png"))[::90]
    result = run_cli("runtime.predict", "--artifacts", folder_export, "--json", *files)
    records = [json.loads(line) for line in result.stdout.splitlines()]
    predictor = runtime.load(folder_export)
    pixels = np.stack([np.asarray(Image.open(f)) for f in files])  # 8x8 already: the resize keeps them
    assert [r["class_id"] for r in records] == predictor.classify(pixels).tolist()
    right = [r["label"] == f.parent.name for r, f in zip(records, files, strict=True)]
    assert sum(right) >= 0.9 * len(files)
