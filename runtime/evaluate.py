"""Re-check, on this machine and without TensorFlow, that every exported variant still matches Keras.

    python -m runtime.evaluate [--artifacts artifacts] [--model NAME] [--threads N] [--json] [--out DIR]

Reads ARTIFACTS/manifest.json and the Keras model's probabilities (reference.npz, checksum-checked),
predicts the 10,000 test images from the IDX files with every variant the runtime can run (or just
--model) and prints accuracy, agreement with Keras, the largest probability difference and seconds,
then accuracy per class. The figures are those `make export` recorded in the manifest when nothing
has changed.

Pictures go to ARTIFACTS/evaluation/ (or --out): `disagreements-<variant>.png` for every variant, a
grid of the test images whose class differs from Keras' (or, for a perfect variant, a picture saying
so, so that a grid left by an earlier run never passes for a current one), and
`per-class-accuracy.png` (with --model, `per-class-accuracy-<variant>.png`, so that the chart of
every variant is not replaced by one of a single variant). Class names come from the manifest.

Exit status: 0 when every variant is within its tolerance; 1 when one is not, cannot be loaded, or
the inputs are bad (one line on stderr); 2 for a usage error (--model keras among them: Keras needs
TensorFlow, and its figures are reference.npz).
"""

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from runtime.cli import positive, silence_stdout
from runtime.dataset import SPLITS, data_dir, load_split
from runtime.errors import DataError, ModelError, ParityError, ToolkitError
from runtime.loader import DEFAULT_THREADS, load
from runtime.manifest import MANIFEST, Manifest
from runtime.parity import Figures, compare, gate, measure, violations
from runtime.report import class_accuracy_chart, disagreement_grid, save_png
from runtime.variants import VARIANTS, exported

CHART = "per-class-accuracy"  # .png, or -<variant>.png for one variant


@dataclass
class TestSet:
    """The test images with their labels, the Keras model's probabilities on them and its classes."""

    images: np.ndarray
    labels: np.ndarray
    reference: np.ndarray
    keras: Figures
    classes: list[str]


@dataclass
class Result:
    """One variant's evaluation: its figures and broken tolerances, or why it could not be loaded."""

    variant: str
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
            return {"variant": self.variant, "ok": False, "error": f"cannot load: {self.load_error}"}
        return {
            "variant": self.variant,
            "ok": self.ok,
            **self.figures.summary(),
            "seconds": round(self.figures.seconds, 4),
            "disagreements": len(self.figures.disagreements),
            "violations": self.problems,
            "picture": str(self.picture) if self.picture else None,
        }


def read_test_set(manifest: Manifest) -> TestSet:
    """reference.npz (checksum-checked) and the IDX test split, which must hold the same labels."""
    path = manifest.reference()
    try:
        with np.load(path) as npz:
            reference, reference_labels = npz["probabilities"], npz["labels"]
    except (OSError, KeyError, ValueError) as e:
        raise ModelError(path, f"not a readable reference ({e})") from None
    if reference.ndim != 2 or reference.shape[1] != len(manifest.classes):
        raise ModelError(
            path,
            f"holds {reference.shape[-1]} class scores per image, but {manifest.path} "
            f"names {len(manifest.classes)} classes; re-run `make export`",
        )
    images, labels = load_split("test")
    if len(reference) != len(labels) or not np.array_equal(reference_labels, labels):
        raise DataError(
            data_dir("test") / SPLITS["test"][1],
            f"these test labels are not those {path} was made with; evaluate on the export's data",
        )
    return TestSet(images, labels, reference, compare(reference, labels, reference), manifest.classes)


def runnable(manifest: Manifest) -> list[str]:
    """The manifest's variants that have an engine here (Keras itself needs TensorFlow)."""
    return [name for name in manifest.entries if name in exported()]


def evaluate(artifacts: Path, name: str, data: TestSet, threads: int | None) -> Result:
    """Load one variant (checksum first), predict the test set and hold it to its tolerance."""
    try:
        predictor = load(artifacts, variant=name, threads=threads)
    except (ToolkitError, ValueError) as e:
        return Result(name, load_error=str(e))
    figures = measure(predictor, data.images, data.labels, data.reference)
    return Result(
        name,
        figures,
        violations(VARIANTS[name], figures, data.keras.accuracy),
        predictor.classify(data.images[figures.disagreements]),
    )


def draw(results: list[Result], data: TestSet, out: Path, chart_name: str) -> Path:
    """Write each variant's disagreement grid and the per-class chart; returns the chart's path."""
    keras_top1 = data.reference.argmax(1)
    series = {"keras": data.keras.per_class_accuracy}
    for result in results:
        if result.figures is None:
            continue
        figures = result.figures
        grid = disagreement_grid(
            result.variant,
            data.images,
            figures.disagreements,
            data.labels,
            keras_top1,
            result.variant_top1,
            data.classes,
            len(data.labels),
        )
        result.picture = save_png(grid, out / f"disagreements-{result.variant}.png")
        series[result.variant] = figures.per_class_accuracy
    return save_png(class_accuracy_chart(series, data.classes), out / chart_name)


