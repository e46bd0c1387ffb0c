;; command.wat: a WASI command (exports _start, no _initialize), as Go builds
;; a guest without -buildmode=c-shared; the load must name the fix.
(module
  ;;@include prelude.wat
  (func (export "_start"))
  (func (export "interstice_call") (param i32 i32 i32) (result i32) (i32.const 0))
)
