"""Publish a set of artifacts so that the folder always holds one consistent set.

Each export writes into its own new run folder (`ARTIFACTS/run-<time>/`), then swaps the manifest
(written atomically, last) to point at it, then removes older runs. A process killed at any moment
leaves either the old manifest with its old files or the new one with its new files; leftovers are
unreferenced folders that the next export removes. A lock refuses a second export into the same
folder while one is running.
"""

import fcntl
import shutil
import time
from pathlib import Path

from runtime.errors import ToolkitError
from runtime.files import write_json
from runtime.manifest import MANIFEST

LOCK = ".export.lock"
RUN_PREFIX = "run-"


class ExportLock:
    """An exclusive, non-blocking lock on ARTIFACTS/.export.lock; the kernel drops it if we die."""

    def __init__(self, folder: Path):
        self.path = folder / LOCK

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.file = open(self.path, "w")
        try:
            fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.file.close()
            raise ToolkitError(self.path.parent, "another export is writing here; wait for it to end") from None
        return self

    def __exit__(self, *exc):
        self.file.close()


def new_run_folder(folder: Path) -> Path:
    """A fresh, empty folder for this export's files; nothing refers to it until publish()."""
    run = folder / f"{RUN_PREFIX}{time.strftime('%Y%m%dT%H%M%S')}-{time.time_ns() % 10**9:09d}"
    run.mkdir(parents=True)
    return run


def publish(folder: Path, run: Path, manifest: dict) -> Path:
    """Point the manifest at `run`, atomically, then remove every other run folder."""
    path = folder / MANIFEST
    write_json(path, manifest)
    remove_stale_runs(folder, keep=run)
    return path


def remove_stale_runs(folder: Path, keep: Path | None) -> None:
    """Remove run folders other than `keep`: killed exports' leftovers and superseded sets."""
    for stale in folder.glob(f"{RUN_PREFIX}*"):
        if stale != keep:
            shutil.rmtree(stale, ignore_errors=True)
    for tmp in folder.glob(".tmp-*"):  # .tmp-<pid>-<name>, left by a killed writer
        pid = tmp.name.split("-")[1]
        if not pid.isdigit() or not Path(f"/proc/{pid}").exists():
            tmp.unlink(missing_ok=True)
