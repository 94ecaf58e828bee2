package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	registryimage "github.com/hashicorp/packer-plugin-sdk/packer/registry/image"
	"github.com/mitchellh/mapstructure"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// Deadlines for single RPCs; Run moves 2 x 64 MiB, so it gets more.
const (
	rpcTimeout    = 30 * time.Second
	runTimeout    = 3 * time.Minute
	cancelTimeout = 5 * time.Second
)

// wantSpec is the interop builder's schema from the contract, rendered by describeSpec.
var wantSpec = map[string]string{
	"name":    "attr(name, cty.String, required=false)",
	"count":   "attr(count, cty.Number, required=false)",
	"enabled": "attr(enabled, cty.Bool, required=false)",
	"tags":    "attr(tags, cty.List(cty.String), required=false)",
	"labels":  "attr(labels, cty.Map(cty.String), required=false)",
	"item":    "block(item, required=false, {x: attr(x, cty.Number, required=false)})",
	"items":   "blocklist(items, min=0, max=0, {y: attr(y, cty.List(cty.String), required=false)})",
}

// describeSpec renders a decoded hcldec spec in one canonical line, so that a mismatch shows
// exactly which part differs. Gob decoding yields nested ObjectSpec values, protobuf decoding
// *ObjectSpec pointers; both render the same.
func describeSpec(s hcldec.Spec) string {
	switch v := s.(type) {
	case *hcldec.AttrSpec:
		return fmt.Sprintf("attr(%s, %s, required=%t)", v.Name, v.Type.GoString(), v.Required)
	case *hcldec.BlockSpec:
		return fmt.Sprintf("block(%s, required=%t, %s)", v.TypeName, v.Required, describeSpec(v.Nested))
	case *hcldec.BlockListSpec:
		return fmt.Sprintf("blocklist(%s, min=%d, max=%d, %s)", v.TypeName, v.MinItems, v.MaxItems, describeSpec(v.Nested))
	case hcldec.ObjectSpec:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			parts = append(parts, k+": "+describeSpec(v[k]))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case *hcldec.ObjectSpec:
		if v == nil {
			return "<nil object>"
		}
		return describeSpec(*v)
	default:
		return fmt.Sprintf("<unexpected %T>", s)
	}
}

// configSpec calls Builder.ConfigSpec. The SDK client panics when the bytes do not decode
// (as Packer core does); turn that into a test failure with the panic text.
func configSpec(t *testing.T, b packersdk.Builder) hcldec.ObjectSpec {
	t.Helper()
	var spec hcldec.ObjectSpec
	var panicked interface{}
	within(t, rpcTimeout, "Builder.ConfigSpec", func() {
		defer func() { panicked = recover() }()
		spec = b.ConfigSpec()
	})
	if panicked != nil {
		t.Fatalf("Builder.ConfigSpec: the SDK client could not decode the reply: %v", panicked)
	}
	return spec
}

func checkSpec(t *testing.T, spec hcldec.ObjectSpec) {
	t.Helper()
	got := map[string]string{}
	for k, s := range spec {
		got[k] = describeSpec(s)
	}
	if !reflect.DeepEqual(got, wantSpec) {
		for k, w := range wantSpec {
			if got[k] != w {
				t.Errorf("spec key %q: got %q, want %q", k, got[k], w)
			}
		}
		for k, g := range got {
			if _, ok := wantSpec[k]; !ok {
				t.Errorf("spec has an unexpected key %q: %s", k, g)
			}
		}
	}
}

// decodeHCL parses template source and decodes it with the plugin's own spec, as
// hcl2template does before Builder.Prepare.
func decodeHCL(t *testing.T, spec hcldec.ObjectSpec, src string) cty.Value {
	t.Helper()
	file, diags := hclsyntax.ParseConfig([]byte(src), "interop.pkr.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatalf("parsing the test template: %s", diags.Error())
	}
	val, diags := hcldec.Decode(file.Body, spec, nil)
	if diags.HasErrors() {
		t.Fatalf("decoding the test template with the plugin's spec: %s", diags.Error())
	}
	return val
}

