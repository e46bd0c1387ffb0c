;; wasi_bad_signature.wat: imports wasi_snapshot_preview1.fd_write with the wrong signature.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fdw (param i64) (result i32)))
  ;;@include ../wat/prelude.wat
  (func (export "interstice_call") (param i32 i32 i32) (result i32) (call $run))
  (func $run (result i32) (i32.const 0))
)
