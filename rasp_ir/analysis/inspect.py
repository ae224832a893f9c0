"""What a compiled model does, read off its weights: `rasp inspect`.

The residual layout names every dimension (`"tokens=a"`, `"indices=3"`, `"frac"`,
`"length.attn"`, `"one"`, `"bos"`): a categorical s-op `x` owns one dimension per value,
labelled `x=value`; a numerical s-op owns one dimension labelled with its name. From the
weights and these labels:

- a head *reads* the dimensions whose rows of `w_q` (query), `w_k` (key), `w_v` (value)
  are not all zero, and *writes* those whose columns of `w_o` are not all zero;
- an MLP reads the non-zero rows of `w1` and writes the non-zero columns of `w2` (or `b2`);
- the embedding writes the non-zero columns of its token and position tables; the
  unembedding reads its `dims`.

`inspect_model(model_op)` gathers all of it (`ModelInspection`), `format_inspection` prints
it as tables. `model_from_onnx(proto)` rebuilds the `transformer.model` of a saved ONNX
model from its initializers (`layer{i}.head{j}.w_q`, `layer{i}.mlp.w1`, ...) and metadata, so
a model file alone can be inspected, run by the numpy executor, and plotted.

`mlp_tables` tabulates what each MLP computes: every value (or combination of values) of
the s-ops it reads, put into a real residual vector, run through the MLP, and the written
s-ops decoded again. An MLP that the compiler merged from several maps is split back into
its independent parts (hidden units that share no s-op), one table each.
"""

from __future__ import annotations

import itertools
import json
import random
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from rasp_ir.analysis.model_summary import ModelSummary, summarize
from rasp_ir.errors import RaspModelError

if TYPE_CHECKING:
    import onnx

    from rasp_ir.dialects.transformer import ModelOp
    from rasp_ir.interpreter.transformer_executor import TransformerExecutor

EPS = 1e-6
"""A weight with a smaller magnitude counts as zero (weights are float32)."""

CONSTANT_GROUPS = ("one", "bos")
"""Layout groups that are not s-ops: the constant-1 dimension and the BOS flag."""

MAX_TABLE_ROWS = 2000
"""An MLP table enumerating more input combinations than this uses observed inputs only."""


# --------------------------------------------------------------------------- #
# The residual layout
# --------------------------------------------------------------------------- #


@dataclass
class DimGroup:
    """The dimensions of one s-op (or of `one`, `bos`, a head's scratch dim)."""

    name: str
    dims: list[int]
    values: list[str]
    """Value labels, one per dim, for a categorical s-op; empty for a one-dimension group."""

    @property
    def categorical(self) -> bool:
        return bool(self.values)

    @property
    def kind(self) -> str:
        if self.name in CONSTANT_GROUPS:
            return "constant"
        if self.name.endswith(".attn"):
            return "scratch"
        return "categorical" if self.values else "numerical"


def split_label(label: str) -> tuple[str, str | None]:
    """`"tokens=a"` -> `("tokens", "a")`; `"frac"` -> `("frac", None)`."""
    name, sep, value = label.partition("=")
    return (name, value) if sep else (label, None)


def layout_groups(labels: Sequence[str]) -> list[DimGroup]:
    """The layout's dimensions grouped by s-op, in order of their first dimension."""
    groups: dict[str, DimGroup] = {}
    for d, label in enumerate(labels):
        name, value = split_label(label)
        g = groups.setdefault(name, DimGroup(name, [], []))
        g.dims.append(d)
        if value is not None:
            g.values.append(value)
    for g in groups.values():  # a group mixing "x" and "x=v" labels: keep dims, drop values
        if g.values and len(g.values) != len(g.dims):
            g.values = []
    return list(groups.values())


def dim_ranges(dims: Sequence[int]) -> str:
    """`[2, 3, 4, 7]` -> `"2-4,7"`."""
    dims = sorted(dims)
    parts: list[str] = []
    i = 0
    while i < len(dims):
        j = i
        while j + 1 < len(dims) and dims[j + 1] == dims[j] + 1:
            j += 1
        parts.append(str(dims[i]) if i == j else f"{dims[i]}-{dims[j]}")
        i = j + 1
    return ",".join(parts)


