"""The generated C models on emulated microcontrollers: flash, RAM, instructions per inference and per
multiply-accumulate, an estimate of Cortex-M4 cycles, and every score compared with TFLite Micro's.

    python -m benchmarks.micro [--artifacts artifacts] [--out benchmarks/results] [--images 100]

Models: the export in ARTIFACTS (the tutorial model) and, where exported, ARTIFACTS/cnn (python -m
benchmarks.micro_cnn) and ARTIFACTS/pruned (make train export PRUNE=0.5); `make micro` makes all
three. Each model's fmnist_model.c is cross-compiled for every core of benchmarks/firmware.py's
TARGETS; QEMU runs it on test images kept in flash (a Cortex-M0+ is only sized). Instructions are
counted under emulation (QEMU -icount, SysTick); the Cortex-M4's cycles are estimated from one traced
inference (benchmarks/firmware_trace.py). Neither is a measurement on silicon. Writes OUT/micro.json
and the Markdown table OUT/micro.md (also printed). Exit status 1 when a score differs from TFLite
Micro's or a tool is missing.
"""

import sys
from pathlib import Path

import numpy as np

import runtime
from benchmarks import RESULTS, firmware, firmware_trace
from benchmarks.firmware import TARGETS
from runtime import cli
from runtime.dataset import load_split
from runtime.errors import ToolkitError
from runtime.files import atomic_path, write_json
from runtime.manifest import MANIFEST, Manifest

MODELS = (("tutorial", "."), ("CNN", "cnn"), ("pruned", "pruned"))  # name, folder under --artifacts
INSTALL = "sudo apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm"


def raw_scores(predictor, images: np.ndarray) -> np.ndarray:
    """The engine's own int8 output for uint8 images (no dequantization), as the firmware prints it."""
    engine = predictor.engine
    return engine.run(predictor.pixels.take(images).reshape(len(images), *engine.input_shape))


def target_row(target, model_source: Path, images: np.ndarray, reference: np.ndarray, out: Path) -> dict:
    """Build for one core, size it from the map file and, on a QEMU board, run it and compare its scores
    with TFLite Micro's (a core without a board: the model's object file, sized by arm-none-eabi-size)."""
    row = {"target": target.name, "label": target.label}
    if target.board is None:
        size = firmware.berkeley_size(firmware.compile_model(target, model_source, out))
        return {**row, "flash_bytes": size["text"] + size["data"]}
    elf, map_file = firmware.build(target, model_source, firmware.write_images(images, out), out)
    sizes = firmware.model_sizes(map_file)
    run = firmware.parse(firmware.run(target, elf), reference.shape[1])
    row.update(
        flash_bytes=sizes["flash"],
        ram_bytes=sizes["ram"] + run.stack,
        stack_bytes=run.stack,
        instructions=round(run.instructions),
        images=len(run.scores),
        identical=int((run.scores == reference[: len(run.scores)]).all(axis=1).sum()),
    )
    if target.cycles:  # the same model object, with one image: one inference traced
        one = out / "trace"
        model_object = out / firmware.MODEL_OBJECT
        traced = firmware_trace.trace(
            target,
            *firmware.link(target, model_source, model_object, firmware.write_images(images[:1], one), one),
        )
        row["trace"] = {
            "instructions": traced.instructions,
            "cycles": traced.cycles,
            "functions": traced.functions,
        }
    return row


def dense_rewrite(graph, build: Path) -> Path | None:
    """For a model stored with sparse weights, the same model written with every weight (to compare)."""
    from export.c_layout import is_sparse
    from export.c_quant import Dense
    from export.c_source import header, source

    if not any(isinstance(layer, Dense) and is_sparse(layer.weights) for layer in graph.layers):
        return None
    code, scratch = source(graph, "the tflite-int8-micro flatbuffer, every weight kept", sparse=False)
    build.mkdir(parents=True, exist_ok=True)
    (build / "fmnist_model.h").write_text(header(graph, scratch))
    (build / "fmnist_model.c").write_text(code)
    return build / "fmnist_model.c"


