// transformer-combine-layers: rasp-to-transformer emits one attention layer per head
// and one MLP per map; neighbouring layers that read nothing the other writes run in
// parallel, so they merge: two heads into one attention op, two MLPs into one with
// their hidden units side by side (3 + 3 = 6: each two-token lookup is a cube cover
// with one always-on unit for the default and one unit per other cube). Layers that depend on each other stay
// apart. The layout does not change; --verify-each runs the model after every pass.
//
// RUN: rasp-opt %s --split-input-file -p rasp-infer-values,rasp-infer-encodings,rasp-infer-values,rasp-allocate-layers,rasp-to-transformer | filecheck %s --check-prefix=BEFORE
// RUN: rasp-opt %s --split-input-file -p rasp-infer-values,rasp-infer-encodings,rasp-infer-values,rasp-allocate-layers,rasp-to-transformer,transformer-combine-layers | filecheck %s
// RUN: rasp-opt %s --split-input-file -p rasp-infer-values,rasp-infer-encodings,rasp-infer-values,rasp-allocate-layers,rasp-to-transformer,transformer-combine-layers --verify-each --verify-each-samples 20 | filecheck %s

rasp.program @heads vocab ["a", "b"] max_seq_len 3 {
  %t = rasp.tokens : !rasp.sop<str>
  %i = rasp.indices : !rasp.sop<int>
  %prev = rasp.map %i, [0 -> 0, 1 -> 0, 2 -> 1] : !rasp.sop<int> -> !rasp.sop<int>
  %zero = rasp.constant 0 : !rasp.sop<int>
  %at_prev = rasp.select %i, %prev, eq : !rasp.sop<int>, !rasp.sop<int>
  %at_first = rasp.select %i, %zero, eq : !rasp.sop<int>, !rasp.sop<int>
  %shift = rasp.aggregate %at_prev, %t default "a" : !rasp.sop<str> -> !rasp.sop<str>
  %first = rasp.aggregate %at_first, %t default "a" : !rasp.sop<str> -> !rasp.sop<str>
  %x = rasp.sequence_map %shift, %t, [("a", "a") -> 0, ("a", "b") -> 1, ("b", "a") -> 1, ("b", "b") -> 0] : !rasp.sop<str>, !rasp.sop<str> -> !rasp.sop<int>
  %y = rasp.sequence_map %first, %t, [("a", "a") -> 1, ("a", "b") -> 0, ("b", "a") -> 0, ("b", "b") -> 1] : !rasp.sop<str>, !rasp.sop<str> -> !rasp.sop<int>
  %match = rasp.select %x, %y, eq : !rasp.sop<int>, !rasp.sop<int>
  %w = rasp.selector_width %match : !rasp.sop<int>
  rasp.output %w : !rasp.sop<int>
}

// BEFORE-LABEL: transformer.model @heads
// BEFORE:         %1 = transformer.attention %0
// BEFORE-NEXT:      transformer.head {{.*}} label "%shift = rasp.aggregate"
// BEFORE-NEXT:    }
// BEFORE-NEXT:    %2 = transformer.attention %1
// BEFORE-NEXT:      transformer.head {{.*}} label "%first = rasp.aggregate"
// BEFORE-NEXT:    }
// BEFORE-NEXT:    %3 = transformer.mlp %2 : !transformer.residual<21> w1 {{.*}} : tensor<21x3xf32>, {{.*}} label "%x = rasp.sequence_map"
// BEFORE-NEXT:    %4 = transformer.mlp %3 : !transformer.residual<21> w1 {{.*}} : tensor<21x3xf32>, {{.*}} label "%y = rasp.sequence_map"

// CHECK-LABEL: transformer.model @heads
// CHECK-NEXT:    %0 = transformer.embed
// CHECK-NEXT:    %1 = transformer.attention %0 : !transformer.residual<21> {
// CHECK-NEXT:      transformer.head w_q {{.*}} w_o dense<{{.*}}> : tensor<2x21xf32>, scale {{.*}} label "%shift = rasp.aggregate"
// CHECK-NEXT:      transformer.head w_q {{.*}} w_o dense<{{.*}}> : tensor<2x21xf32>, scale {{.*}} label "%first = rasp.aggregate"
// CHECK-NEXT:    }
// CHECK-NEXT:    %2 = transformer.mlp %1 : !transformer.residual<21> w1 dense<{{.*}}> : tensor<21x6xf32>, b1 dense<{{.*}}> : tensor<6xf32>, w2 dense<{{.*}}> : tensor<6x21xf32>, b2 dense<{{.*}}> : tensor<21xf32> label "%x = rasp.sequence_map; %y = rasp.sequence_map"
// CHECK-NEXT:    %3 = transformer.attention %2 : !transformer.residual<21> {
// CHECK-NEXT:      transformer.head {{.*}} label "%w = rasp.selector_width"
// CHECK-NEXT:    }
// CHECK-NEXT:    %4 = transformer.mlp %3 {{.*}} label "%w = rasp.selector_width"
// CHECK-NEXT:    transformer.unembed %4 categorical dims [16, 17, 18, 19] values [0, 1, 2, 3]

// -----

// %shift2 averages what %shift writes: the two heads cannot run in parallel.
rasp.program @chained vocab ["a", "b"] max_seq_len 3 {
  %t = rasp.tokens : !rasp.sop<str>
  %i = rasp.indices : !rasp.sop<int>
  %prev = rasp.map %i, [0 -> 0, 1 -> 0, 2 -> 1] : !rasp.sop<int> -> !rasp.sop<int>
  %at_prev = rasp.select %i, %prev, eq : !rasp.sop<int>, !rasp.sop<int>
  %shift = rasp.aggregate %at_prev, %t default "a" : !rasp.sop<str> -> !rasp.sop<str>
  %shift2 = rasp.aggregate %at_prev, %shift default "a" : !rasp.sop<str> -> !rasp.sop<str>
  rasp.output %shift2 : !rasp.sop<str>
}

// BEFORE-LABEL: transformer.model @chained

// CHECK-LABEL: transformer.model @chained
// CHECK:         %1 = transformer.attention %0
// CHECK-NEXT:      transformer.head {{.*}} label "%shift = rasp.aggregate"
// CHECK-NEXT:    }
// CHECK-NEXT:    %2 = transformer.attention %1
// CHECK-NEXT:      transformer.head {{.*}} label "%shift2 = rasp.aggregate"
// CHECK-NEXT:    }
// CHECK-NEXT:    transformer.unembed %2
