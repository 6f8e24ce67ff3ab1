"""`python -m runtime.evaluate`: the same figures as the export, pictures a person can read, and a
non-zero exit when a variant no longer matches Keras.

    pytest tests/test_evaluate_cli.py
"""

import json
import math
import shutil

import numpy as np
import pytest
from PIL import Image

import runtime
from runtime import report
from runtime.dataset import CLASSES
from runtime.files import sha256_file
from runtime.manifest import MANIFEST, Manifest
from runtime.variants import VARIANTS
from tests.conftest import RUNNABLE, run_cli, run_python

FIGURES = ("accuracy", "agreement", "max_abs_diff", "per_class_accuracy")


def evaluate_json(artifacts, *args, check=True) -> tuple[dict, str, int]:
    result = run_cli("runtime.evaluate", "--artifacts", artifacts, "--json", *args, check=check)
    return json.loads(result.stdout), result.stderr, result.returncode


@pytest.fixture(scope="module")
def evaluated(artifacts, tmp_path_factory):
    """One JSON run over the shared (read-only) artifacts, pictures in a private folder."""
    out = tmp_path_factory.mktemp("evaluation")
    data, _, _ = evaluate_json(artifacts, "--out", out)
    return data, out


def expected_grid_size(tiles: int) -> tuple[int, int]:
    columns = min(report.COLUMNS, tiles)
    rows = math.ceil(tiles / columns)
    return (
        report.GAP + columns * (report.TILE_W + report.GAP),
        report.HEADER + rows * (report.TILE_H + report.GAP),
    )


def test_figures_equal_the_manifest(artifacts, evaluated):
    data, _ = evaluated
    manifest = Manifest(artifacts / MANIFEST)
    assert [row["variant"] for row in data["variants"]] == list(RUNNABLE)
    for row in data["variants"]:
        entry = manifest.artifact(row["variant"]).as_json(manifest.folder)
        assert {k: row[k] for k in FIGURES} == {k: entry[k] for k in FIGURES}, row["variant"]
        assert row["ok"] and row["violations"] == []
        assert row["seconds"] > 0
        assert row["disagreements"] == round((1 - entry["agreement"]) * data["test_images"])
    assert data["keras"]["accuracy"] == manifest.artifact("keras").as_json(manifest.folder)["accuracy"]
    assert (
        data["keras"]["per_class_accuracy"]
        == manifest.artifact("keras").as_json(manifest.folder)["per_class_accuracy"]
    )
    assert data["ok"] and data["test_images"] == 10_000 and data["classes"] == list(CLASSES)


def test_plain_table_names_every_variant_with_its_figures(artifacts, tmp_path):
    result = run_cli("runtime.evaluate", "--artifacts", artifacts, "--out", tmp_path)
    manifest = Manifest(artifacts / MANIFEST)
    lines = result.stdout.splitlines()
    for name in ("keras", *RUNNABLE):
        (row,) = [line for line in lines if line.split()[:1] == [name]]
        assert f"{manifest.artifact(name).as_json(manifest.folder)['accuracy']:.4f}" in row
    int8 = [name for name in RUNNABLE if VARIANTS[name].quantized]
    for label in CLASSES:  # the per-class table: one row per class, Keras plus four variants
        (row,) = [line for line in lines if line.startswith(label + " ")]
        cells = iter(row[len(label) :].split())
        keras = float(next(cells))
        for name in RUNNABLE:
            accuracy = float(next(cells))
            if name in int8:  # followed by its change from Keras in points
                assert next(cells) == f"{100 * (accuracy - keras):+.1f}"
        assert next(cells, None) is None
    assert lines[-1] == f"all {len(RUNNABLE)} variants within tolerance"


def test_disagreement_grids_show_the_disagreeing_images(evaluated, test_set, artifacts):
    data, out = evaluated
    images, labels = test_set
    keras_top1 = np.load(Manifest(artifacts / MANIFEST).reference())["probabilities"].argmax(1)
    for row in data["variants"]:
        path = out / f"disagreements-{row['variant']}.png"
        assert row["picture"] == str(path)
        with Image.open(path) as picture:
            picture.verify()
        picture = Image.open(path).convert("L")
        count = row["disagreements"]
        if count == 0:
            assert picture.size == (640, report.HEADER + 24)  # the "no disagreements" picture
            continue
        assert picture.size == expected_grid_size(min(count, report.MAX_TILES))
        # The first tile is the lowest-index disagreeing test image, enlarged without blurring.
        first = int(np.flatnonzero(_variant_top1(artifacts, row["variant"], images) != keras_top1)[0])
        tile = np.asarray(
            picture.crop(
                (report.GAP, report.HEADER, report.GAP + report.TILE_W, report.HEADER + report.TILE_W)
            )
        )
        scale = report.TILE // images.shape[1]  # 28 px -> 112 px, pixels kept sharp
        assert np.array_equal(tile, np.kron(images[first], np.ones((scale, scale), np.uint8)))


