# The verbs the Packer plugin scaffolding gives every plugin author, for this Rust plugin.
# CONTRIBUTING.md says when to use which.
#
#   make dev           release build, installed into your Packer (packer plugins install --path)
#   make generate      docs/ -> .web-docs/ (what the integrations portal publishes)
#   make plugin-check  packer-sdc plugin-check on the release binary
#   make test          the whole test command (scripts/test.sh), as CI runs it
#   make testacc       only the tests that run real Packer (validate, init, whole builds)
#   make bench         every benchmark script; rewrites docs/benchmarks.md
#   make fuzz          the fuzz targets under fuzz/, FUZZ_SECONDS each (default 60)
#
# PACKER names the Packer to use (default: `packer` on PATH if it is 1.7 or newer, else one built
# from source; see scripts/find-packer.sh). CARGO_TARGET_DIR is honoured as cargo does.

SHELL := /bin/bash
PLUGIN_SOURCE := github.com/nutanix-cloud-native/nutanix
TARGET_DIR := $(if $(CARGO_TARGET_DIR),$(CARGO_TARGET_DIR),target)
BINARY := $(TARGET_DIR)/release/packer-plugin-nutanix
FUZZ_SECONDS ?= 60

.PHONY: help build dev generate plugin-check test testacc bench fuzz

help:
	@sed -n '1,/^$$/p' Makefile | sed 's/^# \{0,1\}//'

build:
	cargo build --release --locked -p packer-plugin-nutanix

dev: build
	bash scripts/install-plugin.sh "$$(bash scripts/find-packer.sh)" $(BINARY)

generate:
	bash scripts/compile-web-docs.sh

# packer-sdc judges the name as typed, so it runs from the binary's directory with the bare name.
plugin-check: build
	sdc=$$(bash scripts/build-peers.sh sdc) && cd $(dir $(BINARY)) && "$$sdc" plugin-check $(notdir $(BINARY))

test:
	bash scripts/test.sh

testacc:
	bash scripts/ensure-deps.sh scripts/deps/test.txt
	bash scripts/build-peers.sh packer-1.16 packer-1.11 sdc >/dev/null
	CHECKPOINT_DISABLE=1 cargo test --locked -p packer-plugin-nutanix \
	  --test packer_validate --test packer_init --test ecosystem --test e2e_build -- --test-threads=2

bench:
	bash scripts/bench-all.sh

fuzz:
	bash scripts/fuzz.sh $(FUZZ_SECONDS)
