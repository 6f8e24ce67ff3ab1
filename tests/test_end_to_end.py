"""The real recipe, as a newcomer runs it: `make train export`, then the runtime on its output."""

import json
import subprocess

import pytest

import runtime
from tests.conftest import ROOT


@pytest.mark.slow
def test_make_train_export_real_recipe(tmp_path, test_set, keras):
    folder = tmp_path / "artifacts"
    result = subprocess.run(
        ["make", "train", "export", f"ARTIFACTS={folder}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    train = json.loads((folder / "train.json").read_text())
    assert (train["epochs"], train["batch_size"]) == (10, 32)
    assert train["accuracy"] >= 0.875
    manifest = json.loads((folder / "manifest.json").read_text())
    figures = {e["variant"]: e for e in manifest["artifacts"]}
    assert list(figures) == [v.name for v in runtime.variants()]
    for name in ("tflite-float32", "onnx-float32"):
        assert figures[name]["agreement"] >= 0.999 and figures[name]["max_abs_diff"] <= 1e-4
    for name in ("tflite-int8", "onnx-int8"):
        assert figures[name]["accuracy"] >= train["accuracy"] - 0.01
    images, labels = test_set
    for name in figures:
        if name != "keras":
            accuracy = (runtime.load(folder, variant=name).classify(images) == labels).mean()
            assert accuracy == pytest.approx(figures[name]["accuracy"], abs=1e-9)
