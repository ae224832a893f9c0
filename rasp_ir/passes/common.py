"""Small helpers shared by the passes: finding programs, naming s-ops, errors at ops."""

from __future__ import annotations

import re
from collections.abc import Iterator

from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation, SSAValue

from rasp_ir.dialects.rasp import ProgramOp
from rasp_ir.errors import RaspCompileError


def programs(module: ModuleOp) -> Iterator[ProgramOp]:
    for op in module.walk():
        if isinstance(op, ProgramOp):
            yield op


def describe(op: Operation) -> str:
    """How an error names an op: its result's name and the op, e.g. `%frac = rasp.aggregate`."""
    if op.results and op.results[0].name_hint:
        return f"%{op.results[0].name_hint} = {op.name}"
    return f"'{op.name}'"


def require_vocab_and_length(program: ProgramOp, pass_name: str) -> tuple[tuple, int]:
    if program.vocabulary is None or program.seq_len is None:
        missing = " and ".join(
            what for what, v in (("vocab", program.vocabulary), ("max_seq_len", program.seq_len)) if v is None
        )
        raise RaspCompileError(
            f"{pass_name}: rasp.program @{program.sym_name.data} has no {missing}; "
            f"write e.g. `rasp.program @{program.sym_name.data} vocab [\"a\", \"b\"] max_seq_len 8 {{...}}`"
        )
    return program.vocabulary, program.seq_len


def sop_names(program: ProgramOp) -> dict[SSAValue, str]:
    """A unique, readable name for every s-op and selector in the program."""
    names: dict[SSAValue, str] = {}
    used: set[str] = {"one", "bos"}  # the residual stream's own directions
    for i, op in enumerate(program.body.block.ops):
        for result in op.results:
            base = re.sub(r"[^A-Za-z0-9_.]", "_", result.name_hint or f"{op.name.split('.')[-1]}{i}")
            name, k = base, 1
            while name in used:
                k += 1
                name = f"{base}_{k}"
            used.add(name)
            names[result] = name
    return names
