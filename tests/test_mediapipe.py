"""The MediaPipe-ready variants (issue 21): MediaPipe Tasks' own ImageClassifier runs the published
files, reads the manifest's class names and the normalization from their metadata, and answers as
LiteRT does on all 10,000 test images (the gate checks the first 1,000, recorded in the manifest);
the same model gives the same bytes; the gate fails a file MediaPipe refuses or answers differently,
and says in one line that it skipped the check where MediaPipe is not installed.

    pytest tests/test_mediapipe.py

Each test makes its own classifier: after one failed `classify`, a MediaPipe 1.2.3 classifier
answers "Graph has errors" to every later call.
"""

import re
import subprocess
import sys
import zipfile
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

import runtime
from export.made_for import FLOAT_DIFF, run_made_for
from runtime.files import sha256_file
from runtime.loader import open_artifact
from runtime.manifest import MANIFEST, Artifact, FileRecord, Manifest
from runtime.parity import TestSet, compare
from runtime.variants import MEDIAPIPE, MEDIAPIPE_TASKS, VARIANTS, Precision
from tests.conftest import ROOT

MADE_FOR_MEDIAPIPE = [v for v in VARIANTS.values() if v.format == MEDIAPIPE]
FLOAT32, INT8 = VARIANTS["mediapipe-float32"], VARIANTS["mediapipe-int8"]


@pytest.fixture(scope="module")
def mediapipe():
    return pytest.importorskip("mediapipe", reason="MediaPipe Tasks is not installed here (dev group)")


@pytest.fixture(scope="module")
def manifest(artifacts) -> Manifest:
    return Manifest(artifacts / MANIFEST)


@pytest.fixture(scope="module")
def test_data(manifest, test_set) -> TestSet:
    with np.load(manifest.reference()) as npz:
        reference = npz["probabilities"]
    return TestSet(*test_set, reference, compare(reference, test_set[1], reference))


@pytest.mark.parametrize("variant", MADE_FOR_MEDIAPIPE, ids=str)
def test_the_gate_ran_it_in_mediapipe_on_all_10000_test_images(manifest, variant):
    entry = manifest.artifact(variant)
    checked = entry.facts[MEDIAPIPE_TASKS.name]
    assert checked["images"] == checked["top1_equal"] == 10_000
    assert checked["max_abs_diff"] <= (0 if variant.quantized else FLOAT_DIFF)
    assert entry.figures["agreement"] >= variant.tolerance.min_agreement  # and in LiteRT, its own gate


def readme_snippet() -> str:
    """The Python block of the README's MediaPipe section."""
    section = (ROOT / "README.md").read_text().split("## In MediaPipe")[1]
    return re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)


