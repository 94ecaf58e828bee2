// Command ghstandin is a local stand-in for the parts of GitHub (and releases.hashicorp.com) that
// `packer init` talks to, so that tests can install a release made by scripts/release-assets.sh
// with a real Packer and no network.
//
// Packer's getters use Go's default HTTP transport, which honours HTTPS_PROXY and, on Linux,
// SSL_CERT_FILE. ghstandin is that proxy: it accepts CONNECT for any host, terminates TLS with a
// certificate for the host (signed by a CA it makes and writes to -ca), and answers:
//
//	api.github.com   GET /repos/<repo>/git/matching-refs/tags   every tag in -tags, as Git refs
//	github.com       GET /<repo>/releases/download/<tag>/<file> <file> from -dist, when <tag> is
//	                                                            in -tags and <file> exists there
//	anything else    404 (releases.hashicorp.com does not host this plugin)
//
// It prints "listening on HOST:PORT" once ready, and one line per request on stderr:
// "<host> <method> <path> <status>".
package main

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "proxy address")
	caOut := flag.String("ca", "", "where to write the CA certificate (PEM) clients must trust")
	dist := flag.String("dist", "", "directory holding the release assets")
	repo := flag.String("repo", "nutanix-cloud-native/packer-plugin-nutanix", "owner/name of the plugin's repository")
	tags := flag.String("tags", "", "comma-separated tags the repository has (vX.Y.Z)")
	flag.Parse()
	if *caOut == "" || *dist == "" || *tags == "" {
		log.Fatal("ghstandin: -ca, -dist and -tags are required")
	}

	ca, err := newCA()
	if err != nil {
		log.Fatalf("ghstandin: making the CA: %v", err)
	}
	if err := os.WriteFile(*caOut, ca.pem, 0o644); err != nil {
		log.Fatalf("ghstandin: %v", err)
	}
	site := &site{repo: *repo, dist: *dist, tags: strings.Split(*tags, ",")}

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatalf("ghstandin: %v", err)
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	for {
		conn, err := ln.Accept()
		if err != nil {
			log.Fatalf("ghstandin: accept: %v", err)
		}
		go handleProxyConn(conn, ca, site)
	}
}

// handleProxyConn reads one CONNECT request, then serves HTTPS for that host on the connection.
func handleProxyConn(conn net.Conn, ca *authority, s *site) {
	defer conn.Close()
	br := bufio.NewReader(conn)
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	if req.Method != http.MethodConnect {
		fmt.Fprintf(conn, "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		fmt.Fprintf(os.Stderr, "%s %s %s 405 (plain HTTP through the proxy)\n", req.Host, req.Method, req.URL)
		return
	}
	host, _, err := net.SplitHostPort(req.Host)
	if err != nil {
		host = req.Host
	}
	if _, err := fmt.Fprintf(conn, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		return
	}
	cert, err := ca.leaf(host)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: certificate: %v\n", host, err)
		return
	}
	tlsConn := tls.Server(&prefixConn{Conn: conn, r: br}, &tls.Config{
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{"http/1.1"},
	})
	if err := tlsConn.Handshake(); err != nil {
		fmt.Fprintf(os.Stderr, "%s: TLS handshake: %v\n", host, err)
		return
	}
	srv := &http.Server{Handler: s.handler(host), ReadHeaderTimeout: 30 * time.Second}
	_ = srv.Serve(&oneConnListener{conn: tlsConn})
}

// site answers for the hosts Packer's getters contact.
type site struct {
	repo string
	dist string
	tags []string
}

func (s *site) hasTag(tag string) bool {
	for _, t := range s.tags {
		if t == tag {
			return true
		}
	}
	return false
}

func (s *site) handler(host string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		s.serve(host, rec, r)
		fmt.Fprintf(os.Stderr, "%s %s %s %d\n", host, r.Method, r.URL.Path, rec.status)
	})
}

func (s *site) serve(host string, w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "only GET", http.StatusMethodNotAllowed)
		return
	}
	switch host {
	case "api.github.com":
		if r.URL.Path != "/repos/"+s.repo+"/git/matching-refs/tags" {
			http.NotFound(w, r)
			return
		}
		type object struct {
			SHA  string `json:"sha"`
			Type string `json:"type"`
		}
		type ref struct {
			Ref    string `json:"ref"`
			Object object `json:"object"`
		}
		refs := make([]ref, 0, len(s.tags))
		for i, t := range s.tags {
			refs = append(refs, ref{Ref: "refs/tags/" + t, Object: object{SHA: fmt.Sprintf("%040x", i+1), Type: "commit"}})
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_ = json.NewEncoder(w).Encode(refs)
	case "github.com":
		prefix := "/" + s.repo + "/releases/download/"
		rest, ok := strings.CutPrefix(r.URL.Path, prefix)
		if !ok {
			http.NotFound(w, r)
			return
		}
		tag, file, ok := strings.Cut(rest, "/")
		if !ok || !s.hasTag(tag) || file == "" || strings.ContainsAny(file, `/\`) || strings.HasPrefix(file, ".") {
			http.NotFound(w, r)
			return
		}
		path := filepath.Join(s.dist, file)
		if _, err := os.Stat(path); err != nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		http.ServeFile(w, r, path)
	default:
		http.NotFound(w, r)
	}
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// prefixConn reads first what the CONNECT request's reader had already buffered.
type prefixConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *prefixConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// oneConnListener hands one connection to http.Server, then blocks until it is closed.
type oneConnListener struct {
	conn net.Conn
	once sync.Once
	done chan struct{}
	mu   sync.Mutex
}

func (l *oneConnListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	if l.done == nil {
		l.done = make(chan struct{})
	}
	done := l.done
	l.mu.Unlock()
	var c net.Conn
	l.once.Do(func() { c = &closeNotifyConn{Conn: l.conn, closed: done} })
	if c != nil {
		return c, nil
	}
	<-done
	return nil, net.ErrClosed
}

func (l *oneConnListener) Close() error { return nil }
func (l *oneConnListener) Addr() net.Addr {
	return l.conn.LocalAddr()
}

type closeNotifyConn struct {
	net.Conn
	closed chan struct{}
	once   sync.Once
}

func (c *closeNotifyConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

// authority is a throw-away CA that signs one certificate per host name.
type authority struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
	mu   sync.Mutex
	made map[string]tls.Certificate
}

func newCA() (*authority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "ghstandin test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &authority{
		cert: cert,
		key:  key,
		pem:  pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		made: map[string]tls.Certificate{},
	}, nil
}

func (a *authority) leaf(host string) (tls.Certificate, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if c, ok := a.made[host]; ok {
		return c, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: host},
		DNSNames:     []string{host},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, &key.PublicKey, a.key)
	if err != nil {
		return tls.Certificate{}, err
	}
	c := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	a.made[host] = c
	return c, nil
}
