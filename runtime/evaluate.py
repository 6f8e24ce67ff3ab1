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
`per-class-accuracy.png`.

Exit status: 0 when every variant is within its tolerance; 1 when one is not, cannot be loaded, or
the inputs are bad (one line on stderr); 2 for a usage error.
"""

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from runtime.cli import positive, silence_stdout
from runtime.dataset import CLASSES, SPLITS, data_dir, load_split
from runtime.errors import DataError, ModelError, ParityError, ToolkitError
from runtime.loader import DEFAULT_THREADS, load
from runtime.manifest import MANIFEST, Manifest
from runtime.parity import Figures, compare, gate, measure, violations
from runtime.report import class_accuracy_chart, disagreement_grid, save_png
from runtime.variants import VARIANTS, exported

CHART = "per-class-accuracy.png"


@dataclass
class TestSet:
    """The test images with their labels and the Keras model's probabilities on them."""

    images: np.ndarray
    labels: np.ndarray
    reference: np.ndarray
    keras: Figures


@dataclass
class Result:
    """One variant's evaluation: its figures and broken tolerances, or why it could not run."""

    variant: str
    figures: Figures | None = None
    problems: list[str] = field(default_factory=list)
    variant_top1: np.ndarray | None = None  # the variant's class for each disagreeing image
    picture: Path | None = None

    def row(self) -> dict:
        """The variant as the JSON output reports it."""
        if self.figures is None:
            return {"variant": self.variant, "ok": False, "error": self.problems[0]}
        return {"variant": self.variant, "ok": not self.problems, **self.figures.summary(),
                "seconds": round(self.figures.seconds, 4),
                "disagreements": len(self.figures.disagreements), "violations": self.problems,
                "picture": str(self.picture) if self.picture else None}


def read_test_set(manifest: Manifest) -> TestSet:
    """reference.npz (checksum-checked) and the IDX test split, which must hold the same labels."""
    path = manifest.reference()
    try:
        with np.load(path) as npz:
            reference, reference_labels = npz["probabilities"], npz["labels"]
    except (OSError, KeyError, ValueError) as e:
        raise ModelError(path, f"not a readable reference ({e})") from None
    images, labels = load_split("test")
    if reference.shape != (len(labels), len(CLASSES)) or not np.array_equal(reference_labels, labels):
        raise DataError(data_dir("test") / SPLITS["test"][1], f"these test labels are not those {path} was "
                                                        "made with; evaluate on the export's data")
    return TestSet(images, labels, reference, compare(reference, labels, reference))


def runnable(manifest: Manifest) -> list[str]:
    """The manifest's variants that have an engine here (Keras itself needs TensorFlow)."""
    return [name for name in manifest.entries if name in exported()]


def evaluate(artifacts: Path, name: str, data: TestSet, threads: int | None) -> Result:
    """Load one variant (checksum first), predict the test set and hold it to its tolerance."""
    try:
        predictor = load(artifacts, variant=name, threads=threads)
    except (ToolkitError, ValueError) as e:
        return Result(name, problems=[f"cannot load: {e}"])
    figures = measure(predictor, data.images, data.labels, data.reference)
    return Result(name, figures, violations(VARIANTS[name], figures, data.keras.accuracy),
                  predictor.classify(data.images[figures.disagreements]))


def draw(results: list[Result], data: TestSet, out: Path) -> Path:
    """Write each variant's disagreement grid and the per-class chart; returns the chart's path."""
    keras_top1 = data.reference.argmax(1)
    series = {"keras": data.keras.per_class_accuracy}
    for result in results:
        if result.figures is None:
            continue
        figures = result.figures
        grid = disagreement_grid(result.variant, data.images, figures.disagreements, data.labels,
                                 keras_top1, result.variant_top1, list(CLASSES), len(data.labels))
        result.picture = save_png(grid, out / f"disagreements-{result.variant}.png")
        series[result.variant] = figures.per_class_accuracy
    return save_png(class_accuracy_chart(series, list(CLASSES)), out / CHART)