def test_the_readme_snippet_runs_and_names_the_class(mediapipe, manifest, test_set, tmp_path):
    """The README's code as a user runs it: the int8 file beside a test image saved as a PNG."""
    (tmp_path / INT8.filename).write_bytes(manifest.artifact(INT8).path.read_bytes())
    Image.fromarray(test_set[0][0]).save(tmp_path / "ankle-boot.png")  # test image 0: an ankle boot
    result = subprocess.run(
        [sys.executable, "-c", readme_snippet()], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    best, *others = result.stdout.splitlines()
    assert best.startswith("Ankle boot ") and len(others) == 2, result.stdout


@pytest.mark.parametrize("variant", MADE_FOR_MEDIAPIPE, ids=str)
def test_mediapipe_names_every_class_as_the_manifest_does(mediapipe, manifest, test_set, variant):
    from mediapipe.tasks.python import BaseOptions, vision

    path = manifest.artifact(variant).path
    options = vision.ImageClassifierOptions(base_options=BaseOptions(model_asset_path=str(path)))
    litert = runtime.load(manifest.path, variant)
    images = test_set[0][:50]
    with vision.ImageClassifier.create_from_options(options) as classifier:
        for image, ours in zip(images, litert.predict(images), strict=True):
            rgb = np.ascontiguousarray(np.repeat(image[..., None], 3, axis=-1))
            result = classifier.classify(mediapipe.Image(image_format=mediapipe.ImageFormat.SRGB, data=rgb))
            categories = result.classifications[0].categories
            assert [c.category_name for c in categories] == [manifest.classes[c.index] for c in categories]
            assert sorted(c.index for c in categories) == list(range(len(manifest.classes)))
            assert categories[0].index == ours.argmax()


@pytest.mark.parametrize("variant", MADE_FOR_MEDIAPIPE, ids=str)
def test_the_metadata_says_what_mediapipe_reads(mediapipe, artifacts, manifest, variant):
    """Read back with MediaPipe's own generated schema: the hand-written tables hold their fields."""
    from ai_edge_litert import schema_py_generated as schema
    from mediapipe.tasks.metadata import metadata_schema_py_generated as fb

    path = manifest.artifact(variant).path
    model = schema.ModelT.InitFromPackedBuf(bytearray(path.read_bytes()), 0)
    (entry,) = [e for e in model.metadata if e.name == b"TFLITE_METADATA"]  # beside the converter's
    card = fb.ModelMetadataT.InitFromPackedBuf(bytearray(model.buffers[entry.buffer].data.tobytes()), 0)
    assert card.name == b"fmnist_mlp" and card.author == b"fmnist-edge"
    assert card.version.decode() == sha256_file(artifacts / "model.keras")[:12]
    assert b"light objects on a dark background" in card.description and card.minParserVersion == b"1.0.0"
    (graph,) = card.subgraphMetadata
    (image,), (score,) = graph.inputTensorMetadata, graph.outputTensorMetadata
    assert image.content.contentPropertiesType == fb.ContentProperties.ImageProperties
    assert image.content.contentProperties.colorSpace == fb.ColorSpaceType.RGB
    (unit,) = image.processUnits
    assert unit.optionsType == fb.ProcessUnitOptions.NormalizationOptions
    assert list(unit.options.mean) == [0.0] and list(unit.options.std) == [255.0]
    assert list(image.stats.max) == [1.0 if variant.precision == Precision.FLOAT32 else 255.0]
    (labels,) = score.associatedFiles
    assert labels.name == b"labels.txt" and labels.type == fb.AssociatedFileType.TENSOR_AXIS_LABELS
    with zipfile.ZipFile(path) as packed:
        assert packed.read("labels.txt").decode().splitlines() == manifest.classes
        assert packed.getinfo("labels.txt").date_time == (1980, 1, 1, 0, 0, 0)  # no clock in the file


def test_the_same_model_gives_the_same_bytes(keras, artifacts, manifest, test_set, tmp_path):
    """Exported again from model.keras: every byte as published; and LiteRT's outputs are those of
    the file before its metadata, bit for bit."""
    from export.data import export_data
    from export.int8 import Int8Plan
    from export.mediapipe import export_mediapipe, write_metadata
    from export.model_source import ModelCard, load_checked, tutorial

    source = tutorial(artifacts)
    checked = load_checked(source)
    plan = Int8Plan(artifacts, source.sha256, export_data(None, checked, source), checked)
    card = ModelCard(checked.model.name, source.sha256[:12], manifest.classes, checked.image)
    for variant in MADE_FOR_MEDIAPIPE:
        quantization = plan.quantization(variant)
        bare, path = tmp_path / f"bare-{variant.filename}", tmp_path / variant.filename
        export_mediapipe(checked.model, bare, quantization.calibration, quantization.recipe)
        path.write_bytes(bare.read_bytes())
        write_metadata(path, card)
        assert sha256_file(path) == manifest.artifact(variant).file.sha256, variant
        images = np.repeat(test_set[0][:1000, ..., None], 3, axis=-1)  # the RGB its input takes
        assert np.array_equal(runtime.load(path).predict(images), runtime.load(bare).predict(images))


def test_files_mediapipe_refuses_fail_the_gate(mediapipe, manifest, test_data):
    """The plain tflite-float32 file as if it were MediaPipe-ready: refused, in one reason."""
    plain = manifest.artifact(VARIANTS["tflite-float32"])
    posing = Artifact(FLOAT32, plain.file, {})
    second = run_made_for(posing, open_artifact(plain, 1), test_data)
    (reason,) = second.violations
    assert reason.startswith("in mediapipe-tasks: MediaPipe cannot load it: ") and not second.facts
    assert "4D" in reason  # MediaPipe's own words: only [1, H, W, 3 or 4] images


def test_answers_that_differ_fail_the_gate(mediapipe, manifest, test_data):
    """The int8 file in MediaPipe held to the float file in LiteRT: not the same answers."""
    second = run_made_for(manifest.artifact(INT8), runtime.load(manifest.path, FLOAT32), test_data)
    assert [v.split(" ")[2] for v in second.violations] == ["agreement", "max_abs_diff"]
    facts = second.facts[MEDIAPIPE_TASKS.name]
    assert facts["top1_equal"] < facts["images"] == 10_000 and facts["max_abs_diff"] > FLOAT_DIFF
    assert second.summary.startswith("in mediapipe-tasks 1.")


def test_without_mediapipe_the_check_is_skipped_in_one_line():
    absent = replace(MEDIAPIPE_TASKS, module="mediapipe_not_here", package="mediapipe-not-here")
    variant = replace(INT8, format=replace(MEDIAPIPE, made_for=absent))
    artifact = Artifact(variant, FileRecord(ROOT / "nowhere.tflite", 0, ""), {})
    second = run_made_for(artifact, None, None)
    assert second.facts == {} and second.violations == ()
    assert second.summary == "mediapipe-tasks check skipped: mediapipe-not-here is not installed here"
