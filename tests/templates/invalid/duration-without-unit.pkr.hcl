# expect: ssh_timeout: missing unit in duration "300"
# Durations use Go syntax: 300s, 5m, 1h30m.
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
    image_type        = "DISK_IMAGE"
    source_image_name = "centos-9"
  }

  vm_nics {
    subnet_name = "vlan-0"
  }

  ssh_username = "root"
  ssh_password = "packer"
  ssh_timeout  = "300"
}

build {
  sources = ["source.nutanix.broken"]
}
