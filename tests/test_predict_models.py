"""Bare model files a user brings (issue 10): logits, NHWC input, any class count with names, and
the ones refused with one line; `--json` records every input in order; `--workers` changes nothing
but the speed. All on tiny models built without TensorFlow."""

import hashlib
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from runtime.dataset import CLASSES
from tests.conftest import ROOT, run_cli
from tests.test_bad_images import UNPRIVILEGED
from tests.tiny import TinyModel


@pytest.fixture(scope="module")
def pngs(test_set, tmp_path_factory):
    folder = tmp_path_factory.mktemp("pngs")
    paths = [folder / f"{i:03d}.png" for i in range(6)]
    for path, image in zip(paths, test_set[0], strict=False):
        Image.fromarray(image).save(path)
    return paths, test_set[0][:6]


def predict(*args, check=False):
    return run_cli("runtime.predict", *args, check=check)


@pytest.mark.parametrize("fmt", ["tflite", "onnx"])
@pytest.mark.parametrize("kind", ["logits", "nhwc", "rgb", "five-classes"])
def test_bare_models_of_other_shapes_give_probabilities(tmp_path, pngs, fmt, kind):
    model = {
        "logits": TinyModel(softmax=False),
        "nhwc": TinyModel(input_shape=(28, 28, 1)),
        "rgb": TinyModel(input_shape=(28, 28, 3)),  # MediaPipe's layout: given the grey image thrice
        "five-classes": TinyModel(classes=5),
    }[kind]
    path = getattr(model, fmt)(tmp_path / f"{kind}.{fmt}")
    paths, images = pngs
    result = predict("--model", path, "--json", "--top-k", "2", *paths, check=True)
    records = [json.loads(line) for line in result.stdout.splitlines()]
    expected = model.reference(np.repeat(images[..., None], 3, axis=-1) if kind == "rgb" else images)
    assert [r["path"] for r in records] == list(map(str, paths))
    for record, p in zip(records, expected, strict=True):
        assert record["class_id"] == int(p.argmax())
        assert record["probability"] == pytest.approx(float(p.max()), abs=1e-5)
        assert record["variant"] == path.name and len(record["model_sha256"]) == 12
    names = [f"class {i}" for i in range(5)] if kind == "five-classes" else list(CLASSES)
    assert all(r["label"] == names[r["class_id"]] for r in records)
    if kind == "logits":
        assert result.stderr == f"note: {path.name} returns logits; probabilities are their softmax\n"
    else:
        assert result.stderr == ""


def test_class_names_from_a_labels_file(tmp_path, pngs):
    path = TinyModel(classes=5).onnx(tmp_path / "five.onnx")
    labels = tmp_path / "labels.txt"
    labels.write_text("cat\ndog\n\nbird\nfish\nfrog\n")
    paths, images = pngs
    named = predict("--model", path, "--classes", labels, paths[0], check=True)
    best = int(TinyModel(classes=5).reference(images[:1])[0].argmax())
    assert named.stdout.startswith(f"{paths[0]}: {['cat', 'dog', 'bird', 'fish', 'frog'][best]} ")
    default = predict("--model", path, paths[0], check=True)
    assert default.stdout.startswith(f"{paths[0]}: class {best} ")
    labels.write_text("cat\ndog\n")
    wrong = predict("--model", path, "--classes", labels, paths[0])
    assert wrong.returncode == 1 and wrong.stdout == ""
    assert wrong.stderr == f"error: {path}: gives 5 class scores, but 2 class names were given\n"


def test_top_k_beyond_the_class_count_is_a_usage_error(tiny_models, pngs):
    result = predict("--model", tiny_models["tflite-float32"], "--top-k", "11", pngs[0][0])
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines()[-1] == (
        "python -m runtime.predict: error: --top-k 11 is more than the model's 10 classes"
    )


