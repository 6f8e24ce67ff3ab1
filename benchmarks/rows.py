"""From measurements to the report: a row per variant with its ratios beside it, the reference rows,
the cold-start comparison and the issue's target figures.

Every ratio is computed here from figures that are also in the rows, so a reader (and the tests)
can recompute each one. Seconds and bytes throughout; table.py rounds for display.

Targets are judged on medians. Each also shows the same figure computed from the fastest calls:
another process on a 2-core machine slows a whole timing down (its median moves, its minimum
hardly does), so when the two disagree the machine was busy, not the code slower.
"""

from dataclasses import asdict, dataclass, replace

from benchmarks.results import Results
from runtime.manifest import Manifest
from runtime.variants import TFLITE_INT8, VARIANTS, runnable

DEFAULT_VARIANT = TFLITE_INT8.name  # the PNG-to-answer figure's variant


def subjects() -> list[str]:
    """Keras and every variant the runtime runs, in table order."""
    return ["keras", *[v.name for v in runnable()]]


COLD_STARTS = ("predict-cli", "bare-litert", "import-tensorflow")
BATCHES = (32, 1024)


@dataclass(frozen=True)
class Target:
    figure: str
    value: float | None
    goal: str  # e.g. ">= 1.8"
    met: bool | None  # None: not measured in this run
    from_min: float | None = None  # the same figure from each timing's fastest call


def ratio(a, b):
    return a / b if a is not None and b else None


def p50(results: Results, subject: str, case: str):
    timing = results.get(subject, case)
    return timing.p50 if timing else None


def throughput(results: Results, subject: str, case: str):
    timing = results.get(subject, case)
    return timing.throughput if timing else None


def variant_row(name: str, results: Results, manifest: Manifest) -> dict:
    artifact = manifest.find(name)
    entry = artifact.as_json(manifest.folder) if artifact else {}
    keras = name == "keras"
    b1 = results.get(name, "predict-b1" if keras else "b1")
    by_batch = {b: throughput(results, name, f"predict-b{b}" if keras else f"b{b}") for b in BATCHES}
    measured = {b: ips for b, ips in by_batch.items() if ips is not None}
    best_batch = max(measured, key=measured.get) if measured else None
    best_ips = measured.get(best_batch)
    bare = p50(results, name, "bare")
    problem = results.problems.get(name)
    return {
        "variant": name,
        "status": ("skipped" if name in results.skipped else "error") if problem else "ok",
        "problem": problem,
        "bytes": entry.get("bytes"),
        "accuracy": entry.get("accuracy"),
        "agreement": entry.get("agreement"),
        "b1_p50": b1.p50 if b1 else None,
        "b1_p99": b1.p99 if b1 else None,
        "b1_min": b1.min if b1 else None,
        "b1_spread": b1.spread if b1 else None,
        "b1_all_p50": p50(results, name, "b1-all"),
        "b32_ips": by_batch[32],
        "b1024_ips": by_batch[1024],
        "best_batch": best_batch,
        "best_ips": best_ips,
        "keras_speedup_b1": ratio(p50(results, "keras", "predict-b1"), b1.p50 if b1 else None),
        "keras_speedup_b1024": ratio(by_batch[1024], throughput(results, "keras", "predict-b1024")),
        "bare_p50": bare,
        "overhead": ratio(b1.p50 if b1 else None, bare),
        "matmul_pct": 100 * ratio(best_ips, throughput(results, "numpy", f"b{best_batch}"))
        if (best_batch and results.get("numpy", f"b{best_batch}"))
        else None,
        "png_p50": p50(results, name, "png"),
        "load_p50": p50(results, name, "load"),
        "first_p50": p50(results, name, "first"),
        "peak_bytes": results.fact(name, "peak_bytes"),
    }


def cold_start_rows(results: Results) -> list[dict]:
    cli = p50(results, "predict-cli", "cold")
    return [
        {
            "process": case,
            "status": "skipped"
            if case in results.skipped
            else ("error" if case in results.problems else "ok"),
            "problem": results.problems.get(case),
            "p50": p50(results, case, "cold"),
            "min": results.get(case, "cold").min if results.get(case, "cold") else None,
            "peak_bytes": results.fact(case, "peak_bytes"),
            "vs_predict_cli": ratio(p50(results, case, "cold"), cli),
        }
        for case in COLD_STARTS
    ]


def folder_workers(results: Results) -> list[int]:
    """The worker counts the folder was classified with, fewest first."""
    return sorted(int(case.split("-")[1]) for case in results.timings.get("folder", {}))


def reference_rows(results: Results) -> list[dict]:
    """The bare engine calls, numpy's matrix products and Keras' own calls, as measured."""
    cases = [(f"bare engine call, {n}", n, "bare") for n in [v.name for v in runnable()]]
    cases += [(f"numpy matmul, batch {b}", "numpy", f"b{b}") for b in (1, *BATCHES)]
    cases += [("Pillow open+decode of one PNG", "pillow", "png")]
    made_for = [(v.format.made_for.name, v.name) for v in runnable() if v.format.made_for]
    cases += [(f"{runtime} classify of one image, {name}", runtime, name) for runtime, name in made_for]
    cases += [
        (f"folder of PNGs through the predict CLI, {w} worker{'s' * (w > 1)}", "folder", f"workers-{w}")
        for w in folder_workers(results)
    ]
    cases += [
        (f"keras {how}, batch {b}", "keras", f"{key}-b{b}")
        for how, key in (("model.predict", "predict"), ("model(x)", "call"))
        for b in (1, 1024)
    ]
    found = []
    for label, subject, case in cases:
        timing = results.get(subject, case)
        if timing:
            found.append(
                {
                    "reference": label,
                    "subject": subject,
                    "case": case,
                    "batch": timing.batch,
                    "p50": timing.p50,
                    "p99": timing.p99,
                    "min": timing.min,
                    "spread": timing.spread,
                    "ips": timing.throughput,
                }
            )
    return found


