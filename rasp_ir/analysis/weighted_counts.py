"""Counting with one head what no single head selects: keys weighted by powers of a base.

A selector_width whose selector mixes selects over different (keys, queries) pairs with
`or`/`not` (sort's "smaller key, or equal key and earlier position") has no head that
*selects* its keys: a head's score is a sum of one bilinear term per pair, and selected
keys would all need the same score. But a head need not select to count. Give each pair's
relation between key and query value (below, equal, above) an integer exponent; a key
then weighs base**(sum of its pairs' exponents) (its score is that sum times ln(base)),
and the BOS key, weighing b, gets the share b/(b+Z) of the attention, where
Z = sum over keys of their weights. Keys of a relation that the selector never selects
whatever the other pairs hold score far below the rest and weigh nothing. Where every
exponent the selected keys can reach differs from every one the other weighted keys can
reach, and the base exceeds max_seq_len, Z's digits in that base count the keys per
exponent, so the width (the count of the selected exponents' keys) is a function of Z,
and one MLP reads it off the share with steps, as for an ordinary width.

Z takes up to n * base**span values (span: the largest exponent sum), so this pays only at
short max_seq_len; `weighted_count` returns None where the steps would be too fine for
float32, and the compiler does what it did before: two heads for the two parts of a
disjoint `or` (`WidthOfDisjointOr`), else an MLP pairing the s-ops before one head
(`rasp-lower-composite-selectors`). It is used only
where the selects compare s-ops computed from tokens, indices and constants alone: their
one-hots are exact, so the scores carry no error but float32's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from itertools import product
from weakref import WeakKeyDictionary

from xdsl.ir import Operation, SSAValue

from rasp_ir.dialects.rasp import (
    AggregateOp,
    LengthOp,
    Predicate,
    SelectAndOp,
    SelectNotOp,
    SelectOp,
    SelectOrOp,
    SelectorWidthOp,
    SOpType,
    Value,
    ValueKind,
)

RELATIONS = ("<", "==", ">")
"""How a key's value compares to the query's, per (keys, queries) pair: a comparison
predicate's truth depends on nothing else."""

_WITNESSES = {"<": (0, 1), "==": (1, 1), ">": (1, 0)}

MAX_PAIRS = 3
MAX_EXPONENT = 2
"""Largest exponent a relation gets (per pair; the search is exhaustive below it)."""

MAX_LEVELS = 4096
"""Most values of Z (combinations of counts per exponent) a weighted count may have."""

SAFETY = 16.0
"""How many times the float32 error bound the narrowest gap between two shares that
decode to different widths must be."""

_EPS = 2.0**-23
_COMPARISONS = frozenset({Predicate.EQ, Predicate.LT, Predicate.LEQ, Predicate.GT, Predicate.GEQ, Predicate.NEQ})


@dataclass(frozen=True)
class WeightedCount:
    """How one head counts a selector: per pair, each relation's exponent (None: the
    key weighs nothing), the base, BOS's weight, and the width each Z decodes to."""

    pairs: tuple[tuple[SSAValue, SSAValue], ...]
    exponents: tuple[tuple[int | None, ...], ...]
    """Per pair, the exponent of each relation in RELATIONS order."""
    base: int
    bos_weight: float
    widths: tuple[tuple[int, int], ...]
    """(Z, width) for every Z the keys can sum to, by increasing Z."""
    noise: float
    """Bound on float32's error on the share BOS gets."""

    @cached_property
    def _width_of(self) -> dict[int, int]:
        return dict(self.widths)

    def share(self, z: int) -> float:
        return self.bos_weight / (self.bos_weight + z)

    def shares(self) -> list[tuple[float, int]]:
        """(BOS's share, width) for every Z, by decreasing share."""
        return [(self.share(z), w) for z, w in self.widths]

    def decode(self, share: float) -> int:
        """The width of the Z whose share `share` is (an integer: weights are powers of
        the base, the smallest 1)."""
        z = round(self.bos_weight / share - self.bos_weight)
        if z not in self._width_of:
            raise ValueError(f"no sum of weights gives the share {share}")
        return self._width_of[z]

    def exponent(self, pair: int, key: Value, query: Value) -> int | None:
        return self.exponents[pair][RELATIONS.index(relation(key, query))]


def relation(key: Value, query: Value) -> str:
    if key == query:
        return "=="
    return "<" if key < query else ">"  # type: ignore[operator]


