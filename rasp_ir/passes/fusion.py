"""Which element-wise work shares one MLP: the fusion analysis behind the schedule.

Any function of finitely many categorical s-ops and numerical ones is a single exact
MLP (see `to_transformer`): a gate per combination of the categorical values, and exact
steps along the numerical ones (one piece per numerical leaf when the function is a sum
of one function per leaf, `additive_parts`; else one joint code per gate, `joint_codes`,
whose steps must stay wider than the leaves' noise and coarse enough for float32). A
gate's code covers only the values its leaves can take there (a prefix mean at position
i has denominator i+1, `prefix_mean_values`) and is chosen so that the steps, which sit
only where the function changes, are as coarse as they can be. So the
element-wise ops between two
attention layers need not each take an MLP sub-layer: an s-op that something must
read from the residual stream (a head, the output, or an MLP of a later stage) is
computed by one MLP straight from its *leaves*, the nearest s-ops that are already
in the residual stream; the element-wise ops in between are *fused* into it and take
no dimensions at all. A selector_width is a leaf through its head's scratch
dimension (BOS's share b/(b+w)), so decoding it fuses into whatever reads it.
A function of one-hots (and of numerical leaves read only at an extreme) may instead be a
lookup over disjoint cubes (`lookup_cover`): tabulated over one value per class of
values it cannot tell apart, or, past COVER_LIMIT combinations, by fixing the leaves that
choose among the others (`_split_cover`).

When a fused function would need more hidden units than `max_hidden`, steps finer
than its inputs' noise, or steps whose float32 rounding (`step_rounding`,
`_imprecise_onehot`) could reach its output, the op is *split*: its direct operands are
computed first (in an earlier MLP), which may cost a block; the schedule records each
split and why. rasp-to-transformer then measures the rounding of every MLP it builds.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import product
from weakref import WeakKeyDictionary

import numpy as np

from xdsl.dialects.builtin import StringAttr
from xdsl.ir import Operation, SSAValue

from rasp_ir.dialects.rasp import (
    AggregateOp,
    ConstantOp,
    IndicesOp,
    LengthOp,
    LinearSequenceMapOp,
    MapOp,
    OutputOp,
    Predicate,
    ProgramOp,
    SelectOp,
    SelectorType,
    SelectTableOp,
    SelectorWidthOp,
    SequenceMapOp,
    SOpType,
    TokensOp,
    Value,
    ValueKind,
    known_values,
    value_key,
)
from rasp_ir.analysis.value_sets import normalize_value
from rasp_ir.analysis.weighted_counts import weighted_count
from rasp_ir.errors import RaspCompileError
from rasp_ir.passes.lookup_cubes import Cube, cover, default_output
from rasp_ir.passes.weights import NOISE, WIDTH_LEAK, affine_fit, min_gap, width_from_share, width_share

ELEMENTWISE = (MapOp, SequenceMapOp, LinearSequenceMapOp)
WIDTH = (SelectorWidthOp, LengthOp)
DEFAULT_MAX_HIDDEN = 16384
MAX_PRE_ACTIVATION = 1e6
FLOAT32_EPS = 2.0**-23
"""Largest pre-activation a step unit may reach: float32 keeps it exact to well under
its 1/2 margin (6e-8 relative error)."""


SHARED = "shared"
"""An element-wise op with this attribute (a reason) is put in the residual stream by an
MLP of its own: `rasp-allocate-layers` sets it where MLPs that fuse it would otherwise
each recompute it (or one MLP's table would multiply), and its own MLP costs no block
(`shared_subexpressions`)."""

PRECISION_SPLIT = "precision_split"
"""An element-wise op with this attribute (a reason) is computed from its direct operands:
`rasp-to-transformer` sets it where float32 rounding in the fused MLP reached a reader."""


@dataclass(frozen=True)
class Leaf:
    """An input of a fused MLP: an s-op in the residual stream, or the scratch dimension
    of a selector_width head (then `raw` values are BOS's share b/(b+w), decoding to w;
    b is `width_bos_weight`)."""

    value: SSAValue
    scratch: bool = False

    def raw_values(self) -> list[Value]:
        values = _values(self.value)
        if self.scratch:
            weighted = weighted_count(self.value.owner)  # type: ignore[arg-type]
            if weighted is not None:  # several shares per width: one per sum of weights
                return [share for share, _ in weighted.shares()]
            b = width_bos_weight(self.value.owner)  # type: ignore[arg-type]
            return [width_share(int(w), b) for w in values]
        return values

    def decode(self, raw: Value) -> Value:
        if not self.scratch:
            return raw
        weighted = weighted_count(self.value.owner)  # type: ignore[arg-type]
        if weighted is not None:
            return weighted.decode(float(raw))
        return width_from_share(float(raw), width_bos_weight(self.value.owner))  # type: ignore[arg-type]

    @property
    def numerical(self) -> bool:
        if self.scratch:
            return True
        assert isinstance(self.value.type, SOpType)
        return self.value.type.is_numerical


def width_bos_weight(op: Operation) -> float:
    """How many selected keys the BOS key of a selector_width (or length) head weighs as.
    A width that MLPs read as a one-hot (categorical) gets b = max_seq_len: its share
    b/(b+w) then lies in [1/2, 1] with gaps of about 1/(4n), where b = 1 gives 1/(w+1) in
    [1/(n+1), 1] with gaps 1/((n+1)(n+2)); steps telling the values apart are n/4 times
    coarser, and float32 keeps them that much more exactly. A width from which numbers
    are computed keeps b = 1: steps that write numbers (up to n, or products of widths)
    round in proportion to them, which b = n does not shrink enough to pay for the
    softmax's rounding of 1/b (measured: 1.2e-4 against 6e-5 on a numerical width at 64)."""
    weighted = weighted_count(op)
    if weighted is not None:
        return weighted.bos_weight
    result = op.results[0]
    if _feeds_numbers(result):
        return 1.0
    program = op.parent_op()
    max_seq_len = getattr(program, "max_seq_len", None)
    return float(max(1, int(max_seq_len.data))) if max_seq_len is not None else 1.0


def _feeds_numbers(value: SSAValue) -> bool:
    """Whether `value` is numerical, or an element-wise op computes a numerical s-op from
    it (directly or through other element-wise ops)."""
    seen: set[SSAValue] = set()
    todo = [value]
    while todo:
        v = todo.pop()
        if v in seen:
            continue
        seen.add(v)
        if isinstance(v.type, SOpType) and v.type.is_numerical:
            return True
        for use in v.uses:
            if isinstance(use.operation, ELEMENTWISE):
                todo.extend(use.operation.results)
    return False


def _values(value: SSAValue) -> list[Value]:
    values = known_values(value)
    if values is None:
        raise RaspCompileError("fusion needs value sets: run rasp-infer-values first")
    return list(values.data)


def is_elementwise(op: Operation) -> bool:
    return isinstance(op, ELEMENTWISE)


def operand_leaves(value: SSAValue, materialized: set[SSAValue], embedded: set[SSAValue]) -> list[Leaf]:
    """The leaves `value` contributes to a fused function: itself when it is in the residual
    stream, its head's scratch dimension for a selector_width, and for an element-wise op
    not in the stream, the leaves of its operands."""
    owner = value.owner
    if value in materialized or value in embedded:
        return [Leaf(value)]
    if isinstance(owner, WIDTH):
        return [Leaf(value, scratch=True)]
    if isinstance(owner, ELEMENTWISE):
        found: dict[Leaf, None] = {}
        for operand in owner.operands:
            found.update(dict.fromkeys(operand_leaves(operand, materialized, embedded)))
        return list(found)
    return [Leaf(value)]  # an aggregate, or an embedded primitive


def cone_leaves(root: Operation, materialized: set[SSAValue], embedded: set[SSAValue]) -> list[Leaf]:
    """The leaves of the function computing `root`'s result, expanding through every
    element-wise operand that is not itself in the residual stream."""
    if isinstance(root, WIDTH):
        return [Leaf(root.results[0], scratch=True)]
    found: dict[Leaf, None] = {}
    for operand in root.operands:
        found.update(dict.fromkeys(operand_leaves(operand, materialized, embedded)))
    return list(found)


def choose_leaves(
    root: Operation, materialized: set[SSAValue], embedded: set[SSAValue], max_hidden: int
) -> tuple[list[Leaf], str | None]:
    """The leaves to compute `root` from: its whole element-wise cone when one MLP can do
    that; else the cone with some operands computed first (fewest, most numerical first);
    else its direct operands. Also the reason the whole cone did not fit, if it did not."""
    forced = root.attributes.get(PRECISION_SPLIT)
    if isinstance(forced, StringAttr) and isinstance(root, ELEMENTWISE):
        return _split_leaves(root), forced.data
    leaves = cone_leaves(root, materialized, embedded)
    reason = representable(root, leaves, max_hidden)
    if reason is None or not isinstance(root, ELEMENTWISE):
        return leaves, reason
    operands = list(dict.fromkeys(root.operands))
    per_operand = {v: operand_leaves(v, materialized, embedded) for v in operands}
    order = sorted(operands, key=lambda v: -sum(leaf.numerical for leaf in per_operand[v]))
    kept_whole: set[SSAValue] = set()
    for v in order:
        kept_whole.add(v)
        found: dict[Leaf, None] = {}
        for u in operands:
            found.update(dict.fromkeys([Leaf(u)] if u in kept_whole else per_operand[u]))
        candidate = list(found)
        if representable(root, candidate, max_hidden) is None:
            return candidate, reason
    leaves = _split_leaves(root)
    still = representable(root, leaves, max_hidden)
    if still is not None and not isinstance(root, LinearSequenceMapOp):
        raise RaspCompileError(
            f"'{root.name}'{_named(root)} cannot be compiled to one exact MLP even from its direct "
            f"operands: {still}. Raise the limit with rasp-allocate-layers{{max_hidden=N}} "
            "(in a pipeline given to compile(..., pipeline=...)), lower max_seq_len, or shrink its inputs' value sets"
        )
    return leaves, reason


def _named(op: Operation) -> str:
    hint = op.results[0].name_hint if op.results else None
    return f" (%{hint})" if hint else ""


Evaluator = Callable[[dict[SSAValue, tuple]], tuple]


def evaluator(value: SSAValue, leaves: Collection[SSAValue]) -> Evaluator:
    """A function giving the `value_key` of `value` at a position where the leaves (by
    s-op) hold the value keys it is given: the element-wise ops between them, with their
    tables looked up once (outputs normalized to their s-op's kind)."""
    if value in leaves:
        return lambda env: env[value]
    assert isinstance(value.type, SOpType)
    kind = value.type.value_kind
    owner = value.owner
    if isinstance(owner, ConstantOp):
        constant = value_key(normalize_value(owner.value.data, kind))
        return lambda env: constant
    if isinstance(owner, MapOp | SequenceMapOp):
        table = keyed_table(owner)
        args = [evaluator(v, leaves) for v in owner.operands]
        if len(args) == 1:
            (fx,) = args
            return lambda env: table[(fx(env),)]
        fx, fy = args
        return lambda env: table[(fx(env), fy(env))]
    if isinstance(owner, LinearSequenceMapOp):
        linear = _entry_function(owner, kind)
        fx, fy = evaluator(owner.lhs, leaves), evaluator(owner.rhs, leaves)
        return lambda env: linear((fx(env), fy(env)))
    raise RaspCompileError(f"cannot evaluate {owner} inside a fused MLP")


def grid_table(root: Operation, leaves: Sequence[Leaf], points: Sequence[Sequence[Value]]) -> tuple[np.ndarray, list[Value]]:
    """root's value on every combination of the given raw values of its leaves (one
    axis per leaf), as ids into the returned list of distinct values: each op's table
    becomes an array indexed by its operands' value ids, gathered over the whole grid
    at once (what `LazyTable` does one combination at a time)."""
    shape = [len(p) for p in points]
    env: dict[SSAValue, tuple[np.ndarray, list[tuple]]] = {}
    for axis, (leaf, raws) in enumerate(zip(leaves, points)):
        keys = [value_key(leaf.decode(raw)) for raw in raws]
        ids = np.arange(len(keys)).reshape([len(keys) if a == axis else 1 for a in range(len(shape))])
        env[leaf.value] = (ids, keys)
    ids, keys = _grid_value(root.results[0], env, len(shape))
    return np.ascontiguousarray(np.broadcast_to(ids, shape)), [key[1] for key in keys]


def _grid_value(
    value: SSAValue, env: dict[SSAValue, tuple[np.ndarray, list[tuple]]], ndim: int
) -> tuple[np.ndarray, list[tuple]]:
    """(ids over the grid, the value keys they index) for one s-op of a fused function."""
    if value in env:
        return env[value]
    assert isinstance(value.type, SOpType)
    kind = value.type.value_kind
    owner = value.owner
    if isinstance(owner, ConstantOp):
        found = (np.zeros([1] * ndim, dtype=np.int64), [value_key(normalize_value(owner.value.data, kind))])
    elif isinstance(owner, MapOp | SequenceMapOp | LinearSequenceMapOp):
        operands = [_grid_value(v, env, ndim) for v in owner.operands]
        lut, keys = _lookup_array(owner, kind, [operand_keys for _, operand_keys in operands])
        found = (_gathered(owner, lut, tuple(ids for ids, _ in operands)), keys)
    else:
        raise RaspCompileError(f"cannot evaluate {owner} inside a fused MLP")
    env[value] = found
    return found


def _lookup_array(owner: Operation, kind: ValueKind, operand_keys: Sequence[list[tuple]]) -> tuple[np.ndarray, list[tuple]]:
    """An element-wise op's table as an array indexed by its operands' value ids (-1
    where it has no entry), and the value keys of the outputs it holds."""
    compute = _entry_function(owner, kind)
    outputs: dict[tuple, int] = {}
    lut = np.full([len(keys) for keys in operand_keys], -1, dtype=np.int64)
    for args in product(*(range(len(keys)) for keys in operand_keys)):
        out = compute(tuple(keys[i] for keys, i in zip(operand_keys, args)))
        if out is not None:
            lut[args] = outputs.setdefault(out, len(outputs))
    return lut, list(outputs)


def _gathered(owner: Operation, lut: np.ndarray, index: tuple[np.ndarray, ...]) -> np.ndarray:
    """`lut` at the operands' value ids: tables cover their inputs' value sets, so a
    missing entry is a bug."""
    ids = lut[index]
    if (ids < 0).any():
        raise RaspCompileError(f"internal error: fusing into '{owner.name}'{_named(owner)}, a table lacks an entry")
    return ids


class GridTooLarge(Exception):
    """An op's values would take more entries than allowed (`_factor_value`)."""


Factor = tuple[tuple[int, ...], np.ndarray, list[tuple]]
"""An s-op of a fused function over the leaves it depends on: (those leaves' axes,
sorted; ids over them, one array axis each; the value keys the ids index)."""


def _factor_value(value: SSAValue, env: dict[SSAValue, Factor], limit: int) -> Factor:
    """`_grid_value` over only the leaves each s-op depends on: an array drops every axis
    it is constant along, so a function of many leaves that, with some fixed, depends on
    few stays small. GridTooLarge where an op would take more than `limit` entries."""
    if value in env:
        return env[value]
    assert isinstance(value.type, SOpType)
    kind = value.type.value_kind
    owner = value.owner
    if isinstance(owner, ConstantOp):
        found: Factor = ((), np.zeros((), dtype=np.int64), [value_key(normalize_value(owner.value.data, kind))])
    elif isinstance(owner, MapOp | SequenceMapOp | LinearSequenceMapOp):
        operands = [_factor_value(v, env, limit) for v in owner.operands]
        size = {a: n for axes, ids, _ in operands for a, n in zip(axes, ids.shape)}
        axes = tuple(sorted(size))
        if math.prod(size.values()) > limit:
            raise GridTooLarge
        lut, keys = _lookup_array(owner, kind, [operand_keys for _, _, operand_keys in operands])
        index = tuple(ids.reshape([size[a] if a in own else 1 for a in axes]) for own, ids, _ in operands)
        ids = np.broadcast_to(_gathered(owner, lut, index), [size[a] for a in axes])
        kept = [p for p in range(len(axes)) if not (ids == ids.take([0], axis=p)).all()]
        ids = ids[tuple(slice(None) if p in kept else 0 for p in range(len(axes)))]
        found = (tuple(axes[p] for p in kept), np.ascontiguousarray(ids), keys)
    else:
        raise RaspCompileError(f"cannot evaluate {owner} inside a fused MLP")
    env[value] = found
    return found


def _entry_function(op: Operation, kind: ValueKind) -> Callable[[tuple], tuple | None]:
    """The value key an element-wise op computes from its operands' value keys (None
    where its table has no entry)."""
    if isinstance(op, LinearSequenceMapOp):
        a, b = op.coefficients
        if kind == ValueKind.INT:
            return lambda args: value_key(int(round(a * float(args[0][1]) + b * float(args[1][1]))))
        return lambda args: value_key(normalize_value(a * float(args[0][1]) + b * float(args[1][1]), kind))
    assert isinstance(op, MapOp | SequenceMapOp)
    return keyed_table(op).get


_KEYED: WeakKeyDictionary[Operation, dict[tuple, tuple]] = WeakKeyDictionary()


def keyed_table(op: MapOp | SequenceMapOp) -> dict[tuple, tuple]:
    """op's table from operand value keys to the value key of its output (normalized to
    its s-op's kind), built once per op."""
    found = _KEYED.get(op)
    if found is None:
        kind = op.results[0].type.value_kind  # type: ignore[attr-defined]
        found = {args: value_key(normalize_value(out, kind)) for args, out in op.table.as_dict().items()}
        _KEYED[op] = found
    return found


class LazyTable(Mapping[tuple, Value]):
    """root's value for every combination of its leaves' raw values (keyed by value_key),
    each computed when first looked up: codes fitted to the values reachable behind each
    gate need only a fraction of the product of the leaves' value sets."""

    def __init__(self, root: Operation, leaves: Sequence[Leaf]):
        self._root = root
        self._leaves = list(leaves)
        self._raws = [leaf.raw_values() for leaf in leaves]
        # Each raw value decoded once (a width's decoding looks up its BOS weight).
        self._decoded = [
            {value_key(v): value_key(leaf.decode(v)) for v in raws} for leaf, raws in zip(leaves, self._raws)
        ]
        result = root.results[0]
        self._compute = evaluator(
            result, {leaf.value for leaf in leaves} | ({result} if isinstance(root, WIDTH) else set())
        )
        self._cache: dict[tuple, Value] = {}

    def __getitem__(self, key: tuple) -> Value:
        found = self._cache.get(key)
        if found is not None or key in self._cache:
            return found  # type: ignore[return-value]
        decoded = {leaf.value: by_key[k] for leaf, by_key, k in zip(self._leaves, self._decoded, key)}
        try:
            out = self._compute(decoded)[1]
        except KeyError as err:  # tables cover their inputs' value sets: this is a bug
            raise RaspCompileError(
                f"internal error: fusing into '{self._root.name}'{_named(self._root)}, a table has no entry for {err}"
            ) from err
        self._cache[key] = out
        return out

    def __iter__(self) -> Iterator[tuple]:
        for raws in product(*self._raws):
            yield tuple(value_key(r) for r in raws)

    def __len__(self) -> int:
        return math.prod(len(raws) for raws in self._raws)


def leaves_key(leaves: Sequence[Leaf]) -> tuple:
    """The leaves with their values (as value keys): what the per-root caches of tables,
    codes and covers are keyed by (a leaf's value set may change between passes)."""
    return tuple((leaf, tuple(value_key(v) for v in leaf.raw_values())) for leaf in leaves)


_TABLES: WeakKeyDictionary[Operation, dict[tuple, LazyTable]] = WeakKeyDictionary()
"""Tables already built, per root op and (leaves, their values): fusion planning, the
precision checks and the lowering all need the same ones."""


def tabulate(root: Operation, leaves: Sequence[Leaf]) -> LazyTable:
    """root's value for every combination of its leaves' raw values (keyed by value_key)."""
    key = leaves_key(leaves)
    cached = _TABLES.setdefault(root, {})
    if key not in cached:
        cached[key] = LazyTable(root, leaves)
    return cached[key]


COVER_LIMIT = 1 << 18
"""Largest table (combinations of categorical values, two per threshold leaf)
partitioned into cubes (`lookup_cover`); past it an MLP is sized by its combinations."""

THRESHOLD_NOISE = 1.0 / 64.0
"""Most noise a threshold leaf may carry, as a fraction of the gap between its extreme
value and the nearest other: a flat-topped gate stays flat to a quarter of a gap, and
this leaves the rest to the other leaves it reads."""


@dataclass(frozen=True)
class Threshold:
    """A numerical leaf the fused function reads only as "at its extreme value or not":
    what its maps and sequence_maps see of it (`_reading`) is the same on all its values
    but `extreme` (the smallest or the largest; `other` is the nearest other value, `gap`
    the distance to it). A gate can test "at the extreme" linearly, 1 - |x - extreme| /
    gap, which is 1 there and at most 0 at every other value; "not at it" is the
    difference of two such gates (`to_transformer.Lowering.cube_terms`). In a cube cover
    such a leaf has two classes: the extreme, and the rest."""

    extreme: float
    other: Value

    @property
    def gap(self) -> float:
        return abs(float(self.other) - self.extreme)


@dataclass(frozen=True)
class LookupCover:
    """A lookup MLP's gates as disjoint cubes (`lookup_cubes.cover`): `outputs[c.output]`
    is what cube c's units write; `default` (an output id, or None) is written by a unit
    that is always on, so the cubes that hold it need no unit of their own (only where
    every leaf is categorical: `thresholds[i]` says how leaf i is read, None for a
    one-hot, and gates over a threshold are flat-topped, two units each). A cube's
    sets index `classes`."""

    cubes: tuple[Cube, ...]
    outputs: tuple[Value, ...]
    default: int | None
    thresholds: tuple[Threshold | None, ...]
    classes: tuple[tuple[tuple[int, ...], ...], ...]
    """Per leaf, its values (indices into its raw values) that the function cannot tell
    apart: the cover's axis for that leaf has one entry per class (for a threshold
    leaf, the extreme and the rest)."""

    @property
    def flat(self) -> bool:
        return any(t is not None for t in self.thresholds)

    def terms(self, cube: Cube) -> int:
        """Gates a cube takes: "not at the extreme" of k threshold leaves is 2^k gates."""
        away = sum(1 for t, s in zip(self.thresholds, cube.sets) if t is not None and s == (1,))
        return 1 << away

    @property
    def units(self) -> int:
        """Hidden units: one per cube that does not hold the default, plus the default's;
        with threshold leaves, two per gate of every cube."""
        if self.flat:
            return 2 * sum(self.terms(cube) for cube in self.cubes)
        return sum(1 for cube in self.cubes if cube.output != self.default) + (self.default is not None)


_COVERS: WeakKeyDictionary[Operation, dict[tuple, LookupCover | None]] = WeakKeyDictionary()


def lookup_cover(root: Operation, leaves: Sequence[Leaf]) -> LookupCover | None:
    """root's table over its leaves as disjoint cubes, or None when a numerical leaf is
    not a `Threshold` or the table has more than COVER_LIMIT combinations."""
    key = leaves_key(leaves)
    cached = _COVERS.setdefault(root, {})
    if key not in cached:
        cached[key] = _lookup_cover(root, leaves)
    return cached[key]


def _lookup_cover(root: Operation, leaves: Sequence[Leaf]) -> LookupCover | None:
    leaf_values = {leaf.value for leaf in leaves}
    thresholds: list[Threshold | None] = []
    classes: list[tuple[tuple[int, ...], ...]] = []
    for leaf in leaves:
        raws = leaf.raw_values()
        found = threshold(root, leaf, leaves) if leaf.numerical else None
        if leaf.numerical:
            if found is None:
                return None
            at = next(i for i, raw in enumerate(raws) if float(raw) == found.extreme)
            classes.append(((at,), tuple(i for i in range(len(raws)) if i != at)))
        else:
            classes.append(_value_classes(root, leaf, leaf_values))
        thresholds.append(found)
    points = [[leaf.raw_values()[members[0]] for members in of_leaf] for leaf, of_leaf in zip(leaves, classes)]
    if math.prod(len(p) for p in points) <= COVER_LIMIT:
        grid, outputs = grid_table(root, leaves, points)
        cubes = cover(grid)
    elif (found := _split_cover(root, leaves, points)) is not None:
        cubes, outputs = found
    else:
        return None
    flat = any(t is not None for t in thresholds)
    default = None if flat else default_output(cubes)
    return LookupCover(tuple(cubes), tuple(outputs), default, tuple(thresholds), tuple(classes))


SPLIT_COVER_CUBES = 1 << 14
"""Most cubes `_split_cover` builds before it gives up (each is at least one unit)."""


def _split_cover(
    root: Operation, leaves: Sequence[Leaf], points: Sequence[Sequence[Value]]
) -> tuple[list[Cube], list[Value]] | None:
    """Disjoint cubes for a table too large to tabulate (more than COVER_LIMIT
    combinations of `points`, one value per class): fix the leaf that most ops read to
    each of its classes in turn and evaluate what the function is then, keeping only the
    leaves it still depends on (`_factor_value`); cover that, or fix another
    leaf. A function in which a few leaves choose among many others has a small cover
    though its table is huge (rover's `posres`: per query token, one of some 30 booleans).
    None past SPLIT_COVER_CUBES cubes."""
    leaf_values = {leaf.value for leaf in leaves}
    readers = [len(_readers(root, leaf.value, leaf_values)) for leaf in leaves]
    outputs: dict[tuple, int] = {}
    cubes: list[Cube] = []

    def visit(fixed: dict[int, int]) -> bool:
        env: dict[SSAValue, Factor] = {}
        for axis, (leaf, raws) in enumerate(zip(leaves, points)):
            if axis in fixed:
                env[leaf.value] = ((), np.zeros((), dtype=np.int64), [value_key(leaf.decode(raws[fixed[axis]]))])
            else:
                env[leaf.value] = ((axis,), np.arange(len(raws)), [value_key(leaf.decode(raw)) for raw in raws])
        try:
            axes, ids, keys = _factor_value(root.results[0], env, COVER_LIMIT)
        except GridTooLarge:
            free = [i for i in range(len(leaves)) if i not in fixed and len(points[i]) > 1]
            if not free:
                return False
            j = max(free, key=lambda i: (readers[i], -len(points[i])))
            return all(visit({**fixed, j: c}) for c in range(len(points[j])))
        remap = np.array([outputs.setdefault(key, len(outputs)) for key in keys], dtype=np.int64)
        for cube in cover(remap[ids]):
            sets: list[tuple[int, ...] | None] = [None] * len(leaves)  # any value where it does not matter
            for i, c in fixed.items():
                sets[i] = (c,)
            for axis, s in zip(axes, cube.sets):
                sets[axis] = s
            cubes.append(Cube(tuple(sets), cube.output))
        return len(cubes) <= SPLIT_COVER_CUBES

    if not visit({}):
        return None
    sizes = [len(p) for p in points]
    return _merged(cubes, sizes), [key[1] for key in outputs]


def _merged(cubes: list[Cube], sizes: Sequence[int]) -> list[Cube]:
    """Cubes that differ only in one leaf's set and write the same output, as one cube
    over the union of those sets (still a partition): fixing a leaf splits every branch
    by it, also where the function then does not depend on it."""
    changed = True
    while changed:
        changed = False
        for j in range(len(sizes)):
            groups: dict[tuple, list[Cube]] = {}
            for cube in cubes:
                groups.setdefault((cube.sets[:j] + cube.sets[j + 1 :], cube.output), []).append(cube)
            if all(len(group) == 1 for group in groups.values()):
                continue
            changed = True
            cubes = []
            for group in groups.values():
                if len(group) == 1:
                    cubes.append(group[0])
                    continue
                union = sorted(c for cube in group for c in (cube.sets[j] or range(sizes[j])))
                sets = list(group[0].sets)
                sets[j] = None if len(union) == sizes[j] else tuple(union)
                cubes.append(Cube(tuple(sets), group[0].output))
    return cubes


def _value_classes(root: Operation, leaf: Leaf, leaf_values: set[SSAValue]) -> tuple[tuple[int, ...], ...]:
    """A categorical leaf's values (indices into its raw values) grouped by what the
    function computing root sees of them (`_reading`): values in one class are
    interchangeable, so the cover tabulates one of each. One class per value where
    an op other than a map or sequence_map reads the leaf."""
    raws = leaf.raw_values()
    reads = _reading(root, leaf.value, leaf_values)
    if reads is None:
        return tuple((i,) for i in range(len(raws)))
    groups: dict[tuple, list[int]] = {}
    for i, raw in enumerate(raws):
        groups.setdefault(reads(value_key(raw)), []).append(i)
    return tuple(tuple(members) for members in groups.values())


def threshold(root: Operation, leaf: Leaf, leaves: Sequence[Leaf]) -> Threshold | None:
    """How the function computing root reads a numerical leaf, when only as "at the
    extreme or not" (`Threshold`) and its noise is within THRESHOLD_NOISE of the gap."""
    raws = leaf.raw_values()
    if len(raws) < 2 or (leaf.scratch and leaf.value is root.results[0]):
        return None
    leaf_values = {other.value for other in leaves}
    reads = _reading(root, leaf.value, leaf_values)
    if reads is None:
        return None
    ordered = sorted(raws, key=float)
    # (extreme, the others, the nearest other): the smallest value, else the largest
    for extreme, rest, other in ((ordered[0], ordered[1:], ordered[1]), (ordered[-1], ordered[:-1], ordered[-2])):
        if len({reads(value_key(leaf.decode(raw))) for raw in rest}) == 1:
            found = Threshold(float(extreme), other)
            return found if leaf_noise(leaf) <= THRESHOLD_NOISE * found.gap else None
    return None


def _reading(root: Operation, target: SSAValue, leaf_values: set[SSAValue]) -> Callable[[tuple], tuple] | None:
    """What the function computing root sees of `target` holding a value (by value key):
    through maps, the value they compute; at a sequence_map, its table sliced at that
    value (all it may then compute). None where another op reads it."""
    parts: list[Callable[[tuple], object]] = []
    for op in _readers(root, target, leaf_values):
        if isinstance(op, MapOp):
            table = keyed_table(op)
            after = _reading(root, op.results[0], leaf_values) if op is not root else (lambda key: key)
            if after is None:
                return None
            parts.append(lambda key, table=table, after=after: after(table.get((key,))))
        elif isinstance(op, SequenceMapOp):
            at = tuple(i for i, operand in enumerate(op.operands) if operand == target)
            parts.append(_slices(op, at).get)
        else:
            return None
    return lambda key: tuple(part(key) for part in parts)


_SLICES: WeakKeyDictionary[Operation, dict[tuple[int, ...], dict[tuple, frozenset]]] = WeakKeyDictionary()


def _slices(op: SequenceMapOp, at: tuple[int, ...]) -> dict[tuple, frozenset]:
    """op's table sliced at each value of the operand(s) at positions `at`: the (other
    operand, output) pairs it holds there (value keys)."""
    per_op = _SLICES.setdefault(op, {})
    if at not in per_op:
        by_value: dict[tuple, set] = {}
        for args, out in keyed_table(op).items():
            if all(args[i] == args[at[0]] for i in at):
                rest = tuple(a for i, a in enumerate(args) if i not in at)
                by_value.setdefault(args[at[0]], set()).add((rest, out))
        per_op[at] = {key: frozenset(pairs) for key, pairs in by_value.items()}
    return per_op[at]


def _readers(root: Operation, target: SSAValue, leaf_values: set[SSAValue]) -> list[Operation]:
    """The element-wise ops of the function computing root (down to its leaves) that
    read `target` directly."""
    found: dict[Operation, None] = {}
    seen: set[Operation] = set()
    todo = [root]
    while todo:
        op = todo.pop()
        if op in seen:
            continue
        seen.add(op)
        if target in op.operands:
            found[op] = None
        for operand in op.operands:
            if operand not in leaf_values and isinstance(operand.owner, ELEMENTWISE):
                todo.append(operand.owner)
    return list(found)


def _levels(leaf: Leaf) -> tuple[list[float], float]:
    """A leaf's distinct raw values, sorted, and the smallest gap between two (1 for one value)."""
    return _levels_of(leaf.raw_values())


def _levels_of(values: Sequence[Value]) -> tuple[list[float], float]:
    xs = sorted({float(v) for v in values})
    gap = min_gap(xs)
    return xs, gap if gap != math.inf else 1.0


def leaf_noise(leaf: Leaf) -> float:
    """The largest error the residual stream may hold on a leaf (absolute): for a
    selector_width's scratch dimension the leak `weights.width_scale` allows plus float32
    rounding of the softmax; for a mean the most `weights.aggregate_scale` allows; for a
    value an MLP computed its float32 rounding with room to spare; for embedded values
    (exact table entries) float32 rounding."""
    xs, step = _levels(leaf)
    if leaf.scratch:
        owner = leaf.value.owner
        assert isinstance(owner, Operation)
        weighted = weighted_count(owner)
        if weighted is not None:
            return WIDTH_LEAK + weighted.noise
        if width_bos_weight(owner) == 1.0:
            return WIDTH_LEAK + 2.0 * FLOAT32_EPS  # the softmax sums ones: exact
        # BOS weighs b keys: float32 keeps its weight e^(ln b) to a few ulps, and the
        # softmax's sum of up to n weights 1/b each to about sqrt(n) ulps (independent
        # roundings; test_long_sequences checks every width up to 512).
        n = len(xs) - 1
        return WIDTH_LEAK + (8.0 + 4.0 * math.sqrt(max(n, 1))) * FLOAT32_EPS
    bound = max(1.0, *(abs(x) for x in xs))
    owner = leaf.value.owner
    if isinstance(owner, AggregateOp):
        # aggregate_scale keeps unselected keys' weight within NOISE * bound (at most an
        # eighth of the gap). Scores from one-hots an MLP computed with steps carry float32
        # rounding, which rasp-to-transformer bounds only by the tolerance: then assume the
        # eighth of the gap.
        if _exact_scores(owner.selector):
            return min(NOISE * bound, step / 8.0) + 2.0 * FLOAT32_EPS * bound
        return step / 8.0
    if isinstance(owner, ELEMENTWISE):
        return 1e-5 * bound
    return FLOAT32_EPS * bound


def _exact_scores(selector: SSAValue) -> bool:
    """Whether every s-op a selector compares is an exact one-hot in the residual stream."""
    owner = selector.owner
    if isinstance(owner, SelectOp | SelectTableOp):
        return _exact_onehot(owner.keys) and _exact_onehot(owner.queries)
    return all(_exact_scores(v) for v in owner.operands)  # and / or / not


def _exact_onehot(value: SSAValue) -> bool:
    """Whether a categorical s-op's one-hot is exact: the embedding's, a lookup's (an MLP
    of categorical inputs only), or a copy of one. Steps over numerical inputs are not."""
    owner = value.owner
    if not isinstance(value.type, SOpType) or value.type.is_numerical:
        return False
    if isinstance(owner, TokensOp | IndicesOp | ConstantOp):
        return True
    if isinstance(owner, ELEMENTWISE):
        return all(_exact_onehot(v) for v in owner.operands)
    if isinstance(owner, AggregateOp):
        return _exact_onehot(owner.input)
    return False


def numeric_code(leaves: Sequence[Leaf]) -> tuple[list[float], float, float]:
    """Coefficients s for the numerical leaves (in their order) such that z = sum(s_j x_j)
    takes a different value on every combination of their values (mixed radix: a one-step
    change of a leaf outweighs every change of the leaves before it). Returns (s, the
    smallest gap between two z values, the span of z); one MLP then computes any function
    of these leaves as exact steps along z.

    Each leaf's noise reaches z times its coefficient, and later leaves get large ones: so
    the leaves noisiest relative to their own gaps come first (`code_noise` says whether
    the noise stays inside the steps' margins)."""
    return _mixed_radix([_levels(leaf) for leaf in leaves], [leaf_noise(leaf) for leaf in leaves])


def _mixed_radix(levels: Sequence[tuple[list[float], float]], noises: Sequence[float]) -> tuple[list[float], float, float]:
    """`numeric_code` over given (sorted values, smallest gap) per leaf and their noise."""
    coeffs = [0.0] * len(levels)
    span, gap = 0.0, math.inf
    for i in sorted(range(len(levels)), key=lambda i: -noises[i] / levels[i][1]):
        xs, step = levels[i]
        if len(xs) < 2:
            continue
        scale = 1.0 if gap == math.inf else (span + gap) / step
        coeffs[i] = scale
        gap = min(gap, scale * step)
        span += scale * (xs[-1] - xs[0])
    return coeffs, gap, span


def code_noise(leaves: Sequence[Leaf], coeffs: Sequence[float]) -> float:
    """The largest error of z = sum(s_j x_j) from the leaves' noise."""
    return sum(abs(c) * leaf_noise(leaf) for leaf, c in zip(leaves, coeffs))


# --------------------------------------------------------------------------- #
# Joint codes fitted to the function and to the values reachable behind each gate
# --------------------------------------------------------------------------- #

JOINT_CODE_LIMIT = 200_000
"""Most combinations of the leaves' values that can occur (`reachable_values`) for which
fusion fits joint codes to the function (`joint_codes`); past it, planning assumes the
mixed-radix code over every combination (`numeric_code`)."""

PREFIX_SUMS_LIMIT = 5_000
"""Most distinct sums `prefix_mean_values` enumerates before it gives up restricting."""


def prefix_mean_values(leaf: Leaf, position: int) -> list[Value] | None:
    """The raw values a numerical leaf can take at query position `position`, when that
    is fewer than its value set says: a mean over `select(indices, indices, <=)` averages
    exactly position+1 values (over `<`, position values; none at 0, the default), so
    at position i it is a sum of i+1 input values over i+1. None when not known."""
    owner = leaf.value.owner
    if leaf.scratch or not leaf.numerical or not isinstance(owner, AggregateOp):
        return None
    select = owner.selector.owner
    if not (
        isinstance(select, SelectOp)
        and isinstance(select.keys.owner, IndicesOp)
        and isinstance(select.queries.owner, IndicesOp)
        and select.predicate.data in (Predicate.LEQ, Predicate.LT)
    ):
        return None
    count = position + 1 if select.predicate.data == Predicate.LEQ else position
    inputs = _values(owner.input)
    if not all(isinstance(v, int | float) for v in inputs):  # bools are ints
        return None
    if count == 0:
        means = [float(owner.default_value)] if isinstance(owner.default_value, int | float) else []
    else:
        sums = {0.0}
        for _ in range(count):
            sums = {round(a + float(v), 9) for a in sums for v in inputs}
            if len(sums) > PREFIX_SUMS_LIMIT:
                return None
        means = [a / count for a in sums]
    if not means:
        return None
    targets = sorted(means)
    kept = []
    for raw in leaf.raw_values():
        x = float(raw)
        k = bisect.bisect_left(targets, x - 1e-9 * max(1.0, abs(x)))
        if k < len(targets) and abs(targets[k] - x) <= 1e-9 * max(1.0, abs(x)):
            kept.append(raw)
    return kept or None


def reachable_values(
    leaves: Sequence[Leaf], combo: dict[int, Value], memo: dict | None = None
) -> list[list[Value]]:
    """Per numerical leaf (in order), the raw values it can take where the categorical
    leaves hold `combo` (leaf index -> raw value): its whole value set, or fewer when a
    categorical `indices` leaf fixes the query position (`prefix_mean_values`). `memo`
    keeps them per (leaf, position) across calls."""
    position = next(
        (int(v) for i, v in combo.items() if isinstance(leaves[i].value.owner, IndicesOp)), None
    )
    memo = {} if memo is None else memo
    allowed = []
    for leaf in leaves:
        key = (leaf, position)
        if key not in memo:  # None for a categorical leaf
            values = prefix_mean_values(leaf, position) if position is not None and leaf.numerical else None
            memo[key] = values if values is not None else leaf.raw_values() if leaf.numerical else None
        if memo[key] is not None:
            allowed.append(memo[key])
    return allowed


@dataclass(frozen=True)
class GateCode:
    """How one gate of an MLP (one combination of its categorical leaves) reads the
    numerical leaves: z = sum(coeffs[j] x_j), over the combinations of their values that
    can occur there (`points`, sorted by z). Steps sit only where the output changes
    between neighbours, so `gap`, the smallest such z gap, sets how fine they are."""

    combo: tuple[Value, ...]
    coeffs: tuple[float, ...]
    points: tuple[tuple[float, tuple[Value, ...]], ...]
    gap: float
    span: float
    changes: int
    noise: float
    """The largest error of z from the leaves' noise (`code_noise`)."""


_CODES: WeakKeyDictionary[Operation, dict[tuple, list[GateCode] | None]] = WeakKeyDictionary()

# Slopes tried between two numerical leaves (in units of their smallest gaps), besides
# the mixed radix: a function of two numbers often changes only along some direction
# (a difference, a sum) that a code along it separates with coarse steps.
_TRIED_SLOPES = [s * t for t in np.geomspace(1 / 1024, 1024, 81) for s in (1.0, -1.0)]


def joint_codes(
    root: Operation, leaves: Sequence[Leaf], limit: int | None = JOINT_CODE_LIMIT
) -> list[GateCode] | None:
    """One `GateCode` per combination of the categorical leaves, each fitted to root's
    function behind that gate, or None when no leaf is numerical or the combinations
    that can occur number more than `limit` (then see `numeric_code`)."""
    numerical = [i for i, leaf in enumerate(leaves) if leaf.numerical]
    if not numerical:
        return None
    memo: dict = {}  # reachable_values per (leaf, position), for the check and the codes
    if limit is not None and math.prod(len(leaf.raw_values()) for leaf in leaves) > limit:
        categorical = [i for i, leaf in enumerate(leaves) if not leaf.numerical]
        combos = math.prod(len(leaves[i].raw_values()) for i in categorical)
        if combos > limit:
            return None
        # What is reachable depends on the categorical leaves only through the query
        # position (an `indices` leaf): count per position, times the other combinations.
        position = next((i for i in categorical if isinstance(leaves[i].value.owner, IndicesOp)), None)
        positions = leaves[position].raw_values() if position is not None else [None]
        reachable = combos // len(positions) * sum(
            math.prod(len(values) for values in reachable_values(leaves, {} if p is None else {position: p}, memo))
            for p in positions
        )
        if reachable > limit:
            return None
    key = leaves_key(leaves)
    cached = _CODES.setdefault(root, {})
    if key not in cached:
        cached[key] = _joint_codes(root, leaves, numerical, memo)
    return cached[key]


