"""Property tests over preprocessing: any array, any image of any size and mode, any file (valid or
damaged) gives a (28, 28) uint8 model input (0..255, i.e. 0..1 after the model's /255) or our
ImageError, never an exception of another type; and each outcome is the right one: an input is
refused only for what is wrong with it, an object that stands out is prepared, and a file gives
what Pillow's own reading of it gives in memory.
"""

import io
import os

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays
from PIL import Image

from runtime.errors import ImageError
from runtime.images import FORMATS as IMAGE_FORMATS
from runtime.images import prepare, read_image

SETTINGS = settings(
    max_examples=int(os.environ.get("PROPERTY_EXAMPLES", 300)),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
DTYPES = [
    np.uint8,
    np.uint16,
    np.int8,
    np.int16,
    np.int32,
    np.int64,
    np.float16,
    np.float32,
    np.float64,
    np.bool_,
    np.complex64,
]
MODES = [
    "1",
    "L",
    "LA",
    "La",
    "P",
    "PA",
    "RGB",
    "RGBA",
    "RGBa",
    "RGBX",
    "CMYK",
    "YCbCr",
    "LAB",
    "HSV",
    "I",
    "I;16",
    "I;16B",
    "F",
]
FORMATS = ["PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP", "PPM"]


NOTHING = "nothing stands out from the background"


def outcome(make) -> np.ndarray | str:
    """Run one preprocessing call: its model input, or the reason of its ImageError (nothing else
    may come out)."""
    try:
        out = make()
    except ImageError as e:
        assert "\n" not in str(e) and e.reason and str(e) == f"{e.path}: {e.reason}"
        return e.reason
    assert isinstance(out, np.ndarray) and out.shape == (28, 28) and out.dtype == np.uint8
    return out


def same(a: np.ndarray | str, b: np.ndarray | str) -> bool:
    return a == b if isinstance(a, str) or isinstance(b, str) else np.array_equal(a, b)


def pixel_problem(a: np.ndarray) -> str | None:
    """Why prepare() must refuse this array, from its documented contract (start of the reason)."""
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (1, 3, 4)):
        return "expected pixels shaped"
    if a.size == 0:
        return "has no pixels"
    if a.dtype.kind == "f" and not (np.isfinite(a).all() and a.min() >= 0 and a.max() <= 1):
        return "float pixels must be finite and within 0..1"
    if a.dtype.kind in "iu" and a.dtype != np.uint16 and (a.min() < 0 or a.max() > 255):
        return "integer pixels must lie within 0..255"
    if a.dtype.kind not in "biuf":
        return "unsupported pixel type"
    return None


def as_uint8(a: np.ndarray) -> np.ndarray:
    """The documented conversion of valid pixels: bool is 0/255, float 0..1 and uint16 are scaled."""
    if a.dtype == bool:
        return a.astype(np.uint8) * 255
    if a.dtype.kind == "f":
        return np.rint(a.astype(np.float64) * 255).astype(np.uint8)
    if a.dtype == np.uint16:
        return np.rint(a / 257).astype(np.uint8)
    return a.astype(np.uint8)


def one_colour(pixels: np.ndarray) -> bool:
    """Every pixel (H, W) or (H, W, C) the same."""
    return bool((pixels == pixels.reshape(-1, *pixels.shape[2:])[0]).all())


def stands_out_from_black(pixels: np.ndarray) -> bool:
    """Whether some pixel lies MIN_CONTRAST (16) grey levels from black, by root mean square over
    its channels: what the framing must find on a black background (as an integer comparison)."""
    squares = pixels.astype(np.int64) ** 2
    return bool((squares if squares.ndim == 2 else squares.mean(axis=2)).max() >= 16**2)


sides = st.integers(1, 64)
any_shape = st.one_of(
    st.tuples(sides, sides),
    st.tuples(sides, sides, st.integers(1, 5)),
    array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5),
)


@SETTINGS
@given(arrays(st.sampled_from(DTYPES), any_shape))
def test_any_array(array):
    got = outcome(lambda: prepare(array))
    problem = pixel_problem(array)
    if problem:
        assert isinstance(got, str) and got.startswith(problem), (problem, got)
        return
    pixels = as_uint8(array[..., 0] if array.ndim == 3 and array.shape[2] == 1 else array)
    assert isinstance(got, np.ndarray) or got.startswith(NOTHING), got  # refused only for its content
    if one_colour(pixels):  # no object
        assert isinstance(got, str)
    if pixels.ndim == 3 and pixels.shape[2] == 4:
        return  # transparency: composited over black or white, by its content
    # The same pixels on a black frame (wider than the background's border band, small enough for
    # no blur) must be prepared exactly when one of them stands out from black.
    on_black = np.pad(pixels, [(2, 2), (2, 2)] + [(0, 0)] * (pixels.ndim - 2))
    framed = outcome(lambda: prepare(on_black))
    assert isinstance(framed, np.ndarray) == stands_out_from_black(pixels), framed
    if isinstance(framed, np.ndarray):  # stretched to full brightness, unless framed already
        assert framed.max() == 255 or np.array_equal(framed, on_black)


