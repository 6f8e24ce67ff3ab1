"""`pytest --benchmark` runs the latency suite in benchmarks/; plain `pytest` (and `make test`) never do.

    pytest --benchmark                                   # every variant on this CPU, one table at the end
    pytest --benchmark --report-dir=benchmarks/results   # also benchmark.json, report.md, report.png
    pytest --benchmark --smoke                           # a few rounds of everything (what the tests run)
    pytest --benchmark --artifacts=path/to/artifacts     # another exported set (default: artifacts)

`--benchmark` is one exact option name: pytest-benchmark owns `--benchmark-*` and pytest refuses
abbreviated options, so neither swallows the other. Its dest is not `benchmark`, which would read
as pytest-benchmark's own. Give the folder options with `=`: pytest picks its root directory from
the command line before it has read this file, and takes a separate existing folder for a test path.
"""

import os
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
BENCHMARKS = ROOT / "benchmarks"
ARTIFACTS_ENV = "FMNIST_ARTIFACTS"


def pytest_addoption(parser):
    group = parser.getgroup("fmnist-edge benchmarks")
    group.addoption(
        "--benchmark",
        action="store_true",
        dest="run_benchmarks",
        help="run the latency benchmarks in benchmarks/ (skipped otherwise)",
    )
    group.addoption(
        "--artifacts",
        dest="bench_artifacts",
        metavar="DIR",
        default=os.environ.get(ARTIFACTS_ENV, str(ROOT / "artifacts")),
        help=f"exported set to measure (default: ${ARTIFACTS_ENV} or artifacts/)",
    )
    group.addoption(
        "--report-dir",
        dest="bench_report_dir",
        metavar="DIR",
        help="write benchmark.json (pytest-benchmark's), report.md and report.png there",
    )
    group.addoption(
        "--smoke",
        action="store_true",
        dest="bench_smoke",
        help="a few rounds of every benchmark: checks the suite, not the figures",
    )


def given(config, option: str) -> bool:
    """Did the user set `option` on the command line or in PYTEST_ADDOPTS?"""
    words = [*config.invocation_params.args, *shlex.split(os.environ.get("PYTEST_ADDOPTS", ""))]
    return any(w == option or w.startswith(option + "=") for w in words)


def pytest_configure(config):
    """With --benchmark: collect benchmarks/ instead of testpaths, and set pytest-benchmark's
    defaults for this suite (it reads them in its own, later, pytest_configure)."""
    if not config.getoption("run_benchmarks"):
        return
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        config.args = [str(BENCHMARKS)]
    option = config.option
    if not given(config, "--benchmark-disable-gc"):
        option.benchmark_disable_gc = True  # a collection in the middle of a 3 us call is noise
    report_dir = config.getoption("bench_report_dir")
    if report_dir and not given(config, "--benchmark-json"):
        Path(report_dir).mkdir(parents=True, exist_ok=True)
        option.benchmark_json = Path(report_dir) / "benchmark.json"
    if not any(given(config, o) for o in ("--benchmark-verbose", "--benchmark-compare")):
        option.benchmark_quiet = True  # our comparison table replaces its per-group tables


def pytest_collection_modifyitems(config, items):
    """Without --benchmark, anything collected from benchmarks/ is skipped with the reason."""
    if config.getoption("run_benchmarks"):
        return
    skip = pytest.mark.skip(reason="benchmarks run only with `pytest --benchmark`")
    for item in items:
        if item.path.is_relative_to(BENCHMARKS):
            item.add_marker(skip)
