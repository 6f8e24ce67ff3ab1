"""Preprocessing: Fashion-MNIST images come back bit-identical; other images are prepared the way
a person would (greyscale, light background inverted, object fitted keeping its aspect ratio).
"""

import numpy as np
import pytest
from PIL import Image, ImageDraw

import runtime
from runtime.errors import ImageError
from runtime.images import MAX_PIXELS, prepare, read_image, read_images
from tests.conftest import RUNNABLE


def reference_object(size=(60, 40)) -> Image.Image:
    """A white, asymmetric boot-like shape on black (an 'L': any flip or rotation shows)."""
    image = Image.new("L", size)
    w, h = size
    draw = ImageDraw.Draw(image)
    draw.rectangle((w // 6, h // 8, w // 3, h * 7 // 8), fill=255)
    draw.rectangle((w // 6, h * 5 // 8, w * 5 // 6, h * 7 // 8), fill=255)
    return image


def test_every_test_array_is_unchanged(test_set):
    """Also with invert=False (--no-invert), which says what Fashion-MNIST is: light on dark."""
    images, _ = test_set
    changed = [
        i
        for i, x in enumerate(images)
        if not (np.array_equal(prepare(x), x) and np.array_equal(prepare(x, invert=False), x))
    ]
    assert changed == []


def test_test_images_saved_as_png_are_bit_identical_and_predict_the_same(test_set, artifacts, tmp_path):
    images = test_set[0][:100]
    paths = []
    for i, x in enumerate(images):
        paths.append(tmp_path / f"{i}.png")
        Image.fromarray(x).save(paths[-1])
    from_files = np.stack([read_image(p) for p in paths])
    assert from_files.dtype == np.uint8
    assert np.array_equal(from_files, images)
    for name in RUNNABLE:
        predictor = runtime.load(artifacts, variant=name)
        assert np.array_equal(predictor.predict(from_files), predictor.predict(images)), name


@pytest.mark.parametrize("invert", [None, False, True])
def test_a_chunk_of_files_gives_what_each_file_gives_alone(test_set, tmp_path, invert):
    """read_images (a folder, a chunk at a time) against read_image file by file: the same inputs
    bit for bit, Fashion-MNIST's unchanged, and each failure in its place."""
    images = test_set[0][:300]
    paths = []
    for i, x in enumerate(images):
        paths.append(str(tmp_path / f"{i}.png"))
        Image.fromarray(x).save(paths[-1])
    odd = {  # position: an image that is no Fashion-MNIST one, or no image
        3: Image.fromarray(255 - images[3]),  # dark on light: framed, not taken as it is
        7: Image.fromarray(images[7] // 20),  # black border, but too dim to stand out
        11: reference_object(),  # larger: trimmed and fitted
        12: Image.fromarray(np.dstack([images[12]] * 3)),  # grey as RGB: the same as grey
    }
    for i, image in odd.items():
        image.save(paths[i])
    (tmp_path / "notes.png").write_text("not an image")
    paths[5], paths[250] = str(tmp_path / "notes.png"), str(tmp_path / "missing.png")
    framed, failed = read_images(paths, invert)
    expected, errors = [], {}
    for i, path in enumerate(paths):
        try:
            expected.append(read_image(path, invert))
        except ImageError as e:
            errors[i] = str(e)
    assert {i: str(e) for i, e in failed.items()} == errors
    assert framed.dtype == np.uint8 and np.array_equal(framed, np.stack(expected))
    if invert is not True:  # Fashion-MNIST's own images come back as they are
        kept = [i for i in range(len(paths)) if i not in errors and i not in odd]
        assert np.array_equal(np.stack([read_image(paths[i]) for i in kept]), images[kept])
    refused = {None: [5, 7, 250], False: [3, 5, 7, 250]}  # --no-invert: 3's object is dark
    assert sorted(errors) == refused[invert] if invert in refused else {5, 250} <= set(errors)


def test_photo_like_copies_keep_their_class(test_set, artifacts, tmp_path):
    """Each test image as a person might photograph it: dark on a white page, 10x larger, off
    centre, JPEG; after preprocessing the model gives nearly always the in-memory answer."""
    images = test_set[0][:150]
    predictor = runtime.load(artifacts, variant="tflite-float32")
    prepared = []
    for x in images:
        page = Image.new("L", (620, 470), 255)
        page.paste(Image.fromarray(255 - x).resize((280, 280), Image.Resampling.BICUBIC), (40, 150))
        page.convert("RGB").save(tmp_path / "photo.jpg", quality=90)
        prepared.append(read_image(tmp_path / "photo.jpg"))
    agreement = (predictor.classify(np.stack(prepared)) == predictor.classify(images)).mean()
    assert agreement >= 0.9


def test_light_background_is_inverted():
    shape = reference_object()
    assert np.array_equal(prepare(Image.fromarray(255 - np.asarray(shape))), prepare(shape))


def test_object_is_fitted_keeping_its_aspect_ratio_and_centred():
    canvas = np.zeros((300, 400), np.uint8)
    canvas[20:60, 300:380] = 200  # a 2:1 bar near a corner, not at full brightness
    out = prepare(canvas)
    rows, cols = np.flatnonzero(out.any(axis=1)), np.flatnonzero(out.any(axis=0))
    assert (cols[0], cols[-1]) == (0, 27)  # the longest edge fills the frame
    assert rows[-1] - rows[0] + 1 == 14 and rows[0] == 7  # half as tall, centred vertically
    assert out.max() == 255  # levels stretched: the object is as bright as Fashion-MNIST's


def test_the_same_object_at_any_size_gives_nearly_the_same_input():
    small = prepare(reference_object((60, 40))).astype(int)
    for size in ((240, 160), (1800, 1200), (3000, 2000)):
        assert np.abs(prepare(reference_object(size)).astype(int) - small).mean() < 8, size


def test_large_jpeg_is_decoded_at_reduced_scale(tmp_path):
    """A 37-megapixel photo is above the cap in full, but JPEG decodes it at 1/8 scale."""
    photo = reference_object((7500, 5000))
    assert photo.width * photo.height > MAX_PIXELS
    photo.save(tmp_path / "phone.jpg", quality=85)
    assert (
        np.abs(
            read_image(tmp_path / "phone.jpg").astype(int) - prepare(reference_object()).astype(int)
        ).mean()
        < 8
    )


@pytest.mark.parametrize(
    "convert",
    [
        lambda a: a.astype(np.float32) / 255,
        lambda a: a.astype(np.float64) / 255,
        lambda a: a.astype(np.uint16) * 257,
        lambda a: a.astype(np.int64),
        lambda a: a[..., np.newaxis],
        lambda a: np.repeat(a[..., np.newaxis], 3, axis=2),
        lambda a: np.dstack([a, a, a, np.full_like(a, 255)]),
    ],
    ids=["float32", "float64", "uint16", "int64", "HxWx1", "RGB", "RGBA"],
)
def test_arrays_of_every_pixel_type_give_the_same_input(test_set, convert):
    x = test_set[0][7]
    assert np.array_equal(prepare(convert(x)), x)


def test_boolean_array_is_black_and_white():
    mask = np.asarray(reference_object()) > 0
    assert np.array_equal(prepare(mask), prepare(reference_object()))


@pytest.mark.parametrize(
    "array, reason",
    [
        (np.full((28, 28), 1.5), "within 0..1"),
        (np.full((28, 28), np.nan), "finite"),
        (np.full((28, 28), 300), "within 0..255"),
        (np.full((28, 28), -1, np.int8), "within 0..255"),
        (np.zeros((28, 28), np.complex64), "unsupported pixel type"),
        (np.array(["a"]), "shaped"),
        (np.zeros((28, 28, 2), np.uint8), "shaped"),
        (np.zeros((0, 28), np.uint8), "no pixels"),
        (np.zeros((2, 28, 28, 1)), "shaped"),
        (np.zeros((28, 28), np.uint8), "nothing stands out"),
        ([[0, 1], [2]], "not an array of pixels"),
    ],
    ids=[
        "float>1",
        "nan",
        "int>255",
        "negative",
        "complex",
        "strings",
        "2-channel",
        "empty",
        "4-d",
        "blank",
        "ragged",
    ],
)
def test_arrays_that_are_not_pixels_are_refused_by_name(array, reason):
    with pytest.raises(ImageError, match=reason) as caught:
        prepare(array, name="camera frame")
    assert str(caught.value).startswith("camera frame: ")


def test_transparent_background_is_composited_not_dropped():
    """A dark object on transparency (dark pixels under the transparent part too) and a light one:
    both come out as the same light object on black."""
    shape = np.asarray(reference_object())
    dark = np.dstack([np.full_like(shape, 40)] * 3 + [shape])
    light = np.dstack([np.full_like(shape, 230)] * 3 + [shape])
    expected = prepare(shape)
    assert np.array_equal(prepare(dark), expected)
    assert np.array_equal(prepare(light), expected)


def test_sixteen_bit_levels_are_scaled_not_clamped(tmp_path):
    """Two object levels in a 16-bit PNG stay two levels (clamping to 255 would merge them)."""
    a = np.zeros((40, 60), np.uint16)
    a[5:35, 10:30], a[5:35, 30:50] = 20000, 40000
    Image.fromarray(a).save(tmp_path / "deep.png")
    out = read_image(tmp_path / "deep.png")
    left, right = out[14, 4], out[14, 23]
    assert right == 255 and 120 <= left <= 135  # 20000 is half of 40000