def show_values(values: Sequence[str], limit: int = 8) -> str:
    if len(values) <= limit:
        return " ".join(values)
    return " ".join(values[: limit - 2]) + f" ... {values[-1]} ({len(values)} values)"


class Layout:
    """Names for residual dimensions and sets of them."""

    def __init__(self, labels: Sequence[str]):
        self.labels = list(labels)
        self.groups = layout_groups(self.labels)
        self.group_of: dict[int, DimGroup] = {d: g for g in self.groups for d in g.dims}

    def describe(self, dims: Sequence[int]) -> str:
        """The s-ops these dimensions hold: `tokens, indices{0,1}` (a name alone means all of
        its dimensions; braces list the values of a part of them)."""
        chosen = set(dims)
        parts: list[str] = []
        for g in self.groups:
            mine = [d for d in g.dims if d in chosen]
            if not mine:
                continue
            if len(mine) == len(g.dims) or not g.values:
                parts.append(g.name)
            else:
                vals = [g.values[g.dims.index(d)] for d in mine]
                parts.append(f"{g.name}{{{show_values(vals, 6).replace(' ', ',')}}}")
        return ", ".join(parts) if parts else "-"

    def group_names(self, dims: Sequence[int]) -> list[str]:
        chosen = set(dims)
        return [g.name for g in self.groups if chosen.intersection(g.dims)]


def nonzero_rows(w: np.ndarray) -> list[int]:
    return [int(i) for i in np.flatnonzero(np.abs(w).max(axis=1) > EPS)] if w.size else []


def nonzero_cols(w: np.ndarray) -> list[int]:
    return [int(i) for i in np.flatnonzero(np.abs(w).max(axis=0) > EPS)] if w.size else []


# --------------------------------------------------------------------------- #
# What each part reads and writes
# --------------------------------------------------------------------------- #


@dataclass
class HeadInfo:
    block: int
    index: int
    label: str
    query_reads: list[int]
    key_reads: list[int]
    value_reads: list[int]
    writes: list[int]
    dk: int
    dv: int
    scale: float
    params: int

    @property
    def name(self) -> str:
        return f"layer{self.block}.head{self.index}"


@dataclass
class MLPInfo:
    block: int
    label: str
    reads: list[int]
    writes: list[int]
    hidden: int
    params: int

    @property
    def name(self) -> str:
        return f"layer{self.block}.mlp"


@dataclass
class BlockInfo:
    index: int
    heads: list[HeadInfo]
    mlp: MLPInfo | None


@dataclass
class LayoutRow:
    """One s-op in the residual stream, and who writes and reads it."""

    name: str
    kind: str
    dims: list[int]
    values: list[str]
    written_by: list[str]
    read_by: list[str]


@dataclass
class ModelInspection:
    name: str
    vocab: list[Any]
    bos: Any
    max_seq_len: int
    encoding: str
    tolerance: float
    layout: list[str]
    embed_writes: list[int]
    blocks: list[BlockInfo]
    output_dims: list[int]
    output_values: list[Any] | None
    summary: ModelSummary
    residual: list[LayoutRow] = field(default_factory=list)
    program_layers: int | None = None
    program_heads_per_layer: list[int] | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["summary"] = self.summary.to_dict()
        return data


