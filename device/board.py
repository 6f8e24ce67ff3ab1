"""A device, reached one way or another, and the steps every device goes through: probe it, copy a
bundle there, install it offline, run its tools, bring the results back.

A way in (device/emulated.py, device/ssh.py, device/local.py) is one call, `run(script, stdin,
timeout)`: a POSIX sh script run on the device with the archive (or nothing) on its standard input;
every step starts in the home folder. Copying is `tar -x` reading stdin and fetching is `cat`, so
nothing of ours runs on a device but the bundle.

    results/devices/<name>/  benchmark.json, report.md, evaluate.json, predict.jsonl, device.json
"""

import argparse
import json
import shlex
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from benchmarks import DEVICES
from device.bundle import Spec, build
from device.wheels import TARGETS
from runtime.errors import ToolkitError

REMOTE_DIR = "fmnist-edge"  # under the device's home folder
PROBE_SECONDS = 60  # a device that has not answered `uname -m` by then is not going to


class DeviceError(ToolkitError):
    """A device cannot be reached, refuses a step or fails it; `path` is the device's name."""


class Device(Protocol):
    name: str  # the results folder's name
    emulated: bool  # timings there are not the board's

    def run(self, script: str, stdin: Path | None, timeout: float) -> subprocess.CompletedProcess:
        """Run `script` with sh there; the exit status and output are the script's (or the link's)."""
        ...


@dataclass(frozen=True)
class Facts:
    """What decides the bundle: the device's architecture and Python, and its free disk."""

    arch: str
    python: str
    free_mb: int


PROBE = """uname -m
python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || echo none
df -Pm . | awk 'NR == 2 { print $4 }'"""


def last_line(text: bytes | str) -> str:
    text = text.decode(errors="replace") if isinstance(text, bytes) else text
    return ([line.strip() for line in text.splitlines() if line.strip()] or ["no message"])[-1]


def step(device: Device, what: str, script: str, stdin: Path | None = None, timeout: float = 600) -> bytes:
    """Run one step; its output, or DeviceError naming the device, the step and the reason."""
    try:
        done = device.run(f'cd "$HOME" && {script}', stdin, timeout)
    except subprocess.TimeoutExpired:
        raise DeviceError(device.name, f"{what}: no answer within {timeout:g} s") from None
    if done.returncode != 0:
        raise DeviceError(device.name, f"{what}: {last_line(done.stderr or done.stdout)}")
    return done.stdout


def probe(device: Device, timeout: float) -> Facts:
    out = step(device, "probing", PROBE, timeout=timeout).decode().split()
    if len(out) != 3:
        raise DeviceError(device.name, f"probing: unexpected answer {' '.join(out)!r}")
    arch, python, free = out
    if python == "none":
        raise DeviceError(device.name, "has no python3: install it (apt-get install python3 python3-venv)")
    return Facts(arch, python, int(free))


@dataclass
class Session:
    """One bundle on one device: `folder` is where it was unpacked there."""

    device: Device
    bundle: str  # the archive's folder name, e.g. fmnist-edge-linux-aarch64-litert

    @property
    def folder(self) -> str:
        return f"{REMOTE_DIR}/{self.bundle}"

    def copy(self, archive: Path, facts: Facts, timeout: float) -> None:
        """Unpack the archive there (its unpacked size is about the archive's)."""
        needed = 2 * archive.stat().st_size // 1_000_000 + 1
        if facts.free_mb < needed:
            raise DeviceError(
                self.device.name,
                f"has {facts.free_mb} MB free in its home folder; the bundle needs {needed} MB to unpack",
            )
        step(
            self.device,
            "copying the bundle",
            f"mkdir -p {REMOTE_DIR} && rm -rf {shlex.quote(self.folder)} && tar -xzf - -C {REMOTE_DIR}",
            stdin=archive,
            timeout=timeout,
        )

    def install(self, timeout: float) -> tuple[float, str]:
        """install.sh there: the seconds it took and its last line (the venv's size)."""
        started = time.monotonic()
        out = step(self.device, "installing", f"sh {shlex.quote(self.folder)}/install.sh", timeout=timeout)
        return time.monotonic() - started, last_line(out)

    def tool(self, *args: str, timeout: float = 600) -> bytes:
        """`bin/fmnist-edge ARGS` there; its standard output."""
        command = " ".join(shlex.quote(a) for a in (f"{self.folder}/bin/fmnist-edge", *args))
        return step(self.device, f"fmnist-edge {args[0]}", command, timeout=timeout)

    def fetch(self, relative: str, timeout: float = 60) -> bytes:
        return step(
            self.device,
            f"fetching {relative}",
            f"cat {shlex.quote(self.folder + '/' + relative)}",
            timeout=timeout,
        )


