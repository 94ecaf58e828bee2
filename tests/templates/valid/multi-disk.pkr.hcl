# Several disks (one image per data disk: <image_name>, <image_name>-disk2, ...): a boot disk cloned
# from an image given by UUID, two empty data disks, a source image uploaded from a local file, and a
# NIC with a fixed MAC address and a static IP from the subnet's IPAM.
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

variable "nutanix_endpoint" {
  type    = string
  default = "prism-central.example.com"
}

variable "nutanix_port" {
  type    = number
  default = 9440
}

variable "nutanix_insecure" {
  type    = bool
  default = true
}

variable "nutanix_cluster" {
  type    = string
  default = "cluster-01"
}

variable "nutanix_subnet" {
  type    = string
  default = "vlan-0"
}

source "nutanix" "multi-disk" {
  nutanix_username = var.nutanix_username
  nutanix_password = var.nutanix_password
  nutanix_endpoint = var.nutanix_endpoint
  nutanix_port     = var.nutanix_port
  nutanix_insecure = var.nutanix_insecure
  cluster_uuid     = "0005a7b8-3f5c-4e5a-8d3e-9a1b2c3d4e5f"
  os_type          = "Linux"
  cpu              = 2
  core             = 2
  memory_mb        = 8192

  vm_disks {
    image_type        = "DISK_IMAGE"
    source_image_uuid = "9b2a4c6d-8e0f-4a1b-9c3d-5e7f9a1b3c5d"
    disk_size_gb      = 50
  }

  vm_disks {
    image_type   = "DISK"
    disk_size_gb = 100
  }

  vm_disks {
    image_type   = "DISK"
    disk_size_gb = 20
  }

  vm_disks {
    image_type          = "DISK_IMAGE"
    source_image_path   = "${path.root}/../files/tiny-disk.qcow2"
    source_image_delete = true
  }

  vm_nics {
    subnet_name = var.nutanix_subnet
    mac_address = "50:6b:8d:12:34:56"
    ip_address  = "10.10.20.50"
  }

  image_name           = "data-server"
  fail_if_image_exists = true
  ip_wait_address      = "10.10.20.0/24"
  ip_settle_timeout    = "30s"

  shutdown_command = "sudo shutdown -P now"
  ssh_username     = "cloud-user"
  ssh_password     = "packer"
}

build {
  sources = ["source.nutanix.multi-disk"]

  provisioner "shell" {
    inline = ["lsblk"]
  }
}
