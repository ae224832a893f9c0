"""`rasp-allocate-layers`: give every attention and MLP op of a program a transformer block.

A block is one attention sub-layer followed by one MLP sub-layer. Counting
sub-layers as stages (0 = embedding, 2b-1 = attention of block b, 2b = MLP of
block b), every op goes to the earliest stage of its kind after all its inputs
are in the residual stream (as-soon-as-possible scheduling, which gives the
fewest blocks for the program's dependency graph):
- `aggregate`, `selector_width`, `length`: an attention stage;
- element-wise work (`map`, `sequence_map`, `linear_sequence_map`, and decoding a
  selector_width) is fused (see `fusion.py`): an s-op that a head, the output or a
  later MLP reads is computed by one MLP from its leaves, at the first MLP stage
  after they are all there; the element-wise ops in between take no stage
  (`sublayer = "fused"`), nor does a map of an aggregate or a width that only heads
  read (they read it through that s-op's one-hot, `fusion.head_fold_base`);
- `tokens`, `indices`, `constant`, and every element-wise op that depends on tokens
  alone, or on indices alone (with constants), are written straight into the
  embedding tables (block 0): no layer.
The schedule is recorded on each op as `block = N` and `sublayer = "..."`; an op
whose fusion had to be split says why in `split = "..."`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import IntegerAttr, ModuleOp, StringAttr
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass

from rasp_ir.dialects.rasp import AggregateOp, MapRegionOp, ProgramOp, SelectorType
from rasp_ir.errors import RaspCompileError
from rasp_ir.passes.common import describe, programs
from rasp_ir.passes.fusion import (
    DEFAULT_MAX_HIDDEN,
    SHARED,
    WIDTH,
    FusionPlan,
    Leaf,
    is_elementwise,
    next_stage,
    plan_fusion,
    plan_stages,
    shared_subexpressions,
)

EMBEDDING = "embedding"
ATTENTION = "attention"
MLP = "mlp"
ATTENTION_AND_MLP = "attention+mlp"
FUSED = "fused"
MAX_HIDDEN_ATTR = "fusion_max_hidden"


def program_max_hidden(program: ProgramOp) -> int:
    attr = program.attributes.get(MAX_HIDDEN_ATTR)
    return attr.value.data if isinstance(attr, IntegerAttr) else DEFAULT_MAX_HIDDEN


def schedule_program(program: ProgramOp, plan: FusionPlan | None = None) -> dict[Operation, tuple[int, str]]:
    """Block and sub-layer of every op, as soon as its inputs allow (block 0: embedding)."""
    if plan is None:
        plan = plan_fusion(program, program_max_hidden(program))
    return _stages(program, plan)[0]


def _stages(
    program: ProgramOp, plan: FusionPlan
) -> tuple[dict[Operation, tuple[int, str]], dict[SSAValue, int], Callable[[Leaf], int]]:
    """The schedule, the stage after which each s-op is in the residual stream, and when
    a leaf is there (`fusion.plan_stages`)."""
    ready, leaf_ready = plan_stages(program, plan)
    schedule: dict[Operation, tuple[int, str]] = {}
    for op in program.body.block.ops:
        if isinstance(op, MapRegionOp):
            raise RaspCompileError(f"rasp-allocate-layers: {describe(op)}: run rasp-materialize-tables first")
        if not op.results or isinstance(op.results[0].type, SelectorType):
            continue
        result = op.results[0]
        if result in plan.embedded:
            schedule[op] = (0, EMBEDDING)
        elif isinstance(op, AggregateOp):
            schedule[op] = ((ready[result] + 1) // 2, ATTENTION)
        elif isinstance(op, WIDTH):  # its head writes the scratch dimension; an MLP decodes it
            block = (leaf_ready(Leaf(result, scratch=True)) + 1) // 2
            schedule[op] = (block, ATTENTION_AND_MLP if result in plan.materialized else ATTENTION)
        elif is_elementwise(op) and result in plan.materialized:
            schedule[op] = (ready[result] // 2, MLP)
        elif is_elementwise(op):
            schedule[op] = (0, FUSED)
    return schedule, ready, leaf_ready


@dataclass(frozen=True)
class AllocateLayersPass(ModulePass):
    """Schedule attention and (fused) MLP work into the earliest transformer block it can use."""

    name = "rasp-allocate-layers"

    max_hidden: int = DEFAULT_MAX_HIDDEN
    """Largest hidden layer one fused MLP may have; past it a fusion is split (costing a block)."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for program in programs(op):
            allocate_program(program, self.max_hidden)


def allocate_program(program: ProgramOp, max_hidden: int) -> None:
    """Record the schedule on the program's ops (`block`, `sublayer`, `split`)."""
    program.attributes[MAX_HIDDEN_ATTR] = IntegerAttr(max_hidden, 64)
    plan = _share_subexpressions(program, max_hidden)
    for inner, (block, sublayer) in schedule_program(program, plan).items():
        # Written anew, after `shared`, so that allocating twice prints the same IR.
        inner.attributes.pop("block", None)
        inner.attributes.pop("sublayer", None)
        if sublayer != FUSED:
            inner.attributes["block"] = IntegerAttr(block, 64)
        inner.attributes["sublayer"] = StringAttr(sublayer)
        if inner in plan.splits:
            inner.attributes["split"] = StringAttr(plan.splits[inner])
        else:
            inner.attributes.pop("split", None)


SHARE_ROUNDS = 3
"""How many times the plan is redone with newly shared s-ops (each round may make
larger ones worth sharing)."""


def _share_subexpressions(program: ProgramOp, max_hidden: int) -> FusionPlan:
    """The fusion plan, with the element-wise s-ops that `shared_subexpressions` finds
    worth an MLP of their own marked `shared` (round by round), as long as the program
    needs no more blocks for it."""
    for op in program.body.block.ops:
        op.attributes.pop(SHARED, None)
    plan = plan_fusion(program, max_hidden)
    for _ in range(SHARE_ROUNDS):
        schedule, ready, leaf_ready = _stages(program, plan)
        picked = shared_subexpressions(
            plan,
            lambda leaves: next_stage(max((leaf_ready(leaf) for leaf in leaves), default=0), attention=False),
            lambda value: ready[value],
        )
        if not picked:
            break
        for value, reason in picked:
            value.owner.attributes[SHARED] = StringAttr(reason)  # type: ignore[union-attr]
        shared_plan = plan_fusion(program, max_hidden)
        if _blocks(_stages(program, shared_plan)[0]) > _blocks(schedule):
            for value, _ in picked:
                value.owner.attributes.pop(SHARED, None)  # type: ignore[union-attr]
            break
        plan = shared_plan
    return plan


def _blocks(schedule: dict[Operation, tuple[int, str]]) -> int:
    return max((block for block, _ in schedule.values()), default=0)
