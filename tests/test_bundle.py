"""`make bundle`: the archive for this host's platform, unpacked into a fresh folder, installs with no
network from its own wheels (install.sh) and its bin/fmnist-edge predicts, evaluates, benchmarks and
diagnoses from any working directory, with no TensorFlow and only the engine it was built for.

Bad input: each problem install.sh knows is one line on stderr, a non-zero exit and no .venv left.
"""

import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from device.wheels import ENGINES, HOST_PYTHON, HOST_TARGET, TARGETS, bundled
from runtime.variants import VARIANTS
from tests.conftest import run_cli

NAME = f"fmnist-edge-{HOST_TARGET}-litert"
LITERT = {name for name, v in VARIANTS.items() if bundled(v, ["ai-edge-litert"])}  # tflite-float32, ...
OFFLINE = ["unshare", "--net"] if os.geteuid() == 0 and shutil.which("unshare") else []


def clean_env(**extra) -> dict:
    """The environment of a user on the device: none of this test's Python or pip settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "PIP_"))}
    return {**env, **extra}


def sh(*args, cwd, env=None, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*map(str, args)], cwd=cwd, env=env or clean_env(), capture_output=True, text=True, timeout=timeout
    )


def build(artifacts, out, *options) -> Path:
    made = run_cli("device.bundle", "--artifacts", artifacts, "--out", out, "--json", *options, timeout=900)
    return Path(json.loads(made.stdout)["archive"])


def unpack(archive: Path, where: Path) -> Path:
    with tarfile.open(archive) as tar:
        tar.extractall(where, filter="tar")  # "tar": keeps install.sh and bin/ executable
    return where / archive.name.removesuffix(".tar.gz")


@pytest.fixture(scope="module")
def archive(artifacts, tmp_path_factory) -> Path:
    return build(artifacts, tmp_path_factory.mktemp("dist"), "--engine", "litert")


@pytest.fixture(scope="module")
def installed(archive, tmp_path_factory) -> Path:
    """The bundle unpacked and installed offline (no network at all when run as root)."""
    folder = unpack(archive, tmp_path_factory.mktemp("device"))
    done = sh(*OFFLINE, "sh", folder / "install.sh", cwd=folder.parent)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"installed in {folder}/.venv (")
    return folder


@pytest.fixture
def fresh(archive, tmp_path) -> Path:
    """A private, not yet installed copy that a test may damage."""
    return unpack(archive, tmp_path)


def test_the_archive_holds_one_engine_its_variants_and_wheels_for_this_platform(archive, installed):
    assert archive.name == f"{NAME}.tar.gz"
    wheels = {p.name.split("-")[0] for p in (installed / "wheels").glob("*.whl")}
    assert {"numpy", "pillow", "ai_edge_litert", "pytest", "pytest_benchmark"} <= wheels
    assert not wheels & {"onnxruntime", "tensorflow", "tensorflow_cpu", "keras"}
    manifest = json.loads((installed / "artifacts" / "manifest.json").read_text())
    assert {e["variant"] for e in manifest["artifacts"]} == LITERT >= {"tflite-float32", "tflite-int8"}
    assert not list(installed.rglob("*.keras")) and not list(installed.rglob("*.onnx"))
    assert f"BUNDLE_PYTHON={HOST_PYTHON}" in (installed / "bundle.env").read_text()
    guide = (installed / "BUNDLE.md").read_text()
    assert (
        f"tar -xzf {NAME}.tar.gz" in guide and TARGETS[HOST_TARGET].devices in guide
    )  # its own target's text
    assert ("Raspberry" in guide) == (HOST_TARGET == "linux-aarch64")
    probe = sh(installed / ".venv/bin/python", "-c", "import tensorflow", cwd=installed)
    assert "No module named 'tensorflow'" in probe.stderr


def test_predict_evaluate_doctor_from_another_folder(installed, tmp_path):
    tool = tmp_path / "fmnist-edge"  # on PATH as BUNDLE.md suggests: a symlink
    tool.symlink_to(installed / "bin" / "fmnist-edge")
    predicted = sh(tool, "predict", installed / "images", "--json", cwd=tmp_path)
    assert predicted.returncode == 0, predicted.stderr
    answers = [json.loads(line) for line in predicted.stdout.splitlines()]
    assert len(answers) == 10
    assert sum(a["class_id"] == int(a["path"].split("class-")[1][0]) for a in answers) >= 7
    evaluated = sh(tool, "evaluate", "--json", cwd=tmp_path)
    assert evaluated.returncode == 0, evaluated.stderr
    report = json.loads(evaluated.stdout)
    assert report["ok"] and {r["variant"] for r in report["variants"]} == LITERT
    doctor = sh(tool, "doctor", "--json", "--seconds", "0.4", cwd=tmp_path)
    assert doctor.returncode == 0, doctor.stderr
    found = json.loads(doctor.stdout)
    assert found["recommend"]["latency"] in LITERT
    assert found["machine"]["libraries"]["onnxruntime"] is None


def test_smoke_benchmark_skips_the_engine_and_keras_it_does_not_have(installed, tmp_path):
    bench = sh(installed / "bin" / "fmnist-edge", "bench", "--smoke", cwd=tmp_path)
    assert bench.returncode == 0, bench.stdout[-3000:] + bench.stderr[-2000:]
    assert "warning" not in (bench.stdout + bench.stderr).lower()  # e.g. "No files were found in testpaths"
    rows = {
        r["variant"]: r
        for r in json.loads((installed / "results" / "benchmark.json").read_text())["fmnist_edge"]["rows"]
    }
    assert rows["keras"]["status"] == "skipped" and "tensorflow is not installed" in rows["keras"]["problem"]
    onnx = rows["onnx-int8"]
    assert onnx["status"] == "skipped" and "onnxruntime is not installed" in onnx["problem"]
    assert all(rows[n]["status"] == "ok" and rows[n]["b1_p50"] > 0 for n in ("tflite-float32", "tflite-int8"))


def refused(folder: Path, env=None) -> str:
    """install.sh's one line, after checking it failed and left no venv, whole or partial."""
    done = sh("sh", folder / "install.sh", cwd=folder.parent, env=env)
    assert done.returncode != 0 and done.stdout == ""
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert not (folder / ".venv").exists() and not (folder / ".venv.partial").exists()
    return done.stderr


