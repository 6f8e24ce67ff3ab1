"""`python -m runtime.predict`: what a person and a machine read, exit statuses, and one line per
problem with no traceback."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import runtime
from runtime.dataset import CLASSES
from runtime.manifest import MANIFEST, Manifest
from tests.conftest import ROOT, run_cli, run_python


def problems(result) -> list[str]:
    """stderr lines: every one must report a problem (LiteRT's own banner is kept off stderr)."""
    return result.stderr.splitlines()


@pytest.fixture(scope="module")
def photos(test_set, tmp_path_factory):
    """Six test images as PNG: two at the top, four in nested folders beside a non-image file."""
    folder = tmp_path_factory.mktemp("photos")
    (folder / "shoes" / "boots").mkdir(parents=True)
    paths = [
        folder / "a.png",
        folder / "b.png",
        folder / "shoes" / "c.png",
        folder / "shoes" / "d.PNG",
        folder / "shoes" / "boots" / "e.png",
        folder / "shoes" / "boots" / "f.png",
    ]
    for path, image in zip(paths, test_set[0], strict=False):
        Image.fromarray(image).save(path, format="PNG")
    (folder / "shoes" / "notes.txt").write_text("not an image, and not looked at\n")
    return folder, paths, test_set[0][: len(paths)]


def test_one_image_one_readable_line(artifacts, photos):
    _, paths, images = photos
    result = run_cli("runtime.predict", "--artifacts", artifacts, paths[0])
    probabilities = runtime.load(artifacts).predict(images[:1])[0]
    best = int(probabilities.argmax())
    assert result.stdout == f"{paths[0]}: {CLASSES[best]} {probabilities[best]:.1%}\n"
    assert problems(result) == []


def test_folders_recursively_with_top_k_as_json(artifacts, photos):
    folder, paths, images = photos
    result = run_cli(
        "runtime.predict",
        "--artifacts",
        artifacts,
        "--model",
        "onnx-float32",
        "--top-k",
        "3",
        "--json",
        folder,
    )
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert sorted(row["path"] for row in rows) == sorted(map(str, paths))
    expected = runtime.load(artifacts, variant="onnx-float32").predict(images)
    for row in rows:
        p = expected[[str(path) for path in paths].index(row["path"])]
        assert [k["class_id"] for k in row["top_k"]] == list(np.argsort(-p, kind="stable")[:3])
        assert (row["class_id"], row["label"]) == (row["top_k"][0]["class_id"], CLASSES[row["class_id"]])
        assert row["probability"] == pytest.approx(float(p.max()), abs=1e-6)
        assert [k["probability"] for k in row["top_k"]] == sorted(
            (k["probability"] for k in row["top_k"]), reverse=True
        )


@pytest.mark.parametrize("variant", ["tflite-float32", "onnx-int8"])
def test_model_given_as_a_file(artifacts, photos, variant):
    _, paths, _ = photos
    model = Manifest(artifacts / MANIFEST).artifact(variant).verify().path
    by_file = run_cli("runtime.predict", "--model", model, "--threads", "2", *paths)
    by_name = run_cli("runtime.predict", "--artifacts", artifacts, "--model", variant, *paths)
    assert by_file.stdout == by_name.stdout and len(by_file.stdout.splitlines()) == len(paths)


def test_bad_images_are_reported_and_the_others_still_predicted(artifacts, photos, tmp_path):
    _, paths, _ = photos
    (tmp_path / "empty").mkdir()
    (tmp_path / "fake.png").write_text("hello")
    result = run_cli(
        "runtime.predict",
        "--artifacts",
        artifacts,
        paths[0],
        tmp_path / "missing.png",
        tmp_path / "fake.png",
        tmp_path / "empty",
        paths[1],
        check=False,
    )
    assert result.returncode == 1
    assert [line.split(": ")[0] for line in result.stdout.splitlines()] == [str(paths[0]), str(paths[1])]
    assert problems(result) == [
        f"error: {tmp_path / 'missing.png'}: no such file or directory",
        f"error: {tmp_path / 'fake.png'}: a text file, not an image",
        f"error: {tmp_path / 'empty'}: no images in this folder or below (looked for "
        ".png .jpg .jpeg .gif .bmp .tif .tiff .webp .ppm .pgm .pbm)",
    ]


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "the following arguments are required: IMAGE"),
        (["--model", "tflite-in8", "x.png"], "--model 'tflite-in8' is neither a variant"),
        (["--top-k", "0", "x.png"], "must be 1 or more"),
        (["--model", "keras", "x.png"], "--model keras needs TensorFlow; the runtime runs tflite-float32"),
        (["--threads", "two", "x.png"], "invalid positive value"),
        (["--colour", "x.png"], "unrecognized arguments: --colour"),
    ],
    ids=["no images", "unknown variant", "top-k 0", "keras", "threads", "unknown flag"],
)
def test_usage_errors_exit_2(args, message):
    result = run_cli("runtime.predict", *args, check=False)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_without_the_first_default_the_next_published_variant_runs_and_says_so(artifacts_copy, photos):
    """An int8 gate that failed leaves tflite-int8 unpublished: predict still runs, without --model."""
    manifest = artifacts_copy / MANIFEST
    data = json.loads(manifest.read_text())
    data["artifacts"] = [entry for entry in data["artifacts"] if entry["variant"] != "tflite-int8"]
    manifest.write_text(json.dumps(data))
    result = run_cli("runtime.predict", "--artifacts", artifacts_copy, "--json", photos[1][0])
    assert json.loads(result.stdout)["variant"] == "onnx-int8"
    assert problems(result) == ["note: tflite-int8 is not published here; running onnx-int8"]


