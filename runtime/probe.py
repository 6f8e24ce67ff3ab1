"""Check a bare model file before this process trusts it: by its first bytes, then by loading and
running it once in a child process.

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
from runtime.predictor import PROBES, Predictor
from runtime.sniff import read_head, recognise
from runtime.variants import format_for_suffix

TIMEOUT = 30.0  # seconds for the child to load and run the model; these take well under one
MIN_BYTES = 16  # smaller than any real model's header
MARKER = "probe-refused: "  # prefixes the child's reason, apart from anything the engine prints

ONNX_FIRST_BYTES = set(b"\x08\x12\x1a\x22\x28\x32\x3a\x42")  # protobuf tags of ModelProto's fields


def content_problem(head: bytes, suffix: str) -> str | None:
    """Why the first bytes of a `.tflite`/`.onnx` file cannot be that model, or None if they may be."""
    if 0 < len(head) < MIN_BYTES:
        return f"only {len(head)} bytes, too small to be a model"
    what = recognise(head)
    if suffix == ".c":  # generated C: text is what it must be; the library compiled beside it is probed
        return None if what == "a text file" else f"{what or 'binary data'}, not C source"
    if what:
        return f"{what}, not a model" if "model" not in what else what
    is_tflite = head[4:8] == b"TFL3"
    if suffix == ".onnx" and is_tflite:
        return "a TFLite model named .onnx; rename it to .tflite"
    if suffix == ".tflite" and not is_tflite:
        if head[0] in ONNX_FIRST_BYTES:
            return "not a TFLite flatbuffer (no 'TFL3' identifier); if it is an ONNX model, name it .onnx"
        return "not a TFLite flatbuffer (no 'TFL3' identifier)"
    return None


def check_content(path: Path) -> None:
    """Refuse a file whose first bytes say it is not the model its suffix promises."""
    try:
        head = read_head(path)
    except OSError as e:
        raise ModelError(path, f"cannot read it ({e.strerror})") from None
    reason = content_problem(head, path.suffix)
    if reason:
        raise ModelError(path, reason)


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
    predictor = Predictor(open_engine(path, format_for_suffix(path.suffix), threads), None, path)
    # Making the Predictor ran its probe images (a batch of 2, so the input was resized) and checked
    # the output's shape; what is left is whether the answers are numbers.
    if not np.isfinite(predictor.predict(PROBES)).all():
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
