# expect: cluster_name: cluster_name and cluster_uuid are mutually exclusive
# A cluster is chosen by name or by UUID, not both.
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
  cluster_uuid     = "0005a7b8-3f5c-4e5a-8d3e-9a1b2c3d4e5f"

  vm_disks {
    image_type        = "DISK_IMAGE"
    source_image_name = "centos-9"
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
