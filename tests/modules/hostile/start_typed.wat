;; start_typed.wat: a start function of type (i32) -> () (invalid as written; instrumentation exports it instead of running it as the start).
(module
  ;;@include ../wat/prelude.wat
  (func (export "interstice_call") (param i32 i32 i32) (result i32) (call $run))
  (func $s (param i32))
  (start $s)
  (func $run (result i32) (i32.const 0))
)
