"""The generated C model on emulated microcontrollers: flash, RAM, instructions per inference, and its
scores checked byte for byte against the host's (which equal TFLite Micro's).

    python -m benchmarks.micro [--artifacts artifacts] [--out benchmarks/results] [--images 100]

Cross-compiles the exported fmnist_model.c for a Cortex-M4 (DSP path), a Cortex-M3 and a Cortex-M0+
(plain C path), runs the first two in QEMU (mps2-an386, mps2-an385) on test images kept in flash,
and writes OUT/micro.json and the Markdown table OUT/micro.md (also printed). Instructions are
counted under emulation (QEMU -icount, SysTick): an estimate of cycles at one instruction per
cycle, not a measurement on silicon. Exit status 1 when a score differs or a tool is missing.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

import runtime
from benchmarks import firmware
from benchmarks.firmware import TARGETS, FirmwareError
from runtime.cli import positive
from runtime.dataset import load_split
from runtime.errors import ToolkitError
from runtime.files import atomic_path, write_json
from runtime.manifest import MANIFEST, Manifest

CLOCKS_MHZ = (80, 168)  # a common Cortex-M4 (STM32L4) and a fast one (STM32F4)
INSTALL = "sudo apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm"


def raw_scores(predictor, images: np.ndarray) -> np.ndarray:
    """The engine's own int8 output for uint8 images (no dequantization), as the firmware prints it."""
    return predictor.engine.run(predictor.pixels.take(images))


def target_row(target, source: Path, images: np.ndarray, host: np.ndarray, folder: Path) -> dict:
    """Build for one core, size it from the map file and, on a QEMU board, run and compare it (a core
    without a board: the model's object file, sized by arm-none-eabi-size)."""
    row = {"target": target.name, "label": target.label}
    if target.board is None:
        size = firmware.berkeley_size(firmware.compile_model(target, source, folder))
        return {**row, "flash_bytes": size["text"] + size["data"], "ram_bytes": None, "instructions": None}
    elf, map_file = firmware.build(target, source, firmware.write_images(images, folder), folder)
    sizes = firmware.model_sizes(map_file)
    row.update(flash_bytes=sizes["flash"], firmware=firmware.berkeley_size(elf))
    run = firmware.parse(firmware.run(target, elf), host.shape[1])
    equal = int((run.scores == host[: len(run.scores)]).all(axis=1).sum())
    return {
        **row,
        "ram_bytes": sizes["ram"] + run.stack,
        "stack_bytes": run.stack,
        "instructions": round(run.instructions),
        **{f"ms_{mhz}mhz": round(run.instructions / (mhz * 1000), 3) for mhz in CLOCKS_MHZ},
        "images": len(run.scores),
        "equal_to_host": equal,
    }


def measure(artifacts: Path, count: int, folder: Path) -> dict:
    manifest = Manifest(artifacts / MANIFEST)
    c_artifact, micro_artifact = manifest.find("c-int8"), manifest.find("tflite-int8-micro")
    if c_artifact is None or micro_artifact is None:
        raise ToolkitError(manifest.path, "lacks c-int8 or tflite-int8-micro; re-run `make export`")
    source = c_artifact.verify().path  # and its header and library
    images = load_split("test")[0]
    c_model, micro = runtime.load(artifacts, "c-int8"), runtime.load(artifacts, "tflite-int8-micro")
    host, reference = raw_scores(c_model, images), raw_scores(micro, images)
    rows = [target_row(target, source, images[:count], host, folder) for target in TARGETS]
    entries = {a.variant.name: a.as_json(manifest.folder) for a in (c_artifact, micro_artifact)}
    return {
        "host_equal_to_tflite_micro": int((host == reference).all(axis=1).sum()),
        "test_images": len(images),
        "macs": int(sum(np.prod(shape) for shape in ([784, 128], [128, 10]))),
        "figures": {
            name: {k: e[k] for k in ("accuracy", "agreement", "bytes")} for name, e in entries.items()
        },
        "arena_bytes": entries["tflite-int8-micro"].get("arena_bytes"),
        "targets": rows,
    }


def table(report: dict) -> str:
    """The microcontroller table, in Markdown."""
    c, micro = report["figures"]["c-int8"], report["figures"]["tflite-int8-micro"]
    lines = [
        "| variant | target | flash (model + kernel) | RAM (data + bss + stack) | instructions / "
        "inference (estimate) | est. ms at 80 / 168 MHz | accuracy | agreement | bytes equal to "
        "TFLite Micro |",
        "|" + "---|" * 9,
    ]
    equal = f"{report['host_equal_to_tflite_micro']:,}/{report['test_images']:,} (host)"
    for row in report["targets"]:
        ram = f"{row['ram_bytes']:,} B" if row["ram_bytes"] is not None else "-"
        if row["instructions"] is None:
            cycles, ms, same = "-", "-", equal
        else:
            cycles = f"{row['instructions']:,}"
            ms = f"{row['ms_80mhz']:.2f} / {row['ms_168mhz']:.2f}"
            same = f"{equal}; {row['equal_to_host']}/{row['images']} on the board = host"
        lines.append(
            f"| c-int8 | {row['label']} | {row['flash_bytes'] / 1024:.1f} KiB | {ram} | {cycles} | "
            f"{ms} | {c['accuracy']:.4f} | {c['agreement']:.4f} | {same} |"
        )
    lines.append(
        f"| tflite-int8-micro | TFLite Micro (interpreter not counted) | "
        f"{micro['bytes'] / 1024:.1f} KiB model | {report['arena_bytes']:,} B arena (64-bit host) | "
        "- | - | "
        f"{micro['accuracy']:.4f} | {micro['agreement']:.4f} | reference |"
    )
    return "\n".join(lines) + (
        "\n\nInstructions counted in QEMU (-icount, SysTick), an estimate at one "
        f"instruction per cycle; the model has {report['macs']:,} "
        "multiply-accumulates.\n"
    )


def report_section(folder: Path) -> str:
    """The table `make micro` left in `folder`, as a section of the benchmark report (empty if none)."""
    path = folder / "micro.md"
    if not path.is_file():
        return ""
    return f"\n## Microcontroller (`make micro`, QEMU)\n\n{path.read_text()}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.micro", description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", type=Path, default=Path("artifacts"), help="exported set")
    parser.add_argument(
        "--out", type=Path, default=Path("benchmarks/results"), help="folder for micro.json and micro.md"
    )
    parser.add_argument("--build", type=Path, default=Path("build/micro"), help="firmware build folder")
    parser.add_argument(
        "--images", type=positive, default=100, help="test images the firmware classifies (default: 100)"
    )
    args = parser.parse_args(argv)
    missing = firmware.missing_tools()
    if missing:
        print(f"error: {', '.join(missing)} not found; install them with `{INSTALL}`", file=sys.stderr)
        return 1
    try:
        report = measure(args.artifacts, args.images, args.build)
    except (ToolkitError, FirmwareError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    write_json(args.out / "micro.json", report)
    with atomic_path(args.out / "micro.md") as tmp:
        tmp.write_text(table(report))
    print(table(report), end="")
    boards = [row for row in report["targets"] if row["instructions"] is not None]
    if report["host_equal_to_tflite_micro"] != report["test_images"] or any(
        row["equal_to_host"] != row["images"] for row in boards
    ):
        print("error: scores differ from TFLite Micro's (see the table)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
