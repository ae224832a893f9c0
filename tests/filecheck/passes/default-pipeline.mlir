// The whole default pipeline (rasp_ir.passes.DEFAULT_PIPELINE) on a small program:
// reverse, with a map written as a map_fn body and a redundant always-true select.
// rasp-materialize-tables turns the body into a table; canonicalize fuses it into
// the sequence_map before it, drops the always-true conjunct and makes %opp's negative
// values, which no position holds, one value (-3: they all select nothing); the model then
// needs two blocks: the length head, an MLP for %opp, the head that reverses.
// --verify-each compares every step with the reference interpreter (and the model,
// run by the numpy executor, at the end).
//
// RUN: rasp-opt %s -p rasp-default-pipeline | filecheck %s
// RUN: rasp-opt %s --pipeline default --verify-each --verify-each-samples 30 | filecheck %s
// RUN: rasp-opt %s -p rasp-default-pipeline --print-ir-after=canonicalize 2>&1 | filecheck %s --check-prefix=CANON

rasp.program @reverse vocab ["a", "b", "c"] max_seq_len 4 {
  %t = rasp.tokens : !rasp.sop<str>
  %i = rasp.indices : !rasp.sop<int>
  %n = rasp.length : !rasp.sop<int>
  %n_minus_i = rasp.sequence_map %n, %i, [(1, 0) -> 1, (1, 1) -> 0, (1, 2) -> -1, (1, 3) -> -2, (2, 0) -> 2, (2, 1) -> 1, (2, 2) -> 0, (2, 3) -> -1, (3, 0) -> 3, (3, 1) -> 2, (3, 2) -> 1, (3, 3) -> 0, (4, 0) -> 4, (4, 1) -> 3, (4, 2) -> 2, (4, 3) -> 1] : !rasp.sop<int>, !rasp.sop<int> -> !rasp.sop<int>
  %opp = rasp.map_fn %n_minus_i : !rasp.sop<int> -> !rasp.sop<int> {
  ^bb0(%v : i64):
    %c1 = arith.constant 1 : i64
    %r = arith.subi %v, %c1 : i64
    rasp.yield %r : i64
  }
  %flip = rasp.select %i, %opp, eq : !rasp.sop<int>, !rasp.sop<int>
  %all = rasp.select %opp, %opp, true : !rasp.sop<int>, !rasp.sop<int>
  %sel = rasp.select_and %flip, %all
  %rev = rasp.aggregate %sel, %t : !rasp.sop<str> -> !rasp.sop<str>
  rasp.output %rev : !rasp.sop<str>
}

// CANON:      // -----// IR Dump After canonicalize //----- //
// CANON:        %n = rasp.length
// CANON-NEXT:   %opp = rasp.sequence_map %n, %i, [(1, 0) -> 0, (1, 1) -> -3, (1, 2) -> -3, (1, 3) -> -3, (2, 0) -> 1,
// CANON-NEXT:   %flip = rasp.select %i, %opp, eq
// CANON-NEXT:   %rev = rasp.aggregate %flip, %t

// CHECK:      builtin.module {
// CHECK-NEXT:   transformer.model @reverse layout ["one", "bos", {{.*}}"opp=-3", "opp=0", "opp=1", "opp=2", "opp=3", "rev=0", "rev=a", "rev=b", "rev=c"] vocab ["a", "b", "c"] bos "BOS" max_seq_len 4 tolerance 1.000000e-03 {
// CHECK-NEXT:     %0 = transformer.embed token_table dense<{{.*}}> : tensor<4x[[D:[0-9]+]]xf32>, position_table dense<{{.*}}> : tensor<5x[[D]]xf32> -> !transformer.residual<[[D]]>
// CHECK-NEXT:     %1 = transformer.attention %0 : !transformer.residual<[[D]]> {
// CHECK-NEXT:       transformer.head {{.*}} label "%n = rasp.length"
// CHECK-NEXT:     }
// CHECK-NEXT:     %2 = transformer.mlp %1 : !transformer.residual<[[D]]> {{.*}} label "%opp = rasp.sequence_map"
// CHECK-NEXT:     %3 = transformer.attention %2 : !transformer.residual<[[D]]> {
// CHECK-NEXT:       transformer.head {{.*}} label "%rev = rasp.aggregate"
// CHECK-NEXT:     }
// CHECK-NEXT:     transformer.unembed %3 categorical dims [{{[0-9, ]+}}] values [0, "a", "b", "c"] label "output" : !transformer.residual<[[D]]>
// CHECK-NEXT:   }
// CHECK-NEXT: }
// CHECK-NOT:  rasp.
