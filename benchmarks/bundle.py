"""One archive to copy to a device (a Raspberry Pi, an x86 gateway) to predict, evaluate and
benchmark there without TensorFlow:

    python -m benchmarks.bundle [--artifacts artifacts] [--out dist]     (make bundle)

It holds the runtime, the benchmarks, the exported artifacts (manifest, models, reference outputs),
the Fashion-MNIST test files, ten sample PNGs and `requirements.txt`: the pyproject `runtime` group plus
the benchmark's tools, each pinned to the version installed here, with everything they pull in.
BUNDLE.md inside says what to run on the device.
"""

import argparse
import io
import re
import sys
import tarfile
import time
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from PIL import Image

from runtime.dataset import data_dir, load_split, split_files
from runtime.errors import ToolkitError
from runtime.files import atomic_path
from runtime.manifest import MANIFEST, Manifest

ROOT = Path(__file__).resolve().parents[1]
NAME = "fmnist-edge-bundle"
BENCHMARK_TOOLS = ("pytest", "pytest-benchmark")  # from the dev group: `pytest --benchmark` on the device
HOST_ONLY = {"train_speed.py", "bundle.py"}  # need TensorFlow, or only make sense on the host
BUNDLE_MD = """\
# fmnist-edge on a device

    python3 -m venv .venv && .venv/bin/pip install -r requirements.txt   # no TensorFlow
    export FMNIST_DATA=data                      # the Fashion-MNIST files shipped here
    .venv/bin/python -m runtime.predict images/  # classify the sample images (default: tflite-int8)
    .venv/bin/python -m runtime.evaluate         # every variant against the Keras reference
    .venv/bin/python -m pytest --benchmark       # latency on this CPU; Keras rows are skipped

`.venv/bin/python -m pytest --benchmark --report-dir=results` also writes benchmark.json,
report.md and report.png. Built {date} from the artifacts of {manifest}.
"""


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


def requirements() -> str:
    groups = tomllib.loads((ROOT / "pyproject.toml").read_text())["dependency-groups"]
    runtime_pins = pinned(group_names("runtime", groups))
    tools = [n for n in group_names("dev", groups) if normalise(n) in BENCHMARK_TOOLS]
    tool_pins = [p for p in pinned(tools) if p not in runtime_pins]
    return ("# The pyproject `runtime` group and what it needs, pinned to the versions tested here.\n"
            + "\n".join(runtime_pins) + "\n# To run the benchmarks (`pytest --benchmark`).\n"
            + "\n".join(tool_pins) + "\n")


def sources() -> list[Path]:
    """The runtime, the benchmarks that run without TensorFlow, and the pytest configuration."""
    files = sorted((ROOT / "runtime").rglob("*.py")) + sorted(
        p for p in (ROOT / "benchmarks").glob("*.py") if p.name not in HOST_ONLY)
    return files + [ROOT / "conftest.py", ROOT / "pyproject.toml"]


def sample_pngs() -> list[tuple[str, bytes]]:
    """The first test image of each class, as PNG files named by their class."""
    images, labels = load_split("test")
    found = []
    for label in range(10):
        buffer = io.BytesIO()
        Image.fromarray(images[list(labels).index(label)]).save(buffer, format="PNG")
        found.append((f"images/class-{label}.png", buffer.getvalue()))
    return found


def add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(f"{NAME}/{name}")
    info.size, info.mtime, info.mode = len(data), int(time.time()), 0o644
    tar.addfile(info, io.BytesIO(data))


def build(artifacts: Path, out: Path) -> Path:
    manifest = Manifest(artifacts / MANIFEST)
    files = [f for name in manifest.entries for f in manifest.verified_files(name)] + [manifest.reference()]
    archive, folder = out / f"{NAME}.tar.gz", data_dir("test")
    # compresslevel 1: the models and the data are compressed already
    with atomic_path(archive) as tmp, tarfile.open(tmp, "w:gz", compresslevel=1) as tar:
        for path in sources():
            tar.add(path, f"{NAME}/{path.relative_to(ROOT)}")
        tar.add(manifest.path, f"{NAME}/artifacts/{MANIFEST}")
        for path in files:
            tar.add(path, f"{NAME}/artifacts/{path.relative_to(manifest.path.parent.resolve())}")
        for name in split_files("test"):  # a device evaluates; it does not train
            tar.add(folder / name, f"{NAME}/data/{name}")
        for name, data in sample_pngs():
            add_bytes(tar, name, data)
        add_bytes(tar, "requirements.txt", requirements().encode())
        built = BUNDLE_MD.format(date=time.strftime("%Y-%m-%d"), manifest=artifacts)
        add_bytes(tar, "BUNDLE.md", built.encode())
    return archive


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bundle",
                                     description="Write the device bundle (see the module docstring).")
    parser.add_argument("--artifacts", type=Path, default=ROOT / "artifacts",
                        help="exported set (default: artifacts)")
    parser.add_argument("--out", type=Path, default=ROOT / "dist",
                        help="folder for the archive (default: dist)")
    args = parser.parse_args(argv)
    try:
        archive = build(args.artifacts, args.out)
    except ToolkitError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"{archive} ({archive.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
