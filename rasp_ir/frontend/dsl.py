"""A tracr-style embedded RASP: build a program as a graph of Python objects.

    from rasp_ir import dsl

    opp = (dsl.length - dsl.indices - 1).named("opp_idx")
    flip = dsl.Select(dsl.indices, opp, dsl.Comparison.EQ).named("flip")
    reverse = dsl.Aggregate(flip, dsl.tokens).named("reverse")
    reverse("abc")                    # ['c', 'b', 'a'] (reference interpreter)

The names are tracr's (`tracr.rasp.rasp`), so a tracr program runs with only its
imports changed. The nodes *are* the semantic graph: each knows its children,
maps hold plain Python callables, and the reference interpreter
(`rasp_ir.interpreter.reference`) and `rasp_ir.Program` walk the graph.

Differences from tracr, and why:
- An s-op's encoding is None until the user annotates it with `numerical` or
  `categorical`: the compiler chooses where the user did not (DESIGN.md §2).
- `Aggregate`'s default is 0 when not given (the paper's semantics), not None.
- `Map` fuses `Map(f, Map(g, x))` into one map only when asked
  (`simplify=True`; tracr always does): fusing is a rewrite the compiler does,
  and not fusing keeps every label the user gave.
- Selectors are not merged into one `Select` with a Python predicate: `&`, `|`,
  `~` build `SelectorAnd`/`SelectorOr`/`SelectorNot`, which the rasp dialect
  has ops for (a Select with a Python predicate evaluates but does not compile).
- `named`, `numerical` and `categorical` on the shared `tokens`, `indices` and
  `length` return an annotated copy, so the module-level primitives stay clean.
- An s-op has no truth value (`if sop == 1:` is a bug; it raises).
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar, Union

import numpy as np

from rasp_ir.dialects.rasp import Encoding, Predicate
from rasp_ir.errors import RaspTypeError

Value = Union[int, float, bool, str]
"""A value an s-op holds at one position."""

Comparison = Predicate
"""The predicates of `Select`: EQ, LT, LEQ, GT, GEQ, NEQ, TRUE, FALSE; `pred(key, query)`."""

_VALUE_TYPES = (bool, int, float, str)

ExprT = TypeVar("ExprT", bound="RASPExpr")


def is_value(x: object) -> bool:
    """True for a RASP value (int, float, bool or str)."""
    return isinstance(x, _VALUE_TYPES)


class RASPExpr:
    """A node of a RASP program: an s-op or a selector."""

    _ids = itertools.count(1)
    default_name = "expr"

    def __init__(self) -> None:
        self.unique_id = next(RASPExpr._ids)
        self._name: str | None = None
        self.encoding: Encoding | None = None

    @property
    def children(self) -> Sequence[RASPExpr]:
        """The nodes this one reads (in operand order)."""
        return ()

    @property
    def name(self) -> str:
        """The user's name, or the kind of node (`map`, `select`...)."""
        return self._name if self._name is not None else self.default_name

    @property
    def label(self) -> str:
        """A name for messages and SSA value names: the user's, else `kind_id`."""
        return self._name if self._name is not None else f"{self.default_name}_{self.unique_id}"

    @property
    def annotations(self) -> Mapping[str, Any]:
        """tracr-style read-only view of the annotations (`name`, `encoding`)."""
        return {"name": self.name, "encoding": self.encoding}

    def _target(self: ExprT) -> ExprT:
        """The node an annotation applies to (primitives are copied, see module doc)."""
        return self

    def named(self: ExprT, name: str) -> ExprT:
        """Give the node a name (used in messages and as the SSA name)."""
        if not isinstance(name, str) or not name:
            raise RaspTypeError(f"a name must be a non-empty string, not {name!r}")
        target = self._target()
        target._name = name
        return target

    def annotated(self: ExprT, **annotations: Any) -> ExprT:
        """tracr's `annotated(name=..., encoding=...)`."""
        target = self
        if "name" in annotations:
            target = target.named(annotations.pop("name"))
        if "encoding" in annotations:
            target = _annotate_encoding(target, annotations.pop("encoding"))
        if annotations:
            raise RaspTypeError(f"unknown annotations: {', '.join(sorted(annotations))}")
        return target

    def __call__(self, xs: Sequence[Value]) -> list:
        """Evaluate with the reference interpreter (tracr's `sop(xs)`)."""
        from rasp_ir.interpreter.reference import evaluate

        return evaluate(self, xs)

    def __bool__(self) -> bool:
        raise RaspTypeError(
            f"'{self.label}' has no truth value: comparisons of s-ops build new s-ops "
            "(use Map or SequenceMap for a condition per position)"
        )

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.label}>"


