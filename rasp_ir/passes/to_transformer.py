"""`rasp-to-transformer`: lower a scheduled `rasp.program` to a `transformer.model`.

Needs value sets (`rasp-infer-values`), encodings (`rasp-infer-encodings`) and a
schedule (`rasp-allocate-layers`). Every aggregate and selector_width becomes one
attention sub-layer with one head, every map one MLP sub-layer, in schedule order;
`transformer-combine-layers` then merges the sub-layers of a block.

- The residual stream: "one", "bos", then each s-op's dimensions ("name=value" for
  a categorical s-op, "name" for a numerical one), and one scratch dimension per
  selector_width ("name.attn").
- Embedding: tokens (token table), indices (position table) and constants (every
  non-BOS token row); the BOS row sets "one" and "bos" only.
- A selector becomes a bilinear score: an `and` of selects over different
  (keys, queries) pairs adds their 0/1 scores (selected iff all hold); anything
  over one pair — `or`, `not`, nested — is one predicate table over that pair's
  values. An `or`/`not` over different pairs has no single bilinear form and is
  refused with the reason.
- aggregate: keys score 1 when selected; the BOS key scores 1/2 less and carries
  the default, so nothing selected gives the default, and a numerical mean of any
  values is exact to the scale's bound (see `weights.aggregate_scale`). A categorical
  aggregate copies one-hot rows; where its selector is not proven to select at most
  one position (`analysis.encodings.selects_at_most_one`) and its input takes several
  values, the model gets a run-time guard on its output dims (`ModelOp.guards`): where
  it averages different values, the runtime refuses the input.
- selector_width: the BOS key scores ln(b) above a selected key (b = 1, or max_seq_len
  for a width read as a one-hot: `fusion.width_bos_weight`) and carries 1; the head
  writes BOS's share b/(b+w), which an MLP turns into w with exact steps.
- maps: categorical input -> lookup units; numerical input -> exact steps over
  the input's values (or an exact affine map); sequence_map -> one unit per pair.
"""

from __future__ import annotations

import math
import warnings
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import product

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import ArrayAttr, IntegerAttr, ModuleOp, StringAttr
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import Rewriter

from rasp_ir.dialects.rasp import (
    AggregateOp,
    ConstantOp,
    Encoding,
    IndicesOp,
    LengthOp,
    LinearSequenceMapOp,
    MapOp,
    ProgramOp,
    SelectorWidthOp,
    SequenceMapOp,
    SOpType,
    TokensOp,
    Value,
    ValueKind,
    format_value,
    known_values,
    value_key,
)
from rasp_ir.dialects.transformer import (
    DEFAULT_TOLERANCE,
    AttentionOp,
    EmbedOp,
    HeadOp,
    MLPOp,
    ModelOp,
    UnembedOp,
)
from rasp_ir.analysis.value_sets import normalize_value
from rasp_ir.analysis.encodings import selects_at_most_one
from rasp_ir.analysis.weighted_counts import WeightedCount, weighted_count
from rasp_ir.errors import RaspCompileError, RaspCompileWarning
from rasp_ir.passes.allocate_layers import (
    ATTENTION,
    ATTENTION_AND_MLP,
    EMBEDDING,
    FUSED,
    MLP,
    allocate_program,
    program_max_hidden,
)
from rasp_ir.passes.fusion import (
    FLOAT32_EPS,
    PRECISION_SPLIT,
    ROUNDED_OUTPUT_BUDGET,
    FusionPlan,
    GateCode,
    Leaf,
    additive_parts,
    is_elementwise,
    LookupCover,
    Threshold,
    code_keys,
    code_units,
    joint_codes,
    leaf_noise,
    lookup_cover,
    threshold_cover,
    plan_fusion,
    read_only_by_heads,
    rounded_output,
    width_bos_weight,
    representable_units,
    tabulate,
)
from rasp_ir.passes.common import describe, programs, require_vocab_and_length, sop_names
from rasp_ir.passes.kernel_rounding import onnxruntime_mlp
from rasp_ir.passes.lookup_cubes import Cube
from rasp_ir.passes.lower_composite_selectors import conjuncts, evaluate_selector, leaf_pairs
from rasp_ir.passes.weights import (
    MLPWeights,
    affine_fit,
    gated_units,
    plateau_units,
    aggregate_scale,
    as_number,
    lookup_units,
    min_gap,
    width_scale,
)

ONE = "one"
BOS = "bos"
ONE_DIM, BOS_DIM = 0, 1
"""The residual dimensions "one" (1 at every position) and "bos" (1 at BOS only): the
layout's first two."""
MAX_RESIDUAL_WIDTH = 8192
"""Widest residual stream the lowering builds (past it, weights take gigabytes)."""
MAX_MEASURED_MLP = 50_000_000
"""Largest (input combinations x hidden units) an MLP is run on to measure its rounding."""
ROUNDING_SAFETY = 4.0
"""How much larger than the measured float32 rounding (numpy's, and onnxruntime's CPU
kernels' where it matters) other kernels' (CUDA's) may be."""
PLATEAU_MARGIN = 1.0 / 8.0
"""Largest total error on the one-hots a flat-topped gate reads (it stays flat to 1/4)."""
PLATEAU_ROUNDING = 16.0 * 2.0**-23
"""What a flat-topped gate leaves on the one-hot it writes: float32's rounding of 4s+2."""
UNSELECTED_SCORE_ROOM = 0.01
"""How far (times the softmax scale) rounding may move unselected keys' scores without
being counted against a head's budget: their leak grows by at most 1%."""
KERNEL_SAFETY = 2.0
"""How much larger than onnxruntime's CPU kernels' measured rounding its other kernels'
(CUDA's) may be."""
KERNEL_CHECK_MAGNITUDE = 64.0
"""Pre-activations past which an MLP is also run on onnxruntime's kernels to measure its
rounding (below it, any order of summation is off by less than 1e-5)."""
class ImpreciseInputs(RaspCompileError):
    """A refusal because float32 rounding in the MLPs that compute some s-ops (`culprits`,
    their ops) reaches what reads them; computing those s-ops from their direct operands
    (coarser steps) may avoid it, at the cost of a block (`RaspToTransformerPass`), and
    failing that, splitting the MLPs whose joint codes set the budget (`fallback`)."""

    def __init__(self, message: str, culprits: Sequence[Operation], fallback: Sequence[Operation] = ()):
        super().__init__(message)
        self.culprits = list(culprits)
        self.fallback = list(fallback)


MLP_OUTPUT_NOISE = 1e-5
"""Largest error, relative to its values' bound, an MLP may leave on a numerical result
(what `fusion.leaf_noise` assumes of MLP outputs)."""
MAX_MODEL_WEIGHTS = 100_000_000
"""Most MLP weights one model may have in all (400 MB in float32)."""
MAX_MLP_WEIGHTS = 20_000_000
"""Most weights one MLP may have (80 MB in float32; built in float64 first)."""


def choose_bos(vocab: tuple[Value, ...]) -> Value:
    """A BOS token that is not in the vocabulary."""
    taken = {value_key(v) for v in vocab}
    candidate, k = "BOS", 0
    while value_key(candidate) in taken:
        k += 1
        candidate = f"BOS{k}"
    return candidate


@dataclass
class Layout:
    """Which residual dimension holds what."""

    labels: list[str] = field(default_factory=list)
    dims: dict[SSAValue, list[int]] = field(default_factory=dict)
    values: dict[SSAValue, list[Value]] = field(default_factory=dict)
    scratch: dict[Operation, int] = field(default_factory=dict)
    folded: dict[SSAValue, SSAValue] = field(default_factory=dict)
    """Functions of tokens alone or indices alone that only heads read (`head_folded`): no
    dimensions; each head reads them through the base's one-hot (value -> tokens or indices)."""

    def add(self, label: str) -> int:
        self.labels.append(label)
        return len(self.labels) - 1

    @property
    def width(self) -> int:
        return len(self.labels)

    def is_numerical(self, value: SSAValue) -> bool:
        assert isinstance(value.type, SOpType)
        return value.type.is_numerical


def head_folded(program: ProgramOp, plan: FusionPlan) -> dict[SSAValue, SSAValue]:
    """Embedded element-wise s-ops (functions of tokens alone or of indices alone) that
    only selects compare and aggregates average: a head reads their one-hot as a fixed
    linear map of the base's one-hot (a row per base value), so they take no residual
    dimensions (issue 7: maps that only feed heads fold into their weights). Value -> base."""
    folded: dict[SSAValue, SSAValue] = {}
    for op in program.body.block.ops:
        if not op.results or op.results[0] not in plan.embedded or not is_elementwise(op):
            continue
        result = op.results[0]
        if read_only_by_heads(result):
            base = _embedding_base(result)
            # A one-hot base only: a numerical one (one dim holding the number) has no row per value.
            if base is not None and isinstance(base.type, SOpType) and base.type.is_categorical:
                folded[result] = base
    return folded


