;; call_poll.wat: calls function 21, one past its last (the host's $poll once instrumented; invalid as written).
(module
  ;;@include ../wat/prelude.wat
  (func (export "interstice_call") (param i32 i32 i32) (result i32) (call $run))
  (func $run (result i32)
    (call 21)
    (i32.const 0))
)
