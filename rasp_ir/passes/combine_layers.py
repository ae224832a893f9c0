"""`transformer-combine-layers`: merge neighbouring sub-layers that run in parallel.

`rasp-to-transformer` emits one attention sub-layer per head and one MLP per map.
Two neighbouring attention sub-layers become one layer with both heads when the
second reads no dimension the first writes (then running them on the same
residual gives the same result); two MLPs likewise become one MLP with both
hidden layers side by side. Each merged MLP keeps its own width: nothing is
padded. Heads of one layer with the same query and key weights attend alike (two
aggregates over one selector), so they become one head whose value and output
weights hold both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation
from xdsl.passes import ModulePass
from xdsl.rewriter import Rewriter

from rasp_ir.dialects.transformer import AttentionOp, HeadOp, MLPOp, ModelOp


def _rows(*matrices: np.ndarray) -> set[int]:
    """Residual dimensions a sub-layer reads: non-zero rows of its input matrices."""
    found: set[int] = set()
    for m in matrices:
        found |= set(np.flatnonzero(np.any(m != 0, axis=1)).tolist())
    return found


def _cols(*matrices: np.ndarray) -> set[int]:
    found: set[int] = set()
    for m in matrices:
        m2 = m.reshape(-1, m.shape[-1])
        found |= set(np.flatnonzero(np.any(m2 != 0, axis=0)).tolist())
    return found


def reads(layer: Operation) -> set[int]:
    if isinstance(layer, AttentionOp):
        return _rows(*(m for h in layer.heads for m in (h.q_array, h.k_array, h.v_array)))
    assert isinstance(layer, MLPOp)
    return _rows(layer.w1_array)


def writes(layer: Operation) -> set[int]:
    if isinstance(layer, AttentionOp):
        return _cols(*(h.o_array for h in layer.heads))
    assert isinstance(layer, MLPOp)
    return _cols(layer.w2_array, layer.b2_array[None, :])


def _same_pattern(a: HeadOp, b: HeadOp) -> bool:
    """Same query and key weights. (A larger softmax scale only sharpens what a compiled
    head selects, so twins with different scales merge at the larger one.)"""
    return (
        a.q_array.shape == b.q_array.shape
        and np.array_equal(a.q_array, b.q_array)
        and np.array_equal(a.k_array, b.k_array)
    )


def merge_heads(heads: list[HeadOp]) -> list[HeadOp]:
    """Heads with one attention pattern as one head with their values side by side."""
    merged: list[HeadOp] = []
    for head in heads:
        twin = next((m for m in merged if _same_pattern(m, head)), None)
        if twin is None:
            merged.append(head.clone())
            continue
        labels = [t for t in (twin.label_text, head.label_text) if t]
        merged[merged.index(twin)] = HeadOp.from_arrays(
            w_q=twin.q_array,
            w_k=twin.k_array,
            w_v=np.concatenate([twin.v_array, head.v_array], axis=1),
            w_o=np.concatenate([twin.o_array, head.o_array], axis=0),
            scale=max(twin.scale_value, head.scale_value),
            label="; ".join(labels) or None,
        )
    return merged


def _merge(first: Operation, second: Operation) -> Operation:
    if isinstance(first, AttentionOp):
        assert isinstance(second, AttentionOp)
        return AttentionOp(first.operands[0], merge_heads(first.heads + second.heads))
    assert isinstance(first, MLPOp) and isinstance(second, MLPOp)
    labels = [t for t in (first.label_text, second.label_text) if t]
    return MLPOp.from_arrays(
        first.operands[0],
        w1=np.concatenate([first.w1_array, second.w1_array], axis=1),
        b1=np.concatenate([first.b1_array, second.b1_array]),
        w2=np.concatenate([first.w2_array, second.w2_array], axis=0),
        b2=first.b2_array + second.b2_array,
        label="; ".join(labels) or None,
    )


@dataclass(frozen=True)
class CombineLayersPass(ModulePass):
    """Merge neighbouring independent heads into one attention layer, and MLPs into one MLP."""

    name = "transformer-combine-layers"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for model in [o for o in op.walk() if isinstance(o, ModelOp)]:
            changed = True
            while changed:
                changed = False
                for layer in list(model.layers):
                    nxt = layer.next_op
                    if type(nxt) is not type(layer) or not isinstance(layer, AttentionOp | MLPOp):
                        continue
                    if reads(nxt) & writes(layer):
                        continue
                    merged = _merge(layer, nxt)
                    Rewriter.replace_op(nxt, [], new_results=[layer.results[0]])
                    Rewriter.replace_op(layer, merged)
                    changed = True
                    break
