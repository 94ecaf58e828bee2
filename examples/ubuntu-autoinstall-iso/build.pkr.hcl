# Ubuntu Server 24.04 installed from its live-server ISO by autoinstall, started with a boot
# command typed at the VM's console:
#
# - The ISO must already be in the Prism Central image library (iso_image_name); the empty 40 GiB
#   disk is where Ubuntu is installed.
# - boot_wait gives the VM time to show the ISO's GRUB menu. The boot command then opens the first
#   entry for editing (e), moves to the end of its linux line, adds "autoinstall" and the plugin's
#   HTTP server as cloud-init's seed (ds=nocloud-net;s=...), and boots it (F10). The plugin types
#   it over Prism Central's console websocket, as Packer's VNC builders do.
# - The HTTP server (http_directory) runs on the machine running Packer and serves http/user-data
#   (the autoinstall answers) and http/meta-data. The VM must reach this machine: the address typed
#   is this machine's address on the route to Prism Central (or http_bind_address), and a port
#   between http_port_min and http_port_max must be open in its firewall.
# - boot_priority = "disk": the empty disk cannot boot, so the VM starts the installer from the
#   CD-ROM; after the installer reboots, the installed system starts from the disk. vm_clean
#   removes the CD-ROM before the image is made.
# - The installer stops its own SSH server, so Packer only reaches the installed system, as user
#   packer with the password hashed in http/user-data (change both together).
#
#   export NUTANIX_PASSWORD=...
#   packer init . && packer build -var nutanix_endpoint=pc.example.com .
#
# tests/e2e_boot.rs builds this template against the plugin's Prism Central simulator and checks
# that the VM's console received exactly the keys Packer types for this boot command.
packer {
  required_plugins {
    nutanix = {
      version = ">= 0.1.0"
      source  = "github.com/nutanix-cloud-native/nutanix"
    }
  }
}

variable "nutanix_endpoint" {
  type    = string
  default = "prism-central.example.com"
}

variable "nutanix_port" {
  type    = number
  default = 9440
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

variable "iso_image_name" {
  type    = string
  default = "ubuntu-24.04.2-live-server-amd64.iso"
}

source "nutanix" "ubuntu" {
  nutanix_endpoint = var.nutanix_endpoint
  nutanix_port     = var.nutanix_port
  nutanix_username = var.nutanix_username
  nutanix_password = var.nutanix_password

  cluster_name = var.cluster_name
  os_type      = "Linux"
  cpu          = 2
  memory_mb    = 4096

  vm_disks {
    image_type        = "ISO_IMAGE"
    source_image_name = var.iso_image_name
  }

  vm_disks {
    image_type   = "DISK"
    disk_size_gb = 40
  }

  vm_nics {
    subnet_name = var.subnet_name
  }

  boot_priority  = "disk"
  http_directory = "${path.root}/http"
  boot_wait      = "10s"
  boot_command = [
    "e<wait>",
    "<down><down><down><end>",
    " autoinstall \"ds=nocloud-net;s=http://{{ .HTTPIP }}:{{ .HTTPPort }}/\"",
    "<f10>",
  ]

  vm_clean {
    cdrom = true
  }

  image_name        = "ubuntu-24.04-{{isotime `2006-01-02`}}"
  image_description = "Ubuntu Server 24.04, autoinstall from the live-server ISO"
  force_deregister  = true

  ssh_username     = "packer"
  ssh_password     = "packer"
  ssh_timeout      = "60m" # the installation runs before the installed system's SSH answers
  shutdown_command = "sudo shutdown -P now"
}

build {
  sources = ["source.nutanix.ubuntu"]

  provisioner "shell" {
    inline = [
      "sudo apt-get update",
      "sudo DEBIAN_FRONTEND=noninteractive apt-get -y dist-upgrade",
      "sudo cloud-init clean --logs",
    ]
  }
}
