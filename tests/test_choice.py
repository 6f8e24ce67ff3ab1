"""`python -m device.choice` (`make report`): one table of every variant on every target with results,
the default per target picked by the stated rule; a target with no results is left out.

    pytest tests/test_choice.py
"""

import json

from runtime.choice import RULE
from tests.conftest import run_cli


def bench_rows(timings: dict[str, float]) -> dict:
    """A benchmark.json as `make bench` writes it, with these batch-1 medians (seconds)."""
    rows = [
        {"variant": name, "status": "ok", "b1_p50": b1, "peak_bytes": 50_000_000}
        for name, b1 in timings.items()
    ]
    return {"fmnist_edge": {"machine": {"features": []}, "rows": rows, "cold_start": []}}


def test_the_rule_picks_a_default_for_every_target_with_results(artifacts_copy, tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    manifest = json.loads((artifacts_copy / "manifest.json").read_text())
    agreement = {e["variant"]: e["agreement"] for e in manifest["artifacts"]}
    # tflite-int8 fastest; tflite-dynamic 5% slower and closer to Keras; onnx-float32 far slower
    (results / "benchmark.json").write_text(
        json.dumps(bench_rows({"tflite-int8": 2.0e-6, "tflite-dynamic": 2.1e-6, "onnx-float32": 9e-6}))
    )
    assert agreement["tflite-dynamic"] > agreement["tflite-int8"]
    run_cli("benchmarks.npu", "--artifacts", artifacts_copy, "--out", tmp_path)
    done = run_cli("device.choice", "--artifacts", artifacts_copy, "--results", results)
    assert done.stdout == (results / "choice.md").read_text()
    assert f"The default on each target: {RULE}." in done.stdout
    assert "- this host: **tflite-dynamic**" in done.stdout
    for npu in ("ethos-u55-128", "ethos-u55-256", "ethos-u65-256"):
        assert f"- {npu}, Shared_Sram (Vela's estimate, not run): **tflite-" in done.stdout
    header = next(line for line in done.stdout.splitlines() if line.startswith("| variant |"))
    assert "in QEMU" not in header  # no make micro results here: no core columns
    rows = [line for line in done.stdout.splitlines() if line.startswith("| tflite-dynamic |")]
    assert len(rows) == 1 and "**2.1 µs** · 50.0 MB" in rows[0]


def test_no_manifest_is_one_line(tmp_path):
    done = run_cli("device.choice", "--artifacts", tmp_path, "--results", tmp_path, check=False)
    assert done.returncode == 1 and done.stderr.count("\n") == 1 and "no manifest here" in done.stderr
