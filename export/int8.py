"""What export needs of the int8 recipes: each quantized variant's calibration images and recipe,
what its manifest entry records of them, and where to look when the parity gate refuses it."""

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from export.layers import hint, layer_report
from export.recipes import BASELINE_IMAGES, QuantRecipe, calibration_images, chosen_recipes
from runtime.dataset import scaled
from runtime.variants import Precision, Variant


@dataclass(frozen=True)
class Quantization:
    """What an exporter is given after model and filepath, and what the manifest records of it."""

    calibration: np.ndarray | None = None  # float32 0..1 images in the model's input shape
    recipe: QuantRecipe | None = None
    facts: dict = field(default_factory=dict)  # {"quantization": recipe and who chose it}


FLOAT = Quantization()


class Int8Plan:
    """The recipes export follows for one model (see export/recipes.py for which and why)."""

    def __init__(
        self,
        folder: Path,
        model_sha256: str,
        train_images: np.ndarray,
        image_shape: tuple[int, ...] = (28, 28),
    ):
        self.chosen = chosen_recipes(folder, model_sha256)  # recipe family -> (recipe, chosen by)
        self.train_images, self.image_shape = train_images, image_shape

    def quantization(self, variant: Variant) -> Quantization:
        """None for a float32 variant; else its format's chosen int8 recipe made for its precision,
        with that recipe's images when calibrated (BASELINE_IMAGES and no recipe for an int8 variant
        of a format with no recipes: your own)."""
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
        return Quantization(
            self.images(recipe.images), recipe, {"quantization": {**recipe.summary(), "chosen_by": chosen_by}}
        )

    def hints(self, quantization: Quantization, model, test_images: np.ndarray) -> list[str]:
        """For a refused int8 variant made by a recipe: the layer whose output differs most from float."""
        if quantization.recipe is None or quantization.recipe.precision is not Precision.INT8:
            return []
        test = scaled(test_images).reshape(len(test_images), *self.image_shape)
        return [hint(layer_report(model, quantization.recipe, quantization.calibration, test))]

    def images(self, count: int) -> np.ndarray:
        """`count` calibration images (see recipes.calibration_images) in the model's input shape."""
        return calibration_images(self.train_images, count).reshape(count, *self.image_shape)