def two_inputs(path):
    import onnx
    from onnx import TensorProto, helper

    inputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["N", 28, 28]) for n in ("a", "b")]
    output = helper.make_tensor_value_info("s", TensorProto.FLOAT, ["N", 28, 28])
    graph = helper.make_graph([helper.make_node("Add", ["a", "b"], ["s"])], "two", inputs, [output])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), path)
    return path


@pytest.mark.parametrize(
    "case, reason",
    [
        ("4x4", "expects input shape [batch, 4, 4]; images of 8 to 512 pixels a side (height and width)"),
        ("two-inputs", "has 2 inputs and 1 outputs; a classifier here takes one batch of images"),
    ],
)
def test_models_that_cannot_classify_these_images_are_one_line(tmp_path, pngs, case, reason):
    path = (
        TinyModel(input_shape=(4, 4)).tflite(tmp_path / "m.tflite")
        if case == "4x4"
        else two_inputs(tmp_path / "two.onnx")
    )
    result = predict("--model", path, pngs[0][0])
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith(f"error: {path}: {reason}") and len(result.stderr.splitlines()) == 1


def test_json_has_one_record_per_input_in_order_failures_included(tiny_models, tmp_path, pngs):
    paths, _ = pngs
    missing, text = tmp_path / "missing.png", tmp_path / "notes.png"
    text.write_text("hello\n")
    inputs = [paths[0], missing, paths[1], text, paths[2]]
    result = predict("--model", tiny_models["tflite-int8"], "--json", *inputs)
    assert result.returncode == 1
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["path"] for r in records] == list(map(str, inputs))
    assert [("error" in r) for r in records] == [False, True, False, True, False]
    assert records[1]["error"] == "no such file or directory"
    assert all(r["variant"] == "tiny_int8.tflite" for r in records)
    assert result.stderr.splitlines() == [
        f"error: {missing}: no such file or directory",
        f"error: {text}: {records[3]['error']}",
    ]


def test_workers_give_the_same_records_in_the_same_order(tiny_models, test_set, tmp_path):
    """Three chunks of 250 with a damaged file, then a folder that cannot be listed, then one more
    file: each record in its place and the model's own digest, whatever the number of workers (a
    listing problem among a folder's images once hung the workers)."""
    folder = tmp_path / "many"
    (folder / "locked").mkdir(parents=True)
    for i, image in enumerate(test_set[0][:600]):
        Image.fromarray(image).save(folder / f"{i:04d}.png")
    (folder / "0300.png").write_bytes(b"damaged")
    Image.fromarray(test_set[0][0]).save(folder / "locked" / "unseen.png")
    model = tiny_models["onnx-int8"]
    command = [*UNPRIVILEGED, sys.executable, "-m", "runtime.predict", "--model", str(model), "--json"]
    inputs = [str(folder), str(folder / "0001.png")]
    (folder / "locked").chmod(0)
    try:
        runs = [
            subprocess.run(
                [*command, "--workers", w, *inputs], cwd=ROOT, capture_output=True, text=True, timeout=300
            )
            for w in ("1", "2")
        ]
    finally:
        (folder / "locked").chmod(0o755)
    assert runs[0].returncode == runs[1].returncode == 1
    assert runs[0].stdout == runs[1].stdout and runs[0].stderr == runs[1].stderr
    records = [json.loads(line) for line in runs[0].stdout.splitlines()]
    paths = [str(folder / f"{i:04d}.png") for i in range(600)]
    assert [r["path"] for r in records] == [*paths, str(folder / "locked"), paths[1]]
    assert [i for i, r in enumerate(records) if "error" in r] == [300, 600]
    assert records[600]["error"] == "cannot list it (Permission denied)"
    assert {r["model_sha256"] for r in records} == {hashlib.sha256(model.read_bytes()).hexdigest()[:12]}
    assert runs[0].stderr.splitlines() == [
        f"error: {paths[300]}: {records[300]['error']}",
        f"error: {folder / 'locked'}: cannot list it (Permission denied)",
    ]
