"""The numpy executor of the transformer dialect, on small models built by hand.

The builders here (`identity_model`, `prev_token_model`, `mean_model`, `mlp_model`,
`random_model`) are also used by the ONNX backend and runtime tests.
"""

from __future__ import annotations

import numpy as np
import pytest
from xdsl.dialects.builtin import ModuleOp

from rasp_ir.dialects.rasp import Encoding
from rasp_ir.dialects.transformer import AttentionOp, EmbedOp, HeadOp, MLPOp, ModelOp, UnembedOp
from rasp_ir.errors import RaspInputError, RaspModelError
from rasp_ir.interpreter.transformer_executor import TransformerExecutor

VOCAB = ["a", "b", "c"]


# --------------------------------------------------------------------------- #
# Hand-built models
# --------------------------------------------------------------------------- #


def identity_model(vocab=VOCAB, max_seq_len: int = 5, output_values=None) -> ModuleOp:
    """Embeds tokens one-hot (dims 0..V-1, BOS in dim V) and unembeds those dims."""
    v = len(vocab)
    d = v + 1
    tok = np.eye(v + 1, d)
    pos = np.zeros((max_seq_len + 1, d))
    embed = EmbedOp.from_arrays(tok, pos)
    out = UnembedOp(embed.result, Encoding.CATEGORICAL, list(range(v)), output_values or list(vocab))
    layout = [f"tokens={t}" for t in vocab] + ["bos"]
    model = ModelOp("identity", layout=layout, vocab=vocab, bos="BOS", max_seq_len=max_seq_len, body=[embed, out])
    return ModuleOp([model])


def rounding_model() -> ModuleOp:
    """Tokens embed near-int numbers in one dim (1.1, 1.9, -2.6 for a, b, c), read back
    by a numerical unembedding that `rounds`."""
    tok = np.array([[1.1, 0.0], [1.9, 0.0], [-2.6, 0.0], [0.0, 1.0]])
    embed = EmbedOp.from_arrays(tok, np.zeros((4, 2)))
    out = UnembedOp(embed.result, Encoding.NUMERICAL, [0], rounds=True)
    model = ModelOp("rounds", layout=["n", "bos"], vocab=["a", "b", "c"], bos="BOS", max_seq_len=3, body=[embed, out])
    return ModuleOp([model])


def prev_token_model(n: int = 5) -> ModuleOp:
    """One head: position i copies the token at i-1 (BOS at 0 reads as "none").

    Layout: tokens=a,b,c,bos (0..3) | indices=0..n (4..4+n) | prev=a,b,c,none (5+n..8+n).
    q(i) = e_i, k(j) = e_{j+1}: the score is `scale` where j == i-1, else 0.
    """
    d = 4 + (n + 1) + 4
    tok = np.zeros((4, d))
    tok[np.arange(4), np.arange(4)] = 1  # a, b, c, BOS
    pos = np.zeros((n + 1, d))
    pos[np.arange(n + 1), 4 + np.arange(n + 1)] = 1
    w_q = np.zeros((d, n + 1))
    w_k = np.zeros((d, n + 1))
    for i in range(n + 1):
        w_q[4 + i, i] = 1
        if i + 1 <= n:
            w_k[4 + i, i + 1] = 1
    w_v = np.zeros((d, 4))
    w_v[np.arange(4), np.arange(4)] = 1
    w_o = np.zeros((4, d))
    w_o[np.arange(4), 5 + n + np.arange(4)] = 1
    embed = EmbedOp.from_arrays(tok, pos)
    head = HeadOp.from_arrays(w_q=w_q, w_k=w_k, w_v=w_v, w_o=w_o, scale=100.0, label="aggregate prev")
    attn = AttentionOp(embed.result, [head])
    out = UnembedOp(attn.result, Encoding.CATEGORICAL, [5 + n + k for k in range(4)], ["a", "b", "c", "none"])
    layout = (
        [f"tokens={t}" for t in VOCAB] + ["bos"] + [f"indices={i}" for i in range(n + 1)]
        + [f"prev={t}" for t in VOCAB] + ["prev=none"]
    )
    model = ModelOp("prev", layout=layout, vocab=VOCAB, bos="BOS", max_seq_len=n, body=[embed, attn, out])
    return ModuleOp([model])


