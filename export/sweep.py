"""Try int8 recipes on both engines, measure every candidate the same way, choose one per engine by the rule.

    python -m export.sweep [--artifacts artifacts] [--out ARTIFACTS/quant-report] [--rounds 15] [--small]

For each candidate (export/recipes.py: calibration size and method, per-channel, QDQ or QOperator,
reduce_range, a float head): accuracy, agreement with Keras and max probability difference on the
10,000 test images, size, batch-1 latency (1 thread) and batch-1,024 throughput (every core), both
through the runtime's own Predictor. Timings are taken in `--rounds` passes over all candidates, each
timing the best of short repeats, and the best of all is kept: on a shared machine a busy moment
slows some repeats of every candidate rather than every repeat of one.
Writes report.json (which `make export` follows for this model), report.md, report.png and the
per-layer reports of the chosen and baseline recipes, then prints the table.
"""

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from runtime.quiet import native_stderr_silenced

with native_stderr_silenced():  # importing TensorFlow prints absl INFO lines; the sweep prints its own
    import keras  # noqa: F401

from export.layers import layer_report
from export.model_source import load_checked, tutorial
from export.onnx import fused_float, quantize_onnx
from export.quant_report import write_report
from export.recipes import (
    BASELINES,
    REPORT_DIR,
    QuantRecipe,
    calibration_images,
    candidates,
    choose,
    validation_images,
)
from export.tflite import convert_int8, write_saved_model
from runtime import cli
from runtime.dataset import load_split, scaled
from runtime.loader import load_file
from runtime.parity import measure
from runtime.progress import progress, say
from runtime.variants import FORMATS

ROUND_SECONDS = 0.02  # of timed repeats per candidate, case and round
B1_CALLS = 10  # batch-1 calls per repeat: ~0.1 ms, short enough to fall between other processes' turns
SETTLE_SECONDS = 0.02  # idle before a batch-1,024 timing: the thread pool of the run before stops spinning
THROUGHPUT_BATCH = 1024
ENGINES = ("tflite", "onnx")  # the recipe families: formats that make their own int8 files


def build(engine: str, model, recipes: list[QuantRecipe], train_images: np.ndarray, folder: Path):
    """Yield (recipe, file, seconds to make it) for every recipe of `engine`."""
    if engine == "onnx":
        source = fused_float(model, folder)
        make = quantize_onnx
    else:
        source = folder / "saved_model"
        write_saved_model(model, source)
        make = convert_int8
    for number, recipe in enumerate(recipes):
        path = folder / f"{engine}-{number}{FORMATS[engine].suffix}"
        started = time.perf_counter()
        make(source, path, calibration_images(train_images, recipe.images), recipe)
        yield recipe, path, time.perf_counter() - started


def best_per_call(call, calls: int, seconds: float = ROUND_SECONDS) -> float:
    """The least seconds per call over short repeats of `calls` calls, repeated for `seconds` (at
    least 3 times): a repeat that another process interrupted is simply not the least."""
    call()
    best, repeats, started = float("inf"), 0, time.perf_counter()
    while repeats < 3 or time.perf_counter() - started < seconds:
        begun = time.perf_counter()
        for _ in range(calls):
            call()
        best = min(best, (time.perf_counter() - begun) / calls)
        repeats += 1
    return best


class Candidate:
    """One int8 file: its parity figures, and the best of its timings so far."""

    def __init__(self, engine: str, recipe: QuantRecipe, path: Path, build_seconds: float, test, validation):
        self.engine, self.recipe, self.path, self.build_seconds = engine, recipe, path, build_seconds
        self.one = load_file(path, threads=1, isolate=False)
        self.figures = measure(self.one, *test)  # reported
        self.validation = measure(self.one, *validation)  # chosen on
        self.all = load_file(path, threads=len(os.sched_getaffinity(0)), isolate=False)
        self.b1 = self.b1024 = float("inf")

    def time_b1(self, images: np.ndarray) -> None:
        self.b1 = min(self.b1, best_per_call(lambda: self.one.predict(images[:1]), B1_CALLS))

    def time_b1024(self, images: np.ndarray) -> None:
        time.sleep(SETTLE_SECONDS)
        self.b1024 = min(self.b1024, best_per_call(lambda: self.all.predict(images[:THROUGHPUT_BATCH]), 1))

    def row(self) -> dict:
        return {
            "engine": self.engine,
            "label": self.recipe.label(),
            "recipe": self.recipe.summary(),
            "accuracy": self.figures.accuracy,
            "agreement": self.figures.agreement,
            "validation_agreement": self.validation.agreement,
            "max_abs_diff": self.figures.max_abs_diff,
            "bytes": self.path.stat().st_size,
            "b1_seconds": self.b1,
            "b1024_images_per_second": THROUGHPUT_BATCH / self.b1024,
            "build_seconds": round(self.build_seconds, 2),
            "baseline": self.recipe == BASELINES[self.engine],
        }