@st.composite
def pictures(draw):
    """An object (a rectangle at some level) on a background, at any size: the shapes a fit meets;
    with the two levels and whether the rectangle keeps off the border (two pixels: wider than the
    band the background is estimated from at these sizes)."""
    height, width = draw(sides), draw(sides)
    dtype = draw(st.sampled_from([np.uint8, np.uint16, np.float32]))
    top = np.iinfo(dtype).max if dtype != np.float32 else 1.0
    a = np.full((height, width), draw(st.floats(0, 1)) * top, dtype=dtype)
    y0, x0 = draw(st.integers(0, height - 1)), draw(st.integers(0, width - 1))
    y1, x1 = draw(st.integers(y0 + 1, height)), draw(st.integers(x0 + 1, width))
    a[y0:y1, x0:x1] = draw(st.floats(0, 1)) * top
    levels = as_uint8(a)
    inside = min(y0, x0, height - y1, width - x1) >= 2
    return a, int(levels[0, 0]), int(levels[y0, x0]), inside


@SETTINGS
@given(pictures())
def test_any_object_on_any_background(picture):
    a, background, level, inside = picture
    got = outcome(lambda: prepare(a))
    if isinstance(got, np.ndarray):
        assert got.max() == 255 or np.array_equal(got, as_uint8(a))  # stretched, or framed already
    if inside:
        assume(abs(level - background) != 16)  # the threshold itself: float rounding decides
        framed_already = a.shape == (28, 28) and background < 16  # Fashion-MNIST: light on black
        expected = level >= 16 if framed_already else abs(level - background) >= 16
        assert isinstance(got, np.ndarray) == expected, got
    elif isinstance(got, str):
        assert got.startswith(NOTHING), got


@st.composite
def images(draw):
    """A PIL image of any mode and size, its bytes noise, a constant, or a band: the middle third
    of its rows set to bytes 0x80 on bytes 0, which every mode shows as an object standing out."""
    mode, size = draw(st.sampled_from(MODES)), (draw(sides), draw(sides))
    n = len(Image.new(mode, size).tobytes())
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    data = rng.integers(0, 256, n, dtype=np.uint8)
    pattern = draw(st.sampled_from(["noise", "constant", "band"]))
    if pattern == "constant":
        data[:] = data[0]
    elif pattern == "band":
        row, third = n // size[1], size[1] // 3
        data[:] = 0
        data[third * row : (size[1] - third) * row] = 0x80
    image = Image.frombytes(mode, size, data.tobytes())
    if mode in ("P", "PA"):
        palette = rng.integers(0, 256, 768, dtype=np.uint8)
        if pattern == "band":
            palette[:3], palette[0x80 * 3 : 0x80 * 3 + 3] = 0, 255  # index 0 black, 0x80 white
        image.putpalette(palette.tobytes())
        if draw(st.booleans()):
            image.info["transparency"] = int(data[0])
    image.info["pattern"] = pattern  # for the test to read (no format writes it)
    return image


@SETTINGS
@given(images())
def test_any_image_in_memory(image):
    got = outcome(lambda: prepare(image))
    if isinstance(got, str):
        assert got.startswith(NOTHING), got  # every mode and size here is supported
    if one_colour(np.asarray(image)):  # no object
        assert isinstance(got, str)
    if image.info["pattern"] == "band" and min(image.size) >= 6:  # the border mostly background
        assert isinstance(got, np.ndarray), (image.mode, got)


def read_back(path) -> np.ndarray | str | None:
    """What prepare() makes of the file as Pillow opens it (only the formats read_image opens),
    or None when Pillow cannot open it."""
    try:
        image = Image.open(path, formats=IMAGE_FORMATS)
    except Exception:
        return None
    with image:
        return outcome(lambda: prepare(image))


@SETTINGS
@given(images(), st.sampled_from(FORMATS))
def test_any_image_saved_in_any_format(tmp_path_factory, image, fmt):
    path = tmp_path_factory.mktemp("saved") / "image.bin"  # the content decides, not the name
    try:
        image.save(path, format=fmt)
    except (OSError, ValueError, KeyError, TypeError):
        assume(False)  # Pillow cannot write this mode in this format
    expected = read_back(path)
    assert expected is not None  # Pillow reads back what it wrote
    assert same(outcome(lambda: read_image(path)), expected)


@st.composite
def damaged_files(draw):
    """A valid image file of any mode and format, then cut, overwritten or spliced at random places."""
    buffer = io.BytesIO()
    try:
        draw(images()).save(buffer, format=draw(st.sampled_from(FORMATS)))
    except (OSError, ValueError, KeyError, TypeError):
        assume(False)  # Pillow cannot write this mode in this format
    data = bytearray(buffer.getvalue())
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["cut", "overwrite", "insert"]))
        chunk = draw(st.binary(min_size=1, max_size=16))
        if action == "cut":
            del data[at:]
        elif action == "overwrite":
            data[at : at + len(chunk)] = chunk
        else:
            data[at:at] = chunk
    return bytes(data)


@SETTINGS
@given(damaged_files())
def test_any_damaged_file(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("damaged") / "image.png"
    path.write_bytes(data)
    got, expected = outcome(lambda: read_image(path)), read_back(path)
    if expected is None:  # Pillow cannot even open it
        assert isinstance(got, str)
    else:  # Pillow opens it: the same input, or the same refusal (a damaged body is found at load)
        assert same(got, expected), (got, expected)
