;; kv.wat: module "kv", the main host test module (see core/wat_test.go for
;; its schema: tables items, secret, blobs; reducers in index order below).
(module
  ;;@include prelude.wat
  (data (i32.const 4096) "items")        ;; 5
  (data (i32.const 4112) "other.items")  ;; 11
  (data (i32.const 4128) "other.secret") ;; 12
  (data (i32.const 4144) "blobs")        ;; 5
  (data (i32.const 4160) "other")        ;; 5
  (data (i32.const 4176) "put")          ;; 3
  (data (i32.const 4192) "put_fail")     ;; 8
  (data (i32.const 4208) "call_kv")      ;; 7
  (data (i32.const 4224) "insert failed")          ;; 13
  (data (i32.const 4240) "three then fail")        ;; 15
  (data (i32.const 4256) "aborted!")               ;; 8
  (data (i32.const 4272) "too big")                ;; 7
  (data (i32.const 4288) "call failed")            ;; 11
  (data (i32.const 4304) "ryw failed")             ;; 10
  (data (i32.const 8192) "{{ROW_A}}")
  (data (i32.const 9216) "{{ROW_B}}")
  (data (i32.const 10240) "{{ROW_C}}")
  (data (i32.const 11264) "{{KEY_A}}")
  (func $items (result i32) (call $table (i32.const 4096) (i32.const 5)))
  (func $put3
    (drop (call $insert (call $items) (i32.const 8192) (i32.const {{len:ROW_A}})))
    (drop (call $insert (call $items) (i32.const 9216) (i32.const {{len:ROW_B}})))
    (drop (call $insert (call $items) (i32.const 10240) (i32.const {{len:ROW_C}}))))
  (func $failmsg (param i32 i32) (param $st i32) (result i32)
    (drop (call $fail (local.get 0) (local.get 1)))
    (local.get $st))
  (func (export "interstice_call") (param $r i32) (param $p i32) (param $n i32) (result i32)
    (local $st i32) (local $h i32) (local $it i32) (local $rows i32) (local $i i32)
    ;; 0 put(id, name)
    (if (i32.eq (local.get $r) (i32.const 0)) (then
      (local.set $st (call $insert (call $items) (local.get $p) (local.get $n)))
      (if (local.get $st) (then (return (call $failmsg (i32.const 4224) (i32.const 13) (local.get $st)))))
      (return (i32.const 0))))
    ;; 1 put3_trap
    (if (i32.eq (local.get $r) (i32.const 1)) (then (call $put3) (unreachable)))
    ;; 2 put3_fail
    (if (i32.eq (local.get $r) (i32.const 2)) (then
      (call $put3) (return (call $failmsg (i32.const 4240) (i32.const 15) (i32.const 7)))))
    ;; 3 put3_abort
    (if (i32.eq (local.get $r) (i32.const 3)) (then
      (call $put3) (call $abort (i32.const 4256) (i32.const 8)) (unreachable)))
    ;; 4 ryw: insert A, read it back, count and scan see it
    (if (i32.eq (local.get $r) (i32.const 4)) (then
      (local.set $h (call $items))
      (if (call $insert (local.get $h) (i32.const 8192) (i32.const {{len:ROW_A}}))
        (then (return (call $failmsg (i32.const 4304) (i32.const 10) (i32.const 1)))))
      (if (call $get (local.get $h) (i32.const 11264) (i32.const {{len:KEY_A}}) (i32.const 32768) (i32.const 4096) (i32.const 0))
        (then (return (call $failmsg (i32.const 4304) (i32.const 10) (i32.const 2)))))
      (if (i32.ne (i32.load (i32.const 0)) (i32.const {{len:ROW_A}}))
        (then (return (call $failmsg (i32.const 4304) (i32.const 10) (i32.const 3)))))
      ;; a too-small buffer reports the needed length
      (if (i32.ne (call $get (local.get $h) (i32.const 11264) (i32.const {{len:KEY_A}}) (i32.const 32768) (i32.const 1) (i32.const 0)) (i32.const -7))
        (then (return (call $failmsg (i32.const 4304) (i32.const 10) (i32.const 4)))))
      (local.set $it (call $scan_open (local.get $h)))
      (block $end (loop $next
        (local.set $st (call $scan_next (local.get $it) (i32.const 32768) (i32.const 4096) (i32.const 0)))
        (br_if $end (i32.eq (local.get $st) (i32.const 1)))
        (if (local.get $st) (then (return (call $failmsg (i32.const 4304) (i32.const 10) (i32.const 5)))))
        (local.set $rows (i32.add (local.get $rows) (i32.const 1)))
        (br $next)))
      (drop (call $scan_close (local.get $it)))
      (if (i64.ne (call $count (local.get $h)) (i64.extend_i32_u (local.get $rows)))
        (then (return (call $failmsg (i32.const 4304) (i32.const 10) (i32.const 6)))))
      (if (i32.eqz (local.get $rows))
        (then (return (call $failmsg (i32.const 4304) (i32.const 10) (i32.const 7)))))
      (return (i32.const 0))))
    ;; 5 spin forever
    (if (i32.eq (local.get $r) (i32.const 5)) (then (loop $l (br $l))))
    ;; 6 memory bomb
    (if (i32.eq (local.get $r) (i32.const 6)) (then
      (loop $g (br_if $g (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))
      (unreachable)))
    ;; 7 huge row (2 MiB)
    (if (i32.eq (local.get $r) (i32.const 7)) (then
      (local.set $st (call $insert (call $items) (i32.const 0) (i32.const 2097152)))
      (return (call $failmsg (i32.const 4272) (i32.const 7) (i32.add (i32.const 100) (local.get $st))))))
    ;; 8 bad pointers: every import must answer -1
    (if (i32.eq (local.get $r) (i32.const 8)) (then
      (local.set $h (call $items))
      (if (i32.ne (call $table (i32.const -16) (i32.const 100)) (i32.const -1)) (then (return (i32.const 1))))
      (if (i32.ne (call $insert (local.get $h) (i32.const -16) (i32.const 100)) (i32.const -1)) (then (return (i32.const 2))))
      (if (i32.ne (call $update (local.get $h) (i32.const -16) (i32.const 100)) (i32.const -1)) (then (return (i32.const 3))))
      (if (i32.ne (call $delete (local.get $h) (i32.const -16) (i32.const 100)) (i32.const -1)) (then (return (i32.const 4))))
      (if (i32.ne (call $get (local.get $h) (i32.const -16) (i32.const 100) (i32.const 32768) (i32.const 64) (i32.const 0)) (i32.const -1)) (then (return (i32.const 5))))
      (if (i32.ne (call $get (local.get $h) (i32.const 11264) (i32.const {{len:KEY_A}}) (i32.const -16) (i32.const 64) (i32.const 0)) (i32.const -1)) (then (return (i32.const 6))))
      (if (i32.ne (call $get (local.get $h) (i32.const 11264) (i32.const {{len:KEY_A}}) (i32.const 32768) (i32.const 64) (i32.const -2)) (i32.const -1)) (then (return (i32.const 7))))
      (local.set $it (call $scan_open (local.get $h)))
      (drop (call $insert (local.get $h) (i32.const 8192) (i32.const {{len:ROW_A}})))
      (if (i32.ne (call $scan_next (local.get $it) (i32.const -16) (i32.const 64) (i32.const 0)) (i32.const -1)) (then (return (i32.const 8))))
      (if (i32.ne (call $scan_next (local.get $it) (i32.const 32768) (i32.const 64) (i32.const -2)) (i32.const -1)) (then (return (i32.const 9))))
      (if (i32.ne (call $call (i32.const -16) (i32.const 100) (i32.const 4176) (i32.const 3) (local.get $p) (local.get $n)) (i32.const -1)) (then (return (i32.const 10))))
      (if (i32.ne (call $call (i32.const 4160) (i32.const 5) (i32.const -16) (i32.const 100) (local.get $p) (local.get $n)) (i32.const -1)) (then (return (i32.const 11))))
      (if (i32.ne (call $call (i32.const 4160) (i32.const 5) (i32.const 4176) (i32.const 3) (i32.const -16) (i32.const 100)) (i32.const -1)) (then (return (i32.const 12))))
      (if (i32.ne (call $log (i32.const 1) (i32.const -16) (i32.const 100)) (i32.const -1)) (then (return (i32.const 13))))
      (if (i32.ne (call $fail (i32.const -16) (i32.const 100)) (i32.const -1)) (then (return (i32.const 14))))
      ;; malformed row and key buffers (the schema bytes are not a Row)
      (if (i32.ne (call $insert (local.get $h) (i32.const 4096) (i32.const 16)) (i32.const -1)) (then (return (i32.const 15))))
      (if (i32.ne (call $scan_next (i32.const 99) (i32.const 32768) (i32.const 64) (i32.const 0)) (i32.const -12)) (then (return (i32.const 16))))
      (if (i32.ne (call $insert (i32.const 99) (i32.const 8192) (i32.const {{len:ROW_A}})) (i32.const -2)) (then (return (i32.const 17))))
      (return (i32.const 0))))
    ;; 9 write another module's table
    (if (i32.eq (local.get $r) (i32.const 9)) (then
      (local.set $h (call $table (i32.const 4112) (i32.const 11)))
      (if (i32.lt_s (local.get $h) (i32.const 0)) (then (return (i32.const 1))))
      (return (i32.ne (call $insert (local.get $h) (i32.const 8192) (i32.const {{len:ROW_A}})) (i32.const -3)))))
    ;; 10 read another module's private table
    (if (i32.eq (local.get $r) (i32.const 10)) (then
      (return (i32.ne (call $table (i32.const 4128) (i32.const 12)) (i32.const -3)))))
    ;; 11 call_other(id, name): other.put
    (if (i32.eq (local.get $r) (i32.const 11)) (then
      (local.set $st (call $call (i32.const 4160) (i32.const 5) (i32.const 4176) (i32.const 3) (local.get $p) (local.get $n)))
      (if (local.get $st) (then (return (call $failmsg (i32.const 4288) (i32.const 11) (local.get $st)))))
      (return (i32.const 0))))
    ;; 12 put_then_call_fail(id, name): insert, then other.put_fail; ignores the status
    (if (i32.eq (local.get $r) (i32.const 12)) (then
      (drop (call $insert (call $items) (local.get $p) (local.get $n)))
      (drop (call $call (i32.const 4160) (i32.const 5) (i32.const 4192) (i32.const 8) (local.get $p) (local.get $n)))
      (return (i32.const 0))))
    ;; 13 call_cycle(id, name): other.call_kv calls kv.put
    (if (i32.eq (local.get $r) (i32.const 13)) (then
      (local.set $st (call $call (i32.const 4160) (i32.const 5) (i32.const 4208) (i32.const 7) (local.get $p) (local.get $n)))
      (if (local.get $st) (then (return (call $failmsg (i32.const 4288) (i32.const 11) (local.get $st)))))
      (return (i32.const 0))))
    ;; 14 rand_clock(id, data): data starts "RAND"; overwrite 16 random bytes + 8 clock bytes
    (if (i32.eq (local.get $r) (i32.const 14)) (then
      (block $found (loop $s
        (br_if $found (i32.eq (i32.load (i32.add (local.get $p) (local.get $i))) (i32.const 0x444e4152)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $s (i32.lt_u (local.get $i) (local.get $n)))
        (return (i32.const 99))))
      (drop (call $random_get (i32.add (local.get $p) (local.get $i)) (i32.const 16)))
      (drop (call $clock_time_get (i32.const 0) (i64.const 1) (i32.add (i32.add (local.get $p) (local.get $i)) (i32.const 16))))
      (return (call $insert (call $table (i32.const 4144) (i32.const 5)) (local.get $p) (local.get $n)))))
    ;; 15 upd(id, name)
    (if (i32.eq (local.get $r) (i32.const 15)) (then
      (return (call $update (call $items) (local.get $p) (local.get $n)))))
    ;; 16 del_a
    (if (i32.eq (local.get $r) (i32.const 16)) (then
      (return (call $delete (call $items) (i32.const 11264) (i32.const {{len:KEY_A}})))))
    ;; 17 noop
    (if (i32.eq (local.get $r) (i32.const 17)) (then (return (i32.const 0))))
    (i32.const 255))
)
