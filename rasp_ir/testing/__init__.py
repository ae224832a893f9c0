"""Differential fuzzing of the compiler: random programs, three executions, one answer.

rasp-ir must either compile a program into a model that agrees with the reference
interpreter on every input it accepts, or refuse it with a `RaspError`. This package
checks that on generated programs:

    from rasp_ir.testing import check_case, minimize
    from rasp_ir.testing.strategies import fuzz_cases, random_case   # needs hypothesis

    case = random_case(random.Random(0))     # a FuzzCase: program spec, vocab, max_seq_len, inputs
    outcome = check_case(case)               # interpreter vs TransformerExecutor vs onnxruntime
    if outcome.failed:
        small = minimize(case, outcome)      # a smaller case that fails the same way
        print(small.source())                # a runnable Python reproducer

A `FuzzCase` is plain data (`Node`s that refer to each other by index), so it can be
printed as DSL source, pruned and shrunk; `FuzzCase.build()` turns it into `rasp_ir.dsl`
objects. Map functions are `Fn`s: Python lambdas given by their source text (a table
lookup with a default, or simple arithmetic), so the printed reproducer is exactly
what ran.

Outcomes:
- `ok`: compiled, and on every input where the interpreter gives a value, the numpy
  executor and onnxruntime give the same (categorical: equal, and bool/number/str
  kinds equal; numerical: within the model's tolerance);
- `refused`: the compiler raised a `RaspError` (counted by `refusal_key`);
- `mismatch`: a compiled model disagrees with the interpreter (a compiler bug);
- `crash`: something raised an exception that is not a `RaspError` (a bug: a user
  must never see a traceback), at stage `build`, `interpreter`, `compile`,
  `executor` or `onnxruntime`.

Inputs on which the interpreter raises `RaspEvaluationError` (averaging strings,
say) are skipped and counted. An input a compiled model refuses at run time (its guard
on a categorical aggregate: `rasp_ir.runtime.guards.InputRefused`) is a refusal, not a
mismatch, when the interpreter does average different values on that input (in some
aggregate, at some position; `Outcome.refused`); a refusal of an input on which nothing
averages different values is a mismatch. This package imports no hypothesis; only
`rasp_ir.testing.strategies` does (hypothesis is a test extra), and nothing in the
rest of `rasp_ir` imports `rasp_ir.testing`.
"""

from __future__ import annotations

import builtins
import dataclasses
import math
import re
import time
import traceback
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rasp_ir.dialects.rasp import value_key
from rasp_ir.errors import RaspError, RaspEvaluationError
from rasp_ir.frontend import dsl

DEFAULT_TOLERANCE = 1e-3

PRIMITIVES = ("tokens", "indices", "length")
SOP_OPS = PRIMITIVES + (
    "full",
    "constant",
    "map",
    "sequence_map",
    "linear_sequence_map",
    "aggregate",
    "selector_width",
)
SELECTOR_OPS = ("select", "and", "or", "not")
PREDICATES = ("EQ", "LT", "LEQ", "GT", "GEQ", "NEQ", "TRUE", "FALSE")


# --------------------------------------------------------------------------- #
# The program spec
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Fn:
    """A map function, as the source of a lambda.

    `table` (a tuple of (key, value) pairs) with `default`: `{k: v, ...}.get(x, default)`
    (for two arguments the keys are pairs and the lookup is `(x, y)`). Otherwise `body`
    is an expression in `x` (and `y`)."""

    arity: int
    body: str = ""
    table: tuple[tuple[Any, Any], ...] | None = None
    default: Any = None

    @staticmethod
    def expr(arity: int, body: str) -> Fn:
        return Fn(arity, body=body)

    @staticmethod
    def lookup(arity: int, table: Sequence[tuple[Any, Any]], default: Any) -> Fn:
        return Fn(arity, table=tuple(table), default=default)

    @property
    def params(self) -> str:
        return "x" if self.arity == 1 else "x, y"

    def expression(self) -> str:
        if self.table is None:
            return self.body
        entries = ", ".join(f"{k!r}: {v!r}" for k, v in self.table)
        arg = "x" if self.arity == 1 else "(x, y)"
        return f"{{{entries}}}.get({arg}, {self.default!r})"

    def source(self) -> str:
        return f"lambda {self.params}: {self.expression()}"

    def make(self) -> Callable[..., Any]:
        return eval(self.source(), {"__builtins__": builtins})  # noqa: S307 - our own generated text


