"""`python -m runtime.doctor` (`fmnist-edge doctor`): this CPU, its int8 features and which variant
to run, from a short measurement; numpy and the standard library only, no TensorFlow.
"""

import importlib.util
import json
import platform

import pytest

from runtime.choice import choose
from runtime.doctor import recommend
from runtime.machine import X86_FEATURES, clock_text, cpu_name, describe, features, fingerprint
from runtime.manifest import MANIFEST, Manifest
from runtime.variants import VARIANTS
from tests.conftest import RUNNABLE, run_cli, run_python


def test_measures_every_variant_and_recommends_from_the_figures(artifacts):
    done = run_cli("runtime.doctor", "--artifacts", artifacts, "--seconds", "0.8", "--json")
    report = json.loads(done.stdout)
    machine, rows = report["machine"], {r["variant"]: r for r in report["variants"]}
    assert machine["arch"] == platform.machine() and machine["cores"] >= 1
    assert machine["libraries"]["numpy"] and machine["libraries"]["ai-edge-litert"] == "2.3.0"
    published = [e["variant"] for e in json.loads((artifacts / "manifest.json").read_text())["artifacts"]]
    runnable = {n for n in published if n in RUNNABLE and importlib.util.find_spec(VARIANTS[n].format.module)}
    assert (
        set(rows) == runnable and {"tflite-float32", "tflite-int8", "onnx-float32", "onnx-int8"} <= runnable
    )
    assert all(r["b1_seconds"] > 0 and r["images_per_second"] > 0 for r in rows.values())
    chosen = report["recommend"]
    assert chosen["latency"] == choose(
        list(rows), lambda n: rows[n]["b1_seconds"], lambda n: rows[n]["agreement"]
    )
    assert all(
        rows[n]["agreement"] == Manifest(artifacts / MANIFEST).find(n).figures["agreement"] for n in rows
    )
    assert chosen["throughput"] == max(rows, key=lambda n: rows[n]["images_per_second"])


def test_the_text_names_the_machine_and_both_recommendations(artifacts):
    """The lines the benchmark report starts with, then the figures; no placeholder for what /sys
    does not show (the clock is 'unknown' once, here in a VM)."""
    text = run_cli("runtime.doctor", "--artifacts", artifacts, "--seconds", "0.4").stdout
    lines = describe(fingerprint())
    assert text.splitlines()[1 : len(lines)] == lines[1:]  # all but the date, which may have turned
    assert "for latency:" in text and "for throughput:" in text and " - " not in text


@pytest.mark.parametrize(
    ("clock", "text"),
    [
        ({}, "unknown"),
        ({"mhz": 1800}, "1800 MHz"),
        ({"max_mhz": 2400, "temperature_c": 51.2}, "at most 2400 MHz, 51 C"),
        (
            {
                "governor": "ondemand",
                "mhz": 1500,
                "max_mhz": 1800,
                "temperature_c": 61.0,
                "throttled": "0x50000",
            },
            "governor ondemand, 1500 of 1800 MHz, 61 C, throttled 0x50000",
        ),
    ],
)
def test_the_clock_says_what_is_known_and_unknown_once(clock, text):
    blank = dict.fromkeys(("governor", "mhz", "max_mhz", "temperature_c", "throttled"))
    assert clock_text(blank | clock) == text


def test_imports_no_tensorflow(artifacts):
    probe = run_python(
        f"import sys, runtime.doctor as d; d.main(['--artifacts', {str(artifacts)!r}, "
        "'--seconds', '0.2']); print('tensorflow' in sys.modules)"
    )
    assert probe.stdout.splitlines()[-1] == "False"


def test_no_manifest_is_one_line(tmp_path):
    done = run_cli("runtime.doctor", "--artifacts", tmp_path, check=False)
    assert done.returncode == 1 and done.stderr.count("\n") == 1 and "no manifest here" in done.stderr


@pytest.mark.parametrize(
    ("info", "env", "name"),
    [
        (
            {"CPU part": "0xd08", "Model": "Raspberry Pi 4 Model B Rev 1.4"},
            None,
            "Raspberry Pi 4 Model B Rev 1.4, Cortex-A72",
        ),
        ({"CPU part": "0xd0b"}, None, "Cortex-A76"),
        ({"model name": "AMD EPYC"}, "cortex-a72", "cortex-a72 (emulated by QEMU)"),
    ],
)
def test_arm_cpu_names(monkeypatch, info, env, name):
    monkeypatch.delenv("QEMU_CPU", raising=False)
    if env:
        monkeypatch.setenv("QEMU_CPU", env)
    assert cpu_name("aarch64", info) == name


def test_x86_features_come_from_the_flags():
    assert features("x86_64", {"flags": "sse4_2 avx2 fma avx512_vnni"}) == ["AVX2", "FMA", "AVX-512 VNNI"]
    assert set(features("x86_64", {"flags": " ".join(X86_FEATURES)})) == set(X86_FEATURES.values())


def test_recommendation_says_why():
    rows = [
        {"variant": "tflite-int8", "b1_seconds": 2e-6, "images_per_second": 1e6, "agreement": 0.990},
        {"variant": "onnx-float32", "b1_seconds": 9e-6, "images_per_second": 2e6, "agreement": 1.0},
    ]
    chosen = recommend(rows, ["dotprod", "asimd"])
    assert chosen["latency"] == "tflite-int8"
    assert chosen["latency_why"].startswith("2.0 us against onnx-float32 9.0 us")
    assert "agreement 0.9900" in chosen["latency_why"]
    assert chosen["throughput"] == "onnx-float32"
    assert "int8 dot-product instructions (dotprod)" in chosen["int8"]
    assert "no int8 dot-product" in recommend(rows, ["asimd"])["int8"]


def test_for_latency_a_close_second_that_agrees_better_wins():
    rows = [
        {"variant": "tflite-int8", "b1_seconds": 2.0e-6, "images_per_second": 1e6, "agreement": 0.990},
        {"variant": "tflite-dynamic", "b1_seconds": 2.1e-6, "images_per_second": 1e6, "agreement": 0.996},
        {"variant": "tflite-float32", "b1_seconds": 3.0e-6, "images_per_second": 1e6, "agreement": 1.0},
    ]
    assert recommend(rows, [])["latency"] == "tflite-dynamic"  # 5% slower, 0.6 points closer to Keras