def weighted_count(op: Operation) -> WeightedCount | None:
    """The weighted count of a selector_width whose selector no single head selects
    (an `or`/`not` over several pairs of s-ops), or None: not such a width, s-ops not
    exact one-hots, no exponents that keep the width readable, or too fine for float32."""
    if not isinstance(op, SelectorWidthOp):
        return None
    program = op.parent_op()
    max_seq_len = getattr(program, "max_seq_len", None)
    if max_seq_len is None:
        return None
    leaves = select_leaves(op.selector)
    if leaves is None:
        return None
    pairs = tuple(dict.fromkeys((leaf.keys, leaf.queries) for leaf in leaves if _compares(leaf)))
    if not 1 < len(pairs) <= MAX_PAIRS or not _mixes_pairs(op.selector):
        return None
    if not all(_exact(k) and _exact(q) and _comparable(k, q) for k, q in pairs):
        return None
    # Fusion asks once per value it reads off the head's share: the selector's truth
    # table is evaluated again only when the selector (its ops, their operands and
    # predicates) or max_seq_len changed.
    selects = tuple((leaf, leaf.predicate.data, leaf.keys, leaf.queries) for leaf in leaves)
    fingerprint = (int(max_seq_len.data), selects, _shape(op.selector))
    cached = _COUNTS.get(op)
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    table = tuple(
        _evaluate(op.selector, {leaf: _holds(leaf, rels, pairs) for leaf in leaves})
        for rels in product(RELATIONS, repeat=len(pairs))
    )
    found = _search(table, len(pairs), int(max_seq_len.data))
    result = None if found is None else WeightedCount(pairs, *found)
    _COUNTS[op] = (fingerprint, result)
    return result


_COUNTS: WeakKeyDictionary[Operation, tuple[tuple, WeightedCount | None]] = WeakKeyDictionary()


def _shape(selector: SSAValue) -> tuple:
    """The `and`/`or`/`not` tree over the selects, by op."""
    owner = selector.owner
    if isinstance(owner, SelectAndOp | SelectOrOp):
        return (owner, _shape(owner.lhs), _shape(owner.rhs))
    if isinstance(owner, SelectNotOp):
        return (owner, _shape(owner.input))
    return (owner,)


def select_leaves(selector: SSAValue) -> list[SelectOp] | None:
    """The selects an `and`/`or`/`not` tree combines (with repeats); None when it holds a
    select_table (whose values are paired up already)."""
    owner = selector.owner
    if isinstance(owner, SelectOp):
        return [owner]
    if isinstance(owner, SelectAndOp | SelectOrOp):
        a, b = select_leaves(owner.lhs), select_leaves(owner.rhs)
        return None if a is None or b is None else a + b
    if isinstance(owner, SelectNotOp):
        return select_leaves(owner.input)
    return None


def _compares(leaf: SelectOp) -> bool:
    return leaf.predicate.data in _COMPARISONS


def _holds(leaf: SelectOp, rels: Sequence[str], pairs: Sequence[tuple[SSAValue, SSAValue]]) -> bool:
    """The leaf's truth where its pair relates as `rels` says (TRUE and FALSE: constant)."""
    if not _compares(leaf):
        return leaf.predicate.data(0, 0)
    return leaf.predicate.data(*_WITNESSES[rels[pairs.index((leaf.keys, leaf.queries))]])


def _evaluate(selector: SSAValue, truth: dict[SelectOp, bool]) -> bool:
    owner = selector.owner
    if isinstance(owner, SelectOp):
        return truth[owner]
    if isinstance(owner, SelectAndOp):
        return _evaluate(owner.lhs, truth) and _evaluate(owner.rhs, truth)
    if isinstance(owner, SelectOrOp):
        return _evaluate(owner.lhs, truth) or _evaluate(owner.rhs, truth)
    assert isinstance(owner, SelectNotOp)
    return not _evaluate(owner.input, truth)


def _mixes_pairs(selector: SSAValue) -> bool:
    """Whether some top-level conjunct combines selects over several pairs (an `and`
    of per-pair parts is an ordinary head)."""
    owner = selector.owner
    if isinstance(owner, SelectAndOp):
        return _mixes_pairs(owner.lhs) or _mixes_pairs(owner.rhs)
    leaves = select_leaves(selector) or []
    return len({(leaf.keys, leaf.queries) for leaf in leaves if _compares(leaf)}) > 1


def _comparable(keys: SSAValue, queries: SSAValue) -> bool:
    """Whether the two s-ops' values are ordered against each other (numbers and bools,
    or strings), so that every pair of values is below, equal or above."""
    kinds = []
    for value in (keys, queries):
        if not isinstance(value.type, SOpType):
            return False
        kinds.append(value.type.value_kind == ValueKind.STR)
    return kinds[0] == kinds[1]


