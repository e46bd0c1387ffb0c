;; spin.wat: module "spin" for the call deadline tests (core/interrupt_test.go,
;; schema spinSchema). Reducers in index order: noop, spin (a pure-compute
;; loop), spin_host (a loop calling a host import), fib (exponential
;; recursion without a loop), work (a bounded loop of 3M iterations).
;; MODE, one byte at 2048: 0 normal, 1 _initialize spins, 2 describe spins,
;; 3 the start function spins.
(module
  (import "interstice" "table" (func $table (param i32 i32) (result i32)))
  (import "interstice" "count" (func $count (param i32) (result i64)))
  (memory (export "memory") 2)
  (data (i32.const 1024) "{{SCHEMA}}")
  (data (i32.const 2048) "{{MODE}}")
  (data (i32.const 4096) "items")
  (func $start
    (if (i32.eq (i32.load8_u (i32.const 2048)) (i32.const 3)) (then (loop $l (br $l)))))
  (start $start)
  (func (export "_initialize")
    (if (i32.eq (i32.load8_u (i32.const 2048)) (i32.const 1)) (then (loop $l (br $l)))))
  (func (export "interstice_describe") (result i64)
    (if (i32.eq (i32.load8_u (i32.const 2048)) (i32.const 2)) (then (loop $l (br $l))))
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const {{len:SCHEMA}})))
  (func (export "interstice_alloc") (param i32) (result i32)
    (if (i32.gt_u (local.get 0) (i32.const 65536)) (then (return (i32.const 0))))
    (i32.const 65536))
  (func $fib (param i32) (result i32)
    (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
      (then (local.get 0))
      (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                     (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
  (func (export "interstice_call") (param $r i32) (param i32 i32) (result i32)
    (local $h i32) (local $i i32) (local $s i32)
    (if (i32.eq (local.get $r) (i32.const 1)) (then (loop $l (br $l))))
    (if (i32.eq (local.get $r) (i32.const 2)) (then
      (local.set $h (call $table (i32.const 4096) (i32.const 5)))
      (loop $l (drop (call $count (local.get $h))) (br $l))))
    (if (i32.eq (local.get $r) (i32.const 3)) (then (return (i32.and (call $fib (i32.const 60)) (i32.const 0)))))
    (if (i32.eq (local.get $r) (i32.const 4)) (then
      (loop $l
        (local.set $s (i32.add (local.get $s) (local.get $i)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get $i) (i32.const 3000000))))
      (return (i32.ne (local.get $s) (i32.const -1127226208)))))
    (i32.const 0))
)
