"""One offline archive per platform, to copy to a device (a Raspberry Pi, an x86 gateway) and run
there without TensorFlow or a network:

    python -m device.bundle [--target linux-aarch64] [--engine litert|onnxruntime|both] [--python 3.11]
                            [--artifacts artifacts] [--out dist]          (make bundle TARGET=... ENGINE=...)

writes dist/fmnist-edge-<target>[-<engine>].tar.gz: one folder with the runtime, the benchmarks, the
variants that engine runs (manifest, models, reference outputs), the images evaluate re-checks them
on (the gate's images and labels of `export --data`, or the Fashion-MNIST test files), a sample PNG
per class, `wheels/` (every pinned runtime wheel for that platform and Python), `install.sh` (a
venv from those wheels, no network) and `bin/fmnist-edge` (predict, evaluate, bench, doctor from any
folder). BUNDLE.md inside says what to type on the device.
"""

import io
import json
import math
import sys
import tarfile
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from device.wheels import (
    BOTH,
    ENGINES,
    HOST_PYTHON,
    HOST_TARGET,
    TARGETS,
    Target,
    bundled,
    download,
    engines,
)
from runtime import cli
from runtime.dataset import data_dir, split_files
from runtime.errors import ToolkitError
from runtime.files import atomic_path, sha256_file
from runtime.manifest import MANIFEST, Artifact, Manifest
from runtime.parity import TestSet
from runtime.testset import gate_file, read_test_set

ROOT = Path(__file__).resolve().parents[1]
FILES = Path(__file__).with_name("files")  # install.sh, bin/fmnist-edge and BUNDLE.md as shipped
HOST_ONLY = {"train_speed.py"}  # needs TensorFlow
VENV_MB = 30  # python3 -m venv with its pip, before any wheel
UNPACKED_PER_ZIPPED = 1.3  # installed files and their .pyc beside what the wheels hold


@dataclass(frozen=True)
class Spec:
    """What to build: for which platform, which engine(s) and which Python."""

    target: Target
    engine: str = BOTH
    python: str = HOST_PYTHON

    @property
    def name(self) -> str:
        """fmnist-edge-<target>[-<engine>][-py<version>]: the engine when not both, the Python
        when not this host's."""
        return (
            f"fmnist-edge-{self.target.name}"
            + ("" if self.engine == BOTH else f"-{self.engine}")
            + ("" if self.python == HOST_PYTHON else f"-py{self.python}")
        )


def sources() -> list[Path]:
    """The runtime (with its subpackages), the benchmarks that run without TensorFlow, and the pytest
    configuration."""
    files = sorted((ROOT / "runtime").rglob("*.py")) + sorted(
        p for p in (ROOT / "benchmarks").glob("*.py") if p.name not in HOST_ONLY
    )
    return files + [ROOT / "conftest.py", ROOT / "pyproject.toml"]


def sample_pngs(test: TestSet) -> list[tuple[str, bytes]]:
    """The first gate image of each class, as PNG files named by their class (without labels of the
    model's classes, the first ten, named by their place)."""
    if test.labels is None:
        picks = [(f"images/image-{i}.png", i) for i in range(min(10, len(test.images)))]
    else:
        picks = [
            (f"images/class-{label}.png", int(np.argmax(test.labels == label)))
            for label in np.unique(test.labels)
        ]
    found = []
    for name, index in picks:
        buffer = io.BytesIO()
        Image.fromarray(test.images[index]).save(buffer, format="PNG")
        found.append((name, buffer.getvalue()))
    return found


def chosen_artifacts(manifest: Manifest, spec: Spec) -> list[Artifact]:
    """The manifest's artifacts that the bundle's engine(s) run; refuses a manifest with none."""
    packages = engines(spec.engine)
    chosen = [a for a in manifest.artifacts if bundled(a.variant, packages)]
    if not chosen:
        raise ToolkitError(manifest.path, f"has no variant that {spec.engine} runs; re-run `make export`")
    return chosen


def needed_mb(wheels: list[Path]) -> int:
    """Disk the install takes: the wheels' unpacked contents, their bytecode and the venv itself."""
    unpacked = 0
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as contents:
            unpacked += sum(info.file_size for info in contents.infolist())
    return math.ceil(unpacked * UNPACKED_PER_ZIPPED / 1e6) + VENV_MB


def wheel_pin(wheel: Path) -> str:
    """`name==version` from a wheel's file name (name-version-python-abi-platform.whl)."""
    name, version = wheel.name.split("-")[:2]
    return f"{name}=={version}"


