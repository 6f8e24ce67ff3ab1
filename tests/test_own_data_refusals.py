"""Data and models `python -m export` cannot use: one line each naming the file or folder (a line per
bad file), exit status 1, no traceback, and nothing written, not even the output folder.

    pytest tests/test_own_data_refusals.py

The images are real: scikit-learn's bundled handwritten digits (8x8 greyscale) of classes 0, 1, 2.
The models are small and untrained (a refusal comes before any number is computed).
"""

import numpy as np
import pytest
from PIL import Image

DIGITS = 3  # classes 0, 1, 2
PER_CLASS = 6


@pytest.fixture(scope="module")
def export_cli(keras):
    import export.__main__

    return export.__main__


@pytest.fixture(scope="module")
def models(keras, tmp_path_factory) -> dict:
    """Untrained models, by name: 8x8 greyscale of 3 classes (with and without a Rescaling layer
    first), 32x32 RGB, and 600x600 RGB (beyond the limit)."""
    folder, layers = tmp_path_factory.mktemp("models"), keras.layers

    def saved(name, *stack):
        model = keras.Sequential([*stack, layers.Flatten(), layers.Dense(DIGITS, activation="softmax")])
        model.save(folder / f"{name}.keras")
        return folder / f"{name}.keras"

    return {
        "grey8": saved("grey8", keras.Input((8, 8))),
        "rescaled": saved("rescaled", keras.Input((8, 8)), layers.Rescaling(1 / 255, name="to_unit")),
        "rgb32": saved("rgb32", keras.Input((32, 32, 3))),
        "600": saved("600", keras.Input((600, 600, 3)), layers.GlobalAveragePooling2D()),
    }


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    """PER_CLASS real 8x8 digits of each of the first DIGITS classes, uint8 0..255, and labels."""
    from sklearn.datasets import load_digits

    loaded = load_digits()
    keep = np.concatenate([np.flatnonzero(loaded.target == c)[:PER_CLASS] for c in range(DIGITS)])
    return np.rint(loaded.images[keep] * 255 / 16).astype(np.uint8), loaded.target[keep]


def png_folder(folder, images, labels, names=None):
    """A folder of class folders (named by `names`, default the digits) of PNG files."""
    for i, (image, label) in enumerate(zip(images, labels, strict=True)):
        (folder / (names or "012")[label]).mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(folder / (names or "012")[label] / f"{i:03d}.png")
    return folder


def case_unreadable(tmp, digits, models):
    data = png_folder(tmp / "data", *digits)
    truncated, text = data / "1" / "truncated.png", data / "2" / "notes.png"
    truncated.write_bytes((data / "1" / "006.png").read_bytes()[:60])  # into its pixel data
    text.write_text("not an image\n")
    return ["--model", models["grey8"], "--data", data], [
        f"{truncated}: damaged or truncated image",
        f"{text}: a text file, not an image",
    ]


def case_one_class(tmp, digits, models):
    images, labels = digits
    data = png_folder(tmp / "data", images[labels == 0], labels[labels == 0])
    return ["--model", models["grey8"], "--data", data], [
        f"{data}: holds one class folder (0); a classifier needs at least two"
    ]


def case_no_class_folders(tmp, digits, models):
    data = tmp / "data"
    data.mkdir()
    Image.fromarray(digits[0][0]).save(data / "loose.png")
    return ["--model", models["grey8"], "--data", data], [
        f"{data}: no class folders: put each class's images"
    ]


def case_empty_class(tmp, digits, models):
    data = png_folder(tmp / "data", *digits)
    (data / "3").mkdir()
    return ["--model", models["grey8"], "--data", data], [
        f"{data / '3'}: no images (.bmp .gif .jpeg .jpg .png) in this class folder or below"
    ]


def case_colour_for_greyscale(tmp, digits, models):
    data = png_folder(tmp / "data", *digits)
    colour = data / "2" / "colour.png"
    Image.fromarray(np.stack([digits[0][0], digits[0][1], digits[0][2]], axis=2)).save(colour)
    return ["--model", models["grey8"], "--data", data], [
        f"{colour}: a colour image; the model takes 8x8 greyscale images"
    ]


def case_colour_npz_for_greyscale(tmp, digits, models):
    images, labels = digits
    np.savez(tmp / "rgb.npz", x=np.repeat(images[..., np.newaxis], 3, axis=3), y=labels)
    return ["--model", models["grey8"], "--data", tmp / "rgb.npz"], [
        f"{tmp / 'rgb.npz'}: x holds 8x8 rgb images; the model takes 8x8 greyscale images (8, 8)"
    ]


