;; global_injected.wat: writes global 1 in a loop, a global it does not have (invalid as written). Instrumented, global 1 would be the host's countdown: resetting it would switch the deadline and every preemption point off.
(module
  ;;@include ../wat/prelude.wat
  (func (export "interstice_call") (param i32 i32 i32) (result i32) (call $run))
  (func $run (result i32)
    (loop $l (global.set 1 (i32.const 1000)) (br $l))
    (i32.const 0))
)
