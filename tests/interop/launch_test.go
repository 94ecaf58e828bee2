package interop

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	pluginsdk "github.com/hashicorp/packer-plugin-sdk/plugin"
	sdkrpc "github.com/hashicorp/packer-plugin-sdk/rpc"
)

// Packer's own timing for the handshake line (packer/plugin_client.go NewClient: StartTimeout).
const startTimeout = time.Minute

// How long we give the plugin to exit on its own once we closed the connection.
const exitTimeout = 5 * time.Second

// encoding is one of the two ConfigSpec serialisations Packer can negotiate.
type encoding struct {
	name  string
	proto bool
}

var encodings = []encoding{{"gob", false}, {"protobuf", true}}

// pluginPath returns the binary under test, or skips the test when it is not configured.
func pluginPath(t *testing.T) string {
	t.Helper()
	p := os.Getenv("INTEROP_PLUGIN")
	if p == "" {
		t.Skip("INTEROP_PLUGIN is not set: build the plugin with " +
			"`cargo build -p packer-rpc --example interop-plugin` and point INTEROP_PLUGIN at " +
			"target/debug/examples/interop-plugin (tests/interop/run.sh does both)")
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("INTEROP_PLUGIN=%s: %v", p, err)
	}
	return p
}

// lockedBuffer collects a child's output while goroutines write into it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// plugin is one running plugin process plus the SDK client connected to it, set up the way
// Packer's PluginClient.Start / PluginClient.Client do it.
type plugin struct {
	t       *testing.T
	cmd     *exec.Cmd
	client  *sdkrpc.Client
	stderr  *lockedBuffer
	extra   *lockedBuffer // stdout after the handshake line: must stay empty
	tap     *frameTap     // what the plugin sent on the connection, frame by frame
	exited  chan struct{} // closed when the process has been reaped
	waitErr error
	closed  bool
}

// startPlugin launches `plugin start builder [--protobuf] interop` and connects the SDK client.
func startPlugin(t *testing.T, enc encoding) *plugin {
	t.Helper()
	args := []string{"start", "builder"}
	if enc.proto {
		// Packer >= 1.12 puts the flag between the kind and the name.
		args = append(args, "--protobuf")
	}
	args = append(args, "interop")

	cmd := exec.Command(pluginPath(t), args...)
	cmd.Env = append(os.Environ(),
		pluginsdk.MagicCookieKey+"="+pluginsdk.MagicCookieValue,
		"PACKER_PLUGIN_MIN_PORT=10000",
		"PACKER_PLUGIN_MAX_PORT=25000",
	)
	cmd.Stdin = os.Stdin // Packer hands its own stdin down; it is not a control channel.

	p := &plugin{t: t, cmd: cmd, stderr: &lockedBuffer{}, extra: &lockedBuffer{}, exited: make(chan struct{})}
	cmd.Stderr = p.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("stdout pipe: %v", err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", cmd.Path, err)
	}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	// Whatever happens, never leave the child behind, and show its log when a test failed.
	t.Cleanup(func() {
		p.shutdown()
		if t.Failed() || os.Getenv("INTEROP_PLUGIN_LOG") != "" {
			t.Logf("plugin %v stderr:\n%s", cmd.Args, p.stderr.String())
		}
	})

	addr, err := p.readAddress(stdout)
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	conn, err := net.Dial(addr.Network(), addr.String())
	if err != nil {
		t.Fatalf("dialing %s %s: %v", addr.Network(), addr.String(), err)
	}
	p.tap = newFrameTap(conn)
	client, err := sdkrpc.NewClient(p.tap)
	if err != nil {
		conn.Close()
		t.Fatalf("rpc.NewClient: %v", err)
	}
	// What PluginClient.Client does with PackerUseProto: the builder client then decodes
	// ConfigSpec as protobuf instead of gob.
	client.UseProto = enc.proto
	p.client = client
	return p
}

// readAddress waits for the first stdout line and parses it with Packer's rules
// (trim, split into at most 4 parts on '|', API 5.0, tcp or unix).
func (p *plugin) readAddress(stdout io.Reader) (net.Addr, error) {
	lines := make(chan string, 1)
	go func() {
		r := bufio.NewReader(stdout)
		first, err := r.ReadString('\n')
		if err != nil && first == "" {
			close(lines)
			return
		}
		lines <- first
		// Anything after the handshake line breaks nothing in Packer (it is drained), but our
		// contract is that stdout carries only the handshake: record it to fail on later.
		_, _ = io.Copy(p.extra, r)
	}()

	select {
	case <-time.After(startTimeout):
		return nil, errors.New("timeout while waiting for the handshake line")
	case <-p.exited:
		return nil, fmt.Errorf("plugin exited before we could connect (%v)", p.waitErr)
	case line, ok := <-lines:
		if !ok {
			<-p.exited
			return nil, fmt.Errorf("plugin closed stdout without a handshake line (%v)", p.waitErr)
		}
		if !strings.HasSuffix(line, "\n") {
			return nil, fmt.Errorf("handshake line %q is not newline-terminated", line)
		}
		parts := strings.SplitN(strings.TrimSpace(line), "|", 4)
		if len(parts) != 4 {
			return nil, fmt.Errorf("unrecognized remote plugin message: %q", line)
		}
		if parts[0] != pluginsdk.APIVersionMajor || parts[1] > pluginsdk.APIVersionMinor {
			return nil, fmt.Errorf("incompatible API version %s.%s", parts[0], parts[1])
		}
		switch parts[2] {
		case "unix":
			return net.ResolveUnixAddr("unix", parts[3])
		case "tcp":
			return net.ResolveTCPAddr("tcp", parts[3])
		default:
			return nil, fmt.Errorf("unknown address type %q", parts[2])
		}
	}
}

// closeAndWait closes the client like Packer does at the end of a build and checks that the
// plugin then exits by itself, with status 0, and printed nothing more on stdout.
func (p *plugin) closeAndWait(t *testing.T) {
	t.Helper()
	if err := p.client.Close(); err != nil {
		t.Errorf("closing the rpc client: %v", err)
	}
	p.closed = true
	select {
	case <-p.exited:
		if p.waitErr != nil {
			t.Errorf("plugin exit after the client closed: %v (want status 0)", p.waitErr)
		}
	case <-time.After(exitTimeout):
		t.Errorf("plugin still running %v after the client closed the connection", exitTimeout)
	}
	for _, problem := range p.tap.problems() {
		t.Errorf("on the wire: %s", problem)
	}
	if extra := p.extra.String(); extra != "" {
		t.Errorf("plugin wrote to stdout after the handshake line: %q", extra)
	}
}

// shutdown is the safety net: Packer ends leftover plugins with SIGKILL, so do we.
func (p *plugin) shutdown() {
	if p.client != nil && !p.closed {
		_ = p.client.Close()
		p.closed = true
	}
	select {
	case <-p.exited:
	case <-time.After(exitTimeout):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// within runs f and fails the test if it does not return in time; a hung RPC must not hang
// the whole suite until go test's global timeout.
func within(t *testing.T, d time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s did not return within %v", what, d)
	}
}
