"""Find the object in decoded pixels the way a person would, and frame it as Fashion-MNIST was made.

    from runtime.framing import frame, frame_many
    x = frame(pixels, "shirt.jpg")  # (H, W) or (H, W, 3) uint8 -> (28, 28) uint8, light object on black
    xs, refused = frame_many([pixels, ...], ["shirt.jpg", ...])  # (N, 28, 28), {position: ImageError}

Fashion-MNIST's README: trim the background, resize the longest edge to 28, centre, negate,
greyscale. Its photos were all on white; ours may be on any background, so "negate" becomes "how
far each pixel is from the background":

1. A 28x28 grey image with a black border (at least a fifth of it: Fashion-MNIST objects often
   touch the border) is Fashion-MNIST already: it comes back bit for bit, at no cost (unless
   `invert=True` says its object is the dark part). frame_many checks a folder's worth of them at
   once: a few numpy calls per chunk instead of per image.
2. Larger images are box-averaged down to at most WORK_EDGE pixels (cheap, and noise averages
   out). The object is found on a copy blurred a little more (BLUR), and drawn from the sharp one.
3. The background is a quadratic surface per colour channel fitted to a band along the border,
   robustly (start from the median, refit on the pixels near the fit), so that a gradient, a
   vignette, noise, JPEG ringing, a light texture or an object touching the border do not move it.
4. Each pixel's intensity is its colour distance from the background (root mean square over the
   channels, in grey levels), less the band's median distance (the background's own noise):
   dark-on-light, light-on-dark and colour-on-grey all become a light object on black.
   `invert=True` counts only how much darker than the background a pixel is (in grey levels),
   `invert=False` only how much lighter.
5. Trim to the rows and columns whose pixels rise above both TRIM of the strongest difference and
   NOISE times the noise (rows holding mere specks of noise or texture do not count), resize
   the longest edge to 28 (Lanczos) and centre, an odd margin putting the extra pixel above and
   left as in Fashion-MNIST; stretch so the brightest pixel is 255. `fit=False` resizes the whole
   image to 28x28 instead; any 28x28 image is taken as framed already.

An image whose strongest difference from the background is too small to tell from the background's
own variation is refused with what was measured: any answer would be a guess.
"""

import numpy as np
from PIL import Image, ImageFilter

from runtime.errors import ImageError

SIZE = 28
WORK_EDGE = 256  # larger images are box-averaged down to at most this before the pixel work
BAND = 1 / 40  # width of the border band the background is fitted to, as a share of the shorter edge
MIN_CONTRAST = 16  # grey levels the object must differ from the background by, at least
TRIM = 0.1  # share of the strongest difference below which pixels are trimmed as background
NOISE = 3  # times the background's typical deviation a pixel must exceed to stand out from it
BLACK = 16  # levels below which a border pixel is black, as Fashion-MNIST's background
SPECK = 0.01  # share of the heaviest row's (column's) object below which a row holds only specks
BLUR = 1 / 200  # box blur radius, as a share of the longest edge: noise averages out, the object stays
LUMA = np.array([0.299, 0.587, 0.114], np.float32)  # ITU-R 601, as Pillow's convert("L")


def frame(pixels: np.ndarray, path, invert: bool | None = None, fit: bool = True) -> np.ndarray:
    """The (28, 28) uint8 model input for decoded uint8 pixels (H, W) or (H, W, 3)."""
    if pixels.shape == (SIZE, SIZE) and not invert and _black_borders(pixels[np.newaxis])[0]:  # framed
        _check_contrast(float(pixels.max()), 0, invert, path)
        return np.array(pixels)
    image = _reduced(pixels)
    radius = round(max(image.size) * BLUR)
    x, smooth = _channels(image), _channels(_blurred(image, radius))  # find on smooth, draw from x
    ring = _ring(x.shape[:2], radius)
    background = _background(smooth, ring)
    found = _intensity(smooth, background, invert)
    strongest, noise = float(found.max()), float(_median(found[ring]))
    _check_contrast(strongest, noise, invert, path)
    drawn = _intensity(x, background, invert)
    levels = np.maximum(drawn - _median(drawn[ring]), 0)  # the background's noise is not object
    if fit and x.shape[:2] != (SIZE, SIZE):
        trim = max(TRIM * strongest, NOISE * noise)
        crop = levels[_object_box(np.maximum(found - trim, 0), radius)]  # the blur widens it a little,
        return _fit(crop[_object_box(np.maximum(crop - trim, 0), 0)])  # the sharp pixels narrow it
    return _stretched(_resized(levels, (SIZE, SIZE)), levels)


