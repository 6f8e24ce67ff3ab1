"""The TFLite Micro variants compiled for Arm Ethos-U NPUs by Vela, with Vela's estimates per
configuration: cycles, time at the configuration's clock, SRAM and flash/DRAM used, the operators on
the NPU and those that fall back to the CPU. Estimated by Vela, not run: nothing here runs an NPU.

    python -m benchmarks.npu [--artifacts artifacts] [--out benchmarks/results]      (make npu)

Compiles every TFLite Micro variant of the manifest for each configuration of export/npu.py into
the manifest's run folder (npu-<time>/), records the rows in the variants' manifest entries ("npu"),
writes OUT/npu.json and the Markdown table OUT/npu.md, and prints it. A configuration Vela refuses or
that leaves operators to the CPU is a row with its reason; the exit status is 0 all the same.
"""

import shutil
import sys
import time
from pathlib import Path

from benchmarks import RESULTS
from benchmarks.table import DASH
from export.npu import CONFIGURATIONS, ESTIMATED, compile_model, record, vela_version
from export.publish import ExportLock
from runtime import cli
from runtime.errors import ToolkitError
from runtime.files import atomic_path, write_json
from runtime.manifest import MANIFEST, Manifest
from runtime.progress import progress
from runtime.variants import TFLITE_MICRO

FOLDER = "npu-"  # + time: a new folder per run, the older ones removed once the manifest names it


def compile_all(artifacts: Path) -> dict:
    """Every TFLite Micro variant for every configuration, recorded in the manifest (under the
    export lock, so no export swaps the set meanwhile); the report as plain data."""
    if vela_version() is None:
        raise ToolkitError(Path("ethos-u-vela"), "not installed; `make npu` installs it (dev group)")
    with ExportLock(artifacts):
        manifest = Manifest(artifacts / MANIFEST)
        micro = [a.verify() for a in manifest.artifacts if a.format == TFLITE_MICRO]
        if not micro:
            raise ToolkitError(manifest.path, "has no TFLite Micro variant to compile; re-run `make export`")
        run = micro[0].path.parent
        folder = run / f"{FOLDER}{time.time_ns()}"
        jobs = [(a, c) for a in micro for c in CONFIGURATIONS]
        rows = [
            {"variant": a.variant.name, **compile_model(a.path, c, folder)} for a, c in progress(jobs, "vela")
        ]
        record(manifest, rows)
        for old in run.glob(f"{FOLDER}*"):
            if old != folder:
                shutil.rmtree(old, ignore_errors=True)
    for row in rows:
        if row.get("file"):
            row["file"] = {**row["file"], "path": str(Path(row["file"]["path"]).relative_to(manifest.folder))}
    return {"figures": ESTIMATED, "vela": vela_version(), "rows": rows}


def kib(n) -> str:
    return DASH if n is None else f"{n / 1024:.1f} KiB"


def operators(row: dict) -> str:
    on_npu = f"{row['npu_operators']} on the NPU"
    return f"{on_npu}, {row['cpu_operators']} on the CPU" if row["cpu_operators"] else on_npu


def table(report: dict) -> str:
    """The NPU table in Markdown, its title saying whose estimates these are."""
    lines = [
        f"**Ethos-U NPUs: {ESTIMATED} (Vela {report['vela']})**",
        "",
        "| variant | NPU | system (clock) | memory mode | cycles / inference | time at the clock | "
        "SRAM used | weights in (used) | operators | status |",
        "|:--|:--|:--|:--|--:|--:|--:|:--|:--|:--|",
    ]
    for row in report["rows"]:
        head = f"| {row['variant']} | {row['accelerator']} | {row['system']}"
        if row["status"] == "failed":
            lines.append(f"{head} | {row['memory_mode']} | – | – | – | – | – | failed: {row['reason']} |")
            continue
        status = "every operator on the NPU" if row["status"] == "npu" else f"CPU fallback: {row['reason']}"
        lines.append(
            f"{head} ({row['clock_hz'] / 1e6:.0f} MHz) | {row['memory_mode']} | {row['cycles']:,} | "
            f"{row['seconds'] * 1e6:.1f} µs | {kib(row['sram_bytes'])} | "
            f"{row['weights_in']} ({kib(row['weights_memory_bytes'])}) | {operators(row)} | {status} |"
        )
    return "\n".join(lines) + (
        "\n\nVela compiles the model for the configuration and estimates its performance from the "
        "NPU's and the memories' models in its shipped `Arm/vela.ini`; no NPU or simulator ran it.\n"
    )


def npu(args) -> int:
    report = compile_all(args.artifacts)
    write_json(args.out / "npu.json", report)
    with atomic_path(args.out / "npu.md") as tmp:
        tmp.write_text(table(report))
    print(table(report), end="")
    return 0


def main(argv=None) -> int:
    parser = cli.parser("python -m benchmarks.npu", __doc__, cli.ARTIFACTS)
    parser.add_argument(
        "--out",
        type=Path,
        default=RESULTS,
        metavar="DIR",
        help="folder for npu.json and npu.md (default: benchmarks/results)",
    )
    return cli.run(npu, parser, argv)


if __name__ == "__main__":
    sys.exit(main())
