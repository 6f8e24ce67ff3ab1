"""Which wheels a bundle carries: the runtime's pinned packages for one platform, one Python and
one or both engines, fetched on the host with `pip download --only-binary=:all: --platform ...` so
the device installs them with no network.

Versions are those installed here (the pyproject pins and everything they pulled in), given to pip
as constraints, so a device runs what the host tested.
"""

import platform
import re
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

from runtime.errors import ToolkitError
from runtime.progress import run_counted
from runtime.variants import FORMATS, Variant

ROOT = Path(__file__).resolve().parents[1]
BENCHMARK_TOOLS = ("pytest", "pytest-benchmark")  # `fmnist-edge bench` on the device


@dataclass(frozen=True)
class Target:
    name: str  # what `make bundle TARGET=` takes
    arch: str  # what `uname -m` says on such a device
    platforms: tuple[str, ...]  # pip --platform tags, newest first (glibc 2.17 and later)
    devices: str  # what such a device is, for BUNDLE.md
    login: str  # an example `scp` destination on one


def linux(arch: str, devices: str, login: str) -> Target:
    return Target(
        f"linux-{arch}",
        arch,
        tuple(f"manylinux_2_{v}_{arch}" for v in (28, 27, 17)) + (f"manylinux2014_{arch}",),
        devices,
        login,
    )


TARGETS = {
    t.name: t
    for t in (
        linux(
            "aarch64",
            'the 64-bit Raspberry Pi OS or Debian 12 "bookworm", whose python3 is 3.11, '
            "on a Raspberry Pi 4 or 5",
            "pi@raspberrypi.local",
        ),
        linux(
            "x86_64",
            'Debian 12 "bookworm" or Ubuntu 22.04 and later on a PC, a server or an x86-64 board',
            "user@device.local",
        ),
    )
}
HOST_TARGET = f"linux-{platform.machine()}"
HOST_PYTHON = "{}.{}".format(*sys.version_info[:2])  # the Python the bundle was tested with here


# What `make bundle ENGINE=` takes, and the pip package it ships: from the format registry.
ENGINES = {f.bundle: f.package for f in FORMATS.values() if f.bundle}
BOTH = "both"


def engines(choice: str) -> list[str]:
    """ENGINE=litert|onnxruntime|both as the pip packages to ship."""
    return list(ENGINES.values()) if choice == BOTH else [ENGINES[choice]]


def bundled(variant: Variant, packages: list[str]) -> bool:
    """Whether a bundle shipping these engine packages carries `variant`."""
    return variant.format.bundle is not None and variant.format.package in packages


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def group_names(group: str, groups: dict) -> list[str]:
    """Requirement names in a pyproject dependency group, following {include-group = ...}."""
    names = []
    for item in groups[group]:
        if isinstance(item, dict):
            names += group_names(item["include-group"], groups)
        else:
            names.append(Requirement(item).name)
    return names


def pinned(roots: list[str]) -> list[str]:
    """`name==version` for `roots` and everything they require here, from installed metadata."""
    found, todo = {}, list(roots)
    while todo:
        name = normalise(todo.pop())
        if name in found:
            continue
        dist = metadata.distribution(name)
        found[name] = f"{dist.metadata['Name']}=={dist.version}"
        for text in dist.requires or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return [found[name] for name in sorted(found)]


def roots(chosen: list[str]) -> list[str]:
    """The top-level packages: the pyproject runtime group without the engines left out, and the
    benchmark tools from the dev group."""
    groups = tomllib.loads((ROOT / "pyproject.toml").read_text())["dependency-groups"]
    left_out = {normalise(p) for p in ENGINES.values()} - {normalise(p) for p in chosen}
    runtime = [n for n in group_names("runtime", groups) if normalise(n) not in left_out]
    return runtime + [n for n in group_names("dev", groups) if normalise(n) in BENCHMARK_TOOLS]


def download(target: Target, chosen: list[str], python: str, dest: Path) -> list[Path]:
    """Fetch every wheel the device needs into `dest`; ToolkitError names what pip could not find."""
    names = roots(chosen)
    with tempfile.TemporaryDirectory() as tmp:
        constraints = Path(tmp, "constraints.txt")
        constraints.write_text("\n".join(pinned(names)) + "\n")
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--disable-pip-version-check",
            "--only-binary=:all:",
            "--python-version",
            python,
            "--implementation",
            "cp",
            "--abi",
            f"cp{python.replace('.', '')}",
            "--dest",
            str(dest),
            "-c",
            str(constraints),
            *(f"--platform={p}" for p in target.platforms),
            *names,
        ]
        run = run_counted(command, f"wheels for {target.name}")
    if run.returncode != 0:
        errors = [line for line in run.stdout.splitlines() if line.startswith("ERROR")] or ["pip failed"]
        raise ToolkitError(f"pip download for {target.name}, Python {python}", errors[0])
    return sorted(dest.glob("*.whl"))