def inspect_model(model: ModelOp) -> ModelInspection:
    """Everything `rasp inspect` shows about a `transformer.model`."""
    from rasp_ir.dialects.transformer import find_model

    model = find_model(model)
    layout = Layout(model.layout_labels)
    embed = model.embed
    embed_writes = sorted(set(nonzero_cols(embed.token_table_array)) | set(nonzero_cols(embed.position_table_array)))
    blocks: list[BlockInfo] = []
    for b, (attention, mlp) in enumerate(model.blocks()):
        heads: list[HeadInfo] = []
        for j, h in enumerate(attention.heads if attention is not None else []):
            heads.append(
                HeadInfo(
                    block=b,
                    index=j,
                    label=h.label_text or "",
                    query_reads=nonzero_rows(h.w_q_array),
                    key_reads=nonzero_rows(h.w_k_array),
                    value_reads=nonzero_rows(h.w_v_array),
                    writes=nonzero_cols(h.w_o_array),
                    dk=h.dk,
                    dv=h.dv,
                    scale=h.scale_value,
                    params=h.w_q_array.size + h.w_k_array.size + h.w_v_array.size + h.w_o_array.size,
                )
            )
        mlp_info = None
        if mlp is not None:
            writes = set(nonzero_cols(mlp.w2_array)) | set(np.flatnonzero(np.abs(mlp.b2_array) > EPS).tolist())
            mlp_info = MLPInfo(
                block=b,
                label=mlp.label_text or "",
                reads=nonzero_rows(mlp.w1_array),
                writes=sorted(int(d) for d in writes),
                hidden=mlp.hidden,
                params=mlp.w1_array.size + mlp.b1_array.size + mlp.w2_array.size + mlp.b2_array.size,
            )
        blocks.append(BlockInfo(b, heads, mlp_info))
    unembed = model.unembed
    info = ModelInspection(
        name=model.model_name,
        vocab=list(model.vocabulary),
        bos=model.bos_value,
        max_seq_len=model.seq_len,
        encoding="categorical" if unembed.is_categorical else "numerical",
        tolerance=model.tolerance_value,
        layout=layout.labels,
        embed_writes=embed_writes,
        blocks=blocks,
        output_dims=unembed.dim_list,
        output_values=None if unembed.value_table is None else list(unembed.value_table),
        summary=summarize(model),
    )
    info.residual = _residual_rows(info, layout)
    return info


def _residual_rows(info: ModelInspection, layout: Layout) -> list[LayoutRow]:
    writers: dict[int, list[str]] = {}
    readers: dict[int, list[str]] = {}

    def note(table: dict[int, list[str]], dims: Sequence[int], who: str) -> None:
        for d in dims:
            if who not in table.setdefault(d, []):
                table[d].append(who)

    note(writers, info.embed_writes, "embed")
    for block in info.blocks:
        for h in block.heads:
            short = f"L{block.index}.h{h.index}"
            note(readers, h.query_reads, short + ".q")
            note(readers, h.key_reads, short + ".k")
            note(readers, h.value_reads, short + ".v")
            note(writers, h.writes, short)
        if block.mlp is not None:
            note(readers, block.mlp.reads, f"L{block.index}.mlp")
            note(writers, block.mlp.writes, f"L{block.index}.mlp")
    note(readers, info.output_dims, "output")
    rows: list[LayoutRow] = []
    for g in layout.groups:
        w: list[str] = []
        r: list[str] = []
        for d in g.dims:
            w += [x for x in writers.get(d, []) if x not in w]
            r += [x for x in readers.get(d, []) if x not in r]
        rows.append(LayoutRow(g.name, g.kind, g.dims, g.values, w, r))
    return rows


# --------------------------------------------------------------------------- #
# Text
# --------------------------------------------------------------------------- #


def _table(rows: list[tuple[str, ...]], right: Sequence[int] = ()) -> list[str]:
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    lines = []
    for n, r in enumerate(rows):
        cells = [r[c].rjust(widths[c]) if c in right else r[c].ljust(widths[c]) for c in range(len(r))]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _show_tokens(values: Sequence[Any], limit: int = 12) -> str:
    shown = ", ".join(json.dumps(v, ensure_ascii=False) for v in values[:limit])
    if len(values) > limit:
        shown += f", ... ({len(values)} in all)"
    return f"[{shown}]"


