# Like the Go plugin's example "centos-kickstart": install from an ISO onto an empty disk, with the
# kickstart file on a CD labelled OEMDRV (cd_files), booting from disk after the install, and a
# timestamped image name rendered with Packer's isotime template function.
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

source "nutanix" "centos-kickstart" {
  nutanix_username = var.nutanix_username
  nutanix_password = var.nutanix_password
  nutanix_endpoint = var.nutanix_endpoint
  nutanix_port     = var.nutanix_port
  nutanix_insecure = var.nutanix_insecure
  cluster_name     = var.nutanix_cluster
  os_type          = "Linux"

  vm_disks {
    image_type        = "ISO_IMAGE"
    source_image_name = "CentOS-Stream-9-x86_64-dvd1.iso"
  }

  vm_disks {
    image_type   = "DISK"
    disk_size_gb = 40
  }

  vm_nics {
    subnet_name = var.nutanix_subnet
  }

  cd_files      = ["${path.root}/../files/ks.cfg"]
  cd_label      = "OEMDRV"
  boot_priority = "disk"

  vm_clean {
    cdrom = true
  }

  image_name       = "centos9-{{isotime `Jan-_2-15:04:05`}}"
  shutdown_command = "echo 'packer' | sudo -S shutdown -P now"
  shutdown_timeout = "2m"
  ssh_username     = "root"
  ssh_password     = "packer"
  ip_wait_timeout  = "45m"
}

build {
  sources = ["source.nutanix.centos-kickstart"]

  provisioner "shell" {
    inline = ["dnf -y update"]
  }
}