@dataclass(frozen=True)
class Node:
    """One node of a program spec; `args` are indices of earlier nodes.

    `value` is the fill of `full`/`constant`, the predicate name of `select`, the
    coefficient pair of `linear_sequence_map`, and the default of `aggregate` (None:
    not given). `encoding` is None, "numerical" or "categorical" (an annotation)."""

    op: str
    args: tuple[int, ...] = ()
    fn: Fn | None = None
    value: Any = None
    encoding: str | None = None

    @property
    def is_selector(self) -> bool:
        return self.op in SELECTOR_OPS


@dataclass(frozen=True)
class FuzzCase:
    """A program (nodes, output index), what it is compiled for, and inputs to run."""

    nodes: tuple[Node, ...]
    output: int
    vocab: tuple[Any, ...]
    max_seq_len: int
    inputs: tuple[tuple[Any, ...], ...] = ()

    # ----------------------------------------------------------- building

    def build(self) -> dsl.SOp:
        """The program's output s-op as `rasp_ir.dsl` objects."""
        out = self.build_nodes()[self.output]
        assert isinstance(out, dsl.SOp)
        return out

    def build_nodes(self) -> dict[int, dsl.RASPExpr]:
        """Every node the output depends on, as `rasp_ir.dsl` objects, by index."""
        built: dict[int, dsl.RASPExpr] = {}
        for i in self.reachable():
            built[i] = _build_node(i, self.nodes[i], built)
        return built

    def program(self):
        from rasp_ir.program import Program

        return Program.from_dsl(self.build(), name="fuzz", vocab=self.vocab, max_seq_len=self.max_seq_len)

    def reachable(self) -> list[int]:
        """Indices of the nodes the output depends on, in increasing order."""
        seen = {self.output}
        stack = [self.output]
        while stack:
            for a in self.nodes[stack.pop()].args:
                if a not in seen:
                    seen.add(a)
                    stack.append(a)
        return sorted(seen)

    def pruned(self) -> FuzzCase:
        """The same program without nodes the output does not read (renumbered)."""
        keep = self.reachable()
        new_index = {old: new for new, old in enumerate(keep)}
        nodes = tuple(
            dataclasses.replace(self.nodes[i], args=tuple(new_index[a] for a in self.nodes[i].args)) for i in keep
        )
        return dataclasses.replace(self, nodes=nodes, output=new_index[self.output])

    @property
    def size(self) -> int:
        """Nodes the output depends on (primitives included)."""
        return len(self.reachable())

    def depth(self) -> int:
        """The longest chain of maps, aggregates and widths (selectors add nothing)."""
        depths: dict[int, int] = {}
        for i in self.reachable():
            n = self.nodes[i]
            below = max((depths[a] for a in n.args), default=0)
            depths[i] = below + (0 if n.is_selector or n.op in PRIMITIVES + ("full", "constant") else 1)
        return depths[self.output]

    # ----------------------------------------------------------- printing

    def source(self, *, with_inputs: bool = True) -> str:
        """The case as a runnable Python snippet (the program in DSL form)."""
        lines = ["import rasp_ir", "from rasp_ir import dsl", ""]
        keep = self.reachable()
        for i in keep:
            lines.append(f"n{i} = {_node_source(i, self.nodes[i])}")
        lines += [
            "",
            f'program = rasp_ir.Program.from_dsl(n{self.output}, name="fuzz")',
            f"VOCAB = {list(self.vocab)!r}",
            f"MAX_SEQ_LEN = {self.max_seq_len}",
        ]
        if with_inputs:
            lines.append(f"INPUTS = {[list(x) for x in self.inputs]!r}")
        return "\n".join(lines) + "\n"


