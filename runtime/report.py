"""Pictures of an evaluation, drawn with Pillow alone (a device has no matplotlib or TensorFlow).

- `disagreement_grid`: the test images on which a variant's top-1 class differs from Keras', each
  enlarged and labelled with both answers and the true class, so a person sees *what* flips.
- `class_accuracy_chart`: accuracy per class for Keras and every variant on one zoomed axis, so
  the classes that suffer from quantization stand out.
"""

import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from runtime.files import atomic_path
from runtime.parity import NO_LABELS

MAX_TILES = 100  # ten rows of ten; the title states how many more there are
COLUMNS = 10
TILE = 112  # pixels of a tile's longest edge (28 px -> 112 px: big enough to recognise a garment)
GAP = 6
LINE = 14  # pixels per text line at the label font size
TILE_W, TILE_H = TILE, TILE + 3 * LINE + 4
HEADER = 52
BACKGROUND, INK, MUTED = "white", (20, 20, 20), (110, 110, 110)
RIGHT, WRONG = (0, 130, 40), (200, 20, 20)
# Series colours of the chart: Keras is the black reference tick, variants take these in order.
PALETTE = [
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (188, 189, 34),
    (23, 190, 207),  # then the lighter tones of the same hues: a colour for each of up to 18 series
    (174, 199, 232),
    (255, 187, 120),
    (152, 223, 138),
    (255, 152, 150),
    (197, 176, 213),
    (196, 156, 148),
    (247, 182, 210),
    (219, 219, 141),
    (158, 218, 229),
]


def font(size: int) -> ImageFont.ImageFont:
    """Pillow's built-in font at `size`; the fixed-size bitmap font where FreeType is missing."""
    try:
        return ImageFont.load_default(size)
    except (ImportError, OSError):
        return ImageFont.load_default()


