"""This machine, named one way wherever a figure is shown (the doctor, the benchmark report, the
merged device report): the CPU and the vector and int8 features that decide which kernels the engines
pick, its cores, clock and temperature, the OS, Python, library versions and numpy's BLAS settings.
Standard library only: it runs on a device before anything else is known to work.
"""

import ctypes
import os
import platform
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

# x86 /proc/cpuinfo flags that give float and int8 kernels their speed, by the names people use.
X86_FEATURES = {
    "avx": "AVX",
    "avx2": "AVX2",
    "fma": "FMA",
    "f16c": "F16C",
    "avx512f": "AVX-512",
    "avx512_vnni": "AVX-512 VNNI",
    "avx_vnni": "AVX-VNNI",
    "avx512_bf16": "AVX-512 BF16",
    "amx_int8": "AMX-INT8",
}
# Arm features from the kernel's hwcaps (getauxval AT_HWCAP 16, AT_HWCAP2 26): the emulated CPU
# under QEMU, the real one on a board. asimdhp: float16 arithmetic; dotprod, i8mm: int8 products.
ARM_HWCAP = {
    "asimd": (16, 1 << 1),
    "asimdhp": (16, 1 << 10),
    "dotprod": (16, 1 << 20),
    "sve": (16, 1 << 22),
    "i8mm": (26, 1 << 13),
}
INT8_DOT = {"AVX-512 VNNI", "AVX-VNNI", "AMX-INT8", "dotprod", "i8mm"}  # 4 int8 products per lane at once
# Installed versions worth naming beside a figure; a device has only some of them.
PACKAGES = (
    "numpy",
    "pillow",
    "ai-edge-litert",
    "onnxruntime",
    "tensorflow",
    "tensorflow-cpu",
    "keras",
    "pytest-benchmark",
)
# Environment variables that change what numpy's BLAS does.
BLAS_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")
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


def version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def fingerprint() -> dict:
    """This machine now: what explains a figure measured on it (None where it cannot be read)."""
    arch = platform.machine()
    info = cpuinfo()
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu_name(arch, info),
        "arch": arch,
        "features": features(arch, info),
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)),
        **clock(),
        "python": platform.python_version(),
        "os": platform.platform(terse=True),
        "libraries": {name: version(name) for name in PACKAGES},
        "blas_env": {k: os.environ[k] for k in BLAS_ENV if k in os.environ},
    }


def clock_text(machine: dict) -> str:
    """Governor, clock, temperature and throttling as far as they are known; 'unknown' when none is."""
    parts = [f"governor {machine['governor']}"] if machine["governor"] else []
    mhz, top = machine["mhz"], machine["max_mhz"]
    if mhz or top:
        parts.append(f"{mhz} of {top} MHz" if mhz and top else f"{mhz} MHz" if mhz else f"at most {top} MHz")
    if machine["temperature_c"] is not None:
        parts.append(f"{machine['temperature_c']:.0f} C")
    if machine["throttled"]:
        parts.append(f"throttled {machine['throttled']}")
    return ", ".join(parts) or "unknown"


def describe(machine: dict) -> list[str]:
    """The fingerprint as labelled lines, for the terminal and for Markdown."""
    libraries = ", ".join(f"{name} {v}" for name, v in machine["libraries"].items() if v)
    lines = [
        f"date      {machine['date']}",
        f"cpu       {machine['cpu']} ({machine['arch']}), {machine['cores']} cores "
        f"({machine['usable_cores']} usable)",
        f"features  {' '.join(machine['features']) or 'none of those that speed up float or int8 kernels'}",
        f"clock     {clock_text(machine)}",
        f"software  Python {machine['python']}, {machine['os']}; {libraries}",
    ]
    if machine["blas_env"]:
        lines.append("BLAS      " + " ".join(f"{k}={v}" for k, v in machine["blas_env"].items()))
    return lines
