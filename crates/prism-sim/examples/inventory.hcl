# Example inventory for `packer-plugin-nutanix simulator --inventory examples/inventory.hcl`.
# One unlabeled block per entry; every uuid is optional (missing ones are derived from the name).
# The schema is documented on `prism_sim::Inventory` (crates/prism-sim/src/inventory.rs).

cluster {
  name        = "lab-pe"
  uuid        = "00000000-0000-4000-8000-0000000000e1"
  external_ip = "192.168.10.20"
}

# Prism Central lists itself as a cluster; builders must skip it.
cluster {
  name          = "lab-pc"
  prism_central = true
}

subnet {
  name    = "lab-vlan-10"
  cluster = "lab-pe"
  vlan_id = 10
}

subnet {
  name    = "lab-ipam"
  cluster = "00000000-0000-4000-8000-0000000000e1"
  vlan_id = 20
  ipam {
    subnet_ip          = "192.168.20.0"
    prefix_length      = 24
    default_gateway_ip = "192.168.20.1"
    pool_range         = "192.168.20.100 192.168.20.200"
  }
}

image {
  name       = "debian-12-generic-amd64.qcow2"
  size_bytes = 2147483648
}

image {
  name       = "tools.iso"
  image_type = "ISO_IMAGE"
  size_bytes = 1048576
}

host {
  name    = "lab-node-1"
  cluster = "lab-pe"
  gpu {
    name      = "NVIDIA A40"
    device_id = 8757
    mode      = "PASSTHROUGH_GRAPHICS"
  }
}

project {
  name       = "default"
  is_default = true
}

project {
  name = "ci"
}

category {
  key    = "Environment"
  values = ["Dev", "Prod"]
}

# Creating an image from this URL fails its task.
remote_source {
  uri          = "https://mirror.example.invalid/broken.iso"
  size_bytes   = 0
  unreachable  = true
}

remote_source {
  uri         = "https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-generic-amd64.qcow2"
  size_bytes  = 440401920
  download_ms = 1500
}

default_remote_size_bytes = 536870912
