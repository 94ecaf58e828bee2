package interop

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
)

// Size of the file pushed through Communicator.Upload and back through Download: large enough
// to cross many yamux window updates (256 KiB windows).
const bigFileSize = 64 << 20

// How long one remote command may take before we call it hung.
const commandTimeout = 20 * time.Second

// hookCall is what Packer's side saw in one Hook.Run.
type hookCall struct {
	name string
	data interface{}
}

// failures collects problems found on goroutines that are not the test's own (the SDK runs
// Hook.Run on its RPC server goroutine); the test reports them after Builder.Run returns.
type failures struct {
	mu   sync.Mutex
	list []string
}

func (f *failures) add(format string, args ...interface{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.list = append(f.list, fmt.Sprintf(format, args...))
}

func (f *failures) all() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.list...)
}

// recordingHook only remembers its calls: for the builds whose point is elsewhere.
type recordingHook struct {
	mu    sync.Mutex
	calls []hookCall
	ran   chan struct{} // closed at the first call
	once  sync.Once
}

func newRecordingHook() *recordingHook { return &recordingHook{ran: make(chan struct{})} }

func (h *recordingHook) Run(_ context.Context, name string, _ packersdk.Ui, _ packersdk.Communicator, data interface{}) error {
	h.mu.Lock()
	h.calls = append(h.calls, hookCall{name, data})
	h.mu.Unlock()
	h.once.Do(func() { close(h.ran) })
	return nil
}

func (h *recordingHook) snapshot() []hookCall {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hookCall(nil), h.calls...)
}

// commHook plays a provisioner: it drives the Communicator and the Ui that the plugin serves on
// the hook's stream, the way Packer core and provisioner plugins do.
type commHook struct {
	recordingHook
	dir  string      // scratch space; the plugin's LocalCommunicator works on the local disk
	ui   *recorderUi // Packer's Ui, to see calls forwarded through the plugin
	fail failures
}

func newCommHook(dir string, ui *recorderUi) *commHook {
	return &commHook{recordingHook: *newRecordingHook(), dir: dir, ui: ui}
}

func (h *commHook) Run(ctx context.Context, name string, ui packersdk.Ui, comm packersdk.Communicator, data interface{}) error {
	_ = h.recordingHook.Run(ctx, name, ui, comm, data)
	h.checkCommands(ctx, comm)
	h.checkConcurrentCommands(ctx, comm)
	h.checkUploadDownload(comm)
	h.checkDirs(comm)
	h.checkForwardingUi(ui)
	return nil
}

// runRemote starts one command and waits for its exit status, with a deadline.
func runRemote(ctx context.Context, comm packersdk.Communicator, command string, stdin io.Reader) (stdout, stderr string, status int, err error) {
	var out, errOut bytes.Buffer
	cmd := &packersdk.RemoteCmd{Command: command, Stdin: stdin, Stdout: &out, Stderr: &errOut}
	if err := comm.Start(ctx, cmd); err != nil {
		return "", "", 0, fmt.Errorf("Communicator.Start(%q): %w", command, err)
	}
	exited := make(chan int, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case status = <-exited:
		// The SDK only reports the status after stdout and stderr reached EOF.
		return out.String(), errOut.String(), status, nil
	case <-time.After(commandTimeout):
		return "", "", 0, fmt.Errorf("command %q: no exit status within %v", command, commandTimeout)
	}
}

// short quotes s for a failure message, cut down when it is long.
func short(s string) string {
	if len(s) <= 80 {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("%q...(%d bytes)", s[:80], len(s))
}

// commandCase is one remote command and everything Packer must get back from it.
type commandCase struct {
	command, stdin, stdout, stderr string
	status                         int
}

func (h *commHook) checkCommands(ctx context.Context, comm packersdk.Communicator) {
	// A few MiB each way on the command streams, beyond one 256 KiB yamux window.
	big := strings.Repeat("0123456789abcdef", 3<<16) // 3 MiB
	cases := []commandCase{
		{command: "echo out; echo err >&2; exit 0", stdout: "out\n", stderr: "err\n", status: 0},
		{command: "exit 1", status: 1},
		{command: "exit 255", status: 255},
		{command: "cat", stdin: "piped through stdin\nsecond line\n", stdout: "piped through stdin\nsecond line\n", status: 0},
		{
			command: "wc -c | tr -d ' '; head -c 2097152 /dev/zero | tr '\\0' e >&2",
			stdin:   big, stdout: fmt.Sprintf("%d\n", len(big)), stderr: strings.Repeat("e", 2<<20),
		},
	}
	for _, c := range cases {
		var stdin io.Reader
		if c.stdin != "" {
			stdin = strings.NewReader(c.stdin)
		}
		out, errOut, status, err := runRemote(ctx, comm, c.command, stdin)
		if err != nil {
			h.fail.add("%v", err)
			continue
		}
		if status != c.status || out != c.stdout || errOut != c.stderr {
			h.fail.add("command %q: got status %d stdout %s stderr %s, want %d %s %s",
				c.command, status, short(out), short(errOut), c.status, short(c.stdout), short(c.stderr))
		}
	}
}

// sha256File hashes a file on the local disk.
func sha256File(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s := sha256.New()
	if _, err := io.Copy(s, f); err != nil {
		return nil, err
	}
	return s.Sum(nil), nil
}

// checkConcurrentCommands runs several commands at once on the one Communicator stream: their
// replies and exit statuses come back out of order and must still be matched.
func (h *commHook) checkConcurrentCommands(ctx context.Context, comm packersdk.Communicator) {
	const n = 6
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			// Later commands finish first.
			command := fmt.Sprintf("sleep 0.%d; echo %d; exit %d", n-i, i, 10+i)
			out, _, status, err := runRemote(ctx, comm, command, nil)
			if err != nil {
				h.fail.add("concurrent %v", err)
				return
			}
			if out != fmt.Sprintf("%d\n", i) || status != 10+i {
				h.fail.add("concurrent command %q: stdout %q status %d", command, out, status)
			}
		}(i)
	}
	wg.Wait()
}

