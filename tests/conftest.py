"""Shared fixtures: the real test set, and one quickly trained model exported to every variant.

The exported set is built once per session by the real CLIs (`python -m train`, `python -m export`)
in subprocesses, so the pytest process itself never has to import TensorFlow. Tests that change
files must work on `artifacts_copy`, never on `artifacts`.
"""

import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from runtime.dataset import load_split
from runtime.variants import FORMATS, VARIANTS, runnable
from tests.tiny import TinyModel

ROOT = Path(__file__).resolve().parents[1]
QUICK_EPOCHS = 2  # enough for ~0.85 accuracy; the real recipe runs in test_end_to_end.py
TINY_MODEL = TinyModel(classes=10)
RUNNABLE = [v.name for v in runnable()]  # the variants the runtime runs, by name (test ids)
TINY = ("tflite-float32", "tflite-int8", "tflite-int16x8", "onnx-float32", "onnx-int8")  # the tiny model's


def pytest_collection_modifyitems(items):
    """A test that needs the trained export (or Keras) is marked `tensorflow`; `make test-fast`
    runs the others."""
    for item in items:
        if {"artifacts", "keras"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.tensorflow)


def replace_format(monkeypatch, name: str, **changes) -> None:
    """The registry's format `name` changed as `changes` say, in the table and in each of its variants
    (for this test only)."""
    old = FORMATS[name]
    new = replace(old, **changes)
    monkeypatch.setitem(FORMATS, name, new)
    for variant in list(VARIANTS.values()):
        if variant.format == old:
            monkeypatch.setitem(VARIANTS, variant.name, replace(variant, format=new))


def run_cli(*args, timeout=600, check=True, cwd=ROOT, env=None, **kwargs) -> subprocess.CompletedProcess:
    """Run `python -m ...` (from the repository root unless `cwd`), capturing text output."""
    env = dict(env or os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-m", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        **kwargs,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"{args} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def smoke_benchmark(artifacts: Path, report_dir: Path, *files: str, timeout=600) -> dict:
    """`pytest --benchmark --smoke` on an export (the whole suite unless `files` are named), once it
    has passed: its report's fmnist_edge part."""
    run = run_cli(
        "pytest",
        "--benchmark",
        "--smoke",
        f"--artifacts={artifacts}",
        f"--report-dir={report_dir}",
        *files,
        timeout=timeout,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    return json.loads((report_dir / "benchmark.json").read_text())["fmnist_edge"]


def manifest_entries(folder: Path) -> dict[str, dict]:
    """The manifest's entries as written (JSON), by variant name."""
    return {e["variant"]: e for e in json.loads((folder / "manifest.json").read_text())["artifacts"]}


def run_python(code: str, timeout=120) -> subprocess.CompletedProcess:
    """Run a snippet in a fresh interpreter (a clean sys.modules), from the repository root."""
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=True
    )


@pytest.fixture(scope="session")
def keras():
    """Keras, and with it TensorFlow: imported when a test needs it, never while collecting."""
    return pytest.importorskip("keras", reason="needs TensorFlow (the train dependency group)")


@pytest.fixture(scope="session")
def test_set():
    """The 10,000 real test images (uint8) and labels."""
    return load_split("test")


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory) -> Path:
    """A folder with model.keras, train.json, manifest.json and all four exports (read-only use)."""
    folder = tmp_path_factory.mktemp("artifacts")
    run_cli("train", "--epochs", QUICK_EPOCHS, "--out", folder)
    run_cli("export", "--artifacts", folder)
    return folder


@pytest.fixture
def artifacts_copy(artifacts, tmp_path) -> Path:
    """A private copy of `artifacts` that a test may change or damage."""
    return Path(shutil.copytree(artifacts, tmp_path / "artifacts"))


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory, test_set) -> dict[str, Path]:
    """TINY_MODEL in each TINY variant, built without TensorFlow: variant name -> file."""
    folder = tmp_path_factory.mktemp("tiny")
    models = {}
    for name in TINY:
        fmt, precision = name.split("-")
        path = folder / f"tiny_{precision}.{fmt}"
        if fmt == "tflite":
            models[name] = TINY_MODEL.tflite(path, int8=precision == "int8", int16x8=precision == "int16x8")
        else:
            models[name] = TINY_MODEL.onnx(path, int8=precision == "int8", calibration=test_set[0][:200])
    return models
