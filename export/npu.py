"""Compile a TFLite Micro variant for an Arm Ethos-U NPU with Vela (`ethos-u-vela`) and read back what
Vela estimates: cycles and time per inference at the configuration's clock, SRAM and off-chip memory
used, the operators it put on the NPU and those left to the Cortex-M CPU, with Vela's reason.

Nothing here runs an NPU: no simulator of one can be installed here, and LiteRT refuses the compiled
file's `ethos-u` custom op. Every figure is Vela's estimate, and says so (ESTIMATED) where shown.
"""

import csv
import json
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

from runtime.files import sha256_file, write_json
from runtime.manifest import Manifest

ESTIMATED = "estimated by Vela, not run"
VELA_CONFIG = "Arm/vela.ini"  # the system configs and memory modes Vela ships
TIMEOUT = 120  # seconds for one compile (they take under one)
PLACED = re.compile(r"^\s*(NPU|CPU): (\w+) = ", re.MULTILINE)  # one line per operator, --show-cpu-operations
REFUSED = re.compile(r"operator: (\w+), ofm: .*\nReason: (.*)")  # Vela's warning for an operator it leaves


@dataclass(frozen=True)
class Configuration:
    """One NPU in one system, as Vela's shipped vela.ini describes them."""

    accelerator: str  # e.g. ethos-u55-128: the NPU and its MACs per cycle
    system: str  # clock, memories and their bandwidth
    memory_mode: str  # where the weights and the tensor arena live

    @property
    def slug(self) -> str:
        """For a file name: every field, lower case."""
        return "-".join((self.accelerator, self.system, self.memory_mode)).lower().replace("_", "-")


# The U55s at their high-end embedded system (500 MHz, SRAM 4 GB/s, flash 0.5 GB/s), the U65 at its
# high-end one (1 GHz, SRAM 16 GB/s, DRAM 3.75 GB/s); weights in off-chip memory (Shared_Sram), or
# in SRAM (U55: Sram_Only), or everything off-chip behind an SRAM cache (U65: Dedicated_Sram).
CONFIGURATIONS = (
    Configuration("ethos-u55-128", "Ethos_U55_High_End_Embedded", "Shared_Sram"),
    Configuration("ethos-u55-128", "Ethos_U55_High_End_Embedded", "Sram_Only"),
    Configuration("ethos-u55-256", "Ethos_U55_High_End_Embedded", "Shared_Sram"),
    Configuration("ethos-u55-256", "Ethos_U55_High_End_Embedded", "Sram_Only"),
    Configuration("ethos-u65-256", "Ethos_U65_High_End", "Shared_Sram"),
    Configuration("ethos-u65-256", "Ethos_U65_High_End", "Dedicated_Sram"),
)


def vela_version() -> str | None:
    try:
        return metadata.version("ethos-u-vela")
    except metadata.PackageNotFoundError:
        return None


def compile_model(model: Path, configuration: Configuration, folder: Path) -> dict:
    """Compile `model` for `configuration` into folder/<model>_<configuration>.tflite. A row:
    `status` "npu" (every operator on the NPU), "cpu fallback" (`reason` names those on the CPU and
    why) or "failed" (Vela's own last line), and Vela's figures when it compiled."""
    row = {**asdict(configuration), "status": "failed"}
    with tempfile.TemporaryDirectory() as out:
        done = vela(model, configuration, Path(out))
        if done.returncode != 0:
            lines = (done.stderr or done.stdout).strip().splitlines() or [f"exit status {done.returncode}"]
            return {**row, "reason": lines[-1].strip()}
        compiled = folder / f"{model.stem}_{configuration.slug}.tflite"
        folder.mkdir(parents=True, exist_ok=True)
        shutil.move(Path(out) / f"{model.stem}_vela.tflite", compiled)
        with open(Path(out) / f"{model.stem}_summary_{configuration.system}.csv", newline="") as f:
            summary = next(csv.DictReader(f))
    placed = PLACED.findall(done.stdout)
    on_cpu = sum(where == "CPU" for where, _ in placed)
    refused = sorted({f"{op}: {reason.strip()}" for op, reason in REFUSED.findall(done.stdout)})
    row.update(
        status="cpu fallback" if on_cpu else "npu",
        reason="; ".join(refused) if on_cpu else None,
        npu_operators=len(placed) - on_cpu,
        cpu_operators=on_cpu,
        npu_operator_types=sorted({op for where, op in placed if where == "NPU"}),
        **figures(summary),
        file={"path": compiled, "bytes": compiled.stat().st_size, "sha256": sha256_file(compiled)},
    )
    return row


def vela(model: Path, configuration: Configuration, out: Path) -> subprocess.CompletedProcess:
    """Vela's command line (its public interface), listing where each operator went."""
    command = [sys.executable, "-m", "ethosu.vela", str(model), "--output-dir", str(out)]
    command += ["--config", VELA_CONFIG, "--accelerator-config", configuration.accelerator]
    command += ["--system-config", configuration.system, "--memory-mode", configuration.memory_mode]
    return subprocess.run(
        [*command, "--show-cpu-operations"], capture_output=True, text=True, timeout=TIMEOUT, check=False
    )


def figures(summary: dict) -> dict:
    """Vela's summary CSV as numbers: cycles and seconds per inference, the clock, bytes of SRAM used,
    and the memory Vela put the weights in (off-chip flash, on-chip flash, DRAM or SRAM) and its
    bytes used (Vela counts KiB)."""
    weights_in = summary["weights_storage_area"]
    return {
        "cycles": int(float(summary["cycles_total"])),
        "seconds": float(summary["inference_time"]),
        "clock_hz": float(summary["core_clock"]),
        "sram_bytes": round(float(summary["sram_memory_used"]) * 1024),
        "weights_in": weights_in,
        "weights_memory_bytes": round(float(summary[MEMORY_USED[weights_in]]) * 1024),
    }


MEMORY_USED = {  # Vela's name of a memory -> its summary column
    "Off-chip Flash": "off_chip_flash_memory_used",
    "On-chip Flash": "on_chip_flash_memory_used",
    "DRAM": "dram_memory_used",
    "SRAM": "sram_memory_used",
}


def record(manifest: Manifest, rows: list[dict]) -> None:
    """Each compiled variant's rows into its manifest entry, as "npu" (file paths relative to the
    manifest), the manifest written atomically; other entries are left as they are."""
    data = json.loads(json.dumps(manifest.data))
    said = f"{ESTIMATED} (Vela {vela_version()})"
    for entry in data["artifacts"]:
        mine = [
            {k: v for k, v in r.items() if k != "variant"} for r in rows if r["variant"] == entry["variant"]
        ]
        for row in mine:
            if row.get("file"):
                row["file"] = {
                    **row["file"],
                    "path": str(Path(row["file"]["path"]).relative_to(manifest.folder)),
                }
        if mine:
            entry["npu"] = {"figures": said, "configurations": mine}
    write_json(manifest.path, data)
