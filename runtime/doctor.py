"""This machine as the models see it: its fingerprint (runtime/machine.py, the one the benchmark and
device reports show), and which variant to run here, from a two-second measurement. numpy and the
standard library only; an engine is imported when its variant is timed.

    python -m runtime.doctor [--artifacts artifacts] [--seconds 2] [--json]     (fmnist-edge doctor)
"""

import importlib.util
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from runtime import cli
from runtime.choice import RULE, choose
from runtime.errors import ToolkitError
from runtime.loader import load
from runtime.machine import INT8_DOT, describe, fingerprint
from runtime.manifest import MANIFEST, Manifest

BATCH = 256  # throughput batch


def timed(call, seconds: float) -> float:
    """The median seconds of `call` over `seconds` of calls (after one untimed call)."""
    call()
    times, deadline = [], time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(times) < 3:
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return float(np.median(times))


def measure(artifacts: Path, seconds: float) -> list[dict]:
    """Per runnable variant: batch-1 latency on one thread, img/s at batch 256 on every core."""
    manifest = Manifest(artifacts / MANIFEST)
    here = [a for a in manifest.runnable() if importlib.util.find_spec(a.format.module)]
    if not here:
        raise ToolkitError(manifest.path, "no variant here has its engine installed")
    one = np.zeros((1, *manifest.input.shape), np.uint8)
    many = np.random.default_rng(0).integers(0, 256, (BATCH, *manifest.input.shape), np.uint8)
    share, cores = seconds / (2 * len(here)), len(os.sched_getaffinity(0))
    rows = []
    for artifact in here:
        name = artifact.variant.name
        single, every = load(artifacts, name, threads=1), load(artifacts, name, threads=cores)
        rows.append(
            {
                "variant": name,
                "b1_seconds": timed(lambda p=single: p.predict(one), share),
                "images_per_second": BATCH / timed(lambda p=every: p.predict(many), share),
                "agreement": artifact.figures["agreement"],
            }
        )
    return rows


def recommend(rows: list[dict], found: list[str]) -> dict:
    """The variant for latency (by the rule of runtime/choice.py) and for throughput, each with the
    figures that chose it."""
    fast = choose(rows, lambda r: r["b1_seconds"], lambda r: r["agreement"])
    wide = max(rows, key=lambda r: r["images_per_second"])
    dot = sorted(INT8_DOT & set(found))
    why_int8 = (
        f"this CPU has int8 dot-product instructions ({', '.join(dot)})"
        if dot
        else "no int8 dot-product instructions here (VNNI, dotprod, i8mm): int8 wins, if it does, "
        "by moving a quarter of the bytes"
    )

    def why(best, key, unit, better):
        others = [r for r in rows if r is not best]
        against = "; ".join(f"{r['variant']} {unit(r[key])}" for r in others)
        return f"{unit(best[key])}{f' against {against}' if against else ''} ({better})"

    return {
        "latency": fast["variant"],
        "latency_why": why(
            fast,
            "b1_seconds",
            lambda s: f"{s * 1e6:.1f} us",
            f"batch 1, one thread; agreement {fast['agreement']:.4f}; the rule: {RULE}",
        ),
        "throughput": wide["variant"],
        "throughput_why": why(
            wide, "images_per_second", lambda v: f"{v:,.0f} img/s", f"batch {BATCH}, every core"
        ),
        "int8": why_int8,
    }


def text(report: dict) -> str:
    lines = describe(report["machine"])
    for row in report["variants"]:
        lines.append(
            f"{row['variant']:<22}{row['b1_seconds'] * 1e6:>10.1f} us at batch 1"
            f"{row['images_per_second']:>12,.0f} img/s at batch {BATCH}"
        )
    r = report["recommend"]
    lines += [
        f"for latency:    {r['latency']}: {r['latency_why']}",
        f"for throughput: {r['throughput']}: {r['throughput_why']}",
        f"int8:           {r['int8']}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser("python -m runtime.doctor", __doc__, cli.ARTIFACTS, cli.JSON)
    parser.add_argument("--seconds", type=float, default=2.0, help="measurement time in all (default: 2)")
    return cli.run(doctor, parser, argv)


def doctor(args) -> int:
    found = fingerprint()
    rows = measure(args.artifacts, args.seconds)
    report = {"machine": found, "variants": rows, "recommend": recommend(rows, found["features"])}
    print(json.dumps(report, indent=2) if args.json else text(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
