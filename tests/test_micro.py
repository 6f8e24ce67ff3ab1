"""The microcontroller variants: tflite-int8-micro and tflite-int16x8-micro run in TFLite Micro's own
interpreter, in the arena the manifest names; c-int8, the generated C, gives TFLite Micro's very bytes
on all 10,000 test images, for the tutorial model, a small CNN with every layer kind the generator
writes and the tutorial model pruned to half its weights (stored sparse), on the host and on emulated
Cortex-M55, M4 and M3 boards."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import runtime
from runtime.dataset import load_split
from runtime.errors import ModelError
from runtime.variants import TFLITE_MICRO, VARIANTS, runnable
from tests.conftest import ROOT, run_cli

ARENA_STEP = 16  # smallest_arena's resolution, bytes
MICRO = [v.name for v in runnable() if v.format == TFLITE_MICRO]  # int8 and int16x8
QUIET = {"stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE}
CNN_OPS = {
    "CONV_2D",
    "DEPTHWISE_CONV_2D",
    "MAX_POOL_2D",
    "AVERAGE_POOL_2D",
    "MEAN",
    "FULLY_CONNECTED",
    "SOFTMAX",
}


def entry(artifacts, name):
    return next(
        e for e in json.loads((artifacts / "manifest.json").read_text())["artifacts"] if e["variant"] == name
    )


def raw_scores(predictor, images):
    """The engine's own int8 output (no dequantization) for uint8 images."""
    from benchmarks.micro import raw_scores

    return raw_scores(predictor, images)


def without_floats_or_allocation(code: str) -> bool:
    """No float, double or heap in the C, comments aside."""
    return not re.search(r"\b(float|double|malloc|calloc|free)\b", re.sub(r"/\*.*?\*/", "", code, flags=re.S))


def micro_ops(artifacts, name="tflite-int8-micro") -> list[str]:
    from tflite_micro import runtime as tflm

    data = (artifacts / entry(artifacts, name)["path"]).read_bytes()
    model = tflm.convert_bytearray_to_object(bytearray(data))
    names = {v: k for k, v in vars(tflm.schema_fb.BuiltinOperator).items() if not k.startswith("_")}
    return [
        names[tflm.get_builtin_code_from_operator_code(model.operatorCodes[op.opcodeIndex])]
        for op in model.subgraphs[0].operators
    ]


def started(*args) -> subprocess.Popen:
    """`python -m ...` from the repository root, running while the test goes on."""
    return subprocess.Popen([sys.executable, "-m", *map(str, args)], cwd=ROOT, text=True, **QUIET)


def finished(process: subprocess.Popen) -> None:
    _, errors = process.communicate(timeout=600)
    assert process.returncode == 0, f"{process.args} exited {process.returncode}:\n{errors}"


@pytest.fixture(scope="module")
def micro_set(artifacts, keras, tmp_path_factory) -> Path:
    """What `make micro` measures, made by the real CLIs: a copy of the tutorial export, a small CNN
    trained briefly in cnn/ (benchmarks/micro_cnn.py), the tutorial pruned to 50% in pruned/ (one epoch,
    then its two of fine-tuning). The CLIs run side by side with the CNN's training."""
    from benchmarks.micro_cnn import train_cnn

    folder = Path(shutil.copytree(artifacts, tmp_path_factory.mktemp("micro") / "set"))
    pruning = started("train", "--epochs", 1, "--prune", 0.5, "--out", folder / "pruned")
    images, labels = load_split("train")
    (folder / "cnn").mkdir()
    train_cnn(images[:12_000], labels[:12_000], epochs=1).save(folder / "cnn" / "cnn.keras")
    exports = [started("export", "--model", folder / "cnn" / "cnn.keras", "--out", folder / "cnn")]
    finished(pruning)
    exports.append(started("export", "--artifacts", folder / "pruned"))
    for export in exports:
        finished(export)
    return folder


