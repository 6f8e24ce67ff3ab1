"""Build the browser page: a static folder any web server can serve, no server code.

    python -m web.build [--artifacts artifacts] [--out dist/web]      (make web)

The page's sources (web/*.html, *.js, *.css, _headers), the three files of ONNX Runtime Web it
runs (its WebAssembly build, from node_modules/ as `npm ci` installed it from package-lock.json),
the manifest's ONNX variants (checksum-checked here, and again by the page before use) and
site.json: the class names, the model input, the variants (int8 first: the default), and every
file for the service worker that keeps the page working offline. The folder is built beside the
old one and swapped in whole.
"""

import argparse
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

from runtime.errors import ToolkitError
from runtime.files import sha256_file
from runtime.manifest import MANIFEST

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
FORMAT = "onnx"  # the one format ONNX Runtime Web runs
DEFAULT_PRECISION = "int8"  # the page's first choice: a quarter of the download, the same classes


class BuildError(ToolkitError):
    """The page cannot be built: no manifest or ONNX variant, a damaged model, no engine installed."""


def read_manifest(artifacts: Path) -> dict:
    """manifest.json as plain JSON: its keys classes, input and artifacts[] (variant, path, format,
    precision, bytes, sha256) are the stable part."""
    path = artifacts / MANIFEST
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise BuildError(path, "no manifest here; run `make train export` first") from None
    except (OSError, ValueError) as e:
        raise BuildError(path, f"not a readable manifest ({e})") from None
    if not isinstance(data, dict) or not all(isinstance(data.get(k), list) for k in ("classes", "artifacts")):
        raise BuildError(path, "not a manifest: it needs the lists classes and artifacts")
    return data


def checked(artifacts: Path, entry: dict) -> Path:
    """The entry's file, once its size and sha256 are the manifest's."""
    folder = artifacts.resolve()
    path = (folder / entry["path"]).resolve()
    if not path.is_relative_to(folder):
        raise BuildError(artifacts / MANIFEST, f"path {entry['path']!r} points outside {folder}")
    if not path.is_file() or path.stat().st_size != entry["bytes"] or sha256_file(path) != entry["sha256"]:
        raise BuildError(
            path, "missing or changed: not the file the manifest describes; re-run `make export`"
        )
    return path


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


def onnx_variants(manifest: dict, artifacts: Path) -> list[dict]:
    """The manifest's ONNX entries, the default precision first."""
    entries = [e for e in manifest["artifacts"] if e.get("format") == FORMAT]
    if not entries:
        raise BuildError(artifacts / MANIFEST, f"has no {FORMAT} variant for the page; run `make export`")
    return sorted(entries, key=lambda e: e["precision"] != DEFAULT_PRECISION)


def build(artifacts: Path, out: Path, node_modules: Path = ROOT / "node_modules") -> Path:
    manifest = read_manifest(artifacts)
    entries = onnx_variants(manifest, artifacts)
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
        for entry in entries:
            model = checked(artifacts, entry)
            shutil.copyfile(model, staging / "models" / model.name)
            variants.append(
                {key: entry[key] for key in ("variant", "precision", "bytes", "sha256")}
                | {"path": f"models/{model.name}"}
            )
        files = sorted(p.relative_to(staging).as_posix() for p in staging.rglob("*") if p.is_file())
        site = {
            "classes": manifest["classes"],
            "input": manifest["input"],
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
    parser = argparse.ArgumentParser(prog="python -m web.build", description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", type=Path, default=Path("artifacts"), help="exported models")
    parser.add_argument("--out", type=Path, default=Path("dist/web"), help="the page's folder")
    args = parser.parse_args(argv)
    try:
        out = build(args.artifacts, args.out)
    except ToolkitError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"error: {e.filename or args.out}: {e.strerror}", file=sys.stderr)
        return 1
    site = json.loads((out / "site.json").read_text())
    names = ", ".join(v["variant"] for v in site["variants"])
    print(f"{out}: {size(out) / 1e6:.1f} MB ({names}); serve it with `make serve-web`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
