;; minimal.wat: exports everything, does nothing; the bad-schema tests load
;; it with broken {{SCHEMA}} bytes.
(module
  ;;@include prelude.wat
  (func (export "interstice_call") (param i32 i32 i32) (result i32) (i32.const 0))
)