// hcl2BuilderVars is Packer core's first raw for HCL2 templates: strings only, even the bools.
func hcl2BuilderVars(buildName string) map[string]interface{} {
	return map[string]interface{}{
		"packer_build_name":   buildName,
		"packer_builder_type": "interop",
		"packer_core_version": "1.16.0",
		"packer_debug":        "false",
		"packer_force":        "true",
		"packer_on_error":     "cleanup",
	}
}

// fullHCL sets every key of the spec, blocks and block lists included.
const fullHCL = `
name    = "%s"
count   = 3
enabled = true
tags    = ["a", "b"]
labels  = { k1 = "v1", k2 = "v2" }
item {
  x = 1.5
}
items {
  y = ["p", "q"]
}
items {
  y = []
}
`

// prepareResult is one Builder.Prepare outcome.
type prepareResult struct {
	generated, warnings []string
	err                 error
}

func prepare(t *testing.T, b packersdk.Builder, raws ...interface{}) prepareResult {
	t.Helper()
	var r prepareResult
	within(t, rpcTimeout, "Builder.Prepare", func() {
		r.generated, r.warnings, r.err = b.Prepare(raws...)
	})
	return r
}

// jsonValue decodes JSON text into Go's generic form for order-free comparison.
func jsonValue(t *testing.T, what, text string) interface{} {
	t.Helper()
	var v interface{}
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		t.Fatalf("%s is not JSON: %v: %q", what, err, text)
	}
	return v
}

// checkPrepare compares a successful Prepare with the contract: GeneratedVars ["InteropVar"],
// Warnings [decoded: <config JSON>, kind: <kind>, build_name: <name>].
func checkPrepare(t *testing.T, r prepareResult, wantConfig interface{}, packerVars map[string]interface{}, kind, buildName string) {
	t.Helper()
	if r.err != nil {
		t.Fatalf("Prepare error: %v", r.err)
	}
	if !reflect.DeepEqual(r.generated, []string{"InteropVar"}) {
		t.Errorf("GeneratedVars = %#v, want [InteropVar]", r.generated)
	}
	if len(r.warnings) != 3 {
		t.Fatalf("Warnings = %#v, want 3 entries (decoded, kind, build_name)", r.warnings)
	}
	decodedText, ok := strings.CutPrefix(r.warnings[0], "decoded: ")
	if !ok {
		t.Fatalf("Warnings[0] = %q, want the prefix \"decoded: \"", r.warnings[0])
	}
	decoded, isMap := jsonValue(t, "the decoded config", decodedText).(map[string]interface{})
	if !isMap {
		t.Fatalf("decoded config is not a JSON object: %s", decodedText)
	}
	// packer_* values belong to the plugin's PackerVars; if the plugin also echoes them in the
	// merged object they must at least be what we sent.
	for k, v := range decoded {
		if strings.HasPrefix(k, "packer_") {
			sent := jsonValue(t, k, mustJSON(t, packerVars[k]))
			if !reflect.DeepEqual(v, sent) {
				t.Errorf("decoded %s = %#v, but we sent %#v", k, v, sent)
			}
			delete(decoded, k)
		}
	}
	if !reflect.DeepEqual(interface{}(decoded), wantConfig) {
		t.Errorf("decoded config differs from what we sent:\n got  %s\n want %s", mustJSON(t, decoded), mustJSON(t, wantConfig))
	}
	if r.warnings[1] != "kind: "+kind {
		t.Errorf("Warnings[1] = %q, want %q", r.warnings[1], "kind: "+kind)
	}
	if r.warnings[2] != "build_name: "+buildName {
		t.Errorf("Warnings[2] = %q, want %q", r.warnings[2], "build_name: "+buildName)
	}
}

func mustJSON(t *testing.T, v interface{}) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	return string(b)
}

// ctyToJSON is the plain JSON of a cty value (no type wrapper), as the plugin should see it.
func ctyToJSON(t *testing.T, v cty.Value) interface{} {
	t.Helper()
	b, err := ctyjson.SimpleJSONValue{Value: v}.MarshalJSON()
	if err != nil {
		t.Fatalf("cty to JSON: %v", err)
	}
	return jsonValue(t, "cty JSON", string(b))
}

