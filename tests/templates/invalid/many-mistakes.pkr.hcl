# expect: nutanix_endpoint: missing nutanix_endpoint
# expect: cluster_name: missing cluster_name or cluster_uuid
# expect: vm_disks: missing vm_disks: at least one vm_disks block is required
# expect: vm_nics[0]: missing subnet: set subnet_name or subnet_uuid
# expect: fail_if_image_exists: fail_if_image_exists and force_deregister are mutually exclusive
# Every problem is reported at once, not one per run.
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
  os_type          = "Linux"

  vm_nics {
    mac_address = "50:6b:8d:12:34:56"
  }

  fail_if_image_exists = true
  force_deregister     = true

  ssh_username = "root"
  ssh_password = "packer"
}

build {
  sources = ["source.nutanix.broken"]
}
