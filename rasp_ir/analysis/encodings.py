"""Which encoding an aggregate gets when the user did not choose one.

Shared by `rasp-infer-encodings` and by value-set inference (which must know
whether an open aggregate will copy or average before the compiler decides), and
by `rasp-to-transformer`, which guards at run time the categorical aggregates whose
selector is not proven here to select at most one position.

Everything here is a sound sufficient condition: False means "not proven", never
"false". Value sets are the `values` attributes `rasp-infer-values` records (an
over-approximation of what an s-op holds), else the keys of the op's table.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from itertools import product

from xdsl.ir import Operation, SSAValue

from rasp_ir.dialects.rasp import (
    AggregateOp,
    Encoding,
    ConstantOp,
    IndicesOp,
    LengthOp,
    LinearSequenceMapOp,
    MapOp,
    Predicate,
    SelectAndOp,
    SelectNotOp,
    SelectOp,
    SelectOrOp,
    SelectorWidthOp,
    SelectTableOp,
    SequenceMapOp,
    SOpType,
    TableAttr,
    Value,
    ValueKind,
    known_values,
    value_key,
)

ORDER_CHECK_CAP = 256
"""Most distinct (tuples of) values the order check of a selector_width enumerates."""

INJECTIVITY_CHECK_CAP = 1 << 20
"""Most (unique value, uniform value) pairs the check of a map of a unique and a
position-uniform s-op enumerates."""

_ORDERS = (Predicate.LT, Predicate.LEQ, Predicate.GT, Predicate.GEQ)


def _all_different(values: Sequence[Value], matchable: Collection[Value] | None = None) -> bool:
    """No two of `values` are equal under Python's `==`, which `select ==` compares
    (1, 1.0 and True are one value here: hashing agrees with `==`); with `matchable`,
    no two of those among them (the others never match, `unique_per_position`)."""
    seen: set = set()
    for v in values:
        if matchable is not None and v not in matchable:
            continue
        if v in seen:
            return False
        seen.add(v)
    return True


def _value_set(value: SSAValue, table: TableAttr | None = None, position: int = 0) -> list[Value] | None:
    """The values `value` can take: its inferred set, else the arguments at `position`
    of the table that reads it (a table covers its inputs), else the outputs of the table
    that computes it, else None."""
    attr = known_values(value)
    if attr is not None:
        return list(attr.data)
    if table is not None and table.data:
        return list({value_key(args[position]): args[position] for args, _ in table.data}.values())
    owner = value.owner
    if isinstance(owner, MapOp | SequenceMapOp) and owner.table.data:
        return owner.table.outputs()  # what a table computes is one of its entries
    return None


def _table_injective(
    table: TableAttr, domain: Sequence[tuple[Value, ...]], matchable: Collection[Value] | None = None
) -> bool:
    try:
        outputs = [table.lookup(*args) for args in domain]
    except KeyError:
        return False
    return _all_different(outputs, matchable)


def same_sop(a: SSAValue, b: SSAValue) -> bool:
    """`a` and `b` hold the same value at every position: one SSA value, or the same op
    (same properties) over operands that are the same (e.g. two copies of a table)."""
    if a is b:
        return True
    oa, ob = a.owner, b.owner
    if not isinstance(oa, Operation) or not isinstance(ob, Operation) or type(oa) is not type(ob):
        return False
    if oa.regions or ob.regions or len(oa.results) != 1 or len(ob.results) != 1:
        return False
    if oa.properties != ob.properties or len(oa.operands) != len(ob.operands):
        return False
    return all(same_sop(x, y) for x, y in zip(oa.operands, ob.operands))


def unique_per_position(value: SSAValue, matchable: Collection[Value] | None = None) -> bool:
    """True when no two positions can hold equal values (a sufficient condition); with
    `matchable`, equal values among those (the others, which an `==` select's other
    side never holds, may repeat: `EqualityOnValuesTheOtherSideLacks` merges them):
    - `indices`;
    - a map of a unique s-op whose table is injective on the input's values;
    - a sequence_map (or linear_sequence_map) with a unique operand, injective on the
      pairs of its operands' values (the pairs differ per position, so the results do);
    - a sequence_map (or linear_sequence_map) of a unique s-op and a position-uniform
      one (`position_uniform`), injective in the unique one for each value of the uniform
      one (`indices + (length - k)`: within a sequence the uniform operand is fixed);
    - the selector_width of a selector that orders positions strictly by a unique key
      (`select(u, u, <)`, `<=`, `>`, `>=`, or a composite of selects over the same
      s-ops that is a total order): each position's rank."""
    owner = value.owner
    if isinstance(owner, IndicesOp):
        return True
    if isinstance(owner, MapOp):
        if not unique_per_position(owner.input):
            return False
        values = _value_set(owner.input, owner.table)
        return values is not None and _table_injective(owner.table, [(v,) for v in values], matchable)
    if isinstance(owner, SequenceMapOp):
        if (parts := _width_sum_parts(owner)) is not None and _ranks(*parts):
            return True
        if not (unique_per_position(owner.lhs) or unique_per_position(owner.rhs)):
            return False
        lhs, rhs = _value_set(owner.lhs, owner.table, 0), _value_set(owner.rhs, owner.table, 1)
        if lhs is None or rhs is None:
            return False
        if _table_injective(owner.table, list(product(lhs, rhs)), matchable):
            return True
        table = owner.table
        return _injective_beside_uniform(owner.lhs, owner.rhs, lhs, rhs, lambda x, y: table.lookup(x, y), matchable)
    if isinstance(owner, LinearSequenceMapOp):
        if not (unique_per_position(owner.lhs) or unique_per_position(owner.rhs)):
            return False
        lhs, rhs = _value_set(owner.lhs), _value_set(owner.rhs)
        if lhs is None or rhs is None:
            return False
        a, b = owner.coefficients
        try:  # as the interpreter computes it
            if _all_different([a * x + b * y for x, y in product(lhs, rhs)], matchable):
                return True
        except TypeError:
            return False
        return _injective_beside_uniform(owner.lhs, owner.rhs, lhs, rhs, lambda x, y: a * x + b * y, matchable)
    if isinstance(owner, SelectorWidthOp):
        return _ranks(owner.selector)
    return False


