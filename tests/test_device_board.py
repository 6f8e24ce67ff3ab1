"""The steps every device shares (device/board.py), on this host as a device (device/local.py):
what a probe finds, a device with too little disk, and results that replace earlier ones whole."""

import json
import platform

import pytest

from device.board import DeviceError, Facts, Session, failed, probe
from device.local import LocalDevice


def test_probe_finds_the_architecture_python_and_free_disk(tmp_path):
    facts = probe(LocalDevice(tmp_path), 60)
    assert facts.arch == platform.machine() and facts.python.count(".") == 1 and facts.free_mb > 0


def test_too_little_disk_is_refused_before_copying(tmp_path):
    archive = tmp_path / "fmnist-edge-x.tar.gz"
    archive.write_bytes(b"\0" * 3_000_000)
    session = Session(LocalDevice(tmp_path), "fmnist-edge-x")
    with pytest.raises(DeviceError) as refused:
        session.copy(archive, Facts("x86_64", "3.11", free_mb=2), timeout=60)
    assert refused.value.reason == "has 2 MB free in its home folder; the bundle needs 7 MB to unpack"
    assert not (tmp_path / "fmnist-edge").exists()


def test_a_failed_step_names_the_device_the_step_and_the_reason(tmp_path):
    session = Session(LocalDevice(tmp_path, "board"), "fmnist-edge-missing")
    with pytest.raises(DeviceError) as failed_step:
        session.install(timeout=60)
    assert str(failed_step.value).startswith("board: installing: ")
    assert "fmnist-edge/fmnist-edge-missing/install.sh" in str(failed_step.value)


def test_a_failure_replaces_earlier_results_whole(tmp_path):
    (tmp_path / "pi4").mkdir()
    (tmp_path / "pi4" / "benchmark.json").write_text("{}")
    failed(tmp_path, "pi4", "probing: Connection refused")
    assert [p.name for p in (tmp_path / "pi4").iterdir()] == ["device.json"]
    assert json.loads((tmp_path / "pi4" / "device.json").read_text())["status"] == "error"
    assert not list(tmp_path.glob(".tmp-*"))
