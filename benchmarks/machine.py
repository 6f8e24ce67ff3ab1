"""What the figures were measured on: CPU model, cores, vector extensions, OS, library versions.

The same information pytest-benchmark stores in its JSON, reduced to what explains a latency:
an int8 kernel is fast only with VNNI/dot-product instructions, a float one with AVX2/AVX-512/NEON.
"""

import os
import platform
from datetime import UTC, datetime
from importlib import metadata

import cpuinfo

# Vector extensions that decide which kernels the engines and BLAS pick (x86 and Arm names).
VECTOR_FLAGS = (
    "sse4_2",
    "avx",
    "avx2",
    "fma",
    "f16c",
    "avx512f",
    "avx512bw",
    "avx512vl",
    "avx512_vnni",
    "avx_vnni",
    "avx512_bf16",
    "amx_int8",
    "neon",
    "asimd",
    "asimddp",
    "sve",
    "i8mm",
)
LIBRARIES = (
    "numpy",
    "pillow",
    "ai-edge-litert",
    "onnxruntime",
    "tensorflow-cpu",
    "tensorflow",
    "keras",
    "pytest-benchmark",
)
# Environment variables that change what numpy's BLAS does (see the report's header).
BLAS_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")


def fingerprint() -> dict:
    info = cpuinfo.get_cpu_info()
    flags = set(info.get("flags", []))
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": info.get("brand_raw") or platform.processor() or "unknown CPU",
        "arch": info.get("arch_string_raw", platform.machine()),
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "vector": [f for f in VECTOR_FLAGS if f in flags],
        "os": platform.platform(terse=True),
        "python": platform.python_version(),
        "libraries": versions,
        "blas_env": {k: os.environ[k] for k in BLAS_ENV if k in os.environ},
    }


def header_lines(machine: dict) -> list[str]:
    """Three or four lines naming the machine, for the terminal and the Markdown report."""
    libraries = ", ".join(f"{name} {version}" for name, version in machine["libraries"].items())
    lines = [
        f"{machine['date']}  ·  {machine['cpu']} ({machine['arch']}), {machine['cores']} cores "
        f"({machine['usable_cores']} usable)",
        f"vector extensions: {' '.join(machine['vector']) or 'none detected'}",
        f"{machine['os']}, Python {machine['python']}; {libraries}",
    ]
    if machine["blas_env"]:
        lines.append("numpy BLAS settings: " + " ".join(f"{k}={v}" for k, v in machine["blas_env"].items()))
    return lines
