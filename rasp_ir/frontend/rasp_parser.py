"""The `.rasp` language: RASP as the paper writes it, parsed into the DSL graph.

    from rasp_ir import parse_rasp

    prog = parse_rasp('''
        opp_index = length - indices - 1;
        flip = select(indices, opp_index, ==);
        reverse = aggregate(flip, tokens);
    ''', output="reverse")
    prog.evaluate(list("abc"))          # ['c', 'b', 'a']

The language is the one of the paper's reference interpreter (tech-srl/RASP):
statements ending in `;`, `def f(a, b) { ...; return x; }`, `for x in xs { ... }`,
`load "file";`, and the expressions of `rasp_grammar.lark` (which also documents
the operator precedence, surprises included). The standard library
(`rasp_stdlib.rasp`) is loaded before every program.

How a program runs. The statements are executed once, at parse time, in Python:
- compile-time values (numbers, strings, bools, lists, dicts, functions) are
  computed immediately, with Python's meaning of every operator;
- s-ops and selectors are DSL nodes (`rasp_ir.frontend.dsl`); an operation on
  s-ops builds a node: `select` a `Select`, `aggregate` an `Aggregate`,
  `selector_width` a `SelectorWidth`, `length` the DSL's `length`, `and`/`or`/
  `not` on selectors `SelectorAnd`/`SelectorOr`/`SelectorNot`, and element-wise
  operations `Map` (one s-op; constants are folded into the function, never
  turned into `Full` s-ops) or `SequenceMap` (two s-ops; more than two, as in
  `a if c else b` on three s-ops, become nested SequenceMaps whose inner node
  packs its two values into one string).
The element-wise functions are Python's operators, so the values are exactly the
original's: `/` is true division, `%` Python's modulo, `^` `pow`, `round`
Python's half-to-even (an int), `indicator(x)` 1 or 0, `and`/`or`/`not` on
s-ops are per-position booleans of the operands' truthiness.

Input tokens. A DSL program reads one `tokens` s-op: the tokens as the user
passes them. The original offers typed views of the input: `tokens_str` (also
`tokens`), `tokens_int`, `tokens_float` and `tokens_bool` apply Python's
str/int/float/bool to every token; `tokens_asis` takes them as they are. Here
each typed view is a `Map` applying that conversion to the input (named
`tokens_str`, ...), so a program means the same whatever type of tokens it is
given: `tokens_str` on the int tokens [1, 2] is ["1", "2"], as in the
original. On a vocabulary of the view's own type the conversion is the
identity, and the compiler's canonicalization removes it (`map(id, x)` -> `x`),
so it costs nothing in a compiled model. When the caller states the
vocabulary (`vocab=`), the view of the vocabulary's type is the input s-op
itself, with no Map at all.

Errors: text that does not parse raises `RaspSyntaxError`; unknown names,
wrong kinds of values (a selector where an s-op is expected...), wrong numbers
of arguments raise `RaspTypeError`; a compile-time computation that fails
(division by zero) raises `RaspEvaluationError`. Each message starts with
`file:line:col:` and shows the line with a caret under the place.
"""

from __future__ import annotations

import difflib
import json
import operator
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from rasp_ir.dialects.rasp import Predicate
from rasp_ir.errors import RaspError, RaspEvaluationError, RaspSyntaxError, RaspTypeError
from rasp_ir.frontend import dsl

if TYPE_CHECKING:
    from rasp_ir.program import Program

GRAMMAR_PATH = Path(__file__).with_name("rasp_grammar.lark")
STDLIB_PATH = Path(__file__).with_name("rasp_stdlib.rasp")

MAX_CALL_DEPTH = 200
"""Deepest nesting of RASP function calls (recursion has no base case at parse time)."""

MAX_TRACE_LINES = 8
"""Calls an error message lists ("in f(), called at ...") before it says "..."."""

_ATOMS = (bool, int, float, str)

_SELECT_OPS = {
    "==": Predicate.EQ,
    "!=": Predicate.NEQ,
    "<": Predicate.LT,
    ">": Predicate.GT,
    "<=": Predicate.LEQ,
    ">=": Predicate.GEQ,
}

_COMPARISONS = frozenset(("==", "!=", "<", ">", "<=", ">="))

_BINARY_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "%": operator.mod,
    "^": pow,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
    "<=": operator.le,
    ">=": operator.ge,
}


# --------------------------------------------------------------------------- #
# Source text and located errors
# --------------------------------------------------------------------------- #


class Source:
    """A piece of RASP text and the name errors call it by."""

    def __init__(self, text: str, filename: str = "<rasp>", path: Path | None = None):
        self.text = text
        self.filename = filename
        self.path = path
        self.lines = text.splitlines()

    def excerpt(self, line: int, column: int) -> str:
        """The line, and a caret under `column` (tabs kept, so it lines up)."""
        if not 1 <= line <= len(self.lines):
            return ""
        text = self.lines[line - 1]
        pad = "".join(c if c == "\t" else " " for c in text[: max(column - 1, 0)])
        return f"    {text}\n    {pad}^"

    def error(self, cls: type[RaspError], line: int | None, column: int | None, message: str) -> RaspError:
        """`cls` with `file:line:col: message`, the line and a caret."""
        if line is None:
            err = cls(f"{self.filename}: {message}")
        else:
            column = column or 1
            excerpt = self.excerpt(line, column)
            err = cls(f"{self.filename}:{line}:{column}: {message}" + (f"\n{excerpt}" if excerpt else ""))
        err.filename = self.filename  # type: ignore[attr-defined]
        err.line = line  # type: ignore[attr-defined]
        err.column = column  # type: ignore[attr-defined]
        err.reason = message  # type: ignore[attr-defined]
        return err


def _position(node: Tree | Token | None) -> tuple[int | None, int | None]:
    if isinstance(node, Token):
        return node.line, node.column
    if isinstance(node, Tree) and not node.meta.empty:
        return node.meta.line, node.meta.column
    return None, None


# --------------------------------------------------------------------------- #
# Parsing
# --------------------------------------------------------------------------- #


@lru_cache(maxsize=1)
def _lark() -> Lark:
    return Lark(
        GRAMMAR_PATH.read_text(encoding="utf-8"),
        parser="lalr",
        propagate_positions=True,
        maybe_placeholders=True,
    )


