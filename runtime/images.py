"""Any image to a model's input: for a Fashion-MNIST model a (28, 28) uint8 array, light object on
black, 0..255; for another, the image resized to its input as its data was (runtime/inputs.py).

    from runtime.images import read_image, read_images, prepare
    x = read_image("shirt.jpg")     # from a file; raises ImageError(path, reason)
    xs, failed = read_images(["a.png", "b.jpg"])  # (N, 28, 28) of those read, {position: ImageError}
    x = read_image("odd.png", invert=True, fit=False)  # override the guesses for the odd image
    x = prepare(pil_image_or_array)  # the same for an image already in memory
    x = read_image("cat.jpg", image_input=predictor.image)  # (32, 32, 3) for a 32x32 RGB model

This module is the decode boundary; runtime.framing then finds the object against its background
and frames it as Fashion-MNIST was made, or runtime.resizing resizes the whole image as Keras'
image_dataset_from_directory does (greyscale by luma for a greyscale model, RGB for a colour one).

1. Decode behind one boundary. Pillow raises many unrelated exception types (OSError, ValueError,
   SyntaxError, struct.error, EOFError, DecompressionBombError, ...); all become one ImageError
   naming the path and the reason. The content decides the format, never the file name, and only
   FORMATS are opened (others are refused by name). JPEGs to be framed are decoded at reduced scale
   (libjpeg's 1/2..1/8 "draft"; a resize takes every pixel, as Keras does), and anything still above
   MAX_PIXELS is refused before its pixels are decoded.
2. First frame of an animation only; the EXIF orientation is applied (a corrupt EXIF block is
   ignored: the pixels are used as stored).
3. Colour is kept (the background may be grey and the object red); an image whose channels are
   all equal becomes greyscale. Transparent pixels are composited over black or white, whichever
   contrasts with the opaque ones (a dark shoe cut out on transparency stays visible). 16-bit
   images are scaled (65535 is white), not clamped; 32-bit integer and float images are stretched
   from their own minimum to maximum, since they have no fixed white level.
"""

import contextlib
import io
import os
import stat
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from runtime.errors import ImageError
from runtime.framing import frame, frame_many
from runtime.inputs import FASHION_MNIST, ImageInput
from runtime.resizing import resized
from runtime.sniff import read_head, recognise

FORMATS = ("PNG", "JPEG", "GIF", "BMP", "PPM", "TIFF", "WEBP")  # JPEG includes MPO (phones)
SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm")
# 25 megapixels: more than any photo needs for a 28x28 input (phone JPEGs shrink by draft first).
MAX_PIXELS = 25_000_000
SMALL_FILE = 1 << 20  # bytes read into memory at once (see read_image)
DRAFT_SIZE = (256, 256)  # JPEG decoding may shrink by up to 8x while staying at least this big
# Everything Pillow's decoders raise on hostile input (Pillow's own fuzz tests accept the first
# seven; struct.error, EOFError, zlib.error, IndexError and KeyError come from plugin parsers).
PILLOW_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    MemoryError,
    NotImplementedError,
    OverflowError,
    Image.DecompressionBombError,
    Image.DecompressionBombWarning,
    struct.error,
    EOFError,
    zlib.error,
    IndexError,
    KeyError,
)


def read_image(
    path: str | Path, invert: bool | None = None, fit: bool = True, image_input: ImageInput = FASHION_MNIST
) -> np.ndarray:
    """The uint8 model input (image_input.shape) for an image file; ImageError(path, reason) when there
    is none. For a Fashion-MNIST model, invert: True when the object is darker than its background,
    False when lighter, None to tell by colour distance; fit=False resizes the whole image to 28x28
    instead of trimming to the object.
    """
    path = Path(path)
    return shaped(decode(path, draft=image_input.framed), path, image_input, invert, fit)


def read_images(
    paths: list[str], invert: bool | None = None, fit: bool = True, image_input: ImageInput = FASHION_MNIST
) -> tuple[np.ndarray, dict[int, ImageError]]:
    """read_image() of many files: the (N, *image_input.shape) uint8 inputs of those that could be
    used, in order, and the ImageError of each that could not, by its position in `paths` (named as
    given). For a folder a chunk at a time: images framed already are recognised all at once."""
    decoded, at, failed = [], [], {}
    for i, path in enumerate(paths):
        try:
            decoded.append(decode(path, draft=image_input.framed))
            at.append(i)
        except ImageError as e:
            failed[i] = e
    if image_input.framed:
        ready, refused = frame_many(decoded, [paths[i] for i in at], invert, fit)
    else:
        ready, refused = np.empty((len(decoded), *image_input.shape), np.uint8), {}
        for j, pixels in enumerate(decoded):
            ready[j] = shaped(pixels, paths[at[j]], image_input)
    failed.update((at[j], e) for j, e in refused.items())
    return ready, failed


