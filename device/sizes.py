"""What a bundle costs a device, per target and engine: the archive, the folder once installed
(venv included), the venv alone, and how long the offline install took. Each archive is installed
on this host when it is for this host's platform, and on the emulated board (device/emulated.py)
when it is for aarch64 and the board can run here; otherwise only the archive is measured.

    python -m device.sizes [--artifacts artifacts]     (make bundle-sizes)

Prints a Markdown table (README's "On a device" figures come from it).
"""

import sys
import tempfile
from pathlib import Path

from device.board import Session, probe, step
from device.bundle import Spec, build
from device.emulated import CACHE, EmulatedDevice, build_root, missing
from device.local import LocalDevice
from device.wheels import BOTH, ENGINES, HOST_TARGET, TARGETS
from runtime import cli

ROOT = Path(__file__).resolve().parents[1]
CPU = "cortex-a72"


def devices(home: Path) -> dict:
    """A device per target that can install here: this host, and the emulated board."""
    found = {HOST_TARGET: LocalDevice(home)}
    if HOST_TARGET != "linux-aarch64" and missing() is None:
        found["linux-aarch64"] = EmulatedDevice(build_root(CPU, CACHE), CPU)
    return found


def installed(device, archive: Path) -> list[str]:
    """Install `archive` on `device`: [folder MB, venv MB, seconds]."""
    session = Session(device, archive.name.removesuffix(".tar.gz"))
    session.copy(archive, probe(device, 60), timeout=900)
    seconds, _ = session.install(timeout=1800)
    folder = session.folder
    sizes = step(device, "measuring", f"du -sm {folder} && du -sm {folder}/.venv", timeout=120)
    folder_mb, venv_mb = (line.split()[0] for line in sizes.decode().splitlines())
    step(device, "cleaning up", f"rm -rf {folder}", timeout=120)
    return [folder_mb, venv_mb, f"{seconds:.0f}"]


def main(argv: list[str] | None = None) -> int:
    return cli.run(sizes, cli.parser("python -m device.sizes", __doc__, cli.ARTIFACTS), argv)


def sizes(args) -> int:
    print("| target | engine | archive MB | installed MB (venv MB) | offline install s | installed on |")
    print("|:--|:--|--:|--:|--:|:--|")
    with tempfile.TemporaryDirectory() as tmp:
        reachable = devices(Path(tmp))
        for target in TARGETS:
            for engine in [*ENGINES, BOTH]:
                archive = build(Spec(TARGETS[target], engine), args.artifacts, Path(tmp) / "dist")
                device = reachable.get(target)
                folder_mb, venv_mb, seconds = installed(device, archive) if device else ["–"] * 3
                where = device.name if device else "–"
                print(
                    f"| {target} | {engine} | {archive.stat().st_size / 1e6:.1f} | {folder_mb} ({venv_mb}) "
                    f"| {seconds} | {where} |",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