def _joint_codes(root: Operation, leaves: Sequence[Leaf], numerical: list[int], memo: dict) -> list[GateCode]:
    table = tabulate(root, leaves)
    categorical = [i for i, leaf in enumerate(leaves) if not leaf.numerical]
    noises = np.array([leaf_noise(leaves[i]) for i in numerical])
    codes = []
    for combo in product(*(leaves[i].raw_values() for i in categorical)):
        allowed = reachable_values(leaves, dict(zip(categorical, combo)), memo)
        grid = list(product(*allowed))
        key: list = [None] * len(leaves)
        for i, v in zip(categorical, combo):
            key[i] = value_key(v)
        ids: dict = {}
        outputs = []
        for raws in grid:
            for i, v in zip(numerical, raws):
                key[i] = value_key(v)
            outputs.append(ids.setdefault(value_key(table[tuple(key)]), len(ids)))
        xs = np.array([[float(v) for v in raws] for raws in grid])
        out = np.array(outputs)
        levels = [_levels_of(values) for values in allowed]
        candidates = [np.array(_mixed_radix(levels, list(noises))[0])]
        if len(numerical) == 2:
            steps = [step for _, step in levels]
            candidates += [np.array([1.0 / steps[0], t / steps[1]]) for t in _TRIED_SLOPES]
        choice, gap, span, changes = _best_code(xs, out, np.stack(candidates, axis=1), noises)
        coeffs = candidates[choice]
        z = xs @ coeffs
        order = np.argsort(z, kind="stable")
        points = tuple((float(z[k]), grid[k]) for k in order)
        noise = float(np.abs(coeffs) @ noises)
        codes.append(GateCode(tuple(combo), tuple(float(c) for c in coeffs), points, gap, span, changes, noise))
    return codes