def targets(rows: dict[str, dict], cold: dict[str, dict], results: Results, elapsed: float) -> list[Target]:
    """The issue's figures for this machine, each with its goal."""

    def target(figure, value, goal, passes):
        return Target(figure, value, goal, None if value is None else bool(passes(value)))

    floats = [
        rows[n]["b1024_ips"] for n in [v.name for v in runnable()] if VARIANTS[n].precision == "float32"
    ]
    best_float = max((v for v in floats if v is not None), default=None)
    found = [
        target(
            "tflite-int8 speed-up over tflite-float32, batch 1, the engine call (the model's own)",
            ratio(rows["tflite-float32"]["bare_p50"], rows["tflite-int8"]["bare_p50"]),
            ">= 1.8",
            lambda v: v >= 1.8,
        ),
        target(
            "tflite-int8 speed-up over tflite-float32, batch 1, through Predictor.predict",
            ratio(rows["tflite-float32"]["b1_p50"], rows["tflite-int8"]["b1_p50"]),
            "shown",
            lambda v: True,
        ),
        target(
            "best float32 variant at batch 1,024, share of numpy matmul",
            ratio(best_float, throughput(results, "numpy", "b1024")),
            ">= 0.80",
            lambda v: v >= 0.8,
        ),
    ]
    found += [
        target(
            f"Predictor.predict overhead over the bare engine, {n}",
            rows[n]["overhead"],
            "shown",
            lambda v: True,
        )
        for n in [v.name for v in runnable()]
    ]
    found.append(
        target(
            f"PNG file to answer ({DEFAULT_VARIANT}) over Pillow's open+decode of it",
            ratio(rows[DEFAULT_VARIANT]["png_p50"], p50(results, "pillow", "png")),
            "<= 1.3",
            lambda v: v <= 1.3,
        )
    )
    workers = folder_workers(results)
    if len(workers) > 1:
        found.append(
            target(
                f"folder of PNGs, {workers[-1]} workers over 1 (images per second)",
                ratio(
                    throughput(results, "folder", f"workers-{workers[-1]}"),
                    throughput(results, "folder", "workers-1"),
                ),
                ">= 1.7",
                lambda v: v >= 1.7,
            )
        )
    for batch in ("b1_p50", "b1024_ips"):
        speed = (
            ratio(rows["onnx-float32"][batch], rows["onnx-int8"][batch])
            if batch == "b1_p50"
            else ratio(rows["onnx-int8"][batch], rows["onnx-float32"][batch])
        )
        label = "batch 1" if batch == "b1_p50" else "batch 1,024"
        found.append(
            target(
                f"onnx-int8 speed-up over onnx-float32, {label} (below 1: int8 is slower)",
                speed,
                "shown",
                lambda v: v >= 1.0,
            )
        )
    cli, bare, tf = cold["predict-cli"], cold["bare-litert"], cold["import-tensorflow"]
    found += [
        target(
            "cold start: predict CLI over bare LiteRT script",
            ratio(cli["p50"], bare["p50"]),
            "<= 1.5",
            lambda v: v <= 1.5,
        ),
        target(
            "cold start: import tensorflow over predict CLI",
            ratio(tf["p50"], cli["p50"]),
            ">= 10",
            lambda v: v >= 10,
        ),
        target(
            "cold start: predict CLI peak memory, MB",
            cli["peak_bytes"] and cli["peak_bytes"] / 1e6,
            "< 100",
            lambda v: v < 100,
        ),
        target("whole benchmark run, seconds", elapsed, "< 300", lambda v: v < 300),
    ]
    return found


def judged(results: Results, manifest: Manifest, elapsed: float) -> list[Target]:
    rows = {name: variant_row(name, results, manifest) for name in subjects()}
    cold = {row["process"]: row for row in cold_start_rows(results)}
    return targets(rows, cold, results, elapsed)


def fastest(results: Results) -> Results:
    """The same measurements with every median replaced by the fastest call."""
    timings = {
        subject: {case: replace(t, p50=t.min) for case, t in cases.items()}
        for subject, cases in results.timings.items()
    }
    return Results(timings, results.facts, results.problems, results.skipped)


def build(results: Results, manifest: Manifest, machine: dict, elapsed: float) -> dict:
    """The whole report as plain data (what goes into benchmark.json under "fmnist_edge")."""
    rows = {name: variant_row(name, results, manifest) for name in subjects()}
    cold = {row["process"]: row for row in cold_start_rows(results)}
    by_p50, by_min = judged(results, manifest, elapsed), judged(fastest(results), manifest, elapsed)
    found = [replace(t, from_min=m.value) for t, m in zip(by_p50, by_min, strict=True)]
    return {
        "machine": machine,
        "elapsed_seconds": elapsed,
        "rows": list(rows.values()),
        "references": reference_rows(results),
        "cold_start": list(cold.values()),
        "targets": [asdict(t) for t in found],
        "measurements": results.as_json(),
    }