# --------------------------------------------------------------------------- #
# S-ops
# --------------------------------------------------------------------------- #


def _binary(op: Callable[[Any, Any], Any], symbol: str, reflected: bool = False):
    """An operator method: with an s-op it is a SequenceMap, with a constant a Map."""

    def method(self: SOp, other: Any) -> SOp:
        if isinstance(other, Selector):
            return NotImplemented
        if isinstance(other, SOp):
            fst, snd = (other, self) if reflected else (self, other)
            return SequenceMap(op, fst, snd)
        if isinstance(other, np.generic):
            other = other.item()
        if not is_value(other):
            return NotImplemented
        if reflected:
            return Map(lambda x: op(other, x), self)
        return Map(lambda x: op(x, other), self)

    method.__doc__ = f"`{symbol}` per position."
    return method


def _and(x: Any, y: Any) -> Any:
    return x and y


def _or(x: Any, y: Any) -> Any:
    return x or y


class SOp(RASPExpr):
    """A sequence operation: one value per position."""

    default_name = "sop"

    __add__ = _binary(operator.add, "+")
    __radd__ = _binary(operator.add, "+", reflected=True)
    __sub__ = _binary(operator.sub, "-")
    __rsub__ = _binary(operator.sub, "-", reflected=True)
    __mul__ = _binary(operator.mul, "*")
    __rmul__ = _binary(operator.mul, "*", reflected=True)
    __truediv__ = _binary(operator.truediv, "/")
    __rtruediv__ = _binary(operator.truediv, "/", reflected=True)
    __floordiv__ = _binary(operator.floordiv, "//")
    __rfloordiv__ = _binary(operator.floordiv, "//", reflected=True)
    __mod__ = _binary(operator.mod, "%")
    __rmod__ = _binary(operator.mod, "%", reflected=True)
    __pow__ = _binary(operator.pow, "**")
    __rpow__ = _binary(operator.pow, "**", reflected=True)
    __eq__ = _binary(operator.eq, "==")  # type: ignore[assignment]
    __ne__ = _binary(operator.ne, "!=")  # type: ignore[assignment]
    __lt__ = _binary(operator.lt, "<")
    __le__ = _binary(operator.le, "<=")
    __gt__ = _binary(operator.gt, ">")
    __ge__ = _binary(operator.ge, ">=")
    # Logical, as in tracr: `x & y` is `x and y` per position.
    __and__ = _binary(_and, "and")
    __rand__ = _binary(_and, "and", reflected=True)
    __or__ = _binary(_or, "or")
    __ror__ = _binary(_or, "or", reflected=True)
    __hash__ = RASPExpr.__hash__

    def __invert__(self) -> SOp:
        """Logical `not` per position."""
        return Map(lambda x: not x, self)

    def __neg__(self) -> SOp:
        return Map(operator.neg, self)

    def __abs__(self) -> SOp:
        return Map(abs, self)


class _Primitive(SOp):
    """tokens, indices and length: shared singletons, copied when annotated."""

    def _target(self):
        if any(self is shared for shared in (tokens, indices, length)):
            copy = type(self)()
            copy.encoding = self.encoding
            return copy
        return self

    @property
    def label(self) -> str:
        return self._name if self._name is not None else self.default_name


