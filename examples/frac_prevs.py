"""The fraction of positions up to this one that hold "a" (tracr's `make_frac_prevs`).

A numerical aggregate: it averages, counting True as 1 and False as 0.
1 layer, [1].

    python examples/frac_prevs.py > examples/frac_prevs.mlir
"""

from rasp_ir.frontend.dsl import Aggregate, Comparison, Select, SOp, indices, numerical, tokens

VOCAB = ["a", "b", "c"]
MAX_SEQ_LEN = 5


def make_frac_prevs(bools: SOp) -> SOp:
    """The fraction of positions up to each one where `bools` is True."""
    bools = numerical(bools)
    prevs = Select(indices, indices, Comparison.LEQ).named("prevs")
    return numerical(Aggregate(prevs, bools, default=0)).named("frac_prevs")


program = make_frac_prevs((tokens == "a").named("is_a"))

if __name__ == "__main__":
    from rasp_ir.program import Program

    print(Program.from_dsl(program).to_mlir(vocab=VOCAB, max_seq_len=MAX_SEQ_LEN), end="")
