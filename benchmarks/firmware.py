"""Build and run the generated C model as bare-metal firmware for QEMU's MPS2 and MPS3 boards.

One Target per core: the compiler flags, the QEMU board that runs it (None: size only). The firmware
is benchmarks/firmware/ (vector table, semihosting, linker script, main.c) around the exported
fmnist_model.c and the test images written here as a C array kept in flash.
"""

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from runtime.errors import ToolkitError

SOURCES = Path(__file__).with_name("firmware")
CC, SIZE, QEMU = "arm-none-eabi-gcc", "arm-none-eabi-size", "qemu-system-arm"
CFLAGS = [
    "-mthumb",
    "-O2",
    "-std=c99",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-ffunction-sections",
    "-fdata-sections",
]  # so the map file names each function and array
LDFLAGS = ["-nostartfiles", "--specs=nano.specs", "-Wl,--gc-sections"]
RUN_SECONDS = 120  # QEMU runs the 100 inferences in well under a second
MODEL_OBJECT = "fmnist_model.o"


@dataclass(frozen=True)
class Target:
    name: str  # "cortex-m4": also the -mcpu
    label: str  # what the table says
    board: str | None  # QEMU machine, None: size only
    flags: tuple[str, ...] = ()
    cycles: bool = False  # estimate its cycles (benchmarks/firmware_trace.py has a model of this core)


TARGETS = (
    Target("cortex-m55", "Cortex-M55, Helium (MVE), mps3-an547", "mps3-an547", ("-mfloat-abi=hard",)),
    Target("cortex-m4", "Cortex-M4, DSP (SMLAD), mps2-an386", "mps2-an386", cycles=True),
    Target("cortex-m3", "Cortex-M3, plain C, mps2-an385", "mps2-an385"),
    Target("cortex-m0plus", "Cortex-M0+, plain C (object size only)", None),
)


class FirmwareError(ToolkitError):
    """A tool is missing, a build failed, or QEMU did not run the firmware to its end: the tool or
    board, and why."""


def missing_tools() -> list[str]:
    """The cross compiler, its C library headers or QEMU, where absent."""
    missing = [tool for tool in (CC, SIZE, QEMU) if shutil.which(tool) is None]
    if not missing and not c_library_present():
        missing.append("libnewlib-arm-none-eabi")
    return missing


def c_library_present() -> bool:
    probe = subprocess.run([CC, "-print-file-name=libc_nano.a"], capture_output=True, text=True)
    return Path(probe.stdout.strip()).is_file()


