"""`rasp-infer-values`: record on every s-op the exact set of values it can take."""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from rasp_ir.analysis.value_sets import DEFAULT_VALUE_SET_CAP, infer_op_values
from rasp_ir.dialects.rasp import MapRegionOp, ProgramOp, SOpOp, SOpType, ValuesAttr, known_values
from rasp_ir.errors import RaspCompileError
from rasp_ir.passes.common import describe, programs, require_vocab_and_length


@dataclass(frozen=True)
class InferValuesPass(ModulePass):
    """Infer the exact value set of every s-op from the program's vocab and max_seq_len."""

    name = "rasp-infer-values"

    cap: int = DEFAULT_VALUE_SET_CAP
    """Largest value set allowed; a bigger one stops compilation with an error naming the op."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        if self.cap < 1:
            raise RaspCompileError(f"bad options for pass {self.name}: cap must be at least 1, not {self.cap}")
        for program in programs(op):
            infer_program_values(program, self.cap)
            program.verify()


def infer_program_values(program: ProgramOp, cap: int = DEFAULT_VALUE_SET_CAP) -> None:
    """Set the `values` attribute of every s-op op in `program`, in order."""
    vocab, max_seq_len = require_vocab_and_length(program, InferValuesPass.name)
    for inner in program.body.block.ops:
        if isinstance(inner, MapRegionOp):
            raise RaspCompileError(
                f"{InferValuesPass.name}: {describe(inner)} has a region body; run rasp-materialize-tables first"
            )
        if not isinstance(inner, SOpOp):
            continue
        operand_values = [known_values(v).data if isinstance(v.type, SOpType) else None for v in inner.operands]
        values = infer_op_values(inner, operand_values, vocab, max_seq_len, cap=cap, where=describe(inner))
        inner.attributes["values"] = ValuesAttr(tuple(values))
