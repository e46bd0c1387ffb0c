  ;; prelude.wat: imports and exports shared by the WAT test modules.
  ;; The core tests substitute <<NAME>> with bytes built in Go (as a WAT
  ;; string) and <<len:NAME>> with their length. Memory layout:
  ;;   0..1023 scratch (out lengths), 1024 schema, 4096 names,
  ;;   8192.. row templates (1 KiB apart), 32768 read buffer (4 KiB),
  ;;   40960 patch scratch, 65536 argument buffer (interstice_alloc).
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock_time_get (param i32 i64 i32) (result i32)))
  (import "interstice" "table" (func $table (param i32 i32) (result i32)))
  (import "interstice" "insert" (func $insert (param i32 i32 i32) (result i32)))
  (import "interstice" "update" (func $update (param i32 i32 i32) (result i32)))
  (import "interstice" "delete" (func $delete (param i32 i32 i32) (result i32)))
  (import "interstice" "get" (func $get (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "interstice" "count" (func $count (param i32) (result i64)))
  (import "interstice" "scan_open" (func $scan_open (param i32) (result i32)))
  (import "interstice" "scan_next" (func $scan_next (param i32 i32 i32 i32) (result i32)))
  (import "interstice" "scan_close" (func $scan_close (param i32) (result i32)))
  (import "interstice" "call" (func $call (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "interstice" "log" (func $log (param i32 i32 i32) (result i32)))
  (import "interstice" "fail" (func $fail (param i32 i32) (result i32)))
  (import "interstice" "abort" (func $abort (param i32 i32)))
  (memory (export "memory") 48)
  (func (export "interstice_describe") (result i64)
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const {{len:SCHEMA}})))
  (func (export "interstice_alloc") (param i32) (result i32)
    (if (i32.gt_u (local.get 0) (i32.const 65536)) (then (return (i32.const 0))))
    (i32.const 65536))
  (data (i32.const 1024) "{{SCHEMA}}")
  ;; $copy_patch copies a row template to 40960 and replaces the u64
  ;; marker 0x0123456789abcdef in it by $v; returns the copy's address.
  (func $copy_patch (param $src i32) (param $len i32) (param $v i64) (result i32)
    (local $i i32)
    (memory.copy (i32.const 40960) (local.get $src) (local.get $len))
    (block $done
      (loop $scan
        (br_if $done (i32.gt_u (i32.add (local.get $i) (i32.const 8)) (local.get $len)))
        (if (i64.eq (i64.load (i32.add (i32.const 40960) (local.get $i))) (i64.const 0x0123456789abcdef))
          (then (i64.store (i32.add (i32.const 40960) (local.get $i)) (local.get $v)) (br $done)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $scan)))
    (i32.const 40960))
