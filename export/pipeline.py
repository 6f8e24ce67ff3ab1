"""Export a Keras classifier to every variant, prove each matches Keras, then publish the set.

Each variant gives one record (`Outcome`): its Artifact (file, digest, figures, companions, recipe)
and the tolerances it broke. The manifest is written from the records that passed, and the runtime
reads it back into the same Artifact type. A variant outside its tolerance is not published; the
others are, and a ParityError listing every failure is raised after publishing. The images every
variant is calibrated and measured on are the user's (--data) or Fashion-MNIST's (export/data.py);
the user's gate images and labels are kept in the run folder (gate.npz) for runtime.evaluate.
"""

import re
import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from export import VariantSkipped
from export.data import DataSource, ExportData, export_data
from export.int8 import Int8Plan, Quantization
from export.made_for import run_made_for
from export.model_source import CheckedModel, ModelCard, ModelSource, load_checked, tutorial
from runtime.errors import ModelError, one_line
from runtime.files import sha256_file
from runtime.inputs import ImageInput, Range
from runtime.loader import open_artifact
from runtime.manifest import Artifact, FileRecord
from runtime.parity import TestSet, compare, gate, shown
from runtime.predictor import is_probability, softmax
from runtime.progress import progress, say
from runtime.quiet import native_stderr_silenced
from runtime.testset import GATE
from runtime.variants import KERAS_MODEL, Variant, runnable

# How the converters name an operation they have no kernel for (TFLite; tf2onnx; onnx's checker).
UNSUPPORTED_OP = re.compile(
    r"'tf\.(\w+)' op is neither a custom op nor a flex op"
    r"|Tensorflow op \[[^\]]*: (\w+)\] is not supported|No Op registered for (\w+)"
)


@dataclass(frozen=True)
class Outcome:
    """One variant's export: what the manifest would record of it, and the tolerances it broke."""

    artifact: Artifact
    violations: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return not self.violations


@dataclass(frozen=True)
class Job:
    """What every variant of one export shares."""

    source: ModelSource
    checked: CheckedModel
    image: ImageInput  # what the published variants take: the model's images, prepared as the data was
    classes: list[str]
    plan: Int8Plan
    test: TestSet
    verbose: bool

    @property
    def card(self) -> ModelCard:
        return ModelCard(self.checked.model.name, self.source.sha256[:12], self.classes, self.image)


def export_all(
    folder: Path,
    source: ModelSource | None = None,
    verbose: bool = False,
    data: DataSource | None = None,
    input_range: Range | None = None,
) -> Path:
    """Export, check and publish every variant of `source` (default: the tutorial model in `folder`)
    into `folder`, calibrated and gated on `data` (default: Fashion-MNIST); returns the manifest
    path, or raises ParityError after publishing the rest. `input_range` is the model's when it has
    no Rescaling layer to say it. `verbose` lets TensorFlow's and the converters' own log lines through."""
    from export.publish import ExportLock, new_run_folder, publish

    source = source or tutorial(folder)  # before TensorFlow is imported: a refusal is instant
    with native_stderr_silenced(not verbose):
        checked = load_checked(source, input_range)
    chosen = export_data(data, checked, source)  # every refusal before anything is written
    with ExportLock(folder):
        run = new_run_folder(folder)
        try:
            outcomes = export_into(run, source, checked, chosen, verbose)
        except BaseException:  # a converter refused the model, or we were interrupted: no trace left
            shutil.rmtree(run, ignore_errors=True)
            raise
        for failed in (o for o in outcomes if not o.passed):
            for file in failed.artifact.files:
                file.unlink(missing_ok=True)
        published = [o.artifact for o in outcomes if o.passed]
        manifest_path = publish(folder, run, manifest(folder, run, published, checked, source, chosen))
    gate(((o.artifact.variant, o.violations) for o in outcomes), str(manifest_path))
    return manifest_path


