module github.com/interstice/interstice/bench

go 1.26

replace github.com/interstice/interstice => ../

require (
	github.com/interstice/interstice v0.0.0
	github.com/mattn/go-sqlite3 v1.14.53
	github.com/tetratelabs/wazero v1.12.0
	golang.org/x/sys v0.46.0
)

require (
	github.com/google/btree v1.1.3 // indirect
	github.com/google/flatbuffers v25.12.19+incompatible // indirect
)
