# End-to-end boot command: an ISO install whose boot menu needs keys. The VM boots an installer ISO
# with an empty disk, and the build types a boot command at its console (over Prism's console
# websocket) that uses every kind of key Packer's language has, the HTTP server's address and the
# VM name. Run by tests/e2e_boot.rs against the simulator, whose console records every key.
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

variable "vm_name" {
  type    = string
  default = "e2e-boot"
}

variable "boot_wait" {
  type    = string
  default = "0s"
}

# "0s" leaves the interval to PACKER_KEY_INTERVAL, then 100ms.
variable "boot_key_interval" {
  type    = string
  default = "0s"
}

# When above zero, a command of ten times this many shifted letters instead (the Ctrl-C tests;
# Packer's range() stops at 1024 values).
variable "filler" {
  type    = number
  default = 0
}

# When set, the build waits after typing until this file exists (the test fetches from the HTTP
# server meanwhile).
variable "gate" {
  type    = string
  default = ""
}

locals {
  # Keep in step with COMMAND in tests/e2e_boot.rs.
  command = [
    "<esc><wait>",
    "<tab><leftCtrlOn>a<leftCtrlOff><bs><del><f2>",
    "linux /casper/vmlinuz --- autoinstall \"ds=nocloud-net;s=http://{{ .HTTPIP }}:{{ .HTTPPort }}/\"",
    " inst.ks=http://{{ .HTTPIP }}:{{ .HTTPPort }}/ks.cfg hostname={{ .Name }}",
    " Install_As ROOT ~!@#$%^&*()_+{}|:<>? `-=[]\\;',./ é",
    "<leftAltOn><f4><leftAltOff><rightShiftOn>q<rightShiftOff>",
    "<up><down><left><right><home><end><pageUp><pageDown><insert><f12>",
    "<wait300ms><spacebar><enter>",
  ]
  filler = ["<leftShiftOn>", join("", [for i in range(var.filler) : "yyyyyyyyyy"]), "<leftShiftOff><enter>"]
}

source "nutanix" "boot" {
  nutanix_endpoint = var.endpoint
  nutanix_port     = var.port
  nutanix_username = "admin"
  nutanix_password = "secret"
  nutanix_ca_cert  = var.ca_cert

  cluster_name = "PE-Cluster-1"
  communicator = "none"
  vm_name      = var.vm_name
  image_name   = "e2e-boot-image"
  os_type      = "Linux"

  vm_disks {
    image_type        = "ISO_IMAGE"
    source_image_name = "Rocky-9.4-x86_64-minimal.iso"
  }

  vm_disks {
    image_type   = "DISK"
    disk_size_gb = 1
  }

  vm_nics {
    subnet_name = "vm-network"
  }

  boot_priority     = "disk"
  http_directory    = "${path.root}/boot-http"
  boot_wait         = var.boot_wait
  boot_key_interval = var.boot_key_interval
  boot_command      = var.filler > 0 ? local.filler : local.command
  shutdown_timeout  = "1m"
}

build {
  sources = ["source.nutanix.boot"]

  provisioner "shell-local" {
    inline = ["if [ -n '${var.gate}' ]; then while [ ! -e '${var.gate}' ]; do sleep 0.1; done; fi"]
  }
}
