module github.com/interstice/interstice

go 1.26

require (
	github.com/google/flatbuffers v25.12.19+incompatible // indirect
	github.com/tetratelabs/wazero v1.12.0 // indirect
	golang.org/x/sys v0.44.0 // indirect
)
