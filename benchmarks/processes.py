"""Whole processes, timed from start to exit, with their peak resident memory: cold start of the
predict CLI against a bare LiteRT script and against importing TensorFlow, and the memory a process
needs to load a variant and predict.

Linux carries a process's memory high-water mark across fork and exec, so a child started straight
from this (large) pytest process would report pytest's own size. Each measured process is therefore
started by a small launcher, this file run as a script, which times it and reads its ru_maxrss:

    python benchmarks/processes.py RESULT.json COMMAND [ARG...]
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BARE_SCRIPT = Path(__file__).with_name("bare_litert.py")
TIMEOUT = 120  # seconds: `import tensorflow` on a busy 2-core machine takes 10-30

# A process that loads one variant the way a user does and predicts one image: its peak memory.
LOAD_AND_PREDICT = """\
import sys
import numpy as np
import runtime
predictor = runtime.load(sys.argv[1], variant=sys.argv[2])
predictor.predict(np.zeros((1, *predictor.image.shape), np.uint8))
"""
KERAS_LOAD_AND_PREDICT = """\
import os, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import keras, numpy as np
model = keras.saving.load_model(sys.argv[1], safe_mode=True)
model.predict(np.zeros((1, *model.inputs[0].shape[1:]), np.float32), verbose=0)
"""


@dataclass(frozen=True)
class ProcessRun:
    seconds: float  # start to exit, as the user waits for it
    peak_bytes: int
    stdout: str


def run_process(argv: list[str], cwd: Path = ROOT) -> ProcessRun:
    """Run argv to completion through the launcher; RuntimeError with the end of its stderr if it
    fails or takes longer than TIMEOUT (then it is killed with every process it started)."""
    with tempfile.TemporaryDirectory() as tmp:
        result, out, err = Path(tmp) / "result.json", Path(tmp) / "stdout", Path(tmp) / "stderr"
        with open(out, "wb") as stdout, open(err, "wb") as stderr:
            launcher = subprocess.Popen(
                [sys.executable, __file__, str(result), *map(str, argv)],
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
                start_new_session=True,  # its own process group: a hung command goes with its children
            )
            try:
                launcher.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(launcher.pid, signal.SIGKILL)
                launcher.wait()
                raise RuntimeError(f"{' '.join(map(str, argv))} did not finish within {TIMEOUT} s") from None
        if not result.exists():
            raise RuntimeError(f"the launcher failed: {err.read_text(errors='replace').strip()[-300:]}")
        measured = json.loads(result.read_text())
        if measured["exit"] != 0:
            raise RuntimeError(
                f"{' '.join(map(str, argv))} exited {measured['exit']}: "
                f"{err.read_text(errors='replace').strip()[-300:]}"
            )
        return ProcessRun(measured["seconds"], measured["peak_bytes"], out.read_text(errors="replace"))


def launch(result: str, argv: list[str]) -> None:
    """Start argv (sharing this small process's stdout and stderr), wait, write the figures to result."""
    started = time.perf_counter()
    child = subprocess.Popen(argv)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
    figures = {"seconds": seconds, "peak_bytes": usage.ru_maxrss * 1024, "exit": child.returncode}  # KiB
    Path(result).write_text(json.dumps(figures))


if __name__ == "__main__":
    launch(sys.argv[1], sys.argv[2:])
