;; table_declared_huge.wat: declares a table of 2^27 elements.
(module
  ;;@include ../wat/prelude.wat
  (func (export "interstice_call") (param i32 i32 i32) (result i32) (call $run))
  (table $t 0x8000000 funcref)
  (func $run (result i32) (i32.const 0))
)
