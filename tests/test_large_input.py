"""A 96x96 greyscale model (Fashion-MNIST upscaled, as a person-detection model's input is): large
inputs through every variant, and the memory a microcontroller needs for them (TFLite Micro's
arena, the generated C's scratch). It takes pixels 0..255 without a Rescaling layer, so its range is
given with --input-range; its data are .npz files (training images to calibrate on, test images to
gate on).

    pytest tests/test_large_input.py -s     # -s prints the figures
"""

import json

import numpy as np
import pytest

from runtime.dataset import load_split
from runtime.resizing import resized
from tests.conftest import RUNNABLE, manifest_entries, run_cli

EDGE = 96
TRAIN, CALIBRATION, GATE = 4000, 500, 500  # images: to train on, then of the .npz files


def upscaled(images: np.ndarray) -> np.ndarray:
    return np.stack([resized(image, EDGE, EDGE) for image in images])


@pytest.fixture(scope="module")
def large(keras, tmp_path_factory, test_set):
    """(the model, calibration .npz, gate .npz), the model trained on 96x96 pixels 0..255."""
    folder = tmp_path_factory.mktemp("large")
    train_images, train_labels = load_split("train")
    x = upscaled(train_images[: TRAIN + CALIBRATION])
    np.savez(folder / "calibration.npz", x=x[TRAIN:], y=train_labels[TRAIN : TRAIN + CALIBRATION])
    np.savez(folder / "gate.npz", x=upscaled(test_set[0][:GATE]), y=test_set[1][:GATE])
    layers = keras.layers
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((EDGE, EDGE, 1)),
            layers.Conv2D(8, 5, strides=3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(16, 3, strides=2, activation="relu"),
            layers.Flatten(),
            layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    model.fit(x[:TRAIN, ..., np.newaxis].astype(np.float32), train_labels[:TRAIN], epochs=3, verbose=0)
    model.save(folder / "large.keras")
    return folder / "large.keras", folder / "calibration.npz", folder / "gate.npz"


@pytest.fixture(scope="module")
def large_export(large, tmp_path_factory):
    model, calibration, gate = large
    out = tmp_path_factory.mktemp("large-export") / "artifacts"
    result = run_cli(
        "export",
        "--model",
        model,
        "--data",
        calibration,
        "--data-test",
        gate,
        "--input-range",
        "0-255",
        "--out",
        out,
    )
    print(result.stdout)
    return out


def test_a_96x96_model_goes_through_every_variant(large_export):
    manifest = json.loads((large_export / "manifest.json").read_text())
    assert [e["variant"] for e in manifest["artifacts"]] == ["keras", *RUNNABLE]
    assert manifest["artifacts"][0]["accuracy"] > 0.6
    assert manifest["input"]["shape"] == [None, EDGE, EDGE, 1]
    assert (manifest["input"]["range"], manifest["input"]["range_from"]) == ("0-255", "--input-range")
    assert (
        manifest["dataset"]["gate_images"] == GATE
        and manifest["dataset"]["calibration_images"] == CALIBRATION
    )
    evaluated = json.loads(run_cli("runtime.evaluate", "--artifacts", large_export, "--json").stdout)
    assert evaluated["ok"]


def test_a_microcontroller_holds_the_large_input(large_export):
    """The arena holds the 96x96 int8 input at least; the C scratch holds the first layer's output."""
    entries = manifest_entries(large_export)
    arena, scratch = entries["tflite-int8-micro"]["arena_bytes"], entries["c-int8"]["scratch_bytes"]
    first_output = 31 * 31 * 8  # Conv2D(8, 5, strides=3) on 96x96
    assert arena >= EDGE * EDGE and scratch >= first_output
    for name in RUNNABLE:
        print(
            f"{name:<18}{entries[name]['bytes'] / 1024:7.1f} KiB  accuracy {entries[name]['accuracy']:.4f}  "
            f"agreement {entries[name]['agreement']:.4f}"
        )
    print(f"TFLite Micro arena {arena:,} B; c-int8 scratch {scratch:,} B, {entries['c-int8']['macs']:,} MACs")
