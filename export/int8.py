"""What export needs of the int8 recipes: each exporter's arguments, what the manifest records, and
where to look when the parity gate refuses an int8 variant."""

import inspect
from pathlib import Path

import numpy as np

from export.layers import hint, layer_report
from export.recipes import BASELINE_IMAGES, calibration_images, chosen_recipes
from runtime.dataset import scaled
from runtime.variants import FORMATS, VARIANTS


class Int8Plan:
    """The recipes export follows for one model (see export/recipes.py for which and why)."""

    def __init__(
        self,
        folder: Path,
        model_sha256: str,
        train_images: np.ndarray,
        image_shape: tuple[int, ...] = (28, 28),
    ):
        self.chosen = chosen_recipes(folder, model_sha256)  # format -> (recipe, chosen by)
        self.train_images, self.image_shape = train_images, image_shape
        self.recorded: dict[str, dict] = {}  # variant -> its manifest fields: {"quantization": ...}
        self.calibration: dict[str, np.ndarray] = {}

    def arguments(self, name: str, exporter) -> tuple:
        """What `exporter` is given after model and filepath: no calibration for float; for int8 the
        recipe's images and the recipe, when the exporter takes a `recipe` (ours do; one of your own
        may not, and then gets BASELINE_IMAGES of calibration alone, and no recipe is recorded)."""
        variant = VARIANTS[name]
        if variant.precision != "int8":
            return (None,)
        recipes = FORMATS[variant.format].recipes
        if recipes not in self.chosen or "recipe" not in inspect.signature(exporter).parameters:
            return (self.images(BASELINE_IMAGES),)
        recipe, chosen_by = self.chosen[recipes]
        self.recorded[name] = {"quantization": {**recipe.summary(), "chosen_by": chosen_by}}
        self.calibration[name] = self.images(recipe.images)
        return self.calibration[name], recipe

    def hints(self, name: str, model, test_images: np.ndarray) -> list[str]:
        """For a refused int8 variant made by a recipe: the layer whose output differs most from float."""
        if name not in self.recorded:
            return []
        recipe = self.chosen[FORMATS[VARIANTS[name].format].recipes][0]
        test = scaled(test_images).reshape(len(test_images), *self.image_shape)
        return [hint(layer_report(model, recipe, self.calibration[name], test))]

    def images(self, count: int) -> np.ndarray:
        """`count` calibration images (see recipes.calibration_images) in the model's input shape."""
        return calibration_images(self.train_images, count).reshape(count, *self.image_shape)
