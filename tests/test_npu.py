"""`make npu`: Vela compiles the TFLite Micro variants for Ethos-U NPUs; its estimates land in the
manifest and a table that says they are estimates; a model Vela refuses or that falls back to the CPU
is a row with its reason.

    pytest tests/test_npu.py
"""

import json

import pytest

from export.npu import CONFIGURATIONS, ESTIMATED, compile_model
from runtime.files import sha256_file
from runtime.manifest import MANIFEST, Manifest
from runtime.variants import TFLITE_MICRO
from tests.conftest import TINY_MODEL, run_cli

U55 = CONFIGURATIONS[0]


def test_an_integer_model_runs_every_operator_on_the_npu(tmp_path):
    model = TINY_MODEL.tflite(tmp_path / "tiny_int8.tflite", int8=True)
    row = compile_model(model, U55, tmp_path / "npu")
    assert row["status"] == "npu" and row["reason"] is None and row["cpu_operators"] == 0
    assert row["npu_operators"] > 0 and "FullyConnected" in row["npu_operator_types"]
    assert row["cycles"] > 0 and row["seconds"] == pytest.approx(row["cycles"] / row["clock_hz"], rel=1e-3)
    assert row["weights_in"] == "Off-chip Flash" and row["weights_memory_bytes"] >= TINY_MODEL.weights.size
    compiled = row["file"]["path"]
    assert compiled.parent == tmp_path / "npu" and row["file"]["sha256"] == sha256_file(compiled)


def test_a_float_model_falls_back_to_the_cpu_with_vela_s_reason(tmp_path):
    model = TINY_MODEL.tflite(tmp_path / "tiny_float32.tflite")
    row = compile_model(model, U55, tmp_path)
    assert row["status"] == "cpu fallback" and row["npu_operators"] == 0 and row["cpu_operators"] == 3
    assert "FULLY_CONNECTED: Operation has tensor with unsupported DataType Float32" in row["reason"]


def test_a_file_vela_cannot_read_is_a_failed_row(tmp_path):
    model = tmp_path / "notes.tflite"
    model.write_text("not a model\n")
    row = compile_model(model, U55, tmp_path / "npu")
    assert row["status"] == "failed" and "\n" not in row["reason"] and row["reason"]
    assert not (tmp_path / "npu").exists()


def test_no_manifest_is_one_line(tmp_path):
    done = run_cli("benchmarks.npu", "--artifacts", tmp_path / "none", "--out", tmp_path, check=False)
    assert done.returncode == 1 and done.stderr.count("\n") == 1 and "no manifest here" in done.stderr


def test_make_npu_records_vela_s_estimates_in_the_manifest_and_a_table(artifacts_copy, tmp_path):
    for _ in range(2):  # a second run replaces the first run's compiled files
        done = run_cli("benchmarks.npu", "--artifacts", artifacts_copy, "--out", tmp_path)
    assert f"Ethos-U NPUs: {ESTIMATED}" in done.stdout and done.stdout == (tmp_path / "npu.md").read_text()
    report = json.loads((tmp_path / "npu.json").read_text())
    manifest = Manifest(artifacts_copy / MANIFEST)
    micro = [a for a in manifest.artifacts if a.format == TFLITE_MICRO]
    assert [(r["variant"], r["accelerator"], r["memory_mode"]) for r in report["rows"]] == [
        (a.variant.name, c.accelerator, c.memory_mode) for a in micro for c in CONFIGURATIONS
    ]
    assert all(r["status"] == "npu" and r["cycles"] > 0 for r in report["rows"]), report["rows"]
    assert len(list(micro[0].path.parent.glob("npu-*"))) == 1
    for artifact in micro:
        recorded = artifact.facts["npu"]
        assert recorded["figures"].startswith(ESTIMATED)
        assert recorded["configurations"] == [
            {k: v for k, v in r.items() if k != "variant"}
            for r in report["rows"]
            if r["variant"] == artifact.variant.name
        ]
        for row in recorded["configurations"]:
            assert sha256_file(manifest.folder / row["file"]["path"]) == row["file"]["sha256"]
        artifact.verify()  # the model itself is untouched