def _variant_top1(artifacts, name, images):
    return runtime.load(artifacts, variant=name).classify(images)


def test_grid_is_capped_and_a_perfect_variant_says_so(test_set):
    images, labels = test_set
    keras_top1 = labels.copy()
    grid = report.disagreement_grid(
        "x", images, np.arange(250), labels, keras_top1, (labels[:250] + 1) % 10, list(CLASSES), len(labels)
    )
    assert grid.size == expected_grid_size(report.MAX_TILES)
    seven = report.disagreement_grid(
        "x", images, np.arange(7), labels, keras_top1, labels[:7], list(CLASSES), len(labels)
    )
    assert seven.size == expected_grid_size(7)
    none = report.disagreement_grid(
        "x", images, np.arange(0), labels, keras_top1, labels[:0], list(CLASSES), len(labels)
    )
    assert none.size == (640, report.HEADER + 24)


def test_class_chart_shows_every_variant(evaluated):
    data, out = evaluated
    assert data["per_class_chart"] == str(out / "per-class-accuracy.png")
    with Image.open(out / "per-class-accuracy.png") as chart:
        assert chart.format == "PNG" and chart.size == (1100, 520)
        colours = {colour for _, colour in chart.convert("RGB").getcolors(1 << 16)}
    assert set(report.PALETTE[: len(RUNNABLE)]) <= colours  # a dot colour per variant


def test_a_worse_variant_with_a_matching_checksum_fails(artifacts_copy):
    """int8 weights behind the tflite-float32 name, manifest updated: only the tolerance catches it."""
    manifest_path = artifacts_copy / MANIFEST
    manifest = json.loads(manifest_path.read_text())
    entries = {entry["variant"]: entry for entry in manifest["artifacts"]}
    target = artifacts_copy / entries["tflite-float32"]["path"]
    shutil.copyfile(artifacts_copy / entries["tflite-int8"]["path"], target)
    entries["tflite-float32"].update(bytes=target.stat().st_size, sha256=sha256_file(target))
    manifest_path.write_text(json.dumps(manifest))

    data, stderr, status = evaluate_json(artifacts_copy, check=False)
    assert status == 1
    rows = {row["variant"]: row for row in data["variants"]}
    assert not rows["tflite-float32"]["ok"] and not data["ok"]
    assert any("agreement" in v for v in rows["tflite-float32"]["violations"])
    assert any("max_abs_diff" in v for v in rows["tflite-float32"]["violations"])
    assert all(rows[name]["ok"] for name in RUNNABLE if name != "tflite-float32")
    (line,) = stderr.strip().splitlines()[-1:]
    assert line.startswith("error: ") and "tflite-float32" in line and "Traceback" not in stderr
    assert (artifacts_copy / "evaluation" / "disagreements-tflite-float32.png").is_file()  # default --out


