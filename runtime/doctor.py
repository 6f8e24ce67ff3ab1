"""This machine as the models see it: the CPU and the features that decide int8 speed, its cores,
clock and governor, the engines installed, and which variant to run here, from a two-second
measurement. numpy and the standard library only; an engine is imported when its variant is timed.

    python -m runtime.doctor [--artifacts artifacts] [--seconds 2] [--json]     (fmnist-edge doctor)
"""

import argparse
import ctypes
import importlib.util
import json
import os
import platform
import sys
import time
from importlib import metadata
from pathlib import Path

import numpy as np

from runtime.choice import RULE, choose
from runtime.errors import ToolkitError
from runtime.loader import load
from runtime.manifest import MANIFEST, Manifest

# x86 /proc/cpuinfo flags that give int8 (and float) kernels their speed, and what each means.
X86_FEATURES = {
    "avx2": "AVX2",
    "fma": "FMA",
    "avx512f": "AVX-512",
    "avx512_vnni": "AVX-512 VNNI",
    "avx_vnni": "AVX-VNNI",
    "amx_int8": "AMX-INT8",
}
# Arm features from the kernel's hwcaps (getauxval): the emulated CPU under QEMU, the real one on a board.
ARM_HWCAP = {"asimd": (16, 1 << 1), "dotprod": (16, 1 << 20), "sve": (16, 1 << 22), "i8mm": (26, 1 << 13)}
INT8_DOT = {"AVX-512 VNNI", "AVX-VNNI", "AMX-INT8", "dotprod", "i8mm"}  # 4 int8 products per lane at once
PACKAGES = ("numpy", "pillow", "ai-edge-litert", "onnxruntime")
CPU_SYS = Path("/sys/devices/system/cpu/cpu0/cpufreq")
# Arm cores by the 'CPU part' of /proc/cpuinfo (implementer 0x41, Arm Ltd.): the ones on common boards.
ARM_PARTS = {
    "0xd03": "Cortex-A53",
    "0xd04": "Cortex-A35",
    "0xd05": "Cortex-A55",
    "0xd07": "Cortex-A57",
    "0xd08": "Cortex-A72",
    "0xd09": "Cortex-A73",
    "0xd0a": "Cortex-A75",
    "0xd0b": "Cortex-A76",
    "0xd0c": "Neoverse-N1",
    "0xd0d": "Cortex-A77",
    "0xd40": "Neoverse-V1",
    "0xd41": "Cortex-A78",
    "0xd46": "Cortex-A510",
    "0xd47": "Cortex-A710",
    "0xd49": "Neoverse-N2",
}
BATCH = 256  # throughput batch


def read(path: Path | str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def cpuinfo() -> dict[str, str]:
    """/proc/cpuinfo's fields, the first processor's where each has its own (x86: 'model name',
    'flags'; Arm: 'CPU part'; a Raspberry Pi adds 'Model' at the end)."""
    fields = {}
    for line in (read("/proc/cpuinfo") or "").splitlines():
        key, _, value = line.partition(":")
        if value:
            fields.setdefault(key.strip(), value.strip())
    return fields


def cpu_name(arch: str, info: dict[str, str]) -> str:
    """x86: its model name. Arm: the board (Raspberry Pis say) and the core. Under QEMU user-mode
    emulation /proc/cpuinfo is the host's, so the CPU QEMU was told to be is named instead."""
    if arch != "aarch64":
        return info.get("model name") or "unknown"
    if "CPU part" not in info:
        emulated = os.environ.get("QEMU_CPU")
        return f"{emulated} (emulated by QEMU)" if emulated else "unknown Arm CPU"
    core = ARM_PARTS.get(info["CPU part"], f"Arm part {info['CPU part']}")
    return f"{info['Model']}, {core}" if "Model" in info else core


def features(arch: str, info: dict[str, str]) -> list[str]:
    if arch in ("x86_64", "i686"):
        flags = set(info.get("flags", "").split())
        return [name for flag, name in X86_FEATURES.items() if flag in flags]
    if arch == "aarch64":
        getauxval = ctypes.CDLL(None).getauxval
        getauxval.restype = ctypes.c_ulong
        return [name for name, (kind, bit) in ARM_HWCAP.items() if getauxval(kind) & bit]
    return []


def clock() -> dict:
    """Governor and frequencies (MHz), temperature (deg C) and throttling, where /sys shows them."""
    found = {"governor": read(CPU_SYS / "scaling_governor")}
    for key, name in (("mhz", "scaling_cur_freq"), ("max_mhz", "cpuinfo_max_freq")):
        khz = read(CPU_SYS / name)
        found[key] = int(khz) // 1000 if khz and khz.isdigit() else None
    milli = read("/sys/class/thermal/thermal_zone0/temp")
    found["temperature_c"] = int(milli) / 1000 if milli and milli.lstrip("-").isdigit() else None
    found["throttled"] = read("/sys/devices/platform/soc/soc:firmware/get_throttled")  # Raspberry Pi
    return found


def machine() -> dict:
    arch = platform.machine()
    info = cpuinfo()
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "cpu": cpu_name(arch, info),
        "arch": arch,
        "features": features(arch, info),
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)),
        **clock(),
        "python": platform.python_version(),
        "os": platform.platform(terse=True),
        "libraries": versions,
    }


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
    one = np.zeros((1, 28, 28), np.uint8)
    many = np.random.default_rng(0).integers(0, 256, (BATCH, 28, 28), np.uint8)
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
    m = report["machine"]
    lines = [
        f"cpu       {m['cpu']} ({m['arch']}), {m['cores']} cores ({m['usable_cores']} usable)",
        f"features  {' '.join(m['features']) or 'none of those that speed up int8'}",
        f"clock     governor {m['governor'] or '-'}, {m['mhz'] or '-'} of {m['max_mhz'] or '-'} MHz, "
        f"temperature {m['temperature_c'] if m['temperature_c'] is not None else '-'} C"
        + (f", throttled {m['throttled']}" if m["throttled"] else ""),
        f"software  Python {m['python']}, {m['os']}; "
        + ", ".join(f"{k} {v}" for k, v in m["libraries"].items() if v),
    ]
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
    parser = argparse.ArgumentParser(prog="python -m runtime.doctor", description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", type=Path, default=Path("artifacts"), help="folder of manifest.json")
    parser.add_argument("--seconds", type=float, default=2.0, help="measurement time in all (default: 2)")
    parser.add_argument("--json", action="store_true", help="one JSON object")
    args = parser.parse_args(argv)
    try:
        found = machine()
        rows = measure(args.artifacts, args.seconds)
    except ToolkitError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    report = {"machine": found, "variants": rows, "recommend": recommend(rows, found["features"])}
    print(json.dumps(report, indent=2) if args.json else text(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
