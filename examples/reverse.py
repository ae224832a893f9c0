"""Reverse the input: the paper's `reverse`, tracr's `make_reverse`.

Position i reads position n-1-i. `length` costs one attention layer (a
transformer computes it by attention), the aggregate a second: 2 layers, [1, 1].

    python examples/reverse.py > examples/reverse.mlir
"""

from rasp_ir.frontend.dsl import Aggregate, Comparison, Select, indices, length, tokens

VOCAB = ["a", "b", "c"]
MAX_SEQ_LEN = 5

opp_index = (length - indices - 1).named("opp_index")
flip = Select(indices, opp_index, Comparison.EQ).named("flip")
program = Aggregate(flip, tokens).named("reverse")

if __name__ == "__main__":
    from rasp_ir.program import Program

    print(Program.from_dsl(program).to_mlir(vocab=VOCAB, max_seq_len=MAX_SEQ_LEN), end="")
