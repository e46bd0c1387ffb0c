//go:build !wasip1

package main

// Natively there is no host; the raw probes report ErrNotInHost's code.

const notInHost = -1000

func rawBadPointer() int32   { return notInHost }
func rawBadLength() int32    { return notInHost }
func rawBadRow() int32       { return notInHost }
func rawWrongType() int32    { return notInHost }
func rawBadHandle() int32    { return notInHost }
func rawBadIterator() int32  { return notInHost }
func rawBadOutLenPtr() int32 { return notInHost }
func rawBadName() int32      { return notInHost }
func rawBadCall() int32      { return notInHost }
