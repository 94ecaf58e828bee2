# End-to-end TLS trust: the smallest real build (communicator "none", one disk cloned from an
# inventory image, one image made), against a simulator serving the certificate a test chose.
# Run by tests/e2e_tls.rs; `ca_cert` is what nutanix_ca_cert pins.
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

source "nutanix" "tls" {
  nutanix_endpoint = var.endpoint
  nutanix_port     = var.port
  nutanix_username = "admin"
  nutanix_password = "secret"
  nutanix_ca_cert  = var.ca_cert

  cluster_name = "PE-Cluster-1"
  communicator = "none"
  vm_name      = "e2e-tls"
  image_name   = "e2e-tls-golden"
  os_type      = "Linux"

  vm_disks {
    image_type        = "DISK_IMAGE"
    source_image_name = "ubuntu-22.04-server-cloudimg-amd64.img"
    disk_size_gb      = 3
  }

  vm_nics {
    subnet_name = "vm-network"
  }

  shutdown_timeout = "1m"
}

build {
  sources = ["source.nutanix.tls"]
}
