// Command go-vectors writes the golden vectors that nutanix-config's unit tests compare against:
// what the real Go code (packer-plugin-sdk's template interpolation, Go's time layouts,
// time.ParseDuration, net.ParseCIDR, net.ParseMAC) produces for a table of inputs.
//
// Test tooling only. Run from this directory:
//
//	go run . > ../go-vectors.json
package main

import (
	"encoding/json"
	"net"
	"os"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/template/interpolate"
	strftime "github.com/jehiah/go-strftime"
)

// The fixed "process start" time every time function renders; the Rust tests use the same instant.
var initTime = time.Date(2024, time.February, 9, 7, 4, 5, 123456789, time.UTC)

type interpCase struct {
	Template     string            `json:"template"`
	UserVars     map[string]string `json:"user_vars"`
	BuildName    string            `json:"build_name"`
	BuildType    string            `json:"build_type"`
	TemplatePath string            `json:"template_path"`
	CoreVersion  string            `json:"core_version"`
	Output       *string           `json:"output"`
	Error        *string           `json:"error"`
}

type layoutCase struct {
	Layout string `json:"layout"`
	Output string `json:"output"`
}

type durationCase struct {
	Input string  `json:"input"`
	Nanos *int64  `json:"nanos"`
	Error *string `json:"error"`
}

type cidrCase struct {
	Input   string `json:"input"`
	Valid   bool   `json:"valid"`
	Network string `json:"network"`
}

type macCase struct {
	Input string `json:"input"`
	Valid bool   `json:"valid"`
	Bytes int    `json:"bytes"`
}

type vectors struct {
	InitTimeRFC3339Nano string         `json:"init_time"`
	Interpolate         []interpCase   `json:"interpolate"`
	Layouts             []layoutCase   `json:"isotime_layouts"`
	Strftime            []layoutCase   `json:"strftime"`
	Durations           []durationCase `json:"durations"`
	CIDRs               []cidrCase     `json:"cidrs"`
	MACs                []macCase      `json:"macs"`
}

func str(s string) *string { return &s }