def test_a_tampered_variant_is_refused_and_the_others_still_evaluated(artifacts_copy, tmp_path):
    path = artifacts_copy / Manifest(artifacts_copy / MANIFEST).artifact("onnx-int8").path
    damaged = bytearray(path.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    path.write_bytes(bytes(damaged))
    data, stderr, status = evaluate_json(artifacts_copy, "--out", tmp_path, check=False)
    assert status == 1
    rows = {row["variant"]: row for row in data["variants"]}
    assert "checksum mismatch" in rows["onnx-int8"]["error"]
    assert all(rows[name]["ok"] for name in RUNNABLE if name != "onnx-int8")
    (line,) = stderr.strip().splitlines()  # a load failure, said as one: not "outside tolerance"
    assert line.startswith("error: ") and ": 1 variant could not be loaded: onnx-int8 (" in line
    assert "checksum mismatch" in line and "tolerance" not in line


def test_a_load_failure_shows_in_the_table_as_one(artifacts_copy, tmp_path):
    path = artifacts_copy / Manifest(artifacts_copy / MANIFEST).artifact("tflite-int8").path
    path.write_bytes(path.read_bytes()[:-1])
    result = run_cli("runtime.evaluate", "--artifacts", artifacts_copy, "--out", tmp_path, check=False)
    (row,) = [line for line in result.stdout.splitlines() if line.startswith("tflite-int8 ")]
    assert "ERROR cannot load: " in row and "checksum mismatch" in row
    (line,) = result.stderr.strip().splitlines()
    assert result.returncode == 1 and line.startswith("error: ")
    assert ": 1 variant could not be loaded: tflite-int8" in line


def test_model_picks_one_variant(artifacts, tmp_path):
    data, _, _ = evaluate_json(artifacts, "--model", "onnx-int8", "--threads", "2", "--out", tmp_path)
    assert [row["variant"] for row in data["variants"]] == ["onnx-int8"] and data["threads"] == 2
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == ["disagreements-onnx-int8.png", "per-class-accuracy-onnx-int8.png"]
    assert data["per_class_chart"] == str(tmp_path / "per-class-accuracy-onnx-int8.png")


def test_one_variant_leaves_the_chart_of_all_in_place_and_says_1_variant(artifacts, tmp_path):
    run_cli("runtime.evaluate", "--artifacts", artifacts, "--out", tmp_path)
    every = (tmp_path / "per-class-accuracy.png").read_bytes()
    result = run_cli(
        "runtime.evaluate", "--artifacts", artifacts, "--out", tmp_path, "--model", "tflite-int8"
    )
    assert (tmp_path / "per-class-accuracy.png").read_bytes() == every
    assert (tmp_path / "per-class-accuracy-tflite-int8.png").is_file()
    assert result.stdout.splitlines()[-1] == "1 variant within tolerance"


@pytest.mark.parametrize(
    "args, status, message",
    [
        (["--model", "keras"], 2, "keras needs TensorFlow"),
        (["--model", "tflite-int4"], 2, "runnable variants are"),
        (["--threads", "0"], 2, "positive whole number"),
    ],
    ids=["keras", "unknown-variant", "zero-threads"],
)
def test_usage_errors(artifacts, tmp_path, args, status, message):
    result = run_cli("runtime.evaluate", "--artifacts", artifacts, "--out", tmp_path, *args, check=False)
    assert result.returncode == status and message in result.stderr and result.stdout == ""


@pytest.mark.parametrize("cli", ["runtime.evaluate", "runtime.predict"])
def test_model_keras_is_the_same_usage_error_in_evaluate_and_predict(tmp_path, cli):
    """Decided from the command line alone: no manifest is read (here there is none)."""
    images = [tmp_path / "shirt.png"] if cli == "runtime.predict" else []
    result = run_cli(cli, "--artifacts", tmp_path / "nowhere", "--model", "keras", *images, check=False)
    assert result.returncode == 2 and result.stdout == ""
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith(f"python -m {cli}: error: --model keras needs TensorFlow; the runtime runs ")


@pytest.mark.parametrize(
    "damage, message",
    [
        ("no-manifest", "no manifest here"),
        ("reference", "checksum mismatch"),
        ("earlier", "'dataset' does not say what the gate ran on (damaged, or written by an earlier"),
    ],
    ids=["no-manifest", "tampered-reference", "earlier-manifest"],
)
def test_bad_inputs_get_one_line(artifacts_copy, damage, message):
    if damage == "no-manifest":
        (artifacts_copy / MANIFEST).unlink()
    elif damage == "earlier":  # before the manifest said what the gate ran on: its data files only
        data = json.loads((artifacts_copy / MANIFEST).read_text())
        data["dataset"] = data["dataset"]["files"]
        (artifacts_copy / MANIFEST).write_text(json.dumps(data))
    else:
        reference = Manifest(artifacts_copy / MANIFEST).reference()
        reference.write_bytes(reference.read_bytes()[:-1])
    result = run_cli("runtime.evaluate", "--artifacts", artifacts_copy, check=False)
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and message in line


def test_evaluate_needs_neither_tensorflow_nor_matplotlib(artifacts, tmp_path):
    code = (
        "import sys, json\n"
        "from runtime.evaluate import main\n"
        f"status = main(['--artifacts', {str(artifacts)!r}, '--model', 'tflite-int8', '--json',"
        f" '--out', {str(tmp_path)!r}])\n"
        "print(json.dumps([status, sorted(m for m in sys.modules\n"
        "    if m.split('.')[0] in ('tensorflow', 'keras', 'matplotlib'))]))\n"
    )
    assert json.loads(run_python(code).stdout.strip().splitlines()[-1]) == [0, []]
