;; grow_refused.wat: grows memory until refused, then traps: the memory limit.
(module
  ;;@include ../wat/prelude.wat
  (func (export "interstice_call") (param i32 i32 i32) (result i32) (call $run))
  (func $run (result i32)
    (loop $g (br_if $g (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
    (unreachable))
)
