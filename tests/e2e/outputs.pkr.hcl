# End-to-end (c): no images, but a Prism Central VM template and an OVA (QCOW2 disks) downloaded
# into output_directory. Run by tests/e2e_build.rs against the simulator.
packer {
  required_plugins {
    nutanix = {
      version = ">= 0.0.1"
      source  = "github.com/nutanix-cloud-native/nutanix"
    }
  }
}

variable "endpoint" {
  type = string
}

variable "port" {
  type = number
}

variable "ca_cert" {
  type = string
}

variable "output_directory" {
  type = string
}

source "nutanix" "outputs" {
  nutanix_endpoint = var.endpoint
  nutanix_port     = var.port
  nutanix_username = "admin"
  nutanix_password = "secret"
  nutanix_ca_cert  = var.ca_cert

  cluster_name = "PE-Cluster-1"
  communicator = "none"
  vm_name      = "e2e-outputs"
  os_type      = "Linux"

  vm_disks {
    image_type        = "DISK_IMAGE"
    source_image_name = "ubuntu-22.04-server-cloudimg-amd64.img"
    disk_size_gb      = 3
  }

  vm_disks {
    image_type   = "DISK"
    disk_size_gb = 1
  }

  vm_nics {
    subnet_name = "vm-network"
  }

  image_skip = true

  template {
    create      = true
    name        = "e2e-template"
    description = "golden template from packer"
  }

  ova {
    export = true
    format = "qcow2"
    name   = "e2e-ova"
  }

  output_directory = var.output_directory
  shutdown_timeout = "1m"
}

build {
  sources = ["source.nutanix.outputs"]
}