def mean_model(n: int = 6, with_mlp: bool = False) -> ModuleOp:
    """A uniform head over all real positions (BOS included) averages is_a:
    frac = count(a) / (length + 1) at every position. With `with_mlp`, an MLP then adds
    `2 * relu(frac - 0.25)` to the output dim.

    Layout: is_a (0) | bos (1) | frac (2) | out (3).
    """
    d = 4
    tok = np.zeros((4, d))
    tok[0, 0] = 1  # "a"
    tok[3, 1] = 1  # BOS
    pos = np.zeros((n + 1, d))
    embed = EmbedOp.from_arrays(tok, pos)
    w_v = np.zeros((d, 1))
    w_v[0, 0] = 1
    w_o = np.zeros((1, d))
    w_o[0, 2] = 1
    head = HeadOp.from_arrays(w_q=np.zeros((d, 1)), w_k=np.zeros((d, 1)), w_v=w_v, w_o=w_o, scale=1.0, label="mean")
    attn = AttentionOp(embed.result, [head])
    ops = [embed, attn]
    out_dim = 2
    if with_mlp:
        w1 = np.zeros((d, 1))
        w1[2, 0] = 1
        w2 = np.zeros((1, d))
        w2[0, 3] = 2
        mlp = MLPOp.from_arrays(attn.result, w1=w1, b1=np.array([-0.25]), w2=w2, b2=np.zeros(d), label="relu map")
        ops.append(mlp)
        out_dim = 3
    ops.append(UnembedOp(ops[-1].results[0], Encoding.NUMERICAL, [out_dim]))
    model = ModelOp(
        "mean", layout=["is_a", "bos", "frac", "out"], vocab=VOCAB, bos="BOS", max_seq_len=n, body=ops,
        tolerance=1e-4,
    )
    return ModuleOp([model])


def mlp_model(n: int = 4) -> ModuleOp:
    """An MLP maps a -> b, b -> c, c -> a (hidden = one-hot token, routed by w2).

    Layout: tokens=a,b,c (0..2) | bos (3) | out=a,b,c (4..6)."""
    d = 7
    tok = np.zeros((4, d))
    tok[np.arange(4), np.arange(4)] = 1
    pos = np.zeros((n + 1, d))
    embed = EmbedOp.from_arrays(tok, pos)
    w1 = np.zeros((d, 3))
    w1[np.arange(3), np.arange(3)] = 1
    w2 = np.zeros((3, d))
    for src, dst in ((0, 1), (1, 2), (2, 0)):
        w2[src, 4 + dst] = 1
    mlp = MLPOp.from_arrays(embed.result, w1=w1, b1=np.zeros(3), w2=w2, b2=np.zeros(d), label="rotate")
    out = UnembedOp(mlp.result, Encoding.CATEGORICAL, [4, 5, 6], ["a", "b", "c"])
    layout = ["tokens=a", "tokens=b", "tokens=c", "bos", "out=a", "out=b", "out=c"]
    model = ModelOp("rotate", layout=layout, vocab=VOCAB, bos="BOS", max_seq_len=n, body=[embed, mlp, out])
    return ModuleOp([model])


def random_model(
    seed: int = 0,
    *,
    vocab=("x", "y", "z", "w"),
    width: int = 12,
    max_seq_len: int = 7,
    layers: str = "amma",
    categorical: bool = True,
    values=None,
    hidden: int | None = None,
) -> ModuleOp:
    """Random weights: `layers` spells the sub-layers ('a' attention, 'm' MLP); heads in one
    layer get different dk/dv."""
    rng = np.random.default_rng(seed)
    d = width
    embed = EmbedOp.from_arrays(rng.standard_normal((len(vocab) + 1, d)), rng.standard_normal((max_seq_len + 1, d)))
    ops: list = [embed]
    for i, kind in enumerate(layers):
        prev = ops[-1].results[0]
        if kind == "a":
            heads = []
            for h in range(1 + i % 3):
                dk, dv = 2 + h, 1 + 2 * h
                heads.append(
                    HeadOp.from_arrays(
                        w_q=rng.standard_normal((d, dk)),
                        w_k=rng.standard_normal((d, dk)),
                        w_v=rng.standard_normal((d, dv)),
                        w_o=rng.standard_normal((dv, d)) * 0.5,
                        scale=float(rng.uniform(0.5, 2.0)),
                        label=f"head {i}.{h}",
                    )
                )
            ops.append(AttentionOp(prev, heads))
        else:
            h = hidden or 3 + i
            ops.append(
                MLPOp.from_arrays(
                    prev,
                    w1=rng.standard_normal((d, h)),
                    b1=rng.standard_normal(h),
                    w2=rng.standard_normal((h, d)) * 0.5,
                    b2=rng.standard_normal(d),
                )
            )
    last = ops[-1].results[0]
    if categorical:
        values = list(values) if values is not None else ["p", "q", "r", "s", "t"]
        ops.append(UnembedOp(last, Encoding.CATEGORICAL, list(range(1, 1 + len(values))), values))
    else:
        ops.append(UnembedOp(last, Encoding.NUMERICAL, [d - 1]))
    model = ModelOp(
        f"random{seed}",
        layout=[f"d{i}" for i in range(d)],
        vocab=list(vocab),
        bos="BOS",
        max_seq_len=max_seq_len,
        body=ops,
    )
    return ModuleOp([model])


