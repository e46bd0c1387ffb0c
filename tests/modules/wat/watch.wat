;; watch.wat: module "watch", two subscribers (on_a, on_b) to kv.items
;; inserts; each records (n = count(seen) + 1, tag) in its table seen.
(module
  ;;@include prelude.wat
  (data (i32.const 4096) "seen")
  (data (i32.const 8192) "{{ROW_SEEN_A}}")
  (data (i32.const 9216) "{{ROW_SEEN_B}}")
  (func (export "interstice_call") (param $r i32) (param $p i32) (param $n i32) (result i32)
    (local $h i32)
    (local.set $h (call $table (i32.const 4096) (i32.const 4)))
    (if (i32.eq (local.get $r) (i32.const 0)) (then
      (return (call $insert (local.get $h)
        (call $copy_patch (i32.const 8192) (i32.const {{len:ROW_SEEN_A}}) (i64.add (call $count (local.get $h)) (i64.const 1)))
        (i32.const {{len:ROW_SEEN_A}})))))
    (if (i32.eq (local.get $r) (i32.const 1)) (then
      (return (call $insert (local.get $h)
        (call $copy_patch (i32.const 9216) (i32.const {{len:ROW_SEEN_B}}) (i64.add (call $count (local.get $h)) (i64.const 1)))
        (i32.const {{len:ROW_SEEN_B}})))))
    (i32.const 255))
)
