;; missing_alloc.wat: no interstice_alloc export (CodeMissingExport).
(module
  (memory (export "memory") 1)
  (func (export "interstice_describe") (result i64) (i64.const 0))
  (func (export "interstice_call") (param i32 i32 i32) (result i32) (i32.const 0))
)