class Writer:
    """Adds files under the bundle's folder to an open tar archive."""

    def __init__(self, tar: tarfile.TarFile, folder: str):
        self.tar, self.folder = tar, folder

    def file(self, path: Path, name: str) -> None:
        self.tar.add(path, f"{self.folder}/{name}")

    def text(self, name: str, data: str | bytes, mode: int = 0o644) -> None:
        data = data.encode() if isinstance(data, str) else data
        info = tarfile.TarInfo(f"{self.folder}/{name}")
        info.size, info.mtime, info.mode = len(data), int(time.time()), mode
        self.tar.addfile(info, io.BytesIO(data))


def write_models(put: Writer, manifest: Manifest, artifacts: list[Artifact]) -> None:
    """The manifest cut down to `artifacts`, their files, the reference outputs and the gate's images."""
    put.text(f"artifacts/{MANIFEST}", json.dumps(manifest.subset(artifacts), indent=2) + "\n")
    gate = gate_file(manifest)
    kept = [gate.path] if gate else []
    for path in [f for a in artifacts for f in a.verify().files] + [manifest.reference(), *kept]:
        put.file(path, f"artifacts/{path.relative_to(manifest.folder)}")


def write_install(put: Writer, spec: Spec, wheels: list[Path], artifacts: list[Artifact]) -> None:
    """wheels/ with their checksums, requirements.txt, bundle.env, install.sh, bin/ and BUNDLE.md."""
    for wheel in wheels:
        put.file(wheel, f"wheels/{wheel.name}")
    put.text("wheels/SHA256SUMS", "".join(f"{sha256_file(w)}  {w.name}\n" for w in wheels))
    put.text("requirements.txt", "".join(f"{wheel_pin(w)}\n" for w in wheels))
    put.text(
        "bundle.env",
        f"BUNDLE_ARCH={spec.target.arch}\nBUNDLE_PYTHON={spec.python}\nBUNDLE_NEEDS_MB={needed_mb(wheels)}\n",
    )
    put.text("install.sh", (FILES / "install.sh").read_bytes(), 0o755)
    put.text("bin/fmnist-edge", (FILES / "fmnist-edge").read_bytes(), 0o755)
    put.text(
        "BUNDLE.md",
        (FILES / "BUNDLE.md")
        .read_text()
        .format(
            name=spec.name,
            arch=spec.target.arch,
            devices=spec.target.devices,
            login=spec.target.login,
            python=spec.python,
            engine=spec.engine,
            variants=", ".join(a.variant.name for a in artifacts),
            built=time.strftime("%Y-%m-%d"),
        ),
    )


def build(spec: Spec, artifacts: Path, out: Path) -> Path:
    """Write out/<spec.name>.tar.gz atomically; ToolkitError when artifacts or wheels are missing."""
    manifest = Manifest(artifacts / MANIFEST)
    artifacts = chosen_artifacts(manifest, spec)
    test = read_test_set(manifest)  # checks the gate's images, which evaluate reads on the device
    on_fashion_mnist = gate_file(manifest) is None
    archive, data = out / f"{spec.name}.tar.gz", data_dir("test") if on_fashion_mnist else None
    with tempfile.TemporaryDirectory() as tmp:
        wheels = download(spec.target, engines(spec.engine), spec.python, Path(tmp))
        # compresslevel 1: wheels, models and data are compressed already
        with atomic_path(archive) as partial, tarfile.open(partial, "w:gz", compresslevel=1) as tar:
            put = Writer(tar, spec.name)
            for path in sources():
                put.file(path, str(path.relative_to(ROOT)))
            write_models(put, manifest, artifacts)
            for name in split_files("test") if on_fashion_mnist else ():  # a device evaluates, not trains
                put.file(data / name, f"data/{name}")
            for name, png in sample_pngs(test):
                put.text(name, png)
            write_install(put, spec, wheels, artifacts)
    return archive


def bundle(args) -> int:
    archive = build(Spec(TARGETS[args.target], args.engine, args.python), args.artifacts, args.out)
    size = archive.stat().st_size
    print(
        json.dumps({"archive": str(archive), "bytes": size})
        if args.json
        else f"{archive} ({size / 1e6:.1f} MB)"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser("python -m device.bundle", __doc__, cli.ARTIFACTS, cli.JSON)
    parser.add_argument(
        "--target",
        choices=sorted(TARGETS),
        default=HOST_TARGET,
        help=f"platform of the device (default: this host, {HOST_TARGET})",
    )
    parser.add_argument(
        "--engine",
        choices=[*ENGINES, BOTH],
        default=BOTH,
        help="engine(s) and the variants they run (default: both)",
    )
    parser.add_argument(
        "--python",
        default=HOST_PYTHON,
        help=f"the device's Python, major.minor (default: this host's, {HOST_PYTHON})",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("dist"), help="folder for the archive (default: dist)"
    )
    return cli.run(bundle, parser, argv)


if __name__ == "__main__":
    sys.exit(main())