_TERMINAL_NAMES = {
    "NAME": "a name",
    "INT": "a number",
    "FLOAT": "a number",
    "STRING": "a string",
    "$END": "the end of the text",
}


def _terminal_text(name: str) -> str:
    if name in _TERMINAL_NAMES:
        return _TERMINAL_NAMES[name]
    try:
        pattern = _lark().get_terminal(name).pattern
    except KeyError:
        return name
    return f"'{pattern.value}'" if pattern.type == "str" else name


def _token_text(token: Token) -> str:
    if token.type == "$END":
        return "end of text"
    if token.type == "NAME":
        return f"name '{token.value}'"
    if token.type in ("INT", "FLOAT"):
        return f"number {token.value}"
    if token.type == "STRING":
        return f"string {token.value}"
    return f"'{token.value}'"


_OPERATOR_TEXTS = frozenset(
    f"'{op}'" for op in ("+", "-", "*", "/", "%", "^", "==", "!=", "<", ">", "<=", ">=", "and", "or", "in", "if",
                         "[", "(")
)


def _expected_text(expected: set[str]) -> str:
    shown = {_terminal_text(t) for t in expected}
    if shown and shown <= {f"'{op}'" for op in _SELECT_OPS}:
        return "a comparison (== != < > <= >=)"
    if "a name" in shown and "'('" in shown:
        return "an expression"
    rest = sorted(shown - _OPERATOR_TEXTS)
    if shown & _OPERATOR_TEXTS:
        rest.append("an operator")
    if not rest:
        return "something else"
    return rest[0] if len(rest) == 1 else ", ".join(rest[:-1]) + " or " + rest[-1]


def _previous_token_end(source: Source, pos: int) -> tuple[int, int] | None:
    """(line, column) just after the last token before character `pos`."""
    last = None
    try:
        for tok in _lark().lex(source.text[:pos]):
            last = tok
    except UnexpectedInput:
        return None
    if last is None or last.end_line is None:
        return None
    return last.end_line, last.end_column


def _syntax_error(source: Source, exc: UnexpectedInput) -> RaspError:
    if isinstance(exc, UnexpectedCharacters):
        char = source.text[exc.pos_in_stream] if exc.pos_in_stream < len(source.text) else ""
        if char == '"':
            msg = "unterminated string (a string ends with '\"' on the same line)"
        else:
            msg = f"unexpected character {char!r}"
        return source.error(RaspSyntaxError, exc.line, exc.column, msg)
    if isinstance(exc, UnexpectedToken):
        token = exc.token
        expected = set(getattr(exc, "accepts", None) or exc.expected or ())
        at_end = token.type == "$END"
        line, column = (token.line, token.column) if not at_end else (None, None)
        if "SEMICOLON" in expected:
            # The usual mistake: a statement not closed by ';' before the next line.
            start = token.start_pos if not at_end else len(source.text)
            prev = _previous_token_end(source, start if start is not None else len(source.text))
            if prev is not None and (at_end or token.type == "RBRACE" or (line is not None and prev[0] < line)):
                return source.error(RaspSyntaxError, prev[0], prev[1], "missing ';' at the end of the statement")
        if token.type == "RBRACE" and "RETURN" in expected:
            return source.error(
                RaspSyntaxError, line, column, "a function body ends with a return statement, e.g. `return x;`"
            )
        if at_end:
            prev = _previous_token_end(source, len(source.text))
            line, column = prev if prev is not None else (len(source.lines) or 1, 1)
            return source.error(
                RaspSyntaxError, line, column, f"unexpected end of text; expected {_expected_text(expected)}"
            )
        return source.error(
            RaspSyntaxError, line, column, f"unexpected {_token_text(token)}; expected {_expected_text(expected)}"
        )
    if isinstance(exc, UnexpectedEOF):
        prev = _previous_token_end(source, len(source.text))
        line, column = prev if prev is not None else (len(source.lines) or 1, 1)
        return source.error(RaspSyntaxError, line, column, "unexpected end of text")
    return source.error(RaspSyntaxError, getattr(exc, "line", None), getattr(exc, "column", None), str(exc))


def parse_tree(source: Source) -> Tree:
    """The syntax tree of `source`, or RaspSyntaxError with file:line:col and a caret."""
    try:
        return _lark().parse(source.text)
    except UnexpectedInput as exc:
        raise _syntax_error(source, exc) from None


@lru_cache(maxsize=1)
def _stdlib() -> tuple[Source, Tree]:
    source = Source(STDLIB_PATH.read_text(encoding="utf-8"), str(STDLIB_PATH), STDLIB_PATH)
    return source, parse_tree(source)


# --------------------------------------------------------------------------- #
# Values
# --------------------------------------------------------------------------- #


def _is_atom(v: Any) -> bool:
    return isinstance(v, _ATOMS)


def _is_unfinished(v: Any) -> bool:
    return isinstance(v, dsl.RASPExpr)


def describe(v: Any) -> str:
    """What a value is, for messages: "an s-op ('x')", "a selector", "a list"..."""
    if isinstance(v, dsl.SOp):
        return f"an s-op ('{v.label}')"
    if isinstance(v, dsl.Selector):
        return f"a selector ('{v.label}')"
    if isinstance(v, RaspFunction):
        return f"the function '{v.name}'"
    if isinstance(v, Builtin):
        return f"the built-in function '{v.name}'"
    if isinstance(v, bool):
        return f"the bool {v}"
    if isinstance(v, (int, float)):
        return f"the number {v!r}"
    if isinstance(v, str):
        return f'the string "{v}"'
    if isinstance(v, list):
        return "a list"
    if isinstance(v, dict):
        return "a dict"
    return type(v).__name__


def _holds_unfinished(v: Any) -> bool:
    if _is_unfinished(v):
        return True
    if isinstance(v, list):
        return any(_holds_unfinished(x) for x in v)
    if isinstance(v, dict):
        return any(_holds_unfinished(x) for x in v.values())
    return False


