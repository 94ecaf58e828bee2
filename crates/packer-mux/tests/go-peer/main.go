// Command go-peer is the real hashicorp/yamux v0.1.1, as Packer uses it, acting as the yamux CLIENT
// against our Rust session (server mode) over a unix socket. The Rust integration test
// tests/go_interop.rs builds and runs it; it prints "OK" and exits 0 when every check passed.
//
// Protocol with the Rust side: every stream this program opens starts with one tag byte.
//
//	'E': echo everything back, then close.      'S': never read (a stalled consumer).
//
// The Rust side opens two streams to us (see serveServerStream).
package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/hashicorp/yamux"
)

const (
	echoSize      = 32 << 20
	writeOnlySize = 8 << 20
)

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "go-peer: "+format+"\n", args...)
	os.Exit(1)
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>11)
	}
	return b
}

// serveServerStream checks one stream the Rust side opened:
//
//	'H' + "hello from rust\n", then FIN: answer "hello from go\n" and close.
//	'W' + writeOnlySize pattern bytes, then FIN: a write-only stream whose Rust writer never reads.
func serveServerStream(st *yamux.Stream) error {
	got, err := io.ReadAll(st)
	if err != nil {
		return fmt.Errorf("read server stream %d: %w", st.StreamID(), err)
	}
	if len(got) == 0 {
		return fmt.Errorf("server stream %d was empty", st.StreamID())
	}
	switch got[0] {
	case 'H':
		if string(got[1:]) != "hello from rust\n" {
			return fmt.Errorf("hello stream said %q", got[1:])
		}
		if _, err := st.Write([]byte("hello from go\n")); err != nil {
			return fmt.Errorf("answer hello stream: %w", err)
		}
	case 'W':
		if !bytes.Equal(got[1:], pattern(writeOnlySize)) {
			return fmt.Errorf("write-only stream: got %d bytes, want %d (or content differs)", len(got)-1, writeOnlySize)
		}
	default:
		return fmt.Errorf("server stream tag %q", got[0])
	}
	return st.Close()
}

func main() {
	if len(os.Args) != 2 {
		fail("usage: go-peer SOCKET")
	}
	conn, err := net.Dial("unix", os.Args[1])
	if err != nil {
		fail("dial: %v", err)
	}
	cfg := yamux.DefaultConfig()
	cfg.KeepAliveInterval = time.Second
	sess, err := yamux.Client(conn, cfg)
	if err != nil {
		fail("client: %v", err)
	}

	// A stream whose consumer never reads: we fill its whole 256 KiB window.
	stall, err := sess.OpenStream()
	if err != nil {
		fail("open stall stream: %v", err)
	}
	go func() {
		buf := append([]byte{'S'}, make([]byte, 256*1024-1)...)
		if _, err := stall.Write(buf); err != nil {
			fmt.Fprintf(os.Stderr, "go-peer: stall write: %v\n", err)
		}
	}()

	// The two server-opened streams, told apart by their first byte.
	serverDone := make(chan error, 2)
	go func() {
		for i := 0; i < 2; i++ {
			st, err := sess.AcceptStream()
			if err != nil {
				serverDone <- fmt.Errorf("accept: %w", err)
				return
			}
			go func() { serverDone <- serveServerStream(st) }()
		}
	}()

	// 32 MiB echoed back, sent as ONE Write: yamux sends Data frames as large as the whole window.
	echo, err := sess.OpenStream()
	if err != nil {
		fail("open echo stream: %v", err)
	}
	payload := pattern(echoSize)
	writeDone := make(chan error, 1)
	go func() {
		if _, err := echo.Write([]byte{'E'}); err != nil {
			writeDone <- err
			return
		}
		_, err := echo.Write(payload)
		writeDone <- err
	}()
	// Read exactly the echo before closing: yamux v0.1.1 makes Read return EOF after a local
	// Close whenever its buffer is momentarily empty, so Close-then-ReadAll would truncate.
	got := make([]byte, echoSize)
	if _, err := io.ReadFull(echo, got); err != nil {
		fail("read echo: %v", err)
	}
	if err := <-writeDone; err != nil {
		fail("write echo: %v", err)
	}
	if !bytes.Equal(got, payload) {
		fail("echo mismatch")
	}
	if err := echo.Close(); err != nil {
		fail("close echo: %v", err)
	}

	// Pings must be answered although the stalled stream's window is full.
	for i := 0; i < 3; i++ {
		if _, err := sess.Ping(); err != nil {
			fail("ping %d: %v", i, err)
		}
	}
	for i := 0; i < 2; i++ {
		select {
		case err := <-serverDone:
			if err != nil {
				fail("%v", err)
			}
		case <-time.After(60 * time.Second):
			fail("server-opened streams not done within 60 s")
		}
	}

	// Let the 1 s keepalive run a few rounds; a missed answer closes the session.
	time.Sleep(3500 * time.Millisecond)
	if sess.IsClosed() {
		fail("session closed during keepalive")
	}
	if _, err := sess.Ping(); err != nil {
		fail("final ping: %v", err)
	}
	fmt.Println("OK")
	sess.Close()
}
