// Package interop drives the Rust plugin binary (the `interop-plugin` cargo example of crate
// packer-rpc) with the real Go client code from github.com/hashicorp/packer-plugin-sdk, the same
// code Packer core links. Everything lives in _test.go files; run it with run.sh.
package interop
