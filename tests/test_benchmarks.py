"""The benchmark suite in smoke mode (a few rounds of everything): `pytest --benchmark` runs it, plain
`pytest` does not, and its JSON, Markdown and PNG hold every variant with positive figures whose
ratios follow from the rows. The figures themselves are met in `make bench`, never here.
"""

import importlib.util
import json
import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageColor

from benchmarks import processes
from benchmarks.chart import HEIGHT, WIDTH
from runtime.machine import ARM_HWCAP, X86_FEATURES, clock_text, describe, fingerprint
from runtime.report import BACKGROUND, PALETTE
from runtime.variants import runnable
from tests.conftest import ROOT, RUNNABLE, run_cli

SUBJECTS = ("keras", *RUNNABLE)


def pytest_run(*args) -> subprocess.CompletedProcess:
    return run_cli("pytest", *args, check=False)


@pytest.fixture(scope="module")
def smoke(artifacts, tmp_path_factory):
    """One smoke run of the whole suite: (report folder, terminal output)."""
    folder = tmp_path_factory.mktemp("bench")
    run = pytest_run("--benchmark", "--smoke", f"--artifacts={artifacts}", f"--report-dir={folder}")
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    return folder, run.stdout


@pytest.fixture(scope="module")
def saved(smoke) -> dict:
    return json.loads((smoke[0] / "benchmark.json").read_text())


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()


def close(a, b) -> bool:
    return math.isclose(a, b, rel_tol=1e-9)


def test_a_process_that_hangs_is_killed_with_its_children(monkeypatch, tmp_path):
    """A hung command (a worker pool that never answers) is an error row, not a benchmark that never ends."""
    monkeypatch.setattr(processes, "TIMEOUT", 2)
    child = tmp_path / "child.pid"
    code = (
        "import pathlib, subprocess, time; sleeper = subprocess.Popen(['sleep', '60']); "
        f"pathlib.Path({str(child)!r}).write_text(str(sleeper.pid)); time.sleep(60)"
    )
    with pytest.raises(RuntimeError, match="did not finish within 2 s"):
        processes.run_process([sys.executable, "-c", code])
    stat = Path(f"/proc/{child.read_text()}/stat")
    deadline = time.monotonic() + 5  # SIGKILL is sent; the kernel takes a moment to end it
    while stat.exists() and "(sleep) Z" not in stat.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not stat.exists() or "(sleep) Z" in stat.read_text() or "(sleep)" not in stat.read_text()


def test_plain_pytest_does_not_run_the_benchmarks():
    collected = pytest_run("--collect-only", "-q")
    assert "benchmarks/" not in collected.stdout
    explicit = pytest_run("benchmarks/test_latency.py", "-q", "-rs")
    assert explicit.returncode == 0 and " passed" not in explicit.stdout
    assert "benchmarks run only with `pytest --benchmark`" in explicit.stdout


def test_every_variant_is_a_row_whose_figures_hang_together(saved, artifacts):
    """Each row carries the manifest's facts and timings in the order their work implies."""
    rows = {row["variant"]: row for row in saved["fmnist_edge"]["rows"]}
    assert set(rows) == set(SUBJECTS)
    entries = {e["variant"]: e for e in json.loads((artifacts / "manifest.json").read_text())["artifacts"]}
    for name in SUBJECTS:
        row, entry = rows[name], entries[name]
        assert row["status"] == "ok", row
        assert (row["bytes"], row["accuracy"], row["agreement"]) == (
            entry["bytes"],
            entry["accuracy"],
            entry["agreement"],
        )
        assert row["b1_min"] <= row["b1_p50"] <= row["b1_p99"]
        assert 10e6 < row["peak_bytes"] < 2e9  # a Python process holding the model, not a stray figure
    for name in RUNNABLE:
        row = rows[name]
        assert row["png_p50"] > row["b1_min"]  # a PNG file to an answer includes the prediction
        assert row["load_p50"] > row["first_p50"]  # loading includes the first inference
        assert row["bare_p50"] < row["b1_p99"] and row["best_ips"] >= row["b32_ips"]
    assert rows["keras"]["b1_p50"] > max(rows[n]["b1_p50"] for n in RUNNABLE)  # the point of exporting
    cold = {row["process"]: row for row in saved["fmnist_edge"]["cold_start"]}
    assert cold["import-tensorflow"]["peak_bytes"] > cold["predict-cli"]["peak_bytes"]
    assert cold["import-tensorflow"]["p50"] > cold["predict-cli"]["p50"]


