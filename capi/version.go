package main

// #include "capi_internal.h"
import "C"

import (
	"fmt"
)

// Library version: the header's macros, so the two cannot disagree.
const (
	versionMajor  = C.INTERSTICE_VERSION_MAJOR
	versionMinor  = C.INTERSTICE_VERSION_MINOR
	versionPatch  = C.INTERSTICE_VERSION_PATCH
	versionNumber = versionMajor*10000 + versionMinor*100 + versionPatch
	abiVersion    = C.INTERSTICE_ABI_VERSION
)

var versionString = C.CString(fmt.Sprintf("%d.%d.%d", versionMajor, versionMinor, versionPatch))

//export interstice_version_number
func interstice_version_number() C.int { return versionNumber }

//export interstice_abi_version
func interstice_abi_version() C.int { return abiVersion }

//export interstice_version_string
func interstice_version_string() *C.ist_cchar { return (*C.ist_cchar)(versionString) }