// prepareHCL2 decodes fullHCL (or src) with the plugin's spec and sends it the HCL2 way.
func prepareHCL2(t *testing.T, b packersdk.Builder, spec hcldec.ObjectSpec, src, buildName string) (prepareResult, interface{}, map[string]interface{}) {
	t.Helper()
	val := decodeHCL(t, spec, src)
	vars := hcl2BuilderVars(buildName)
	// The SDK client turns the cty.Value into cty JSON bytes (msgpack bin) itself.
	return prepare(t, b, vars, val), ctyToJSON(t, val), vars
}

// TestInterop runs every scenario once per ConfigSpec encoding, each in a fresh plugin
// process like Packer does for each build.
func TestInterop(t *testing.T) {
	pluginPath(t)
	t.Parallel() // alongside TestKeepAlive, which mostly waits
	for _, enc := range encodings {
		enc := enc
		t.Run(enc.name, func(t *testing.T) {
			t.Run("SpecAndPrepare", func(t *testing.T) { testSpecAndPrepare(t, enc) })
			t.Run("RunWithArtifact", func(t *testing.T) { testRunWithArtifact(t, enc) })
			t.Run("DestroyFails", func(t *testing.T) { testDestroyFails(t, enc) })
			t.Run("NoArtifact", func(t *testing.T) { testNoArtifact(t, enc) })
			t.Run("Cancel", func(t *testing.T) { testCancel(t, enc) })
			t.Run("CancelDuringHook", func(t *testing.T) { testCancelDuringHook(t, enc) })
		})
	}
}

func testSpecAndPrepare(t *testing.T, enc encoding) {
	p := startPlugin(t, enc)
	b := p.client.Builder()
	spec := configSpec(t, b)
	checkSpec(t, spec)

	t.Run("HCL2Full", func(t *testing.T) {
		r, want, vars := prepareHCL2(t, b, spec, fmt.Sprintf(fullHCL, "hcl-full"), "hcl-build")
		checkPrepare(t, r, want, vars, "hcl2", "hcl-build")
	})
	t.Run("HCL2Unset", func(t *testing.T) {
		// Unset attributes arrive as typed nulls, an absent block as null, no blocks as [].
		r, want, vars := prepareHCL2(t, b, spec, `name = "only-name"`, "sparse")
		checkPrepare(t, r, want, vars, "hcl2", "sparse")
	})
	t.Run("LegacyJSON", func(t *testing.T) {
		// A JSON template's builder object as encoding/json decodes it: float64 numbers.
		raw := map[string]interface{}{
			"name":    "legacy",
			"count":   float64(7),
			"enabled": false,
			"tags":    []interface{}{"x", "y"},
			"labels":  map[string]interface{}{"a": "b"},
			"item":    map[string]interface{}{"x": float64(2.25)},
			"items":   []interface{}{map[string]interface{}{"y": []interface{}{"z"}}},
		}
		packerConfig := map[string]interface{}{
			"packer_build_name":          "json-build",
			"packer_builder_type":        "interop",
			"packer_core_version":        "1.16.0",
			"packer_debug":               true,
			"packer_force":               false,
			"packer_on_error":            "abort",
			"packer_template_path":       "/templates/interop.json",
			"packer_user_variables":      map[string]string{"region": "local"},
			"packer_sensitive_variables": []string{"password"},
		}
		r := prepare(t, b, raw, packerConfig)
		checkPrepare(t, r, jsonValue(t, "raw", mustJSON(t, raw)), packerConfig, "json", "json-build")
	})
	t.Run("Fail", func(t *testing.T) {
		r, _, _ := prepareHCL2(t, b, spec, fmt.Sprintf(fullHCL, "fail"), "fails")
		if r.err == nil || r.err.Error() != "name: must not be fail" {
			t.Errorf("Prepare(name=fail) error = %v, want %q", r.err, "name: must not be fail")
		}
	})
	p.closeAndWait(t)
}