def _exact(value: SSAValue) -> bool:
    """Computed from tokens, indices and constants alone (no head, no width): an exact
    one-hot in the residual stream."""
    todo, seen = [value], set()
    while todo:
        v = todo.pop()
        if v in seen:
            continue
        seen.add(v)
        owner = v.owner
        if isinstance(owner, AggregateOp | SelectorWidthOp | LengthOp):
            return False
        if isinstance(owner, Operation):
            todo.extend(owner.operands)
    return True


@lru_cache(maxsize=256)
def _search(table: tuple[bool, ...], n_pairs: int, max_seq_len: int):
    """Exponents per (pair, relation) for the truth table over relation combinations
    (RELATIONS^n_pairs, row-major): the smallest span, then the fewest changes of the
    width along increasing Z (each change is a step of the MLP that reads it); with the
    Z values, widths and float32 bound. None where there are none, or too fine."""
    combos = list(product(range(len(RELATIONS)), repeat=n_pairs))
    selected = dict(zip(combos, table))
    # A relation no selected key has weighs nothing; every other one gets an exponent.
    live = [
        [any(selected[c] for c in combos if c[p] == r) for r in range(len(RELATIONS))] for p in range(n_pairs)
    ]
    if not all(any(row) for row in live):
        return None  # selects nothing
    slots = [(p, r) for p in range(n_pairs) for r in range(len(RELATIONS)) if live[p][r]]
    live_combos = [c for c in combos if all(live[p][c[p]] for p in range(n_pairs))]
    candidates: list[tuple[int, tuple[tuple[int | None, ...], ...], dict[int, bool]]] = []
    for values in product(range(MAX_EXPONENT + 1), repeat=len(slots)):
        exps: list[list[int | None]] = [[None] * len(RELATIONS) for _ in range(n_pairs)]
        for (p, r), e in zip(slots, values):
            exps[p][r] = e
        tops = [max(e for e in row if e is not None) for row in exps]
        if any(min(e for e in row if e is not None) != 0 for row in exps):
            continue  # adding one to a pair's exponents changes nothing: its smallest is 0
        status: dict[int, bool] = {}
        for c in live_combos:
            e = sum(exps[p][c[p]] for p in range(n_pairs))  # type: ignore[misc]
            if status.setdefault(e, selected[c]) != selected[c]:
                break
        else:
            if sum(tops):  # span 0: one head selects it
                candidates.append((sum(tops), tuple(tuple(row) for row in exps), status))
    if not candidates:
        return None
    span = min(c[0] for c in candidates)
    n = max_seq_len
    base = n + 1  # counts per exponent are at most n: Z's digits
    best = None
    for _, exponents, status in (c for c in candidates if c[0] == span):
        levels = _levels(status, n, base)
        if levels is None:
            continue
        changes = sum(a[1] != b[1] for a, b in zip(levels, levels[1:]))
        if best is None or changes < best[0]:
            best = (changes, exponents, levels)
    if best is None:
        return None
    _, exponents, levels = best
    z_max = levels[-1][0]
    # BOS weighing as much as the largest Z puts every share in [1/2, 1], where float32's
    # error is relative (the narrowest gaps are those of the largest Z: 1/(4 Z_max)).
    bos_weight = float(max(z_max, 1))
    shares = [bos_weight / (bos_weight + z) for z, _ in levels]
    gap = min((a - b for a, b, (_, wa), (_, wb) in zip(shares, shares[1:], levels, levels[1:]) if wa != wb), default=1.0)
    # Each key's weight is exp(score), the score a float32 sum over n_pairs + 2 features
    # times the scale: relative error about (n_pairs + 3) ulps of its largest argument
    # ln(b) + span ln(base), plus exp's and the softmax's sum of n + 1 terms; the share
    # b/(b + Z) in [1/2, 1] moves by at most half its weights' relative error.
    largest = math.log(bos_weight) + span * math.log(base)
    noise = _EPS * ((n_pairs + 3) * largest + n + 4) / 2.0
    if SAFETY * noise > gap:
        return None
    return exponents, base, bos_weight, tuple(levels), noise


def _levels(status: dict[int, bool], n: int, base: int) -> list[tuple[int, int]] | None:
    """(Z, width) for every count of keys per exponent (at most n keys in all), by Z;
    None past MAX_LEVELS."""
    groups = sorted(status)
    if math.comb(n + len(groups), len(groups)) > MAX_LEVELS:
        return None
    widths: dict[int, int] = {}
    for counts in product(range(n + 1), repeat=len(groups)):
        if sum(counts) <= n:
            z = sum(c * base**e for c, e in zip(counts, groups))
            widths[z] = sum(c for c, e in zip(counts, groups) if status[e])
    return sorted(widths.items())


__all__ = ["RELATIONS", "WeightedCount", "relation", "select_leaves", "weighted_count"]
