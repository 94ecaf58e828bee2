# expect: vm_disks[0]: image_type DISK_IMAGE needs exactly one of source_image_name, source_image_uuid, source_image_uri or source_image_path
# The Go plugin crashed with a nil pointer at build time on a DISK_IMAGE disk with no source.
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
    image_type   = "DISK_IMAGE"
    disk_size_gb = 40
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
