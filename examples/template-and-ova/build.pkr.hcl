# A golden VM that is published three ways: as a Prism Central VM template (deploy it from Prism's
# "Templates" page), as an OVA kept in Prism Central, and as that OVA downloaded to ./output for
# another site or another hypervisor. No disk images are saved (image_skip).
#
# - The VM template step uses Prism Central's v4 content API (Prism Central 2024.3 or later); the
#   rest of the build uses the v3 API.
# - The OVA holds QCOW2 disks; "vmdk" (the default) suits VMware targets.
# - If the build fails after the template or the OVA was made, both are deleted again.
#
#   export NUTANIX_PASSWORD=...
#   packer init . && packer build -var nutanix_endpoint=pc.example.com .
packer {
  required_plugins {
    nutanix = {
      version = ">= 1.4.0"
      source  = "github.com/nutanix-cloud-native/nutanix"
    }
  }
}

variable "nutanix_endpoint" {
  type    = string
  default = "prism-central.example.com"
}

variable "nutanix_username" {
  type    = string
  default = "admin"
}

variable "nutanix_password" {
  type      = string
  default   = env("NUTANIX_PASSWORD")
  sensitive = true
}

variable "cluster_name" {
  type    = string
  default = "PE-Cluster-1"
}

variable "subnet_name" {
  type    = string
  default = "build-vlan-100"
}

variable "base_image_name" {
  type    = string
  default = "ubuntu-22.04-server-cloudimg-amd64.img"
}

variable "version" {
  type    = string
  default = "2026.11"
}

source "nutanix" "golden" {
  nutanix_endpoint = var.nutanix_endpoint
  nutanix_username = var.nutanix_username
  nutanix_password = var.nutanix_password

  cluster_name = var.cluster_name
  vm_name      = "golden-build-${var.version}"
  os_type      = "Linux"
  cpu          = 2
  memory_mb    = 4096
  communicator = "none"

  vm_disks {
    image_type        = "DISK_IMAGE"
    source_image_name = var.base_image_name
    disk_size_gb      = 20
  }

  vm_nics {
    subnet_name = var.subnet_name
  }

  image_skip = true

  template {
    create      = true
    name        = "golden-${var.version}"
    description = "Golden Ubuntu 22.04, built by Packer"
  }

  ova {
    export = true
    format = "qcow2"
    name   = "golden-${var.version}"
  }

  output_directory = "output"
}

build {
  sources = ["source.nutanix.golden"]
}