class RaspFunction:
    """A function defined with `def`: a closure over the environment it was defined in."""

    def __init__(self, name: str, params: list[str], body: list[Tree], ret: Tree, env: _Env, source: Source,
                 where: Tree):
        self.name = name
        self.params = params
        self.body = body
        self.ret = ret
        self.env = env
        self.source = source
        self.where = where

    def __repr__(self) -> str:
        return f"<RASP function {self.name}({', '.join(self.params)})>"


class Builtin:
    """A function given by the language: `aggregate`, `round`, `range`..."""

    def __init__(self, name: str, fn: Callable[..., Any], arities: Sequence[int], signature: str):
        self.name = name
        self.fn = fn
        self.arities = tuple(arities)
        self.signature = signature

    def __repr__(self) -> str:
        return f"<RASP built-in {self.signature}>"


class _Env:
    """Variables of one scope. `steal`: the scope that also receives every
    non-private name set here (a loaded file's names go to the loader)."""

    def __init__(self, parent: _Env | None = None, steal: _Env | None = None, name: str = ""):
        self.vars: dict[str, Any] = {}
        self.parent = parent
        self.steal = steal
        self.name = name

    def lookup(self, name: str) -> Any:
        env: _Env | None = self
        while env is not None:
            if name in env.vars:
                return env.vars[name]
            env = env.parent
        raise KeyError(name)

    def set(self, name: str, value: Any) -> None:
        self.vars[name] = value
        if self.steal is not None and not name.startswith("_"):
            self.steal.set(name, value)

    def visible(self) -> set[str]:
        names: set[str] = set()
        env: _Env | None = self
        while env is not None:
            names.update(env.vars)
            env = env.parent
        return names


# --------------------------------------------------------------------------- #
# Element-wise functions over s-ops
# --------------------------------------------------------------------------- #


def _pack(*values: Any) -> str:
    """Several values as one string value (for the inner node of a 3-input map)."""
    return json.dumps(list(values), separators=(",", ":"))


def _unpack(packed: str) -> list:
    return json.loads(packed)


def _slot_function(fn: Callable[..., Any], slots: list[tuple[bool, Any]]) -> Callable[..., Any]:
    """`fn` over all operands, as a function of the s-op operands only.

    `slots[i]` is (True, k) for the k-th s-op operand, (False, value) for a constant."""
    if len(slots) == 1:
        return fn
    if len(slots) == 2:
        (s0, a0), (s1, a1) = slots
        if s0 and s1:
            if a0 == 0 and a1 == 1:
                return fn
            if a0 == 0 and a1 == 0:
                return lambda x: fn(x, x)
            return lambda x, y: fn(y, x)
        if s0:
            return lambda x: fn(x, a1)
        return lambda x: fn(a0, x)

    def apply(*xs: Any) -> Any:
        return fn(*[xs[a] if s else a for s, a in slots])

    return apply


def _ternary(c: Any, a: Any, b: Any) -> Any:
    return a if c else b


def _ternary_inner(c: Any, a: Any) -> str:
    return _pack(a) if c else ""


def _ternary_outer(packed: str, b: Any) -> Any:
    return _unpack(packed)[0] if packed else b


def lift(fn: Callable[..., Any], operands: Sequence[Any]) -> dsl.SOp:
    """`fn` applied per position to `operands` (s-ops and constant values, at
    least one s-op): a Map for one distinct s-op, a SequenceMap for two, nested
    SequenceMaps for more. Constants are folded into the function."""
    sops: list[dsl.SOp] = []
    slots: list[tuple[bool, Any]] = []
    for x in operands:
        if isinstance(x, dsl.SOp):
            k = next((i for i, s in enumerate(sops) if s is x), None)
            if k is None:
                k = len(sops)
                sops.append(x)
            slots.append((True, k))
        else:
            slots.append((False, x))
    assert sops, "lift needs an s-op"
    f = _slot_function(fn, slots)
    if len(sops) == 1:
        return dsl.Map(f, sops[0])
    if len(sops) == 2:
        return dsl.SequenceMap(f, sops[0], sops[1])
    if fn is _ternary and len(sops) == 3 and all(s for s, _ in slots):
        # `a if c else b` on three s-ops: the inner node keeps `a` where `c` holds.
        c, a, b = (sops[k] for _, k in slots)
        return dsl.SequenceMap(_ternary_outer, dsl.SequenceMap(_ternary_inner, c, a), b)
    packed = dsl.SequenceMap(_pack, sops[0], sops[1])
    for s in sops[2:-1]:
        packed = dsl.SequenceMap(lambda p, x: _pack(*_unpack(p), x), packed, s)
    return dsl.SequenceMap(lambda p, x, _f=f: _f(*_unpack(p), x), packed, sops[-1])


def _truth_and(a: Any, b: Any) -> bool:
    return bool(a) and bool(b)


def _truth_or(a: Any, b: Any) -> bool:
    return bool(a) or bool(b)


def _truth_not(a: Any) -> bool:
    return not a


def _indicator(a: Any) -> int:
    return 1 if a else 0


# --------------------------------------------------------------------------- #
# The evaluator
# --------------------------------------------------------------------------- #


class _Located(Exception):
    """Internal: a failure at a place, turned into a RaspError by the evaluator."""

    def __init__(self, cls: type[RaspError], message: str, node: Tree | Token | None = None):
        super().__init__(message)
        self.cls = cls
        self.message = message
        self.node = node


