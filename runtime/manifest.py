"""`manifest.json`, the one description of a set of exported models, read into the same records
export wrote it from (`Artifact`), and trusted only as far as the files confirm it: a file's size
and sha256 are checked before an engine parses a byte of it.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path

from runtime.errors import ModelError
from runtime.files import sha256_file
from runtime.inputs import ImageInput
from runtime.variants import DEFAULT_ORDER, VARIANTS, Format, Variant

MANIFEST = "manifest.json"
REQUIRED = ("classes", "input", "artifacts", "reference")
FIGURES = ("accuracy", "agreement", "max_abs_diff")


@dataclass(frozen=True)
class FileRecord:
    """A file and what it must be: its absolute path, size and sha256."""

    path: Path
    bytes: int
    sha256: str

    @classmethod
    def of(cls, path: Path) -> "FileRecord":
        path = Path(path)
        return cls(path, path.stat().st_size, sha256_file(path))

    def check(self) -> None:
        """ModelError unless the file on disk has this size and sha256."""
        try:
            size = self.path.stat().st_size
            digest = sha256_file(self.path) if size == self.bytes else None
        except OSError as e:
            raise ModelError(self.path, f"cannot read it ({e.strerror})") from None
        if digest != self.sha256:
            raise ModelError(
                self.path,
                "checksum mismatch: the file differs from the one in the manifest (changed or damaged); "
                "re-run `make export`",
            )

    def as_json(self, folder: Path) -> dict:
        return {"path": str(self.path.relative_to(folder)), "bytes": self.bytes, "sha256": self.sha256}


@dataclass(frozen=True)
class Artifact:
    """One published variant: its file, the figures its gate measured, the files its engine also
    reads (companions: a C header, a compiled library) and facts of its own (recipe, arena)."""

    variant: Variant
    file: FileRecord
    figures: dict  # accuracy, agreement, max_abs_diff, per_class_accuracy on the test set
    companions: tuple[FileRecord, ...] = ()
    facts: dict = field(default_factory=dict)  # "quantization" (how it was made), "arena_bytes", ...

    @property
    def path(self) -> Path:
        return self.file.path

    @property
    def format(self) -> Format:
        return self.variant.format

    @property
    def files(self) -> list[Path]:
        """The model and its companions: what a copy of it must hold."""
        return [self.path, *(c.path for c in self.companions)]

    def verify(self) -> "Artifact":
        """This artifact, once every file it names has its recorded size and sha256."""
        for record in (*self.companions, self.file):
            record.check()
        return self

    def as_json(self, folder: Path) -> dict:
        """The manifest entry, paths relative to the manifest's `folder`."""
        companions = [c.as_json(folder) for c in self.companions]
        return {
            "variant": self.variant.name,
            "format": self.format.name,
            "precision": str(self.variant.precision),
            **self.file.as_json(folder),
            **self.figures,
            **({"companions": companions} if companions else {}),
            **self.facts,
        }


ENTRY_KEYS = ("variant", "format", "precision", "path", "bytes", "sha256", "companions", *FIGURES)


