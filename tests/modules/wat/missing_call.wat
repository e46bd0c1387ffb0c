;; missing_call.wat: no interstice_call export (CodeMissingExport).
(module
  (memory (export "memory") 1)
  (func (export "interstice_describe") (result i64) (i64.const 0))
  (func (export "interstice_alloc") (param i32) (result i32) (i32.const 1024))
)