func main() {
	interpolate.InitTime = initTime
	vars := map[string]string{"x": "hello", "csv": "a,b,c", "Mixed": "MiXeD", "empty": ""}
	templates := []string{
		"plain text",
		"",
		"{{user `x`}}",
		`{{ user "x" }}`,
		`{{ user "x" | upper }}`,
		`{{user "Mixed" | lower}}`,
		`{{ upper (user "x") }}`,
		`{{user "empty"}}-`,
		`pre-{{user "x"}}-post`,
		"{{timestamp}}",
		"{{ isotime }}",
		`{{ isotime "2006-01-02" }}`,
		"{{isotime `Jan-_2-15:04:05`}}",
		`{{ isotime "a" "b" }}`,
		"{{build_name}}",
		"{{build_type}}",
		"{{ packer_version }}",
		"{{template_dir}}",
		"{{split `a,b` \",\" 0}}",
		"{{split `a,b` \",\" 1}}",
		"{{split `a,b` \",\" 2}}",
		`{{ split (user "csv") "," 2 }}`,
		`{{ split "abc" "" 1 }}`,
		`{{ replace "a" "b" -1 "banana" }}`,
		`{{ replace "a" "b" 2 "banana" }}`,
		`{{ replace "a" "b" 0 "banana" }}`,
		`{{ replace_all "an" "AN" "banana" }}`,
		`{{ "banana" | replace_all "a" "o" }}`,
		`{{ lower "ÀBC" }}`,
		`{{ upper "straße" }}`,
		`{{- "  trimmed  " -}}`,
		"a  {{- `x` -}}  b",
		"{{/* a comment */}}after",
		"a {{- /* trimmed comment */ -}} b",
		`{{ "quoted \"esc\" \t tab \u00e9" }}`,
		"{{ `raw \\n string` }}",
		"{{ nosuchfunc }}",
		"{{ user `missing` }}",
		"{{ env `HOME` }}",
		"{{ sed `s/a/b/` `a` }}",
		"{{ consul_key `k` }}",
		"{{ vault `p` `k` }}",
		"{{ build `ID` }}",
		"{{ upper }}",
		"{{ user }}",
		"{{ split `a` `,` `0` }}",
		"{{ unterminated",
		"{{ \"unterminated }}",
		"}} stray close",
		"{{ .HTTPIP }}",
		"{{ lower `A` }}{{ upper `b` }}",
		"{{ user `x` | replace_all `l` `L` | upper }}",
		"{{ true }}",
		"{{ 42 }}",
		"{{ -3 }}",
		"{{ (user `x`) }}",
	}
	var v vectors
	v.InitTimeRFC3339Nano = initTime.Format(time.RFC3339Nano)
	for _, t := range templates {
		c := interpCase{Template: t, UserVars: vars, BuildName: "centos", BuildType: "nutanix",
			TemplatePath: "/tmp/templates/sub/legacy.json", CoreVersion: "1.16.0"}
		ctx := &interpolate.Context{UserVariables: c.UserVars, BuildName: c.BuildName, BuildType: c.BuildType,
			TemplatePath: c.TemplatePath, CorePackerVersionString: c.CoreVersion}
		out, err := interpolate.RenderOnce(t, ctx)
		if err != nil {
			c.Error = str(err.Error())
		} else {
			c.Output = str(out)
		}
		v.Interpolate = append(v.Interpolate, c)
	}
	// A context without build data or template path, as an HCL2 template gives the plugin.
	for _, t := range []string{"{{build_name}}", "{{template_dir}}", "{{ packer_version }}", "{{user `x`}}"} {
		c := interpCase{Template: t}
		ctx := &interpolate.Context{}
		out, err := interpolate.RenderOnce(t, ctx)
		if err != nil {
			c.Error = str(err.Error())
		} else {
			c.Output = str(out)
		}
		v.Interpolate = append(v.Interpolate, c)
	}

	for _, l := range []string{
		time.RFC3339, time.RFC3339Nano, time.RFC1123, time.RFC1123Z, time.RFC822, time.RFC822Z, time.RFC850,
		time.ANSIC, time.UnixDate, time.RubyDate, time.Kitchen, time.Stamp, time.StampMilli, time.StampMicro,
		time.StampNano, time.DateTime, time.DateOnly, time.TimeOnly,
		"2006-01-02", "Jan-_2-15:04:05", "20060102150405", "06/1/2 3:4:5 pm", "Monday January 2",
		"002 __2 _2 2", ".000 .999 ,000 .9", "15h04m", "MST -07 -0700 -07:00 -07:00:00 -070000",
		"Z07 Z0700 Z07:00 Z07:00:00 Z070000", "PM pm", "no tokens here", "_2006", "2006-01-02T15:04:05.00000Z07:00",
		"Janu", "Mond", "1504", "0102", "03:04:05PM", "2006.000000", "05.9999", "5.00",
	} {
		v.Layouts = append(v.Layouts, layoutCase{Layout: l, Output: initTime.Format(l)})
	}

	for _, f := range []string{"%Y-%m-%d", "%H:%M:%S", "%a %A %b %B", "%d %e %j", "%y %I %p", "%c", "%D %F %T %R",
		"%L %f %%", "%u %w", "%x %X", "no percent", "%Q unknown", "%", "%n%t", "%h %r %k %l"} {
		v.Strftime = append(v.Strftime, layoutCase{Layout: f, Output: strftime.Format(f, initTime)})
	}

	for _, d := range []string{"0", "1h2m3s", "500ms", "1.5h", "300", "-5s", "+5s", "1h1h", "1µs", "1us", "1ns",
		"2.5m", ".5s", "5.s", "", "s", "1x", "1 h", "9223372036854775807ns", "9223372036854775808ns", "3000000h",
		"1h-1m", "0.000000001s", "0.0000000001s", "20m", "30m", "5s", "10s", "45m", " 1s", "1s ", "1e3s", "5m30s"} {
		c := durationCase{Input: d}
		n, err := time.ParseDuration(d)
		if err != nil {
			c.Error = str(err.Error())
		} else {
			ns := int64(n)
			c.Nanos = &ns
		}
		v.Durations = append(v.Durations, c)
	}

	for _, s := range []string{"0.0.0.0/0", "192.168.1.0/24", "192.168.1.5/24", "10.0.0.0/8", "::/0",
		"0:0:0:0:0:0:0:0/0", "fd00::/8", "192.168.1.0", "192.168.1.0/33", "bogus", "", "1.2.3.4/32",
		"192.168.001.0/24", "::ffff:1.2.3.4/120", "10.0.0.0/08"} {
		c := cidrCase{Input: s}
		_, n, err := net.ParseCIDR(s)
		if err == nil {
			c.Valid = true
			c.Network = n.String()
		}
		v.CIDRs = append(v.CIDRs, c)
	}

	for _, s := range []string{"50:6b:8d:aa:bb:cc", "50-6B-8D-AA-BB-CC", "506b.8daa.bbcc", "50:6b:8d:aa:bb",
		"50:6b:8d:aa:bb:cc:dd:ee", "506b8daabbcc", "zz:6b:8d:aa:bb:cc", "", "5:6b:8d:aa:bb:cc",
		"50:6b:8d-aa:bb:cc", "00:00:5e:00:53:01"} {
		c := macCase{Input: s}
		m, err := net.ParseMAC(s)
		if err == nil {
			c.Valid = true
			c.Bytes = len(m)
		}
		v.MACs = append(v.MACs, c)
	}

	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	if err := enc.Encode(v); err != nil {
		panic(err)
	}
}
