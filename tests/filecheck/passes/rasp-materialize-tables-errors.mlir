// rasp-materialize-tables refuses a body it cannot run on every input value, and a
// program it cannot infer value sets for; each error names the op and the reason.
//
// RUN: not rasp-opt %s -p rasp-materialize-tables --split-input-file 2>&1 | filecheck %s

rasp.program @strings vocab ["a", "b"] max_seq_len 2 {
  %t = rasp.tokens : !rasp.sop<str>
  %f = rasp.map_fn %t : !rasp.sop<str> -> !rasp.sop<int> {
  ^bb0(%v : i64):
    rasp.yield %v : i64
  }
  rasp.output %f : !rasp.sop<int>
}

// CHECK: rasp-opt: error: in pass 'rasp-materialize-tables': %f = rasp.map_fn: a map_fn body works on numbers; the input can be the string 'a'

// -----

rasp.program @division vocab [0, 1, 2] max_seq_len 2 {
  %t = rasp.tokens : !rasp.sop<int>
  %inv = rasp.map_fn %t : !rasp.sop<int> -> !rasp.sop<int> {
  ^bb0(%v : i64):
    %c = arith.constant 6 : i64
    %r = arith.divsi %c, %v : i64
    rasp.yield %r : i64
  }
  rasp.output %inv : !rasp.sop<int>
}

// CHECK: rasp-opt: error: in pass 'rasp-materialize-tables': %inv = rasp.map_fn: the body fails on input 0

// -----

rasp.program @no_vocab {
  %t = rasp.tokens : !rasp.sop<int>
  %f = rasp.map_fn %t : !rasp.sop<int> -> !rasp.sop<int> {
  ^bb0(%v : i64):
    rasp.yield %v : i64
  }
  rasp.output %f : !rasp.sop<int>
}

// CHECK: rasp-opt: error: in pass 'rasp-materialize-tables': rasp.program @no_vocab has no vocab and max_seq_len
