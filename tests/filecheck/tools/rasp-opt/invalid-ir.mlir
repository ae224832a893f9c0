// IR that does not verify, without --verify-diagnostics: the message names the
// file, line and column of the op, shows the line, and the exit status is non-zero.
// With --split-input-file every chunk is processed; the valid ones are printed.
//
// RUN: not rasp-opt %s --split-input-file 2>&1 | filecheck %s --check-prefix=SPLIT
// RUN: not rasp-opt %s 2>&1 | filecheck %s --check-prefix=ONE

rasp.program @p vocab [1, 2] max_seq_len 4 {
  %t = rasp.tokens {values = #rasp.values[1, 2]} : !rasp.sop<cat, int>
  %m = rasp.map %t, [1 -> 2] : !rasp.sop<cat, int> -> !rasp.sop<cat, int>
  // SPLIT:      rasp-opt: error: {{.*}}invalid-ir.mlir:[[# @LINE - 1]]:3: 'rasp.map': the table does not cover the input values 2
  // SPLIT-NEXT:   %m = rasp.map %t, [1 -> 2] : !rasp.sop<cat, int> -> !rasp.sop<cat, int>
  // SPLIT-NEXT:   ^^
  rasp.output %m : !rasp.sop<cat, int>
}

// -----

rasp.program @q {
  %t = rasp.tokens : !rasp.sop<num, str>
  // SPLIT: rasp-opt: error: {{.*}}invalid-ir.mlir:[[# @LINE - 1]]:3: !rasp.sop: a string s-op cannot be numerical
  // Read as one module, the file stops here, at the first error found while parsing.
  // ONE:      rasp-opt: error: {{.*}}invalid-ir.mlir:[[# @LINE - 3]]:3: !rasp.sop: a string s-op cannot be numerical
  // ONE-NEXT:   %t = rasp.tokens : !rasp.sop<num, str>
  // ONE-NEXT:   ^^
  // ONE-NOT: rasp-opt: error
  // ONE-NOT: Traceback
  rasp.output %t : !rasp.sop<num, str>
}

// -----

rasp.program @fine {
  %t = rasp.tokens : !rasp.sop<cat, str>
  rasp.output %t : !rasp.sop<cat, str>
}

// SPLIT:      rasp.program @fine {

// -----

rasp.program @r {
  %t = rasp.tokens : !rasp.sop<cat, str>
  %u = rasp.map %t, ["a" => 1] : !rasp.sop<cat, str> -> !rasp.sop<cat, int>
  // SPLIT:      rasp-opt: error: {{.*}}invalid-ir.mlir:[[# @LINE - 1]]:26: Expected '->'
  // SPLIT-NEXT:   %u = rasp.map %t, ["a" => 1] : !rasp.sop<cat, str> -> !rasp.sop<cat, int>
  // SPLIT-NEXT:                          ^
  // SPLIT-NOT: Traceback
  rasp.output %t : !rasp.sop<cat, str>
}
