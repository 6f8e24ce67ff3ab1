"""The resize of Keras' `image_dataset_from_directory` in numpy, so that a photo reaches the model as
its training images did: `tf.image.resize(image, (height, width))`, bilinear with half-pixel
centres, no antialiasing, the aspect ratio not kept. Keras yields float32; the toolkit's images are
pixels, so the result is rounded to whole levels (at most half a level from Keras').

    from runtime.resizing import resized
    x = resized(pixels, 32, 32)  # (H, W) or (H, W, C) uint8 -> (32, 32) or (32, 32, C) uint8
"""

import numpy as np


def resized(pixels: np.ndarray, height: int, width: int) -> np.ndarray:
    """`pixels` (H, W) or (H, W, C) resized to (height, width) as TensorFlow's ResizeBilinear does."""
    if pixels.shape[:2] == (height, width):
        return pixels  # every output pixel falls on an input pixel: TensorFlow's result is the input
    rows, row_lerp = _samples(height, pixels.shape[0])
    cols, col_lerp = _samples(width, pixels.shape[1])
    if pixels.ndim == 3:
        col_lerp = col_lerp[:, np.newaxis]
    picked = pixels[rows].astype(np.float32)  # (2, height, W[, C]): each output row's two input rows
    top_left, top_right = picked[0][:, cols[0]], picked[0][:, cols[1]]
    bottom_left, bottom_right = picked[1][:, cols[0]], picked[1][:, cols[1]]
    top = top_left + (top_right - top_left) * col_lerp
    bottom = bottom_left + (bottom_right - bottom_left) * col_lerp
    row_lerp = row_lerp.reshape(-1, *([1] * (pixels.ndim - 1)))
    out = top + (bottom - top) * row_lerp
    return np.rint(np.clip(out, 0, 255)).astype(np.uint8)


def _samples(out_size: int, in_size: int) -> tuple[np.ndarray, np.ndarray]:
    """For each output position: its lower and upper input positions (2, out_size) and the weight of
    the upper one, as TensorFlow's compute_interpolation_weights with half-pixel centres."""
    scale = np.float32(in_size / out_size)
    position = (np.arange(out_size, dtype=np.float32) + np.float32(0.5)) * scale - np.float32(0.5)
    floor = np.floor(position)
    lower = np.maximum(floor, 0).astype(np.intp)
    upper = np.minimum(np.ceil(position), in_size - 1).astype(np.intp)
    return np.stack([lower, upper]), (position - floor).astype(np.float32)