@pytest.mark.parametrize("model", [".", "cnn", "pruned"], ids=["tutorial", "cnn", "pruned"])
def test_c_scores_are_tflite_micros_bytes_on_every_test_image(model, micro_set, test_set):
    folder = micro_set / model
    c_model, micro = runtime.load(folder, "c-int8"), runtime.load(folder, "tflite-int8-micro")
    c_scores, micro_scores = raw_scores(c_model, test_set[0]), raw_scores(micro, test_set[0])
    assert c_scores.shape == micro_scores.shape == (10_000, 10) and c_scores.dtype == np.int8
    assert np.array_equal(c_scores, micro_scores), f"{int((c_scores != micro_scores).sum())} bytes differ"
    assert entry(folder, "c-int8")["accuracy"] == entry(folder, "tflite-int8-micro")["accuracy"]


def test_the_cnn_has_every_layer_kind_and_its_scratch_is_reported(micro_set):
    folder = micro_set / "cnn"
    assert set(micro_ops(folder)) == CNN_OPS
    described = entry(folder, "c-int8")
    source = folder / described["path"]
    code, header = source.read_text(), source.with_suffix(".h").read_text()
    for kernel in ("conv_layer", "depthwise_layer", "pool_layer", "dense_layer", "softmax_layer"):
        assert f"static void {kernel}(" in code
    assert without_floats_or_allocation(code)
    scratch = int(re.search(r"#define FMNIST_SCRATCH_BYTES (\d+)", header).group(1))
    assert scratch == described["scratch_bytes"] >= 28 * 28 * 8  # the first convolution's output
    assert described["macs"] == 28 * 28 * 8 * 9 + 12 * 12 * 8 * 9 + 3 * 3 * 16 * 72 + 16 * 10


def test_pruning_zeroes_half_of_each_dense_kernel_and_the_c_model_stores_only_the_rest(micro_set, keras):
    from export.c_graph import read

    folder = micro_set / "pruned"
    figures = json.loads((folder / "train.json").read_text())
    assert (figures["prune"], figures["fine_tune_epochs"]) == (0.5, 2)
    model = keras.saving.load_model(folder / "model.keras")
    kernels = [layer.kernel.numpy() for layer in model.layers if hasattr(layer, "kernel")]
    assert [float((k == 0).mean()) for k in kernels] == [0.5, 0.5]
    code = (folder / entry(folder, "c-int8")["path"]).read_text()
    assert code.count("sparse_dense_layer(&layer") == 2 and "static void dense_layer(" not in code
    int8_kernel = read((folder / entry(folder, "tflite-int8-micro")["path"]).read_bytes()).layers[0].weights
    values = int(re.search(r"layer0_values\[(\d+)\]", code).group(1))
    assert values == np.count_nonzero(int8_kernel) <= 784 * 128 // 2  # the non-zero weights only


@pytest.mark.parametrize("name", MICRO)
def test_micro_model_is_batch_one_integer_with_only_the_ops_it_needs(artifacts, name):
    from tflite_micro import runtime as tflm

    ops = micro_ops(artifacts, name)
    assert set(ops) <= {"RESHAPE", "FULLY_CONNECTED", "SOFTMAX"} and ops.count("RESHAPE") <= 1, ops
    data = (artifacts / entry(artifacts, name)["path"]).read_bytes()
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
    assert not runs_in(data, 256)  # TFLite Micro's allocator crashes on it: in a child, that is a "no"


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
    described = entry(artifacts, "c-int8")
    source = artifacts / described["path"]
    code, header = source.read_text(), source.with_suffix(".h").read_text()
    includes = sorted(re.findall(r"#include\s+(\S+)", code))
    assert includes == ['"fmnist_model.h"', "<arm_acle.h>", "<arm_mve.h>", "<stdint.h>", "<string.h>"]
    assert "#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)\n#include <arm_mve.h>" in code
    assert sorted(set(re.findall(r"#include\s+(\S+)", header))) == ["<stdint.h>"]
    assert without_floats_or_allocation(code)
    assert "int fmnist_predict(const uint8_t pixels[784], int8_t scores[10]);" in header
    assert re.search(r"#define FMNIST_OUTPUT_SCALE 0\.00390625f", header)
    assert "#define FMNIST_OUTPUT_ZERO_POINT (-128)" in header
    assert f"#define FMNIST_SCRATCH_BYTES {described['scratch_bytes']} " in header
    assert "static const int8_t FMNIST_ALIGNED layer0_weights[100352]" in code and "fully_connected.h" in code
    assert described["macs"] == 784 * 128 + 128 * 10


