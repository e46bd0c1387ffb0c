;; durable.wat: module "dur" for the durable-runtime tests (core/durable_test.go).
;; Its schema (tables items and, in later versions, notes; reducers in index
;; order below; an optional migration) is substituted by the test, so one
;; code serves several schema versions.
(module
  ;;@include prelude.wat
  (data (i32.const 4096) "items")   ;; 5
  (data (i32.const 4112) "notes")   ;; 5
  (data (i32.const 4128) "batch insert failed") ;; 19
  (data (i32.const 8192) "{{ROW_T}}")
  (data (i32.const 9216) "{{NOTE}}")
  (func $items (result i32) (call $table (i32.const 4096) (i32.const 5)))
  (func (export "interstice_call") (param $r i32) (param $p i32) (param $n i32) (result i32)
    (local $st i32) (local $i i64) (local $base i64)
    ;; 0 put(id, name): the argument row is the row
    (if (i32.eq (local.get $r) (i32.const 0)) (then
      (return (call $insert (call $items) (local.get $p) (local.get $n)))))
    ;; 1 batch(base u64): inserts rows base*4 .. base*4+3 atomically
    (if (i32.eq (local.get $r) (i32.const 1)) (then
      (local.set $base (i64.mul (i64.load (i32.add (local.get $p) (i32.const {{len:ARG_OFF}}))) (i64.const 4)))
      (block $done (loop $next
        (br_if $done (i64.ge_u (local.get $i) (i64.const 4)))
        (local.set $st (call $insert (call $items)
          (call $copy_patch (i32.const 8192) (i32.const {{len:ROW_T}}) (i64.add (local.get $base) (local.get $i)))
          (i32.const {{len:ROW_T}})))
        (if (local.get $st) (then
          (drop (call $fail (i32.const 4128) (i32.const 19)))
          (return (local.get $st))))
        (local.set $i (i64.add (local.get $i) (i64.const 1)))
        (br $next)))
      (return (i32.const 0))))
    ;; 2 noop
    (if (i32.eq (local.get $r) (i32.const 2)) (then (return (i32.const 0))))
    ;; 3 trap
    (if (i32.eq (local.get $r) (i32.const 3)) (then (unreachable)))
    ;; 4 migrate: insert the NOTE row into notes
    (if (i32.eq (local.get $r) (i32.const 4)) (then
      (return (call $insert (call $table (i32.const 4112) (i32.const 5)) (i32.const 9216) (i32.const {{len:NOTE}})))))
    ;; 5 migrate_fail: insert the note, then trap
    (if (i32.eq (local.get $r) (i32.const 5)) (then
      (drop (call $insert (call $table (i32.const 4112) (i32.const 5)) (i32.const 9216) (i32.const {{len:NOTE}})))
      (unreachable)))
    (i32.const 255))
)
