#!/usr/bin/env python3
"""Regenerates testdata/go/*.json (bytes from real Go code) and testdata/reference/*.json (bytes from
gobref.py, the team's Python reference gob encoder, which is not part of this repository; the layout
it writes is described in docs/design/plugin-protocol.md). Run at test-writing time only; the Rust
tests never call Python or Go.

    python3 gen.py <path-to-oracle-binary> <directory holding gobref.py>

The oracle is tests/go-oracle (see its README): real encoding/gob, hcldec v2.24.0, the nywilken/go-cty
v1.13.3 fork Packer pins, and packer-plugin-sdk v0.6.10's gob registrations and protobuf conversion.
"""
import base64, json, random, subprocess, sys, os

ORACLE, REFERENCE = sys.argv[1], sys.argv[2]
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.dirname(HERE)

def oracle(mode, payload):
    r = subprocess.run([ORACLE, mode], input=payload.encode(), capture_output=True, check=True)
    return r.stdout.decode().split()

# ---------------------------------------------------------------- lone cty types (Go GobEncode)
# The first six are the order that produced testdata/shared/go-cty-types.txt, so the ids match.
TYPES = ["string", "number", "bool", ["list", "string"], ["map", "string"], ["list", "number"],
         ["list", "bool"], ["map", "number"], ["map", "bool"], ["list", ["list", "number"]],
         ["map", ["list", "bool"]], ["list", ["map", "string"]], ["map", ["map", ["list", "number"]]],
         ["list", ["list", ["list", ["list", "string"]]]]]
cty_hex = oracle("ctytypes", json.dumps(TYPES))
json.dump({"how": "tests/go-oracle `ctytypes` (cty.Type.GobEncode, ids aligned with go1.19's first user id 65)",
           "types": [{"type": t, "hex": h} for t, h in zip(TYPES, cty_hex)]},
          open(os.path.join(OUT, "go", "cty-types.json"), "w"), indent=1)
GO_CTY = {json.dumps(t): bytes.fromhex(h) for t, h in zip(TYPES, cty_hex)}

# ---------------------------------------------------------------- specs
def attr(n, t, req=False): return ["attr", n, t, req]
def block(n, nested, req=False): return ["block", n, nested, req]
def blist(n, nested, mn=0, mx=0): return ["blocklist", n, nested, mn, mx]

HAND = {
    "one_attr": {"name": attr("name", "string")},
    "required_attr": {"foo": attr("foo", "string", True)},
    "gobref_spec_all": {
        "foo": attr("foo", "string", True), "count": attr("count", "number"),
        "tags": attr("tags", ["map", "string"]), "ids": attr("ids", ["list", ["list", "number"]]),
        "blk": block("blk", {"x": attr("x", "bool")}, True),
        "bl": blist("bl", {"y": attr("y", ["list", "string"])}, 0, 3)},
    "nested_blocks": {
        "outer": block("outer", {
            "inner": blist("inner", {"deep": block("deep", {"v": attr("v", ["map", ["list", "bool"]])})}, 1, 4),
            "n": attr("n", "number")}),
        "after": attr("after", "bool")},
    "empty_nested": {"e": block("e", {}), "l": blist("l", {}, -2, 9)},
    "key_differs_from_name": {"k": attr("other_name", "string"), "b": block("type_b", {"z": attr("z", "bool")})},
    "empty": {},
}

def rand_type(r, d=0):
    if d >= 3 or r.random() < 0.6:
        return r.choice(["string", "number", "bool"])
    return [r.choice(["list", "map"]), rand_type(r, d + 1)]

def rand_name(r):
    alphabet = "abcxyz_é中"
    return "".join(r.choice(alphabet) for _ in range(r.randint(0, 12)))

def rand_spec(r, d=0):
    out = {}
    for _ in range(r.randint(0, 6 if d < 2 else 3)):
        k = rand_name(r)
        roll = r.random()
        if d < 3 and roll < 0.15:
            out[k] = block(rand_name(r), rand_spec(r, d + 1), r.random() < 0.3)
        elif d < 3 and roll < 0.3:
            out[k] = blist(rand_name(r), rand_spec(r, d + 1), r.choice([0, 0, 1, -1, 300]), r.choice([0, 0, 5, 1 << 40]))
        else:
            out[k] = attr(rand_name(r), rand_type(r), r.random() < 0.3)
    return out

rng = random.Random(20241125)
RANDOM = {f"random_{i}": rand_spec(rng) for i in range(40)}
ALL = dict(HAND, **RANDOM)
names = list(ALL)
gobs = oracle("encode", json.dumps([ALL[n] for n in names]))
# Go decodes what Go encoded and gives back the same model (sanity of the harness itself).
back = [json.loads(l) for l in subprocess.run([ORACLE, "decode"], input="\n".join(gobs).encode(),
                                              capture_output=True, check=True).stdout.decode().splitlines()]
for n, b in zip(names, back):
    assert b == json.loads(json.dumps(ALL[n])), n
protos = oracle("proto", json.dumps([ALL[n] for n in names]))
json.dump({"how": "tests/go-oracle `encode` (gob.NewEncoder per spec; Go's interleaved layout and ids) and "
                  "`proto` (sdk rpc.ToProto + proto.MarshalOptions{Deterministic:true})",
           "specs": [{"name": n, "model": ALL[n], "gob_b64": g, "proto_hex": p} for n, g, p in zip(names, gobs, protos)]},
          open(os.path.join(OUT, "go", "specs.json"), "w"), indent=1, ensure_ascii=False)

# ---------------------------------------------------------------- canonical layout expectations
# gobref.py's object_spec (types first, fixed ids 65..69, map in the given order) with its nested
# cty streams replaced by Go's own GobEncode bytes: both halves come from outside our code.
sys.path.insert(0, REFERENCE)
import gobref
def go_cty(t):
    key = json.dumps(list(t) if isinstance(t, tuple) else t)
    return GO_CTY[key]
gobref.cty_type = go_cty
def to_ref(o):
    res = {}
    for k in sorted(o):
        v = o[k]
        if v[0] == "attr": res[k] = ("attr", v[1], v[2], v[3])
        elif v[0] == "block": res[k] = ("block", v[1], to_ref(v[2]), v[3])
        else: res[k] = ("blocklist", v[1], to_ref(v[2]), v[3], v[4])
    return res
nutanix = json.load(open(os.path.join(OUT, "shared", "nutanix-spec.model.json")))
CANON = {n: HAND[n] for n in ["one_attr", "required_attr", "gobref_spec_all", "nested_blocks", "empty_nested", "key_differs_from_name", "empty"]}
CANON["nutanix"] = nutanix
os.makedirs(os.path.join(OUT, "reference"), exist_ok=True)
json.dump({"how": "the team's reference encoder gobref.py (not in this repository) object_spec() over key-sorted "
                  "specs, with gobref.cty_type replaced "
                  "by the Go GobEncode bytes of go/cty-types.json (gen/gen.py)",
           "specs": [{"name": n, "model": m, "gob_hex": gobref.object_spec(to_ref(m)).hex()} for n, m in CANON.items()]},
          open(os.path.join(OUT, "reference", "canonical-specs.json"), "w"), indent=1)
print("ok", len(cty_hex), "types,", len(names), "specs")
