;; import_table.wat: imports a table (the host provides none).
(module
  (import "interstice" "t" (table 1 funcref))
  ;;@include ../wat/prelude.wat
  (func (export "interstice_call") (param i32 i32 i32) (result i32) (call $run))
  (func $run (result i32) (i32.const 0))
)
