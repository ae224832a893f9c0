"""The `.rasp` examples (examples/*.rasp): the paper's programs in the paper's language.

For every example: the evaluation its header comment shows, a few hand-written outputs
that pin its meaning, the `rasp compile` line of its header, and its compiled model
against the interpreter on every input up to length 4 and 100 random inputs up to
max_seq_len (plus the hand-written ones). An input the interpreter rejects
(RaspEvaluationError) is skipped; one the model's run-time guard refuses
(RaspInputError: a categorical aggregate that would average) counts as refused, and at
most a few percent may be.
"""

from __future__ import annotations

import ast
import functools
import itertools
import random
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest

import rasp_ir
from rasp_ir.testing import same_value
from rasp_ir.tools.rasp_cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES_DIR = ROOT / "examples"
EXHAUSTIVE_LEN = 4
N_RANDOM = 100
MAX_REFUSED = 0.03  # the share of inputs the compiled model may refuse


def uniform(vocab: list[str], rng: random.Random, max_seq_len: int) -> list[str]:
    return [rng.choice(vocab) for _ in range(rng.randint(1, max_seq_len))]


def with_bos(vocab: list[str], rng: random.Random, max_seq_len: int) -> list[str]:
    """Half of them "§" then other tokens (what a BOS program expects), half anything."""
    if rng.random() < 0.5:
        return uniform(vocab, rng, max_seq_len)
    return ["§"] + [rng.choice(vocab[1:]) for _ in range(rng.randint(0, max_seq_len - 1))]


def brackets(vocab: list[str], rng: random.Random, max_seq_len: int) -> list[str]:
    """Half of them mostly well nested (uniform brackets fail at once), half anything."""
    if rng.random() < 0.5:
        return uniform(vocab, rng, max_seq_len)
    pairs = dict(zip(vocab[0::2], vocab[1::2]))  # vocab lists opener, closer, opener, ...
    stack: list[str] = []
    out: list[str] = []
    for _ in range(rng.randint(1, max_seq_len)):
        r = rng.random()
        if stack and r < 0.45:
            closer = pairs[stack.pop()]
            out.append(closer if rng.random() < 0.9 else rng.choice(list(pairs.values())))
        elif r < 0.95:
            stack.append(rng.choice(list(pairs)))
            out.append(stack[-1])
        else:
            out.append(rng.choice(list(pairs.values())))
    return out


@dataclass(frozen=True)
class Example:
    output: str  # the s-op the example computes
    vocab: str  # one character a token
    max_seq_len: int
    cases: dict[str, list[Any]]  # input (one character a token) -> expected output
    random_input: Callable[[list[str], random.Random, int], list[str]] = field(default=uniform)


EXAMPLES = {
    "reverse": Example("reverse", "abcd", 10, {
        "d": ["d"],
        "abc": ["c", "b", "a"],
        "aabd": ["d", "b", "a", "a"],
        "abcdabcdab": list("badcbadcba"),
    }),
    "histogram": Example("histogram", "abcd", 10, {
        "a": [1],
        "abca": [2, 1, 1, 2],
        "dddd": [4, 4, 4, 4],
        "aabbbc": [2, 2, 3, 3, 3, 1],
    }),
    "histogram_bos": Example("histogram_bos", "§abcd", 10, {
        "§": [0],
        "§a": [0, 1],
        "§abca": [0, 2, 1, 1, 2],
        "§dddd": [0, 4, 4, 4, 4],
        "§abcdabcda": [0, 3, 2, 2, 2, 3, 2, 2, 2, 3],
    }, with_bos),
    "double_histogram": Example("double_histogram", "abcd", 10, {
        "a": [1],
        "aaaa": [1, 1, 1, 1],
        "aabb": [2, 2, 2, 2],
        "aabcd": [1, 1, 3, 3, 3],
        "abbccc": [1, 1, 1, 1, 1, 1],
        "abbcccdd": [1, 2, 2, 1, 1, 1, 2, 2],
    }),
    "sort": Example("sorted", "abcd", 10, {
        "a": ["a"],
        "dcba": ["a", "b", "c", "d"],
        "badcab": ["a", "a", "b", "b", "c", "d"],
        "ddddddddda": list("addddddddd"),
    }),
    "most_frequent": Example("most_frequent", "abcd", 10, {
        "a": ["a"],
        "abbccc": ["c", "b", "a", "-", "-", "-"],
        "abab": ["a", "b", "-", "-"],  # as frequent: first occurrence first
        "baab": ["b", "a", "-", "-"],
        "dcbadd": ["d", "c", "b", "a", "-", "-"],
    }),
    "dyck1": Example("dyck1", "()", 10, {
        "(": ["P"],
        ")(": ["F", "F"],
        "()()": ["P", "T", "P", "T"],
        "(()))(": ["P", "P", "P", "T", "F", "F"],
        "((((()))))": list("PPPPPPPPPT"),
    }, brackets),
    "dyck2": Example("dyck2", "(){}", 10, {
        "}": ["F"],
        "(}": ["P", "F"],
        "{}()": ["P", "T", "P", "T"],
        "({)}": ["P", "P", "F", "F"],  # crossed: ")" closes "{"
        "({})": ["P", "P", "P", "T"],
        "({})}": ["P", "P", "P", "T", "F"],
        "{(})": ["P", "P", "F", "F"],
        "(({}{}))": list("PPPPPPPT"),
        "{()}{(": ["P", "P", "P", "T", "P", "P"],
    }, brackets),
}

