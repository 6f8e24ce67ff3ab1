"""`make device-check`: the aarch64 archive on an emulated Raspberry Pi 4 (a Debian arm64 root under
QEMU, cortex-a72, no network) installs offline and passes predict, evaluate (every variant within
tolerance, on ARM) and a smoke benchmark. Runs where it can (root, debootstrap, QEMU's binfmt
handler with the F flag); elsewhere it is skipped with the reason. The root is built once per
machine (about 3 minutes) in /var/cache/fmnist-edge; after that the check takes a few minutes.
"""

import json
import os
import subprocess
import sys

import pytest

from device import emulated
from device.board import DeviceError, Session, probe
from device.emulated import CACHE, EmulatedDevice, build_root, missing
from device.wheels import ENGINES, bundled
from runtime.errors import ToolkitError
from runtime.manifest import MANIFEST, Manifest
from tests.conftest import ROOT, run_cli

CPU = "cortex-a72"
pytestmark = pytest.mark.slow
needs_board = pytest.mark.skipif(missing() is not None, reason=f"emulated board: {missing()}")


@pytest.fixture(scope="module")
def checked(artifacts, tmp_path_factory):
    out, dist = tmp_path_factory.mktemp("devices"), tmp_path_factory.mktemp("dist")
    done = run_cli(
        "device.emulated", "--cpu", CPU, "--artifacts", artifacts, "--dist", dist, "--out", out, timeout=2400
    )
    return out / f"emulated-{CPU}", done.stdout


@pytest.fixture(scope="module")
def device(checked) -> EmulatedDevice:
    return EmulatedDevice(build_root(CPU, CACHE), CPU)


@needs_board
def test_installs_offline_and_predicts_evaluates_and_benchmarks_on_arm(checked, artifacts):
    folder, stdout = checked
    manifest = Manifest(artifacts / MANIFEST)
    shipped = {a.variant.name for a in manifest.artifacts if bundled(a.variant, [ENGINES["litert"]])}
    assert {"tflite-float32", "tflite-int8"} <= shipped
    device = json.loads((folder / "device.json").read_text())
    assert device["status"] == "ok" and device["emulated"] and device["arch"] == "aarch64"
    assert device["archive"].startswith("fmnist-edge-linux-aarch64-litert")
    evaluated = json.loads((folder / "evaluate.json").read_text())
    assert evaluated["ok"] and {r["variant"] for r in evaluated["variants"]} == shipped
    answers = [json.loads(line) for line in (folder / "predict.jsonl").read_text().splitlines()]
    assert sum(a["class_id"] == int(a["path"].split("class-")[1][0]) for a in answers) >= 7
    bench = json.loads((folder / "benchmark.json").read_text())["fmnist_edge"]
    assert bench["machine"]["arch"] == "aarch64"
    assert {r["variant"]: r["status"] for r in bench["rows"]}["tflite-int8"] == "ok"
    assert "passed on emulated-cortex-a72" in stdout


@needs_board
def test_no_network_inside(device):
    done = device.run(
        "python3 -c 'import socket; socket.create_connection((\"1.1.1.1\", 80), timeout=5)'", None, 120
    )
    assert done.returncode != 0 and b"Network is unreachable" in done.stderr


@needs_board
def test_the_host_archive_is_refused_naming_both_architectures(device, artifacts, tmp_path):
    made = run_cli(
        "device.bundle",
        "--target",
        "linux-x86_64",
        "--engine",
        "litert",
        "--artifacts",
        artifacts,
        "--out",
        tmp_path,
        "--json",
        timeout=900,
    )
    archive = tmp_path / json.loads(made.stdout)["archive"]
    session = Session(device, archive.name.removesuffix(".tar.gz"))
    session.copy(archive, probe(device, 120), timeout=600)
    with pytest.raises(DeviceError) as refused:
        session.install(timeout=300)
    assert refused.value.reason == (
        "installing: install.sh: this bundle is for x86_64, this device is "
        "aarch64: build one for it with 'make bundle TARGET=linux-aarch64'"
    )


@needs_board
def test_a_failed_root_build_leaves_nothing_behind(monkeypatch, tmp_path):
    monkeypatch.setattr(emulated, "MIRROR", "http://127.0.0.1:9/debian")  # nothing listens there
    with pytest.raises(ToolkitError) as failed:
        build_root(CPU, tmp_path)
    assert failed.value.path == str(tmp_path / "bookworm-arm64")
    assert failed.value.reason.startswith("debootstrap failed: ")
    assert [p.name for p in tmp_path.iterdir()] == [".lock"]


def test_without_root_it_is_skipped_in_one_line(tmp_path):
    as_nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if os.geteuid() == 0 else []
    done = subprocess.run(
        [*as_nobody, sys.executable, "-m", "device.emulated", "--out", tmp_path / "out"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and done.stdout == ""
    assert done.stderr == "device-check skipped: needs root (debootstrap, chroot, unshare)\n"
    assert not (tmp_path / "out").exists()