def test_odd_shapes_groups_and_zero_points_give_tflite_micros_bytes_too(keras, tmp_path, test_set):
    """Untrained, but calibrated: strides and filters of two sizes, a depth multiplier, grouped
    convolution, layers without activation (their outputs' zero points are not -128), inputs not a
    multiple of 16."""
    from export.c import export_c
    from export.micro import micro_tflite_bytes
    from runtime.engines.micro import MicroEngine

    layers = keras.layers
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((28, 28)),
            layers.Reshape((28, 28, 1)),
            layers.Conv2D(3, (3, 5), strides=(2, 1), padding="same"),
            layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same", activation="relu"),
            layers.Conv2D(8, 3, groups=2, activation="relu6"),
            layers.MaxPooling2D(3, strides=1, padding="same"),
            layers.AveragePooling2D(3, strides=2),
            layers.Flatten(),
            layers.Dense(21),
            layers.Dense(10, activation="softmax"),
        ]
    )
    calibration = test_set[0][-100:].astype(np.float32) / 255
    export_c(model, tmp_path / "fmnist_model.c", calibration)
    (tmp_path / "model.tflite").write_bytes(micro_tflite_bytes(model, calibration))
    images = test_set[0][:1000]
    c_scores = raw_scores(runtime.load(tmp_path / "fmnist_model.c"), images)
    engine = MicroEngine(tmp_path / "model.tflite", threads=1)
    micro_scores = engine.run((images.astype(np.int16) - 128).astype(np.int8).reshape(len(images), 28, 28))
    assert np.array_equal(c_scores, micro_scores) and len({row.tobytes() for row in c_scores}) > 500


