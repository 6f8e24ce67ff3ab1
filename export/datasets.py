"""The user's labelled images, as `--data` and `--data-test` name them: a folder laid out for Keras'
image_dataset_from_directory, or an .npz of arrays. Read in two steps, so that a refusal comes as
early as it can: the layout (before TensorFlow is imported), then the images at the model's size.

    source = labelled(Path("photos"))        # Folder or Arrays; DataError when the layout is wrong
    images, labels = source.read(image)      # uint8 (N, *image.shape), (N,); Refusals naming every bad file

A folder: one subfolder per class, the sorted folder names are the class names and their positions
the labels; images (.bmp .gif .jpeg .jpg .png) anywhere below a class folder, each decoded whole and
resized to the model's input as image_dataset_from_directory does by default (bilinear, aspect ratio
not kept: runtime/resizing.py), greyscale images given in each channel of an RGB model as Keras
does. A colour image for a greyscale model is refused rather than guessed at. An .npz: `x` (N, H, W)
or (N, H, W, C) at the model's size, uint8 pixels or float 0..1, `y` (N,) whole-number labels and
optionally `classes` (their names).
"""

import hashlib
import os
import zipfile
from pathlib import Path

import numpy as np

from runtime.errors import DataError, ImageError, Refusals
from runtime.files import sha256_file
from runtime.images import decode, shaped
from runtime.inputs import ImageInput
from runtime.progress import progress

SUFFIXES = (".bmp", ".gif", ".jpeg", ".jpg", ".png")  # what image_dataset_from_directory reads


class Folder:
    """A folder of class folders; `files` pairs each image file with its label."""

    kind = "folder"

    def __init__(self, path: Path):
        self.path = path
        class_folders = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
        if not class_folders:
            raise DataError(
                path,
                "no class folders: put each class's images in a subfolder named after the class "
                "(the layout image_dataset_from_directory reads)",
            )
        if len(class_folders) == 1:
            raise DataError(
                path, f"holds one class folder ({class_folders[0].name}); a classifier needs at least two"
            )
        self.classes = [folder.name for folder in class_folders]
        self.files, problems = [], []
        for label, folder in enumerate(class_folders):
            found = listed(folder, problems)
            if not found and not problems:
                problems.append(
                    DataError(folder, f"no images ({' '.join(SUFFIXES)}) in this class folder or below")
                )
            self.files += [(file, label) for file in found]
        if problems:
            raise Refusals(problems, path)
        self.sha256 = None  # of every file's name and content, once read

    @property
    def labels(self) -> np.ndarray:
        return np.array([label for _, label in self.files], np.int64)

    def read(self, image: ImageInput) -> tuple[np.ndarray, np.ndarray]:
        """Every image at the model's size and its label; Refusals naming each file that cannot be used."""
        images = np.empty((len(self.files), *image.shape), np.uint8)
        problems, digest = [], hashlib.sha256()
        for i, (file, _) in enumerate(progress(self.files, f"read {self.path}")):
            try:
                pixels = decode(file)
                digest.update(f"{file.relative_to(self.path)}\0{sha256_file(file)}\n".encode())
            except (ImageError, OSError) as e:
                problems.append(e if isinstance(e, ImageError) else ImageError(file, str(e.strerror)))
                continue
            if pixels.ndim == 3 and image.channels == 1:
                problems.append(DataError(file, f"a colour image; the model takes {image} images"))
                continue
            images[i] = shaped(pixels, file, image)
        if problems:
            raise Refusals(problems, self.path)
        self.sha256 = digest.hexdigest()
        return images, self.labels


def listed(folder: Path, problems: list) -> list[Path]:
    """A class folder's image files, recursively and sorted; listing failures go to `problems`."""
    found = []
    for top, dirs, files in os.walk(
        folder, onerror=lambda e: problems.append(DataError(e.filename, f"cannot list it ({e.strerror})"))
    ):
        dirs.sort()
        found += [
            Path(top, name)
            for name in sorted(files)
            if not name.startswith(".") and name.lower().endswith(SUFFIXES)
        ]
    return found


class Arrays:
    """An .npz holding x, y and optionally classes, checked as far as it can be without the model."""

    kind = "npz"

    def __init__(self, path: Path):
        self.path = path
        try:
            loaded = np.load(path, allow_pickle=False)
            if not isinstance(loaded, np.lib.npyio.NpzFile):
                raise ValueError("one array (.npy), not named arrays")
            with loaded as npz:
                arrays = {key: npz[key] for key in npz.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
            raise DataError(path, f"not a readable .npz file ({str(e).splitlines()[0]})") from None
        missing = [key for key in ("x", "y") if key not in arrays]
        if missing:
            raise DataError(path, f"lacks {' and '.join(missing)}: an .npz of images x and labels y")
        x, y = arrays["x"], arrays["y"]
        if x.ndim not in (3, 4) or len(x) != len(y) or y.ndim != 1 or not len(y):
            raise DataError(
                path, f"x {x.shape} and y {y.shape} are not N images (N, H, W[, C]) and their N labels"
            )
        if y.dtype.kind not in "iu" or y.min() < 0:
            raise DataError(path, f"y must hold labels 0, 1, 2...: whole numbers, not {y.dtype}")
        if x.dtype.kind == "f" and not (np.isfinite(x).all() and x.min() >= 0 and x.max() <= 1):
            raise DataError(path, "float images x must hold values 0..1 (pixels / 255)")
        if x.dtype != np.uint8 and x.dtype.kind != "f":
            raise DataError(path, f"x must hold uint8 pixels or floats 0..1, not {x.dtype}")
        classes = arrays.get("classes")
        if classes is not None and (classes.ndim != 1 or classes.dtype.kind != "U"):
            raise DataError(path, "classes must be a list of names (strings), one per label")
        if len(np.unique(y)) < 2:
            raise DataError(path, f"y holds one class only ({y[0]}); a classifier needs at least two")
        self.x = x if x.dtype == np.uint8 else np.rint(x * 255).astype(np.uint8)
        self.y = y.astype(np.int64)
        self.classes = None if classes is None else [str(c) for c in classes]
        self.sha256 = sha256_file(path)

    @property
    def labels(self) -> np.ndarray:
        return self.y

    def read(self, image: ImageInput) -> tuple[np.ndarray, np.ndarray]:
        """x as the model takes it (greyscale (N, H, W, 1) as (N, H, W)); DataError when its size or
        colour is not the model's."""
        x = self.x[..., 0] if self.x.ndim == 4 and self.x.shape[3] == 1 else self.x
        if x.shape[1:] != image.shape:
            colours = {2: "greyscale", 3: "rgb" if x.shape[-1] == 3 else f"{x.shape[-1]}-channel"}
            raise DataError(
                self.path,
                f"x holds {'x'.join(map(str, x.shape[1:3]))} {colours[x.ndim - 1]} images; the model "
                f"takes {image} images {image.shape}",
            )
        return x, self.y


def labelled(path: Path) -> Folder | Arrays:
    """What --data or --data-test names: a folder of class folders, or an .npz file."""
    if not path.exists():
        raise DataError(path, "no such file or folder")
    if path.is_dir():
        return Folder(path)
    if path.suffix != ".npz":
        raise DataError(path, "neither a folder of class folders nor an .npz file (x, y, optionally classes)")
    return Arrays(path)
