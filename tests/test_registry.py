"""The format registry is the one place that says what exists: a format added there alone is
exported, gated, loaded, evaluated and benchmarked. And no code reaches into a library's private
attributes."""

import json
import os
import re
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from runtime.variants import (
    FORMATS,
    PLUGINS_ENV,
    VARIANTS,
    Format,
    Precision,
    Variant,
    format_for,
    named,
    register,
)
from tests.conftest import ROOT, RUNNABLE, run_cli

PLUGIN = {**os.environ, PLUGINS_ENV: "tests.fake_format"}  # every process started with it sees the format
PRIVATE = re.compile(r"\._[a-z]\w*|\btensorflow\.python\b|\bimport _|from \w+\._")


def run(*args) -> subprocess.CompletedProcess:
    return run_cli(*args, check=False, env=PLUGIN)


def test_the_table_answers_every_question():
    assert RUNNABLE == [name for name in VARIANTS if name != "keras"]  # every other variant has an engine
    assert {
        "tflite-float32",
        "tflite-int8",
        "onnx-float32",
        "onnx-int8",
        "tflite-int8-micro",
        "c-int8",
    } <= set(RUNNABLE)
    assert format_for(Path("m.tflite")).name == "tflite" and format_for(Path("m.keras")) is None
    for variant in VARIANTS.values():
        assert variant.filename.endswith(variant.format.suffix)
        assert FORMATS[variant.format.name] is variant.format  # a variant holds the registered object
        assert variant.format.engine is None or variant.format.engine.startswith("runtime.engines.")
        assert isinstance(variant.precision, Precision)


def test_the_registry_refuses_what_it_cannot_honour():
    with pytest.raises(ValueError, match="unknown variant 'tflite-int4'; the variants are: keras, "):
        named("tflite-int4")
    orphan = Format("orphan", ".orph", FORMATS["tflite"].signature, None, "x", "x")
    with pytest.raises(ValueError, match="register its format 'orphan' first"):
        register(Variant("orphan-float32", orphan, Precision.FLOAT32, "m.orph"))
    with pytest.raises(ValueError, match="format 'tflite' is registered already"):
        register(replace(FORMATS["tflite"], suffix=".tfl"))
    assert "orphan-float32" not in VARIANTS and FORMATS["tflite"].suffix == ".tflite"


@pytest.mark.parametrize(
    "suffix, head, problem",
    [
        (".tflite", b"\x18\x00\x00\x00TFL3" + bytes(32), None),
        (".tflite", b"\x08\x07\x12\x04" + bytes(32), "a .onnx model named .tflite; rename it to .onnx"),
        (".onnx", b"\x18\x00\x00\x00TFL3" + bytes(32), "a .tflite model named .onnx; rename it to .tflite"),
        (".onnx", b"%PDF-1.7" + bytes(32), "a PDF document, not a model"),
        (".c", b"/* generated */\nint x;\n", None),
        (".c", b"\x18\x00\x00\x00TFL3" + bytes(32), "a .tflite model named .c; rename it to .tflite"),
        (".tflite", b"\xff" * 40, "not a .tflite model (no 'TFL3' identifier at byte 4)"),
    ],
)
def test_a_format_knows_its_files_by_their_first_bytes(suffix, head, problem):
    assert format_for(Path(f"m{suffix}")).content_problem(head) == problem


def test_a_format_added_to_the_registry_alone_is_exported_evaluated_and_benchmarked(artifacts_copy, tmp_path):
    folder = artifacts_copy
    export = run("export", "--artifacts", folder)
    assert export.returncode == 0, export.stderr
    assert "npz-float32" in export.stdout and "ok" in export.stdout.split("npz-float32")[1].splitlines()[0]
    manifest = json.loads((folder / "manifest.json").read_text())
    entry = next(e for e in manifest["artifacts"] if e["variant"] == "npz-float32")
    assert entry["format"] == "npz" and entry["agreement"] >= 0.999

    evaluate = run("runtime.evaluate", "--artifacts", folder, "--json")
    assert evaluate.returncode == 0, evaluate.stderr
    rows = {row["variant"]: row for row in json.loads(evaluate.stdout)["variants"]}
    assert rows["npz-float32"]["ok"] and rows["npz-float32"]["agreement"] >= 0.999

    bench = run("pytest", "--benchmark", "--smoke", f"--artifacts={folder}", f"--report-dir={tmp_path}")
    assert bench.returncode == 0, bench.stdout[-3000:]
    saved = json.loads((tmp_path / "benchmark.json").read_text())
    rows = {row["variant"]: row for row in saved["fmnist_edge"]["rows"]}
    assert rows["npz-float32"]["status"] == "ok" and rows["npz-float32"]["b1_p50"] > 0


def test_no_private_attribute_of_another_library_is_used():
    """`obj._name` of LiteRT, onnxruntime, TensorFlow or tf2onnx (or their private modules) nowhere in
    runtime/, export/ or benchmarks/. Our own names never start with an underscore there either, so
    the rule needs no list of exceptions."""
    found = []
    for folder in ("runtime", "export", "benchmarks"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for number, line in enumerate(path.read_text().splitlines(), 1):
                code = line.split("#")[0]
                if PRIVATE.search(code.replace("__", "")):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not found, "\n".join(found)