def _best_code(
    xs: np.ndarray, out: np.ndarray, candidates: np.ndarray, noises: np.ndarray
) -> tuple[int, float, float, int]:
    """The candidate code (a column of `candidates`; the first is the mixed radix) that
    tells points with different output ids `out` apart with room for the noise and steps
    coarse enough for float32, with the fewest levels (span / gap) and then the fewest
    steps; the mixed radix when none does (it tells every point apart). Returns (its
    index, the smallest z gap where the output changes, the span of z, the changes).
    All candidates at once: the codes' values z, sorted per column."""
    z = xs @ candidates
    order = np.argsort(z, axis=0, kind="stable")
    zs = np.take_along_axis(z, order, axis=0)
    os = out[order]
    span = zs[-1] - zs[0] if len(zs) else np.zeros(candidates.shape[1])
    changed = os[1:] != os[:-1]
    changes = changed.sum(axis=0)
    gap = np.where(changed, np.diff(zs, axis=0), np.inf).min(axis=0, initial=np.inf)
    noise = noises @ np.abs(candidates)
    with np.errstate(divide="ignore", invalid="ignore"):
        levels = np.where(changes > 0, span / gap, 0.0)
        fine = (gap <= 1e-9 * np.maximum(1.0, span)) | (noise > gap / 8.0) | (2.0 / gap * span + 2.0 > MAX_PRE_ACTIVATION)
    valid = (changes == 0) | ~fine
    ranked = np.lexsort((changes, levels))  # by levels, then steps
    k = int(next((k for k in ranked if valid[k]), 0))
    return k, float(gap[k]), float(span[k]), int(changes[k])


