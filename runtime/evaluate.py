"""Re-check, on this machine and without TensorFlow, that every exported variant still matches Keras.

    python -m runtime.evaluate [--artifacts artifacts] [--model NAME] [--threads N] [--json] [--out DIR]

Reads ARTIFACTS/manifest.json and the Keras model's probabilities (reference.npz, checksum-checked),
predicts the images export measured on (the gate's images and labels from `export --data`, kept
beside reference.npz, or the 10,000 Fashion-MNIST test images from the IDX files) with every variant
the runtime can run (or just --model) and prints accuracy, agreement with Keras, the largest
probability difference and seconds, then accuracy per class. The figures are those `make export`
recorded in the manifest when nothing has changed. Images without labels of the model's classes
(Fashion-MNIST for a model of other classes) have no accuracy: it reads "n/a (no labelled data:
--data)", and agreement with Keras is what each variant is held to.

Pictures go to ARTIFACTS/evaluation/ (or --out): `disagreements-<variant>.png` for every variant, a
grid of the test images whose class differs from Keras' (or, for a perfect variant, a picture saying
so, so that a grid left by an earlier run never passes for a current one), and
`per-class-accuracy.png` (with --model, `per-class-accuracy-<variant>.png`, so that the chart of
every variant is not replaced by one of a single variant). Class names come from the manifest.

Exit status: 0 when every variant is within its tolerance; 1 when one is not, cannot be loaded, or
the inputs are bad (one line on stderr); 2 for a usage error (--model keras among them: Keras needs
TensorFlow, and its figures are reference.npz).
"""

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from runtime import cli
from runtime.errors import ModelError, ParityError, ToolkitError
from runtime.inputs import ImageInput
from runtime.loader import open_artifact
from runtime.manifest import MANIFEST, Artifact, Manifest
from runtime.parity import NO_LABELS, Figures, TestSet, gate
from runtime.progress import progress, say
from runtime.report import class_accuracy_chart, disagreement_grid, no_labels_chart, save_png
from runtime.testset import read_test_set
from runtime.variants import VARIANTS, Variant, runnable

CHART = "per-class-accuracy"  # .png, or -<variant>.png for one variant


@dataclass
class Result:
    """One variant's evaluation: its figures and broken tolerances, or why it could not be loaded."""

    variant: Variant
    figures: Figures | None = None
    problems: list[str] = field(default_factory=list)  # broken tolerances
    variant_top1: np.ndarray | None = None  # the variant's class for each disagreeing image
    picture: Path | None = None
    load_error: str | None = None

    @property
    def ok(self) -> bool:
        return self.figures is not None and not self.problems

    def row(self) -> dict:
        """The variant as the JSON output reports it."""
        if self.figures is None:
            return {"variant": self.variant.name, "ok": False, "error": f"cannot load: {self.load_error}"}
        return {
            "variant": self.variant.name,
            "ok": self.ok,
            **self.figures.summary(),
            "seconds": round(self.figures.seconds, 4),
            "disagreements": len(self.figures.disagreements),
            "violations": self.problems,
            "picture": str(self.picture) if self.picture else None,
        }


def evaluate(
    artifact: Artifact, data: TestSet, classes: list[str], image: ImageInput, threads: int
) -> Result:
    """Load one variant (checksum first), predict the test set and hold it to its tolerance."""
    try:
        predictor = open_artifact(artifact.verify(), threads, classes, image)
    except ToolkitError as e:
        return Result(artifact.variant, load_error=str(e))
    figures = data.measure(predictor)
    return Result(
        artifact.variant,
        figures,
        artifact.variant.tolerance.violations(figures, data.keras.accuracy),
        predictor.classify(data.images[figures.disagreements]),
    )


def draw(results: list[Result], data: TestSet, classes: list[str], out: Path, chart_name: str) -> Path:
    """Write each variant's disagreement grid and the per-class chart; returns the chart's path."""
    keras_top1 = data.reference.argmax(1)
    series = {"keras": data.keras.per_class_accuracy}
    for result in results:
        if result.figures is None:
            continue
        figures, name = result.figures, result.variant.name
        grid = disagreement_grid(
            name,
            data.images,
            figures.disagreements,
            data.labels,
            keras_top1,
            result.variant_top1,
            classes,
            len(data.images),
        )
        result.picture = save_png(grid, out / f"disagreements-{name}.png")
        series[name] = figures.per_class_accuracy
    chart = class_accuracy_chart(series, classes) if data.labels is not None else no_labels_chart(classes)
    return save_png(chart, out / chart_name)


NAME = 22  # columns for a variant's name: the longest, tflite-int16x8-micro, and two spaces
HEADER = f"{'variant':<{NAME}}{'accuracy':>9}{'agreement':>11}{'max_abs_diff':>14}{'seconds':>9}  verdict"


def table_row(name: str, figures: Figures | None, verdict: str, timed: bool = True) -> str:
    """One line of the table under HEADER; dashes where there is no figure."""
    if figures is None:
        return f"{name:<{NAME}}{'-':>9}{'-':>11}{'-':>14}{'-':>9}  {verdict}"
    seconds = f"{figures.seconds:>9.2f}" if timed else f"{'-':>9}"
    accuracy = "n/a" if figures.accuracy is None else f"{figures.accuracy:.4f}"  # NO_LABELS is said above
    return (
        f"{name:<{NAME}}{accuracy:>9}{figures.agreement:>11.4f}"
        f"{figures.max_abs_diff:>14.2e}{seconds}  {verdict}"
    )