class Manifest:
    """The published set: class names, the images the model takes (`input`), artifacts (in table
    order), reference outputs and the data they were measured on (`dataset`)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.folder = self.path.parent.resolve()
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
        self.classes = data["classes"]
        if not isinstance(self.classes, list) or not all(isinstance(c, str) for c in self.classes):
            raise ModelError(self.path, "damaged manifest: 'classes' must be a list of class names")
        self.input = ImageInput.from_json(data["input"], self.path)
        self.unknown = [e.get("variant") for e in data["artifacts"] if e.get("variant") not in VARIANTS]
        self.artifacts = [self.read_entry(e) for e in data["artifacts"] if e.get("variant") in VARIANTS]

    def read_entry(self, entry: dict) -> Artifact:
        name = entry["variant"]
        missing = [
            key for key in ("path", "bytes", "sha256", "format", "precision", *FIGURES) if key not in entry
        ]
        if missing:
            raise ModelError(self.path, f"entry {name!r} lacks {', '.join(missing)}")
        variant = VARIANTS[name]
        if (entry["format"], entry["precision"]) != (variant.format.name, str(variant.precision)):
            raise ModelError(
                self.path,
                f"entry {name!r} says {entry['precision']} {entry['format']}, but {name} is "
                f"{variant.precision} {variant.format.name} here; re-run `make export`",
            )
        companions = entry.get("companions", [])
        if not isinstance(companions, list) or not all(isinstance(c, dict) for c in companions):
            raise ModelError(self.path, f"entry {name!r} is damaged: 'companions' must be a list of files")
        return Artifact(
            variant,
            self.file_record(name, entry),
            {key: entry[key] for key in (*FIGURES, "per_class_accuracy") if key in entry},
            tuple(self.file_record(name, c) for c in companions),
            {key: value for key, value in entry.items() if key not in ENTRY_KEYS + ("per_class_accuracy",)},
        )

    def file_record(self, name: str, described: dict) -> FileRecord:
        if not isinstance(described.get("path"), str) or not isinstance(described.get("sha256"), str):
            raise ModelError(self.path, f"entry {name!r} is damaged: path and sha256 must be text")
        if not isinstance(described.get("bytes"), int):
            raise ModelError(self.path, f"entry {name!r} is damaged: bytes must be a whole number")
        return FileRecord(self.file(described["path"]), described["bytes"], described["sha256"])

    def file(self, relative: str) -> Path:
        """A path named in the manifest, which must stay inside the manifest's folder."""
        try:
            path = (self.folder / relative).resolve()
        except (OSError, RuntimeError, ValueError) as e:  # a symlink loop; a NUL byte
            raise ModelError(self.path, f"path {relative!r} is not usable ({e})") from None
        if not path.is_relative_to(self.folder):
            raise ModelError(self.path, f"path {relative!r} points outside {self.folder}")
        return path

    def __contains__(self, variant: Variant) -> bool:
        return any(a.variant == variant for a in self.artifacts)

    def artifact(self, variant: Variant | str) -> Artifact:
        """The artifact of `variant` (or of the variant of that name); ModelError if not listed."""
        found = (
            self.find(variant)
            if isinstance(variant, str)
            else next((a for a in self.artifacts if a.variant == variant), None)
        )
        if found is None:
            raise ModelError(self.path, f"has no variant {str(variant)!r}; it has: {self.names()}")
        return found

    def find(self, name: str) -> Artifact | None:
        """The artifact of the variant called `name` (a report's row, a device's result), if listed."""
        return next((a for a in self.artifacts if a.variant.name == name), None)

    def names(self) -> str:
        return ", ".join(a.variant.name for a in self.artifacts)

    def runnable(self) -> list[Artifact]:
        """The artifacts the runtime runs (Keras itself needs TensorFlow)."""
        return [a for a in self.artifacts if a.variant.runs]

    def default(self) -> Artifact:
        """What runs when no variant is asked for: the first of DEFAULT_ORDER published here, else the
        first runnable one."""
        ranked = [a for v in DEFAULT_ORDER for a in self.artifacts if a.variant == v] + self.runnable()
        if not ranked:
            raise ModelError(self.path, "lists no variant the runtime can run; re-run `make export`")
        return ranked[0]

    def reference(self) -> Path:
        """`reference.npz`, the Keras model's probabilities on the test set, checksum-checked."""
        path = self.file(str(self.data["reference"]))
        if not path.is_file() or sha256_file(path) != self.data.get("reference_sha256"):
            raise ModelError(path, "missing or checksum mismatch; re-run `make export`")
        return path

    def subset(self, artifacts: list[Artifact]) -> dict:
        """This manifest's JSON listing only `artifacts` (a bundle's cut-down copy)."""
        return dict(self.data, artifacts=[a.as_json(self.folder) for a in artifacts])
