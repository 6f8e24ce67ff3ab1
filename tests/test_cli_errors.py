"""Every `python -m` entry point meets a failed input and a bad option the same way: one line
`error: <path>: <reason>` and exit 1 for the first, argparse's usage and exit 2 for the second, and
never a traceback."""

import pytest

from tests.conftest import run_cli

MISSING = "no-such-folder"  # relative: --artifacts and the like are read from the current folder
# entry point -> its arguments naming something that does not exist (None: it reads no file we can name)
ENTRY_POINTS = {
    "train": None,
    "export": ["--model", f"{MISSING}/model.keras"],
    "export.sweep": ["--artifacts", MISSING],
    "runtime.evaluate": ["--artifacts", MISSING],
    "runtime.predict": ["--artifacts", MISSING, "shirt.png"],
    "device.bundle": ["--artifacts", MISSING, "--out", f"{MISSING}/dist"],
    "device.emulated": None,  # builds an arm64 root before it reads the export
    "device.ssh": None,  # reads nothing before it reaches a host
    "device.sizes": None,  # builds bundles for every target first
    "runtime.doctor": ["--artifacts", MISSING],
    "device.report": ["--devices", MISSING],
    "benchmarks.photos": ["--artifacts", MISSING],
    "benchmarks.micro": ["--artifacts", MISSING, "--out", f"{MISSING}/out", "--build", f"{MISSING}/build"],
    "benchmarks.micro_cnn": None,  # trains before it writes
    "benchmarks.train_speed": None,
    "benchmarks.browser": None,  # a browser that cannot run is a device row with its reason
    "web.build": ["--artifacts", MISSING, "--out", f"{MISSING}/web"],
    "web.serve": [MISSING],
}


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_a_bad_option_is_a_usage_error(entry, tmp_path):
    done = run_cli(entry, *(ENTRY_POINTS[entry] or []), "--no-such-option", check=False, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert (
        done.stderr.startswith("usage: python -m ")
        and "unrecognized arguments: --no-such-option" in done.stderr
    )
    assert "Traceback" not in done.stderr and done.stdout == ""


@pytest.mark.parametrize("entry", [e for e, args in ENTRY_POINTS.items() if args])
def test_a_missing_input_is_one_line_naming_it(entry, tmp_path):
    done = run_cli(entry, *ENTRY_POINTS[entry], check=False, cwd=tmp_path, timeout=300)
    assert done.returncode == 1, done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"error: {MISSING}") and ": " in line.removeprefix("error: "), line
    assert not (tmp_path / MISSING).exists()  # nothing written where it failed
