"""Every device side by side: what `make bench-device` and `make device-check` brought back to
benchmarks/results/devices/<name>/, merged into one comparison (variant x device), with each
device's fingerprint and a row with its reason for each device that failed.

    python -m device.report [--devices benchmarks/results/devices] [--host benchmarks/results]   (make report)

writes report.md and report.png in the devices folder and prints the Markdown. The host's own
`make bench` run (benchmarks/results/benchmark.json) is a column too when it exists.
"""

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks import DEVICES, RESULTS
from benchmarks.table import DASH, fixed, rate, seconds, size
from runtime import cli
from runtime.errors import ToolkitError
from runtime.files import atomic_path
from runtime.machine import clock_text
from runtime.manifest import MANIFEST, Manifest
from runtime.parity import shown

HOST = "this host"


def read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def benchmark(path: Path) -> tuple[dict | None, str | None]:
    """The report in a benchmark.json, or why it has none this report can show (named from its
    device's folder: the report is committed and read elsewhere)."""
    bench, name = (read_json(path) or {}).get("fmnist_edge"), f"{path.parent.name}/{path.name}"
    if bench is None:
        return None, f"{name}: missing or damaged"
    if "features" not in bench["machine"]:
        return None, f"{name}: from an older fmnist-edge (CPU features named otherwise); run it again"
    return bench, None


def load_devices(folder: Path, host_results: Path | None) -> list[dict]:
    """Each device: device.json, plus its benchmark report and evaluate output when it ran."""
    found = []
    if host_results and (host_results / "benchmark.json").is_file():
        bench, reason = benchmark(host_results / "benchmark.json")
        found.append(
            {"name": HOST, "emulated": False, "status": "error" if reason else "ok", "reason": reason}
        )
        found[-1]["bench"] = bench
    for summary in sorted(folder.glob("*/device.json")):
        device = read_json(summary) or {
            "name": summary.parent.name,
            "status": "error",
            "reason": f"{summary}: unreadable",
        }
        if device.get("status") == "ok":
            device["bench"], reason = benchmark(summary.parent / "benchmark.json")
            device["evaluate"] = read_json(summary.parent / "evaluate.json")
            if reason:
                device.update(status="error", reason=reason)
        found.append(device)
    return found


def fingerprint(device: dict) -> list[str]:
    """name, status, CPU and features, arch, cores, clock, OS and Python, engines, emulated, install:
    from the fingerprint its benchmark run took (runtime/machine.py, the doctor's too)."""
    if device["status"] != "ok":
        return [device["name"], f"failed: {device['reason']}"] + [""] * 8
    machine = device["bench"]["machine"]
    libraries = machine["libraries"]
    names = ("ai-edge-litert", "onnxruntime", "onnxruntime-web")
    engines = ", ".join(f"{n} {libraries[n]}" for n in names if libraries.get(n))
    install = f"{device['install_seconds']:.0f} s" if "install_seconds" in device else DASH
    cold = next((r for r in device["bench"]["cold_start"] if r["process"] == "predict-cli"), {})
    return [
        device["name"],
        "ok",
        f"{machine['cpu']}: {' '.join(machine['features']) or DASH}",
        machine["arch"],
        str(machine["usable_cores"]),
        clock_text(machine),
        f"{machine['os']}, Python {machine['python']}",
        engines or DASH,
        "yes" if device["emulated"] else "no",
        f"{install}; cold start {seconds(cold.get('p50'))}",
    ]


def device_accuracy(device: dict, variant: str) -> float | None:
    """Accuracy as evaluate measured it on the device (the host's: as the export gate measured it);
    None also where the gate's images had no labels of the model's classes (no accuracy)."""
    rows = {r["variant"]: r for r in (device.get("evaluate") or {}).get("variants", [])}
    if device["name"] == HOST:
        rows = {r["variant"]: r for r in device["bench"]["rows"]}
    value = rows.get(variant, {}).get("accuracy")
    return value if isinstance(value, float | int) else None


@dataclass(frozen=True)
class Metric:
    title: str  # the Markdown table's
    axis: str  # the chart's
    figure: Callable[[dict, dict], float | None]  # of a device and one of its benchmark rows
    show: Callable  # how a cell shows it
    log: bool  # a log scale in the chart


METRICS = (
    Metric("b1 p50 (one image, 1 thread)", "b1 p50, seconds", lambda d, r: r["b1_p50"], seconds, True),
    Metric(
        "best img/s (batch 32 or 1,024, every core)", "best img/s", lambda d, r: r["best_ips"], rate, True
    ),
    Metric(
        "accuracy re-checked on the device (evaluate, the gate's images)",
        "accuracy on the device",
        lambda d, r: device_accuracy(d, r["variant"]),
        fixed,
        False,
    ),
    Metric(
        "peak RSS (load and predict one image)", "peak RSS, bytes", lambda d, r: r["peak_bytes"], size, False
    ),
    Metric(
        "load to first result, in a running process (manifest, checksum, engine, one image)",
        "load to first result, seconds",
        lambda d, r: r["load_p50"],
        seconds,
        True,
    ),
)


