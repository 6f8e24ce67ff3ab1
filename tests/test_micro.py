"""The microcontroller variants: tflite-int8-micro and tflite-int16x8-micro run in TFLite Micro's own
interpreter, in the arena the manifest names; c-int8, the generated C, gives TFLite Micro's very bytes
on all 10,000 test images, on the host and (where the cross compiler and QEMU are installed) on
emulated Cortex-M boards."""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import runtime
from runtime.errors import ModelError
from runtime.variants import TFLITE_MICRO, VARIANTS, runnable
from tests.conftest import run_cli

ARENA_STEP = 16  # smallest_arena's resolution, bytes
MICRO = [v.name for v in runnable() if v.format == TFLITE_MICRO]  # int8 and int16x8


def entry(artifacts, name):
    return next(
        e for e in json.loads((artifacts / "manifest.json").read_text())["artifacts"] if e["variant"] == name
    )


def raw_scores(predictor, images):
    """The engine's own int8 output (no dequantization) for uint8 images."""
    return predictor.engine.run(predictor.pixels.take(images))


def test_c_scores_are_tflite_micros_bytes_on_every_test_image(artifacts, test_set):
    c_model, micro = runtime.load(artifacts, "c-int8"), runtime.load(artifacts, "tflite-int8-micro")
    c_scores, micro_scores = raw_scores(c_model, test_set[0]), raw_scores(micro, test_set[0])
    assert c_scores.shape == micro_scores.shape == (10_000, 10) and c_scores.dtype == np.int8
    assert np.array_equal(c_scores, micro_scores), f"{int((c_scores != micro_scores).sum())} bytes differ"
    assert entry(artifacts, "c-int8")["accuracy"] == entry(artifacts, "tflite-int8-micro")["accuracy"]


@pytest.mark.parametrize("name", MICRO)
def test_micro_model_is_batch_one_integer_with_only_the_ops_it_needs(artifacts, name):
    from tflite_micro import runtime as tflm

    data = (artifacts / entry(artifacts, name)["path"]).read_bytes()
    model = tflm.convert_bytearray_to_object(bytearray(data))
    names = {v: k for k, v in vars(tflm.schema_fb.BuiltinOperator).items() if not k.startswith("_")}
    ops = [
        names[tflm.get_builtin_code_from_operator_code(model.operatorCodes[op.opcodeIndex])]
        for op in model.subgraphs[0].operators
    ]
    assert set(ops) <= {"RESHAPE", "FULLY_CONNECTED", "SOFTMAX"} and ops.count("RESHAPE") <= 1, ops
    interpreter = tflm.Interpreter.from_bytes(data)
    assert list(interpreter.get_input_details(0)["shape"]) == [1, 28, 28]
    integer = np.dtype(f"int{VARIANTS[name].precision.activation_bits}")
    assert interpreter.get_input_details(0)["dtype"] == integer == interpreter.get_output_details(0)["dtype"]


@pytest.mark.parametrize("name", MICRO)
def test_the_manifest_arena_is_the_smallest_that_runs(artifacts, name):
    from runtime.engines.micro import runs_in

    described = entry(artifacts, name)
    data = (artifacts / described["path"]).read_bytes()
    arena = described["arena_bytes"]
    assert runs_in(data, arena) and not runs_in(data, arena - ARENA_STEP)


@pytest.mark.parametrize("name", MICRO)
def test_model_data_c_holds_the_flatbuffer_aligned(artifacts, tmp_path, name):
    described = entry(artifacts, name)
    data = (artifacts / described["path"]).read_bytes()
    source = next(artifacts / c["path"] for c in described["companions"] if c["path"].endswith(".c"))
    text = source.read_text()
    assert "__attribute__((aligned(16))) const unsigned char g_fmnist_model[]" in text
    assert bytes(int(h, 16) for h in re.findall(r"0x([0-9a-f]{2})", text)) == data
    assert f"g_fmnist_model_len = {len(data)};" in text
    if shutil.which("cc"):
        subprocess.run(
            ["cc", "-std=c99", "-Wall", "-Werror", "-c", str(source), "-o", str(tmp_path / "m.o")], check=True
        )


def test_generated_c_is_dependency_free_with_the_promised_api(artifacts):
    source = artifacts / entry(artifacts, "c-int8")["path"]
    code, header = source.read_text(), source.with_suffix(".h").read_text()
    includes = sorted(re.findall(r"#include\s+(\S+)", code))
    assert includes == ['"fmnist_model.h"', "<arm_acle.h>", "<stdint.h>", "<string.h>"]
    assert "#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP\n#include <arm_acle.h>" in code
    assert sorted(set(re.findall(r"#include\s+(\S+)", header))) == ["<stdint.h>"]
    assert not re.search(r"\b(float|double|malloc|calloc|free)\b", re.sub(r"/\*.*?\*/", "", code, flags=re.S))
    assert "int fmnist_predict(const uint8_t pixels[784], int8_t scores[10]);" in header
    assert re.search(r"#define FMNIST_OUTPUT_SCALE 0\.00390625f", header)
    assert "#define FMNIST_OUTPUT_ZERO_POINT (-128)" in header
    assert "static const int8_t dense0_weights[100352]" in code and "fully_connected.h" in code


