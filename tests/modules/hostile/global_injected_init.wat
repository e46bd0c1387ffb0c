;; global_injected_init.wat: _initialize resets global 1 (the countdown once instrumented) in a loop (invalid as written).
(module
  ;;@include ../wat/prelude.wat
  (func (export "interstice_call") (param i32 i32 i32) (result i32) (call $run))
  (func (export "_initialize")
    (loop $l (global.set 1 (i32.const 1000)) (br $l)))
  (func $run (result i32) (i32.const 0))
)