NAME = 19  # columns for a variant's name: the longest, tflite-int8-micro, and a space
HEADER = f"{'variant':<{NAME}}{'accuracy':>9}{'agreement':>11}{'max_abs_diff':>14}{'seconds':>9}  verdict"


def table_row(name: str, figures: Figures | None, verdict: str, timed: bool = True) -> str:
    """One line of the table under HEADER; dashes where there is no figure."""
    if figures is None:
        return f"{name:<{NAME}}{'-':>9}{'-':>11}{'-':>14}{'-':>9}  {verdict}"
    seconds = f"{figures.seconds:>9.2f}" if timed else f"{'-':>9}"
    return (
        f"{name:<{NAME}}{figures.accuracy:>9.4f}{figures.agreement:>11.4f}"
        f"{figures.max_abs_diff:>14.2e}{seconds}  {verdict}"
    )


def verdict(result: Result) -> str:
    if result.figures is None:
        return f"ERROR cannot load: {result.load_error}"
    return "FAIL " + "; ".join(result.problems) if result.problems else "ok"


def per_class_table(results: list[Result], data: TestSet) -> str:
    """Accuracy per class, a row per class and a column per variant (Keras first); an int8 variant's
    column also gives its change from Keras in percentage points, so the classes quantization costs
    stand out."""
    columns = {"keras": data.keras}
    columns.update({r.variant: r.figures for r in results if r.figures is not None})
    lines = ["accuracy per class".ljust(16) + "".join(f"{name:>{NAME}}" for name in columns)]
    for c, label in enumerate(data.classes):
        keras = data.keras.per_class_accuracy[c]
        lines.append(
            f"{label:<16}"
            + "".join(
                f"{f.per_class_accuracy[c]:>{NAME - 6}.4f} {100 * (f.per_class_accuracy[c] - keras):+5.1f}"
                if VARIANTS[name].precision == "int8"
                else f"{f.per_class_accuracy[c]:>{NAME}.4f}"
                for name, f in columns.items()
            )
        )
    return "\n".join(lines + ["(int8: accuracy, then its change from Keras in percentage points)"])


def parse(argv) -> tuple[argparse.ArgumentParser, argparse.Namespace]:
    parser = argparse.ArgumentParser(prog="python -m runtime.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--artifacts",
        type=Path,
        default=Path("artifacts"),
        help="folder holding manifest.json (default: artifacts)",
    )
    parser.add_argument("--model", metavar="NAME", help="evaluate only this variant (default: every one)")
    parser.add_argument(
        "--threads",
        type=positive,
        default=None,
        help=f"engine threads per variant (default: {DEFAULT_THREADS})",
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="folder for the pictures (default: ARTIFACTS/evaluation)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    args = parser.parse_args(argv)
    if args.model in VARIANTS and args.model not in exported():  # before any file is read, as predict
        parser.error(
            f"--model {args.model} needs TensorFlow; the runtime runs {', '.join(exported())} "
            "(Keras' own figures come from reference.npz)"
        )
    return parser, args


def main(argv=None) -> int:
    parser, args = parse(argv)
    out = args.out or args.artifacts / "evaluation"
    try:
        manifest = Manifest(args.artifacts / MANIFEST)
        names = runnable(manifest)
        if not names:
            raise ModelError(manifest.path, "lists no variant the runtime can run; re-run `make export`")
        if args.model is not None and args.model not in names:
            parser.error(f"--model {args.model!r}: this manifest's runnable variants are {', '.join(names)}")
        names = [args.model] if args.model else names
        data = read_test_set(manifest)
        if not args.json:
            print(HEADER)
            print(table_row("keras", data.keras, "reference (reference.npz)", timed=False), flush=True)
        results = []
        for name in names:
            results.append(evaluate(args.artifacts, name, data, args.threads))
            if not args.json:
                print(table_row(name, results[-1].figures, verdict(results[-1])), flush=True)
        chart = draw(results, data, out, f"{CHART}-{args.model}.png" if args.model else f"{CHART}.png")
    except BrokenPipeError:
        raise
    except (ToolkitError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(
            json.dumps(
                {
                    "artifacts": str(args.artifacts),
                    "test_images": len(data.labels),
                    "classes": data.classes,
                    "threads": args.threads or DEFAULT_THREADS,
                    "keras": {
                        "accuracy": data.keras.accuracy,
                        "per_class_accuracy": data.keras.summary()["per_class_accuracy"],
                    },
                    "variants": [r.row() for r in results],
                    "per_class_chart": str(chart),
                    "ok": all(r.ok for r in results),
                },
                indent=2,
            )
        )
    else:
        print()
        print(per_class_table(results, data))
        print(
            f"\npictures in {out}: "
            + ", ".join(
                [f"{r.picture.name} ({len(r.figures.disagreements)} images)" for r in results if r.picture]
                + [chart.name]
            )
        )
    failure = failures(results, manifest)
    if failure:
        print(f"error: {failure}", file=sys.stderr)
        return 1
    if not args.json:
        print(f"{'1 variant' if len(results) == 1 else f'all {len(results)} variants'} within tolerance")
    return 0


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
        gate({r.variant: r.problems for r in results}, str(manifest.path))
    except ParityError as e:
        parts.append(str(e))
    return "; ".join(parts) or None


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:
        silence_stdout()
        sys.exit(1)
