package interop

import (
	"encoding/binary"
	"fmt"
	"net"
	"sync"
)

// yamux frame types and flags (hashicorp/yamux const.go, spec.md).
const (
	yamuxHeaderSize = 12
	yamuxData       = 0
	yamuxPing       = 2
	yamuxGoAway     = 3
	yamuxFlagACK    = 0x2
)

// frameTap wraps Packer's side of the plugin connection and parses the yamux frames the plugin
// sends, without changing a byte: so tests can see ping answers and protocol errors that the
// SDK would otherwise hide behind a dead session.
type frameTap struct {
	net.Conn

	mu       sync.Mutex
	hdr      []byte // partial header
	skip     uint32 // data payload bytes still to pass over
	pingAcks int
	goAways  []uint32
	bad      []string
	ackSeen  chan struct{} // closed at the first ping answer
}

func newFrameTap(c net.Conn) *frameTap {
	return &frameTap{Conn: c, ackSeen: make(chan struct{})}
}

func (f *frameTap) Read(p []byte) (int, error) {
	n, err := f.Conn.Read(p)
	f.feed(p[:n])
	return n, err
}

func (f *frameTap) feed(b []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(b) > 0 {
		if f.skip > 0 {
			k := uint32(len(b))
			if k > f.skip {
				k = f.skip
			}
			f.skip -= k
			b = b[k:]
			continue
		}
		need := yamuxHeaderSize - len(f.hdr)
		if need > len(b) {
			need = len(b)
		}
		f.hdr = append(f.hdr, b[:need]...)
		b = b[need:]
		if len(f.hdr) < yamuxHeaderSize {
			return
		}
		f.frame(f.hdr)
		f.hdr = f.hdr[:0]
	}
}

// frame looks at one complete header.
func (f *frameTap) frame(h []byte) {
	version, typ := h[0], h[1]
	flags := binary.BigEndian.Uint16(h[2:4])
	length := binary.BigEndian.Uint32(h[8:12])
	if version != 0 || typ > yamuxGoAway {
		f.bad = append(f.bad, fmt.Sprintf("invalid yamux header % x", h))
		return
	}
	switch typ {
	case yamuxData:
		f.skip = length
	case yamuxPing:
		if flags&yamuxFlagACK != 0 {
			f.pingAcks++
			if f.pingAcks == 1 {
				close(f.ackSeen)
			}
		}
	case yamuxGoAway:
		f.goAways = append(f.goAways, length)
	}
}

// problems lists what the plugin sent that the Go yamux would treat as an error.
func (f *frameTap) problems() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := append([]string(nil), f.bad...)
	for _, code := range f.goAways {
		if code != 0 {
			out = append(out, fmt.Sprintf("plugin sent GoAway with error code %d", code))
		}
	}
	return out
}
