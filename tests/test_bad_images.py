"""A corpus of bad and unusual images, each with the behaviour a user expects: a correct result, or
one clean line "path: reason". Checked through the library and, all at once, through the CLI, which
prints the count tried / handled.
"""

import gzip
import io
import os
import re
import struct
import subprocess
import sys
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import runtime
from runtime.dataset import CLASSES
from runtime.errors import ImageError
from runtime.images import prepare, read_image
from tests.conftest import ROOT
from tests.test_images import reference_object

# As root, file permissions do not stop reading: drop the capabilities that bypass them.
UNPRIVILEGED = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"] if os.geteuid() == 0 else []


@dataclass
class Case:
    name: str
    make: Callable[[Path], Path]  # writes the input into a folder, returns the path to give
    error: str | None = None  # regex the reason matches; None: a correct result is expected
    expected: Callable[[], np.ndarray] = lambda: prepare(reference_object())
    tolerance: float = 0.0  # mean absolute difference allowed from `expected` (lossy formats)
    cli_error: str | None = None  # when the CLI's reason differs (it walks a directory)
    unprivileged: bool = False  # only meaningful when permissions apply


def written(name: str, data: bytes) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        (folder / name).write_bytes(data)
        return folder / name

    return make


def saved(name: str, image: Callable[[], Image.Image], **options) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        image().save(folder / name, **options)
        return folder / name

    return make


