"""Random RASP programs for differential fuzzing (hypothesis strategies).

    from rasp_ir.testing.strategies import fuzz_cases, random_case

    @given(fuzz_cases())                      # hypothesis: draws, and shrinks on failure
    def test_x(case): ...

    case = random_case(random.Random(seed))   # the same generator driven by `random`

One generator, two sources of choices: hypothesis's `draw` (so a failing case shrinks
the hypothesis way) or a `random.Random` (fast, reproducible by seed, for long
campaigns in `benchmarks/fuzz.py`).

What it draws (a `rasp_ir.testing.FuzzCase`):
- a vocabulary of 1..20 strings or ints (ints include negatives), and max_seq_len
  1..32 (mostly short: long sequences make value sets of means large);
- 1..`max_ops` operations, chained to a depth of at most 1..6: Map, SequenceMap,
  LinearSequenceMap, Aggregate (categorical or numerical, with or without a default),
  SelectorWidth; their operands are earlier results or fresh tokens, indices, length,
  Full or ConstantSOp, sometimes annotated numerical or categorical; selectors are
  Select with every Comparison, and SelectorAnd/Or/Not over selects of different s-ops;
- inputs of mixed lengths (one of length max_seq_len and one of length 1 among them).

Map functions are total over the values their input can take: the generator follows
an approximate value set of every s-op (exact for maps, a superset of kinds for
aggregates: their default and some means) and builds each function from a lookup table
with a default, or from arithmetic only where every value is a number. Arithmetic
whose results leave [-1000, 1000] (or mix kinds, like `max(True, 2)`) is not drawn.
Constants include negatives and fractions (0.5, -1.5, 1/3...).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from hypothesis import strategies as st

from rasp_ir.dialects.rasp import kind_of_values, sort_values
from rasp_ir.testing import PREDICATES, Fn, FuzzCase, Node

T = TypeVar("T")

STR_VOCAB = tuple("abcdefghijklmnopqrstuvwxyz") + ("ab", "xy", "(", ")", "0", "-", " ")
INT_VOCAB = tuple(range(0, 30)) + tuple(range(-1, -11, -1))
INT_CONSTS = (0, 1, 2, -1, 3, -2, 5, -3, 10)
FRAC_CONSTS = (0.5, -0.5, 0.25, 1.5, -1.5, 2.5, 0.1, 1 / 3, -0.75)
STR_OUTPUTS = ("a", "b", "c", "x", "y", "z", "", "ab")
MAX_MAGNITUDE = 1000
DOMAIN_CAP = 48

# --------------------------------------------------------------------------- #
# Sources of choices
# --------------------------------------------------------------------------- #


class Source:
    """The choices the generator makes. Each method's first option (or lowest value)
    is the simplest, which is where hypothesis shrinks to."""

    def integer(self, lo: int, hi: int) -> int:
        raise NotImplementedError

    def sample(self, options: Sequence[T], k: int) -> list[T]:
        """`k` distinct entries of `options` (which has no duplicates)."""
        raise NotImplementedError

    def choice(self, options: Sequence[T]) -> T:
        return options[self.integer(0, len(options) - 1)]

    def weighted(self, options: Sequence[tuple[int, T]]) -> T:
        total = sum(w for w, _ in options)
        r = self.integer(0, total - 1)
        for w, v in options:
            if r < w:
                return v
            r -= w
        raise AssertionError("unreachable")

    def chance(self, p: float) -> bool:
        """True with probability `p` (shrinks to False)."""
        return self.integer(0, 999) >= round(1000 * (1 - p))


class HypothesisSource(Source):
    def __init__(self, draw: Callable[[st.SearchStrategy[Any]], Any]):
        self.draw = draw

    def integer(self, lo: int, hi: int) -> int:
        return self.draw(st.integers(lo, hi))

    def sample(self, options: Sequence[T], k: int) -> list[T]:
        return self.draw(st.permutations(list(options)))[:k]


class RandomSource(Source):
    def __init__(self, rng: random.Random):
        self.rng = rng

    def integer(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)

    def sample(self, options: Sequence[T], k: int) -> list[T]:
        return self.rng.sample(list(options), k)


# --------------------------------------------------------------------------- #
# Approximate value sets
# --------------------------------------------------------------------------- #


def _is_num(v: Any) -> bool:
    return not isinstance(v, str)


def _all_num(dom: Sequence[Any]) -> bool:
    return all(_is_num(v) for v in dom)


def _all_str(dom: Sequence[Any]) -> bool:
    return all(isinstance(v, str) for v in dom)


def _domain(values: list[Any]) -> tuple[Any, ...]:
    """Distinct values (True, 1 and 1.0 kept apart) in a stable order, at most DOMAIN_CAP
    of them (the smallest and largest numbers kept)."""
    vals = sort_values(values)
    if len(vals) > DOMAIN_CAP:
        step = (len(vals) - 1) / (DOMAIN_CAP - 1)
        vals = [vals[round(i * step)] for i in range(DOMAIN_CAP)]
    return tuple(vals)


def _well_formed(values: list[Any]) -> bool:
    """One kind (ints and floats mix), finite, and not too large."""
    if not values:
        return False
    try:
        kind_of_values(values)
    except TypeError:
        return False
    for v in values:
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            if not math.isfinite(v) or abs(v) > MAX_MAGNITUDE:
                return False
        if isinstance(v, str) and len(v) > 6:
            return False
    return True


def _apply(fn: Fn, *domains: Sequence[Any]) -> list[Any] | None:
    """`fn` over the (product of the) domains, or None when it raises somewhere."""
    f = fn.make()
    out = []
    try:
        if fn.arity == 1:
            out = [f(x) for x in domains[0]]
        else:
            out = [f(x, y) for x in domains[0] for y in domains[1]]
    except Exception:  # noqa: BLE001 - a candidate that is not total is not drawn
        return None
    if any(not isinstance(v, (bool, int, float, str)) for v in out):
        return None
    return out


def _means(dom: Sequence[Any]) -> list[Any]:
    """A few means an aggregate of `dom` can take (of pairs and triples of values)."""
    nums = [int(v) if isinstance(v, bool) else v for v in dom if _is_num(v)]
    if len(nums) < 2:
        return []
    picks = sorted(set(nums))
    if len(picks) > 5:
        picks = [picks[0], picks[1], picks[len(picks) // 2], picks[-2], picks[-1]]
    out = [(a + b) / 2 for i, a in enumerate(picks) for b in picks[i + 1 :]]
    out += [(picks[0] + picks[0] + picks[-1]) / 3, (picks[0] + picks[-1] + picks[-1]) / 3]
    return out


# --------------------------------------------------------------------------- #
# The generator
# --------------------------------------------------------------------------- #


class _Generator:
    def __init__(self, src: Source, vocab: tuple[Any, ...], max_seq_len: int, max_depth: int):
        self.src = src
        self.vocab = vocab
        self.max_seq_len = max_seq_len
        self.max_depth = max_depth
        self.nodes: list[Node] = []
        self.domains: list[tuple[Any, ...]] = []
        self.depths: list[int] = []

    # -- bookkeeping

    def add(self, node: Node, domain: Sequence[Any], depth: int) -> int:
        self.nodes.append(node)
        self.domains.append(_domain(list(domain)))
        self.depths.append(depth)
        return len(self.nodes) - 1

    def encoding_for(self, dom: Sequence[Any]) -> str | None:
        choice = self.src.weighted([(6, None), (2, "categorical"), (2, "numerical")])
        if choice == "numerical" and not _all_num(dom):
            return None
        return choice

    def constant(self, like: Sequence[Any] = ()) -> Any:
        """A constant: a value of `like` (if any), or a number, or a string."""
        pools: list[tuple[int, Sequence[Any]]] = []
        if like:
            pools.append((4, list(like)))
        pools += [(3, INT_CONSTS), (2, FRAC_CONSTS), (1, STR_OUTPUTS), (1, (True, False))]
        return self.src.choice(self.src.weighted(pools))

    # -- s-op operands

    def sop(self, limit: int) -> int:
        """An s-op of depth <= limit: a recent one, an earlier one, or a fresh leaf."""
        candidates = [i for i, n in enumerate(self.nodes) if not n.is_selector and self.depths[i] <= limit]
        options: list[tuple[int, str]] = [(3, "leaf")]
        if candidates:
            options += [(7, "recent"), (2, "earlier")]
        how = self.src.weighted(options)
        if how == "recent":
            return candidates[-1]
        if how == "earlier":
            return self.src.choice(candidates)
        return self.leaf()

    def leaf(self) -> int:
        op = self.src.weighted([(4, "tokens"), (4, "indices"), (1, "length"), (2, "full"), (1, "constant")])
        if op == "tokens":
            dom: Sequence[Any] = self.vocab
        elif op == "indices":
            dom = range(self.max_seq_len)
        elif op == "length":
            dom = range(1, self.max_seq_len + 1)
        else:
            value = self.constant(self.vocab)
            enc = self.encoding_for([value]) if self.src.chance(0.2) else None
            return self.add(Node(op, value=value, encoding=enc), [value], 0)
        enc = self.encoding_for(dom) if self.src.chance(0.2) else None
        return self.add(Node(op, encoding=enc), dom, 0)

    # -- functions

    def table_fn(self, arity: int, *domains: Sequence[Any]) -> tuple[Fn, list[Any]]:
        out_pool = self.src.weighted(
            [(3, INT_CONSTS), (3, STR_OUTPUTS), (2, (True, False)), (2, FRAC_CONSTS), (1, INT_CONSTS + FRAC_CONSTS)]
        )
        if arity == 1:
            keys = list(domains[0])
        else:
            keys = [(x, y) for x in domains[0] for y in domains[1]]
            if len(keys) > 64:
                keys = [keys[self.src.integer(0, len(keys) - 1)] for _ in range(12)]
        unique: dict[Any, Any] = {}
        for k in keys:
            unique.setdefault(k, k)  # Python equality (True == 1 == 1.0): one entry per dict key
        keys = list(unique)
        n = self.src.integer(1, min(len(keys), 8)) if keys else 0
        chosen = self.src.sample(keys, n) if n else []
        table = [(k, self.src.choice(out_pool)) for k in chosen]
        default = self.src.choice(out_pool)
        fn = Fn.lookup(arity, table, default)
        out = [v for _, v in table] + [default]
        return fn, out

    def map_fn(self, dom: Sequence[Any]) -> tuple[Fn, list[Any]]:
        candidates: list[str] = []
        c = self.constant(dom)
        if _all_num(dom):
            k = self.src.choice((2, 3, 4))
            n = self.src.choice(INT_CONSTS + FRAC_CONSTS)
            candidates = [
                f"x + {n!r}", f"x - {n!r}", f"{n!r} - x", f"x * {n!r}", "-x", "abs(x)", f"x // {k}",
                f"x % {k}", f"x / {k}", f"min(x, {n!r})", f"max(x, {n!r})", "x * x",
                f"x > {c!r}", f"x <= {c!r}", f"x == {c!r}", f"x != {c!r}", f"int(x < {c!r})",
                f"1 if x >= {c!r} else -1",
            ]
        elif _all_str(dom):
            s = self.src.choice(STR_OUTPUTS[:6])
            candidates = [f"x == {c!r}", f"x != {c!r}", f"x + {s!r}", "len(x)", f"x < {c!r}", f"x >= {c!r}"]
        else:
            candidates = [f"x == {c!r}", f"x != {c!r}"]
        if self.src.chance(0.55):
            body = self.src.choice(candidates)
            fn = Fn.expr(1, body)
            out = _apply(fn, dom)
            if out is not None and _well_formed(out):
                return fn, out
        fn, _ = self.table_fn(1, dom)
        out = _apply(fn, dom)
        assert out is not None
        return fn, out

    def sequence_map_fn(self, d1: Sequence[Any], d2: Sequence[Any]) -> tuple[Fn, list[Any]]:
        candidates = ["x == y", "x != y"]
        if _all_num(d1) and _all_num(d2):
            c = self.src.choice(INT_CONSTS)
            candidates += [
                "x + y", "x - y", "x * y", "max(x, y)", "min(x, y)", "x < y", "x >= y",
                f"x + {self.src.choice(INT_CONSTS + FRAC_CONSTS)!r} * y", f"(x + y) % {self.src.choice((2, 3))}",
                f"x if y > {c!r} else {c!r}",
            ]
        if _all_str(d1) and _all_str(d2):
            candidates += ["x + y", "x < y", "x if x < y else y"]
        if _all_num(d2) and d1:
            other = self.src.choice(list(d1))
            candidates += [f"x if y > {self.src.choice(list(d2))!r} else {other!r}"]
        if self.src.chance(0.6):
            fn = Fn.expr(2, self.src.choice(candidates))
            out = _apply(fn, d1, d2)
            if out is not None and _well_formed(out):
                return fn, out
        fn, _ = self.table_fn(2, d1, d2)
        out = _apply(fn, d1, d2)
        assert out is not None
        return fn, out

    # -- operations

    def map(self) -> int:
        x = self.sop(self.max_depth - 1)
        fn, out = self.map_fn(self.domains[x])
        return self.add(Node("map", (x,), fn=fn, encoding=self.encoding_for(out)), out, self.depths[x] + 1)

    def sequence_map(self) -> int:
        x, y = self.sop(self.max_depth - 1), self.sop(self.max_depth - 1)
        fn, out = self.sequence_map_fn(self.domains[x], self.domains[y])
        depth = max(self.depths[x], self.depths[y]) + 1
        return self.add(Node("sequence_map", (x, y), fn=fn, encoding=self.encoding_for(out)), out, depth)

    def linear_sequence_map(self) -> int:
        for _ in range(4):
            x, y = self.sop(self.max_depth - 1), self.sop(self.max_depth - 1)
            dx, dy = self.domains[x], self.domains[y]
            if _all_num(dx) and _all_num(dy):
                break
        else:
            return self.map()
        a = self.src.choice(INT_CONSTS + FRAC_CONSTS)
        b = self.src.choice(INT_CONSTS + FRAC_CONSTS)
        fn = Fn.expr(2, f"{a!r} * x + {b!r} * y")
        out = _apply(fn, dx, dy)
        if out is None or not _well_formed(out):
            return self.map()
        depth = max(self.depths[x], self.depths[y]) + 1
        enc = self.encoding_for(out)
        return self.add(Node("linear_sequence_map", (x, y), value=(a, b), encoding=enc), out, depth)

    def selector(self, limit: int, nest: int = 2) -> int:
        """A selector over s-ops of depth <= limit."""
        reusable = [i for i, n in enumerate(self.nodes) if n.is_selector and self.depths[i] <= limit]
        options: list[tuple[int, str]] = [(10, "select")]
        if reusable:
            options.append((2, "reuse"))
        if nest > 0:
            options += [(3, "and"), (3, "or"), (2, "not")]
        how = self.src.weighted(options)
        if how == "reuse":
            return self.src.choice(reusable)
        if how in ("and", "or"):
            a, b = self.selector(limit, nest - 1), self.selector(limit, nest - 1)
            return self.add(Node(how, (a, b)), (), max(self.depths[a], self.depths[b]))
        if how == "not":
            a = self.selector(limit, nest - 1)
            return self.add(Node("not", (a,)), (), self.depths[a])
        keys, queries = self.select_operand(limit), self.select_operand(limit)
        dk, dq = self.domains[keys], self.domains[queries]
        ordered = (_all_num(dk) and _all_num(dq)) or (_all_str(dk) and _all_str(dq))
        weights = {"EQ": 5, "LT": 2, "LEQ": 2, "GT": 2, "GEQ": 2, "NEQ": 2, "TRUE": 1, "FALSE": 1}
        preds = [(w, p) for p, w in weights.items() if ordered or p in ("EQ", "NEQ", "TRUE", "FALSE")]
        assert all(p in PREDICATES for _, p in preds)
        pred = self.src.weighted(preds)
        return self.add(Node("select", (keys, queries), value=pred), (), max(self.depths[keys], self.depths[queries]))

    def select_operand(self, limit: int) -> int:
        """An s-op for a select: a select compares categorical s-ops, so one annotated
        numerical (which the compiler refuses there) is drawn less often."""
        i = self.sop(limit)
        if self.nodes[i].encoding == "numerical" and self.src.chance(0.75):
            i = self.sop(limit)
        return i

    def aggregate(self) -> int:
        sel = self.selector(self.max_depth - 1)
        x = self.sop(self.max_depth - 1)
        dom = self.domains[x]
        numerical = _all_num(dom) and self.src.chance(0.4)
        default = None
        if self.src.chance(0.5):
            if numerical or _all_num(dom):
                default = self.src.choice(self.src.choice((INT_CONSTS, FRAC_CONSTS, list(dom))))
                if numerical and isinstance(default, bool):
                    default = int(default)
            else:
                default = self.src.choice(list(dom) + list(STR_OUTPUTS[:3]))
        values = [int(v) if numerical and isinstance(v, bool) else v for v in dom]
        out = values + [0 if default is None else default] + _means(values)
        if numerical:
            enc: str | None = "numerical"
        else:
            enc = self.src.weighted([(3, None), (1, "categorical")])
        depth = max(self.depths[sel], self.depths[x]) + 1
        return self.add(Node("aggregate", (sel, x), value=default, encoding=enc), out, depth)

    def selector_width(self) -> int:
        sel = self.selector(self.max_depth - 1)
        out = range(self.max_seq_len + 1)
        return self.add(Node("selector_width", (sel,), encoding=self.encoding_for(out)), out, self.depths[sel] + 1)


def generate_case(
    src: Source,
    *,
    max_depth: int = 6,
    max_vocab: int = 20,
    max_seq_len: int = 32,
    max_ops: int = 10,
    n_inputs: int = 16,
) -> FuzzCase:
    """Draw one case from `src` (see the module docstring)."""
    if src.chance(0.6):
        vocab = tuple(src.sample(STR_VOCAB, src.integer(1, min(max_vocab, len(STR_VOCAB)))))
    else:
        vocab = tuple(src.sample(INT_VOCAB, src.integer(1, min(max_vocab, len(INT_VOCAB)))))
    seq_cap = src.weighted([(6, min(8, max_seq_len)), (3, min(16, max_seq_len)), (1, max_seq_len)])
    msl = src.integer(1, seq_cap)
    depth = src.weighted([(1, 1)] + [(2, d) for d in range(2, max_depth + 1)]) if max_depth > 1 else 1
    gen = _Generator(src, vocab, msl, depth)
    n_ops = src.integer(1, max_ops)
    ops = {
        "map": gen.map,
        "sequence_map": gen.sequence_map,
        "linear_sequence_map": gen.linear_sequence_map,
        "aggregate": gen.aggregate,
        "selector_width": gen.selector_width,
    }
    for _ in range(n_ops):
        op = src.weighted([(5, "aggregate"), (4, "map"), (3, "sequence_map"), (1, "linear_sequence_map"), (2, "selector_width")])
        ops[op]()
    # The output: the deepest s-op (the latest of those).
    output = max(
        (i for i, n in enumerate(gen.nodes) if not n.is_selector and n.op not in ("tokens", "indices", "length", "full", "constant")),
        key=lambda i: (gen.depths[i], i),
    )
    lengths = [msl, 1] + [src.integer(1, msl) for _ in range(max(0, n_inputs - 2))]
    inputs = tuple(tuple(src.choice(vocab) for _ in range(n)) for n in lengths[:n_inputs])
    return FuzzCase(tuple(gen.nodes), output, vocab, msl, inputs).pruned()


def fuzz_cases(
    *,
    max_depth: int = 6,
    max_vocab: int = 20,
    max_seq_len: int = 32,
    max_ops: int = 10,
    n_inputs: int = 16,
) -> st.SearchStrategy[FuzzCase]:
    """A hypothesis strategy of fuzz cases (programs, vocab, max_seq_len, inputs)."""

    @st.composite
    def cases(draw: Callable[[st.SearchStrategy[Any]], Any]) -> FuzzCase:
        return generate_case(
            HypothesisSource(draw),
            max_depth=max_depth,
            max_vocab=max_vocab,
            max_seq_len=max_seq_len,
            max_ops=max_ops,
            n_inputs=n_inputs,
        )

    return cases()


def random_case(rng: random.Random, **options: Any) -> FuzzCase:
    """`generate_case` driven by `rng` (options as `fuzz_cases`)."""
    return generate_case(RandomSource(rng), **options)


__all__ = ["HypothesisSource", "RandomSource", "Source", "fuzz_cases", "generate_case", "random_case"]
