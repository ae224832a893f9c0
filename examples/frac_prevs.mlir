builtin.module {
  rasp.program @frac_prevs vocab ["a", "b", "c"] max_seq_len 5 {
    %indices = rasp.indices {values = #rasp.values[0, 1, 2, 3, 4]} : !rasp.sop<int>
    %prevs = rasp.select %indices, %indices, leq : !rasp.sop<int>, !rasp.sop<int>
    %tokens = rasp.tokens {values = #rasp.values["a", "b", "c"]} : !rasp.sop<str>
    %is_a = rasp.map %tokens, ["a" -> true, "b" -> false, "c" -> false] {values = #rasp.values[false, true]} : !rasp.sop<str> -> !rasp.sop<num, bool>
    %frac_prevs = rasp.aggregate %prevs, %is_a default 0 {values = #rasp.values[0.0, 0.2, 0.25, 0.3333333333333333, 0.4, 0.5, 0.6, 0.6666666666666666, 0.75, 0.8, 1.0]} : !rasp.sop<num, bool> -> !rasp.sop<num, float>
    rasp.output %frac_prevs : !rasp.sop<num, float>
  }
}
