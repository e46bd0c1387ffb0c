;; import_memory.wat: imports its memory (the host provides none).
(module
  (import "env" "memory" (memory 1))
  (export "memory" (memory 0))
  (func (export "interstice_describe") (result i64) (i64.const 0))
  (func (export "interstice_alloc") (param i32) (result i32) (i32.const 0))
  (func (export "interstice_call") (param i32 i32 i32) (result i32) (i32.const 0))
)
