"""Any image to the model's input: a (28, 28) uint8 array, light object on black, 0..255.

    from runtime.images import read_image, prepare
    x = read_image("shirt.jpg")     # from a file; raises ImageError(path, reason)
    x = prepare(pil_image_or_array)  # the same for an image already in memory

The steps follow how Fashion-MNIST itself was made (its README: trim the background, resize the
longest edge to 28, centre, negate, greyscale), so a photo looks to the model like its training data:

1. Decode behind one boundary. Pillow raises many unrelated exception types (OSError, ValueError,
   SyntaxError, struct.error, EOFError, DecompressionBombError, ...); all become one ImageError
   naming the path and the reason. The content decides the format, never the file name, and only
   FORMATS are opened (others are refused by name). JPEGs are decoded at reduced scale (libjpeg's
   1/2..1/8 "draft"), and anything still above MAX_PIXELS is refused before its pixels are decoded.
2. First frame of an animation only; the EXIF orientation is applied (a corrupt EXIF block is
   ignored: the pixels are used as stored).
3. Greyscale. Transparent pixels are composited over black or white, whichever contrasts with the
   opaque ones (a dark shoe cut out on transparency stays visible). 16-bit images are scaled
   (65535 is white), not clamped; 32-bit integer and float images are stretched from their own
   minimum to maximum, since they have no fixed white level.
4. A light background is inverted: when at least three quarters of the border pixels are lighter
   than mid-grey. Three quarters, not half, keeps every Fashion-MNIST image (whose objects often
   touch the border) from being inverted.
5. A 28x28 image is taken as already framed: nothing else changes, so a Fashion-MNIST image saved
   as PNG comes back bit-identical. Any other size is fitted: crop to the bounding box of the pixels
   that stand out from the background (the border's median) by more than TRIM levels or the
   border's own noise, stretch the levels so the background is 0 and the brightest pixel 255,
   resize the longest edge to 28 (Lanczos) and centre on black. Not MNIST's 20x20 box:
   Fashion-MNIST objects fill all 28 pixels of their longest edge.

An image where nothing stands out from the background (one flat colour) is refused: any answer
would be a guess.
"""

import contextlib
import stat
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from runtime.errors import ImageError

SIZE = 28
FORMATS = ("PNG", "JPEG", "GIF", "BMP", "PPM", "TIFF", "WEBP")  # JPEG includes MPO (phones)
SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm")
# 25 megapixels: more than any photo needs for a 28x28 input (phone JPEGs shrink by draft first).
MAX_PIXELS = 25_000_000
DRAFT_SIZE = (256, 256)  # JPEG decoding may shrink by up to 8x while staying at least this big
WORK_EDGE = 1024  # larger images are box-averaged down to about this before the pixel work
MIN_CONTRAST = 32  # levels of 255 the brightest pixel must rise above the background
TRIM = 16  # levels above the background that count as object: above JPEG ringing, below faint edges
# Everything Pillow's decoders raise on hostile input (Pillow's own fuzz tests accept the first
# seven; struct.error, EOFError, zlib.error, IndexError and KeyError come from plugin parsers).
PILLOW_ERRORS = (OSError, SyntaxError, ValueError, MemoryError, NotImplementedError, OverflowError,
                 Image.DecompressionBombError, Image.DecompressionBombWarning, struct.error, EOFError,
                 zlib.error, IndexError, KeyError)


def read_image(path: str | Path) -> np.ndarray:
    """The (28, 28) uint8 model input for an image file; ImageError(path, reason) when there is none."""
    path = Path(path)
    with _boundary(path):
        mode = path.stat().st_mode
        if stat.S_ISDIR(mode):
            raise ImageError(path, "a directory, not an image")
        if not stat.S_ISREG(mode):
            raise ImageError(path, "not a regular file (a pipe, socket or device)")
        with Image.open(path, formats=FORMATS) as image:
            image.draft("L", DRAFT_SIZE)  # JPEG only; other formats ignore it
            grey = _grey(image, path)
    return _frame(grey, path)


def prepare(image, name: str = "<image>") -> np.ndarray:
    """The (28, 28) uint8 model input for a PIL image or an array of pixels, shaped (H, W),
    (H, W, 1), (H, W, 3) or (H, W, 4): uint8 0..255, uint16 (65535 is white), float 0..1, or bool.
    """
    if not isinstance(image, Image.Image):
        image = _from_array(image, name)
    with _boundary(name):
        grey = _grey(image, name)
    return _frame(grey, name)


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
    try:
        with open(path, "rb") as f:
            head = f.read(512)
    except OSError:
        head = b""
    if not head:
        return "empty file"
    start = head.lstrip().lower()
    if start.startswith((b"<!doctype html", b"<html")):
        return "an HTML page, not an image"
    if start.startswith(b"%pdf"):
        return "a PDF document, not an image"
    if b"<svg" in start:
        return "an SVG drawing: vector images are not supported; export it as PNG"
    with contextlib.suppress(*PILLOW_ERRORS), Image.open(path) as other:  # every format, header only
        return f"{other.format} images are not supported; use {', '.join(FORMATS)}"
    try:
        head.decode("utf-8")
        return "a text file, not an image" if b"\0" not in head else "not an image"
    except UnicodeDecodeError:
        return f"not an image in a supported format ({', '.join(FORMATS)})"