def test_ratios_follow_from_the_rows_and_the_raw_timings(saved):
    report = saved["fmnist_edge"]
    rows = {row["variant"]: row for row in report["rows"]}
    timings = report["measurements"]["timings"]
    raw = {(b["extra_info"]["subject"], b["extra_info"]["case"]): b["stats"] for b in saved["benchmarks"]}
    for name in RUNNABLE:
        row = rows[name]
        assert close(row["b1_p50"], raw[name, "b1"]["median"])  # our p50 is pytest-benchmark's median
        assert close(row["overhead"], row["b1_p50"] / row["bare_p50"])
        assert close(row["keras_speedup_b1"], rows["keras"]["b1_p50"] / row["b1_p50"])
        assert close(row["keras_speedup_b1024"], row["b1024_ips"] / rows["keras"]["b1024_ips"])
        assert row["best_ips"] == max(row["b32_ips"], row["b1024_ips"])
        numpy_ips = timings["numpy"][f"b{row['best_batch']}"]["throughput"]
        assert close(row["matmul_pct"], 100 * row["best_ips"] / numpy_ips)
        assert close(row["b1024_ips"], 1024 / raw[name, "b1024"]["median"])
    targets = {t["figure"]: t for t in report["targets"]}
    speedup = targets["tflite-int8 speed-up over tflite-float32, batch 1, the engine call (the model's own)"]
    assert close(speedup["value"], rows["tflite-float32"]["bare_p50"] / rows["tflite-int8"]["bare_p50"])
    folder, one = timings["folder"]["workers-1"], timings["folder"]["one-image"]
    rate = (folder["batch"] - 1) / (folder["p50"] - one["p50"])  # start-up excluded
    assert one["batch"] == 1 and folder["batch"] == timings["pillow"]["folder"]["batch"] > 250
    assert close(targets["folder of PNGs, predict CLI, 1 worker, start-up excluded"]["value"], rate)
    share = targets["folder, 1 worker, start-up excluded, share of Pillow's decode-only rate"]
    assert close(share["value"], rate / timings["pillow"]["folder"]["throughput"])


def test_a_verdict_follows_from_the_goal_and_both_figures(saved):
    """met: the figure from the medians and the one from the fastest calls both reach the goal; NOT
    MET: neither does; anything else is unsure. A figure without a goal is shown, never met."""
    checks = {">=": lambda v, b: v >= b, "<=": lambda v, b: v <= b, "<": lambda v, b: v < b}
    for target in saved["fmnist_edge"]["targets"]:
        if target["goal"] is None:
            assert target["verdict"] == "shown", target
            continue
        sign, bound = target["goal"].split()
        reached = {checks[sign](target[key], float(bound)) for key in ("value", "from_min")}
        expected = {frozenset({True}): "met", frozenset({False}): "NOT MET"}.get(frozenset(reached), "unsure")
        assert target["verdict"] == expected or (target["verdict"] == "unsure" and target["doubt"]), target


def test_markdown_and_terminal_show_the_same_table(smoke, saved):
    folder, terminal = smoke
    markdown = (folder / "report.md").read_text()
    report = saved["fmnist_edge"]
    head = git("rev-parse", "HEAD")
    assert report["commit"]["hash"] == head and report["commit"]["dirty"] == bool(
        git("status", "--porcelain")
    )
    for text in (markdown, terminal):
        assert describe(report["machine"])[1] in text and f"commit    {head}" in text
        for name in SUBJECTS:
            assert name in text
    for row in saved["fmnist_edge"]["rows"]:
        if row["overhead"] is not None:
            assert f"| {row['overhead']:.2f}x |" in markdown


def test_the_benchmark_names_this_machine_as_the_doctor_does(saved):
    """One fingerprint: the benchmark's JSON holds runtime.machine's, features by their friendly names."""
    machine, now = saved["fmnist_edge"]["machine"], fingerprint()
    assert set(machine) == set(now) and machine["features"] == now["features"]
    assert (machine["cpu"], machine["arch"], machine["usable_cores"]) == (
        now["cpu"],
        now["arch"],
        now["usable_cores"],
    )
    assert set(machine["features"]) <= set(X86_FEATURES.values()) | set(ARM_HWCAP)