def _embedding_base(value: SSAValue) -> SSAValue | None:
    """The tokens or indices s-op an embedded s-op is computed from (None for constants)."""
    owner = value.owner
    if isinstance(owner, TokensOp | IndicesOp):
        return value
    for operand in owner.operands if isinstance(owner, Operation) else ():
        base = _embedding_base(operand)
        if base is not None:
            return base
    return None


def build_layout(program: ProgramOp, plan: FusionPlan) -> Layout:
    layout = Layout()
    layout.add(ONE)
    layout.add(BOS)
    names = sop_names(program)
    layout.folded = {**head_folded(program, plan), **plan.folded}
    in_stream = plan.embedded | plan.materialized
    for op in program.body.block.ops:
        for result in op.results:
            if not isinstance(result.type, SOpType):
                continue
            if result not in in_stream and result not in layout.folded and not isinstance(op, AggregateOp):
                continue
            values = known_values(result)
            if values is None:
                raise RaspCompileError(f"rasp-to-transformer: {describe(op)} has no value set; run rasp-infer-values")
            if result.type.enc is None:
                raise RaspCompileError(
                    f"rasp-to-transformer: {describe(op)} has no encoding; run rasp-infer-encodings"
                )
            layout.values[result] = list(values.data)
            name = names[result]
            if result in layout.folded:
                continue
            if result.type.is_numerical:
                layout.dims[result] = [layout.add(name)]
            else:
                layout.dims[result] = [layout.add(f"{name}={_label_value(v)}") for v in values.data]
        if isinstance(op, SelectorWidthOp | LengthOp):
            layout.scratch[op] = layout.add(f"{names[op.results[0]]}.attn")
    if layout.width > MAX_RESIDUAL_WIDTH:
        widest = sorted(layout.dims.items(), key=lambda item: -len(item[1]))[:3]
        shown = ", ".join(f"%{names[v]} ({len(d)})" for v, d in widest)
        raise RaspCompileError(
            f"rasp-to-transformer: @{program.sym_name.data} needs a residual stream of {layout.width} "
            f"dimensions (more than {MAX_RESIDUAL_WIDTH}); the widest s-ops are {shown}. Lower max_seq_len "
            "or the vocabulary, or make wide s-ops numerical"
        )
    return layout


def _label_value(v: Value) -> str:
    return v if isinstance(v, str) else format_value(v)


# --------------------------------------------------------------------------- #
# Selectors as bilinear scores
# --------------------------------------------------------------------------- #


@dataclass
class ScoreGroup:
    """A 0/1 predicate table over one (keys, queries) pair: matrix[query index, key index]."""

    keys: SSAValue
    queries: SSAValue
    matrix: np.ndarray


def score_groups(selector: SSAValue, layout: Layout, where: str) -> list[ScoreGroup] | None:
    """The selector as a conjunction of predicate tables, one per (keys, queries) pair;
    None when it never selects anything."""
    by_pair: dict[tuple[SSAValue, SSAValue], list[SSAValue]] = {}
    for conjunct in conjuncts(selector):
        pairs = leaf_pairs(conjunct)
        if not pairs:
            if not evaluate_selector(conjunct, {}, {}):  # a constant: TRUE/FALSE combinations
                return None
            continue
        if len(pairs) > 1:
            raise RaspCompileError(
                f"rasp-to-transformer: {where}: its selector combines selects over different s-op pairs with "
                "`or`/`not`, which one head cannot score; run rasp-lower-composite-selectors first"
            )
        by_pair.setdefault(pairs.pop(), []).append(conjunct)
    groups = []
    for (keys, queries), parts in by_pair.items():
        kvals, qvals = layout.values[keys], layout.values[queries]
        matrix = np.array(
            [[all(evaluate_selector(p, {keys: k}, {queries: q}) for p in parts) for k in kvals] for q in qvals],
            dtype=np.float64,
        ).reshape(len(qvals), len(kvals))
        if not matrix.any():
            return None
        groups.append(ScoreGroup(keys, queries, matrix))
    return groups


def weighted_score_groups(weighted: WeightedCount, layout: Layout, scale: float) -> list[ScoreGroup]:
    """A weighted count's scores, one block per pair: a key whose pairs relate to the query
    with exponents e_1.. scores (e_1 + ...) ln(base) / scale, so that it weighs base^(e_1 + ...)
    in the softmax; a relation without an exponent scores low enough that, whatever the
    other pairs give, the key scores at least 1 below weight 1 (it weighs e^-scale)."""
    step = math.log(weighted.base) / scale
    tops = [max(e for e in row if e is not None) for row in weighted.exponents]
    groups = []
    for p, (keys, queries) in enumerate(weighted.pairs):
        dead = -1.0 - step * (sum(tops) - tops[p])
        kvals, qvals = layout.values[keys], layout.values[queries]
        matrix = np.empty((len(qvals), len(kvals)))
        for qi, q in enumerate(qvals):
            for ki, k in enumerate(kvals):
                e = weighted.exponent(p, k, q)
                matrix[qi, ki] = dead if e is None else e * step
        groups.append(ScoreGroup(keys, queries, matrix))
    return groups


# --------------------------------------------------------------------------- #
# The lowering
# --------------------------------------------------------------------------- #


