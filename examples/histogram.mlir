builtin.module {
  rasp.program @hist vocab ["a", "b", "c"] max_seq_len 5 {
    %tokens = rasp.tokens {values = #rasp.values["a", "b", "c"]} : !rasp.sop<str>
    %same_token = rasp.select %tokens, %tokens, eq : !rasp.sop<str>, !rasp.sop<str>
    %hist = rasp.selector_width %same_token {values = #rasp.values[0, 1, 2, 3, 4, 5]} : !rasp.sop<int>
    rasp.output %hist : !rasp.sop<int>
  }
}