def test_help_names_every_model_file_the_runtime_runs():
    """From the registry: generated C runs too."""
    result = run_cli("runtime.predict", "--help")
    assert "or a model file (.c, .onnx, .tflite)" in " ".join(result.stdout.split())


def tampered(artifacts_copy):
    """The artifacts folder with one bit of the default variant's file flipped."""
    path = Manifest(artifacts_copy / MANIFEST).artifact("tflite-int8").verify().path
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 1
    path.write_bytes(bytes(data))
    return artifacts_copy


def junk_model(artifacts_copy):
    (artifacts_copy / "junk.tflite").write_bytes(bytes(64))
    return artifacts_copy / "junk.tflite"


@pytest.mark.parametrize(
    "arguments, reason",
    [
        (lambda a: ["--artifacts", a.parent / "nowhere"], "no manifest here; run `make train export` first"),
        (lambda a: ["--artifacts", tampered(a)], "checksum mismatch"),
        (lambda a: ["--model", junk_model(a)], "junk.tflite: "),
    ],
    ids=["no artifacts", "tampered", "unreadable model"],
)
def test_model_problems_are_one_line_exit_1(artifacts_copy, photos, arguments, reason):
    result = run_cli("runtime.predict", *arguments(artifacts_copy), photos[1][0], check=False)
    lines = problems(result)
    assert result.returncode == 1 and result.stdout == ""
    assert len(lines) == 1 and lines[0].startswith("error: ") and reason in lines[0], result.stderr


def test_closed_output_pipe_ends_quietly(artifacts, photos):
    """`... | head` that stops reading: no traceback, no 'Exception ignored' noise."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "runtime.predict", "--artifacts", str(artifacts), str(photos[0])],
            cwd=ROOT,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert result.returncode == 1 and problems(result) == []


def test_predicting_imports_no_tensorflow(artifacts, photos):
    code = (
        "import sys, runtime.predict\n"
        f"status = runtime.predict.main(['--artifacts', {str(artifacts)!r}, {str(photos[1][0])!r}])\n"
        "print(status, sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')))\n"
    )
    assert run_python(code).stdout.strip().splitlines()[-1] == "0 []"
