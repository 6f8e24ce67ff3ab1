"""Latency and throughput of every exported variant on this CPU, with reference rows beside them.

    pytest --benchmark                                   # the suite; one comparison table at the end
    make bench                                           # the same, plus benchmarks/results/ files
    make bundle                                          # dist/ archive to run all this on a device

Layout: `test_*.py` measure (pytest-benchmark), `suite.py` loads and times, `results.py` holds what
was measured, `rows.py` turns it into rows and ratios, `targets.py` holds the figures to reach and
judges them, `table.py` and `chart.py` show them; runtime/machine.py names the machine.
"""

from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"  # what make bench, micro, npu and report write
DEVICES = RESULTS / "devices"  # a folder per device: its run's results, brought back
