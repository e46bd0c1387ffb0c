;; table_fill.wat: grows a table by 2^27 elements filled with a function reference (~1 GiB of host memory once, under a 16 MiB memory limit). Returns 1 if the grow succeeded.
(module
  ;;@include ../wat/prelude.wat
  (func (export "interstice_call") (param i32 i32 i32) (result i32) (call $run))
  (table $t 1 funcref)
  (elem declare func $run)
  (func $run (result i32)
    (i32.ne (table.grow $t (ref.func $run) (i32.const 0x8000000)) (i32.const -1)))
)
