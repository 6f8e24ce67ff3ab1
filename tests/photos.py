"""A photo-like corpus made from the real test set: each 28x28 image rendered the way a product photo
looks, to measure whether preprocessing gives the model what it would see in the original.

    from tests.photos import agreement, render_corpus
    photos = render_corpus(test_images, folder, per_cell=30, seed=0)  # [Photo(path, index, kind, fmt)]
    shares = agreement(predictor, test_images, photos)  # {("wood", "JPEG"): 0.97, ..., ("all", "all"): ...}

The test image's intensity is the object's opacity over the background (a dark pixel of the
original lets the background through), in one colour chosen to stand out from the background by at
least MIN_CONTRAST grey levels. The canvas is 100..600 pixels on its longest edge, not square; the
object fills 45..85% of its shorter edge, off centre with some margin. Every rendering gets mild
sensor noise (sigma 1.5 levels) and is saved as PNG or JPEG (quality 75..90). The KINDS of
background: white, light, mid and dark grey (slightly tinted), a colour, a linear gradient of
40..100 levels in any direction (it may saturate), sensor noise of sigma 6..14 levels per channel,
wood grain of 4..10 levels and a fabric weave of 3..8 levels: light textures, as the issue asks.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from runtime.images import read_image

MIN_CONTRAST = 60  # grey levels (root mean square over R, G, B) between object colour and background
FORMATS = ("PNG", "JPEG")
COLOURS = {
    "white": (245, 245, 242),
    "black": (22, 22, 25),
    "red": (200, 30, 40),
    "blue": (40, 70, 180),
    "navy": (25, 35, 80),
    "green": (40, 130, 60),
    "yellow": (235, 200, 40),
    "beige": (215, 195, 155),
    "brown": (110, 70, 40),
    "pink": (235, 140, 175),
    "grey": (128, 128, 128),
}


@dataclass(frozen=True)
class Photo:
    path: Path
    index: int  # into the test images
    kind: str  # background kind
    fmt: str


def _flat(level_low: int, level_high: int) -> Callable:
    def background(rng, height, width):
        level = rng.uniform(level_low, level_high) + rng.uniform(-4, 4, 3)  # a slight tint
        return np.broadcast_to(level, (height, width, 3))

    return background


def _coloured(rng, height, width):
    hue = Image.new(
        "HSV", (1, 1), (int(rng.integers(256)), int(rng.integers(80, 200)), int(rng.integers(110, 230)))
    )
    return np.broadcast_to(np.asarray(hue.convert("RGB"), np.float64)[0, 0], (height, width, 3))


def _gradient(rng, height, width):
    """A linear ramp of 40..100 levels in any direction, from one grey or colour to another."""
    angle = rng.uniform(0, 2 * np.pi)
    y, x = np.mgrid[0:height, 0:width]
    t = np.cos(angle) * x / width + np.sin(angle) * y / height
    t = (t - t.min()) / (t.max() - t.min())
    start = rng.uniform(40, 215) + rng.uniform(-15, 15, 3)
    end = start + rng.choice([-1, 1]) * rng.uniform(40, 100)
    return start + (end - start) * t[..., None]


def _noisy(rng, height, width):
    return _flat(40, 220)(rng, height, width) + rng.normal(0, rng.uniform(6, 14), (height, width, 3))


def _wood(rng, height, width):
    """Grain: stripes along one axis whose phase wanders, on a brown of random shade."""
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    wander = np.sin(2 * np.pi * (rng.uniform(1, 3) * x + rng.uniform(0, 1))) * rng.uniform(0.3, 1.0)
    grain = np.sin(2 * np.pi * (rng.uniform(8, 20) * y + wander))
    brown = np.array([160, 115, 75]) * rng.uniform(0.7, 1.3)
    return brown + rng.uniform(4, 10) * grain[..., None] + rng.normal(0, 3, (height, width, 1))


def _fabric(rng, height, width):
    """A fine weave: alternating threads a few pixels wide, on any grey or colour."""
    y, x = np.mgrid[0:height, 0:width]
    period = rng.integers(3, 7)
    weave = np.where((x // period + y // period) % 2, 1.0, -1.0)
    return (
        _coloured(rng, height, width)
        + rng.uniform(3, 8) * weave[..., None]
        + rng.normal(0, 2, (height, width, 3))
    )


KINDS = {
    "white": _flat(238, 255),
    "light grey": _flat(175, 225),
    "mid grey": _flat(100, 160),
    "dark grey": _flat(25, 80),
    "coloured": _coloured,
    "gradient": _gradient,
    "noisy": _noisy,
    "wood": _wood,
    "fabric": _fabric,
}


def render(image: np.ndarray, kind: str, rng: np.random.Generator) -> Image.Image:
    """One 28x28 test image as a product photo on a background of this kind."""
    longest = int(rng.integers(100, 601))
    aspect = rng.uniform(0.65, 1.5)
    width, height = (longest, round(longest / aspect)) if aspect > 1 else (round(longest * aspect), longest)
    background = np.array(KINDS[kind](rng, height, width), np.float64)
    mean = background.reshape(-1, 3).mean(axis=0)
    far = [c for c in COLOURS.values() if np.sqrt(np.mean((np.array(c) - mean) ** 2)) >= MIN_CONTRAST]
    colour = np.array(far[rng.integers(len(far))], np.float64)
    side = round(min(width, height) * rng.uniform(0.45, 0.85))
    opacity = np.asarray(Image.fromarray(image).resize((side, side), Image.Resampling.BICUBIC), np.float64)
    top, left = (int(rng.integers(round(0.04 * n), n - side - round(0.04 * n) + 1)) for n in (height, width))
    region = background[top : top + side, left : left + side]
    alpha = np.clip(opacity / 255, 0, 1)[..., None]
    region[:] = region * (1 - alpha) + colour * alpha
    photo = background + rng.normal(0, 1.5, background.shape)  # every camera adds some noise
    return Image.fromarray(np.clip(np.rint(photo), 0, 255).astype(np.uint8))


def render_corpus(images: np.ndarray, folder: Path, per_cell: int, seed: int = 0) -> list[Photo]:
    """per_cell renderings for every background kind and format, of test images drawn at random."""
    rng = np.random.default_rng(seed)
    photos = []
    for kind in KINDS:
        for fmt in FORMATS:
            for _ in range(per_cell):
                index = int(rng.integers(len(images)))
                path = Path(folder, f"{len(photos):04d}-{kind.replace(' ', '-')}.{fmt.lower()}")
                # PNG at zlib level 1: noisy pixels compress slowly, and the corpus is written on every run
                options = {"quality": int(rng.integers(75, 91))} if fmt == "JPEG" else {"compress_level": 1}
                render(images[index], kind, rng).save(path, fmt, **options)
                photos.append(Photo(path, index, kind, fmt))
    return photos


def agreement(predictor, images: np.ndarray, photos: list[Photo]) -> dict[tuple[str, str], float]:
    """Share of photos given the class the model gives their original 28x28 image, by (kind, format),
    (kind, "all") and ("all", "all")."""
    originals = predictor.classify(images[[p.index for p in photos]])
    rendered = predictor.classify(np.stack([read_image(p.path) for p in photos]))
    groups: dict[tuple[str, str], list[bool]] = {}
    for photo, same in zip(photos, originals == rendered, strict=True):
        for key in ((photo.kind, photo.fmt), (photo.kind, "all"), ("all", "all")):
            groups.setdefault(key, []).append(bool(same))
    return {key: float(np.mean(values)) for key, values in groups.items()}
