# Like the Go plugin's example "windows": install Windows Server from its ISO plus the VirtIO driver
# ISO onto an empty disk, with autounattend.xml on a generated CD, then provision over WinRM/HTTPS.
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

variable "winrm_password" {
  type      = string
  default   = "packer"
  sensitive = true
}

source "nutanix" "windows" {
  nutanix_username = var.nutanix_username
  nutanix_password = var.nutanix_password
  nutanix_endpoint = var.nutanix_endpoint
  nutanix_insecure = var.nutanix_insecure
  cluster_name     = var.nutanix_cluster
  os_type          = "Windows"
  cpu              = 2
  memory_mb        = 8192

  vm_disks {
    image_type        = "ISO_IMAGE"
    source_image_name = "Windows-Server-2022.iso"
  }

  vm_disks {
    image_type        = "ISO_IMAGE"
    source_image_name = "Nutanix-VirtIO-1.2.4.iso"
  }

  vm_disks {
    image_type   = "DISK"
    disk_size_gb = 60
  }

  vm_nics {
    subnet_name = var.nutanix_subnet
  }

  cd_files      = ["${path.root}/../files/autounattend.xml", "${path.root}/../files/enable-winrm.ps1"]
  boot_priority = "disk"

  image_name       = "win2022-{{isotime `20060102-1504`}}"
  shutdown_command = "shutdown /s /t 10 /f /d p:4:1 /c \"Packer Shutdown\""
  shutdown_timeout = "15m"

  communicator   = "winrm"
  winrm_username = "Administrator"
  winrm_password = var.winrm_password
  winrm_port     = 5986
  winrm_use_ssl  = true
  winrm_insecure = true
  winrm_timeout  = "45m"
}

build {
  sources = ["source.nutanix.windows"]

  provisioner "powershell" {
    inline = ["Get-ComputerInfo | Select-Object WindowsProductName"]
  }

  provisioner "windows-restart" {
    restart_timeout = "30m"
  }
}
