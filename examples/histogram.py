"""Histogram: at each position, how many tokens equal this one (the paper's `hist`,
tracr's `make_hist`). One selector_width: 1 layer, [1].

    python examples/histogram.py > examples/histogram.mlir
"""

from rasp_ir.frontend.dsl import Comparison, Select, SelectorWidth, tokens

VOCAB = ["a", "b", "c"]
MAX_SEQ_LEN = 5

same_token = Select(tokens, tokens, Comparison.EQ).named("same_token")
program = SelectorWidth(same_token).named("hist")

if __name__ == "__main__":
    from rasp_ir.program import Program

    print(Program.from_dsl(program).to_mlir(vocab=VOCAB, max_seq_len=MAX_SEQ_LEN), end="")
