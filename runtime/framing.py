"""Find the object in decoded pixels the way a person would, and frame it as Fashion-MNIST was made.

    from runtime.framing import frame
    x = frame(pixels, "shirt.jpg")  # (H, W) or (H, W, 3) uint8 -> (28, 28) uint8, light object on black

Fashion-MNIST's README: trim the background, resize the longest edge to 28, centre, negate,
greyscale. Its photos were all on white; ours may be on any background, so "negate" becomes "how
far each pixel is from the background":

1. A 28x28 grey image with a black border (at least a fifth of it: Fashion-MNIST objects often
   touch the border) is taken as Fashion-MNIST already: it comes back bit for bit, at no cost.
2. Larger images are box-averaged down to about WORK_EDGE pixels: sensor noise averages out and
   the pixel work stays cheap; the object keeps several pixels per output pixel.
3. The background is a plane per colour channel fitted to a band along the border, robustly
   (start from the median, refit on the pixels near the fit), so a gradient, noise, JPEG ringing,
   a light texture or an object touching the border do not move it. Its typical deviation there
   is the background's own noise.
4. Each pixel's intensity is its colour distance from the background (root mean square over
   channels, in grey levels) less that noise: dark-on-light, light-on-dark and colour-on-grey all
   become a light object on black. `invert=True` counts only how much darker than the background
   a pixel is (greyscale), `invert=False` only how much lighter.
5. Trim to the pixels above the noise and above a small share of the strongest difference, resize
   the longest edge to 28 (Lanczos) and centre on black; `fit=False` resizes the whole image to
   28x28 instead, and a 28x28 image is taken as framed already. Levels are stretched so the
   object's brightest pixel is 255, as in Fashion-MNIST.

An image whose strongest difference from the background is too small to tell from the background's
own variation is refused with what was measured: any answer would be a guess.
"""

import numpy as np
from PIL import Image

from runtime.errors import ImageError

SIZE = 28
WORK_EDGE = 256  # larger images are box-averaged down to about this before the pixel work
BAND = 1 / 40  # width of the border band the background is fitted to, as a share of the shorter edge
MIN_CONTRAST = 16  # grey levels the object must differ from the background by, at least
TRIM = 0.1  # share of the strongest difference below which pixels are trimmed as background
LUMA = np.array([0.299, 0.587, 0.114], np.float32)  # ITU-R 601, as Pillow's convert("L")


def frame(pixels: np.ndarray, path, invert: bool | None = None, fit: bool = True) -> np.ndarray:
    """The (28, 28) uint8 model input for decoded uint8 pixels (H, W) or (H, W, 3)."""
    if pixels.shape == (SIZE, SIZE) and invert is None and _black_border(pixels):
        _check_contrast(float(pixels.max()), 0, invert, path)
        return np.array(pixels)
    x = _reduced(pixels).astype(np.float32)
    if x.ndim == 2:
        x = x[..., np.newaxis]
    background, noise = _background(x)
    intensity = _intensity(x, background, invert)
    strongest = float(intensity.max())
    _check_contrast(strongest, noise, invert, path)
    levels = np.clip((intensity - noise) * np.float32(255 / (strongest - noise)), 0, 255)  # object max 255
    if fit and x.shape[:2] != (SIZE, SIZE):
        return _fit(levels, 255 * TRIM)
    return _uint8(_resized(levels, (SIZE, SIZE)))


def _check_contrast(strongest: float, noise: float, invert: bool | None, path) -> None:
    """Refuse an image whose object cannot be told from its background, saying what was measured."""
    if strongest >= max(MIN_CONTRAST, 3 * noise):
        return
    compared = {None: "differs from", True: "is darker than", False: "is lighter than"}[invert]
    raise ImageError(path, f"nothing stands out from the background: the image {compared} it by "
                           f"{strongest:.0f} grey levels at most"
                           + (f", within the background's own variation ({3 * noise:.0f})"
                              if 3 * noise > MIN_CONTRAST else ""))


def _black_border(grey: np.ndarray) -> bool:
    border = np.concatenate([grey[0], grey[-1], grey[1:-1, 0], grey[1:-1, -1]])
    return np.count_nonzero(border < 16) * 5 >= border.size


def _reduced(pixels: np.ndarray) -> np.ndarray:
    """Box-average an image larger than WORK_EDGE down to about that size."""
    factor = max(pixels.shape[:2]) // WORK_EDGE
    return np.asarray(Image.fromarray(pixels).reduce(factor)) if factor > 1 else pixels


def _background(x: np.ndarray) -> tuple[np.ndarray, float]:
    """The background behind every pixel of x (H, W, C), from a plane fitted to the border band, and
    the typical distance of the band's background pixels from it (their noise)."""
    height, width, _ = x.shape
    band = max(1, round(min(height, width) * BAND))
    v, u = np.meshgrid(np.linspace(-1, 1, height, dtype=np.float32),
                       np.linspace(-1, 1, width, dtype=np.float32), indexing="ij")
    ring = np.ones((height, width), bool)
    ring[band:-band, band:-band] = False
    design = np.stack([np.ones_like(u[ring]), u[ring], v[ring]], axis=1)
    values = x[ring]
    coef = np.zeros((3, x.shape[2]), np.float32)
    coef[0] = _median(values)
    for _ in range(3):  # refit on the pixels near the fit: the object, where it touches, drops out
        distance = _rms(values - design @ coef)
        noise = _median(distance)
        near = distance <= 3 * noise + 1
        coef = np.linalg.lstsq(design[near], values[near], rcond=None)[0]
    noise = _median(_rms(values[near] - design[near] @ coef))
    return coef[0] + u[..., None] * coef[1] + v[..., None] * coef[2], float(noise)


def _intensity(x: np.ndarray, background: np.ndarray, invert: bool | None) -> np.ndarray:
    """How far each pixel is from the background, in grey levels (H, W) float32."""
    if invert is None:
        return _rms(x - background)
    difference = (x - background) @ LUMA if x.shape[2] == 3 else (x - background)[..., 0]
    return np.maximum(-difference if invert else difference, 0)


def _rms(a: np.ndarray) -> np.ndarray:
    """Root mean square over the last axis (colour channels)."""
    return np.sqrt(np.mean(np.square(a), axis=-1)) if a.shape[-1] > 1 else np.abs(a[..., 0])


def _median(a: np.ndarray) -> np.ndarray:
    """The (upper) median along the first axis; np.median would import numpy.ma, a cost on every
    cold start."""
    return np.sort(a, axis=0)[a.shape[0] // 2]


def _fit(levels: np.ndarray, threshold: float) -> np.ndarray:
    """Crop to the pixels above threshold, resize the longest edge to 28 and centre on black."""
    mask = levels > threshold
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    crop = levels[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    longest = max(crop.shape)
    width, height = (max(1, round(n * SIZE / longest)) for n in crop.shape[::-1])
    out = np.zeros((SIZE, SIZE), np.uint8)
    top, left = (SIZE - height) // 2, (SIZE - width) // 2
    out[top:top + height, left:left + width] = _uint8(_resized(crop, (width, height)))
    return out


def _resized(levels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return np.asarray(Image.fromarray(levels).resize(size, Image.Resampling.LANCZOS))


def _uint8(levels: np.ndarray) -> np.ndarray:
    return np.rint(np.clip(levels, 0, 255)).astype(np.uint8)
