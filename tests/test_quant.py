"""int8 chosen by numbers: the selection rule, a real small sweep that export then follows, the
manifest's record of each recipe, and a refused int8 variant's gate message naming its worst layer."""

import json
import re
from dataclasses import replace

import numpy as np
import pytest

from export.recipes import (
    DEFAULTS,
    QuantRecipe,
    calibration_images,
    candidates,
    choose,
    chosen_recipes,
)
from runtime.choice import LATENCY_BAND
from runtime.errors import ModelError, ParityError
from runtime.variants import VARIANTS, Precision, Tolerance
from tests.conftest import run_cli


def row(agreement, microseconds, label=""):
    """A candidate as the rule sees it; its test-set agreement is the opposite, to show it is not read."""
    return {
        "validation_agreement": agreement,
        "agreement": 1 - agreement,
        "b1_seconds": microseconds * 1e-6,
        "label": label,
    }


def test_the_rule_takes_the_best_agreement_within_ten_percent_of_the_fastest():
    fastest, close, slow = (
        row(0.985, 4.0, "fastest"),
        row(0.990, 4.0 * (1 + LATENCY_BAND), "close"),
        row(0.999, 4.5, "slow"),
    )
    assert choose([slow, fastest, close])["label"] == "close"  # slow is 12.5% slower: out, however good
    assert choose([slow])["label"] == "slow"
    tie = [row(0.99, 4.2, "later"), row(0.99, 4.1, "faster")]
    assert choose(tie)["label"] == "faster"
    with pytest.raises(ValueError, match="no candidates"):
        choose([])


def test_recipes_are_distinct_and_survive_the_manifest():
    for engine in ("onnx", "tflite"):
        recipes = candidates(engine)
        assert len({r.label() for r in recipes}) == len(recipes)
        assert all(QuantRecipe.from_summary(json.loads(json.dumps(r.summary()))) == r for r in recipes)
        assert DEFAULTS[engine] in recipes and len(candidates(engine, small=True)) <= 3


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"method": "minmax"}, "tflite calibrates by converter, not 'minmax'"),
        ({"per_channel": False}, "tflite int8 is per-channel and integer-only"),
        ({"images": 0}, "calibration needs 1..50000 images"),
        (DEFAULTS["onnx"].summary(), "the recipe chosen for tflite is one for onnx"),
        ({"method": "kl"}, "'kl' is not a valid Method"),
    ],
)
def test_a_sweep_report_with_a_recipe_no_engine_can_make_is_refused_with_its_reason(tmp_path, change, reason):
    path = tmp_path / "quant-report" / "report.json"
    path.parent.mkdir()
    chosen = {"tflite": {**DEFAULTS["tflite"].summary(), **change}, "onnx": DEFAULTS["onnx"].summary()}
    path.write_text(json.dumps({"model_sha256": "abc", "chosen": chosen}))
    assert chosen_recipes(tmp_path, "another model")["tflite"] == (DEFAULTS["tflite"], "default")
    with pytest.raises(ModelError, match=f"{path}: unreadable sweep report .*{re.escape(reason)}"):
        chosen_recipes(tmp_path, "abc")
    path.write_text(json.dumps({"model_sha256": "abc", "chosen": {"tflite": DEFAULTS["tflite"].summary()}}))
    assert chosen_recipes(tmp_path, "abc")["tflite"] == (DEFAULTS["tflite"], str(path))


def test_a_smaller_calibration_set_is_the_start_of_a_larger_one():
    pixels = np.arange(60_000 * 4, dtype=np.uint32).reshape(60_000, 2, 2).astype(np.uint8)
    small, large = calibration_images(pixels, 100), calibration_images(pixels, 1000)
    assert small.dtype == np.float32 and large.shape == (1000, 2, 2)
    assert {x.tobytes() for x in small} <= {x.tobytes() for x in large}
    with pytest.raises(ValueError, match="1..50000 images"):
        calibration_images(pixels, 0)


def made_by(variant, chosen: dict | None, chosen_by: str) -> dict | None:
    """What a variant's manifest entry says made it, when its format's int8 recipe is `chosen`: that
    recipe for its precision, and who chose it when calibrated; nothing for a float32 variant."""
    if variant.precision is Precision.FLOAT32:
        return None
    recipe = replace(QuantRecipe.from_summary(chosen), precision=variant.precision)
    return {**recipe.summary(), "chosen_by": chosen_by} if variant.precision.calibrated else recipe.summary()


def test_the_manifest_records_how_each_quantized_variant_was_made(artifacts):
    manifest = json.loads((artifacts / "manifest.json").read_text())
    for entry in manifest["artifacts"]:
        variant = VARIANTS[entry["variant"]]
        default = DEFAULTS.get(variant.format.recipes)  # none for Keras
        assert entry.get("quantization") == made_by(variant, default and default.summary(), "default"), (
            variant
        )


@pytest.mark.slow
def test_a_small_sweep_chooses_by_the_rule_and_export_follows_it(artifacts_copy):
    out = artifacts_copy / "quant-report"
    result = run_cli("export.sweep", "--small", "--rounds", "2", "--artifacts", artifacts_copy)
    report = json.loads((out / "report.json").read_text())
    for engine in ("onnx", "tflite"):
        rows = [r for r in report["rows"] if r["engine"] == engine]
        chosen = [r for r in rows if r["chosen"]]
        assert len(chosen) == 1 and chosen[0] == choose(rows)
        assert report["chosen"][engine] == chosen[0]["recipe"]
        fastest = min(r["b1_seconds"] for r in rows)
        assert chosen[0]["b1_seconds"] <= fastest * (1 + LATENCY_BAND)
        for r in rows:
            assert 0.9 < r["agreement"] <= 1 and r["bytes"] > 50_000 and r["b1024_images_per_second"] > 0
        (layers,) = [
            e for e in report["layers"] if e["engine"] == engine and e["recipe"] == chosen[0]["recipe"]
        ]
        assert layers["worst"] in {layer["layer"] for layer in layers["layers"]}
        assert f"worst layer of {engine}-int8" in result.stdout
    table = result.stdout[result.stdout.index("\nengine ") :].splitlines()[1:]
    assert table[0].split()[:4] == ["engine", "recipe", "accuracy", "agreement"]
    assert len(table[1 : table.index("")]) == len(report["rows"])
    for name in ("report.png", "layers.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| engine |" in (out / "report.md").read_text()
    assert "worst layer" in (out / "layers.md").read_text()

    run_cli("export", "--artifacts", artifacts_copy)
    manifest = json.loads((artifacts_copy / "manifest.json").read_text())
    for entry in manifest["artifacts"]:
        variant = VARIANTS[entry["variant"]]
        if variant.format.recipes in report["chosen"]:
            chosen = report["chosen"][variant.format.recipes]
            assert entry.get("quantization") == made_by(variant, chosen, str(out / "report.json")), variant


def test_a_refused_int8_variant_is_told_its_worst_layer(artifacts_copy, monkeypatch, keras):
    from export.pipeline import export_all

    strict = replace(
        VARIANTS["tflite-int8"], tolerance=Tolerance(min_agreement=1.0)
    )  # no int8 model agrees so
    monkeypatch.setitem(VARIANTS, "tflite-int8", strict)
    with pytest.raises(ParityError) as error:
        export_all(artifacts_copy)
    message = str(error.value)
    assert "tflite-int8: agreement" in message
    assert "worst layer fmnist_mlp" in message and "dense" in message.split("worst layer")[1]
