"""Check a bare model file before this process trusts it by loading and running it once in a child
process (its first bytes were checked already: Format.check).

LiteRT and ONNX Runtime parse model bytes in native code, and both projects say that an untrusted
model is untrusted code: a damaged or hostile file can crash them outright. Loading it first in a
child turns a crash (or a hang) into a ModelError in the user's process instead of a dead process.
The child imports only `runtime` and the model's engine, never TensorFlow:

    python -m runtime.probe MODEL [THREADS]    # exit 0: loads and runs; 1: prints the reason

With a manifest none of this runs: the sha256 check is the guard, and loading stays fast.
"""

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np

from runtime.engines import open_engine
from runtime.errors import ModelError
from runtime.manifest import FileRecord
from runtime.predictor import Predictor
from runtime.variants import format_for

TIMEOUT = 30.0  # seconds for the child to load and run the model; these take well under one
MARKER = "probe-refused: "  # prefixes the child's reason, apart from anything the engine prints


def probe(path: Path, threads: int, timeout: float = TIMEOUT) -> None:
    """Load and run `path` once in a child process; raise ModelError if it fails, crashes or hangs."""
    root = str(Path(__file__).resolve().parents[1])  # so the child imports this very `runtime`
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
    command = [sys.executable, "-m", "runtime.probe", str(path), str(threads)]
    try:
        child = subprocess.run(
            command,
            capture_output=True,
            text=True,
            errors="replace",
            env=env,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        raise ModelError(path, f"the engine did not finish loading it within {timeout:g} s") from None
    if child.returncode == 0:
        return
    if child.returncode < 0:
        name = signal.Signals(-child.returncode).name
        raise ModelError(path, f"the engine crashed on it ({name}): the file is damaged or not a model")
    refusals = [line for line in child.stdout.splitlines() if line.startswith(MARKER)]
    if refusals:
        raise ModelError(path, refusals[-1][len(MARKER) :])
    last = (child.stderr.strip().splitlines() or ["no message"])[-1]
    raise ModelError(path, f"the check of it failed (exit status {child.returncode}: {last})")


def try_model(path: Path, threads: int) -> None:
    """What the child does: load the model in this process and predict one small batch."""
    predictor = Predictor(open_engine(path, format_for(path), threads), FileRecord.of(path))
    # Making the Predictor ran its probe images (a batch of 2, so the input was resized) and checked
    # the output's shape; what is left is whether the answers are numbers.
    if not np.isfinite(predictor.predict(predictor.probes())).all():
        raise ModelError(path, "gives non-finite probabilities (NaN or infinity)")


def main(argv: list[str]) -> int:
    try:
        try_model(Path(argv[0]), int(argv[1]) if len(argv) > 1 else 1)
    except ModelError as e:
        print(MARKER + e.reason, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