def _width_sum_parts(op: SequenceMapOp) -> tuple[SSAValue, SSAValue] | None:
    """The two selectors of `sequence_map(+, selector_width(a), selector_width(b))` (the
    canonical form of the width of a disjoint `a or b`; sums past max_seq_len, which two
    disjoint widths never reach, may be clipped), else None."""
    lhs, rhs = op.lhs.owner, op.rhs.owner
    program = op.parent_op()
    max_seq_len = getattr(program, "max_seq_len", None)
    if not isinstance(lhs, SelectorWidthOp) or not isinstance(rhs, SelectorWidthOp) or max_seq_len is None:
        return None
    n = int(max_seq_len.data)
    for (a, b), out in op.table.data:
        if isinstance(a, bool) or isinstance(b, bool) or not isinstance(a, int | float) or not isinstance(b, int | float):
            return None
        if a + b <= n and out != a + b:
            return None
    return lhs.selector, rhs.selector


def _injective_beside_uniform(
    lhs: SSAValue,
    rhs: SSAValue,
    lhs_values: Sequence[Value],
    rhs_values: Sequence[Value],
    f: Callable[[Value, Value], Value],
    matchable: Collection[Value] | None = None,
) -> bool:
    """f(lhs, rhs) differs at every position because one operand is unique per position,
    the other is position-uniform (one value at every position of a sequence), and for
    every value the uniform one can take, f is injective in the unique one: within one
    sequence the uniform operand is fixed, so positions differ only in the unique one."""
    if len(lhs_values) * len(rhs_values) > INJECTIVITY_CHECK_CAP:
        return False
    try:
        if position_uniform(rhs) and unique_per_position(lhs):
            if all(_all_different([f(x, y) for x in lhs_values], matchable) for y in rhs_values):
                return True
        if position_uniform(lhs) and unique_per_position(rhs):
            if all(_all_different([f(x, y) for y in rhs_values], matchable) for x in lhs_values):
                return True
    except (TypeError, KeyError, ArithmeticError):
        return False
    return False


def position_uniform(value: SSAValue) -> bool:
    """True when `value` holds one value at every position of any one sequence (a
    sufficient condition; the value may differ between sequences):
    - a constant, `length`;
    - a map of a uniform s-op, a sequence_map or linear_sequence_map of two uniform s-ops;
    - an aggregate or selector_width whose selector does not depend on the query
      position (`query_independent`): every query selects the same keys, so the mean
      (or the default), and the count, are the same at every position.
    `tokens` and `indices` are not uniform, nor is anything else."""
    return _UniformWalk().value(value)


