// RUN: rasp-opt --help | filecheck %s
// RUN: rasp-opt --version | filecheck %s --check-prefix=VERSION

// CHECK:      usage: rasp-opt
// CHECK:      rasp-opt: the rasp-ir modular optimizer driver.
// CHECK:      --pipeline NAME
// CHECK:      --print-ir-before-all
// CHECK:      --print-ir-after-all
// CHECK:      --print-ir-before PASS[,PASS]
// CHECK:      --print-ir-after PASS[,PASS]
// CHECK:      --verify-each
// CHECK:      passes:
// CHECK-DAG:    rasp-materialize-tables {{ *}}{{[A-Z(]}}
// CHECK-DAG:    rasp-infer-values {{ *}}{{[A-Z(]}}
// CHECK-DAG:    rasp-infer-encodings {{ *}}{{[A-Z(]}}
// CHECK-DAG:    rasp-allocate-layers {{ *}}{{[A-Z(]}}
// CHECK-DAG:    rasp-to-transformer {{ *}}{{[A-Z(]}}
// CHECK-DAG:    transformer-combine-layers {{ *}}{{[A-Z(]}}
// CHECK-DAG:    transformer-drop-unread-dims {{ *}}{{[A-Z(]}}
// CHECK-DAG:    canonicalize {{ *}}Applies all canonicalization patterns.
// CHECK-DAG:    cse {{ *}}Common subexpression elimination
// CHECK-DAG:    dce {{ *}}Dead code elimination
// CHECK-DAG:    rasp-default-pipeline {{ *}}named pipeline: rasp-materialize-tables,
// CHECK:      IR dumps:
// CHECK:      on stderr
// CHECK:      examples:
// CHECK:        rasp-opt prog.mlir -p rasp-infer-values,canonicalize,cse

// VERSION: rasp-opt (rasp-ir {{.*}}), built on xDSL 0.75.0