// prepareForRun does what Packer does before Run: ConfigSpec, then Prepare with a name that
// selects the plugin's behaviour.
func prepareForRun(t *testing.T, enc encoding, name string) (*plugin, packersdk.Builder) {
	t.Helper()
	p := startPlugin(t, enc)
	b := p.client.Builder()
	spec := configSpec(t, b)
	r, _, _ := prepareHCL2(t, b, spec, fmt.Sprintf(fullHCL, name), name+"-build")
	if r.err != nil {
		t.Fatalf("Prepare(name=%s): %v", name, r.err)
	}
	return p, b
}

// runBuild calls Builder.Run with a deadline.
func runBuild(t *testing.T, b packersdk.Builder, ctx context.Context, ui packersdk.Ui, hook packersdk.Hook, d time.Duration) (packersdk.Artifact, error) {
	t.Helper()
	var art packersdk.Artifact
	var err error
	within(t, d, "Builder.Run", func() { art, err = b.Run(ctx, ui, hook) })
	return art, err
}

func testRunWithArtifact(t *testing.T, enc encoding) {
	p, b := prepareForRun(t, enc, "full-run")
	ui := &recorderUi{}
	hook := newCommHook(t.TempDir(), ui)
	art, err := runBuild(t, b, context.Background(), ui, hook, runTimeout)
	if err != nil {
		t.Fatalf("Builder.Run: %v", err)
	}
	for _, f := range hook.fail.all() {
		t.Errorf("inside Hook.Run: %s", f)
	}
	checkUiEvents(t, ui)
	checkHookCalls(t, hook.snapshot())
	if art == nil {
		t.Fatal("Builder.Run returned no artifact")
	}
	checkArtifact(t, art)
	var derr error
	within(t, rpcTimeout, "Artifact.Destroy", func() { derr = art.Destroy() })
	if derr != nil {
		t.Errorf("Artifact.Destroy: %v, want success", derr)
	}
	p.closeAndWait(t)
}

// checkUiEvents compares everything that reached Packer's Ui with the contract: the builder's
// own calls, then the hook's calls through the plugin's forwarding Ui.
func checkUiEvents(t *testing.T, ui *recorderUi) {
	t.Helper()
	events, bars := ui.snapshot()
	want := []uiEvent{
		{kind: "say", text: "say"},
		{kind: "message", text: "message"},
		{kind: "error", text: "error"},
		{kind: "machine", text: "interop", args: []string{"a", "b"}},
		{kind: "ask", text: "question?"},
		{kind: "say", text: "answer: " + askAnswer},
		{kind: "say", text: hookSay},
		{kind: "error", text: "hook error line"},
		{kind: "ask", text: "hook question?"},
	}
	if !reflect.DeepEqual(events, want) {
		t.Errorf("Ui calls:\n got  %+v\n want %+v", events, want)
	}
	wantBars := []progress{
		{src: "download", total: 1000, bytesRead: 1000, reads: 10, closed: true},
		// The SDK's progress client reports one more Add(0) at EOF: 2 reads for 500 bytes.
		{src: "hook-download", total: 500, bytesRead: 500, reads: 2, closed: true},
	}
	if !reflect.DeepEqual(bars, wantBars) {
		t.Errorf("progress bars:\n got  %+v\n want %+v", bars, wantBars)
	}
}

func checkHookCalls(t *testing.T, calls []hookCall) {
	t.Helper()
	if len(calls) != 1 {
		t.Fatalf("Hook.Run was called %d times, want once", len(calls))
	}
	if calls[0].name != packersdk.HookProvision {
		t.Errorf("hook name %q, want %q", calls[0].name, packersdk.HookProvision)
	}
	// Decoded by the SDK into interface{}: a msgpack map becomes map[interface{}]interface{},
	// a Go int on the plugin side becomes int64 (a uint would be uint64).
	want := map[interface{}]interface{}{
		"Host":     "127.0.0.1",
		"Port":     int64(22),
		"User":     "u",
		"ConnType": "interop",
		"ID":       "interop-id",
	}
	if !reflect.DeepEqual(calls[0].data, want) {
		t.Errorf("hook data = %#v, want %#v", calls[0].data, want)
	}
}

// artifactView is everything Packer can read from an Artifact, gathered in one go.
type artifactView struct {
	builderID, id, str string
	files              []string
	generated          interface{}
	metadata           interface{}
	unknown            interface{}
}