def query_independent(selector: SSAValue) -> bool:
    """True when every query position of a sequence selects the same key positions:
    every select in it compares the keys with position-uniform queries (a constant,
    `length`, ...), or is always-true / always-false, combined with and / or / not."""
    return _UniformWalk().selector(selector)


class _UniformWalk:
    """`position_uniform` and `query_independent`, which recurse into each other, with
    one memo each per query (an SSA graph has no cycles; the memo bounds the walk)."""

    def __init__(self) -> None:
        self.values: dict[int, bool] = {}
        self.selectors: dict[int, bool] = {}

    def value(self, v: SSAValue) -> bool:
        if id(v) not in self.values:
            self.values[id(v)] = False
            self.values[id(v)] = _uniform_op(v, self.value, self.selector)
        return self.values[id(v)]

    def selector(self, sel: SSAValue) -> bool:
        if id(sel) not in self.selectors:
            self.selectors[id(sel)] = False
            self.selectors[id(sel)] = _query_independent_op(sel, self.value, self.selector)
        return self.selectors[id(sel)]


def _uniform_op(
    value: SSAValue, uniform: Callable[[SSAValue], bool], independent: Callable[[SSAValue], bool]
) -> bool:
    owner = value.owner
    if isinstance(owner, ConstantOp | LengthOp):
        return True
    if isinstance(owner, MapOp):
        return uniform(owner.input)
    if isinstance(owner, SequenceMapOp | LinearSequenceMapOp):
        return uniform(owner.lhs) and uniform(owner.rhs)
    if isinstance(owner, AggregateOp | SelectorWidthOp):
        return independent(owner.selector)
    return False


def _query_independent_op(
    selector: SSAValue, uniform: Callable[[SSAValue], bool], independent: Callable[[SSAValue], bool]
) -> bool:
    owner = selector.owner
    if isinstance(owner, SelectOp):
        if owner.predicate.data in (Predicate.TRUE, Predicate.FALSE):
            return True
        return uniform(owner.queries)
    if isinstance(owner, SelectTableOp):
        return uniform(owner.queries)
    if isinstance(owner, SelectAndOp | SelectOrOp):
        return independent(owner.lhs) and independent(owner.rhs)
    if isinstance(owner, SelectNotOp):
        return independent(owner.input)
    return False


def _ranks(*selectors: SSAValue) -> bool:
    """selector_width(selector) differs at every position: the selector compares a tuple
    of s-ops of the key position with the same tuple at the query position, one of them
    is unique (so the tuples differ per position), and the comparison is a strict total
    order on the tuples (a constant diagonal added): each width is then a rank. Given
    several selectors: the sum of their widths, when no two select the same key (their
    `or`, counted once)."""
    owner = selectors[0].owner
    if (
        len(selectors) == 1
        and isinstance(owner, SelectOp)
        and owner.predicate.data in _ORDERS
        and same_sop(owner.keys, owner.queries)
    ):
        # <, <=, >, >= are total orders on the values of one kind (every s-op has one).
        return unique_per_position(owner.keys)
    relation = _relation(*selectors)
    if relation is None:
        return False
    sops, holds = relation
    if not any(unique_per_position(s) for s in sops):
        return False
    sets = [_value_set(s) for s in sops]
    if any(s is None for s in sets) or _domain_size(sets) > ORDER_CHECK_CAP:
        return False
    domain = list(product(*sets))  # type: ignore[arg-type]
    try:
        return _strict_total_order(domain, holds)
    except (TypeError, KeyError):
        return False


Relation = Callable[[tuple[Value, ...], tuple[Value, ...]], bool]