@dataclass
class Lowering:
    program: ProgramOp
    layout: Layout
    max_seq_len: int
    tolerance: float
    x_bos: np.ndarray
    sublayers: list[tuple[int, Operation | MLPWeights, str]] = field(default_factory=list)
    onehot_error: dict[SSAValue, np.ndarray] = field(default_factory=dict)
    """Float32 error on the one-hot dims of categorical s-ops that MLPs compute with steps,
    a row per input combination (`measure_rounding`); exact one-hots (embedding,
    lookups) are not listed."""
    scratch_readers: dict[Operation, list[Operation]] = field(default_factory=dict)
    """The MLP roots whose joint codes set `scratch_skew_budget`, per width op."""
    scratch_skew_budget: dict[Operation, float] = field(default_factory=dict)
    """For selector_width / length ops whose scratch dim an MLP reads through a joint code
    with other numerical inputs: how far skewed scores may move it (`scratch_budgets`)."""
    joint_code_values: set[SSAValue] = field(default_factory=set)
    """Numerical s-ops that an MLP reads with other numerical inputs (through a joint code)."""
    onehot_on_error: dict[SSAValue, float] = field(default_factory=dict)
    """The largest measured error on the dim that is on, per s-op in `onehot_error`."""
    onehot_on_index: dict[SSAValue, np.ndarray] = field(default_factory=dict)
    """Per row of `onehot_error`, the index of the value that is on (absent when the
    error is a bound over all rows)."""
    inherited_error: dict[SSAValue, float] = field(default_factory=dict)
    """Error on the one-hot dim that is on, for categorical s-ops computed from imprecise
    one-hots (closed gates write exact zeros on the other dims, so those inherit none)."""
    embedded_rows: dict[SSAValue, list[Value]] = field(default_factory=dict)
    """Each embedded s-op's value per token (vocabulary order) or per position."""
    encoded: dict[tuple[SSAValue, tuple], np.ndarray] = field(default_factory=dict)
    """`encode_vector`'s vectors, per (s-op, value key)."""
    guards: list[tuple[str, list[int]]] = field(default_factory=list)
    """Run-time guards: (aggregate, its one-hot dims) per categorical aggregate whose
    selector is not proven to select at most one position."""

    @property
    def d(self) -> int:
        return self.layout.width

    def dims(self, value: SSAValue) -> list[int]:
        return self.layout.dims[value]

    def encode(self, value: SSAValue, v: Value) -> dict[int, float]:
        """The residual entries that represent value `v` of s-op `value`."""
        if self.layout.is_numerical(value):
            return {self.dims(value)[0]: as_number(v)}
        assert isinstance(value.type, SOpType)
        index = {value_key(u): i for i, u in enumerate(self.layout.values[value])}
        return {self.dims(value)[index[value_key(normalize_value(v, value.type.value_kind))]]: 1.0}

    def features(self, value: SSAValue) -> list[tuple[int, int]]:
        """(residual dim, index into the layout's values) pairs: a categorical s-op's
        one-hot is the sum of those dims' unit vectors mapped to its value indices. For a
        folded s-op (`head_folded`), its base's dims, each mapped to the value it gives."""
        base = self.layout.folded.get(value)
        if base is None:
            return list(zip(self.dims(value), range(len(self.dims(value)))))
        index = {value_key(v): i for i, v in enumerate(self.layout.values[value])}
        return [(self.encoded_dim(base, b), index[value_key(v)]) for b, v in self.fold_rows(value)]

    def linear_rows(self, value: SSAValue) -> list[tuple[int, float]]:
        """(residual dim, weight) pairs whose weighted sum is a numerical s-op's value."""
        base = self.layout.folded.get(value)
        if base is None:
            return [(self.dims(value)[0], 1.0)]
        return [(self.encoded_dim(base, b), as_number(v)) for b, v in self.fold_rows(value)]

    def fold_rows(self, value: SSAValue) -> list[tuple[Value, Value]]:
        """(base value, value) pairs of a folded s-op: per token or position for a
        function of tokens or indices, per value of the head output it maps."""
        base = self.layout.folded[value]
        if value in self.embedded_rows:
            return list(zip(self.embedded_rows[base], self.embedded_rows[value]))
        owner = value.owner
        assert isinstance(owner, MapOp) and isinstance(value.type, SOpType)
        kind = value.type.value_kind
        return [(b, normalize_value(owner.table.lookup(b), kind)) for b in self.layout.values[base]]

    def fold_errors(self, value: SSAValue) -> None:
        """Give a folded s-op the float32 errors of the one-hot it is read through (an
        MLP-decoded width's), mapped to its own values; the MLP behind them stays the culprit."""
        base = self.layout.folded.get(value)
        if base is None or value in self.onehot_error:
            return
        if base in self.inherited_error:
            self.inherited_error[value] = self.inherited_error[base]
        if base not in self.onehot_error:
            return
        index = {value_key(v): i for i, v in enumerate(self.layout.values[value])}
        base_index = {value_key(b): i for i, b in enumerate(self.layout.values[base])}
        mapping = np.zeros((len(base_index), len(index)))
        for b, v in self.fold_rows(value):
            mapping[base_index[value_key(b)], index[value_key(v)]] = 1.0
        error = self.onehot_error[value] = self.onehot_error[base] @ mapping
        if base in self.onehot_on_index:
            on = self.onehot_on_index[value] = np.argmax(mapping, axis=1)[self.onehot_on_index[base]]
            self.onehot_on_error[value] = float(np.abs(error[np.arange(len(error)), on]).max(initial=0.0))
        else:
            self.onehot_on_error[value] = float(np.abs(error).max(initial=0.0))

    def encoded_dim(self, value: SSAValue, v: Value) -> int:
        """The one-hot dim of value `v` of a categorical s-op."""
        (dim,) = self.encode(value, v)
        return dim

    def encode_vector(self, value: SSAValue, v: Value) -> np.ndarray:
        """`encode` as a residual vector (read-only: one per value, shared by the MLPs)."""
        key = (value, value_key(v))
        vec = self.encoded.get(key)
        if vec is None:
            vec = np.zeros(self.d)
            for dim, w in self.encode(value, v).items():
                vec[dim] += w
            vec.flags.writeable = False
            self.encoded[key] = vec
        return vec

    # -- attention ------------------------------------------------------- #

    def head(
        self, selector: SSAValue | None, where: str, bos_score: float, scale: float, value_rows: np.ndarray,
        bos_value: np.ndarray, w_o: np.ndarray, skew_budget: float, budget_from: Sequence[Operation] = (),
        weighted: WeightedCount | None = None,
    ) -> HeadOp:
        """A head whose query q attends to the keys the selector selects for it (or, for a
        `weighted` count, to every key by its weight).

        Features: one block per score group (query one-hot -> predicate row), a bias
        feature (query's "one" x key's "bos", giving the BOS key `bos_score`), and a
        self feature that makes the BOS query attend to the BOS key alone. The BOS rows
        of w_q, w_k and w_v are then corrected so that the BOS query, the BOS key and the
        BOS value are exactly what is wanted whatever else the residual holds at BOS.
        """
        if weighted is not None:
            # Scores are the keys' log-weights already (0 for weight 1): no offset.
            groups: list[ScoreGroup] | None = weighted_score_groups(weighted, self.layout, scale)
            n_groups = 0
        else:
            # No selector (for `length`) selects every key.
            groups = [] if selector is None else score_groups(selector, self.layout, where)
            self.check_score_error(groups or [], where, scale, skew_budget, budget_from)
            n_groups = 1 if groups is None else len(groups)
        sizes = [len(self.layout.values[g.queries]) for g in groups or []]
        dk = sum(sizes) + 2
        bias, self_feature = dk - 2, dk - 1
        w_q = np.zeros((self.d, dk))
        w_k = np.zeros((self.d, dk))
        offset = 0
        for group, size in zip(groups or [], sizes):
            for qdim, qi in self.features(group.queries):
                w_q[qdim, offset + qi] += 1.0
            for kdim, ki in self.features(group.keys):
                w_k[kdim, offset : offset + size] += group.matrix[:, ki]
            offset += size
        # Selected keys score n_groups from the groups, less n_groups from the bias: exactly
        # 0 (scores near 0 keep float32's rounding of them small); unselected ones at most
        # -1; the BOS key scores `bos_score` below 0.
        w_q[ONE_DIM, bias] = 1.0
        w_k[ONE_DIM, bias] = -float(n_groups)
        query_at_bos = np.zeros(dk)
        query_at_bos[self_feature] = 1.0
        key_at_bos = np.zeros(dk)
        key_at_bos[bias] = -bos_score
        key_at_bos[self_feature] = 1.0
        w_q[BOS_DIM] += query_at_bos - self.x_bos @ w_q
        w_k[BOS_DIM] += key_at_bos - self.x_bos @ w_k
        w_v = value_rows.copy()
        w_v[BOS_DIM] += bos_value - self.x_bos @ w_v
        return HeadOp.from_arrays(w_q=w_q, w_k=w_k, w_v=w_v, w_o=w_o, scale=scale, label=where)

    def check_score_error(
        self, groups: list[ScoreGroup], where: str, scale: float, budget: float, budget_from: Sequence[Operation] = ()
    ) -> None:
        """Refuse a head whose scores float32 rounding could skew past `budget`.

        A one-hot an MLP computed with steps is a little off on each dimension
        (`onehot_error`); a score sums dimensions along a predicate row (e.g. all values
        >= q), and selected keys whose scores differ by e weigh about e^(scale e) apart.
        The error is measured on the weights in float32 (numpy's summation order, and
        onnxruntime's where it matters: `measure_rounding`), and kept below `budget` /
        ROUNDING_SAFETY for other kernels' orders. The refusal names the MLPs that computed
        the imprecise one-hots, and those whose joint codes set the budget (`budget_from`),
        for `RaspToTransformerPass` to split."""
        error = 0.0  # on the scores of selected keys
        unselected = 0.0  # on the others
        culprits: list[Operation] = []
        for group in groups:
            for value in (group.keys, group.queries):
                self.fold_errors(value)
                if value in self.onehot_error or self.inherited_error.get(value):
                    computed = self.layout.folded.get(value, value)  # what an MLP wrote
                    culprits.append(computed.owner)  # type: ignore[arg-type]
            # Per side, predicate[this side's value index, the other side's value index].
            for value, predicate in ((group.keys, group.matrix.T), (group.queries, group.matrix)):
                if value not in self.onehot_error:
                    continue
                errors = np.abs(self.onehot_error[value] @ predicate)  # rows x the other side's values
                on = self.onehot_on_index.get(value)
                selected = predicate[on] != 0.0 if on is not None else np.ones(errors.shape, dtype=bool)
                error += float(errors[selected].max(initial=0.0))
                unselected += float(errors[~selected].max(initial=0.0))
            # Inherited error sits on the one dim that is on (closed gates write exact zeros).
            inherited = self.inherited_error.get(group.keys, 0.0) + self.inherited_error.get(group.queries, 0.0)
            error += inherited * float(np.abs(group.matrix).max(initial=0.0))
        # Unselected keys score at least 1 below selected ones: their errors only scale their
        # leak, which the heads' scales leave far below what their readers allow; up to
        # UNSELECTED_SCORE_ROOM (a 1% larger leak) they are not counted against the budget.
        if scale * unselected > UNSELECTED_SCORE_ROOM:
            error += unselected
        if error and ROUNDING_SAFETY * scale * error > budget:
            raise ImpreciseInputs(
                f"rasp-to-transformer: {where}: its selector reads a categorical s-op that an MLP computes "
                f"from a numerical one with steps so fine that float32 rounding skews its attention "
                f"(score error {error:.2g} at softmax scale {scale:.3g}); give that s-op fewer values "
                "(lower max_seq_len or the vocabulary)",
                culprits,
                budget_from,
            )

    def lower_aggregate(self, op: AggregateOp) -> HeadOp:
        where = describe(op)
        x, y = op.input, op.result
        default = op.default_value
        if self.layout.is_numerical(y):
            xs = [as_number(v) for v in self.layout.values[x]]
            bound = max([1.0] + [abs(v) for v in xs] + [abs(as_number(default))])
            gap = min_gap([as_number(v) for v in self.layout.values[y]])
            scale = aggregate_scale(self.max_seq_len, bound, gap, self.tolerance)
            value_rows = np.zeros((self.d, 1))
            for dim, weight in self.linear_rows(x):
                value_rows[dim, 0] += weight
            w_o = np.zeros((1, self.d))
            w_o[0, self.dims(y)[0]] = 1.0
            bos_value = np.array([as_number(default)])
        else:
            scale = aggregate_scale(self.max_seq_len, 1.0, 1.0, self.tolerance)
            out_values = self.layout.values[y]
            index = {value_key(v): i for i, v in enumerate(out_values)}
            value_rows = np.zeros((self.d, len(out_values)))
            assert isinstance(y.type, SOpType)
            for dim, i in self.features(x):
                value_rows[dim, index[value_key(normalize_value(self.layout.values[x][i], y.type.value_kind))]] = 1.0
            # Averaging positions that hold different values leaves no output dim near 1.
            copied = {index[value_key(normalize_value(v, y.type.value_kind))] for v in self.layout.values[x]}
            if len(copied) > 1 and not selects_at_most_one(op.selector):
                self.guards.append((where, list(self.dims(y))))
                warnings.warn(
                    f"{where}: a categorical aggregate copies one value, but the compiler cannot prove "
                    "that its selector selects at most one position; where it selects several that hold "
                    "different values, the program averages them (an error for strings and bools), and "
                    "the compiled model refuses such inputs at run time (RaspInputError; `rasp verify` "
                    "finds them). Make the aggregate numerical if it is meant to average",
                    RaspCompileWarning,
                    stacklevel=2,
                )
            self.fold_errors(x)
            for errors in (self.inherited_error, self.onehot_on_error):
                if x in errors:
                    errors[y] = errors[x]
            if x in self.onehot_error:  # the head copies the rows, and their rounding
                kind = y.type.value_kind
                target = np.array([index[value_key(normalize_value(v, kind))] for v in self.layout.values[x]])
                copied = np.zeros((len(self.onehot_error[x]), len(out_values)))
                np.add.at(copied.T, target, self.onehot_error[x].T)  # x values that copy to one y value add
                self.onehot_error[y] = copied
                if x in self.onehot_on_index:
                    self.onehot_on_index[y] = target[self.onehot_on_index[x]]
            w_o = np.zeros((len(out_values), self.d))
            for i, dim in enumerate(self.dims(y)):
                w_o[i, dim] = 1.0
            bos_value = np.zeros(len(out_values))
            assert isinstance(y.type, SOpType)
            bos_value[index[value_key(normalize_value(default, y.type.value_kind))]] = 1.0
        # A mean moves by about 2 * skew * its values' bound; a copy only needs its selected
        # key to stay ahead of the others.
        skew_budget = self.tolerance / (2.0 * bound) if self.layout.is_numerical(y) else 0.25
        return self.head(op.selector, where, 0.5, scale, value_rows, bos_value, w_o, skew_budget)

    def lower_width_head(self, op: SelectorWidthOp | LengthOp, selector: SSAValue | None) -> HeadOp:
        scratch = self.layout.scratch[op]
        w_o = np.zeros((1, self.d))
        w_o[0, scratch] = 1.0
        return self.head_for(op, selector, w_o)

    def head_for(self, op: Operation, selector: SSAValue | None, w_o: np.ndarray) -> HeadOp:
        # Skewed scores move BOS's share b/(b+w) by about skew * w/(b+w), relative to it:
        # alone, its decoding steps have a quarter of the relative gap 1/(b+w+1) to spare
        # (at least 1/(8(n+2)) of skew for b = 1 or n); in a joint code with other numerical
        # inputs, what that code's steps leave (`scratch_budgets`).
        n = self.max_seq_len
        alone = 1.0 / (8.0 * (n + 2))
        skew_budget = min(alone, self.scratch_skew_budget.get(op, math.inf))
        # Where the joint codes reading the width set the budget, splitting them (the width
        # then decoded alone first) relaxes it.
        budget_from = self.scratch_readers.get(op, []) if skew_budget < alone else []
        scale = width_scale(n)
        # The BOS key weighs b selected keys: it scores ln(b) above them (before the scale).
        bos_score = -math.log(width_bos_weight(op)) / scale
        return self.head(
            selector, describe(op), bos_score, scale, np.zeros((self.d, 1)), np.ones(1), w_o, skew_budget,
            budget_from, weighted_count(op),
        )

    # -- MLPs -------------------------------------------------------------- #

    def lower_mlp(self, op: Operation, leaves: list[Leaf]) -> MLPWeights:
        """`build_mlp`, and the float32 rounding its categorical leaves bring in: an open
        gate reads them with weight 2 (closed gates do not leak), so the result is off by
        up to twice their error times its values. A numerical result must stay within the
        rounding the fusion plan assumes of MLP outputs (`fusion.leaf_noise`); a one-hot
        result passes the error on (`inherited_error`)."""
        mlp = self.build_mlp(op, leaves)
        categorical = [leaf for leaf in leaves if not leaf.numerical]
        if (found := self.covered(op, leaves)) is not None:
            # exact gates, or flat tops that leave a few ulps on the dim that is on
            inherited = PLATEAU_ROUNDING if self.cover_is_flat(found, leaves) else 0.0
        elif self.cleans_inputs(leaves):
            inherited = PLATEAU_ROUNDING  # only float32's rounding of the flat tops, a few ulps
        else:
            inherited = 2.0 * sum(self.onehot_bound(leaf.value) for leaf in categorical)
        if not inherited:
            return mlp
        result = op.results[0]
        if self.layout.is_numerical(result):
            if inherited > MLP_OUTPUT_NOISE:
                raise ImpreciseInputs(
                    f"rasp-to-transformer: {describe(op)} reads a categorical s-op that an MLP computes from a "
                    f"numerical one with steps so fine that float32 leaves its one-hot off by up to "
                    f"{inherited / 2:.2g}; its numerical result would be off by {inherited * self.value_bound(result):.2g}. Give "
                    "that s-op fewer values (lower max_seq_len or the vocabulary)",
                    [leaf.value.owner for leaf in leaves if not leaf.numerical and self.onehot_bound(leaf.value)],
                )
        else:
            self.inherited_error[result] = inherited
        return mlp

    def covered(self, op: Operation, leaves: Sequence[Leaf]) -> LookupCover | None:
        """The cubes a lookup MLP is built from (`fusion.lookup_cover`), or None: a gate
        over a set of values sums their dims, so it reads the errors of all of them, and
        is used only while those errors, over all leaves (a threshold's noise as a share
        of its gap), stay within PLATEAU_MARGIN. The fusion plan counted on the cover of
        threshold leaves (there is no other way to read them), so there it must hold."""
        if any(leaf.numerical for leaf in leaves):
            found = threshold_cover(op, leaves, program_max_hidden(self.program))
        else:
            found = lookup_cover(op, leaves)
        if found is None:
            return None
        error = sum(self.onehot_total(leaf.value) for leaf in leaves if not leaf.numerical)
        error += sum(leaf_noise(leaf) / t.gap for leaf, t in zip(leaves, found.thresholds) if t is not None)
        if error < PLATEAU_MARGIN:
            return found
        if found.flat:
            raise ImpreciseInputs(
                f"rasp-to-transformer: {describe(op)} tests numerical inputs against their extreme values, "
                f"but its inputs are off by {error:.2g} of a step in all (at most {PLATEAU_MARGIN:g}); give "
                "its categorical inputs fewer values (lower max_seq_len or the vocabulary)",
                [leaf.value.owner for leaf in leaves if not leaf.numerical and self.onehot_total(leaf.value)],
            )
        return None

    def cover_is_flat(self, found: LookupCover, leaves: Sequence[Leaf]) -> bool:
        """Whether a covered lookup needs flat-topped gates: it tests threshold leaves
        (numerical, so never exact), or some one-hot it reads is imprecise."""
        return found.flat or any(self.onehot_total(leaf.value) for leaf in leaves if not leaf.numerical)

    def onehot_total(self, value: SSAValue) -> float:
        """The largest error summed over all of a one-hot's dims (0 when exact)."""
        measured = self.onehot_error.get(value)
        total = float(np.abs(measured).sum(axis=1).max(initial=0.0)) if measured is not None else 0.0
        return total + self.inherited_error.get(value, 0.0)

    def cover_default(self, found: LookupCover, leaves: Sequence[Leaf]) -> int | None:
        """The output a unit that is always on writes (`cover_units`), or None."""
        return found.default if self.has_heads and not self.cover_is_flat(found, leaves) else None

    def cover_size(self, found: LookupCover, leaves: Sequence[Leaf]) -> int:
        """Hidden units `cover_units` builds."""
        default = self.cover_default(found, leaves)
        per_gate = 2 if self.cover_is_flat(found, leaves) else 1
        gates = sum(found.terms(cube) for cube in found.cubes if cube.output != default)
        return per_gate * gates + (default is not None)

    def cover_units(self, mlp: MLPWeights, found: LookupCover, leaves: Sequence[Leaf], result: SSAValue) -> None:
        """A lookup built from disjoint cubes: each cube's gates (`cube_terms`) write its
        output where they are open. From exact one-hots, in a program with heads
        (`has_heads`), a unit that is always on writes the default output and the other
        cubes add the difference; from imprecise ones or threshold leaves, every cube has
        flat-topped units (`weights.plateau_units`), so that the dims that are off stay
        exactly 0 (a reader's error sits on the dim that is on, `inherited_error`)."""
        default = self.cover_default(found, leaves)
        flat = self.cover_is_flat(found, leaves)
        base = np.zeros(self.d)
        if default is not None:
            base = self.encode_vector(result, found.outputs[default])
            gated_units(mlp, {}, 0, None, [0.0], [base], ONE_DIM)
        for cube in found.cubes:
            if cube.output == default:
                continue
            output = self.encode_vector(result, found.outputs[cube.output]) - base
            for sign, gate, arity in self.cube_terms(leaves, found, cube):
                if flat:
                    plateau_units(mlp, gate, arity, sign * output)
                else:
                    gated_units(mlp, gate, arity, None, [0.0], [output], ONE_DIM)

    @cached_property
    def has_heads(self) -> bool:
        """Whether the program has attention: its heads read the one and BOS dims, which
        a unit that is always on needs too (to fire, and to be silenced at BOS); without
        heads those two dims would be there for it alone."""
        return any(isinstance(op, AggregateOp | SelectorWidthOp | LengthOp) for op in self.program.body.block.ops)

    def cube_terms(
        self, leaves: Sequence[Leaf], found: LookupCover, cube: Cube
    ) -> Iterator[tuple[float, dict[int, float], int]]:
        """Signed gates (sign, weights by dim, arity; `weights.gated_units`) whose sum is
        1 exactly inside the cube and 0 outside. A one-hot leaf's set (of its `classes`)
        adds its values' dims, weight 1 each; a threshold leaf at its extreme adds
        1 - |x - extreme| / gap (1 there, at most 0 elsewhere); "not at the extreme" is no
        test minus that test, so k of them make 2^k gates with signs (-1)^(tests taken)."""
        gate: dict[int, float] = {}
        arity = 0
        away: list[tuple[int, Threshold]] = []
        for leaf, indices, t, classes in zip(leaves, cube.sets, found.thresholds, found.classes):
            if indices is None:
                continue
            if t is not None:
                dim = self.leaf_dims(leaf)[0]
                if indices == (1,):
                    away.append((dim, t))
                else:
                    self.add_extreme_test(gate, dim, t)
                    arity += 1
                continue
            arity += 1
            raws = leaf.raw_values()
            for i in (member for c in indices for member in classes[c]):
                dim = self.leaf_dim_of(leaf, raws[i])
                gate[dim] = gate.get(dim, 0.0) + 1.0
        for taken in product((False, True), repeat=len(away)):
            term = dict(gate)
            for (dim, t), take in zip(away, taken):
                if take:
                    self.add_extreme_test(term, dim, t)
            yield (-1.0) ** sum(taken), term, arity + sum(taken)

    @staticmethod
    def add_extreme_test(gate: dict[int, float], dim: int, t: Threshold) -> None:
        """Add 1 - s (x - extreme) / gap to a gate (s = 1 when the extreme is the smallest
        value, -1 when the largest): 1 at the extreme, at most 0 at any other value."""
        s = 1.0 if float(t.other) > t.extreme else -1.0
        gate[dim] = gate.get(dim, 0.0) - s / t.gap
        gate[ONE_DIM] = gate.get(ONE_DIM, 0.0) + 1.0 + s * t.extreme / t.gap

    def cleans_inputs(self, leaves: Sequence[Leaf]) -> bool:
        """Whether an MLP over these leaves is a lookup with flat-topped gates
        (`weights.plateau_units`): all are one-hots, some imprecise, and all together off
        by less than PLATEAU_MARGIN."""
        if any(leaf.numerical for leaf in leaves):
            return False
        errors = [self.onehot_bound(leaf.value) for leaf in leaves]
        return any(errors) and sum(errors) < PLATEAU_MARGIN

    def value_bound(self, value: SSAValue) -> float:
        """The largest magnitude a numerical s-op takes, at least 1."""
        return max([1.0] + [abs(as_number(v)) for v in self.layout.values[value]])

    def onehot_bound(self, value: SSAValue) -> float:
        """The largest error on the dim of `value`'s one-hot that is on (0 when exact)."""
        return self.onehot_on_error.get(value, 0.0) + self.inherited_error.get(value, 0.0)

    def build_mlp(self, op: Operation, leaves: list[Leaf]) -> MLPWeights:
        """One MLP computing `op`'s result from its leaves (see fusion.py), exactly on every
        combination of the leaves' values: for each combination of the categorical leaves, a
        gate that opens only there, and behind it the result as a function of the numerical
        leaves, read through one linear code z per gate that tells apart the combinations
        that can occur there and differ in the result (`fusion.joint_codes`): an affine
        piece when that is exact, else exact steps in z where the result changes."""
        result = op.results[0]
        numerical = [leaf for leaf in leaves if leaf.numerical]
        categorical = [leaf for leaf in leaves if not leaf.numerical]
        if (
            isinstance(op, LinearSequenceMapOp)
            and len(numerical) > 1
            and self.layout.is_numerical(result)
            and {leaf.value for leaf in leaves} <= set(op.operands)
            and not any(leaf.scratch for leaf in leaves)
        ):
            return self.lower_linear(op)  # a split linear map: exact from its two operands
        found = self.covered(op, leaves)
        # thresholds (numerical leaves read only at an extreme) are covered before all else
        parts = additive_parts(op, leaves) if found is None or not found.flat else None
        codes = joint_codes(op, leaves) if numerical and parts is None and found is None else None
        units = code_units(codes) if codes is not None else representable_units(leaves, separable=parts is not None)
        if found is not None and parts is None:
            units = self.cover_size(found, leaves)
        if units * self.d > MAX_MLP_WEIGHTS:
            raise RaspCompileError(
                f"rasp-to-transformer: {describe(op)} needs an MLP of up to {units} hidden units over a "
                f"residual stream of {self.d} dimensions, more than {MAX_MLP_WEIGHTS:,} weights; lower "
                "max_seq_len or the vocabulary, or shrink its inputs' value sets"
            )
        mlp = MLPWeights(self.d)
        if parts is not None:
            self.additive_units(mlp, leaves, parts, self.dims(result)[0])
            self.measure_rounding(op, mlp, leaves, tabulate(op, leaves), additive=True)
            return mlp
        if found is not None:
            self.cover_units(mlp, found, leaves, result)
            return mlp
        table = tabulate(op, leaves)
        if not numerical:
            clean = self.cleans_inputs(leaves)
            for combo in product(*(leaf.raw_values() for leaf in categorical)):
                key = tuple(value_key(v) for v in combo)  # every leaf is categorical
                output = self.encode_vector(result, table[key])
                if clean:
                    plateau_units(mlp, self.gate(categorical, combo), len(categorical), output)
                else:
                    gated_units(mlp, self.gate(categorical, combo), len(categorical), None, [0.0], [output], 0)
            return mlp
        codes = codes or joint_codes(op, leaves, limit=None)
        assert codes is not None
        for code, sets in self.merged_gates(codes, leaves, categorical, table):
            gate = self.gate(categorical, sets)
            x: dict[int, float] = {}
            for leaf, c in zip(numerical, code.coeffs):
                if c:
                    dim = self.leaf_dims(leaf)[0]
                    x[dim] = x.get(dim, 0.0) + c
            zs = [z for z, _ in code.points]
            outputs = [self.encode_vector(result, table[key]) for key in code_keys(leaves, code)]
            if self.layout.is_numerical(result) and not categorical:
                ys = [float(o[self.dims(result)[0]]) for o in outputs]
                fit = affine_fit(zs, ys)
                # An affine piece passes its input's noise on (times the slope), where steps
                # absorb it: only for inputs that carry little (no selector_width scratch) and
                # slopes that keep it well inside the tolerance (inputs are within tol/10).
                gain = 0.0 if fit is None else abs(fit[0]) * sum(abs(c) for c in x.values())
                if fit is not None and not any(leaf.scratch for leaf in numerical) and gain <= 5.0:
                    self.affine_units(mlp, x, fit, self.dims(result)[0])
                    continue
            gated_units(mlp, gate, len(categorical), x, zs, outputs, 0)
        self.measure_rounding(op, mlp, leaves, table, [key for code in codes for key in code_keys(leaves, code)])
        return mlp

    def run_on_grid(
        self, mlp: MLPWeights, leaves: list[Leaf], table: Mapping, result: SSAValue, keys: list[tuple] | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """What an MLP writes on `result`'s dims in float32 (numpy) on every combination of
        its leaves' values that can occur (`keys`, default all), the exact values (one-hot
        rows, or one column of numbers), and onnxruntime's error on them where the MLP's
        pre-activations are large (`kernel_rounding`; scaled by KERNEL_SAFETY /
        ROUNDING_SAFETY, zeros elsewhere); None when that is too large to run here."""
        out = self.dims(result)
        if (len(table) if keys is None else len(keys)) * max(len(mlp.w1), len(out)) > MAX_MEASURED_MLP:
            return None
        keys = list(table) if keys is None else keys
        w1 = np.stack(mlp.w1, axis=1)
        reads = np.flatnonzero(np.any(w1 != 0.0, axis=1))
        column = {int(d): i for i, d in enumerate(reads)}
        inputs = np.zeros((len(keys), len(reads)), dtype=np.float32)
        exact = np.zeros((len(keys), len(out)))
        numerical = self.layout.is_numerical(result)
        index = {value_key(v): i for i, v in enumerate(self.layout.values[result])}
        if ONE_DIM in column:
            inputs[:, column[ONE_DIM]] = 1.0
        rows = np.arange(len(keys))
        for leaf, col in zip(leaves, zip(*keys) if keys else [() for _ in leaves]):
            values = {value_key(v): v for v in leaf.raw_values()}
            if leaf.numerical:
                dim = self.leaf_dims(leaf)[0]
                if dim in column:  # a dimension no unit reads (e.g. a leaf with one value)
                    inputs[:, column[dim]] = [float(values[k]) for k in col]
            else:
                dim_of = {k: column.get(self.leaf_dim_of(leaf, v), -1) for k, v in values.items()}
                cols = np.fromiter((dim_of[k] for k in col), dtype=np.int64, count=len(keys))
                read = cols >= 0
                inputs[rows[read], cols[read]] = 1.0
        if numerical:
            exact[:, 0] = [as_number(table[key]) for key in keys]
        else:
            kind = result.type.value_kind  # type: ignore[union-attr]
            exact[rows, [index[value_key(normalize_value(table[key], kind))] for key in keys]] = 1.0
        hidden = np.maximum(inputs @ w1[reads].astype(np.float32) + np.asarray(mlp.b1, dtype=np.float32), 0)
        w2 = np.stack(mlp.w2, axis=0)[:, out]
        written = hidden @ w2.astype(np.float32)
        other = np.zeros_like(exact)
        # at least as large as any unit's pre-activation terms on any row
        magnitude = np.abs(inputs).max(axis=0, initial=0.0) @ np.abs(w1[reads]) + np.abs(np.asarray(mlp.b1))
        if float(magnitude.max(initial=0.0)) > KERNEL_CHECK_MAGNITUDE:
            # Rounding of large pre-activations depends on the kernel's order of summation.
            # Consumers multiply errors by ROUNDING_SAFETY (for kernels that were not run);
            # onnxruntime's CPU kernel was run, so its error only needs KERNEL_SAFETY.
            ort_error = np.abs(onnxruntime_mlp(inputs, reads, w1, np.asarray(mlp.b1), w2) - exact)
            ort_error = np.nan_to_num(ort_error, nan=np.inf)  # overflow is no error to compare
            other = ort_error * (KERNEL_SAFETY / ROUNDING_SAFETY)
        return written.astype(np.float64), exact, other

    def measure_rounding(
        self,
        op: Operation,
        mlp: MLPWeights,
        leaves: list[Leaf],
        table: Mapping,
        keys: list[tuple] | None = None,
        additive: bool = False,
    ) -> None:
        """Run a step MLP on every combination of its leaves' values that can occur (`keys`)
        in float32, with numpy and (large pre-activations) onnxruntime, and keep what
        float32 costs: far past their thresholds, step pairs write differences of large
        pre-activations, which float32 keeps only to its relative precision, and different
        kernels round them differently.
        A one-hot keeps its errors per combination (`onehot_error`, read by heads) and on
        its dim that is on (`onehot_on_error`, what MLPs reading it inherit); a number
        must stay within a quarter of the tolerance (with ROUNDING_SAFETY for kernels that
        sum in another order). A sum of one piece per leaf (`additive`) too large to run
        on every combination is run on each leaf's values alone (`additive_error`)."""
        result = op.results[0]
        if not mlp.w1:
            return  # no units: the result is 0 everywhere, exactly
        grid = self.run_on_grid(mlp, leaves, table, result, keys)
        if grid is not None:
            written, exact, other = grid
            error = _kernel_error(written, exact, other)
        elif additive:  # a number: bounded from runs on each leaf's values alone
            error = np.full((1, 1), self.additive_error(mlp, leaves, table, result))
            exact = np.zeros_like(error)
        else:  # too large to run: every unit's pre-activation as large as it can be
            bound = np.ones(self.d)
            for value, dims in self.layout.dims.items():
                if self.layout.is_numerical(value):
                    bound[dims[0]] = self.value_bound(value)
            w1 = np.stack(mlp.w1, axis=1)
            reach = float(np.max(np.abs(w1).T @ bound + np.abs(np.asarray(mlp.b1))))
            error = np.full((1, len(self.dims(result))), 4.0 * FLOAT32_EPS * reach)
            exact = np.zeros_like(error)
        worst = float(np.abs(error).max(initial=0.0))
        if self.layout.is_numerical(result):
            budget = ROUNDED_OUTPUT_BUDGET if rounded_output(result) else self.tolerance / 4.0
            if result in self.joint_code_values:  # the noise `fusion.leaf_noise` assumed
                budget = min(budget, MLP_OUTPUT_NOISE * self.value_bound(result))
            if ROUNDING_SAFETY * worst > budget:
                # Computed from its direct operands (one-hots, not steps over a fine code),
                # it may be exact: `RaspToTransformerPass` splits it, and refuses only if
                # it was split already.
                raise ImpreciseInputs(
                    f"rasp-to-transformer: {describe(op)}: its MLP's steps are so fine that float32 leaves its "
                    f"result off by {worst:.2g} on some input (run on every combination of its inputs); lower "
                    "max_seq_len or give its inputs fewer values",
                    [op],
                )
            return
        self.onehot_error[result] = error
        if grid is not None:
            self.onehot_on_index[result] = np.argmax(exact, axis=1)
        # What MLPs reading this one-hot inherit: the error of the dim that is on (their
        # closed gates ignore errors below 1/4 on the others).
        on = error[exact == 1.0] if grid is not None else error
        self.onehot_on_error[result] = float(np.abs(on).max(initial=0.0))
        if float(np.abs(error[exact == 0.0]).max(initial=0.0)) >= 0.25:
            raise RaspCompileError(
                f"rasp-to-transformer: {describe(op)}: float32 rounding of its steps reaches a quarter "
                "on a one-hot dim; give it fewer values (lower max_seq_len or the vocabulary)"
            )

    def additive_error(self, mlp: MLPWeights, leaves: list[Leaf], table: Mapping, result: SSAValue) -> float:
        """The float32 error of an MLP that sums one piece per numerical leaf behind each
        categorical gate, bounded from runs on a cross of inputs: per gate, every leaf's
        values with the others at a base point. Closed gates write exact zeros and each
        piece reads only its own leaf, so the error anywhere is the base point's plus, per
        leaf, how far that leaf's value moves it."""
        numerical = [i for i, leaf in enumerate(leaves) if leaf.numerical]
        keys: list[tuple] = []
        gates: list[tuple[int, list[tuple[int, int]]]] = []  # base row, each leaf's rows
        for combo in product(*(leaf.raw_values()[:1] if leaf.numerical else leaf.raw_values() for leaf in leaves)):
            base = tuple(value_key(v) for v in combo)
            base_row, spans = len(keys), []
            keys.append(base)
            for i in numerical:
                start = len(keys)
                keys.extend(base[:i] + (value_key(v),) + base[i + 1 :] for v in leaves[i].raw_values()[1:])
                spans.append((start, len(keys)))
            gates.append((base_row, spans))
        grid = self.run_on_grid(mlp, leaves, table, result, keys)
        if grid is None:
            raise RaspCompileError(
                f"rasp-to-transformer: {describe(result.owner)}: its MLP has too many gates to measure its "
                "rounding; lower max_seq_len or give its inputs fewer values"
            )
        error = _kernel_error(*grid)[:, 0]
        worst = 0.0
        for base_row, spans in gates:
            e0 = float(error[base_row])
            bound = abs(e0) + sum(float(np.abs(error[a:b] - e0).max(initial=0.0)) for a, b in spans)
            worst = max(worst, bound)
        return worst

    def additive_units(
        self, mlp: MLPWeights, leaves: list[Leaf], parts: dict[tuple, list[list[float]]], out: int
    ) -> None:
        """A numerical result that is a sum of one function per numerical leaf
        (`fusion.additive_parts`): behind each categorical gate, one piece per leaf, each
        an affine map of that leaf where exact and quiet enough, else exact steps in it."""
        numerical = [leaf for leaf in leaves if leaf.numerical]
        categorical = [leaf for leaf in leaves if not leaf.numerical]
        by_key = {leaf: {value_key(v): v for v in leaf.raw_values()} for leaf in categorical}
        for combo_keys, gs in parts.items():
            gate = self.gate(categorical, [by_key[leaf][k] for leaf, k in zip(categorical, combo_keys)])
            for leaf, g in zip(numerical, gs):
                pairs = sorted(zip((float(v) for v in leaf.raw_values()), g))
                xs = [x for x, _ in pairs]
                x = {self.leaf_dims(leaf)[0]: 1.0}
                fit = affine_fit(xs, [y for _, y in pairs])
                if not categorical and fit is not None and not leaf.scratch and abs(fit[0]) <= 5.0:
                    self.affine_units(mlp, x, fit, out)
                    continue
                outputs = []
                for _, y in pairs:
                    vec = np.zeros(self.d)
                    vec[out] = y
                    outputs.append(vec)
                gated_units(mlp, gate, len(categorical), x, xs, outputs, 0)

    def affine_units(self, mlp: MLPWeights, x: dict[int, float], fit: tuple[float, float], out: int) -> None:
        a, b = fit
        if a:
            mlp.unit(dict(x), 0.0, {out: a})
            mlp.unit({d: -w for d, w in x.items()}, 0.0, {out: -a})
        if b:
            mlp.unit({0: 1.0}, 0.0, {out: b})

    def leaf_dims(self, leaf: Leaf) -> list[int]:
        if leaf.scratch:
            return [self.layout.scratch[leaf.value.owner]]
        return self.dims(leaf.value)

    def gate(self, categorical: Sequence[Leaf], combo: Sequence[Value | tuple[Value, ...]]) -> dict[int, float]:
        """The one-hot dims (weight 1 each) that sum to len(combo) exactly where the
        categorical leaves hold `combo` (`weights.gated_units`); an entry that is a tuple
        admits each of its values (exact one-hots only: the dims' errors would add)."""
        gate: dict[int, float] = {}
        for leaf, entry in zip(categorical, combo):
            for v in entry if isinstance(entry, tuple) else (entry,):
                dim = self.leaf_dim_of(leaf, v)
                gate[dim] = gate.get(dim, 0.0) + 1.0
        return gate

    def merged_gates(
        self, codes: Sequence[GateCode], leaves: Sequence[Leaf], categorical: Sequence[Leaf], table: Mapping
    ) -> list[tuple[GateCode, tuple[tuple[Value, ...], ...]]]:
        """The codes' gates, those that read the numerical leaves alike and write the same
        outputs merged into one gate with a set of values per categorical leaf (cubes,
        merged one leaf at a time): `-1 if indices == 0 else w` needs two gates, not one
        per position. Only over exact one-hots."""
        gates = [(code, tuple((v,) for v in code.combo)) for code in codes]
        if any(self.onehot_total(leaf.value) for leaf in categorical):
            return gates

        def reads(code: GateCode) -> tuple:
            outputs = tuple(value_key(table[key]) for key in code_keys(leaves, code))
            return code.coeffs, tuple(z for z, _ in code.points), outputs

        signature = {id(code): reads(code) for code in codes}
        for j in range(len(categorical)):
            merged: dict[tuple, list[tuple[GateCode, tuple[tuple[Value, ...], ...]]]] = {}
            for code, sets in gates:
                merged.setdefault((sets[:j] + sets[j + 1 :], signature[id(code)]), []).append((code, sets))
            gates = [
                (group[0][0], group[0][1][:j] + (tuple(v for _, sets in group for v in sets[j]),) + group[0][1][j + 1 :])
                for group in merged.values()
            ]
        return gates

    def leaf_dim_of(self, leaf: Leaf, value: Value) -> int:
        """The one-hot dimension of a categorical leaf's value."""
        index = {value_key(u): i for i, u in enumerate(self.layout.values[leaf.value])}
        return self.dims(leaf.value)[index[value_key(value)]]

    def lower_linear(self, op: LinearSequenceMapOp) -> MLPWeights:
        ca, cb = op.coefficients
        result_type = op.result.type
        assert isinstance(result_type, SOpType)

        def f(va: Value, vb: Value) -> Value:
            v = ca * as_number(va) + cb * as_number(vb)
            return int(round(v)) if result_type.value_kind == ValueKind.INT else v

        assert self.layout.is_numerical(op.result), "a categorical linear map has categorical inputs"
        mlp = MLPWeights(self.d)
        out = self.dims(op.result)[0]
        for operand, coeff in ((op.lhs, ca), (op.rhs, cb)):
            if not coeff:
                continue
            if self.layout.is_numerical(operand):
                dim = self.dims(operand)[0]
                mlp.unit({dim: 1.0}, 0.0, {out: coeff})
                mlp.unit({dim: -1.0}, 0.0, {out: -coeff})
            else:
                lookup_units(mlp, self.dims(operand), self.layout.values[operand],
                             lambda v, c=coeff: {out: c * as_number(v)})
        return mlp


def _kernel_error(written: np.ndarray, exact: np.ndarray, other: np.ndarray) -> np.ndarray:
    """An MLP's signed float32 error per input and output dim (`Lowering.run_on_grid`'s
    arrays). numpy's rounding is one order of summation, onnxruntime's another
    (`kernel_rounding`): keep the larger error of the two. Float32 overflow (inf - inf)
    is no error to compare: it counts as unbounded."""
    error = written - exact
    error = np.where(other > np.abs(error), np.where(error < 0.0, -other, other), error)
    return np.nan_to_num(error, nan=np.inf, posinf=np.inf, neginf=-np.inf)


def _embedded_values(op: Operation, inputs: list[Value]) -> Value:
    """The value of an embedded element-wise op, given its operands' values."""
    result_type = op.results[0].type
    assert isinstance(result_type, SOpType)
    return normalize_value(_embedded_value(op, inputs), result_type.value_kind)


def _embedded_value(op: Operation, inputs: list[Value]) -> Value:
    if isinstance(op, MapOp):
        return op.table.lookup(*inputs)
    if isinstance(op, SequenceMapOp):
        return op.table.lookup(*inputs)
    assert isinstance(op, LinearSequenceMapOp)
    a, b = op.coefficients
    v = a * as_number(inputs[0]) + b * as_number(inputs[1])
    result_type = op.result.type
    assert isinstance(result_type, SOpType)
    return int(round(v)) if result_type.value_kind == ValueKind.INT else v


def _embedding(lowering: Lowering, vocab: tuple[Value, ...]) -> EmbedOp:
    """Token and position tables holding every s-op scheduled into the embedding:
    tokens, indices, constants, and functions of tokens alone or of indices alone (but
    those that heads read through their base, `head_folded`)."""
    n = lowering.max_seq_len
    token_table = np.zeros((len(vocab) + 1, lowering.d))
    position_table = np.zeros((n + 1, lowering.d))
    token_table[:, 0] = 1.0
    token_table[len(vocab), 1] = 1.0
    per_token, per_position, constants = _embedded_rows(lowering.program, vocab, n)
    lowering.embedded_rows = {**per_token, **per_position}
    for sop, values in per_token.items():
        if sop not in lowering.layout.folded:
            for r, v in enumerate(values):
                token_table[r] += lowering.encode_vector(sop, v)
    for sop, values in per_position.items():
        if sop not in lowering.layout.folded:
            for p, v in enumerate(values):
                position_table[p + 1] += lowering.encode_vector(sop, v)
    for sop, v in constants.items():
        token_table[: len(vocab)] += lowering.encode_vector(sop, v)
    return EmbedOp.from_arrays(token_table, position_table)


def _embedded_rows(
    program: ProgramOp, vocab: tuple[Value, ...], n: int
) -> tuple[dict[SSAValue, list[Value]], dict[SSAValue, list[Value]], dict[SSAValue, Value]]:
    """The value of each embedded s-op for each token or each position (BOS excluded),
    and of each constant one."""
    per_token: dict[SSAValue, list[Value]] = {}
    per_position: dict[SSAValue, list[Value]] = {}
    constants: dict[SSAValue, Value] = {}
    for op in program.body.block.ops:
        if not isinstance(op.attributes.get("sublayer"), StringAttr) or op.attributes["sublayer"].data != EMBEDDING:
            if not isinstance(op, TokensOp | IndicesOp | ConstantOp):
                continue
        result = op.results[0]
        if isinstance(op, TokensOp):
            per_token[result] = list(vocab)
        elif isinstance(op, IndicesOp):
            per_position[result] = list(range(n))
        elif isinstance(op, ConstantOp):
            constants[result] = op.value.data
        else:
            operands = list(op.operands)
            if any(v in per_token for v in operands):
                rows, table = len(vocab), per_token
            elif any(v in per_position for v in operands):
                rows, table = n, per_position
            else:
                constants[result] = _embedded_values(op, [constants[v] for v in operands])
                continue
            table[result] = [
                _embedded_values(op, [table[v][r] if v in table else constants[v] for v in operands])
                for r in range(rows)
            ]
    return per_token, per_position, constants


def scratch_budgets(plan: FusionPlan) -> tuple[dict[Operation, float], dict[Operation, list[Operation]]]:
    """How far skewed attention may move each selector_width scratch dim that an MLP
    reads through a joint code with other numerical inputs: each gate's steps stand a
    noise of gap/8 on z; what the other leaves' noise leaves of it, over the width's
    coefficient, less the noise `fusion.leaf_noise` already counts on the width. A sum of
    one piece per leaf reads the width alone (no budget here)."""
    budgets: dict[Operation, float] = {}
    readers: dict[Operation, list[Operation]] = defaultdict(list)
    for root, leaves in plan.leaves.items():
        numerical = [leaf for leaf in leaves if leaf.numerical]
        if len(numerical) < 2 or not any(leaf.scratch for leaf in numerical):
            continue
        if additive_parts(root, leaves) is not None:
            continue
        codes = joint_codes(root, leaves, limit=None)
        assert codes is not None
        for code in codes:
            if not code.changes:
                continue
            for leaf, c in zip(numerical, code.coeffs):
                if not leaf.scratch or not c:
                    continue
                others = code.noise - abs(c) * leaf_noise(leaf)
                room = (code.gap / 8.0 - others) / abs(c) - leaf_noise(leaf)
                owner = leaf.value.owner
                budgets[owner] = min(budgets.get(owner, math.inf), max(room, 0.0))
                if root not in readers[owner]:
                    readers[owner].append(root)
    return budgets, dict(readers)


def lower_program(program: ProgramOp, tolerance: float) -> ModelOp:
    vocab, max_seq_len = require_vocab_and_length(program, RaspToTransformerPass.name)
    plan = plan_fusion(program, program_max_hidden(program))
    layout = build_layout(program, plan)
    x_bos = np.zeros(layout.width)
    x_bos[ONE_DIM] = x_bos[BOS_DIM] = 1.0
    lowering = Lowering(program, layout, max_seq_len, tolerance, x_bos)
    joint = [leaf for leaves in plan.leaves.values() if sum(leaf.numerical for leaf in leaves) > 1 for leaf in leaves]
    lowering.scratch_skew_budget, lowering.scratch_readers = scratch_budgets(plan)
    lowering.joint_code_values = {leaf.value for leaf in joint if leaf.numerical and not leaf.scratch}
    embed = _embedding(lowering, vocab)

    # Sub-layers by stage: attention of block b is stage 2b-1, its MLP stage 2b.
    stages: dict[int, list[tuple[str, Operation]]] = defaultdict(list)
    for op in program.body.block.ops:
        sublayer = op.attributes.get("sublayer")
        if not isinstance(sublayer, StringAttr) or sublayer.data in (EMBEDDING, FUSED):
            if isinstance(op, AggregateOp | SelectorWidthOp | LengthOp) or op.results and op.results[0] in plan.materialized and op.results[0] not in plan.embedded:
                if not isinstance(sublayer, StringAttr):
                    raise RaspCompileError(
                        f"rasp-to-transformer: {describe(op)} has no block; run rasp-allocate-layers first"
                    )
            continue
        block = op.attributes.get("block")
        assert isinstance(block, IntegerAttr)
        b = block.value.data
        if sublayer.data in (ATTENTION, ATTENTION_AND_MLP):
            stages[2 * b - 1].append(("aggregate" if isinstance(op, AggregateOp) else "width", op))
        if sublayer.data in (MLP, ATTENTION_AND_MLP):
            stages[2 * b].append(("mlp", op))

    body: list[Operation] = [embed]
    current: SSAValue = embed.results[0]
    total_weights = 0
    for stage in sorted(stages):
        # Every sub-layer of a stage reads the residual as it was before the stage.
        x_bos_before = lowering.x_bos.copy()
        x_bos_after = x_bos_before.copy()
        for kind, op in stages[stage]:
            if kind in ("aggregate", "width"):
                if isinstance(op, AggregateOp):
                    w_v, w_o, head = _head_weights(lowering.lower_aggregate(op))
                else:
                    selector = op.selector if isinstance(op, SelectorWidthOp) else None
                    w_v, w_o, head = _head_weights(lowering.lower_width_head(op, selector))  # type: ignore[arg-type]
                layer = AttentionOp(current, [head])
                body.append(layer)
                current = layer.results[0]
                # The BOS query attends to the BOS key alone, so x_bos gains exactly its value.
                x_bos_after += (x_bos_before @ w_v) @ w_o
                continue
            weights = lowering.lower_mlp(op, plan.leaves[op])
            if not weights.w1:
                continue  # the result is 0 everywhere, which the residual already holds
            w1, b1, w2, b2 = weights.arrays(x_bos_before, BOS_DIM)
            total_weights += w1.size + w2.size
            if total_weights > MAX_MODEL_WEIGHTS:
                raise RaspCompileError(
                    f"rasp-to-transformer: @{program.sym_name.data} needs MLPs of more than {MAX_MODEL_WEIGHTS:,} "
                    f"weights in all (reached at {describe(op)}, {len(weights.w1)} hidden units); lower "
                    "max_seq_len or the vocabulary, or give the s-ops that MLPs combine fewer values"
                )
            mlp = MLPOp.from_arrays(current, w1=w1, b1=b1, w2=w2, b2=b2, label=describe(op))
            body.append(mlp)
            current = mlp.results[0]
        lowering.x_bos = x_bos_after

    output = program.output.value
    assert isinstance(output.type, SOpType)
    if output.type.is_numerical:
        rounds = output.type.value_kind == ValueKind.INT  # exact once rounded: errors stay under 1/4
        unembed = UnembedOp(current, Encoding.NUMERICAL, layout.dims[output], label="output", rounds=rounds)
    else:
        unembed = UnembedOp(current, Encoding.CATEGORICAL, layout.dims[output], layout.values[output], label="output")
    body.append(unembed)
    bos = program.bos.data if program.bos is not None else choose_bos(vocab)
    model = ModelOp(
        program.sym_name.data,
        layout=layout.labels,
        vocab=vocab,
        bos=bos,
        max_seq_len=max_seq_len,
        body=body,
        tolerance=tolerance,
        guards=lowering.guards,
    )
    if remarks := schedule_remarks(program):
        model.attributes["remarks"] = ArrayAttr([StringAttr(r) for r in remarks])
    return model


def schedule_remarks(program: ProgramOp) -> list[str]:
    """What cost the model more than the program's attention depth: fusions that had to
    be split, and selectors whose s-ops had to be paired first."""
    remarks = []
    for op in program.body.block.ops:
        for key in ("split", "remark"):
            attr = op.attributes.get(key)
            if isinstance(attr, StringAttr):
                where = describe(op)
                text = attr.data if key == "remark" else f"{where} is computed from its operands in an MLP of its own: {attr.data}"
                remarks.append(text)
    return remarks


def _head_weights(head: HeadOp) -> tuple[np.ndarray, np.ndarray, HeadOp]:
    return head.v_array.astype(np.float64), head.o_array.astype(np.float64), head


@dataclass(frozen=True)
class RaspToTransformerPass(ModulePass):
    """Lower each scheduled `rasp.program` to a `transformer.model` with exact weights."""

    name = "rasp-to-transformer"

    tolerance: float = DEFAULT_TOLERANCE
    """Largest error allowed in a numerical output."""

    max_retries: int = 8
    """Most times a program is rescheduled with an imprecise MLP split before a refusal."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for program in list(programs(op)):
            model = self._lower(program)
            Rewriter.replace_op(program, model, new_results=[])

    def _lower(self, program: ProgramOp) -> ModelOp:
        """`lower_program`; where float32 rounding in a fused MLP reaches what reads its
        result, that MLP is split (its s-op computed from its direct operands, with
        coarser steps), the program rescheduled, and lowered again."""
        for _ in range(self.max_retries):
            try:
                return lower_program(program, self.tolerance)
            except ImpreciseInputs as err:
                fresh = [
                    op for op in dict.fromkeys(err.culprits)
                    if is_elementwise(op) and PRECISION_SPLIT not in op.attributes
                ] or [
                    op for op in dict.fromkeys(err.fallback)
                    if is_elementwise(op) and PRECISION_SPLIT not in op.attributes
                ]
                if not fresh:
                    raise
                for op in fresh:
                    op.attributes[PRECISION_SPLIT] = StringAttr(
                        "float32 rounding of its fused MLP reached what reads it; " + str(err).split(": ", 1)[-1]
                    )
                allocate_program(program, program_max_hidden(program))
        return lower_program(program, self.tolerance)