func checkArtifact(t *testing.T, art packersdk.Artifact) {
	t.Helper()
	var v artifactView
	within(t, rpcTimeout, "Artifact calls", func() {
		v = artifactView{
			builderID: art.BuilderId(), id: art.Id(), str: art.String(), files: art.Files(),
			generated: art.State("generated_data"),
			metadata:  art.State(registryimage.ArtifactStateURI),
			unknown:   art.State("no-such-state"),
		}
	})
	got := []string{v.builderID, v.id, v.str}
	want := []string{"rust.interop", "art-id", "interop artifact"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("BuilderId/Id/String = %q, want %q", got, want)
	}
	if !reflect.DeepEqual(v.files, []string{"/tmp/a", "/tmp/b"}) {
		t.Errorf("Files = %#v", v.files)
	}
	// Packer's post-processor path type-asserts this exact Go type.
	gd, ok := v.generated.(map[interface{}]interface{})
	if !ok || !reflect.DeepEqual(gd, map[interface{}]interface{}{"InteropVar": "value"}) {
		t.Errorf("State(generated_data) = %#v, want map{InteropVar: value}", v.generated)
	}
	// Decode the HCP metadata the way Packer's registry code does.
	var images []registryimage.Image
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{Result: &images, WeaklyTypedInput: true})
	if err == nil {
		err = dec.Decode(v.metadata)
	}
	wantImages := []registryimage.Image{{
		ImageID: "art-id", ProviderName: "interop", ProviderRegion: "local",
		SourceImageID: "src", Labels: map[string]string{"k": "v"},
	}}
	if err != nil || !reflect.DeepEqual(images, wantImages) {
		t.Errorf("State(%s) = %#v decodes to %+v (err %v), want %+v",
			registryimage.ArtifactStateURI, v.metadata, images, err, wantImages)
	}
	if v.unknown != nil {
		t.Errorf("State(no-such-state) = %#v, want nil", v.unknown)
	}
}

func testDestroyFails(t *testing.T, enc encoding) {
	p, b := prepareForRun(t, enc, "destroy-fails")
	hook := newRecordingHook()
	art, err := runBuild(t, b, context.Background(), &recorderUi{}, hook, rpcTimeout)
	if err != nil || art == nil {
		t.Fatalf("Builder.Run = %v, %v; want an artifact", art, err)
	}
	var derr error
	within(t, rpcTimeout, "Artifact.Destroy", func() { derr = art.Destroy() })
	if goReference() {
		// The Go SDK's ArtifactServer puts a *BasicError into a reply of type error, which its
		// own client cannot decode: a Go plugin cannot hand Packer this text
		// (docs/design/plugin-protocol.md, 'Errors and BasicError').
		if derr == nil || !strings.Contains(derr.Error(), "is not assignable to type error") {
			t.Errorf("Go reference: Artifact.Destroy error = %v, want the SDK's decode error", derr)
		}
	} else if derr == nil || derr.Error() != "destroy failed on purpose" {
		t.Errorf("Artifact.Destroy error = %v, want %q", derr, "destroy failed on purpose")
	}
	p.closeAndWait(t)
}

func testNoArtifact(t *testing.T, enc encoding) {
	p, b := prepareForRun(t, enc, "no-artifact")
	hook := newRecordingHook()
	art, err := runBuild(t, b, context.Background(), &recorderUi{}, hook, rpcTimeout)
	if err != nil {
		t.Fatalf("Builder.Run: %v", err)
	}
	if art != nil {
		t.Errorf("Builder.Run returned artifact %#v, want nil", art)
	}
	if n := len(hook.snapshot()); n != 1 {
		t.Errorf("Hook.Run called %d times, want once", n)
	}
	p.closeAndWait(t)
}

