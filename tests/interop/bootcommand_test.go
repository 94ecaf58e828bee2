package interop

// Golden vectors for the boot command: packer-plugin-sdk's own bootcommand package (its PEG parser,
// BootConfig.Prepare and its VNC driver) turns a corpus of commands into the key events and pauses
// Packer sends over VNC. The result is committed as crates/boot-command/tests/vectors/vnc.json, which
// the Rust crate's tests replay event for event. This test regenerates the file and fails when the
// committed copy differs, so the two sides cannot drift apart; set BOOT_VECTORS_WRITE=1 to rewrite it
// after changing the corpus.
//
// Pauses are measured, not read from the source: the driver runs inside a testing/synctest bubble,
// whose fake clock advances only when every goroutine sleeps, so the gap between two recorded key
// events is exactly what the driver slept (the key interval after every event, plus any <wait>).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/synctest"
	"time"
	"unicode"

	"github.com/hashicorp/packer-plugin-sdk/bootcommand"
	"github.com/hashicorp/packer-plugin-sdk/template/interpolate"
)

const bootVectorsPath = "../../crates/boot-command/tests/vectors/vnc.json"

// bootCase is one command as Packer's VNC builders receive it: boot_command's elements (joined with
// "" before parsing), boot_key_interval, and the PACKER_KEY_INTERVAL environment variable.
type bootCase struct {
	Name        string   `json:"name"`
	Command     []string `json:"command"`
	KeyInterval string   `json:"key_interval,omitempty"`
	Env         *string  `json:"env,omitempty"`
	// Waits: the duration of every <wait> in the parsed sequence, in nanoseconds, read from the
	// SDK's own expression values.
	Waits []int64 `json:"waits,omitempty"`
	// Events: "down:<hex keysym>", "up:<hex keysym>", "wait:<nanoseconds>", adjacent pauses merged.
	Events *string `json:"events,omitempty"`
	// Untimed: why Events is absent for a command Packer accepts (waits beyond the fake clock).
	Untimed string `json:"untimed,omitempty"`
	// Error: what BootConfig.Prepare reported (the Rust side must reject the same input).
	Error *string `json:"error,omitempty"`
}

type bootVectors struct {
	Generator string     `json:"generator"`
	Cases     []bootCase `json:"cases"`
	// GoIsUpper: the code point ranges [first, last] for which Go's unicode.IsUpper holds; the
	// driver holds Shift for exactly these (and the shifted ASCII symbols).
	GoIsUpper [][2]rune `json:"go_is_upper"`
	// GoLowerToASCII: non-ASCII runes that Go's unicode.ToLower maps to an ASCII letter, which the
	// parser's case-insensitive key names therefore accept ([rune, lowered]).
	GoLowerToASCII [][2]rune `json:"go_lower_to_ascii"`
}

func str(s string) *string { return &s }

// c builds a case with the driver's default interval (boot_key_interval unset, no environment).
func c(name string, parts ...string) bootCase { return bootCase{Name: name, Command: parts} }

