"""The page as a person uses it, in Debian's Chromium, served with its production headers (the
Content-Security-Policy of web/_headers) with and without cross-origin isolation: a dropped photo
gets the class runtime.predict gives it; a file that is not an image, one with nothing in it and a
damaged model each give one clear message and no console error; once loaded it works offline."""

import numpy as np
import pytest
from PIL import Image

import runtime
from runtime.dataset import CLASSES
from runtime.images import read_image
from tests.photos import render
from tests.web import (  # noqa: F401
    browser_fixture,
    drop,
    open_page,
    site_copy_fixture,
    site_fixture,
    top_class,
    variants,
)
from web.chromium import served
from web.serve import read_headers

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def boot_photo(test_set, tmp_path_factory):
    """An ankle boot of the test set as a JPEG product photo on wood."""
    images, labels = test_set
    path = tmp_path_factory.mktemp("photo") / "boot.jpg"
    boot = images[np.flatnonzero(labels == CLASSES.index("Ankle boot"))[0]]
    render(boot, "wood", np.random.default_rng(1)).save(path, quality=85)
    return path


@pytest.mark.parametrize("isolation", [True, False], ids=["with COOP+COEP", "without"])
def test_a_dropped_photo_gets_the_class_runtime_predict_gives_it(
    site, browser, boot_photo, artifacts, isolation, tmp_path
):
    entry = variants(site)[0]
    expected = runtime.load(artifacts, variant=entry["variant"]).predict(read_image(boot_photo))[0]
    with served(site, isolation=isolation) as url:
        page = open_page(browser, url + "?threads=2")  # a CSP violation is a console error
        policy = dict(read_headers(site / "_headers"))["Content-Security-Policy"]
        assert page.headers["content-security-policy"] == policy
        assert page.evaluate("crossOriginIsolated") is isolation
        assert drop(page, boot_photo) == "done"
        page.screenshot(path=tmp_path / "page.png")
    assert top_class(page) == CLASSES[expected.argmax()]
    shown = [float(p.strip(" %")) for p in page.locator("#top .probability").all_inner_texts()]
    assert shown == pytest.approx(
        np.sort(expected)[::-1][:3] * 100, abs=0.5
    )  # percent; the framing may differ by a grey level
    details = page.inner_text("#details")
    assert f"{entry['variant']} (sha256 {entry['sha256'][:12]}): inference" in details
    assert f"{2 if isolation else 1} thread(s)" in page.inner_text("#engine")  # threads need isolation
    assert page.problems == []
    assert Image.open(tmp_path / "page.png").size == (900, 640)
    print(f"screenshot: {tmp_path / 'page.png'}")


def test_bad_files_give_one_clear_message_and_no_console_error(site, browser, tmp_path):
    notes, blank = tmp_path / "notes.txt", tmp_path / "blank.png"
    notes.write_text("not a picture\n")
    Image.new("L", (120, 90), 128).save(blank)
    with served(site) as url:
        page = open_page(browser, url)
        messages = [(drop(page, path), page.inner_text("#message")) for path in (notes, blank)]
        assert page.is_hidden("#result")
    nothing = "nothing stands out from the background: the image differs from it by 0 grey levels at most"
    assert messages == [
        ("error", "notes.txt: not an image this browser can decode (PNG, JPEG, WebP, GIF, BMP)"),
        ("error", f"blank.png: {nothing}"),
    ]
    assert page.problems == []


def test_a_damaged_model_is_refused_with_one_message(site_copy, browser):
    entry = variants(site_copy)[0]
    model = site_copy / entry["path"]
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 1
    model.write_bytes(data)
    with served(site_copy) as url:
        page = open_page(browser, url)
    assert page.get_attribute("body", "data-state") == "error"
    assert page.inner_text("#message") == (
        f"{entry['path']}: checksum mismatch: the file differs from the one this page was built with"
    )
    assert page.problems == []


def test_once_loaded_the_page_works_offline(site, browser, boot_photo):
    with served(site) as url:
        page = open_page(browser, url)
        page.evaluate("navigator.serviceWorker.ready")  # every file of site.json cached
    page.reload()  # the server is gone
    page.wait_for_selector("body[data-state=ready]")
    assert drop(page, boot_photo) == "done"
    assert top_class(page) == "Ankle boot"
    assert page.problems == []
