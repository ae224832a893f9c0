"""Dyck-1 per prefix: the paper's `dyck1_ptf`.

For each prefix of the input: "T" when its parentheses are balanced, "P" when
they may still be (more "(" than ")" so far, and never fewer), "F" when some
prefix closed more than it opened. Layer 1 averages opens and closes over the
prefix (one head: both use the same selector), layer 2 looks for an earlier
negative balance: 2 layers, [1, 1].
"""

from rasp_ir.frontend.dsl import Aggregate, Comparison, Map, Select, SequenceMap, SOp, indices, numerical, tokens

VOCAB = ["(", ")"]
MAX_SEQ_LEN = 8

up_to_self = Select(indices, indices, Comparison.LEQ).named("up_to_self")


def count_prefix(flags: SOp, name: str) -> SOp:
    """How many positions up to this one have flag 1: (i + 1) * mean."""
    frac = numerical(Aggregate(up_to_self, flags, default=0)).named(f"frac_{name}")
    return SequenceMap(lambda i, f: round((i + 1) * f), indices, frac).named(f"n_{name}")


n_opens = count_prefix(Map(lambda t: 1 if t == "(" else 0, tokens).named("is_open"), "opens")
n_closes = count_prefix(Map(lambda t: 1 if t == ")" else 0, tokens).named("is_close"), "closes")
balance = (n_opens - n_closes).named("balance")
negative = Map(lambda b: 1 if b < 0 else 0, balance).named("negative")
prev_imbalances = numerical(Aggregate(up_to_self, negative, default=0)).named("prev_imbalances")
program = SequenceMap(
    lambda p, b: "F" if p > 0 else ("T" if b == 0 else "P"), prev_imbalances, balance
).named("dyck1")

if __name__ == "__main__":
    from rasp_ir.program import Program

    print(Program.from_dsl(program).to_mlir(vocab=VOCAB, max_seq_len=MAX_SEQ_LEN), end="")
