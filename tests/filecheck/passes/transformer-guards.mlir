// Run-time guards: %agg is a categorical aggregate whose selector (geq) may select several
// positions, so rasp-to-transformer records a guard on its one-hot dims (the runtime
// refuses an input where it averages different values). The map that reads %agg reads
// only "agg=2", but the guard reads all three: transformer-drop-unread-dims keeps them
// and renumbers the guard with them (%r's dims are dropped: the embedding computes %s
// from the tokens, and %s takes no dimensions, the heads reading it through the tokens').
//
// RUN: rasp-opt %s -p rasp-infer-values,rasp-infer-encodings,rasp-infer-values,rasp-allocate-layers,rasp-to-transformer | filecheck %s --check-prefix=BEFORE
// RUN: rasp-opt %s -p rasp-infer-values,rasp-infer-encodings,rasp-infer-values,rasp-allocate-layers,rasp-to-transformer,transformer-combine-layers,transformer-drop-unread-dims | filecheck %s
// RUN: rasp-opt %s -p rasp-infer-values,rasp-infer-encodings,rasp-infer-values,rasp-allocate-layers,rasp-to-transformer,transformer-drop-unread-dims | rasp-opt | filecheck %s

rasp.program @geq vocab [8, 29] max_seq_len 3 {
  %t = rasp.tokens : !rasp.sop<int>
  %r = rasp.map %t, [8 -> 1, 29 -> 2] : !rasp.sop<int> -> !rasp.sop<int>
  %s = rasp.map %r, [1 -> 1, 2 -> 2] : !rasp.sop<int> -> !rasp.sop<int>
  %sel = rasp.select %s, %s, geq : !rasp.sop<int>, !rasp.sop<int>
  %agg = rasp.aggregate %sel, %s : !rasp.sop<int> -> !rasp.sop<cat, int>
  %big = rasp.map %agg, [0 -> 0, 1 -> 0, 2 -> 1] : !rasp.sop<cat, int> -> !rasp.sop<num, int>
  rasp.output %big : !rasp.sop<num, int>
}

// BEFORE:      transformer.model @geq layout ["one", "bos", "t=8", "t=29", "r=1", "r=2", "agg=0", "agg=1", "agg=2", "big"]
// BEFORE-SAME:   guards ["%agg = rasp.aggregate" [6, 7, 8]] {

// CHECK:      transformer.model @geq layout ["one", "bos", "t=8", "t=29", "agg=0", "agg=1", "agg=2", "big"] vocab [8, 29] bos "BOS" max_seq_len 3
// CHECK-SAME:   guards ["%agg = rasp.aggregate" [4, 5, 6]] {
// CHECK:        transformer.unembed %{{.*}} numerical dims [7] rounds label "output" : !transformer.residual<8>
