// A pass that stops with a user error (a RaspError): one message that names the
// pass, a non-zero exit; under --verify-diagnostics it is printed on stdout and
// the exit status is 0, so pass tests can check error messages the same way.
//
// RUN: not rasp-opt %s -p rasp-infer-values 2>&1 | filecheck %s
// RUN: rasp-opt %s -p rasp-infer-values --verify-diagnostics | filecheck %s --check-prefix=DIAG

rasp.program @p {
  %t = rasp.tokens : !rasp.sop<cat, str>
  rasp.output %t : !rasp.sop<cat, str>
}

// CHECK:     rasp-opt: error: in pass 'rasp-infer-values': {{.*}}@p has no vocab and max_seq_len
// CHECK-NOT: Traceback
// DIAG:      error: in pass 'rasp-infer-values': {{.*}}@p has no vocab and max_seq_len
