"""Sort values by keys that may repeat: the paper's `sort`, stable.

A key goes before another when it is smaller, or equal and earlier: the
selector `smaller | (equal & earlier)` (a composite selector, which tracr
cannot compile; it works around it by making keys unique with
`key + min_key * index / max_seq_len`). The target positions are then a
permutation, so every position reads exactly one value. 2 layers, [1, 1].

    python examples/sort.py > examples/sort.mlir
"""

from rasp_ir.frontend.dsl import Aggregate, Comparison, Select, SelectorWidth, SOp, Value, categorical, indices, tokens

VOCAB = [1, 2, 3, 4, 5]
MAX_SEQ_LEN = 6


def make_sort(vals: SOp, keys: SOp, default: Value | None = None) -> SOp:
    """`vals` sorted by `keys` (ascending), ties kept in input order.

    `default` is never used (every position reads one value), but the compiler
    cannot prove that, so an aggregate of strings or bools needs one of their kind."""
    smaller = Select(keys, keys, Comparison.LT).named("smaller")
    equal = Select(keys, keys, Comparison.EQ).named("equal")
    earlier = Select(indices, indices, Comparison.LT).named("earlier")
    goes_before = (smaller | (equal & earlier).named("equal_earlier")).named("goes_before")
    target_pos = SelectorWidth(goes_before).named("target_pos")
    read_target = Select(target_pos, indices, Comparison.EQ).named("read_target")
    # categorical: it copies one value (the compiler could not prove that and would average).
    return categorical(Aggregate(read_target, vals, default=default)).named("sort")


program = make_sort(tokens, tokens)

if __name__ == "__main__":
    from rasp_ir.program import Program

    print(Program.from_dsl(program).to_mlir(vocab=VOCAB, max_seq_len=MAX_SEQ_LEN), end="")
