# A UEFI Secure Boot VM with a virtual TPM, built from a Rocky Linux 9 cloud image, for workloads
# that measure their boot or keep keys in a TPM (the same settings are what Windows 11 needs).
#
# - boot_type = "secure_boot" selects UEFI with Secure Boot and the Q35 machine type; a vTPM
#   needs UEFI (with boot_type = "legacy" the template is rejected).
# - hardware_virtualization exposes VT-x/AMD-V to the guest, e.g. for nested containers or VMs.
# - The cloud image comes from the Prism Central image library by name; cloud-init creates the
#   build user from user-data.pkrtpl.yaml.
# - The build VM is kept after a successful build (vm_retain), powered off, next to the image.
#
#   export NUTANIX_PASSWORD=...
#   packer init . && packer build -var nutanix_endpoint=pc.example.com .
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

variable "ssh_password" {
  type      = string
  default   = "packer"
  sensitive = true
}

source "nutanix" "secure" {
  nutanix_endpoint = var.nutanix_endpoint
  nutanix_username = var.nutanix_username
  nutanix_password = var.nutanix_password

  cluster_name            = var.cluster_name
  vm_name                 = "rocky9-secure-{{timestamp}}"
  cpu                     = 2
  memory_mb               = 4096
  boot_type               = "secure_boot"
  hardware_virtualization = true

  vtpm {
    enabled = true
  }

  vm_disks {
    image_type        = "DISK_IMAGE"
    source_image_name = "Rocky-9-GenericCloud-Base.latest.x86_64.qcow2"
    disk_size_gb      = 30
  }

  vm_nics {
    subnet_name = var.subnet_name
  }

  os_type   = "Linux"
  user_data = base64encode(templatefile("${path.root}/user-data.pkrtpl.yaml", { password = var.ssh_password }))

  image_name        = "rocky9-secure-boot-{{isotime `2006-01-02`}}"
  image_description = "Rocky Linux 9, UEFI Secure Boot and vTPM"
  vm_retain         = true

  ssh_username     = "packer"
  ssh_password     = var.ssh_password
  shutdown_command = "sudo shutdown -P now"
}

build {
  sources = ["source.nutanix.secure"]

  provisioner "shell" {
    inline = [
      "mokutil --sb-state || true", # prints "SecureBoot enabled"
      "ls -l /dev/tpm0 /dev/tpmrm0",
      "sudo cloud-init clean --logs",
    ]
  }
}
