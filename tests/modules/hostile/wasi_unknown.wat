;; wasi_unknown.wat: imports a function wasi_snapshot_preview1 does not have.
(module
  (import "wasi_snapshot_preview1" "sock_open" (func $so (param i32) (result i32)))
  ;;@include ../wat/prelude.wat
  (func (export "interstice_call") (param i32 i32 i32) (result i32) (call $run))
  (func $run (result i32) (i32.const 0))
)