def disagreement_grid(
    variant: str,
    images: np.ndarray,
    indices: np.ndarray,
    labels: np.ndarray | None,
    keras_top1: np.ndarray,
    variant_top1: np.ndarray,
    classes: list[str],
    total: int,
    limit: int = MAX_TILES,
) -> Image.Image:
    """A grid of the test images `indices` (where `variant` disagrees with Keras), at most `limit`.

    `images` (greyscale or RGB, any size), `labels` and `keras_top1` cover the whole test set
    (`total` images); `variant_top1` holds the variant's class for each of `indices`. Classes are
    named by the model's `classes` (the labels are of its classes; None: the images have none, and
    no answer is marked right or wrong). With no disagreements the picture says so, so a stale grid
    from an earlier run is never left behind looking current.
    """
    title, small = font(16), font(12)
    shown = indices[:limit]
    if len(shown) == 0:
        picture = Image.new("RGB", (640, HEADER + 24), BACKGROUND)
        draw = ImageDraw.Draw(picture)
        draw.text((GAP, GAP), f"{variant}: no disagreements", fill=RIGHT, font=title)
        draw.text(
            (GAP, GAP + 24), f"all {total:,} test images get the same class as Keras", fill=INK, font=small
        )
        return picture
    columns = min(COLUMNS, len(shown))
    rows = math.ceil(len(shown) / columns)
    picture = Image.new("RGB", (GAP + columns * (TILE_W + GAP), HEADER + rows * (TILE_H + GAP)), BACKGROUND)
    draw = ImageDraw.Draw(picture)
    more = f"; the first {len(shown)} are shown" if len(shown) < len(indices) else ""
    draw.text(
        (GAP, GAP),
        f"{variant}: {len(indices):,} of {total:,} test images get a different class than Keras{more}",
        fill=INK,
        font=title,
    )
    legend = "#test index, true class" if labels is not None else f"#test index (accuracy {NO_LABELS})"
    colours = ";  green = correct, red = wrong" if labels is not None else ""
    draw.text(
        (GAP, GAP + 22),
        f"{legend};  K = Keras' answer, V = {variant}'s answer{colours}",
        fill=MUTED,
        font=small,
    )
    for n, (index, theirs) in enumerate(zip(shown, variant_top1[:limit], strict=True)):
        x, y = GAP + (n % columns) * (TILE_W + GAP), HEADER + (n // columns) * (TILE_H + GAP)
        picture.paste(tile(images[index]), (x, y))
        keras = int(keras_top1[index])
        truth = None if labels is None else int(labels[index])
        lines = [
            (f"#{index} {classes[truth]}" if truth is not None else f"#{index}", MUTED),
            (f"K {classes[keras]}", mark(keras, truth)),
            (f"V {classes[int(theirs)]}", mark(int(theirs), truth)),
        ]
        for line, (text, colour) in enumerate(lines):
            draw.text((x + 1, y + TILE_W + 2 + line * LINE), text, fill=colour, font=small)
    return picture


def tile(image: np.ndarray) -> Image.Image:
    """An image enlarged (pixels kept sharp) or reduced to TILE pixels on its longest edge."""
    height, width = image.shape[:2]
    size = (
        max(1, round(TILE * width / max(height, width))),
        max(1, round(TILE * height / max(height, width))),
    )
    resample = Image.Resampling.NEAREST if max(height, width) <= TILE else Image.Resampling.BOX
    return Image.fromarray(image).resize(size, resample)


def mark(answer: int, truth: int | None):
    """The colour of an answer: right or wrong against the label, plain ink without one."""
    return INK if truth is None else RIGHT if answer == truth else WRONG


def no_labels_chart(classes: list[str]) -> Image.Image:
    """In place of the per-class chart, when the images have no labels of the model's classes."""
    picture = Image.new("RGB", (1100, 60), BACKGROUND)
    draw = ImageDraw.Draw(picture)
    draw.text((GAP, GAP), f"Accuracy per class: {NO_LABELS}", fill=INK, font=font(16))
    draw.text(
        (GAP, GAP + 30),
        f"the gate's images carry no labels of this model's {len(classes)} classes "
        f"({', '.join(classes[:6])}{', ...' if len(classes) > 6 else ''}); agreement with Keras is "
        "measured instead. Export with --data DIR (one folder per class) to measure accuracy.",
        fill=MUTED,
        font=font(12),
    )
    return picture


def class_accuracy_chart(series: dict[str, list[float]], classes: list[str]) -> Image.Image:
    """Accuracy per class: one column per class; the first series (Keras, the reference) is a black
    tick across the column, every other series a coloured dot.

    The axis starts just below the lowest value (labelled), so differences of a point are visible.
    """
    width, height = 1100, 520
    left, right, top, bottom = 60, 180, 50, 60
    low = min(min(values) for values in series.values())
    floor = max(0.0, math.floor((low - 0.02) * 20) / 20)
    step = 0.05 if 1 - floor <= 0.5 else 0.1
    picture = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(picture)
    title, small = font(16), font(12)
    draw.text((left, 14), "Accuracy per class on the gate's images", fill=INK, font=title)
    plot_w, plot_h = width - left - right, height - top - bottom

    def y_of(value: float) -> float:
        return top + (1 - (value - floor) / (1 - floor)) * plot_h

    tick = floor
    while tick <= 1.0 + 1e-9:
        y = y_of(tick)
        draw.line([(left, y), (left + plot_w, y)], fill=(225, 225, 225))
        draw.text((left - 8, y), f"{tick:.2f}", fill=MUTED, font=small, anchor="rm")
        tick = round(tick + step, 2)
    column = plot_w / len(classes)
    names = list(series)
    for c, name in enumerate(classes):
        centre = left + (c + 0.5) * column
        draw.text((centre, top + plot_h + 10), name, fill=INK, font=small, anchor="mt")
        for s, series_name in enumerate(names):
            y = y_of(series[series_name][c])
            if s == 0:  # the reference: a tick across the column
                draw.line([(centre - column * 0.4, y), (centre + column * 0.4, y)], fill=INK, width=2)
                continue
            x = centre + (s - len(names) / 2) * column * 0.7 / max(1, len(names) - 1)
            draw.ellipse([x - 4, y - 4, x + 4, y + 4], fill=PALETTE[(s - 1) % len(PALETTE)])
    draw.rectangle([left, top, left + plot_w, top + plot_h], outline=MUTED)
    for s, series_name in enumerate(names):
        x, y = left + plot_w + 16, top + 10 + s * 20
        if s == 0:
            draw.line([(x, y), (x + 14, y)], fill=INK, width=2)
        else:
            draw.ellipse([x + 3, y - 4, x + 11, y + 4], fill=PALETTE[(s - 1) % len(PALETTE)])
        draw.text((x + 22, y), series_name, fill=INK, font=small, anchor="lm")
    return picture


def save_png(picture: Image.Image, path: Path) -> Path:
    """Write a PNG atomically: a reader never sees half a picture."""
    with atomic_path(path) as tmp:
        picture.save(tmp, format="PNG")
    return path
