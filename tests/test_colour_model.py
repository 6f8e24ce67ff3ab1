"""A 32x32 RGB CNN of the user's own, trained as a Keras user trains one (image_dataset_from_directory
on a folder of JPEG files per class, a Rescaling layer first), then exported with that folder and a
separate test folder: every variant gated on the user's images, which export reads as Keras did;
evaluate re-checks them, predict classifies photos, the benchmark runs every row on it, and its
bundle carries what evaluate needs.

    pytest tests/test_colour_model.py

The images are real: Fashion-MNIST images of four classes rendered in colour, each object in one
colour over a background of another, 40x40 JPEG files (resized to the model's 32x32 by the loaders).
"""

import json
import tarfile

import numpy as np
import pytest
from PIL import Image

import runtime
from runtime.images import read_images
from runtime.manifest import MANIFEST, Manifest
from runtime.resizing import resized
from runtime.testset import read_test_set
from tests.conftest import RUNNABLE, manifest_entries, run_cli, smoke_benchmark

KEPT = {1: "trouser", 3: "dress", 7: "sneaker", 8: "bag"}  # Fashion-MNIST label -> class folder
SIZE = 40  # pixels a side of the JPEG files; the model takes 32x32
TRAIN, TEST = 400, 100  # images per class


def rendered(image: np.ndarray, rng, size: int = SIZE) -> Image.Image:
    """A 28x28 image as a colour picture: its pixels are the object's opacity over the background."""
    background, colour = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    while np.abs(background - colour).sum() < 200:  # a visible object
        colour = rng.integers(0, 256, 3)
    alpha = image[..., np.newaxis] / 255
    picture = np.rint(background * (1 - alpha) + colour * alpha).astype(np.uint8)
    return Image.fromarray(picture).resize((size, size), Image.Resampling.BILINEAR)