def code_keys(leaves: Sequence[Leaf], code: GateCode) -> list[tuple]:
    """The table keys of a gate's points, in z order."""
    numerical = [i for i, leaf in enumerate(leaves) if leaf.numerical]
    categorical = [i for i, leaf in enumerate(leaves) if not leaf.numerical]
    key: list = [None] * len(leaves)
    for i, v in zip(categorical, code.combo):
        key[i] = value_key(v)
    keys = []
    for _, raws in code.points:
        for i, v in zip(numerical, raws):
            key[i] = value_key(v)
        keys.append(tuple(key))
    return keys


SEPARABLE_CHECK_LIMIT = 50_000
"""Largest table the checks that walk a fused function's table point by point take
(`_too_fine_for_output`'s step estimate, unless the function is a sum of pieces)."""

SEPARABLE_GRID_LIMIT = 1 << 22
"""Most combinations of leaf values `additive_parts` evaluates (with numpy, per
categorical combination: a sum of functions of many head outputs has millions)."""


def additive_parts(root: Operation, leaves: Sequence[Leaf]):
    """When root is numerical and, for every combination of its categorical leaves, a sum
    f = g_1(x_1) + ... + g_k(x_k) of one function per numerical leaf (a linear map of two
    numbers is), those functions: {categorical combination (value keys): [[g_j at each raw
    value of leaf j] for each numerical leaf j]}. Else None.

    An MLP then computes each g_j from its own leaf, with steps as coarse as that leaf's
    values: a joint code over all the numerical leaves would need steps as fine as the gaps
    between all their combinations, which float32 loses first (and scratch-dimension noise,
    scaled by the code's large coefficients, can cross)."""
    key = leaves_key(leaves)
    cached = _ADDITIVE_PARTS.setdefault(root, {})
    if key not in cached:
        cached[key] = _uncached_additive_parts(root, leaves)
    return cached[key]