HEADER = f"{'variant':<16}{'accuracy':>9}{'agreement':>11}{'max_abs_diff':>14}{'seconds':>9}  verdict"


def table_row(name: str, figures: Figures | None, verdict: str, timed: bool = True) -> str:
    """One line of the table under HEADER; dashes where there is no figure."""
    if figures is None:
        return f"{name:<16}{'-':>9}{'-':>11}{'-':>14}{'-':>9}  {verdict}"
    seconds = f"{figures.seconds:>9.2f}" if timed else f"{'-':>9}"
    return (f"{name:<16}{figures.accuracy:>9.4f}{figures.agreement:>11.4f}"
            f"{figures.max_abs_diff:>14.2e}{seconds}  {verdict}")


def verdict(result: Result) -> str:
    if result.figures is None:
        return "ERROR " + result.problems[0]
    return "FAIL " + "; ".join(result.problems) if result.problems else "ok"


def per_class_table(results: list[Result], data: TestSet) -> str:
    """Accuracy per class, a row per class and a column per variant (Keras first); an int8 variant's
    column also gives its change from Keras in percentage points, so the classes quantization costs
    stand out."""
    columns = {"keras": data.keras}
    columns.update({r.variant: r.figures for r in results if r.figures is not None})
    lines = ["accuracy per class".ljust(16) + "".join(f"{name:>16}" for name in columns)]
    for c, label in enumerate(CLASSES):
        keras = data.keras.per_class_accuracy[c]
        lines.append(f"{label:<16}" + "".join(
            f"{f.per_class_accuracy[c]:>10.4f} {100 * (f.per_class_accuracy[c] - keras):+5.1f}"
            if VARIANTS[name].precision == "int8" else f"{f.per_class_accuracy[c]:>16.4f}"
            for name, f in columns.items()))
    return "\n".join(lines + ["(int8: accuracy, then its change from Keras in percentage points)"])


def parse(argv) -> tuple[argparse.ArgumentParser, argparse.Namespace]:
    parser = argparse.ArgumentParser(prog="python -m runtime.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", type=Path, default=Path("artifacts"),
                        help="folder holding manifest.json (default: artifacts)")
    parser.add_argument("--model", metavar="NAME", help="evaluate only this variant (default: every one)")
    parser.add_argument("--threads", type=positive, default=None,
                        help=f"engine threads per variant (default: {DEFAULT_THREADS})")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for the pictures (default: ARTIFACTS/evaluation)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    return parser, parser.parse_args(argv)


def main(argv=None) -> int:
    parser, args = parse(argv)
    out = args.out or args.artifacts / "evaluation"
    try:
        manifest = Manifest(args.artifacts / MANIFEST)
        names = runnable(manifest)
        if not names:
            raise ModelError(manifest.path, "lists no variant the runtime can run; re-run `make export`")
        if args.model is not None and args.model not in names:
            parser.error(f"--model {args.model!r}: this manifest's runnable variants are {', '.join(names)}"
                         + (" (keras needs TensorFlow; its figures come from reference.npz)"
                            if args.model == "keras" else ""))
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
        chart = draw(results, data, out)
    except BrokenPipeError:
        raise
    except (ToolkitError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({
            "artifacts": str(args.artifacts), "test_images": len(data.labels), "classes": list(CLASSES),
            "threads": args.threads or DEFAULT_THREADS,
            "keras": {"accuracy": data.keras.accuracy,
                      "per_class_accuracy": data.keras.summary()["per_class_accuracy"]},
            "variants": [r.row() for r in results], "per_class_chart": str(chart),
            "ok": all(not r.problems for r in results)}, indent=2))
    else:
        print()
        print(per_class_table(results, data))
        print(f"\npictures in {out}: " + ", ".join(
            [f"{r.picture.name} ({len(r.figures.disagreements)} images)" for r in results if r.picture]
            + [chart.name]))
    try:
        gate({r.variant: r.problems for r in results}, str(manifest.path))
    except ParityError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if not args.json:
        print(f"all {len(results)} variants within tolerance")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:
        silence_stdout()
        sys.exit(1)
