// transformer-drop-unread-dims: a residual dimension that no head (query, key or value
// weights), no MLP (first weights) and not the unembedding reads is dropped from the
// layout and from every weight. Here %is_a only feeds %ones, which the head averages
// through the tokens' one-hot (%ones takes no dimensions), so nothing reads "is_a=...",
// nor "t=b" (%ones is 0 there): the stream shrinks from 10 to 7 dimensions, and the
// unembedding's dims are renumbered.
//
// RUN: rasp-opt %s -p rasp-infer-values,rasp-infer-encodings,rasp-infer-values,rasp-allocate-layers,rasp-to-transformer | filecheck %s --check-prefix=BEFORE
// RUN: rasp-opt %s -p rasp-infer-values,rasp-infer-encodings,rasp-infer-values,rasp-allocate-layers,rasp-to-transformer,transformer-drop-unread-dims | filecheck %s
// RUN: rasp-opt %s -p rasp-infer-values,rasp-infer-encodings,rasp-infer-values,rasp-allocate-layers,rasp-to-transformer,transformer-drop-unread-dims,transformer-drop-unread-dims --verify-each --verify-each-samples 20 | filecheck %s

rasp.program @frac_a vocab ["a", "b"] max_seq_len 3 {
  %t = rasp.tokens : !rasp.sop<str>
  %i = rasp.indices : !rasp.sop<int>
  %is_a = rasp.map %t, ["a" -> true, "b" -> false] : !rasp.sop<str> -> !rasp.sop<bool>
  %ones = rasp.map %is_a, [true -> 1, false -> 0] : !rasp.sop<bool> -> !rasp.sop<int>
  %prevs = rasp.select %i, %i, leq : !rasp.sop<int>, !rasp.sop<int>
  %frac = rasp.aggregate %prevs, %ones : !rasp.sop<int> -> !rasp.sop<float>
  rasp.output %frac : !rasp.sop<float>
}

// BEFORE:      transformer.model @frac_a layout ["one", "bos", "t=a", "t=b", "i=0", "i=1", "i=2", "is_a=false", "is_a=true", "frac"]
// BEFORE-NEXT:   %0 = transformer.embed token_table dense<{{.*}}> : tensor<3x10xf32>, position_table dense<{{.*}}> : tensor<4x10xf32> -> !transformer.residual<10>
// BEFORE:        transformer.unembed %1 numerical dims [9]

// CHECK:      transformer.model @frac_a layout ["one", "bos", "t=a", "i=0", "i=1", "i=2", "frac"] vocab ["a", "b"] bos "BOS" max_seq_len 3
// CHECK-NEXT:   %0 = transformer.embed token_table dense<{{.*}}> : tensor<3x7xf32>, position_table dense<{{.*}}> : tensor<4x7xf32> -> !transformer.residual<7>
// CHECK-NEXT:   %1 = transformer.attention %0 : !transformer.residual<7> {
// CHECK-NEXT:     transformer.head w_q dense<{{.*}}> : tensor<7x[[DK:[0-9]+]]xf32>, w_k dense<{{.*}}> : tensor<7x[[DK]]xf32>, w_v dense<{{.*}}> : tensor<7x1xf32>, w_o dense<{{.*}}> : tensor<1x7xf32>, {{.*}} label "%frac = rasp.aggregate"
// CHECK-NEXT:   }
// CHECK-NEXT:   transformer.unembed %1 numerical dims [6] label "output" : !transformer.residual<7>
