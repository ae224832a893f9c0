"""How big a compiled model is: transformer blocks, heads, MLP widths, parameters.

A *block* (a "layer", DESIGN.md section 7) is one attention sub-layer followed by one MLP
sub-layer; either may be empty. Walking the model's layers in order, an attention layer
followed by an MLP is one block, an MLP not preceded by an attention layer is a block
without heads, and an attention layer not followed by an MLP is a block without an MLP.

`ModelSummary` needs no xDSL: the runtime rebuilds it from ONNX metadata
(`ModelSummary.from_dict`), so a saved model reports its size without the compiler.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from xdsl.ir import Operation


@dataclass
class ModelSummary:
    name: str
    layers: int
    heads_per_layer: list[int]
    mlp_hidden_per_layer: list[int]
    residual_width: int
    params: int
    vocab_size: int = 0
    max_seq_len: int = 0
    encoding: str = ""
    # Parameters per block (attention + MLP weights), without the embedding.
    params_per_layer: list[int] = field(default_factory=list)
    embedding_params: int = 0
    # One list per block: the labels of its heads (empty strings where unlabeled).
    head_labels: list[list[str]] = field(default_factory=list)
    # One per block: the label of its MLP ("" where it has none or no MLP).
    mlp_labels: list[str] = field(default_factory=list)

    @property
    def heads(self) -> int:
        return sum(self.heads_per_layer)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_dict(data: dict[str, Any]) -> ModelSummary:
        known = {f for f in ModelSummary.__dataclass_fields__}
        return ModelSummary(**{k: v for k, v in data.items() if k in known})

    def __str__(self) -> str:
        head = (
            f"model @{self.name}: {self.layers} layer{'s' if self.layers != 1 else ''}, "
            f"{self.heads} head{'s' if self.heads != 1 else ''}, residual width {self.residual_width}, "
            f"{self.params:,} parameters"
        )
        if self.vocab_size or self.max_seq_len:
            head += f"\nvocab {self.vocab_size} tokens, max_seq_len {self.max_seq_len}"
            if self.encoding:
                head += f", {self.encoding} output"
        rows = [("layer", "heads", "mlp hidden", "params")]
        rows.append(("embed", "", "", f"{self.embedding_params:,}"))
        for i in range(self.layers):
            params = self.params_per_layer[i] if i < len(self.params_per_layer) else 0
            rows.append(
                (
                    str(i),
                    str(self.heads_per_layer[i]),
                    str(self.mlp_hidden_per_layer[i]) if self.mlp_hidden_per_layer[i] else "-",
                    f"{params:,}",
                )
            )
        rows.append(("total", str(self.heads), "", f"{self.params:,}"))
        widths = [max(len(r[c]) for r in rows) for c in range(4)]
        lines = [head, ""]
        for n, r in enumerate(rows):
            lines.append(
                "  ".join(r[0].ljust(widths[0]) if c == 0 else r[c].rjust(widths[c]) for c in range(4)).rstrip()
            )
            if n == 0 or n == len(rows) - 2:
                lines.append("  ".join("-" * w for w in widths))
        return "\n".join(lines)


def summarize(module_or_model: Operation) -> ModelSummary:
    """The summary of a `transformer.model`, or of the one model in a module."""
    from rasp_ir.dialects.transformer import find_model

    model = find_model(module_or_model)
    embed = model.embed
    embedding_params = embed.token_table_array.size + embed.position_table_array.size

    heads: list[int] = []
    hidden: list[int] = []
    params: list[int] = []
    labels: list[list[str]] = []
    mlp_labels: list[str] = []
    for attention, mlp in model.blocks():
        n = 0
        if attention is not None:
            hs = attention.heads
            heads.append(len(hs))
            labels.append([h.label_text or "" for h in hs])
            n += sum(h.w_q_array.size + h.w_k_array.size + h.w_v_array.size + h.w_o_array.size for h in hs)
        else:
            heads.append(0)
            labels.append([])
        mlp_labels.append((mlp.label_text or "") if mlp is not None else "")
        if mlp is not None:
            hidden.append(mlp.hidden)
            n += mlp.w1_array.size + mlp.b1_array.size + mlp.w2_array.size + mlp.b2_array.size
        else:
            hidden.append(0)
        params.append(n)

    unembed = model.unembed
    return ModelSummary(
        name=model.model_name,
        layers=len(heads),
        heads_per_layer=heads,
        mlp_hidden_per_layer=hidden,
        residual_width=model.width,
        params=embedding_params + sum(params),
        vocab_size=len(model.vocabulary),
        max_seq_len=model.seq_len,
        encoding="categorical" if unembed.is_categorical else "numerical",
        params_per_layer=params,
        embedding_params=embedding_params,
        head_labels=labels,
        mlp_labels=mlp_labels,
    )
