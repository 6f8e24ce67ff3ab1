"""The precisions besides float32 and int8: each variant holds Keras' numbers as its Precision says
(float16 weights, int8 weights with float activations, int16x8 integer-only), the recipe that made it
is in the manifest, and the gate holds int16x8 to integer input and output.

    pytest tests/test_precisions.py
"""

import json
import shutil
from dataclasses import replace

import numpy as np
import pytest

import runtime
from export.recipes import DEFAULTS, ENGINE_PRECISIONS, QuantRecipe
from runtime.files import sha256_file
from runtime.parity import Figures
from runtime.predictor import to_scores
from runtime.variants import INTEGER16, Precision
from tests.conftest import TINY_MODEL, run_cli

MADE = {  # the new variants and what their manifest entry says made them
    "tflite-float16": {"engine": "tflite", "precision": "float16"},
    "tflite-dynamic": {"engine": "tflite", "precision": "dynamic"},
    "onnx-float16": {"engine": "onnx", "precision": "float16"},
    "onnx-dynamic": {"engine": "onnx", "precision": "dynamic"},
}


def entry(artifacts, name) -> dict:
    manifest = json.loads((artifacts / "manifest.json").read_text())
    return next(e for e in manifest["artifacts"] if e["variant"] == name)


def figures(io) -> Figures:
    return Figures(0.88, 0.999, 0.01, 0.0, [0.88] * 10, np.arange(0), io)


def test_only_int16_input_and_output_pass_an_integer_only_tolerance():
    assert INTEGER16.violations(figures(("int16", "int16")), 0.88) == []
    assert INTEGER16.violations(figures(("float32", "int16")), 0.88) == [
        "input and output are float32 and int16, not int16"
    ]
    assert INTEGER16.violations(figures(None), 0.88) == ["input and output are unknown, not int16"]


def test_a_recipe_is_refused_for_a_precision_its_converter_cannot_make():
    with pytest.raises(ValueError, match="onnx makes float16, dynamic, int8, not 'int16x8'"):
        QuantRecipe("onnx", precision=Precision.INT16X8)


@pytest.mark.parametrize(
    "engine, precision", [(engine, p) for engine, made in ENGINE_PRECISIONS.items() for p in made], ids=str
)
def test_a_recipe_of_each_precision_survives_the_manifest(engine, precision):
    recipe = replace(DEFAULTS[engine], precision=precision)
    summary = json.loads(json.dumps(recipe.summary()))
    assert QuantRecipe.from_summary(summary).precision is precision
    if precision.calibrated:
        assert QuantRecipe.from_summary(summary) == recipe
    else:  # the calibration choices do not apply, so the manifest does not claim any
        assert summary == {"engine": engine, "precision": precision.value}


def test_a_16_bit_output_is_dequantized_by_its_scale_and_zero_point(tiny_models):
    engine = runtime.load(tiny_models["tflite-int16x8"]).engine
    scale, zero_point = engine.output_quant
    codes = np.arange(-32768, 32768, dtype=np.int16).reshape(-1, 4)
    expected = (codes.astype(np.float64) - zero_point) * scale
    assert engine.output_dtype == np.int16 and zero_point == 0
    np.testing.assert_allclose(to_scores(engine, codes), expected, rtol=1e-6)


def test_int16_pixels_come_from_one_table_of_256(tiny_models, test_set):
    predictor = runtime.load(tiny_models["tflite-int16x8"])
    assert predictor.pixels.dtype == np.int16 and predictor.pixels.shape == (256,)
    assert predictor.pixels[0] == 0 and predictor.pixels[255] == 32767  # scale 1/32767, zero point 0
    images = test_set[0][:500]
    np.testing.assert_allclose(predictor.predict(images), TINY_MODEL.reference(images), atol=0.02)


@pytest.mark.parametrize("name", sorted(MADE))
def test_the_manifest_says_what_made_each(artifacts, name):
    assert entry(artifacts, name)["quantization"] == MADE[name]
    assert entry(artifacts, name)["precision"] == MADE[name]["precision"]


