# An installer ISO whose boot menu needs keys: every form of Packer's boot command language that
# matters at a boot menu (named keys, held modifiers, waits as counts and as Go durations, upper
# case and shifted symbols, the build-time values {{ .HTTPIP }}, {{ .HTTPPort }} and {{ .Name }}),
# checked by `packer validate` (ours; the Go plugin accepts the same options without checking them).
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

source "nutanix" "rhel-iso" {
  nutanix_username = var.nutanix_username
  nutanix_password = var.nutanix_password
  nutanix_endpoint = var.nutanix_endpoint
  nutanix_port     = var.nutanix_port
  nutanix_insecure = var.nutanix_insecure
  cluster_name     = var.nutanix_cluster
  os_type          = "Linux"

  vm_disks {
    image_type        = "ISO_IMAGE"
    source_image_name = "rhel-9.4-x86_64-dvd.iso"
  }

  vm_disks {
    image_type   = "DISK"
    disk_size_gb = 40
  }

  vm_nics {
    subnet_name = var.nutanix_subnet
  }

  boot_wait = "-1s"
  boot_command = [
    "<up><wait2><tab><wait500ms>",
    "<leftCtrlOn>e<leftCtrlOff><BS><bs><END>",
    " inst.text inst.ks=http://{{ .HTTPIP }}:{{ .HTTPPort }}/ks.cfg",
    " hostname={{ .Name }} LANG=en_US.UTF-8 <wait1m30s>",
    "<leftAltOn><f2><leftAltOff><rightShiftOn>x<rightShiftOff><enter>"
  ]
  boot_key_interval = "20ms"
  http_directory    = "${path.root}/../files/http"

  image_name   = "rhel-{{isotime `2006-01-02`}}"
  ssh_username = "root"
  ssh_password = "packer"
}

build {
  sources = ["source.nutanix.rhel-iso"]
}
