"""From measurements to the report: a row per variant with its ratios beside it, the reference rows,
the cold-start comparison, and the figures this machine is held to (targets.py).

Every ratio is computed here from figures that are also in the rows, so a reader (and the tests)
can recompute each one. Seconds and bytes throughout; table.py rounds for display.
"""

from benchmarks.results import Results, ratio
from benchmarks.targets import folder_workers, judged, overhead, yardstick_doubt
from runtime.manifest import Manifest
from runtime.variants import runnable


def subjects() -> list[str]:
    """Keras and every variant the runtime runs, in table order."""
    return ["keras", *[v.name for v in runnable()]]


COLD_STARTS = ("predict-cli", "bare-litert", "import-tensorflow")
BATCHES = (32, 1024)


def variant_row(name: str, results: Results, manifest: Manifest) -> dict:
    artifact = manifest.find(name)
    entry = artifact.as_json(manifest.folder) if artifact else {}
    keras = name == "keras"
    b1 = results.get(name, "predict-b1" if keras else "b1")
    by_batch = {b: results.throughput(name, f"predict-b{b}" if keras else f"b{b}") for b in BATCHES}
    measured = {b: ips for b, ips in by_batch.items() if ips is not None}
    best_batch = max(measured, key=measured.get) if measured else None
    best_ips = measured.get(best_batch)
    matmul = results.get("numpy", f"b{best_batch}")
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
        "b1_all_p50": results.p50(name, "b1-all"),
        "b32_ips": by_batch[32],
        "b1024_ips": by_batch[1024],
        "best_batch": best_batch,
        "best_ips": best_ips,
        "keras_speedup_b1": ratio(results.p50("keras", "predict-b1"), b1.p50 if b1 else None),
        "keras_speedup_b1024": ratio(by_batch[1024], results.throughput("keras", "predict-b1024")),
        "bare_p50": results.p50(name, "bare"),
        "overhead": overhead(results, name),
        "matmul_pct": 100 * ratio(best_ips, matmul.throughput) if best_ips and matmul else None,
        "matmul_doubt": yardstick_doubt(results, best_batch) if best_batch else None,
        "png_p50": results.p50(name, "png"),
        "load_p50": results.p50(name, "load"),
        "first_p50": results.p50(name, "first"),
        "peak_bytes": results.fact(name, "peak_bytes"),
    }


def cold_start_rows(results: Results) -> list[dict]:
    cli = results.p50("predict-cli", "cold")
    return [
        {
            "process": case,
            "status": "skipped"
            if case in results.skipped
            else ("error" if case in results.problems else "ok"),
            "problem": results.problems.get(case),
            "p50": results.p50(case, "cold"),
            "min": results.get(case, "cold").min if results.get(case, "cold") else None,
            "peak_bytes": results.fact(case, "peak_bytes"),
            "vs_predict_cli": ratio(results.p50(case, "cold"), cli),
        }
        for case in COLD_STARTS
    ]


def reference_rows(results: Results) -> list[dict]:
    """The bare engine calls, numpy's matrix products, Pillow's decoding, the folder through the
    predict CLI and Keras' own calls, as measured."""
    cases = [(f"bare engine call, {v}", v.name, "bare") for v in runnable()]
    cases += [(f"numpy matmul, batch {b}", "numpy", f"b{b}") for b in (1, *BATCHES)]
    cases += [("Pillow open+decode of one PNG", "pillow", "png")]
    made_for = [(v.format.made_for.name, v.name) for v in runnable() if v.format.made_for]
    cases += [(f"{runtime} classify of one image, {name}", runtime, name) for runtime, name in made_for]
    cases += [
        (f"folder of PNGs through the predict CLI, {w} worker{'s' * (w > 1)}", "folder", f"workers-{w}")
        for w in folder_workers(results)
    ]
    cases += [
        ("the predict CLI on a folder of one PNG, 1 worker (its start-up)", "folder", "one-image"),
        ("Pillow open+load+numpy.asarray of every PNG of the folder", "pillow", "folder"),
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


def build(results: Results, manifest: Manifest, machine: dict, commit: dict | None, elapsed: float) -> dict:
    """The whole report as plain data (what goes into benchmark.json under "fmnist_edge")."""
    return {
        "machine": machine,
        "commit": commit,
        "elapsed_seconds": elapsed,
        "rows": [variant_row(name, results, manifest) for name in subjects()],
        "references": reference_rows(results),
        "cold_start": cold_start_rows(results),
        "targets": judged(results, elapsed),
        "measurements": results.as_json(),
    }
