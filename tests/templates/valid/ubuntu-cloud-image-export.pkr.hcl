# Like the Go plugin's example "ubuntu": an Ubuntu cloud image fetched by Prism from a URL (with its
# sha256), a serial port (Ubuntu cloud images need one), plain-text cloud-init user data and
# meta-data, and the resulting image exported to a local directory.
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

source "nutanix" "ubuntu" {
  nutanix_username = var.nutanix_username
  nutanix_password = var.nutanix_password
  nutanix_endpoint = var.nutanix_endpoint
  nutanix_port     = var.nutanix_port
  nutanix_insecure = var.nutanix_insecure
  cluster_name     = var.nutanix_cluster
  os_type          = "Linux"
  cpu              = 2
  memory_mb        = "4096"
  serialport       = true

  # The digest is an example: use the one from the release's SHA256SUMS.
  vm_disks {
    image_type                 = "DISK_IMAGE"
    source_image_uri           = "https://cloud-images.ubuntu.com/releases/24.04/release/ubuntu-24.04-server-cloudimg-amd64.img"
    source_image_checksum      = "5c3ddb00f60bc455dac0862fabe9d8bacec46c33ac1751143c5c3683404b110d"
    source_image_checksum_type = "sha256"
    source_image_delete        = true
    disk_size_gb               = 20
  }

  vm_nics {
    subnet_name = var.nutanix_subnet
  }

  image_name        = "ubuntu-packer-image"
  image_description = "Ubuntu 24.04 built by Packer"
  force_deregister  = true
  image_export      = true
  image_delete      = true
  output_directory  = "output-ubuntu"
  user_data         = file("../files/cloud-init/ubuntu-user-data.yaml")
  meta_data         = file("../files/cloud-init/ubuntu-meta-data.yaml")

  shutdown_command = "echo 'packer' | sudo -S shutdown -P now"
  shutdown_timeout = "2m"
  ssh_username     = "builder"
  ssh_password     = "packer"
  ssh_timeout      = "15m"
}

build {
  sources = ["source.nutanix.ubuntu"]

  provisioner "shell" {
    inline = ["cloud-init status --wait || true"]
  }
}
