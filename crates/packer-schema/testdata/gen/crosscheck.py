#!/usr/bin/env python3
"""Cross-checks our encoders with real Go on random specs (not run by cargo or CI).

    python3 crosscheck.py SEED COUNT /tmp/oracle target/debug/examples/spec_codec

1. Go decodes our gob of every spec back to the same spec; 2. our protobuf equals Go's deterministic
marshal; 3. our decoder reads Go's own gob of every spec."""
import json, os, random, subprocess, sys
ORACLE, RUST = sys.argv[3], sys.argv[4]
def attr(n, t, req=False): return ["attr", n, t, req]
def block(n, nested, req=False): return ["block", n, nested, req]
def blist(n, nested, mn=0, mx=0): return ["blocklist", n, nested, mn, mx]
def rand_type(r, d=0):
    if d >= 4 or r.random() < 0.5: return r.choice(["string", "number", "bool"])
    return [r.choice(["list", "map"]), rand_type(r, d + 1)]
def rand_name(r):
    return "".join(r.choice("abcxyz_é中\u0000\n\"") for _ in range(r.randint(0, 20)))
def rand_spec(r, d=0):
    out = {}
    for _ in range(r.randint(0, 8 if d < 2 else 3)):
        k = rand_name(r); roll = r.random()
        if d < 4 and roll < 0.15: out[k] = block(rand_name(r), rand_spec(r, d + 1), r.random() < 0.3)
        elif d < 4 and roll < 0.3: out[k] = blist(rand_name(r), rand_spec(r, d + 1), r.choice([0, 1, -1, 300, -(1<<62)]), r.choice([0, 5, 1 << 40, (1<<63)-1]))
        else: out[k] = attr(rand_name(r), rand_type(r), r.random() < 0.3)
    return out
r = random.Random(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
specs = [rand_spec(r) for _ in range(int(sys.argv[2]) if len(sys.argv) > 2 else 300)]
specs.append(json.load(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'shared', 'nutanix-spec.model.json'))))
ours = subprocess.run([RUST, 'encode'], input=json.dumps(specs).encode(), capture_output=True, check=True).stdout.decode().splitlines()
gobs = [l.split(' ')[0] for l in ours]; protos = [l.split(' ')[1] for l in ours]
# 1. Go decodes our gob to the same spec
back = subprocess.run([ORACLE, 'decode'], input='\n'.join(gobs).encode(), capture_output=True, check=True).stdout.decode().splitlines()
bad = [i for i, (b, s) in enumerate(zip(back, specs)) if json.loads(b) != s]
print('go decodes our gob:', len(specs) - len(bad), 'ok,', len(bad), 'bad')
# 2. Go's deterministic protobuf equals ours
goproto = subprocess.run([ORACLE, 'proto'], input=json.dumps(specs).encode(), capture_output=True, check=True).stdout.decode().split()
badp = [i for i, (a, b) in enumerate(zip(goproto, protos)) if a != b]
print('protobuf identical:', len(specs) - len(badp), 'ok,', len(badp), 'bad', badp[:3])
# 3. our decoder reads Go's gob of the same specs
gogobs = subprocess.run([ORACLE, 'encode'], input=json.dumps(specs).encode(), capture_output=True, check=True).stdout.decode().split()
mine = subprocess.run([RUST, 'decode'], input='\n'.join(gogobs).encode(), capture_output=True, check=True).stdout.decode().splitlines()
badd = [i for i, (b, s) in enumerate(zip(mine, specs)) if json.loads(b) != s]
print('we decode go gob:', len(specs) - len(badd), 'ok,', len(badd), 'bad')
