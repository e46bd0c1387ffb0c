;; describe_oob.wat: interstice_describe points outside memory (CodeMalformed).
(module
  (memory (export "memory") 1)
  (func (export "interstice_describe") (result i64) (i64.const 0x0000fff000001000))
  (func (export "interstice_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "interstice_call") (param i32 i32 i32) (result i32) (i32.const 0))
)
