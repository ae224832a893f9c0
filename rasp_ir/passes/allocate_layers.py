"""`rasp-allocate-layers`: give every attention and MLP op of a program a transformer block.

A block is one attention sub-layer followed by one MLP sub-layer. Counting
sub-layers as stages (0 = embedding, 2b-1 = attention of block b, 2b = MLP of
block b), every op goes to the earliest stage of its kind after all its inputs
are in the residual stream (as-soon-as-possible scheduling, which gives the
fewest blocks for the program's dependency graph):
- `aggregate`: an attention stage; its result is there after that stage;
- `selector_width` and `length`: an attention stage and the MLP right after it
  (the MLP decodes the head's output into the width);
- `map`, `sequence_map`, `linear_sequence_map`: an MLP stage;
- `tokens`, `indices` and `constant` come from the embedding (stage 0), and so does
  every element-wise op that depends on tokens alone, or on indices alone (with
  constants): its value for each token (each position) is written straight into the
  token (position) table, which costs no layer.
The schedule is recorded on each op as `block = N` and `sublayer = "..."`.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import IntegerAttr, ModuleOp, StringAttr
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass

from rasp_ir.dialects.rasp import (
    AggregateOp,
    ConstantOp,
    IndicesOp,
    LengthOp,
    LinearSequenceMapOp,
    MapOp,
    MapRegionOp,
    ProgramOp,
    SelectorType,
    SelectorWidthOp,
    SequenceMapOp,
    TokensOp,
)
from rasp_ir.errors import RaspCompileError
from rasp_ir.passes.common import describe, programs

EMBEDDING = "embedding"
ATTENTION = "attention"
MLP = "mlp"
ATTENTION_AND_MLP = "attention+mlp"


def selector_inputs(selector: SSAValue) -> list[SSAValue]:
    """The s-ops a selector (possibly composite) compares."""
    owner = selector.owner
    assert isinstance(owner, Operation)
    found: list[SSAValue] = []
    for operand in owner.operands:
        if isinstance(operand.type, SelectorType):
            found.extend(selector_inputs(operand))
        else:
            found.append(operand)
    return found


def op_inputs(op: Operation) -> list[SSAValue]:
    """The s-ops `op` reads, looking through selectors."""
    found: list[SSAValue] = []
    for operand in op.operands:
        if isinstance(operand.type, SelectorType):
            found.extend(selector_inputs(operand))
        else:
            found.append(operand)
    return found


def _next_stage(after: int, attention: bool) -> int:
    """The first attention (odd) or MLP (even) stage after stage `after`."""
    stage = after + 1
    if (stage % 2 == 1) != attention:
        stage += 1
    return stage


def _embedding_source(op: Operation, sources: dict[SSAValue, str | None]) -> str | None:
    """"tokens" or "indices" when `op` is a function of that input alone (constants
    allowed), "constant" when of constants alone, else None."""
    if isinstance(op, TokensOp):
        return "tokens"
    if isinstance(op, IndicesOp):
        return "indices"
    if isinstance(op, ConstantOp):
        return "constant"
    if not isinstance(op, MapOp | SequenceMapOp | LinearSequenceMapOp):
        return None
    found = {sources.get(v) for v in op.operands} - {"constant"}
    if None in found or len(found) > 1:
        return None
    return found.pop() if found else "constant"


def schedule_program(program: ProgramOp) -> dict[Operation, tuple[int, str]]:
    """Block and sub-layer of every op that needs one, as soon as its inputs allow
    (block 0 is the embedding)."""
    ready: dict[SSAValue, int] = {}
    sources: dict[SSAValue, str | None] = {}
    schedule: dict[Operation, tuple[int, str]] = {}
    for op in program.body.block.ops:
        if op.results and not isinstance(op.results[0].type, SelectorType):
            sources[op.results[0]] = _embedding_source(op, sources)
            if sources[op.results[0]] is not None:
                ready[op.results[0]] = 0
                schedule[op] = (0, EMBEDDING)
                continue
        if not op.results or isinstance(op.results[0].type, SelectorType):
            continue
        after = max((ready[v] for v in op_inputs(op)), default=0)
        if isinstance(op, AggregateOp):
            stage = _next_stage(after, attention=True)
            ready[op.result] = stage
            schedule[op] = ((stage + 1) // 2, ATTENTION)
        elif isinstance(op, SelectorWidthOp | LengthOp):
            stage = _next_stage(after, attention=True)
            ready[op.results[0]] = stage + 1
            schedule[op] = ((stage + 1) // 2, ATTENTION_AND_MLP)
        elif isinstance(op, MapOp | SequenceMapOp | LinearSequenceMapOp):
            stage = _next_stage(after, attention=False)
            ready[op.results[0]] = stage
            schedule[op] = (stage // 2, MLP)
        elif isinstance(op, MapRegionOp):
            raise RaspCompileError(f"rasp-allocate-layers: {describe(op)}: run rasp-materialize-tables first")
    return schedule


@dataclass(frozen=True)
class AllocateLayersPass(ModulePass):
    """Schedule every attention and MLP op into the earliest transformer block it can use."""

    name = "rasp-allocate-layers"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for program in programs(op):
            for inner, (block, sublayer) in schedule_program(program).items():
                inner.attributes["block"] = IntegerAttr(block, 64)
                inner.attributes["sublayer"] = StringAttr(sublayer)
