"""Build the browser page: a static folder any web server can serve, no server code.

    python -m web.build [--artifacts artifacts] [--out dist/web]      (make web)

The page's sources (web/*.html, *.js, *.css, _headers), the three files of ONNX Runtime Web it
runs (its WebAssembly build, from node_modules/ as `npm ci` installed it from package-lock.json),
the manifest's ONNX variants (checksum-checked here, and again by the page before use) and
site.json: the class names, the model input, the variants (int8 first: the default), and every
file for the service worker that keeps the page working offline. The folder is built beside the
old one and swapped in whole.
"""

import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

from runtime import cli
from runtime.errors import ToolkitError
from runtime.inputs import Range
from runtime.manifest import MANIFEST, Artifact, Manifest
from runtime.variants import ONNX, Precision

ROOT = Path(__file__).resolve().parents[1]
SOURCES = Path(__file__).resolve().parent
PAGE = (
    "index.html",
    "style.css",
    "icon.svg",
    "_headers",
    "app.js",
    "model.js",
    "pixels.js",
    "framing.js",
    "sw.js",
)
ENGINE = "onnxruntime-web"
ENGINE_FILES = ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")


class BuildError(ToolkitError):
    """The page cannot be built: no manifest or ONNX variant, a damaged model, no engine installed."""


def engine_folder(node_modules: Path) -> tuple[Path, str]:
    """ONNX Runtime Web's dist/ folder and version, as `npm ci` installed it."""
    package = node_modules / ENGINE
    try:
        version = json.loads((package / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        raise BuildError(package, "not installed; run `npm ci` (make web does)") from None
    missing = [name for name in ENGINE_FILES if not (package / "dist" / name).is_file()]
    if missing:
        raise BuildError(package / "dist", f"lacks {', '.join(missing)}; run `npm ci` again")
    return package / "dist", version


PAGE_PRECISIONS = (Precision.INT8, Precision.FLOAT32)  # int8 the default: a quarter of the download


def onnx_artifacts(manifest: Manifest) -> list[Artifact]:
    """The manifest's int8 and float32 ONNX artifacts, int8 first, each checksum-checked (the other
    precisions add no choice a person needs in a browser, and onnx-dynamic has a fixed batch)."""
    found = [a for a in manifest.artifacts if a.format == ONNX and a.variant.precision in PAGE_PRECISIONS]
    if not found:
        raise BuildError(manifest.path, "has no ONNX variant for the page; run `make export`")
    return [a.verify() for a in sorted(found, key=lambda a: PAGE_PRECISIONS.index(a.variant.precision))]


def build(artifacts: Path, out: Path, node_modules: Path = ROOT / "node_modules") -> Path:
    manifest = Manifest(artifacts / MANIFEST)
    if not manifest.input.framed or manifest.input.range is not Range.UNIT:  # what framing.js, model.js do
        raise BuildError(
            manifest.path,
            f"the page frames images as Fashion-MNIST for models of 0..1 inputs; this model takes "
            f"{manifest.input} images of {manifest.input.range}, prepared by {manifest.input.preprocessing}",
        )
    found = onnx_artifacts(manifest)
    dist, version = engine_folder(node_modules)
    staging = out.with_name(f".tmp-{os.getpid()}-{out.name}")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        (staging / "ort").mkdir(parents=True)
        (staging / "models").mkdir()
        for name in PAGE:
            shutil.copyfile(SOURCES / name, staging / name)
        for name in ENGINE_FILES:
            shutil.copyfile(dist / name, staging / "ort" / name)
        variants = []
        for artifact in found:
            shutil.copyfile(artifact.path, staging / "models" / artifact.path.name)
            variants.append(
                {
                    "variant": artifact.variant.name,
                    "precision": str(artifact.variant.precision),
                    "bytes": artifact.file.bytes,
                    "sha256": artifact.file.sha256,
                    "path": f"models/{artifact.path.name}",
                }
            )
        files = sorted(p.relative_to(staging).as_posix() for p in staging.rglob("*") if p.is_file())
        site = {
            "classes": manifest.classes,
            "input": manifest.data["input"],
            "variants": variants,
            "engine": {"name": ENGINE, "version": version},
            "files": ["./", "site.json", *(f for f in files if f != "_headers")],
            "version": digest(staging, files),
        }
        (staging / "site.json").write_text(json.dumps(site, indent=2) + "\n")
        swap(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out


def digest(folder: Path, files: list[str]) -> str:
    """A short digest of every file's name and content: the service worker's cache name."""
    h = hashlib.sha256()
    for name in files:
        h.update(name.encode() + b"\0" + hashlib.sha256((folder / name).read_bytes()).digest())
    return h.hexdigest()[:16]


def swap(staging: Path, out: Path) -> None:
    """Put the new folder in place of the old one, which is removed only once the new one is there."""
    old = out.with_name(f".old-{os.getpid()}-{out.name}")
    if out.exists():
        out.rename(old)
    staging.rename(out)
    shutil.rmtree(old, ignore_errors=True)


def size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser("python -m web.build", __doc__, cli.ARTIFACTS)
    parser.add_argument(
        "--out", type=Path, default=Path("dist/web"), help="the page's folder (default: dist/web)"
    )
    return cli.run(build_cli, parser, argv)


def build_cli(args) -> int:
    out = build(args.artifacts, args.out)
    site = json.loads((out / "site.json").read_text())
    names = ", ".join(v["variant"] for v in site["variants"])
    print(f"{out}: {size(out) / 1e6:.1f} MB ({names}); serve it with `make serve-web`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
