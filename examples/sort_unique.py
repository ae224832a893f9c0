"""Sort values by keys that are all different (tracr's `make_sort_unique`).

Each position counts the keys smaller than its own (its target position), and
position i then reads the value whose target is i. With repeated keys some
target is taken twice and some position reads nothing (the default, 0): use
`sort.py` for those. 2 layers, [1, 1].
"""

from rasp_ir.frontend.dsl import Aggregate, Comparison, Select, SelectorWidth, SOp, categorical, indices, tokens

VOCAB = [1, 2, 3, 4, 5, 6, 7, 8, 9]
MAX_SEQ_LEN = 6


def make_sort_unique(vals: SOp, keys: SOp) -> SOp:
    """`vals` sorted by `keys` (ascending); the keys must be unique."""
    smaller = Select(keys, keys, Comparison.LT).named("smaller")
    target_pos = SelectorWidth(smaller).named("target_pos")
    sel_new = Select(target_pos, indices, Comparison.EQ).named("sel_new")
    # categorical: it copies one value (the compiler could not prove that and would average).
    return categorical(Aggregate(sel_new, vals)).named("sort")


program = make_sort_unique(tokens, tokens)

if __name__ == "__main__":
    from rasp_ir.program import Program

    print(Program.from_dsl(program).to_mlir(vocab=VOCAB, max_seq_len=MAX_SEQ_LEN), end="")
