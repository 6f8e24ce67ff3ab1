"""Every export is a real file its engine loads, matches the Keras model, and is described exactly
by the manifest; a variant outside its tolerance is refused by the parity gate."""

import json

import numpy as np
import pytest

import runtime
from runtime.dataset import CLASSES, dataset_sha256
from runtime.errors import ParityError
from runtime.files import sha256_file
from runtime.variants import ONNX, VARIANTS, Precision, runnable
from tests.conftest import RUNNABLE, replace_format


@pytest.fixture(scope="module")
def export_cli(keras):
    import export.__main__

    return export.__main__


@pytest.fixture(scope="module")
def manifest(artifacts):
    return json.loads((artifacts / "manifest.json").read_text())


@pytest.fixture(scope="module")
def keras_probabilities(artifacts, test_set, keras):
    model = keras.saving.load_model(artifacts / "model.keras", safe_mode=True)
    return model.predict(test_set[0].astype(np.float32) / 255.0, batch_size=1000, verbose=0)


def entry(manifest, name):
    return next(e for e in manifest["artifacts"] if e["variant"] == name)


@pytest.mark.parametrize("name", RUNNABLE)
def test_variant_matches_keras_in_its_engine(artifacts, manifest, test_set, keras_probabilities, name):
    predictor = runtime.load(artifacts, variant=name)
    probabilities = predictor.predict(test_set[0])
    agreement = (probabilities.argmax(1) == keras_probabilities.argmax(1)).mean()
    accuracy = (probabilities.argmax(1) == test_set[1]).mean()
    keras_accuracy = (keras_probabilities.argmax(1) == test_set[1]).mean()
    if VARIANTS[name].precision == "float32":
        np.testing.assert_allclose(probabilities, keras_probabilities, rtol=0, atol=1e-4)
        assert agreement >= 0.999
    else:
        assert abs(accuracy - keras_accuracy) <= 0.01 and agreement > 0.95
    assert entry(manifest, name)["accuracy"] == pytest.approx(accuracy, abs=1e-9)
    largest = np.abs(probabilities - keras_probabilities).max()  # the manifest's figure, measured again
    assert entry(manifest, name)["max_abs_diff"] == pytest.approx(largest, rel=1e-3, abs=1e-6)


def test_manifest_describes_every_file_exactly(artifacts, manifest):
    assert manifest["classes"] == list(CLASSES)
    assert manifest["input"]["shape"] == [None, 28, 28] and manifest["input"]["dtype"] == "float32"
    assert [e["variant"] for e in manifest["artifacts"]] == list(VARIANTS)
    for e in manifest["artifacts"]:
        path = artifacts / e["path"]
        assert path.resolve().is_relative_to(artifacts.resolve())
        variant = VARIANTS[e["variant"]]
        assert (e["format"], e["precision"]) == (variant.format.name, variant.precision)
        assert e["bytes"] == path.stat().st_size and e["sha256"] == sha256_file(path)
        assert 0.8 < e["accuracy"] <= 1 and 0.95 < e["agreement"] <= 1
        assert e["max_abs_diff"] <= variant.tolerance.max_abs_diff and (e["max_abs_diff"] == 0) == (
            variant.name == "keras"
        )
        assert len(e["per_class_accuracy"]) == 10
    assert sha256_file(artifacts / manifest["reference"]) == manifest["reference_sha256"]
    assert manifest["dataset"] == {
        "kind": "fashion-mnist",
        "files": dataset_sha256(),
        "labelled": True,  # its classes are Fashion-MNIST's: accuracy is measured
        "calibration": "the training split",
        "gate_images": 10_000,
    }
    train = json.loads((artifacts / "train.json").read_text())
    assert manifest["train"] == {k: train[k] for k in ("epochs", "batch_size", "seed", "seconds", "accuracy")}


def test_reference_holds_keras_outputs(artifacts, manifest, test_set, keras_probabilities):
    reference = np.load(artifacts / manifest["reference"])
    np.testing.assert_allclose(reference["probabilities"], keras_probabilities, atol=1e-6)
    assert np.array_equal(reference["labels"], test_set[1])


def test_tflite_int8_is_integer_only(artifacts, manifest):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(artifacts / entry(manifest, "tflite-int8")["path"]))
    assert interpreter.get_input_details()[0]["dtype"] == np.int8
    assert interpreter.get_output_details()[0]["dtype"] == np.int8
    tensor_types = {np.dtype(t["dtype"]).name for t in interpreter.get_tensor_details()}
    assert tensor_types <= {"int8", "int32"}  # int32: biases and shapes; no float anywhere


@pytest.mark.parametrize("name", [v.name for v in runnable() if v.format == ONNX])
def test_onnx_is_valid_with_a_dynamic_batch_unless_quantized_per_call(artifacts, manifest, name):
    import onnx

    from export.onnx import OPSET

    model = onnx.load(artifacts / entry(manifest, name)["path"])
    onnx.checker.check_model(model, full_check=True)
    assert max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) >= OPSET >= 17
    batch = model.graph.input[0].type.tensor_type.shape.dim[0]
    if VARIANTS[name].precision is Precision.DYNAMIC:  # one activation scale per call: batch 1
        assert batch.dim_value == 1
    else:
        assert batch.dim_param and not batch.dim_value
    ops = {node.op_type for node in model.graph.node}
    if name == "onnx-int8":
        assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    else:
        assert not ops & {"QuantizeLinear", "DequantizeLinear"}


def shifted_tflite(model, filepath, calibration, recipe):
    """A broken exporter: adds 3 to the first class's logit before exporting."""
    import keras

    from export.tflite import export_tflite

    clone = keras.models.clone_model(model)
    weights = model.get_weights()
    weights[-1] = weights[-1] + np.eye(10, dtype=np.float32)[0] * 3.0
    clone.set_weights(weights)
    export_tflite(clone, filepath, calibration, recipe)


@pytest.fixture
def shifted(monkeypatch):
    """The registry's TFLite exporter replaced by shifted_tflite."""
    replace_format(monkeypatch, "tflite", exporter=f"{__name__}:shifted_tflite")


def test_parity_gate_refuses_a_tampered_variant(artifacts_copy, shifted, keras):
    from export.pipeline import export_all

    with pytest.raises(ParityError) as error:
        export_all(artifacts_copy)
    assert "tflite-float32: agreement" in str(error.value)
    manifest = json.loads((artifacts_copy / "manifest.json").read_text())
    published = [e["variant"] for e in manifest["artifacts"]]
    assert "tflite-float32" not in published and {"keras", "onnx-float32", "onnx-int8"} <= set(published)
    for e in manifest["artifacts"]:  # what is published is still consistent
        assert sha256_file(artifacts_copy / e["path"]) == e["sha256"]
    assert len(list(artifacts_copy.glob("run-*"))) == 1


def test_export_cli_exits_1_with_one_line_when_the_gate_fails(artifacts_copy, shifted, export_cli, capsys):
    assert export_cli.main(["--artifacts", str(artifacts_copy)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and "parity gate failed" in err[-1] and "tflite-float32" in err[-1]