def test_the_generator_names_what_it_cannot_express(artifacts):
    """tflite-int8 has a dynamic batch, so ops a microcontroller model has no use for."""
    from export import VariantSkipped
    from export.c_graph import SUPPORTED, read

    with pytest.raises(VariantSkipped) as refused:
        read((artifacts / entry(artifacts, "tflite-int8")["path"]).read_bytes())
    assert refused.value.reason.startswith("op SHAPE ") and SUPPORTED in refused.value.reason
    assert "\n" not in refused.value.reason


def test_without_a_c_compiler_the_variant_is_skipped(keras, monkeypatch):
    from export import VariantSkipped
    from export.c import compiler

    monkeypatch.setenv("CC", "no-such-compiler")
    with pytest.raises(VariantSkipped, match="no C compiler"):
        compiler()


def test_a_changed_library_or_header_is_refused_before_it_is_loaded(artifacts_copy):
    source = artifacts_copy / entry(artifacts_copy, "c-int8")["path"]
    for companion in (source.with_suffix(".so"), source.with_suffix(".h")):
        original = companion.read_bytes()
        companion.write_bytes(original + b"\0")
        with pytest.raises(ModelError, match="checksum mismatch") as refused:
            runtime.load(artifacts_copy, "c-int8")
        assert refused.value.path == str(companion.resolve())
        companion.write_bytes(original)
    assert runtime.load(artifacts_copy, "c-int8").classify(np.zeros((1, 28, 28), np.uint8)).shape == (1,)


def test_firmware_scores_equal_the_hosts_on_emulated_boards(artifacts, tmp_path):
    from benchmarks import micro
    from benchmarks.firmware import missing_tools

    missing = missing_tools()
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (make micro installs them where apt-get works)")
    run_cli("benchmarks.micro", "--artifacts", artifacts, "--out", tmp_path, "--build", tmp_path / "build")
    report = json.loads((tmp_path / "micro.json").read_text())
    rows = {row["target"]: row for row in report["targets"]}
    assert report["host_equal_to_tflite_micro"] == report["test_images"] == 10_000
    for board in ("cortex-m4", "cortex-m3"):
        assert rows[board]["equal_to_host"] == rows[board]["images"] == 100
    m4 = rows["cortex-m4"]
    assert m4["flash_bytes"] <= 108 * 1024 and m4["ram_bytes"] <= 2048
    assert 101_632 <= m4["instructions"] <= 2 * 101_632  # at least one per multiply-accumulate
    assert rows["cortex-m3"]["instructions"] > m4["instructions"]  # no SMLAD there
    assert rows["cortex-m0plus"]["flash_bytes"] > 100 * 1024
    assert "| c-int8 | Cortex-M4" in (tmp_path / "micro.md").read_text()
    assert "| c-int8 | Cortex-M4" in micro.report_section(tmp_path)  # what `make bench`'s report appends


def test_micro_benchmark_refuses_a_missing_export_in_one_line(tmp_path):
    from benchmarks.firmware import missing_tools

    if missing_tools():
        pytest.skip("needs the cross compiler and QEMU")
    result = run_cli("benchmarks.micro", "--artifacts", tmp_path / "none", "--out", tmp_path, check=False)
    assert result.returncode == 1 and result.stderr.count("\n") == 1 and "make train export" in result.stderr
    assert not (tmp_path / "micro.json").exists()


def test_a_bare_c_model_loads_like_the_manifests(artifacts, test_set):
    source = artifacts / entry(artifacts, "c-int8")["path"]
    bare, named = runtime.load(source), runtime.load(artifacts, "c-int8")
    assert np.array_equal(bare.predict(test_set[0][:50]), named.predict(test_set[0][:50]))


def test_export_without_a_c_compiler_publishes_the_rest_and_says_why_in_one_line(artifacts_copy):
    env = {**os.environ, "CC": "no-such-compiler"}
    result = run_cli("export", "--artifacts", artifacts_copy, env=env)
    skipped = [line for line in result.stdout.splitlines() if line.startswith("c-int8")]
    assert [line.split() for line in skipped] == [
        "c-int8 skipped: no C compiler (no-such-compiler) on PATH "
        "to build its shared library; install gcc".split()
    ]
    manifest = json.loads((artifacts_copy / "manifest.json").read_text())
    names = [e["variant"] for e in manifest["artifacts"]]
    assert "c-int8" not in names and "tflite-int8-micro" in names
    run = artifacts_copy / Path(manifest["reference"]).parent
    assert not list(run.glob("fmnist_model.*"))
