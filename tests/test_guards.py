"""Categorical aggregates that may average: proving at most one key is selected
(`rasp_ir.analysis.encodings`), and the run-time guard where it cannot be proved
(`ModelOp.guards`, the numpy executor, the ONNX graph's `guard` output, `CompiledModel`)."""

from __future__ import annotations

import io
import itertools
import warnings
from pathlib import Path

import numpy as np
import onnx
import pytest
from xdsl.printer import Printer

import rasp_ir
from rasp_ir import dsl
from rasp_ir.analysis.encodings import selects_at_most_one, unique_per_position
from rasp_ir.compiler import compile_to_transformer, run_pipeline
from rasp_ir.dialects.rasp import Encoding
from rasp_ir.dialects.transformer import EmbedOp, ModelOp, UnembedOp, find_model
from rasp_ir.errors import RaspCompileWarning, RaspInputError, RaspModelError
from rasp_ir.interpreter.reference import Interpreter
from rasp_ir.interpreter.transformer_executor import TransformerExecutor
from rasp_ir.program import parse_module, print_module
from rasp_ir.runtime.guards import InputRefused, guard_threshold
from rasp_ir.runtime.metadata import META_GUARDS
from rasp_ir.runtime.model import CompiledModel, load_model
from rasp_ir.testing import FuzzCase, Node, check_case, same_value

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

C = dsl.Comparison
t, i = dsl.tokens, dsl.indices


# --------------------------------------------------------------------------- #
# Part 1: proofs (a sound sufficient condition: False means "not proven")
# --------------------------------------------------------------------------- #


def values_of(sop: dsl.SOp, vocab, max_seq_len: int, pipeline: str = "rasp-infer-values"):
    """The program's SSA values by name, after `pipeline`."""
    module = rasp_ir.Program.from_dsl(sop, name="t").to_module(vocab=vocab, max_seq_len=max_seq_len)
    run_pipeline(module, pipeline)
    return {r.name_hint: r for op in module.walk() for r in op.results if r.name_hint}


def unique(sop: dsl.SOp, vocab=(0, 1, 2), n: int = 4, **kw) -> bool:
    return unique_per_position(values_of(sop.named("x"), list(vocab), n, **kw)["x"])


def at_most_one(selector: dsl.Selector, vocab=(0, 1, 2), n: int = 4, **kw) -> bool:
    sop = dsl.numerical(dsl.Aggregate(selector.named("sel"), t)).named("out")
    return selects_at_most_one(values_of(sop, list(vocab), n, **kw)["sel"])


def tracr_sort(vals: dsl.SOp, keys: dsl.SOp, max_seq_len: int, min_key: float = 1) -> dsl.SOp:
    """tracr's make_sort: unique keys `keys + min_key * i / max_seq_len`, then a rank."""
    keys = dsl.SequenceMap(lambda x, j: x + min_key * j / max_seq_len, keys, i).named("unique_keys")
    smaller = dsl.Select(keys, keys, C.LT).named("smaller")
    target_pos = dsl.SelectorWidth(smaller).named("target_pos")
    return dsl.Aggregate(dsl.Select(target_pos, i, C.EQ).named("sel_new"), vals).named("sort")


