"""`python -m export --model my.keras`: a Keras classifier of your own goes through the same export,
calibration, parity gate and manifest as the tutorial's, then `runtime.evaluate`, the benchmarks and
the bundle work on it; a model that cannot be exported gets one line naming it and why, and nothing
is written.

    pytest tests/test_own_model.py

The models are real and trained here for one epoch on a few thousand training images: a small CNN
(the case that matters for int8: quantized convolution on both engines) and a 5-class model that
gives logits, its classes named by a labels file.
"""

import importlib.util
import json
import shutil
import tarfile
import zipfile
from contextlib import closing
from pathlib import Path

import numpy as np
import onnx
import pytest

import runtime
from device.wheels import ENGINES, bundled
from runtime.dataset import CLASSES, load_split
from runtime.files import sha256_file
from runtime.manifest import MANIFEST, Manifest
from runtime.parity import NO_LABELS, Figures, io_dtypes
from runtime.variants import VARIANTS
from tests.conftest import RUNNABLE, manifest_entries, run_cli, smoke_benchmark

TRAIN_IMAGES = 6000  # one epoch over these takes seconds and learns enough to be a real classifier
FIVE = ["top", "trouser", "pullover", "dress", "coat"]  # the 5-class model: Fashion-MNIST labels 0-4


def trained(keras, layers, path, classes=10, logits=False):
    """A Sequential model of `layers`, trained one epoch on training images of labels < `classes`."""
    images, labels = load_split("train")
    keep = np.flatnonzero(labels < classes)[:TRAIN_IMAGES]
    keras.utils.set_random_seed(0)
    model = keras.Sequential(layers)
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=logits))
    x = images[keep].astype(np.float32) / 255
    model.fit(x.reshape(len(x), *model.inputs[0].shape[1:]), labels[keep], epochs=1, batch_size=32, verbose=0)
    model.save(path)
    return path


@pytest.fixture(scope="module")
def cnn(keras, tmp_path_factory):
    layers = keras.layers
    return trained(
        keras,
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(8, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.BatchNormalization(),
            layers.Dropout(0.2),
            layers.Flatten(),
            layers.Dense(10, activation="softmax"),
        ],
        tmp_path_factory.mktemp("cnn") / "cnn.keras",
    )


@pytest.fixture(scope="module")
def cnn_export(cnn, tmp_path_factory):
    """The CNN exported by the real CLI: (folder, its stdout)."""
    out = tmp_path_factory.mktemp("mine") / "artifacts"
    result = run_cli("export", "--model", cnn, "--out", out)
    print(result.stdout)  # the variant table, shown with -s
    return out, result.stdout


@pytest.fixture(scope="module")
def five_export(keras, tmp_path_factory):
    """A 5-class model that gives logits, exported with its class names: (folder, stdout)."""
    folder = tmp_path_factory.mktemp("five")
    model = trained(
        keras,
        [
            keras.Input((28, 28)),
            keras.layers.Flatten(),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dense(5),
        ],
        folder / "five.keras",
        classes=5,
        logits=True,
    )
    (folder / "labels.txt").write_text("\n".join(FIVE) + "\n")
    result = run_cli("export", "--model", model, "--classes", folder / "labels.txt", "--out", folder / "out")
    print(result.stdout)
    return folder / "out", result.stdout


def expressible() -> list[str]:
    """The variants these models export to: the C generator writes Dense layers with a softmax only."""
    return [name for name in RUNNABLE if name != "c-int8"]


def skipped_c(stdout: str) -> bool:
    return any(line.split()[:2] == ["c-int8", "skipped:"] for line in stdout.splitlines())


def test_a_cnn_passes_the_gate_in_every_variant(cnn, cnn_export):
    out, stdout = cnn_export
    manifest = json.loads((out / MANIFEST).read_text())
    assert [e["variant"] for e in manifest["artifacts"]] == ["keras", *expressible()] and skipped_c(stdout)
    keras_accuracy = manifest["artifacts"][0]["accuracy"]
    assert keras_accuracy > 0.6  # it learnt something: the int8 variants have a real accuracy to keep
    for entry in manifest["artifacts"][1:]:
        figures = Figures(
            entry["accuracy"],
            entry["agreement"],
            entry["max_abs_diff"],
            0,
            entry["per_class_accuracy"],
            np.arange(0),
            io_dtypes(runtime.load(out, entry["variant"])),
        )
        assert VARIANTS[entry["variant"]].tolerance.violations(figures, keras_accuracy) == [], entry[
            "variant"
        ]
        (line,) = [line for line in stdout.splitlines() if line.split()[:1] == [entry["variant"]]]
        assert line.endswith(" ok")
    assert manifest["source"] == {"kind": "user", "model": str(cnn.resolve()), "sha256": sha256_file(cnn)}
    assert "train" not in manifest and manifest["classes"] == list(CLASSES)
    assert manifest["input"]["shape"] == [None, 28, 28, 1]
    assert {p.name for p in out.iterdir()} == {MANIFEST, manifest["reference"].split("/")[0]}  # no lock left