def format_inspection(info: ModelInspection) -> str:
    """The tables `rasp inspect` prints."""
    s = info.summary
    layout = Layout(info.layout)
    lines = [
        f"model @{info.name}: {_plural(s.layers, 'layer')}, {_plural(s.heads, 'head')}, "
        f"residual width {s.residual_width}, {s.params:,} parameters",
        f"vocab {_show_tokens(info.vocab)}, BOS {json.dumps(info.bos, ensure_ascii=False)}, "
        f"max_seq_len {info.max_seq_len}, {info.encoding} output"
        + (f" (tolerance {info.tolerance:g})" if info.encoding == "numerical" else ""),
    ]
    if info.program_layers is not None:
        lines.append(
            f"the program needs {_plural(info.program_layers, 'attention layer')}, heads per layer "
            f"{info.program_heads_per_layer} (the paper's count)"
        )
    lines += ["", "blocks (reads: query | key | value for a head):"]
    rows: list[tuple[str, ...]] = [("layer", "part", "reads", "writes", "size", "params", "label")]
    embed_params = s.embedding_params
    rows.append(("embed", "embed", "tokens, positions", layout.describe(info.embed_writes), "", f"{embed_params:,}", ""))
    for block in info.blocks:
        for h in block.heads:
            reads = " | ".join(layout.describe(d) for d in (h.query_reads, h.key_reads, h.value_reads))
            size = f"dk {h.dk}, dv {h.dv}, scale {h.scale:g}"
            rows.append((str(block.index), f"head {h.index}", reads, layout.describe(h.writes), size, f"{h.params:,}", h.label))
        if block.mlp is not None:
            m = block.mlp
            rows.append(
                (str(block.index), "mlp", layout.describe(m.reads), layout.describe(m.writes), f"hidden {m.hidden}",
                 f"{m.params:,}", m.label)
            )
        if not block.heads and block.mlp is None:
            rows.append((str(block.index), "-", "", "", "", "0", ""))
    out_size = f"{len(info.output_values)} values" if info.output_values is not None else "1 value"
    rows.append(("out", "unembed", layout.describe(info.output_dims), "", f"{info.encoding}, {out_size}", "0", ""))
    rows.append(("total", "", "", "", "", f"{s.params:,}", ""))
    lines += _table(rows, right=(5,))
    lines += ["", f"residual stream ({s.residual_width} dims):"]
    rows = [("dims", "s-op", "kind", "values", "written by", "read by")]
    for r in info.residual:
        rows.append(
            (dim_ranges(r.dims), r.name, r.kind, show_values(r.values) if r.values else "-",
             ", ".join(r.written_by) or "-", ", ".join(r.read_by) or "-")
        )
    lines += _table(rows)
    lines += ["", "MLP hidden sizes: " + (", ".join(
        f"L{b.index} {b.mlp.hidden}" for b in info.blocks if b.mlp is not None) or "none")]
    return "\n".join(lines)


# --------------------------------------------------------------------------- #
# Rebuilding the transformer IR from an ONNX model
# --------------------------------------------------------------------------- #

_HEAD_INIT = re.compile(r"^layer(\d+)\.head(\d+)\.(w_q|w_k|w_v|w_o|scale)$")
_MLP_INIT = re.compile(r"^layer(\d+)\.mlp\.(w1|b1|w2|b2)$")


