package main

// #include "capi_internal.h"
import "C"

import (
	"fmt"
)

// Library version. Keep in step with include/interstice.h.
const (
	versionMajor  = 0
	versionMinor  = 4
	versionPatch  = 0
	versionNumber = versionMajor*10000 + versionMinor*100 + versionPatch
	abiVersion    = 1
)

var versionString = C.CString(fmt.Sprintf("%d.%d.%d", versionMajor, versionMinor, versionPatch))

//export interstice_version_number
func interstice_version_number() C.int { return versionNumber }

//export interstice_abi_version
func interstice_abi_version() C.int { return abiVersion }

//export interstice_version_string
func interstice_version_string() *C.ist_cchar { return (*C.ist_cchar)(versionString) }