func testCancel(t *testing.T, enc encoding) {
	p, b := prepareForRun(t, enc, "cancel-me")
	hook := newRecordingHook()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	type result struct {
		art packersdk.Artifact
		err error
	}
	done := make(chan result, 1)
	go func() {
		art, err := b.Run(ctx, &recorderUi{}, hook)
		done <- result{art, err}
	}()

	// The plugin blocks after the hook; only Builder.Cancel may end it.
	select {
	case <-hook.ran:
	case r := <-done:
		t.Fatalf("Builder.Run returned before the hook ran: %v, %v", r.art, r.err)
	case <-time.After(rpcTimeout):
		t.Fatal("Hook.Run was never called")
	}
	select {
	case r := <-done:
		t.Fatalf("Builder.Run(cancel-me) returned without being cancelled: %v, %v", r.art, r.err)
	case <-time.After(500 * time.Millisecond):
	}

	// The SDK's builder client sends Builder.Cancel on stream 0 when ctx is done.
	cancel()
	select {
	case r := <-done:
		if r.err == nil || r.err.Error() != "cancelled" {
			t.Errorf("Builder.Run after cancel = %v, %v; want the error \"cancelled\"", r.art, r.err)
		}
		if r.art != nil {
			t.Errorf("cancelled Run returned an artifact")
		}
	case <-time.After(cancelTimeout):
		t.Fatalf("Builder.Run did not return within %v of the cancel", cancelTimeout)
	}
	p.closeAndWait(t)
}

// blockingHook stands for a provisioner that runs until Packer cancels it.
type blockingHook struct {
	entered   chan struct{}
	cancelled chan struct{}
}

func (h *blockingHook) Run(ctx context.Context, _ string, _ packersdk.Ui, _ packersdk.Communicator, _ interface{}) error {
	close(h.entered)
	select {
	case <-ctx.Done():
		close(h.cancelled)
	case <-time.After(rpcTimeout):
	}
	// Return success either way: the plugin must still end Run because it was cancelled.
	return nil
}

// testCancelDuringHook is Ctrl-C during provisioning: Packer sends Builder.Cancel while the
// plugin waits in Hook.Run; the plugin must pass it on as Hook.Cancel, which the SDK's hook
// server turns into cancelling the provisioner's context.
func testCancelDuringHook(t *testing.T, enc encoding) {
	p, b := prepareForRun(t, enc, "cancel-me")
	hook := &blockingHook{entered: make(chan struct{}), cancelled: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	done := make(chan error, 1)
	go func() {
		_, err := b.Run(ctx, &recorderUi{}, hook)
		done <- err
	}()
	select {
	case <-hook.entered:
	case err := <-done:
		t.Fatalf("Builder.Run returned before the hook ran: %v", err)
	case <-time.After(rpcTimeout):
		t.Fatal("Hook.Run was never called")
	}
	cancel()
	select {
	case <-hook.cancelled:
	case <-time.After(cancelTimeout):
		t.Fatalf("the hook's context was not cancelled within %v: no Hook.Cancel reached Packer", cancelTimeout)
	}
	select {
	case err := <-done:
		if err == nil || err.Error() != "cancelled" {
			t.Errorf("Builder.Run after cancel: %v, want the error \"cancelled\"", err)
		}
	case <-time.After(cancelTimeout):
		t.Fatalf("Builder.Run did not return within %v of the cancel", cancelTimeout)
	}
	p.closeAndWait(t)
}

// Go's yamux pings every 30 s (KeepAliveInterval) and drops the session when the answer takes
// more than 10 s (ConnectionWriteTimeout); builds take minutes, so this must work.
const keepAliveWait = 45 * time.Second

// TestKeepAlive idles on a connected plugin until Go's yamux has pinged it, checks the plugin
// answered, and that the session still carries calls afterwards.
func TestKeepAlive(t *testing.T) {
	pluginPath(t)
	t.Parallel()
	p := startPlugin(t, encodings[0])
	b := p.client.Builder()
	spec := configSpec(t, b)
	select {
	case <-p.tap.ackSeen:
	case <-time.After(keepAliveWait):
		t.Fatalf("no yamux ping answer from the plugin within %v", keepAliveWait)
	}
	r, want, vars := prepareHCL2(t, b, spec, fmt.Sprintf(fullHCL, "after-ping"), "after-ping")
	checkPrepare(t, r, want, vars, "hcl2", "after-ping")
	p.closeAndWait(t)
}