def _build_node(i: int, n: Node, built: dict[int, dsl.RASPExpr]) -> dsl.RASPExpr:
    a = [built[j] for j in n.args]
    if n.op == "tokens":
        node: dsl.RASPExpr = dsl.tokens
    elif n.op == "indices":
        node = dsl.indices
    elif n.op == "length":
        node = dsl.length
    elif n.op == "full":
        node = dsl.Full(n.value)
    elif n.op == "constant":
        node = dsl.ConstantSOp(n.value)
    elif n.op == "map":
        assert n.fn is not None
        node = dsl.Map(n.fn.make(), a[0])
    elif n.op == "sequence_map":
        assert n.fn is not None
        node = dsl.SequenceMap(n.fn.make(), a[0], a[1])
    elif n.op == "linear_sequence_map":
        node = dsl.LinearSequenceMap(a[0], a[1], n.value[0], n.value[1])
    elif n.op == "aggregate":
        node = dsl.Aggregate(a[0], a[1], default=n.value)
    elif n.op == "selector_width":
        node = dsl.SelectorWidth(a[0])
    elif n.op == "select":
        node = dsl.Select(a[0], a[1], dsl.Comparison[n.value])
    elif n.op == "and":
        node = dsl.SelectorAnd(a[0], a[1])
    elif n.op == "or":
        node = dsl.SelectorOr(a[0], a[1])
    elif n.op == "not":
        node = dsl.SelectorNot(a[0])
    else:
        raise ValueError(f"unknown op {n.op!r} in a fuzz case")
    if n.op not in PRIMITIVES or n.encoding is not None:
        node = node.named(f"n{i}")
    if n.encoding == "numerical":
        node = dsl.numerical(node)
    elif n.encoding == "categorical":
        node = dsl.categorical(node)
    return node


def _node_source(i: int, n: Node) -> str:
    a = [f"n{j}" for j in n.args]
    if n.op in PRIMITIVES:
        text = f"dsl.{n.op}"
    elif n.op == "full":
        text = f"dsl.Full({n.value!r})"
    elif n.op == "constant":
        text = f"dsl.ConstantSOp({n.value!r})"
    elif n.op == "map":
        assert n.fn is not None
        text = f"dsl.Map({n.fn.source()}, {a[0]})"
    elif n.op == "sequence_map":
        assert n.fn is not None
        text = f"dsl.SequenceMap({n.fn.source()}, {a[0]}, {a[1]})"
    elif n.op == "linear_sequence_map":
        text = f"dsl.LinearSequenceMap({a[0]}, {a[1]}, {n.value[0]!r}, {n.value[1]!r})"
    elif n.op == "aggregate":
        default = "" if n.value is None else f", default={n.value!r}"
        text = f"dsl.Aggregate({a[0]}, {a[1]}{default})"
    elif n.op == "selector_width":
        text = f"dsl.SelectorWidth({a[0]})"
    elif n.op == "select":
        text = f"dsl.Select({a[0]}, {a[1]}, dsl.Comparison.{n.value})"
    elif n.op == "and":
        text = f"dsl.SelectorAnd({a[0]}, {a[1]})"
    elif n.op == "or":
        text = f"dsl.SelectorOr({a[0]}, {a[1]})"
    elif n.op == "not":
        text = f"dsl.SelectorNot({a[0]})"
    else:
        raise ValueError(f"unknown op {n.op!r} in a fuzz case")
    if n.op not in PRIMITIVES or n.encoding is not None:
        text = f'{text}.named("n{i}")'
    if n.encoding is not None:
        text = f"dsl.{n.encoding}({text})"
    return text


# --------------------------------------------------------------------------- #
# Checking one case
# --------------------------------------------------------------------------- #


@dataclass
class Mismatch:
    """One input on which a compiled model and the interpreter disagree."""

    stage: str  # "executor" or "onnxruntime"
    tokens: list[Any]
    expected: list[Any]
    got: list[Any]


@dataclass
class Crash:
    """An exception that is not a RaspError."""

    stage: str
    error: str  # "TypeError: ..." (first line)
    traceback: str
    tokens: list[Any] | None = None
    where: str = ""  # the innermost frame: "module.py:function"


