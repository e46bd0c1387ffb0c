;; import_memory_wasi.wat: imports its memory from wasi_snapshot_preview1 (which has none).
(module
  (import "wasi_snapshot_preview1" "memory" (memory 1))
  (export "memory" (memory 0))
  (func (export "interstice_describe") (result i64) (i64.const 0))
  (func (export "interstice_alloc") (param i32) (result i32) (i32.const 0))
  (func (export "interstice_call") (param i32 i32 i32) (result i32) (i32.const 0))
)
