"""Per position: the fraction of "(" minus the fraction of ")" up to it (tracr's
`make_pair_balance`, the first step of shuffle-Dyck).

Two numerical means over the same selector and their difference, a linear map of two
numbers. 1 layer, [1].

    python examples/pair_balance.py > pair_balance.mlir
"""

from rasp_ir.frontend.dsl import Aggregate, Comparison, LinearSequenceMap, Select, SOp, indices, numerical, tokens

VOCAB = ["(", ")", "x"]
MAX_SEQ_LEN = 5


def make_pair_balance(sop: SOp, open_token: str, close_token: str) -> SOp:
    """The share of `open_token` minus the share of `close_token` among the positions up to each."""
    up_to_here = Select(indices, indices, Comparison.LEQ).named("up_to_here")
    opens = numerical(Aggregate(up_to_here, numerical(sop == open_token), default=0)).named("opens")
    closes = numerical(Aggregate(up_to_here, numerical(sop == close_token), default=0)).named("closes")
    return numerical(LinearSequenceMap(opens, closes, 1, -1)).named("pair_balance")


program = make_pair_balance(tokens, "(", ")")

if __name__ == "__main__":
    from rasp_ir.program import Program

    print(Program.from_dsl(program).to_mlir(vocab=VOCAB, max_seq_len=MAX_SEQ_LEN), end="")
