module packer-plugin-nutanix/interop

go 1.23

require github.com/hashicorp/packer-plugin-sdk v0.6.10

// Packer core pins this fork: upstream go-cty dropped encoding/gob support, which the gob
// ConfigSpec path needs (cty.Type is a GobEncoder there).
replace github.com/zclconf/go-cty => github.com/nywilken/go-cty v1.13.3
