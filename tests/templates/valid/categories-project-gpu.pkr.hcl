# VM and image categories (several values for one key), a project, a GPU, and an OVA exported next
# to the image; the VM is deleted even if the build fails.
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

source "nutanix" "gpu-worker" {
  nutanix_username = var.nutanix_username
  nutanix_password = var.nutanix_password
  nutanix_endpoint = var.nutanix_endpoint
  nutanix_port     = var.nutanix_port
  nutanix_insecure = var.nutanix_insecure
  cluster_name     = var.nutanix_cluster
  os_type          = "Linux"
  project          = "ml-platform"
  boot_type        = "uefi"

  vm_disks {
    image_type        = "DISK_IMAGE"
    source_image_name = "rocky-9-genericcloud"
    disk_size_gb      = 80
  }

  vm_nics {
    subnet_name = var.nutanix_subnet
  }

  gpu {
    name = "Tesla T4"
  }

  vm_categories {
    key   = "Environment"
    value = "Dev"
  }

  vm_categories {
    key   = "Environment"
    value = "Test"
  }

  vm_categories {
    key   = "AppType"
    value = "GPU"
  }

  image_categories {
    key   = "TemplateType"
    value = "Vm"
  }

  ova {
    export = true
    format = "qcow2"
    name   = "gpu-worker-ova"
  }

  image_name      = "gpu-worker"
  vm_force_delete = true

  ssh_username = "rocky"
  ssh_password = "packer"
}

build {
  sources = ["source.nutanix.gpu-worker"]

  provisioner "shell" {
    inline = ["nvidia-smi || true"]
  }
}
