"""Property tests over preprocessing: any array, any image of any size and mode, any file (valid or
damaged) gives a (28, 28) uint8 model input (0..255, i.e. 0..1 after the model's /255) or our
ImageError, never an exception of another type.
"""

import io
import os

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays
from PIL import Image

from runtime.errors import ImageError
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


def model_input_or_our_error(make) -> str:
    """Run one preprocessing call; only a proper model input or an ImageError may come out."""
    try:
        out = make()
    except ImageError as e:
        assert "\n" not in str(e) and str(e).split(": ", 1)[1]
        return "refused"
    assert isinstance(out, np.ndarray) and out.shape == (28, 28) and out.dtype == np.uint8
    return "prepared"


sides = st.integers(1, 64)
any_shape = st.one_of(
    st.tuples(sides, sides),
    st.tuples(sides, sides, st.integers(1, 5)),
    array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5),
)


@SETTINGS
@given(arrays(st.sampled_from(DTYPES), any_shape))
def test_any_array(array):
    model_input_or_our_error(lambda: prepare(array))


@st.composite
def pictures(draw):
    """An object (a rectangle at some level) on a background, at any size: the shapes a fit meets."""
    height, width = draw(sides), draw(sides)
    dtype = draw(st.sampled_from([np.uint8, np.uint16, np.float32]))
    top = np.iinfo(dtype).max if dtype != np.float32 else 1.0
    a = np.full((height, width), draw(st.floats(0, 1)) * top, dtype=dtype)
    y0, x0 = draw(st.integers(0, height - 1)), draw(st.integers(0, width - 1))
    a[y0 : draw(st.integers(y0 + 1, height)), x0 : draw(st.integers(x0 + 1, width))] = (
        draw(st.floats(0, 1)) * top
    )
    return a


@SETTINGS
@given(pictures())
def test_any_object_on_any_background(picture):
    if model_input_or_our_error(lambda: prepare(picture)) == "prepared":
        out = prepare(picture)
        assert out.max() >= 200  # the object is stretched to full brightness (Lanczos may soften)


@st.composite
def images(draw):
    """A PIL image of any mode and size, its bytes noise, a constant or a block on a background."""
    mode, size = draw(st.sampled_from(MODES)), (draw(sides), draw(sides))
    n = len(Image.new(mode, size).tobytes())
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    data = rng.integers(0, 256, n, dtype=np.uint8)
    pattern = draw(st.sampled_from(["noise", "constant", "block"]))
    if pattern == "constant":
        data[:] = data[0]
    elif pattern == "block":
        data[: n // 3] = data[0]
        data[-n // 3 :] = data[0]
    image = Image.frombytes(mode, size, data.tobytes())
    if mode in ("P", "PA"):
        image.putpalette(rng.integers(0, 256, 768, dtype=np.uint8).tobytes())
        if draw(st.booleans()):
            image.info["transparency"] = int(data[0])
    return image


@SETTINGS
@given(images())
def test_any_image_in_memory(image):
    model_input_or_our_error(lambda: prepare(image))


@SETTINGS
@given(images(), st.sampled_from(FORMATS))
def test_any_image_saved_in_any_format(tmp_path_factory, image, fmt):
    path = tmp_path_factory.mktemp("saved") / "image.bin"  # the content decides, not the name
    try:
        image.save(path, format=fmt)
    except (OSError, ValueError, KeyError, TypeError):
        assume(False)  # Pillow cannot write this mode in this format
    model_input_or_our_error(lambda: read_image(path))


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
    model_input_or_our_error(lambda: read_image(path))
