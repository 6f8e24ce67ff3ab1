"""What the browser tests share: the page built from the session's exported models, Debian's
Chromium (skipped with the reason where it cannot run), and pages that record what went wrong.

    from tests.web import browser_fixture, site_fixture  # noqa: F401 (the fixtures browser, site)
    page = open_page(browser, url)       # page.problems: console errors, uncaught exceptions
"""

import json
import shutil
from pathlib import Path

import pytest

from web.build import ENGINE, build
from web.chromium import chromium, encoded, unavailable

ROOT = Path(__file__).resolve().parents[1]
SETTLED = "body[data-state=ready], body[data-state=done], body[data-state=error]"
FINISHED = "body[data-state=done], body[data-state=error]"
TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".txt": "text/plain"}


@pytest.fixture(scope="session", name="site")
def site_fixture(artifacts, tmp_path_factory) -> Path:
    """dist/web built from the session's exported models."""
    if not (ROOT / "node_modules" / ENGINE).is_dir():
        pytest.skip(f"{ENGINE} is not installed: run `npm ci` (make web-tools does)")
    return build(artifacts, tmp_path_factory.mktemp("site") / "web")


@pytest.fixture(name="site_copy")
def site_copy_fixture(site, tmp_path) -> Path:
    """A private copy of `site` that a test may add files to or damage."""
    return Path(shutil.copytree(site, tmp_path / "web"))


# Per module: a module imports these fixtures, so each has its own, and two Playwright instances may
# not run at once.
@pytest.fixture(scope="module", name="browser")
def browser_fixture():
    reason = unavailable()
    if reason:
        pytest.skip(reason)
    with chromium() as started:
        yield started


def variants(site: Path) -> list[dict]:
    return json.loads((site / "site.json").read_text())["variants"]


def open_page(browser, url: str):
    """A new page at url, settled (model loaded, or an error shown), with `problems`: every console
    error and uncaught exception, which a working page has none of; and the page's `headers`."""
    page = browser.new_page(viewport={"width": 900, "height": 640})
    page.problems = []
    page.on("console", lambda m: m.type == "error" and page.problems.append(f"console: {m.text}"))
    page.on("pageerror", lambda e: page.problems.append(f"uncaught: {e}"))
    page.headers = page.goto(url).headers
    page.wait_for_selector(SETTLED)
    return page


def drop(page, path: Path) -> str:
    """Drop a file on the page's drop zone as a person would; the state it settles in."""
    transfer = page.evaluate_handle(
        """([name, encoded, type]) => {
          const bytes = Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0));
          const transfer = new DataTransfer();
          transfer.items.add(new File([bytes], name, { type }));
          return transfer;
        }""",
        [path.name, encoded(path.read_bytes()), TYPES.get(path.suffix, "")],
    )
    page.dispatch_event("#drop", "drop", {"dataTransfer": transfer})
    page.wait_for_selector(FINISHED)
    return page.get_attribute("body", "data-state")


def top_class(page) -> str:
    return page.inner_text("#top li:first-child .name")