class _Context:
    """What one `parse_rasp` run shares: built-ins, library, loaded files."""

    def __init__(self, vocab: Sequence[Any] | None):
        self.builtins = _Env(name="<built-in>")
        self.base = _Env(parent=self.builtins, name="<library>")
        self.full_cache: dict[tuple[str, Any], dsl.Full] = {}
        self.loading: list[Path] = []
        self.depth = 0
        self.select_all = dsl.Select(dsl.indices, dsl.indices, Predicate.TRUE).named("full_s")
        self._install_builtins(vocab)
        self.reserved = frozenset(self.builtins.vars)
        self._load_stdlib()

    # ------------------------------------------------------------ builtins

    def _install_builtins(self, vocab: Sequence[Any] | None) -> None:
        env = self.builtins.vars
        kind = _vocab_kind(vocab)
        for name, conv in (("str", str), ("int", int), ("float", float), ("bool", bool)):
            env[f"tokens_{name}"] = dsl.tokens if kind == name else dsl.Map(conv, dsl.tokens).named(f"tokens_{name}")
        env["tokens_asis"] = dsl.tokens
        env["indices"] = dsl.indices
        env["True"] = True
        env["False"] = False
        for b in (
            Builtin("aggregate", _b_aggregate, (2, 3), "aggregate(selector, sop[, default])"),
            Builtin("round", _b_round, (1,), "round(x)"),
            Builtin("indicator", _b_indicator, (1,), "indicator(x)"),
            Builtin("range", _b_range, (1, 2, 3), "range([start,] stop[, step])"),
            Builtin("zip", _b_zip, tuple(range(1, 64)), "zip(list, ...)"),
            Builtin("len", _b_len, (1,), "len(list)"),
        ):
            env[b.name] = b

    def _load_stdlib(self) -> None:
        source, tree = _stdlib()
        env = _Env(parent=self.builtins, steal=self.base, name="<stdlib>")
        # Primitives the library binds to its public names (private: never exported).
        env.vars["_length"] = dsl.length
        env.vars["_selector_width"] = Builtin("selector_width", _b_selector_width, (1,), "selector_width(selector)")
        env.vars["_full_s"] = self.select_all
        _Evaluator(self, source, env).run(tree.children)

    def full(self, value: Any) -> dsl.Full:
        """One `Full` node per constant value (select/aggregate need s-ops)."""
        key = (type(value).__name__, value)
        node = self.full_cache.get(key)
        if node is None:
            node = self.full_cache[key] = dsl.Full(value)
        return node


def _vocab_kind(vocab: Sequence[Any] | None) -> str | None:
    """"str", "int", "float" or "bool" when every token has that type; None when
    the vocabulary is not given or mixes types."""
    if vocab is None:
        return None
    vocab = list(vocab)
    for name, t in (("bool", bool), ("int", int), ("float", float), ("str", str)):
        if vocab and all(type(v) is t for v in vocab):
            return name
    return None