def render_folder(folder, images, labels, per_class: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    for label, name in KEPT.items():
        (folder / name).mkdir(parents=True)
        for i in np.flatnonzero(labels == label)[:per_class]:
            rendered(images[i], rng).save(folder / name / f"{i:05d}.jpg", quality=90)


@pytest.fixture(scope="module")
def photos(tmp_path_factory, test_set):
    """train/ and test/ folders of JPEG files per class (test/ from the test split)."""
    from runtime.dataset import load_split

    folder = tmp_path_factory.mktemp("colour")
    render_folder(folder / "train", *load_split("train"), TRAIN, seed=0)
    render_folder(folder / "test", *test_set, TEST, seed=1)
    return folder


def keras_folder(keras, folder, shuffle=False):
    return keras.utils.image_dataset_from_directory(
        folder, image_size=(32, 32), batch_size=64, shuffle=shuffle, seed=0, verbose=False
    )


@pytest.fixture(scope="module")
def model(keras, photos):
    layers = keras.layers
    keras.utils.set_random_seed(0)
    net = keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            layers.Rescaling(1 / 255, name="to_unit"),
            layers.Conv2D(8, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(16, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(len(KEPT), activation="softmax"),
        ]
    )
    net.compile("adam", "sparse_categorical_crossentropy")
    net.fit(
        keras_folder(keras, photos / "train", shuffle=True), epochs=10, verbose=0, shuffle=False
    )  # it shuffles
    net.save(photos / "colour.keras")
    return photos / "colour.keras"


@pytest.fixture(scope="module")
def colour_export(model, photos, tmp_path_factory):
    out = tmp_path_factory.mktemp("colour-export") / "artifacts"
    result = run_cli(
        "export", "--model", model, "--data", photos / "train", "--data-test", photos / "test", "--out", out
    )
    print(result.stdout)
    return out


def test_every_variant_is_gated_on_the_users_photos(colour_export, photos):
    manifest = json.loads((colour_export / MANIFEST).read_text())
    assert [e["variant"] for e in manifest["artifacts"]] == ["keras", *RUNNABLE]
    assert manifest["artifacts"][0]["accuracy"] > 0.8
    assert manifest["classes"] == sorted(KEPT.values())
    assert manifest["input"] == {
        "shape": [None, 32, 32, 3],
        "dtype": "float32",
        "range": "0-255",
        "range_from": "the model's Rescaling layer to_unit",
        "colour": "rgb",
        "preprocessing": "resize",
    }
    dataset = manifest["dataset"]
    assert (dataset["kind"], dataset["images"], dataset["test"]["images"]) == ("folder", 4 * TRAIN, 4 * TEST)
    assert dataset["split"] is None and dataset["calibration_images"] == 4 * TRAIN


def keras_loaded(paths, dct_method=""):
    """Each JPEG file as image_dataset_from_directory loads it (tf.image.resize of the decoded file),
    decoded by TensorFlow's default fast integer DCT or by `dct_method`."""
    import tensorflow as tf

    decoded = (tf.io.decode_jpeg(tf.io.read_file(str(p)), channels=3, dct_method=dct_method) for p in paths)
    return np.stack([tf.image.resize(image, (32, 32)).numpy() for image in decoded])


def test_the_gate_sees_the_test_photos_as_keras_loads_them(keras, colour_export, photos):
    """Keras' image_dataset_from_directory (what training used) and export's loader give the same
    labels, and the same images but for JPEG decoding: TensorFlow decodes with libjpeg's fast integer
    DCT, Pillow with the accurate one (about a level apart); with the accurate DCT the images are
    Keras' to the rounding."""
    theirs = keras_folder(keras, photos / "test")
    images = np.concatenate([x.numpy() for x, _ in theirs])
    labels = np.concatenate([y.numpy() for _, y in theirs])
    test = read_test_set(Manifest(colour_export / MANIFEST))
    assert theirs.class_names == sorted(KEPT.values()) and np.array_equal(test.labels, labels)
    assert np.abs(test.images - images).mean() < 1.5
    accurate = keras_loaded(theirs.file_paths, "INTEGER_ACCURATE")
    assert np.array_equal(np.rint(accurate), test.images)
    keras_model = keras.saving.load_model(photos / "colour.keras", safe_mode=True)
    ours = keras_model.predict(test.images.astype(np.float32), verbose=0).argmax(1)
    assert (ours == keras_model.predict(images, verbose=0).argmax(1)).mean() >= 0.99


def test_evaluate_rechecks_every_variant_on_the_test_photos(colour_export):
    evaluated = json.loads(run_cli("runtime.evaluate", "--artifacts", colour_export, "--json").stdout)
    entries = manifest_entries(colour_export)
    assert evaluated["ok"] and evaluated["test_images"] == 4 * TEST
    for row in evaluated["variants"]:
        assert row["accuracy"] == entries[row["variant"]]["accuracy"]


def test_predict_resizes_photos_as_the_data_was(keras, colour_export, photos, test_set, tmp_path):
    """Larger photos (160x120: the aspect ratio is not kept, as Keras does not keep it) of test images:
    predict gives each the class of its own resize, and Keras' loading gives the same."""
    rng = np.random.default_rng(2)
    images, labels = test_set
    paths, truth = [], []
    for label, name in KEPT.items():
        for i in np.flatnonzero(labels == label)[TEST : TEST + 10]:
            picture = np.asarray(rendered(images[i], rng, 160))[20:140]  # 160x120
            noisy = np.clip(picture + rng.normal(0, 4, picture.shape), 0, 255).astype(np.uint8)
            paths.append(tmp_path / f"{name}-{i}.jpg")
            Image.fromarray(noisy).save(paths[-1], quality=85)
            truth.append(name)
    result = run_cli("runtime.predict", "--artifacts", colour_export, "--json", *paths)
    answers = [json.loads(line)["label"] for line in result.stdout.splitlines()]
    predictor = runtime.load(colour_export)
    pixels, _ = read_images(paths, image_input=predictor.image)
    assert answers == [predictor.classes[c] for c in predictor.classify(pixels)]
    assert sum(a == t for a, t in zip(answers, truth, strict=True)) >= 0.7 * len(paths)
    assert np.array_equal(np.rint(keras_loaded(paths, "INTEGER_ACCURATE")), pixels)
    assert np.array_equal(pixels[0], resized(np.asarray(Image.open(paths[0])), 32, 32))
    keras_model = keras.saving.load_model(photos / "colour.keras", safe_mode=True)
    keras_answers = [
        predictor.classes[c] for c in keras_model.predict(keras_loaded(paths), verbose=0).argmax(1)
    ]
    assert sum(a == k for a, k in zip(answers, keras_answers, strict=True)) >= 0.95 * len(paths)


def test_the_benchmark_runs_every_row_on_the_colour_model(colour_export, tmp_path):
    report = smoke_benchmark(colour_export, tmp_path, "benchmarks")
    rows = {row["variant"]: row for row in report["rows"]}
    assert all(rows[name]["status"] == "ok" and rows[name]["bare_p50"] > 0 for name in RUNNABLE)
    assert all(row["status"] == "ok" for row in report["cold_start"])  # bare-litert among them


def test_the_bundle_carries_what_evaluate_needs(colour_export, tmp_path):
    built = run_cli(
        "device.bundle", "--artifacts", colour_export, "--out", tmp_path / "dist", "--json"
    ).stdout
    archive = json.loads(built)["archive"]
    with tarfile.open(archive) as tar:
        tar.extractall(tmp_path / "unpacked", filter="data")
    (bundle,) = (tmp_path / "unpacked").iterdir()
    assert sorted(p.name for p in (bundle / "images").iterdir()) == [
        f"class-{i}.png" for i in range(len(KEPT))
    ]
    assert not (bundle / "data").exists()  # no Fashion-MNIST files: the gate's images are the user's
    assert list((bundle / "artifacts").glob("run-*/gate.npz"))
    evaluated = run_cli("runtime.evaluate", "--artifacts", bundle / "artifacts", "--json", cwd=bundle)
    assert json.loads(evaluated.stdout)["ok"]