def model_from_onnx(proto: onnx.ModelProto, where: str = "the model") -> ModelOp:
    """The `transformer.model` a rasp-ir ONNX model was exported from, rebuilt from its
    initializers and metadata (weights bit for bit; head labels from the summary
    metadata, MLP labels when the metadata has them)."""
    from onnx import numpy_helper

    from rasp_ir.dialects.rasp import Encoding
    from rasp_ir.dialects.transformer import AttentionOp, EmbedOp, HeadOp, MLPOp, ModelOp, UnembedOp
    from rasp_ir.runtime import metadata as M

    meta = {p.key: p.value for p in proto.metadata_props}
    if meta.get(M.META_FORMAT) != M.FORMAT_MARKER:
        raise RaspModelError(f"{where} is not a rasp-ir model (its metadata has no '{M.META_FORMAT}' marker)")

    def field_of(key: str, default: Any = ...) -> Any:
        if key not in meta:
            if default is not ...:
                return default
            raise RaspModelError(f"{where}: the metadata lacks '{key}'; cannot rebuild the transformer")
        try:
            return json.loads(meta[key])
        except ValueError as e:
            raise RaspModelError(f"{where}: the metadata entry '{key}' is malformed ({e})") from None

    inits = {t.name: numpy_helper.to_array(t) for t in proto.graph.initializer}

    def weight(name: str) -> np.ndarray:
        if name not in inits:
            raise RaspModelError(
                f"{where}: no initializer '{name}'; the graph is not laid out as rasp-ir exports it"
            )
        return inits[name]

    token_table = weight("embed.token_table")
    position_table = weight("embed.position_table")
    width = token_table.shape[-1]
    labels = field_of(M.META_LAYOUT, None)
    if not isinstance(labels, list) or len(labels) != width:
        labels = [f"d{i}" for i in range(width)]
    summary = field_of(M.META_SUMMARY, {}) or {}
    head_labels: list[list[str]] = summary.get("head_labels") or []
    mlp_labels: list[str] = summary.get("mlp_labels") or []

    heads: dict[int, dict[int, dict[str, np.ndarray]]] = {}
    mlps: dict[int, dict[str, np.ndarray]] = {}
    for name, array in inits.items():
        if m := _HEAD_INIT.match(name):
            heads.setdefault(int(m[1]), {}).setdefault(int(m[2]), {})[m[3]] = array
        elif m := _MLP_INIT.match(name):
            mlps.setdefault(int(m[1]), {})[m[2]] = array

    body: list[Any] = [EmbedOp.from_arrays(token_table, position_table)]
    for b in sorted(set(heads) | set(mlps)):
        if b in heads:
            ops = []
            for j in sorted(heads[b]):
                w = heads[b][j]
                missing = [k for k in ("w_q", "w_k", "w_v", "w_o", "scale") if k not in w]
                if missing:
                    raise RaspModelError(f"{where}: head layer{b}.head{j} lacks {', '.join(missing)}")
                label = head_labels[b][j] if b < len(head_labels) and j < len(head_labels[b]) else ""
                ops.append(
                    HeadOp.from_arrays(
                        w_q=w["w_q"], w_k=w["w_k"], w_v=w["w_v"], w_o=w["w_o"],
                        scale=float(np.asarray(w["scale"]).reshape(())), label=label or None,
                    )
                )
            body.append(AttentionOp(body[-1], ops))
        if b in mlps:
            w = mlps[b]
            missing = [k for k in ("w1", "b1", "w2", "b2") if k not in w]
            if missing:
                raise RaspModelError(f"{where}: layer{b}.mlp lacks {', '.join(missing)}")
            label = mlp_labels[b] if b < len(mlp_labels) and mlp_labels[b] else None
            body.append(MLPOp.from_arrays(body[-1], w1=w["w1"], b1=w["b1"], w2=w["w2"], b2=w["b2"], label=label))
    dims = [int(d) for d in weight("unembed.dims").reshape(-1)]
    encoding = meta.get(M.META_ENCODING, "categorical")
    if encoding == "categorical":
        values = field_of(M.META_OUTPUT_VALUES)
        body.append(UnembedOp(body[-1], Encoding.CATEGORICAL, dims, values, label="output"))
    else:
        body.append(UnembedOp(body[-1], Encoding.NUMERICAL, dims, label="output"))
    tolerance = float(meta[M.META_TOLERANCE]) if M.META_TOLERANCE in meta else None
    try:
        model = ModelOp(
            meta.get(M.META_NAME) or proto.graph.name or "model",
            layout=labels,
            vocab=field_of(M.META_VOCAB),
            bos=field_of(M.META_BOS),
            max_seq_len=int(field_of(M.META_MAX_SEQ_LEN)),
            body=body,
            tolerance=tolerance,
        )
        model.verify()
    except RaspModelError:
        raise
    except Exception as e:  # VerifyException, or a value the attributes reject
        raise RaspModelError(f"{where}: the weights do not form a valid transformer: {e}") from None
    return model


# --------------------------------------------------------------------------- #
# Sample inputs
# --------------------------------------------------------------------------- #


def example_input(vocab: Sequence[Any], max_seq_len: int, length: int = 8, seed: int = 0) -> list[Any]:
    """A deterministic input of min(length, max_seq_len) tokens drawn from `vocab`."""
    rng = random.Random(seed)
    n = max(1, min(length, max_seq_len))
    return [rng.choice(list(vocab)) for _ in range(n)]


