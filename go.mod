module github.com/interstice/interstice

go 1.26

require (
	github.com/google/btree v1.1.3
	github.com/google/flatbuffers v25.12.19+incompatible
	github.com/tetratelabs/wazero v1.12.0
	golang.org/x/sys v0.46.0
	golang.org/x/term v0.44.0
)
