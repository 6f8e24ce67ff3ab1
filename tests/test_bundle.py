"""`make bundle` on a device: the archive unpacked into a fresh virtual environment that has only
its pinned runtime requirements (no TensorFlow) predicts, evaluates and benchmarks there.

pip installs from this machine's configured indexes and caches, as it would on a device.
"""

import json
import os
import subprocess
import sys
import tarfile

import pytest

from benchmarks.bundle import NAME
from tests.conftest import run_cli

VARIANTS_RUN = ("tflite-float32", "tflite-int8", "onnx-float32", "onnx-int8")


def device_run(python, *args, cwd, timeout=300) -> subprocess.CompletedProcess:
    """Run the device's Python from the unpacked bundle, as a user there would."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["FMNIST_DATA"] = str(cwd / "data")
    return subprocess.run([str(python), *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def device(artifacts, tmp_path_factory):
    """The bundle unpacked and its requirements installed in a new venv: (folder, python)."""
    root = tmp_path_factory.mktemp("device")
    archive = run_cli("benchmarks.bundle", "--artifacts", artifacts, "--out", root / "dist").stdout.split()[0]
    with tarfile.open(archive) as tar:
        tar.extractall(root, filter="data")
    folder, venv = root / NAME, root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True, timeout=120)
    python = venv / "bin" / "python"
    install = subprocess.run([sys.executable, "-m", "pip", "--python", python, "install", "--quiet",
                              "--disable-pip-version-check", "-r", folder / "requirements.txt"],
                             capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stderr[-2000:]
    return folder, python


@pytest.mark.slow
def test_the_bundle_has_no_tensorflow_and_pins_every_requirement(device):
    folder, python = device
    text = (folder / "requirements.txt").read_text()
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    assert lines and all("==" in line for line in lines)
    names = {line.split("==")[0].lower() for line in lines}
    assert {"numpy", "pillow", "ai-edge-litert", "onnxruntime", "pytest-benchmark"} <= names
    assert not names & {"tensorflow", "tensorflow-cpu", "keras", "tf2onnx"}
    probe = device_run(python, "-c", "import tensorflow", cwd=folder)
    assert probe.returncode != 0 and "No module named 'tensorflow'" in probe.stderr


@pytest.mark.slow
def test_predict_and_evaluate_on_the_device(device):
    folder, python = device
    predicted = device_run(python, "-m", "runtime.predict", "images", "--json", cwd=folder)
    assert predicted.returncode == 0, predicted.stderr
    answers = [json.loads(line) for line in predicted.stdout.splitlines()]
    assert len(answers) == 10
    assert sum(a["class_id"] == int(a["path"].split("class-")[1][0]) for a in answers) >= 7
    evaluated = device_run(python, "-m", "runtime.evaluate", "--json", cwd=folder)
    assert evaluated.returncode == 0, evaluated.stderr
    assert {row["variant"] for row in json.loads(evaluated.stdout)["variants"]} >= set(VARIANTS_RUN)


@pytest.mark.slow
def test_smoke_benchmark_on_the_device_skips_keras_with_its_reason(device):
    folder, python = device
    bench = device_run(python, "-m", "pytest", "--benchmark", "--smoke", "--report-dir=results", "-q",
                       cwd=folder)
    assert bench.returncode == 0, bench.stdout[-3000:] + bench.stderr[-2000:]
    report = json.loads((folder / "results" / "benchmark.json").read_text())["fmnist_edge"]
    rows = {row["variant"]: row for row in report["rows"]}
    assert rows["keras"]["status"] == "skipped" and "tensorflow is not installed" in rows["keras"]["problem"]
    assert all(rows[name]["status"] == "ok" and rows[name]["b1_p50"] > 0 for name in VARIANTS_RUN)
    assert (folder / "results" / "report.png").stat().st_size > 0