class TokensType(_Primitive):
    """The input tokens."""

    default_name = "tokens"


class IndicesType(_Primitive):
    """The positions 0..n-1."""

    default_name = "indices"


class LengthType(_Primitive):
    """The sequence length n, at every position."""

    default_name = "length"


tokens = TokensType()
indices = IndicesType()
length = LengthType()


def _as_sop(x: Any, role: str) -> SOp:
    """An s-op, or a constant value as a `Full` s-op (the paper writes `select(indices, 0, ==)`)."""
    if isinstance(x, SOp):
        return x
    if is_value(x):
        return Full(x)
    raise RaspTypeError(f"{role} must be an s-op or a value (int, float, bool, str), not {x!r}")


def _as_selector(x: Any, role: str) -> Selector:
    if isinstance(x, Selector):
        return x
    raise RaspTypeError(f"{role} must be a selector, not {x!r}")


def _check_callable(f: Any, role: str) -> None:
    if not callable(f) or isinstance(f, RASPExpr):
        raise RaspTypeError(f"{role} must be a Python function, not {f!r}")


class Map(SOp):
    """`f` applied at every position: `Map(lambda x: x + 1, tokens)`."""

    default_name = "map"

    def __init__(self, f: Callable[[Value], Value], inner: SOp, simplify: bool = False):
        super().__init__()
        _check_callable(f, "Map's function")
        inner = _as_sop(inner, "Map's input")
        if simplify and isinstance(inner, Map) and type(inner) is Map:
            inner_f = inner.f
            f, inner = (lambda x, _f=f, _g=inner_f: _f(_g(x))), inner.inner
        self.f = f
        self.inner = inner

    @property
    def children(self) -> Sequence[RASPExpr]:
        return (self.inner,)


class SequenceMap(SOp):
    """`f` applied to two s-ops position by position: `SequenceMap(lambda x, y: x - y, length, indices)`."""

    default_name = "sequence_map"

    def __init__(self, f: Callable[[Value, Value], Value], fst: SOp, snd: SOp):
        super().__init__()
        _check_callable(f, f"{type(self).__name__}'s function")
        self.f = f
        self.fst = _as_sop(fst, "the first input")
        self.snd = _as_sop(snd, "the second input")

    @property
    def children(self) -> Sequence[RASPExpr]:
        return (self.fst, self.snd)


class LinearSequenceMap(SequenceMap):
    """`fst_fac * fst + snd_fac * snd` per position (compiles to one linear layer)."""

    default_name = "linear_sequence_map"

    def __init__(self, fst: SOp, snd: SOp, fst_fac: int | float, snd_fac: int | float):
        for fac in (fst_fac, snd_fac):
            if isinstance(fac, bool) or not isinstance(fac, (int, float)):
                raise RaspTypeError(f"LinearSequenceMap's coefficients must be numbers, not {fac!r}")
        super().__init__(lambda x, y: fst_fac * x + snd_fac * y, fst, snd)
        self.fst_fac = fst_fac
        self.snd_fac = snd_fac


class Full(SOp):
    """One value at every position: `Full(1)`."""

    default_name = "full"

    def __init__(self, fill: Value):
        super().__init__()
        if not is_value(fill):
            raise RaspTypeError(f"Full's value must be an int, float, bool or str, not {fill!r}")
        self.fill = fill


class ConstantSOp(SOp):
    """A constant s-op: a single value (as `Full`), or tracr's per-position list
    (for tests; it cannot be compiled, since it fixes the input length)."""

    default_name = "constant_sop"

    def __init__(self, value: Value | Sequence[Value], check_length: bool = True):
        super().__init__()
        if not is_value(value):
            if not isinstance(value, Sequence) or not all(is_value(v) for v in value):
                raise RaspTypeError(f"ConstantSOp's value must be a value or a list of values, not {value!r}")
            value = list(value)
        self.value = value
        self.check_length = check_length

    @property
    def is_uniform(self) -> bool:
        """True when the constant is one value at every position."""
        return is_value(self.value)


