// rasp-allocate-layers: every op gets the earliest transformer block its inputs allow
// (`block = N`, `sublayer = "..."`). Tokens, indices, constants and element-wise
// functions of the tokens alone are written into the embedding (block 0); a head
// (aggregate, selector_width) runs in an attention sub-layer; other element-wise ops
// in an MLP sub-layer after their inputs. %back needs %sum, which needs the block-1
// heads, so the program needs 2 blocks. Selectors get no block.
//
// RUN: rasp-opt %s -p rasp-infer-values,rasp-allocate-layers | filecheck %s
// RUN: rasp-opt %s -p rasp-infer-values,rasp-allocate-layers,rasp-allocate-layers | filecheck %s

rasp.program @two vocab [0, 1] max_seq_len 3 {
  %t = rasp.tokens : !rasp.sop<cat, int>
  %i = rasp.indices : !rasp.sop<cat, int>
  %flip = rasp.map %t, [0 -> 1, 1 -> 0] : !rasp.sop<cat, int> -> !rasp.sop<num, int>
  %eq = rasp.select %i, %i, eq : !rasp.sop<cat, int>, !rasp.sop<cat, int>
  %copy = rasp.aggregate %eq, %t : !rasp.sop<cat, int> -> !rasp.sop<cat, int>
  %w = rasp.selector_width %eq : !rasp.sop<cat, int>
  %sum = rasp.sequence_map %copy, %w, [(0, 0) -> 0, (0, 1) -> 1, (0, 2) -> 2, (0, 3) -> 3, (1, 0) -> 1, (1, 1) -> 2, (1, 2) -> 3, (1, 3) -> 4] : !rasp.sop<cat, int>, !rasp.sop<cat, int> -> !rasp.sop<cat, int>
  %same = rasp.select %sum, %sum, eq : !rasp.sop<cat, int>, !rasp.sop<cat, int>
  %back = rasp.aggregate %same, %flip : !rasp.sop<num, int> -> !rasp.sop<num, float>
  rasp.output %back : !rasp.sop<num, float>
}

// CHECK:      %t = rasp.tokens {{.*}}block = 0 : i64, sublayer = "embedding"}
// CHECK-NEXT: %i = rasp.indices {{.*}}block = 0 : i64, sublayer = "embedding"}
// CHECK-NEXT: %flip = rasp.map %t, {{.*}}block = 0 : i64, sublayer = "embedding"}
// CHECK-NEXT: %eq = rasp.select %i, %i, eq : !rasp.sop<cat, int>, !rasp.sop<cat, int>
// CHECK-NEXT: %copy = rasp.aggregate %eq, %t {{.*}}block = 1 : i64, sublayer = "attention"}
// CHECK-NEXT: %w = rasp.selector_width %eq {{.*}}block = 1 : i64, sublayer = "attention{{(\+mlp)?}}"}
// CHECK-NEXT: %sum = rasp.sequence_map %copy, %w, {{.*}}block = 1 : i64, sublayer = "mlp"}
// CHECK-NEXT: %same = rasp.select %sum, %sum, eq : !rasp.sop<cat, int>, !rasp.sop<cat, int>
// CHECK-NEXT: %back = rasp.aggregate %same, %flip {{.*}}block = 2 : i64, sublayer = "attention"}
// CHECK-NEXT: rasp.output %back
// CHECK-NOT:  block = 3
