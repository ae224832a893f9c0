"""`transformer-drop-unread-dims`: remove residual dimensions nothing reads, and dead units.

A dimension survives when a head (query, key or value weights), an MLP (first
weights), the unembedding or a run-time guard (`ModelOp.guards`) reads it; every other dimension only holds values
no later computation looks at, so dropping it from every weight matrix changes no
output. Then MLP hidden units and head value features that write nothing are
dropped too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import Rewriter

from rasp_ir.dialects.transformer import AttentionOp, EmbedOp, HeadOp, MLPOp, ModelOp, UnembedOp
from rasp_ir.passes.combine_layers import reads


def _live_dims(model: ModelOp) -> list[int]:
    live: set[int] = set(model.unembed.dim_list)
    for _, dims in model.guard_list:
        live |= set(dims)
    for layer in model.layers:
        live |= reads(layer)
    return sorted(live)


def _head(head: HeadOp, keep: list[int]) -> HeadOp:
    w_v, w_o = head.v_array[keep], head.o_array[:, keep]
    features = np.flatnonzero(np.any(w_o != 0, axis=1) & np.any(w_v != 0, axis=0))
    if len(features) == 0:
        features = np.arange(min(1, w_v.shape[1]))
    return HeadOp.from_arrays(
        w_q=head.q_array[keep], w_k=head.k_array[keep], w_v=w_v[:, features], w_o=w_o[features],
        scale=head.scale_value, label=head.label_text,
    )


def _mlp(mlp: MLPOp, keep: list[int], current: SSAValue) -> MLPOp:
    w1, w2 = mlp.w1_array[keep], mlp.w2_array[:, keep]
    units = np.flatnonzero(np.any(w2 != 0, axis=1))
    return MLPOp.from_arrays(
        current, w1=w1[:, units], b1=mlp.b1_array[units], w2=w2[units], b2=mlp.b2_array[keep], label=mlp.label_text
    )


def prune_model(model: ModelOp) -> ModelOp:
    keep = _live_dims(model)
    new_index = {old: new for new, old in enumerate(keep)}
    embed = EmbedOp.from_arrays(model.embed.token_array[:, keep], model.embed.position_array[:, keep])
    body: list[Operation] = [embed]
    current: SSAValue = embed.results[0]
    for layer in model.layers:
        if isinstance(layer, AttentionOp):
            new_layer: Operation = AttentionOp(current, [_head(h, keep) for h in layer.heads])
        else:
            if not np.any(layer.w2_array[:, keep]) and not np.any(layer.b2_array[keep]):
                continue  # it writes only dimensions nothing reads
            new_layer = _mlp(layer, keep, current)
        body.append(new_layer)
        current = new_layer.results[0]
    unembed = model.unembed
    body.append(
        UnembedOp(current, unembed.encoding, [new_index[d] for d in unembed.dim_list], unembed.value_table,
                  label=unembed.label_text, rounds=unembed.rounds_to_int)
    )
    pruned = ModelOp(
        model.model_name,
        layout=[model.layout_labels[d] for d in keep],
        vocab=model.vocab,
        bos=model.bos,
        max_seq_len=model.seq_len,
        body=body,
        tolerance=model.tolerance_value,
        guards=[(label, [new_index[d] for d in dims]) for label, dims in model.guard_list],
    )
    pruned.attributes.update(model.attributes)
    return pruned


@dataclass(frozen=True)
class DropUnreadDimsPass(ModulePass):
    """Remove residual dimensions nothing reads, MLP units and value features that write nothing."""

    name = "transformer-drop-unread-dims"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for model in [o for o in op.walk() if isinstance(o, ModelOp)]:
            Rewriter.replace_op(model, prune_model(model), new_results=[])
