"""The report as one picture (Pillow only, so it draws on a device too): batch-1 latency per variant
on the left (p50 bar, p99 whisker, bare engine tick), throughput per batch size on the right with
numpy's matrix products as the reference. Both axes are logarithmic: Keras and LiteRT differ by
four orders of magnitude.
"""

import math

from PIL import Image, ImageDraw

from benchmarks import table
from runtime.report import BACKGROUND, INK, MUTED, PALETTE, font

WIDTH, HEIGHT = 1400, 620
LEGEND_LINE = 18  # pixels between the legend's lines
BATCHES = (1, 32, 1024)
GRID = (228, 228, 228)


def seconds(s: float) -> str:
    return table.seconds(s).replace("µ", "u")  # Pillow's built-in font has no µ


def rate(ips: float) -> str:
    return table.rate(ips)


def log_position(value: float, low: float, high: float, length: float) -> float:
    return length * (math.log10(value) - math.log10(low)) / (math.log10(high) - math.log10(low))


def decades(low: float, high: float) -> tuple[float, float]:
    return 10 ** math.floor(math.log10(low)), 10 ** math.ceil(math.log10(high))


def latency_panel(draw: ImageDraw.ImageDraw, box, rows: list[dict]) -> None:
    left, top, right, bottom = box
    draw.text(
        (left, top - 70),
        "Latency of one image (p50 bar, p99 whisker, | bare engine), 1 thread",
        fill=INK,
        font=font(15),
    )
    shown = [r for r in rows if r["b1_p50"]]
    if not shown:
        return
    values = [v for r in shown for v in (r["b1_min"], r["b1_p99"], r["bare_p50"]) if v]
    low, high = decades(min(values), max(values))
    label_w, small = 120, font(12)
    length = right - left - label_w
    step = 10 ** round(math.log10(low))
    while step <= high * 1.0001:
        x = left + label_w + log_position(step, low, high, length)
        draw.line([(x, top), (x, bottom)], fill=GRID)
        draw.text((x, bottom + 6), seconds(step), fill=MUTED, font=small, anchor="mt")
        step *= 10
    bar_h = (bottom - top) / len(shown)
    for i, row in enumerate(shown):
        y0, y1 = top + i * bar_h + bar_h * 0.2, top + (i + 1) * bar_h - bar_h * 0.2
        colour = PALETTE[i % len(PALETTE)]
        x = left + label_w + log_position(row["b1_p50"], low, high, length)
        draw.rectangle([left + label_w, y0, x, y1], fill=colour)
        draw.text((left, (y0 + y1) / 2), row["variant"], fill=INK, font=small, anchor="lm")
        if row["b1_p99"]:
            x99 = left + label_w + log_position(row["b1_p99"], low, high, length)
            draw.line([(x, (y0 + y1) / 2), (x99, (y0 + y1) / 2)], fill=INK, width=1)
            draw.line([(x99, y0 + 3), (x99, y1 - 3)], fill=INK, width=1)
        if row["bare_p50"]:
            xb = left + label_w + log_position(row["bare_p50"], low, high, length)
            draw.line([(xb, y0 - 4), (xb, y1 + 4)], fill=INK, width=3)
        draw.text((x + 4, y0 - 1), seconds(row["b1_p50"]), fill=INK, font=small, anchor="lb")


def throughput_panel(draw: ImageDraw.ImageDraw, box, series: dict[str, dict[int, float]]) -> None:
    left, top, right, bottom = box
    draw.text(
        (left, top - 70), "Throughput per batch size, images per second, every core", fill=INK, font=font(15)
    )
    values = [v for by_batch in series.values() for v in by_batch.values()]
    if not values:
        return
    low, high = decades(min(values), max(values))
    small, axis_w = font(12), 64
    height = bottom - top
    step = low
    while step <= high * 1.0001:
        y = bottom - log_position(step, low, high, height)
        draw.line([(left + axis_w, y), (right, y)], fill=GRID)
        draw.text((left + axis_w - 6, y), rate(step), fill=MUTED, font=small, anchor="rm")
        step *= 10
    group_w = (right - left - axis_w) / len(BATCHES)
    bar_w = group_w * 0.8 / max(1, len(series))
    for g, batch in enumerate(BATCHES):
        x0 = left + axis_w + g * group_w + group_w * 0.1
        draw.text((x0 + group_w * 0.4, bottom + 6), f"batch {batch:,}", fill=INK, font=small, anchor="mt")
        for s, (name, by_batch) in enumerate(series.items()):
            if batch in by_batch:
                y = bottom - log_position(by_batch[batch], low, high, height)
                colour = MUTED if name == "numpy matmul" else PALETTE[s % len(PALETTE)]
                draw.rectangle([x0 + s * bar_w, y, x0 + (s + 1) * bar_w - 2, bottom], fill=colour)
    legend(draw, (left + axis_w, top - 40, right), series)


def legend(draw: ImageDraw.ImageDraw, box, series: dict) -> None:
    """A swatch and name per series, in as many lines of LEGEND_LINE as fit between left and right."""
    left, top, right = box
    small = font(12)
    x, y = left, top
    for s, name in enumerate(series):
        width = 24 + draw.textlength(name, font=small)
        if x > left and x + width - 10 > right:
            x, y = left, y + LEGEND_LINE
        colour = MUTED if name == "numpy matmul" else PALETTE[s % len(PALETTE)]
        draw.rectangle([x, y - 5, x + 10, y + 5], fill=colour)
        draw.text((x + 14, y), name, fill=INK, font=small, anchor="lm")
        x += width


def throughput_series(report: dict) -> dict[str, dict[int, float]]:
    """img/s per batch for each variant (batch 1 on every core) and for numpy's products."""
    series = {}
    for row in report["rows"]:
        by_batch = {
            1: 1 / row["b1_all_p50"] if row["b1_all_p50"] else None,
            32: row["b32_ips"],
            1024: row["b1024_ips"],
        }
        if row["variant"] == "keras":
            by_batch[1] = 1 / row["b1_p50"] if row["b1_p50"] else None
        by_batch = {b: v for b, v in by_batch.items() if v}
        if by_batch:
            series[row["variant"]] = by_batch
    numpy = {ref["batch"]: ref["ips"] for ref in report["references"] if ref["subject"] == "numpy"}
    if numpy:
        series["numpy matmul"] = numpy
    return series


def draw_report(report: dict) -> Image.Image:
    picture = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(picture)
    machine = report["machine"]
    title = f"fmnist-edge on {machine['cpu']}, {machine['usable_cores']} cores, {machine['date']}"
    draw.text((24, 14), title, fill=INK, font=font(17))
    latency_panel(draw, (24, 120, 680, HEIGHT - 50), report["rows"])
    throughput_panel(draw, (730, 120, WIDTH - 24, HEIGHT - 50), throughput_series(report))
    return picture
