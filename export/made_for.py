"""The gate's second run of a variant whose format is made for another runtime (`Format.made_for`:
MediaPipe Tasks for the MediaPipe-ready files): test images go through that runtime too, and its
answers must be those our own engine gives for the same file: the same top-1 class on every image,
the same scores for integer output codes (both dequantize the same codes) and within FLOAT_DIFF for
float ones (each divides the pixels by 255 its own way).

The gate runs every test image (MediaPipe's classify costs 0.16 to 1 ms an image on this 2-core
machine: 2 to 10 s per variant). Recorded in the manifest entry under the runtime's name, summed up
in a line under the variant's; where its package is not installed the check is skipped, and that
line says so.
"""

import importlib.metadata
import importlib.util
import time
from contextlib import closing
from dataclasses import dataclass, field

from runtime.engines import open_engine
from runtime.errors import ModelError
from runtime.manifest import Artifact
from runtime.parity import TestSet, compare
from runtime.predictor import Predictor
from runtime.quiet import native_stderr_silenced
from runtime.variants import Tolerance

FLOAT_DIFF = 1e-5  # float32 rounding of one division, carried through two layers and a softmax


@dataclass(frozen=True)
class SecondRun:
    """What the manifest entry records of the second run, the ways it broke the tolerance, and the
    line export prints under the variant's."""

    facts: dict = field(default_factory=dict)
    violations: tuple[str, ...] = ()
    summary: str = ""


def run_made_for(
    artifact: Artifact,
    ours: Predictor,
    test: TestSet,
    verbose: bool = False,
) -> SecondRun:
    """Run every test image through `artifact` in the runtime its format is made for and hold it to
    `ours` (the Predictor of the same file in our engine); nothing to do for a format made for our
    runtime alone."""
    runtime = artifact.format.made_for
    if runtime is None:
        return SecondRun()
    if importlib.util.find_spec(runtime.module) is None:
        return SecondRun(summary=f"{runtime.name} check skipped: {runtime.package} is not installed here")
    started = time.perf_counter()
    try:
        with native_stderr_silenced(not verbose), closing(open_engine(artifact.path, runtime, 1)) as engine:
            theirs = Predictor(engine, artifact, ours.classes, ours.image)
            figures = compare(theirs.predict(test.images), test.labels, ours.predict(test.images))
    except ModelError as e:
        return SecondRun(violations=(f"in {runtime.name}: {e.reason}",))
    exact = ours.engine.output_quant is not None  # integer codes, dequantized alike
    tolerance = Tolerance(min_agreement=1.0, max_abs_diff=0.0 if exact else FLOAT_DIFF)
    violations = tuple(f"in {runtime.name}: {v}" for v in tolerance.violations(figures, figures.accuracy))
    count, same = len(test.images), len(test.images) - len(figures.disagreements)
    version = importlib.metadata.version(runtime.package)
    facts = {"version": version, "images": count, "top1_equal": same, "max_abs_diff": figures.max_abs_diff}
    summary = (
        f"in {runtime.name} {version}: the top-1 of {artifact.format.package} on {same}/{count} test "
        f"images, scores within {figures.max_abs_diff:.1e}  ({time.perf_counter() - started:.1f} s)"
    )
    return SecondRun({runtime.name: facts}, violations, summary)
