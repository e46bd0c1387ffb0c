;; table_grow_huge.wat: table.grow by 2^31-1 elements (a Go fatal out-of-memory in the host once). Returns 1 if the grow succeeded.
(module
  ;;@include ../wat/prelude.wat
  (func (export "interstice_call") (param i32 i32 i32) (result i32) (call $run))
  (table $t 1 funcref)
  (func $run (result i32)
    (i32.ne (table.grow $t (ref.null func) (i32.const 0x7fffffff)) (i32.const -1)))
)