def test_the_cnn_convolution_runs_in_int8_on_both_engines(cnn_export):
    from ai_edge_litert.interpreter import Interpreter

    manifest = Manifest(cnn_export[0] / MANIFEST)
    interpreter = Interpreter(model_path=str(manifest.artifact("tflite-int8").verify().path))
    tensors = interpreter.get_tensor_details()
    assert {np.dtype(t["dtype"]).name for t in tensors} <= {"int8", "int32"}
    assert any(list(t["shape"]) == [8, 3, 3, 1] and t["dtype"] == np.int8 for t in tensors)  # the kernels
    graph = onnx.load(manifest.artifact("onnx-int8").verify().path).graph
    made_by = {output: node for node in graph.node for output in node.output}
    int8_weights = {i.name for i in graph.initializer if i.data_type == onnx.TensorProto.INT8}
    (conv,) = [node for node in graph.node if node.op_type == "Conv"]
    weights = made_by[conv.input[1]]
    assert weights.op_type == "DequantizeLinear" and weights.input[0] in int8_weights
    assert made_by[conv.input[0]].op_type == "DequantizeLinear"  # its input is quantized too


def test_evaluate_benchmark_and_bundle_work_on_the_cnn(cnn_export, tmp_path):
    out = cnn_export[0]
    evaluated = json.loads(run_cli("runtime.evaluate", "--artifacts", out, "--json").stdout)
    entries = manifest_entries(out)
    assert evaluated["ok"] and [row["variant"] for row in evaluated["variants"]] == expressible()
    for row in evaluated["variants"]:
        assert row["accuracy"] == entries[row["variant"]]["accuracy"]
    report = smoke_benchmark(out, tmp_path, "benchmarks/test_latency.py", timeout=300)
    rows = {row["variant"]: row for row in report["rows"]}
    for name in expressible():
        assert rows[name]["b1_p50"] > 0 and rows[name]["bytes"] == entries[name]["bytes"]
        print(f"{name:<15} b1 p50 {rows[name]['b1_p50'] * 1e6:.1f} us (smoke)")
    built = run_cli("device.bundle", "--artifacts", out, "--out", tmp_path / "dist", "--json").stdout
    archive = Path(json.loads(built)["archive"])
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
    folder = archive.name.removesuffix(".tar.gz")
    shipped = [
        name for name in expressible() if bundled(VARIANTS[name], list(ENGINES.values()))
    ]  # the device engines'
    assert shipped and {f"{folder}/artifacts/{entries[name]['path']}" for name in shipped} <= names


def test_a_five_class_model_with_named_classes_goes_end_to_end(five_export, test_set):
    out, stdout = five_export
    assert "gives logits" in stdout
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["classes"] == FIVE
    # Fashion-MNIST's labels are not its classes' (tests/test_no_labels.py): agreement only
    assert all(e["accuracy"] == NO_LABELS and "per_class_accuracy" not in e for e in manifest["artifacts"])
    lines = run_cli("runtime.evaluate", "--artifacts", out).stdout.splitlines()
    assert lines[-1] == f"all {len(expressible())} variants within tolerance" and skipped_c(stdout)
    predictor = runtime.load(out, variant="tflite-int8")
    images, labels = test_set
    trousers = images[labels == 1][:100]
    assert predictor.classes == FIVE and predictor.logits
    assert (predictor.classify(trousers) == 1).mean() > 0.8


def test_your_mediapipe_files_name_your_classes(five_export, test_set):
    """MediaPipe-ready files of a model of your own: your labels in them, in MediaPipe's answers, and
    the gate's run in MediaPipe (a logits model: MediaPipe passes the logits on)."""
    if importlib.util.find_spec("mediapipe") is None:
        pytest.skip("MediaPipe Tasks is not installed here (dev group)")
    from runtime.engines.mediapipe import MediaPipeEngine

    manifest = Manifest(five_export[0] / MANIFEST)
    trouser = np.repeat(test_set[0][test_set[1] == 1][0][..., None], 3, axis=-1)
    for variant in (v for v in VARIANTS.values() if v.format.made_for):
        artifact = manifest.artifact(variant)
        assert artifact.facts[variant.format.made_for.name]["top1_equal"] == len(test_set[1])
        with zipfile.ZipFile(artifact.path) as packed:
            assert packed.read("labels.txt").decode().splitlines() == FIVE
        with closing(MediaPipeEngine(artifact.path, threads=1)) as engine:
            assert [c.category_name for c in engine.categories(trouser)][0] == "trouser"