def shaped(
    pixels: np.ndarray, path, image_input: ImageInput, invert: bool | None = None, fit: bool = True
) -> np.ndarray:
    """Decoded pixels (H, W) or (H, W, 3) as the model's input: framed as Fashion-MNIST, or resized
    in the model's colours (a greyscale model sees a colour image's luma, a colour one a greyscale
    image in each channel)."""
    if image_input.framed:
        return frame(pixels, path, invert, fit)
    if pixels.ndim == 3 and image_input.channels == 1:
        pixels = np.asarray(Image.fromarray(pixels).convert("L"))  # ITU-R 601 luma, as libjpeg's
    elif pixels.ndim == 2 and image_input.channels == 3:
        pixels = np.repeat(pixels[..., np.newaxis], 3, axis=2)
    return resized(pixels, image_input.height, image_input.width)


def decode(path: str | Path, draft: bool = False) -> np.ndarray:
    """An image file's pixels, uint8 (H, W) for greyscale, (H, W, 3) for colour; ImageError(path,
    reason) when it has none. `draft`: a JPEG may be decoded at reduced scale (for framing)."""
    with _boundary(path):
        status = os.stat(path)  # before opening: opening a pipe waits, opening a device may act
        if stat.S_ISDIR(status.st_mode):
            raise ImageError(path, "a directory, not an image")
        if not stat.S_ISREG(status.st_mode):
            raise ImageError(path, "not a regular file (a pipe, socket or device)")
        # A small file is read in one call: Pillow's many small reads and seeks on a file cost more
        # than decoding a 28x28 PNG (24 us from the path, 17 us from memory, measured here).
        if status.st_size <= SMALL_FILE:
            with open(path, "rb") as file:
                source = io.BytesIO(file.read())
        else:
            source = path
        with Image.open(source, formats=FORMATS) as image:
            if draft and image.format == "JPEG":  # other formats ignore draft, at a cost
                image.draft(None, DRAFT_SIZE)
            return _pixels(image, path)


def prepare(
    image,
    name: str = "<image>",
    invert: bool | None = None,
    fit: bool = True,
    image_input: ImageInput = FASHION_MNIST,
) -> np.ndarray:
    """The uint8 model input for a PIL image or an array of pixels, shaped (H, W), (H, W, 1),
    (H, W, 3) or (H, W, 4): uint8 0..255, uint16 (65535 is white), float 0..1, or bool. invert, fit
    and image_input as for read_image.
    """
    if not isinstance(image, Image.Image):
        image = _from_array(image, name)
    with _boundary(name):
        pixels = _pixels(image, name)
    return shaped(pixels, name, image_input, invert, fit)


@contextlib.contextmanager
def _boundary(path):
    """Turn whatever Pillow (or the file system) raises into one ImageError naming the file."""
    try:
        yield
    except Image.UnidentifiedImageError:
        raise ImageError(path, _unidentified(Path(path))) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageError(path, f"too large to decode safely ({_first_line(e)})") from None
    except MemoryError:
        raise ImageError(path, "not enough memory to decode it") from None
    except OSError as e:
        if e.strerror:  # from the file system: "No such file or directory", "Permission denied", ...
            raise ImageError(path, e.strerror[0].lower() + e.strerror[1:]) from None
        raise ImageError(path, f"damaged or truncated image ({_first_line(e)})") from None
    except PILLOW_ERRORS as e:
        raise ImageError(path, f"cannot decode it ({_first_line(e)})") from None


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:160] if text else type(error).__name__


def _unidentified(path: Path) -> str:
    """Why Pillow found no supported format: say what the file is when that is easy to tell."""
    with contextlib.suppress(*PILLOW_ERRORS), Image.open(path) as other:  # every format, header only
        return f"{other.format} images are not supported; use {', '.join(FORMATS)}"
    try:
        what = recognise(read_head(path))
    except OSError:
        what = None
    if what and what.startswith("an SVG"):
        return f"{what}: export it as PNG"
    return f"{what}, not an image" if what else f"not an image in a supported format ({', '.join(FORMATS)})"


