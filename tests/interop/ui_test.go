package interop

import (
	"fmt"
	"io"
	"sync"
)

// askAnswer is what the recorder answers to every Ui.Ask; the plugin must echo it back.
const askAnswer = "forty-two"

// uiEvent is one call the plugin made on the Ui we served.
type uiEvent struct {
	kind string // say, message, error, machine, ask
	text string
	args []string
}

// progress is what happened to one progress bar opened through Ui.NewTrackProgress.
type progress struct {
	src          string
	current      int64
	total        int64
	bytesRead    int64
	reads        int
	closed       bool
	readAfterEnd bool
}

// recorderUi is a packersdk.Ui that remembers every call, so tests can compare the sequence
// the plugin produced with the contract.
type recorderUi struct {
	mu       sync.Mutex
	events   []uiEvent
	progress []*progress
}

func (u *recorderUi) record(e uiEvent) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.events = append(u.events, e)
}

func (u *recorderUi) Ask(q string) (string, error) {
	u.record(uiEvent{kind: "ask", text: q})
	return askAnswer, nil
}

func (u *recorderUi) Askf(q string, a ...any) (string, error) { return u.Ask(fmt.Sprintf(q, a...)) }
func (u *recorderUi) Say(m string)                            { u.record(uiEvent{kind: "say", text: m}) }
func (u *recorderUi) Sayf(m string, a ...any)                 { u.Say(fmt.Sprintf(m, a...)) }
func (u *recorderUi) Message(m string)                        { u.record(uiEvent{kind: "message", text: m}) }
func (u *recorderUi) Error(m string)                          { u.record(uiEvent{kind: "error", text: m}) }
func (u *recorderUi) Errorf(m string, a ...any)               { u.Error(fmt.Sprintf(m, a...)) }

func (u *recorderUi) Machine(category string, args ...string) {
	u.record(uiEvent{kind: "machine", text: category, args: args})
}

// TrackProgress is reached through the SDK's UiServer.NewTrackProgress; each later
// Ui<id>.Add(n) becomes one Read of n bytes on the stream we return, and Ui<id>.Close a Close.
func (u *recorderUi) TrackProgress(src string, current, total int64, stream io.ReadCloser) io.ReadCloser {
	p := &progress{src: src, current: current, total: total}
	u.mu.Lock()
	u.progress = append(u.progress, p)
	u.mu.Unlock()
	return &countingStream{ui: u, p: p, inner: stream}
}

// snapshot returns copies, safe to inspect while the plugin keeps running.
func (u *recorderUi) snapshot() ([]uiEvent, []progress) {
	u.mu.Lock()
	defer u.mu.Unlock()
	events := append([]uiEvent(nil), u.events...)
	bars := make([]progress, 0, len(u.progress))
	for _, p := range u.progress {
		bars = append(bars, *p)
	}
	return events, bars
}

// countingStream counts what a progress bar was fed.
type countingStream struct {
	ui    *recorderUi
	p     *progress
	inner io.ReadCloser
}

func (c *countingStream) Read(b []byte) (int, error) {
	n, err := c.inner.Read(b)
	c.ui.mu.Lock()
	defer c.ui.mu.Unlock()
	if c.p.closed {
		c.p.readAfterEnd = true
	}
	c.p.reads++
	c.p.bytesRead += int64(n)
	return n, err
}

func (c *countingStream) Close() error {
	c.ui.mu.Lock()
	c.p.closed = true
	c.ui.mu.Unlock()
	return c.inner.Close()
}