def saved(keras, path, inputs, features=None):
    """An untrained model: `inputs` (Keras inputs), `features` (default: the first input) flattened
    into Dense(10, softmax); saved at `path`."""
    features = inputs if features is None else features
    scores = keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(features))
    model = keras.Model(inputs, scores)
    model.save(path)
    return path


def two_inputs(keras, path):
    a, b = keras.Input((28, 28)), keras.Input((28, 28))
    return saved(keras, path, [a, b], keras.layers.Add()([a, b]))


def lambda_layer(keras, path):
    x = keras.Input((28, 28))
    return saved(keras, path, x, keras.layers.Lambda(lambda t: t * 2)(x))


def bicubic(keras, path):
    """TFLite has no bicubic resize (tf2onnx has)."""
    x = keras.Input((28, 28, 1))
    return saved(keras, path, x, keras.layers.Resizing(14, 14, interpolation="bicubic")(x))


def not_a_model(keras, path):
    path.write_text("not a zip")
    return path


REFUSED = {  # name -> (how to make the file, the reason after "error: PATH: ")
    "32x32": (
        lambda keras, path: saved(keras, path, keras.Input((32, 32))),
        "takes 32x32 greyscale images; without --data the gate runs on Fashion-MNIST, which fits 28x28 "
        "greyscale models only: give your labelled images with --data",
    ),
    "28x28x3": (
        lambda keras, path: saved(keras, path, keras.Input((28, 28, 3))),
        "takes 28x28 rgb images; without --data the gate runs on Fashion-MNIST, which fits 28x28 "
        "greyscale models only: give your labelled images with --data",
    ),
    "two inputs": (
        two_inputs,
        "has 2 inputs and 1 outputs; a classifier here takes one batch of images and gives one row of "
        "class scores",
    ),
    "lambda": (
        lambda_layer,
        "Keras cannot load it safely: Requested the deserialization of a `Lambda` layer "
        "whose `function` is a Python lambda",
    ),
    "converter": (
        bicubic,
        "cannot be exported to tflite-float32: the converter does not support ResizeBicubic",
    ),
    "missing": (lambda keras, path: path, "no such file"),
    "not a model": (not_a_model, "not a Keras model file: a .keras file is a zip archive, this is not"),
    "a folder": (lambda keras, path: path.mkdir() or path, "not a Keras model file (expected my.keras"),
}


@pytest.fixture(scope="module")
def export_cli(keras):
    import export.__main__

    return export.__main__


@pytest.mark.parametrize("name", REFUSED)
def test_a_model_that_cannot_be_exported_gets_one_line(keras, export_cli, tmp_path, capsys, name):
    make, reason = REFUSED[name]
    model = make(keras, tmp_path / "model.keras")
    out = tmp_path / "out"
    assert export_cli.main(["--model", str(model), "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"error: {model}: {reason}") and "Traceback" not in "".join(err)
    assert not out.exists()  # nothing written, not even the folder


def test_labels_of_the_wrong_length_are_refused(keras, export_cli, five_export, tmp_path, capsys):
    labels = tmp_path / "labels.txt"
    labels.write_text("\n".join(FIVE[:4]))
    model = five_export[0].parent / "five.keras"
    out = tmp_path / "out"
    assert export_cli.main(["--model", str(model), "--classes", str(labels), "--out", str(out)]) == 1
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line == f"error: {model}: gives 5 class scores, but {labels} names 4 classes"
    assert not out.exists()


def test_a_refused_model_leaves_a_published_set_as_it_was(keras, export_cli, cnn_export, tmp_path, capsys):
    out = shutil.copytree(cnn_export[0], tmp_path / "artifacts")
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    manifest = (out / MANIFEST).read_bytes()
    assert export_cli.main(["--model", str(bicubic(keras, tmp_path / "b.keras")), "--out", str(out)]) == 1
    assert "ResizeBicubic" in capsys.readouterr().err.strip().splitlines()[-1]
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before
    assert (out / MANIFEST).read_bytes() == manifest
