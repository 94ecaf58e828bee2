// Command startbench measures how long a Packer plugin takes from process start to its first
// Builder.ConfigSpec reply, driving it with packer-plugin-sdk's RPC client the way Packer core
// does (packer/plugin_client.go): start `plugin start builder [--protobuf] NAME` with the magic
// cookie, read the handshake line from stdout, dial the address, open the yamux session
// (rpc.NewClient), call Builder.ConfigSpec, then close the client and wait for the plugin to exit.
//
// Usage:
//
//	go run ./cmd/startbench -plugin PATH [-runs 50] [-warmup 5] [-proto] [-json FILE] [-label NAME]
//
// It prints one summary line and, with -json, writes every sample (milliseconds) to FILE.
// Scripts/bench-start.sh runs it for our plugin and the Go plugin.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"os"
	"os/exec"
	"sort"
	"strings"
	"time"

	pluginsdk "github.com/hashicorp/packer-plugin-sdk/plugin"
	sdkrpc "github.com/hashicorp/packer-plugin-sdk/rpc"
)

// The name Packer passes for a plugin's only builder registered under plugin.DEFAULT_NAME.
const defaultName = "-packer-default-plugin-name-"

// Packer's own limit for the handshake line (plugin_client.go StartTimeout).
const startTimeout = time.Minute

// How long a plugin gets to exit after the client closed before it is killed.
const exitTimeout = 5 * time.Second

// sample is one launch: milliseconds from exec to the handshake line, and to the ConfigSpec reply.
type sample struct {
	HandshakeMs  float64 `json:"handshake_ms"`
	ConfigSpecMs float64 `json:"config_spec_ms"`
	SpecKeys     int     `json:"spec_keys"`
}

// summary is what -json writes.
type summary struct {
	Label    string    `json:"label"`
	Plugin   string    `json:"plugin"`
	Protobuf bool      `json:"protobuf"`
	Runs     int       `json:"runs"`
	Warmup   int       `json:"warmup"`
	Samples  []sample  `json:"samples"`
	Stats    statBlock `json:"config_spec_stats_ms"`
	HsStats  statBlock `json:"handshake_stats_ms"`
}

type statBlock struct {
	Min    float64 `json:"min"`
	Median float64 `json:"median"`
	Mean   float64 `json:"mean"`
	P90    float64 `json:"p90"`
	Max    float64 `json:"max"`
	Stddev float64 `json:"stddev"`
}

func main() {
	plugin := flag.String("plugin", "", "plugin binary to launch")
	runs := flag.Int("runs", 50, "measured launches")
	warmup := flag.Int("warmup", 5, "launches before measuring (page cache, CPU frequency)")
	proto := flag.Bool("proto", false, "negotiate protobuf ConfigSpec (start builder --protobuf), as Packer >= 1.12 does")
	jsonOut := flag.String("json", "", "write samples and statistics to this file")
	label := flag.String("label", "", "name for the summary line (default: the plugin path)")
	flag.Parse()
	// The SDK client logs every call through the standard logger; keep the summary readable.
	log.SetOutput(io.Discard)
	if *plugin == "" || *runs < 1 || *warmup < 0 {
		fmt.Fprintln(os.Stderr, "startbench: -plugin is required, -runs must be >= 1")
		os.Exit(2)
	}
	if *label == "" {
		*label = *plugin
	}

	var samples []sample
	for i := 0; i < *warmup+*runs; i++ {
		s, err := launch(*plugin, *proto)
		if err != nil {
			fmt.Fprintf(os.Stderr, "startbench: launch %d of %s: %v\n", i+1, *plugin, err)
			os.Exit(1)
		}
		if i >= *warmup {
			samples = append(samples, s)
		}
	}

	out := summary{Label: *label, Plugin: *plugin, Protobuf: *proto, Runs: *runs, Warmup: *warmup, Samples: samples}
	out.Stats = stats(samples, func(s sample) float64 { return s.ConfigSpecMs })
	out.HsStats = stats(samples, func(s sample) float64 { return s.HandshakeMs })
	fmt.Printf("%-28s %-8s runs=%d  start->ConfigSpec ms: median %.2f mean %.2f ±%.2f min %.2f p90 %.2f max %.2f  (handshake median %.2f)\n",
		*label, encName(*proto), *runs, out.Stats.Median, out.Stats.Mean, out.Stats.Stddev, out.Stats.Min, out.Stats.P90, out.Stats.Max, out.HsStats.Median)
	if *jsonOut != "" {
		data, err := json.MarshalIndent(out, "", "  ")
		if err == nil {
			err = os.WriteFile(*jsonOut, append(data, '\n'), 0o644)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "startbench: writing %s: %v\n", *jsonOut, err)
			os.Exit(1)
		}
	}
}

