builtin.module {
  rasp.program @sort vocab [1, 2, 3, 4, 5] max_seq_len 6 {
    %tokens = rasp.tokens {values = #rasp.values[1, 2, 3, 4, 5]} : !rasp.sop<int>
    %smaller = rasp.select %tokens, %tokens, lt : !rasp.sop<int>, !rasp.sop<int>
    %equal = rasp.select %tokens, %tokens, eq : !rasp.sop<int>, !rasp.sop<int>
    %indices = rasp.indices {values = #rasp.values[0, 1, 2, 3, 4, 5]} : !rasp.sop<int>
    %earlier = rasp.select %indices, %indices, lt : !rasp.sop<int>, !rasp.sop<int>
    %equal_earlier = rasp.select_and %equal, %earlier
    %goes_before = rasp.select_or %smaller, %equal_earlier
    %target_pos = rasp.selector_width %goes_before {values = #rasp.values[0, 1, 2, 3, 4, 5, 6]} : !rasp.sop<int>
    %read_target = rasp.select %target_pos, %indices, eq : !rasp.sop<int>, !rasp.sop<int>
    %sort = rasp.aggregate %read_target, %tokens {values = #rasp.values[0, 1, 2, 3, 4, 5]} : !rasp.sop<int> -> !rasp.sop<cat, int>
    rasp.output %sort : !rasp.sop<cat, int>
  }
}