def test_a_corrupt_wheel_is_named(fresh):
    wheel = next((fresh / "wheels").glob("numpy-*.whl"))
    data = bytearray(wheel.read_bytes())
    data[len(data) // 2] ^= 0xFF
    wheel.write_bytes(bytes(data))
    assert f"wheels/{wheel.name} is corrupt" in refused(fresh)


def test_a_missing_wheel_is_named(fresh):
    wheel = next((fresh / "wheels").glob("pillow-*.whl"))
    wheel.unlink()
    assert f"wheels/{wheel.name} is missing" in refused(fresh)


def test_a_failing_pip_leaves_nothing_installed(fresh):
    with open(fresh / "requirements.txt", "a") as f:
        f.write("tensorflow-cpu==2.21.0\n")  # no wheel of it in wheels/
    assert "pip could not install the wheels" in refused(fresh)


def test_another_python_gets_the_one_it_needs(fresh):
    env_file = fresh / "bundle.env"
    env_file.write_text(env_file.read_text().replace(f"BUNDLE_PYTHON={HOST_PYTHON}", "BUNDLE_PYTHON=3.99"))
    line = refused(fresh)
    assert f"this bundle's wheels need Python 3.99; python3 is Python {HOST_PYTHON}" in line


def test_no_python3(fresh):
    line = refused(fresh, clean_env(PYTHON="/nonexistent/python3"))
    assert "no /nonexistent/python3 on this device" in line


def test_too_little_disk(fresh):
    env_file = fresh / "bundle.env"
    text = "".join(
        line if not line.startswith("BUNDLE_NEEDS_MB=") else "BUNDLE_NEEDS_MB=999999999\n"
        for line in env_file.read_text().splitlines(keepends=True)
    )
    env_file.write_text(text)
    assert "the install needs 999999999 MB" in refused(fresh)


def test_the_tool_before_install_says_what_to_run(fresh, tmp_path):
    done = sh(fresh / "bin" / "fmnist-edge", "doctor", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr == f"fmnist-edge: not installed yet: run 'sh {fresh}/install.sh'\n"


@pytest.mark.skipif(HOST_TARGET == "linux-aarch64", reason="this host is aarch64 itself")
def test_an_archive_for_another_architecture_names_both(artifacts, tmp_path):
    folder = unpack(
        build(artifacts, tmp_path / "dist", "--target", "linux-aarch64", "--engine", "litert"), tmp_path
    )
    line = refused(folder)
    assert f"this bundle is for aarch64, this device is {HOST_TARGET.removeprefix('linux-')}" in line


def test_each_variant_ships_with_its_engine_and_keras_micro_and_c_with_none():
    litert, ort = ["ai-edge-litert"], ["onnxruntime"]
    shipped = {name: (bundled(v, litert), bundled(v, ort)) for name, v in VARIANTS.items()}
    assert shipped == {
        "keras": (False, False),
        "tflite-float32": (True, False),
        "tflite-int8": (True, False),
        "onnx-float32": (False, True),
        "onnx-int8": (False, True),
        "tflite-int8-micro": (False, False),  # proved for a microcontroller, not a Linux bundle
        "c-int8": (False, False),  # its library is built for this host
        "mediapipe-float32": (False, False),  # for MediaPipe's apps, proved on the host
        "mediapipe-int8": (False, False),
        "tflite-float16": (True, False),
        "tflite-dynamic": (True, False),
        "tflite-int16x8": (True, False),
        "onnx-float16": (False, True),
        "onnx-dynamic": (False, True),
        "tflite-int16x8-micro": (False, False),
    }
    assert ENGINES == {"litert": "ai-edge-litert", "onnxruntime": "onnxruntime"}  # `make bundle ENGINE=`


def test_no_manifest_is_one_line(tmp_path):
    done = run_cli("device.bundle", "--artifacts", tmp_path, "--out", tmp_path, check=False)
    assert done.returncode == 1 and done.stderr.count("\n") == 1 and "no manifest here" in done.stderr
    assert not list(tmp_path.iterdir())