def sweep(artifacts: Path, out: Path, rounds: int, small: bool) -> dict:
    started = time.perf_counter()
    source = tutorial(artifacts)
    out.mkdir(parents=True, exist_ok=True)  # an unwritable place is refused now, not after the sweep
    (train_images, _), (test_images, test_labels) = load_split("train"), load_split("test")
    model = load_checked(source).model
    test = (test_images, test_labels, model.predict(scaled(test_images), batch_size=1000, verbose=0))
    held_out = validation_images(train_images)  # its labels: only agreement with Keras is compared
    keras_held_out = model.predict(scaled(held_out), batch_size=1000, verbose=0)
    validation = (held_out, keras_held_out.argmax(1), keras_held_out)
    found: list[Candidate] = []
    with tempfile.TemporaryDirectory() as tmp:
        for engine in ENGINES:
            folder = Path(tmp) / engine
            folder.mkdir()
            recipes = candidates(engine, small)
            for recipe, path, seconds in build(engine, model, recipes, train_images, folder):
                found.append(Candidate(engine, recipe, path, seconds, test, validation))
                say(
                    f"{engine:<7}{recipe.label():<52}agreement {found[-1].validation.agreement:.4f} held out,"
                    f" {found[-1].figures.agreement:.4f} test  ({seconds:.1f} s)"
                )
        # Every batch-1 pass first: no thread pool of a batch-1,024 run is still spinning on a core.
        for case in (Candidate.time_b1, Candidate.time_b1024):
            timing = case.__name__.removeprefix("time_")
            for _ in progress(range(rounds), f"timing {timing}"):
                for candidate in found:
                    case(candidate, test_images)
            say(f"timed {timing}: best of {rounds} passes")
        rows = [candidate.row() for candidate in found]
    chosen = {engine: choose([row for row in rows if row["engine"] == engine]) for engine in ENGINES}
    for row in rows:
        row["chosen"] = row is chosen[row["engine"]]
    layers = {}
    for engine in ENGINES:
        for recipe in dict.fromkeys([QuantRecipe.from_summary(chosen[engine]["recipe"]), BASELINES[engine]]):
            calibration = calibration_images(train_images, recipe.images)
            layers[(engine, recipe)] = layer_report(model, recipe, calibration, scaled(test_images))
    report = {
        "model_sha256": source.sha256,
        "rows": rows,
        "chosen": {engine: row["recipe"] for engine, row in chosen.items()},
        "timing": {
            "rounds": rounds,
            "threads_b1": 1,
            "threads_b1024": len(os.sched_getaffinity(0)),
            "statistic": "best short repeat of all passes",
        },
        "seconds": round(time.perf_counter() - started, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }  # how busy the machine was
    return write_report(report, layers, out)


def sweep_cli(args) -> int:
    sweep(args.artifacts, args.out or args.artifacts / REPORT_DIR, args.rounds, args.small)
    return 0


def main(argv=None) -> int:
    parser = cli.parser("python -m export.sweep", __doc__, cli.ARTIFACTS)
    parser.add_argument(
        "--out", type=Path, default=None, help=f"report folder (default: ARTIFACTS/{REPORT_DIR})"
    )
    parser.add_argument(
        "--rounds", type=cli.positive, default=15, help="timing passes over all candidates (best kept)"
    )
    parser.add_argument("--small", action="store_true", help="three candidates per engine (a quick check)")
    return cli.run(sweep_cli, parser, argv)


if __name__ == "__main__":
    sys.exit(main())