def check(
    session: Session, archive: Path, facts: Facts, out: Path, bench_args: list[str], timeout: float = 1800
) -> dict:
    """Copy, install, predict the sample images, evaluate, doctor and bench on the device; write
    what came back to out/<device name>/ (swapped in whole) and return its device.json."""
    device = session.device
    session.copy(archive, facts, timeout)
    seconds, installed = session.install(timeout)
    files = {
        "predict.jsonl": session.tool("predict", f"{session.folder}/images", "--json", timeout=timeout),
        "evaluate.json": session.tool("evaluate", "--json", timeout=timeout),
        "doctor.json": session.tool("doctor", "--json", timeout=timeout),
    }
    session.tool("bench", *bench_args, timeout=timeout)
    for name in ("benchmark.json", "report.md"):
        files[name] = session.fetch(f"results/{name}")
    summary = {
        "name": device.name,
        "emulated": device.emulated,
        "status": "ok",
        "archive": archive.name,
        "archive_bytes": archive.stat().st_size,
        "install_seconds": round(seconds, 1),
        "installed": installed,
        "python": facts.python,
        "arch": facts.arch,
    }
    files["device.json"] = (json.dumps(summary, indent=2) + "\n").encode()
    publish(out / device.name, files)
    return summary


def publish(folder: Path, files: dict[str, bytes]) -> None:
    """Write `files` into a fresh folder beside `folder`, then swap it in: never half a result."""
    partial = folder.with_name(f".tmp-{folder.name}")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    for name, data in files.items():
        (partial / name).write_bytes(data)
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)


def failed(out: Path, name: str, reason: str, emulated: bool = False) -> dict:
    """A device that failed is a row with its reason: out/<name>/device.json says so."""
    summary = {"name": name, "emulated": emulated, "status": "error", "reason": reason}
    publish(out / name, {"device.json": (json.dumps(summary, indent=2) + "\n").encode()})
    return summary


class Bundles:
    """Archives built on demand, once per (target, engine, Python), for devices probed in parallel."""

    def __init__(self, artifacts: Path, dist: Path, engine: str):
        self.artifacts, self.dist, self.engine = artifacts, dist, engine
        self.lock, self.built = threading.Lock(), {}

    def for_device(self, name: str, facts: Facts) -> Path:
        target = TARGETS.get(f"linux-{facts.arch}")
        if target is None:
            raise DeviceError(name, f"is {facts.arch}: no bundle target for it (only {', '.join(TARGETS)})")
        spec = Spec(target, self.engine, facts.python)
        with self.lock:
            if spec not in self.built:
                self.built[spec] = build(spec, self.artifacts, self.dist)
        return self.built[spec]


def run_device(device: Device, bundles: Bundles, out: Path, bench_args: list[str], timeout: float) -> dict:
    """Probe, bundle, check: the device's device.json, or its row with the reason it failed."""
    try:
        facts = probe(device, min(PROBE_SECONDS, timeout))
        archive = bundles.for_device(device.name, facts)
        return check(
            Session(device, archive.name.removesuffix(".tar.gz")), archive, facts, out, bench_args, timeout
        )
    except ToolkitError as e:  # the row names the device; the reason names anything else
        return failed(out, device.name, e.reason if e.path == device.name else str(e), device.emulated)


def add_folders(parser: argparse.ArgumentParser) -> None:
    """The options every way in to a device shares besides --artifacts: where archives are built,
    and where results come back."""
    parser.add_argument(
        "--dist", type=Path, default=Path("dist"), help="folder for the archives (default: dist)"
    )
    parser.add_argument(
        "--out", type=Path, default=DEVICES, help="results folder (default: benchmarks/results/devices)"
    )