def _from_array(array, name: str) -> Image.Image:
    """A PIL image from an array, refusing shapes and values that are not pixels."""
    try:
        a = np.asarray(array)
    except (ValueError, TypeError) as e:
        raise ImageError(name, f"not an array of pixels ({_first_line(e)})") from None
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)):
        raise ImageError(name, f"expected pixels shaped (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), "
                               f"got {a.shape}")
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
        raise ImageError(path, f"too large: {width}x{height} pixels; the limit is "
                               f"{MAX_PIXELS // 1_000_000} megapixels, plenty for a 28x28 classifier "
                               "(shrink it first)")


def _grey(image: Image.Image, path) -> np.ndarray:
    """Decode (first frame), turn upright and convert to greyscale uint8 (H, W)."""
    _check_size(*image.size, path)
    image.load()
    with contextlib.suppress(*PILLOW_ERRORS, TypeError):  # corrupt EXIF: keep the stored pixels
        image = ImageOps.exif_transpose(image)
    if image.mode.startswith("I;16"):
        return np.rint(np.asarray(image, np.float64) / 257).astype(np.uint8)
    if image.mode in ("I", "F"):
        with np.errstate(invalid="ignore"):  # a signalling NaN among float pixels; _stretch drops it
            return _stretch(np.asarray(image, np.float64))
    if image.mode == "LAB":
        return np.asarray(image.getchannel("L"))
    if image.mode in ("LA", "La", "PA", "RGBA", "RGBa") or "transparency" in image.info:
        la = np.asarray(image.convert("RGBA").convert("LA"), np.float32)
        return _composite(la[..., 0], la[..., 1] / 255)
    return np.asarray(image.convert("L"))


def _stretch(a: np.ndarray) -> np.ndarray:
    """Map an image's own finite minimum..maximum to 0..255 (non-finite pixels become black)."""
    finite = np.isfinite(a)
    if not finite.any():
        return np.zeros(a.shape, np.uint8)
    low, high = a[finite].min(), a[finite].max()
    if high == low:
        return np.zeros(a.shape, np.uint8)
    return np.rint((np.where(finite, a, low) - low) / (high - low) * 255).astype(np.uint8)


def _composite(grey: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Put the image over black or white, whichever contrasts with its opaque pixels."""
    weight = alpha.sum()
    if weight == 0:
        return np.zeros(grey.shape, np.uint8)
    background = 0.0 if (grey * alpha).sum() / weight > 127 else 255.0
    return np.rint(grey * alpha + background * (1 - alpha)).astype(np.uint8)


def _frame(grey: np.ndarray, path) -> np.ndarray:
    """Invert a light background, then keep a 28x28 image as it is or fit its object into 28x28."""
    if max(grey.shape) > WORK_EDGE:  # box-average first: the statistics below need no more pixels
        grey = np.asarray(Image.fromarray(grey).reduce(-(-max(grey.shape) // WORK_EDGE)))
    border = np.concatenate([grey[0], grey[-1], grey[1:-1, 0], grey[1:-1, -1]])
    if np.count_nonzero(border > 127) >= 0.75 * border.size:
        grey, border = 255 - grey, 255 - border
    background = _median(border)
    if grey.max() - background < MIN_CONTRAST:
        raise ImageError(path, "nothing stands out from the background (a blank or one-colour image)")
    if grey.shape == (SIZE, SIZE):
        return np.array(grey, np.uint8)
    noise = 3 * _median(np.abs(border - background))
    return _fit(grey.astype(np.float32) - np.float32(background), max(TRIM, noise))


def _median(a: np.ndarray) -> float:
    """The (upper) median; np.median would import numpy.ma, a cost on every cold start."""
    return float(np.sort(a, axis=None)[a.size // 2])


def _fit(x: np.ndarray, threshold: float) -> np.ndarray:
    """Crop x (levels above the background) to its object, stretch, resize the longest edge to 28
    and centre on black."""
    peak = x.max()
    mask = x > min(threshold, peak / 2)  # never empty: a noisy border cannot hide the object
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    crop = np.clip(x[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1] / peak, 0, 1) * np.float32(255)
    longest = max(crop.shape)
    width, height = (max(1, round(n * SIZE / longest)) for n in crop.shape[::-1])
    small = np.asarray(Image.fromarray(crop).resize((width, height), Image.Resampling.LANCZOS))
    out = np.zeros((SIZE, SIZE), np.uint8)
    top, left = (SIZE - height) // 2, (SIZE - width) // 2
    out[top:top + height, left:left + width] = np.clip(np.rint(small), 0, 255)
    return out
