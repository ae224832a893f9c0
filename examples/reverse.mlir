builtin.module {
  rasp.program @reverse vocab ["a", "b", "c"] max_seq_len 5 {
    %indices = rasp.indices {values = #rasp.values[0, 1, 2, 3, 4]} : !rasp.sop<int>
    %length = rasp.length {values = #rasp.values[1, 2, 3, 4, 5]} : !rasp.sop<int>
    %sequence_map = rasp.sequence_map %length, %indices, [(1, 0) -> 1, (1, 1) -> 0, (1, 2) -> -1, (1, 3) -> -2, (1, 4) -> -3, (2, 0) -> 2, (2, 1) -> 1, (2, 2) -> 0, (2, 3) -> -1, (2, 4) -> -2, (3, 0) -> 3, (3, 1) -> 2, (3, 2) -> 1, (3, 3) -> 0, (3, 4) -> -1, (4, 0) -> 4, (4, 1) -> 3, (4, 2) -> 2, (4, 3) -> 1, (4, 4) -> 0, (5, 0) -> 5, (5, 1) -> 4, (5, 2) -> 3, (5, 3) -> 2, (5, 4) -> 1] {values = #rasp.values[-3, -2, -1, 0, 1, 2, 3, 4, 5]} : !rasp.sop<int>, !rasp.sop<int> -> !rasp.sop<int>
    %opp_index = rasp.map %sequence_map, [-3 -> -4, -2 -> -3, -1 -> -2, 0 -> -1, 1 -> 0, 2 -> 1, 3 -> 2, 4 -> 3, 5 -> 4] {values = #rasp.values[-4, -3, -2, -1, 0, 1, 2, 3, 4]} : !rasp.sop<int> -> !rasp.sop<int>
    %flip = rasp.select %indices, %opp_index, eq : !rasp.sop<int>, !rasp.sop<int>
    %tokens = rasp.tokens {values = #rasp.values["a", "b", "c"]} : !rasp.sop<str>
    %reverse = rasp.aggregate %flip, %tokens {values = #rasp.values[0, "a", "b", "c"]} : !rasp.sop<str> -> !rasp.sop<str>
    rasp.output %reverse : !rasp.sop<str>
  }
}
