;; bad_import.wat: imports a function the host does not provide (CodeBadImport).
(module
  (import "interstice" "teleport" (func (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "interstice_describe") (result i64) (i64.const 0))
  (func (export "interstice_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "interstice_call") (param i32 i32 i32) (result i32) (i32.const 0))
)
