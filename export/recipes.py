"""How a quantized variant is made (a QuantRecipe), which int8 recipes the sweep tries, and the rule that
picks one. The other precisions of a format follow its int8 recipe (int16x8: its calibration images).

The recipe export publishes for an engine is the one `python -m export.sweep` chose for this very
model (ARTIFACTS/quant-report/report.json, matched by the model's sha256); without such a report it
is DEFAULTS, the sweep's pick on the tutorial model. No TensorFlow here: the rule is plain data.
"""

import json
from dataclasses import asdict, dataclass, fields, replace
from enum import Enum, StrEnum
from pathlib import Path

import numpy as np

from runtime import choice
from runtime.dataset import scaled
from runtime.errors import ModelError
from runtime.variants import Precision

CALIBRATION_SEED = 0
REPORT_DIR = "quant-report"
REPORT = "report.json"
VALIDATION_IMAGES = 10_000  # held-out training images the rule compares candidates on


class Method(StrEnum):
    """How activation ranges are found from the calibration images."""

    MINMAX = "minmax"  # onnxruntime: the range seen
    ENTROPY = "entropy"  # onnxruntime: the threshold keeping the histogram's information (KL)
    PERCENTILE = "percentile"  # onnxruntime: 99.999th percentile of |x|
    # TFLite converter's quantizer: the range seen. (Its legacy quantizer, experimental_new_quantizer=
    # False, gave the same agreement at every size, a 1.3 KiB larger file, and TensorFlow's
    # QuantizationDebugger cannot read its models: no choice worth a row.)
    CONVERTER = "converter"


class QuantFormat(StrEnum):
    """ONNX only: Q/DQ pairs around float ops, or fused quantized operators (QGemm...)."""

    QDQ = "qdq"
    QOPERATOR = "qoperator"


ONNX_ONLY = ("format", "reduce_range", "float_head")
ENGINE_METHODS = {"onnx": (Method.MINMAX, Method.ENTROPY, Method.PERCENTILE), "tflite": (Method.CONVERTER,)}
# What each converter makes besides float32 (int16x8 needs TFLite's int16 kernels; onnxruntime has none)
ENGINE_PRECISIONS = {
    "onnx": (Precision.FLOAT16, Precision.DYNAMIC, Precision.INT8),
    "tflite": (Precision.FLOAT16, Precision.DYNAMIC, Precision.INT8, Precision.INT16X8),
}
MAX_IMAGES = 60_000 - VALIDATION_IMAGES  # the training set, less the held-out images


@dataclass(frozen=True)
class QuantRecipe:
    engine: str  # a format name: "onnx" or "tflite"
    images: int = 1000  # calibration images drawn from the training set
    method: Method = Method.MINMAX
    per_channel: bool = False  # one weight scale per output channel (TFLite's converter always does)
    format: QuantFormat = QuantFormat.QDQ
    reduce_range: bool = False  # 7-bit weights (onnxruntime's advice for CPUs without VNNI)
    float_head: bool = False  # the last layer and its softmax stay float: logits keep full precision
    # What it makes; the calibration choices above matter to a calibrated precision only
    precision: Precision = Precision.INT8

    def __post_init__(self):
        """Refuse a recipe its engine cannot make (a hand-edited report, a typo), naming what can."""
        methods = ENGINE_METHODS.get(self.engine)
        if methods is None:
            raise ValueError(f"unknown engine {self.engine!r}; recipes exist for {', '.join(ENGINE_METHODS)}")
        made = ENGINE_PRECISIONS[self.engine]
        if Precision(self.precision) not in made:
            raise ValueError(f"{self.engine} makes {', '.join(made)}, not {str(self.precision)!r}")
        if not Precision(self.precision).calibrated:
            return  # nothing below is used
        if Method(self.method) not in methods:
            raise ValueError(
                f"{self.engine} calibrates by {', '.join(m.value for m in methods)}, "
                f"not {Method(self.method).value!r}"
            )
        if not 1 <= self.images <= MAX_IMAGES:
            raise ValueError(f"calibration needs 1..{MAX_IMAGES} images, got {self.images}")
        if self.engine == "tflite" and (
            not self.per_channel
            or self.float_head
            or self.reduce_range
            or QuantFormat(self.format) != QuantFormat.QDQ
        ):
            raise ValueError(
                "tflite int8 is per-channel and integer-only: it has no other weight, head or format choice"
            )

    def summary(self) -> dict:
        """The recipe as JSON (the manifest's "quantization" and the report's rows), with only the
        choices its engine and precision have."""
        if not Precision(self.precision).calibrated:
            return {"engine": self.engine, "precision": Precision(self.precision).value}
        return {
            k: v.value if isinstance(v, Enum) else v
            for k, v in asdict(self).items()
            if self.engine == "onnx" or k not in ONNX_ONLY
        }

    @classmethod
    def from_summary(cls, data: dict) -> "QuantRecipe":
        known = {f.name for f in fields(cls)}
        recipe = cls(**{k: v for k, v in data.items() if k in known})
        return replace(
            recipe,
            method=Method(recipe.method),
            format=QuantFormat(recipe.format),
            precision=Precision(recipe.precision),
        )

    def label(self) -> str:
        """Short and unique within an engine: '1000 minmax per-channel float-head'."""
        parts = [str(self.images), self.method.value]
        if self.engine == "onnx":
            parts += ["per-channel" if self.per_channel else "per-tensor", self.format.value]
            parts += ["reduce-range"] * self.reduce_range + ["float-head"] * self.float_head
        return " ".join(parts)


