;; spin_own_global.wat: a valid reducer that spins writing its own mutable global (the last global index before the host's).
(module
  ;;@include ../wat/prelude.wat
  (func (export "interstice_call") (param i32 i32 i32) (result i32) (call $run))
  (global $a (mut i32) (i32.const 0))
  (global $b (mut i32) (i32.const 0))
  (func $run (result i32)
    (loop $l (global.set $b (i32.add (global.get $b) (i32.const 1))) (global.set $a (i32.const 1000)) (br $l))
    (i32.const 0))
)