func bootCorpus() []bootCase {
	var cases []bootCase
	specials := []string{
		"bs", "del", "enter", "return", "esc", "tab", "f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8",
		"f9", "f10", "f11", "f12", "up", "down", "left", "right", "spacebar", "insert", "home", "end",
		"pageUp", "pageDown", "menu", "leftAlt", "leftCtrl", "leftShift", "leftSuper", "rightAlt",
		"rightCtrl", "rightShift", "rightSuper", "leftCommand", "rightCommand", "leftOption",
		"rightOption",
	}
	for _, s := range specials {
		cases = append(cases,
			c("special "+s, "<"+s+">"),
			c("special "+s+" on/off", "<"+s+"On><"+s+"Off>"),
		)
	}
	cases = append(cases,
		// Key names and On/Off ignore case (Go's unicode.ToLower on each rune).
		c("case: upper names", "<ENTER><PAGEUP><F12><LEFTSHIFTON><leftshiftoff><RiGhTaLt>"),
		c("case: on/off spellings", "<delon><delON><deLoN><enteroff><enterOFF><eNtErOfF>"),
		c("case: dotted capital I lowers to i", "<İnsert><rİght><İnsertOn>"),
		c("case: long s does not lower to s", "<eſc><menu>"),
		// Modifiers held around other keys, left and right hand.
		c("ctrl+c", "<leftCtrlOn>c<leftCtrlOff>"),
		c("ctrl+alt+del", "<leftCtrlOn><leftAltOn><del><leftAltOff><leftCtrlOff>"),
		c("right ctrl+alt+f2", "<rightCtrlOn><rightAltOn><f2><rightAltOff><rightCtrlOff>"),
		c("super+r", "<leftSuperOn>r<leftSuperOff><rightSuperOn>e<rightSuperOff>"),
		c("held shift, lower letter", "<leftShiftOn>a<leftShiftOff>"),
		c("held shift, upper letter releases it", "<leftShiftOn>A1<leftShiftOff>"),
		c("held right shift, symbol", "<rightShiftOn>!b<rightShiftOff>"),
		c("command/option", "<leftCommandOn>q<leftCommandOff><rightOptionOn>x<rightOptionOff>"),
		c("modifier left held", "<leftAltOn>"),
		c("modifier released without press", "<rightShiftOff>"),
		// Single characters held and released.
		c("char on/off", "<aOn><aOff>"),
		c("upper char on/off", "<AOn><AOff>"),
		c("symbol char on/off", "<!On><!Off><1on><1OFF>"),
		c("angle brackets on/off", "<<On><<Off><>On><>Off>"),
		c("space on/off", "< On>< Off>"),
		c("unicode char on/off", "<界On><界Off><éon><ÉOff>"),
		c("b then on", "<bon><boff>"),
		// Text: lower, upper, digits, every ASCII symbol.
		c("lower", "abcdefghijklmnopqrstuvwxyz"),
		c("upper", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
		c("mixed case", "AbC"),
		c("digits and space", "0123456789 "),
		c("shifted symbols", "~!@#$%^&*()_+{}|:\"<>?"),
		c("unshifted symbols", "`-=[]\\;',./"),
		c("hello", "Hello, World!"),
		// Characters outside ASCII go as their code point; Go's unicode.IsUpper decides Shift.
		c("latin-1", "é É ß ÿ ×"),
		c("greek and cjk", "Ωω界"),
		c("titlecase and circled letters", "ǅⒶ"),
		c("emoji", "😀"),
		c("control characters", "a\nb\tc\rd\x00\x7f"),
		// Waits of every form.
		c("wait", "<wait>"),
		c("wait5", "<wait5>"),
		c("wait10", "<wait10>"),
		c("wait0 is one second", "<wait0>"),
		c("wait1m30s", "<wait1m30s>"),
		c("wait300ms", "<wait300ms>"),
		c("wait fraction", "<wait1.5s><wait0.5m><wait.5s>"),
		c("wait2h45m", "<wait2h45m>"),
		c("wait small units", "<wait1ns><wait1us><wait1µs><wait3ms>"),
		c("wait greek mu is not a unit here", "<wait1μs>"),
		c("wait repeated units", "<wait5s5s><wait1m1m>"),
		c("wait long fraction", "<wait1.0000000000000000001s><wait0.3333333333333333333h>"),
		c("wait largest", "<wait2562047h47m16.854775807s>"),
		c("wait 20e9 seconds wraps to about 49 years", "<wait20000000000>"),
		c("wait 9223372036s", "<wait9223372036s>"),
		c("between keys", "a<wait>b<wait2>c"),
		c("at the end", "x<wait3>"),
		c("adjacent", "<wait><wait>"),
		// Not a wait: typed as text.
		c("WAIT is text", "<WAIT><Wait5>"),
		c("wait with space", "<wait 5><wait5 >"),
		c("wait with leading zero", "<wait05><wait05s><wait00>"),
		c("wait without unit fraction", "<wait1.5>"),
		c("wait unknown unit", "<wait1d><wait1mss>"),
		c("wait plus sign", "<wait+5s>"),
		c("wait negative count", "<wait-5>"),
		c("wait unclosed", "<wait5"),
		c("wait word", "<waiting>"),
		// Unbalanced and unknown.
		c("lone open", "<"),
		c("lone close", ">"),
		c("open open", "<<"),
		c("empty brackets", "<>"),
		c("unclosed key", "<enter"),
		c("close without open", "enter>"),
		c("unknown key", "<foo>"),
		c("space inside", "<enter ><  enter>"),
		c("f13 and f0", "<f13><f0>"),
		c("left prefix", "<leftx><rightfoo>"),
		c("on then junk", "<enterOnx><enterOnOff><leftShiftOnx>"),
		c("nested", "<<enter>>"),
		c("accented key name", "<entér>"),
		// Elements are joined with "" before parsing.
		c("joined wait", "<wa", "it5>"),
		c("joined key", "<ent", "er>", "abc"),
		c("empty elements", "", "<tab>", ""),
		c("empty", ""),
		c("realistic centos", "<tab><wait>", " ks=http://10.0.0.5:8123/centos6-ks.cfg<enter>"),
		c("realistic ubuntu",
			"<esc><esc><enter><wait>",
			"/install/vmlinuz noapic ",
			"preseed/url=http://10.0.0.5:8123/preseed.cfg ",
			"hostname=Packer-ABC ",
			"initrd=/install/initrd.gz -- <enter>"),
		c("realistic grub edit", "<wait3s>c<wait>linux /casper/vmlinuz autoinstall ds='nocloud-net;s=http://10.0.0.5:8123/' ---<enter><wait>initrd /casper/initrd<enter><wait>boot<enter>"),
		// Rejected by Prepare.
		c("wait zero seconds", "<wait0s>"),
		c("wait negative", "<wait-1s>"),
		c("wait negative fraction", "<wait-0.5s>"),
		c("wait sign inside", "<wait1h-30m>"),
		c("wait count overflow", "<wait99999999999999999999>"),
		c("wait count overflow, not a wait", "<wait99999999999999999999x>"),
		c("wait count overflow in a duration", "<wait1s99999999999999999999s>"),
		c("wait count wraps negative", "<wait9223372036854775807>"),
		c("wait count wraps negative 1e10", "<wait10000000000>"),
		c("wait duration overflow", "<wait9223372037s>"),
		c("wait duration overflow by one", "<wait2562047h47m16.854775808s>"),
		c("wait hours overflow", "<wait9999999999h>"),
		c("error after text", "abc<wait0s>def"),
		c("two errors", "<wait-1s><wait0ms>"),
	)
	// boot_key_interval and PACKER_KEY_INTERVAL.
	iv := func(name, interval string, env *string) bootCase {
		return bootCase{Name: name, Command: []string{"aB<enter>"}, KeyInterval: interval, Env: env}
	}
	cases = append(cases,
		iv("interval configured", "10ms", nil),
		iv("interval from env", "", str("20ms")),
		iv("interval configured wins over env", "1s", str("20ms")),
		iv("interval env zero", "", str("0s")),
		iv("interval env unparsable", "", str("fast")),
		iv("interval env empty", "", str("")),
		iv("interval env negative", "", str("-1s")),
		iv("interval env without unit", "", str("50")),
		iv("interval env fraction", "", str("1.5ms")),
		iv("interval env wrapping to zero", "", str("9223372036854775808ns9223372036854775808ns")),
		iv("interval configured negative", "-5ms", nil),
		iv("interval configured negative, env", "-5ms", str("7ms")),
		bootCase{Name: "interval with waits", Command: []string{"a<wait>b"}, KeyInterval: "250ms"},
	)
	return cases
}

// recorder is the VNC connection: it keeps each KeyEvent with the (fake) time it was sent.
type recorder struct {
	last   time.Time
	events []string
}

func (r *recorder) gap(now time.Time) {
	if d := now.Sub(r.last); d > 0 {
		r.events = append(r.events, fmt.Sprintf("wait:%d", d.Nanoseconds()))
	}
	r.last = now
}

func (r *recorder) KeyEvent(keysym uint32, down bool) error {
	r.gap(time.Now())
	dir := "up"
	if down {
		dir = "down"
	}
	r.events = append(r.events, fmt.Sprintf("%s:%x", dir, keysym))
	return nil
}

// runBootCase does what a Packer VNC builder does with the case: Prepare (parse and validate the
// joined command), then type it with NewVNCDriver inside a synctest bubble.
func runBootCase(t *testing.T, bc *bootCase) {
	cfg := bootcommand.BootConfig{BootCommand: bc.Command}
	if errs := cfg.Prepare(&interpolate.Context{}); len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = e.Error()
		}
		bc.Error = str(strings.Join(msgs, "; "))
		return
	}
	var interval time.Duration
	if bc.KeyInterval != "" {
		d, err := time.ParseDuration(bc.KeyInterval)
		if err != nil {
			t.Fatalf("%s: key_interval %q: %v", bc.Name, bc.KeyInterval, err)
		}
		interval = d
	}
	old, had := os.LookupEnv(bootcommand.PackerKeyEnv)
	if bc.Env != nil {
		os.Setenv(bootcommand.PackerKeyEnv, *bc.Env)
	} else {
		os.Unsetenv(bootcommand.PackerKeyEnv)
	}
	defer func() {
		if had {
			os.Setenv(bootcommand.PackerKeyEnv, old)
		} else {
			os.Unsetenv(bootcommand.PackerKeyEnv)
		}
	}()

	seq, err := bootcommand.GenerateExpressionSequence(cfg.FlatBootCommand())
	if err != nil {
		t.Fatalf("%s: passed Prepare but not GenerateExpressionSequence: %v", bc.Name, err)
	}
	var total int64
	for _, exp := range seq {
		if fmt.Sprintf("%T", exp) == "*bootcommand.waitExpression" {
			d := reflect.ValueOf(exp).Elem().FieldByName("d").Int()
			bc.Waits = append(bc.Waits, d)
			total += d
		}
	}
	// The bubble's clock starts in 2000 and ends where int64 nanoseconds since 1970 do (2262):
	// longer waits would be measured short, so such commands keep only their exact waits.
	if total > 200*365*24*int64(time.Hour) || total < 0 {
		bc.Untimed = "waits longer than the synctest clock can represent"
		return
	}

	var events []string
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{last: time.Now()}
		driver := bootcommand.NewVNCDriver(rec, interval)
		if err := seq.Do(t.Context(), driver); err != nil {
			t.Fatalf("%s: Do: %v", bc.Name, err)
		}
		rec.gap(time.Now())
		events = rec.events
	})
	bc.Events = str(strings.Join(events, " "))
}

