;; global_injected_flag.wat: clears global 0, the host's interrupt flag once instrumented (invalid as written).
(module
  ;;@include ../wat/prelude.wat
  (func (export "interstice_call") (param i32 i32 i32) (result i32) (call $run))
  (func $run (result i32)
    (loop $l (global.set 0 (i32.const 0)) (br $l))
    (i32.const 0))
)
