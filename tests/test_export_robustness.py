"""An export killed at any moment, or racing a second export, never leaves a mixed or broken set;
and it never loads a Keras model it cannot trust.

The real `python -m export` is killed with SIGKILL at random moments (during the TensorFlow
import, while it writes its run folder, while it writes the manifest, right after the swap);
after every kill each file the manifest names must match its checksum, reference included, and a
final export must succeed and clean up the leftovers. A second export started while one runs is
refused by the lock with one clear line. A tampered model.keras is refused before it is loaded,
and a model carrying Python code (a Lambda layer) is refused by Keras' safe mode, its code unrun.
A manifest damaged after the fact is refused by the runtime with its reason.
"""

import fcntl
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import runtime
from export.publish import LOCK, ExportLock
from runtime.manifest import MANIFEST, Manifest
from tests.conftest import ROOT, run_cli, run_python

KILLS = ["start"] * 7 + ["writing"] * 9 + ["manifest"] * 2 + ["swapped"] * 2  # 20 kills
SEED = 20261128  # the moments are random but repeatable: a failure names its kill
WAIT = 180  # seconds an export may take here before the test gives up on it
EXPECTED_NAMES = {MANIFEST, "model.keras", "train.json"}  # and .export.lock while an export runs
# A trained-looking folder whose model carries Python code; built in a child (TensorFlow).
LAMBDA_MODEL = """
import json, sys
from pathlib import Path
import keras
from runtime.files import sha256_file
hostile, marker = Path(sys.argv[1]), Path(sys.argv[2])
# Python code inside the model: it would write `marker` each time the layer runs.
code = keras.layers.Lambda(eval(f"lambda x: (open({str(marker)!r}, 'w').close(), x)[1]"))
model = keras.Sequential([keras.Input((28, 28)), code, keras.layers.Flatten(), keras.layers.Dense(10)])
model.save(hostile / "model.keras")
marker.unlink(missing_ok=True)  # written while Keras built the model here; must not appear again
(hostile / "train.json").write_text(json.dumps({"model_sha256": sha256_file(hostile / "model.keras"),
    "epochs": 1, "batch_size": 32, "seed": 0, "seconds": 1.0, "accuracy": 0.1}))
"""


def published(folder: Path) -> set[str]:
    """Check that every file the manifest names matches its checksum; the run folders it uses."""
    manifest = Manifest(folder / MANIFEST)
    paths = [f for a in manifest.artifacts for f in a.verify().files] + [manifest.reference()]
    assert {a.variant.name for a in manifest.artifacts} >= {"keras", "tflite-int8", "onnx-int8"}
    return {path.relative_to(folder.resolve()).parts[0] for path in paths}