_ADDITIVE_PARTS: WeakKeyDictionary[Operation, dict[tuple, dict | None]] = WeakKeyDictionary()


def _uncached_additive_parts(root: Operation, leaves: Sequence[Leaf]) -> dict[tuple, list[list[float]]] | None:
    result = root.results[0]
    numerical = [i for i, leaf in enumerate(leaves) if leaf.numerical]
    if len(numerical) < 2 or not isinstance(result.type, SOpType) or not result.type.is_numerical:
        return None
    raws = [leaf.raw_values() for leaf in leaves]
    if math.prod(len(r) for r in raws) > SEPARABLE_GRID_LIMIT:
        return None
    categorical = [i for i, leaf in enumerate(leaves) if not leaf.numerical]
    parts: dict[tuple, list[list[float]]] = {}
    for combo in product(*(raws[i] for i in categorical)):
        points: list[Sequence[Value]] = list(raws)
        for i, v in zip(categorical, combo):
            points[i] = [v]
        # the function on every combination of the numerical leaves' values, one axis each
        ids, values = grid_table(root, leaves, points)
        grid = np.asarray([float(v) for v in values])[ids].reshape([len(raws[i]) for i in numerical])
        f0 = float(grid[(0,) * len(numerical)])
        gs = []
        total = np.full(grid.shape, f0)
        for j in range(len(numerical)):
            line = grid[tuple(slice(None) if a == j else 0 for a in range(len(numerical)))] - f0
            gs.append(line)
            total = total + line.reshape([-1 if a == j else 1 for a in range(len(numerical))])
        if float(np.abs(total - grid).max()) > 1e-9 * max(1.0, float(np.abs(grid).max())):
            return None
        gs[0] = gs[0] + f0
        parts[tuple(value_key(v) for v in combo)] = [[float(v) for v in g] for g in gs]
    return parts