NAMES = sorted(path.stem for path in EXAMPLES_DIR.glob("*.rasp"))


def example(name: str) -> Example:
    assert name in EXAMPLES, f"examples/{name}.rasp has no entry in EXAMPLES (output, vocab, max_seq_len, cases)"
    return EXAMPLES[name]


def source(name: str) -> str:
    return (EXAMPLES_DIR / f"{name}.rasp").read_text(encoding="utf-8")


@functools.cache
def program(name: str) -> rasp_ir.Program:
    return rasp_ir.parse_rasp(source(name), output=example(name).output, filename=f"{name}.rasp")


@functools.cache
def model(name: str) -> rasp_ir.CompiledModel:
    ex = example(name)
    return rasp_ir.compile(program(name), vocab=list(ex.vocab), max_seq_len=ex.max_seq_len, provider="cpu")


def test_every_entry_has_its_file():
    assert sorted(EXAMPLES) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_hand_written_outputs(name):
    prog = program(name)
    for text, expected in example(name).cases.items():
        assert prog.evaluate(list(text)) == expected, text


# The header shows   rasp_ir.parse_rasp(open(...).read()).evaluate(list("..."))
#                    -> [...]
HEADER_EVAL = re.compile(r'^#.*\.evaluate\(list\("([^"]*)"\)\)\s*\n#\s*->\s*(.+)$', re.M)
HEADER_COMPILE = re.compile(r"^#\s*(rasp compile .+)$", re.M)


@pytest.mark.parametrize("name", NAMES)
def test_header_example(name):
    found = HEADER_EVAL.findall(source(name))
    assert found, f"examples/{name}.rasp: no example evaluation in its header"
    default_output = rasp_ir.parse_rasp(source(name))  # as the header calls it: the last s-op
    for text, expected in found:
        assert default_output.evaluate(list(text)) == ast.literal_eval(expected), text


@pytest.mark.parametrize("name", [n for n in NAMES if HEADER_COMPILE.search(source(n))])
def test_header_compile_line(name, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    for line in HEADER_COMPILE.findall(source(name)):
        argv = shlex.split(line)[1:]
        code = main(argv)
        out, err = capsys.readouterr()
        assert code == 0, (line, err)
        assert "compiled @" in out + err and "Traceback" not in out + err, line


def inputs(name: str) -> list[list[str]]:
    ex = example(name)
    vocab = list(ex.vocab)
    batch = [list(t) for n in range(1, EXHAUSTIVE_LEN + 1) for t in itertools.product(vocab, repeat=n)]
    rng = random.Random(name)
    batch += [ex.random_input(vocab, rng, ex.max_seq_len) for _ in range(N_RANDOM)]
    batch += [list(t) for t in ex.cases if len(t) <= ex.max_seq_len and set(t) <= set(vocab)]
    return batch


def run_model(m: rasp_ir.CompiledModel, batch: list[list[str]]) -> tuple[list[list[Any] | None], int]:
    """The outputs (None where refused) and how many inputs the model refused."""
    try:
        return m.run(batch), 0
    except rasp_ir.RaspInputError:
        pass
    outputs: list[list[Any] | None] = []
    for tokens in batch:
        try:
            outputs.append(m.run([tokens])[0])
        except rasp_ir.RaspInputError:
            outputs.append(None)
    return outputs, sum(out is None for out in outputs)


@pytest.mark.parametrize("name", NAMES)
def test_compiled_model_agrees_with_interpreter(name):
    prog, m = program(name), model(name)
    batch, expected = [], []
    for tokens in inputs(name):
        try:
            expected.append(prog.evaluate(tokens))
        except rasp_ir.RaspEvaluationError:
            continue
        batch.append(tokens)
    assert len(batch) > N_RANDOM, f"the interpreter rejects most inputs of {name}"

    outputs, refused = run_model(m, batch)
    assert refused <= MAX_REFUSED * len(batch), f"the model refuses {refused} of {len(batch)} inputs"
    wrong = [
        (tokens, want, got)
        for tokens, want, got in zip(batch, expected, outputs)
        if got is not None
        and not (len(got) == len(want) and all(same_value(w, g, m.encoding, m.tolerance) for w, g in zip(want, got)))
    ]
    assert not wrong, f"{len(wrong)} of {len(batch)} differ; first (input, interpreter, model): {wrong[0]}"