class SelectorWidth(SOp):
    """How many key positions each query position selects."""

    default_name = "selector_width"

    def __init__(self, selector: Selector):
        super().__init__()
        self.selector = _as_selector(selector, "SelectorWidth's input")

    @property
    def children(self) -> Sequence[RASPExpr]:
        return (self.selector,)


class Aggregate(SOp):
    """The mean of `sop` over the positions `selector` selects; `default` (0 when
    None) where it selects none. A single selected value is copied unchanged."""

    default_name = "aggregate"

    def __init__(self, selector: Selector, sop: SOp | Value, default: Value | None = None):
        super().__init__()
        self.selector = _as_selector(selector, "Aggregate's selector")
        self.sop = _as_sop(sop, "Aggregate's values")
        if default is not None and not is_value(default):
            raise RaspTypeError(f"Aggregate's default must be an int, float, bool or str, not {default!r}")
        self.default = default

    @property
    def default_value(self) -> Value:
        """The value where nothing is selected (0 unless given)."""
        return 0 if self.default is None else self.default

    @property
    def children(self) -> Sequence[RASPExpr]:
        return (self.selector, self.sop)


# --------------------------------------------------------------------------- #
# Selectors
# --------------------------------------------------------------------------- #


class Selector(RASPExpr):
    """A boolean matrix over (query, key) positions; combine with `&`, `|`, `~`."""

    default_name = "selector"

    def __and__(self, other: Selector) -> Selector:
        return SelectorAnd(self, other) if isinstance(other, Selector) else NotImplemented

    def __or__(self, other: Selector) -> Selector:
        return SelectorOr(self, other) if isinstance(other, Selector) else NotImplemented

    def __invert__(self) -> Selector:
        return SelectorNot(self)

    def __call__(self, xs: Sequence[Value]) -> list[list[bool]]:
        """The selection matrix on input `xs`: `m[q][k]`."""
        from rasp_ir.interpreter.reference import evaluate

        return evaluate(self, xs)


_COMPARISON_SYMBOLS = {"==": "eq", "!=": "neq", "<": "lt", "<=": "leq", ">": "gt", ">=": "geq"}


class Select(Selector):
    """Query position q selects key position k when `predicate(keys[k], queries[q])`.

    `predicate` is a `Comparison`; a Python function `(key, query) -> bool` also
    evaluates, but cannot be compiled."""

    default_name = "select"

    def __init__(self, keys: SOp | Value, queries: SOp | Value, predicate: Comparison | Callable[[Value, Value], bool]):
        super().__init__()
        self.keys = _as_sop(keys, "Select's keys")
        self.queries = _as_sop(queries, "Select's queries")
        if isinstance(predicate, str) and not isinstance(predicate, Predicate):
            name = _COMPARISON_SYMBOLS.get(predicate, predicate.lower())
            try:
                predicate = Predicate(name)
            except ValueError:
                raise RaspTypeError(f"unknown comparison {predicate!r}") from None
        if not isinstance(predicate, Predicate):
            _check_callable(predicate, "Select's predicate")
        self.predicate = predicate

    @property
    def children(self) -> Sequence[RASPExpr]:
        return (self.keys, self.queries)


class SelectorAnd(Selector):
    """Selected by both."""

    default_name = "selector_and"

    def __init__(self, fst: Selector, snd: Selector):
        super().__init__()
        self.fst = _as_selector(fst, "SelectorAnd's first input")
        self.snd = _as_selector(snd, "SelectorAnd's second input")

    @property
    def children(self) -> Sequence[RASPExpr]:
        return (self.fst, self.snd)


class SelectorOr(Selector):
    """Selected by either."""

    default_name = "selector_or"

    def __init__(self, fst: Selector, snd: Selector):
        super().__init__()
        self.fst = _as_selector(fst, "SelectorOr's first input")
        self.snd = _as_selector(snd, "SelectorOr's second input")

    @property
    def children(self) -> Sequence[RASPExpr]:
        return (self.fst, self.snd)