@dataclass
class Outcome:
    """What happened to one case."""

    status: str  # ok | refused | mismatch | crash
    inputs_tried: int = 0
    inputs_skipped: int = 0
    refusal: str | None = None  # the first line of the compiler's message
    mismatches: list[Mismatch] = field(default_factory=list)
    crash: Crash | None = None
    warnings: list[str] = field(default_factory=list)
    encoding: str | None = None  # the compiled output's encoding
    tolerance: float = DEFAULT_TOLERANCE
    expected: dict[int, list[Any]] = field(default_factory=dict)  # input index -> interpreter output
    outputs: dict[str, list[list[Any]]] = field(default_factory=dict)  # stage -> outputs per input
    # stage -> input index -> (position, aggregate) of a run-time refusal (InputRefused)
    refused: dict[str, dict[int, tuple[int, str]]] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.status in ("mismatch", "crash")

    def signature(self) -> tuple | None:
        """What kind of failure (or refusal) this is, kept equal while minimizing; None
        for `ok`."""
        if self.status == "refused":
            return ("refused", refusal_key(self.refusal or ""))
        if self.status == "mismatch":
            return ("mismatch", tuple(sorted({m.stage for m in self.mismatches})), self.encoding)
        if self.status == "crash":
            assert self.crash is not None
            return ("crash", self.crash.stage, self.crash.error.split(":")[0], self.crash.where)
        return None

    def describe(self, case: FuzzCase) -> str:
        """A report of a failure: the reproducer and what differs."""
        lines = []
        if self.status == "mismatch":
            stages = sorted({m.stage for m in self.mismatches})
            lines.append(
                f"MISMATCH ({' and '.join(stages)}; output encoding {self.encoding}, tolerance {self.tolerance}); "
                f"{len(self.mismatches)} mismatching (stage, input) pairs"
            )
            shown = set()
            for m in self.mismatches:
                key = (m.stage, tuple(map(value_key, m.tokens)))
                if key in shown or len(shown) >= 4:
                    continue
                shown.add(key)
                lines.append(f"  input       {m.tokens!r}")
                lines.append(f"  interpreter {m.expected!r}")
                lines.append(f"  {m.stage:<11} {m.got!r}")
        elif self.status == "crash":
            assert self.crash is not None
            lines.append(f"CRASH in {self.crash.stage}: {self.crash.error}")
            if self.crash.tokens is not None:
                lines.append(f"  input {self.crash.tokens!r}")
            lines.append("  " + self.crash.traceback.rstrip().replace("\n", "\n  "))
        else:
            lines.append(self.status.upper() + (f": {self.refusal}" if self.refusal else ""))
        for stage, refused in self.refused.items():
            if refused:
                i, (position, aggregate) = next(iter(refused.items()))
                lines.append(
                    f"  {stage} refused {len(refused)} input(s) at run time, e.g. input {i} at position "
                    f"{position} ({aggregate} averages different values there)"
                )
        for w in self.warnings:
            lines.append(f"  compile warning: {w}")
        lines.append("reproducer:")
        lines.append(case.source())
        return "\n".join(lines)


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def refusal_key(message: str) -> str:
    """A compile refusal grouped by reason: the first line, numbers replaced by N."""
    first = message.strip().splitlines()[0] if message.strip() else "(empty message)"
    return _NUMBER.sub("N", first)[:200]


def _kind_class(v: Any) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    return type(v).__name__


def same_value(expected: Any, got: Any, encoding: str | None, tolerance: float) -> bool:
    """Categorical: equal and of the same kind (bool, number, str); 2 and 2.0 are equal.
    Numerical: numbers within `tolerance` (a bool counts as 0/1)."""
    if encoding == "numerical":
        if isinstance(expected, str) or isinstance(got, str):
            return expected == got
        try:
            e, g = float(expected), float(got)
        except (TypeError, ValueError):
            return False
        return math.isfinite(g) and abs(e - g) <= tolerance
    return _kind_class(expected) == _kind_class(got) and expected == got


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


def _crash(stage: str, exc: BaseException, tokens: list[Any] | None = None) -> Crash:
    frames = traceback.extract_tb(exc.__traceback__)
    where = f"{frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].name}" if frames else ""
    return Crash(stage, _first_line(exc), "".join(traceback.format_exception(exc)), tokens, where)


