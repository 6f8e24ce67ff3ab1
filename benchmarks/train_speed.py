"""Training time of the tutorial's recipe: plain `model.fit` against our fast path, in one run.

    python -m benchmarks.train_speed      (make bench-train)

Both train the same recipe (10 epochs, batch 32, Adam, same seed) on the same data, one after
the other in this process, so the ratio is measured side by side on the same machine state.
"""

import sys

from runtime import cli
from runtime.dataset import load_split
from runtime.quiet import native_stderr_silenced
from train.recipe import Recipe

TARGET_SPEEDUP, TARGET_ACCURACY = 4.0, 0.875


def main(argv: list[str] | None = None) -> int:
    return cli.run(compare, cli.parser("python -m benchmarks.train_speed", __doc__), argv)


def compare(args) -> int:
    train_set, test_set = load_split("train"), load_split("test")
    with native_stderr_silenced():  # TensorFlow's import prints absl INFO lines
        from train.fit import train

    rows = {}
    for label, fast in (("plain model.fit", False), ("fmnist-edge train", True)):
        print(f"training with {label} ...", flush=True)
        rows[label] = train(Recipe(fast=fast), train_set, test_set, progress=False)
    plain, fast = rows["plain model.fit"], rows["fmnist-edge train"]
    speedup = plain.seconds / fast.seconds
    print(f"\n{'':<20}{'seconds':>9}{'test accuracy':>15}")
    for label, result in rows.items():
        print(f"{label:<20}{result.seconds:>9.1f}{result.accuracy:>15.4f}")
    print(
        f"speed-up {speedup:.1f}x (target {TARGET_SPEEDUP:.0f}x), "
        f"accuracy {fast.accuracy:.4f} (target {TARGET_ACCURACY})"
    )
    return 0 if speedup >= TARGET_SPEEDUP and fast.accuracy >= TARGET_ACCURACY else 1


if __name__ == "__main__":
    sys.exit(main())
