"""Checksums and atomic writes: a file is either the old one or the complete new one, never half."""

import contextlib
import hashlib
import json
import os
from pathlib import Path

from runtime.errors import ModelError


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def atomic_path(path: Path):
    """Yield a temporary path beside `path`; on success fsync and rename it over `path`.

    The temporary name starts with '.tmp-' and keeps the suffix (Keras insists on '.keras'), so
    leftovers of a killed process are easy to recognise and never mistaken for a result.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    try:
        yield tmp
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_json(path: Path, data: dict) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2) + "\n")


def read_labels(path: Path) -> list[str]:
    """Class names, one per line (blank lines ignored)."""
    try:
        return [line.strip() for line in Path(path).read_text().splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError) as e:
        raise ModelError(
            path, f"cannot read class names from it ({getattr(e, 'strerror', None) or e})"
        ) from None
