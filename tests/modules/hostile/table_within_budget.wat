;; table_within_budget.wat: grows a table within the table budget (4096 elements) and fills it.
(module
  ;;@include ../wat/prelude.wat
  (func (export "interstice_call") (param i32 i32 i32) (result i32) (call $run))
  (table $t 1 funcref)
  (elem declare func $run)
  (func $run (result i32)
    (i32.eq (table.grow $t (ref.func $run) (i32.const 4096)) (i32.const -1)))
)
