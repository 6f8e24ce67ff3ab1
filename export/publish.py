"""Publish a set of artifacts so that the folder always holds one consistent set.

Each export writes into its own new run folder (`ARTIFACTS/run-<time>/`), makes its files durable,
then swaps the manifest (written atomically, last) to point at it, then removes older runs. A
process killed at any moment leaves either the old manifest with its old files or the new one with
its new files; leftovers are run folders no manifest refers to, which the runtime never reads and
the next export removes before it starts. A lock refuses a second export into the same folder
while one is running, so two exports never mix their files.
"""

import contextlib
import fcntl
import os
import shutil
import time
from pathlib import Path

from runtime.errors import ModelError, ToolkitError
from runtime.files import write_json
from runtime.manifest import MANIFEST, Manifest

LOCK = ".export.lock"
RUN_PREFIX = "run-"


class ExportLock:
    """An exclusive, non-blocking lock on ARTIFACTS/.export.lock; the kernel drops it if we die.

    The holder writes its pid into the file, so a refused export can say who holds it, and removes
    the file on exit while still holding the lock. A process that locked the file just before it
    was removed then finds that the path names another file (or none) and starts again, so there is
    never more than one holder. A folder the lock created is removed with it if nothing else was
    written there (a refused export leaves nothing behind).
    """

    def __init__(self, folder: Path):
        self.path = folder / LOCK

    def __enter__(self):
        self.created_folder = not self.path.parent.exists()
        while not self.lock():
            pass
        self.file.truncate(0)
        self.file.write(str(os.getpid()))
        self.file.flush()
        return self

    def lock(self) -> bool:
        """Lock the file at self.path; False if that file was removed meanwhile (try again)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.file = open(self.path, "a+")  # not "w": that would wipe the holder's pid before locking
        except FileNotFoundError:  # the folder was removed by a refused export that had created it
            return False
        try:
            fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.file.seek(0)
            holder = self.file.read().strip()
            self.file.close()
            raise ToolkitError(
                self.path.parent,
                f"another export{f' (pid {holder})' if holder else ''} is writing here; wait for it to end",
            ) from None
        try:
            current = os.stat(self.path)
        except FileNotFoundError:
            current = None
        if current is None or not os.path.samestat(current, os.fstat(self.file.fileno())):
            self.file.close()
            return False
        return True

    def __exit__(self, *exc):
        self.path.unlink(missing_ok=True)  # before the lock is released: see the class docstring
        self.file.close()
        if self.created_folder:
            with contextlib.suppress(OSError):  # not empty: something was published there
                self.path.parent.rmdir()


def new_run_folder(folder: Path) -> Path:
    """A fresh, empty folder for this export's files; nothing refers to it until publish().

    Leftovers of killed exports are removed first (we hold the lock), so they never pile up.
    """
    keep = published_runs(folder)
    if keep is not None:
        remove_stale_runs(folder, keep)
    run = folder / f"{RUN_PREFIX}{time.strftime('%Y%m%dT%H%M%S')}-{time.time_ns() % 10**9:09d}"
    run.mkdir(parents=True)
    return run


def publish(folder: Path, run: Path, manifest: dict) -> Path:
    """Make `run` durable, point the manifest at it atomically, then remove every other run folder."""
    sync_folder(run)
    path = folder / MANIFEST
    write_json(path, manifest)
    sync_folder(folder, files=False)  # the rename itself survives a power cut
    remove_stale_runs(folder, keep={run})
    return path


def published_runs(folder: Path) -> set[Path] | None:
    """The run folders the current manifest refers to; None if a manifest is there but unreadable
    (then nothing may be removed)."""
    if not (folder / MANIFEST).exists():
        return set()
    try:
        manifest = Manifest(folder / MANIFEST)
    except ModelError:
        return None
    paths = [str(f.relative_to(manifest.folder)) for a in manifest.artifacts for f in a.files]
    paths.append(str(manifest.data["reference"]))
    return {folder / Path(p).parts[0] for p in paths if Path(p).parts[:1] and p.startswith(RUN_PREFIX)}


def remove_stale_runs(folder: Path, keep: set[Path]) -> None:
    """Remove run folders not in `keep` (superseded sets, killed exports' leftovers) and temporary
    files of writers that are no longer running."""
    for stale in folder.glob(f"{RUN_PREFIX}*"):
        if stale not in keep:
            shutil.rmtree(stale, ignore_errors=True)
    for tmp in folder.glob(".tmp-*"):  # .tmp-<pid>-<name>, left by a killed writer
        pid = tmp.name.split("-")[1]
        if not pid.isdigit() or not Path(f"/proc/{pid}").exists():
            tmp.unlink(missing_ok=True)


def sync_folder(folder: Path, files: bool = True) -> None:
    """fsync a folder's files (unless `files` is False) and the folder itself."""
    if files:
        for path in folder.iterdir():
            with open(path, "rb") as f:
                os.fsync(f.fileno())
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
