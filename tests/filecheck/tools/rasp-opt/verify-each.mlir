// --verify-each: after every pass the IR is verified and, where the reference
// interpreter can run the program (it has vocab and max_seq_len), its outputs on
// sample inputs are compared with the input program's. Notes (e.g. when the
// interpreter is not importable) go to stderr; the output is unchanged.
//
// RUN: rasp-opt %s -p canonicalize,cse,dce --verify-each | filecheck %s
// RUN: rasp-opt %s -p canonicalize,cse,dce --verify-each 2>&1 | filecheck %s --check-prefix=NOERROR

rasp.program @p vocab [0, 1] max_seq_len 3 {
  %i = rasp.indices : !rasp.sop<cat, int>
  %j = rasp.indices : !rasp.sop<cat, int>
  %t = rasp.tokens : !rasp.sop<cat, int>
  %s = rasp.select %i, %j, leq : !rasp.sop<cat, int>, !rasp.sop<cat, int>
  %w = rasp.selector_width %s : !rasp.sop<cat, int>
  rasp.output %w : !rasp.sop<cat, int>
}

// CHECK:      rasp.program @p vocab [0, 1] max_seq_len 3 {
// CHECK-NEXT:   %i = rasp.indices : !rasp.sop<cat, int>
// CHECK-NEXT:   %s = rasp.select %i, %i, leq : !rasp.sop<cat, int>, !rasp.sop<cat, int>
// CHECK-NEXT:   %w = rasp.selector_width %s : !rasp.sop<cat, int>
// CHECK-NEXT:   rasp.output %w : !rasp.sop<cat, int>

// NOERROR-NOT: error
// NOERROR-NOT: Traceback
