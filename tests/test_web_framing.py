"""The page's framing (web/pixels.js decoding in Chromium, web/framing.js) against runtime.predict's
(Pillow, runtime/framing.py) on the same files: every Fashion-MNIST test image saved as PNG comes
back as the identical 28x28, and the photo-like corpus of tests/photos.py gets the class
runtime.predict gives it, on at least 97% of its 540 renderings (the pixel differences printed)."""

import numpy as np
import pytest
from PIL import Image

import runtime
from runtime.errors import ImageError
from runtime.images import read_image
from tests.photos import render_corpus
from tests.web import browser_fixture, site_copy_fixture, site_fixture, variants  # noqa: F401
from web.chromium import frame, load, predict, served

pytestmark = pytest.mark.browser
PER_CELL = 30  # renderings per background kind and format: 540, as tests/test_photos.py
SAME_CLASS = 0.97


def test_fashion_mnist_pngs_come_back_identical(site_copy, browser, test_set):
    images = test_set[0]
    (site_copy / "pngs").mkdir()
    files = [site_copy / "pngs" / f"{i:05d}.png" for i in range(len(images))]
    for path, image in zip(files, images, strict=True):
        Image.fromarray(image).save(path, compress_level=1)
    with served(site_copy) as url:
        page = browser.new_page()
        page.goto(url)
        framed = frame(page, site_copy, files)
        page.close()
    errors = [f"{path.name}: {x}" for path, x in zip(files, framed, strict=True) if isinstance(x, str)]
    assert errors == []
    differ = [
        path.name
        for path, x, image in zip(files, framed, images, strict=True)
        if not np.array_equal(x, image)
    ]
    assert differ == []


SHAPES = [(1, 1), (1, 5), (5, 1), (2, 3), (28, 28), (29, 40), (300, 7), (7, 300), (600, 599), (257, 1000)]


@pytest.mark.parametrize("colour", [False, True], ids=["grey", "colour"])
def test_images_of_odd_shapes_are_framed_as_in_python(site_copy, browser, colour):
    """A light square on a noisy dark background, from one pixel to long strips, to the pixel."""
    rng = np.random.default_rng(0)
    (site_copy / "shapes").mkdir()
    files = []
    for height, width in SHAPES:
        pixels = np.full((height, width, 3) if colour else (height, width), 30)
        pixels[
            height // 3 : max(height // 3 + 1, 2 * height // 3),
            width // 3 : max(width // 3 + 1, 2 * width // 3),
        ] = 220
        files.append(site_copy / "shapes" / f"{height}x{width}.png")
        Image.fromarray((pixels + rng.integers(-3, 4, pixels.shape)).astype(np.uint8)).save(files[-1])
    with served(site_copy) as url:
        page = browser.new_page()
        page.goto(url)
        framed = frame(page, site_copy, files)
        page.close()
    for path, in_browser in zip(files, framed, strict=True):
        try:
            assert np.array_equal(in_browser, read_image(path)), path.name
        except ImageError as e:
            assert in_browser == f"{path.name}: {e.reason}"


def test_photos_get_the_class_runtime_predict_gives_them(site_copy, browser, test_set, artifacts):
    (site_copy / "photos").mkdir()
    photos = render_corpus(test_set[0], site_copy / "photos", PER_CELL, seed=0)
    in_python = np.stack([read_image(p.path) for p in photos])
    index, entry = 0, variants(site_copy)[0]
    with served(site_copy) as url:
        page = browser.new_page()
        page.goto(url)
        framed = frame(page, site_copy, [p.path for p in photos])
        assert [x for x in framed if isinstance(x, str)] == []
        in_browser = np.stack(framed)
        load(page, index)
        browser_classes = predict(page, in_browser).argmax(axis=1)
        page.close()
    python_classes = runtime.load(artifacts, variant=entry["variant"]).classify(in_python)
    diff = np.abs(in_browser.astype(int) - in_python).reshape(len(photos), -1)
    same = float(np.mean(browser_classes == python_classes))
    print(
        f"{len(photos)} photos: same class as runtime.predict {same:.1%}; 28x28 inputs identical "
        f"{np.mean(diff.max(axis=1) == 0):.1%}, within 1 grey level {np.mean(diff.max(axis=1) <= 1):.1%}, "
        f"largest difference {diff.max()} levels, mean {diff.mean():.3f}"
    )
    assert same >= SAME_CLASS