class SelectorNot(Selector):
    """Selected where the input is not."""

    default_name = "selector_not"

    def __init__(self, inner: Selector):
        super().__init__()
        self.inner = _as_selector(inner, "SelectorNot's input")

    @property
    def children(self) -> Sequence[RASPExpr]:
        return (self.inner,)


def selector_and(fst: Selector, snd: Selector, simplify: bool = True) -> Selector:
    """tracr's name for `fst & snd` (never merged into one Select here)."""
    return SelectorAnd(fst, snd)


def selector_or(fst: Selector, snd: Selector, simplify: bool = True) -> Selector:
    """tracr's name for `fst | snd`."""
    return SelectorOr(fst, snd)


def selector_not(inner: Selector, simplify: bool = True) -> Selector:
    """tracr's name for `~inner`."""
    return SelectorNot(inner)


# --------------------------------------------------------------------------- #
# Encodings
# --------------------------------------------------------------------------- #


def _annotate_encoding(sop: ExprT, encoding: Encoding | str | None) -> ExprT:
    if not isinstance(sop, SOp):
        raise RaspTypeError(f"only s-ops have an encoding; '{sop.label}' is a {type(sop).__name__}")
    if encoding is not None:
        try:
            encoding = Encoding(getattr(encoding, "value", encoding))
        except ValueError:
            raise RaspTypeError(f"unknown encoding {encoding!r} (numerical or categorical)") from None
    target = sop._target()
    target.encoding = encoding
    return target


def annotate(expr: ExprT, **annotations: Any) -> ExprT:
    """tracr's `annotate(expr, name=..., encoding=...)`."""
    return expr.annotated(**annotations)


def numerical(sop: ExprT) -> ExprT:
    """Annotate: lay `sop` out as one number in the residual stream (and, for an
    Aggregate, average: True/False count as 1/0, as in tracr)."""
    return _annotate_encoding(sop, Encoding.NUMERICAL)


def categorical(sop: ExprT) -> ExprT:
    """Annotate: lay `sop` out one-hot, one dimension per value."""
    return _annotate_encoding(sop, Encoding.CATEGORICAL)


def get_encoding(sop: SOp) -> Encoding | None:
    """The user's annotation, or None where the compiler will choose."""
    return sop.encoding


def is_numerical(sop: SOp) -> bool:
    return sop.encoding == Encoding.NUMERICAL


def is_categorical(sop: SOp) -> bool:
    return sop.encoding == Encoding.CATEGORICAL


# --------------------------------------------------------------------------- #
# Graph helpers
# --------------------------------------------------------------------------- #


def topological_order(*outputs: RASPExpr) -> list[RASPExpr]:
    """Every node reachable from `outputs`, each after its children, in a stable
    order (depth-first, children left to right). Iterative: deep graphs are fine."""
    order: list[RASPExpr] = []
    done: set[int] = set()
    for root in outputs:
        stack: list[tuple[RASPExpr, bool]] = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if id(node) in done:
                continue
            if expanded:
                done.add(id(node))
                order.append(node)
                continue
            stack.append((node, True))
            for child in reversed(node.children):
                if id(child) not in done:
                    stack.append((child, False))
    return order


__all__ = [
    "Value",
    "Encoding",
    "Comparison",
    "RASPExpr",
    "SOp",
    "Selector",
    "TokensType",
    "IndicesType",
    "LengthType",
    "tokens",
    "indices",
    "length",
    "Map",
    "SequenceMap",
    "LinearSequenceMap",
    "Full",
    "ConstantSOp",
    "SelectorWidth",
    "Aggregate",
    "Select",
    "SelectorAnd",
    "SelectorOr",
    "SelectorNot",
    "selector_and",
    "selector_or",
    "selector_not",
    "annotate",
    "numerical",
    "categorical",
    "get_encoding",
    "is_numerical",
    "is_categorical",
    "is_value",
    "topological_order",
]
