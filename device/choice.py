"""One table to choose from: every variant beside every target it was measured or estimated on (this
host, each device, the microcontroller cores, the Ethos-U NPUs), with its size, accuracy, agreement,
latency and RAM, and the default the rule of runtime/choice.py picks for each target above it.

    python -m device.choice [--artifacts artifacts] [--results benchmarks/results]     (make report)

Reads what the other commands left: the manifest (size, figures, TFLite Micro arena), this host's
`make bench`, each device's run (`make device-check`, `make bench-device`, a browser), `make micro`'s
cores and `make npu`'s Vela estimates. A target with no results is left out. Writes
RESULTS/choice.md and prints it.
"""

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from benchmarks import RESULTS
from benchmarks.table import DASH, accuracy, fixed, seconds, size
from device.report import load_devices
from runtime import cli
from runtime.choice import RULE, choose
from runtime.files import atomic_path
from runtime.manifest import MANIFEST, Artifact, Manifest
from runtime.variants import TFLITE_MICRO


@dataclass(frozen=True)
class Cell:
    """One variant on one target: the figure the rule compares there (None: not timed there), and
    latency and RAM as shown."""

    cost: float | None
    latency: str
    ram: str


@dataclass(frozen=True)
class Target:
    title: str
    cells: dict[str, Cell]  # variant name -> its cell


def read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def device_targets(results: Path) -> list[Target]:
    """This host and every device that ran the benchmark: batch-1 p50 through Predictor.predict,
    one thread, and the peak RSS of a process that loads the variant and predicts one image."""
    found = []
    for device in load_devices(results / "devices", results):
        rows = [r for r in (device.get("bench") or {}).get("rows", []) if r.get("b1_p50") is not None]
        cells = {
            r["variant"]: Cell(r["b1_p50"], seconds(r["b1_p50"]), size(r.get("peak_bytes"))) for r in rows
        }
        if device["status"] == "ok" and cells:
            title = f"{device['name']} (emulated: QEMU's timings)" if device["emulated"] else device["name"]
            found.append(Target(title, cells))
    return found


def micro_targets(results: Path, micro: list[Artifact]) -> list[Target]:
    """Each core `make micro` ran c-int8 on (in QEMU): instructions per inference and RAM; the
    TFLite Micro variants beside it with their arena (not run on the core)."""
    report = read_json(results / "micro.json") or {}
    models = report.get("models") or [report]  # one model per run, or the tutorial's first of several
    cores = [row for row in models[0].get("targets", []) if row.get("instructions")]
    arenas = {
        a.variant.name: Cell(None, DASH, f"{a.facts['arena_bytes']:,} B arena")
        for a in micro
        if "arena_bytes" in a.facts
    }
    return [
        Target(
            f"{row['target']} in QEMU (instructions, estimate)",
            {
                **arenas,
                "c-int8": Cell(row["instructions"], f"{row['instructions']:,}", f"{row['ram_bytes']:,} B"),
            },
        )
        for row in cores
    ]


def npu_targets(micro: list[Artifact]) -> list[Target]:
    """Each Ethos-U configuration `make npu` compiled for: Vela's time per inference and the SRAM used
    (a row that failed or fell back to the CPU shows its status and is not timed)."""
    found: dict[tuple[str, str], dict[str, Cell]] = {}
    for artifact in micro:
        for row in artifact.facts.get("npu", {}).get("configurations", []):
            ok = row["status"] == "npu"
            found.setdefault((row["accelerator"], row["memory_mode"]), {})[artifact.variant.name] = Cell(
                row["seconds"] if ok else None,
                seconds(row["seconds"]) if ok else row["status"],
                f"{row['sram_bytes'] / 1024:.1f} KiB SRAM" if ok else DASH,
            )
    return [
        Target(f"{npu}, {mode} (Vela's estimate, not run)", cells) for (npu, mode), cells in found.items()
    ]


def defaults(targets: list[Target], manifest: Manifest) -> dict[str, str]:
    """Target title -> the variant the rule picks there, among those timed there."""
    agreement = {a.variant.name: a.figures["agreement"] for a in manifest.artifacts}
    picked = {}
    for target in targets:
        timed = [name for name, cell in target.cells.items() if cell.cost is not None and name in agreement]
        if timed:
            picked[target.title] = choose(timed, lambda n, t=target: t.cells[n].cost, agreement.get)
    return picked


def markdown(manifest: Manifest, targets: list[Target]) -> str:
    picked = defaults(targets, manifest)
    keras = manifest.artifact("keras").figures["accuracy"]
    lines = [
        "# Which variant for which target",
        "",
        f"The default on each target: {RULE}. Every variant here passed its parity gate against Keras "
        f"(accuracy {accuracy(keras)}) on the gate's images.",
        "",
        *[f"- {title}: **{name}**" for title, name in picked.items()],
        "",
        "| variant | precision | size | accuracy | agreement | "
        + " | ".join(t.title for t in targets)
        + " |",
        "|:--|:--|--:|--:|--:|" + "--:|" * len(targets),
    ]
    for artifact in manifest.runnable():
        name = artifact.variant.name
        cells = []
        for target in targets:
            cell = target.cells.get(name)
            latency = (
                f"**{cell.latency}**" if cell and picked.get(target.title) == name else cell and cell.latency
            )
            cells.append(DASH if not cell else latency if cell.ram == DASH else f"{latency} · {cell.ram}")
        lines.append(
            f"| {name} | {artifact.variant.precision.means} | {size(artifact.file.bytes)} | "
            f"{accuracy(artifact.figures['accuracy'])} | {fixed(artifact.figures['agreement'])} | "
            + " | ".join(cells)
            + " |"
        )
    lines += [
        "",
        "Cells: latency · RAM. This host and devices: one image through Predictor.predict at batch 1 on "
        "one thread (p50) · peak RSS of a process that loads the variant and predicts one image. "
        "Cores: instructions per inference counted in QEMU (an estimate at one per cycle) · data, bss "
        "and stack (TFLite Micro: its tensor arena, measured on the 64-bit host, not run on the core). "
        "Ethos-U: Vela's estimate at the system's clock (Shared_Sram: weights in flash or DRAM; "
        "Sram_Only: in on-chip memory at SRAM speed; Dedicated_Sram: all off-chip behind an SRAM "
        "cache) · SRAM used. Bold: the target's default.",
    ]
    return "\n".join(lines) + "\n"


def table(args) -> int:
    manifest = Manifest(args.artifacts / MANIFEST)
    micro = [a for a in manifest.artifacts if a.format == TFLITE_MICRO]
    targets = device_targets(args.results) + micro_targets(args.results, micro) + npu_targets(micro)
    text = markdown(manifest, targets)
    with atomic_path(args.results / "choice.md") as tmp:
        tmp.write_text(text)
    print(text, end="")
    return 0


def main(argv=None) -> int:
    parser = cli.parser("python -m device.choice", __doc__, cli.ARTIFACTS)
    parser.add_argument(
        "--results",
        type=Path,
        default=RESULTS,
        metavar="DIR",
        help=f"folder of the benchmark, device, micro and NPU results, and of choice.md (default: {RESULTS})",
    )
    return cli.run(table, parser, argv)


if __name__ == "__main__":
    sys.exit(main())
