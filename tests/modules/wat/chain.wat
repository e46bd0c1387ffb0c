;; chain.wat: module "chain", a subscriber to its own table: every insert
;; into c triggers another insert, so a call cascades until the depth limit.
(module
  ;;@include prelude.wat
  (data (i32.const 4096) "c")
  (data (i32.const 8192) "{{ROW_C}}")
  (func (export "interstice_call") (param $r i32) (param $p i32) (param $n i32) (result i32)
    (local $h i32)
    (local.set $h (call $table (i32.const 4096) (i32.const 1)))
    (call $insert (local.get $h)
      (call $copy_patch (i32.const 8192) (i32.const {{len:ROW_C}}) (i64.add (call $count (local.get $h)) (i64.const 1)))
      (i32.const {{len:ROW_C}})))
)
