"""A numpy executor of the `transformer` dialect.

It computes exactly what the dialect's docstring specifies (and what the ONNX backend
emits), in the dtype it is given (float32 by default, float64 for checking how much
float32 rounding costs). It is the reference for the ONNX graph and a debugging aid:
`residuals` returns the residual stream after every stage, `attention` the attention
patterns of every head.

    ex = TransformerExecutor(module)            # a ModuleOp holding one transformer.model, or the op
    ex.run([["a", "b"], ["b"]])                 # -> [["b", "a"], ["b"]]
    outputs, scores = ex.run_ids(ids, mask)     # ids [B, S] with BOS at position 0

A model with run-time guards (`ModelOp.guards`) makes `run` and `run_ids` raise
`rasp_ir.runtime.guards.InputRefused` (a `RaspInputError`) on an input where a categorical
aggregate averages different values; `guards_ids` gives the guard values themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation
from xdsl.utils.exceptions import VerifyException

from rasp_ir.dialects.transformer import AttentionOp, MLPOp, ModelOp, find_model
from rasp_ir.errors import RaspInputError, RaspModelError
from rasp_ir.runtime.codec import CATEGORICAL, NUMERICAL, Codec
from rasp_ir.runtime.guards import check_guards

# What a padded key's attention score is set to (not -inf: a row of padded keys stays finite).
MASKED_SCORE = -1e9


@dataclass
class _Head:
    w_q: np.ndarray
    w_k: np.ndarray
    w_v: np.ndarray
    w_o: np.ndarray
    scale: float
    label: str | None


@dataclass
class _Attention:
    heads: list[_Head]


@dataclass
class _MLP:
    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: np.ndarray
    label: str | None


def softmax(scores: np.ndarray) -> np.ndarray:
    """Numerically stable softmax over the last axis."""
    shifted = scores - scores.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)


class TransformerExecutor:
    """Runs a `transformer.model` with numpy."""

    def __init__(self, model: ModelOp | ModuleOp | Operation, dtype: Any = np.float32, *, verify: bool = True):
        op = find_model(model)
        if verify:
            try:
                op.verify()
            except VerifyException as e:
                raise RaspModelError(f"the transformer IR does not verify: {e}") from e
        self.model = op
        self.dtype = np.dtype(dtype)
        dt = self.dtype
        self.token_table = op.embed.token_table_array.astype(dt)
        self.position_table = op.embed.position_table_array.astype(dt)
        self.stages: list[_Attention | _MLP] = []
        self.stage_names: list[str] = ["embed"]
        for i, layer in enumerate(op.layers):
            if isinstance(layer, AttentionOp):
                heads = [
                    _Head(
                        h.w_q_array.astype(dt),
                        h.w_k_array.astype(dt),
                        h.w_v_array.astype(dt),
                        h.w_o_array.astype(dt),
                        h.scale_value,
                        h.label_text,
                    )
                    for h in layer.heads
                ]
                self.stages.append(_Attention(heads))
                self.stage_names.append(f"{i}: attention ({len(heads)} head{'s' if len(heads) != 1 else ''})")
            else:
                assert isinstance(layer, MLPOp)
                self.stages.append(
                    _MLP(
                        layer.w1_array.astype(dt),
                        layer.b1_array.astype(dt),
                        layer.w2_array.astype(dt),
                        layer.b2_array.astype(dt),
                        layer.label_text,
                    )
                )
                self.stage_names.append(f"{i}: mlp (hidden {layer.hidden})")
        unembed = op.unembed
        self.encoding = CATEGORICAL if unembed.is_categorical else NUMERICAL
        self.rounds = unembed.rounds_to_int
        self.dims = np.asarray(unembed.dim_list, dtype=np.int64)
        self.guards: list[tuple[str, np.ndarray]] = [
            (label, np.asarray(dims, dtype=np.int64)) for label, dims in op.guard_list
        ]
        self.codec = Codec(
            vocab=op.vocabulary,
            bos=op.bos_value,
            max_seq_len=op.seq_len,
            encoding=self.encoding,
            values=unembed.value_table,
            rounds=self.rounds,
        )

    # -- the forward pass ---------------------------------------------------- #

    def _check_ids(self, ids: np.ndarray, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        ids = np.asarray(ids, dtype=np.int64)
        if ids.ndim != 2 or ids.shape[0] == 0 or ids.shape[1] == 0:
            raise RaspInputError(f"ids must be a non-empty [batch, seq] array (BOS first), got shape {ids.shape}")
        if ids.shape[1] > self.codec.max_seq_len + 1:
            raise RaspInputError(
                f"ids have {ids.shape[1] - 1} positions after BOS, more than max_seq_len {self.codec.max_seq_len}"
            )
        if ids.min() < 0 or ids.max() > self.codec.bos_id:
            raise RaspInputError(f"ids must lie in 0..{self.codec.bos_id} (id {self.codec.bos_id} is BOS)")
        mask = np.ones_like(ids) if mask is None else np.asarray(mask).astype(np.int64)
        if mask.shape != ids.shape:
            raise RaspInputError(f"the mask has shape {mask.shape}, the ids {ids.shape}")
        return ids, mask

    def _forward(
        self, ids: np.ndarray, mask: np.ndarray, residuals: list | None = None, patterns: list | None = None
    ) -> np.ndarray:
        seq = ids.shape[1]
        x = self.token_table[ids] + self.position_table[np.arange(seq)][None, :, :]
        if residuals is not None:
            residuals.append(x)
        key_bias = np.where(mask[:, None, :] != 0, self.dtype.type(0), self.dtype.type(MASKED_SCORE))
        for stage in self.stages:
            if isinstance(stage, _Attention):
                delta = np.zeros_like(x)
                layer_patterns = []
                flat = x.reshape(-1, x.shape[-1])
                for h in stage.heads:
                    q = (flat @ h.w_q).reshape(*x.shape[:2], -1)
                    k = (flat @ h.w_k).reshape(*x.shape[:2], -1)
                    v = (flat @ h.w_v).reshape(*x.shape[:2], -1)
                    scores = self.dtype.type(h.scale) * (q @ np.swapaxes(k, -1, -2)) + key_bias
                    p = softmax(scores)
                    layer_patterns.append(p)
                    o = p @ v
                    delta = delta + (o.reshape(-1, o.shape[-1]) @ h.w_o).reshape(x.shape)
                x = x + delta
                if patterns is not None:
                    patterns.append(np.stack(layer_patterns, axis=1))
            else:
                # One 2-D product per weight (numpy loops a 3-D @ 2-D product per batch row).
                flat = x.reshape(-1, x.shape[-1])
                hidden = np.maximum(flat @ stage.w1 + stage.b1, 0)
                x = x + (hidden @ stage.w2 + stage.b2).reshape(x.shape)
            if residuals is not None:
                residuals.append(x)
        return x

    def _unembed(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        scores = x[:, 1:, :][..., self.dims]
        if self.encoding == CATEGORICAL:
            return np.argmax(scores, axis=-1).astype(np.int64), scores
        if self.rounds:
            return np.round(scores[..., 0]), scores  # half to even, as ONNX's Round
        return scores[..., 0], scores

    # -- public API ------------------------------------------------------------ #

    def _guard_values(self, x: np.ndarray) -> np.ndarray:
        body = x[:, 1:, :]
        if not self.guards:
            return np.zeros((*body.shape[:2], 0), dtype=x.dtype)
        return np.stack([body[..., dims].max(axis=-1) for _, dims in self.guards], axis=-1)

    def run_ids(self, ids: np.ndarray, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """`ids` `[B, S]` (BOS id at position 0), `mask` `[B, S]` (1 real, 0 padding) ->
        `(outputs [B, S-1], scores [B, S-1, k])`. Outputs are indices into the unembedding's
        value table (categorical, int64) or the values themselves (numerical, `dtype`).
        Raises `InputRefused` (row b is input b) where a run-time guard refuses the input."""
        ids, mask = self._check_ids(ids, mask)
        x = self._forward(ids, mask)
        if self.guards:
            check_guards(self._guard_values(x), mask[:, 1:], [label for label, _ in self.guards], self.codec.max_seq_len)
        return self._unembed(x)

    def guards_ids(self, ids: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        """The run-time guards' values `[B, S-1, n_guards]`: per guard and position (BOS left
        out), the largest of the guarded aggregate's one-hot dims (see `ModelOp.guards`)."""
        ids, mask = self._check_ids(ids, mask)
        return self._guard_values(self._forward(ids, mask))

    def run(self, batch: Sequence[Sequence[Any]]) -> list[list[Any]]:
        """Token lists (no BOS, mixed lengths) -> one list of decoded output values each."""
        ids, mask, lengths = self.codec.encode(batch, bos=True)
        outputs, _ = self.run_ids(ids, mask)
        return self.codec.decode(outputs, lengths)

    def encode(self, batch: Sequence[Sequence[Any]]) -> tuple[np.ndarray, np.ndarray]:
        """The `(ids, mask)` that `run` feeds `run_ids` (BOS column first)."""
        ids, mask, _ = self.codec.encode(batch, bos=True)
        return ids, mask

    def residuals(self, batch: Sequence[Sequence[Any]]) -> list[np.ndarray]:
        """The residual stream `[B, S, D]` (BOS at position 0) after the embedding and after
        every layer; `stage_names[i]` names entry i. Padded positions hold junk."""
        ids, mask = self.encode(batch)
        return self.residuals_ids(ids, mask)

    def residuals_ids(self, ids: np.ndarray, mask: np.ndarray | None = None) -> list[np.ndarray]:
        ids, mask = self._check_ids(ids, mask)
        out: list[np.ndarray] = []
        self._forward(ids, mask, residuals=out)
        return out

    def attention(self, batch: Sequence[Sequence[Any]]) -> list[np.ndarray]:
        """Attention patterns, one `[B, heads, S_query, S_key]` array per attention layer."""
        ids, mask = self.encode(batch)
        out: list[np.ndarray] = []
        self._forward(ids, mask, patterns=out)
        return out

    @property
    def layout(self) -> list[str]:
        return self.model.layout_labels
