// Test-writing-time oracle for crates/packer-schema: runs the real Go libraries Packer links
// (encoding/gob, hcldec, the nywilken go-cty fork, packer-plugin-sdk's gob registrations and
// protobuf conversion) over model-JSON specs and gob bytes. Not run by cargo or CI.
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/gob"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hashicorp/hcl/v2/hcldec"
	sdkrpc "github.com/hashicorp/packer-plugin-sdk/rpc"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
	"google.golang.org/protobuf/proto"
)

func die(err error) {
	fmt.Fprintln(os.Stderr, "oracle:", err)
	os.Exit(1)
}

func typeFromJSON(raw json.RawMessage) cty.Type {
	t, err := ctyjson.UnmarshalType(raw)
	if err != nil {
		die(err)
	}
	return t
}

func specFromModel(m map[string][]json.RawMessage) hcldec.ObjectSpec {
	out := hcldec.ObjectSpec{}
	for k, v := range m {
		var kind string
		json.Unmarshal(v[0], &kind)
		switch kind {
		case "attr":
			var name string
			var req bool
			json.Unmarshal(v[1], &name)
			json.Unmarshal(v[3], &req)
			out[k] = &hcldec.AttrSpec{Name: name, Type: typeFromJSON(v[2]), Required: req}
		case "block":
			var name string
			var nested map[string][]json.RawMessage
			var req bool
			json.Unmarshal(v[1], &name)
			json.Unmarshal(v[2], &nested)
			json.Unmarshal(v[3], &req)
			out[k] = &hcldec.BlockSpec{TypeName: name, Nested: specFromModel(nested), Required: req}
		case "blocklist":
			var name string
			var nested map[string][]json.RawMessage
			var mn, mx int
			json.Unmarshal(v[1], &name)
			json.Unmarshal(v[2], &nested)
			json.Unmarshal(v[3], &mn)
			json.Unmarshal(v[4], &mx)
			out[k] = &hcldec.BlockListSpec{TypeName: name, Nested: specFromModel(nested), MinItems: mn, MaxItems: mx}
		default:
			die(fmt.Errorf("unknown kind %q", kind))
		}
	}
	return out
}

func typeToModel(t cty.Type) interface{} {
	b, err := ctyjson.MarshalType(t)
	if err != nil {
		die(err)
	}
	var v interface{}
	json.Unmarshal(b, &v)
	return v
}

func nestedObject(s hcldec.Spec) interface{} {
	switch n := s.(type) {
	case hcldec.ObjectSpec:
		return specToModel(n)
	case *hcldec.ObjectSpec:
		return specToModel(*n)
	default:
		die(fmt.Errorf("nested spec is %T", s))
	}
	return nil
}

func specToModel(o hcldec.ObjectSpec) map[string]interface{} {
	out := map[string]interface{}{}
	for k, s := range o {
		switch v := s.(type) {
		case *hcldec.AttrSpec:
			out[k] = []interface{}{"attr", v.Name, typeToModel(v.Type), v.Required}
		case *hcldec.BlockSpec:
			out[k] = []interface{}{"block", v.TypeName, nestedObject(v.Nested), v.Required}
		case *hcldec.BlockListSpec:
			out[k] = []interface{}{"blocklist", v.TypeName, nestedObject(v.Nested), v.MinItems, v.MaxItems}
		default:
			die(fmt.Errorf("key %q: unexpected spec %T", k, s))
		}
	}
	return out
}

func readAll() []byte {
	b, err := io.ReadAll(os.Stdin)
	if err != nil {
		die(err)
	}
	return b
}

func main() {
	if len(os.Args) < 2 {
		die(fmt.Errorf("usage: oracle ctytypes|encode|decode|proto"))
	}
	switch os.Args[1] {
	case "ctytypes": // stdin: JSON array of cty type JSON; stdout: one hex GobEncode per line, in order
		// Go 1.19 (which produced testdata/shared) handed out user type id 65 first; newer Go starts at
		// 64. Type ids are process-global, so burn ids until the next one is 65.
		type burn0 struct{ A int }
		var probe bytes.Buffer
		gob.NewEncoder(&probe).Encode(burn0{1})
		if probe.Bytes()[1] != 0x7f { // 0x7f is int(-64): id 64 was just taken, next is 65
			die(fmt.Errorf("unexpected first type id, stream starts % x", probe.Bytes()[:4]))
		}
		var types []json.RawMessage
		if err := json.Unmarshal(readAll(), &types); err != nil {
			die(err)
		}
		for _, raw := range types {
			b, err := typeFromJSON(raw).GobEncode()
			if err != nil {
				die(err)
			}
			fmt.Println(hex.EncodeToString(b))
		}
	case "encode": // stdin: JSON array of model specs; stdout: one base64 gob per line, each from a fresh Encoder
		var specs []map[string][]json.RawMessage
		if err := json.Unmarshal(readAll(), &specs); err != nil {
			die(err)
		}
		for _, m := range specs {
			var buf bytes.Buffer
			if err := gob.NewEncoder(&buf).Encode(specFromModel(m)); err != nil {
				die(err)
			}
			fmt.Println(base64.StdEncoding.EncodeToString(buf.Bytes()))
		}
	case "decode": // stdin: base64 gob streams, one per line; stdout: model JSON per line (sorted keys)
		for _, line := range strings.Split(strings.TrimSpace(string(readAll())), "\n") {
			raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(line))
			if err != nil {
				die(err)
			}
			res := hcldec.ObjectSpec{}
			if err := gob.NewDecoder(bytes.NewReader(raw)).Decode(&res); err != nil {
				die(err)
			}
			out, _ := json.Marshal(specToModel(res))
			fmt.Println(string(out))
		}
	case "proto": // stdin: JSON array of model specs; stdout: hex deterministic protobuf Spec{object} per line
		var specs []map[string][]json.RawMessage
		if err := json.Unmarshal(readAll(), &specs); err != nil {
			die(err)
		}
		for _, m := range specs {
			p, err := sdkrpc.ToProto(specFromModel(m))
			if err != nil {
				die(err)
			}
			b, err := proto.MarshalOptions{Deterministic: true}.Marshal(p)
			if err != nil {
				die(err)
			}
			fmt.Println(hex.EncodeToString(b))
		}
	default:
		die(fmt.Errorf("unknown mode %q", os.Args[1]))
	}
}
