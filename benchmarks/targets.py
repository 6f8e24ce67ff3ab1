"""The figures this machine is held to, each one object: what it is, how it is computed from the
timings, and its goal (or none: a figure shown for what it explains is never "met").

Each figure is computed twice: from the medians, and from each timing's fastest call. Another
process on a 2-core machine slows a whole timing down (its median moves, its minimum hardly does).
A goal is met or missed only when both agree; when they disagree the machine was busy and the
figure is "unsure", never reported as met (a median divided by a median that another process
inflated is how a 0.36 turns into a 3.79). So is a figure whose yardstick is broken in this run:
numpy's matmul slower per image at batch 32 than at batch 1 had its BLAS threads starved by other
processes, and every share of it is then impossible.
"""

import operator
from collections.abc import Callable
from dataclasses import dataclass

from benchmarks.results import Results, ratio
from runtime.variants import ONNX_FLOAT32, ONNX_INT8, TFLITE_FLOAT32, TFLITE_INT8, Variant, runnable

COMPARE = {">=": operator.ge, "<=": operator.le, "<": operator.lt}
NOISY = 0.5  # a yardstick whose spread (interquartile range / median) is larger is none
BUSY = "the medians and the fastest calls disagree: another process was using the machine"


@dataclass(frozen=True)
class Goal:
    """A bound a figure must reach; its text is made from the same two fields its check uses."""

    sign: str  # a key of COMPARE
    bound: float

    def met(self, value: float) -> bool:
        return COMPARE[self.sign](value, self.bound)

    def __str__(self) -> str:
        return f"{self.sign} {self.bound:g}"


@dataclass(frozen=True)
class Target:
    figure: str
    measure: Callable[[Results], float | None]  # None: not measured in this run
    goal: Goal | None = None  # None: shown, not judged
    unit: str = "x"  # how it is shown: "x" (a ratio), "img/s", "MB" or "s"
    doubt: Callable[[Results], str | None] = lambda results: None  # why this run's figure is no figure

    def judge(self, medians: Results, fastest: Results) -> dict:
        value, from_min = self.measure(medians), self.measure(fastest)
        doubt = None
        if value is not None and self.goal is not None:
            doubt = self.doubt(medians)
            if doubt is None and from_min is not None and self.goal.met(value) != self.goal.met(from_min):
                doubt = BUSY
        if value is None or self.goal is None:
            verdict = "not measured" if value is None else "shown"
        else:
            verdict = "unsure" if doubt else "met" if self.goal.met(value) else "NOT MET"
        return {
            "figure": self.figure,
            "goal": None if self.goal is None else str(self.goal),
            "unit": self.unit,
            "value": value,
            "from_min": from_min,
            "verdict": verdict,
            "doubt": doubt,
        }


def yardstick_doubt(results: Results, batch: int) -> str | None:
    """Why numpy's matmul at `batch` is no yardstick in this run, if it is not."""
    timing, single = results.get("numpy", f"b{batch}"), results.get("numpy", "b1")
    if timing is None:
        return None
    if timing.spread > NOISY:
        return f"numpy's batch-{batch} matmul is noisy (spread {timing.spread:.0%})"
    if single is not None and timing.p50 / timing.batch > single.p50:
        return f"numpy's batch-{batch} matmul is slower per image than batch 1 (its threads were starved)"
    return None


def overhead(results: Results, variant: str) -> float | None:
    """Predictor.predict over the bare engine call, batch 1, one thread."""
    return ratio(results.p50(variant, "b1"), results.p50(variant, "bare"))


def folder_workers(results: Results) -> list[int]:
    """The worker counts the folder was classified with, fewest first."""
    cases = results.timings.get("folder", {})
    return sorted(int(case.split("-")[1]) for case in cases if case.startswith("workers-"))


def folder_rate(results: Results) -> float | None:
    """Images per second of the predict CLI on the folder, 1 worker, start-up excluded: the
    folder's run less the same command's on one image, for all images but that one."""
    whole, one = results.get("folder", "workers-1"), results.get("folder", "one-image")
    if whole is None or one is None or whole.p50 <= one.p50:
        return None
    return (whole.batch - 1) / (whole.p50 - one.p50)


