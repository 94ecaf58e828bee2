# Builds an image on the built-in Prism Central simulator:
#   packer-plugin-nutanix simulator --self-signed-tls &   then   packer build -var nutanix_port=9440 .
packer {
  required_plugins {
    nutanix = {
      version = ">= 0.1.0"
      source  = "github.com/nutanix-cloud-native/nutanix"
    }
  }
}

variable "nutanix_port" {
  type    = number
  default = 9440
}

source "nutanix" "demo" {
  nutanix_endpoint = "127.0.0.1"
  nutanix_port     = var.nutanix_port
  nutanix_username = "admin"
  nutanix_password = "secret"
  nutanix_insecure = true
  cluster_name     = "sim-cluster"
  os_type          = "Linux"

  vm_disks {
    image_type        = "DISK_IMAGE"
    source_image_name = "ubuntu-22.04-cloudimg"
    disk_size_gb      = 20
  }
  vm_nics {
    subnet_name = "vlan-100"
  }

  image_name   = "demo-golden-image"
  communicator = "none"
}

build {
  sources = ["source.nutanix.demo"]
}
