// Package testnet gives tests loopback addresses to listen on.
package testnet

import (
	"net"
	"testing"
)

// FreeAddr returns a 127.0.0.1 address whose port was free a moment ago,
// for a server that must be named before it starts (a raft peer list).
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