def _relation(*selectors: SSAValue) -> tuple[list[SSAValue], Relation] | None:
    """The selector as a relation between the key's and the query's values of a list of
    s-ops, when every select in it compares an s-op with itself. Given several selectors:
    their `or`, when no (key, query) pair of tuples satisfies two of them."""
    sops: list[SSAValue] = []

    def slot(v: SSAValue) -> int:
        for i, s in enumerate(sops):
            if same_sop(s, v):
                return i
        sops.append(v)
        return len(sops) - 1

    def build(sel: SSAValue) -> Relation | None:
        op = sel.owner
        if isinstance(op, SelectOp | SelectTableOp):
            if not same_sop(op.keys, op.queries):
                return None
            i = slot(op.keys)
            if isinstance(op, SelectOp):
                pred = op.predicate.data
                return lambda k, q: bool(pred(k[i], q[i]))
            table = op.table
            return lambda k, q: bool(table.lookup(k[i], q[i]))
        if isinstance(op, SelectAndOp | SelectOrOp):
            lhs, rhs = build(op.lhs), build(op.rhs)
            if lhs is None or rhs is None:
                return None
            if isinstance(op, SelectAndOp):
                return lambda k, q: lhs(k, q) and rhs(k, q)
            return lambda k, q: lhs(k, q) or rhs(k, q)
        if isinstance(op, SelectNotOp):
            inner = build(op.input)
            return None if inner is None else (lambda k, q: not inner(k, q))
        return None

    parts = [build(selector) for selector in selectors]
    if any(part is None for part in parts):
        return None
    if len(parts) == 1:
        return sops, parts[0]  # type: ignore[return-value]
    sets = [_value_set(s) for s in sops]
    if any(s is None for s in sets) or _domain_size(sets) > ORDER_CHECK_CAP:
        return None
    domain = list(product(*sets))  # type: ignore[arg-type]
    try:
        if any(sum(part(k, q) for part in parts) > 1 for k in domain for q in domain):  # type: ignore[misc]
            return None
    except (TypeError, KeyError):
        return None
    return sops, lambda k, q: any(part(k, q) for part in parts)  # type: ignore[misc]


def _domain_size(sets) -> int:
    size = 1
    for s in sets:
        size *= len(s)
    return size


def _strict_total_order(domain: Sequence[tuple[Value, ...]], holds: Relation) -> bool:
    """`holds(k, q)` off the diagonal is a strict total order on `domain` (whose entries
    are different), and the diagonal is constant."""
    n = len(domain)
    m = [[holds(k, q) for k in domain] for q in domain]  # m[q][k]
    if len({m[i][i] for i in range(n)}) > 1:
        return False
    before = [sum(m[q][k] for k in range(n) if k != q) for q in range(n)]
    if len(set(before)) != n:
        return False
    return all(m[q][k] == (before[k] < before[q]) for q in range(n) for k in range(n) if k != q)


def selects_at_most_one(selector: SSAValue) -> bool:
    """A sufficient condition for every query selecting at most one key:
    - `select(keys, queries, ==)` with keys unique among the values the queries can hold
      (keys the queries never hold are selected by no query); `select(..., false)`;
    - a select or select_table with unique keys under which each query value selects at
      most one of the keys' values;
    - an `and` with one side that selects at most one."""
    owner = selector.owner
    if isinstance(owner, SelectOp):
        if owner.predicate.data == Predicate.FALSE:
            return True
        if owner.predicate.data == Predicate.EQ:
            queries = _value_set(owner.queries)
            return unique_per_position(owner.keys, None if queries is None else set(queries))
        if not unique_per_position(owner.keys):
            return False
        pred = owner.predicate.data
        return _one_key_per_query(owner.keys, owner.queries, lambda k, q: bool(pred(k, q)))
    if isinstance(owner, SelectTableOp):
        if not unique_per_position(owner.keys):
            return False
        table = owner.table
        return _one_key_per_query(owner.keys, owner.queries, lambda k, q: bool(table.lookup(k, q)), table)
    if isinstance(owner, SelectAndOp):
        return selects_at_most_one(owner.lhs) or selects_at_most_one(owner.rhs)
    return False


def _one_key_per_query(
    keys: SSAValue, queries: SSAValue, holds: Callable[[Value, Value], bool], table: TableAttr | None = None
) -> bool:
    kvals, qvals = _value_set(keys, table, 0), _value_set(queries, table, 1)
    if kvals is None or qvals is None or len(kvals) * len(qvals) > ORDER_CHECK_CAP * ORDER_CHECK_CAP:
        return False
    try:
        return all(sum(holds(k, q) for k in kvals) <= 1 for q in qvals)
    except (TypeError, KeyError):
        return False


def aggregate_encoding(op: AggregateOp) -> Encoding:
    """The encoding of `op`: the user's, else categorical when it can only copy one value
    (strings and bools cannot be averaged; a selector that picks at most one position),
    else numerical (it may average several numbers)."""
    result_type = op.result.type
    assert isinstance(result_type, SOpType)
    if result_type.enc is not None:
        return result_type.enc
    input_type = op.input.type
    assert isinstance(input_type, SOpType)
    if input_type.value_kind in (ValueKind.STR, ValueKind.BOOL) or selects_at_most_one(op.selector):
        return Encoding.CATEGORICAL
    return Encoding.NUMERICAL
