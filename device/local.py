"""This host as a device: a shell in a home folder of its own, so a bundle installs here exactly as
it would on a board (device/sizes.py measures installs with it)."""

import os
import subprocess
from pathlib import Path


class LocalDevice:
    emulated = False

    def __init__(self, home: Path, name: str = "this-host"):
        self.home, self.name = home, name

    def run(self, script: str, stdin: Path | None, timeout: float) -> subprocess.CompletedProcess:
        """`script` in a clean environment: none of this process's venv, Python or pip settings."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "PIP_"))}
        with open(stdin or os.devnull, "rb") as feed:
            return subprocess.run(
                ["sh", "-c", script],
                stdin=feed,
                capture_output=True,
                timeout=timeout,
                env={**env, "HOME": str(self.home)},
            )
