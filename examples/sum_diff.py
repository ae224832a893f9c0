"""x + y - z over tokens, tokens and indices (the element-wise example of issue 7's
tracr table): no attention at all, so at most one block; the function of tokens and
indices together is one MLP (an additive embedding cannot hold it).

    python examples/sum_diff.py > sum_diff.mlir
"""

from rasp_ir.frontend.dsl import SequenceMap, indices, tokens

VOCAB = [1, 2, 3]
MAX_SEQ_LEN = 5

x_plus_y = SequenceMap(lambda x, y: x + y, tokens, tokens).named("x_plus_y")
program = SequenceMap(lambda s, z: s - z, x_plus_y, indices).named("sum_diff")

if __name__ == "__main__":
    from rasp_ir.program import Program

    print(Program.from_dsl(program).to_mlir(vocab=VOCAB, max_seq_len=MAX_SEQ_LEN), end="")
