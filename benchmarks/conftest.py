"""Fixtures of the benchmark session, and its end: the comparison table in the terminal, the report
in pytest-benchmark's JSON (under "fmnist_edge"), and report.md / report.png with --report-dir.

The options (--benchmark, --artifacts, --report-dir, --smoke) live in the root conftest.py.
"""

import subprocess
import time
from pathlib import Path

import pytest
from PIL import Image

from benchmarks import chart, micro, rows, table
from benchmarks.results import Results
from benchmarks.suite import Suite
from runtime.files import atomic_path
from runtime.machine import fingerprint
from runtime.report import save_png

RESULTS = pytest.StashKey[Results]()
STARTED = pytest.StashKey[float]()
REPORT = pytest.StashKey[dict]()
PNG_COUNT = 100  # test images saved as files for the end-to-end timing
ROOT = Path(__file__).resolve().parents[1]


def pytest_configure(config):
    config.stash[RESULTS] = Results()
    config.stash[STARTED] = time.monotonic()


LAST = ("test_keras.py", "test_made_for.py")  # they import TensorFlow (MediaPipe does where it is installed)


def pytest_collection_modifyitems(items):
    """Keras and MediaPipe last: once TensorFlow is imported it stays in the process."""
    items.sort(key=lambda item: item.path.name in LAST)


@pytest.fixture(scope="session")
def suite(request) -> Suite:
    config = request.config
    artifacts = Path(config.getoption("bench_artifacts"))
    return Suite(artifacts, config.getoption("bench_smoke"), config.stash[RESULTS])


@pytest.fixture(scope="session")
def png_files(suite, tmp_path_factory) -> list[Path]:
    """Test images saved as PNG files, as a user's files arrive (they decode bit-identical)."""
    folder = tmp_path_factory.mktemp("png")
    paths = [folder / f"test-{i:03d}.png" for i in range(PNG_COUNT)]
    for path, image in zip(paths, suite.batch(PNG_COUNT), strict=True):
        Image.fromarray(image).save(path)
    return paths


@pytest.fixture(scope="session")
def png_folder(suite, tmp_path_factory) -> Path:
    """suite.folder_size test images as PNG files in one folder."""
    folder = tmp_path_factory.mktemp("folder")
    for i, image in enumerate(suite.batch(suite.folder_size)):
        Image.fromarray(image).save(folder / f"{i:05d}.png")
    return folder


def commit() -> dict | None:
    """The commit the code was measured at, and whether the tree then differed from it (results
    folders aside); None outside a git checkout, as in a bundle on a device."""
    if not (ROOT / ".git").exists():
        return None

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout

    try:
        head = git("rev-parse", "HEAD").strip()
        changes = git("status", "--porcelain", "--", ".", ":(exclude)benchmarks/results")
    except (OSError, subprocess.CalledProcessError):
        return None
    return {"hash": head, "dirty": bool(changes.strip())}


def report(config) -> dict | None:
    """The session's report, built once at its end; None when nothing was measured."""
    if REPORT not in config.stash:
        results = config.stash.get(RESULTS, None)
        if results is None or not (results.timings or results.problems):
            return None
        suite = Suite(Path(config.getoption("bench_artifacts")), False, results)
        elapsed = time.monotonic() - config.stash[STARTED]
        config.stash[REPORT] = rows.build(results, suite.manifest, fingerprint(), commit(), elapsed)
    return config.stash[REPORT]


def pytest_benchmark_update_json(config, benchmarks, output_json):
    """Our rows beside pytest-benchmark's own; its per-call samples (megabytes) are left out: the
    stats it keeps are what --benchmark-compare reads."""
    for bench in output_json["benchmarks"]:
        bench["stats"].pop("data", None)
    found = report(config)
    if found is not None:
        output_json["fmnist_edge"] = found


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter, config):
    found = report(config)
    if found is None:
        return
    terminalreporter.write_sep("=", "fmnist-edge benchmark")
    for line in table.terminal(found):
        terminalreporter.write_line(line)
    folder = config.getoption("bench_report_dir")
    if folder:
        with atomic_path(Path(folder) / "report.md") as tmp:
            tmp.write_text(table.markdown(found) + micro.report_section(Path(folder)))
        save_png(chart.draw_report(found), Path(folder) / "report.png")
        terminalreporter.write_line(f"report written to {folder}/ (benchmark.json, report.md, report.png)")