@pytest.mark.parametrize(
    ("sop", "expected"),
    [
        (i, True),
        (t, False),
        (dsl.Full(1), False),
        (dsl.length, False),
        # maps: injective on the input's values, of a unique input
        (dsl.Map(lambda x: x + 1, i), True),
        (dsl.Map(lambda x: x % 2, i), False),
        (dsl.Map(lambda x: -x, t), False),
        (dsl.Map(lambda x: x * 2, dsl.Map(lambda x: x + 1, i)), True),
        # sequence_map: a unique operand, injective on the pairs of the operands' values
        (dsl.SequenceMap(lambda x, y: 10 * x + y, t, i), True),
        (dsl.SequenceMap(lambda x, y: 10 * y + x, i, t), True),
        (dsl.SequenceMap(lambda x, y: x + y, t, i), False),  # (1, 0) and (0, 1)
        (dsl.SequenceMap(lambda x, y: 10 * x + y, t, t), False),  # no unique operand
        (dsl.SequenceMap(lambda x, y: f"{x}{y}", t, i), True),
        # linear_sequence_map
        (dsl.LinearSequenceMap(t, i, 1, 0.1), True),
        (dsl.LinearSequenceMap(t, i, 1, 1), False),
        (dsl.LinearSequenceMap(t, i, 1, 0), False),
        (dsl.LinearSequenceMap(t, t, 1, 2), False),
        # selector_width of a strict order of a unique s-op: a rank
        (dsl.SelectorWidth(dsl.Select(i, i, C.LT)), True),
        (dsl.SelectorWidth(dsl.Select(i, i, C.LEQ)), True),
        (dsl.SelectorWidth(dsl.Select(i, i, C.GT)), True),
        (dsl.SelectorWidth(dsl.Select(i, i, C.GEQ)), True),
        (dsl.SelectorWidth(dsl.Select(t, t, C.LT)), False),  # keys may repeat
        (dsl.SelectorWidth(dsl.Select(i, i, C.EQ)), False),  # 1 everywhere
        (dsl.SelectorWidth(dsl.Select(i, i, C.NEQ)), False),
        (dsl.SelectorWidth(dsl.Select(i, t, C.LT)), False),  # keys and queries differ
        (dsl.SelectorWidth(dsl.Select(i, dsl.Map(lambda x: x, i), C.LT)), False),
        # composite selectors over tuples of s-ops: a total order on (tokens, indices)
        (dsl.SelectorWidth(dsl.Select(t, t, C.LT) | (dsl.Select(t, t, C.EQ) & dsl.Select(i, i, C.LT))), True),
        (dsl.SelectorWidth(dsl.Select(t, t, C.GT) | (dsl.Select(t, t, C.EQ) & dsl.Select(i, i, C.GT))), True),
        (dsl.SelectorWidth(dsl.Select(t, t, C.LT) | dsl.Select(i, i, C.LT)), False),  # not antisymmetric
        (dsl.SelectorWidth(dsl.Select(t, t, C.LT) | (dsl.Select(t, t, C.EQ) & dsl.Select(i, i, C.LEQ))), True),
        (dsl.SelectorWidth(dsl.Select(t, t, C.LT) | (dsl.Select(t, t, C.EQ) & dsl.Select(i, i, C.NEQ))), False),
        (dsl.SelectorWidth(dsl.Select(t, t, C.LT) | (dsl.Select(t, t, C.EQ) & dsl.Select(i, i, C.EQ))), False),
        (dsl.SelectorWidth(dsl.Select(t, t, C.LT) | dsl.Select(t, t, C.EQ)), False),  # no unique s-op
    ],
)
def test_unique_per_position(sop, expected):
    assert unique(sop) is expected


def test_unique_per_position_after_lowering_composite_selectors():
    """After rasp-lower-composite-selectors, the `or` is a select_table over two copies of a
    joint sequence_map of (indices, tokens): the same s-op, unique, the table a total order."""
    goes_before = dsl.Select(t, t, C.LT) | (dsl.Select(t, t, C.EQ) & dsl.Select(i, i, C.LT))
    pipeline = "rasp-infer-values,rasp-infer-encodings,rasp-infer-values,rasp-lower-composite-selectors"
    assert unique(dsl.SelectorWidth(goes_before), pipeline=pipeline)
    mixed = dsl.Select(t, t, C.LT) | dsl.Select(i, i, C.LT)
    assert not unique(dsl.SelectorWidth(mixed), pipeline=pipeline)


