"""The IDX reader on the real Fashion-MNIST files and on damaged copies of them."""

import gzip
import os
import shutil

import numpy as np
import pytest

from runtime.dataset import CLASSES, DATA_ENV, data_dir, dataset_sha256, load_split, split_files
from runtime.errors import DataError
from tests.conftest import run_cli

TEST_IMAGES, TEST_LABELS = "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"


def test_real_test_split(test_set):
    images, labels = test_set
    assert images.shape == (10_000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10_000,) and labels.dtype == np.uint8
    assert np.bincount(labels).tolist() == [1000] * len(CLASSES)
    assert images.max() == 255 and images.min() == 0
    assert 0.28 < images.mean() / 255 < 0.29  # Fashion-MNIST's well-known mean, 0.286


def test_real_train_split():
    images, labels = load_split("train")
    assert images.shape == (60_000, 28, 28)
    assert np.bincount(labels).tolist() == [6000] * len(CLASSES)


def test_dataset_checksums_name_exactly_the_changed_file(data_copy):
    """What the manifest's sums are for: a changed data file changes its own sum and no other."""
    sums = dataset_sha256(data_copy)
    assert sorted(sums) == sorted(split_files()) and sums == dataset_sha256()
    changed = data_copy / TEST_LABELS
    changed.write_bytes(changed.read_bytes() + b"\0")
    after = dataset_sha256(data_copy)
    assert [name for name in sums if sums[name] != after[name]] == [TEST_LABELS]


@pytest.fixture
def data_copy(tmp_path, monkeypatch):
    """A private copy of the four files, pointed at by FMNIST_DATA."""
    for name in split_files():
        shutil.copyfile(data_dir() / name, tmp_path / name)
    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    return tmp_path


def rewrite(path, edit):
    """Replace the decompressed content of a .gz file by edit(content)."""
    raw = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(edit(raw), compresslevel=1))


def set_u32(raw: bytes, offset: int, value: int) -> bytes:
    return raw[:offset] + value.to_bytes(4, "big") + raw[offset + 4 :]


DAMAGES = {
    "truncated gzip": (TEST_IMAGES, None, "not a readable gzip file"),
    "not gzip": (TEST_LABELS, None, "not a readable gzip file"),
    "wrong magic": (TEST_IMAGES, lambda r: set_u32(r, 0, 0x0801), "wrong magic number"),
    "wrong count": (TEST_IMAGES, lambda r: set_u32(r, 4, 9_999), "dimensions"),
    "wrong width": (TEST_IMAGES, lambda r: set_u32(r, 8, 27), "dimensions"),
    "short body": (TEST_IMAGES, lambda r: r[:-784], "data bytes"),
    "long body": (TEST_LABELS, lambda r: r + b"\0", "data bytes"),
    "header only": (TEST_LABELS, lambda r: r[:4], "too short"),
    "label out of range": (TEST_LABELS, lambda r: r[:-1] + b"\x0a", "out of range"),
    "fewer labels than images": (TEST_LABELS, lambda r: set_u32(r, 4, 9_999)[:-1], "dimensions"),
}


@pytest.mark.parametrize("damage", DAMAGES, ids=list(DAMAGES))
def test_damaged_file_names_the_file_and_reason(data_copy, damage):
    name, edit, reason = DAMAGES[damage]
    path = data_copy / name
    if damage == "truncated gzip":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif damage == "not gzip":
        path.write_bytes(b"<html>not found</html>")
    else:
        rewrite(path, edit)
    with pytest.raises(DataError) as error:
        load_split("test")
    assert error.value.path == str(path) and reason in error.value.reason


def test_missing_data_says_where_it_looked_and_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    with pytest.raises(DataError) as error:
        data_dir()
    message = str(error.value)
    assert str(tmp_path) in message and "apt-get install dataset-fashion-mnist" in message
    assert DATA_ENV in message


def test_train_refuses_damaged_data_before_training(data_copy, tmp_path, keras):
    (data_copy / TEST_LABELS).write_bytes(b"")
    env = {**os.environ, DATA_ENV: str(data_copy)}
    result = run_cli("train", "--out", tmp_path / "out", check=False, env=env)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith(f"error: {data_copy / TEST_LABELS}: ")
    assert "Traceback" not in result.stderr and "epoch" not in result.stdout
    assert not (tmp_path / "out").exists()