def measure(name: str, folder: Path, images: np.ndarray, count: int, build: Path) -> list[dict]:
    """One model: its host check on every test image, then every core; a model stored sparse, also
    written dense. (The generator is imported here: a device bundle carries benchmarks/, whose
    conftest reads report_section, but not export/.)"""
    from export.c_graph import read
    from export.c_source import source

    manifest = Manifest(folder / MANIFEST)
    model_source = manifest.artifact("c-int8").verify().path  # and its header and library
    host = raw_scores(runtime.load(folder, "c-int8"), images)
    reference = raw_scores(runtime.load(folder, "tflite-int8-micro"), images)
    micro = manifest.artifact("tflite-int8-micro").verify()
    graph = read(micro.path.read_bytes())  # what c-int8 was generated from
    measured = {
        "model": name,
        "folder": str(folder),
        "macs": sum(layer.macs for layer in graph.layers),
        "scratch_bytes": source(graph, "")[1],
        "accuracy": manifest.artifact("c-int8").figures["accuracy"],
        "host_identical": int((host == reference).all(axis=1).sum()),
        "test_images": len(images),
        "tflite_micro": {"model_bytes": micro.file.bytes, "arena_bytes": micro.facts.get("arena_bytes")},
    }
    dense = dense_rewrite(graph, build / "dense")
    versions = [(name, model_source, build)] + (
        [(f"{name}, written dense", dense, build / "dense")] if dense else []
    )
    return [
        {
            **measured,
            "model": label,
            "sparse": dense is not None and path == model_source,
            "rewritten": path != model_source,
            "targets": [target_row(t, path, images[:count], reference, out / t.name) for t in TARGETS],
        }
        for label, path, out in versions
    ]


def table(report: dict) -> str:
    """The microcontroller table, in Markdown, and what it rests on."""
    lines = [
        "| model | core | flash (model + kernels) | RAM (data + stack) | instructions / inference | "
        "per MAC | est. Cortex-M4 cycles | scores identical to TFLite Micro |",
        "|---|---|--:|--:|--:|--:|--:|---|",
    ]
    notes = []
    for model in report["models"]:
        macs = model["macs"]
        for row in model["targets"]:
            ram = f"{row['ram_bytes']:,} B" if "ram_bytes" in row else "-"
            instructions = f"{row['instructions']:,}" if "instructions" in row else "-"
            per_mac = f"{row['instructions'] / macs:.2f}" if "instructions" in row else "-"
            cycles = f"{row['trace']['cycles']:,}" if "trace" in row else "-"
            same = f"{row['identical']}/{row['images']}" if "identical" in row else "size only"
            lines.append(
                f"| {model['model']} | {row['label']} | {row['flash_bytes'] / 1024:.1f} KiB | {ram} | "
                f"{instructions} | {per_mac} | {cycles} | {same} |"
            )
        micro = model["tflite_micro"]
        if model["rewritten"]:
            continue
        stored = ", weights stored sparse (bitmask)" if model["sparse"] else ""
        notes.append(
            f"- {model['model']}: {macs:,} multiply-accumulates, {model['scratch_bytes']:,} B of scratch, "
            f"accuracy {model['accuracy']:.4f}{stored}; "
            f"on the host {model['host_identical']:,}/{model['test_images']:,} test images identical to "
            f"TFLite Micro, whose model is {micro['model_bytes'] / 1024:.1f} KiB and arena "
            f"{micro['arena_bytes']:,} B (64-bit host)"
        )
    return (
        "\n".join(
            [
                *lines,
                "",
                *notes,
                "",
                "Instructions are counted in QEMU (-icount, SysTick); the cycles are estimated for a "
                f"{firmware_trace.CYCLE_MODEL}, from one traced inference. Estimates, not silicon.",
            ]
        )
        + "\n"
    )


def report_section(folder: Path) -> str:
    """The table `make micro` left in `folder`, as a section of the benchmark report (empty if none)."""
    path = folder / "micro.md"
    if not path.is_file():
        return ""
    return f"\n## Microcontroller (`make micro`, QEMU)\n\n{path.read_text()}"


def main(argv=None) -> int:
    parser = cli.parser("python -m benchmarks.micro", __doc__, cli.ARTIFACTS)
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for micro.json and micro.md")
    parser.add_argument("--build", type=Path, default=Path("build/micro"), help="firmware build folder")
    parser.add_argument(
        "--images", type=cli.positive, default=100, help="test images each firmware classifies (default: 100)"
    )
    return cli.run(micro_cli, parser, argv)


def micro_cli(args) -> int:
    missing = firmware.missing_tools()
    if missing:
        raise ToolkitError(", ".join(missing), f"not found; install them with `{INSTALL}`")
    folders = [(name, args.artifacts / sub) for name, sub in MODELS]
    found = [
        (name, folder)
        for name, folder in folders
        if (folder / MANIFEST).is_file() or folder == args.artifacts
    ]
    images = load_split("test")[0]
    models = [
        m for name, folder in found for m in measure(name, folder, images, args.images, args.build / name)
    ]
    report = {"models": models, "cycle_model": firmware_trace.CYCLE_MODEL}
    write_json(args.out / "micro.json", report)
    with atomic_path(args.out / "micro.md") as tmp:
        tmp.write_text(table(report))
    print(table(report), end="")
    differ = [
        f"{m['model']} on {row['label']}"
        for m in models
        for row in m["targets"]
        if row.get("identical", row.get("images")) != row.get("images")
    ] + [f"{m['model']} on the host" for m in models if m["host_identical"] != m["test_images"]]
    if differ:
        raise ToolkitError(args.out / "micro.md", f"scores differ from TFLite Micro's: {', '.join(differ)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
