# expect: vm_disks[0].source_image_checksum_type: must be sha256 or sha1 (got "md5")
# Prism verifies downloads with SHA-256 or SHA-1 only.
packer {
  required_plugins {
    nutanix = {
      version = ">= 0.0.1"
      source  = "github.com/nutanix-cloud-native/nutanix"
    }
  }
}

variable "nutanix_username" {
  type    = string
  default = "admin"
}

variable "nutanix_password" {
  type      = string
  default   = "nutanix/4u"
  sensitive = true
}

source "nutanix" "broken" {
  nutanix_username = var.nutanix_username
  nutanix_password = var.nutanix_password
  nutanix_endpoint = "prism-central.example.com"
  nutanix_insecure = true
  cluster_name     = "cluster-01"
  os_type          = "Linux"

  vm_disks {
    image_type                 = "DISK_IMAGE"
    source_image_uri           = "https://cloud.centos.org/centos/9-stream/x86_64/images/CentOS-Stream-GenericCloud-9-latest.x86_64.qcow2"
    source_image_checksum      = "0f3b2d1c9a8e7f6d5c4b3a2f1e0d9c8b"
    source_image_checksum_type = "md5"
  }

  vm_nics {
    subnet_name = "vlan-0"
  }

  ssh_username = "root"
  ssh_password = "packer"
}

build {
  sources = ["source.nutanix.broken"]
}
