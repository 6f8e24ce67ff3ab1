"""An emulated Raspberry Pi 4: a Debian arm64 root under QEMU user-mode emulation, built once per
machine (outside git) and used as a device with its network switched off.

    python -m device.emulated [--cpu cortex-a72] [--engine litert] [--artifacts DIR]   (make device-check)

installs the aarch64 bundle there offline, predicts the sample images, re-checks every variant's
parity (`evaluate`, on ARM) and runs `bench --smoke`; the figures go to
benchmarks/results/devices/emulated-<cpu>/. Needs root, debootstrap, qemu-user-static and the
qemu-aarch64 binfmt_misc handler with the F flag (`make device-tools` sets them up); without them
it says which is missing in one line and is skipped. Two facts learnt on the way: QEMU runs a named
CPU (its default "max" CPU makes numpy's matmul give invalid values), and /sys stays out of the root
(the engines' cpuinfo reads the host's /sys and crashes under emulation; without it, it only warns).
Timings under emulation are not the board's; what counts here is parity and that it runs.
"""

import fcntl
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

from device.board import Bundles, add_folders, run_device
from device.report import host_and_device
from device.wheels import BOTH, ENGINES
from runtime import cli
from runtime.errors import ToolkitError
from runtime.progress import run_counted

CACHE = Path(os.environ.get("FMNIST_EDGE_CACHE", "/var/cache/fmnist-edge"))
SUITE, MIRROR = "bookworm", os.environ.get("DEBIAN_MIRROR", "http://deb.debian.org/debian")
PACKAGES = "python3,python3-venv"  # bookworm's python3 is 3.11
HANDLER = Path("/proc/sys/fs/binfmt_misc/qemu-aarch64")
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
TOOLS = {"debootstrap": "debootstrap", "unshare": "util-linux", "chroot": "coreutils"}


def missing() -> str | None:
    """Why an arm64 root cannot run here, or None when it can."""
    if os.geteuid() != 0:
        return "needs root (debootstrap, chroot, unshare)"
    for tool, package in TOOLS.items():
        if shutil.which(tool) is None:
            return f"needs {tool} (apt-get install {package}; `make device-tools` does it)"
    if not HANDLER.exists():
        return (
            f"no qemu-aarch64 handler in {HANDLER.parent} (apt-get install qemu-user-static; "
            "mount binfmt_misc; update-binfmts --enable qemu-aarch64; `make device-tools` does it)"
        )
    flags = [line for line in HANDLER.read_text().splitlines() if line.startswith("flags:")]
    if not flags or "F" not in flags[0]:
        return f"{HANDLER} lacks the F flag, so QEMU cannot run inside a chroot"
    return None


def qemu_env(cpu: str) -> dict[str, str]:
    """The root's environment; QEMU_CPU reaches every QEMU started by binfmt_misc inside it."""
    return {"QEMU_CPU": cpu, "PATH": PATH, "HOME": "/root", "LANG": "C.UTF-8"}


def build_root(cpu: str, cache: Path = CACHE) -> Path:
    """The cached Debian arm64 root, made with debootstrap the first time (3 to 5 minutes). Its
    second stage mounts /proc and /sys in the root: in a private mount namespace, so they go when
    it ends, even if it fails, and deleting a failed root never reaches the host's. A second
    process waits for the first one's root instead of building beside it."""
    root = cache / f"{SUITE}-arm64"
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / ".complete").exists():
            debootstrap(root, cpu)
    return root


def debootstrap(root: Path, cpu: str) -> None:
    """Both stages into a partial folder, renamed to `root` once complete; removed if one fails."""
    partial = root.with_name(f".partial-{root.name}")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    print(f"building the {SUITE} arm64 root in {root} (once per machine)", flush=True)
    first = [
        "debootstrap",
        "--arch=arm64",
        "--foreign",
        "--variant=minbase",
        f"--include={PACKAGES}",
        SUITE,
        str(partial),
        MIRROR,
    ]
    second = ["unshare", "--mount", "chroot", str(partial), "/debootstrap/debootstrap", "--second-stage"]
    for stage, command in (("first", first), ("second", second)):
        done = run_counted(command, f"arm64 root, {stage} stage", env={**os.environ, **qemu_env(cpu)})
        if done.returncode != 0:
            shutil.rmtree(partial, ignore_errors=True)
            lines = done.stdout.strip().splitlines() or ["no message"]
            raise ToolkitError(root, f"{command[0]} failed: {lines[-1]}")
    (partial / ".complete").touch()
    partial.rename(root)


class EmulatedDevice:
    """The root as a device: each step runs chrooted with no network (unshare --net), /proc
    mounted in a private mount namespace (gone when the step ends) and no /sys."""

    emulated = True

    def __init__(self, root: Path, cpu: str):
        self.root, self.cpu, self.name = root, cpu, f"emulated-{cpu}"

    def run(self, script: str, stdin: Path | None, timeout: float) -> subprocess.CompletedProcess:
        root, script = shlex.quote(str(self.root)), shlex.quote(script)
        inner = f"mount -t proc proc {root}/proc && exec chroot {root} /bin/sh -c {script}"
        command = ["unshare", "--net", "--mount", "--pid", "--fork", "--kill-child", "sh", "-c", inner]
        with open(stdin or os.devnull, "rb") as feed:
            return subprocess.run(
                command, stdin=feed, capture_output=True, timeout=timeout, env=qemu_env(self.cpu)
            )


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser("python -m device.emulated", __doc__, cli.ARTIFACTS)
    parser.add_argument(
        "--arch",
        choices=["aarch64"],
        default="aarch64",
        help="the board's architecture; aarch64 is the one emulated so far",
    )
    parser.add_argument("--cpu", default="cortex-a72", help="QEMU CPU (default: cortex-a72, a Pi 4's)")
    parser.add_argument("--engine", choices=[*ENGINES, BOTH], default="litert", help="default: litert")
    add_folders(parser)
    parser.add_argument("--cache", type=Path, default=CACHE, help=f"root's folder (default: {CACHE})")
    return cli.run(device_check, parser, argv)


def device_check(args) -> int:
    reason = missing()
    if reason:
        print(f"device-check skipped: {reason}", file=sys.stderr)
        return 0
    started = time.monotonic()
    root = build_root(args.cpu, args.cache)
    device = EmulatedDevice(root, args.cpu)
    summary = run_device(
        device, Bundles(args.artifacts, args.dist, args.engine), args.out, ["--smoke"], timeout=1800
    )
    if summary["status"] != "ok":
        raise ToolkitError(device.name, summary["reason"])
    print(
        f"{device.name}: {summary['archive']} ({summary['archive_bytes'] / 1e6:.1f} MB) installed offline "
        f"in {summary['install_seconds']:.0f} s; {summary['installed']}"
    )
    print(host_and_device(args.artifacts, args.out / device.name))
    print(
        f"predict, evaluate and bench --smoke passed on {device.name} in "
        f"{time.monotonic() - started:.0f} s; results in {args.out / device.name}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
