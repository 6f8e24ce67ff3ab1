"""The page's own inference module (web/model.js, ONNX Runtime Web in Debian's Chromium) gives the
answers of native onnxruntime on the same model file, for all 10,000 test images and every ONNX
variant the page offers: the same class for each, probabilities within 1e-5."""

import numpy as np
import pytest

import runtime
from tests.web import browser_fixture, site_fixture, variants  # noqa: F401
from web.chromium import load, predict, served

pytestmark = pytest.mark.browser
MAX_PROBABILITY_DIFF = 1e-5


@pytest.mark.parametrize("precision", ["int8", "float32"])
def test_the_browser_answers_as_native_onnxruntime_on_every_test_image(site, browser, test_set, precision):
    images = test_set[0]
    index, entry = next((i, v) for i, v in enumerate(variants(site)) if v["precision"] == precision)
    with served(site) as url:
        page = browser.new_page()
        page.goto(url)
        assert load(page, index)["variant"] == entry["variant"]
        in_browser = predict(page, images)
        page.close()
    native = runtime.load(site / entry["path"]).predict(images)
    diff = np.abs(in_browser - native).max()
    same = int((in_browser.argmax(axis=1) == native.argmax(axis=1)).sum())
    print(f"{entry['variant']} in Chromium: {same:,}/{len(images):,} same class, max diff {diff:.1e}")
    assert same == len(images)
    assert diff <= MAX_PROBABILITY_DIFF
