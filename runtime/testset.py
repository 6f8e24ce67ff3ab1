"""The images a manifest's figures were measured on, read back with the Keras reference outputs: the
gate's images and labels export kept in the run folder (`gate.npz`, from the user's --data), or
Fashion-MNIST's test split. Each is checked against the sha256 the manifest records.

    from runtime.testset import read_test_set
    test = read_test_set(Manifest("artifacts/manifest.json"))  # images, labels or None, reference

The manifest's `dataset` says which (see export/data.py, which writes it): "kind" fashion-mnist with
its four files' sha256, or folder/npz with the gate file; "labelled" says whether the labels are the
model's own classes (accuracy is measured only then).
"""

import numpy as np

from runtime.dataset import SPLITS, data_dir, load_split
from runtime.errors import DataError, ModelError
from runtime.files import sha256_file
from runtime.manifest import FileRecord, Manifest
from runtime.parity import TestSet, compare

GATE = "gate.npz"  # in the run folder: the gate's images and labels from the user's data


def read_test_set(manifest: Manifest) -> TestSet:
    """reference.npz (checksum-checked) and the images and labels it was made on."""
    path = manifest.reference()
    try:
        with np.load(path) as npz:
            reference = npz["probabilities"]
    except (OSError, KeyError, ValueError) as e:
        raise ModelError(path, f"not a readable reference ({e})") from None
    if reference.ndim != 2 or reference.shape[1] != len(manifest.classes):
        raise ModelError(
            path,
            f"holds {reference.shape[-1]} class scores per image, but {manifest.path} "
            f"names {len(manifest.classes)} classes; re-run `make export`",
        )
    dataset = manifest.data.get("dataset")
    if not isinstance(dataset, dict) or "labelled" not in dataset:
        raise ModelError(
            manifest.path,
            "'dataset' does not say what the gate ran on (damaged, or written by an earlier version); "
            "re-run `make export`",
        )
    record = gate_file(manifest)
    images, labels = gate_images(record) if record else fashion_mnist_test(dataset)
    if len(images) != len(reference) or images.shape[1:] != manifest.input.shape:
        raise ModelError(path, f"was not made on these {len(images)} images; re-run `make export`")
    labels = labels if dataset["labelled"] else None
    return TestSet(images, labels, reference, compare(reference, labels, reference))


def gate_file(manifest: Manifest) -> FileRecord | None:
    """The file of the gate's images and labels the manifest names (the user's data), or None (the
    gate ran on Fashion-MNIST's own files)."""
    dataset = manifest.data.get("dataset")
    described = dataset.get("gate") if isinstance(dataset, dict) else None
    if described is None:
        return None
    try:
        return FileRecord(manifest.file(described["path"]), described["bytes"], described["sha256"])
    except (TypeError, KeyError):
        raise ModelError(manifest.path, "damaged manifest: 'dataset.gate' must name a file") from None


def gate_images(record: FileRecord) -> tuple[np.ndarray, np.ndarray]:
    """The gate's images and labels from the run folder, after their size and sha256."""
    record.check()
    try:
        with np.load(record.path) as npz:
            return npz["images"], npz["labels"]
    except (OSError, KeyError, ValueError) as e:
        raise ModelError(record.path, f"not a readable gate file ({e})") from None


def fashion_mnist_test(dataset: dict) -> tuple[np.ndarray, np.ndarray]:
    """Fashion-MNIST's test split, once its files are those the export measured on."""
    folder = data_dir("test")
    for name in SPLITS["test"][:2]:
        if sha256_file(folder / name) != dataset.get("files", {}).get(name):
            raise DataError(
                folder / name,
                "not the file the export measured on (its sha256 differs); evaluate on its data",
            )
    return load_split("test", folder)