# The sweep's pick on the tutorial model (make quant-report, 2026-11-29, 58 candidates, chosen on 10,000
# held-out training images; see README):
# ONNX: the float head lifts agreement from ~98.8% to ~99.7%, per-channel weights to 99.8%, at the
# baseline's latency. TFLite stays integer-only (int8 logits): 100 images give the narrowest logit
# range seen, hence the finest steps, and 99.00% agreement (1,000 images: 98.70%).
DEFAULTS = {
    "onnx": QuantRecipe("onnx", 100, Method.MINMAX, per_channel=True, float_head=True),
    "tflite": QuantRecipe("tflite", 100, Method.CONVERTER, per_channel=True),
}
# What export published before the sweep existed: the reference for "within 10% of today's".
BASELINES = {
    "onnx": QuantRecipe("onnx", 1000, Method.MINMAX),
    "tflite": QuantRecipe("tflite", 1000, Method.CONVERTER, per_channel=True),
}
SIZES = (100, 500, 1000, 5000)
BASELINE_IMAGES = 1000


def candidates(engine: str, small: bool = False) -> list[QuantRecipe]:
    """Every recipe the sweep tries for `engine` (small: the baseline, the default and one more)."""
    if small:
        extra = replace(BASELINES[engine], images=100)
        return list(dict.fromkeys([BASELINES[engine], DEFAULTS[engine], extra]))
    if engine == "tflite":
        return [QuantRecipe("tflite", n, Method.CONVERTER, per_channel=True) for n in SIZES]
    grid = [
        QuantRecipe("onnx", n, m, per_channel=pc, float_head=head)
        for head in (False, True)
        for pc in (False, True)
        for m in (Method.MINMAX, Method.ENTROPY, Method.PERCENTILE)
        for n in SIZES
    ]
    base = [QuantRecipe("onnx", float_head=head) for head in (False, True)]
    changes = (
        {"format": QuantFormat.QOPERATOR},
        {"reduce_range": True},
        {"reduce_range": True, "per_channel": True},
    )
    return grid + [replace(recipe, **change) for recipe in base for change in changes]


def choose(rows: list[dict]) -> dict:
    """The rule (runtime/choice.py): the highest agreement on the held-out training images (never the
    test set, whose figures it reports) among candidates whose batch-1 latency is within LATENCY_BAND
    of the fastest's; ties go to the faster. Rows carry "validation_agreement" and "b1_seconds"."""
    return choice.choose(rows, lambda row: row["b1_seconds"], lambda row: row["validation_agreement"])


def calibration_images(train_images: np.ndarray, count: int) -> np.ndarray:
    """`count` training images as float32 0..1; a smaller set is the start of a larger one."""
    return scaled(train_images[calibration_indices(len(train_images), count)])


def calibration_indices(total: int, count: int) -> np.ndarray:
    """Which `count` of `total` training images calibrate (never the held-out validation images)."""
    if not 1 <= count <= total - VALIDATION_IMAGES:
        raise ValueError(f"calibration needs 1..{total - VALIDATION_IMAGES} images, got {count}")
    return np.sort(shuffled(total)[:count])


def validation_images(train_images: np.ndarray) -> np.ndarray:
    """The uint8 training images the rule chooses on: the end of the order calibration draws from the
    start of, so no candidate was calibrated on them."""
    return train_images[np.sort(shuffled(len(train_images))[-VALIDATION_IMAGES:])]


def shuffled(count: int) -> np.ndarray:
    return np.random.default_rng(CALIBRATION_SEED).permutation(count)


def chosen_recipes(folder: Path, model_sha256: str) -> dict[str, tuple[QuantRecipe, str]]:
    """engine -> (recipe, where it comes from): the sweep's report for this model, else DEFAULTS."""
    path = Path(folder) / REPORT_DIR / REPORT
    chosen = {engine: (recipe, "default") for engine, recipe in DEFAULTS.items()}
    if not path.is_file():
        return chosen
    try:
        report = json.loads(path.read_text())
        if report.get("model_sha256") != model_sha256:
            return chosen  # a report on another model says nothing about this one
        for engine, summary in report["chosen"].items():
            recipe = QuantRecipe.from_summary(summary)
            if recipe.engine != engine:
                raise ValueError(f"the recipe chosen for {engine} is one for {recipe.engine}")
            chosen[engine] = (recipe, str(path))
    except (ValueError, KeyError, TypeError) as e:
        raise ModelError(path, f"unreadable sweep report ({e}); re-run `make quant-report`") from None
    return chosen