def _from_array(array, name: str) -> Image.Image:
    """A PIL image from an array, refusing shapes and values that are not pixels."""
    try:
        a = np.asarray(array)
    except (ValueError, TypeError) as e:
        raise ImageError(name, f"not an array of pixels ({_first_line(e)})") from None
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)):
        raise ImageError(
            name, f"expected pixels shaped (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), got {a.shape}"
        )
    _check_size(a.shape[1], a.shape[0], name)
    if a.dtype == bool:
        a = a.astype(np.uint8) * 255
    elif a.dtype.kind == "f":
        if not (np.isfinite(a).all() and a.min() >= 0 and a.max() <= 1):
            raise ImageError(name, "float pixels must be finite and within 0..1")
        a = np.rint(a.astype(np.float64) * 255).astype(np.uint8)
    elif a.dtype == np.uint16:
        a = np.rint(a / 257).astype(np.uint8)
    elif a.dtype.kind in "iu":
        if a.min() < 0 or a.max() > 255:
            raise ImageError(name, "integer pixels must lie within 0..255 (uint16 for 16-bit)")
        a = a.astype(np.uint8)
    else:
        raise ImageError(name, f"unsupported pixel type {a.dtype}; use uint8 0..255 or float 0..1")
    return Image.fromarray(np.ascontiguousarray(a))


def _check_size(width: int, height: int, path) -> None:
    if width * height == 0:
        raise ImageError(path, f"has no pixels ({width}x{height})")
    if width * height > MAX_PIXELS:
        raise ImageError(
            path,
            f"too large: {width}x{height} pixels; the limit is "
            f"{MAX_PIXELS // 1_000_000} megapixels, plenty for a classifier of at most 512x512 pixels "
            "(shrink it first)",
        )


def _pixels(image: Image.Image, path) -> np.ndarray:
    """Decode (first frame), turn upright: uint8 (H, W) for greyscale, (H, W, 3) for colour."""
    _check_size(*image.size, path)
    image.load()
    if not image.info and image.mode == "L":  # no metadata, so no orientation: the common small file
        return np.asarray(image)
    with contextlib.suppress(*PILLOW_ERRORS, TypeError):  # corrupt EXIF: keep the stored pixels
        image = ImageOps.exif_transpose(image)
    if image.mode.startswith("I;16"):
        return np.rint(np.asarray(image, np.float64) / 257).astype(np.uint8)
    if image.mode in ("I", "F"):
        with np.errstate(invalid="ignore"):  # a signalling NaN among float pixels; _stretch drops it
            return _stretch(np.asarray(image, np.float64))
    if image.mode == "LAB":
        return np.asarray(image.getchannel("L"))
    if image.mode in ("1", "L"):
        return np.asarray(image.convert("L"))
    if image.mode == "La":  # premultiplied: Pillow converts it to RGBA only by way of LA
        image = image.convert("LA")
    if image.mode in ("LA", "PA", "RGBA", "RGBa") or "transparency" in image.info:
        return _one_channel_if_grey(_composite(image.convert("RGBA")))
    return _one_channel_if_grey(np.asarray(image.convert("RGB")))


def _one_channel_if_grey(rgb: np.ndarray) -> np.ndarray:
    """(H, W) when the three channels are equal: a third of the work, and the Fashion-MNIST test."""
    if np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2]):
        return np.ascontiguousarray(rgb[..., 0])
    return rgb


def _stretch(a: np.ndarray) -> np.ndarray:
    """Map an image's own finite minimum..maximum to 0..255 (non-finite pixels become black)."""
    finite = np.isfinite(a)
    if not finite.any():
        return np.zeros(a.shape, np.uint8)
    low, high = a[finite].min(), a[finite].max()
    if high == low:
        return np.zeros(a.shape, np.uint8)
    return np.rint((np.where(finite, a, low) - low) / (high - low) * 255).astype(np.uint8)


def _composite(rgba: Image.Image) -> np.ndarray:
    """Put the image over black or white, whichever contrasts with its opaque pixels (by Pillow, in
    uint8: a large image with alpha would need 16 bytes a pixel as float32 RGBA)."""
    alpha = np.asarray(rgba.getchannel("A"))
    weight = alpha.sum(dtype=np.float64)
    if weight == 0:
        return np.zeros((*alpha.shape, 3), np.uint8)  # nothing visible: black, RGB as the other branch
    grey = np.asarray(rgba.convert("L"), np.float32)
    level = 0 if (grey * alpha).sum(dtype=np.float64) / weight > 127 else 255
    background = Image.new("RGBA", rgba.size, (level, level, level, 255))
    return np.asarray(Image.alpha_composite(background, rgba).convert("RGB"))
