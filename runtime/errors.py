"""Errors a user can act on: each names the file and the reason, so a CLI can print one line."""

from pathlib import Path


class ToolkitError(Exception):
    """Base of every error the toolkit raises on purpose; `str()` is the one line a CLI prints."""

    def __init__(self, path: str | Path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")

    def lines(self) -> list[str]:
        """What a CLI prints, one `error:` line each."""
        return [str(self)]


class DataError(ToolkitError):
    """A Fashion-MNIST IDX file is missing, damaged or not what it claims to be."""


class Refusals(DataError):
    """Every file of a dataset that cannot be used, found in one pass and raised once: one line
    each (the first LIMIT, then how many more), so a user fixes them all at one go."""

    LIMIT = 20

    def __init__(self, errors: list[ToolkitError], folder: str | Path):
        first = errors[0]
        super().__init__(first.path, first.reason)
        self.errors, self.folder = errors, str(folder)

    def lines(self) -> list[str]:
        shown = [str(e) for e in self.errors[: self.LIMIT]]
        more = len(self.errors) - len(shown)
        return shown + ([f"{self.folder}: {more} more files cannot be used like these"] if more else [])


class ModelError(ToolkitError):
    """A model file or manifest cannot be trusted or loaded."""


class ImageError(ToolkitError):
    """An input image cannot be read or turned into a model input."""


class ParityError(ToolkitError):
    """One or more exported variants fall outside their tolerance against the Keras model."""


def one_line(error: BaseException) -> str:
    """An exception as one line: its type and the first line of its message."""
    text = (str(error).strip().splitlines() or [""])[0][:200]
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
