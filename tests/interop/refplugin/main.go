// Command refplugin is the interop contract implemented with the Go SDK itself. It is not what
// we ship or test: it checks the harness. Running the harness against it (INTEROP_PLUGIN=<this
// binary>) shows which expectations real Go plugins meet, so a failure against the Rust plugin
// can be told apart from a mistake in the harness.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2/hcldec"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/plugin"
	"github.com/hashicorp/packer-plugin-sdk/version"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

func main() {
	set := plugin.NewSet()
	set.RegisterBuilder("interop", &builder{})
	set.SetVersion(version.InitializePluginVersion("0.0.1", ""))
	if err := set.Run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

type builder struct {
	name string
}

func (b *builder) ConfigSpec() hcldec.ObjectSpec {
	return hcldec.ObjectSpec{
		"name":    &hcldec.AttrSpec{Name: "name", Type: cty.String},
		"count":   &hcldec.AttrSpec{Name: "count", Type: cty.Number},
		"enabled": &hcldec.AttrSpec{Name: "enabled", Type: cty.Bool},
		"tags":    &hcldec.AttrSpec{Name: "tags", Type: cty.List(cty.String)},
		"labels":  &hcldec.AttrSpec{Name: "labels", Type: cty.Map(cty.String)},
		"item": &hcldec.BlockSpec{TypeName: "item", Nested: hcldec.ObjectSpec{
			"x": &hcldec.AttrSpec{Name: "x", Type: cty.Number},
		}},
		"items": &hcldec.BlockListSpec{TypeName: "items", Nested: hcldec.ObjectSpec{
			"y": &hcldec.AttrSpec{Name: "y", Type: cty.List(cty.String)},
		}},
	}
}

// plain turns msgpack-decoded generic values into JSON-encodable ones.
func plain(v interface{}) interface{} {
	switch t := v.(type) {
	case map[interface{}]interface{}:
		m := map[string]interface{}{}
		for k, e := range t {
			m[fmt.Sprint(k)] = plain(e)
		}
		return m
	case []interface{}:
		out := make([]interface{}, len(t))
		for i, e := range t {
			out[i] = plain(e)
		}
		return out
	default:
		return v
	}
}

func (b *builder) Prepare(raws ...interface{}) ([]string, []string, error) {
	merged := map[string]interface{}{}
	vars := map[string]interface{}{}
	kind := "json"
	for _, raw := range raws {
		var m map[string]interface{}
		switch r := raw.(type) {
		case cty.Value:
			kind = "hcl2"
			text, err := ctyjson.SimpleJSONValue{Value: r}.MarshalJSON()
			if err != nil {
				return nil, nil, err
			}
			if err := json.Unmarshal(text, &m); err != nil {
				return nil, nil, err
			}
		default:
			m, _ = plain(r).(map[string]interface{})
		}
		for k, v := range m {
			if strings.HasPrefix(k, "packer_") {
				vars[k] = v
				continue
			}
			if _, seen := merged[k]; v == nil && seen {
				continue // a null does not override an earlier value
			}
			merged[k] = v
		}
	}
	text, err := json.Marshal(merged)
	if err != nil {
		return nil, nil, err
	}
	b.name, _ = merged["name"].(string)
	warnings := []string{"decoded: " + string(text), "kind: " + kind, fmt.Sprintf("build_name: %v", vars["packer_build_name"])}
	if b.name == "fail" {
		return nil, nil, errors.New("name: must not be fail")
	}
	return []string{"InteropVar"}, warnings, nil
}

func (b *builder) Run(ctx context.Context, ui packersdk.Ui, hook packersdk.Hook) (packersdk.Artifact, error) {
	ui.Say("say")
	ui.Message("message")
	ui.Error("error")
	ui.Machine("interop", "a", "b")
	answer, err := ui.Ask("question?")
	if err != nil {
		return nil, err
	}
	ui.Say("answer: " + answer)
	bar := ui.TrackProgress("download", 0, 1000, io.NopCloser(strings.NewReader(strings.Repeat("x", 1000))))
	buf := make([]byte, 100)
	for i := 0; i < 10; i++ {
		if _, err := io.ReadFull(bar, buf); err != nil {
			return nil, err
		}
	}
	bar.Close()
	data := map[string]interface{}{"Host": "127.0.0.1", "Port": 22, "User": "u", "ConnType": "interop", "ID": "interop-id"}
	if err := hook.Run(ctx, packersdk.HookProvision, ui, localComm{}, data); err != nil {
		return nil, err
	}
	switch b.name {
	case "cancel-me":
		<-ctx.Done()
		return nil, errors.New("cancelled")
	case "no-artifact":
		return nil, nil
	}
	return &artifact{failDestroy: b.name == "destroy-fails"}, nil
}

type artifact struct{ failDestroy bool }

func (a *artifact) BuilderId() string { return "rust.interop" }
func (a *artifact) Files() []string   { return []string{"/tmp/a", "/tmp/b"} }
func (a *artifact) Id() string        { return "art-id" }
func (a *artifact) String() string    { return "interop artifact" }

func (a *artifact) State(name string) interface{} {
	switch name {
	case "generated_data":
		return map[string]interface{}{"InteropVar": "value"}
	case "par.artifact.metadata":
		return []map[string]interface{}{{
			"ImageID": "art-id", "ProviderName": "interop", "ProviderRegion": "local",
			"SourceImageID": "src", "Labels": map[string]string{"k": "v"},
		}}
	}
	return nil
}

func (a *artifact) Destroy() error {
	if a.failDestroy {
		return errors.New("destroy failed on purpose")
	}
	return nil
}

// localComm runs commands with sh and moves files on the local disk.
type localComm struct{}

func (localComm) Start(_ context.Context, rc *packersdk.RemoteCmd) error {
	cmd := exec.Command("sh", "-c", rc.Command)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = rc.Stdin, rc.Stdout, rc.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() {
		err := cmd.Wait()
		status := 0
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			status = exit.ExitCode()
		} else if err != nil {
			status = 1
		}
		rc.SetExited(status)
	}()
	return nil
}

func (localComm) Upload(dst string, r io.Reader, _ *os.FileInfo) error {
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (localComm) Download(src string, w io.Writer) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

func (localComm) UploadDir(dst, src string, exclude []string) error {
	return copyTree(dst, src, exclude)
}
func (localComm) DownloadDir(src, dst string, exclude []string) error {
	return copyTree(dst, src, exclude)
}

// copyTree copies src into dst (its contents when src ends with '/'), leaving out entries
// whose base name matches an exclude pattern.
func copyTree(dst, src string, exclude []string) error {
	if !strings.HasSuffix(src, "/") {
		dst = filepath.Join(dst, filepath.Base(src))
	}
	root := filepath.Clean(src)
	if _, err := os.Stat(root); err != nil {
		return err
	}
	return filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		for _, pat := range exclude {
			if ok, _ := filepath.Match(pat, info.Name()); ok {
				if info.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(target)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
}
