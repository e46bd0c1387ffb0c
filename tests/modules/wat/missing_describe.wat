;; missing_describe.wat: no interstice_describe export (CodeMissingExport).
(module
  (memory (export "memory") 1)
  (func (export "interstice_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "interstice_call") (param i32 i32 i32) (result i32) (i32.const 0))
)