def test_the_device_report_shows_this_host_by_the_same_fingerprint(smoke, saved, tmp_path):
    """The host's row names its features as the doctor does; a device whose results name them the
    old way (py-cpuinfo's flags) is a row saying so, not a crash."""
    old = tmp_path / "old-board"
    old.mkdir()
    (old / "device.json").write_text(json.dumps({"name": "old-board", "status": "ok", "emulated": False}))
    bench = json.loads((smoke[0] / "benchmark.json").read_text())
    bench["fmnist_edge"]["machine"] = {"cpu": "Cortex-A72", "vector": ["asimd"]}
    (old / "benchmark.json").write_text(json.dumps(bench))
    done = run_cli("device.report", "--devices", tmp_path, "--host", smoke[0])
    machine = saved["fmnist_edge"]["machine"]
    rows = {line.split(" | ")[0]: line for line in done.stdout.splitlines() if line.startswith("| ")}
    features = " ".join(machine["features"]) or "–"
    assert f"| {machine['cpu']}: {features} | {machine['arch']} |" in rows["| this host"]
    assert f"| {clock_text(machine)} |" in rows["| this host"]
    assert "| failed: " in rows["| old-board"] and "from an older fmnist-edge" in rows["| old-board"]


def test_the_chart_draws_each_latency_to_its_scale(smoke, saved):
    """On the latency panel (left half, logarithmic), a slower variant's bar is longer: Keras' the
    longest, by about as many decades as its p50 is above the fastest variant's."""
    rows = {row["variant"]: row for row in saved["fmnist_edge"]["rows"]}
    with Image.open(smoke[0] / "report.png") as picture:
        assert picture.format == "PNG" and picture.size == (WIDTH, HEIGHT)
        left = np.asarray(picture.convert("RGB"))[:, : WIDTH // 2]
    bars = {name: (left == PALETTE[i]).all(axis=2) for i, name in enumerate(SUBJECTS)}
    length = {name: np.count_nonzero(bar) for name, bar in bars.items()}
    by_bar = sorted(SUBJECTS, key=length.get)
    assert by_bar[-1] == "keras" and all(length[name] > 0 for name in SUBJECTS), length
    reach = {name: int(np.flatnonzero(bar.any(axis=0)).max()) for name, bar in bars.items()}  # its end
    fastest = min(RUNNABLE, key=lambda n: rows[n]["b1_p50"])
    assert reach[fastest] <= min(reach.values()) + 3, (reach, fastest)  # the bare marker may cover 3 px


def test_the_chart_keeps_its_legend_inside(smoke):
    """Nothing is drawn in the right margin: the throughput legend wraps instead of running off."""
    with Image.open(smoke[0] / "report.png") as picture:
        margin = np.asarray(picture.convert("RGB"))[:, WIDTH - 20 :]
    assert (margin == ImageColor.getrgb(BACKGROUND)).all()


def test_a_variant_that_fails_to_load_is_a_row_with_its_error(artifacts_copy, tmp_path):
    """A tampered model fails its own benchmarks (exit 1) and shows as an error row; the rest run."""
    manifest = json.loads((artifacts_copy / "manifest.json").read_text())
    entry = next(e for e in manifest["artifacts"] if e["variant"] == "onnx-int8")
    model = artifacts_copy / entry["path"]
    model.write_bytes(model.read_bytes()[:-1] + b"\0")
    run = pytest_run(
        "--benchmark",
        "--smoke",
        f"--artifacts={artifacts_copy}",
        f"--report-dir={tmp_path}",
        "benchmarks/test_latency.py",
    )
    assert run.returncode == 1, run.stdout[-3000:]
    rows = {
        row["variant"]: row
        for row in json.loads((tmp_path / "benchmark.json").read_text())["fmnist_edge"]["rows"]
    }
    assert rows["onnx-int8"]["status"] == "error" and "checksum mismatch" in rows["onnx-int8"]["problem"]
    assert all(rows[n]["status"] == "ok" and rows[n]["b1_p50"] > 0 for n in RUNNABLE if n != "onnx-int8")
    assert "onnx-int8" in run.stdout and "checksum mismatch" in run.stdout


def test_mediapipe_classify_is_a_reference_row_beside_litert(saved):
    if importlib.util.find_spec("mediapipe") is None:
        pytest.skip("MediaPipe Tasks is not installed here (dev group)")
    references = {ref["reference"]: ref for ref in saved["fmnist_edge"]["references"]}
    rows = {row["variant"]: row for row in saved["fmnist_edge"]["rows"]}
    for variant in (v for v in runnable() if v.format.made_for):
        made_for = references[f"{variant.format.made_for.name} classify of one image, {variant.name}"]
        assert made_for["min"] <= made_for["p50"] and rows[variant.name]["b1_p50"] > 0