def start(folder: Path, log: Path) -> subprocess.Popen:
    with open(log, "w") as out:  # a file, not a pipe: an unread pipe could block the export
        return subprocess.Popen(
            [sys.executable, "-m", "export", "--artifacts", str(folder)],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def wait_for(process: subprocess.Popen, ready, pause: float) -> bool:
    """Poll `ready()` every `pause` seconds (0: as fast as possible) until it holds or the process ends."""
    deadline = time.monotonic() + WAIT
    while process.poll() is None and time.monotonic() < deadline:
        if ready():
            return True
        time.sleep(pause)
    return False


def kill_at(process: subprocess.Popen, folder: Path, moment: str, rng: random.Random) -> None:
    """SIGKILL the export at a random moment of the kind named; it may finish first."""
    runs_before = set(folder.glob("run-*"))
    manifest_inode = (folder / MANIFEST).stat().st_ino
    started = time.monotonic()
    if moment == "start":  # anywhere in the first seconds: imports, loading, or early writing
        delay = rng.uniform(0, 7)
        wait_for(process, lambda: time.monotonic() - started >= delay, 0.005)
    elif moment == "writing":  # while it fills its new run folder
        if wait_for(process, lambda: set(folder.glob("run-*")) - runs_before, 0.002):
            time.sleep(rng.uniform(0, 2.5))
    elif moment == "manifest":  # its manifest's temporary file exists: mid-write or mid-rename
        wait_for(process, lambda: any(n.startswith(f".tmp-{process.pid}-") for n in os.listdir(folder)), 0)
    else:  # "swapped": the new manifest is in place; the old runs are being removed
        wait_for(process, lambda: (folder / MANIFEST).stat().st_ino != manifest_inode, 0)
    process.kill()
    process.wait()


def phase(folder: Path, runs_before: set[Path], manifest_before: bytes, process: subprocess.Popen) -> str:
    """Where the kill landed, judged from what it left behind."""
    if process.returncode == 0:
        return "finished before the kill"
    if (folder / MANIFEST).read_bytes() != manifest_before:
        old_runs_left = runs_before & set(folder.glob("run-*"))
        return "after the manifest swap" + (", before cleanup" if old_runs_left else "")
    if any(folder.glob(f".tmp-{process.pid}-*")):
        return "while writing the manifest"
    return "while writing its run folder" if set(folder.glob("run-*")) - runs_before else "before writing"


def kill_repeatedly(folder: Path, moments: list[str], rng: random.Random, logs: Path) -> Counter:
    """Start and kill one export per moment; after each kill the set must be consistent."""
    landed = Counter()
    for attempt, moment in enumerate(moments):
        runs_before, manifest_before = set(folder.glob("run-*")), (folder / MANIFEST).read_bytes()
        process = start(folder, logs / f"{folder.name}-{attempt}.log")
        kill_at(process, folder, moment, rng)
        where = phase(folder, runs_before, manifest_before, process)
        landed[where] += 1
        context = f"{folder.name}, kill {attempt} ({moment}, landed {where}, seed {SEED})"
        try:
            published(folder)
        except Exception as e:
            raise AssertionError(f"{context}: inconsistent set: {e}") from None
        strays = {p.name for p in folder.iterdir()} - EXPECTED_NAMES - {LOCK}  # a killed export's lock stays
        assert all(name.startswith(("run-", ".tmp-")) for name in strays), f"{context}: {strays}"
    return landed


@pytest.mark.slow
def test_export_killed_at_random_moments_always_leaves_a_consistent_set(artifacts, artifacts_copy, tmp_path):
    """Two folders killed side by side (the suite leaves the second core idle), 10 kills each."""
    folders = [artifacts_copy, Path(shutil.copytree(artifacts, tmp_path / "second"))]
    moments = random.Random(SEED).sample(KILLS, len(KILLS))
    with ThreadPoolExecutor(len(folders)) as pool:
        runs = [
            pool.submit(kill_repeatedly, folder, moments[i::2], random.Random(SEED + i), tmp_path)
            for i, folder in enumerate(folders)
        ]
        landed = sum((run.result() for run in runs), Counter())
        print(
            f"\nkills survived: {sum(landed.values())}; landed: "
            + ", ".join(f"{n} {where}" for where, n in landed.most_common())
        )
        assert sum(n for where, n in landed.items() if where != "finished before the kill") >= 15
        # a rerun succeeds and removes every leftover
        list(pool.map(lambda folder: run_cli("export", "--artifacts", folder), folders))
    for folder in folders:
        assert len(published(folder)) == 1
        assert {p.name for p in folder.iterdir()} == EXPECTED_NAMES | published(folder)


def test_a_second_export_is_refused_while_the_first_is_writing(artifacts_copy, tmp_path):
    """The first export is paused (SIGSTOP) while it holds the lock, so the race is certain."""
    folder = artifacts_copy
    runs_before = set(folder.glob("run-*"))
    first = start(folder, tmp_path / "first.log")
    try:
        holds_lock = wait_for(first, lambda: set(folder.glob("run-*")) - runs_before, 0.002)
        assert holds_lock, (tmp_path / "first.log").read_text()
        first.send_signal(signal.SIGSTOP)
        second = run_cli("export", "--artifacts", folder, check=False)
    finally:
        first.send_signal(signal.SIGCONT)
        first.wait(timeout=WAIT)
    assert second.returncode == 1 and "Traceback" not in second.stderr and second.stdout == ""
    assert (
        second.stderr.strip().splitlines()[-1]
        == f"error: {folder}: another export (pid {first.pid}) is writing here; wait for it to end"
    )
    assert first.returncode == 0, (tmp_path / "first.log").read_text()
    (run,) = published(folder)  # the first export's set, whole, and nothing of the second
    assert folder / run in set(folder.glob("run-*")) - runs_before
    assert {p.name for p in folder.iterdir()} == EXPECTED_NAMES | {run}


def test_the_lock_file_is_removed_when_the_export_ends_well_or_not(tmp_path):
    with ExportLock(tmp_path):
        assert (tmp_path / LOCK).read_text() == str(os.getpid())
    assert not (tmp_path / LOCK).exists()
    with pytest.raises(RuntimeError), ExportLock(tmp_path):
        raise RuntimeError("the export failed")
    assert not (tmp_path / LOCK).exists()
    (tmp_path / LOCK).write_text("12345")  # left by a killed export: nobody holds it
    with ExportLock(tmp_path):
        assert (tmp_path / LOCK).read_text() == str(os.getpid())
    assert list(tmp_path.iterdir()) == []


def test_a_lock_file_removed_under_a_waiting_export_is_not_a_second_lock(tmp_path, monkeypatch):
    """The holder removes the file between our open and our flock: we locked a file nobody else can
    see, so we must take the one at the path instead, where the next export will look."""
    lock, flock = ExportLock(tmp_path), fcntl.flock
    calls = []

    def holder_exits_first(file, operation):
        if not calls:  # the holder unlinks and releases; a third export creates the file anew
            (tmp_path / LOCK).unlink()
            (tmp_path / LOCK).write_text("")
        calls.append(file)
        flock(file, operation)

    monkeypatch.setattr(fcntl, "flock", holder_exits_first)
    with lock:
        assert len(calls) == 2
        assert os.path.samestat(os.stat(tmp_path / LOCK), os.fstat(lock.file.fileno()))
        monkeypatch.setattr(fcntl, "flock", flock)
        with pytest.raises(runtime.ToolkitError, match=f"another export \\(pid {os.getpid()}\\)"):
            ExportLock(tmp_path).__enter__()


def test_export_refuses_a_tampered_keras_model_before_loading_it(artifacts_copy):
    manifest_before = (artifacts_copy / MANIFEST).read_bytes()
    runs_before = sorted(artifacts_copy.glob("run-*"))
    model = artifacts_copy / "model.keras"
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(data)
    result = run_cli("export", "--artifacts", artifacts_copy, check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    refusal = f"error: {model}: missing or does not match train.json; run `make train` again"
    assert result.stderr.strip().splitlines()[-1] == refusal
    assert (artifacts_copy / MANIFEST).read_bytes() == manifest_before
    assert sorted(artifacts_copy.glob("run-*")) == runs_before  # refused before any work began


def test_export_loads_keras_in_safe_mode_so_python_code_in_a_model_never_runs(tmp_path, keras):
    """Even with a checksum that matches, a model carrying Python code is refused, its code unrun."""
    folder, marker = tmp_path / "hostile", tmp_path / "lambda-ran"
    folder.mkdir()
    run_python(f"import sys; sys.argv[1:] = [{str(folder)!r}, {str(marker)!r}]\n" + LAMBDA_MODEL)
    result = run_cli("export", "--artifacts", folder, check=False)
    assert result.returncode != 0 and "Lambda" in result.stderr
    assert not marker.exists() and not (folder / MANIFEST).exists()
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(f"error: {folder / 'model.keras'}: ")


def edited(change):
    """A change of the manifest's data, as a change of its text."""

    def edit(text: str) -> str:
        data = json.loads(text)
        change(data)
        return json.dumps(data)

    return edit


def tflite_int8_entry(data: dict) -> dict:
    return next(e for e in data["artifacts"] if e["variant"] == "tflite-int8")


DAMAGED_MANIFESTS = {  # name -> (change to the manifest's text, what the refusal says)
    "empty": (lambda text: "", "not a readable manifest"),
    "truncated": (lambda text: text[: len(text) // 2], "not a readable manifest"),
    "binary": (lambda text: "\udcff\x00", "not a readable manifest"),
    "a list": (lambda text: "[]", "not a manifest: it needs the keys"),
    "artifacts not a list": (edited(lambda d: d.update(artifacts={"tflite-int8": {}})), "must be a list"),
    "sha256 missing": (edited(lambda d: tflite_int8_entry(d).update(sha256=None)), "must be text"),
    "path outside": (
        edited(lambda d: tflite_int8_entry(d).update(path="../../../../etc/passwd")),
        "points outside",
    ),
    "path with NUL": (
        edited(lambda d: tflite_int8_entry(d).update(path="run\x00/model.tflite")),
        "not usable",
    ),
    "variant missing": (
        edited(lambda d: d["artifacts"].remove(tflite_int8_entry(d))),
        "has no variant 'tflite-int8'",
    ),
}


@pytest.mark.parametrize("name", DAMAGED_MANIFESTS)
def test_a_damaged_manifest_is_refused_with_its_reason(artifacts_copy, name):
    change, expected = DAMAGED_MANIFESTS[name]
    path = artifacts_copy / MANIFEST
    path.write_text(change(path.read_text()), errors="surrogateescape")
    with pytest.raises(runtime.ModelError, match=expected) as refused:
        runtime.load(artifacts_copy, variant="tflite-int8")
    assert "\n" not in str(refused.value)