def run_tool(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        errors = [line for line in result.stderr.splitlines() if "rror" in line] or result.stderr.splitlines()
        raise FirmwareError(Path(command[0]).name, f"failed: {(errors or [f'exit {result.returncode}'])[0]}")
    return result


def write_images(images: np.ndarray, folder: Path) -> Path:
    """The test images as a const (flash) array the firmware classifies."""
    rows = ",\n".join("{" + ",".join(map(str, image.ravel())) + "}" for image in images)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "images.c"
    path.write_text(
        f'#include "firmware.h"\n\nconst uint8_t test_images[][784] = {{\n{rows}\n}};\n'
        f"const uint32_t test_image_count = {len(images)};\n"
    )
    return path


def flags(target: Target, model_source: Path) -> list[str]:
    return [f"-mcpu={target.name}", *target.flags, *CFLAGS, f"-I{model_source.parent}", f"-I{SOURCES}"]


def compile_model(target: Target, model_source: Path, out: Path) -> Path:
    """The model and its kernels as one object file for `target`, in the folder `out`."""
    out.mkdir(parents=True, exist_ok=True)
    model_object = out / MODEL_OBJECT
    run_tool([CC, *flags(target, model_source), "-c", str(model_source), "-o", str(model_object)])
    return model_object


def build(target: Target, model_source: Path, images_source: Path, out: Path) -> tuple[Path, Path]:
    """Compile the model into its own object (to size it) and link the firmware in the folder `out`;
    (elf, map file)."""
    return link(target, model_source, compile_model(target, model_source, out), images_source, out)


def link(
    target: Target, model_source: Path, model_object: Path, images_source: Path, out: Path
) -> tuple[Path, Path]:
    """The firmware around the model compiled from `model_source`, in the folder `out`; (elf, map file)."""
    out.mkdir(parents=True, exist_ok=True)
    elf, map_file = out / "firmware.elf", out / "firmware.map"
    run_tool(
        [
            CC,
            *flags(target, model_source),
            *LDFLAGS,
            "-T",
            str(SOURCES / "boards.ld"),
            f"-Wl,-Map={map_file}",
            "-o",
            str(elf),
            str(model_object),
            str(SOURCES / "main.c"),
            str(SOURCES / "startup.c"),
            str(images_source),
        ]
    )
    return elf, map_file


MAP_LINE = re.compile(r"^ (\.\S+)?\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S+)$")
KINDS = ("text", "rodata", "data", "bss")


@dataclass(frozen=True)
class Section:
    kind: str  # one of KINDS
    address: int
    size: int


def model_sections(map_file: Path) -> list[Section]:
    """The linked sections that came from the model's object file, from the map file."""
    text = map_file.read_text()
    text = text[text.index("Linker script and memory map") :]  # not the discarded sections above it
    sections, name = [], None
    for line in text.splitlines():
        if re.match(r"^ \.\S+$", line):  # a long section name; its address and size follow on the next line
            name = line.strip()
            continue
        found = MAP_LINE.match(line)
        if found:
            full = found.group(1) or name
            kind = next((k for k in KINDS if full and full.startswith(f".{k}")), None)
            if kind and found.group(4).endswith(MODEL_OBJECT):
                sections.append(Section(kind, int(found.group(2), 16), int(found.group(3), 16)))
        name = None
    return sections


def model_sizes(map_file: Path) -> dict[str, int]:
    """Bytes the model and its kernels occupy in the linked firmware: flash is their code and
    constants (text, rodata, data's initial values), ram their data and bss."""
    sizes = dict.fromkeys(KINDS, 0)
    for section in model_sections(map_file):
        sizes[section.kind] += section.size
    return {"flash": sizes["text"] + sizes["rodata"] + sizes["data"], "ram": sizes["data"] + sizes["bss"]}


def berkeley_size(path: Path) -> dict[str, int]:
    """arm-none-eabi-size of an object or a whole firmware (text includes rodata)."""
    fields = run_tool([SIZE, str(path)]).stdout.splitlines()[1].split()
    return {"text": int(fields[0]), "data": int(fields[1]), "bss": int(fields[2])}


COUNTED = ("-icount", "shift=0")  # one instruction per virtual nanosecond: SysTick counts instructions


def run(target: Target, elf: Path, options: tuple[str, ...] = COUNTED) -> str:
    """Run the firmware in QEMU (by default counting instructions); its semihosting output."""
    command = [
        QEMU,
        "-M",
        target.board,
        "-nographic",
        "-monitor",
        "none",
        *options,
        "-semihosting-config",
        "enable=on,target=native",
        "-kernel",
        str(elf),
    ]
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=RUN_SECONDS, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired:
        raise FirmwareError(target.board, f"the firmware did not finish within {RUN_SECONDS} s") from None
    output = result.stdout + result.stderr
    if result.returncode != 0:
        raise FirmwareError(
            target.board,
            f"QEMU exited {result.returncode}: {(output.strip().splitlines() or ['no output'])[-1]}",
        )
    return output


@dataclass(frozen=True)
class Run:
    scores: np.ndarray  # int8 (images, classes)
    stack: int  # bytes, high-water mark of one inference
    instructions: float  # per inference, an estimate (see main.c)


def parse(output: str, classes: int) -> Run:
    """The firmware's lines (see benchmarks/firmware/main.c) as scores, stack and instructions."""
    lines = [line.split() for line in output.splitlines() if line.strip()]
    scores = [bytes.fromhex(f[2]) for f in lines if f[0] == "scores" and len(f) == 3]
    figures = {f[0]: [int(v) for v in f[1:]] for f in lines if f[0] in ("stack", "ticks", "loop")}
    if len(figures) != 3 or not scores or any(len(s) != classes for s in scores):
        raise FirmwareError("firmware", f"unexpected output: {(output.strip().splitlines() or ['none'])[-1]}")
    (ticks, images), (loop_instructions, loop_ticks) = figures["ticks"], figures["loop"]
    return Run(
        np.frombuffer(b"".join(scores), np.int8).reshape(len(scores), classes),
        figures["stack"][0],
        ticks / images * loop_instructions / loop_ticks,
    )