def random_batch(vocab, max_seq_len: int, count: int, seed: int = 1, min_len: int = 1) -> list[list]:
    rng = np.random.default_rng(seed)
    return [
        [vocab[int(t)] for t in rng.integers(0, len(vocab), int(rng.integers(min_len, max_seq_len + 1)))]
        for _ in range(count)
    ]


# --------------------------------------------------------------------------- #
# Outputs worked out by hand
# --------------------------------------------------------------------------- #


def test_identity_returns_the_tokens():
    ex = TransformerExecutor(identity_model())
    assert ex.run([["a", "b", "c"], ["c"]]) == [["a", "b", "c"], ["c"]]


def test_identity_with_int_vocab_and_bool_values():
    ex = TransformerExecutor(identity_model(vocab=[1, 2], output_values=[True, False]))
    out = ex.run([[2, 1, 2]])
    assert out == [[False, True, False]]
    assert all(type(v) is bool for v in out[0])


def test_previous_token_head():
    ex = TransformerExecutor(prev_token_model(n=5))
    batch = [["a", "b", "c"], ["c", "c", "a", "b", "a"], ["b"]]
    assert ex.run(batch) == [["none", "a", "b"], ["none", "c", "c", "a", "b"], ["none"]]


def test_mean_head_is_numerical():
    ex = TransformerExecutor(mean_model())
    out = ex.run([["a", "a", "b"], ["c"], ["a"]])
    # count(a) / (length + 1): the head attends to BOS too.
    expected = [[0.5] * 3, [0.0], [0.5]]
    for got, want in zip(out, expected):
        assert all(type(v) is float for v in got)
        np.testing.assert_allclose(got, want, atol=1e-6)


def test_mlp_after_mean_head():
    ex = TransformerExecutor(mean_model(with_mlp=True))
    out = ex.run([["a", "a", "b"], ["a", "b", "b"]])
    # out = 2 * relu(frac - 0.25): frac 0.5 -> 0.5; frac 0.25 -> 0.
    np.testing.assert_allclose(out[0], [0.5] * 3, atol=1e-6)
    np.testing.assert_allclose(out[1], [0.0] * 3, atol=1e-6)


def test_categorical_mlp():
    ex = TransformerExecutor(mlp_model())
    assert ex.run([["a", "b", "c", "a"]]) == [["b", "c", "a", "b"]]


def test_run_ids_returns_indices_and_scores():
    ex = TransformerExecutor(identity_model())
    ids = np.array([[3, 0, 2, 1]])  # BOS a c b
    outputs, scores = ex.run_ids(ids, np.ones_like(ids))
    assert outputs.tolist() == [[0, 2, 1]]
    assert outputs.dtype == np.int64
    assert scores.shape == (1, 3, 3)
    np.testing.assert_array_equal(scores[0], np.eye(3)[[0, 2, 1]])


def test_first_maximum_wins_on_ties():
    # Every score is 0: argmax picks the first value.
    ex = TransformerExecutor(prev_token_model(n=3))
    outputs, scores = ex.run_ids(np.array([[3, 0]]), np.array([[1, 1]]))
    assert outputs.tolist() == [[3]]  # position 1 reads BOS -> "none" (dim 3)
    zero = np.zeros((1, 1), dtype=np.int64)
    m = TransformerExecutor(identity_model())
    # A padded BOS-only input: scores of BOS row are all 0 for the token dims.
    out, _ = m.run_ids(np.array([[3, 3]]), np.array([[1, 1]]))
    assert out.tolist() == zero.tolist()