def case_empty_split(tmp, digits, models):
    images, labels = digits
    keep = np.concatenate([np.flatnonzero(labels != 2), np.flatnonzero(labels == 2)[:1]])
    data = png_folder(tmp / "data", images[keep], labels[keep])
    return ["--model", models["grey8"], "--data", data], [
        f"{data / '2'}: 1 image of class '2': too few to split into calibration and gate (one each at "
        "least); add images or give --data-test"
    ]


def case_test_classes_differ(tmp, digits, models):
    data = png_folder(tmp / "data", *digits)
    test = png_folder(tmp / "test", *digits, names="019")
    return ["--model", models["grey8"], "--data", data, "--data-test", test], [
        f"{test}: its classes (0, 1, 9) are not those of {data} (0, 1, 2)"
    ]


def case_more_classes_than_scores(tmp, digits, models):
    images, labels = digits
    data = png_folder(tmp / "data", images, labels)
    png_folder(data, images[:2], np.array([3, 3]), names="0123")
    return ["--model", models["grey8"], "--data", data], [
        f"{data}: holds 4 classes (0, 1, 2, 3), but {models['grey8']} gives 3 class scores"
    ]


def case_classes_contradict(tmp, digits, models):
    data = png_folder(tmp / "data", *digits)
    (tmp / "labels.txt").write_text("zero\none\ntwo\n")
    return ["--model", models["grey8"], "--data", data, "--classes", tmp / "labels.txt"], [
        f"{tmp / 'labels.txt'}: names the classes zero, one, two, but {data}'s are 0, 1, 2 "
        "(with --data, the data names them)"
    ]


def case_npz_label_out_of_range(tmp, digits, models):
    images, labels = digits
    np.savez(tmp / "d.npz", x=images, y=np.where(labels == 2, 5, labels))
    return ["--model", models["grey8"], "--data", tmp / "d.npz"], [
        f"{tmp / 'd.npz'}: holds label 5, but the model gives 3 class scores (labels 0..2)"
    ]


def case_npz_without_labels(tmp, digits, models):
    np.savez(tmp / "d.npz", x=digits[0])
    return ["--model", models["grey8"], "--data", tmp / "d.npz"], [
        f"{tmp / 'd.npz'}: lacks y: an .npz of images x and labels y"
    ]


def case_neither_folder_nor_npz(tmp, digits, models):
    (tmp / "d.csv").write_text("x,y\n")
    return ["--model", models["grey8"], "--data", tmp / "d.csv"], [
        f"{tmp / 'd.csv'}: neither a folder of class folders nor an .npz file"
    ]


def case_no_data_for_a_colour_model(tmp, digits, models):
    return ["--model", models["rgb32"]], [
        f"{models['rgb32']}: takes 32x32 rgb images; without --data the gate runs on Fashion-MNIST, which "
        "fits 28x28 greyscale models only: give your labelled images with --data DIR (one folder per "
        "class) or --data file.npz"
    ]


def case_600x600(tmp, digits, models):
    return ["--model", models["600"]], [
        f"{models['600']}: expects input shape [batch, 600, 600, 3]; images of 8 to 512 pixels a side "
        "(height and width) are supported"
    ]


def case_range_contradicts_rescaling(tmp, digits, models):
    data = png_folder(tmp / "data", *digits)
    return ["--model", models["rescaled"], "--data", data, "--input-range", "0-1"], [
        f"{models['rescaled']}: starts with a Rescaling layer (to_unit), so it takes 0..255 pixels, "
        "not the 0-1 that --input-range says"
    ]


CASES = {name.removeprefix("case_"): case for name, case in globals().items() if name.startswith("case_")}


@pytest.mark.parametrize("name", CASES)
def test_what_export_cannot_use_is_one_line_each_and_nothing_is_written(
    export_cli, models, digits, tmp_path, capsys, name
):
    args, expected = CASES[name](tmp_path, digits, models)
    out = tmp_path / "out"
    assert export_cli.main([*map(str, args), "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert "Traceback" not in "".join(err)
    assert len(err) == len(expected) and all(
        line.startswith(f"error: {want}") for line, want in zip(err, expected, strict=True)
    ), err
    assert not out.exists()  # nothing written, not even the folder


def test_more_bad_files_than_shown_are_counted(export_cli, models, digits, tmp_path, capsys):
    data = png_folder(tmp_path / "data", *digits)
    for i in range(25):
        (data / "0" / f"bad-{i:02d}.png").write_text("no")
    assert (
        export_cli.main(["--model", str(models["grey8"]), "--data", str(data), "--out", str(tmp_path / "o")])
        == 1
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 21 and err[-1] == f"error: {data}: 5 more files cannot be used like these"


def test_data_test_needs_data(export_cli, models, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        export_cli.main(["--model", str(models["grey8"]), "--data-test", str(tmp_path)])
    assert exit_.value.code == 2 and "--data-test needs --data" in capsys.readouterr().err
