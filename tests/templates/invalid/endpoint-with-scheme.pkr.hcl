# expect: nutanix_endpoint: must be a host name or IP address without scheme, port or path (got "https://pc.example.com:9440")
# The Go plugin would build https://https://... from this; the port belongs in nutanix_port.
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
  nutanix_endpoint = "https://pc.example.com:9440"
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
}

build {
  sources = ["source.nutanix.broken"]
}