@pytest.mark.parametrize("name", ["tflite-int16x8", "tflite-int16x8-micro"])
def test_int16x8_follows_tflite_int8s_calibration(artifacts, name):
    made, int8 = entry(artifacts, name)["quantization"], entry(artifacts, "tflite-int8")["quantization"]
    assert made == {**int8, "precision": "int16x8"}


@pytest.mark.parametrize("name", ["tflite-float16", "onnx-float16"])
def test_float16_halves_the_file_and_keeps_float32_input_and_output(artifacts, name):
    float32 = entry(artifacts, name.replace("16", "32"))
    assert 0.45 < entry(artifacts, name)["bytes"] / float32["bytes"] < 0.55
    engine = runtime.load(artifacts, name).engine
    assert engine.input_dtype == engine.output_dtype == np.float32


def test_tflite_float16_stores_float16_weights(artifacts):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(artifacts / entry(artifacts, "tflite-float16")["path"]))
    types = {np.dtype(t["dtype"]).name for t in interpreter.get_tensor_details()}
    assert {"float16", "float32"} <= types and not types & {"int8", "int16"}


def test_onnx_float16_stores_float16_weights_cast_back_to_float32(artifacts):
    import onnx

    model = onnx.load(artifacts / entry(artifacts, "onnx-float16")["path"])
    floats = [
        w
        for w in model.graph.initializer
        if w.data_type in (onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16)
    ]
    assert floats and all(w.data_type == onnx.TensorProto.FLOAT16 for w in floats)
    casts = [node for node in model.graph.node if node.op_type == "Cast"]
    assert sorted(c.input[0] for c in casts) == sorted(w.name for w in floats)
    assert all(a.i == onnx.TensorProto.FLOAT for c in casts for a in c.attribute if a.name == "to")


@pytest.mark.parametrize("name", ["tflite-dynamic", "onnx-dynamic"])
def test_dynamic_range_holds_int8_weights_and_float_input_and_output(artifacts, name):
    float32 = entry(artifacts, name.replace("dynamic", "float32"))
    assert entry(artifacts, name)["bytes"] / float32["bytes"] < 0.3  # a quarter, and the graph
    engine = runtime.load(artifacts, name).engine
    assert engine.input_dtype == engine.output_dtype == np.float32


def test_onnx_dynamic_quantizes_activations_per_call(artifacts):
    import onnx

    ops = {
        node.op_type for node in onnx.load(artifacts / entry(artifacts, "onnx-dynamic")["path"]).graph.node
    }
    assert {"DynamicQuantizeLinear", "MatMulInteger"} <= ops and "QuantizeLinear" not in ops


def test_tflite_int16x8_is_integer_only(artifacts):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(artifacts / entry(artifacts, "tflite-int16x8")["path"]))
    assert interpreter.get_input_details()[0]["dtype"] == np.int16
    assert interpreter.get_output_details()[0]["dtype"] == np.int16
    types = {np.dtype(t["dtype"]).name for t in interpreter.get_tensor_details()}
    assert types <= {"int16", "int8", "int32", "int64"}  # int8 weights, int64 biases, int32 shapes


def test_the_gate_refuses_an_int16x8_file_with_float_input(artifacts_copy):
    """The tflite-int16x8 file swapped for the float32 one (checksums updated): it agrees with Keras
    perfectly, and is refused all the same."""
    manifest_path = artifacts_copy / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    int16x8 = next(e for e in manifest["artifacts"] if e["variant"] == "tflite-int16x8")
    float32 = next(e for e in manifest["artifacts"] if e["variant"] == "tflite-float32")
    path = artifacts_copy / int16x8["path"]
    shutil.copyfile(artifacts_copy / float32["path"], path)
    int16x8.update(bytes=path.stat().st_size, sha256=sha256_file(path))
    manifest_path.write_text(json.dumps(manifest))
    result = run_cli(
        "runtime.evaluate", "--artifacts", artifacts_copy, "--model", "tflite-int16x8", "--json", check=False
    )
    (row,) = json.loads(result.stdout)["variants"]
    assert result.returncode == 1 and row["agreement"] == 1.0
    assert row["violations"] == ["input and output are float32 and float32, not int16"]