def representable_units(leaves: Sequence[Leaf], separable: bool = False) -> int:
    """Most hidden units one MLP needs to compute a function of `leaves` exactly: a gate per
    combination of categorical values, and behind it two units per step in z plus one (per
    numerical leaf's own steps when the function is a sum of one function per leaf)."""
    combos = math.prod(len(leaf.raw_values()) for leaf in leaves if not leaf.numerical)
    sizes = [len(leaf.raw_values()) for leaf in leaves if leaf.numerical]
    if not sizes:
        return combos
    points = sum(sizes) if separable else math.prod(sizes)
    return combos * (2 * points + len(sizes) if separable else 2 * points + 1)


def code_units(codes: Sequence[GateCode]) -> int:
    """Most hidden units the MLP of these gate codes needs: per gate one for the first
    output, two per step."""
    return sum(1 + 2 * code.changes for code in codes)


def _codes_too_fine(codes: Sequence[GateCode], count: int) -> str | None:
    """`_too_fine` for codes fitted per gate: their steps, only where outputs change."""
    what = "its numerical input needs" if count == 1 else f"its {count} numerical inputs need"
    for code in codes:
        if not code.changes:
            continue
        if code.gap <= 0.0 or 2.0 / code.gap * code.span + 2.0 > MAX_PRE_ACTIVATION:
            return f"{what} steps too fine for float32 ({code.span / max(code.gap, 1e-300):.3g} distinct levels)"
        if code.noise > code.gap / 8.0:
            return f"{what} steps finer than the noise their inputs carry (a joint code of {code.span / code.gap:.3g} levels)"
    return None


def _too_fine(numerical: Sequence[Leaf]) -> str | None:
    coeffs, gap, span = numeric_code(numerical)
    if gap == math.inf:
        return None
    what = "its numerical input needs" if len(numerical) == 1 else f"its {len(numerical)} numerical inputs need"
    if 2.0 / gap * span + 2.0 > MAX_PRE_ACTIVATION:
        return f"{what} steps too fine for float32 ({span / gap:.3g} distinct levels)"
    # Steps switch within a quarter gap of z; keep the noise within half of that.
    if code_noise(numerical, coeffs) > gap / 8.0:
        return f"{what} steps finer than the noise their inputs carry (a joint code of {span / gap:.3g} levels)"
    return None


ROUNDING_ESTIMATE_BUDGET = 2e-2
"""Largest `step_rounding` estimate allowed for decoding a numerical selector_width
(measured errors stay at 2-10% of the estimate there: fine at max_seq_len 256, estimate
1.6e-2 and error 2.4e-4 on onnxruntime; refused at 512, 6.2e-2 and 2.4e-3). Element-wise
results get a twentieth of it, since their measured errors can come near the estimate
(a product of a width and length: 6.2e-3 and 3.9e-3); past it they are split.
rasp-to-transformer then measures every MLP's rounding on all its inputs."""


def _series(root: Operation, leaves: Sequence[Leaf]):
    """The 1-D functions an MLP computing a numerical root builds as steps: (xs, ys, gated)
    for each categorical combination and each numerical piece (a leaf of its own when the
    function is a sum of one function per leaf, else the joint code z)."""
    numerical = [i for i, leaf in enumerate(leaves) if leaf.numerical]
    categorical = [i for i, leaf in enumerate(leaves) if not leaf.numerical]
    raws = [leaf.raw_values() for leaf in leaves]
    table = tabulate(root, leaves)
    gated = bool(categorical)
    parts = additive_parts(root, leaves)
    if parts is not None:
        for gs in parts.values():
            for i, g in zip(numerical, gs):
                pairs = sorted(zip((float(v) for v in raws[i]), g))
                yield [x for x, _ in pairs], [y for _, y in pairs], gated
        return
    codes = joint_codes(root, leaves)
    if codes is not None:
        for code in codes:
            yield [z for z, _ in code.points], [float(table[k]) for k in code_keys(leaves, code)], gated
        return
    coeffs, _, _ = numeric_code([leaves[i] for i in numerical])
    for combo in product(*(raws[i] for i in categorical)):
        key: list = [None] * len(leaves)
        for i, v in zip(categorical, combo):
            key[i] = value_key(v)
        points = []
        for point in product(*(raws[i] for i in numerical)):
            for i, v in zip(numerical, point):
                key[i] = value_key(v)
            points.append((sum(c * float(v) for c, v in zip(coeffs, point)), float(table[tuple(key)])))
        points.sort()
        yield [z for z, _ in points], [y for _, y in points], gated


def step_rounding(root: Operation, leaves: Sequence[Leaf]) -> float:
    """An estimate of the float32 rounding the steps of a numerical root's MLP leave on it:
    a step unit past its threshold holds up to slope * reach (plus the gate's offset that
    cancels on the open gate), and its pair writes the step's size times the difference of
    two such numbers, exact only to float32's relative precision. Pieces an MLP builds as
    an affine map are left out (their rounding is relative to the values themselves)."""
    estimate = 0.0
    for xs, ys, gated in _series(root, leaves):
        if len(xs) < 2 or affine_fit(xs, ys) is not None:
            continue
        for i in range(len(xs) - 1):
            delta = ys[i + 1] - ys[i]
            if not delta:
                continue
            slope = 2.0 / (xs[i + 1] - xs[i])
            t = (xs[i] + xs[i + 1]) / 2.0
            reach = slope * max(abs(xs[-1] - t), abs(xs[0] - t)) + 1.0
            estimate = max(estimate, FLOAT32_EPS * (2.0 * reach if gated else reach) * abs(delta))
    return estimate


ROUNDED_OUTPUT_BUDGET = 0.25
"""Largest float32 error (measured, times ROUNDING_SAFETY for other kernels) on an
int output that the model rounds to the nearest int (`rounded_output`): under 1/2, the
rounded value is exact."""


def rounded_output(value: SSAValue) -> bool:
    """A numerical int s-op that only the program's output reads: the model rounds it
    when decoding (`transformer.unembed ... rounds`), so float32 may leave it off by up
    to ROUNDED_OUTPUT_BUDGET rather than a quarter of the tolerance (`100 * length + ...`
    in one MLP: steps of size 100 round to ~1e-3 in float32)."""
    if not isinstance(value.type, SOpType) or not value.type.is_numerical or value.type.value_kind != ValueKind.INT:
        return False
    return bool(value.uses) and all(isinstance(use.operation, OutputOp) for use in value.uses)


def _too_fine_for_output(root: Operation, leaves: Sequence[Leaf]) -> str | None:
    result = root.results[0]
    if not isinstance(result.type, SOpType) or not result.type.is_numerical:
        return None
    if not any(leaf.numerical for leaf in leaves):
        return None
    too_large = math.prod(len(leaf.raw_values()) for leaf in leaves) > SEPARABLE_CHECK_LIMIT
    if too_large and additive_parts(root, leaves) is None:
        return None  # rasp-to-transformer measures (or bounds) it
    estimate = step_rounding(root, leaves)
    # rasp-to-transformer measures the real rounding and refuses past the tolerance; where
    # computing the operands first could avoid that, split early.
    budget = ROUNDING_ESTIMATE_BUDGET if isinstance(root, WIDTH) else ROUNDING_ESTIMATE_BUDGET / 20.0
    if rounded_output(result):
        budget = ROUNDED_OUTPUT_BUDGET / 4.0  # measured errors stay far below the estimate
    if estimate > budget:
        return (
            f"its steps are too fine for float32 at its output's scale (estimated rounding {estimate:.2g}, "
            f"more than {budget:g})"
        )
    return None