class _Evaluator:
    """Runs statements of one file (or one function body) in one environment."""

    def __init__(self, ctx: _Context, source: Source, env: _Env, *, top: _Env | None = None):
        self.ctx = ctx
        self.source = source
        self.env = env
        self.top = top  # the main file's environment: assignments there are recorded
        self.assigned: list[tuple[str, dsl.SOp]] = []

    # --------------------------------------------------------- errors

    def fail(self, cls: type[RaspError], node: Tree | Token | None, message: str) -> RaspError:
        line, column = _position(node)
        return self.source.error(cls, line, column, message)

    def _relocate(self, exc: _Located) -> RaspError:
        return self.fail(exc.cls, exc.node, exc.message)

    # ----------------------------------------------------- statements

    def run(self, statements: Sequence[Tree]) -> None:
        for stmt in statements:
            try:
                self.statement(stmt)
            except _Located as exc:
                raise self._relocate(exc) from None

    def statement(self, stmt: Tree) -> None:
        kind = stmt.data
        if kind == "assign":
            self.assign(stmt)
        elif kind == "expr_stmt":
            exprs = stmt.children[0].children
            if len(exprs) != 1:
                raise _Located(RaspSyntaxError, "a statement is one expression or an assignment", exprs[1])
            self.expr(exprs[0])
        elif kind == "funcdef":
            self.funcdef(stmt)
        elif kind == "forloop":
            self.forloop(stmt)
        elif kind == "load":
            self.load(stmt)
        else:  # pragma: no cover - the grammar has no other statements
            raise _Located(RaspSyntaxError, f"unknown statement {kind}", stmt)

    def check_name(self, name: str, node: Tree | Token) -> None:
        if name in self.ctx.reserved:
            raise _Located(RaspTypeError, f"cannot assign to '{name}': it is a built-in name", node)

    def bind(self, name: str, value: Any, node: Tree | Token) -> None:
        self.check_name(name, node)
        if isinstance(value, dsl.RASPExpr) and getattr(value, "_name", None) is None and not isinstance(
            value, (dsl.TokensType, dsl.IndicesType, dsl.LengthType)
        ):
            value.named(name)
        self.env.set(name, value)
        if self.env is self.top and isinstance(value, dsl.SOp):
            self.assigned.append((name, value))

    def assign(self, stmt: Tree) -> None:
        targets_tree, values_tree = stmt.children
        targets: list[Token] = []
        for t in targets_tree.children:
            if not (isinstance(t, Tree) and t.data == "var"):
                raise _Located(RaspSyntaxError, "only names can be assigned to", t)
            targets.append(t.children[0])
        values = [self.expr(e) for e in values_tree.children]
        value: Any = values[0] if len(values) == 1 else values
        if len(targets) == 1:
            self.bind(targets[0].value, value, targets[0])
            return
        if not isinstance(value, list):
            raise _Located(
                RaspTypeError, f"cannot unpack {describe(value)} into {len(targets)} names", values_tree.children[0]
            )
        if len(value) != len(targets):
            raise _Located(
                RaspTypeError,
                f"{len(targets)} names but {len(value)} values",
                values_tree.children[0] if len(values) == 1 else targets[0],
            )
        for t, v in zip(targets, value):
            self.bind(t.value, v, t)

    def funcdef(self, stmt: Tree) -> None:
        name_tok, params_tree, body = stmt.children
        params = [] if params_tree is None else [p.value for p in params_tree.children]
        self.check_name(name_tok.value, name_tok)
        seen: set[str] = set()
        for p in params_tree.children if params_tree is not None else []:
            self.check_name(p.value, p)
            if p.value in seen:
                raise _Located(RaspTypeError, f"parameter '{p.value}' is named twice", p)
            seen.add(p.value)
        *statements, ret = body.children
        fn = RaspFunction(name_tok.value, params, statements, ret.children[0], self.env, self.source, stmt)
        self.env.set(name_tok.value, fn)

    def iterate(self, iterable: Any, node: Tree, what: str) -> list:
        if isinstance(iterable, dict):
            return list(iterable)
        if isinstance(iterable, list):
            return list(iterable)
        raise _Located(RaspTypeError, f"{what} goes over a list or a dict, not {describe(iterable)}", node)

    def bind_iterator(self, env_set: Callable[[str, Any, Token], None], names: list[Token], value: Any) -> None:
        if len(names) == 1:
            env_set(names[0].value, value, names[0])
            return
        if not isinstance(value, list) or len(value) != len(names):
            shown = describe(value) if not isinstance(value, list) else f"a list of {len(value)} values"
            raise _Located(RaspTypeError, f"cannot unpack {shown} into {len(names)} names", names[0])
        for n, v in zip(names, value):
            env_set(n.value, v, n)

    def forloop(self, stmt: Tree) -> None:
        names_tree, iterable_tree, block = stmt.children
        names = list(names_tree.children)
        items = self.iterate(self.expr(iterable_tree), iterable_tree, "a for loop")

        def set_var(name: str, value: Any, node: Token) -> None:
            self.check_name(name, node)
            self.env.set(name, value)

        for item in items:
            self.bind_iterator(set_var, names, item)
            for s in block.children:
                self.statement(s)

    def load(self, stmt: Tree) -> None:
        string = stmt.children[0]
        name = string.value[1:-1]
        path = self.resolve(name)
        if path is None:
            raise _Located(RaspTypeError, f'cannot find the file "{name}" (nor "{name}.rasp")', string)
        path = path.resolve()
        if path in self.ctx.loading:
            raise _Located(RaspTypeError, f'"{name}" loads itself (through {len(self.ctx.loading)} files)', string)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise _Located(RaspTypeError, f'cannot read "{path}": {exc.strerror}', string) from None
        source = Source(text, str(path), path)
        tree = parse_tree(source)
        env = _Env(parent=self.ctx.base, steal=self.env, name=str(path))
        self.ctx.loading.append(path)
        try:
            _Evaluator(self.ctx, source, env).run(tree.children)
        finally:
            self.ctx.loading.pop()
        if self.env is self.top:
            # Names a loaded file exports count as assigned where it was loaded.
            self.assigned.extend(
                (n, v) for n, v in env.vars.items() if not n.startswith("_") and isinstance(v, dsl.SOp)
            )

    def resolve(self, name: str) -> Path | None:
        bases = []
        if self.source.path is not None:
            bases.append(self.source.path.parent)
        bases.append(Path.cwd())
        for base in bases:
            for candidate in (base / name, base / f"{name}.rasp"):
                if candidate.is_file():
                    return candidate
        return None

    # ---------------------------------------------------- expressions

    def expr(self, node: Tree) -> Any:
        method = getattr(self, f"e_{node.data}", None)
        if method is None:  # pragma: no cover - the grammar has no other expressions
            raise _Located(RaspSyntaxError, f"unknown expression {node.data}", node)
        return method(node)

    def e_var(self, node: Tree) -> Any:
        name = node.children[0].value
        try:
            return self.env.lookup(name)
        except KeyError:
            close = difflib.get_close_matches(name, sorted(self.env.visible()), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise _Located(RaspTypeError, f"unknown name '{name}'{hint}", node) from None

    def e_int(self, node: Tree) -> int:
        return int(node.children[0].value)

    def e_float(self, node: Tree) -> float:
        return float(node.children[0].value)

    def e_string(self, node: Tree) -> str:
        return node.children[0].value[1:-1]

    def e_list(self, node: Tree) -> list:
        exprs = node.children[0]
        return [] if exprs is None else [self.expr(e) for e in exprs.children]

    def e_dict(self, node: Tree) -> dict:
        pairs = node.children[0]
        result: dict = {}
        for pair in [] if pairs is None else pairs.children:
            key_node, value_node = pair.children
            result[self.dict_key(key_node)] = self.expr(value_node)
        return result

    def dict_key(self, node: Tree) -> Any:
        key = self.expr(node)
        if not _is_atom(key):
            raise _Located(RaspTypeError, f"a dict key is a number, string or bool, not {describe(key)}", node)
        return key

    def comprehension(self, node: Tree, names_tree: Tree, iterable_tree: Tree, each: Callable[[], None]) -> None:
        items = self.iterate(self.expr(iterable_tree), iterable_tree, "a comprehension")
        outer = self.env
        names = list(names_tree.children)

        def set_var(name: str, value: Any, tok: Token) -> None:
            self.check_name(name, tok)
            self.env.vars[name] = value

        try:
            for item in items:
                self.env = _Env(parent=outer, name="<comprehension>")
                self.bind_iterator(set_var, names, item)
                each()
        finally:
            self.env = outer

    def e_listcomp(self, node: Tree) -> list:
        value_tree, names_tree, iterable_tree = node.children
        result: list = []
        self.comprehension(node, names_tree, iterable_tree, lambda: result.append(self.expr(value_tree)))
        return result

    def e_dictcomp(self, node: Tree) -> dict:
        key_tree, value_tree, names_tree, iterable_tree = node.children
        result: dict = {}

        def each() -> None:
            key = self.dict_key(key_tree)
            result[key] = self.expr(value_tree)

        self.comprehension(node, names_tree, iterable_tree, each)
        return result

    def as_sop(self, value: Any, node: Tree, role: str) -> dsl.SOp:
        if isinstance(value, dsl.SOp):
            return value
        if _is_atom(value):
            return self.ctx.full(value)
        raise _Located(RaspTypeError, f"{role} must be an s-op or a value, not {describe(value)}", node)

    def e_select(self, node: Tree) -> dsl.Selector:
        keys_tree, queries_tree, op_tree = node.children
        keys = self.as_sop(self.expr(keys_tree), keys_tree, "select's keys")
        queries = self.as_sop(self.expr(queries_tree), queries_tree, "select's queries")
        return dsl.Select(keys, queries, _SELECT_OPS[op_tree.children[0].value])

    # Operators ---------------------------------------------------------

    def e_binop(self, node: Tree) -> Any:
        left_tree, op_tree, right_tree = node.children
        op_tok = op_tree.children[0]
        op = op_tok.value
        left = self.expr(left_tree)
        right = self.expr(right_tree)
        if op in ("and", "or"):
            return self.logical(op, left, right, op_tok)
        if op == "in":
            return self.contains(left, right, left_tree, right_tree)
        return self.elementwise(op, _BINARY_OPS[op], [left, right], op_tok, [left_tree, right_tree])

    def logical(self, op: str, left: Any, right: Any, op_tok: Token) -> Any:
        sel_l, sel_r = isinstance(left, dsl.Selector), isinstance(right, dsl.Selector)
        if sel_l and sel_r:
            return dsl.SelectorAnd(left, right) if op == "and" else dsl.SelectorOr(left, right)
        if sel_l or sel_r:
            other = right if sel_l else left
            raise _Located(
                RaspTypeError,
                f"'{op}' combines two selectors or two s-ops/values, not a selector and {describe(other)}",
                op_tok,
            )
        if isinstance(left, dsl.SOp) or isinstance(right, dsl.SOp):
            return self.elementwise(op, _truth_and if op == "and" else _truth_or, [left, right], op_tok)
        if _is_unfinished(left) or _is_unfinished(right):  # pragma: no cover - covered above
            raise _Located(RaspTypeError, f"'{op}' cannot combine these", op_tok)
        return (left and right) if op == "and" else (left or right)

    def elementwise(
        self,
        op: str,
        fn: Callable[..., Any],
        operands: list[Any],
        where: Tree | Token,
        operand_nodes: list[Tree] | None = None,
    ) -> Any:
        """`fn` on values now, or per position when an operand is an s-op."""
        nodes = operand_nodes or [where] * len(operands)
        for value, node in zip(operands, nodes):
            if isinstance(value, dsl.Selector):
                raise _Located(
                    RaspTypeError,
                    f"'{op}' works on s-ops and values, not on {describe(value)} (a selector combines only "
                    "with 'and', 'or', 'not')",
                    node,
                )
            if isinstance(value, (RaspFunction, Builtin)):
                raise _Located(RaspTypeError, f"'{op}' cannot take {describe(value)} (did you forget to call it?)",
                               node)
        if any(isinstance(v, dsl.SOp) for v in operands):
            for value, node in zip(operands, nodes):
                if not isinstance(value, dsl.SOp) and not _is_atom(value):
                    raise _Located(
                        RaspTypeError,
                        f"'{op}' applies per position: an s-op combines with s-ops and single values "
                        f"(number, string, bool), not {describe(value)}",
                        node,
                    )
            return lift(fn, operands)
        if op in _COMPARISONS:
            for value, node in zip(operands, nodes):
                if _holds_unfinished(value):
                    raise _Located(RaspTypeError, f"'{op}' cannot compare lists or dicts that hold s-ops or selectors",
                                   node)
        try:
            return fn(*operands)
        except ZeroDivisionError:
            raise _Located(RaspEvaluationError, f"division by zero in '{op}'", where) from None
        except OverflowError as exc:
            raise _Located(RaspEvaluationError, f"'{op}': {exc}", where) from None
        except (TypeError, ValueError) as exc:
            shown = " and ".join(describe(v) for v in operands)
            raise _Located(RaspTypeError, f"'{op}' cannot take {shown} ({exc})", where) from None

    def contains(self, left: Any, right: Any, left_tree: Tree, right_tree: Tree) -> Any:
        if isinstance(left, dsl.SOp):
            if not isinstance(right, list) or not all(_is_atom(v) for v in right):
                raise _Located(
                    RaspTypeError,
                    f"'s-op in X' needs X to be a list of values (numbers, strings, bools), not {describe(right)}",
                    right_tree,
                )
            container = tuple(right)
            return dsl.Map(lambda x: x in container, left)
        if isinstance(right, dsl.SOp):
            if not _is_atom(left):
                raise _Located(RaspTypeError, f"'X in s-op' needs X to be a value, not {describe(left)}", left_tree)
            atom = left
            hits = dsl.Map(lambda v: 1 if v == atom else 0, right)
            return dsl.Map(lambda m: m > 0, dsl.Aggregate(self.ctx.select_all, hits))
        if _is_unfinished(left) or isinstance(left, (RaspFunction, Builtin)):
            raise _Located(RaspTypeError, f"'in' cannot look for {describe(left)} in a list", left_tree)
        if isinstance(right, (list, dict)) or (isinstance(right, str) and isinstance(left, str)):
            if isinstance(right, list) and _holds_unfinished(right):
                raise _Located(RaspTypeError, "'in' compares values, but this list holds s-ops or selectors",
                               right_tree)
            return left in right
        raise _Located(RaspTypeError, f"'in' looks in a list, a dict or an s-op, not {describe(right)}", right_tree)

    def e_unop(self, node: Tree) -> Any:
        op_tree, operand_tree = node.children
        op_tok = op_tree.children[0]
        op = op_tok.value
        value = self.expr(operand_tree)
        if op == "not":
            if isinstance(value, dsl.Selector):
                return dsl.SelectorNot(value)
            if isinstance(value, dsl.SOp):
                return dsl.Map(_truth_not, value)
            if isinstance(value, (RaspFunction, Builtin)):
                raise _Located(RaspTypeError, f"'not' cannot take {describe(value)}", operand_tree)
            return not value  # a value, or a list/dict (true when not empty, whatever it holds)
        fn = operator.neg if op == "-" else operator.pos
        return self.elementwise(op, fn, [value], op_tok, [operand_tree])

    def e_ifelse(self, node: Tree) -> Any:
        yes_tree, cond_tree, no_tree = node.children
        cond = self.expr(cond_tree)
        if isinstance(cond, dsl.Selector):
            raise _Located(RaspTypeError, f"a condition is an s-op or a value, not {describe(cond)}", cond_tree)
        if isinstance(cond, dsl.SOp):
            yes = self.expr(yes_tree)
            no = self.expr(no_tree)
            return self.elementwise("if/else", _ternary, [cond, yes, no], node, [cond_tree, yes_tree, no_tree])
        return self.expr(yes_tree) if cond else self.expr(no_tree)

    def e_index(self, node: Tree) -> Any:
        target_tree, index_tree = node.children
        target = self.expr(target_tree)
        index = self.expr(index_tree)
        if isinstance(target, (list, str)):
            if not isinstance(index, int):
                raise _Located(RaspTypeError, f"a list or string index is an integer, not {describe(index)}",
                               index_tree)
            if not -len(target) <= index < len(target):
                what = "list" if isinstance(target, list) else "string"
                raise _Located(RaspTypeError, f"index {index} is out of range for a {what} of length {len(target)}",
                               index_tree)
            return target[index]
        if isinstance(target, dict):
            if not _is_atom(index):
                raise _Located(RaspTypeError, f"a dict key is a number, string or bool, not {describe(index)}",
                               index_tree)
            if index not in target:
                keys = ", ".join(repr(k) for k in list(target)[:8]) + (", ..." if len(target) > 8 else "")
                raise _Located(RaspTypeError, f"key {index!r} is not in the dict (its keys: {keys})", index_tree)
            return target[index]
        if isinstance(target, dsl.SOp):
            if isinstance(index, bool) or not isinstance(index, int):
                raise _Located(
                    RaspTypeError,
                    f"an s-op is indexed by an integer, not {describe(index)} (to read the position an s-op "
                    "gives, use aggregate(select(indices, position, ==), sop))",
                    index_tree,
                )
            return self.read_position(target, index)
        raise _Located(RaspTypeError, f"cannot index {describe(target)}", target_tree)

    def read_position(self, sop: dsl.SOp, index: int) -> dsl.SOp:
        """`sop[index]` at every position: the value at `index` (from the end when
        negative; 0 where the input is too short): an aggregate, as in the original."""
        if index >= 0:
            where: dsl.SOp = self.ctx.full(index)
        else:
            where = dsl.Map(lambda n, _i=index: n + _i, dsl.length)
        return dsl.Aggregate(dsl.Select(dsl.indices, where, Predicate.EQ), sop)

    def e_call(self, node: Tree) -> Any:
        callee_tree, args_tree = node.children
        callee = self.expr(callee_tree)
        arg_trees = [] if args_tree is None else list(args_tree.children)
        args = [self.expr(a) for a in arg_trees]
        if isinstance(callee, RaspFunction):
            return self.call_function(callee, args, node)
        if isinstance(callee, Builtin):
            if len(args) not in callee.arities:
                raise _Located(
                    RaspTypeError,
                    f"{callee.name} takes {_arity_text(callee.arities)}, but {len(args)} "
                    f"{'was' if len(args) == 1 else 'were'} given: {callee.signature}",
                    node,
                )
            return callee.fn(self, node, args, arg_trees)
        if _is_unfinished(callee):
            raise _Located(
                RaspTypeError,
                f"{describe(callee)} is not a function (to run a program on an input, use Program.evaluate)",
                callee_tree,
            )
        raise _Located(RaspTypeError, f"{describe(callee)} is not a function", callee_tree)

    def call_function(self, fn: RaspFunction, args: list[Any], node: Tree) -> Any:
        if len(args) != len(fn.params):
            raise _Located(
                RaspTypeError,
                f"{fn.name} takes {_arity_text((len(fn.params),))} ({', '.join(fn.params)}), but {len(args)} "
                f"{'was' if len(args) == 1 else 'were'} given",
                node,
            )
        if self.ctx.depth >= MAX_CALL_DEPTH:
            raise _Located(RaspTypeError, f"calls nested more than {MAX_CALL_DEPTH} deep (endless recursion?)", node)
        env = _Env(parent=fn.env, name=fn.name)
        for name, value in zip(fn.params, args):
            env.vars[name] = value
        inner = _Evaluator(self.ctx, fn.source, env)
        self.ctx.depth += 1
        try:
            for stmt in fn.body:
                inner.statement(stmt)
            results = [inner.expr(e) for e in fn.ret.children]
        except _Located as exc:
            raise self._called_from(inner._relocate(exc), fn, node) from None
        except RaspError as exc:
            raise self._called_from(exc, fn, node) from None
        except RecursionError:
            raise _Located(RaspTypeError, "calls nested too deep to evaluate (endless recursion?)", node) from None
        finally:
            self.ctx.depth -= 1
        return results[0] if len(results) == 1 else results

    def _called_from(self, exc: RaspError, fn: RaspFunction, node: Tree) -> RaspError:
        text = str(exc)
        depth = text.count("\n  in ")
        if depth < MAX_TRACE_LINES:
            line, column = _position(node)
            text += f"\n  in {fn.name}(), called at {self.source.filename}:{line}:{column}"
        elif not text.endswith("\n  ..."):
            text += "\n  ..."
        new = type(exc)(text)
        for attr in ("filename", "line", "column", "reason"):
            if hasattr(exc, attr):
                setattr(new, attr, getattr(exc, attr))
        return new


def _arity_text(arities: Sequence[int]) -> str:
    if len(arities) == 1:
        n = arities[0]
        return f"{n} argument{'s' if n != 1 else ''}"
    if list(arities) == list(range(arities[0], arities[-1] + 1)):
        if len(arities) > 10:
            return f"at least {arities[0]} argument{'s' if arities[0] != 1 else ''}"
        return f"{arities[0]} to {arities[-1]} arguments"
    return " or ".join(map(str, arities)) + " arguments"


# --------------------------------------------------------------------------- #
# Built-in functions: fn(evaluator, call node, args, arg nodes)
# --------------------------------------------------------------------------- #


def _b_aggregate(ev: _Evaluator, node: Tree, args: list[Any], trees: list[Tree]) -> dsl.SOp:
    selector, values = args[0], args[1]
    if not isinstance(selector, dsl.Selector):
        raise _Located(RaspTypeError, f"aggregate's first argument is a selector, not {describe(selector)}", trees[0])
    sop = ev.as_sop(values, trees[1], "aggregate's second argument")
    default = None
    if len(args) == 3:
        default = args[2]
        if not _is_atom(default):
            raise _Located(
                RaspTypeError, f"aggregate's default is a value (number, string, bool), not {describe(default)}",
                trees[2],
            )
    return dsl.Aggregate(selector, sop, default)


def _b_selector_width(ev: _Evaluator, node: Tree, args: list[Any], trees: list[Tree]) -> dsl.SOp:
    if not isinstance(args[0], dsl.Selector):
        raise _Located(RaspTypeError, f"selector_width takes a selector, not {describe(args[0])}", trees[0])
    return dsl.SelectorWidth(args[0])


def _b_round(ev: _Evaluator, node: Tree, args: list[Any], trees: list[Tree]) -> Any:
    return ev.elementwise("round", round, args, node, trees)


def _b_indicator(ev: _Evaluator, node: Tree, args: list[Any], trees: list[Tree]) -> Any:
    value = args[0]
    if not (isinstance(value, dsl.SOp) or _is_atom(value)):
        raise _Located(RaspTypeError, f"indicator takes an s-op or a value, not {describe(value)}", trees[0])
    return ev.elementwise("indicator", _indicator, args, node, trees)


def _b_range(ev: _Evaluator, node: Tree, args: list[Any], trees: list[Tree]) -> list:
    for value, tree in zip(args, trees):
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Located(RaspTypeError, f"range takes integers, not {describe(value)}", tree)
    try:
        return list(range(*args))
    except ValueError as exc:
        raise _Located(RaspTypeError, f"range: {exc}", node) from None


def _b_zip(ev: _Evaluator, node: Tree, args: list[Any], trees: list[Tree]) -> list:
    for value, tree in zip(args, trees):
        if not isinstance(value, list):
            raise _Located(RaspTypeError, f"zip takes lists, not {describe(value)}", tree)
    lengths = {len(v) for v in args}
    if len(lengths) > 1:
        raise _Located(RaspTypeError, f"zip takes lists of one length, not of lengths {sorted(lengths)}", node)
    return [list(t) for t in zip(*args)]


def _b_len(ev: _Evaluator, node: Tree, args: list[Any], trees: list[Tree]) -> int:
    value = args[0]
    if not isinstance(value, (list, dict, str)):
        extra = " (the length of the input is the s-op 'length')" if isinstance(value, dsl.SOp) else ""
        raise _Located(RaspTypeError, f"len takes a list, dict or string, not {describe(value)}{extra}", trees[0])
    return len(value)


# --------------------------------------------------------------------------- #
# Public API
# --------------------------------------------------------------------------- #


class RaspModule:
    """The names a `.rasp` program defines (its top-level environment, with the
    library and built-ins behind it), and the s-ops it assigned, in order."""

    def __init__(
        self,
        source: Source,
        env: _Env,
        assigned: list[tuple[str, dsl.SOp]],
        vocab: Sequence[Any] | None,
        max_seq_len: int | None,
    ):
        self.source = source
        self.env = env
        self.assigned = assigned
        self.vocab = vocab
        self.max_seq_len = max_seq_len

    @property
    def names(self) -> dict[str, Any]:
        """The program's own top-level names and their values."""
        return dict(self.env.vars)

    def __getitem__(self, name: str) -> Any:
        try:
            return self.env.lookup(name)
        except KeyError:
            raise KeyError(name) from None

    def __contains__(self, name: str) -> bool:
        try:
            self.env.lookup(name)
        except KeyError:
            return False
        return True

    def sop(self, output: str | None = None) -> tuple[str, dsl.SOp]:
        """The s-op named `output` (default: the last s-op the program assigned)."""
        where = self.source.filename
        if output is None:
            if not self.assigned:
                raise RaspTypeError(
                    f"{where}: the program assigns no s-op, so there is no output; assign one "
                    "(e.g. `out = aggregate(select(indices, indices, ==), tokens);`)"
                )
            return self.assigned[-1]
        try:
            value = self.env.lookup(output)
        except KeyError:
            shown = ", ".join(dict.fromkeys(n for n, _ in self.assigned)) or "none"
            raise RaspTypeError(f"{where}: no s-op named '{output}' (the program's s-ops: {shown})") from None
        if not isinstance(value, dsl.SOp):
            hint = " (aggregate it or take its selector_width)" if isinstance(value, dsl.Selector) else ""
            raise RaspTypeError(f"{where}: the output '{output}' is {describe(value)}, not an s-op{hint}")
        return output, value

    def program(self, output: str | None = None) -> Program:
        """A Program computing the s-op named `output` (default: the last assigned)."""
        from rasp_ir.program import Program

        name, sop = self.sop(output)
        return Program.from_dsl(sop, name=name, vocab=self.vocab, max_seq_len=self.max_seq_len)


def load_rasp(
    source: str,
    filename: str = "<rasp>",
    *,
    vocab: Sequence[Any] | None = None,
    max_seq_len: int | None = None,
    path: Path | None = None,
) -> RaspModule:
    """Run a `.rasp` program's statements; the names it defines.

    `vocab` (optional) sets the type of the input tokens (see the module doc)
    and, with `max_seq_len`, is passed on to the Programs made from it."""
    if not isinstance(source, str):
        raise RaspTypeError(f"RASP source is text, not {type(source).__name__}")
    src = Source(source, filename, path)
    tree = parse_tree(src)
    ctx = _Context(vocab)
    env = _Env(parent=ctx.base, name=filename)
    evaluator = _Evaluator(ctx, src, env, top=env)
    if path is not None:
        ctx.loading.append(path.resolve())
    try:
        evaluator.run(tree.children)
    except RecursionError:
        raise RaspTypeError(f"{filename}: the program nests expressions or calls too deeply to evaluate") from None
    return RaspModule(src, env, evaluator.assigned, vocab, max_seq_len)


def parse_rasp(
    source: str,
    output: str | None = None,
    filename: str = "<rasp>",
    *,
    vocab: Sequence[Any] | None = None,
    max_seq_len: int | None = None,
) -> Program:
    """The Program computing the s-op named `output` (default: the last s-op
    the program assigns) of the `.rasp` program `source`.

    Raises RaspSyntaxError / RaspTypeError / RaspEvaluationError with
    `filename:line:col` and a caret (see the module doc)."""
    return load_rasp(source, filename, vocab=vocab, max_seq_len=max_seq_len).program(output)


def parse_rasp_file(
    path: str | Path,
    output: str | None = None,
    *,
    vocab: Sequence[Any] | None = None,
    max_seq_len: int | None = None,
) -> Program:
    """`parse_rasp` on a file (`load` statements look next to it first)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RaspTypeError(f"cannot read {path}: {exc.strerror}") from None
    module = load_rasp(text, str(path), vocab=vocab, max_seq_len=max_seq_len, path=path)
    return module.program(output)


__all__ = [
    "Builtin",
    "RaspFunction",
    "RaspModule",
    "Source",
    "describe",
    "lift",
    "load_rasp",
    "parse_rasp",
    "parse_rasp_file",
    "parse_tree",
]
