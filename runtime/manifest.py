"""Read `manifest.json`, the one description of a set of exported models, and trust nothing in it
that the files themselves do not confirm (checksums are checked before an engine parses a byte).
"""

import json
from pathlib import Path

from runtime.errors import ModelError
from runtime.files import sha256_file

MANIFEST = "manifest.json"
REQUIRED = ("classes", "input", "artifacts", "reference")
ENTRY_FIELDS = (
    "variant",
    "path",
    "format",
    "precision",
    "bytes",
    "sha256",
    "accuracy",
    "agreement",
    "max_abs_diff",
)


class Manifest:
    def __init__(self, path: Path):
        self.path = Path(path)
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            raise ModelError(self.path, "no manifest here; run `make train export` first") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ModelError(self.path, f"not a readable manifest ({e})") from None
        if not isinstance(data, dict) or any(key not in data for key in REQUIRED):
            raise ModelError(self.path, f"not a manifest: it needs the keys {', '.join(REQUIRED)}")
        if not isinstance(data["artifacts"], list) or not all(isinstance(e, dict) for e in data["artifacts"]):
            raise ModelError(self.path, "damaged manifest: 'artifacts' must be a list of entries")
        self.data = data
        self.entries = {}
        for entry in data["artifacts"]:
            missing = [f for f in ENTRY_FIELDS if f not in entry]
            if missing:
                raise ModelError(self.path, f"entry {entry.get('variant')!r} lacks {', '.join(missing)}")
            if not all(isinstance(entry[f], str) for f in ("variant", "path", "sha256")) or not isinstance(
                entry["bytes"], int
            ):
                raise ModelError(
                    self.path,
                    f"entry {entry['variant']!r} is damaged: variant, path and "
                    "sha256 must be text, bytes a whole number",
                )
            self.entries[entry["variant"]] = entry
        self.classes = data["classes"]
        if not isinstance(self.classes, list) or not all(isinstance(c, str) for c in self.classes):
            raise ModelError(self.path, "damaged manifest: 'classes' must be a list of class names")

    def entry(self, variant: str) -> dict:
        if variant not in self.entries:
            raise ModelError(self.path, f"has no variant {variant!r}; it has: {', '.join(self.entries)}")
        return self.entries[variant]

    def file(self, relative: str) -> Path:
        """A path named in the manifest, which must stay inside the manifest's folder."""
        folder = self.path.parent.resolve()
        try:
            path = (folder / relative).resolve()
        except (OSError, RuntimeError, ValueError) as e:  # a symlink loop; a NUL byte
            raise ModelError(self.path, f"path {relative!r} is not usable ({e})") from None
        if not path.is_relative_to(folder):
            raise ModelError(self.path, f"path {relative!r} points outside {folder}")
        return path

    def verified_files(self, variant: str) -> list[Path]:
        """The variant's file and its companions, all checksum-checked: what a copy of it must hold."""
        model = self.verified(variant)
        return [model, *(self.file(c["path"]) for c in self.entry(variant).get("companions", []))]

    def verified(self, variant: str) -> Path:
        """The variant's file, after checking that its size and sha256 are the manifest's, and those
        of its companions (files its engine also reads, such as a compiled C library)."""
        entry = self.entry(variant)
        companions = entry.get("companions", [])
        if not isinstance(companions, list) or not all(isinstance(c, dict) for c in companions):
            raise ModelError(self.path, f"entry {variant!r} is damaged: 'companions' must be a list of files")
        for described in [*companions, entry]:
            path = self.file(described.get("path", ""))
            try:
                size = path.stat().st_size
                digest = sha256_file(path) if size == described.get("bytes") else None
            except OSError as e:
                raise ModelError(path, f"cannot read it ({e.strerror})") from None
            if digest != described.get("sha256"):
                raise ModelError(
                    path,
                    "checksum mismatch: the file differs from the one in the manifest "
                    "(changed or damaged); re-run `make export`",
                )
        return path

    def reference(self) -> Path:
        """`reference.npz`, the Keras model's probabilities on the test set, checksum-checked."""
        path = self.file(str(self.data["reference"]))
        if not path.is_file() or sha256_file(path) != self.data.get("reference_sha256"):
            raise ModelError(path, "missing or checksum mismatch; re-run `make export`")
        return path
