"""The distinct tokens, most frequent first: the paper's `sort_by_most_freq`, without BOS.

Ties in frequency keep the order of first occurrence; the positions left over
hold FILLER. Layer 1 counts each token (histogram) and marks repeats (two
heads); layers 2 and 3 sort by frequency: 3 layers, [2, 1, 1].
"""

from rasp_ir.frontend.dsl import Aggregate, Comparison, Select, SelectorWidth, SequenceMap, SOp, Value, indices, tokens

VOCAB = ["a", "b", "c", "d"]
MAX_SEQ_LEN = 6
FILLER = "-"


def make_sort(vals: SOp, keys: SOp, default: Value | None = None) -> SOp:
    """Stable sort of `vals` by `keys` (as in sort.py)."""
    smaller = Select(keys, keys, Comparison.LT)
    equal_earlier = Select(keys, keys, Comparison.EQ) & Select(indices, indices, Comparison.LT)
    target_pos = SelectorWidth(smaller | equal_earlier).named("target_pos")
    return Aggregate(Select(target_pos, indices, Comparison.EQ), vals, default=default)


same_token = Select(tokens, tokens, Comparison.EQ).named("same_token")
hist = SelectorWidth(same_token).named("hist")
earlier_copy = (same_token & Select(indices, indices, Comparison.LT)).named("earlier_copy")
is_repeat = (SelectorWidth(earlier_copy) > 0).named("is_repeat")
# First occurrences sort by decreasing count; repeats go last (MAX_SEQ_LEN beats any -count).
freq_key = SequenceMap(lambda rep, h: MAX_SEQ_LEN if rep else -h, is_repeat, hist).named("freq_key")
shown = SequenceMap(lambda rep, t: FILLER if rep else t, is_repeat, tokens).named("shown")
program = make_sort(shown, freq_key, default=FILLER).named("most_frequent")

if __name__ == "__main__":
    from rasp_ir.program import Program

    print(Program.from_dsl(program).to_mlir(vocab=VOCAB, max_seq_len=MAX_SEQ_LEN), end="")
