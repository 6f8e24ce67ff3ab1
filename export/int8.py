"""What export needs of the int8 recipes: each quantized variant's calibration images and recipe,
what its manifest entry records of them, and where to look when the parity gate refuses it."""

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from export.data import ExportData
from export.layers import hint, layer_report
from export.model_source import CheckedModel
from export.recipes import BASELINE_IMAGES, QuantRecipe, chosen_recipes
from runtime.variants import Precision, Variant


@dataclass(frozen=True)
class Quantization:
    """What an exporter is given after model and filepath, and what the manifest records of it."""

    calibration: np.ndarray | None = None  # float32 images as the model takes them (shape and range)
    recipe: QuantRecipe | None = None
    facts: dict = field(default_factory=dict)  # {"quantization": recipe and who chose it}


FLOAT = Quantization()


class Int8Plan:
    """The recipes export follows for one model (see export/recipes.py for which and why)."""

    def __init__(self, folder: Path, model_sha256: str, data: ExportData, checked: CheckedModel):
        self.chosen = chosen_recipes(folder, model_sha256)  # recipe family -> (recipe, chosen by)
        self.data, self.checked = data, checked

    def quantization(self, variant: Variant) -> Quantization:
        """None for a float32 variant; else its format's chosen int8 recipe made for its precision,
        with that recipe's images when calibrated (all the data's calibration images, if fewer: the
        recipe records how many; BASELINE_IMAGES and no recipe for an int8 variant of a format with no
        recipes: your own)."""
        if variant.precision is Precision.FLOAT32:
            return FLOAT
        if variant.format.recipes not in self.chosen:
            if variant.precision is not Precision.INT8:
                raise ValueError(f"{variant}: no recipe makes {variant.precision} {variant.format.name}")
            return Quantization(self.images(BASELINE_IMAGES))
        recipe, chosen_by = self.chosen[variant.format.recipes]
        recipe = replace(recipe, precision=variant.precision)
        if not variant.precision.calibrated:
            return Quantization(None, recipe, {"quantization": recipe.summary()})
        recipe = replace(recipe, images=min(recipe.images, len(self.data.pool)))
        return Quantization(
            self.images(recipe.images), recipe, {"quantization": {**recipe.summary(), "chosen_by": chosen_by}}
        )

    def hints(self, quantization: Quantization, model, test_images: np.ndarray) -> list[str]:
        """For a refused int8 variant made by a recipe: the layer whose output differs most from float."""
        if quantization.recipe is None or quantization.recipe.precision is not Precision.INT8:
            return []
        test = self.checked.as_input(test_images)
        return [hint(layer_report(model, quantization.recipe, quantization.calibration, test))]

    def images(self, count: int) -> np.ndarray:
        """Up to `count` calibration images as the model takes them."""
        return self.checked.as_input(self.data.calibration(count))