def check_case(case: FuzzCase, *, onnx: bool = True, threads: int | None = 1) -> Outcome:
    """Run the case: interpreter, compile, numpy executor, onnxruntime; compare."""
    from rasp_ir.compiler import compile_to_transformer
    from rasp_ir.interpreter.transformer_executor import TransformerExecutor
    from rasp_ir.runtime.model import CompiledModel

    outcome = Outcome("ok")
    try:
        program = case.program()
    except Exception as exc:  # noqa: BLE001 - building the DSL must not fail on a generated case
        outcome.status, outcome.crash = "crash", _crash("build", exc)
        return outcome

    inputs = [list(x) for x in case.inputs]
    outcome.inputs_tried = len(inputs)
    for i, tokens in enumerate(inputs):
        try:
            outcome.expected[i] = program.evaluate(tokens)
        except RaspEvaluationError:
            outcome.inputs_skipped += 1
        except Exception as exc:  # noqa: BLE001 - another RaspError or a traceback: both bugs here
            outcome.status, outcome.crash = "crash", _crash("interpreter", exc, tokens)
            return outcome

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            ir = compile_to_transformer(program, list(case.vocab), case.max_seq_len)
        except RaspError as exc:
            outcome.status, outcome.refusal = "refused", str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            return outcome
        except Exception as exc:  # noqa: BLE001
            outcome.status, outcome.crash = "crash", _crash("compile", exc)
            return outcome
        finally:
            outcome.warnings = [str(w.message).splitlines()[0] for w in caught]

    if not inputs:
        return outcome
    try:
        executor = TransformerExecutor(ir)
        outcome.encoding = executor.encoding
        outcome.outputs["executor"] = _run_refusing(executor.run, inputs, outcome.refused.setdefault("executor", {}))
    except Exception as exc:  # noqa: BLE001 - a compiled model runs on every valid input
        outcome.status, outcome.crash = "crash", _crash("executor", exc)
        return outcome
    if onnx:
        try:
            model = CompiledModel.from_transformer(ir, threads=threads, provider="cpu")
            outcome.tolerance = model.tolerance
            outcome.outputs["onnxruntime"] = _run_refusing(
                lambda batch: model.run(batch, batch_size=len(batch)), inputs, outcome.refused.setdefault("onnxruntime", {})
            )
        except Exception as exc:  # noqa: BLE001
            outcome.status, outcome.crash = "crash", _crash("onnxruntime", exc)
            return outcome

    for stage, refused in outcome.refused.items():
        for i, (position, aggregate) in refused.items():
            if i in outcome.expected and not _averages_there(case, inputs[i], position, aggregate):
                refusal = f"refused: {aggregate} averages different values at position {position}"
                outcome.mismatches.append(Mismatch(stage, inputs[i], outcome.expected[i], [refusal]))
    for stage, outs in outcome.outputs.items():
        for i, expected in outcome.expected.items():
            if i in outcome.refused.get(stage, {}):
                continue
            got = outs[i]
            if len(got) != len(expected) or not all(
                same_value(e, g, outcome.encoding, outcome.tolerance) for e, g in zip(expected, got)
            ):
                outcome.mismatches.append(Mismatch(stage, inputs[i], expected, got))
    if outcome.mismatches:
        outcome.status = "mismatch"
    return outcome


def _run_refusing(run: Callable[[list], list], inputs: list[list[Any]], refused: dict[int, tuple[int, str]]) -> list:
    """`run(inputs)`; when a run-time guard refuses some input, each input on its own,
    recording the refused ones (index -> (position, aggregate)) with an empty output."""
    from rasp_ir.runtime.guards import InputRefused

    try:
        return run(inputs)
    except InputRefused:
        pass
    outputs: list = []
    for i, tokens in enumerate(inputs):
        try:
            outputs.append(run([tokens])[0])
        except InputRefused as exc:
            refused[i] = (exc.position, exc.aggregate)
            outputs.append([])
    return outputs


