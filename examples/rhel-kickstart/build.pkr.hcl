# Rocky Linux 9 (the same works for RHEL, AlmaLinux or CentOS Stream) installed from its ISO with a
# kickstart file, no boot command needed:
#
# - The installer ISO must already be in the Prism Central image library (source_image_name); the
#   empty 40 GiB disk is where the system is installed.
# - ks.cfg goes on a small CD the plugin writes itself (cd_files) with the volume label OEMDRV,
#   which the installer searches for a kickstart file by itself.
# - boot_priority = "disk": the empty disk cannot boot, so the VM starts the installer from the
#   CD-ROM; after the installer reboots, the installed system starts from the disk.
# - vm_clean removes the CD-ROMs before the image is made, and the kickstart's build user is given
#   the password from ks.cfg (change both together).
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
  default = "Rocky-9.4-x86_64-minimal.iso"
}

source "nutanix" "rocky" {
  nutanix_endpoint = var.nutanix_endpoint
  nutanix_username = var.nutanix_username
  nutanix_password = var.nutanix_password

  cluster_name = var.cluster_name
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

  cd_files      = ["${path.root}/ks.cfg"]
  cd_label      = "OEMDRV"
  boot_priority = "disk"

  vm_clean {
    cdrom = true
  }

  image_name        = "rocky-9-{{isotime `2006-01-02`}}"
  image_description = "Rocky Linux 9 minimal, kickstart install"
  force_deregister  = true

  ip_wait_timeout  = "60m" # the installation runs before the installed system reports an address
  ssh_username     = "packer"
  ssh_password     = "packer"
  ssh_timeout      = "60m"
  shutdown_command = "sudo shutdown -P now"
}

build {
  sources = ["source.nutanix.rocky"]

  provisioner "shell" {
    inline = ["sudo dnf -y update", "sudo dnf clean all"]
  }
}
