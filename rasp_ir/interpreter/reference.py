"""The reference interpreter: what a RASP program means (DESIGN.md §2).

Every other level (the compiled transformer, the ONNX model) is checked against
this one, so it follows the paper's semantics literally:

- `select(keys, queries, pred)`: query position q selects key position k when
  `pred(keys[k], queries[q])`.
- `aggregate(sel, s, default)`: per query position, where nothing is selected,
  `default` (0 unless given); where one position is selected, its value copied
  unchanged (an int stays an int, a string a string); where several are, their
  mean, a float. Averaging several strings or bools raises RaspEvaluationError.
  Exception: an Aggregate the user annotated `numerical` (tracr style, e.g.
  `make_frac_prevs`) counts True/False as 1/0 before it averages or copies.
  A mean is computed exactly and rounded once, so it equals, bit for bit, the
  value the value-set analysis lists for it (`rasp_ir.analysis.value_sets`).
- `selector_width(sel)`: per query position, the number of selected positions.

Inputs: a non-empty sequence of values (the paper has no empty sequence, and a
compiled model's `length` starts at 1), no longer than `max_seq_len` and drawn
from `vocab` when these are known. Input errors raise RaspInputError; errors
while evaluating (a user's map function raising, averaging strings) raise
RaspEvaluationError naming the op's label and the position.

Values of s-ops are Python lists; selectors are numpy boolean matrices
`[query, key]`. Each node is evaluated once per input, and the results of map
functions and predicates are cached per distinct argument across inputs, so a
batch costs little more than its distinct values.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from rasp_ir.dialects.rasp import Encoding, value_key
from rasp_ir.errors import RaspError, RaspEvaluationError, RaspInputError
from rasp_ir.frontend import dsl

_VALUE_TYPES = (bool, int, float, str)


def as_value(x: Any) -> Any:
    """`x` as a plain Python RASP value (numpy scalars are unwrapped), or None if it is not one."""
    if isinstance(x, np.generic):
        x = x.item()
    return x if isinstance(x, _VALUE_TYPES) else None


def _show(values: Iterable[Any], limit: int = 6) -> str:
    values = list(values)
    text = ", ".join(repr(v) for v in values[:limit])
    return text + (", ..." if len(values) > limit else "")


class Interpreter:
    """Evaluates DSL graphs. Holds the caches, so reuse one for many inputs."""

    def __init__(
        self,
        *,
        vocab: Sequence[Any] | None = None,
        max_seq_len: int | None = None,
    ):
        self.vocab = None if vocab is None else list(vocab)
        self._vocab_keys = None if vocab is None else {value_key(v) for v in vocab}
        self.max_seq_len = max_seq_len
        # id(node) -> (node, {argument keys: result}); the node is kept so its id stays unique.
        self._caches: dict[int, tuple[dsl.RASPExpr, dict]] = {}
        self._orders: dict[int, tuple[dsl.RASPExpr, list[dsl.RASPExpr]]] = {}

    # ------------------------------------------------------------------ API

    def evaluate(self, expr: dsl.RASPExpr, xs: Sequence[Any]) -> list:
        """The value of `expr` on input `xs`: a list for an s-op, a `[query][key]`
        list of lists for a selector."""
        result = self.evaluate_nodes(expr, xs)[id(expr)]
        return result.tolist() if isinstance(result, np.ndarray) else list(result)

    def evaluate_batch(self, expr: dsl.RASPExpr, batch: Iterable[Sequence[Any]]) -> list[list]:
        """`evaluate` on each input of `batch`."""
        return [self.evaluate(expr, xs) for xs in batch]

    def evaluate_nodes(self, expr: dsl.RASPExpr, xs: Sequence[Any]) -> dict[int, Any]:
        """The value of every node `expr` depends on, keyed by `id(node)`."""
        tokens = self.check_input(xs)
        n = len(tokens)
        env: dict[int, Any] = {}
        for node in self._order(expr):
            env[id(node)] = self._eval(node, env, tokens, n)
        return env

    def check_input(self, xs: Sequence[Any]) -> list:
        """The input as a list of values, or RaspInputError saying what is wrong with it."""
        if isinstance(xs, bytes):
            raise RaspInputError(f"the input must be a sequence of tokens, not {type(xs).__name__}")
        try:
            tokens = list(xs)
        except TypeError:
            raise RaspInputError(f"the input must be a sequence of tokens, not {xs!r}") from None
        if not tokens:
            raise RaspInputError("the input is empty; a RASP input has at least one token")
        if self.max_seq_len is not None and len(tokens) > self.max_seq_len:
            raise RaspInputError(
                f"the input has {len(tokens)} tokens, more than max_seq_len {self.max_seq_len}"
            )
        for i, t in enumerate(tokens):
            v = as_value(t)
            if v is None:
                raise RaspInputError(f"token {t!r} at position {i} is not an int, float, bool or str")
            if self._vocab_keys is not None and value_key(v) not in self._vocab_keys:
                raise RaspInputError(
                    f"token {v!r} at position {i} is not in the vocabulary [{_show(self.vocab, 20)}]"
                )
            tokens[i] = v
        return tokens

    # ------------------------------------------------------------ internals

    def _order(self, expr: dsl.RASPExpr) -> list[dsl.RASPExpr]:
        cached = self._orders.get(id(expr))
        if cached is None or cached[0] is not expr:
            cached = (expr, dsl.topological_order(expr))
            self._orders[id(expr)] = cached
        return cached[1]

    def _cache(self, node: dsl.RASPExpr) -> dict:
        entry = self._caches.get(id(node))
        if entry is None or entry[0] is not node:
            entry = (node, {})
            self._caches[id(node)] = entry
        return entry[1]

    def _eval(self, node: dsl.RASPExpr, env: dict[int, Any], tokens: list, n: int) -> Any:
        if isinstance(node, dsl.TokensType):
            return tokens
        if isinstance(node, dsl.IndicesType):
            return list(range(n))
        if isinstance(node, dsl.LengthType):
            return [n] * n
        if isinstance(node, dsl.Full):
            return [node.fill] * n
        if isinstance(node, dsl.ConstantSOp):
            if node.is_uniform:
                return [node.value] * n
            if len(node.value) != n:
                raise RaspEvaluationError(
                    f"constant '{node.label}' has {len(node.value)} values but the input has {n} positions"
                )
            return list(node.value)
        if isinstance(node, dsl.Map):
            return self._map(node, env[id(node.inner)])
        if isinstance(node, dsl.SequenceMap):
            return self._sequence_map(node, env[id(node.fst)], env[id(node.snd)])
        if isinstance(node, dsl.Select):
            return self._select(node, env[id(node.keys)], env[id(node.queries)])
        if isinstance(node, dsl.SelectorAnd):
            return env[id(node.fst)] & env[id(node.snd)]
        if isinstance(node, dsl.SelectorOr):
            return env[id(node.fst)] | env[id(node.snd)]
        if isinstance(node, dsl.SelectorNot):
            return ~env[id(node.inner)]
        if isinstance(node, dsl.SelectorWidth):
            return [int(c) for c in env[id(node.selector)].sum(axis=1)]
        if isinstance(node, dsl.Aggregate):
            return self._aggregate(node, env[id(node.selector)], env[id(node.sop)])
        raise RaspEvaluationError(f"'{node.label}': the interpreter cannot evaluate a {type(node).__name__}")

    def _result(self, node: dsl.RASPExpr, r: Any, args: tuple, position: int) -> Any:
        v = as_value(r)
        if v is None:
            shown = ", ".join(map(repr, args))
            raise RaspEvaluationError(
                f"{node.default_name} '{node.label}' returned {r!r} for ({shown}) at position {position}; "
                "an s-op holds int, float, bool or str values"
            )
        return v

    def _call(self, node: dsl.RASPExpr, args: tuple, position: int) -> Any:
        try:
            r = node.f(*args)
        except RaspError as exc:  # e.g. a table lookup of IR that does not cover the value
            raise type(exc)(f"{exc} (at position {position})") from exc
        except Exception as exc:  # a user's function: report it as theirs
            shown = ", ".join(map(repr, args))
            raise RaspEvaluationError(
                f"{node.default_name} '{node.label}' raised {type(exc).__name__}: {exc} "
                f"on ({shown}) at position {position}"
            ) from exc
        return self._result(node, r, args, position)

    def _map(self, node: dsl.Map, xs: list) -> list:
        cache = self._cache(node)
        out = []
        for i, x in enumerate(xs):
            key = value_key(x)
            r = cache.get(key, cache)
            if r is cache:
                r = cache[key] = self._call(node, (x,), i)
            out.append(r)
        return out

    def _sequence_map(self, node: dsl.SequenceMap, xs: list, ys: list) -> list:
        cache = self._cache(node)
        out = []
        for i, (x, y) in enumerate(zip(xs, ys)):
            key = (value_key(x), value_key(y))
            r = cache.get(key, cache)
            if r is cache:
                r = cache[key] = self._call(node, (x, y), i)
            out.append(r)
        return out

    def _select(self, node: dsl.Select, keys: list, queries: list) -> np.ndarray:
        cache = self._cache(node)
        key_index, key_values = _distinct(keys)
        query_index, query_values = _distinct(queries)
        table = np.empty((len(query_values), len(key_values)), dtype=bool)
        for qi, q in enumerate(query_values):
            for ki, k in enumerate(key_values):
                ck = (value_key(k), value_key(q))
                hit = cache.get(ck)
                if hit is None:
                    try:
                        hit = cache[ck] = bool(node.predicate(k, q))
                    except Exception as exc:
                        kpos = key_index.index(ki)
                        qpos = query_index.index(qi)
                        raise RaspEvaluationError(
                            f"select '{node.label}': comparing key {k!r} (position {kpos}) with query {q!r} "
                            f"(position {qpos}) raised {type(exc).__name__}: {exc}"
                        ) from exc
                table[qi, ki] = hit
        return table[np.ix_(query_index, key_index)]

    def _aggregate(self, node: dsl.Aggregate, selector: np.ndarray, values: list) -> list:
        numerical = node.encoding == Encoding.NUMERICAL
        if numerical:
            values = [int(v) if isinstance(v, bool) else v for v in values]
        default = node.default_value
        out = []
        for q, row in enumerate(selector):
            picked = [values[k] for k in np.flatnonzero(row)]
            if not picked:
                out.append(default)
            elif len(picked) == 1 and not (numerical and isinstance(picked[0], str)):
                out.append(picked[0])
            else:
                out.append(self._mean(node, picked, q, numerical))
        return out

    @staticmethod
    def _mean(node: dsl.Aggregate, picked: list, q: int, numerical: bool) -> float:
        bad = next((v for v in picked if isinstance(v, (str, bool))), None)
        if bad is not None:
            what = "strings" if isinstance(bad, str) else "bools"
            hint = (
                " (annotate it numerical to average True/False as 1/0)"
                if what == "bools" and not numerical
                else ""
            )
            raise RaspEvaluationError(
                f"aggregate '{node.label}' at position {q}: cannot average {what} "
                f"[{_show(picked)}] selected at {len(picked)} positions; an aggregate of "
                f"{what} must select at most one position{hint}"
            )
        if all(isinstance(v, int) for v in picked):
            return sum(picked) / len(picked)  # int / int is correctly rounded
        return float(sum(map(Fraction, picked)) / len(picked))


def _distinct(values: list) -> tuple[list[int], list]:
    """(index of each value in the distinct list, the distinct values in first-seen order)."""
    position: dict = {}
    distinct: list = []
    index = []
    for v in values:
        key = value_key(v)
        i = position.get(key)
        if i is None:
            i = position[key] = len(distinct)
            distinct.append(v)
        index.append(i)
    return index, distinct


def evaluate(
    expr: dsl.RASPExpr,
    xs: Sequence[Any],
    *,
    vocab: Sequence[Any] | None = None,
    max_seq_len: int | None = None,
) -> list:
    """The value of `expr` on one input (see `Interpreter.evaluate`)."""
    return Interpreter(vocab=vocab, max_seq_len=max_seq_len).evaluate(expr, xs)


def evaluate_batch(
    expr: dsl.RASPExpr,
    batch: Iterable[Sequence[Any]],
    *,
    vocab: Sequence[Any] | None = None,
    max_seq_len: int | None = None,
) -> list[list]:
    """`evaluate` on each input of a batch, sharing the caches."""
    return Interpreter(vocab=vocab, max_seq_len=max_seq_len).evaluate_batch(expr, batch)
