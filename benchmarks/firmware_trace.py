"""Where one inference's instructions go, and an estimate of its Cortex-M4 cycles.

QEMU logs each block of instructions it translates (-d in_asm: their addresses) and each block it
executes (-d exec,nochain: which one), so the sequence of executed instructions is the executed
blocks' instructions, one after the other. Each is looked up in the ELF's disassembly
(arm-none-eabi-objdump); only the model's own code counts (the map file says where it is).

The cycle estimate applies CYCLE_MODEL to that sequence; nothing here runs a real Cortex-M4, so it is
an estimate, and says so wherever it is shown.
"""

import re
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

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
MULTIPLE = {"push", "pop", "ldm", "ldmia", "ldmdb", "stm", "stmia", "stmdb"}
REGISTER = re.compile(r"\b(r\d+|lr|pc|sp|ip|fp|sl|sb)\b")
LINE = re.compile(r"^\s*([0-9a-f]+):\s+((?:[0-9a-f]{4} ?){1,2})\s+(\S+)\s*(.*)$")
TRANSLATED = re.compile(r"^0x([0-9a-f]{8}):")
EXECUTED = re.compile(r"^Trace \d+: (0x[0-9a-f]+) ")


@dataclass(frozen=True)
class Instruction:
    mnemonic: str  # without its width suffix (.w, .n)
    operands: str
    size: int  # bytes
    function: str

    @property
    def base_cycles(self) -> int:
        """Its cycles by CYCLE_MODEL, before pipelining and branches."""
        if SINGLE_ACCESS.match(self.mnemonic):
            return 2
        if self.mnemonic in ("ldrd", "strd"):
            return 3
        if self.mnemonic in MULTIPLE:
            return 1 + len(REGISTER.findall(self.operands.split("{")[-1]))
        return 12 if self.mnemonic in ("sdiv", "udiv") else 1

    @property
    def may_branch(self) -> bool:
        """Whether it can change the program counter (a branch, or a load or move into pc)."""
        writes_pc = self.mnemonic in MULTIPLE | {"ldr", "mov"} and "pc" in REGISTER.findall(self.operands)
        return self.mnemonic in BRANCHES or writes_pc


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


def executed(target: Target, elf: Path) -> np.ndarray:
    """The address of every instruction the firmware executes, in order. A block's instructions are
    logged when it is translated, just before it first runs; each run logs the block's host address."""
    blocks, runs, translating = {}, [], None
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "exec.log"
        firmware.run(target, elf, ("-d", "in_asm,exec,nochain", "-D", str(log)))
        with log.open() as lines:
            for line in lines:
                if line.startswith("IN:"):
                    translating = []
                elif translating is not None and (found := TRANSLATED.match(line)):
                    translating.append(int(found.group(1), 16))
                elif found := EXECUTED.match(line):
                    if translating is not None:
                        blocks[found.group(1)], translating = np.array(translating, np.int64), None
                    runs.append(blocks[found.group(1)])
    return np.concatenate(runs) if runs else np.zeros(0, np.int64)


def trace(target: Target, elf: Path, map_file: Path) -> Trace:
    """One inference of the model (a firmware built with one image) traced and costed."""
    ranges = [(s.address, s.address + s.size) for s in firmware.model_sections(map_file) if s.kind == "text"]
    code = {a: i for a, i in disassemble(elf).items() if any(start <= a < end for start, end in ranges)}
    addresses = executed(target, elf)
    if not len(addresses):
        raise FirmwareError(target.board, "QEMU logged no instruction")
    known = np.array(sorted(code), np.int64)
    table = [code[a] for a in known]
    slot = np.searchsorted(known, addresses).clip(max=len(known) - 1)
    model = known[slot] == addresses  # the model's instructions; the rest (start-up, printing) is not

    def each(values: list) -> np.ndarray:
        """A property of every executed instruction (0 outside the model)."""
        return np.array(values)[slot] * model

    base, size = each([i.base_cycles for i in table]), each([i.size for i in table])
    single = each([bool(SINGLE_ACCESS.match(i.mnemonic)) for i in table])
    pipelined = single & np.concatenate([[False], single[:-1]])  # a load or store right after another
    taken = each([i.may_branch for i in table]) & (np.append(addresses[1:], -1) != addresses + size)
    cycles = int(base.sum() - pipelined.sum() + REFILL * taken.sum())
    functions = Counter()
    for index, count in enumerate(np.bincount(slot[model], minlength=len(table))):
        functions[table[index].function] += int(count)
    return Trace(int(model.sum()), cycles, [(f, n) for f, n in functions.most_common() if n])
