"""Where one inference's instructions go, and an estimate of its Cortex-M4 cycles.

QEMU runs the firmware one instruction per translation block (-singlestep) and logs each block it
executes (-d exec,nochain): each logged address is one executed instruction, looked up in the ELF's
disassembly (arm-none-eabi-objdump). Only the model's own code counts (the map file says where it is).

The cycle estimate applies CYCLE_MODEL to that sequence; nothing here runs a real Cortex-M4, so it is
an estimate, and says so wherever it is shown.
"""

import re
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from benchmarks import firmware
from benchmarks.firmware import FirmwareError, Target

OBJDUMP = "arm-none-eabi-objdump"
CYCLE_MODEL = (
    "Cortex-M4 at zero wait states (timings of its Technical Reference Manual, table 3-1): 1 cycle per "
    "instruction, but LDR/STR 2 (1 right after another LDR/STR: pipelined), LDRD/STRD 3, LDM/STM/PUSH/POP "
    "1 + registers, SDIV/UDIV 12 (their worst case), a taken branch 1 + 2 (pipeline refill)"
)
REFILL = 2  # cycles to refill the pipeline after a taken branch (1 to 3 by the TRM)
CONDITIONS = "eq ne cs hs cc lo mi pl vs vc hi ls ge lt gt le".split()
BRANCHES = {"b", "bl", "blx", "bx", "cbz", "cbnz", *(f"b{c}" for c in CONDITIONS)}
SINGLE_ACCESS = re.compile(r"^(ldr|str)(b|h|sb|sh)?(ex|t)?$")
LINE = re.compile(r"^\s*([0-9a-f]+):\s+((?:[0-9a-f]{4} ?){1,2})\s+(\S+)\s*(.*)$")
EXECUTED = re.compile(r"^Trace \d+: 0x[0-9a-f]+ \[[0-9a-f]+/([0-9a-f]+)/")


@dataclass(frozen=True)
class Instruction:
    mnemonic: str  # without its width suffix (.w, .n)
    operands: str
    size: int  # bytes
    function: str


@dataclass(frozen=True)
class Trace:
    instructions: int  # of the model's code, in one inference
    cycles: int  # estimated by CYCLE_MODEL
    functions: list[tuple[str, int]]  # instructions per function of the model, most first


def disassemble(elf: Path) -> dict[int, Instruction]:
    """Every instruction of the firmware by address."""
    listing = firmware.run_tool([OBJDUMP, "-d", str(elf)]).stdout
    code, function = {}, "?"
    for line in listing.splitlines():
        label = re.match(r"^[0-9a-f]+ <(\S+)>:$", line)
        if label:
            function = label.group(1)
            continue
        found = LINE.match(line)
        if found:
            size = len(found.group(2).replace(" ", "")) // 2
            mnemonic = found.group(3).split(".")[0]
            code[int(found.group(1), 16)] = Instruction(mnemonic, found.group(4), size, function)
    return code


def executed(target: Target, elf: Path) -> list[int]:
    """The address of every instruction the firmware executes, in order."""
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "exec.log"
        firmware.run(target, elf, ("-singlestep", "-d", "exec,nochain", "-D", str(log)))
        with log.open() as lines:
            return [int(m.group(1), 16) for m in map(EXECUTED.match, lines) if m]


def is_taken_branch(instruction: Instruction, address: int, following: int | None) -> bool:
    writes_pc = instruction.mnemonic in BRANCHES or (
        instruction.mnemonic in ("pop", "ldm", "ldmia", "ldr", "mov") and "pc" in instruction.operands
    )
    return writes_pc and following is not None and following != address + instruction.size


def cycles(instruction: Instruction, previous: Instruction | None, taken: bool) -> int:
    """One instruction's cycles by CYCLE_MODEL."""
    name = instruction.mnemonic
    if SINGLE_ACCESS.match(name):
        base = 1 if previous is not None and SINGLE_ACCESS.match(previous.mnemonic) else 2
    elif name in ("ldrd", "strd"):
        base = 3
    elif name in ("push", "pop", "ldm", "ldmia", "ldmdb", "stm", "stmia", "stmdb"):
        base = 1 + len(re.findall(r"r\d+|lr|pc|sp|ip|fp|sl", instruction.operands.split("{")[-1]))
    elif name in ("sdiv", "udiv"):
        base = 12
    else:
        base = 1
    return base + (REFILL if taken else 0)


def trace(target: Target, elf: Path, map_file: Path) -> Trace:
    """One inference of the model (a firmware built with one image) traced and costed."""
    ranges = [(s.address, s.address + s.size) for s in firmware.model_sections(map_file) if s.kind == "text"]
    code = {a: i for a, i in disassemble(elf).items() if any(start <= a < end for start, end in ranges)}
    addresses = executed(target, elf)
    if not addresses:
        raise FirmwareError(f"{target.board}: QEMU logged no instruction")
    total, counts, previous = 0, Counter(), None
    for index, address in enumerate(addresses):
        instruction = code.get(address)
        if instruction is None:  # not the model's: startup, printing
            previous = None
            continue
        following = addresses[index + 1] if index + 1 < len(addresses) else None
        total += cycles(instruction, previous, is_taken_branch(instruction, address, following))
        counts[instruction.function] += 1
        previous = instruction
    return Trace(sum(counts.values()), total, counts.most_common())