func runeRanges(pred func(rune) bool) [][2]rune {
	var out [][2]rune
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if !pred(r) {
			continue
		}
		if n := len(out); n > 0 && out[n-1][1] == r-1 {
			out[n-1][1] = r
		} else {
			out = append(out, [2]rune{r, r})
		}
	}
	return out
}

func generateBootVectors(t *testing.T) []byte {
	v := bootVectors{
		Generator: "tests/interop/bootcommand_test.go (packer-plugin-sdk v0.6.10 bootcommand)",
		Cases:     bootCorpus(),
		GoIsUpper: runeRanges(unicode.IsUpper),
	}
	for r := rune(0x80); r <= unicode.MaxRune; r++ {
		if l := unicode.ToLower(r); l < 0x80 && unicode.IsLetter(l) {
			v.GoLowerToASCII = append(v.GoLowerToASCII, [2]rune{r, l})
		}
	}
	seen := map[string]bool{}
	for i := range v.Cases {
		if seen[v.Cases[i].Name] {
			t.Fatalf("duplicate case name %q", v.Cases[i].Name)
		}
		seen[v.Cases[i].Name] = true
		runBootCase(t, &v.Cases[i])
	}
	// One case per line, so that a change shows up as a readable diff.
	var buf bytes.Buffer
	line := func(x any) string {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(x); err != nil {
			t.Fatal(err)
		}
		return strings.TrimSuffix(b.String(), "\n")
	}
	fmt.Fprintf(&buf, "{\n  \"generator\": %s,\n  \"cases\": [\n", line(v.Generator))
	for i, bc := range v.Cases {
		sep := ","
		if i == len(v.Cases)-1 {
			sep = ""
		}
		fmt.Fprintf(&buf, "    %s%s\n", line(bc), sep)
	}
	fmt.Fprintf(&buf, "  ],\n  \"go_is_upper\": %s,\n  \"go_lower_to_ascii\": %s\n}\n",
		line(v.GoIsUpper), line(v.GoLowerToASCII))
	return buf.Bytes()
}

func TestBootCommandVectors(t *testing.T) {
	got := generateBootVectors(t)
	path := filepath.FromSlash(bootVectorsPath)
	if os.Getenv("BOOT_VECTORS_WRITE") == "1" {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", path)
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with BOOT_VECTORS_WRITE=1 to create it)", err)
	}
	if bytes.Equal(got, want) {
		return
	}
	gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < len(gl) || i < len(wl); i++ {
		var g, w string
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if g != w {
			t.Fatalf("%s differs from what packer-plugin-sdk produces, first at line %d:\n  committed: %s\n  Go SDK:    %s\n(rerun with BOOT_VECTORS_WRITE=1 if the corpus changed on purpose)", path, i+1, w, g)
		}
	}
}
