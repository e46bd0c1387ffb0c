;; unreachable_near_limit.wat: a plain unreachable in a module whose memory (48 pages) is close to a 52-page limit: a trap, not a memory limit.
(module
  ;;@include ../wat/prelude.wat
  (func (export "interstice_call") (param i32 i32 i32) (result i32) (call $run))
  (func $run (result i32) (unreachable))
)
