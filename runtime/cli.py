"""The one scaffold of every `python -m` command: its parser with the shared options, and its error
boundary. A command builds a parser, adds its own options, and hands its body to `run`:

    def main(argv=None) -> int:
        parser = cli.parser("python -m runtime.evaluate", __doc__, ARTIFACTS, JSON, THREADS)
        parser.add_argument(...)
        return cli.run(body, parser, argv)       # body(args) -> exit status

The boundary is the same everywhere: a failed input is one line `error: <path>: <reason>` on stderr
and exit 1; a usage error is argparse's message and exit 2; a closed pipe (`... | head`) ends quietly;
Ctrl-C is exit 130. No traceback reaches the user for any of them.
"""

import argparse
import os
import sys
from pathlib import Path

from runtime.errors import ToolkitError
from runtime.loader import DEFAULT_THREADS

ARTIFACTS, JSON, THREADS = "artifacts", "json", "threads"
DEFAULT_ARTIFACTS = Path("artifacts")  # relative to the current folder, for every command


class UsageError(Exception):
    """The command line asks for something that cannot be (exit 2, argparse's way)."""


def positive(text: str) -> int:
    """An argparse type: a whole number of at least 1 (threads, top-k, rounds)."""
    value = int(text)  # a ValueError: argparse says "invalid positive value: 'two'"
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more (a positive whole number), got {text}")
    return value


def parser(prog: str, doc: str, *shared: str) -> argparse.ArgumentParser:
    """A parser whose description is the first line of `doc`, with the `shared` options asked for."""
    made = argparse.ArgumentParser(prog=prog, description=doc.strip().splitlines()[0])
    if ARTIFACTS in shared:
        made.add_argument(
            "--artifacts",
            type=Path,
            default=DEFAULT_ARTIFACTS,
            metavar="DIR",
            help=f"folder of the exported set and its manifest.json (default: {DEFAULT_ARTIFACTS}, "
            "in the current folder)",
        )
    if JSON in shared:
        made.add_argument("--json", action="store_true", help="print JSON for a program to read")
    if THREADS in shared:
        made.add_argument(
            "--threads",
            type=positive,
            default=DEFAULT_THREADS,
            metavar="N",
            help=f"engine threads (default: {DEFAULT_THREADS}, the best for one image at a time)",
        )
    return made


def run(body, made: argparse.ArgumentParser, argv: list[str] | None = None) -> int:
    """Parse `argv`, call `body(args)` and turn what it raises into the shared boundary's exit."""
    args = made.parse_args(argv)
    try:
        return body(args)
    except UsageError as e:
        made.error(str(e))  # exits 2
    except BrokenPipeError:
        silence_stdout()
        return 1
    except ToolkitError as e:
        for line in e.lines():
            fail(line)
    except OSError as e:
        fail(f"{e.filename}: {e.strerror}" if e.filename else str(e))
    except KeyboardInterrupt:
        return 130
    return 1


def fail(line: str) -> None:
    try:
        sys.stdout.flush()  # what came before the error stays before it in a combined log
    except BrokenPipeError:
        silence_stdout()
    print(f"error: {line}", file=sys.stderr, flush=True)


def silence_stdout() -> None:
    """After `... | head` closed stdout: point it at /dev/null so Python's exit flush stays quiet."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
