# Like the Go plugin's example "ubuntu-autoinstall": boot the live-server ISO, type a boot command over
# VNC that starts autoinstall, with the autoinstall config as user data; plus (ours) an HTTP server
# for extra files whose address the boot command uses.
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

source "nutanix" "ubuntu-autoinstall" {
  nutanix_username = var.nutanix_username
  nutanix_password = var.nutanix_password
  nutanix_endpoint = var.nutanix_endpoint
  nutanix_port     = var.nutanix_port
  nutanix_insecure = var.nutanix_insecure
  cluster_name     = var.nutanix_cluster
  os_type          = "Linux"
  boot_type        = "uefi"

  vm_disks {
    image_type        = "ISO_IMAGE"
    source_image_name = "ubuntu-24.04-live-server-amd64.iso"
  }

  vm_disks {
    image_type   = "DISK"
    disk_size_gb = 40
  }

  vm_nics {
    subnet_name = var.nutanix_subnet
  }

  boot_priority = "disk"
  boot_wait     = "10s"
  boot_command = [
    "e<wait>",
    "<down><down><down><end>",
    " autoinstall ds=nocloud-net;s=http://{{ .HTTPIP }}:{{ .HTTPPort }}/<wait>",
    "<f10><wait>"
  ]
  boot_key_interval = "50ms"
  http_directory    = "${path.root}/../files/http"
  http_port_min     = 8100
  http_port_max     = 8199
  user_data         = file("../files/cloud-init/autoinstall-user-data.yaml")

  image_name       = "ubuntu-{{isotime `2006-01-02`}}"
  shutdown_command = "echo 'ubuntu' | sudo -S shutdown -P now"
  shutdown_timeout = "2m"
  ssh_username     = "ubuntu"
  ssh_password     = "ubuntu"
  ssh_timeout      = "40m"
}

build {
  sources = ["source.nutanix.ubuntu-autoinstall"]

  provisioner "shell" {
    inline = ["sudo apt-get update"]
  }
}