def every_core_over_one(results: Results) -> float | None:
    workers = folder_workers(results)
    if len(workers) < 2:
        return None
    return ratio(
        results.throughput("folder", f"workers-{workers[-1]}"), results.throughput("folder", "workers-1")
    )


def best_float_share_of_numpy(results: Results) -> float | None:
    floats = [results.throughput(v.name, "b1024") for v in runnable() if not v.quantized]
    best = max((v for v in floats if v is not None), default=None)
    return ratio(best, results.throughput("numpy", "b1024"))


def megabytes(n: float | None) -> float | None:
    return None if n is None else n / 1e6


def speed_up(fast: Variant, slow: Variant, case: str) -> Callable[[Results], float | None]:
    """How many times faster `fast` is than `slow` in the same `case` (a ratio of throughputs)."""
    return lambda r: ratio(r.throughput(fast.name, case), r.throughput(slow.name, case))


def targets(elapsed: float) -> list[Target]:
    """The issue's figures for this machine, in the order they are shown."""
    png = TFLITE_INT8.name  # the PNG-to-answer figure's variant
    found = [
        Target(
            f"{TFLITE_INT8} speed-up over {TFLITE_FLOAT32}, batch 1, the engine call (the model's own)",
            speed_up(TFLITE_INT8, TFLITE_FLOAT32, "bare"),
            Goal(">=", 1.8),
        ),
        Target(
            f"{TFLITE_INT8} speed-up over {TFLITE_FLOAT32}, batch 1, through Predictor.predict",
            speed_up(TFLITE_INT8, TFLITE_FLOAT32, "b1"),
        ),
        Target(
            "best float32 variant at batch 1,024, share of numpy matmul",
            best_float_share_of_numpy,
            Goal(">=", 0.8),
            doubt=lambda r: yardstick_doubt(r, 1024),
        ),
    ]
    found += [
        Target(f"Predictor.predict overhead over the bare engine, {v}", lambda r, v=v: overhead(r, v.name))
        for v in runnable()
    ]
    found += [
        Target(
            f"PNG file to answer ({png}) over Pillow's open+decode of it",
            lambda r: ratio(r.p50(png, "png"), r.p50("pillow", "png")),
            Goal("<=", 1.3),
        ),
        Target(
            "folder of PNGs, every core over 1 worker (start-up included)",
            every_core_over_one,
            Goal(">=", 1.7),
        ),
        Target("folder of PNGs, predict CLI, 1 worker, start-up excluded", folder_rate, unit="img/s"),
        Target(
            "the same files, Pillow's decode-only rate (open, load, numpy.asarray)",
            lambda r: r.throughput("pillow", "folder"),
            unit="img/s",
        ),
        Target(
            "folder, 1 worker, start-up excluded, share of Pillow's decode-only rate",
            lambda r: ratio(folder_rate(r), r.throughput("pillow", "folder")),
            Goal(">=", 0.6),
        ),
        Target(
            f"{ONNX_INT8} speed-up over {ONNX_FLOAT32}, batch 1 (below 1: int8 is slower)",
            speed_up(ONNX_INT8, ONNX_FLOAT32, "b1"),
        ),
        Target(
            f"{ONNX_INT8} speed-up over {ONNX_FLOAT32}, batch 1,024 (below 1: int8 is slower)",
            speed_up(ONNX_INT8, ONNX_FLOAT32, "b1024"),
        ),
        Target(
            "cold start: predict CLI over bare LiteRT script",
            lambda r: ratio(r.p50("predict-cli", "cold"), r.p50("bare-litert", "cold")),
            Goal("<=", 1.5),
        ),
        Target(
            "cold start: import tensorflow over predict CLI",
            lambda r: ratio(r.p50("import-tensorflow", "cold"), r.p50("predict-cli", "cold")),
            Goal(">=", 10),
        ),
        Target(
            "cold start: predict CLI peak memory",
            lambda r: megabytes(r.fact("predict-cli", "peak_bytes")),
            Goal("<", 100),
            unit="MB",
        ),
        Target("whole benchmark run", lambda r: elapsed, Goal("<", 300), unit="s"),
    ]
    return found


def judged(results: Results, elapsed: float) -> list[dict]:
    fastest = results.fastest()
    return [target.judge(results, fastest) for target in targets(elapsed)]
