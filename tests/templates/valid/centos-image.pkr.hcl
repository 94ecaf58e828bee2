# Like the Go plugin's example "centos": a CentOS cloud image already in the Prism image library
# (DISK_IMAGE by name), categories, Secure Boot with a vTPM, and base64 cloud-init user data.
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

source "nutanix" "centos" {
  nutanix_username = var.nutanix_username
  nutanix_password = var.nutanix_password
  nutanix_endpoint = var.nutanix_endpoint
  nutanix_port     = var.nutanix_port
  nutanix_insecure = var.nutanix_insecure
  cluster_name     = var.nutanix_cluster
  os_type          = "Linux"

  vm_disks {
    image_type        = "DISK_IMAGE"
    source_image_name = "CentOS-Stream-9-GenericCloud"
    disk_size_gb      = 40
  }

  vm_nics {
    subnet_name = var.nutanix_subnet
  }

  image_categories {
    key   = "TemplateType"
    value = "Vm"
  }

  vm_categories {
    key   = "Environment"
    value = "Dev"
  }

  vtpm {
    enabled = true
  }

  boot_type        = "secure_boot"
  image_name       = "centos-packer-image"
  image_export     = false
  force_deregister = true
  user_data        = base64encode(file("../files/cloud-init/centos-user-data.yaml"))

  shutdown_command = "echo 'packer' | sudo -S shutdown -P now"
  shutdown_timeout = "2m"
  ssh_username     = "centos"
  ssh_password     = "packer"
}

build {
  sources = ["source.nutanix.centos"]

  provisioner "shell" {
    inline = ["echo built by Packer > /tmp/motd"]
  }
}
