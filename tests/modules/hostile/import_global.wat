;; import_global.wat: imports a global (the host provides none).
(module
  (import "interstice" "g" (global i32))
  ;;@include ../wat/prelude.wat
  (func (export "interstice_call") (param i32 i32 i32) (result i32) (call $run))
  (func $run (result i32) (i32.const 0))
)
