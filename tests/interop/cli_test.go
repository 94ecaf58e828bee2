package interop

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	pluginsdk "github.com/hashicorp/packer-plugin-sdk/plugin"
)

// envWithoutCookie is the environment Packer gives `describe`: its own, without the cookie.
func envWithoutCookie() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, pluginsdk.MagicCookieKey+"=") {
			env = append(env, kv)
		}
	}
	return env
}

// runCLI runs the plugin to completion with a deadline.
func runCLI(t *testing.T, env []string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := exec.Command(pluginPath(t), args...)
	cmd.Env = env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %v: %v", cmd.Args, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(rpcTimeout):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("%v did not exit within %v", cmd.Args, rpcTimeout)
	}
	return out.String(), errOut.String(), err
}

// TestDescribe checks what Packer's plugin-getter reads: one JSON object on one line, the API
// version Packer requires in the file name, and "v2" so that Packer >= 1.12 passes --protobuf.
func TestDescribe(t *testing.T) {
	out, stderr, err := runCLI(t, envWithoutCookie(), "describe")
	if err != nil {
		t.Fatalf("describe: %v\nstderr: %s", err, stderr)
	}
	if !strings.HasSuffix(out, "}\n") || strings.Count(out, "\n") != 1 {
		t.Errorf("describe output is not one JSON line: %q", out)
	}
	var desc pluginsdk.SetDescription
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&desc); err != nil {
		t.Fatalf("describe output %q: %v", out, err)
	}
	want := pluginsdk.SetDescription{
		Version: "0.0.1", SDKVersion: desc.SDKVersion, APIVersion: "x5.0",
		Builders: []string{"interop"}, PostProcessors: []string{}, Provisioners: []string{},
		Datasources: []string{}, ProtocolVersion: "v2",
	}
	if !reflect.DeepEqual(desc, want) {
		t.Errorf("describe = %+v, want %+v", desc, want)
	}
	// Empty lists must be [] (Go encodes empty slices so), never null.
	for _, key := range []string{`"post_processors":[]`, `"provisioners":[]`, `"datasources":[]`} {
		if !strings.Contains(out, key) {
			t.Errorf("describe output lacks %s: %s", key, out)
		}
	}
}

// TestManualStartRefused: without the magic cookie the plugin must not serve, and must say
// nothing on stdout (Packer would read it as a handshake line).
func TestManualStartRefused(t *testing.T) {
	out, _, err := runCLI(t, envWithoutCookie(), "start", "builder", "interop")
	if err == nil {
		t.Errorf("start without the cookie exited with status 0")
	}
	if out != "" {
		t.Errorf("start without the cookie printed on stdout: %q", out)
	}
}