def measured(devices: list[dict]) -> tuple[list[dict], list[str]]:
    """The devices that ran, and every variant measured on at least one of them."""
    ran = [d for d in devices if d["status"] == "ok"]
    rows = [r for d in ran for r in d["bench"]["rows"] if r["status"] == "ok"]
    return ran, list(dict.fromkeys(r["variant"] for r in rows))


def value(metric: Metric, device: dict, variant: str) -> float | None:
    row = next((r for r in device["bench"]["rows"] if r["variant"] == variant), None)
    return metric.figure(device, row) if row and row["status"] == "ok" else None


def label(device: dict) -> str:
    return device["name"] + (" (emulated)" if device["emulated"] else "")


def value_table(devices: list[dict], metric: Metric) -> list[str]:
    ran, variants = measured(devices)
    lines = ["| variant | " + " | ".join(map(label, ran)) + " |", "|:--|" + "--:|" * len(ran)]
    for variant in variants:
        cells = [metric.show(value(metric, device, variant)) for device in ran]
        lines.append(f"| {variant} | " + " | ".join(cells) + " |")
    return lines


def markdown(devices: list[dict]) -> str:
    lines = [
        "# fmnist-edge on every device",
        "",
        "| device | status | CPU: features | arch | cores | clock | OS | "
        "engines | emulated | install; predict CLI cold start |",
        "|:--|" + ":--|" * 9,
    ]
    lines += ["| " + " | ".join(fingerprint(d)) + " |" for d in devices]
    for metric in METRICS:
        lines += ["", f"**{metric.title}**", ""] + value_table(devices, metric)
    lines += [
        "",
        "Emulated devices run under QEMU user-mode emulation: their timings are not the board's; "
        "their accuracy (parity) and that everything ran are what they prove.",
    ]
    return "\n".join(lines) + "\n"


def chart(devices: list[dict], path: Path) -> None:
    """Every metric in a panel, a bar per device for each variant."""
    import matplotlib  # here: device-check prints the evaluate table of this module without it

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ran, variants = measured(devices)
    figure, axes = plt.subplots(
        1, len(METRICS), figsize=(4.5 * len(METRICS), 1.5 + 0.45 * len(variants) * max(1, len(ran)) ** 0.5)
    )
    height = 0.8 / max(1, len(ran))
    for panel, metric in zip(axes, METRICS, strict=True):
        for i, device in enumerate(ran):
            values = [value(metric, device, v) or 0 for v in variants]
            panel.barh([j + i * height for j in range(len(variants))], values, height, label=label(device))
        if metric.log:
            panel.set_xscale("log")
        panel.set_yticks([j + height * (len(ran) - 1) / 2 for j in range(len(variants))], variants)
        panel.invert_yaxis()
        panel.set_xlabel(metric.axis)
    axes[0].legend(fontsize=8)
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=100)
    plt.close(figure)


def host_and_device(artifacts: Path, folder: Path) -> str:
    """evaluate's figures on the device next to the export's on this host, a line per variant."""
    manifest = Manifest(artifacts / MANIFEST)
    device = read_json(folder / "evaluate.json") or {"variants": []}
    lines = [
        f"{'variant':<16}{'host accuracy':>14}{'device':>9}{'host agreement':>16}{'device':>9}"
        f"{'host max_abs_diff':>19}{'device':>10}"
    ]
    for row in device["variants"]:
        host = manifest.find(row["variant"]).figures
        lines.append(
            f"{row['variant']:<16}{shown(host['accuracy']):>14}{shown(row['accuracy']):>9}"
            f"{host['agreement']:>16.4f}{row['agreement']:>9.4f}"
            f"{host['max_abs_diff']:>19.2e}{row['max_abs_diff']:>10.2e}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser("python -m device.report", __doc__)
    parser.add_argument("--devices", type=Path, default=DEVICES, help="folder of device results")
    parser.add_argument(
        "--host",
        type=Path,
        default=RESULTS,
        help="folder of this host's `make bench` results (default: benchmarks/results)",
    )
    return cli.run(report, parser, argv)


def report(args) -> int:
    if not args.devices.is_dir():
        raise ToolkitError(
            args.devices, "no such folder; run `make device-check` or `make bench-device` first"
        )
    devices = load_devices(args.devices, args.host)
    if not devices:
        raise ToolkitError(args.devices, "no device results; run `make device-check` or `make bench-device`")
    text = markdown(devices)
    with atomic_path(args.devices / "report.md") as tmp:
        tmp.write_text(text)
    chart(devices, args.devices / "report.png")
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