func encName(proto bool) string {
	if proto {
		return "protobuf"
	}
	return "gob"
}

// launch starts the plugin once and returns its timings; the process is always reaped.
func launch(path string, proto bool) (sample, error) {
	args := []string{"start", "builder"}
	if proto {
		args = append(args, "--protobuf")
	}
	args = append(args, defaultName)
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(),
		pluginsdk.MagicCookieKey+"="+pluginsdk.MagicCookieValue,
		"PACKER_PLUGIN_MIN_PORT=10000",
		"PACKER_PLUGIN_MAX_PORT=25000",
	)
	cmd.Stderr = io.Discard
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return sample{}, err
	}

	start := time.Now()
	if err := cmd.Start(); err != nil {
		return sample{}, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	reap := func() {
		select {
		case <-exited:
		case <-time.After(exitTimeout):
			_ = cmd.Process.Kill()
			<-exited
		}
	}

	addr, err := readAddress(stdout, exited)
	if err != nil {
		_ = cmd.Process.Kill()
		reap()
		return sample{}, err
	}
	handshake := time.Since(start)
	conn, err := net.Dial(addr.Network(), addr.String())
	if err != nil {
		_ = cmd.Process.Kill()
		reap()
		return sample{}, err
	}
	client, err := sdkrpc.NewClient(conn)
	if err != nil {
		conn.Close()
		_ = cmd.Process.Kill()
		reap()
		return sample{}, err
	}
	client.UseProto = proto
	keys, err := configSpec(client)
	elapsed := time.Since(start)
	_ = client.Close()
	reap()
	if err != nil {
		return sample{}, err
	}
	return sample{
		HandshakeMs:  ms(handshake),
		ConfigSpecMs: ms(elapsed),
		SpecKeys:     keys,
	}, nil
}

// configSpec calls Builder.ConfigSpec; the SDK client panics when the reply does not decode.
func configSpec(client *sdkrpc.Client) (keys int, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("Builder.ConfigSpec reply did not decode: %v", p)
		}
	}()
	spec := client.Builder().ConfigSpec()
	if len(spec) == 0 {
		return 0, errors.New("Builder.ConfigSpec returned an empty spec")
	}
	return len(spec), nil
}

// readAddress parses the handshake line with Packer's rules (CORE-API|APP-API|NETWORK|ADDRESS).
func readAddress(stdout io.Reader, exited <-chan error) (net.Addr, error) {
	lines := make(chan string, 1)
	go func() {
		r := bufio.NewReader(stdout)
		line, _ := r.ReadString('\n')
		lines <- line
		_, _ = io.Copy(io.Discard, r)
	}()
	select {
	case <-time.After(startTimeout):
		return nil, errors.New("no handshake line within a minute")
	case err := <-exited:
		return nil, fmt.Errorf("plugin exited before the handshake (%v)", err)
	case line := <-lines:
		parts := strings.SplitN(strings.TrimSpace(line), "|", 4)
		if len(parts) != 4 {
			return nil, fmt.Errorf("unrecognized handshake line %q", line)
		}
		switch parts[2] {
		case "unix":
			return net.ResolveUnixAddr("unix", parts[3])
		case "tcp":
			return net.ResolveTCPAddr("tcp", parts[3])
		default:
			return nil, fmt.Errorf("unknown network %q in handshake line", parts[2])
		}
	}
}

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

func stats(samples []sample, pick func(sample) float64) statBlock {
	if len(samples) == 0 {
		return statBlock{}
	}
	v := make([]float64, len(samples))
	sum := 0.0
	for i, s := range samples {
		v[i] = pick(s)
		sum += v[i]
	}
	sort.Float64s(v)
	mean := sum / float64(len(v))
	sq := 0.0
	for _, x := range v {
		sq += (x - mean) * (x - mean)
	}
	return statBlock{
		Min:    v[0],
		Median: quantile(v, 0.5),
		Mean:   mean,
		P90:    quantile(v, 0.9),
		Max:    v[len(v)-1],
		Stddev: math.Sqrt(sq / float64(len(v))),
	}
}

// quantile interpolates linearly between the closest ranks of sorted values.
func quantile(sorted []float64, q float64) float64 {
	pos := q * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	frac := pos - float64(lo)
	return sorted[lo] + (sorted[hi]-sorted[lo])*frac
}
