# End-to-end Windows build over WinRM, shaped like examples/windows-winrm: os_type "Windows" with a
# sysprep unattend file as user_data (sent as sysprep install type FRESH), the example's
# autounattend.xml (VirtIO driver paths, Administrator password) on a cd_content CD, the installer
# and VirtIO ISOs, powershell / windows-shell / file provisioners, and sysprep /generalize as the
# shutdown_command. Run by tests/e2e_winrm.rs against the Prism simulator and the WinRM test server
# (the simulated VM reports a link-local address before its real one; the build must skip it).
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

variable "winrm_port" {
  type = number
}

# Not marked sensitive on purpose: the plugin itself must keep it out of every message and log.
variable "winrm_password" {
  type = string
}

variable "winrm_use_ssl" {
  type    = bool
  default = false
}

variable "winrm_use_ntlm" {
  type    = bool
  default = false
}

# Empty: connect to the address the VM reports.
variable "winrm_host" {
  type    = string
  default = ""
}

variable "payload" {
  type = string
}

variable "exit_code" {
  type    = number
  default = 0
}

source "nutanix" "windows" {
  nutanix_endpoint = var.endpoint
  nutanix_port     = var.port
  nutanix_username = "admin"
  nutanix_password = "secret"
  nutanix_ca_cert  = var.ca_cert

  cluster_name = "PE-Cluster-1"
  vm_name      = "e2e-windows"
  cpu          = 2
  memory_mb    = 4096
  os_type      = "Windows"
  user_data    = file("${path.root}/winrm-sysprep.xml")

  # The simulator has no Windows ISO: its Rocky ISO stands in for the installer.
  vm_disks {
    image_type        = "ISO_IMAGE"
    source_image_name = "Rocky-9.4-x86_64-minimal.iso"
  }

  vm_disks {
    image_type        = "ISO_IMAGE"
    source_image_name = "virtio-win.iso"
  }

  vm_disks {
    image_type   = "DISK"
    disk_size_gb = 1
  }

  vm_nics {
    subnet_name = "vm-network"
  }

  cd_content = {
    "autounattend.xml" = templatefile("${path.root}/../../examples/windows-winrm/autounattend.pkrtpl.xml", { password = var.winrm_password })
  }
  boot_priority = "disk"

  vm_clean {
    cdrom = true
  }

  image_name = "e2e-windows-golden"

  communicator   = "winrm"
  winrm_username = "Administrator"
  winrm_password = var.winrm_password
  winrm_port     = var.winrm_port
  winrm_use_ssl  = var.winrm_use_ssl
  winrm_insecure = var.winrm_use_ssl
  winrm_use_ntlm = var.winrm_use_ntlm
  winrm_no_proxy = true
  winrm_host     = var.winrm_host == "" ? null : var.winrm_host
  winrm_timeout  = "2m"

  ip_wait_timeout   = "2m"
  ip_settle_timeout = "1s"
  shutdown_command  = "C:\\Windows\\System32\\Sysprep\\sysprep.exe /generalize /oobe /shutdown /quiet"
  shutdown_timeout  = "2m"
}

build {
  sources = ["source.nutanix.windows"]

  provisioner "powershell" {
    environment_vars = ["GREETING=hello-from-nutanix"]
    inline           = ["Write-Output \"ps says $env:GREETING on host ${build.Host} port ${build.Port} as ${build.User}\""]
  }

  provisioner "powershell" {
    environment_vars = ["FROM_SCRIPT=yes"]
    script           = "${path.root}/winrm-script.ps1"
  }

  # The password travels in the command line Packer's windows-shell sends (`set "ADMIN_PASS=..."`):
  # the plugin's logs must still not show it.
  provisioner "windows-shell" {
    environment_vars = ["SHELLVAR=batch-value", "ADMIN_PASS=${var.winrm_password}"]
    inline           = ["echo shell says %SHELLVAR%"]
  }

  provisioner "file" {
    source      = var.payload
    destination = "C:/Windows/Temp/payload.bin"
  }

  provisioner "powershell" {
    inline = ["Write-Output \"last step exits ${var.exit_code}\"", "exit ${var.exit_code}"]
  }
}
