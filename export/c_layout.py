"""Weights in the order the C kernels read them, and the choice between dense and sparse storage.

Dense (export/c_dense.c): blocks of four rows stored 16 inputs at a time, so that one pointer streams
through a block and Helium loads 16 weights of a row with one instruction. Sparse (export/c_sparse.c):
per row a bitmask of its non-zero weights (32-bit words), then only those weights. A bitmask costs one
bit per weight, a list of column indices (CSR) one byte per non-zero weight at best: the bitmask is
the smaller of the two while more than 1/8 of the weights are non-zero, so it is the sparse format; it
is chosen over dense when it is smaller, i.e. when more than 1/8 of the weights are zero.
"""

import numpy as np

from export import VariantSkipped

BLOCK_ROWS, CHUNK = 4, 16
MASK_BITS = 32


def blocked(weights: np.ndarray) -> np.ndarray:
    """[outputs, inputs] weights in the dense kernel's layout (see the top of c_dense.c), padded with
    zeros to a multiple of 4 bytes so that what follows stays aligned."""
    outputs, inputs = weights.shape
    whole_rows, whole_inputs = outputs // BLOCK_ROWS * BLOCK_ROWS, inputs // CHUNK * CHUNK
    parts = []
    for block in weights[:whole_rows].reshape(-1, BLOCK_ROWS, inputs):
        chunks = block[:, :whole_inputs].reshape(BLOCK_ROWS, -1, CHUNK).transpose(1, 0, 2)
        parts += [chunks.ravel(), block[:, whole_inputs:].ravel()]
    parts.append(weights[whole_rows:].ravel())
    laid_out = np.concatenate(parts).astype(np.int8)
    return np.concatenate([laid_out, np.zeros(-len(laid_out) % 4, np.int8)])


def grouped(weights: np.ndarray, groups: int) -> np.ndarray:
    """A convolution's [out_channels, h, w, group channels] filters as one dense layout per group, each
    filter padded with zeros to a multiple of 16 weights (the kernels' fast path; see c_conv.c)."""
    rows = weights.reshape(groups, len(weights) // groups, -1)
    rows = np.pad(rows, ((0, 0), (0, 0), (0, -rows.shape[2] % CHUNK)))
    return np.concatenate([blocked(group) for group in rows])


def mask_words(weights: np.ndarray) -> np.ndarray:
    """uint32 [outputs, ceil(inputs / 32)]: bit 31 - i of word k set when weight 32k + i is not zero
    (the kernel finds the next one by counting leading zeros)."""
    outputs, inputs = weights.shape
    padded = np.zeros((outputs, -(-inputs // MASK_BITS) * MASK_BITS), bool)
    padded[:, :inputs] = weights != 0
    positions = np.arange(MASK_BITS - 1, -1, -1, dtype=np.uint64)
    bits = padded.reshape(outputs, -1, MASK_BITS).astype(np.uint64) << positions
    return bits.sum(axis=2).astype(np.uint32)


def sparse_bytes(weights: np.ndarray) -> int:
    """Flash of the weights stored as bitmask and non-zero values."""
    return mask_words(weights).nbytes + int(np.count_nonzero(weights))


def is_sparse(weights: np.ndarray) -> bool:
    """Store as bitmask when that is smaller than the weights themselves."""
    return sparse_bytes(weights) < weights.size


def folded_bias(bias: np.ndarray, weights: np.ndarray, input_offset: int) -> np.ndarray:
    """bias - input_offset * sum(w) per row, so that the kernel multiplies the stored values only:
    acc = bias + sum(w * (u - input_offset)) = folded + sum(w * u)."""
    folded = bias.astype(np.int64) - input_offset * weights.reshape(len(weights), -1).sum(
        axis=1, dtype=np.int64
    )
    if np.abs(folded).max(initial=0) >= 1 << 31:
        raise VariantSkipped("a bias with its input offset folded in does not fit in int32")
    return folded.astype(np.int32)