def test_order_check_gives_up_on_large_domains():
    goes_before = dsl.Select(t, t, C.LT) | (dsl.Select(t, t, C.EQ) & dsl.Select(i, i, C.LT))
    assert not unique(dsl.SelectorWidth(goes_before), vocab=range(30), n=10)  # 300 (token, index) pairs


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        (dsl.Select(i, t, C.EQ), True),  # unique keys
        (dsl.Select(t, i, C.EQ), False),
        (dsl.Select(t, t, C.EQ), False),
        (dsl.Select(i, i - 1, C.EQ), True),
        (dsl.Select(dsl.Map(lambda x: x + 1, i), i, C.EQ), True),
        (dsl.Select(dsl.Map(lambda x: x // 2, i), i, C.EQ), False),
        (dsl.Select(i, i, C.FALSE), True),
        (dsl.Select(i, i, C.TRUE), False),
        (dsl.Select(i, i, C.LT), False),
        (dsl.Select(i, i, C.LEQ), False),
        # each query value selects at most one of the (unique) keys' values
        (dsl.Select(dsl.Map(lambda x: 2 * x, i), dsl.Map(lambda x: 2 * x + 1, i), C.GT), False),
        (dsl.Select(dsl.SelectorWidth(dsl.Select(i, i, C.LT)), i, C.EQ), True),
        (dsl.Select(t, t, C.EQ) & dsl.Select(i, i, C.EQ), True),
        (dsl.Select(i, i, C.EQ) & dsl.Select(t, t, C.LT), True),
        (dsl.Select(t, t, C.EQ) & dsl.Select(t, t, C.LEQ), False),
        (dsl.Select(i, t, C.EQ) | dsl.Select(i, i, C.EQ), False),
        (~dsl.Select(i, i, C.NEQ), False),
    ],
)
def test_selects_at_most_one(selector, expected):
    assert at_most_one(selector) is expected


def test_tracr_sort_is_proved():
    names = values_of(tracr_sort(t, t, 5), [1, 2, 3], 5)
    assert unique_per_position(names["unique_keys"])
    assert unique_per_position(names["target_pos"])
    assert selects_at_most_one(names["sel_new"])
    # keys that may repeat: tracr's make_sort_unique alone is not provable (it averages there)
    names = values_of(dsl.Aggregate(dsl.Select(dsl.SelectorWidth(dsl.Select(t, t, C.LT)), i, C.EQ).named("s"), t), [1, 2], 3)
    assert not selects_at_most_one(names["s"])


def _compile_quietly(program, vocab, max_seq_len):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ir = compile_to_transformer(program, vocab, max_seq_len)
    return ir, [w for w in caught if issubclass(w.category, RaspCompileWarning)]


def test_sort_examples_compile_without_a_warning_or_guard(example):
    programs = [
        (rasp_ir.Program.from_dsl(example("sort").program), example("sort").VOCAB, example("sort").MAX_SEQ_LEN),
        (rasp_ir.Program.from_dsl(tracr_sort(t, t, 5)), [1, 2, 3], 5),
        (rasp_ir.Program.from_dsl(tracr_sort(dsl.Map(lambda x: -x, t), t, 4)), [3, 1, 2], 4),
        (rasp_ir.parse_rasp((EXAMPLES / "sort.rasp").read_text(), output="sorted"), list("abc"), 5),
        (rasp_ir.parse_rasp((EXAMPLES / "sort.rasp").read_text(), output="sorted"), [3, 1, 2], 4),
    ]
    for program, vocab, n in programs:
        ir, caught = _compile_quietly(program, vocab, n)
        assert not caught, [str(w.message) for w in caught]
        model = find_model(ir)
        assert model.guard_list == [] and model.guards is None
        assert model.unembed.is_categorical  # tracr's sort (not annotated) is now categorical too
        executor = TransformerExecutor(ir)
        inputs = [list(x) for x in itertools.product(vocab, repeat=3)]
        for tokens, got in zip(inputs, executor.run(inputs)):
            assert got == program.evaluate(tokens)


# --------------------------------------------------------------------------- #
# Part 2: the run-time guard
# --------------------------------------------------------------------------- #


GEQ_COPY = dsl.categorical(dsl.Aggregate(dsl.Select(t, t, C.GEQ), t).named("agg"))


def _guarded_programs():
    # 1. tokens >= query, copied; read through a map that looks at one value only (so the
    #    guard alone keeps the aggregate's other dims alive)
    big = dsl.numerical(dsl.Map(lambda x: 1 if x == 29 else 0, GEQ_COPY)).named("big")
    # 2. the position of an equal token (averages indices)
    eq_index = dsl.categorical(dsl.Aggregate(dsl.Select(t, t, C.EQ), i).named("agg"))
    # 3. tracr's sort_unique with keys that may repeat, moving indices
    target = dsl.SelectorWidth(dsl.Select(t, t, C.LT))
    sort_unique = dsl.categorical(dsl.Aggregate(dsl.Select(target, i, C.EQ), dsl.Map(lambda x: 10 * x, i)).named("agg"))
    # 4. two guarded aggregates in a row
    twice = dsl.categorical(dsl.Aggregate(dsl.Select(t, GEQ_COPY, C.LEQ), GEQ_COPY).named("agg2"))
    return {
        "geq_then_map": (big, [8, 29], 4),
        "eq_index": (eq_index, ["a", "b"], 4),
        "sort_unique_repeated_keys": (sort_unique, [1, 2, 3], 3),
        "two_guards": (twice, [8, 29, 3], 3),
    }


GUARDED = _guarded_programs()


def _averaging_positions(sop: dsl.SOp, tokens: list) -> set[int]:
    """The positions where a categorical aggregate of the program averages different values."""
    env = Interpreter().evaluate_nodes(sop, tokens)
    aggregates = [n for n in _nodes(sop) if isinstance(n, dsl.Aggregate) and n.encoding == Encoding.CATEGORICAL]
    return {
        q
        for q in range(len(tokens))
        for agg in aggregates
        if len({env[id(agg.sop)][k] for k in np.flatnonzero(env[id(agg.selector)][q])}) > 1
    }


def _nodes(expr) -> list:
    seen, order, stack = set(), [], [expr]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        order.append(node)
        stack.extend(node.children)
    return order


@pytest.mark.parametrize("name", list(GUARDED))
def test_guard_fires_exactly_where_the_interpreter_averages(name):
    """Every input up to max_seq_len: the executor and onnxruntime refuse exactly the inputs on
    which the program averages different values (naming a position where it does: with two
    guarded aggregates in a row, the first refused may be where the earlier one averages,
    whose mean the later one then reads), and agree with the interpreter on all others."""
    sop, vocab, n = GUARDED[name]
    program = rasp_ir.Program.from_dsl(sop, name=name)
    with pytest.warns(RaspCompileWarning, match="refuses such inputs at run time"):
        ir = compile_to_transformer(program, vocab, n)
    assert find_model(ir).guard_list
    executor = TransformerExecutor(ir)
    model = CompiledModel.from_transformer(ir, provider="cpu")
    inputs = [list(x) for k in range(1, n + 1) for x in itertools.product(vocab, repeat=k)]
    refused_somewhere = False
    for tokens in inputs:
        where = _averaging_positions(sop, tokens)
        for stage, run in (("executor", executor.run), ("onnxruntime", model.run)):
            if not where:
                (got,) = run([tokens])
                expected = program.evaluate(tokens)
                assert all(same_value(e, g, executor.encoding, 1e-3) for e, g in zip(expected, got)), (stage, tokens)
            else:
                refused_somewhere = True
                with pytest.raises(InputRefused) as info:
                    run([tokens])
                assert info.value.index == 0 and info.value.position in where, (stage, tokens)
                assert isinstance(info.value, RaspInputError)
    assert refused_somewhere
    # A whole batch: the error names the first refused input by its index in the batch.
    first = next(k for k, x in enumerate(inputs) if _averaging_positions(sop, x))
    for run in (executor.run, lambda b: model.run(b, batch_size=3)):
        with pytest.raises(RaspInputError, match=rf"^input {first} of the batch, position \d+: the program's aggregate"):
            run(inputs)


def test_guard_message_names_the_input_position_and_aggregate():
    ir, _ = _compile_quietly(rasp_ir.Program.from_dsl(GEQ_COPY), [8, 29], 3)
    model = CompiledModel.from_transformer(ir, provider="cpu")
    with pytest.raises(RaspInputError) as info:
        model.run([[29, 29], [29, 8, 29], [8]])
    text = str(info.value)
    assert text.startswith("input 1 of the batch, position 1: the program's aggregate `%agg = rasp.aggregate`")
    assert "averages several different values there" in text and "copies one value" in text
    assert "make the aggregate numerical" in text
    assert model.run([[29, 29], [8]]) == [[29, 29], [8]]  # equal values averaged: right


def test_no_guard_where_proved_or_where_the_input_takes_one_value():
    for sop in (
        dsl.categorical(dsl.Aggregate(dsl.Select(i, i - 1, C.EQ), t)),  # proved
        dsl.Aggregate(dsl.Select(t, t, C.GEQ), t),  # numerical: it averages
        dsl.categorical(dsl.Aggregate(dsl.Select(t, t, C.GEQ), dsl.Full(3))),  # one value
    ):
        ir, caught = _compile_quietly(rasp_ir.Program.from_dsl(sop), [8, 29], 3)
        assert find_model(ir).guards is None and not caught
        proto = CompiledModel.from_transformer(ir, provider="cpu").onnx
        assert [o.name for o in proto.graph.output] == ["output", "scores"]
        assert META_GUARDS not in {p.key for p in proto.metadata_props}


def test_onnx_graph_with_guards_is_valid_and_matches_the_executor():
    sop, vocab, n = GUARDED["two_guards"]
    ir, _ = _compile_quietly(rasp_ir.Program.from_dsl(sop), vocab, n)
    model = CompiledModel.from_transformer(ir, provider="cpu")
    proto = model.onnx
    onnx.checker.check_model(proto, full_check=True)
    onnx.shape_inference.infer_shapes(proto, strict_mode=True)
    guard = next(o for o in proto.graph.output if o.name == "guard")
    assert [d.dim_param or d.dim_value for d in guard.type.tensor_type.shape.dim] == ["batch", "seq", 2]
    assert len(model.guards) == 2 and model.guards == [label for label, _ in find_model(ir).guard_list]
    executor = TransformerExecutor(ir)
    batch = [list(x) for x in itertools.product(vocab, repeat=3)]
    ids, mask = executor.encode(batch)
    expected = executor.guards_ids(ids, mask)
    session = model._get_session()
    (got,) = session.run(["guard"], {"tokens": ids[:, 1:], "mask": mask[:, 1:]})
    np.testing.assert_allclose(got, expected, atol=1e-5)
    # a copy is 1, a mean of different values at most 1 - 1/n, the threshold between (for the
    # first aggregate, which reads exact one-hot inputs; the second may read the first's means)
    values = expected[..., 0][mask[:, 1:].astype(bool)]
    assert np.all((values > 1 - 1e-4) | (values < 1 - 1 / n + 1e-4))
    assert guard_threshold(n) == 1 - 1 / (2 * n)


def test_saved_model_keeps_its_guards_and_older_models_load(tmp_path):
    ir, _ = _compile_quietly(rasp_ir.Program.from_dsl(GEQ_COPY), [8, 29], 3)
    model = CompiledModel.from_transformer(ir, provider="cpu")
    model.save(tmp_path / "m.onnx")
    loaded = load_model(tmp_path / "m.onnx", provider="cpu")
    assert loaded.guards == ["%agg = rasp.aggregate"]
    with pytest.raises(InputRefused):
        loaded.run([[8, 29]])
    # A model from before guards: no metadata entry (and no `guard` output) -> no guards.
    old = onnx.ModelProto()
    old.CopyFrom(model.onnx)
    keep = [p for p in old.metadata_props if p.key != META_GUARDS]
    del old.metadata_props[:]
    old.metadata_props.extend(keep)
    outputs = [o for o in old.graph.output if o.name != "guard"]
    del old.graph.output[:]
    old.graph.output.extend(outputs)
    older = CompiledModel(old, provider="cpu")
    assert older.guards == []
    assert older.run([[8, 8], [29]]) == [[8, 8], [29]]
    # Metadata that lists guards the graph does not compute: a damaged file.
    damaged = onnx.ModelProto()
    damaged.CopyFrom(old)
    damaged.metadata_props.add(key=META_GUARDS, value='[{"aggregate": "x", "dims": [4]}]')
    with pytest.raises(RaspModelError, match="no 'guard' output; the model file is damaged"):
        CompiledModel(damaged, provider="cpu")
    bad = onnx.ModelProto()
    bad.CopyFrom(model.onnx)
    for p in bad.metadata_props:
        if p.key == META_GUARDS:
            p.value = '{"x": 1}'
    with pytest.raises(RaspModelError, match="'rasp_ir.guards' is malformed"):
        CompiledModel(bad, provider="cpu")


# --------------------------------------------------------------------------- #
# The dialect: guards print, parse and verify
# --------------------------------------------------------------------------- #


def _tiny_model(guards) -> ModelOp:
    embed = EmbedOp.from_arrays(np.eye(3, 5), np.zeros((3, 5)))
    out = UnembedOp(embed.result, Encoding.CATEGORICAL, [2, 3], ["a", "b"])
    return ModelOp("m", layout=["one", "bos", "x=a", "x=b", "y"], vocab=["a", "b"], bos="BOS", max_seq_len=2,
                   body=[embed, out], guards=guards)


def test_guards_round_trip_in_custom_and_generic_form():
    from xdsl.dialects.builtin import ModuleOp

    module = ModuleOp([_tiny_model([('%x = rasp.aggregate "q"', [2, 3]), ("%y = rasp.aggregate", [4])])])
    module.verify()
    text = print_module(module)
    assert 'guards ["%x = rasp.aggregate \\"q\\"" [2, 3], "%y = rasp.aggregate" [4]] {' in text
    again = parse_module(text)
    assert print_module(again) == text
    assert find_model(again).guard_list == [('%x = rasp.aggregate "q"', [2, 3]), ("%y = rasp.aggregate", [4])]
    generic = io.StringIO()
    Printer(stream=generic, print_generic_format=True).print_op(module)
    assert "guards = #transformer.guards[" in generic.getvalue()
    assert print_module(parse_module(generic.getvalue())) == text
    assert "guards" not in print_module(ModuleOp([_tiny_model(None)]))
    assert "guards" not in print_module(ModuleOp([_tiny_model([])]))


@pytest.mark.parametrize(
    ("guards", "message"),
    [
        ([("g", [5])], "the guard of g reads dim 5, out of range for a residual of width 5"),
        ([("g", [2, 2])], "the guard of g lists a dim twice"),
        ([("g", [])], "the guard of g reads no dims"),
    ],
)
def test_guards_verify(guards, message):
    from xdsl.utils.exceptions import VerifyException

    with pytest.raises(VerifyException, match=message):
        _tiny_model(guards).verify()


# --------------------------------------------------------------------------- #
# The fuzz harness: a justified refusal is a refusal, an unjustified one a mismatch
# --------------------------------------------------------------------------- #


def _fuzz_case(inputs) -> FuzzCase:
    nodes = (
        Node("tokens"),
        Node("select", (0, 0), value="GEQ"),
        Node("aggregate", (1, 0), encoding="categorical"),
    )
    return FuzzCase(nodes, 2, (8, 29), 3, tuple(tuple(x) for x in inputs))


def test_fuzz_harness_counts_a_guard_refusal_as_a_refusal():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outcome = check_case(_fuzz_case([[8, 29], [8, 8], [29, 8, 29]]))
    assert outcome.status == "ok", outcome.describe(_fuzz_case([]))
    assert outcome.refused == {"executor": {0: (0, "%n2 = rasp.aggregate"), 2: (1, "%n2 = rasp.aggregate")},
                               "onnxruntime": {0: (0, "%n2 = rasp.aggregate"), 2: (1, "%n2 = rasp.aggregate")}}
    assert outcome.outputs["executor"][1] == [8, 8]


def test_fuzz_harness_reports_an_unjustified_refusal(monkeypatch):
    import rasp_ir.testing as testing

    monkeypatch.setattr(testing, "_averages_there", lambda *args: False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outcome = check_case(_fuzz_case([[8, 29], [8, 8]]))
    assert outcome.status == "mismatch"
    assert {(m.stage, tuple(m.tokens)) for m in outcome.mismatches} == {("executor", (8, 29)), ("onnxruntime", (8, 29))}
    assert outcome.mismatches[0].got[0].startswith("refused: %n2 = rasp.aggregate averages different values")


# --------------------------------------------------------------------------- #
# The command line: `rasp verify` reports a refused input as a counterexample
# --------------------------------------------------------------------------- #


def test_rasp_verify_and_run_report_a_refused_input(capsys, tmp_path):
    from rasp_ir.tools.rasp_cli import main

    program = tmp_path / "geq.py"
    program.write_text(
        "from rasp_ir import dsl\n"
        "C = dsl.Comparison\n"
        "program = dsl.categorical(dsl.Aggregate(dsl.Select(dsl.tokens, dsl.tokens, C.GEQ), dsl.tokens).named('agg'))\n"
        "VOCAB = [8, 29]\nMAX_SEQ_LEN = 3\n"
    )
    assert main(["verify", str(program)]) == 1
    out, err = capsys.readouterr()
    assert "rasp: warning: %agg = rasp.aggregate: a categorical aggregate copies one value" in err
    assert "counterexample (found at input #4):\n  input:    [8, 29]\n  expected: [18.5, 29]\n" in out
    assert "  got:      refused: at position 0, the program's aggregate `%agg = rasp.aggregate` averages" in out
    assert "Traceback" not in out + err
    model = tmp_path / "geq.onnx"
    assert main(["compile", str(program), "-o", str(model)]) == 0
    capsys.readouterr()
    assert main(["run", str(model), "29", "8", "29"]) == 1
    out, err = capsys.readouterr()
    assert err.startswith("rasp: error: input 0 of the batch, position 1: the program's aggregate `%agg = rasp.aggregate`")
    assert main(["run", str(model), "29", "29"]) == 0  # a mean of equal values: right
    assert capsys.readouterr()[0].strip() == "[29, 29]"


def test_a_guarded_model_is_format_2_and_others_format_1():
    """A rasp-ir that does not know guards (it reads format 1) refuses a guarded model
    instead of running it without its guard."""
    from rasp_ir.runtime.metadata import META_FORMAT_VERSION

    t = dsl.tokens
    averaging = dsl.categorical(dsl.Aggregate(dsl.Select(t, t, dsl.Comparison.GEQ), t))
    copying = dsl.Aggregate(dsl.Select(dsl.indices, dsl.indices, dsl.Comparison.EQ), t)
    versions = []
    for sop in (averaging, copying):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = rasp_ir.compile(rasp_ir.Program.from_dsl(sop, name="m"), vocab=[1, 2], max_seq_len=3, provider="cpu")
        meta = {p.key: p.value for p in model.onnx.metadata_props}
        versions.append(meta[META_FORMAT_VERSION])
    assert versions == ["2", "1"]