def _averages_there(case: FuzzCase, tokens: list[Any], position: int, aggregate: str) -> bool:
    """Whether a run-time refusal (at `position`, by the guard of `aggregate`) is right: the
    interpreter averages different values in some aggregate on this input. (Anywhere on the
    input: where a guarded aggregate reads another's output, the model may first refuse at a
    position where the later one reads a mean the earlier one computed elsewhere.)"""
    from rasp_ir.interpreter.reference import Interpreter

    built = case.build_nodes()
    try:
        env = Interpreter().evaluate_nodes(built[case.output], tokens)
    except RaspError:
        return True  # the program is undefined on this input: any answer is right
    for i in case.reachable():
        if case.nodes[i].op != "aggregate":
            continue
        node = built[i]
        for row in env[id(node.selector)]:
            if len({env[id(node.sop)][k] for k in range(len(row)) if row[k]}) > 1:
                return True
    return False


# --------------------------------------------------------------------------- #
# Minimizing a failing case
# --------------------------------------------------------------------------- #


def _redirect(case: FuzzCase, old: int, new: int) -> FuzzCase:
    """Every use of node `old` (and the output, if it is `old`) reads node `new` instead."""
    nodes = tuple(
        dataclasses.replace(n, args=tuple(new if a == old else a for a in n.args)) if i > new else n
        for i, n in enumerate(case.nodes)
    )
    output = new if case.output == old else case.output
    return dataclasses.replace(case, nodes=nodes, output=output)


def _with_node(case: FuzzCase, i: int, node: Node) -> FuzzCase:
    nodes = list(case.nodes)
    nodes[i] = node
    return dataclasses.replace(case, nodes=tuple(nodes))


def _node_edits(case: FuzzCase) -> list[FuzzCase]:
    """Smaller variants of the case, roughly from the biggest step to the smallest."""
    edits: list[FuzzCase] = []
    keep = case.reachable()
    # 0. Duplicate nodes merged; a leaf replaced by an earlier leaf.
    leaves = [i for i in keep if not case.nodes[i].args and not case.nodes[i].is_selector]
    for j in keep:
        for i in keep:
            if i < j and case.nodes[i] == case.nodes[j]:
                edits.append(_redirect(case, j, i))
                break
    for j in leaves:
        edits += [_redirect(case, j, i) for i in leaves if i < j and case.nodes[i] != case.nodes[j]]
    # 1. Another node as the output.
    for i in keep:
        if i != case.output and not case.nodes[i].is_selector:
            edits.append(dataclasses.replace(case, output=i))
    # 2. A node replaced by one of its operands of the same sort.
    for i in reversed(keep):
        n = case.nodes[i]
        for a in n.args:
            if case.nodes[a].is_selector == n.is_selector:
                edits.append(_redirect(case, i, a))
    # 3. A computed s-op replaced by a primitive or a constant.
    simple = [Node("tokens"), Node("indices"), Node("length"), Node("full", value=0), Node("full", value=case.vocab[0])]
    for i in reversed(keep):
        n = case.nodes[i]
        if n.is_selector or (n.op in PRIMITIVES and n.encoding is None):
            continue
        for s in simple:
            if s != n:
                edits.append(_with_node(case, i, s))
    # 4. Simpler node parameters.
    for i in keep:
        n = case.nodes[i]
        if n.encoding is not None:
            edits.append(_with_node(case, i, dataclasses.replace(n, encoding=None)))
        if n.op == "aggregate" and n.value is not None:
            edits.append(_with_node(case, i, dataclasses.replace(n, value=None)))
        if n.op == "select" and n.value not in ("EQ", "TRUE"):
            for p in ("TRUE", "EQ"):
                edits.append(_with_node(case, i, dataclasses.replace(n, value=p)))
        if n.op in ("and", "or"):
            other = "or" if n.op == "and" else "and"
            edits.append(_with_node(case, i, dataclasses.replace(n, op=other)))
        if n.fn is not None and n.fn.table is not None:
            for k in range(len(n.fn.table)):
                fn = dataclasses.replace(n.fn, table=n.fn.table[:k] + n.fn.table[k + 1 :])
                edits.append(_with_node(case, i, dataclasses.replace(n, fn=fn)))
        if n.op == "linear_sequence_map" and n.value != (1, 1):
            edits.append(_with_node(case, i, dataclasses.replace(n, value=(1, 1))))
    return edits


