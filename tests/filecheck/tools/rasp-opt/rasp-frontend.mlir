// The .rasp language as a rasp-opt input format (frontend options give the vocabulary
// and max_seq_len that tables need).
// RUN: rasp-opt %S/Inputs/reverse.rasp -f 'rasp{vocab="a,b" max_seq_len=3}' | filecheck %s
// RUN: not rasp-opt %S/Inputs/reverse.rasp -f 'rasp{vocab="a,b" max_seq_len=3 output="flip"}' 2>&1 | filecheck %s --check-prefix=SELECTOR
// RUN: not rasp-opt %S/Inputs/reverse.rasp 2>&1 | filecheck %s --check-prefix=NOVOCAB
// RUN: rasp-opt %S/Inputs/reverse.rasp -f 'rasp{vocab="a,b" max_seq_len=3}' --pipeline default | filecheck %s --check-prefix=MODEL

// CHECK:      rasp.program @reverse vocab ["a", "b"] max_seq_len 3 {
// CHECK:        %reverse = rasp.aggregate %flip, %tokens
// CHECK:        rasp.output %reverse : !rasp.sop<str>

// SELECTOR: rasp-opt: error: {{.*}}the output 'flip' is a selector

// NOVOCAB: rasp-opt: error: {{.*}}reverse.rasp: reading .rasp needs the vocabulary and max_seq_len

// MODEL: transformer.model @reverse
// MODEL: transformer.unembed
