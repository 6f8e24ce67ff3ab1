"""Debian's Chromium, headless under Playwright, on the built page served by `python -m web.serve`:
what the browser tests and the browser benchmark share.

    with served(Path("dist/web")) as url, chromium() as browser:
        page = browser.new_page(); page.goto(url)
        probabilities = predict(page, images, variant=0)   # through the page's own model.js

Playwright drives the system's browser (`executable_path`), never one it downloads, and gives it a
new empty profile; the flags keep it from calling out to the network this machine does not have.
Arrays cross into the page as base64 and come back as JSON numbers (float32 values are exact
there).
"""

import base64
import contextlib
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
FLAGS = (
    "--headless",
    "--no-sandbox",  # as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
BATCH = 1000  # images per call into the page

# In the page: load site.json's variant number `index` through model.js, as the page does.
LOAD = """async (index) => {
  const { loadModel, threads } = await import("./model.js");
  const site = await (await fetch("site.json")).json();
  window.model = await loadModel(site.variants[index], site.input);
  return { variant: window.model.entry.variant, threads: threads(), isolated: crossOriginIsolated };
}"""
# Bytes in and out of the page as base64, in slices (String.fromCharCode takes so many arguments).
BASE64 = """
const bytesOf = (text) => {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
};
const base64 = (bytes) => {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 8192) binary += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return btoa(binary);
};"""
PREDICT = (
    "async ([encoded, n]) => {"
    + BASE64
    + """
  const probabilities = await window.model.predict(bytesOf(encoded), n);
  return base64(new Uint8Array(probabilities.buffer, probabilities.byteOffset, probabilities.byteLength));
}"""
)
# Files packed in one file on the site, given by its URL and their [name, length]: each decoded
# (pixels.js) and framed (framing.js), eight at a time. The 784 pixels of each in a row, and the
# errors by position.
FRAME = (
    "async ([url, files]) => {"
    + BASE64
    + """
  const { decode } = await import("./pixels.js");
  const { frame } = await import("./framing.js");
  const packed = await (await fetch(url)).blob();
  let offset = 0;
  const blobs = files.map(([, length]) => packed.slice(offset, (offset += length)));
  const one = (blob, i) =>
    decode(blob, files[i][0]).then((image) => frame(image, files[i][0])).catch((e) => e.message);
  const framed = [];
  for (let i = 0; i < blobs.length; i += 8) {
    framed.push(...(await Promise.all(blobs.slice(i, i + 8).map((blob, k) => one(blob, i + k)))));
  }
  const pixels = new Uint8Array(784 * files.length);
  const errors = {};
  framed.forEach((x, i) => (typeof x === "string" ? (errors[i] = x) : pixels.set(x, 784 * i)));
  return [base64(pixels), errors];
}"""
)


def unavailable() -> str | None:
    """Why the browser cannot run here (a reason to skip), or None."""
    if not CHROMIUM.is_file():
        return f"{CHROMIUM} is missing: install Debian's chromium (make web-tools does, as root)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed: pip install --group dev"
    return None


@contextlib.contextmanager
def served(folder: Path, isolation: bool = True):
    """`python -m web.serve folder` on a free port, for the duration: its URL."""
    command = [sys.executable, "-m", "web.serve", str(folder), "--port", "0"]
    server = subprocess.Popen(
        command + ([] if isolation else ["--no-isolation"]),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = server.stdout.readline()
        if " at " not in line:
            raise RuntimeError(f"web.serve did not start: {line}{server.stderr.read()}")
        yield line.split(" at ")[1].split()[0]
    finally:
        server.terminate()
        server.wait(timeout=10)


@contextlib.contextmanager
def chromium():
    """A headless Chromium with a new empty profile."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=list(FLAGS))
        try:
            yield browser
        finally:
            browser.close()


def encoded(data: bytes | np.ndarray) -> str:
    return base64.b64encode(data if isinstance(data, bytes) else data.tobytes()).decode()


def load(page, index: int) -> dict:
    """Load the site's variant number `index` in the page: its name, threads and isolation."""
    return page.evaluate(LOAD, index)


def predict(page, images: np.ndarray) -> np.ndarray:
    """(N, classes) float32 probabilities of the loaded model for (N, 28, 28) uint8 images."""
    rows = []
    for start in range(0, len(images), BATCH):
        batch = np.ascontiguousarray(images[start : start + BATCH], np.uint8)
        result = page.evaluate(PREDICT, [encoded(batch), len(batch)])
        rows.append(np.frombuffer(base64.b64decode(result), np.float32).reshape(len(batch), -1))
    return np.concatenate(rows)


def frame(page, site: Path, files: list[Path]) -> list[np.ndarray | str]:
    """Each file decoded and framed in the page: (28, 28) uint8, or the page's error message. The
    files travel packed, a thousand to a file put in the served site folder."""
    out = []
    packed = site / "framing-input.bin"
    for start in range(0, len(files), BATCH):
        contents = [p.read_bytes() for p in files[start : start + BATCH]]
        packed.write_bytes(b"".join(contents))
        names = [[p.name, len(c)] for p, c in zip(files[start : start + BATCH], contents, strict=True)]
        pixels, errors = page.evaluate(FRAME, [f"{packed.name}?{start}", names])
        images = np.frombuffer(base64.b64decode(pixels), np.uint8).reshape(-1, 28, 28)
        out += [errors.get(str(i), image) for i, image in enumerate(images)]
    packed.unlink()
    return out
