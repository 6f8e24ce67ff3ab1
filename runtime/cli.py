"""What the runtime's command-line tools share: argument types and a quiet end on a closed pipe."""

import argparse
import os
import sys


def positive(text: str) -> int:
    """An argparse type: a whole number of at least 1 (threads, top-k)."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more (a positive whole number), got {text}")
    return value


def silence_stdout() -> None:
    """After `... | head` closed stdout: point it at /dev/null so Python's exit flush stays quiet,
    as other command-line tools do."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
