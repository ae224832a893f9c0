builtin.module {
  rasp.program @length vocab ["a", "b", "c"] max_seq_len 5 {
    %tokens = rasp.tokens {values = #rasp.values["a", "b", "c"]} : !rasp.sop<str>
    %all_true = rasp.select %tokens, %tokens, true : !rasp.sop<str>, !rasp.sop<str>
    %length = rasp.selector_width %all_true {values = #rasp.values[0, 1, 2, 3, 4, 5]} : !rasp.sop<int>
    rasp.output %length : !rasp.sop<int>
  }
}
