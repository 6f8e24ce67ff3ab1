"""The images a command line names, in its order: files as given, folders searched recursively
(sorted, hidden files skipped; the suffix picks the files, their content then decides the format),
cut into chunks for the classifier, with each folder that gives no images as a record of its own.

    from runtime.listing import plan
    for step in plan(["shirt.png", "photos/"]):   # a list of up to CHUNK paths, or an Unlisted
        ...
"""

import os
from dataclasses import dataclass
from pathlib import Path

from runtime.images import SUFFIXES

CHUNK = 250  # images per engine call, per write and per worker task: fast for folders, bounded memory


@dataclass(frozen=True)
class Unlisted:
    """A command-line folder that holds no images, or a folder below it that cannot be listed: an
    error record of its own, in its place among the images."""

    path: str
    reason: str


def listed(source: str) -> tuple[list[str], list[Unlisted]]:
    """One command-line input's image files (itself, or a folder's, recursively, sorted, hidden
    files skipped) and what could not be listed."""
    path = Path(source)
    if not path.is_dir():
        return [str(path)], []
    errors, found = [], []
    for folder, dirs, files in os.walk(path, onerror=errors.append):
        dirs.sort()
        prefix = str(Path(folder, "x"))[:-1]  # so prefix + name == str(Path(folder, name)), one Path a folder
        found += [
            prefix + name
            for name in sorted(files)
            if not name.startswith(".") and name.lower().endswith(SUFFIXES)
        ]
    problems = [Unlisted(e.filename, f"cannot list it ({e.strerror})") for e in errors]
    if not found and not errors:
        problems.append(
            Unlisted(str(path), f"no images in this folder or below (looked for {' '.join(SUFFIXES)})")
        )
    return found, problems


def plan(sources: list[str]) -> list[list[str] | Unlisted]:
    """The work in input order: chunks of up to CHUNK image paths, each listing problem in its place."""
    steps, paths = [], []
    for source in sources:
        found, problems = listed(source)
        paths += found
        if problems:
            steps += [*chunked(paths), *problems]
            paths = []
    return steps + chunked(paths)


def chunked(paths: list[str]) -> list[list[str]]:
    return [paths[i : i + CHUNK] for i in range(0, len(paths), CHUNK)]
