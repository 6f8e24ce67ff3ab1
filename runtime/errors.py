"""Errors a user can act on: each names the file and the reason, so a CLI can print one line."""

from pathlib import Path


class ToolkitError(Exception):
    """Base of every error the toolkit raises on purpose; `str()` is the one line a CLI prints."""

    def __init__(self, path: str | Path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class DataError(ToolkitError):
    """A Fashion-MNIST IDX file is missing, damaged or not what it claims to be."""


class ModelError(ToolkitError):
    """A model file or manifest cannot be trusted or loaded."""


class ImageError(ToolkitError):
    """An input image cannot be read or turned into a 28x28 model input."""


class ParityError(ToolkitError):
    """One or more exported variants fall outside their tolerance against the Keras model."""


def one_line(error: BaseException) -> str:
    """An exception as one line: its type and the first line of its message."""
    text = (str(error).strip().splitlines() or [""])[0][:200]
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