JOINT_ONEHOT_BUDGET = 4e-3
"""Largest float32 rounding (estimated) a joint code may leave on a one-hot result: heads
that read it sum such errors into their scores (`Lowering.check_score_error`). The
estimate, eps * (2 span / gap + 1), is a worst case; rasp-to-transformer measures every
such MLP on all its inputs and splits it where a reader would be skewed. At 1e-3,
long_addition's `indices + length - add_index` (8.4e3 levels, estimate 2e-3) was split
before it was measured, a block more."""


def _imprecise_onehot(root: Operation, numerical: Sequence[Leaf], codes: Sequence[GateCode] | None) -> str | None:
    """A categorical result over a joint code of several numerical leaves: its step units
    reach about 2 * span / gap, and float32 keeps their differences only to that times
    its precision. Computing the operands first (a split) makes the steps coarser."""
    result = root.results[0]
    if not isinstance(result.type, SOpType) or result.type.is_numerical:
        return None
    if codes is not None:
        stepped = [code for code in codes if code.changes]
        if not stepped:
            return None
        worst = max(stepped, key=lambda code: code.span / code.gap)
        gap, span = worst.gap, worst.span
    else:
        _, gap, span = numeric_code(numerical)
    estimate = FLOAT32_EPS * (2.0 * span / gap + 1.0)
    if estimate > JOINT_ONEHOT_BUDGET:
        return (
            f"its {len(numerical)} numerical inputs need a joint code of {span / gap:.3g} levels, too fine "
            "for an exact one-hot in float32"
        )
    return None


def representable(root: Operation, leaves: Sequence[Leaf], max_hidden: int) -> str | None:
    """None when one MLP computes root from `leaves` exactly; else the reason it cannot."""
    reason = _steps_reason(root, leaves, max_hidden)
    if reason is not None and threshold_cover(root, leaves, max_hidden) is not None:
        return None
    return reason


def threshold_cover(root: Operation, leaves: Sequence[Leaf], max_hidden: int) -> LookupCover | None:
    """The cube cover of a function of numerical leaves that steps cannot compute in one
    MLP (`_steps_reason`: a joint code too fine, too many units) but gates can, every
    numerical leaf being a `Threshold`; else None. Where steps can, they are used: they
    are measured and exact on every value (`measure_rounding`)."""
    if not any(leaf.numerical for leaf in leaves) or _steps_reason(root, leaves, max_hidden) is None:
        return None
    found = lookup_cover(root, leaves)
    return found if found is not None and found.units <= max_hidden else None


_STEPS_REASONS: WeakKeyDictionary[Operation, dict[tuple, str | None]] = WeakKeyDictionary()


def _steps_reason(root: Operation, leaves: Sequence[Leaf], max_hidden: int) -> str | None:
    """Why one MLP of gates per categorical combination and steps along the numerical
    leaves cannot compute root exactly (None: it can)."""
    key = (max_hidden, leaves_key(leaves))
    cached = _STEPS_REASONS.setdefault(root, {})
    if key not in cached:
        cached[key] = _uncached_steps_reason(root, leaves, max_hidden)
    return cached[key]


def _uncached_steps_reason(root: Operation, leaves: Sequence[Leaf], max_hidden: int) -> str | None:
    numerical = [leaf for leaf in leaves if leaf.numerical]
    separable = additive_parts(root, leaves) is not None
    codes = None if separable else joint_codes(root, leaves)
    if numerical:
        if codes is not None:
            if (reason := _codes_too_fine(codes, len(numerical))) is not None:
                return reason
        else:
            for group in [[leaf] for leaf in numerical] if separable else [numerical]:
                if (reason := _too_fine(group)) is not None:
                    return reason
        if (reason := _too_fine_for_output(root, leaves)) is not None:
            return reason
        if len(numerical) > 1 and (reason := _imprecise_onehot(root, numerical, codes)) is not None:
            return reason
    units = representable_units(leaves, separable) if codes is None else code_units(codes)
    if units > max_hidden and not numerical and (found := lookup_cover(root, leaves)) is not None:
        units = found.units  # tabulated only where the combinations are too many
    if units > max_hidden:
        return f"it would need up to {units} hidden units (more than {max_hidden})"
    return None


def _split_leaves(op: Operation) -> list[Leaf]:
    """The leaves of an op computed from its direct operands. A selector_width operand is
    read through its head's scratch dimension (no decoding MLP first) while that leaves
    at most one numerical input, unless it is a weighted count (whose scratch dimension
    has many values per width: its decoding MLP reads them first)."""
    leaves: list[Leaf] = []
    numerical = sum(1 for v in op.operands if isinstance(v.type, SOpType) and v.type.is_numerical)
    for v in dict.fromkeys(op.operands):
        if (
            isinstance(v.owner, WIDTH) and numerical == 0 and not isinstance(op, LinearSequenceMapOp)
            and weighted_count(v.owner) is None
        ):
            leaves.append(Leaf(v, scratch=True))
            numerical += 1
        else:
            leaves.append(Leaf(v))
    return leaves


@dataclass
class FusionPlan:
    """What the residual stream holds and how each MLP-computed s-op is built."""

    embedded: set[SSAValue] = field(default_factory=set)
    materialized: set[SSAValue] = field(default_factory=set)
    leaves: dict[Operation, list[Leaf]] = field(default_factory=dict)
    splits: dict[Operation, str] = field(default_factory=dict)
    folded: dict[SSAValue, SSAValue] = field(default_factory=dict)
    """Maps of a categorical head output (an aggregate or a width) that only heads read:
    those heads read them through that output's one-hot (value -> that output), so they
    take no MLP and no dimensions (`head_fold_base`)."""
    max_hidden: int = DEFAULT_MAX_HIDDEN
    """The hidden units one MLP may have: an MLP whose table is larger is a cube cover
    or steps within it (`shared_subexpressions` counts its units as at most that)."""


def _embedding_source(op: Operation, sources: dict[SSAValue, str | None]) -> str | None:
    """"tokens" or "indices" when `op` is a function of that input alone (constants
    allowed), "constant" when of constants alone, else None."""
    if isinstance(op, TokensOp):
        return "tokens"
    if isinstance(op, IndicesOp):
        return "indices"
    if isinstance(op, ConstantOp):
        return "constant"
    if not isinstance(op, ELEMENTWISE):
        return None
    found = {sources.get(v) for v in op.operands} - {"constant"}
    if None in found or len(found) > 1:
        return None
    return found.pop() if found else "constant"


def plan_fusion(program: ProgramOp, max_hidden: int = DEFAULT_MAX_HIDDEN) -> FusionPlan:
    """Decide which s-ops live in the residual stream and the leaves of each MLP."""
    first = _plan_fusion(program, max_hidden)
    known: frozenset[SSAValue] = frozenset()
    retry: frozenset[Operation] = frozenset()
    plan = first
    if first.splits:
        # The worklist decides one root at a time: a root split before an s-op its cone
        # reaches was found to be in the stream anyway. Plan again, with what the first
        # plan put in the stream for reasons other than splits known from the start.
        found = {
            leaf.value
            for root, leaves in first.leaves.items() if root not in first.splits
            for leaf in leaves if not leaf.scratch
        }
        found |= {value for value in first.materialized if isinstance(value.owner, AggregateOp)}
        known, retry = frozenset(found - first.embedded), frozenset(first.splits)
        plan = _plan_fusion(program, max_hidden, known, retry)
    return _deepened(program, plan, max_hidden, known, retry)


DEEPEN_ROUNDS = 4
"""Most times `_deepened` plans again (moving one MLP earlier can let its readers move)."""


def _deepened(
    program: ProgramOp, plan: FusionPlan, max_hidden: int, known: frozenset[SSAValue], retry: frozenset[Operation]
) -> FusionPlan:
    """The plan, where MLPs that wait for s-ops another MLP puts in the stream just
    before them compute from what is there a block earlier instead (their cones run
    through those s-ops), wherever one MLP can: a cone is cut wherever an s-op is in the
    stream, and the worklist does not know which of them come late. Rover's
    `relative_clause_pos == i and inference_clause` waited in an MLP-only block for both,
    which the MLP before computes from the heads' outputs. Planned again with those
    MLPs' cuts (`deep`) until nothing moves; kept only where the program needs fewer
    blocks (the MLPs that read more are larger)."""
    ready, leaf_ready = plan_stages(program, plan)
    best, best_blocks = plan, _block_count(ready)
    deep: dict[Operation, frozenset[SSAValue]] = {}
    for _ in range(DEEPEN_ROUNDS):
        found: dict[Operation, frozenset[SSAValue]] = {}
        for root, leaves in plan.leaves.items():
            if not isinstance(root, ELEMENTWISE) or PRECISION_SPLIT in root.attributes:
                continue
            stage = ready[root.results[0]]
            early = frozenset(v for v in plan.materialized if ready.get(v, stage) <= stage - 3)
            cone = cone_leaves(root, early, plan.embedded)
            if set(cone) != set(leaves) and all(leaf_ready(leaf) <= stage - 3 for leaf in cone):
                if representable(root, cone, max_hidden) is None:
                    found[root] = early
        if not found:
            break
        deep.update(found)
        plan = _plan_fusion(program, max_hidden, known, retry, deep)
        ready, leaf_ready = plan_stages(program, plan)
        blocks = _block_count(ready)
        if blocks < best_blocks:
            best, best_blocks = plan, blocks
    return best


