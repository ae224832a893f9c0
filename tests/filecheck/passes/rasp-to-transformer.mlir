// rasp-to-transformer: a scheduled rasp.program becomes a transformer.model. The
// residual stream holds "one", "bos", then one dimension per value of each
// categorical s-op ("name=value"); the embedding has a row per token plus BOS
// ([V+1, D]) and per position plus BOS ([max_seq_len+1, D]); each aggregate is an
// attention layer with one head, each element-wise op an MLP; the unembedding reads
// the output's dimensions and decodes them with its values. %prev, a function of the
// indices that only a head reads, takes no dimensions: the head reads it through the
// indices' one-hot. Shapes are checked, not weights: --verify-each runs the model
// (numpy executor) against the interpreter.
//
// RUN: rasp-opt %s -p rasp-infer-values,rasp-infer-encodings,rasp-infer-values,rasp-allocate-layers,rasp-to-transformer --split-input-file | filecheck %s
// RUN: rasp-opt %s -p rasp-infer-values,rasp-infer-encodings,rasp-infer-values,rasp-allocate-layers,rasp-to-transformer --split-input-file --verify-each --verify-each-samples 20 | filecheck %s
// RUN: not rasp-opt %s -p rasp-infer-values,rasp-infer-encodings,rasp-infer-values,rasp-to-transformer 2>&1 | filecheck %s --check-prefix=UNSCHEDULED
// RUN: not rasp-opt %s -p rasp-infer-values,rasp-allocate-layers,rasp-to-transformer 2>&1 | filecheck %s --check-prefix=NOENCODING

rasp.program @same_as_prev vocab ["a", "b"] max_seq_len 3 {
  %t = rasp.tokens : !rasp.sop<str>
  %i = rasp.indices : !rasp.sop<int>
  %prev = rasp.map %i, [0 -> 0, 1 -> 0, 2 -> 1] : !rasp.sop<int> -> !rasp.sop<int>
  %at_prev = rasp.select %i, %prev, eq : !rasp.sop<int>, !rasp.sop<int>
  %shift = rasp.aggregate %at_prev, %t default "a" : !rasp.sop<str> -> !rasp.sop<str>
  %same = rasp.sequence_map %shift, %t, [("a", "a") -> true, ("a", "b") -> false, ("b", "a") -> false, ("b", "b") -> true] : !rasp.sop<str>, !rasp.sop<str> -> !rasp.sop<bool>
  rasp.output %same : !rasp.sop<bool>
}

// CHECK:      builtin.module {
// CHECK-NEXT:   transformer.model @same_as_prev layout ["one", "bos", "t=a", "t=b", "i=0", "i=1", "i=2", "shift=a", "shift=b", "same=false", "same=true"] vocab ["a", "b"] bos "BOS" max_seq_len 3 tolerance 1.000000e-03 {
// CHECK-NEXT:     %0 = transformer.embed token_table dense<{{.*}}> : tensor<3x11xf32>, position_table dense<{{.*}}> : tensor<4x11xf32> -> !transformer.residual<11>
// CHECK-NEXT:     %1 = transformer.attention %0 : !transformer.residual<11> {
// CHECK-NEXT:       transformer.head w_q dense<{{.*}}> : tensor<11x[[DK:[0-9]+]]xf32>, w_k dense<{{.*}}> : tensor<11x[[DK]]xf32>, w_v dense<{{.*}}> : tensor<11x2xf32>, w_o dense<{{.*}}> : tensor<2x11xf32>, scale {{[0-9.e+-]+}} label "%shift = rasp.aggregate"
// CHECK-NEXT:     }
// CHECK-NEXT:     %2 = transformer.mlp %1 : !transformer.residual<11> w1 dense<{{.*}}> : tensor<11x[[H:[0-9]+]]xf32>, b1 dense<{{.*}}> : tensor<[[H]]xf32>, w2 dense<{{.*}}> : tensor<[[H]]x11xf32>, b2 dense<{{.*}}> : tensor<11xf32> label "%same = rasp.sequence_map"
// CHECK-NEXT:     transformer.unembed %2 categorical dims [9, 10] values [false, true] label "output" : !transformer.residual<11>
// CHECK-NEXT:   }
// CHECK-NEXT: }

// -----

// A numerical s-op has one dimension ("frac"), and a numerical output is read from it.
rasp.program @frac_ones vocab [0, 1] max_seq_len 3 {
  %t = rasp.tokens : !rasp.sop<int>
  %i = rasp.indices : !rasp.sop<int>
  %prevs = rasp.select %i, %i, leq : !rasp.sop<int>, !rasp.sop<int>
  %frac = rasp.aggregate %prevs, %t : !rasp.sop<int> -> !rasp.sop<float>
  rasp.output %frac : !rasp.sop<float>
}

// CHECK:      transformer.model @frac_ones layout ["one", "bos", "t", "i=0", "i=1", "i=2", "frac"]
// CHECK-NEXT:   %0 = transformer.embed token_table dense<{{.*}}> : tensor<3x7xf32>, position_table dense<{{.*}}> : tensor<4x7xf32> -> !transformer.residual<7>
// CHECK-NEXT:   %1 = transformer.attention %0 : !transformer.residual<7> {
// CHECK-NEXT:     transformer.head w_q {{.*}} w_v dense<{{.*}}> : tensor<7x1xf32>, w_o dense<{{.*}}> : tensor<1x7xf32>, {{.*}} label "%frac = rasp.aggregate"
// CHECK-NEXT:   }
// CHECK-NEXT:   transformer.unembed %1 numerical dims [6] label "output" : !transformer.residual<7>
// CHECK-NOT:  rasp.

// UNSCHEDULED: rasp-opt: error: in pass 'rasp-to-transformer': %shift = rasp.aggregate has no block; run rasp-allocate-layers first
// NOENCODING: rasp-opt: error: in pass 'rasp-to-transformer': %t = rasp.tokens has no encoding; run rasp-infer-encodings