def verdict(result: Result) -> str:
    if result.figures is None:
        return f"ERROR cannot load: {result.load_error}"
    return "FAIL " + "; ".join(result.problems) if result.problems else "ok"


def per_class_table(results: list[Result], data: TestSet, classes: list[str]) -> str:
    """Accuracy per class, a row per class and a column per variant (Keras first); a quantized
    variant's column also gives its change from Keras in percentage points, so the classes
    quantization costs stand out. Without labels, the line that says so."""
    if data.labels is None:
        return f"accuracy per class: {NO_LABELS}"
    columns = [("keras", data.keras, False)]
    columns += [(r.variant.name, r.figures, r.variant.quantized) for r in results if r.figures is not None]
    lines = ["accuracy per class".ljust(16) + "".join(f"{name:>{NAME}}" for name, _, _ in columns)]
    for c, label in enumerate(classes):
        keras = data.keras.per_class_accuracy[c]
        lines.append(
            f"{label:<16}"
            + "".join(
                f"{f.per_class_accuracy[c]:>{NAME - 6}.4f} {100 * (f.per_class_accuracy[c] - keras):+5.1f}"
                if quantized
                else f"{f.per_class_accuracy[c]:>{NAME}.4f}"
                for _, f, quantized in columns
            )
        )
    return "\n".join(lines + ["(quantized: accuracy, then its change from Keras in percentage points)"])


def chosen(manifest: Manifest, name: str | None) -> list[Artifact]:
    """The manifest's runnable artifacts, or the one --model names."""
    artifacts = manifest.runnable()
    if not artifacts:
        raise ModelError(manifest.path, "lists no variant the runtime can run; re-run `make export`")
    if name is None:
        return artifacts
    found = [a for a in artifacts if a.variant.name == name]
    if not found:
        names = ", ".join(a.variant.name for a in artifacts)
        raise cli.UsageError(f"--model {name!r}: this manifest's runnable variants are {names}")
    return found


def run(args) -> int:
    if args.model in VARIANTS and not VARIANTS[args.model].runs:  # before any file is read, as predict
        raise cli.UsageError(
            f"--model {args.model} needs TensorFlow; the runtime runs "
            f"{', '.join(v.name for v in runnable())} (Keras' own figures come from reference.npz)"
        )
    out = args.out or args.artifacts / "evaluation"
    manifest = Manifest(args.artifacts / MANIFEST)
    artifacts = chosen(manifest, args.model)
    data = read_test_set(manifest)
    if not args.json:
        if data.labels is None:
            print(f"accuracy: {NO_LABELS}; each variant is held to its agreement with Keras")
        print(HEADER)
        print(table_row("keras", data.keras, "reference (reference.npz)", timed=False), flush=True)
    results = []
    for artifact in progress(artifacts, "evaluate"):
        results.append(evaluate(artifact, data, manifest.classes, manifest.input, args.threads))
        if not args.json:
            say(table_row(artifact.variant.name, results[-1].figures, verdict(results[-1])))
    chart = draw(
        results, data, manifest.classes, out, f"{CHART}-{args.model}.png" if args.model else f"{CHART}.png"
    )
    if args.json:
        print(json.dumps(as_json(args, manifest, data, results, chart), indent=2))
    else:
        print()
        print(per_class_table(results, data, manifest.classes))
        pictures = [f"{r.picture.name} ({len(r.figures.disagreements)} images)" for r in results if r.picture]
        print(f"\npictures in {out}: " + ", ".join([*pictures, chart.name]))
    failure = failures(results, manifest)
    if failure:
        raise ModelError(manifest.path, failure)
    if not args.json:
        print(f"{'1 variant' if len(results) == 1 else f'all {len(results)} variants'} within tolerance")
    return 0


def as_json(args, manifest: Manifest, data: TestSet, results: list[Result], chart: Path) -> dict:
    return {
        "artifacts": str(args.artifacts),
        "test_images": len(data.images),
        "classes": manifest.classes,
        "threads": args.threads,
        "keras": {
            key: value
            for key, value in data.keras.summary().items()
            if key not in ("agreement", "max_abs_diff")
        },
        "variants": [r.row() for r in results],
        "per_class_chart": str(chart),
        "ok": all(r.ok for r in results),
    }


def failures(results: list[Result], manifest: Manifest) -> str | None:
    """One line saying which variants could not be loaded and which are outside their tolerance."""
    unloaded = [r for r in results if r.figures is None]
    parts = (
        [
            f"{len(unloaded)} variant{'s' if len(unloaded) > 1 else ''} could not be loaded: "
            + "; ".join(f"{r.variant} ({r.load_error})" for r in unloaded)
        ]
        if unloaded
        else []
    )
    try:
        gate(((r.variant, r.problems) for r in results), str(manifest.path))
    except ParityError as e:
        parts.append(e.reason)
    return "; ".join(parts) or None


def main(argv=None) -> int:
    parser = cli.parser("python -m runtime.evaluate", __doc__, cli.ARTIFACTS, cli.JSON, cli.THREADS)
    parser.add_argument("--model", metavar="NAME", help="evaluate only this variant (default: every one)")
    parser.add_argument(
        "--out", type=Path, default=None, help="folder for the pictures (default: ARTIFACTS/evaluation)"
    )
    return cli.run(run, parser, argv)


if __name__ == "__main__":
    sys.exit(main())