def frame_many(
    images: list[np.ndarray], paths: list, invert: bool | None = None, fit: bool = True
) -> tuple[np.ndarray, dict[int, ImageError]]:
    """frame() of each image: the (N, 28, 28) uint8 inputs of those framed, in order, and the
    ImageError of each refused, by its position. The ones framed already (step 1) are found at once."""
    framed = np.empty((len(images), SIZE, SIZE), np.uint8)
    ready = np.zeros(len(images), bool)
    grey = [i for i, pixels in enumerate(images) if pixels.shape == (SIZE, SIZE)]
    if grey and not invert:
        stack = np.stack([images[i] for i in grey])
        done = _black_borders(stack) & (stack.max(axis=(1, 2)) >= MIN_CONTRAST)  # frame()'s own test
        chosen = np.array(grey)[done]
        framed[chosen], ready[chosen] = stack[done], True
    refused = {}
    for i in np.flatnonzero(~ready).tolist():
        try:
            framed[i] = frame(images[i], paths[i], invert, fit)
        except ImageError as e:
            refused[i] = e
    return np.delete(framed, list(refused), axis=0), refused


def _check_contrast(strongest: float, noise: float, invert: bool | None, path) -> None:
    """Refuse an image whose object cannot be told from its background, saying what was measured."""
    if strongest >= max(MIN_CONTRAST, NOISE * noise):
        return
    compared = {None: "differs from", True: "is darker than", False: "is lighter than"}[invert]
    raise ImageError(
        path,
        f"nothing stands out from the background: the image {compared} it by "
        f"{strongest:.0f} grey levels at most"
        + (
            f", within the background's own variation ({NOISE * noise:.0f})"
            if NOISE * noise > MIN_CONTRAST
            else ""
        ),
    )


def _black_borders(greys: np.ndarray) -> np.ndarray:
    """For grey images (N, H, W): whether at least a fifth of each one's border is black."""
    border = np.concatenate([greys[:, 0], greys[:, -1], greys[:, 1:-1, 0], greys[:, 1:-1, -1]], axis=1)
    return np.count_nonzero(border < BLACK, axis=1) * 5 >= border.shape[1]


