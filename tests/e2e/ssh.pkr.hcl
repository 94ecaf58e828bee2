# End-to-end (b): communicator "ssh" against a throw-away loopback sshd (the simulator reports
# 127.0.0.1 as the VM's address), with file and shell provisioners, an optional failing one, an
# error-cleanup provisioner, and a shutdown_command that does not stop the "VM" (so the build must
# fall back to a power-off after shutdown_timeout). Run by tests/e2e_build.rs.
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

variable "output_directory" {
  type = string
}

variable "ssh_port" {
  type = number
}

variable "ssh_user" {
  type = string
}

# Empty: authenticate with a password that no account has (for builds that never connect).
variable "ssh_key" {
  type    = string
  default = ""
}

variable "ip_wait_timeout" {
  type    = string
  default = "5m"
}

variable "exit_code" {
  type    = number
  default = 0
}

# Where the provisioners write on the "VM" (this machine, through the loopback sshd).
variable "work_dir" {
  type    = string
  default = "/tmp"
}

source "nutanix" "ssh" {
  nutanix_endpoint = var.endpoint
  nutanix_port     = var.port
  nutanix_username = "admin"
  nutanix_password = "secret"
  nutanix_ca_cert  = var.ca_cert

  cluster_name = "PE-Cluster-1"
  vm_name      = "e2e-ssh"
  image_name   = "e2e-ssh-image"

  vm_disks {
    image_type        = "DISK_IMAGE"
    source_image_name = "ubuntu-22.04-server-cloudimg-amd64.img"
  }

  vm_nics {
    subnet_name = "vm-network"
  }

  communicator         = "ssh"
  ssh_username         = var.ssh_user
  ssh_port             = var.ssh_port
  ssh_private_key_file = var.ssh_key == "" ? null : var.ssh_key
  ssh_password         = var.ssh_key == "" ? "not-a-real-password" : null
  ssh_timeout          = "1m"

  ip_wait_timeout   = var.ip_wait_timeout
  ip_settle_timeout = "1s"

  shutdown_command = "echo shutdown requested > ${var.work_dir}/shutdown.txt"
  shutdown_timeout = "2s"
  output_directory = var.output_directory
}

build {
  sources = ["source.nutanix.ssh"]

  provisioner "file" {
    content     = "hello from packer"
    destination = "${var.work_dir}/uploaded.txt"
  }

  provisioner "shell" {
    inline = [
      "echo provisioning as $(whoami) on host ${build.Host} port ${build.Port} vm ${build.ID}",
      "cp ${var.work_dir}/uploaded.txt ${var.work_dir}/seen.txt",
      "exit ${var.exit_code}",
    ]
  }

  error-cleanup-provisioner "shell-local" {
    inline = ["echo error-cleanup-provisioner ran"]
  }
}
