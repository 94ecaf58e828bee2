# expect: vm_nics[0].skip_ip_assignment: skip_ip_assignment and ip_address are mutually exclusive
# expect: vm_nics[0].mac_address: mac address is invalid: "50:6b:8d:12:34" is not a 48-bit MAC such as 50:6b:8d:aa:bb:cc
# A NIC either gets a static address or none, and its MAC must be complete.
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
    subnet_name        = "vlan-0"
    mac_address        = "50:6b:8d:12:34"
    ip_address         = "10.10.20.50"
    skip_ip_assignment = true
  }

  ssh_username = "root"
  ssh_password = "packer"
}

build {
  sources = ["source.nutanix.broken"]
}
