"""Benchmarks on real boards over SSH, with the system's OpenSSH client (key-based, BatchMode, the
user's ~/.ssh/config honoured): no agent, server or protocol of ours on the device.

    python -m device.ssh pi@pi4 pi@pi5 [--engine both] [--smoke] [--ssh-config FILE]
    make bench-device HOSTS="pi@pi4 pi@pi5" [ENGINE=litert] [SMOKE=1]

Each host is asked for `uname -m`, its Python and free disk; the matching bundle is built (once per
platform and Python), copied, installed offline and benchmarked there, and benchmark.json, the
report, evaluate's and doctor's output come back to benchmarks/results/devices/<host>/. Hosts run
in parallel; one that is unreachable, too slow or fails is a row with its reason, never a crash or
a hang. Exit status: 0 when every host ran, 1 when any failed, 2 for HOSTS empty or malformed.
"""

import os
import re
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from device.board import Bundles, add_folders, run_device
from device.wheels import BOTH, ENGINES
from runtime import cli
from runtime.progress import progress

HOST = re.compile(r"(?:[A-Za-z0-9._-]+@)?[A-Za-z0-9][A-Za-z0-9._-]*")  # [user@]host or ~/.ssh/config alias
CLIENT_OPTIONS = (
    "-o",
    "BatchMode=yes",
    "-o",
    "ConnectTimeout=15",
    "-o",
    "ServerAliveInterval=10",
    "-o",
    "ServerAliveCountMax=3",
)  # no prompt; a silent or dropped link ends in 45 s


class SshDevice:
    """A board reached with `ssh HOST sh -c SCRIPT`: sh, whatever the user's login shell there."""

    emulated = False

    def __init__(self, host: str, config: Path | None = None):
        self.host, self.name = host, host.rpartition("@")[2]
        self.options = [*CLIENT_OPTIONS, *(["-F", str(config)] if config else [])]

    def run(self, script: str, stdin: Path | None, timeout: float) -> subprocess.CompletedProcess:
        command = ["ssh", *self.options, self.host, f"sh -c {shlex.quote(script)}"]
        with open(stdin or os.devnull, "rb") as feed:
            return subprocess.run(command, stdin=feed, capture_output=True, timeout=timeout)


def hosts(words: list[str]) -> list[str]:
    """HOSTS checked: one line naming the first bad entry (a `-` would be read as an ssh option)."""
    if not words:
        raise ValueError('HOSTS is empty: name the boards, e.g. make bench-device HOSTS="pi@pi4 pi@pi5"')
    for word in words:
        if not HOST.fullmatch(word):
            raise ValueError(f"HOSTS entry {word!r} is not [user@]host (or a Host alias of ~/.ssh/config)")
    names = [w.rpartition("@")[2] for w in words]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"HOSTS names {', '.join(twice)} more than once")
    return words


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser("python -m device.ssh", __doc__, cli.ARTIFACTS)
    parser.add_argument("hosts", nargs="*", metavar="HOST", help="[user@]host, or a Host of ~/.ssh/config")
    parser.add_argument("--engine", choices=[*ENGINES, BOTH], default=BOTH, help="default: both")
    parser.add_argument("--smoke", action="store_true", help="a few rounds of everything (`bench --smoke`)")
    parser.add_argument("--ssh-config", type=Path, help="an ssh_config file instead of ~/.ssh/config")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per step (default 1800)")
    add_folders(parser)
    return cli.run(bench_devices, parser, argv)


def bench_devices(args) -> int:
    try:
        chosen = hosts(args.hosts)
    except ValueError as e:
        raise cli.UsageError(str(e)) from None
    bundles = Bundles(args.artifacts, args.dist, args.engine)
    bench_args = ["--smoke"] if args.smoke else []
    devices = [SshDevice(host, args.ssh_config) for host in chosen]
    with ThreadPoolExecutor(max_workers=len(devices)) as pool:
        running = [pool.submit(run_device, d, bundles, args.out, bench_args, args.timeout) for d in devices]
        for _ in progress(as_completed(running), "devices", total=len(running)):
            pass
    summaries = [future.result() for future in running]
    for summary in summaries:
        if summary["status"] == "ok":
            print(
                f"{summary['name']}: ok ({summary['arch']}, Python {summary['python']}; installed in "
                f"{summary['install_seconds']:.0f} s); results in {args.out / summary['name']}"
            )
        else:
            cli.fail(f"{summary['name']}: {summary['reason']}")
    return 0 if all(s["status"] == "ok" for s in summaries) else 1


if __name__ == "__main__":
    sys.exit(main())
