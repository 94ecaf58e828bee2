# A VM with a system disk and two data disks, owned by a project and tagged with categories, that
# produces one image per disk: "db-server" (system disk), "db-server-disk2" and "db-server-disk3".
#
# - The system disk is cloned from an image given by UUID and grown to 40 GiB; the data disks are
#   empty, one of them in a chosen storage container.
# - The project and every category (key and value) must already exist in Prism Central; the build
#   checks them before it creates anything. vm_categories tag the build VM, image_categories tag
#   the images; one key may carry several values.
# - The NIC gets a fixed MAC address and a fixed IPv4 address from the subnet's IPAM, and the
#   build waits only for an address inside 10.10.20.0/24.
# - fail_if_image_exists stops the build early if "db-server" already exists.
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

variable "cluster_uuid" {
  type    = string
  default = "0005f3c1-6a1b-4d8e-9c10-000000000001"
}

variable "base_image_uuid" {
  type    = string
  default = "c3b5e0a2-2222-4e1f-9d4b-000000000001"
}

variable "storage_container_uuid" {
  type    = string
  default = "3f1d7c4e-6a8b-4c2d-9e0f-1a2b3c4d5e6f"
}

variable "subnet_name" {
  type    = string
  default = "build-vlan-100"
}

source "nutanix" "db" {
  nutanix_endpoint = var.nutanix_endpoint
  nutanix_username = var.nutanix_username
  nutanix_password = var.nutanix_password

  cluster_uuid = var.cluster_uuid
  project      = "dev-team"
  cpu          = 2
  core         = 2
  memory_mb    = 16384

  vm_disks {
    image_type        = "DISK_IMAGE"
    source_image_uuid = var.base_image_uuid
    disk_size_gb      = 40
  }

  vm_disks {
    image_type   = "DISK"
    disk_size_gb = 200
  }

  vm_disks {
    image_type             = "DISK"
    disk_size_gb           = 50
    storage_container_uuid = var.storage_container_uuid
  }

  vm_nics {
    subnet_name = var.subnet_name
    mac_address = "50:6b:8d:12:34:56"
    ip_address  = "10.10.20.50"
  }
  ip_wait_address = "10.10.20.0/24"

  vm_categories {
    key   = "Environment"
    value = "Dev"
  }

  vm_categories {
    key   = "AppType"
    value = "Database"
  }

  image_categories {
    key   = "Environment"
    value = "Dev"
  }

  image_categories {
    key   = "Environment"
    value = "Prod"
  }

  image_name           = "db-server"
  image_description    = "database server: system disk plus two data disks"
  fail_if_image_exists = true

  ssh_username     = "ubuntu"
  ssh_password     = "packer"
  shutdown_command = "sudo shutdown -P now"
}

build {
  sources = ["source.nutanix.db"]

  provisioner "shell" {
    inline = [
      "lsblk",
      "sudo mkfs.ext4 -q -L data /dev/sdb",
      "sudo mkfs.ext4 -q -L logs /dev/sdc",
    ]
  }

  post-processor "manifest" {
    output = "db-server-manifest.json"
    custom_data = {
      images      = build.ImageUUIDs
      vm          = build.VmUUID
      source_disk = build.SourceImageUUIDs
    }
  }
}
