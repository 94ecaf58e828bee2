# End-to-end (a): communicator "none", two disks cloned from an uploaded image, an empty disk, a
# cd_files CD, VM and image categories, and image_export. Run by tests/e2e_build.rs against the
# simulator; the variables point the build at it.
packer {
  required_plugins {
    nutanix = {
      version = ">= 0.0.1"
      source  = "github.com/nutanix-cloud-native/nutanix"
    }
  }
}

variable "endpoint" {
  type = string
}

variable "port" {
  type = number
}

variable "ca_cert" {
  type = string
}

variable "output_directory" {
  type = string
}

variable "vm_name" {
  type    = string
  default = "e2e-none"
}

variable "empty_disk_gb" {
  type    = number
  default = 1
}

source "nutanix" "none" {
  nutanix_endpoint = var.endpoint
  nutanix_port     = var.port
  nutanix_username = "admin"
  nutanix_password = "secret"
  nutanix_ca_cert  = var.ca_cert

  cluster_name = "PE-Cluster-1"
  communicator = "none"
  vm_name      = var.vm_name
  image_name   = "e2e-golden"
  os_type      = "Linux"
  cpu          = 2
  memory_mb    = 2048

  vm_disks {
    image_type          = "DISK_IMAGE"
    source_image_path   = "${path.root}/../templates/files/tiny-disk.qcow2"
    source_image_delete = true
  }

  vm_disks {
    image_type          = "DISK_IMAGE"
    source_image_path   = "${path.root}/../templates/files/tiny-disk.qcow2"
    source_image_delete = true
  }

  vm_disks {
    image_type   = "DISK"
    disk_size_gb = var.empty_disk_gb
  }

  vm_nics {
    subnet_name = "vm-network"
  }

  cd_files = ["${path.root}/../templates/files/ks.cfg"]
  cd_label = "OEMDRV"

  vm_categories {
    key   = "Environment"
    value = "Dev"
  }

  image_categories {
    key   = "OSType"
    value = "ubuntu-22.04"
  }

  image_export     = true
  output_directory = var.output_directory
  shutdown_timeout = "1m"
}

build {
  sources = ["source.nutanix.none"]

  provisioner "shell-local" {
    inline = ["echo provisioning VM ${build.ID} on cluster ${build.ClusterName} over ${build.ConnType}"]
  }
}