def sample_inputs(vocab: Sequence[Any], max_seq_len: int, count: int = 256, seed: int = 0) -> list[list[Any]]:
    """Every input up to the longest length that keeps the count under `count`, then random
    ones of every longer length (about `count` in all)."""
    vocab = list(vocab)
    out: list[list[Any]] = []
    n = 1
    while n <= max_seq_len and len(out) + len(vocab) ** n <= count:
        out += [list(t) for t in itertools.product(vocab, repeat=n)]
        n += 1
    rng = random.Random(seed)
    longer = list(range(n, max_seq_len + 1))
    if longer:
        for i in range(max(count - len(out), len(longer))):
            out.append([rng.choice(vocab) for _ in range(longer[i % len(longer)])])
    return out


# --------------------------------------------------------------------------- #
# MLP lookup tables
# --------------------------------------------------------------------------- #


@dataclass
class MLPTable:
    """What one (independent part of an) MLP computes: input values -> output values."""

    block: int
    label: str
    inputs: list[str]
    """The s-ops it reads (constant dims like `one` left out)."""
    outputs: list[str]
    """The s-ops it writes."""
    rows: list[tuple[tuple[str, ...], tuple[str, ...]]]
    exhaustive: bool
    """True when every value combination was tried; False when only values seen on sample inputs were."""


def _stage_index(model: ModelOp, block: int) -> int:
    """The executor stage of a block's MLP (stage 0 is the embedding)."""
    from rasp_ir.dialects.transformer import MLPOp

    _, mlp = model.blocks()[block]
    for i, layer in enumerate(model.layers):
        if layer is mlp:
            assert isinstance(layer, MLPOp)
            return i + 1
    raise ValueError(f"block {block} has no MLP")


def _fmt_number(x: float) -> str:
    x = float(x)
    if abs(x - round(x)) < 1e-6:
        return str(int(round(x)))
    return f"{x:.4g}"


def _sort_key(text: str) -> tuple[int, float, str]:
    try:
        return (0, float(text), "")
    except ValueError:
        return (1, 0.0, text)


def _decode(g: DimGroup, vec: np.ndarray) -> str:
    if g.categorical:
        sub = vec[g.dims]
        if np.all(np.abs(sub) < 0.5):
            return "-"
        return g.values[int(np.argmax(sub))]
    return _fmt_number(vec[g.dims[0]])


def _components(w1: np.ndarray, w2: np.ndarray, b2: np.ndarray, layout: Layout) -> list[tuple[list[DimGroup], list[DimGroup]]]:
    """Independent parts of an MLP: hidden units linked through the s-ops they read or write."""
    hidden = w1.shape[1]
    parent = list(range(hidden))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    reads_of: list[set[str]] = []
    writes_of: list[set[str]] = []
    owner: dict[str, int] = {}
    for h in range(hidden):
        r = {layout.group_of[d].name for d in np.flatnonzero(np.abs(w1[:, h]) > EPS)} - set(CONSTANT_GROUPS)
        w = {layout.group_of[d].name for d in np.flatnonzero(np.abs(w2[h, :]) > EPS)} - set(CONSTANT_GROUPS)
        reads_of.append(r)
        writes_of.append(w)
        for name in r | w:
            if name in owner:
                parent[find(h)] = find(owner[name])
            else:
                owner[name] = h
    parts: dict[int, tuple[set[str], set[str]]] = {}
    for h in range(hidden):
        if not (reads_of[h] or writes_of[h]):
            continue
        r, w = parts.setdefault(find(h), (set(), set()))
        r |= reads_of[h]
        w |= writes_of[h]
    bias_writes = {layout.group_of[int(d)].name for d in np.flatnonzero(np.abs(b2) > EPS)} - set(CONSTANT_GROUPS)
    by_name = {g.name: g for g in layout.groups}
    result = []
    for r, w in parts.values():
        reads = [g for g in layout.groups if g.name in r]
        writes = [g for g in layout.groups if g.name in w]
        result.append((reads, writes))
    stray = bias_writes - set().union(*(w for _, w in parts.values())) if parts else bias_writes
    if stray:
        result.append(([], [by_name[n] for n in sorted(stray)]))
    return result


