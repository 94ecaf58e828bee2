# expect: boot_command[1]: invalid boot command at line 1, column 14: <wait-5s> must wait longer than zero
# expect: boot_command[2]: invalid boot command at line 1, column 30: "1m-30s" is not a valid wait
# A boot command that Packer's own parser rejects fails `packer validate`, naming the element, the
# position and the text at fault.
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

source "nutanix" "broken" {
  nutanix_username = var.nutanix_username
  nutanix_password = var.nutanix_password
  nutanix_endpoint = "prism-central.example.com"
  nutanix_insecure = true
  cluster_name     = "cluster-01"
  os_type          = "Linux"

  vm_disks {
    image_type        = "DISK_IMAGE"
    source_image_name = "centos-9"
  }

  vm_nics {
    subnet_name = "vlan-0"
  }

  boot_command = [
    "<esc><wait>",
    "linux inst.ks<wait-5s><enter>",
    "ks=http://{{ .HTTPIP }}/<wait1m-30s>"
  ]

  ssh_username = "root"
  ssh_password = "packer"
}

build {
  sources = ["source.nutanix.broken"]
}