func (h *commHook) checkUploadDownload(comm packersdk.Communicator) {
	src := filepath.Join(h.dir, "big.src")
	data := make([]byte, bigFileSize)
	if _, err := rand.Read(data); err != nil {
		h.fail.add("random data: %v", err)
		return
	}
	if err := os.WriteFile(src, data, 0o640); err != nil {
		h.fail.add("writing %s: %v", src, err)
		return
	}
	want := sha256.Sum256(data)

	f, err := os.Open(src)
	if err != nil {
		h.fail.add("%v", err)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		h.fail.add("%v", err)
		return
	}
	dst := filepath.Join(h.dir, "big.uploaded")
	if err := comm.Upload(dst, f, &fi); err != nil {
		h.fail.add("Communicator.Upload(%s): %v", dst, err)
		return
	}
	// Upload replies once the plugin has read everything: the file must be complete now.
	if got, err := sha256File(dst); err != nil || !bytes.Equal(got, want[:]) {
		h.fail.add("uploaded file %s: sha256 %x (err %v), want %x", dst, got, err, want)
	}

	sum := sha256.New()
	counter := &countingWriter{w: sum}
	if err := comm.Download(dst, counter); err != nil {
		h.fail.add("Communicator.Download(%s): %v", dst, err)
		return
	}
	if got := sum.Sum(nil); counter.n != bigFileSize || !bytes.Equal(got, want[:]) {
		h.fail.add("downloaded %d bytes with sha256 %x, want %d bytes with %x", counter.n, got, bigFileSize, want)
	}

	// A missing file must come back as an error, not as an empty download.
	if err := comm.Download(filepath.Join(h.dir, "does-not-exist"), io.Discard); err == nil {
		h.fail.add("Communicator.Download of a missing file: got no error")
	}
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// tree is the small directory pushed through UploadDir and pulled back through DownloadDir.
var tree = map[string]string{
	"a.txt":         "alpha\n",
	"sub/b.txt":     "beta\n",
	"sub/deep/c.md": "gamma\n",
	"skip.log":      "excluded\n",
}

// excluded is the pattern handed to UploadDir/DownloadDir, and the file it must keep out.
const excluded = "skip.log"

func writeTree(root string, files map[string]string) error {
	for rel, content := range files {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// readTree lists every regular file under root with its content.
func readTree(root string) (map[string]string, error) {
	got := map[string]string{}
	err := filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		got[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	return got, err
}

// treeWithout is the expected tree once the exclude pattern has been applied.
func treeWithout(name string) map[string]string {
	want := map[string]string{}
	for k, v := range tree {
		if k != name {
			want[k] = v
		}
	}
	return want
}

func sameTree(got, want map[string]string) bool {
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

func (h *commHook) checkDirs(comm packersdk.Communicator) {
	src := filepath.Join(h.dir, "tree")
	if err := writeTree(src, tree); err != nil {
		h.fail.add("writing the source tree: %v", err)
		return
	}
	up := filepath.Join(h.dir, "uploaded-tree")
	// A trailing slash on src means "the contents of src", as for Packer's file provisioner.
	if err := comm.UploadDir(up, src+"/", []string{excluded}); err != nil {
		h.fail.add("Communicator.UploadDir(%s, %s/): %v", up, src, err)
		return
	}
	if got, err := readTree(up); err != nil || !sameTree(got, treeWithout(excluded)) {
		h.fail.add("after UploadDir: tree %v (err %v), want %v", got, err, treeWithout(excluded))
	}

	down := filepath.Join(h.dir, "downloaded-tree")
	if err := comm.DownloadDir(up+"/", down, []string{"c.md"}); err != nil {
		h.fail.add("Communicator.DownloadDir(%s/, %s): %v", up, down, err)
		return
	}
	want := treeWithout(excluded)
	delete(want, "sub/deep/c.md")
	if got, err := readTree(down); err != nil || !sameTree(got, want) {
		h.fail.add("after DownloadDir: tree %v (err %v), want %v", got, err, want)
	}

	// A failing directory transfer must surface as an error string, not as success.
	missing := filepath.Join(h.dir, "no-such-dir") + "/"
	if err := comm.UploadDir(filepath.Join(h.dir, "never"), missing, nil); err == nil {
		h.fail.add("Communicator.UploadDir from a missing directory: got no error")
	}
}

// hookSay is the text the hook sends through the plugin's forwarding Ui.
const hookSay = "said through the hook's ui"

func (h *commHook) checkForwardingUi(ui packersdk.Ui) {
	ui.Say(hookSay)
	ui.Error("hook error line")
	answer, err := ui.Ask("hook question?")
	if err != nil || answer != askAnswer {
		h.fail.add("Ask through the forwarding Ui: got %q, %v; want %q", answer, err, askAnswer)
	}
	// A progress bar opened through the forwarding Ui must reach Packer's Ui too.
	body := io.NopCloser(strings.NewReader(strings.Repeat("x", 500)))
	tracked := ui.TrackProgress("hook-download", 0, 500, body)
	n, err := io.Copy(io.Discard, tracked)
	if err != nil || n != 500 {
		h.fail.add("reading through the forwarded progress bar: %d bytes, %v", n, err)
	}
	if err := tracked.Close(); err != nil {
		h.fail.add("closing the forwarded progress bar: %v", err)
	}
}