def _reduced(pixels: np.ndarray) -> Image.Image:
    """Box-average an image larger than WORK_EDGE down to at most that size."""
    image = Image.fromarray(pixels)
    factor = -(-max(pixels.shape[:2]) // WORK_EDGE)
    return image.reduce(factor) if factor > 1 else image


def _blurred(image: Image.Image, radius: int) -> Image.Image:
    """A little blur, so that sensor noise, JPEG ringing and fine texture average out."""
    return image.filter(ImageFilter.BoxBlur(radius)) if radius else image


def _channels(image: Image.Image) -> np.ndarray:
    """float32 (H, W, C) pixels, C = 1 or 3."""
    x = np.asarray(image, np.float32)
    return x[..., np.newaxis] if x.ndim == 2 else x


def _ring(shape: tuple[int, int], inset: int) -> np.ndarray:
    """The border band (H, W) bool, what a person looks at to tell the background; inset pixels
    from the edge, where a blur of that radius would average less."""
    band = max(1, round(min(shape) * BAND))
    ring = np.zeros(shape, bool)
    if min(shape) > 2 * (inset + band):
        ring[inset : -inset or None, inset : -inset or None] = True
        ring[inset + band : -inset - band, inset + band : -inset - band] = False
    else:
        ring[:] = True
    return ring


def _background(x: np.ndarray, ring: np.ndarray) -> np.ndarray:
    """The background behind every pixel of x (H, W, C): a quadratic surface per channel fitted to
    the ring, robustly (start from the median, refit on the pixels near the fit three times) so
    that where the object touches the border it drops out."""
    height, width, channels = x.shape
    v, u = np.linspace(-1, 1, height, dtype=np.float32), np.linspace(-1, 1, width, dtype=np.float32)
    rows, cols = np.nonzero(ring)
    uu, vv = u[cols], v[rows]
    design = np.stack([np.ones(rows.size, np.float32), uu, vv, uu * uu, uu * vv, vv * vv], axis=1)
    values = x[rows, cols]
    coef = np.zeros((6, channels), np.float32)
    coef[0] = _median(values)
    for _ in range(3):
        distance = _rms(values - design @ coef)
        near = distance <= 3 * _median(distance) + 1
        a = design[near]  # least squares by its normal equations: 6x6, where LAPACK on all rows is slow
        coef = np.linalg.lstsq(a.T @ a, a.T @ values[near], rcond=None)[0]
    u, v = u[:, None], v[:, None, None]
    return coef[0] + u * coef[1] + v * coef[2] + u * u * coef[3] + u * v * coef[4] + v * v * coef[5]


def _intensity(x: np.ndarray, background: np.ndarray, invert: bool | None) -> np.ndarray:
    """How far each pixel is from the background, in grey levels (H, W) float32."""
    if invert is None:
        return _rms(x - background)
    difference = (x - background) @ LUMA if x.shape[2] == 3 else (x - background)[..., 0]
    return np.maximum(-difference if invert else difference, 0)


def _rms(a: np.ndarray) -> np.ndarray:
    """Root mean square over the last axis (colour channels)."""
    if a.shape[-1] == 1:
        return np.abs(a[..., 0])
    return np.sqrt(np.einsum("...c,...c->...", a, a) * np.float32(1 / a.shape[-1]))


def _median(a: np.ndarray) -> np.ndarray:
    """The (upper) median along the first axis; np.median would import numpy.ma, a cost on every
    cold start."""
    return np.sort(a, axis=0)[a.shape[0] // 2]


def _object_box(excess: np.ndarray, inset: int) -> tuple[slice, slice]:
    """The rows and columns holding the object, from how far each pixel rises above the trim level
    (excess). A row or column with less than SPECK of the heaviest one's excess holds only specks of
    noise or texture. The outer inset pixels are not looked at (a blur of that radius averages less
    there): the box reaches the edge when the object reaches them."""
    height, width = excess.shape
    if not excess.any():
        return slice(0, height), slice(0, width)
    inner = np.zeros_like(excess)
    inner[inset : height - inset, inset : width - inset] = excess[
        inset : height - inset, inset : width - inset
    ]
    if not inner.any():
        inner, inset = excess, 0
    box = []
    for axis, n in ((1, height), (0, width)):
        mass = inner.sum(axis=axis)
        found = np.flatnonzero(mass > SPECK * mass.max())
        first = 0 if found[0] <= inset else found[0]
        last = n - 1 if found[-1] >= n - 1 - inset else found[-1]
        box.append(slice(first, last + 1))
    return box[0], box[1]


def _fit(crop: np.ndarray) -> np.ndarray:
    """Resize the object's longest edge to 28 and centre it on black."""
    longest = max(crop.shape)
    width, height = (max(1, round(n * SIZE / longest)) for n in crop.shape[::-1])
    out = np.zeros((SIZE, SIZE), np.float32)
    top, left = (SIZE - height + 1) // 2, (SIZE - width + 1) // 2  # an odd margin: one more above, left
    out[top : top + height, left : left + width] = _resized(crop, (width, height))
    return _stretched(out, crop)


def _resized(levels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return np.asarray(Image.fromarray(levels).resize(size, Image.Resampling.LANCZOS))


def _stretched(small: np.ndarray, large: np.ndarray) -> np.ndarray:
    """The 28x28 levels (small) as uint8, the brightest pixel at 255 as in Fashion-MNIST. The peak is
    the lower of the two images' peaks: the small one averages noise out, the large one has no
    Lanczos overshoot."""
    scale = np.float32(255 / max(min(float(small.max()), float(large.max())), 1e-3))
    return np.rint(np.clip(small * scale, 0, 255)).astype(np.uint8)
