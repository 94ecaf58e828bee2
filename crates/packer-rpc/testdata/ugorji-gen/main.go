// Prints ugorji v1.2.6 msgpack encodings (WriteExt: true, as the Packer SDK) of the values our
// Rust encoder must reproduce. One line per case: name, space, hex.
//
// Regenerate (offline, from the Go module cache) with:
//   GOFLAGS=-mod=mod GOPROXY=off GOSUMDB=off go run . > ../ugorji-v1.2.6.txt
package main

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"time"

	"github.com/ugorji/go/codec"
)

type fileInfo struct {
	N string
	S int64
	M os.FileMode
	T time.Time
}
type CommunicatorUploadArgs struct {
	Path           string
	ReaderStreamId uint32
	FileInfo       *fileInfo
}
type HookRunArgs struct {
	Name     string
	Data     interface{}
	StreamId uint32
}
type UiMachineArgs struct {
	Category string
	Args     []string
}
type TrackProgressParameters struct {
	Src         string
	TotalSize   int64
	CurrentSize int64
}
type BasicError struct{ Message string }
type BuilderPrepareResponse struct {
	GeneratedVars []string
	Warnings      []string
	Error         *BasicError
}
type ConfigSpecResponse struct{ ConfigSpec []byte }

func enc(name string, v interface{}) {
	var b bytes.Buffer
	h := &codec.MsgpackHandle{WriteExt: true}
	if err := codec.NewEncoder(&b, h).Encode(v); err != nil {
		panic(err)
	}
	out := b.Bytes()
	if len(out) > 1000 {
		// Large cases: the total length and the first 8 bytes (marker and length field) settle it.
		fmt.Printf("%s len=%d prefix=%s\n", name, len(out), hex.EncodeToString(out[:8]))
		return
	}
	fmt.Printf("%s %s\n", name, hex.EncodeToString(out))
}

func main() {
	for _, i := range []int64{0, 127, 128, 200, 32767, 32768, 70000, 2147483647, 2147483648, -1, -32, -33, -128, -129, -32768, -32769, -2147483648, -2147483649} {
		enc(fmt.Sprintf("int:%d", i), i)
	}
	for _, u := range []uint64{0, 127, 128, 200, 255, 256, 65535, 65536, 4294967295, 4294967296} {
		enc(fmt.Sprintf("uint:%d", u), u)
	}
	enc("filemode:0644", os.FileMode(0644))
	enc("float64:1.5", 1.5)
	enc("str:3", "abc")
	enc("str:31", string(bytes.Repeat([]byte("x"), 31)))
	enc("str:32", string(bytes.Repeat([]byte("x"), 32)))
	enc("str:300", string(bytes.Repeat([]byte("x"), 300)))
	enc("str:70000", string(bytes.Repeat([]byte("x"), 70000)))
	enc("bin:0", []byte{})
	enc("bin:300", bytes.Repeat([]byte{7}, 300))
	enc("bin:70000", bytes.Repeat([]byte{7}, 70000))
	enc("array:16", make([]int, 16))
	enc("array:70000", make([]int, 70000))
	m := map[string]int{}
	for i := 0; i < 16; i++ {
		m[fmt.Sprintf("k%02d", i)] = i
	}
	enc("map16count", len(m))
	enc("time:4", time.Unix(1700000000, 0).UTC())
	enc("time:8", time.Unix(1700000000, 123456789).UTC())
	enc("time:12", time.Unix(-1, 5).UTC())
	enc("time:12big", time.Unix(1<<34, 1).UTC())
	enc("time:zero", time.Time{})
	enc("upload:fi", CommunicatorUploadArgs{Path: "/tmp/x", ReaderStreamId: 300, FileInfo: &fileInfo{N: "x", S: 70000, M: 0644, T: time.Unix(1700000000, 123456789).UTC()}})
	enc("upload:nofi", CommunicatorUploadArgs{Path: "/tmp/x", ReaderStreamId: 3})
	enc("hookrun:port", HookRunArgs{Name: "packer_provision", Data: map[string]interface{}{"Port": 2222}, StreamId: 200})
	enc("machine", UiMachineArgs{Category: "interop", Args: []string{"a", "b"}})
	enc("machine:nil", UiMachineArgs{Category: "c"})
	enc("progress", TrackProgressParameters{Src: "download", TotalSize: 1000, CurrentSize: 0})
	enc("prepare:nil", BuilderPrepareResponse{})
	enc("prepare:full", BuilderPrepareResponse{GeneratedVars: []string{"InteropVar"}, Warnings: []string{"w"}, Error: &BasicError{"name: must not be fail"}})
	enc("configspec", ConfigSpecResponse{ConfigSpec: []byte{1, 2, 3}})
	enc("emptystruct", struct{}{})
	enc("state:generated", map[string]interface{}{"InteropVar": "value"})
	enc("nested", []interface{}{int64(300), uint32(300), "s", []byte("b"), nil, 2.5, true, []string{}})
}