def plan_stages(program: ProgramOp, plan: FusionPlan) -> tuple[dict[SSAValue, int], Callable[[Leaf], int]]:
    """As-soon-as-possible stages (0: embedding, 2b-1: attention of block b, 2b: its MLP):
    the stage after which each s-op is in the residual stream, and when a leaf is there
    (a width's scratch dimension: after its head). `rasp-allocate-layers` records them."""
    ready: dict[SSAValue, int] = {v: 0 for v in plan.embedded}
    attention_stage: dict[Operation, int] = {}

    def leaf_ready(leaf: Leaf) -> int:
        if leaf.scratch:
            return attention_stage[leaf.value.owner]  # type: ignore[index]
        return ready[leaf.value]

    for op in program.body.block.ops:
        if not op.results or isinstance(op.results[0].type, SelectorType) or op.results[0] in plan.embedded:
            continue
        result = op.results[0]
        if isinstance(op, (AggregateOp, *WIDTH)):
            stage = next_stage(max((ready[v] for v in attention_inputs(op)), default=0), attention=True)
            attention_stage[op] = stage
            if isinstance(op, AggregateOp):
                ready[result] = stage
            elif result in plan.materialized:
                ready[result] = stage + 1
        elif isinstance(op, ELEMENTWISE) and result in plan.materialized:
            ready[result] = next_stage(max((leaf_ready(leaf) for leaf in plan.leaves[op]), default=0), attention=False)
        elif isinstance(op, ELEMENTWISE) and result in plan.folded:  # heads read it through its base
            ready[result] = ready[plan.folded[result]]
    return ready, leaf_ready


def next_stage(after: int, attention: bool) -> int:
    """The first attention (odd) or MLP (even) stage after stage `after`."""
    stage = after + 1
    if (stage % 2 == 1) != attention:
        stage += 1
    return stage


def attention_inputs(op: Operation) -> list[SSAValue]:
    """The s-ops a head reads: what its (possibly composite) selector compares, and the
    aggregated values."""
    found: list[SSAValue] = []
    for operand in op.operands:
        if isinstance(operand.type, SelectorType):
            owner = operand.owner
            assert isinstance(owner, Operation)
            found.extend(attention_inputs(owner))
        else:
            found.append(operand)
    return found


def _block_count(ready: Mapping[SSAValue, int]) -> int:
    """Blocks a plan's stages take (`plan_stages`)."""
    return (max(ready.values(), default=0) + 1) // 2


def _plan_fusion(
    program: ProgramOp,
    max_hidden: int,
    known: frozenset[SSAValue] = frozenset(),
    retry: frozenset[Operation] = frozenset(),
    deep: Mapping[Operation, frozenset[SSAValue]] | None = None,
) -> FusionPlan:
    """One plan: roots in `retry` (split by an earlier plan) may also cut their cones at
    the `known` s-ops (in the stream in that plan for reasons other than splits); roots in
    `deep` cut theirs only at the s-ops given (`_deepened`)."""
    plan = FusionPlan(max_hidden=max_hidden)
    ops = list(program.body.block.ops)
    sources: dict[SSAValue, str | None] = {}
    for op in ops:
        if op.results and not isinstance(op.results[0].type, SelectorType):
            sources[op.results[0]] = _embedding_source(op, sources)
            if sources[op.results[0]] is not None:
                plan.embedded.add(op.results[0])

    # What heads and the output read must be in the residual stream.
    needed: list[SSAValue] = []
    for op in ops:
        if isinstance(op, OutputOp):
            needed.append(op.value)
        elif isinstance(op, AggregateOp):
            needed.append(op.input)
        elif op.results and isinstance(op.results[0].type, SelectorType):
            needed.extend(v for v in op.operands if isinstance(v.type, SOpType))
    needed.extend(op.results[0] for op in ops if SHARED in op.attributes and is_elementwise(op))
    # An s-op that must be in the stream is computed from its leaves; a split op's
    # operands must then be in the stream too.
    while needed:
        value = needed.pop()
        if value in plan.materialized or value in plan.embedded or value in plan.folded:
            continue
        base = head_fold_base(value)
        if base is not None:
            plan.folded[value] = base
            needed.append(base)
            continue
        owner = value.owner
        if isinstance(owner, AggregateOp):
            plan.materialized.add(value)
            continue
        assert isinstance(owner, Operation)
        plan.materialized.add(value)
        available = plan.materialized | known if owner in retry else plan.materialized
        if deep and owner in deep:
            available = set(deep[owner])
        leaves, reason = choose_leaves(owner, available, plan.embedded, max_hidden)
        if reason is not None:
            if not isinstance(owner, ELEMENTWISE):
                raise RaspCompileError(f"{owner.name}: cannot decode its width exactly: {reason}")
            plan.splits[owner] = reason
        plan.leaves[owner] = leaves
        for leaf in leaves:
            if not leaf.scratch and leaf.value not in plan.embedded and not isinstance(leaf.value.owner, ConstantOp):
                needed.append(leaf.value)
    return plan


def head_fold_base(value: SSAValue) -> SSAValue | None:
    """The categorical aggregate or width that `value` is a map of, when only selects
    compare `value` and only aggregates average it: a head then reads it as a fixed
    linear map of that s-op's one-hot (issue 7: maps that only feed heads fold into their
    weights). None otherwise."""
    owner = value.owner
    if not isinstance(owner, MapOp) or SHARED in owner.attributes or PRECISION_SPLIT in owner.attributes:
        return None
    base = owner.input
    if not isinstance(base.type, SOpType) or not base.type.is_categorical:
        return None
    if not isinstance(base.owner, (AggregateOp, *WIDTH)):
        return None
    return base if read_only_by_heads(value) else None


def read_only_by_heads(value: SSAValue) -> bool:
    """Whether `value` has uses and every one is a select comparing it or an aggregate
    averaging it (what a head can read through a linear map of another one-hot)."""
    uses = list(value.uses)
    return bool(uses) and all(
        isinstance(use.operation, SelectOp) or (isinstance(use.operation, AggregateOp) and use.index == 1)
        for use in uses
    )


def table_size(leaves: Sequence[Leaf]) -> int:
    """How many combinations of values an MLP reading `leaves` covers (its hidden size
    grows with it)."""
    return math.prod(len(leaf.raw_values()) for leaf in leaves)


def shared_subexpressions(
    plan: FusionPlan, mlp_stage: Callable[[Sequence[Leaf]], int], stage_of: Callable[[SSAValue], int]
) -> list[tuple[SSAValue, str]]:
    """Fused element-wise s-ops worth an MLP of their own: those whose own MLP
    (`mlp_stage` of their leaves) comes before every MLP that fuses them (`stage_of` their
    results), so that reading them from the residual stream costs no block, and for which
    the tables of those MLPs shrink by more than the new MLP's table (a value that several
    MLPs recompute, or a small value of many inputs: a few dimensions then stand for all
    of them). Disjoint from one another's cones, best saving first; each with its reason."""
    stop = plan.materialized | plan.embedded
    cones: dict[SSAValue, set[SSAValue]] = {}

    def cone(value: SSAValue) -> set[SSAValue]:
        """The fused element-wise s-ops `value` is computed through, itself included."""
        if value not in cones:
            found: set[SSAValue] = set()
            owner = value.owner
            if value not in stop and isinstance(owner, ELEMENTWISE):
                found.add(value)
                for operand in owner.operands:
                    found |= cone(operand)
            cones[value] = found
        return cones[value]

    def size(leaves: Sequence[Leaf]) -> int:
        """A table's entries as a saving counts them: past COVER_LIMIT an MLP is a cube
        cover or steps, whose size the number of combinations no longer tells."""
        return min(table_size(leaves), COVER_LIMIT)

    width = sum(_dims(value) for value in stop)
    # no MLP has more than max_hidden units, however large its table
    hidden = sum(min(table_size(leaves), plan.max_hidden) for leaves in plan.leaves.values())
    readers: dict[SSAValue, list[Operation]] = {}
    for root in plan.leaves:
        if not isinstance(root, ELEMENTWISE):
            continue
        for value in set().union(*(cone(v) for v in root.operands)):
            readers.setdefault(value, []).append(root)
    savings: list[tuple[int, SSAValue, str]] = []
    for value, roots in readers.items():
        own = cone_leaves(value.owner, plan.materialized, plan.embedded)  # type: ignore[arg-type]
        stage = mlp_stage(own)
        if any(stage_of(root.results[0]) <= stage for root in roots):
            continue
        with_value = plan.materialized | {value}
        before = sum(size(plan.leaves[root]) for root in roots)
        after = size(own) + sum(size(cone_leaves(root, with_value, plan.embedded)) for root in roots)
        # Parameters go as the residual width d times all MLPs' hidden units H: the value's
        # dimensions cost about H each, every table entry saved about d.
        if (width + _dims(value)) * (before - after) > hidden * _dims(value):
            readers_text = f"shared by {len(roots)} MLPs" if len(roots) > 1 else "read by one MLP"
            reason = (
                f"{readers_text}: tables of {before:,} entries become {after:,} (its own included), "
                "at no extra block"
            )
            savings.append((before - after, value, reason))
    picked: list[tuple[SSAValue, str]] = []
    for _, value, reason in sorted(savings, key=lambda item: -item[0]):
        if all(value not in cone(other) and other not in cone(value) for other, _ in picked):
            picked.append((value, reason))
    return picked


def _dims(value: SSAValue) -> int:
    """Residual dimensions an s-op takes: one if numerical, one per value if categorical."""
    assert isinstance(value.type, SOpType)
    return 1 if value.type.is_numerical else len(_values(value))
