"""Read the original Fashion-MNIST IDX files (gzip + numpy, no TensorFlow) and check them.

The files come from the Debian package `dataset-fashion-mnist`; set FMNIST_DATA to a folder holding
the four `.gz` files to use another copy.
"""

import gzip
import hashlib
import os
import zlib
from pathlib import Path

import numpy as np

from runtime.errors import DataError

CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
DATA_ENV = "FMNIST_DATA"
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
SPLITS = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", 60_000),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", 10_000),
}
IMAGE_MAGIC, LABEL_MAGIC = 0x0803, 0x0801  # unsigned bytes; 3 and 1 dimensions


def split_files(*splits: str) -> tuple[str, ...]:
    """The file names of the given splits (all four when none is named)."""
    return tuple(name for split in splits or SPLITS for name in SPLITS[split][:2])


def data_dir(*splits: str) -> Path:
    """The folder holding the files of `splits` (default: all four): $FMNIST_DATA if set, else the
    Debian package's folder. A device that only evaluates needs just the two test files."""
    folder = Path(os.environ.get(DATA_ENV) or DEBIAN_DIR)
    missing = [name for name in split_files(*splits) if not (folder / name).is_file()]
    if missing:
        how = (
            f"set {DATA_ENV} to a folder holding the Fashion-MNIST .gz files, "
            "or run `apt-get install dataset-fashion-mnist` (make setup does)"
        )
        raise DataError(folder, f"missing {', '.join(missing)}; {how}")
    return folder


def read_idx(path: Path, magic: int, shape: tuple[int, ...]) -> np.ndarray:
    """Decode one gzipped IDX file, checking its magic number, dimensions and length."""
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise DataError(path, "no such file") from None
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(path, f"not a readable gzip file ({e})") from None
    ndim = len(shape)
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(path, f"too short for an IDX header ({len(raw)} bytes)")
    found_magic = int.from_bytes(raw[:4], "big")
    if found_magic != magic:
        raise DataError(path, f"wrong magic number 0x{found_magic:08x}, expected 0x{magic:08x}")
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    if dims != shape:
        raise DataError(path, f"dimensions {dims}, expected {shape}")
    body = len(raw) - header
    if body != int(np.prod(shape)):
        raise DataError(path, f"holds {body} data bytes, its header promises {int(np.prod(shape))}")
    return np.frombuffer(raw, np.uint8, offset=header).reshape(shape)


def load_split(split: str, folder: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 28, 28) uint8 and labels (N,) uint8 of the 'train' or 'test' split."""
    folder = folder or data_dir(split)
    images_name, labels_name, count = SPLITS[split]
    images = read_idx(folder / images_name, IMAGE_MAGIC, (count, 28, 28))
    labels = read_idx(folder / labels_name, LABEL_MAGIC, (count,))
    if labels.max() >= len(CLASSES):
        raise DataError(folder / labels_name, f"label {labels.max()} out of range 0..{len(CLASSES) - 1}")
    return images, labels


def scaled(images: np.ndarray) -> np.ndarray:
    """Pixels 0..255 to the model's float32 input 0..1: the one scaling training, export and the
    runtime's lookup table all use, so their values are bit-identical."""
    return images.astype(np.float32) / np.float32(255)


def dataset_sha256(folder: Path | None = None) -> dict[str, str]:
    """sha256 of each of the four files, to record exactly which data a model saw."""
    folder = folder or data_dir()
    return {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in split_files()}