def _input_edits(case: FuzzCase) -> list[FuzzCase]:
    edits: list[FuzzCase] = []
    if len(case.inputs) > 1:
        edits += [dataclasses.replace(case, inputs=(x,)) for x in case.inputs]
    for j, x in enumerate(case.inputs):
        for k in range(len(x)):
            if len(x) > 1:
                shorter = x[:k] + x[k + 1 :]
                edits.append(dataclasses.replace(case, inputs=case.inputs[:j] + (shorter,) + case.inputs[j + 1 :]))
        for k in range(len(x)):
            for v in case.vocab[:3]:
                if value_key(v) != value_key(x[k]):
                    simpler = x[:k] + (v,) + x[k + 1 :]
                    edits.append(
                        dataclasses.replace(case, inputs=case.inputs[:j] + (simpler,) + case.inputs[j + 1 :])
                    )
    return edits


def _setting_edits(case: FuzzCase) -> list[FuzzCase]:
    edits: list[FuzzCase] = []
    used = {value_key(t) for x in case.inputs for t in x}
    longest = max((len(x) for x in case.inputs), default=1)
    for m in sorted({longest, max(longest, case.max_seq_len // 2), case.max_seq_len - 1}):
        if 1 <= m < case.max_seq_len:
            edits.append(dataclasses.replace(case, max_seq_len=m))
    unused = [v for v in case.vocab if value_key(v) not in used]
    if unused and len(unused) < len(case.vocab):
        kept = tuple(v for v in case.vocab if value_key(v) in used)
        edits.append(dataclasses.replace(case, vocab=kept))
    for v in unused:
        if len(case.vocab) > 1:
            edits.append(dataclasses.replace(case, vocab=tuple(u for u in case.vocab if u is not v)))
    return edits


def _cost(case: FuzzCase) -> tuple:
    """How big a case is: nodes first, then inputs, vocabulary, length, text."""
    rank = {value_key(v): i for i, v in enumerate(case.vocab)}
    return (
        case.size,
        sum(len(x) for x in case.inputs),
        len(case.vocab),
        case.max_seq_len,
        len(case.source(with_inputs=False)),
        sum(rank.get(value_key(t), 0) for x in case.inputs for t in x),
    )


def minimize(
    case: FuzzCase,
    outcome: Outcome,
    *,
    budget_s: float = 180.0,
    log: Callable[[str], None] | None = None,
) -> tuple[FuzzCase, Outcome]:
    """A smaller case that fails (or is refused) the way `outcome` says (greedy, within
    `budget_s`): the same stages disagree with the same output encoding, the same
    exception comes from the same function, or the same refusal reason."""
    target = outcome.signature()
    if target is None:
        return case, outcome
    deadline = time.monotonic() + budget_s

    def fails(c: FuzzCase) -> Outcome | None:
        try:
            o = check_case(c)
        except Exception:  # noqa: BLE001 - a variant the harness cannot even run
            return None
        return o if o.signature() == target else None

    # Start from one failing input (a compile crash needs just one input).
    if outcome.status == "mismatch":
        first = min(outcome.mismatches, key=lambda m: len(m.tokens))
        candidate = dataclasses.replace(case, inputs=(tuple(first.tokens),))
    elif outcome.crash is not None and outcome.crash.tokens is not None:
        candidate = dataclasses.replace(case, inputs=(tuple(outcome.crash.tokens),))
    else:
        candidate = dataclasses.replace(case, inputs=case.inputs[:1])
    o = fails(candidate)
    if o is not None:
        case, outcome = candidate, o
    case = case.pruned()

    improved = True
    while improved and time.monotonic() < deadline:
        improved = False
        for edits in (_node_edits, _setting_edits, _input_edits):
            for c in edits(case):
                if time.monotonic() >= deadline:
                    break
                c = c.pruned()
                if _cost(c) >= _cost(case):
                    continue
                o = fails(c)
                if o is not None:
                    case, outcome, improved = c, o, True
                    if log:
                        log(f"  minimized to {case.size} nodes, vocab {len(case.vocab)}, max_seq_len {case.max_seq_len}")
                    break
            if improved:
                break
    return case, outcome


__all__ = [
    "Crash",
    "Fn",
    "FuzzCase",
    "Mismatch",
    "Node",
    "Outcome",
    "check_case",
    "minimize",
    "refusal_key",
    "same_value",
]
