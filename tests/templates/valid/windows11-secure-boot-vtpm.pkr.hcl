# Like the Go plugin's example/windows (Windows 11): Secure Boot, vTPM, nested virtualization, an
# empty disk in a chosen storage container, a boot command that presses a key to boot from CD, and no
# image: the VM is kept, cleaned of CD-ROMs, and turned into a Prism Central VM template.
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

variable "storage_container_uuid" {
  type    = string
  default = "3f1d7c4e-6a8b-4c2d-9e0f-1a2b3c4d5e6f"
}

source "nutanix" "windows11" {
  nutanix_username        = var.nutanix_username
  nutanix_password        = var.nutanix_password
  nutanix_endpoint        = var.nutanix_endpoint
  nutanix_port            = var.nutanix_port
  nutanix_insecure        = var.nutanix_insecure
  cluster_name            = var.nutanix_cluster
  os_type                 = "Windows"
  cpu                     = 1
  core                    = 4
  memory_mb               = 8192
  boot_type               = "secure_boot"
  boot_priority           = "cdrom"
  hardware_virtualization = true

  vtpm {
    enabled = true
  }

  boot_wait = "5s"
  boot_command = [
    "<spacebar><wait><spacebar><wait><spacebar><wait><spacebar><wait><spacebar><enter>"
  ]

  vm_disks {
    image_type        = "ISO_IMAGE"
    source_image_name = "Win11_24H2_English_x64.iso"
  }

  vm_disks {
    image_type        = "ISO_IMAGE"
    source_image_name = "Nutanix-VirtIO-1.2.4.iso"
  }

  vm_disks {
    image_type             = "DISK"
    disk_size_gb           = 60
    storage_container_uuid = var.storage_container_uuid
  }

  vm_nics {
    subnet_name = var.nutanix_subnet
  }

  cd_files = ["${path.root}/../files/autounattend.xml", "${path.root}/../files/enable-winrm.ps1"]

  image_skip = true
  vm_retain  = true

  vm_clean {
    cdrom = true
  }

  template {
    create      = true
    name        = "Windows-11-Template-{{isotime}}"
    description = "Windows 11 template created by Packer"
  }

  communicator   = "winrm"
  winrm_username = "Administrator"
  winrm_password = "packer"
  winrm_port     = 5985
  winrm_use_ssl  = false
  winrm_timeout  = "30m"
}

build {
  sources = ["source.nutanix.windows11"]

  provisioner "powershell" {
    inline = ["Write-Output 'Windows 11 ready'"]
  }
}
