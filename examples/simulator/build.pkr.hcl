# Builds an image on the Prism Central simulator built into the plugin, so the whole flow can be
# tried without a Nutanix cluster:
#
#   packer-plugin-nutanix simulator --self-signed-tls &      (listens on 127.0.0.1:9440)
#   packer init . && packer build .
#
# The cluster, subnet, image, project and category below exist in the simulator's built-in
# inventory (crates/prism-sim/src/inventory.rs; tests/ecosystem.rs checks that they still do), and
# admin / secret are its default credentials. There is no communicator, so no SSH server is needed:
# the VM is created, powered off, and its disk saved as the image "demo-golden-image".
# scripts/demo.sh runs this template against a simulator on another port.
packer {
  required_plugins {
    nutanix = {
      version = ">= 1.4.0"
      source  = "github.com/nutanix-cloud-native/nutanix"
    }
  }
}

variable "nutanix_port" {
  type    = number
  default = 9440
}

source "nutanix" "demo" {
  nutanix_endpoint = "127.0.0.1"
  nutanix_port     = var.nutanix_port
  nutanix_username = "admin"
  nutanix_password = "secret"
  nutanix_insecure = true # the simulator's certificate is self-signed

  cluster_name = "PE-Cluster-1"
  project      = "dev-team"

  vm_disks {
    image_type        = "DISK_IMAGE"
    source_image_name = "ubuntu-22.04-server-cloudimg-amd64.img"
    disk_size_gb      = 20
  }

  vm_nics {
    subnet_name = "build-vlan-100"
  }

  vm_categories {
    key   = "Environment"
    value = "Dev"
  }

  image_name        = "demo-golden-image"
  image_description = "built on the Prism Central simulator"
  communicator      = "none"
}

build {
  sources = ["source.nutanix.demo"]
}