def export_into(
    run: Path, source: ModelSource, checked: CheckedModel, data: ExportData, verbose: bool
) -> list[Outcome]:
    """Write the Keras copy, its reference outputs, the gate's images (the user's) and every variant
    into `run`; a record of each."""
    keras_copy = run / KERAS_MODEL.filename
    shutil.copyfile(source.path, keras_copy)
    if sha256_file(keras_copy) != source.sha256:
        raise ModelError(source.path, "changed while it was being exported; export it again")

    started = time.perf_counter()
    with native_stderr_silenced(not verbose):
        reference = checked.model.predict(checked.as_input(data.gate), batch_size=1000, verbose=0)
    if not is_probability(reference):
        reference = softmax(reference)  # as the runtime does for a model that gives logits
        say(f"{'keras':<22}gives logits: compared as probabilities (their softmax), as the runtime does")
    figures = compare(reference, data.labels, reference, time.perf_counter() - started)
    labels = {} if data.labels is None else {"labels": data.labels}
    np.savez_compressed(run / "reference.npz", probabilities=reference, **labels)
    if data.keeps_gate:
        np.savez_compressed(run / GATE, images=data.gate, labels=data.labels)
    test = TestSet(data.gate, data.labels, reference, figures)
    say(f"{'keras':<22}reference outputs on {len(data.gate)} gate images, accuracy {shown(figures.accuracy)}")

    outcomes = [Outcome(Artifact(KERAS_MODEL, FileRecord.of(keras_copy), figures.summary()))]
    plan = Int8Plan(run.parent, source.sha256, data, checked)
    job = Job(source, checked, data.image, data.classes, plan, test, verbose)
    for variant in progress(runnable(), "export"):
        outcome = export_variant(variant, run / variant.filename, job)
        if outcome is not None:
            outcomes.append(outcome)
    return outcomes


def export_variant(variant: Variant, path: Path, job: Job) -> Outcome | None:
    """Write one variant, run it in its own engine on the test set and hold it to its tolerance;
    None when its exporter cannot make it here (said in one line)."""
    started, model = time.perf_counter(), job.checked.model
    quantization = job.plan.quantization(variant)
    try:
        with native_stderr_silenced(not job.verbose):
            extra = variant.format.export(model, path, quantization.calibration, quantization.recipe)
            variant.format.describe(path, job.card)  # the class names etc., where its runtime reads them
    except VariantSkipped as e:  # no C compiler here; an op the C generator cannot express
        say(f"{variant.name:<22}skipped: {e.reason}")
        return None
    except Exception as e:  # converters raise their own types; each means "this model cannot be"
        raise ModelError(job.source.path, f"cannot be exported to {variant}: {refusal(e)}") from None
    artifact = recorded(variant, path, extra or {}, quantization)
    predictor = open_artifact(artifact, 1, job.classes, job.image)
    figures = job.test.measure(predictor)
    second = run_made_for(artifact, predictor, job.test, job.verbose)  # in the runtime it is made for
    artifact = replace(artifact, figures=figures.summary(), facts=artifact.facts | second.facts)
    violations = variant.tolerance.violations(figures, job.test.keras.accuracy) + list(second.violations)
    if violations:
        violations += job.plan.hints(quantization, model, job.test.images)
    verdict = "FAIL " + ", ".join(violations) if violations else "ok"
    say(
        f"{variant.name:<22}{path.stat().st_size / 1024:7.1f} KiB  accuracy {shown(figures.accuracy)}"
        f"  agreement {figures.agreement:.4f}  max_abs_diff {figures.max_abs_diff:.1e}"
        f"  ({time.perf_counter() - started:.1f} s)  {verdict}"
    )
    if second.summary:
        say(f"{'':<18}{second.summary}")
    return Outcome(artifact, tuple(violations))


def recorded(variant: Variant, path: Path, extra: dict, quantization: Quantization) -> Artifact:
    """The artifact as written, before it is measured: its file and companions (a C header, a
    compiled library: described like the model, so the checksum covers all its engine loads) and
    the facts its exporter and recipe give."""
    companions = tuple(FileRecord.of(p) for p in extra.get("companions", []))
    facts = {key: value for key, value in extra.items() if key != "companions"} | quantization.facts
    return Artifact(variant, FileRecord.of(path), {}, companions, facts)


def refusal(error: Exception) -> str:
    """A converter's error as one line: the operations it has no kernel for, when it names them."""
    ops = sorted({op for match in UNSUPPORTED_OP.findall(str(error)) for op in match if op})
    return f"the converter does not support {', '.join(ops)}" if ops else one_line(error)


def manifest(
    folder: Path,
    run: Path,
    artifacts: list[Artifact],
    checked: CheckedModel,
    source: ModelSource,
    data: ExportData,
) -> dict:
    """The one description of the published set (see ../shared/design.md)."""
    gate_file = run / GATE
    kept = {"gate": FileRecord.of(gate_file).as_json(folder)} if gate_file.exists() else {}
    return {
        "classes": data.classes,
        "input": data.image.as_json(checked.image_shape, checked.range_from),
        "artifacts": [a.as_json(folder) for a in artifacts],
        "reference": str((run / "reference.npz").relative_to(folder)),
        "reference_sha256": sha256_file(run / "reference.npz"),
        "dataset": {**data.description, **kept},
        **source.origin,  # "train" (the tutorial's figures) or "source" (a model of the user's own)
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
