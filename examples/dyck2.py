"""Dyck-2 per prefix, pairs "()" and "{}": the paper's `dyckk_ptf(["()", "{}"])`.

For each prefix: "T" balanced, "P" pending (can still be balanced), "F" failed
(a closer with no opener, or one that does not match its opener). Each closer
finds its opener: the last opener before it at the depth it closes to.
4 layers, [1, 1, 1, 1] (the paper counts [1, 2, 1, 1]: its library
selector_width takes two heads). `make_dyck_ptf` takes any list of pairs.
"""

from collections.abc import Sequence

from rasp_ir.frontend.dsl import (
    Aggregate,
    Comparison,
    Map,
    Select,
    SelectorWidth,
    SequenceMap,
    SOp,
    indices,
    numerical,
    tokens,
)

PAIRS = ["()", "{}"]
VOCAB = ["(", ")", "{", "}"]
MAX_SEQ_LEN = 6


def make_dyck_ptf(pairs: Sequence[str]) -> SOp:
    """T/P/F per prefix for the bracket pairs `pairs` (each a 2-character string)."""
    pairs = list(pairs)
    openers = [p[0] for p in pairs]
    closers = [p[1] for p in pairs]
    up_to_self = Select(indices, indices, Comparison.LEQ).named("up_to_self")

    def count_prefix(flags: SOp, name: str) -> SOp:
        """How many positions up to this one have flag 1: (i + 1) * mean."""
        frac = numerical(Aggregate(up_to_self, flags, default=0)).named(f"frac_{name}")
        return SequenceMap(lambda i, f: round((i + 1) * f), indices, frac).named(f"n_{name}")

    opens = Map(lambda t: 1 if t in openers else 0, tokens).named("opens")
    closes = Map(lambda t: 1 if t in closers else 0, tokens).named("closes")
    depth = (count_prefix(opens, "opens") - count_prefix(closes, "closes")).named("depth")
    # A closer counts at the depth of its opener.
    delay_closer = (depth + closes).named("delay_closer")
    same_delay = Select(delay_closer, delay_closer, Comparison.EQ).named("same_delay")
    depth_index = SelectorWidth(same_delay & up_to_self).named("depth_index")
    open_for_close = (
        Select(opens, 1, Comparison.EQ) & same_delay & Select(depth_index, depth_index - 1, Comparison.EQ)
    ).named("open_for_close")
    matched_opener = Aggregate(open_for_close, tokens, default="-").named("matched_opener")
    opener_matches = SequenceMap(lambda m, t: m + t in pairs, matched_opener, tokens).named("opener_matches")
    mismatch = SequenceMap(lambda c, ok: c == 1 and not ok, closes, opener_matches).named("mismatch")
    problem = SequenceMap(lambda m, d: 1 if m or d < 0 else 0, mismatch, depth).named("problem")
    had_problem = numerical(Aggregate(up_to_self, problem, default=0)).named("had_problem")
    return SequenceMap(lambda h, d: "F" if h > 0 else ("T" if d == 0 else "P"), had_problem, depth)


program = make_dyck_ptf(PAIRS).named("dyck2")

if __name__ == "__main__":
    from rasp_ir.program import Program

    print(Program.from_dsl(program).to_mlir(vocab=VOCAB, max_seq_len=MAX_SEQ_LEN), end="")
