;; export_injected.wat: exports global 0, which it does not have (invalid as written).
(module
  ;;@include ../wat/prelude.wat
  (func (export "interstice_call") (param i32 i32 i32) (result i32) (call $run))
  (export "g" (global 0))
  (func $run (result i32) (i32.const 0))
)
