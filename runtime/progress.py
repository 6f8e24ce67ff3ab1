"""Progress of long work on stderr: a tqdm bar on a terminal, plain lines elsewhere.

    for item in progress(items, "export"):  # total from len(items), or total=...
        say(f"{item}: done")                   # a result line on stdout, above the bar

In a CI log or a file, a bar's carriage returns are noise: there a line is written at most every
PLAIN_EVERY seconds, and a last one when anything was written before, so quick work stays silent and
slow work shows that it moves. tqdm is the host tools' (dev group): a device without it gets lines.
"""

import subprocess
import sys
import time

PLAIN_EVERY = 10.0  # seconds between plain lines


def bar_class():
    """tqdm when stderr is a terminal and tqdm is installed, else None."""
    if not sys.stderr.isatty():
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm


def progress(items, what: str, total: int | None = None):
    """Yield every item of `items`, reporting how many are done as `what`."""
    total = len(items) if total is None and hasattr(items, "__len__") else total
    bar = bar_class()
    if bar:
        yield from bar(items, desc=what, total=total, leave=False, file=sys.stderr)
    else:
        yield from plain(items, what, total)


def say(line: str) -> None:
    """Print a line of results on stdout, above a progress bar if one is drawn."""
    bar = bar_class()
    if bar:
        bar.write(line, file=sys.stdout)
    else:
        print(line, flush=True)


def plain(items, what: str, total: int | None):
    started = last = time.monotonic()
    done, wrote = 0, False
    of = f"/{total}" if total else ""
    for item in items:
        yield item
        done += 1
        now = time.monotonic()
        if now - last >= PLAIN_EVERY:
            print(f"{what}: {done}{of} ({now - started:.0f} s)", file=sys.stderr, flush=True)
            last, wrote = now, True
    if wrote:
        print(f"{what}: {done}{of} done ({time.monotonic() - started:.0f} s)", file=sys.stderr, flush=True)


def run_counted(command: list[str], what: str, **kwargs) -> subprocess.CompletedProcess:
    """subprocess.run with stdout and stderr captured together as `stdout`, each line the command
    prints counted as progress of `what` (debootstrap, pip: long, and chatty line by line)."""
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs
    ) as child:
        output = "".join(progress(child.stdout, what))
    return subprocess.CompletedProcess(command, child.returncode, output, "")
