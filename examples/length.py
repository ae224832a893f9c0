"""The length of the input at every position, as tracr's `make_length` builds it:
the width of a selector that selects everything. 1 layer, [1].

    python examples/length.py > examples/length.mlir
"""

from rasp_ir.frontend.dsl import Comparison, Select, SelectorWidth, tokens

VOCAB = ["a", "b", "c"]
MAX_SEQ_LEN = 5

all_true = Select(tokens, tokens, Comparison.TRUE).named("all_true")
program = SelectorWidth(all_true).named("length")

if __name__ == "__main__":
    from rasp_ir.program import Program

    print(Program.from_dsl(program).to_mlir(vocab=VOCAB, max_seq_len=MAX_SEQ_LEN), end="")
