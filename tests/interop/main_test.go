package interop

import (
	"io"
	"log"
	"os"
	"testing"
)

// TestMain silences the SDK's own client-side logging (it writes through the standard log
// package, like Packer core's log). Set INTEROP_SDK_LOG=1 to see it when debugging.
func TestMain(m *testing.M) {
	if os.Getenv("INTEROP_SDK_LOG") == "" {
		log.SetOutput(io.Discard)
	}
	os.Exit(m.Run())
}

// goReference is set by run.sh --reference, when the binary under test is refplugin (the
// contract implemented with the Go SDK) rather than the Rust plugin.
func goReference() bool { return os.Getenv("INTEROP_GO_REFERENCE") == "1" }