def test_a_layer_the_generator_cannot_write_is_named_in_one_line(keras, tmp_path, test_set):
    from export import VariantSkipped
    from export.c import export_c

    model = keras.Sequential(
        [
            keras.Input((28, 28)),
            keras.layers.Flatten(),
            keras.layers.Dense(16, activation="tanh", name="squash"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    images = test_set[0][:20].astype(np.float32) / 255
    with pytest.raises(VariantSkipped) as refused:
        export_c(model, tmp_path / "fmnist_model.c", images)
    assert refused.value.reason.startswith(
        "layer squash (op TANH) cannot be written in C; supported: CONV_2D"
    )
    assert "\n" not in refused.value.reason and not list(tmp_path.iterdir())


def test_the_generator_names_what_it_cannot_express(artifacts):
    """tflite-int8 has a dynamic batch, so ops a microcontroller model has no use for."""
    from export import VariantSkipped
    from export.c_graph import SUPPORTED, read

    with pytest.raises(VariantSkipped) as refused:
        read(
            (artifacts / entry(artifacts, "tflite-int8")["path"]).read_bytes(),
            ["flatten", "dense", "dense_1"],
        )
    assert refused.value.reason == f"layer flatten (op SHAPE) cannot be written in C; supported: {SUPPORTED}"


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


@pytest.mark.slow
def test_make_micro_runs_every_model_on_every_core_with_tflite_micros_bytes(micro_set, tmp_path):
    from benchmarks import micro
    from benchmarks.firmware import missing_tools

    missing = missing_tools()
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (make micro installs them where apt-get works)")
    run_cli("benchmarks.micro", "--artifacts", micro_set, "--out", tmp_path, "--build", tmp_path / "build")
    report = json.loads((tmp_path / "micro.json").read_text())
    models = {m["model"]: m for m in report["models"]}
    assert list(models) == ["tutorial", "CNN", "pruned", "pruned, written dense"]
    for model in models.values():
        assert model["host_identical"] == model["test_images"] == 10_000
        rows = {row["target"]: row for row in model["targets"]}
        assert list(rows) == ["cortex-m55", "cortex-m4", "cortex-m3", "cortex-m0plus"]
        for core in ("cortex-m55", "cortex-m4", "cortex-m3"):
            assert rows[core]["identical"] == rows[core]["images"] == 100, (model["model"], core)
        traced = rows["cortex-m4"]["trace"]  # one inference (pooling's branches vary a little by image)
        assert traced["cycles"] > traced["instructions"] > 0.97 * rows["cortex-m4"]["instructions"]
    tutorial = {row["target"]: row for row in models["tutorial"]["targets"]}
    per_mac = {
        core: tutorial[core]["instructions"] / 101_632 for core in ("cortex-m55", "cortex-m4", "cortex-m3")
    }
    assert per_mac["cortex-m55"] <= 0.35 and per_mac["cortex-m4"] <= 1.45 < per_mac["cortex-m3"]  # the goals
    assert tutorial["cortex-m4"]["ram_bytes"] <= 1024
    flash = {name: models[name]["targets"][1]["flash_bytes"] for name in ("pruned", "pruned, written dense")}
    assert flash["pruned"] < 0.7 * flash["pruned, written dense"]
    assert "| CNN | Cortex-M55, Helium (MVE), mps3-an547 |" in (tmp_path / "micro.md").read_text()
    assert "| tutorial | Cortex-M4" in micro.report_section(tmp_path)  # what `make bench`'s report appends


def test_dense_weights_stream_in_blocks_of_four_rows_sixteen_inputs_at_a_time():
    from export.c_layout import blocked

    weights = (np.arange(10 * 37).reshape(10, 37) % 251 - 125).astype(np.int8)
    laid = blocked(weights)
    block = 2 * 64 + 4 * 5  # two chunks of 16 inputs by 4 rows, then the 5 last inputs of each row
    assert len(laid) == 2 * block + 2 * 37 + 2  # rows 8 and 9 whole, then zeros to a multiple of 4
    assert np.array_equal(laid[:64].reshape(4, 16), weights[:4, :16])
    assert np.array_equal(laid[64:128].reshape(4, 16), weights[:4, 16:32])
    assert np.array_equal(laid[128:block].reshape(4, 5), weights[:4, 32:])
    assert np.array_equal(laid[2 * block : 2 * block + 74].reshape(2, 37), weights[8:])


def test_sparse_weights_are_a_bitmask_when_that_is_smaller():
    from export.c_layout import is_sparse, mask_words

    row = np.zeros((1, 40), np.int8)
    row[0, [0, 33]] = 5
    assert mask_words(row).tolist() == [[0x80000000, 0x40000000]]  # bit 31 - i: input 32k + i
    weights = np.ones((8, 64), np.int8)
    weights[:, :9] = 0  # 9/64 zero: the bitmask (8 B a row) and 55 values beat 64 B
    assert is_sparse(weights) and not is_sparse(np.ones((8, 64), np.int8))


def test_the_cortex_m4_cycle_model():
    from benchmarks.firmware_trace import Instruction

    def cycles(mnemonic, operands=""):
        return Instruction(mnemonic, operands, 4, "f").base_cycles

    assert (cycles("smlad"), cycles("ldr", "r0, [r1]"), cycles("ldrd", "r0, r1, [r2]")) == (1, 2, 3)
    assert cycles("sdiv") == 12
    assert cycles("pop", "{r4, r5, pc}") == 4 and Instruction("pop", "{r4, pc}", 2, "f").may_branch
    assert Instruction("bne", "1b", 2, "f").may_branch and not Instruction("bic", "r0, r1", 4, "f").may_branch


def test_prune_takes_a_share_below_one():
    result = run_cli("train", "--prune", "1", check=False)
    assert result.returncode == 2 and "--prune must be at least 0 and below 1" in result.stderr


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
