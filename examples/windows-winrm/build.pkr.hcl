# Windows Server 2022 installed from its ISO with an answer file, then provisioned over WinRM and
# generalized with sysprep.
#
# - The Windows ISO and the Nutanix VirtIO driver ISO must be in the Prism Central image library.
#   Windows Setup loads the VirtIO SCSI and network drivers from the second CD-ROM.
# - autounattend.xml and enable-winrm.ps1 go on a CD the plugin builds (cd_content / cd_files).
#   Windows Setup finds autounattend.xml at the root of any drive; the answer file partitions the
#   disk, sets the Administrator password (var.winrm_password) and runs enable-winrm.ps1 at first
#   logon, which opens WinRM over HTTP on port 5985 for the build.
# - boot_priority = "disk": the empty disk cannot boot, so Setup starts from the CD-ROM; after its
#   reboots, Windows starts from the disk.
# - The build waits for the VM's address (skipping the link-local 169.254.x.x address Windows
#   reports before DHCP answers), connects over WinRM, provisions, restarts, and runs sysprep as
#   the shutdown_command; sysprep turns the VM off, and its disk becomes the image.
#
#   export NUTANIX_PASSWORD=...
#   packer init . && packer build -var nutanix_endpoint=pc.example.com .
#
# Without a cluster, against the simulator built into the plugin (its WinRM test server plays the
# Windows guest at the VM's address; simulator.pkrvars.hcl names what its inventory holds):
#
#   packer-plugin-nutanix simulator --self-signed-tls --winrm-listen 127.0.0.1:5985 &
#   packer init . && packer build -var-file=simulator.pkrvars.hcl .
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

variable "nutanix_port" {
  type    = number
  default = 9440
}

# true only for a lab Prism Central with a self-signed certificate (or the simulator).
variable "nutanix_insecure" {
  type    = bool
  default = false
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

variable "windows_iso" {
  type    = string
  default = "Windows-Server-2022.iso"
}

variable "virtio_iso" {
  type    = string
  default = "Nutanix-VirtIO-1.2.4.iso"
}

variable "winrm_password" {
  type      = string
  default   = "Packer-Build-2022!"
  sensitive = true
}

source "nutanix" "windows" {
  nutanix_endpoint = var.nutanix_endpoint
  nutanix_port     = var.nutanix_port
  nutanix_insecure = var.nutanix_insecure
  nutanix_username = var.nutanix_username
  nutanix_password = var.nutanix_password

  cluster_name = var.cluster_name
  os_type      = "Windows"
  cpu          = 2
  core         = 2
  memory_mb    = 8192

  vm_disks {
    image_type        = "ISO_IMAGE"
    source_image_name = var.windows_iso
  }

  vm_disks {
    image_type        = "ISO_IMAGE"
    source_image_name = var.virtio_iso
  }

  vm_disks {
    image_type   = "DISK"
    disk_size_gb = 60
  }

  vm_nics {
    subnet_name = var.subnet_name
  }

  cd_files = ["${path.root}/enable-winrm.ps1"]
  cd_content = {
    "autounattend.xml" = templatefile("${path.root}/autounattend.pkrtpl.xml", { password = var.winrm_password })
  }
  boot_priority = "disk"

  vm_clean {
    cdrom = true
  }

  image_name        = "windows-2022-{{isotime `2006-01-02`}}"
  image_description = "Windows Server 2022, sysprepped"

  communicator   = "winrm"
  winrm_username = "Administrator"
  winrm_password = var.winrm_password
  winrm_timeout  = "90m" # includes the whole installation

  ip_wait_timeout  = "90m"
  shutdown_command = "C:\\Windows\\System32\\Sysprep\\sysprep.exe /generalize /oobe /shutdown /quiet"
  shutdown_timeout = "30m"
}

build {
  sources = ["source.nutanix.windows"]

  provisioner "powershell" {
    inline = ["Get-ComputerInfo | Select-Object WindowsProductName, OsVersion"]
  }

  provisioner "windows-restart" {
    restart_timeout = "30m"
  }
}
