# Ubuntu 24.04 from the official cloud image, customized with cloud-init, provisioned over SSH, and
# exported as a raw disk image next to the template.
#
# - Prism Central downloads the cloud image itself (source_image_uri) and keeps it for the next
#   build; a second build reuses it instead of downloading it again.
# - cloud-init creates the `packer` user the build logs in with (see user-data.pkrtpl.yaml; the
#   password comes from var.ssh_password). user_data may be given as plain text; base64encode()
#   keeps the template usable with the Go plugin too, which requires base64.
# - Ubuntu cloud images need a serial port (serialport = true) or they hang at boot.
# - The image is kept in Prism Central as "ubuntu-24.04-<date>" and also downloaded to
#   output-ubuntu/ubuntu-24.04-<date>.img (image_export).
#
#   export NUTANIX_PASSWORD=...     (or PKR_VAR_nutanix_password)
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

variable "cluster_name" {
  type    = string
  default = "cluster-01"
}

variable "subnet_name" {
  type    = string
  default = "vm-network"
}

variable "ssh_password" {
  type      = string
  default   = "packer"
  sensitive = true
}

locals {
  date = formatdate("YYYY-MM-DD", timestamp())
}

source "nutanix" "ubuntu" {
  nutanix_endpoint = var.nutanix_endpoint
  nutanix_username = var.nutanix_username
  nutanix_password = var.nutanix_password

  cluster_name = var.cluster_name
  cpu          = 2
  memory_mb    = 4096
  serialport   = true

  vm_disks {
    image_type       = "DISK_IMAGE"
    source_image_uri = "https://cloud-images.ubuntu.com/releases/noble/release/ubuntu-24.04-server-cloudimg-amd64.img"
    # To have Prism Central verify the download, add the digest from the release's SHA256SUMS:
    # source_image_checksum      = "<64 hex digits>"
    # source_image_checksum_type = "sha256"
    disk_size_gb = 20
  }

  vm_nics {
    subnet_name = var.subnet_name
  }

  os_type   = "Linux"
  user_data = base64encode(templatefile("${path.root}/user-data.pkrtpl.yaml", { password = var.ssh_password }))

  image_name        = "ubuntu-24.04-${local.date}"
  image_description = "Ubuntu 24.04 LTS, built by Packer"
  image_export      = true
  output_directory  = "output-ubuntu"

  ssh_username     = "packer"
  ssh_password     = var.ssh_password
  ssh_timeout      = "15m"
  shutdown_command = "sudo shutdown -P now"
}

build {
  sources = ["source.nutanix.ubuntu"]

  provisioner "shell" {
    inline = [
      "cloud-init status --wait",
      "sudo apt-get update",
      "sudo DEBIAN_FRONTEND=noninteractive apt-get -y upgrade",
      # Let the next VM made from this image run cloud-init afresh.
      "sudo cloud-init clean --logs",
    ]
  }
}
