"""Models of any image size, colour and input range, without TensorFlow: the manifest's `input`
(runtime/inputs.py), the Predictor taking (N, H, W) or (N, H, W, 3) images in the model's range,
image files resized as Keras' image_dataset_from_directory resizes them, and the predict CLI on a
bare RGB model.

    pytest tests/test_model_inputs.py
"""

import json

import numpy as np
import pytest
from PIL import Image

import runtime
from runtime.errors import ModelError
from runtime.images import read_image, read_images
from runtime.inputs import FASHION_MNIST, ImageInput, Preprocessing, Range, shape_problem
from runtime.predictor import Predictor
from runtime.resizing import resized
from tests.conftest import run_cli
from tests.tiny import TinyModel

RGB = TinyModel(classes=4, input_shape=(32, 32, 3))
DIGITS = TinyModel(classes=10, input_shape=(8, 8))


def photo(seed: int, size=(200, 150)) -> np.ndarray:
    """A colour image: a smooth gradient with a coloured rectangle on it."""
    rng = np.random.default_rng(seed)
    width, height = size
    y, x = np.mgrid[0:height, 0:width]
    image = np.stack([x * 255 / width, y * 255 / height, np.full((height, width), 90.0)], axis=2)
    top, left = rng.integers(0, height // 2), rng.integers(0, width // 2)
    image[top : top + height // 3, left : left + width // 3] = rng.integers(0, 256, 3)
    return image.astype(np.uint8)


@pytest.mark.parametrize(
    "shape, problem",
    [
        ((28, 28), None),
        ((8, 8, 1), None),
        ((512, 96, 3), None),
        ((600, 600, 3), "images of 8 to 512 pixels a side (height and width) are supported"),
        ((7, 64), "images of 8 to 512 pixels a side (height and width) are supported"),
        ((32, 32, 4), "a classifier here takes images (H, W), (H, W, 1) greyscale or (H, W, 3) RGB"),
        ((32,), "a classifier here takes images (H, W), (H, W, 1) greyscale or (H, W, 3) RGB"),
        ((None, 32), "images of 8 to 512 pixels a side (height and width) are supported"),
    ],
)
def test_the_image_sizes_a_model_may_take(shape, problem):
    assert shape_problem(shape) == problem


def test_the_manifest_input_reads_back_and_refuses_a_damaged_one():
    image = ImageInput.of_shape((32, 32, 3), Range.BYTE)
    assert (image.shape, image.colour, image.preprocessing) == ((32, 32, 3), "rgb", Preprocessing.RESIZE)
    written = json.loads(json.dumps(image.as_json((32, 32, 3), "--input-range")))
    assert written["shape"] == [None, 32, 32, 3] and written["range"] == "0-255"
    assert ImageInput.from_json(written, "m.json") == image
    assert ImageInput.of_shape((28, 28, 1)) == FASHION_MNIST  # framed as Fashion-MNIST unless told
    for damage in ({"range": "0-2"}, {"shape": [None, 600, 600, 3]}, {"colour": "greyscale"}, {"shape": 3}):
        with pytest.raises(ModelError, match="m.json: damaged manifest: 'input'"):
            ImageInput.from_json(written | damage, "m.json")


def test_a_manifest_from_before_inputs_were_described_still_runs():
    """The `input` of earlier manifests (and bundles already on devices): 28x28, pixels / 255."""
    earlier = {"shape": [None, 28, 28], "dtype": "float32", "scaling": "pixels / 255", "layout": "greyscale"}
    assert ImageInput.from_json(earlier, "m.json") == FASHION_MNIST


@pytest.mark.parametrize("int8", [False, True], ids=["float32", "int8"])
def test_an_rgb_model_gets_rgb_images(tmp_path, int8):
    predictor = runtime.load(RGB.tflite(tmp_path / "rgb.tflite", int8=int8))
    assert predictor.image == ImageInput(32, 32, 3, Range.UNIT, Preprocessing.RESIZE)
    images = np.random.default_rng(0).integers(0, 256, (50, 32, 32, 3), np.uint8)
    expected = RGB.reference(images)
    atol = 0.05 if int8 else 1e-5
    np.testing.assert_allclose(predictor.predict(images), expected, atol=atol)
    np.testing.assert_allclose(predictor.predict(images[0]), expected[:1], atol=atol)
    np.testing.assert_allclose(predictor.predict(images / np.float32(255)), expected, atol=atol)
    with pytest.raises(ValueError, match=r"expected images of shape \(N, 32, 32, 3\) or \(32, 32, 3\)"):
        predictor.predict(images[..., 0])


def test_a_model_of_pixels_0_to_255_gets_the_pixels_themselves(tmp_path):
    path = DIGITS.tflite(tmp_path / "digits.tflite")
    image = ImageInput(8, 8, 1, Range.BYTE)
    predictor = Predictor(runtime.load(path).engine, runtime.load(path).file, image=image)
    images = np.random.default_rng(1).integers(0, 256, (20, 8, 8), np.uint8)
    expected = DIGITS.reference(images.astype(np.float32) * 255)  # its float input is the pixel itself
    np.testing.assert_allclose(predictor.predict(images), expected, atol=1e-5)
    np.testing.assert_allclose(predictor.predict(images / np.float32(255)), expected, atol=1e-4)
    np.testing.assert_allclose(
        predictor.predict(images[..., np.newaxis]), expected, atol=1e-5
    )  # (N, 8, 8, 1)


def test_a_greyscale_image_fills_each_channel_of_an_rgb_engine(tmp_path):
    engine = runtime.load(RGB.tflite(tmp_path / "rgb.tflite")).engine
    grey = ImageInput(32, 32, 1)
    predictor = Predictor(engine, runtime.load(tmp_path / "rgb.tflite").file, image=grey)
    images = np.random.default_rng(2).integers(0, 256, (5, 32, 32), np.uint8)
    expected = RGB.reference(np.repeat(images[..., np.newaxis], 3, axis=3))
    np.testing.assert_allclose(predictor.predict(images), expected, atol=1e-5)
    with pytest.raises(ModelError, match="takes 32x32x3 images, not the 8x8 greyscale images"):
        Predictor(engine, predictor.file, image=ImageInput(8, 8, 1))


def test_files_are_resized_whole_in_the_model_colours(tmp_path):
    picture = photo(0)
    Image.fromarray(picture).save(tmp_path / "colour.png")
    Image.fromarray(picture).convert("L").save(tmp_path / "grey.png")
    rgb, grey = ImageInput(32, 32, 3), ImageInput(8, 8, 1)
    assert np.array_equal(read_image(tmp_path / "colour.png", image_input=rgb), resized(picture, 32, 32))
    luma = np.asarray(Image.fromarray(picture).convert("L"))
    assert np.array_equal(read_image(tmp_path / "colour.png", image_input=grey), resized(luma, 8, 8))
    in_each_channel = read_image(tmp_path / "grey.png", image_input=rgb)
    assert in_each_channel.shape == (32, 32, 3) and np.array_equal(
        in_each_channel[..., 0], in_each_channel[..., 2]
    )
    images, failed = read_images([tmp_path / "colour.png", tmp_path / "none.png"], image_input=rgb)
    assert images.shape == (1, 32, 32, 3) and list(failed) == [1]


def test_an_image_of_the_model_size_comes_back_bit_identical(tmp_path):
    image = np.random.default_rng(3).integers(0, 256, (32, 32, 3), np.uint8)
    Image.fromarray(image).save(tmp_path / "same.png")
    assert np.array_equal(read_image(tmp_path / "same.png", image_input=ImageInput(32, 32, 3)), image)


def test_a_large_jpeg_is_resized_from_every_pixel_not_a_draft(tmp_path):
    picture = photo(4, (1600, 1200))
    Image.fromarray(picture).save(tmp_path / "large.jpg", quality=95)
    with Image.open(tmp_path / "large.jpg") as opened:
        decoded = np.asarray(opened.convert("RGB"))
    got = read_image(tmp_path / "large.jpg", image_input=ImageInput(96, 96, 3))
    assert np.array_equal(got, resized(decoded, 96, 96))


def test_predict_frames_photos_for_a_bare_rgb_model(tmp_path):
    model = RGB.tflite(tmp_path / "rgb.tflite", int8=True)
    paths = []
    for i in range(3):
        paths.append(tmp_path / f"photo-{i}.jpg")
        Image.fromarray(photo(10 + i)).save(paths[-1], quality=90)
    result = run_cli("runtime.predict", "--model", model, "--json", *paths)
    records = [json.loads(line) for line in result.stdout.splitlines()]
    predictor = runtime.load(model)
    images, _ = read_images(paths, image_input=predictor.image)
    assert [r["class_id"] for r in records] == predictor.classify(images).tolist()
    refused = run_cli("runtime.predict", "--model", model, "--invert", paths[0], check=False)
    assert refused.returncode == 2
    assert "--invert and --no-fit tune the framing of Fashion-MNIST models; rgb.tflite takes 32x32 rgb" in (
        refused.stderr
    )
