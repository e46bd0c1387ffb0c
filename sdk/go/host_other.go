//go:build !wasip1

package sdk

// Outside WebAssembly there is no host: every host operation fails with
// ErrNotInHost. This keeps the package (and modules that use it) buildable
// and testable natively: schemas (Schema) and row plans need no host.

const statusNotInHost = -1000

func init() { statusErrors[statusNotInHost] = ErrNotInHost }

func hostTable(string) int32                       { return statusNotInHost }
func hostInsert(int32, []byte) int32               { return statusNotInHost }
func hostUpdate(int32, []byte) int32               { return statusNotInHost }
func hostDelete(int32, []byte) int32               { return statusNotInHost }
func hostGet(int32, []byte, []byte, *uint32) int32 { return statusNotInHost }
func hostCount(int32) int64                        { return statusNotInHost }
func hostScanOpen(int32) int32                     { return statusNotInHost }
func hostScanNext(int32, []byte, *uint32) int32    { return statusNotInHost }
func hostScanClose(int32) int32                    { return statusNotInHost }
func hostCall(string, string, []byte) int32        { return statusNotInHost }
func hostLog(int32, string) int32                  { return statusNotInHost }
func hostFail(string) int32                        { return statusNotInHost }
func hostAbort(msg string)                         { panic("sdk: abort: " + msg) }