def encoded(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A valid PNG header for a huge image, with a few bytes of data: a decompression bomb's shape."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def noise(size=(100, 80)) -> Image.Image:
    return Image.fromarray(np.random.default_rng(0).integers(0, 256, size[::-1], dtype=np.uint8))


def ref(mode: str) -> Callable[[], Image.Image]:
    return lambda: reference_object().convert(mode)


def on_transparency(level: int, mode: str) -> Callable[[], Image.Image]:
    """The reference shape at a grey level, everything else transparent (and nearly the same grey)."""

    def image() -> Image.Image:
        shape = np.asarray(reference_object())
        grey = np.where(shape > 0, level, level - 20 if level > 127 else level + 20).astype(np.uint8)
        if mode == "P":
            p = Image.fromarray((shape > 0).astype(np.uint8), "L").convert("P")
            p.putpalette([level + 20] * 3 + [level] * 3)
            p.info["transparency"] = 0
            return p
        return Image.merge(mode, [Image.fromarray(grey)] * (len(mode) - 1) + [Image.fromarray(shape)])

    return image


def grey_28x28(level: int) -> np.ndarray:
    return (np.asarray(reference_object((28, 28))) > 0).astype(np.uint8) * level


def deep(mode: str) -> Callable[[], Image.Image]:
    """The reference shape as 32-bit integers (0..255000) or floats (0..1, with NaN and inf)."""

    def image() -> Image.Image:
        shape = np.asarray(reference_object()).astype(np.float64)
        if mode == "I":
            return Image.fromarray((shape * 1000).astype(np.int32))
        values = (shape / 255).astype(np.float32)
        values[0, :5], values[-1, -1] = np.nan, -np.inf
        return Image.fromarray(values)

    return image


def rotated(orientation: int) -> Callable[[Path], Path]:
    """The reference shape stored turned, with the EXIF orientation that turns it back."""
    undo = {
        1: None,
        2: Image.Transpose.FLIP_LEFT_RIGHT,
        3: Image.Transpose.ROTATE_180,
        4: Image.Transpose.FLIP_TOP_BOTTOM,
        5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_90,
        7: Image.Transpose.TRANSVERSE,
        8: Image.Transpose.ROTATE_270,
    }[orientation]
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored = reference_object() if undo is None else reference_object().transpose(undo)
    return written(f"exif-{orientation}.png", encoded(stored, "PNG", exif=exif))


def line(vertical: bool) -> Callable[[], Image.Image]:
    a = np.full((1, 10_000), 255, np.uint8)
    a[0, 4000:6000] = 0  # a dark segment on white: becomes a light line across the frame
    return lambda: Image.fromarray(a.T.copy() if vertical else a)


def expected_line(vertical: bool) -> Callable[[], np.ndarray]:
    out = np.zeros((28, 28), np.uint8)
    out[14] = 255  # an odd margin puts one more row above, as in Fashion-MNIST
    return lambda: out.T.copy() if vertical else out


def hostile_gif() -> bytes:
    """Frame 1 is the reference shape; frame 2 claims 65535x65535 pixels of garbage."""
    first = encoded(reference_object().convert("P"), "GIF").rstrip(b";")
    descriptor = b"," + struct.pack("<HHHHB", 0, 0, 65535, 65535, 0)
    return first + descriptor + b"\x08\xff" + os.urandom(255) + b"\x00;"


def symlink_loop(folder: Path) -> Path:
    (folder / "loop-a.png").symlink_to(folder / "loop-b.png")
    (folder / "loop-b.png").symlink_to(folder / "loop-a.png")
    return folder / "loop-a.png"


def directory(folder: Path) -> Path:
    (folder / "notes").mkdir()
    (folder / "notes" / "README.txt").write_text("no pictures here\n")
    return folder / "notes"


def unreadable(folder: Path) -> Path:
    path = saved("secret.png", reference_object)(folder)
    path.chmod(0)
    return path


def oversized_text_chunk() -> bytes:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("comment", "x" * 3_000_000, zip=True)  # tiny compressed, 3 MB inflated
    return encoded(reference_object(), "PNG", pnginfo=info)


def corrupt_png_data() -> bytes:
    data = bytearray(encoded(noise(), "PNG"))
    start = data.index(b"IDAT") + 40
    data[start : start + 64] = bytes(64)
    return bytes(data)


NOT_SUPPORTED = "images are not supported"
CORPUS = [
    Case("missing", lambda f: f / "missing.png", "no such file"),
    Case("directory", directory, "a directory, not an image", cli_error="no images in this folder"),
    Case("unreadable", unreadable, "permission denied", unprivileged=True),
    Case("symlink loop", symlink_loop, "too many levels of symbolic links"),
    Case("named pipe", lambda f: os.mkfifo(f / "pipe.png") or f / "pipe.png", "not a regular file"),
    Case("device", lambda f: Path(os.devnull), "not a regular file"),
    Case("empty", written("empty.png", b""), "empty file"),
    Case("random bytes", written("random.png", np.random.default_rng(1).bytes(4096)), "not an image"),
    Case("text named .png", written("notes.png", b"shopping list:\n- shirt\n- boots\n"), "a text file"),
    Case(
        "HTML named .jpg",
        written("page.jpg", b"<!DOCTYPE html><html><body>404</body></html>"),
        "an HTML page",
    ),
    Case("truncated PNG", written("cut.png", encoded(noise(), "PNG")[:5000]), "damaged or truncated"),
    Case(
        "truncated JPEG",
        written("cut.jpg", encoded(noise((400, 300)).convert("RGB"), "JPEG")[:8000]),
        "damaged or truncated",
    ),
    Case("corrupt PNG data", written("corrupt.png", corrupt_png_data()), "damaged or truncated"),
    Case("claims 30 MP", written("claims.png", png_claiming(6000, 5000)), "too large: 6000x5000"),
    Case(
        "decompression bomb", written("bomb.png", png_claiming(40_000, 40_000)), "too large to decode safely"
    ),
    Case(
        "over the size cap", saved("huge.png", lambda: Image.new("L", (5100, 5000))), "too large: 5100x5000"
    ),
    Case(
        "oversized text chunk",
        written("text-chunk.png", oversized_text_chunk()),
        "Decompressed data too large",
    ),
    Case("fully transparent", saved("clear.png", lambda: Image.new("RGBA", (50, 50))), "nothing stands out"),
    Case("1x1", saved("dot.png", lambda: Image.new("L", (1, 1), 128)), "nothing stands out"),
    Case(
        "gzip named .png",
        written("packed.png", gzip.compress(encoded(reference_object(), "PNG"))),
        "not an image",
    ),
    Case("zero width", written("zero.png", png_claiming(0, 40)), "not an image"),
    Case("ICO refused", saved("icon.png", ref("RGB"), format="ICO"), f"ICO {NOT_SUPPORTED}"),
    Case("PCX refused", saved("paint.png", ref("L"), format="PCX"), f"PCX {NOT_SUPPORTED}"),
    Case("EPS refused", saved("print.png", ref("L"), format="EPS"), f"EPS {NOT_SUPPORTED}"),
    Case("QOI refused", saved("qoi.png", ref("RGB"), format="QOI"), f"QOI {NOT_SUPPORTED}"),
    Case("PDF refused", saved("scan.pdf", ref("RGB"), format="PDF"), "a PDF document"),
    Case(
        "SVG refused",
        written("logo.svg", b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>'),
        "an SVG drawing",
    ),
    Case("animated GIF, hostile frame 2", written("anim.gif", hostile_gif())),
    Case("mode 1", saved("mode-1.png", ref("1"))),
    Case("mode L", saved("mode-L.png", ref("L"))),
    Case("mode LA", saved("mode-LA.png", on_transparency(230, "LA"))),
    Case("mode P", saved("mode-P.png", ref("P"))),
    Case("mode P + transparency", saved("mode-P-t.png", on_transparency(30, "P"))),
    Case(
        "mode RGB, red on white",
        saved(
            "mode-RGB.png",
            lambda: Image.merge(
                "RGB",
                [Image.new("L", (60, 40), 255), *[Image.eval(reference_object(), lambda v: 255 - v)] * 2],
            ),
        ),
    ),
    Case("mode RGBA, dark on transparency", saved("mode-RGBA.png", on_transparency(40, "RGBA"))),
    Case("mode CMYK", saved("mode-CMYK.tif", ref("CMYK"))),
    Case("mode CMYK JPEG", saved("mode-CMYK.jpg", ref("CMYK"), quality=95), tolerance=4),
    Case(
        "mode I;16, scaled",
        saved("mode-I16.png", lambda: Image.fromarray(grey_28x28(100) * np.uint16(257))),
        expected=lambda: grey_28x28(100),
    ),
    Case("mode I", saved("mode-I.tif", deep("I"))),
    Case("mode F with NaN and inf", saved("mode-F.tif", deep("F"))),
    *[Case(f"EXIF orientation {n}", rotated(n)) for n in range(1, 9)],
    Case(
        "corrupt EXIF",
        saved("bad-exif.jpg", reference_object, quality=95, exif=b"Exif\x00\x00MM\x00\x2a\xff\xff\xff\xf0"),
        tolerance=4,
    ),
    Case("1x10000", saved("row.png", line(False)), expected=expected_line(False), tolerance=1),
    Case("10000x1", saved("column.png", line(True)), expected=expected_line(True), tolerance=1),
    Case("TIFF named .png", saved("tiff.png", ref("L"), format="TIFF")),
    Case("WebP named .png", saved("webp.png", ref("L"), format="WEBP", lossless=True)),
    Case("BMP named .png", saved("bmp.png", ref("L"), format="BMP")),
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> list[tuple[Case, Path]]:
    assert len(CORPUS) >= 30 and len({case.name for case in CORPUS}) == len(CORPUS)  # issue 5's minimum
    folder = tmp_path_factory.mktemp("corpus")
    return [(case, case.make(folder)) for case in CORPUS]


@pytest.mark.parametrize("index", range(len(CORPUS)), ids=[case.name for case in CORPUS])
def test_each_input_gives_a_result_or_its_reason(corpus, index):
    case, path = corpus[index]
    if case.unprivileged and UNPRIVILEGED:
        pytest.skip("root reads any file; the CLI test runs this case without that privilege")
    if case.error is None:
        out = read_image(path)
        assert out.shape == (28, 28) and out.dtype == np.uint8
        assert np.abs(out.astype(int) - case.expected().astype(int)).mean() <= case.tolerance
    else:
        with pytest.raises(ImageError, match=case.error) as caught:
            read_image(path)
        assert str(caught.value).startswith(f"{path}: ") and "\n" not in str(caught.value)


def test_lowered_pixel_limit_makes_a_bomb_the_way_pillow_tests_do(monkeypatch, tmp_path):
    saved("small.png", reference_object)(tmp_path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 60x40 = 2,400 pixels: over twice the limit
    with pytest.raises(ImageError, match="too large to decode safely"):
        read_image(tmp_path / "small.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 2000)  # between the limit and twice it: a warning
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)  # what the CLI does
        with pytest.raises(ImageError, match="too large to decode safely"):
            read_image(tmp_path / "small.png")


def test_whole_corpus_through_the_cli(corpus, artifacts, capsys):
    """One call with every input: errors are single stderr lines, the rest are classified, exit 1."""
    paths = [str(path) for _, path in corpus]
    result = subprocess.run(
        [*UNPRIVILEGED, sys.executable, "-m", "runtime.predict", "--artifacts", str(artifacts), *paths],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1
    errors = result.stderr.splitlines()
    printed = dict(line.rsplit(": ", 1) for line in result.stdout.splitlines())
    predictor = runtime.load(artifacts)
    handled = []
    for case, path in corpus:
        if case.error is None:
            label = CLASSES[predictor.classify(read_image(path))[0]]
            handled += [case.name] if printed.get(str(path), "").startswith(label + " ") else []
        else:
            mine = [e for e in errors if e.startswith(f"error: {path}: ")]
            reason = case.cli_error or case.error
            handled += [case.name] if len(mine) == 1 and re.search(reason, mine[0]) else []
    assert len(errors) == sum(case.error is not None for case in CORPUS), result.stderr
    with capsys.disabled():
        print(
            f"\nbad-image corpus: {len(CORPUS)} tried, {len(handled)} handled "
            f"({len(errors)} one-line errors, {len(printed)} classified)"
        )
    assert sorted(handled) == sorted(case.name for case in CORPUS), result.stderr
