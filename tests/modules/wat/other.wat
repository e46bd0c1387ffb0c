;; other.wat: module "other" (public items, private secret), the target of
;; kv's cross-module calls and access checks.
(module
  ;;@include prelude.wat
  (data (i32.const 4096) "items")
  (data (i32.const 4112) "kv")
  (data (i32.const 4128) "put")
  (data (i32.const 4144) "other says no") ;; 13
  (data (i32.const 4160) "kv call failed") ;; 14
  (func (export "interstice_call") (param $r i32) (param $p i32) (param $n i32) (result i32)
    (local $st i32)
    ;; 0 put(id, name)
    (if (i32.eq (local.get $r) (i32.const 0)) (then
      (return (call $insert (call $table (i32.const 4096) (i32.const 5)) (local.get $p) (local.get $n)))))
    ;; 1 put_fail(id, name)
    (if (i32.eq (local.get $r) (i32.const 1)) (then
      (drop (call $insert (call $table (i32.const 4096) (i32.const 5)) (local.get $p) (local.get $n)))
      (drop (call $fail (i32.const 4144) (i32.const 13)))
      (return (i32.const 1))))
    ;; 2 call_kv(id, name): kv.put
    (if (i32.eq (local.get $r) (i32.const 2)) (then
      (local.set $st (call $call (i32.const 4112) (i32.const 2) (i32.const 4128) (i32.const 3) (local.get $p) (local.get $n)))
      (if (local.get $st) (then (drop (call $fail (i32.const 4160) (i32.const 14)))))
      (return (local.get $st))))
    (i32.const 255))
)