def mlp_tables(
    model: ModelOp,
    executor: TransformerExecutor | None = None,
    samples: Sequence[Sequence[Any]] | None = None,
    max_rows: int = MAX_TABLE_ROWS,
) -> list[MLPTable]:
    """One table per independent part of every MLP (see the module docstring).

    Categorical inputs are enumerated over all their values; numerical inputs take the
    values they hold on `samples` (default: `sample_inputs`). A part reading more than two
    s-ops (or with more than `max_rows` combinations) lists the combinations the samples reach. Each row is computed by the
    MLP's weights on a residual vector taken from a sample run, with the read s-ops
    replaced by the row's values."""
    from rasp_ir.interpreter.transformer_executor import TransformerExecutor

    executor = executor or TransformerExecutor(model)
    layout = Layout(model.layout_labels)
    if samples is None:
        samples = sample_inputs(model.vocabulary, model.seq_len)
    samples = [list(s) for s in samples]
    ids, mask = executor.encode(samples)
    residuals = executor.residuals_ids(ids, mask)
    real = mask.astype(bool).copy()
    real[:, 0] = False  # leave BOS out
    tables: list[MLPTable] = []
    for b, (_, mlp) in enumerate(model.blocks()):
        if mlp is None:
            continue
        stage = _stage_index(model, b)
        before = residuals[stage - 1][real]  # [N, D] residual vectors entering the MLP
        w1, b1, w2, b2 = mlp.w1_array, mlp.b1_array, mlp.w2_array, mlp.b2_array

        def apply(x: np.ndarray) -> np.ndarray:
            return x + np.maximum(x @ w1 + b1, 0) @ w2 + b2

        for reads, writes in _components(w1, w2, b2, layout):
            domains: list[list[tuple[str, np.ndarray]]] = []
            for g in reads:
                if g.categorical:
                    dom = []
                    for k, d in enumerate(g.dims):
                        vec = np.zeros(len(g.dims), dtype=np.float32)
                        vec[k] = 1.0
                        dom.append((g.values[k], vec))
                    domains.append(dom)
                else:
                    seen = sorted({round(float(v), 6) for v in before[:, g.dims[0]]})
                    domains.append([(_fmt_number(v), np.array([v], dtype=np.float32)) for v in seen])
            size = int(np.prod([len(d) for d in domains])) if domains else 1
            base = before[0].copy() if len(before) else np.zeros(len(layout.labels), dtype=np.float32)
            rows: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
            # Every combination for one or two inputs (a grid); with more, most combinations
            # cannot occur, so the table lists the ones the sample inputs reach.
            exhaustive = size <= max_rows and len(reads) <= 2
            if exhaustive:
                for combo in itertools.product(*domains):
                    x = base.copy()
                    for g, (_, vec) in zip(reads, combo):
                        x[g.dims] = vec
                    y = apply(x)
                    rows.append((tuple(c[0] for c in combo), tuple(_decode(g, y) for g in writes)))
            else:  # too many combinations: the ones the sample inputs reach
                seen_rows: dict[tuple[str, ...], tuple[str, ...]] = {}
                ys = apply(before)
                for x, y in zip(before, ys):
                    key = tuple(_decode(g, x) for g in reads)
                    seen_rows.setdefault(key, tuple(_decode(g, y) for g in writes))
                    if len(seen_rows) >= max_rows:
                        break
                rows = sorted(seen_rows.items(), key=lambda row: tuple(_sort_key(v) for v in row[0]))
            tables.append(
                MLPTable(
                    block=b,
                    label=mlp.label_text or "",
                    inputs=[g.name for g in reads],
                    outputs=[g.name for g in writes],
                    rows=rows,
                    exhaustive=exhaustive,
                )
            )
    return tables


__all__ = [
    "BlockInfo",
    "DimGroup",
    "HeadInfo",
    "Layout",
    "LayoutRow",
    "MLPInfo",
    "MLPTable",
    "ModelInspection",
    "dim_ranges",
    "example_input",
    "format_inspection",
    "inspect_model",
    "layout_groups",
    "mlp_tables",
    "model_from_onnx",
    "sample_inputs",
]