def test_float64_agrees_with_float32():
    module = random_model(3)
    batch = random_batch(["x", "y", "z", "w"], 7, 20)
    ex32 = TransformerExecutor(module)
    ex64 = TransformerExecutor(module, dtype=np.float64)
    ids, mask = ex32.encode(batch)
    _, s32 = ex32.run_ids(ids, mask)
    _, s64 = ex64.run_ids(ids, mask)
    assert s64.dtype == np.float64 and s32.dtype == np.float32
    np.testing.assert_allclose(s32, s64, rtol=1e-3, atol=1e-2)


def test_padding_changes_no_output():
    module = random_model(5)
    ex = TransformerExecutor(module)
    batch = random_batch(["x", "y", "z", "w"], 7, 30, seed=4)
    together = ex.run(batch)
    alone = [ex.run([seq])[0] for seq in batch]
    assert together == alone
    ids, mask = ex.encode(batch)
    _, s_together = ex.run_ids(ids, mask)
    for i, seq in enumerate(batch):
        one_ids, one_mask = ex.encode([seq])
        _, s_alone = ex.run_ids(one_ids, one_mask)
        np.testing.assert_allclose(s_together[i, : len(seq)], s_alone[0], rtol=1e-5, atol=1e-5)


def test_residuals_and_attention_patterns():
    module = prev_token_model(n=4)
    ex = TransformerExecutor(module)
    res = ex.residuals([["a", "b"], ["c"]])
    assert len(res) == 2 == len(ex.stage_names)
    assert ex.stage_names[0] == "embed"
    assert all(r.shape == (2, 3, 13) for r in res)
    # after the embedding, dim 0 (tokens=a) is set at position 1 of the first sequence
    assert res[0][0, 1, 0] == 1.0
    (patterns,) = ex.attention([["a", "b"], ["c"]])
    assert patterns.shape == (2, 1, 3, 3)
    np.testing.assert_allclose(patterns.sum(-1), 1.0, rtol=1e-6)
    # query 2 attends to key 1; the padded key of the second sequence gets no weight
    assert patterns[0, 0, 2, 1] > 0.99
    assert patterns[1, 0, :, 2].max() < 1e-6
    assert ex.layout[4] == "indices=0"


# --------------------------------------------------------------------------- #
# Errors a user can cause
# --------------------------------------------------------------------------- #


def test_unknown_token_is_named_with_the_vocabulary():
    ex = TransformerExecutor(identity_model())
    with pytest.raises(RaspInputError, match=r"token 'q' \(sequence 1, position 0\) is not in the model's vocabulary \['a', 'b', 'c'\]"):
        ex.run([["a"], ["q"]])


def test_too_long_sequence():
    ex = TransformerExecutor(identity_model(max_seq_len=3))
    with pytest.raises(RaspInputError, match="sequence 0 has 4 tokens, more than the model's max_seq_len 3"):
        ex.run([["a"] * 4])


def test_empty_batch():
    ex = TransformerExecutor(identity_model())
    with pytest.raises(RaspInputError, match="the batch is empty"):
        ex.run([])


def test_string_instead_of_token_list():
    ex = TransformerExecutor(identity_model())
    with pytest.raises(RaspInputError, match=r"sequence 0 is the string 'abc'.*list\('abc'\)"):
        ex.run(["abc"])


def test_bad_ids():
    ex = TransformerExecutor(identity_model(max_seq_len=3))
    with pytest.raises(RaspInputError, match="ids must lie in 0..3"):
        ex.run_ids(np.array([[3, 7]]))
    with pytest.raises(RaspInputError, match="more than max_seq_len 3"):
        ex.run_ids(np.full((1, 5), 3))


def test_no_model_in_module():
    with pytest.raises(RaspModelError, match="no 'transformer.model'"):
        TransformerExecutor(ModuleOp([]))


def test_ir_that_does_not_verify():
    module = identity_model()
    model = module.body.block.first_op
    assert isinstance(model, ModelOp)
    model.layout = model.layout.__class__(model.layout.data[:-1])
    with pytest.raises(RaspModelError, match="does not verify.*layout has 3 labels"):
        TransformerExecutor(module)
